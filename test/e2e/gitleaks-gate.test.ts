import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeGithubToken, git, GitFixture, gitleaksEmulator } from '../support/git-fixture.js';
import { repoRoot } from '../support/paths.js';
import { gitleaksAnnotations, runGitleaksGate } from '../support/gitleaks-gate.js';
import type { ActionRun } from '../support/run-action.js';

// Detection is the real gitleaks 8.28.0 engine (WebAssembly) behind gitleaks-emulator.mjs, which only
// replays `git log -p -U0 <--log-opts>` the way `gitleaks git` does. The repositories are real: a bare
// origin, checkouts cloned from it over file:// (shallow by default, like actions/checkout).

const ZERO = '0000000000000000000000000000000000000000';
const emulator = gitleaksEmulator();
const runnerFolders: string[] = [];
afterAll(() => {
  for (const dir of runnerFolders) rmSync(dir, { recursive: true, force: true });
});
const secrets: string[] = [];
const secret = () => {
  const token = fakeGithubToken();
  secrets.push(token);
  return token;
};
const configFile = (token: string) => `# generated\nimport os\n\nTOKEN = "${token}"\n`;

const annotations = (run: ActionRun) => gitleaksAnnotations(run.errors);

async function gate(
  cwd: string,
  eventName: string,
  event: unknown,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<ActionRun & { scanned?: string[] }> {
  const before = emulator.runs().length;
  const run = await runGitleaksGate({
    binary: emulator.path,
    cwd,
    eventName,
    event,
    inputs,
    env: { GITLEAKS_EMULATOR_LOG: emulator.logFile, ...env },
    secrets,
    keep: runnerFolders,
  });
  const scans = emulator.runs().slice(before);
  expect(scans.length).toBeLessThanOrEqual(1);
  return { ...run, scanned: scans[0]?.commits };
}

const pullRequest = (number: number, base: string, head: string, commits: number, baseRef = 'main') => ({
  number,
  pull_request: { number, commits, head: { sha: head, ref: 'feature' }, base: { sha: base, ref: baseRef } },
});

describe('gitleaks-gate on real repositories', () => {
  const repo = new GitFixture();
  const onMain = secret();
  const inCommit35 = secret();
  let m3: string;
  let feature: string[];

  beforeAll(() => {
    repo.commit({ 'README.md': '# hello\n' }, 'root');
    repo.commit({ 'legacy/settings.py': configFile(onMain) }, 'legacy settings');
    repo.commit({ 'src/app.py': 'print("hello")\n' }, 'app');
    repo.git('checkout', '--quiet', '-b', 'feature');
    feature = [];
    for (let i = 1; i <= 42; i++) {
      const files =
        i === 35 ? { 'app/config-35.py': configFile(inCommit35) } : { [`notes/n-${i}.md`]: `note ${i}\n` };
      feature.push(repo.commit(files, `feature ${i}`));
    }
    repo.git('checkout', '--quiet', 'main');
    for (let i = 1; i <= 3; i++) m3 = repo.commit({ [`src/m${i}.py`]: `x = ${i}\n` }, `main ${i}`);
    repo.push('main', 'feature');
  });

  it('fails a 42-commit pull request on the secret of its 35th commit, deepening a depth-1 clone', async () => {
    const cwd = repo.checkout('feature');
    expect(git(cwd, 'rev-parse', '--is-shallow-repository')).toBe('true');
    const run = await gate(cwd, 'pull_request', pullRequest(7, m3, feature[41]!, 42));

    expect(run.code).toBe(1);
    expect(run.scanned?.sort()).toEqual([...feature].sort());
    expect(run.outputs['commits-scanned']).toBe('42');
    expect(run.outputs['log-opts']).toBe(`${m3}..${feature[41]}`);
    expect(run.outputs.findings).toBe('1');
    expect(annotations(run)).toEqual([
      expect.objectContaining({ file: 'app/config-35.py', line: '4', title: 'gitleaks: github-pat' }),
    ]);
    expect(annotations(run)[0]!.message).toContain(`${feature[34]}:app/config-35.py:github-pat:4`);
    expect(run.stdout).toMatch(/deepening it by \d+ commits/);
    expect(run.stdout).toMatch(/::error::gitleaks found 1 secret\(s\) \(pull request #7/);
    expect(run.summary).toMatch(/\| github-pat \| `[0-9a-f]{7}` \| app\/config-35\.py \| 4 \|/);
    expect(run.summary).toContain(feature[34]!.slice(0, 7));
    const sarif = JSON.parse(readFileSync(run.outputs['sarif-path']!, 'utf8'));
    expect(sarif.runs).toHaveLength(1);
    expect(sarif.runs[0].results).toHaveLength(1);
    expect(sarif.runs[0].results[0].partialFingerprints.commitSha).toBe(feature[34]);
  });

  it('passes when the same secret sits in a commit before the range', async () => {
    const cwd = repo.checkout('feature', { depth: 0 });
    const run = await gate(cwd, 'pull_request', pullRequest(8, feature[35]!, feature[41]!, 6));

    expect(run.code).toBe(0);
    expect(run.scanned?.sort()).toEqual(feature.slice(36).sort());
    expect(run.outputs.findings).toBe('0');
    expect(annotations(run)).toEqual([]);
    expect(run.summary).toContain('No secrets found');
    expect(run.stdout).not.toMatch(/deepening/);
  });

  describe('a three-commit pull request', () => {
    let head: string;
    let leaky: string;
    const token = secret();

    beforeAll(() => {
      repo.git('checkout', '--quiet', '--detach', m3);
      repo.commit({ 'docs/a.md': 'a\n' }, 'pr 1');
      leaky = repo.commit({ 'deploy/env.py': `import os\nREGION = "eu"\nTOKEN = "${token}"\n` }, 'pr 2');
      head = repo.commit({ 'docs/b.md': 'b\n' }, 'pr 3');
      repo.push(`${head}:refs/pull/9/head`);
      repo.git('checkout', '--quiet', 'main');
    });

    it('pull_request_target: fetches the head it was not checked out on and fails on its secret', async () => {
      const cwd = repo.checkout('main');
      const run = await gate(cwd, 'pull_request_target', pullRequest(9, m3, head, 3));

      expect(run.code).toBe(1);
      expect(run.scanned).toHaveLength(3);
      expect(run.scanned).toContain(leaky);
      expect(annotations(run)).toEqual([expect.objectContaining({ file: 'deploy/env.py', line: '3' })]);
    });

    /** A commit on a branch of its own, next to the pull request (both fork from m3), holding `files`. */
    function baseWith(branch: string, files: Record<string, string>): string {
      repo.git('checkout', '--quiet', '-B', branch, m3);
      const sha = repo.commit(files, `settings on ${branch}`);
      repo.push(branch);
      repo.git('checkout', '--quiet', 'main');
      return sha;
    }

    it("honours the base commit's .gitleaksignore fingerprint", async () => {
      const base = baseWith('reviewed-ignore', {
        '.gitleaksignore': `# reviewed\n${leaky}:deploy/env.py:github-pat:3\n`,
      });
      const cwd = repo.checkout('refs/pull/9/head', { depth: 0 });
      const run = await gate(cwd, 'pull_request', pullRequest(9, base, head, 3, 'reviewed-ignore'));
      expect(run.summary).toContain(`from the base commit ${base.slice(0, 7)}`);

      expect(run.code).toBe(0);
      expect(run.scanned).toHaveLength(3);
      expect(run.outputs.findings).toBe('0');
    });

    it('applies a global commit allowlist of .gitleaks.toml, which gitleaks 8.28 itself ignores in git scans', async () => {
      const base = baseWith('reviewed-allowlist', {
        '.gitleaks.toml': `[extend]\nuseDefault = true\n\n[[allowlists]]\ndescription = "rotated"\ncommits = ["${leaky}"]\n`,
      });
      const cwd = repo.checkout('refs/pull/9/head', { depth: 0 });
      const run = await gate(cwd, 'pull_request', pullRequest(9, base, head, 3, 'reviewed-allowlist'));

      expect(run.stdout).toMatch(/Config: .*base-gitleaks\.toml/);
      expect(run.code).toBe(0);
      expect(run.outputs.findings).toBe('0');
      expect(run.summary).toContain('1 finding(s) skipped: their commit is in a global allowlist');
      const sarif = JSON.parse(readFileSync(run.outputs['sarif-path']!, 'utf8'));
      expect(sarif.runs[0].results).toEqual([]);
    });

    it('reports a gitleaks failure (a broken config) differently from findings', async () => {
      const base = baseWith('broken-config', {
        'ci/broken.toml': '[[rules]]\nid = "broken"\nregex = "([a-"\n',
      });
      const cwd = repo.checkout('broken-config');
      const run = await gate(cwd, 'pull_request', pullRequest(9, base, head, 3, 'broken-config'), {
        config: 'ci/broken.toml',
      });

      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        /::error::gitleaks could not complete the scan, so there is no verdict about secrets: git scan: gitleaks exited with code 2/,
      );
      expect(run.stdout).not.toMatch(/gitleaks found/);
      expect(run.outputs.findings).toBeUndefined();
      expect(run.summary).toContain('The scan did not complete');
    });
  });

  it('uses the config input: a custom rule finds what the default rules do not', async () => {
    const internal = `acme_live_${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 32)}`;
    secrets.push(internal);
    repo.git('checkout', '--quiet', '-B', 'acme-rules', m3);
    const base = repo.commit(
      {
        'ci/gitleaks.toml': `[extend]\nuseDefault = true\n\n[[rules]]\nid = "acme-live-key"\ndescription = "ACME live key"\nregex = '''acme_live_[0-9a-f]{32}'''\n`,
      },
      'acme rules',
    );
    repo.push('acme-rules');
    const head = repo.commit({ 'cfg/app.ini': `[acme]\nroute = ${internal}\n` }, 'acme key');
    repo.push(`${head}:refs/pull/10/head`);
    repo.git('checkout', '--quiet', 'main');
    const cwd = repo.checkout('refs/pull/10/head');

    const plain = await gate(cwd, 'pull_request', pullRequest(10, base, head, 1, 'acme-rules'));
    expect(plain.code).toBe(0);
    const custom = await gate(cwd, 'pull_request', pullRequest(10, base, head, 1, 'acme-rules'), {
      config: 'ci/gitleaks.toml',
    });
    expect(custom.code).toBe(1);
    expect(annotations(custom)).toEqual([
      expect.objectContaining({ file: 'cfg/app.ini', line: '2', title: 'gitleaks: acme-live-key' }),
    ]);
  });

  it('merge_group: scans exactly the queued commits', async () => {
    repo.git('checkout', '--quiet', '--detach', m3);
    const first = repo.commit({ 'queue/1.txt': 'one\n' }, 'queued 1');
    const head = repo.commit({ 'queue/2.txt': 'two\n' }, 'queued 2');
    const queueRef = `refs/heads/gh-readonly-queue/main/pr-11-${head}`;
    repo.push(`${head}:${queueRef}`);
    repo.git('checkout', '--quiet', 'main');
    const cwd = repo.checkout(queueRef, { depth: 0 });
    const run = await gate(cwd, 'merge_group', {
      merge_group: { head_sha: head, head_ref: queueRef, base_sha: m3, base_ref: 'refs/heads/main' },
    });

    expect(run.code).toBe(0);
    expect(run.scanned).toEqual([head, first]);
    expect(run.outputs['commits-scanned']).toBe('2');
  });

  it('push of a new branch: scans the commits not on the default branch', async () => {
    const token = secret();
    repo.git('checkout', '--quiet', '-b', 'topic/new', m3);
    const first = repo.commit({ 'topic/creds.py': configFile(token) }, 'topic 1');
    const head = repo.commit({ 'topic/readme.md': 'topic\n' }, 'topic 2');
    repo.push('topic/new');
    repo.git('checkout', '--quiet', 'main');
    const cwd = repo.checkout('topic/new');
    const run = await gate(cwd, 'push', {
      ref: 'refs/heads/topic/new',
      before: ZERO,
      after: head,
      created: true,
      repository: { default_branch: 'main' },
    });

    expect(run.code).toBe(1);
    expect(run.scanned).toEqual([head, first]);
    expect(annotations(run)).toEqual([expect.objectContaining({ file: 'topic/creds.py', line: '4' })]);
  });

  describe('force push', () => {
    let before: string;
    let after: string[];

    beforeAll(() => {
      repo.git('checkout', '--quiet', '-B', 'rewrite', m3);
      repo.commit({ 'rewrite/old.py': configFile(secret()) }, 'old 1');
      before = repo.commit({ 'rewrite/old.md': 'old\n' }, 'old 2');
      repo.push('rewrite');
      repo.git('checkout', '--quiet', '-B', 'rewrite', m3);
      after = [1, 2, 3]
        .map((i) => repo.commit({ [`rewrite/new-${i}.md`]: `new ${i}\n` }, `new ${i}`))
        .reverse();
      repo.push('rewrite');
      repo.git('checkout', '--quiet', 'main');
    });

    const event = () => ({
      ref: 'refs/heads/rewrite',
      before,
      after: after[0],
      forced: true,
      repository: { default_branch: 'main' },
    });

    it('scans the rewritten commits only, fetching the pre-push commit by id', async () => {
      const run = await gate(repo.checkout('rewrite'), 'push', event());

      expect(run.code).toBe(0);
      expect(run.scanned).toEqual(after);
      expect(run.outputs['log-opts']).toBe(`${before}..${after[0]}`);
      expect(run.warnings).toEqual([]);
    });

    it('falls back to the commits not on the default branch when the pre-push commit is gone', async () => {
      repo.forgetUnreachable();
      const run = await gate(repo.checkout('rewrite'), 'push', event());

      expect(run.code).toBe(0);
      expect(run.scanned).toEqual(after);
      expect(run.warnings.join('\n')).toMatch(/is gone from origin, as after a force push/);
    });
  });

  it('push of an annotated tag on a commit no branch has: scans that commit', async () => {
    const token = secret();
    repo.git('checkout', '--quiet', '--detach', m3);
    const tagged = repo.commit({ 'release/keys.py': configFile(token) }, 'release');
    repo.git('tag', '-a', 'v1.0.0', '-m', 'v1.0.0');
    repo.push('refs/tags/v1.0.0');
    repo.git('checkout', '--quiet', 'main');
    const tagObject = repo.sha('v1.0.0');
    expect(tagObject).not.toBe(tagged);
    const run = await gate(repo.checkout('refs/tags/v1.0.0'), 'push', {
      ref: 'refs/tags/v1.0.0',
      before: ZERO,
      after: tagObject,
      created: true,
      repository: { default_branch: 'main' },
    });

    expect(run.code).toBe(1);
    expect(run.scanned).toEqual([tagged]);
    expect(annotations(run)).toEqual([expect.objectContaining({ file: 'release/keys.py', line: '4' })]);
  });

  it('push of a tag on a commit of the default branch brings no commit and passes', async () => {
    repo.git('tag', 'v0.9.0', m3);
    repo.push('refs/tags/v0.9.0');
    const run = await gate(repo.checkout('refs/tags/v0.9.0'), 'push', {
      ref: 'refs/tags/v0.9.0',
      before: ZERO,
      after: m3,
      created: true,
      repository: { default_branch: 'main' },
    });

    expect(run.code).toBe(0);
    expect(run.outputs['commits-scanned']).toBe('0');
    expect(run.outputs['log-opts']).toBe(`${m3}..${m3}`);
    expect(run.scanned).toBeUndefined();
  });

  it('push deleting a branch scans nothing and passes', async () => {
    const run = await gate(repo.checkout('main'), 'push', {
      ref: 'refs/heads/gone',
      before: m3,
      after: ZERO,
      deleted: true,
    });

    expect(run.code).toBe(0);
    expect(run.scanned).toBeUndefined();
    expect(run.outputs['commits-scanned']).toBe('0');
    expect(run.outputs.findings).toBe('0');
    expect(JSON.parse(readFileSync(run.outputs['sarif-path']!, 'utf8')).runs[0].results).toEqual([]);
  });

  it('scan-mode dir also scans the working tree', async () => {
    const token = secret();
    const cwd = repo.checkout('main');
    mkdirSync(join(cwd, 'vendor/lib'), { recursive: true });
    writeFileSync(join(cwd, 'vendor/lib/client.js'), `// vendored\nconst key = "${token}";\n`);
    const event = { ref: 'refs/heads/main', before: repo.sha('main~1'), after: m3 };

    const gitOnly = await gate(cwd, 'push', event);
    expect(gitOnly.code).toBe(0);
    const run = await gate(cwd, 'push', event, { 'scan-mode': 'dir' });
    expect(run.code).toBe(1);
    expect(run.scanned).toEqual([m3]);
    // legacy/settings.py is in the tree too: a working-tree scan sees every file.
    expect(
      annotations(run)
        .map((a) => `${a.file}:${a.line}`)
        .sort(),
    ).toEqual(['legacy/settings.py:4', 'vendor/lib/client.js:2']);
    expect(run.summary).toContain('working tree');
  });

  it('workflow_dispatch with scan-range scans exactly that range', async () => {
    const cwd = repo.checkout('main', { depth: 0 });
    const run = await gate(cwd, 'workflow_dispatch', {}, { 'scan-range': 'origin/main~3..origin/main' });

    expect(run.code).toBe(0);
    expect(run.scanned).toEqual(repo.git('rev-list', 'main~3..main').split('\n'));
  });

  it('names a config input that points nowhere, before fetching or scanning anything', async () => {
    const run = await gate(repo.checkout('main'), 'pull_request', pullRequest(7, m3, feature[41]!, 42), {
      config: 'ci/missing.toml',
    });

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::Invalid input "config": expected a gitleaks config file, found none at /,
    );
    expect(run.scanned).toBeUndefined();
  });

  it('says which commit it cannot fetch when the event names one origin does not have', async () => {
    const unknown = 'f'.repeat(40);
    const run = await gate(repo.checkout('main'), 'pull_request', pullRequest(99, m3, unknown, 1));

    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`::error::Cannot fetch the head commit ${unknown} from origin`);
    expect(run.scanned).toBeUndefined();
  });

  afterAll(() => {
    repo.git('checkout', '--quiet', 'main');
  });
});

