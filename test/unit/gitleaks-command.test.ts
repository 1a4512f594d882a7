import { describe, expect, it } from 'vitest';
import { errorLines, gitleaks, judgeRun, LEAKS_EXIT_CODE } from '../../actions/engine/commands/gitleaks.js';
import type { GitleaksCli } from '../../actions/engine/gitleaks/cli.js';

const modern: GitleaksCli = {
  version: '8.28.0',
  label: '8.28.0',
  style: 'git',
  flags: new Set(['no-banner', 'no-color', 'redact', 'exit-code', 'report-format', 'report-path', 'config']),
  silentWhenClean: false,
};
// Debian's 8.16 build: `detect`, no --no-color.
const debian816: GitleaksCli = {
  label: 'of unknown version',
  style: 'detect',
  flags: new Set([
    'no-banner',
    'redact',
    'exit-code',
    'report-format',
    'report-path',
    'config',
    'baseline-path',
  ]),
  silentWhenClean: false,
};
const command = { binary: '/opt/gitleaks', cli: modern, source: '.', reportPath: '/tmp/r/git.sarif' };

describe('gitleaks command lines', () => {
  it('runs `gitleaks git` over exactly the computed range, redacted, with a SARIF report', () => {
    expect(gitleaks.gitScan({ ...command, config: '/repo/.gitleaks.toml', logOpts: ['a..b'] })).toEqual([
      '/opt/gitleaks',
      'git',
      '--no-banner',
      '--no-color',
      '--redact',
      `--exit-code=${LEAKS_EXIT_CODE}`,
      '--report-format=sarif',
      '--report-path=/tmp/r/git.sarif',
      '--config=/repo/.gitleaks.toml',
      '--log-opts=--diff-merges=first-parent a..b',
      '.',
    ]);
    expect(gitleaks.gitScan({ ...command, logOpts: ['--full-history', '--all'] })).toContain(
      '--log-opts=--diff-merges=first-parent --full-history --all',
    );
  });

  it('uses `detect --source` and only the flags a pre-8.19 gitleaks has', () => {
    expect(
      gitleaks.gitScan({
        ...command,
        cli: debian816,
        baseline: '/w/base.json',
        logOpts: ['a..b'],
        source: '/w/src',
      }),
    ).toEqual([
      '/opt/gitleaks',
      'detect',
      '--no-banner',
      '--redact',
      `--exit-code=${LEAKS_EXIT_CODE}`,
      '--report-format=sarif',
      '--report-path=/tmp/r/git.sarif',
      '--baseline-path=/w/base.json',
      '--log-opts=--diff-merges=first-parent a..b',
      '--source=/w/src',
    ]);
    expect(gitleaks.dirScan({ ...command, cli: debian816 })).toEqual([
      '/opt/gitleaks',
      'detect',
      '--no-git',
      '--no-banner',
      '--redact',
      `--exit-code=${LEAKS_EXIT_CODE}`,
      '--report-format=sarif',
      '--report-path=/tmp/r/git.sarif',
      '--source=.',
    ]);
  });

  it('leaves merge diffs out for a git without --diff-merges', () => {
    expect(gitleaks.gitScan({ ...command, logOpts: ['a..b'], mergeDiffs: false })).toContain(
      '--log-opts=a..b',
    );
  });

  it('refuses log options gitleaks would split differently', () => {
    expect(() => gitleaks.gitScan({ ...command, logOpts: ['a b'] })).toThrow(/single words/);
    expect(() => gitleaks.gitScan({ ...command, logOpts: [] })).toThrow(/single words/);
  });

  it('runs `gitleaks dir` on the working tree with the same reporting', () => {
    expect(gitleaks.dirScan(command)).toEqual([
      '/opt/gitleaks',
      'dir',
      '--no-banner',
      '--no-color',
      '--redact',
      `--exit-code=${LEAKS_EXIT_CODE}`,
      '--report-format=sarif',
      '--report-path=/tmp/r/git.sarif',
      '.',
    ]);
  });
});

describe('judgeRun', () => {
  const report = '{"version":"2.1.0","runs":[]}';

  it('accepts a clean run and a run with leaks', () => {
    expect(judgeRun(0, '9:10AM INF no leaks found\n', report)).toEqual({ kind: 'completed', report });
    expect(judgeRun(LEAKS_EXIT_CODE, '9:10AM WRN leaks found: 2\n', report)).toEqual({
      kind: 'completed',
      report,
    });
  });

  it('fails on gitleaks own exit codes, with the error lines', () => {
    const stderr =
      '\u001b[90m9:08AM\u001b[0m \u001b[31mFTL\u001b[0m unable to load gitleaks config, err: open x: no such file\n';
    expect(judgeRun(1, stderr, undefined)).toEqual({
      kind: 'failed',
      reason:
        'gitleaks exited with code 1:\n9:08AM FTL unable to load gitleaks config, err: open x: no such file',
    });
    expect(
      judgeRun(2, 'panic: regexp: Compile(`([a-`)\n\ngoroutine 1 [running]:\n', undefined),
    ).toMatchObject({
      kind: 'failed',
      reason: expect.stringMatching(/^gitleaks exited with code 2:\npanic: regexp/),
    });
  });

  it('fails when git log failed although gitleaks exited 0 (its fail-open shape)', () => {
    const stderr =
      "9:08AM ERR [git] fatal: bad revision 'origin/main..HEAD'\n9:08AM INF 0 commits scanned.\n9:08AM INF no leaks found\n";
    expect(errorLines(stderr)).toEqual(["9:08AM ERR [git] fatal: bad revision 'origin/main..HEAD'"]);
    expect(judgeRun(0, stderr, report)).toEqual({
      kind: 'failed',
      reason: "gitleaks logged errors:\n9:08AM ERR [git] fatal: bad revision 'origin/main..HEAD'",
    });
  });

  it('fails when no report was written', () => {
    expect(judgeRun(0, '', undefined)).toEqual({ kind: 'failed', reason: 'gitleaks wrote no report' });
  });
});
