import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, parsePorcelainZ, type StatusEntry } from '../../actions/engine/commands/git.js';
import { LocalExecutor } from '../../actions/engine/exec/local.js';
import { planRelease, type ReleaseRequest } from '../../actions/engine/release/plan.js';
import type { ReleaseResult } from '../../actions/engine/release/release.js';
import { releaseTag } from '../../actions/engine/release/revision.js';
import { renderSummary } from '../../actions/engine/release/summary.js';
import {
  buildPathspecs,
  changedPaths,
  chooseTag,
  describeEntry,
  dirtyFingerprint,
  dirtyTag,
  DirtyWorkTreeError,
  inspectWorkTree,
  listEntries,
  type WorkTree,
} from '../../actions/engine/release/worktree.js';

// Is the build context its commit, unchanged? The pure parts, then inspectWorkTree against real git.

const SHA = 'a'.repeat(40);
const FINGERPRINT = '0123456789ab';

describe('reading git status --porcelain=v1 -z', () => {
  it('parses staged, unstaged, untracked, renamed and odd paths', () => {
    const output = [
      ' M app/serve.sh',
      'M  Dockerfile',
      'MM both.txt',
      'A  new file.txt',
      ' D gone.txt',
      '?? notes/todo.md',
      'R  to.txt',
      'from.txt',
      '?? nested/',
      '?? weird\nname -> x',
      '',
    ].join('\0');
    expect(parsePorcelainZ(output)).toEqual([
      { index: ' ', worktree: 'M', path: 'app/serve.sh' },
      { index: 'M', worktree: ' ', path: 'Dockerfile' },
      { index: 'M', worktree: 'M', path: 'both.txt' },
      { index: 'A', worktree: ' ', path: 'new file.txt' },
      { index: ' ', worktree: 'D', path: 'gone.txt' },
      { index: '?', worktree: '?', path: 'notes/todo.md' },
      { index: 'R', worktree: ' ', path: 'to.txt', from: 'from.txt' },
      { index: '?', worktree: '?', path: 'nested/' },
      { index: '?', worktree: '?', path: 'weird\nname -> x' },
    ]);
    expect(parsePorcelainZ('')).toEqual([]);
    expect(() => parsePorcelainZ('garbage\0')).toThrow(/unexpected git status output/);
  });

  it('says what happened to each path, as a user would', () => {
    const entry = (code: string, path = 'f', from?: string): StatusEntry => ({
      index: code[0]!,
      worktree: code[1]!,
      path,
      ...(from ? { from } : {}),
    });
    expect(describeEntry(entry(' M'))).toBe('modified');
    expect(describeEntry(entry('M '))).toBe('modified (staged)');
    expect(describeEntry(entry('MM'))).toBe('modified (staged), then modified');
    expect(describeEntry(entry('A '))).toBe('added (staged)');
    expect(describeEntry(entry(' D'))).toBe('deleted');
    expect(describeEntry(entry('??'))).toBe('untracked');
    expect(describeEntry(entry('UU'))).toBe('unmerged (conflict)');
    expect(describeEntry(entry('R ', 'to', 'from'))).toBe('renamed from from (staged)');
    expect(changedPaths([entry('R ', 'to', 'from'), entry(' M', 'a'), entry('??', 'a')])).toEqual([
      'a',
      'from',
      'to',
    ]);
  });

  it('lists at most ten paths, then how many more', () => {
    const entries = Array.from({ length: 13 }, (_, i) => ({ index: '?', worktree: '?', path: `f${i}` }));
    const lines = listEntries(entries);
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('  - f0 (untracked)');
    expect(lines[10]).toBe('  - … and 3 more');
    expect(listEntries(entries.slice(0, 10))).toHaveLength(10);
  });
});

