import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { buildAndPushExample, type ExampleRelease } from '../support/images.js';
import { get } from '../support/http.js';
import { HostFixture } from '../support/host.js';
import { deployInputs, servedVersion } from '../support/deploy.js';
import { freePort } from '../support/ports.js';
import { runAction, type ActionRun } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

describe('deploy-staging on the sandbox host', () => {
  let sb: Sandbox;
  let releaseA: ExampleRelease;
  let releaseB: ExampleRelease;
  let neverReady: ExampleRelease;
  let failingMigrator: ExampleRelease;
  const repo = `deploy-test/${process.pid}/hello`;

  beforeAll(() => {
    sb = sandbox();
    releaseA = buildAndPushExample(sb, repo);
    releaseB = buildAndPushExample(sb, repo);
    neverReady = buildAndPushExample(sb, repo, { neverReady: true });
    failingMigrator = buildAndPushExample(sb, repo, { migratorFail: true });
  });

  const fixtures: HostFixture[] = [];
  afterAll(async () => {
    for (const fixture of fixtures) await fixture.destroy();
  });

  async function newHost(name: string, user?: string): Promise<{ fixture: HostFixture; port: number }> {
    const fixture = await HostFixture.create(sb, name, undefined, user);
    fixtures.push(fixture);
    return { fixture, port: await freePort() };
  }

  const deploy = (
    fixture: HostFixture,
    port: number,
    release: ExampleRelease,
    extra: Record<string, string> = {},
    options = {},
  ) => runAction('deploy-staging', { inputs: deployInputs(sb, fixture, port, release, extra), ...options });

  function expectNoSecrets(run: ActionRun) {
    expect(run.masks).toContain(sb.registryPassword);
    expect(run.everything).not.toContain(sb.registryPassword);
    for (const line of sb.sshKey.split('\n').filter((l) => l.length > 20))
      expect(run.everything).not.toContain(line);
  }

  it('deploys a first release, then replaces it with a second one', async () => {
    const { fixture, port } = await newHost('replace');
    const first = await deploy(fixture, port, releaseA);
    expect(first.errors, first.stdout).toEqual([]);
    expect(first.code).toBe(0);
    expect(first.outputs.status).toBe('success');
    expect(first.outputs['previous-release']).toBe('');
    expect(await servedVersion(port)).toBe(releaseA.sha);
    expect((await get(`http://127.0.0.1:${port}/api/ready`)).status).toBe(200);
    expect(first.stdout).toMatch(/migrate: migrator: applying 001-create-greetings\.sql/);

    const second = await deploy(fixture, port, releaseB);
    expect(second.code, second.stdout).toBe(0);
    expect(await servedVersion(port)).toBe(releaseB.sha);
    expect(second.outputs['previous-release']).toBe(first.outputs['release-id']);
    expect(await fixture.runningImages()).toEqual([releaseB.appImage]);

    const state = await fixture.state();
    expect(state.current?.sha).toBe(releaseB.sha);
    expect(state.current?.appImage).toBe(releaseB.appImage);
    expect(state.previous?.sha).toBe(releaseA.sha);
    expect(state.history.map((r) => r.status)).toEqual(['success', 'success']);
    const audit = (await fixture.read('.deployer/audit.log'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(audit.map((entry) => entry.sha)).toEqual([releaseA.sha, releaseB.sha]);
    expect(await fixture.exists('.deployer/lock')).toBe(false);
    expect(await fixture.mode('current/deploy.env')).toBe('600');
    expect(await fixture.mode('current/.env.production')).toBe('600');
    expect(await fixture.mode('.deployer/state.json')).toBe('600');
    expect(await fixture.mode('.deployer/audit.log')).toBe('600');
    expect(await fixture.read('current/deploy.env')).toContain(`APP_IMAGE=${releaseB.appImage}`);
    expect(await fixture.read('current/docker-compose.yml')).toContain('${APP_IMAGE');
    // Each release keeps its own folder for rollback.
    expect((await fixture.list('.deployer/releases')).sort()).toEqual(
      [first.outputs['release-id'], second.outputs['release-id']].sort(),
    );
    expect(second.summary).toContain(releaseB.appImage);
    expectNoSecrets(first);
    expectNoSecrets(second);
    const onHost =
      (await fixture.read('.deployer/state.json')) +
      (await fixture.read('.deployer/audit.log')) +
      (await fixture.read('current/deploy.env'));
    expect(onHost).not.toContain(sb.registryPassword);
  });

  it('keeps only the last keep-releases releases: older folders and images are pruned', async () => {
    const { fixture, port } = await newHost('prune');
    const first = await deploy(fixture, port, releaseA, { 'keep-releases': '1' });
    expect(first.code, first.stdout).toBe(0);
    const second = await deploy(fixture, port, releaseB, { 'keep-releases': '1' });
    expect(second.code, second.stdout).toBe(0);
    expect(await fixture.list('.deployer/releases')).toEqual([second.outputs['release-id']]);
    const inspect = (image: string) =>
      fixture.ssh.run(['docker', 'image', 'inspect', image], { check: false }).then((r) => r.code);
    expect(await inspect(releaseA.appImage)).not.toBe(0);
    expect(await inspect(releaseA.migratorImage)).not.toBe(0);
    expect(await inspect(releaseB.appImage)).toBe(0);
    expect(await servedVersion(port)).toBe(releaseB.sha);
  });

  it('refuses an empty or cut-short state.json instead of starting a fresh history, and gives the lock back', async () => {
    const { fixture, port } = await newHost('truncated-state');
    expect((await deploy(fixture, port, releaseA)).code).toBe(0);
    for (const broken of ['', '{"version": 1, "environment": "stag']) {
      await fixture.write('.deployer/state.json', broken);
      const run = await deploy(fixture, port, releaseB);
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(/state\.json is (empty|not valid JSON)/);
      expect(await fixture.read('.deployer/state.json')).toBe(broken);
      expect(await fixture.exists('.deployer/lock')).toBe(false);
      expect(await servedVersion(port)).toBe(releaseA.sha);
    }
  });

  it('keeps the old release serving when the migrator fails', async () => {
    const { fixture, port } = await newHost('migrator');
    expect((await deploy(fixture, port, releaseA)).code).toBe(0);
    const failed = await deploy(fixture, port, failingMigrator);
    expect(failed.code).toBe(1);
    expect(failed.errors.join('\n')).toMatch(/migrator failed/i);
    expect(failed.stdout).toContain('failing on purpose');
    expect(await servedVersion(port)).toBe(releaseA.sha);
    expect(await fixture.runningImages()).toEqual([releaseA.appImage]);
    const state = await fixture.state();
    expect(state.current?.sha).toBe(releaseA.sha);
    expect(state.history[0]).toMatchObject({ sha: failingMigrator.sha, status: 'failed', migrated: false });
    expect(await fixture.read('current/deploy.env')).toContain(releaseA.appImage);
    expect(await fixture.exists('.deployer/lock')).toBe(false);
  });

  it('rolls back by itself when the new release is not ready', async () => {
    const { fixture, port } = await newHost('rollback');
    const good = await deploy(fixture, port, releaseA);
    expect(good.code).toBe(0);
    const bad = await deploy(fixture, port, neverReady, { 'ready-timeout': '4s' });
    expect(bad.code).toBe(1);
    expect(bad.errors.join('\n')).toMatch(/rolled back/);
    expect(bad.outputs.status).toBe('rolled_back');
    expect(await servedVersion(port)).toBe(releaseA.sha);
    expect((await get(`http://127.0.0.1:${port}/api/ready`)).status).toBe(200);
    expect(await fixture.runningImages()).toEqual([releaseA.appImage]);
    const state = await fixture.state();
    expect(state.current?.id).toBe(good.outputs['release-id']);
    expect(state.history[0]).toMatchObject({ sha: neverReady.sha, status: 'rolled_back' });
    expect(state.history[0]?.reason).toMatch(/previous release answers ready again/);
    expect(state.history[0]?.logTail).toContain('listening on port 8080');
  });

  it('leaves nothing running when a first deploy is not ready', async () => {
    const { fixture, port } = await newHost('first-fail');
    const bad = await deploy(fixture, port, neverReady, { 'ready-timeout': '3s' });
    expect(bad.code).toBe(1);
    expect(bad.outputs.status).toBe('failed');
    expect(bad.errors.join('\n')).toMatch(/first deploy/);
    expect(await fixture.runningImages()).toEqual([]);
    expect(await fixture.exists('current')).toBe(false);
    expect((await fixture.state()).current).toBeUndefined();
  });

  it('serializes two deploys started together and keeps the history consistent', async () => {
    const { fixture, port } = await newHost('concurrent');
    const [one, two] = await Promise.all([deploy(fixture, port, releaseA), deploy(fixture, port, releaseB)]);
    expect(one.code, one.stdout).toBe(0);
    expect(two.code, two.stdout).toBe(0);
    const waited = [one, two].filter((run) => run.stdout.includes('waiting for the deploy lock'));
    expect(waited).toHaveLength(1);
    const state = await fixture.state();
    expect(state.history).toHaveLength(2);
    const [last, firstDone] = state.history;
    expect(state.current?.id).toBe(last?.id);
    expect(state.previous?.id).toBe(firstDone?.id);
    expect(Date.parse(firstDone!.finishedAt)).toBeLessThanOrEqual(Date.parse(last!.finishedAt));
    expect(await servedVersion(port)).toBe(last?.sha);
  });

  it('releases the lock and records a cancelled deploy on SIGTERM', async () => {
    const { fixture, port } = await newHost('sigterm');
    expect((await deploy(fixture, port, releaseA)).code).toBe(0);
    const run = await deploy(
      fixture,
      port,
      neverReady,
      { 'ready-timeout': '60s' },
      {
        onSpawn: (child: import('node:child_process').ChildProcess) => {
          let seen = '';
          child.stdout?.on('data', (chunk: Buffer) => {
            seen += chunk.toString();
            if (seen.includes('ready: started')) {
              seen = '';
              child.kill('SIGTERM');
            }
          });
        },
      },
    );
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/cancelled/);
    expect(await fixture.exists('.deployer/lock')).toBe(false);
    const state = await fixture.state();
    expect(state.history[0]).toMatchObject({ sha: neverReady.sha, status: 'cancelled' });
    expect(state.current?.sha).toBe(releaseA.sha);
    expect(await servedVersion(port)).toBe(releaseA.sha);
  });

  it('takes over an expired lock with a warning naming its owner, and waits for a live one', async () => {
    const { fixture, port } = await newHost('stale-lock');
    const expired = Math.floor(Date.now() / 1000) - 60;
    await fixture.write(
      '.deployer/lock',
      `${expired}\n{"runId":"999","actor":"ghost","sha":"deadbeef","environment":"staging","startedAt":"2026-01-01T00:00:00Z"}\n`,
    );
    const run = await deploy(fixture, port, releaseA);
    expect(run.code, run.stdout).toBe(0);
    expect(run.warnings.join('\n')).toMatch(/took over an expired deploy lock held by run 999 by ghost/);

    const live = Math.floor(Date.now() / 1000) + 600;
    await fixture.write(
      '.deployer/lock',
      `${live}\n{"runId":"1000","actor":"someone","sha":"cafe","environment":"staging","startedAt":"2026-01-01T00:00:00Z"}\n`,
    );
    const blocked = await deploy(fixture, port, releaseB, { 'lock-timeout': '1s' });
    expect(blocked.code).toBe(1);
    expect(blocked.errors.join('\n')).toMatch(/holds the lock.*run 1000 by someone/);
    expect(await servedVersion(port)).toBe(releaseA.sha);
    expect(await fixture.exists('.deployer/lock')).toBe(true);
  });

  it('refuses a host whose key does not match, before authenticating', async () => {
    const { fixture, port } = await newHost('fingerprint');
    const run = await deploy(fixture, port, releaseA, {
      'host-fingerprint': 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /Refusing to connect: the host key of 127\.0\.0\.1:2222 is SHA256:.* not the expected SHA256:AAAA/,
    );
    expect(await fixture.exists('.deployer')).toBe(false);

    const missing = await deploy(fixture, port, releaseA, { 'host-fingerprint': '' });
    expect(missing.errors.join('\n')).toMatch(/Invalid input "host-fingerprint": is required/);
  });

  it('deploys, replaces and rolls back on a host whose docker-compose is Compose v1', async () => {
    const { fixture, port } = await newHost('compose-v1', sb.sshUserComposeV1);
    const v1 = { user: sb.sshUserComposeV1, 'compose-command': 'docker-compose' };
    const first = await deploy(fixture, port, releaseA, v1);
    expect(first.code, first.stdout).toBe(0);
    expect(first.stdout).toContain('using docker-compose (v1)');
    const bad = await deploy(fixture, port, neverReady, { ...v1, 'ready-timeout': '3s' });
    expect(bad.outputs.status).toBe('rolled_back');
    expect(await servedVersion(port)).toBe(releaseA.sha);
    const second = await deploy(fixture, port, releaseB, v1);
    expect(second.code, second.stdout).toBe(0);
    expect(await servedVersion(port)).toBe(releaseB.sha);
    expect(await fixture.runningImages()).toEqual([releaseB.appImage]);
    expect((await fixture.state()).history.map((r) => r.status)).toEqual([
      'success',
      'rolled_back',
      'success',
    ]);
  });

  it('deploys through a jump host, verifying both host keys', async () => {
    const { fixture, port } = await newHost('jump');
    // The sandbox sshd is its own bastion: the target connection is tunnelled through a first one.
    const jump = {
      'jump-host': sb.sshHost,
      'jump-port': String(sb.sshPort),
      'jump-host-fingerprint': sb.hostFingerprint,
    };
    const run = await deploy(fixture, port, releaseA, jump);
    expect(run.code, run.stdout).toBe(0);
    expect(await servedVersion(port)).toBe(releaseA.sha);

    const wrongJump = await deploy(fixture, port, releaseB, {
      ...jump,
      'jump-host-fingerprint': 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    expect(wrongJump.code).toBe(1);
    expect(wrongJump.errors.join('\n')).toMatch(/Refusing to connect/);
    expect(await servedVersion(port)).toBe(releaseA.sha);
  });

  it('refuses mutable tags unless allowed', async () => {
    const { fixture, port } = await newHost('tags');
    const run = await deploy(fixture, port, {
      ...releaseA,
      appImage: `${sb.registry}/${repo}:sha-${releaseA.sha}`,
    });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/Invalid input "app-image": must be pinned by digest/);
  });

  it('deploys with the standalone docker-compose command, logs JSON events and signs notifications', async () => {
    const { fixture, port } = await newHost('compose-json');
    const received: Array<{ body: string; signature?: string }> = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push({ body, signature: request.headers['x-deployer-signature-256'] as string | undefined });
        response.end('ok');
      });
    });
    const notifyPort = await freePort();
    await new Promise<void>((resolve) => server.listen(notifyPort, '127.0.0.1', resolve));
    try {
      const run = await deploy(fixture, port, releaseA, {
        'compose-command': 'docker-compose',
        'log-format': 'json',
        'notify-url': `http://127.0.0.1:${notifyPort}/hook`,
        'notify-secret': 'hook-secret-123',
        // Readiness from the runner, not through SSH.
        'ready-url': `http://127.0.0.1:${port}/api/ready`,
      });
      expect(run.code, run.stdout).toBe(0);
      expect(run.stdout).toContain('using docker-compose');
      expect(run.outputs.url).toBe(`http://127.0.0.1:${port}`);
      const events = run.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
      expect(events.length).toBeGreaterThan(5);
      for (const event of events) {
        expect(event).toMatchObject({ environment: 'staging', sha: releaseA.sha, host: '127.0.0.1:2222' });
        expect(event.release).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{7}$/);
      }
      expect(received).toHaveLength(1);
      const expected = `sha256=${createHmac('sha256', 'hook-secret-123').update(received[0]!.body).digest('hex')}`;
      expect(received[0]!.signature).toBe(expected);
      expect(JSON.parse(received[0]!.body)).toMatchObject({
        event: 'deploy',
        status: 'success',
        release: { sha: releaseA.sha },
      });
      expect(run.everything).not.toContain('hook-secret-123');
    } finally {
      server.close();
    }
  });

  it('rejects or safely quotes shell metacharacters in every string input', async () => {
    const { fixture, port } = await newHost('fuzz');
    const marker = `/tmp/deployer-pwned-${process.pid}`;
    const payloads = [
      `x$(touch ${marker})`,
      `x;touch ${marker}`,
      `x\`touch ${marker}\``,
      `x' && touch ${marker} #`,
      `x\ntouch ${marker}`,
    ];
    const fields = [
      'deploy-path',
      'compose-file',
      'env-file',
      'app-service',
      'migrator-service',
      'accessories',
      'project-name',
      'app-image',
      'migrator-image',
      'environment',
      'sha',
      'registry',
      'registry-username',
      'ready-path',
      'ready-host',
      'deploy-env',
      'user',
      'host',
      'lock-timeout',
      'compose-command',
      'ready-expected-status',
      'ready-expect-body',
    ];
    for (const field of fields) {
      for (const payload of payloads) {
        const value =
          field === 'deploy-env'
            ? `EXTRA=${payload}`
            : field === 'deploy-path'
              ? `${fixture.deployPath}/${payload}`
              : payload;
        const run = await deploy(fixture, port, releaseA, { [field]: value, 'ready-timeout': '2s' });
        expect(existsSync(marker), `${field} = ${JSON.stringify(value)}`).toBe(false);
        if (run.code !== 0)
          expect(run.errors.join('\n'), `${field}: ${run.stdout}`).toMatch(
            /Invalid input|failed|not ready|rolled back|denied|error/i,
          );
      }
    }
    rmSync(marker, { force: true });
  }, 600_000);
});