describe('gitleaks-gate on a repository first pushed (root commit in range)', () => {
  const repo = new GitFixture();
  const inRoot = secret();
  let commits: string[];

  beforeAll(() => {
    commits = [
      repo.commit({ 'settings.py': configFile(inRoot) }, 'root'),
      repo.commit({ 'a.md': 'a\n' }, 'two'),
      repo.commit({ 'b.md': 'b\n' }, 'three'),
    ].reverse();
    repo.push('main');
  });

  it('scans the whole history including the root commit, unshallowing a depth-1 clone', async () => {
    const run = await gate(repo.checkout('main'), 'push', {
      ref: 'refs/heads/main',
      before: ZERO,
      after: commits[0],
      created: true,
      repository: { default_branch: 'main' },
    });

    expect(run.code).toBe(1);
    expect(run.scanned).toEqual(commits);
    expect(run.stdout).toContain('fetching the whole history');
    expect(annotations(run)).toEqual([expect.objectContaining({ file: 'settings.py', line: '4' })]);
    expect(annotations(run)[0]!.message).toContain(`added in commit ${commits[2]!.slice(0, 7)}`);
  });

  it('schedule without scan-range scans the full history', async () => {
    const run = await gate(repo.checkout('main'), 'schedule', {});

    expect(run.code).toBe(1);
    expect(run.outputs['log-opts']).toBe('--full-history --all');
    expect(run.scanned).toEqual(commits);
  });
});

