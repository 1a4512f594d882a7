import { describe, expect, it } from 'vitest';
import {
  emptySarif,
  findingsOf,
  mergeSarif,
  parseSarif,
  withoutFindings,
} from '../../actions/engine/gitleaks/sarif.js';

const sha = '2370f44d24ff2cbb0205b94cf5fb8e0a6312a103';

// The shape gitleaks 8.28 writes (taken from a real run, snippet redacted by --redact).
function report(results: object[], rules = ['github-pat', 'aws-access-token']) {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'gitleaks',
            semanticVersion: 'v8.28.0',
            informationUri: 'https://github.com/gitleaks/gitleaks',
            rules: rules.map((id) => ({ id, shortDescription: { text: id } })),
          },
        },
        results,
      },
    ],
  };
}

function result(ruleId: string, uri: string, line: number, commitSha = '') {
  return {
    message: { text: `${ruleId} has detected secret for file ${uri}.` },
    ruleId,
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri },
          region: {
            startLine: line,
            startColumn: 11,
            endLine: line,
            endColumn: 50,
            snippet: { text: 'REDACTED' },
          },
        },
      },
    ],
    partialFingerprints: {
      commitSha,
      email: 'dev@example.test',
      author: 'Dev',
      date: '2026-01-01T00:00:00Z',
      commitMessage: 'c2',
    },
    properties: { tags: [] },
  };
}

describe('gitleaks SARIF', () => {
  it('reads findings with the fingerprints .gitleaksignore takes', () => {
    const log = parseSarif(
      JSON.stringify(
        report([result('github-pat', 'app.py', 3, sha), result('aws-access-token', 'vendor/x.env', 2)]),
      ),
    );
    expect(findingsOf(log)).toEqual([
      {
        ruleId: 'github-pat',
        file: 'app.py',
        line: 3,
        endLine: 3,
        commit: sha,
        fingerprint: `${sha}:app.py:github-pat:3`,
      },
      {
        ruleId: 'aws-access-token',
        file: 'vendor/x.env',
        line: 2,
        endLine: 2,
        commit: undefined,
        fingerprint: 'vendor/x.env:aws-access-token:2',
      },
    ]);
  });

  it('merges git and dir reports into one run with every result and rule', () => {
    const git = parseSarif(JSON.stringify(report([result('github-pat', 'a.py', 1, sha)], ['github-pat'])));
    const dir = parseSarif(
      JSON.stringify(report([result('aws-access-token', 'b.env', 2)], ['aws-access-token', 'github-pat'])),
    );
    const merged = mergeSarif([git, dir]);
    expect(merged.runs).toHaveLength(1);
    expect(merged.runs[0]!.tool.driver.rules!.map((r) => r.id)).toEqual(['github-pat', 'aws-access-token']);
    expect(findingsOf(merged).map((f) => f.file)).toEqual(['a.py', 'b.env']);
    expect(mergeSarif([git])).toBe(git);
  });

  it('drops filtered findings from the report itself', () => {
    const log = parseSarif(
      JSON.stringify(report([result('github-pat', 'a.py', 1, sha), result('github-pat', 'b.py', 1)])),
    );
    const kept = withoutFindings(log, (finding) => finding.commit === sha);
    expect(findingsOf(kept).map((f) => f.file)).toEqual(['b.py']);
    expect(findingsOf(log)).toHaveLength(2);
  });

  it('writes an empty but valid report when there is nothing to scan', () => {
    const empty = emptySarif('8.28.0');
    expect(findingsOf(parseSarif(JSON.stringify(empty)))).toEqual([]);
    expect(empty.runs[0]!.tool.driver.name).toBe('gitleaks');
  });

  it('refuses what is not a gitleaks SARIF report', () => {
    expect(() => parseSarif('not json')).toThrow(/not the SARIF expected: not JSON/);
    expect(() => parseSarif('{"version":"2.1.0","runs":[]}')).toThrow(/runs/);
    expect(() => parseSarif(JSON.stringify(report([{ ruleId: 'x', locations: [] }])))).toThrow(
      /runs\.0\.results\.0\.locations/,
    );
  });
});
