// What a user reads about a scan: one annotation per finding and the job summary. Findings carry no
// secret (gitleaks runs with --redact and only rule, place and fingerprint are shown).
import { posix } from 'node:path';
import type { InlineAllow } from './inline-allows.js';
import type { Finding } from './sarif.js';

export interface Annotation {
  message: string;
  title: string;
  file: string;
  startLine: number;
  endLine: number;
}

const short = (sha: string) => sha.slice(0, 7);

/** `prefix` is the repository's path inside the workspace, so annotations land on the right file. */
export function annotationsFor(findings: readonly Finding[], prefix = ''): Annotation[] {
  return findings.map((finding) => ({
    title: `gitleaks: ${finding.ruleId}`,
    message:
      `${finding.ruleId} detected a secret (redacted) ` +
      (finding.commit ? `added in commit ${short(finding.commit)}` : 'in the working tree') +
      `. Rotate it, then remove it; if it is a false positive add this fingerprint to .gitleaksignore: ${finding.fingerprint}`,
    file: prefix ? posix.join(prefix, finding.file) : finding.file,
    startLine: finding.line,
    endLine: finding.endLine,
  }));
}

/** A warning on each line the range adds with an inline `gitleaks:allow`, which gitleaks skips. */
export function inlineAllowAnnotations(allows: readonly InlineAllow[], prefix = ''): Annotation[] {
  return allows.map((allow) => ({
    title: 'gitleaks: inline allow',
    message: `gitleaks:allow added in commit ${short(allow.commit)}: gitleaks skips this line`,
    file: prefix ? posix.join(prefix, allow.file) : allow.file,
    startLine: allow.line,
    endLine: allow.line,
  }));
}

export interface ScanSummary {
  version: string;
  settingsOrigin: string;
  settingsChanged: readonly string[];
  settingsChangesAllowed: boolean;
  inlineAllows: readonly InlineAllow[];
  scope: string;
  commitsScanned: number;
  workingTree: boolean;
  findings: readonly Finding[];
  /** Findings dropped because a global allowlist lists their commit. */
  allowlisted: number;
  sarifPath: string;
  error?: string;
}

const cell = (text: string) => text.replace(/[\\`|<>*_[\]]/g, (char) => `\\${char}`).replace(/\r?\n/g, ' ');

export function summaryMarkdown(summary: ScanSummary): string {
  const scanned = [
    `${summary.commitsScanned} commit${summary.commitsScanned === 1 ? '' : 's'}`,
    ...(summary.workingTree ? ['the working tree'] : []),
  ].join(' and ');
  const lines = [
    '## gitleaks-gate',
    '',
    `Scope: ${cell(summary.scope)}; scanned ${scanned} with gitleaks ${cell(summary.version)}, ` +
      `settings (config, .gitleaksignore, baseline) from ${cell(summary.settingsOrigin)}.`,
    '',
  ];
  if (summary.error) {
    lines.push(`**The scan did not complete**: ${cell(summary.error)}`, '');
  } else if (summary.findings.length === 0) {
    lines.push('No secrets found.', '');
  } else {
    lines.push(
      `**${summary.findings.length} secret${summary.findings.length === 1 ? '' : 's'} found** (values redacted).`,
      '',
      '| Rule | Commit | File | Line | Fingerprint |',
      '| --- | --- | --- | --- | --- |',
      ...summary.findings.map(
        (f) =>
          `| ${cell(f.ruleId)} | ${f.commit ? `\`${short(f.commit)}\`` : 'working tree'} | ${cell(f.file)} | ${f.line} | ${cell(f.fingerprint)} |`,
      ),
      '',
    );
  }
  if (summary.settingsChanged.length) {
    lines.push(
      summary.settingsChangesAllowed
        ? `The changes modify gitleaks' settings (allowed by \`allow-config-changes\`; they were used): ${summary.settingsChanged.map((f) => `\`${cell(f)}\``).join(', ')}.`
        : `**The changes modify gitleaks' settings**, so the gate fails: ${summary.settingsChanged.map((f) => `\`${cell(f)}\``).join(', ')}. ` +
            `The scan used ${cell(summary.settingsOrigin)}; where code owners review these files, set \`allow-config-changes: true\`.`,
      '',
    );
  }
  if (summary.inlineAllows.length) {
    lines.push(
      `${summary.inlineAllows.length} added line${summary.inlineAllows.length === 1 ? '' : 's'} carr${summary.inlineAllows.length === 1 ? 'ies' : 'y'} an inline \`gitleaks:allow\`, which gitleaks skips:`,
      '',
      '| Commit | File | Line |',
      '| --- | --- | --- |',
      ...summary.inlineAllows.map((a) => `| \`${short(a.commit)}\` | ${cell(a.file)} | ${a.line} |`),
      '',
    );
  }
  if (summary.allowlisted) {
    lines.push(
      `${summary.allowlisted} finding(s) skipped: their commit is in a global allowlist of the config.`,
      '',
    );
  }
  lines.push(`SARIF: \`${summary.sarifPath}\``, '');
  return lines.join('\n');
}

/** Why the gate fails although gitleaks may have found nothing: the changes steer the scan. */
export function settingsChangeBlocked(summary: ScanSummary): string | undefined {
  if (!summary.settingsChanged.length || summary.settingsChangesAllowed) return undefined;
  return (
    `The changes modify gitleaks' settings (${summary.settingsChanged.join(', ')}); the scan used ` +
    `${summary.settingsOrigin}. A change to them needs a review the scan cannot give: where code owners review ` +
    'these files, set allow-config-changes: true.'
  );
}
