import { describe, expect, it } from 'vitest';
import {
  annotationsFor,
  settingsChangeBlocked,
  summaryMarkdown,
} from '../../actions/engine/gitleaks/report.js';
import type { Finding } from '../../actions/engine/gitleaks/sarif.js';

const sha = '2370f44d24ff2cbb0205b94cf5fb8e0a6312a103';
const inCommit: Finding = {
  ruleId: 'github-pat',
  file: 'app/config.py',
  line: 4,
  endLine: 4,
  commit: sha,
  fingerprint: `${sha}:app/config.py:github-pat:4`,
};
const inTree: Finding = {
  ruleId: 'generic-api-key',
  file: 'vendor/a|b.js',
  line: 2,
  endLine: 3,
  fingerprint: 'vendor/a|b.js:generic-api-key:2',
};

describe('annotations', () => {
  it('points at file and line, inside the repository path, and names the fingerprint', () => {
    expect(annotationsFor([inCommit, inTree], 'services/api')).toEqual([
      {
        title: 'gitleaks: github-pat',
        message: `github-pat detected a secret (redacted) added in commit 2370f44. Rotate it, then remove it; if it is a false positive add this fingerprint to .gitleaksignore: ${inCommit.fingerprint}`,
        file: 'services/api/app/config.py',
        startLine: 4,
        endLine: 4,
      },
      expect.objectContaining({
        file: 'services/api/vendor/a|b.js',
        startLine: 2,
        endLine: 3,
        message: expect.stringContaining('in the working tree'),
      }),
    ]);
    expect(annotationsFor([inCommit])[0]!.file).toBe('app/config.py');
  });
});

describe('summaryMarkdown', () => {
  const base = {
    version: 'v8.28.0',
    scope: 'pull request #7 (aaaaaaa..bbbbbbb)',
    commitsScanned: 42,
    workingTree: false,
    allowlisted: 0,
    sarifPath: '/tmp/results.sarif',
    settingsOrigin: 'the base commit aaaaaaa',
    settingsChanged: [],
    settingsChangesAllowed: false,
    inlineAllows: [],
  };

  it('tables rule, commit, file, line and fingerprint, escaping markdown', () => {
    const text = summaryMarkdown({ ...base, workingTree: true, findings: [inCommit, inTree] });
    expect(text).toContain('scanned 42 commits and the working tree with gitleaks v8.28.0');
    expect(text).toContain('**2 secrets found** (values redacted).');
    expect(text).toContain(
      '| github-pat | `2370f44` | app/config.py | 4 | 2370f44d24ff2cbb0205b94cf5fb8e0a6312a103:app/config.py:github-pat:4 |',
    );
    expect(text).toContain('| generic-api-key | working tree | vendor/a\\|b.js | 2 |');
  });

  it('says so when nothing was found, when allowlists skipped findings, and when the scan failed', () => {
    expect(summaryMarkdown({ ...base, commitsScanned: 1, findings: [] })).toContain('scanned 1 commit with');
    expect(summaryMarkdown({ ...base, findings: [] })).toContain('No secrets found.');
    expect(summaryMarkdown({ ...base, findings: [], allowlisted: 2 })).toContain('2 finding(s) skipped');
    const failed = summaryMarkdown({ ...base, findings: [], error: 'git scan: gitleaks exited with code 2' });
    expect(failed).toContain('**The scan did not complete**: git scan: gitleaks exited with code 2');
    expect(failed).not.toContain('No secrets found');
  });

  it('names where the settings came from, which settings files changed, and the inline allows', () => {
    const changed = { ...base, findings: [], settingsChanged: ['.gitleaks.toml', '.gitleaksignore'] };
    const text = summaryMarkdown(changed);
    expect(text).toContain('settings (config, .gitleaksignore, baseline) from the base commit aaaaaaa.');
    expect(text).toContain(
      "**The changes modify gitleaks' settings**, so the gate fails: `.gitleaks.toml`, `.gitleaksignore`.",
    );
    expect(settingsChangeBlocked(changed)).toMatch(
      /^The changes modify gitleaks' settings \(\.gitleaks\.toml, /,
    );
    const allowed = { ...changed, settingsChangesAllowed: true, settingsOrigin: 'the checkout' };
    expect(settingsChangeBlocked(allowed)).toBeUndefined();
    expect(summaryMarkdown(allowed)).toContain('allowed by `allow-config-changes`; they were used');
    const inline = summaryMarkdown({
      ...base,
      findings: [],
      inlineAllows: [{ commit: '2370f44d24ff2cbb0205b94cf5fb8e0a6312a103', file: 'a.py', line: 3 }],
    });
    expect(inline).toContain('1 added line carries an inline `gitleaks:allow`, which gitleaks skips:');
    expect(inline).toContain('| `2370f44` | a.py | 3 |');
  });
});
