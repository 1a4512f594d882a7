// Reading, merging and filtering the SARIF reports gitleaks writes. No I/O here.
import { z } from 'zod';

const result = z.looseObject({
  ruleId: z.string(),
  message: z.looseObject({ text: z.string().optional() }).optional(),
  locations: z
    .array(
      z.looseObject({
        physicalLocation: z.looseObject({
          artifactLocation: z.looseObject({ uri: z.string() }),
          region: z.looseObject({ startLine: z.number().int(), endLine: z.number().int().optional() }),
        }),
      }),
    )
    .min(1),
  partialFingerprints: z.looseObject({ commitSha: z.string().optional() }).optional(),
});

const rule = z.looseObject({ id: z.string() });

const run = z.looseObject({
  tool: z.looseObject({
    driver: z.looseObject({ name: z.string(), rules: z.array(rule).optional() }),
  }),
  results: z.array(result).optional(),
});

const sarifLog = z.looseObject({ version: z.string(), runs: z.array(run).min(1) });

export type SarifLog = z.infer<typeof sarifLog>;
type SarifResult = z.infer<typeof result>;

export interface Finding {
  ruleId: string;
  /** Path inside the scanned repository, as gitleaks reports it. */
  file: string;
  line: number;
  endLine: number;
  /** The commit that added the secret; undefined for a working-tree (dir) finding. */
  commit?: string;
  /** What .gitleaksignore takes to silence this finding, as gitleaks builds it. */
  fingerprint: string;
}

export class SarifError extends Error {
  constructor(detail: string) {
    super(`gitleaks wrote a report that is not the SARIF expected: ${detail}`);
    this.name = 'SarifError';
  }
}

export function parseSarif(text: string): SarifLog {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SarifError('not JSON');
  }
  const parsed = sarifLog.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SarifError(`${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function findingOf(item: SarifResult): Finding {
  const location = item.locations[0]!.physicalLocation;
  const file = location.artifactLocation.uri;
  const line = location.region.startLine;
  const commit = item.partialFingerprints?.commitSha || undefined;
  const fingerprint = `${commit ? `${commit}:` : ''}${file}:${item.ruleId}:${line}`;
  return { ruleId: item.ruleId, file, line, endLine: location.region.endLine ?? line, commit, fingerprint };
}

export function findingsOf(log: SarifLog): Finding[] {
  return log.runs.flatMap((r) => (r.results ?? []).map(findingOf));
}

/** One run holding every result, so code scanning sees a single gitleaks analysis. */
export function mergeSarif(logs: SarifLog[]): SarifLog {
  const [first, ...rest] = logs;
  if (!first) throw new Error('nothing to merge');
  const base = first.runs[0]!;
  const rules = new Map<string, z.infer<typeof rule>>();
  const results: SarifResult[] = [];
  for (const log of logs) {
    for (const r of log.runs) {
      for (const item of r.tool.driver.rules ?? []) if (!rules.has(item.id)) rules.set(item.id, item);
      results.push(...(r.results ?? []));
    }
  }
  if (rest.length === 0 && first.runs.length === 1) return first;
  return {
    ...first,
    runs: [
      {
        ...base,
        tool: { ...base.tool, driver: { ...base.tool.driver, rules: [...rules.values()] } },
        results,
      },
    ],
  };
}

export function withoutFindings(log: SarifLog, drop: (finding: Finding) => boolean): SarifLog {
  return {
    ...log,
    runs: log.runs.map((r) => ({
      ...r,
      results: (r.results ?? []).filter((item) => !drop(findingOf(item))),
    })),
  };
}

/** A report with no results, for a scope with no commits, so that a SARIF upload step always has a file. */
export function emptySarif(version: string): SarifLog {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'gitleaks',
            semanticVersion: version,
            informationUri: 'https://github.com/gitleaks/gitleaks',
            rules: [],
          },
        },
        results: [],
      },
    ],
  };
}
