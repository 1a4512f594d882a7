// gitleaks 8.x skips no commit listed in a global allowlist during `gitleaks git` (its check's `continue`
// leaves only the inner loop: gitleaks/gitleaks#2165), so history scans report findings the repository
// allowlisted. This reads those commit lists from the same config gitleaks loaded and drops the findings
// they cover. Only allowlists whose commits alone decide are applied; any that also need a path, regex or
// stop word to match (condition AND) are left to gitleaks.
import { parse } from 'smol-toml';
import type { Finding } from './sarif.js';

export interface CommitAllowlist {
  commits: Set<string>;
  /** Rules it applies to; every rule when undefined. */
  rules?: Set<string>;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

/** Global commit allowlists of a gitleaks config (TOML text); none when the text does not parse. */
export function commitAllowlists(configText: string): CommitAllowlist[] {
  let config: Record<string, unknown>;
  try {
    config = parse(configText) as Record<string, unknown>;
  } catch {
    return [];
  }
  const tables = [
    ...(isTable(config.allowlist) ? [config.allowlist] : []),
    ...(Array.isArray(config.allowlists) ? config.allowlists.filter(isTable) : []),
  ];
  return tables.flatMap((table) => {
    const commits = strings(table.commits).map((sha) => sha.toLowerCase());
    const others = ['paths', 'regexes', 'stopwords'].some((key) => strings(table[key]).length > 0);
    const condition = typeof table.condition === 'string' ? table.condition.toUpperCase() : 'OR';
    if (commits.length === 0 || (condition === 'AND' && others)) return [];
    const rules = strings(table.targetRules);
    return [{ commits: new Set(commits), rules: rules.length ? new Set(rules) : undefined }];
  });
}

export function allowedByCommit(finding: Finding, allowlists: readonly CommitAllowlist[]): boolean {
  const commit = finding.commit?.toLowerCase();
  if (!commit) return false;
  return allowlists.some(
    (list) => list.commits.has(commit) && (!list.rules || list.rules.has(finding.ruleId)),
  );
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
