// The deploy flow (deploy/deploy.ts) against a scripted fake host: no Docker, no SSH. The host
// scripts run for real on a temp dir; Docker is a model (test/support/fake-executor.ts).
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeployFailedError } from '../../actions/engine/deploy/deploy.js';
import { CancelledError } from '../../actions/engine/deploy/cancelled.js';
import { ConnectionLostError } from '../../actions/engine/exec/ssh.js';
import { LockTimeoutError } from '../../actions/engine/state/lock.js';
import type { ReleaseRecord } from '../../actions/engine/state/release.js';
import { FakeHost, type RecordedCommand } from '../support/fake-executor.js';
import {
  DeployFixture,
  PROJECT,
  READINESS,
  release,
  TestLog,
  type DeployResult,
} from '../support/fake-deploy.js';

const A = release('a');
const B = release('b');
const C = release('c');

let fixture: DeployFixture;
beforeEach(async () => {
  fixture = await DeployFixture.create();
});
afterEach(async () => {
  await fixture.host.dispose();
});

// A host that A was deployed to for real, once; tests that start from there get a copy of it.
let runsA: DeployFixture;
let recordOfA: ReleaseRecord;
beforeAll(async () => {
  runsA = await DeployFixture.create();
  recordOfA = (await runsA.deployed(A)).release;
});
afterAll(async () => {
  await runsA.host.dispose();
});

/** From here on this test's environment runs A, deployed (and recorded) by a deploy of its own. */
async function runningA(): Promise<ReleaseRecord> {
  await fixture.host.dispose();
  fixture = await runsA.copy();
  return recordOfA;
}

const other = {
  token: 'other-token',
  environment: 'staging',
  sha: 'c0ffee0000000000000000000000000000000000',
  actor: 'bob',
  runId: '41',
  startedAt: '2026-01-01T00:00:00.000Z',
};

/** The commands of one deploy, from the `from`th command the host received. */
function sent(from: number, label: string): RecordedCommand[] {
  return fixture.host.filter(label, from);
}

function recordOf(result: DeployResult) {
  expect(result.recorded, result.error?.message).toBeDefined();
  return result.recorded!.release;
}

function expectUnlocked() {
  expect(fixture.lock()).toBeUndefined();
}

