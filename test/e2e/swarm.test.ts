import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelLikeGitHub, onLog, sandboxConnectionInputs } from '../support/deploy.js';
import { HostFixture } from '../support/host.js';
import { get } from '../support/http.js';
import { buildAndPushExample, withRegistryLogin, type ExampleRelease } from '../support/images.js';
import { underLoad as loaded } from '../support/load.js';
import { exampleDir } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { runAction, type ActionRun, type ActionRunOptions } from '../support/run-action.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';
import { ensureSwarm, inspectService, removeStack, runningTasks, stackServices } from '../support/swarm.js';

describe('target: swarm on a single-node Swarm (the sandbox engine), through the proxy service', () => {
  let sb: Sandbox;
  let releaseA: ExampleRelease;
  let releaseB: ExampleRelease;
  let neverReady: ExampleRelease;
  let failingMigrator: ExampleRelease;
  let staging: HostFixture;
  let production: HostFixture;
  let qa: HostFixture | undefined;
  let workspace: string | undefined;
  let stagingPort: number;
  let productionPort: number;
  const repo = `swarm-test/${process.pid}/hello`;

  /**
   * The example's stack plus a worker on the app image (no HTTP; its own healthcheck passes even in the
   * never-ready build): two services change in every deploy, so a failed app update must take the
   * worker back too. Written next to a copy of the example's swarm/Caddyfile.
   */
  function composeWithWorker(): string {
    const dir = mkdtempSync(join(tmpdir(), 'deployer-swarm-compose-'));
    mkdirSync(join(dir, 'swarm'));
    copyFileSync(join(exampleDir, 'swarm/Caddyfile'), join(dir, 'swarm/Caddyfile'));
    const compose = parse(readFileSync(join(exampleDir, 'docker-compose.swarm.yml'), 'utf8'));
    compose.services.worker = {
      image: '${APP_IMAGE:?APP_IMAGE must be set}',
      command: ['/app/work.sh'],
      env_file: '.env.production',
      volumes: ['data:/data'],
      healthcheck: { test: ['CMD', '/app/work.sh', '--health'], interval: '1s', timeout: '3s', retries: 3 },
      stop_grace_period: '5s',
    };
    writeFileSync(join(dir, 'docker-compose.swarm.yml'), stringify(compose));
    return join(dir, 'docker-compose.swarm.yml');
  }
  let composeFile: string;

  beforeAll(async () => {
    sb = sandbox();
    composeFile = composeWithWorker();
    ensureSwarm();
    releaseA = buildAndPushExample(sb, repo);
    releaseB = buildAndPushExample(sb, repo);
    neverReady = buildAndPushExample(sb, repo, { neverReady: true });
    failingMigrator = buildAndPushExample(sb, repo, { migratorFail: true });
    staging = await HostFixture.create(sb, 'swarm-staging');
    production = await HostFixture.create(sb, 'swarm-production', 'GREETING=hello-from-production\n');
    stagingPort = await freePort();
    productionPort = await freePort();
  });

  afterAll(async () => {
    for (const fixture of [staging, production, qa]) if (fixture) await removeStack(fixture.projectName);
    await staging?.destroy();
    await production?.destroy();
    await qa?.destroy();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
    if (composeFile) rmSync(dirname(composeFile), { recursive: true, force: true });
  });

  const swarmInputs = (fixture: HostFixture, port: number) => ({
    ...sandboxConnectionInputs(sb),
    target: 'swarm',
    'deploy-path': fixture.deployPath,
    'project-name': fixture.projectName,
    'compose-file': composeFile,
    'deploy-env': `PROXY_PORT=${port}\nPROXY_IMAGE=${sb.proxyImage}`,
    'ready-timeout': '90s',
  });

  const deployStaging = (
    release: ExampleRelease,
    extra: Record<string, string> = {},
    options: ActionRunOptions = {},
  ) =>
    runAction('deploy-staging', {
      inputs: {
        ...swarmInputs(staging, stagingPort),
        'app-image': release.appImage,
        'migrator-image': release.migratorImage,
        sha: release.sha,
        ...extra,
      },
      ...options,
    });

  const promote = (extra: Record<string, string>) =>
    runAction('promote-prod', {
      inputs: {
        ...swarmInputs(production, productionPort),
        'source-deploy-path': staging.deployPath,
        ...extra,
      },
    });

  const version = async (port: number) =>
    JSON.parse((await get(`http://127.0.0.1:${port}/version`)).body).version as string;

  /** Every task of the app (and the stack's other services) as `docker service ps` shows it. */
  const appTasks = (fixture: HostFixture) => runningTasks(fixture.projectName, 'app');

  const underLoad = (port: number, act: () => Promise<ActionRun>) =>
    loaded(`http://127.0.0.1:${port}/version`, act);

  it('deploys the stack: the migrator ran once as a job first, every app task runs the pinned digest, the proxy serves it', async () => {
    const run = await deployStaging(releaseA);
    expect(run.errors, run.stdout).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('success');
    expect(run.stdout).toMatch(/migrate: migrator: schema at version 2/);
    expect(inspectService(staging.projectName, 'app')?.image).toBe(releaseA.appImage);
    expect(appTasks(staging)).toEqual([
      { image: releaseA.appImage, state: 'running' },
      { image: releaseA.appImage, state: 'running' },
    ]);
    // The job was waited for and removed: only the stack's long-running services remain.
    expect(stackServices(staging.projectName)).toEqual(['app', 'proxy', 'worker']);
    expect(await version(stagingPort)).toBe(releaseA.sha);
    expect(run.summary).toContain(`| Switch | Swarm stack \`${staging.projectName}\` (start-first update) |`);
    expect(run.summary).toContain(`| Service \`${staging.projectName}_app\` | \`${releaseA.appImage}\` |`);
    const state = await staging.state();
    expect(state.current).toMatchObject({
      sha: releaseA.sha,
      status: 'success',
      strategy: 'swarm',
      migration: 'succeeded',
    });
    expect((state.current as { services?: Record<string, string> }).services).toMatchObject({
      [`${staging.projectName}_app`]: releaseA.appImage,
    });
  });

  it('promotes exactly the digests staging runs (the tag re-pointed meanwhile), checked with docker service inspect', async () => {
    // Someone re-pushes A's tag with B's content: the promotion must not follow the tag.
    withRegistryLogin(sb, (dockerConfig) => {
      const env = { ...process.env, DOCKER_CONFIG: dockerConfig };
      const tag = `${releaseA.appImage.split('@')[0]}:sha-${releaseA.sha}`;
      execFileSync('docker', ['buildx', 'imagetools', 'create', '--tag', tag, releaseB.appImage], {
        env,
        stdio: 'ignore',
      });
    });
    const run = await promote({ sha: releaseA.sha });
    expect(run.errors, run.stdout).toEqual([]);
    expect(run.code).toBe(0);
    expect(inspectService(production.projectName, 'app')?.image).toBe(releaseA.appImage);
    expect(appTasks(production).map((task) => task.image)).toEqual([releaseA.appImage, releaseA.appImage]);
    expect(await version(productionPort)).toBe(releaseA.sha);
    expect((await production.state()).current).toMatchObject({
      kind: 'promote',
      promotedFrom: { environment: 'staging' },
    });
  });

  it('updates start-first under load with no failed request', async () => {
    // With an HTTP endpoint too: the proxy must answer B's version once the stack converged.
    const { run, load } = await underLoad(stagingPort, () =>
      deployStaging(releaseB, {
        'ready-port': String(stagingPort),
        'ready-expect-json': JSON.stringify({ version: releaseB.sha }),
      }),
    );
    expect(run.stdout).toMatch(/converge: and ready over HTTP after \d+ attempt/);
    expect(run.code, run.stdout).toBe(0);
    console.log('swarm update under load', JSON.stringify(load));
    expect(load.failed).toBe(0);
    expect(load.requests).toBeGreaterThan(500);
    expect(load.versions[releaseA.sha]).toBeGreaterThan(0);
    expect(load.versions[releaseB.sha]).toBeGreaterThan(0);
    expect(appTasks(staging).map((task) => task.image)).toEqual([releaseB.appImage, releaseB.appImage]);
  });

  it('a release whose healthcheck never passes: the job fails and every service runs the previous image again, with no failed request', async () => {
    const before = inspectService(staging.projectName, 'app')!;
    // Not on the host yet: the manager pulls them with the deploy's registry login first.
    execFileSync('docker', ['image', 'rm', neverReady.appImage, neverReady.migratorImage], {
      stdio: 'ignore',
    });
    const { run, load } = await underLoad(stagingPort, () => deployStaging(neverReady));
    expect(run.stdout).toMatch(/\] pull: started/);
    console.log('swarm automatic rollback under load', JSON.stringify(load));
    expect(run.code, run.stdout).toBe(1);
    expect(run.outputs.status).toBe('rolled_back');
    expect(load.failed).toBe(0);
    expect(load.versions[neverReady.sha]).toBeUndefined();
    expect(inspectService(staging.projectName, 'app')?.image).toBe(before.image);
    // Swarm rolled back only the app; the worker's update had succeeded, and deployer took it back too.
    expect(run.stdout).toMatch(/rollback: \S+_worker: Swarm rolls back to its previous spec/);
    expect(inspectService(staging.projectName, 'worker')?.image).toBe(releaseB.appImage);
    expect(runningTasks(staging.projectName, 'worker')).toEqual([
      { image: releaseB.appImage, state: 'running' },
    ]);
    expect(appTasks(staging)).toEqual([
      { image: releaseB.appImage, state: 'running' },
      { image: releaseB.appImage, state: 'running' },
    ]);
    const state = await staging.state();
    expect(state.current?.sha).toBe(releaseB.sha);
    expect(state.history[0]).toMatchObject({ sha: neverReady.sha, status: 'rolled_back' });
    expect(state.history[0]!.reason).toMatch(/rollback/);
    // The task Swarm gave up on has no error of its own: its healthcheck's answers say why.
    expect(state.history[0]!.logTail).toMatch(/healthcheck of task \w+ \(exit code, output\):\n1 .*503/);
  });

  it('a failing migrator leaves every service untouched', async () => {
    const before = inspectService(staging.projectName, 'app')!;
    const run = await deployStaging(failingMigrator);
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(/The migrator failed/);
    const after = inspectService(staging.projectName, 'app')!;
    expect(after).toEqual(before);
    expect(stackServices(staging.projectName)).toEqual(['app', 'proxy', 'worker']);
    expect(await version(stagingPort)).toBe(releaseB.sha);
    const state = await staging.state();
    expect(state.history[0]).toMatchObject({
      sha: failingMigrator.sha,
      status: 'failed',
      migration: 'failed',
    });
    // Swarm's own word on the job's task, besides its logs.
    expect(state.history[0]!.reason).toMatch(/Swarm: task: non-zero exit \(\d+\)/);
    expect(state.current?.sha).toBe(releaseB.sha);
  });

  it('promotes B, then rolls production back to A by hand', async () => {
    const promoted = await promote({ sha: releaseB.sha });
    expect(promoted.code, promoted.stdout).toBe(0);
    expect(inspectService(production.projectName, 'app')?.image).toBe(releaseB.appImage);
    const rollback = await promote({ mode: 'rollback' });
    expect(rollback.errors, rollback.stdout).toEqual([]);
    expect(rollback.code).toBe(0);
    expect(inspectService(production.projectName, 'app')?.image).toBe(releaseA.appImage);
    expect(appTasks(production).map((task) => task.image)).toEqual([releaseA.appImage, releaseA.appImage]);
    expect(await version(productionPort)).toBe(releaseA.sha);
    expect((await production.state()).current).toMatchObject({ kind: 'rollback', sha: releaseA.sha });
  });

  /** What every fault must leave on staging: B's spec back on every task, one record of the attempt, no lock. */
  async function expectStagingSettled(run: ActionRun, attempt: { sha: string; status: string }) {
    const deadline = Date.now() + 90_000;
    // Swarm finishes putting the previous spec back on its own, also after the action has ended.
    while (
      appTasks(staging).some((task) => task.image !== releaseB.appImage || task.state !== 'running') &&
      Date.now() < deadline
    )
      await new Promise((resolve) => setTimeout(resolve, 500));
    expect(inspectService(staging.projectName, 'app')?.image).toBe(releaseB.appImage);
    expect(appTasks(staging)).toEqual([
      { image: releaseB.appImage, state: 'running' },
      { image: releaseB.appImage, state: 'running' },
    ]);
    expect(await version(stagingPort)).toBe(releaseB.sha);
    const state = await staging.state();
    expect(state.current?.sha).toBe(releaseB.sha);
    expect(
      state.history.filter((record) => record.sha === attempt.sha).map((record) => record.status),
    ).toEqual([attempt.status]);
    expect(run.outputs.status).toBe(attempt.status);
    expect(await staging.exists('.deployer/lock')).toBe(false);
    expect(run.everything).not.toContain(sb.registryPassword);
  }

  it('a cancel while Swarm rolls a release out settles record and lock before SIGKILL; Swarm puts the previous spec back', async () => {
    const release = buildAndPushExample(sb, repo, { neverReady: true });
    let cancel: { killed: () => boolean } | undefined;
    const run = await deployStaging(
      release,
      {},
      { onSpawn: onLog('converge: started', (child) => (cancel = cancelLikeGitHub(child))) },
    );
    expect(cancel?.killed()).toBe(false);
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/cancelled/);
    await expectStagingSettled(run, { sha: release.sha, status: 'cancelled' });
  });

  it('a connection cut while the stack converges: reconnect, roll the whole stack back, one record', async () => {
    const sshProxy = await FaultProxy.start(sb.sshHost, sb.sshPort);
    try {
      const release = buildAndPushExample(sb, repo);
      const run = await deployStaging(
        release,
        { host: sshProxy.host, port: String(sshProxy.port) },
        { onSpawn: onLog('converge: started', () => sshProxy.cut()) },
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/reconnected/);
      await expectStagingSettled(run, { sha: release.sha, status: 'rolled_back' });
    } finally {
      await sshProxy.close();
    }
  });

  it('refuses to promote what staging no longer runs', async () => {
    const run = await promote({ sha: releaseA.sha });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /Promotion refused, production was not touched: staging does not currently run/,
    );
  });

  it('a deploy config file sets target: swarm for an environment whose one host is the manager', async () => {
    qa = await HostFixture.create(sb, 'swarm-qa');
    const qaPort = await freePort();
    workspace = mkdtempSync(join(tmpdir(), 'deployer-swarm-workspace-'));
    const config = {
      'compose-file': `${exampleDir}/docker-compose.swarm.yml`,
      target: 'swarm',
      user: sb.sshUser,
      port: sb.sshPort,
      'ssh-key': { env: 'SWARM_SSH_KEY' },
      'registry-username': sb.registryUsername,
      'registry-password': { env: 'SWARM_REGISTRY_PASSWORD' },
      'ready-timeout': '90s',
      roles: { web: { service: 'app' } },
      environments: {
        qa: {
          'deploy-path': qa.deployPath,
          'project-name': qa.projectName,
          'deploy-env': { PROXY_PORT: String(qaPort), PROXY_IMAGE: sb.proxyImage },
          hosts: [
            { name: 'manager-1', host: sb.sshHost, 'host-fingerprint': sb.hostFingerprint, roles: ['web'] },
          ],
        },
      },
    };
    writeFileSync(join(workspace, 'deployer.yml'), stringify(config));
    const run = await runAction('deploy-staging', {
      cwd: workspace,
      env: { SWARM_SSH_KEY: sb.sshKey, SWARM_REGISTRY_PASSWORD: sb.registryPassword },
      inputs: {
        'config-file': 'deployer.yml',
        environment: 'qa',
        'app-image': releaseB.appImage,
        'migrator-image': releaseB.migratorImage,
        sha: releaseB.sha,
      },
    });
    expect(run.errors, run.stdout).toEqual([]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.outputs.hosts!)).toMatchObject([
      { name: 'manager-1', role: 'web', status: 'success' },
    ]);
    expect(inspectService(qa.projectName, 'app')?.image).toBe(releaseB.appImage);
    expect(runningTasks(qa.projectName, 'app').map((task) => task.image)).toEqual([
      releaseB.appImage,
      releaseB.appImage,
    ]);
    expect(await version(qaPort)).toBe(releaseB.sha);
    expect((await qa.state()).current).toMatchObject({ sha: releaseB.sha, strategy: 'swarm' });
  });
});
