import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeGithubToken, GitFixture, gitleaksEmulator } from '../support/git-fixture.js';
import { gitleaksAnnotations, runGitleaksGate } from '../support/gitleaks-gate.js';
import type { ActionRun } from '../support/run-action.js';
import { sandbox } from '../support/sandbox.js';
import { GIT_ENV } from '../../scripts/harness/index.mjs';

// A gate a pull request cannot switch off and that never passes silently, run with two real gitleaks:
// the official 8.28.0 engine (WebAssembly, behind gitleaks-emulator.mjs) and Debian's native 8.16 package
// (`detect`, no version number), unpacked by the sandbox. Repositories are real, checkouts depth 1 over file://.

const emulator = gitleaksEmulator();
const runnerFolders: string[] = [];
afterAll(() => runnerFolders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tokens: string[] = [];
const token = () => {
  const value = fakeGithubToken();
  tokens.push(value);
  return value;
};

const BINARIES = [
  ['gitleaks 8.28.0 (official engine)', () => emulator.path],
  ["Debian's native gitleaks 8.16", () => sandbox().gitleaksDebian],
] as const;

const annotations = gitleaksAnnotations;

const pullRequest = (number: number, base: string, head: string, commits: number) => ({
  number,
  pull_request: { number, commits, head: { sha: head, ref: 'feature' }, base: { sha: base, ref: 'main' } },
});

describe.each(BINARIES)('gitleaks-gate with %s', (_name, binary) => {
  const repo = new GitFixture();
  let main: string;

  async function gate(
    cwd: string,
    eventName: string,
    event: unknown,
    inputs: Record<string, string> = {},
    env: Record<string, string> = {},
  ): Promise<ActionRun> {
    return runGitleaksGate({
      binary: binary(),
      cwd,
      eventName,
      event,
      inputs,
      env: { GITLEAKS_EMULATOR_LOG: emulator.logFile, ...env },
      secrets: tokens,
      keep: runnerFolders,
    });
  }

  /** A pull request forking from main: `files` per commit; pushed as refs/pull/<number>/head. */
  function openPullRequest(number: number, commits: Record<string, string>[]) {
    repo.git('checkout', '--quiet', '--detach', main);
    const shas = commits.map((files, i) => repo.commit(files, `pr ${number} commit ${i + 1}`));
    repo.push(`${shas.at(-1)}:refs/pull/${number}/head`);
    repo.git('checkout', '--quiet', 'main');
    return { shas, head: shas.at(-1)!, event: pullRequest(number, main, shas.at(-1)!, shas.length) };
  }

  beforeAll(() => {
    sandbox();
    repo.commit({ 'README.md': '# app\n' }, 'root');
    main = repo.commit({ 'src/app.py': 'print("hello")\n' }, 'app');
    repo.push('main');
  });

  it('names the gitleaks it runs: a build without a version number is described, not misquoted', async () => {
    const pr = openPullRequest(20, [{ 'docs/x.md': 'x\n' }]);
    const run = await gate(repo.checkout(`refs/pull/20/head`), 'pull_request', pr.event);

    expect(run.code).toBe(0);
    const label = binary() === emulator.path ? '8.28.0' : 'of unknown version (a build that prints none)';
    expect(run.stdout).toContain(`gitleaks ${label} at ${binary()}`);
    expect(run.summary).toContain(`scanned 1 commit with gitleaks ${label},`);
    expect(run.summary).not.toContain('version is set by build process');
    expect(run.outputs['commits-scanned']).toBe('1');
  });

  describe('a pull request that tries to switch off the scan of its own secret', () => {
    const attempts: [string, (leak: string) => Record<string, string>][] = [
      [
        'an allowlist for its file in a new .gitleaks.toml',
        () => ({ '.gitleaks.toml': "[extend]\nuseDefault = true\n\n[allowlist]\npaths = ['''deploy/''']\n" }),
      ],
      ['a .gitleaks.toml without rules', () => ({ '.gitleaks.toml': 'title = "no rules"\n' })],
      [
        'a .gitleaksignore with the fingerprint the failing annotation prints',
        (leak) => ({ '.gitleaksignore': `${leak}:deploy/key.py:github-pat:2\n` }),
      ],
    ];

    it.each(attempts)(
      'fails with %s: the finding stands and the settings change is named',
      async (_how, settings) => {
        const number = 30 + attempts.findIndex(([how]) => how === _how);
        repo.git('checkout', '--quiet', '--detach', main);
        const leak = repo.commit({ 'deploy/key.py': `import os\nTOKEN = "${token()}"\n` }, 'key');
        const head = repo.commit(settings(leak), 'quiet please');
        repo.push(`${head}:refs/pull/${number}/head`);
        repo.git('checkout', '--quiet', 'main');
        const changed = Object.keys(settings(leak));

        const run = await gate(
          repo.checkout(`refs/pull/${number}/head`),
          'pull_request',
          pullRequest(number, main, head, 2),
        );

        expect(run.code).toBe(1);
        expect(annotations(run.errors)).toEqual([
          expect.objectContaining({ file: 'deploy/key.py', line: '2' }),
        ]);
        expect(run.outputs.findings).toBe('1');
        expect(run.stdout).toContain(`::error::gitleaks found 1 secret(s)`);
        expect(run.stdout).toContain(`The changes modify gitleaks' settings (${changed.join(', ')})`);
        expect(run.summary).toContain(
          `**The changes modify gitleaks' settings**, so the gate fails: \`${changed[0]}\``,
        );
        expect(run.summary).toContain(`from the base commit ${main.slice(0, 7)}`);
      },
    );

    it('with allow-config-changes: true, its reviewed config is used and only the change is reported', async () => {
      repo.git('checkout', '--quiet', '--detach', main);
      repo.commit({ 'deploy/key.py': `import os\nTOKEN = "${token()}"\n` }, 'key');
      const head = repo.commit(attempts[0]![1](''), 'allowlist deploy/');
      repo.push(`${head}:refs/pull/39/head`);
      repo.git('checkout', '--quiet', 'main');

      const run = await gate(
        repo.checkout('refs/pull/39/head'),
        'pull_request',
        pullRequest(39, main, head, 2),
        {
          'allow-config-changes': 'true',
        },
      );

      expect(run.code).toBe(0);
      expect(run.outputs.findings).toBe('0');
      expect(run.summary).toContain('allowed by `allow-config-changes`; they were used');
    });
  });

  it('lists inline gitleaks:allow lines the pull request adds (gitleaks skips them)', async () => {
    const pr = openPullRequest(40, [
      { 'src/a.py': 'a = 1\n' },
      { 'src/b.py': `x = 1\nTOKEN = "${token()}"  # gitleaks:allow\n` },
    ]);
    const run = await gate(repo.checkout('refs/pull/40/head'), 'pull_request', pr.event);

    expect(run.code).toBe(0);
    expect(run.outputs.findings).toBe('0');
    expect(run.summary).toContain('1 added line carries an inline `gitleaks:allow`, which gitleaks skips:');
    expect(run.summary).toContain(`| \`${pr.head.slice(0, 7)}\` | src/b.py | 2 |`);
    expect(annotations(run.warnings)).toEqual([
      expect.objectContaining({ file: 'src/b.py', line: '2', title: 'gitleaks: inline allow' }),
    ]);
  });

  it('merge_group: a secret added in the conflict resolution of a merge commit fails the gate', async () => {
    repo.git('checkout', '--quiet', '--detach', main);
    const side = repo.commit({ 'conf/region.txt': 'region = eu\n' }, 'side: eu');
    repo.git('checkout', '--quiet', '--detach', main);
    const base = repo.commit({ 'conf/region.txt': 'region = us\n' }, 'main: us');
    const conflict = spawnSync('git', ['-C', repo.author, 'merge', '--no-ff', side], {
      env: GIT_ENV,
      stdio: 'ignore',
    });
    expect(conflict.status).not.toBe(0);
    writeFileSync(join(repo.author, 'conf/region.txt'), `region = eu\nTOKEN = "${token()}"\n`);
    repo.git('add', 'conf/region.txt');
    repo.git('commit', '--quiet', '--no-edit');
    const merge = repo.sha('HEAD');
    const queueRef = `refs/heads/gh-readonly-queue/main/pr-41-${merge}`;
    repo.push(`${base}:refs/heads/queue-base`, `${merge}:${queueRef}`);
    repo.git('checkout', '--quiet', 'main');

    const run = await gate(repo.checkout(queueRef), 'merge_group', {
      merge_group: { head_sha: merge, head_ref: queueRef, base_sha: base, base_ref: 'refs/heads/queue-base' },
    });

    expect(run.code).toBe(1);
    expect(run.outputs['commits-scanned']).toBe('2');
    expect(annotations(run.errors)).toEqual([
      expect.objectContaining({ file: 'conf/region.txt', line: '2' }),
    ]);
    expect(run.stdout).toContain(`added in commit ${merge.slice(0, 7)}`);
  });

  it('force push to the default branch whose before is gone: scans the whole history of after', async () => {
    const own = new GitFixture();
    own.commit({ 'README.md': '# own\n' }, 'root');
    const before = own.commit({ 'a.txt': 'a\n' }, 'a');
    own.push('main');
    own.git('reset', '--quiet', '--hard', 'HEAD~1');
    const after = own.commit({ 'settings.py': `TOKEN = "${token()}"\n` }, 'rewritten');
    own.push('main');
    own.forgetUnreachable();

    const run = await gate(own.checkout('main'), 'push', {
      ref: 'refs/heads/main',
      before,
      after,
      forced: true,
      repository: { default_branch: 'main' },
    });

    expect(run.code).toBe(1);
    expect(run.outputs['commits-scanned']).toBe('2');
    expect(run.warnings.join('\n')).toContain('scanning the whole history of the pushed commit instead');
    expect(annotations(run.errors)).toEqual([expect.objectContaining({ file: 'settings.py', line: '1' })]);
  });

  it('force push of a topic branch onto commits main has, before gone: the whole history, never 0 commits', async () => {
    const own = new GitFixture();
    own.commit({ 'README.md': '# own\n' }, 'root');
    const tip = own.commit({ 'config.py': `TOKEN = "${token()}"\n` }, 'leaked on main');
    own.push('main');
    own.git('checkout', '--quiet', '-b', 'topic');
    const before = own.commit({ 'b.txt': 'b\n' }, 'topic work');
    own.push('topic');
    own.git('reset', '--quiet', '--hard', tip);
    own.push('topic');
    own.forgetUnreachable();

    const run = await gate(own.checkout('topic'), 'push', {
      ref: 'refs/heads/topic',
      before,
      after: tip,
      forced: true,
      repository: { default_branch: 'main' },
    });

    expect(run.outputs['commits-scanned']).toBe('2');
    expect(run.warnings.join('\n')).toContain('scanning the whole history of');
    expect(run.code).toBe(1);
  });

  it('a payload that is not JSON: an error naming GITHUB_EVENT_PATH and the event, before any scan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitleaks-event-'));
    runnerFolders.push(dir);
    writeFileSync(join(dir, 'event.json'), '{"pull_request": ');
    const run = await gate(
      repo.checkout('main'),
      'pull_request',
      {},
      {},
      {
        GITHUB_EVENT_PATH: join(dir, 'event.json'),
      },
    );

    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `::error::GITHUB_EVENT_PATH (${join(dir, 'event.json')}) does not hold the pull_request event's payload as JSON`,
    );
    expect(run.stdout).not.toContain('Scope:');
  });
});
