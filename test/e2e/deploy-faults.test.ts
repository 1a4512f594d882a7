import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndPushExample, type ExampleRelease } from '../support/images.js';
import { cancelLikeGitHub, deployInputs, onLog, servedVersion } from '../support/deploy.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { HostFixture } from '../support/host.js';
import { freePort } from '../support/ports.js';
import { runAction, type ActionRun, type ActionRunOptions } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

// Each fault is injected for real: the SSH connection goes through a TCP proxy that can drop or
// freeze it, the registry through another, the runner gets real signals, the host real files.
describe('deploy-staging under faults', () => {
  let sb: Sandbox;
  let releaseA: ExampleRelease;
  let releaseB: ExampleRelease;
  let sshProxy: FaultProxy;
  let registryProxy: FaultProxy;
  const repo = `deploy-faults/${process.pid}/hello`;
  const fixtures: HostFixture[] = [];

  beforeAll(async () => {
    sb = sandbox();
    releaseA = buildAndPushExample(sb, repo);
    releaseB = buildAndPushExample(sb, repo);
    sshProxy = await FaultProxy.start(sb.sshHost, sb.sshPort);
    const [registryHost, registryPort] = sb.registry.split(':');
    registryProxy = await FaultProxy.start(registryHost!, Number(registryPort));
  });

  afterAll(async () => {
    registryProxy.accept();
    registryProxy.thaw();
    for (const fixture of fixtures) await fixture.destroy();
    await sshProxy.close();
    await registryProxy.close();
  });

  /** A deploy path where release A runs (deployed without any fault). */
  async function hostRunningA(name: string): Promise<{ fixture: HostFixture; port: number }> {
    const fixture = await HostFixture.create(sb, name);
    fixtures.push(fixture);
    const port = await freePort();
    const first = await runAction('deploy-staging', { inputs: deployInputs(sb, fixture, port, releaseA) });
    expect(first.code, first.stdout).toBe(0);
    return { fixture, port };
  }

  /** Deploys through the SSH fault proxy. */
  const deployViaProxy = (
    fixture: HostFixture,
    port: number,
    release: ExampleRelease,
    extra: Record<string, string> = {},
    options: ActionRunOptions = {},
  ) =>
    runAction('deploy-staging', {
      inputs: deployInputs(sb, fixture, port, release, {
        host: sshProxy.host,
        port: String(sshProxy.port),
        ...extra,
      }),
      ...options,
    });

  /** The same release, pulled through a registry proxy: a name the host does not have yet. */
  const viaRegistryProxy = (release: ExampleRelease, proxy = registryProxy): ExampleRelease => ({
    ...release,
    appImage: release.appImage.replace(sb.registry, `127.0.0.1:${proxy.port}`),
    migratorImage: release.migratorImage.replace(sb.registry, `127.0.0.1:${proxy.port}`),
  });

  /** What every fault must leave: the old release serving, one truthful record, no lock, no password. */
  async function expectSettled(
    fixture: HostFixture,
    port: number,
    run: ActionRun,
    attempt: { sha: string; status: string },
  ) {
    expect(await servedVersion(port)).toBe(releaseA.sha);
    expect(await fixture.runningImages()).toEqual([releaseA.appImage]);
    const state = await fixture.state();
    expect(state.current?.sha).toBe(releaseA.sha);
    const records = state.history.filter((record) => record.sha === attempt.sha);
    expect(records.map((record) => record.status)).toEqual([attempt.status]);
    expect(run.outputs.status).toBe(attempt.status);
    expect(await fixture.exists('.deployer/lock')).toBe(false);
    expect(await fixture.passwordFiles(sb.registryUsername, sb.registryPassword)).toEqual([]);
    expect(run.everything).not.toContain(sb.registryPassword);
    return records[0]!;
  }

  it('1: a connection dropped during the migrator is reported as such, the migrator’s end awaited and recorded', async () => {
    const { fixture, port } = await hostRunningA('drop-migrate');
    await fixture.write('.env.production', 'MIGRATE_DELAY=3\n');
    const run = await deployViaProxy(
      fixture,
      port,
      releaseB,
      {},
      { onSpawn: onLog('migrator: waiting', () => sshProxy.cut()) },
    );
    expect(run.code).toBe(1);
    const error = run.errors.join('\n');
    expect(error).toMatch(/lost the SSH connection .* during migrate/);
    expect(error).not.toMatch(/migrator failed/i);
    expect(run.stdout).toMatch(/reconnected/);
    const record = await expectSettled(fixture, port, run, { sha: releaseB.sha, status: 'failed' });
    expect(record).toMatchObject({ migration: 'succeeded', migrated: true });
    expect(record.reason).toMatch(
      /lost the SSH connection.*the migrator finished successfully.*the running app was not touched/,
    );
    expect(await fixture.containers(`${fixture.projectName}-migrator-`)).toEqual([]);
  });

  it('1c: a connection cut while readiness is checked through it: reconnect, undo, one record', async () => {
    const { fixture, port } = await hostRunningA('drop-ready');
    const run = await deployViaProxy(
      fixture,
      port,
      releaseB,
      { 'ready-timeout': '5s' },
      { onSpawn: onLog('ready: started', () => sshProxy.cut()) },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/reconnected/);
    await expectSettled(fixture, port, run, { sha: releaseB.sha, status: 'rolled_back' });
  });

  it('2: a frozen connection ends at the keepalive limit, not never', async () => {
    const { fixture, port } = await hostRunningA('freeze');
    await fixture.write('.env.production', 'MIGRATE_DELAY=2\n');
    const run = await deployViaProxy(
      fixture,
      port,
      releaseB,
      { 'ssh-keepalive': '500ms' },
      { onSpawn: onLog('migrator: waiting', () => sshProxy.freeze()) },
    );
    sshProxy.thaw();
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/lost the SSH connection .*keepalive/i);
    const record = await expectSettled(fixture, port, run, { sha: releaseB.sha, status: 'failed' });
    expect(record.migration).toBe('succeeded');
  });

  it('3: a cancel during a long migration settles record and lock before GitHub’s SIGKILL; the next migrator waits', async () => {
    const { fixture, port } = await hostRunningA('cancel-migrate');
    await fixture.write('.env.production', 'MIGRATE_DELAY=8\n');
    let cancel: { killed: () => boolean } | undefined;
    const run = await deployViaProxy(
      fixture,
      port,
      releaseB,
      {},
      { onSpawn: onLog('migrator: waiting', (child) => (cancel = cancelLikeGitHub(child))) },
    );
    expect(cancel?.killed()).toBe(false);
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/cancelled/);
    const record = await expectSettled(fixture, port, run, { sha: releaseB.sha, status: 'cancelled' });
    expect(record).toMatchObject({ migration: 'running', migrated: false });
    expect(record.reason).toMatch(/migration is still running in container .*-migrator-/);
    const [migrator] = await fixture.containers(`${fixture.projectName}-migrator-`);
    expect(migrator).toMatch(/running/);

    await fixture.write('.env.production', 'GREETING=hello\n');
    const next = await deployViaProxy(fixture, port, releaseB);
    expect(next.code, next.stdout).toBe(0);
    expect(next.warnings.join('\n')).toMatch(
      /migrator of this environment is still running.*waiting for it to end/,
    );
    expect(next.stdout).toMatch(/the earlier migration .*-migrator-.* ended with exit code 0/);
    expect(await servedVersion(port)).toBe(releaseB.sha);
    expect(await fixture.containers(`${fixture.projectName}-migrator-`)).toEqual([]);
  });

  it('1b: a connection lost while committing either finishes the commit or undoes it, with one record', async () => {
    const { fixture, port } = await hostRunningA('drop-commit');
    const run = await deployViaProxy(
      fixture,
      port,
      releaseB,
      {},
      { onSpawn: onLog('commit: started', () => sshProxy.cut()) },
    );
    const state = await fixture.state();
    const records = state.history.filter((record) => record.sha === releaseB.sha);
    expect(records).toHaveLength(1);
    expect(await fixture.exists('.deployer/lock')).toBe(false);
    const landed = run.code === 0;
    expect(records[0]!.status).toBe(landed ? 'success' : 'rolled_back');
    expect(await servedVersion(port)).toBe(landed ? releaseB.sha : releaseA.sha);
    expect(state.current?.sha).toBe(landed ? releaseB.sha : releaseA.sha);
    expect(await fixture.read('current/deploy.env')).toContain(
      landed ? releaseB.appImage : releaseA.appImage,
    );
    const audit = (await fixture.read('.deployer/audit.log')).trim().split('\n');
    expect(audit.filter((line) => line.includes(releaseB.sha))).toHaveLength(1);
  });

  it('2b: a deploy past deploy-timeout is stopped, and still undone and recorded', async () => {
    const { fixture, port } = await hostRunningA('deadline');
    await fixture.write('.env.production', 'MIGRATE_DELAY=12\n');
    const run = await deployViaProxy(fixture, port, releaseB, { 'deploy-timeout': '10s' });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/did not finish on .* within .* s during migrate/);
    const record = await expectSettled(fixture, port, run, { sha: releaseB.sha, status: 'failed' });
    expect(record.migration).toBe('succeeded');
  });

  it('4: a deploy longer than lock-ttl keeps its lease; the next one waits instead of taking over', async () => {
    const { fixture, port } = await hostRunningA('long-deploy');
    await fixture.write('.env.production', 'MIGRATE_DELAY=14\n');
    let second: Promise<ActionRun> | undefined;
    const first = await deployViaProxy(
      fixture,
      port,
      releaseB,
      { 'lock-ttl': '10s' },
      {
        onSpawn: onLog('migrator: waiting', () => {
          second = deployViaProxy(fixture, port, releaseA, {
            'lock-ttl': '10s',
            'lock-timeout': '90s',
            'run-migrations': 'false',
          });
        }),
      },
    );
    expect(first.code, first.stdout).toBe(0);
    const other = await second!;
    expect(other.code, other.stdout).toBe(0);
    expect(other.stdout).toMatch(/waiting for the deploy lock held by run/);
    expect(other.warnings.join('\n')).not.toMatch(/took over/);
    const state = await fixture.state();
    expect(state.history.slice(0, 2).map((r) => [r.sha, r.status])).toEqual([
      [releaseA.sha, 'success'],
      [releaseB.sha, 'success'],
    ]);
    expect(await servedVersion(port)).toBe(releaseA.sha);
  });

  it('4b: a deploy whose lock was taken from it stops before its next change to the host', async () => {
    const { fixture, port } = await hostRunningA('stolen-lock');
    await fixture.write('.env.production', 'MIGRATE_DELAY=3\n');
    const thief = `${Math.floor(Date.now() / 1000) + 600}\n{"token":"thief","runId":"77","actor":"other"}\n`;
    const run = await deployViaProxy(
      fixture,
      port,
      releaseB,
      {},
      {
        onSpawn: onLog('migrator: waiting', () => void fixture.write('.deployer/lock', thief)),
      },
    );
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/no longer held by this deploy|taken over by another deploy/);
    expect(await servedVersion(port)).toBe(releaseA.sha);
    expect(await fixture.read('.deployer/lock')).toBe(thief);
    expect((await fixture.state()).history.filter((r) => r.sha === releaseB.sha)).toEqual([]);
  });

  it('5: an app that crashes 4 s after its first ready answer is rolled back (default ready-stable-for)', async () => {
    const { fixture, port } = await hostRunningA('crash');
    await fixture.write('.env.production', 'CRASH_AFTER_READY=4\n');
    const run = await deployViaProxy(fixture, port, releaseB, { 'ready-stable-for': '' });
    expect(run.code).toBe(1);
    const record = await expectSettled(fixture, port, run, { sha: releaseB.sha, status: 'rolled_back' });
    expect(record.reason).toMatch(/restarted|exited|restarting/);
    expect(record.reason).toMatch(/previous release answers ready again/);
  });

  it('5b: a crash early in a long ready-stable-for rolls back at once, not when the window ends', async () => {
    const { fixture, port } = await hostRunningA('crash-early');
    await fixture.write('.env.production', 'CRASH_AFTER_READY=1\n');
    const began = Date.now();
    const run = await deployViaProxy(fixture, port, releaseB, { 'ready-stable-for': '60s' });
    expect(run.code).toBe(1);
    expect(Date.now() - began).toBeLessThan(45_000);
    const record = await expectSettled(fixture, port, run, { sha: releaseB.sha, status: 'rolled_back' });
    expect(record.reason).toMatch(
      /^the app container (restarted \(restart count 0 → 1\)|is restarting \(exit code 1\)) within 60 s of its first ready answer/,
    );
  });

  it('6: an unwritable audit.log after the switch does not undo a committed release', async () => {
    const { fixture, port } = await hostRunningA('audit');
    await fixture.ssh.run(['chmod', '0400', `${fixture.deployPath}/.deployer/audit.log`]);
    const run = await deployViaProxy(fixture, port, releaseB);
    expect(run.code, run.stdout).toBe(0);
    expect(run.warnings.join('\n')).toMatch(/recorded in state.json, but audit.log could not be appended/);
    expect(run.stdout).not.toMatch(/restoring/);
    expect(await servedVersion(port)).toBe(releaseB.sha);
    const state = await fixture.state();
    expect(state.history.filter((r) => r.sha === releaseB.sha).map((r) => r.status)).toEqual(['success']);
    expect(await fixture.exists('.deployer/lock')).toBe(false);
  });

  it('7: no registry password stays on the host when the connection dies during the pull', async () => {
    const { fixture, port } = await hostRunningA('pull-drop');
    const release = viaRegistryProxy(releaseB);
    // Once the login is on the host (its Docker config written), every new registry connection
    // hangs — the pull is stuck with the credentials in place — and the SSH connection drops.
    let freezeNew = false;
    registryProxy.onConnection(() => freezeNew && registryProxy.freeze());
    const loginWritten = fixture.ssh.run([
      'sh',
      '-c',
      'i=0; until ls "$1"/.deployer/login.*/config.json >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 3000 ] || exit 9; sleep 0.01; done',
      'sh',
      fixture.deployPath,
    ]);
    const deploying = deployViaProxy(fixture, port, release, { registry: `127.0.0.1:${registryProxy.port}` });
    await loginWritten;
    freezeNew = true;
    sshProxy.cut();
    const run = await deploying;
    freezeNew = false;
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/lost the SSH connection .* during pull/);
    await expectSettled(fixture, port, run, { sha: release.sha, status: 'failed' });
    registryProxy.thaw();
  });

  it('8: a bad setting in the env file breaks only the new release; the rollback runs with its own copy', async () => {
    const { fixture, port } = await hostRunningA('bad-env');
    await fixture.write('.env.production', 'NEVER_READY=1\n');
    const run = await deployViaProxy(fixture, port, releaseB, { 'ready-timeout': '3s' });
    expect(run.code).toBe(1);
    const record = await expectSettled(fixture, port, run, { sha: releaseB.sha, status: 'rolled_back' });
    expect(record.reason).toMatch(/previous release answers ready again/);
    expect(await fixture.read('current/.env.production')).toBe('GREETING=hello\n');
  });

  it('9: an unreachable registry fails the pull with that reason and touches nothing', async () => {
    const { fixture, port } = await hostRunningA('registry-down');
    // A registry address of its own: no earlier test can have pulled these names.
    const [registryHost, registryPort] = sb.registry.split(':');
    const down = await FaultProxy.start(registryHost!, Number(registryPort));
    down.refuse();
    try {
      const release = viaRegistryProxy(releaseB, down);
      const run = await deployViaProxy(fixture, port, release, { registry: `127.0.0.1:${down.port}` });
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(/pull failed: the registry is unreachable from the host/);
      await expectSettled(fixture, port, run, { sha: release.sha, status: 'failed' });
    } finally {
      await down.close();
    }
  });
});