describe('a deploy that goes well', () => {
  it('first deploy: migrates, then switches, answers ready, stays up, records success, moves current, unlocks', async () => {
    const result = await fixture.deploy(A);

    expect(result.error).toBeUndefined();
    const record = recordOf(result);
    expect(record).toMatchObject({
      status: 'success',
      sha: A.sha,
      appImage: A.appImage,
      migratorImage: A.migratorImage,
      migration: 'succeeded',
      migrated: true,
      projectName: PROJECT,
      host: 'deploy@fake-host:22',
      actor: 'alice',
    });
    expect(record.previousReleaseId).toBeUndefined();
    const state = fixture.state();
    expect(state.current?.id).toBe(record.id);
    expect(state.history.map((r) => [r.id, r.status])).toEqual([[record.id, 'success']]);
    expect(fixture.currentRelease()).toBe(record.id);
    expect(fixture.host.read(`${fixture.deployPath}/current/deploy.env`)).toContain(
      `APP_IMAGE=${A.appImage}`,
    );
    expect(fixture.host.read(`${fixture.deployPath}/current/.env.staging`)).toBe('GREETING=hello\n');
    expectUnlocked();
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.host.oneoffs(PROJECT)).toEqual([]);

    // Order: lock, pull, the migrator to its end, then the switch, then the record.
    const [begin] = sent(0, 'begin');
    const [pull] = sent(0, 'compose pull');
    const [migrator] = sent(0, 'compose run');
    const [wait] = sent(0, 'docker wait');
    const [up] = sent(0, 'compose up');
    const [recordCommand] = sent(0, 'record');
    expect(begin!.seq).toBeLessThan(pull!.seq);
    expect(pull!.endSeq).toBeLessThan(migrator!.seq);
    expect(wait!.endSeq).toBeLessThan(up!.seq);
    expect(up!.endSeq).toBeLessThan(recordCommand!.seq);
    // Every change to the host is fenced on the lock.
    expect([pull!.label, migrator!.label, up!.label]).toEqual([
      'fenced: compose pull',
      'start-migrator: compose run',
      'fenced: compose up',
    ]);
    expect(result.outcome!.steps.map((s) => s.step)).toEqual([
      'lock',
      'pull',
      'migrate',
      'switch',
      'ready',
      'stable',
      'commit',
    ]);
    expect(result.log.lines).toContain('[staging] migrate: migrations applied');
    expect(result.log.text).toContain(`done: release ${record.id} is live`);
    const audit = fixture.host.read(`${fixture.deployPath}/.deployer/audit.log`)!.trim().split('\n');
    expect(audit.map((line) => (JSON.parse(line) as { status: string }).status)).toEqual(['success']);
  });

  it('a second deploy replaces the app and keeps the first as previous', async () => {
    const first = await runningA();
    const result = await fixture.deploy(B);

    const record = recordOf(result);
    expect(record.status).toBe('success');
    expect(record.previousReleaseId).toBe(first.id);
    expect(result.outcome!.previous?.id).toBe(first.id);
    expect(fixture.state().previous?.id).toBe(first.id);
    expect(fixture.state().current?.id).toBe(record.id);
    expect(fixture.currentRelease()).toBe(record.id);
    expect(fixture.runningImages()).toEqual([B.appImage]);
    expect(fixture.releaseDirs()).toEqual([first.id, record.id].sort());
    expectUnlocked();
  });

  it('pinned images already on the host are not pulled again', async () => {
    fixture.host.setImage(A.appImage);
    fixture.host.setImage(A.migratorImage);
    const result = await fixture.deploy(A);

    expect(recordOf(result).status).toBe('success');
    expect(sent(0, 'compose pull')).toEqual([]);
    expect(result.log.text).toContain('both pinned images are already on the host; no registry round trip');
  });
});

describe('the ways to the host', () => {
  it('with standalone Compose v1, the old app container is removed before the new one is created', async () => {
    await fixture.host.dispose();
    fixture = await DeployFixture.create(
      new FakeHost({ composeVersion: '', composeStandaloneVersion: '1.29.2' }),
    );
    await fixture.deployed(A);
    const from = fixture.host.commands.length;
    const result = await fixture.deploy(B);

    expect(recordOf(result)).toMatchObject({ status: 'success' });
    expect(result.outcome!.composeFlavor).toEqual({ command: 'docker-compose', major: 1 });
    expect(result.log.text).toContain('detect-compose: using docker-compose (v1)');
    const switched = fixture.host.filter(/^fenced: compose (rm|up)$/, from);
    expect(switched.map((c) => [c.label, c.inner![0]])).toEqual([
      ['fenced: compose rm', 'docker-compose'],
      ['fenced: compose up', 'docker-compose'],
    ]);
    expect(fixture.runningImages()).toEqual([B.appImage]);
  });

  it('a registry login serves the pull only: the password goes by stdin and its config is removed', async () => {
    const registry = { server: 'registry.test', username: 'deployer', password: 's3cret-token' };
    const result = await fixture.deploy(A, { overrides: { registry } });

    expect(recordOf(result).status).toBe('success');
    const [pull] = sent(0, 'compose pull');
    expect(pull!.label).toBe('registry-login: compose pull');
    expect(fixture.host.commands.flatMap((c) => c.argv).join(' ')).not.toContain('s3cret-token');
    expect(
      readdirSync(`${fixture.deployPath}/.deployer`).filter((name) => name.startsWith('login.')),
    ).toEqual([]);
  });
});

