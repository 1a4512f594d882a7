import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployInputs, servedVersion } from '../support/deploy.js';
import { fakeGithubToken, GitFixture } from '../support/git-fixture.js';
import { HostFixture } from '../support/host.js';
import { get } from '../support/http.js';
import { buildAndPushExample, randomSha, withRegistryLogin, type ExampleRelease } from '../support/images.js';
import { runLocalAction, type LocalActionRun } from '../support/local-action.js';
import { exampleDir } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

// Each action run by GitHub's own local runner, @github/local-action, from its TypeScript entry
// (actions/<name>/main.ts, which exports run()): at least one success and one failure per action, checked
// the way a user would (outputs, the failure message, what runs on the sandbox host). How the tool is
// invoked and what it stubs: test/support/local-action.ts. Each run costs about 7 s of the tool's own start
// (npm exec, npm ls, tsx), so the failures are cheap bad inputs wherever that is enough.
//
// Limitation of the tool: core.setFailed does not change its exit code, so a failed action exits 0 as well;
// the failure is the `::error::` line it prints (run.failure).

const TEST_TIMEOUT = 150_000;

function expectSuccess(run: LocalActionRun): void {
  const shown = `${run.stdout}\n${run.stderr}`;
  expect(run.timedOut, shown).toBe(false);
  expect(run.code, shown).toBe(0);
  expect(run.failure, shown).toBeUndefined();
}

function expectFailure(run: LocalActionRun, message: RegExp | string): void {
  const shown = `${run.stdout}\n${run.stderr}`;
  expect(run.timedOut, shown).toBe(false);
  // The tool exits 0 for an action that failed (see above): only its own errors exit 1.
  expect(run.code, shown).toBe(0);
  if (typeof message === 'string') expect(run.failure, shown).toContain(message);
  else expect(run.failure, shown).toMatch(message);
}

