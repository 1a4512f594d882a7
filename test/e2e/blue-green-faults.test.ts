import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blueGreenInputs,
  onLog,
  removeTestProxy,
  sandboxConnectionInputs,
  servedVersion,
  testProxy,
  type TestProxy,
} from '../support/deploy.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { eventually } from '../support/http.js';
import { HostFixture } from '../support/host.js';
import { buildAndPushExample, type ExampleRelease } from '../support/images.js';
import { startLoad } from '../support/load.js';
import { freePort } from '../support/ports.js';
import { runAction, type ActionRun, type ActionRunOptions } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

// Faults injected for real during blue-green deploys: the SSH connection goes through a TCP proxy
// that cuts it, and the runner is signalled as GitHub does. Traffic goes through the Caddy proxy all
// along: whatever breaks, no request may fail.
describe('blue-green deploys under faults', () => {
  let sb: Sandbox;
  let releaseA: ExampleRelease;
  let releaseB: ExampleRelease;
  let neverReady: ExampleRelease;
  let sshProxy: FaultProxy;
  let proxy: TestProxy;
  const repo = `blue-green-faults/${process.pid}/hello`;
  const fixtures: HostFixture[] = [];

  beforeAll(async () => {
    sb = sandbox();
    releaseA = buildAndPushExample(sb, repo);
    releaseB = buildAndPushExample(sb, repo);
    neverReady = buildAndPushExample(sb, repo, { neverReady: true });
    sshProxy = await FaultProxy.start(sb.sshHost, sb.sshPort);
    proxy = testProxy(sb, 'faults');
  });

  afterAll(async () => {
    await removeTestProxy(fixtures[0], proxy);
    for (const fixture of fixtures) await fixture.destroy();
    await sshProxy.close();
  });

  const deploy = (
    fixture: HostFixture,
    port: number,
    release: ExampleRelease,
    extra: Record<string, string> = {},
    options: ActionRunOptions = {},
  ) =>
    runAction('deploy-staging', {
      inputs: {
        ...sandboxConnectionInputs(sb),
        ...blueGreenInputs(sb, proxy),
        'deploy-path': fixture.deployPath,
        'project-name': fixture.projectName,
        'proxy-address': `:${port}`,
        'app-image': release.appImage,
        'migrator-image': release.migratorImage,
        sha: release.sha,
        ...extra,
      },
      ...options,
    });

  /** The SSH connection goes through the fault proxy. */
  const viaFaultProxy = () => ({ host: sshProxy.host, port: String(sshProxy.port) });

  async function environmentRunningA(name: string): Promise<{ fixture: HostFixture; port: number }> {
    const fixture = await HostFixture.create(sb, name);
    fixtures.push(fixture);
    const port = await freePort();
    const first = await deploy(fixture, port, releaseA);
    expect(first.code, first.stdout).toBe(0);
    return { fixture, port };
  }

  /** Runs the deploy while 200 requests a second go through the proxy; none may fail. */
  async function withoutFailedRequests(port: number, deploying: Promise<ActionRun>): Promise<ActionRun> {
    const load = startLoad(`http://127.0.0.1:${port}/version`, { rate: 200 });
    const run = await deploying.catch(async (error: unknown) => {
      await load.stop();
      throw error;
    });
    // A deploy cancelled early can end within a second: the stream goes on until 200 requests were
    // answered, which also shows that the old release keeps serving after the action has ended.
    const result = await load.stop({ atLeast: 200 });
    expect(result.failed, JSON.stringify(result)).toBe(0);
    expect(result.requests).toBeGreaterThanOrEqual(200);
    return run;
  }

  /** One app container runs, the one state.json calls current, and it is what the proxy serves. */
  async function expectOneLiveRelease(fixture: HostFixture, port: number, release: ExampleRelease) {
    const state = await fixture.state();
    expect(state.current?.sha).toBe(release.sha);
    expect(await servedVersion(port)).toBe(release.sha);
    expect(await fixture.appContainers()).toEqual([
      `${fixture.projectName}-app-${state.current!.id.toLowerCase()} ${release.appImage} running`,
    ]);
    expect(await fixture.exists('.deployer/lock')).toBe(false);
  }

  it('a connection cut during the proxy switch: reconnect, switch back, remove the new container, one record', async () => {
    const { fixture, port } = await environmentRunningA('bg-cut-switch');
    const run = await withoutFailedRequests(
      port,
      deploy(fixture, port, releaseB, viaFaultProxy(), {
        onSpawn: onLog('switch: started', () => sshProxy.cut()),
      }),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/reconnected/);
    expect(run.outputs.status).toBe('rolled_back');
    expect(run.stdout).toMatch(/the proxy was switched back; the new container \S+ was removed/);
    await expectOneLiveRelease(fixture, port, releaseA);
    const records = (await fixture.state()).history.filter((record) => record.sha === releaseB.sha);
    expect(records.map((record) => record.status)).toEqual(['rolled_back']);
  });

  it('a cancel while the new container is checked: it is removed, the old one never stopped serving', async () => {
    const { fixture, port } = await environmentRunningA('bg-cancel');
    const run = await withoutFailedRequests(
      port,
      deploy(
        fixture,
        port,
        neverReady,
        { 'ready-timeout': '30s' },
        { onSpawn: onLog('ready: attempt 2', (child) => child.kill('SIGTERM')) },
      ),
    );
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('cancelled');
    await expectOneLiveRelease(fixture, port, releaseA);
  });

  it('a connection cut while the old container drains: the release stays live and the host finishes the drain', async () => {
    const { fixture, port } = await environmentRunningA('bg-cut-drain');
    const run = await withoutFailedRequests(
      port,
      deploy(fixture, port, releaseB, viaFaultProxy(), {
        onSpawn: onLog('drain: started', () => sshProxy.cut()),
      }),
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('success');
    // The stop runs in a session of its own on the host: it ends there without the deploy.
    await eventually(
      () => fixture.appContainers(),
      (containers) => containers.length === 1,
      30_000,
    );
    await expectOneLiveRelease(fixture, port, releaseB);
  });

  it('a runner killed after starting the new container: the lock expires, the next deploy retires the orphan', async () => {
    const { fixture, port } = await environmentRunningA('bg-killed');
    const killed = await deploy(
      fixture,
      port,
      releaseB,
      { 'lock-ttl': '10s', 'ready-timeout': '30s' },
      { onSpawn: onLog('ready: started', (child) => child.kill('SIGKILL')) },
    );
    expect(killed.code).not.toBe(0);
    // Two app containers now: A serving, B's never switched to.
    expect((await fixture.appContainers()).length).toBe(2);
    expect(await servedVersion(port)).toBe(releaseA.sha);
    const next = await withoutFailedRequests(
      port,
      deploy(fixture, port, releaseB, { 'lock-timeout': '30s' }),
    );
    expect(next.code, next.stdout).toBe(0);
    expect(next.stdout).toMatch(/took over an expired deploy lock/);
    await expectOneLiveRelease(fixture, port, releaseB);
  });
});