describe('a release that fails', () => {
  it('migrator failure: the app is untouched, nothing is switched, the attempt is recorded failed', async () => {
    const first = await runningA();
    fixture.host.migrator = { exitCode: 3, logs: 'ERROR: relation "users" already exists\n' };
    const from = fixture.host.commands.length;
    const result = await fixture.deploy(B);

    expect(result.error).toBeInstanceOf(DeployFailedError);
    expect(result.error!.message).toMatch(
      /^The migrator failed, so release \S+ was not started; the running app is untouched\.\nthe migrator exited with code 3:\nERROR: relation "users" already exists/,
    );
    expect(recordOf(result)).toMatchObject({ status: 'failed', migration: 'failed', migrated: false });
    expect(recordOf(result).reason).toMatch(/the running app was not touched/);
    expect(sent(from, 'compose up')).toEqual([]);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.state().current?.id).toBe(first.id);
    expect(fixture.state().history.map((r) => r.status)).toEqual(['failed', 'success']);
    expect(fixture.currentRelease()).toBe(first.id);
    expect(fixture.host.oneoffs(PROJECT)).toEqual([]);
    expectUnlocked();
  });

  it('not ready: the previous release is restarted, answers ready, and the attempt is rolled_back', async () => {
    const first = await runningA();
    fixture.host.app(B.appImage, { ready: false, logs: 'boot: waiting for the database\n' });
    const from = fixture.host.commands.length;
    const result = await fixture.deploy(B);

    expect(result.error).toBeInstanceOf(DeployFailedError);
    expect(result.error!.message).toMatch(new RegExp(`was rolled back to ${first.id}: `));
    const record = recordOf(result);
    expect(record.status).toBe('rolled_back');
    expect(record.reason).toMatch(/^not ready within 400 ms \(\d+ attempts; the last: /);
    expect(result.recorded!.readiness).toMatchObject({ ready: false, lastStatus: 503 });
    expect(record.reason).toContain(`the previous release answers ready again (${first.id})`);
    expect(record.logTail).toContain('boot: waiting for the database');
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.state().current?.id).toBe(first.id);
    expect(fixture.currentRelease()).toBe(first.id);
    // The new release, then the previous one from its own folder.
    expect(sent(from, 'compose up').map((c) => c.inner![c.inner!.indexOf('--file') + 1])).toEqual([
      `${fixture.deployPath}/.deployer/releases/${record.id}/docker-compose.yml`,
      `${fixture.deployPath}/.deployer/releases/${first.id}/docker-compose.yml`,
    ]);
    expect(result.log.lines).toContain(`warning: [staging] rollback: restoring ${first.id}`);
    expectUnlocked();
  });

  it('first deploy not ready: the new app is removed and the attempt is recorded failed', async () => {
    fixture.host.app(A.appImage, { ready: false });
    const result = await fixture.deploy(A);

    expect(result.error!.message).toMatch(
      /was not ready: .*This was the first deploy here, so the new app was stopped and removed\.$/s,
    );
    const record = recordOf(result);
    expect(record.status).toBe('failed');
    expect(record.reason).toMatch(/first deploy here: the new app was stopped and removed/);
    expect(fixture.host.service(PROJECT, 'app')).toEqual([]);
    expect(sent(0, 'compose rm').map((c) => c.label)).toEqual(['fenced: compose rm']);
    expect(fixture.state().current).toBeUndefined();
    expect(fixture.state().history.map((r) => r.status)).toEqual(['failed']);
    expect(fixture.currentRelease()).toBeUndefined();
    expectUnlocked();
  });

  it('an app that restarts within ready-stable-for is rolled back', async () => {
    const first = await runningA();
    const log = new TestLog();
    // Once the stability watch has seen the new container once, it crashes and Docker restarts it.
    log.on('stable: started', () =>
      fixture.host.on('docker inspect', () => fixture.host.service(PROJECT, 'app')[0]!.restart(), {
        phase: 'end',
      }),
    );
    const result = await fixture.deploy(B, { log });

    const record = recordOf(result);
    expect(record.status).toBe('rolled_back');
    expect(record.reason).toMatch(/the app container restarted \(restart count 0 → 1\) within/);
    expect(record.reason).toMatch(/previous release answers ready again/);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.state().current?.id).toBe(first.id);
    expectUnlocked();
  });

  it('an image missing from the registry fails the pull with that reason and touches nothing', async () => {
    await runningA();
    fixture.host.missingFromRegistry.add(B.appImage);
    const result = await fixture.deploy(B);

    expect(result.error!.message).toMatch(/pull failed: the image is not in the registry: manifest for/);
    expect(recordOf(result)).toMatchObject({ status: 'failed', migration: 'not-run' });
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expectUnlocked();
  });
});