describe('gitleaks-gate installs gitleaks from a release archive', () => {
  let server: Server;
  let baseUrl: string;
  const requests: string[] = [];
  const bodies = new Map<string, Buffer>();
  const work = mkdtempSync(join(tmpdir(), 'gitleaks-gate-release-'));
  const marker = join(work, 'tampered-binary-ran');
  const asset = `gitleaks_8.28.0_linux_${process.arch === 'arm64' ? 'arm64' : 'x64'}.tar.gz`;
  const repo = new GitFixture();
  let event: object;

  function tarball(name: string, binary: string): Buffer {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'gitleaks'), binary);
    chmodSync(join(dir, 'gitleaks'), 0o755);
    writeFileSync(join(dir, 'LICENSE'), 'MIT\n');
    writeFileSync(join(dir, 'README.md'), '# gitleaks\n');
    execFileSync('tar', ['-czf', `${dir}.tar.gz`, '-C', dir, 'gitleaks', 'LICENSE', 'README.md']);
    return readFileSync(`${dir}.tar.gz`);
  }

  const genuine = tarball(
    'genuine',
    `#!/bin/sh\nexec '${process.execPath}' '${repoRoot}test/support/gitleaks-emulator.mjs' "$@"\n`,
  );
  const tampered = tarball('tampered', `#!/bin/sh\ntouch '${marker}'\nexit 0\n`);
  const sha256 = createHash('sha256').update(genuine).digest('hex');

  beforeAll(async () => {
    bodies.set(`/genuine/v8.28.0/${asset}`, genuine);
    bodies.set(`/tampered/v8.28.0/${asset}`, tampered);
    server = createServer((request, response) => {
      requests.push(request.url ?? '');
      const body = bodies.get(request.url ?? '');
      response.writeHead(body ? 200 : 404).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const first = repo.commit({ 'a.md': 'a\n' }, 'one');
    const second = repo.commit({ 'b.md': 'b\n' }, 'two');
    repo.push('main');
    event = { ref: 'refs/heads/main', before: first, after: second };
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const runner = (name: string) => {
    const dir = join(work, name);
    return { RUNNER_TOOL_CACHE: join(dir, 'tool-cache'), RUNNER_TEMP: join(dir, 'temp') };
  };

  it('downloads, verifies and caches it; the next job finds it in the tool cache', async () => {
    const env = runner('runner-a');
    const inputs = { 'gitleaks-path': '', 'download-url': `${baseUrl}/genuine`, 'gitleaks-sha256': sha256 };
    const first = await gate(repo.checkout('main'), 'push', event, inputs, env);

    expect(first.code).toBe(0);
    expect(requests).toEqual([`/genuine/v8.28.0/${asset}`]);
    expect(first.stdout).toContain(`sha256 ${sha256} matches`);
    expect(first.scanned).toHaveLength(1);
    expect(existsSync(join(env.RUNNER_TOOL_CACHE, 'gitleaks/8.28.0', process.arch, 'gitleaks'))).toBe(true);

    const second = await gate(repo.checkout('main'), 'push', event, inputs, env);
    expect(second.code).toBe(0);
    expect(requests).toHaveLength(1);
    expect(second.stdout).toContain('gitleaks 8.28.0 found in the tool cache');
    expect(second.scanned).toHaveLength(1);
  });

  it('refuses a tampered archive before extracting it', async () => {
    const env = runner('runner-b');
    const run = await gate(
      repo.checkout('main'),
      'push',
      event,
      {
        'gitleaks-path': '',
        'download-url': `${baseUrl}/tampered`,
        'gitleaks-sha256': sha256,
      },
      env,
    );

    expect(run.code).toBe(1);
    expect(requests).toContain(`/tampered/v8.28.0/${asset}`);
    expect(run.stdout).toMatch(
      new RegExp(
        `::error::Refusing ${asset.replace(/\./g, '\\.')} .*its sha256 is [0-9a-f]{64}, expected ${sha256}`,
      ),
    );
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(env.RUNNER_TOOL_CACHE, 'gitleaks'))).toBe(false);
    const leftovers = existsSync(env.RUNNER_TEMP)
      ? readdirSync(env.RUNNER_TEMP, { recursive: true })
          .map(String)
          .filter((path) => path.endsWith('gitleaks'))
      : [];
    expect(leftovers).toEqual([]);
  });

  it('names the input when no checksum is pinned for the version', async () => {
    const run = await gate(
      repo.checkout('main'),
      'push',
      event,
      { 'gitleaks-path': '', version: '8.0.1' },
      runner('runner-c'),
    );

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /::error::Invalid input "gitleaks-sha256": is required for gitleaks 8\.0\.1 on linux_/,
    );
    expect(requests.filter((url) => url.includes('8.0.1'))).toEqual([]);
  });
});