describe('what is checked', () => {
  it('runs git status without a shell, with every untracked file and no rename detection', () => {
    expect(git.status([':(top,literal)app'])).toEqual([
      'git',
      '--no-optional-locks',
      'status',
      '--porcelain=v1',
      '-z',
      '--untracked-files=all',
      '--ignore-submodules=none',
      '--no-renames',
      '--',
      ':(top,literal)app',
    ]);
  });

  it('limits the check to the context, plus a Dockerfile outside it', () => {
    expect(buildPathspecs('/repo', '/repo', '/repo/Dockerfile')).toEqual([]);
    expect(buildPathspecs('/repo', '/repo', '/repo/docker/Dockerfile')).toEqual([]);
    expect(buildPathspecs('/repo', '/repo/services/api', '/repo/services/api/Dockerfile')).toEqual([
      ':(top,literal)services/api',
    ]);
    expect(buildPathspecs('/repo', '/repo/svc [x]', '/repo/docker/api.Dockerfile')).toEqual([
      ':(top,literal)svc [x]',
      ':(top,literal)docker/api.Dockerfile',
    ]);
    expect(buildPathspecs('/repo', '/repo/app', '/repo/..app/Dockerfile')).toEqual([
      ':(top,literal)app',
      ':(top,literal)..app/Dockerfile',
    ]);
    // A Dockerfile outside the repository is not git's to check.
    expect(buildPathspecs('/repo', '/repo/app', '/elsewhere/Dockerfile')).toEqual([':(top,literal)app']);
  });
});