describe('the app container, watched through docker events', () => {
  /** How long the deploy's step took. */
  function stepMs(result: DeployResult, step: string): number {
    return result.recorded!.steps.find((s) => s.step === step)!.ms;
  }

  const app = () => fixture.host.service(PROJECT, 'app')[0]!;
  const longReadiness = { readiness: { settings: { ...READINESS, timeoutMs: 10_000 } } };

  it('an app that exits while readiness is checked ends the wait at once, naming the exit code', async () => {
    const first = await runningA();
    fixture.host.app(B.appImage, { ready: false });
    fixture.host.on('docker events', () => app().exit(3));
    const result = await fixture.deploy(B, { overrides: longReadiness });

    const record = recordOf(result);
    expect(record.status).toBe('rolled_back');
    expect(record.reason).toMatch(
      /^the app container exited \(exit code 3\); the previous release answers ready again/,
    );
    expect(stepMs(result, 'ready')).toBeLessThan(5_000);
    expect(fixture.state().current?.id).toBe(first.id);
  });

  it('an app in a crash loop, or crashed and restarted already, ends the wait too', async () => {
    await runningA();
    fixture.host.app(B.appImage, { ready: false });
    fixture.host.on('docker events', () => app().crash(2));
    const looping = await fixture.deploy(B, { overrides: longReadiness });
    expect(recordOf(looping).reason).toMatch(/^the app container is restarting \(exit code 2\);/);

    await runningA();
    fixture.host.app(B.appImage, { ready: false });
    // Back up before any poll could have seen it down: the event says so all the same.
    fixture.host.on('docker events', () => app().restart(4));
    const restarted = await fixture.deploy(B, { overrides: longReadiness });
    expect(recordOf(restarted).reason).toMatch(/^the app container restarted \(restart count 0 → 1\);/);
    expect(stepMs(restarted, 'ready')).toBeLessThan(5_000);
  });

  it('a lost connection ends the readiness wait, and the deploy reconnects to roll back', async () => {
    await runningA();
    fixture.host.app(B.appImage, { ready: false });
    fixture.host.on('docker events', (command) => fixture.host.connectionOf(command)!.drop());
    const result = await fixture.deploy(B, { overrides: longReadiness });

    const record = recordOf(result);
    expect(record.status).toBe('rolled_back');
    expect(record.reason).toMatch(/^the SSH connection was lost; the previous release answers ready again/);
    expect(stepMs(result, 'ready')).toBeLessThan(5_000);
    expect(result.log.text).toContain('reconnected (attempt 1)');
  });

  it('an app that exits or turns unhealthy within ready-stable-for is rolled back without waiting the window out', async () => {
    for (const [act, reason] of [
      [
        () => app().exit(1),
        /^the app container is exited \(exit code 1\) within 10 s of its first ready answer;/,
      ],
      [
        () => app().unhealthy(),
        /^the app container is unhealthy \(its Docker health check fails\) within 10 s/,
      ],
    ] as const) {
      await runningA();
      const log = new TestLog();
      log.on('stable: started', () => fixture.host.on('docker events', act));
      const result = await fixture.deploy(B, { log, overrides: { policy: { readyStableForMs: 10_000 } } });

      expect(recordOf(result).status).toBe('rolled_back');
      expect(recordOf(result).reason).toMatch(reason);
      expect(stepMs(result, 'stable')).toBeLessThan(5_000);
      expect(fixture.runningImages()).toEqual([A.appImage]);
    }
  });

  it('says so when docker events cannot be followed, and lets the state at the end of the window decide', async () => {
    await runningA();
    const log = new TestLog();
    log.on('stable: started', () =>
      fixture.host.inject('docker events', {
        kind: 'fail',
        code: 1,
        stderr: 'Error response from daemon: no\n',
      }),
    );
    // A window long enough for the failed `docker events` to come back within it on a busy machine
    // (with the default 50 ms it once ended first, and a failure after the window is not reported).
    const result = await fixture.deploy(B, { log, overrides: { policy: { readyStableForMs: 1_000 } } });

    expect(recordOf(result).status, result.error?.message).toBe('success');
    expect(result.log.text).toMatch(
      /stable: the app container's events could not be followed \(`docker events` failed with exit code 1: Error response from daemon: no\); its state at the end of the window decides/,
    );
    expect(fixture.runningImages()).toEqual([B.appImage]);
  });

  it('ready and stable cost the same few commands however long they take: no polling', async () => {
    const counts: Array<Record<string, number>> = [];
    for (const [stableMs, attempts] of [
      [100, 1],
      [1_500, 40],
    ] as const) {
      await runningA();
      // Not ready until the watch is on the host, then for `attempts` more answers (20 ms apart).
      fixture.host.app(B.appImage, { ready: false });
      let watched = false;
      let asked = 0;
      fixture.host.on('docker events', () => (watched = true));
      fixture.host.onAppRequest = ({ container }) => {
        if (container?.image === B.appImage && watched && ++asked >= attempts)
          fixture.host.app(B.appImage, {});
      };
      const from = fixture.host.commands.length;
      const result = await fixture.deploy(B, {
        overrides: { ...longReadiness, policy: { readyStableForMs: stableMs } },
      });

      expect(recordOf(result).status, result.error?.message).toBe('success');
      const watch = fixture.host.filter(/^docker (ps|inspect)$|docker events$/, from);
      const count: Record<string, number> = {};
      for (const command of watch) count[command.label] = (count[command.label] ?? 0) + 1;
      counts.push(count);
      // Both streams start at the container's own start, in the daemon's time.
      expect(sent(from, 'docker events').map((c) => c.argv[4])).toEqual([app().startedAt, app().startedAt]);
    }
    // Readiness: ps + inspect + events; stability: ps + inspect + events + the final inspect.
    const expected = { 'docker ps': 2, 'docker inspect': 3, 'event-window: docker events': 2 };
    expect(counts).toEqual([expected, expected]);
  });
});

