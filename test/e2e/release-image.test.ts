import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withRegistryLogin } from '../support/images.js';
import { exampleDir } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { runAction, type ActionRun, type ActionRunOptions } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

// release-image end to end: the bundle, the Docker engine, buildx and the sandbox registry with auth.

const COMMIT_DATE = '2024-03-01T12:34:56+01:00';
const COMMIT_DATE_UTC = '2024-03-01T11:34:56Z';

interface GitContext {
  dir: string;
  /** The commit the example is at. */
  sha: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'release-image-e2e-'));
const runId = randomBytes(4).toString('hex');
let counter = 0;

function unique(name: string): string {
  counter += 1;
  return `release-test/${runId}-${counter}/${name}`;
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: COMMIT_DATE, GIT_COMMITTER_DATE: COMMIT_DATE },
  }).trim();
}

/** A copy of examples/hello committed to its own repository at a known time. */
function gitContext(): GitContext {
  const dir = mkdtempSync(join(scratch, 'repo-'));
  cpSync(exampleDir, dir, { recursive: true });
  git(dir, 'init', '--quiet');
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'release');
  return { dir, sha: git(dir, 'rev-parse', 'HEAD') };
}

function registryRead<T>(sb: Sandbox, argv: string[], parse: (stdout: string) => T): T {
  return withRegistryLogin(sb, (dockerConfig) =>
    parse(
      execFileSync('docker', argv, {
        encoding: 'utf8',
        env: { ...process.env, DOCKER_CONFIG: dockerConfig },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ),
  );
}

/** The digest the registry serves for a reference: sha256 of the manifest's bytes. */
function servedDigest(sb: Sandbox, reference: string): string {
  return registryRead(
    sb,
    ['buildx', 'imagetools', 'inspect', '--raw', reference],
    (raw) => `sha256:${createHash('sha256').update(raw).digest('hex')}`,
  );
}

interface ImageConfig {
  created: string;
  config: { Labels: Record<string, string>; Env: string[] };
}

function servedConfig(sb: Sandbox, reference: string): ImageConfig {
  return registryRead(
    sb,
    ['buildx', 'imagetools', 'inspect', reference, '--format', '{{json .Image}}'],
    (json) => JSON.parse(json) as ImageConfig,
  );
}

/** The tags the registry holds for a repository (none when it does not know the repository). */
async function registryTags(sb: Sandbox, repository: string): Promise<string[]> {
  const response = await fetch(`http://${sb.registry}/v2/${repository}/tags/list`, {
    headers: {
      authorization: `Basic ${Buffer.from(`${sb.registryUsername}:${sb.registryPassword}`).toString('base64')}`,
    },
  });
  if (response.status === 404) return [];
  expect(response.status).toBe(200);
  return (((await response.json()) as { tags?: string[] | null }).tags ?? []).sort();
}

function tagExists(sb: Sandbox, reference: string): boolean {
  try {
    servedDigest(sb, reference);
    return true;
  } catch {
    return false;
  }
}

function localImageExists(reference: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', reference], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Every file below `dir` (not following symlinks) whose bytes contain one of `needles`. */
function filesContaining(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  const walk = (path: string) => {
    let entries: string[];
    try {
      entries = readdirSync(path);
    } catch {
      return;
    }
    for (const name of entries) {
      const full = join(path, name);
      const stat = statSync(full, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile() && stat.size < 10_000_000) {
        const text = readFileSync(full, 'latin1');
        if (needles.some((needle) => text.includes(needle))) hits.push(full);
      }
    }
  };
  walk(dir);
  return hits;
}

/** What a user can read: `::add-mask::` commands are consumed by the runner, never shown. */
function shown(run: ActionRun): string {
  return run.everything
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

describe('release-image', () => {
  let sb: Sandbox;
  let ctx: GitContext;
  let secrets: string[];

  beforeAll(() => {
    sb = sandbox();
    ctx = gitContext();
    secrets = [
      sb.registryPassword,
      Buffer.from(`${sb.registryUsername}:${sb.registryPassword}`).toString('base64'),
    ];
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    // The builds also left images in the local store (tagged, or by digest once re-tagged); remove this run's.
    const ours = execFileSync(
      'docker',
      ['image', 'ls', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}'],
      { encoding: 'utf8' },
    )
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([repository]) => repository?.includes(`/release-test/${runId}-`))
      .flatMap(([repository, tag, digest]) => [
        ...(tag && tag !== '<none>' ? [`${repository}:${tag}`] : []),
        ...(digest && digest !== '<none>' ? [`${repository}@${digest}`] : []),
      ]);
    // One by one: removing a tag can remove the image, and with it the by-digest name listed next.
    for (const name of ours) spawnSync('docker', ['image', 'rm', name], { stdio: 'ignore' });
  });

  /** Runs the bundle as a push to main at ctx.sha, with its own HOME and RUNNER_TEMP. */
  async function release(
    inputs: Record<string, string>,
    options: ActionRunOptions & { context?: string } = {},
  ): Promise<ActionRun & { home: string; runnerTemp: string }> {
    const home = mkdtempSync(join(scratch, 'home-'));
    const runnerTemp = mkdtempSync(join(scratch, 'runner-temp-'));
    const run = await runAction('release-image', {
      ...options,
      inputs: {
        registry: sb.registry,
        context: options.context ?? ctx.dir,
        'build-args': `BASE_IMAGE=${sb.baseImage}\nGIT_SHA=${ctx.sha}`,
        'registry-username': sb.registryUsername,
        'registry-password': sb.registryPassword,
        ...inputs,
      },
      env: { GITHUB_SHA: ctx.sha, HOME: home, RUNNER_TEMP: runnerTemp, ...options.env },
    });
    return { ...run, home, runnerTemp };
  }

  function expectNoSecretsLeft(run: ActionRun & { home: string; runnerTemp: string }) {
    for (const secret of secrets) expect(shown(run)).not.toContain(secret);
    expect(filesContaining(run.runnerTemp, secrets)).toEqual([]);
    expect(filesContaining(run.home, secrets)).toEqual([]);
    expect(readdirSync(run.runnerTemp)).toEqual([]);
  }

  describe('a first release, then re-runs', () => {
    const app = unique('hello');
    let first: ActionRun & { home: string; runnerTemp: string };

    beforeAll(async () => {
      first = await release({ 'app-image': app });
    });

    it('pushes both images; the outputs are the digests the registry serves', () => {
      expect(first.errors).toEqual([]);
      expect(first.code).toBe(0);
      const tag = `sha-${ctx.sha}`;
      expect(first.outputs.tag).toBe(tag);
      expect(first.outputs.pushed).toBe('true');
      const appRef = `${sb.registry}/${app}:${tag}`;
      const migratorRef = `${sb.registry}/${app}-migrator:${tag}`;
      expect(first.outputs['app-digest']).toBe(servedDigest(sb, appRef));
      expect(first.outputs['migrator-digest']).toBe(servedDigest(sb, migratorRef));
      expect(first.outputs['app-digest']).not.toBe(first.outputs['migrator-digest']);
      expect(first.outputs['app-image']).toBe(`${sb.registry}/${app}@${first.outputs['app-digest']}`);
      expect(first.outputs['migrator-image']).toBe(
        `${sb.registry}/${app}-migrator@${first.outputs['migrator-digest']}`,
      );
      expect(first.outputs['app-name']).toBe(`${sb.registry}/${app}`);
      expect(first.outputs['migrator-name']).toBe(`${sb.registry}/${app}-migrator`);
    });

    it('labels both images, readable from the registry, with the commit time as created', () => {
      const tag = `sha-${ctx.sha}`;
      const appRef = `${sb.registry}/${app}:${tag}`;
      const migratorRef = `${sb.registry}/${app}-migrator:${tag}`;
      for (const [reference, role] of [
        [appRef, 'app'],
        [migratorRef, 'migrator'],
      ] as const) {
        const image = servedConfig(sb, reference);
        expect(image.config.Labels).toMatchObject({
          'org.opencontainers.image.revision': ctx.sha,
          'org.opencontainers.image.source': 'https://github.com/acme/hello',
          'org.opencontainers.image.created': COMMIT_DATE_UTC,
          'deployer.release.role': role,
          'deployer.release.app': appRef,
          'deployer.release.migrator': migratorRef,
        });
        // SOURCE_DATE_EPOCH = the commit time: the image's own creation time is reproducible too.
        expect(image.created).toBe(COMMIT_DATE_UTC);
      }
      expect(servedConfig(sb, appRef).config.Env).toContain('PORT=8080');
      expect(servedConfig(sb, migratorRef).config.Env).toContain('MIGRATOR_FAIL=0');
    });

    it('writes a job summary with both images, digests and labels', () => {
      expect(first.summary).toContain(first.outputs['app-image']);
      expect(first.summary).toContain(first.outputs['migrator-image']);
      expect(first.summary).toContain('org.opencontainers.image.revision');
      expect(first.summary).toContain(ctx.sha);
    });

    it('leaves no credential behind and prints none', () => {
      expectNoSecretsLeft(first);
    });

    it('a re-run with identical inputs pushes nothing and gives the same outputs', async () => {
      const again = await release({ 'app-image': app });
      expect(again.code).toBe(0);
      expect(again.outputs.pushed).toBe('false');
      for (const name of ['tag', 'app-image', 'migrator-image', 'app-digest', 'migrator-digest'])
        expect(again.outputs[name], name).toBe(first.outputs[name]);
      expect(again.summary).toContain('already in the registry');
      expectNoSecretsLeft(again);
    });

    it('a re-run without the layer cache (new directory mtimes) is recognised as the same content', async () => {
      const appRef = `${sb.registry}/${app}:sha-${ctx.sha}`;
      const again = await release({ 'app-image': app, 'no-cache': 'true' });
      expect(again.code).toBe(0);
      expect(again.outputs.pushed).toBe('false');
      expect(again.stdout).toContain('only timestamps differ');
      expect(again.outputs['app-digest']).toBe(first.outputs['app-digest']);
      // Had the action pushed this build, the tag would now name another manifest (its config differs).
      expect(servedDigest(sb, appRef)).toBe(first.outputs['app-digest']);
    });

    it('refuses different content under the same sha and leaves the registry unchanged', async () => {
      const appRef = `${sb.registry}/${app}:sha-${ctx.sha}`;
      const migratorRef = `${sb.registry}/${app}-migrator:sha-${ctx.sha}`;
      const changed = await release({
        'app-image': app,
        'build-args': `BASE_IMAGE=${sb.baseImage}\nGIT_SHA=${ctx.sha}\nNEVER_READY=1`,
      });
      expect(changed.code).toBe(1);
      expect(changed.errors.join('\n')).toMatch(/Refusing to overwrite/);
      expect(changed.errors.join('\n')).toContain('NEVER_READY=1');
      expect(changed.errors.join('\n')).toContain('registry is unchanged');
      expect(servedDigest(sb, appRef)).toBe(first.outputs['app-digest']);
      expect(servedDigest(sb, migratorRef)).toBe(first.outputs['migrator-digest']);
      expectNoSecretsLeft(changed);
    });

    it('names the changed file when the source differs under the same sha', async () => {
      // The edit is committed (an uncommitted one would be refused as dirty); the sha input still names ctx.sha.
      const edited = mkdtempSync(join(scratch, 'edited-'));
      cpSync(ctx.dir, edited, { recursive: true });
      writeFileSync(join(edited, 'app', 'serve.sh'), '#!/bin/sh\necho changed\n', { mode: 0o755 });
      git(edited, 'commit', '--quiet', '--all', '-m', 'edited');
      const appRef = `${sb.registry}/${app}:sha-${ctx.sha}`;
      const changed = await release({ 'app-image': app, sha: ctx.sha }, { context: edited });
      expect(changed.code).toBe(1);
      expect(changed.errors.join('\n')).toMatch(/\/app\/serve\.sh differs \(.*content/);
      expect(servedDigest(sb, appRef)).toBe(first.outputs['app-digest']);
    });
  });

  describe('a work tree with uncommitted changes', () => {
    // A repository whose build context is a subfolder (hello/); changes inside it count, others do not.
    const app = unique('hello');
    let repo: string;
    let context: string;
    let sha: string;
    let refusedTag: string;
    let dirty: ActionRun;

    const inputs = (extra: Record<string, string> = {}) => ({
      'app-image': app,
      'build-args': `BASE_IMAGE=${sb.baseImage}\nGIT_SHA=${sha}`,
      ...extra,
    });
    const options = () => ({ context, env: { GITHUB_SHA: sha } });
    const dirtyTagOf = (text: string) => /sha-[0-9a-f]{40}-dirty-[0-9a-f]{12}/.exec(text)?.[0];

    beforeAll(() => {
      repo = mkdtempSync(join(scratch, 'dirty-'));
      context = join(repo, 'hello');
      cpSync(exampleDir, context, { recursive: true });
      writeFileSync(join(repo, '.gitignore'), '*.log\n');
      writeFileSync(join(repo, 'README.md'), 'a monorepo\n');
      git(repo, 'init', '--quiet');
      git(repo, 'add', '.');
      git(repo, 'commit', '--quiet', '-m', 'release');
      sha = git(repo, 'rev-parse', 'HEAD');
      appendFileSync(join(context, 'app', 'serve.sh'), '\n# a local experiment\n');
      writeFileSync(join(context, 'staged.txt'), 'staged, not committed\n');
      git(repo, 'add', 'hello/staged.txt');
      writeFileSync(join(context, 'notes.txt'), 'untracked\n');
      writeFileSync(join(context, 'build.log'), 'git-ignored\n');
      writeFileSync(join(repo, 'outside.txt'), 'untracked, outside the build context\n');
    });

    it('is refused before anything is built, naming allow-dirty and the changed paths', async () => {
      const run = await release(inputs(), options());
      expect(run.code).toBe(1);
      const error = run.errors.join('\n');
      expect(error).toContain('uncommitted changes');
      expect(error).toContain('allow-dirty: true');
      expect(error).toContain('3 paths differ');
      for (const path of [
        'hello/app/serve.sh (modified)',
        'hello/staged.txt (added (staged))',
        'hello/notes.txt (untracked)',
      ])
        expect(error).toContain(path);
      expect(error).not.toContain('build.log');
      expect(error).not.toContain('outside.txt');
      expect(error).toContain('nothing was built or pushed');
      refusedTag = dirtyTagOf(error)!;
      expect(refusedTag).toMatch(new RegExp(`^sha-${sha}-dirty-[0-9a-f]{12}$`));
      // Before the login, before any build.
      expect(run.stdout).not.toContain('::group::');
      expect(run.stdout).not.toContain('Logged in to');
      expect(await registryTags(sb, app)).toEqual([]);
      expect(await registryTags(sb, `${app}-migrator`)).toEqual([]);
      expect(localImageExists(`${sb.registry}/${app}:sha-${sha}`)).toBe(false);
      expect(readdirSync(run.runnerTemp)).toEqual([]);
    });

    it('with allow-dirty is pushed under the dirty tag, never under the sha tag', async () => {
      dirty = await release(inputs({ 'allow-dirty': 'true' }), options());
      expect(dirty.errors).toEqual([]);
      expect(dirty.code).toBe(0);
      const tag = dirty.outputs.tag!;
      expect(tag).toBe(refusedTag);
      expect(dirty.outputs.dirty).toBe('true');
      expect(dirty.outputs.sha).toBe(sha);
      expect(dirty.outputs.pushed).toBe('true');
      const appRef = `${sb.registry}/${app}:${tag}`;
      expect(dirty.outputs['app-digest']).toBe(servedDigest(sb, appRef));
      expect(dirty.outputs['app-image']).toBe(`${sb.registry}/${app}@${dirty.outputs['app-digest']}`);
      expect(dirty.outputs['migrator-digest']).toBe(
        servedDigest(sb, `${sb.registry}/${app}-migrator:${tag}`),
      );
      expect(await registryTags(sb, app)).toEqual([tag]);
      expect(await registryTags(sb, `${app}-migrator`)).toEqual([tag]);
      expect(tagExists(sb, `${sb.registry}/${app}:sha-${sha}`)).toBe(false);
      expect(servedConfig(sb, appRef).config.Labels).toMatchObject({
        'org.opencontainers.image.version': tag,
        'org.opencontainers.image.revision': sha,
        'deployer.release.app': appRef,
      });
      const warnings = dirty.warnings.join('\n');
      expect(warnings).toContain('allow-dirty: building uncommitted changes');
      expect(warnings).toContain('hello/notes.txt (untracked)');
      expect(warnings).toContain(`not sha-${sha}`);
      expect(dirty.summary).toContain('Built from uncommitted changes');
      expect(dirty.summary).toContain(tag);
      expectNoSecretsLeft(dirty as ActionRun & { home: string; runnerTemp: string });
    });

    it('a re-run with the same changes is idempotent; other changes get another tag', async () => {
      const again = await release(inputs({ 'allow-dirty': 'true' }), options());
      expect(again.code).toBe(0);
      expect(again.outputs.pushed).toBe('false');
      for (const name of ['tag', 'app-image', 'migrator-image', 'dirty'])
        expect(again.outputs[name], name).toBe(dirty.outputs[name]);
      appendFileSync(join(context, 'notes.txt'), 'more\n');
      const other = await release(inputs(), options());
      expect(other.code).toBe(1);
      const otherTag = dirtyTagOf(other.errors.join('\n'));
      expect(otherTag).toMatch(new RegExp(`^sha-${sha}-dirty-`));
      expect(otherTag).not.toBe(dirty.outputs.tag);
    });

    it('a clean run of the same commit afterwards gets the plain sha tag', async () => {
      git(repo, 'reset', '--quiet', '--hard');
      git(repo, 'clean', '--quiet', '-fd', '--', 'hello');
      // Still there and harmless: the git-ignored file in the context, the untracked one outside it.
      expect(readdirSync(context)).toContain('build.log');
      const clean = await release(inputs(), options());
      expect(clean.errors).toEqual([]);
      expect(clean.code).toBe(0);
      expect(clean.outputs.tag).toBe(`sha-${sha}`);
      expect(clean.outputs.dirty).toBe('false');
      expect(clean.outputs.pushed).toBe('true');
      expect(clean.stdout).toContain('Work tree clean');
      expect(clean.outputs['app-digest']).toBe(servedDigest(sb, `${sb.registry}/${app}:sha-${sha}`));
      expect(clean.outputs['app-digest']).not.toBe(dirty.outputs['app-digest']);
      expect(await registryTags(sb, app)).toEqual([`sha-${sha}`, dirty.outputs.tag].sort());
    });
  });

  describe('a half-published release (the migrator tag is missing)', () => {
    const app = unique('hello');
    const tag = () => `sha-${ctx.sha}`;
    let original: ActionRun;

    beforeAll(async () => {
      original = await release({ 'app-image': app });
      expect(original.code).toBe(0);
      // As if the run had died between the two pushes: remove the migrator manifest from the registry.
      const response = await fetch(
        `http://${sb.registry}/v2/${app}-migrator/manifests/${original.outputs['migrator-digest']}`,
        {
          method: 'DELETE',
          headers: {
            authorization: `Basic ${Buffer.from(`${sb.registryUsername}:${sb.registryPassword}`).toString('base64')}`,
          },
        },
      );
      expect(response.status).toBe(202);
      expect(tagExists(sb, `${sb.registry}/${app}-migrator:${tag()}`)).toBe(false);
    });

    it('pushes nothing, not even the missing image, when the published one is refused', async () => {
      const run = await release({
        'app-image': app,
        'build-args': `BASE_IMAGE=${sb.baseImage}\nGIT_SHA=${ctx.sha}\nNEVER_READY=1`,
      });
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(/Refusing to overwrite/);
      expect(tagExists(sb, `${sb.registry}/${app}-migrator:${tag()}`)).toBe(false);
    });

    it('a re-run keeps the published image and pushes the missing one, byte-identical to before', async () => {
      const run = await release({ 'app-image': app });
      expect(run.code).toBe(0);
      expect(run.outputs.pushed).toBe('true');
      expect(run.outputs['app-digest']).toBe(original.outputs['app-digest']);
      expect(run.outputs['migrator-digest']).toBe(original.outputs['migrator-digest']);
      expect(servedDigest(sb, `${sb.registry}/${app}-migrator:${tag()}`)).toBe(
        original.outputs['migrator-digest'],
      );
      expect(run.summary).toMatch(/\| app \|.*already in the registry/);
      expect(run.summary).toMatch(/\| migrator \|.*\| pushed \|/);
    });
  });

  it('refuses a wrong password with a clear error, before building, and leaks nothing', async () => {
    const app = unique('hello');
    const wrong = 'not-the-password-' + randomBytes(6).toString('hex');
    const run = await release({ 'app-image': app, 'registry-password': wrong });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      new RegExp(
        `Registry ${sb.registry.replace(/\./g, '\\.')} refused the login of "${sb.registryUsername}"`,
      ),
    );
    for (const secret of [wrong, Buffer.from(`${sb.registryUsername}:${wrong}`).toString('base64')])
      expect(shown(run)).not.toContain(secret);
    expect(filesContaining(run.runnerTemp, [wrong])).toEqual([]);
    expect(readdirSync(run.runnerTemp)).toEqual([]);
    expect(localImageExists(`${sb.registry}/${app}:sha-${ctx.sha}`)).toBe(false);
  });

  it('on cancellation (SIGTERM) stops docker and removes the temporary Docker config', async () => {
    const app = unique('hello');
    let child: import('node:child_process').ChildProcess | undefined;
    let seen = '';
    const run = await release(
      { 'app-image': app, 'no-cache': 'true' },
      {
        onSpawn: (spawned) => (child = spawned),
        onStdout: (chunk) => {
          const before = seen;
          seen += chunk;
          if (!before.includes('Logged in to') && seen.includes('Logged in to')) child?.kill('SIGTERM');
        },
      },
    );
    expect(run.code).toBe(143);
    expect(readdirSync(run.runnerTemp)).toEqual([]);
    expect(filesContaining(run.home, secrets)).toEqual([]);
    expect(tagExists(sb, `${sb.registry}/${app}:sha-${ctx.sha}`)).toBe(false);
  });

  it('stops before building when the registry does not answer', async () => {
    const port = await freePort();
    const app = unique('hello');
    const credentials: Record<string, string>[] = [{}, { 'registry-username': '', 'registry-password': '' }];
    for (const without of credentials) {
      const run = await release({ registry: `127.0.0.1:${port}`, 'app-image': app, ...without });
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(new RegExp(`Registry 127\\.0\\.0\\.1:${port} does not answer`));
      expect(run.stdout).not.toMatch(/Build and push|exporting to image/);
      expect(localImageExists(`127.0.0.1:${port}/${app}:sha-${ctx.sha}`)).toBe(false);
    }
  });

  describe('rejects bad input before building, naming the input', () => {
    it.each([
      ['app-image', { 'app-image': 'Acme/Hello' }, /Invalid input "app-image": expected a repository name/],
      ['migrator-image', { 'migrator-image': 'acme//x' }, /Invalid input "migrator-image"/],
      ['sha', { sha: 'z'.repeat(40) }, /Invalid input "sha": expected a full commit id/],
      ['sha', { sha: 'abc123' }, /Invalid input "sha"/],
      [
        'dockerfile',
        { dockerfile: '/nonexistent/Dockerfile' },
        /Invalid input "dockerfile": there is no Dockerfile/,
      ],
      [
        'app-target',
        { 'app-target': 'runer' },
        /Invalid input "app-target": .* has no stage named "runer" \(its stages: base, runner, migrator\)/,
      ],
      ['registry', { registry: 'https://ghcr.io' }, /Invalid input "registry"/],
      [
        'registry-password',
        { 'registry-password': '' },
        /Invalid input "registry-password": is required when registry-username/,
      ],
      [
        'build-args',
        { 'build-args': 'SOURCE_DATE_EPOCH=1' },
        /Invalid input "build-args": SOURCE_DATE_EPOCH is set by the action/,
      ],
      ['labels', { labels: 'org.opencontainers.image.revision=x' }, /Invalid input "labels"/],
      [
        'platforms',
        { platforms: 'amd64' },
        /Invalid input "platforms": expected platforms such as linux\/amd64/,
      ],
      [
        'platforms',
        { platforms: 'linux/amd64,linux/arm64' },
        /Invalid input "platforms": .*the docker driver, which builds one platform/,
      ],
    ])('%s', async (_name, inputs, message) => {
      const app = unique('hello');
      const run = await release({ 'app-image': app, ...inputs });
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(message);
      // No build started: no build log group, no image.
      expect(run.stdout).not.toContain('::group::');
      expect(localImageExists(`${sb.registry}/${app}:sha-${ctx.sha}`)).toBe(false);
    });
  });

  it('warns and builds without a cache when cache is asked of the docker driver', async () => {
    const app = unique('hello');
    const run = await release({ 'app-image': app, cache: 'true' });
    expect(run.code).toBe(0);
    expect(run.warnings.join('\n')).toMatch(/cache: the current buildx builder uses the docker driver/);
    expect(run.outputs['app-digest']).toBe(servedDigest(sb, `${sb.registry}/${app}:sha-${ctx.sha}`));
  });

  it('on a pull request tags the head commit, not the merge commit; short-tag shortens it', async () => {
    const head = ctx.sha;
    const merge = mkdtempSync(join(scratch, 'merge-'));
    cpSync(ctx.dir, merge, { recursive: true });
    git(merge, 'commit', '--quiet', '--allow-empty', '-m', 'merge');
    const mergeSha = git(merge, 'rev-parse', 'HEAD');
    const app = unique('hello');
    const run = await release(
      { 'app-image': app, 'short-tag': 'true' },
      {
        context: merge,
        eventName: 'pull_request',
        event: { pull_request: { head: { sha: head } } },
        env: { GITHUB_SHA: mergeSha },
      },
    );
    expect(run.code).toBe(0);
    expect(run.outputs.tag).toBe(`sha-${head.slice(0, 7)}`);
    expect(run.outputs.sha).toBe(head);
    // The checkout is the merge commit: the action says so, since the tag names the head commit.
    expect(run.warnings.join('\n')).toContain(`checked out at ${mergeSha}`);
    const image = servedConfig(sb, `${sb.registry}/${app}:sha-${head.slice(0, 7)}`);
    expect(image.config.Labels['org.opencontainers.image.revision']).toBe(head);
    expect(image.config.Labels['org.opencontainers.image.created']).toBe(COMMIT_DATE_UTC);
  });

  it('outside a git checkout falls back to the epoch as commit time, with a warning', async () => {
    const plain = mkdtempSync(join(scratch, 'plain-'));
    cpSync(exampleDir, plain, { recursive: true });
    const app = unique('hello');
    const run = await release({ 'app-image': app, sha: ctx.sha }, { context: plain });
    expect(run.code).toBe(0);
    expect(run.warnings.join('\n')).toMatch(/not in a git checkout.*1970-01-01T00:00:00Z/);
    // Nothing to check uncommitted changes against: the tag is the sha input's, and the log says so.
    expect(run.warnings.join('\n')).toMatch(/Cannot check that the build context holds commit .* on trust/);
    expect(run.outputs.dirty).toBe('false');
    expect(run.outputs.tag).toBe(`sha-${ctx.sha}`);
    const image = servedConfig(sb, `${sb.registry}/${app}:sha-${ctx.sha}`);
    expect(image.config.Labels['org.opencontainers.image.created']).toBe('1970-01-01T00:00:00Z');
  });

  it('with push: false builds both images locally and leaves the registry alone', async () => {
    const app = unique('hello');
    const run = await release({ 'app-image': app, push: 'false' });
    expect(run.code).toBe(0);
    expect(run.outputs['app-image']).toBe(`${sb.registry}/${app}:sha-${ctx.sha}`);
    expect(run.outputs['app-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(localImageExists(`${sb.registry}/${app}-migrator:sha-${ctx.sha}`)).toBe(true);
    expect(tagExists(sb, `${sb.registry}/${app}:sha-${ctx.sha}`)).toBe(false);
  });

  describe('on a runner without buildx (docker build + docker push)', () => {
    const app = unique('hello');
    let shim: string;

    beforeAll(() => {
      shim = mkdtempSync(join(scratch, 'shim-'));
      const docker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
      mkdirSync(shim, { recursive: true });
      writeFileSync(
        join(shim, 'docker'),
        `#!/bin/sh\nif [ "$1" = buildx ]; then echo "docker: 'buildx' is not a docker command." >&2; exit 1; fi\nexec ${docker} "$@"\n`,
      );
      chmodSync(join(shim, 'docker'), 0o755);
    });

    const withoutBuildx = () => ({ env: { PATH: `${shim}:${process.env.PATH}` } });

    it('pushes both images with the digests the registry serves', async () => {
      const run = await release({ 'app-image': app }, withoutBuildx());
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('docker buildx is not installed');
      expect(run.outputs['app-digest']).toBe(servedDigest(sb, `${sb.registry}/${app}:sha-${ctx.sha}`));
      expect(run.outputs['migrator-digest']).toBe(
        servedDigest(sb, `${sb.registry}/${app}-migrator:sha-${ctx.sha}`),
      );
      expectNoSecretsLeft(run);
    });

    it('recognises a re-run (the legacy builder stamps new times) and refuses changed content', async () => {
      const first = servedDigest(sb, `${sb.registry}/${app}:sha-${ctx.sha}`);
      const again = await release({ 'app-image': app }, withoutBuildx());
      expect(again.code).toBe(0);
      expect(again.outputs.pushed).toBe('false');
      expect(again.outputs['app-digest']).toBe(first);
      const changed = await release(
        { 'app-image': app, 'build-args': `BASE_IMAGE=${sb.baseImage}\nNEVER_READY=1` },
        withoutBuildx(),
      );
      expect(changed.code).toBe(1);
      expect(changed.errors.join('\n')).toMatch(/Refusing to overwrite/);
      expect(servedDigest(sb, `${sb.registry}/${app}:sha-${ctx.sha}`)).toBe(first);
    });
  });
});