describe('gitleaks-gate on pull requests whose base branch moved on, from depth-1 clones', () => {
  const repo = new GitFixture();
  const beforeFork = secret();
  const onTopic = secret();
  const mainAfterFork = secret();
  const onSide = secret();
  let fork: string;
  let topic: string[];
  let tip: string;

  /** What base..head is in the author's complete clone: the commits the gate must scan, no more, no fewer. */
  const range = (base: string, head: string) => repo.git('rev-list', `${base}..${head}`).split('\n');

  beforeAll(() => {
    repo.commit({ 'README.md': '# moved\n' }, 'root');
    repo.commit({ 'old/settings.py': configFile(beforeFork) }, 'a secret long on main');
    const sideFork = repo.commit({ 'src/a.py': 'a = 1\n' }, 'a');
    fork = repo.commit({ 'src/b.py': 'b = 1\n' }, 'b: where topic forks');
    // A branch that forked before topic did and is merged into main after topic forked.
    repo.git('checkout', '--quiet', '-b', 'side', sideFork);
    repo.commit({ 'side/creds.py': configFile(onSide) }, 'side 1');
    repo.commit({ 'side/readme.md': 'side\n' }, 'side 2');
    repo.git('checkout', '--quiet', '-b', 'topic', fork);
    topic = [1, 2, 3, 4, 5]
      .map((i) =>
        repo.commit(
          i === 3 ? { 'topic/env.py': configFile(onTopic) } : { [`topic/${i}.md`]: `${i}\n` },
          `t${i}`,
        ),
      )
      .reverse();
    repo.git('checkout', '--quiet', 'main');
    for (let i = 1; i <= 6; i++) repo.commit({ [`main/${i}.md`]: `${i}\n` }, `main ${i}`);
    repo.git('merge', '--quiet', '--no-ff', '--no-edit', 'side');
    repo.commit({ 'main/leak.py': configFile(mainAfterFork) }, 'a secret on main after the fork');
    tip = repo.commit({ 'main/last.md': 'last\n' }, 'main last');
    repo.push('main', 'topic', 'side');
  });

  it('base at its fork point: deepens the head alone, the fork point stays a cut outside the range', async () => {
    const cwd = repo.checkout('topic');
    const run = await gate(cwd, 'pull_request', pullRequest(21, fork, topic[0]!, 5));

    expect(run.code).toBe(1);
    expect(run.scanned).toEqual(range(fork, topic[0]!));
    expect(run.outputs['commits-scanned']).toBe('5');
    expect(annotations(run)).toEqual([expect.objectContaining({ file: 'topic/env.py', line: '4' })]);
    expect(run.stdout).toMatch(/deepening it by 5 commits/);
    expect(git(cwd, 'rev-parse', '--is-shallow-repository')).toBe('true');
    expect(readFileSync(join(cwd, '.git/shallow'), 'utf8')).toContain(fork);
    // Nothing of the base branch beyond the fork point was fetched: not its parent, not main's newer commits.
    const fetched = git(cwd, 'rev-list', '--all').split('\n');
    expect(fetched).toHaveLength(6);
    expect(fetched).not.toContain(repo.sha(`${fork}~1`));
    expect(fetched).not.toContain(tip);
  });

  it('base moved on (with a branch merged into it that forked earlier): scans exactly base..head', async () => {
    const cwd = repo.checkout('topic');
    const run = await gate(cwd, 'pull_request', pullRequest(22, tip, topic[0]!, 5));

    expect(run.code).toBe(1);
    expect(run.scanned).toEqual(range(tip, topic[0]!));
    expect(run.outputs['log-opts']).toBe(`${tip}..${topic[0]}`);
    expect(annotations(run)).toEqual([expect.objectContaining({ file: 'topic/env.py', line: '4' })]);
    expect(run.summary).toContain(`from the base commit ${tip.slice(0, 7)}`);
    expect(run.stdout).toMatch(/deepening it by 5 commits from the head/);
    expect(run.stdout).toMatch(/Fetching the base [0-9a-f]{7} with 100 commits of its history/);
    expect(run.warnings).toEqual([]);
  });

  it('pull_request_target (the head not checked out) with a moved base: scans exactly base..head', async () => {
    // The base checked out at depth 1 (a cut), then deeper, though not down to the fork point: its history
    // is deepened from there, never cut shorter.
    for (const depth of [1, 3]) {
      const cwd = repo.checkout('main', { depth });
      const run = await gate(cwd, 'pull_request_target', pullRequest(23, tip, topic[0]!, 5));

      expect(run.code).toBe(1);
      expect(run.scanned).toEqual(range(tip, topic[0]!));
      expect(Number(git(cwd, 'rev-list', '--count', tip))).toBeGreaterThanOrEqual(depth);
    }
  });

  it('a pull request that merged the base branch into itself: its merge is scanned, main’s commits are not', async () => {
    repo.git('checkout', '--quiet', '-b', 'catch-up', fork);
    repo.commit({ 'catch/1.md': '1\n' }, 'c1');
    repo.git('merge', '--quiet', '--no-edit', 'main~3');
    repo.commit({ 'catch/2.md': '2\n' }, 'c2');
    const head = repo.commit({ 'catch/3.md': '3\n' }, 'c3');
    repo.push('catch-up');
    repo.git('checkout', '--quiet', 'main');
    const expected = range(tip, head);
    expect(expected).toHaveLength(4);

    const run = await gate(repo.checkout('catch-up'), 'pull_request', pullRequest(24, tip, head, 4));
    expect(run.code).toBe(0);
    expect(run.scanned).toEqual(expected);
    expect(run.outputs.findings).toBe('0');
  });

  it('a commit count that does not match the range: falls back to deepening both ends, still exact', async () => {
    for (const [number, count] of [
      [25, 2],
      [26, 9],
    ] as const) {
      const run = await gate(
        repo.checkout('topic'),
        'pull_request',
        pullRequest(number, tip, topic[0]!, count),
      );
      expect(run.code).toBe(1);
      expect(run.scanned).toEqual(range(tip, topic[0]!));
      expect(annotations(run)).toEqual([expect.objectContaining({ file: 'topic/env.py', line: '4' })]);
    }
  });

  it('a checkout deep enough already: fetches nothing', async () => {
    // topic down to its fork point (a cut), and main's tip with 10 commits of history, down to that same cut.
    const cwd = repo.checkout('topic', { depth: 6 });
    git(cwd, 'fetch', '--quiet', '--no-tags', '--depth=10', 'origin', tip);
    expect(git(cwd, 'rev-parse', '--is-shallow-repository')).toBe('true');
    const run = await gate(cwd, 'pull_request', pullRequest(27, tip, topic[0]!, 5));

    expect(run.code).toBe(1);
    expect(run.scanned).toEqual(range(tip, topic[0]!));
    expect(run.stdout).not.toMatch(/deepening|fetching/i);
  });
});