describe('cancellation', () => {
  it('while waiting for the lock: nothing is locked, written or recorded', async () => {
    const held = fixture.host.holdLock(fixture.deployPath, other, 600);
    const cancel = new AbortController();
    const log = new TestLog();
    log.on('waiting for the deploy lock held by run 41 by bob', () => cancel.abort());
    const result = await fixture.deploy(A, { log, signal: cancel.signal });

    expect(result.error).toBeInstanceOf(CancelledError);
    expect(result.recorded).toBeUndefined();
    expect(fixture.host.read(`${fixture.deployPath}/.deployer/lock`)).toBe(held);
    expect(fixture.host.read(`${fixture.deployPath}/.deployer/state.json`)).toBeUndefined();
    expect(fixture.releaseDirs()).toEqual([]);
    expect(fixture.host.service(PROJECT, 'app')).toEqual([]);
  });

  it('during the pull: recorded cancelled, the running app untouched, unlocked', async () => {
    const first = await runningA();
    const cancel = new AbortController();
    fixture.host.inject('compose pull', { kind: 'hang' });
    fixture.host.on('compose pull', () => cancel.abort());
    const result = await fixture.deploy(B, { signal: cancel.signal });

    expect(result.error!.message).toMatch(
      /was cancelled: the run was cancelled; the running app was not touched\.$/,
    );
    expect(recordOf(result)).toMatchObject({ status: 'cancelled', migration: 'not-run' });
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.state().current?.id).toBe(first.id);
    expect(fixture.state().history.map((r) => r.status)).toEqual(['cancelled', 'success']);
    expectUnlocked();
  });

  it('during the migration: the migrator is left running and recorded so; the next deploy waits for it', async () => {
    await runningA();
    let finish!: () => void;
    fixture.host.migrator = {
      exitCode: 0,
      logs: 'migrating…\n',
      until: new Promise<void>((resolve) => (finish = resolve)),
    };
    const cancel = new AbortController();
    fixture.host.on('docker wait', () => cancel.abort());
    const result = await fixture.deploy(B, { signal: cancel.signal });

    const record = recordOf(result);
    expect(record).toMatchObject({ status: 'cancelled', migration: 'running', migrated: false });
    expect(record.reason).toMatch(
      /the migration is still running in container hello-staging-migrator-\S+; the next deploy waits for it before migrating/,
    );
    const [migrator] = fixture.host.oneoffs(PROJECT);
    expect(migrator).toMatchObject({ name: record.migratorContainer, status: 'running' });
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expectUnlocked();

    // The next deploy finds it still running, waits for its end, then migrates its own release.
    fixture.host.migrator = { exitCode: 0, logs: 'migrations applied\n' };
    const log = new TestLog();
    log.on('a migrator of this environment is still running', () => finish());
    const next = await fixture.deploy(C, { log });
    expect(recordOf(next).status).toBe('success');
    expect(log.text).toContain(`the earlier migration ${record.migratorContainer} ended with exit code 0`);
    expect(fixture.host.oneoffs(PROJECT)).toEqual([]);
    expect(fixture.runningImages()).toEqual([C.appImage]);
  });

  it('during the switch: the switch ends, the previous release is restored, recorded cancelled', async () => {
    const first = await runningA();
    const cancel = new AbortController();
    const from = fixture.host.commands.length;
    fixture.host.on('compose up', () => cancel.abort());
    const result = await fixture.deploy(B, { signal: cancel.signal });

    const record = recordOf(result);
    expect(record.status).toBe('cancelled');
    expect(record.reason).toMatch(/the run was cancelled; the previous release answers ready again/);
    expect(sent(from, 'compose up')).toHaveLength(2);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.state().current?.id).toBe(first.id);
    expect(fixture.currentRelease()).toBe(first.id);
    expectUnlocked();
  });

  it('while readiness is checked: the previous release is restored, recorded cancelled', async () => {
    await runningA();
    const cancel = new AbortController();
    fixture.host.app(B.appImage, { ready: false });
    fixture.host.onAppRequest = ({ container }) => {
      if (container?.image === B.appImage) cancel.abort();
    };
    const result = await fixture.deploy(B, { signal: cancel.signal });

    expect(recordOf(result).status).toBe('cancelled');
    expect(recordOf(result).reason).toMatch(/previous release answers ready again/);
    expect(result.outcome).toBeUndefined();
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expectUnlocked();
  });

  it('while the stability is watched: the previous release is restored, recorded cancelled', async () => {
    await runningA();
    const cancel = new AbortController();
    const log = new TestLog();
    log.on('stable: started', () => fixture.host.on('docker inspect', () => cancel.abort()));
    const result = await fixture.deploy(B, { log, signal: cancel.signal });

    expect(recordOf(result).status).toBe('cancelled');
    expect(result.outcome).toBeUndefined();
    expect(result.recorded!.steps.map((s) => s.step)).toContain('stable');
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.state().history.map((r) => r.status)).toEqual(['cancelled', 'success']);
    expectUnlocked();
  });
});