describe('the dirty tag', () => {
  const states = [
    { path: 'a.txt', state: 'file - 1111' },
    { path: 'b.txt', state: 'missing' },
  ];

  it('is the commit tag plus a short hash of the changed content, the same whatever the order', () => {
    const fingerprint = dirtyFingerprint(SHA, states);
    expect(fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(dirtyFingerprint(SHA, [...states].reverse())).toBe(fingerprint);
    expect(dirtyTag(releaseTag(SHA, false), fingerprint)).toBe(`sha-${SHA}-dirty-${fingerprint}`);
    expect(dirtyTag(releaseTag(SHA, true), fingerprint)).toBe(`sha-aaaaaaa-dirty-${fingerprint}`);
    // Docker tags: at most 128 characters of [A-Za-z0-9_.-].
    const longest = dirtyTag(releaseTag('f'.repeat(64), false), fingerprint);
    expect(longest.length).toBeLessThanOrEqual(128);
    expect(longest).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
  });

  it('changes with any content, path or the commit the changes are on', () => {
    const fingerprint = dirtyFingerprint(SHA, states);
    expect(dirtyFingerprint(SHA, [states[0]!, { path: 'b.txt', state: 'file - 2222' }])).not.toBe(
      fingerprint,
    );
    expect(dirtyFingerprint(SHA, [states[0]!, { path: 'c.txt', state: 'missing' }])).not.toBe(fingerprint);
    expect(dirtyFingerprint('b'.repeat(40), states)).not.toBe(fingerprint);
    expect(dirtyFingerprint(undefined, states)).not.toBe(fingerprint);
  });
});

describe('choosing the tag', () => {
  const cleanTag = `sha-${SHA}`;
  const dirtyTree = (count: number): WorkTree => ({
    git: true,
    top: '/repo',
    head: SHA,
    entries: Array.from({ length: count }, (_, i) => ({ index: ' ', worktree: 'M', path: `src/f${i}.ts` })),
    fingerprint: FINGERPRINT,
  });
  const choose = (workTree: WorkTree, allowDirty = false) =>
    chooseTag({ cleanTag, sha: SHA, context: '/repo', workTree, allowDirty });

  it("a clean checkout gets the commit's tag", () => {
    const choice = choose({ git: true, top: '/repo', head: SHA, entries: [] });
    expect(choice).toMatchObject({ tag: cleanTag, dirty: false, warnings: [] });
    expect(choice.info.join('\n')).toContain('Work tree clean');
  });

  it('refuses uncommitted changes, naming allow-dirty and at most ten paths', () => {
    let error: unknown;
    try {
      choose(dirtyTree(12));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DirtyWorkTreeError);
    const message = (error as Error).message;
    expect(message).toContain('allow-dirty: true');
    expect(message).toContain('12 paths differ from commit');
    expect(message).toContain('  - src/f0.ts (modified)');
    expect(message).toContain('  - src/f9.ts (modified)');
    expect(message).not.toContain('src/f10.ts');
    expect(message).toContain('… and 2 more');
    expect(message).toContain('nothing was built or pushed');
    expect(message).toContain(`sha-${SHA}-dirty-${FINGERPRINT}`);
  });

  it('with allow-dirty uses the dirty tag and says so', () => {
    const choice = choose(dirtyTree(1), true);
    expect(choice.tag).toBe(`sha-${SHA}-dirty-${FINGERPRINT}`);
    expect(choice.dirty).toBe(true);
    expect(choice.dirtyBuild).toEqual({
      cleanTag,
      fingerprint: FINGERPRINT,
      changes: [{ path: 'src/f0.ts', what: 'modified' }],
    });
    expect(choice.warnings.join('\n')).toMatch(/allow-dirty: building uncommitted changes\. 1 path differs/);
    expect(choice.warnings.join('\n')).toContain(`not ${cleanTag}`);
  });

  it('outside a git checkout tags the commit on trust, with a warning', () => {
    const choice = choose({ git: false, reason: 'the context is not in a git checkout' });
    expect(choice).toMatchObject({ tag: cleanTag, dirty: false });
    expect(choice.warnings.join('\n')).toMatch(/Cannot check .* not in a git checkout.*on trust/);
  });

  it('the job summary shows the dirty build, its paths and both tags', () => {
    const choice = choose(dirtyTree(11), true);
    const request: ReleaseRequest = {
      registry: 'ghcr.io',
      appRepository: 'acme/hello',
      migratorRepository: 'acme/hello-migrator',
      context: '/repo',
      dockerfile: '/repo/Dockerfile',
      appTarget: 'runner',
      migratorTarget: 'migrator',
      buildArgs: {},
      labels: {},
      platforms: [],
      noCache: false,
    };
    const plan = planRelease(
      request,
      {
        sha: SHA,
        tag: choice.tag,
        created: { iso: '2024-01-01T00:00:00Z', epoch: 1704067200, from: 'git' },
        dirty: choice.dirtyBuild,
      },
      { sourceDateEpoch: true, cache: false },
    );
    expect(plan.images[0].reference).toBe(`ghcr.io/acme/hello:${choice.tag}`);
    expect(plan.images[0].spec.labels['org.opencontainers.image.version']).toBe(choice.tag);
    const result: ReleaseResult = {
      plan,
      tooling: { kind: 'buildx', driver: 'docker' },
      images: plan.images.map((image) => ({
        role: image.role,
        repository: image.repository,
        reference: image.reference,
        digest: 'sha256:1',
        pinned: `${image.repository}@sha256:1`,
        outcome: 'pushed',
        labels: image.spec.labels,
      })),
    };
    const markdown = renderSummary(result);
    expect(markdown).toContain('**Built from uncommitted changes**');
    expect(markdown).toContain(`Tagged \`${choice.tag}\`, not the commit's own tag \`${cleanTag}\``);
    expect(markdown).toContain('- `src/f9.ts` (modified)');
    expect(markdown).not.toContain('src/f10.ts');
    expect(markdown).toContain('… and 1 more');
    const clean = renderSummary({ ...result, plan: { ...plan, dirty: undefined } });
    expect(clean).not.toContain('uncommitted');
  });
});

describe('inspecting a real work tree', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'release-image-worktree-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const executor = new LocalExecutor();
  const git = (dir: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.com', ...args], {
      cwd: dir,
      encoding: 'utf8',
    }).trim();

  /** repo/{README.md, .gitignore, app/{Dockerfile, main.sh, old.txt}, docker/other.Dockerfile}, committed. */
  function repository(): string {
    const dir = mkdtempSync(join(scratch, 'repo-'));
    mkdirSync(join(dir, 'app'));
    mkdirSync(join(dir, 'docker'));
    writeFileSync(join(dir, 'README.md'), 'readme\n');
    writeFileSync(join(dir, '.gitignore'), '*.log\n');
    writeFileSync(join(dir, 'app', 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(join(dir, 'app', 'main.sh'), 'echo 1\n');
    writeFileSync(join(dir, 'app', 'old.txt'), 'old\n');
    writeFileSync(join(dir, 'docker', 'other.Dockerfile'), 'FROM scratch\n');
    git(dir, 'init', '--quiet');
    git(dir, 'add', '.');
    git(dir, 'commit', '--quiet', '-m', 'one');
    return dir;
  }

  it('a clean checkout has no entries; ignored files and changes outside the context do not count', async () => {
    const dir = repository();
    writeFileSync(join(dir, 'app', 'build.log'), 'ignored\n');
    writeFileSync(join(dir, 'README.md'), 'changed outside the context\n');
    writeFileSync(join(dir, 'outside.txt'), 'untracked outside the context\n');
    const tree = await inspectWorkTree(executor, join(dir, 'app'), join(dir, 'app', 'Dockerfile'));
    expect(tree).toMatchObject({ git: true, head: git(dir, 'rev-parse', 'HEAD'), entries: [] });
    // With the repository root as the context, the same changes do count.
    const whole = await inspectWorkTree(executor, dir, join(dir, 'app', 'Dockerfile'));
    expect(whole.git && whole.entries.map((entry) => entry.path)).toEqual(['README.md', 'outside.txt']);
  });

  it('finds staged and unstaged changes, deletions and untracked files, and a Dockerfile outside the context', async () => {
    const dir = repository();
    writeFileSync(join(dir, 'app', 'main.sh'), 'echo 2\n');
    writeFileSync(join(dir, 'app', 'staged.txt'), 'new\n');
    git(dir, 'add', 'app/staged.txt');
    mkdirSync(join(dir, 'app', 'deep', 'er'), { recursive: true });
    writeFileSync(join(dir, 'app', 'deep', 'er', 'x.txt'), 'x\n');
    symlinkSync('main.sh', join(dir, 'app', 'link'));
    rmSync(join(dir, 'app', 'old.txt'));
    writeFileSync(join(dir, 'docker', 'other.Dockerfile'), 'FROM busybox\n');
    const tree = await inspectWorkTree(executor, join(dir, 'app'), join(dir, 'docker', 'other.Dockerfile'));
    expect(tree.git).toBe(true);
    if (!tree.git) return;
    expect(tree.entries.map((entry) => `${entry.path} (${describeEntry(entry)})`).sort()).toEqual([
      'app/deep/er/x.txt (untracked)',
      'app/link (untracked)',
      'app/main.sh (modified)',
      'app/old.txt (deleted)',
      'app/staged.txt (added (staged))',
      'docker/other.Dockerfile (modified)',
    ]);
    expect(tree.fingerprint).toMatch(/^[0-9a-f]{12}$/);
  });

  it('gives the same fingerprint for the same changes (staged or not, in another clone) and another for others', async () => {
    const first = repository();
    const second = mkdtempSync(join(scratch, 'copy-'));
    cpSync(first, second, { recursive: true });
    writeFileSync(join(first, 'app', 'main.sh'), 'echo 2\n');
    writeFileSync(join(first, 'app', 'new.txt'), 'new\n');
    writeFileSync(join(second, 'app', 'main.sh'), 'echo 2\n');
    writeFileSync(join(second, 'app', 'new.txt'), 'new\n');
    git(second, 'add', '--all');
    const fingerprint = async (dir: string) => {
      const tree = await inspectWorkTree(executor, join(dir, 'app'), join(dir, 'app', 'Dockerfile'));
      return tree.git ? tree.fingerprint : undefined;
    };
    const a = await fingerprint(first);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(await fingerprint(second)).toBe(a);
    expect(await fingerprint(first)).toBe(a);
    writeFileSync(join(first, 'app', 'new.txt'), 'newer\n');
    expect(await fingerprint(first)).not.toBe(a);
  });

  it('outside a git checkout says so', async () => {
    const plain = mkdtempSync(join(scratch, 'plain-'));
    writeFileSync(join(plain, 'Dockerfile'), 'FROM scratch\n');
    expect(await inspectWorkTree(executor, plain, join(plain, 'Dockerfile'))).toEqual({
      git: false,
      reason: 'the context is not in a git checkout',
    });
  });

  it('without git on PATH says so', async () => {
    const plain = mkdtempSync(join(scratch, 'nogit-'));
    const tree = await inspectWorkTree(new LocalExecutor({ PATH: '/nonexistent' }), plain, plain);
    expect(tree).toEqual({ git: false, reason: 'git is not installed on this runner' });
  });
});
