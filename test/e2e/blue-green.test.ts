import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndPushExample, type ExampleRelease } from '../support/images.js';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { eventually, get } from '../support/http.js';
import {
  blueGreenInputs,
  removeTestProxy,
  sandboxConnectionInputs,
  testProxy,
  type TestProxy,
} from '../support/deploy.js';
import { HostFixture } from '../support/host.js';
import { startLoad, underLoad as loaded } from '../support/load.js';
import { exampleDir } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { runAction, type ActionRun } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

describe('blue-green deploys behind the Caddy proxy on the sandbox host', () => {
  let sb: Sandbox;
  let releaseA: ExampleRelease;
  let releaseB: ExampleRelease;
  let neverReady: ExampleRelease;
  let staging: HostFixture;
  let production: HostFixture;
  let stagingPort: number;
  let productionPort: number;
  const repo = `blue-green-test/${process.pid}/hello`;
  let proxy: TestProxy;

  beforeAll(async () => {
    sb = sandbox();
    releaseA = buildAndPushExample(sb, repo);
    releaseB = buildAndPushExample(sb, repo);
    neverReady = buildAndPushExample(sb, repo, { neverReady: true });
    staging = await HostFixture.create(sb, 'bg-staging');
    production = await HostFixture.create(sb, 'bg-production', 'GREETING=hello-from-production\n');
    stagingPort = await freePort();
    productionPort = await freePort();
    proxy = testProxy(sb, 'blue-green');
  });

  afterAll(async () => {
    await removeTestProxy(staging, proxy);
    await staging?.destroy();
    await production?.destroy();
  });

  const connection = () => ({
    ...sandboxConnectionInputs(sb),
    ...blueGreenInputs(sb, proxy),
  });

  const deployStaging = (release: ExampleRelease, extra: Record<string, string> = {}) =>
    runAction('deploy-staging', {
      inputs: {
        ...connection(),
        'deploy-path': staging.deployPath,
        'project-name': staging.projectName,
        'proxy-address': `:${stagingPort}`,
        'app-image': release.appImage,
        'migrator-image': release.migratorImage,
        sha: release.sha,
        'ready-expect-json': JSON.stringify({ version: release.sha }),
        ...extra,
      },
    });

  const promote = (extra: Record<string, string>) =>
    runAction('promote-prod', {
      inputs: {
        ...connection(),
        'deploy-path': production.deployPath,
        'project-name': production.projectName,
        'proxy-address': `:${productionPort}`,
        'source-deploy-path': staging.deployPath,
        'source-ready-url': `http://127.0.0.1:${stagingPort}/api/ready`,
        ...extra,
      },
    });

  const version = async (port: number) =>
    JSON.parse((await get(`http://127.0.0.1:${port}/version`)).body).version as string;

  /** Whether an app container of the project is answering a request now (examples/hello's in-flight marks). */
  const answering = async (project: string) =>
    execFileSync(
      'sh',
      [
        '-c',
        `for c in $(docker ps -q --filter "label=com.docker.compose.project=$1" --filter label=com.docker.compose.service=app); do
           docker exec "$c" sh -c 'grep -qs . /tmp/hello-inflight/*' && echo busy; done; true`,
        'sh',
        project,
      ],
      { encoding: 'utf8' },
    ).includes('busy');

  /**
   * Runs `act` while a steady stream of requests goes through the proxy to `port`, and a 5 s request
   * meanwhile, which the app of `fixture` is answering before `act` starts (the switch must not cut it).
   */
  async function underLoad(port: number, fixture: HostFixture, act: () => Promise<ActionRun>) {
    const slow = get(`http://127.0.0.1:${port}/api/slow?seconds=5`, { timeoutMs: 30_000 });
    await eventually(() => answering(fixture.projectName), Boolean, 4_000);
    const { run, load } = await loaded(`http://127.0.0.1:${port}/version`, act);
    return { run, load, slow: await slow };
  }

  it('starts the proxy with the first release, and serves it on the proxy address', async () => {
    const run = await deployStaging(releaseA);
    expect(run.errors, run.stdout).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`proxy: created ${proxy.container} \\(${sb.proxyImage}`));
    expect(await version(stagingPort)).toBe(releaseA.sha);
    const containers = await staging.appContainers();
    expect(containers).toEqual([
      `${staging.projectName}-app-${run.outputs['release-id']!.toLowerCase()} ${releaseA.appImage} running`,
    ]);
    const state = await staging.state();
    expect(state.current).toMatchObject({ sha: releaseA.sha, strategy: 'blue-green' });
  });

  it('deploys the next release under load: no failed request, a 5 s request started before the switch completes', async () => {
    const { run, load, slow } = await underLoad(stagingPort, staging, () => deployStaging(releaseB));
    expect(run.code, run.stdout).toBe(0);
    console.log('deploy under load', JSON.stringify(load));
    expect(load.failed).toBe(0);
    expect(load.requests).toBeGreaterThan(500);
    expect(load.versions[releaseA.sha]).toBeGreaterThan(0);
    expect(load.versions[releaseB.sha]).toBeGreaterThan(0);
    expect(slow.status).toBe(200);
    expect(JSON.parse(slow.body)).toEqual({ slept: 5, version: releaseA.sha });
    expect(await version(stagingPort)).toBe(releaseB.sha);
    expect(await staging.appContainers()).toEqual([
      `${staging.projectName}-app-${run.outputs['release-id']!.toLowerCase()} ${releaseB.appImage} running`,
    ]);
  });

  it('rolls back by itself when the new release never answers ready: the old one served every request', async () => {
    const before = await staging.state();
    const { run, load, slow } = await underLoad(stagingPort, staging, () =>
      deployStaging(neverReady, { 'ready-timeout': '4s', 'ready-expect-json': '' }),
    );
    expect(run.code).toBe(1);
    console.log('automatic rollback under load', JSON.stringify(load));
    expect(run.outputs.status).toBe('rolled_back');
    expect(load.failed).toBe(0);
    expect(load.requests).toBeGreaterThan(500);
    expect(Object.keys(load.versions)).toEqual([releaseB.sha]);
    expect(slow.status).toBe(200);
    expect(run.stdout).toMatch(/the new container \S+ was removed; \S+ kept serving/);
    expect(await staging.appContainers()).toEqual([
      `${staging.projectName}-app-${before.current!.id.toLowerCase()} ${releaseB.appImage} running`,
    ]);
    const state = await staging.state();
    expect(state.current?.id).toBe(before.current?.id);
    expect(state.history[0]).toMatchObject({ status: 'rolled_back', sha: neverReady.sha });
  });

  it('promotes what staging runs to production behind the same proxy, under load on both', async () => {
    const first = await promote({ sha: releaseA.sha }).catch((error) => error);
    // Staging runs B now: promoting A is refused before production changes.
    expect(first.code).toBe(1);
    expect(await production.exists('.deployer')).toBe(false);

    const initial = await promote({ sha: releaseB.sha });
    expect(initial.code, initial.stdout).toBe(0);
    expect(await version(productionPort)).toBe(releaseB.sha);
    expect(await version(stagingPort)).toBe(releaseB.sha);

    // Staging moves to A again; production follows under load, and staging's traffic never notices.
    expect((await deployStaging(releaseA)).code).toBe(0);
    const stagingLoad = startLoad(`http://127.0.0.1:${stagingPort}/version`, { rate: 100 });
    const { run, load, slow } = await underLoad(productionPort, production, () =>
      promote({ sha: releaseA.sha }),
    );
    const onStaging = await stagingLoad.stop();
    expect(run.code, run.stdout).toBe(0);
    console.log('promotion under load', JSON.stringify(load), 'staging meanwhile', JSON.stringify(onStaging));
    expect(load.failed).toBe(0);
    expect(slow.status).toBe(200);
    expect(load.versions[releaseB.sha]).toBeGreaterThan(0);
    expect(load.versions[releaseA.sha]).toBeGreaterThan(0);
    expect(onStaging.failed).toBe(0);
    expect(Object.keys(onStaging.versions)).toEqual([releaseA.sha]);
    expect(await version(productionPort)).toBe(releaseA.sha);
  });

  it('rolls production back to the earlier release under load', async () => {
    const state = await production.state();
    const { run, load, slow } = await underLoad(productionPort, production, () =>
      promote({ mode: 'rollback', 'rollback-to': state.previous!.id }),
    );
    expect(run.code, run.stdout).toBe(0);
    console.log('manual rollback under load', JSON.stringify(load));
    expect(load.failed).toBe(0);
    expect(slow.status).toBe(200);
    expect(await version(productionPort)).toBe(releaseB.sha);
    expect(await version(stagingPort)).toBe(releaseA.sha);
  });

  it('keeps serving every environment after the proxy restarts (its configuration is on the host)', async () => {
    await staging.ssh.run(['docker', 'restart', proxy.container]);
    await eventually(
      () => version(productionPort).catch(() => ''),
      (served) => served === releaseB.sha,
      15_000,
    );
    expect(await version(stagingPort)).toBe(releaseA.sha);
  });

  it("serves a third environment by host name on staging's port, and deploys it without touching staging", async () => {
    const named = await HostFixture.create(sb, 'bg-named');
    try {
      const stagingSite = await staging.ssh.run(['cat', `${proxy.dir}/sites/${staging.projectName}.caddy`]);
      const run = await runAction('deploy-staging', {
        inputs: {
          ...connection(),
          'deploy-path': named.deployPath,
          'project-name': named.projectName,
          'proxy-address': `named.test:${stagingPort}`,
          'app-image': releaseB.appImage,
          'migrator-image': releaseB.migratorImage,
          sha: releaseB.sha,
        },
      });
      expect(run.code, run.stdout).toBe(0);
      const byName = await getWithHost(`http://127.0.0.1:${stagingPort}/version`, 'named.test');
      expect(JSON.parse(byName).version).toBe(releaseB.sha);
      expect(await version(stagingPort)).toBe(releaseA.sha);
      expect((await staging.ssh.run(['cat', `${proxy.dir}/sites/${staging.projectName}.caddy`])).stdout).toBe(
        stagingSite.stdout,
      );
    } finally {
      await named.destroy();
    }
  });

  it('refuses an app service with a fixed host port before anything changes on the host', async () => {
    const before = await staging.state();
    const run = await deployStaging(releaseB, { 'compose-file': `${exampleDir}/docker-compose.deploy.yml` });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /"compose-file": service "app" in .*docker-compose\.deploy\.yml publishes a fixed host port in ports \("\$\{APP_HOST_PORT:-8080\}"\)/,
    );
    expect((await staging.state()).history.length).toBe(before.history.length);
    expect(await version(stagingPort)).toBe(releaseA.sha);
  });
});

/** A GET with its own Host header (fetch does not let one be set). */
function getWithHost(url: string, hostHeader: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { headers: { Host: hostHeader }, timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        response.statusCode === 200 ? resolve(body) : reject(new Error(`${response.statusCode}: ${body}`)),
      );
    });
    sent.on('error', reject);
    sent.end();
  });
}