describe('the deploy lock', () => {
  it('held by another deploy that has not expired: waits, then fails naming the holder; nothing changes', async () => {
    const held = fixture.host.holdLock(fixture.deployPath, other, 600);
    const result = await fixture.deploy(A);

    expect(result.error).toBeInstanceOf(LockTimeoutError);
    expect(result.error!.message).toMatch(
      /^Another deploy holds the lock and did not release it within \d+ s: run 41 by bob \(sha c0ffee000000, staging, started 2026-01-01T00:00:00.000Z\), expires /,
    );
    expect(result.log.text).toContain('waiting for the deploy lock held by run 41 by bob');
    expect(sent(0, 'begin').length).toBeGreaterThanOrEqual(2);
    expect(fixture.host.read(`${fixture.deployPath}/.deployer/lock`)).toBe(held);
    expect(fixture.host.read(`${fixture.deployPath}/.deployer/state.json`)).toBeUndefined();
    expect(fixture.releaseDirs()).toEqual([]);
    expect(sent(0, 'compose pull')).toEqual([]);
  });

  it('a lock released while waiting is taken, and the deploy goes on', async () => {
    fixture.host.holdLock(fixture.deployPath, other, 600);
    const log = new TestLog();
    log.on('waiting for the deploy lock held by run 41 by bob', () =>
      rmSync(`${fixture.deployPath}/.deployer/lock`),
    );
    const result = await fixture.deploy(A, { log });

    expect(recordOf(result).status).toBe('success');
    expect(
      sent(0, 'begin').map((c) => c.result!.stdout.split('\n')[0]!.split(' ').slice(0, 2).join(' ')),
    ).toEqual(['lock held', 'lock acquired']);
    expect(log.text).not.toMatch(/took over/);
    expectUnlocked();
  });

  it('an expired lock is taken over, with a warning naming its previous holder', async () => {
    fixture.host.holdLock(fixture.deployPath, other, -5);
    const result = await fixture.deploy(A);

    expect(recordOf(result).status).toBe('success');
    expect(result.log.lines).toContainEqual(
      expect.stringMatching(
        /^warning: \[staging\] lock: took over an expired deploy lock held by run 41 by bob \(sha c0ffee000000/,
      ),
    );
    expectUnlocked();
  });

  it('taken by another deploy before a change: the deploy stops at once, neither undoing nor recording', async () => {
    await runningA();
    const from = fixture.host.commands.length;
    let thief = '';
    fixture.host.on('compose pull', () => {
      thief = fixture.host.holdLock(fixture.deployPath, other, 600);
    });
    const result = await fixture.deploy(B);

    expect(result.error).not.toBeInstanceOf(DeployFailedError);
    expect(result.error!.message).toMatch(
      /^Deploy of \S+ stopped: the deploy lock \S+ is no longer held by this deploy\. Another deploy owns the environment now, so this one neither undid nor recorded anything\.$/,
    );
    expect(fixture.host.read(`${fixture.deployPath}/.deployer/lock`)).toBe(thief);
    expect(fixture.state().history).toHaveLength(1);
    expect(sent(from, 'compose up')).toEqual([]);
    expect(sent(from, 'record')).toEqual([]);
    expect(fixture.runningImages()).toEqual([A.appImage]);
  });

  it('taken over while a long migration runs: the lease renewal notices and the deploy stops', async () => {
    await runningA();
    let finish!: () => void;
    fixture.host.migrator = {
      exitCode: 0,
      logs: 'migrating…\n',
      until: new Promise<void>((resolve) => (finish = resolve)),
    };
    let thief = '';
    // lock-ttl 3 s: renewed every second.
    fixture.host.on('docker wait', () => {
      thief = fixture.host.holdLock(fixture.deployPath, other, 600);
    });
    const result = await fixture.deploy(B, { overrides: { policy: { lockTtlMs: 3_000 } } });
    finish();

    expect(result.error!.message).toMatch(/taken over by another deploy while this one ran/);
    expect(result.log.text).toMatch(/error: \[staging\] lock: the deploy lock \S+ was taken over/);
    expect(fixture.host.read(`${fixture.deployPath}/.deployer/lock`)).toBe(thief);
    expect(fixture.state().history).toHaveLength(1);
    expect(fixture.runningImages()).toEqual([A.appImage]);
  });

  it('an unreadable state.json is refused before anything changes, and the lock is given back', async () => {
    await runningA();
    const statePath = `${fixture.deployPath}/.deployer/state.json`;
    writeFileSync(statePath, '{"version":1,"environment":"stag');
    const result = await fixture.deploy(B);

    expect(result.error!.message).toMatch(/state\.json is not valid JSON \(truncated\?\)/);
    expect(fixture.host.read(statePath)).toBe('{"version":1,"environment":"stag');
    expect(fixture.releaseDirs()).toHaveLength(1);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expectUnlocked();
  });
});

describe('a lost connection', () => {
  it('during the migration: reconnects, waits for the migrator, records the truth', async () => {
    await runningA();
    const from = fixture.host.commands.length;
    fixture.host.inject('docker wait', { kind: 'lost' });
    const result = await fixture.deploy(B);

    expect(result.error!.message).toMatch(/lost the SSH connection to deploy@fake-host:22 .* during migrate/);
    expect(result.error!.message).not.toMatch(/migrator failed/i);
    expect(result.log.text).toContain('reconnected (attempt 1)');
    const record = recordOf(result);
    expect(record).toMatchObject({ status: 'failed', migration: 'succeeded', migrated: true });
    expect(record.reason).toMatch(/the migrator finished successfully \(migrations applied\)/);
    expect(fixture.host.oneoffs(PROJECT)).toEqual([]);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    const connections = new Set(fixture.host.commands.slice(from).map((c) => c.connection));
    expect(connections.size).toBe(2);
    expect(fixture.host.find('record', from)!.connection).toBe(Math.max(...connections));
    expectUnlocked();
  });

  it('right after the switch ran: reconnects, restores the previous release, rolled_back', async () => {
    const first = await runningA();
    fixture.host.inject('compose up', { kind: 'lost', when: 'after' });
    const result = await fixture.deploy(B);

    const record = recordOf(result);
    expect(record.status).toBe('rolled_back');
    expect(record.reason).toMatch(/lost the SSH connection .* during switch/);
    expect(record.reason).toMatch(/previous release answers ready again/);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.state().current?.id).toBe(first.id);
    expectUnlocked();
  });

  it('after the record landed: the commit stands, one record, no undo', async () => {
    await runningA();
    fixture.host.inject('record', { kind: 'lost', when: 'after' });
    const result = await fixture.deploy(B);

    expect(result.error).toBeUndefined();
    const record = recordOf(result);
    expect(record.status).toBe('success');
    expect(result.log.text).toContain('the commit had landed completely before the connection was lost');
    expect(fixture.recordStatuses(B.sha)).toEqual(['success']);
    expect(fixture.runningImages()).toEqual([B.appImage]);
    expect(fixture.currentRelease()).toBe(record.id);
    const audit = fixture.host.read(`${fixture.deployPath}/.deployer/audit.log`)!;
    expect(audit.split('\n').filter((line) => line.includes(B.sha))).toHaveLength(1);
    expectUnlocked();
  });

  it('before the record landed: undone and recorded once as rolled_back', async () => {
    const first = await runningA();
    fixture.host.inject('record', { kind: 'lost', when: 'before' });
    const result = await fixture.deploy(B);

    const record = recordOf(result);
    expect(record.status).toBe('rolled_back');
    expect(fixture.recordStatuses(B.sha)).toEqual(['rolled_back']);
    expect(fixture.state().current?.id).toBe(first.id);
    expect(fixture.currentRelease()).toBe(first.id);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expectUnlocked();
  });

  it('while the lock was being taken: reconnects to give the lock back and remove the release folder', async () => {
    fixture.host.inject('begin', { kind: 'lost', when: 'after' });
    const result = await fixture.deploy(A);

    expect(result.error).toBeInstanceOf(ConnectionLostError);
    expect(result.log.text).toContain('reconnecting to release the lock if it was taken');
    expect(fixture.host.find('release-lock')!.result!.stdout).toBe('released\n');
    expect(fixture.releaseDirs()).toEqual([]);
    expect(fixture.host.read(`${fixture.deployPath}/.deployer/state.json`)).toBeUndefined();
    expectUnlocked();
  });
});