describe('verify-ready under local-action', () => {
  const sha = randomSha();
  let server: Server;
  let url: string;
  let requests = 0;

  beforeAll(async () => {
    // 503 for the first request, then ready with the commit's version.
    server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(requests === 1 ? 503 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(requests === 1 ? { ready: false } : { ready: true, version: sha }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ready`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it(
    'succeeds once the app answers ready with the expected version',
    async () => {
      requests = 0;
      const run = await runLocalAction('verify-ready', {
        inputs: {
          url,
          timeout: '20s',
          interval: '200ms',
          'expect-json': JSON.stringify({ version: sha }),
        },
      });
      expectSuccess(run);
      expect(run.outputs).toMatchObject({ ready: 'true', attempts: '2', 'last-status': '200' });
      expect(Number(run.outputs['time-to-ready-ms'])).toBeGreaterThan(0);
      expect(run.summary).toContain(url);
    },
    TEST_TIMEOUT,
  );

  it(
    'fails on a bad timeout, naming the input, before contacting the app',
    async () => {
      requests = 0;
      const run = await runLocalAction('verify-ready', { inputs: { url, timeout: 'soon' } });
      expectFailure(run, 'Invalid input "timeout"');
      expect(requests).toBe(0);
      expect(run.outputs.ready).toBeUndefined();
    },
    TEST_TIMEOUT,
  );
});

describe('release-image under local-action', () => {
  let sb: Sandbox;
  const scratch = mkdtempSync(join(tmpdir(), 'local-action-release-'));
  const repository = `local-action-test/${randomBytes(4).toString('hex')}/hello`;

  beforeAll(() => {
    sb = sandbox();
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    // The build left this run's images in the local store (by tag and by digest): remove them one by one.
    const ours = execFileSync(
      'docker',
      ['image', 'ls', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}'],
      { encoding: 'utf8' },
    )
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([name]) => name?.includes(`/${repository}`))
      .flatMap(([name, tag, digest]) => [
        ...(tag && tag !== '<none>' ? [`${name}:${tag}`] : []),
        ...(digest && digest !== '<none>' ? [`${name}@${digest}`] : []),
      ]);
    for (const name of ours) spawnSync('docker', ['image', 'rm', name], { stdio: 'ignore' });
  });

  /** The digest the registry serves for a reference: sha256 of the manifest's bytes. */
  const servedDigest = (reference: string) =>
    withRegistryLogin(sb, (dockerConfig) => {
      const raw = execFileSync('docker', ['buildx', 'imagetools', 'inspect', '--raw', reference], {
        env: { ...process.env, DOCKER_CONFIG: dockerConfig },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    });

  it(
    'fails on a Dockerfile stage that does not exist, naming the input, before building',
    async () => {
      const run = await runLocalAction('release-image', {
        inputs: {
          registry: sb.registry,
          'app-image': repository,
          context: exampleDir,
          'app-target': 'no-such-stage',
          push: 'false',
        },
      });
      expectFailure(run, /^Invalid input "app-target": .*Dockerfile has no stage named "no-such-stage"/);
      expect(run.outputs).toEqual({});
    },
    TEST_TIMEOUT,
  );

  it(
    'builds and pushes the example app; the outputs are the digests the registry serves',
    async () => {
      // A copy of examples/hello in its own repository, built offline on the sandbox's base image.
      const context = mkdtempSync(join(scratch, 'repo-'));
      cpSync(exampleDir, context, { recursive: true });
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
          cwd: context,
          encoding: 'utf8',
        }).trim();
      git('init', '--quiet');
      git('add', '.');
      git('commit', '--quiet', '-m', 'release');
      const sha = git('rev-parse', 'HEAD');

      const run = await runLocalAction('release-image', {
        inputs: {
          registry: sb.registry,
          'app-image': repository,
          context,
          'build-args': `BASE_IMAGE=${sb.baseImage}\nGIT_SHA=${sha}`,
          'registry-username': sb.registryUsername,
          'registry-password': sb.registryPassword,
        },
        env: { GITHUB_SHA: sha },
        workspace: context,
      });
      expectSuccess(run);
      const tag = `sha-${sha}`;
      expect(run.outputs).toMatchObject({ tag, sha, pushed: 'true' });
      const app = `${sb.registry}/${repository}`;
      expect(run.outputs['app-digest']).toBe(servedDigest(`${app}:${tag}`));
      expect(run.outputs['migrator-digest']).toBe(servedDigest(`${app}-migrator:${tag}`));
      expect(run.outputs['app-image']).toBe(`${app}@${run.outputs['app-digest']}`);
      expect(run.outputs['migrator-image']).toBe(`${app}-migrator@${run.outputs['migrator-digest']}`);
      expect(run.summary).toContain(run.outputs['app-image']);
      expect(run.stdout).not.toContain(sb.registryPassword);
    },
    TEST_TIMEOUT,
  );
});

describe('deploy-staging and promote-prod under local-action, on the sandbox host', () => {
  let sb: Sandbox;
  let release: ExampleRelease;
  let staging: HostFixture;
  let production: HostFixture;
  let stagingPort: number;
  let productionPort: number;
  const repository = `local-action-test/${process.pid}/hello`;

  beforeAll(async () => {
    sb = sandbox();
    release = buildAndPushExample(sb, repository);
    staging = await HostFixture.create(sb, 'la-staging');
    production = await HostFixture.create(sb, 'la-production', 'GREETING=hello-from-production\n');
    stagingPort = await freePort();
    productionPort = await freePort();
  });

  afterAll(async () => {
    await staging?.destroy();
    await production?.destroy();
  });

  it(
    'deploy-staging fails on an image by tag, naming the input, and changes nothing on the host',
    async () => {
      const run = await runLocalAction('deploy-staging', {
        inputs: deployInputs(sb, staging, stagingPort, {
          ...release,
          appImage: `${sb.registry}/${repository}:latest`,
        }),
      });
      expectFailure(run, /^Invalid input "app-image": must be pinned by digest/);
      expect(await staging.exists('.deployer')).toBe(false);
      expect(await staging.runningImages()).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'deploy-staging deploys the release: it runs on the host and answers with its commit',
    async () => {
      const run = await runLocalAction('deploy-staging', {
        inputs: deployInputs(sb, staging, stagingPort, release),
      });
      expectSuccess(run);
      expect(run.outputs).toMatchObject({
        status: 'success',
        sha: release.sha,
        'app-image': release.appImage,
        'previous-release': '',
      });
      expect(run.outputs['release-id']).toMatch(new RegExp(`-${release.sha.slice(0, 7)}$`));
      expect(await staging.runningImages()).toEqual([release.appImage]);
      expect(await servedVersion(stagingPort)).toBe(release.sha);
      expect((await get(`http://127.0.0.1:${stagingPort}/api/ready`)).status).toBe(200);
      expect((await staging.state()).current).toMatchObject({ sha: release.sha, status: 'success' });
      expect(run.stdout).not.toContain(sb.registryPassword);
    },
    TEST_TIMEOUT,
  );

  const promote = (sha: string) =>
    runLocalAction('promote-prod', {
      inputs: {
        host: sb.sshHost,
        port: String(sb.sshPort),
        user: sb.sshUser,
        'ssh-key': sb.sshKey,
        'host-fingerprint': sb.hostFingerprint,
        'compose-file': `${exampleDir}/docker-compose.deploy.yml`,
        'registry-username': sb.registryUsername,
        'registry-password': sb.registryPassword,
        'ready-timeout': '15s',
        'ready-interval': '200ms',
        'deploy-path': production.deployPath,
        'project-name': production.projectName,
        'app-host-port': String(productionPort),
        'source-deploy-path': staging.deployPath,
        'source-ready-port': String(stagingPort),
        sha,
      },
    });

  it(
    'promote-prod refuses a commit staging does not run, and leaves production untouched',
    async () => {
      const other = randomSha();
      const run = await promote(other);
      expectFailure(run, `staging does not currently run ${other}; it runs ${release.sha}`);
      expect(await production.exists('.deployer')).toBe(false);
      expect(await production.runningImages()).toEqual([]);
    },
    TEST_TIMEOUT,
  );

  it(
    'promote-prod promotes what staging runs: production runs the same digests',
    async () => {
      const run = await promote(release.sha);
      expectSuccess(run);
      expect(run.outputs).toMatchObject({
        status: 'success',
        sha: release.sha,
        'app-image': release.appImage,
        'app-digest': release.appDigest,
        'migrator-digest': release.migratorDigest,
      });
      expect(await production.runningImages()).toEqual([release.appImage]);
      expect(await servedVersion(productionPort)).toBe(release.sha);
      expect((await production.state()).current).toMatchObject({
        sha: release.sha,
        kind: 'promote',
        promotedFrom: { environment: 'staging' },
      });
    },
    TEST_TIMEOUT,
  );
});

describe('gitleaks-gate under local-action', () => {
  const repo = new GitFixture();
  const token = fakeGithubToken();
  let gitleaks: string;

  beforeAll(() => {
    // Debian's native gitleaks, unpacked by the sandbox.
    gitleaks = sandbox().gitleaksDebian;
    repo.commit({ 'README.md': '# app\n' }, 'root');
    repo.push('main');
  });

  afterAll(() => rmSync(repo.root, { recursive: true, force: true }));

  const gate = (before: string, after: string) =>
    runLocalAction('gitleaks-gate', {
      eventName: 'push',
      event: { ref: 'refs/heads/main', before, after, repository: { default_branch: 'main' } },
      env: { GITHUB_SHA: after },
      workspace: repo.checkout('main'),
      inputs: { 'gitleaks-path': gitleaks },
    });

  it(
    'passes a push of clean commits',
    async () => {
      const before = repo.sha('main');
      repo.commit({ 'src/app.py': 'print("hello")\n' }, 'app');
      const head = repo.commit({ 'docs/notes.md': 'notes\n' }, 'notes');
      repo.push('main');

      const run = await gate(before, head);
      expectSuccess(run);
      expect(run.outputs).toMatchObject({ findings: '0', 'commits-scanned': '2' });
      expect(run.errors).toEqual([]);
      expect(run.summary).toContain('No secrets found');
    },
    TEST_TIMEOUT,
  );

  it(
    'fails a push that brings a secret, with an annotation on its file and line',
    async () => {
      const before = repo.sha('main');
      const head = repo.commit({ 'deploy/settings.py': `import os\nTOKEN = "${token}"\n` }, 'settings');
      repo.push('main');

      const run = await gate(before, head);
      expectFailure(run, /gitleaks found 1 secret\(s\)/);
      expect(run.outputs).toMatchObject({ findings: '1', 'commits-scanned': '1' });
      expect(run.errors).toContainEqual(
        expect.stringMatching(/^::error title=gitleaks: github-pat,file=deploy\/settings\.py,line=2,/),
      );
      expect(run.stdout).not.toContain(token);
      expect(run.summary).not.toContain(token);
    },
    TEST_TIMEOUT,
  );
});
