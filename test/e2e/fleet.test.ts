import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { cancelLikeGitHub, onLog } from '../support/deploy.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { get } from '../support/http.js';
import { HostFixture } from '../support/host.js';
import { buildAndPushExample, type ExampleRelease } from '../support/images.js';
import { exampleDir } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { runAction, type ActionRun, type ActionRunOptions } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

/** A host of the test fleet: one of the sandbox's extra sshd hosts, with its own deploy path. */
interface FleetHost {
  name: string;
  role: 'web' | 'worker';
  fixture: HostFixture;
  address: string;
  /** web: the proxy address port this host serves on. */
  port: number;
  proxy: { container: string; dir: string };
}

interface HostResult {
  name: string;
  status: string;
  batch: number;
  durationMs: number | null;
  reason: string | null;
}

/** What a notify-url receiver got: the body and its signature header. */
interface Notification {
  body: string;
  signature: string | undefined;
}

const NEVER_READY_ENV = 'GREETING=hello\nNEVER_READY=1\n';
const UNHEALTHY_ENV = 'GREETING=hello\nWORKER_NEVER_HEALTHY=1\n';
const HEALTHY_ENV = 'GREETING=hello\n';

describe('rollout to a fleet of hosts from a deploy config file', () => {
  let sb: Sandbox;
  let releaseA: ExampleRelease;
  let releaseB: ExampleRelease;
  let workspace: string;
  let hosts: FleetHost[];
  let production: FleetHost[];
  const volume = `fleet-test-data-${process.pid}`;
  const notifySecret = `fleet-notify-${process.pid}-secret`;
  const notifications: Notification[] = [];
  let receiver: HttpServer;
  const repo = `fleet-test/${process.pid}/hello`;

  const makeHost = async (index: number, name: string, role: 'web' | 'worker'): Promise<FleetHost> => {
    const on = sb.fleet[index]!;
    const fixture = await HostFixture.create(sb, `fleet-${name}`, HEALTHY_ENV, sb.sshUser, on);
    return {
      name,
      role,
      fixture,
      address: on.host,
      port: role === 'web' ? await freePort() : 0,
      proxy: {
        container: `deployer-proxy-fleet-${name}-${process.pid}`,
        dir: `${on.deployRoot}/proxy-fleet-${name}-${process.pid}`,
      },
    };
  };

  beforeAll(async () => {
    sb = sandbox();
    expect(sb.fleet.length).toBeGreaterThanOrEqual(7);
    releaseA = buildAndPushExample(sb, repo);
    releaseB = buildAndPushExample(sb, repo);
    workspace = mkdtempSync(join(tmpdir(), 'deployer-fleet-workspace-'));
    hosts = await Promise.all([
      makeHost(0, 'web-1', 'web'),
      makeHost(1, 'web-2', 'web'),
      makeHost(2, 'web-3', 'web'),
      makeHost(3, 'worker-1', 'worker'),
      makeHost(4, 'worker-2', 'worker'),
    ]);
    receiver = createHttpServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        notifications.push({ body, signature: request.headers['x-deployer-signature-256'] as string });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    production = await Promise.all([
      makeHost(5, 'prod-web-1', 'web'),
      makeHost(6, 'prod-worker-1', 'worker'),
    ]);
  });

  afterAll(async () => {
    receiver?.close();
    for (const host of [...(hosts ?? []), ...(production ?? [])]) {
      await host.fixture.ssh.run(['docker', 'rm', '--force', host.proxy.container], { check: false });
      await host.fixture.ssh.run(['rm', '-rf', '--', host.proxy.dir], { check: false });
      await host.fixture.destroy();
    }
    execFileSync('docker', ['volume', 'rm', '--force', volume, `${volume}-production`], { stdio: 'ignore' });
    rmSync(workspace, { recursive: true, force: true });
  });

  const hostEntry = (host: FleetHost) => ({
    name: host.name,
    host: host.address,
    roles: [host.role],
    'host-fingerprint': sb.fleet.find((f) => f.host === host.address)!.fingerprint,
    'deploy-path': host.fixture.deployPath,
    'project-name': host.fixture.projectName,
    ...(host.role === 'web'
      ? {
          'proxy-address': `:${host.port}`,
          'proxy-container': host.proxy.container,
          'proxy-dir': host.proxy.dir,
        }
      : {}),
  });

  /** The deploy config the tests use: staging on 5 hosts, production on 2, both of one sandbox engine. */
  const config = () => ({
    'compose-file': `${exampleDir}/docker-compose.fleet.yml`,
    user: sb.sshUser,
    port: sb.sshPort,
    'ssh-key': { env: 'FLEET_SSH_KEY' },
    'registry-username': sb.registryUsername,
    'registry-password': { env: 'FLEET_REGISTRY_PASSWORD' },
    'ready-interval': '200ms',
    'ready-stable-for': '500ms',
    'notify-url': `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/deploys`,
    'notify-secret': { env: 'FLEET_NOTIFY_SECRET' },
    roles: {
      web: {
        service: 'app',
        strategy: 'blue-green',
        'proxy-image': sb.proxyImage,
        'drain-timeout': '5s',
        'ready-timeout': '6s',
      },
      worker: { service: 'worker', 'ready-check': 'container', 'ready-timeout': '20s' },
    },
    environments: {
      staging: {
        'max-parallel': 2,
        'migrate-on': 'web-1',
        'deploy-env': { DATA_VOLUME: volume },
        hosts: hosts.map(hostEntry),
      },
      production: {
        'deploy-env': { DATA_VOLUME: `${volume}-production` },
        hosts: production.map(hostEntry),
      },
    },
  });

  const writeConfig = (text = stringify(config())) => writeFileSync(join(workspace, 'deployer.yml'), text);

  const secrets = () => ({
    FLEET_SSH_KEY: sb.sshKey,
    FLEET_REGISTRY_PASSWORD: sb.registryPassword,
    FLEET_NOTIFY_SECRET: notifySecret,
  });

  const deploy = (release: ExampleRelease, onSpawn?: ActionRunOptions['onSpawn']) =>
    runAction('deploy-staging', {
      cwd: workspace,
      env: secrets(),
      inputs: {
        'config-file': 'deployer.yml',
        environment: 'staging',
        'app-image': release.appImage,
        'migrator-image': release.migratorImage,
        sha: release.sha,
      },
      onSpawn,
    });

  const promote = (extra: Record<string, string> = {}) =>
    runAction('promote-prod', {
      cwd: workspace,
      env: secrets(),
      inputs: {
        'config-file': 'deployer.yml',
        environment: 'production',
        'promote-from': 'staging',
        sha: releaseA.sha,
        ...extra,
      },
    });

  const results = (run: ActionRun): Record<string, HostResult> =>
    Object.fromEntries((JSON.parse(run.outputs.hosts ?? '[]') as HostResult[]).map((h) => [h.name, h]));

  const servedVersion = async (host: FleetHost) =>
    JSON.parse((await get(`http://127.0.0.1:${host.port}/version`)).body).version as string;

  /** What each host runs now, by its state file and its containers. */
  async function runs(host: FleetHost): Promise<{ current?: string; images: string[]; locked: boolean }> {
    const state = await host.fixture.state();
    const service = host.role === 'web' ? 'app' : 'worker';
    return {
      current: state.current?.sha,
      images: await host.fixture.runningImages(service),
      locked: await host.fixture.exists('.deployer/lock'),
    };
  }

  /** Every host runs `release` (state, containers, and the proxy for web hosts) and holds no lock. */
  async function expectEveryHostRuns(fleet: FleetHost[], release: ExampleRelease): Promise<void> {
    for (const host of fleet) {
      expect(await runs(host), host.name).toEqual({
        current: release.sha,
        images: [release.appImage],
        locked: false,
      });
      if (host.role === 'web') expect(await servedVersion(host), host.name).toBe(release.sha);
    }
  }

  it('deploys a release to 5 hosts (3 web, 2 worker) in batches of 2; the migrator runs once', async () => {
    writeConfig();
    const run = await deploy(releaseA);
    expect(run.errors, run.stdout).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('success');
    const byHost = results(run);
    expect(Object.values(byHost).map((h) => [h.name, h.status, h.batch])).toEqual([
      ['web-1', 'success', 1],
      ['web-2', 'success', 1],
      ['web-3', 'success', 2],
      ['worker-1', 'success', 2],
      ['worker-2', 'success', 3],
    ]);
    await expectEveryHostRuns(hosts, releaseA);
    for (const host of Object.values(byHost)) expect(host.durationMs, host.name).toBeGreaterThan(0);
    // One signed notification for the whole rollout.
    const notification = notifications.at(-1)!;
    expect(notification.signature).toBe(
      `sha256=${createHmac('sha256', notifySecret).update(notification.body).digest('hex')}`,
    );
    expect(JSON.parse(notification.body)).toMatchObject({
      event: 'rollout',
      status: 'success',
      hosts: Object.values(byHost).map((h) => ({ name: h.name, status: 'success' })),
    });
    expect(run.everything).not.toContain(notifySecret);
    // One migration for the environment, on web-1.
    const migrated = await Promise.all(
      hosts.map(async (h) => (await h.fixture.state()).history[0]!.migrated),
    );
    expect(migrated).toEqual([true, false, false, false, false]);
    expect(run.stdout.match(/\] migrate: started/g)).toHaveLength(1);
    // The log says which host each line is about.
    expect(run.stdout).toMatch(/\[staging web-3 \(web\)\] ready: /);
    // The summary has a row per host and the resolved config, without secrets.
    expect(run.summary).toMatch(/\| worker-2 \(`127\.0\.0\.\d+:\d+`\) \| worker \| 3 \| ✅ success/);
    expect(run.summary).toContain('from env FLEET_SSH_KEY');
    expect(run.everything).not.toContain(sb.registryPassword);
    expect(run.everything).not.toContain(sb.sshKey.split('\n')[1]);
  });

  it('halts when a web host of the second batch is never ready: batch 1 rolls back, batch 3 is never contacted', async () => {
    const web3 = hosts[2]!;
    const worker2 = hosts[4]!;
    const worker2History = (await worker2.fixture.state()).history.length;
    await web3.fixture.write('.env.production', NEVER_READY_ENV);
    try {
      const run = await deploy(releaseB);
      expect(run.code).toBe(1);
      expect(run.outputs.status).toBe('failed');
      expect(run.errors.join('\n')).toMatch(/Rollout halted\. web-3 \(web, 127\.0\.0\.\d+:\d+\) failed/);
      const byHost = results(run);
      expect(byHost['web-1']!.status).toBe('rolled_back');
      expect(byHost['web-2']!.status).toBe('rolled_back');
      expect(byHost['web-3']!.status).toBe('rolled_back');
      expect(byHost['web-1']!.reason).toMatch(/the rollout halted: web-3 .* failed/);
      // worker-1 ran beside web-3 in batch 2: stopped where it was and put back.
      expect(['rolled_back', 'cancelled']).toContain(byHost['worker-1']!.status);
      expect(byHost['worker-2']!.status).toBe('not-started');
      await expectEveryHostRuns(hosts, releaseA);
      for (const host of hosts.slice(0, 4)) {
        const [latest] = (await host.fixture.state()).history;
        expect(latest, host.name).toMatchObject({ sha: releaseB.sha });
        expect(['rolled_back', 'cancelled']).toContain(latest!.status);
      }
      expect((await worker2.fixture.state()).history).toHaveLength(worker2History);
    } finally {
      await web3.fixture.write('.env.production', HEALTHY_ENV);
    }
  });

  it('rolls back a worker whose health check never passes, and the hosts switched before it', async () => {
    const worker2 = hosts[4]!;
    await worker2.fixture.write('.env.production', UNHEALTHY_ENV);
    try {
      const run = await deploy(releaseB);
      expect(run.code).toBe(1);
      const byHost = results(run);
      expect(byHost['worker-2']!.status).toBe('rolled_back');
      expect(byHost['worker-2']!.reason).toMatch(/unhealthy/);
      for (const name of ['web-1', 'web-2', 'web-3', 'worker-1'])
        expect(byHost[name]!.status, name).toBe('rolled_back');
      await expectEveryHostRuns(hosts, releaseA);
    } finally {
      await worker2.fixture.write('.env.production', HEALTHY_ENV);
    }
  });

  it('a cancelled run (SIGINT, SIGTERM, SIGKILL as GitHub sends them) undoes every switched host and unlocks in time', async () => {
    const web3 = hosts[2]!;
    await web3.fixture.write('.env.production', NEVER_READY_ENV);
    let cancel: { killed: () => boolean } | undefined;
    try {
      const run = await deploy(
        releaseB,
        // Batch 1 holds, switched; batch 2 waits for web-3's readiness.
        onLog('[staging web-3 (web)] ready: waiting', (child) => (cancel = cancelLikeGitHub(child))),
      );
      expect(cancel?.killed()).toBe(false);
      expect(run.code).toBe(1);
      const byHost = results(run);
      for (const name of ['web-1', 'web-2', 'web-3', 'worker-1'])
        expect(byHost[name]!.status, name).toBe('cancelled');
      expect(byHost['worker-2']!.status).toBe('not-started');
      await expectEveryHostRuns(hosts, releaseA);
      for (const host of hosts)
        expect(
          await host.fixture.appContainers(host.role === 'web' ? 'app' : 'worker'),
          host.name,
        ).toHaveLength(1);
    } finally {
      await web3.fixture.write('.env.production', HEALTHY_ENV);
    }
  });

  it('refuses a config with a typo or a role without a service before contacting any host', async () => {
    const connections: number[] = [];
    const listener: Server = createServer((socket) => {
      connections.push(Date.now());
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      const typo = stringify({
        ...config(),
        port,
        environments: {
          staging: { hosts: [{ ...hostEntry(hosts[0]!), host: '127.0.0.1', 'redy-path': '/up' }] },
        },
      });
      writeConfig(typo);
      const line = typo.split('\n').findIndex((l) => l.includes('redy-path')) + 1;
      const run = await deploy(releaseA);
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toContain(`deployer.yml:${line}`);
      expect(run.errors.join('\n')).toMatch(/redy-path.*did you mean ready-path/);

      const noService = stringify({
        ...config(),
        port,
        roles: { ...config().roles, worker: { 'ready-check': 'container' } },
      });
      writeConfig(noService);
      const workerLine = noService.split('\n').findIndex((l) => /^ {2}worker:/.test(l)) + 1;
      const second = await deploy(releaseA);
      expect(second.code).toBe(1);
      expect(second.errors.join('\n')).toContain(`deployer.yml:${workerLine}`);
      expect(second.errors.join('\n')).toMatch(/roles\.worker.*service/);
      expect(connections).toEqual([]);
    } finally {
      listener.close();
      writeConfig();
    }
  });

  it('promotes to production only what every staging host runs, with the same digests', async () => {
    writeConfig();
    const run = await promote();
    expect(run.errors, run.stdout).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/every staging host runs [0-9a-f]{40} with the same digests/);
    await expectEveryHostRuns(production, releaseA);

    // One staging host drifts: a deploy to it alone (outside the rollout) moves it to B.
    const web2 = hosts[1]!;
    const single = await runAction('deploy-staging', {
      inputs: {
        host: web2.address,
        port: String(sb.sshPort),
        user: sb.sshUser,
        'ssh-key': sb.sshKey,
        'host-fingerprint': sb.fleet[1]!.fingerprint,
        'registry-username': sb.registryUsername,
        'registry-password': sb.registryPassword,
        ...Object.fromEntries(
          Object.entries({ ...config().roles.web, ...hostEntry(web2) }).filter(
            ([key]) => !['service', 'name', 'host', 'roles', 'host-fingerprint'].includes(key),
          ),
        ),
        'compose-file': `${exampleDir}/docker-compose.fleet.yml`,
        'deploy-env': `DATA_VOLUME=${volume}`,
        'run-migrations': 'false',
        'ready-interval': '200ms',
        'app-image': releaseB.appImage,
        'migrator-image': releaseB.migratorImage,
        sha: releaseB.sha,
      },
    });
    expect(single.code, single.stdout).toBe(0);
    const refused = await promote({ sha: releaseB.sha });
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      /Promotion refused, production was not touched: on web-1: staging does not currently run/,
    );
    for (const host of production) expect((await runs(host)).current, host.name).toBe(releaseA.sha);
  });

  it.each([
    [
      'while it holds, switched',
      'wait-all-hosts: started',
      /wait-all-hosts: the SSH connection was lost while waiting; reconnecting/,
    ],
    [
      'as it commits',
      'commit: started',
      /commit: .* while committing; reconnecting to see whether the commit landed/,
    ],
  ])(
    'a connection to one host dropped %s is reconnected; the rollout completes with one record per host',
    async (_moment, logLine, recovery) => {
      const web2 = hosts[1]!;
      const before = (await web2.fixture.state()).history.length;
      const proxy = await FaultProxy.start(web2.address, sb.sshPort);
      try {
        const viaProxy = config();
        const entry = viaProxy.environments.staging.hosts[1]!;
        Object.assign(entry, { host: '127.0.0.1', port: proxy.port });
        writeConfig(stringify(viaProxy));
        const run = await deploy(
          releaseB,
          onLog(`[staging web-2 (web)] ${logLine}`, () => proxy.cut()),
        );
        expect(run.code, run.stdout).toBe(0);
        expect(run.stdout).toMatch(new RegExp(`\\[staging web-2 \\(web\\)\\] ${recovery.source}`));
        expect(run.stdout).toMatch(/\[staging web-2 \(web\)\] reconnect: reconnected \(attempt 1\)/);
        expect(proxy.accepted).toBe(2);
        await expectEveryHostRuns(hosts, releaseB);
        const history = (await web2.fixture.state()).history;
        expect(history).toHaveLength(before + 1);
        expect(history[0]).toMatchObject({ sha: releaseB.sha, status: 'success' });
      } finally {
        await proxy.close();
        writeConfig();
      }
    },
  );

  it('promotes what the whole staging fleet runs, then rolls every production host back to the earlier release', async () => {
    writeConfig();
    const promoted = await promote({ sha: releaseB.sha });
    expect(promoted.code, promoted.stdout).toBe(0);
    await expectEveryHostRuns(production, releaseB);
    const rollback = await promote({ mode: 'rollback', 'rollback-to': releaseA.sha, sha: '' });
    expect(rollback.code, rollback.stdout).toBe(0);
    expect(Object.values(results(rollback)).map((h) => h.status)).toEqual(['success', 'success']);
    await expectEveryHostRuns(production, releaseA);
    for (const host of production)
      expect((await host.fixture.state()).current, host.name).toMatchObject({ kind: 'rollback' });
  });
});
