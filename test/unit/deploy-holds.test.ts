// One host's deploy as a fleet rollout drives it (holds before the switch and the commit, a halt when
// another host fails), against the scripted fake host.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RolloutHaltedError } from '../../actions/engine/deploy/failures.js';
import { DeployFixture, release, TestLog } from '../support/fake-deploy.js';

const A = release('a');
const B = release('b');

let fixture: DeployFixture;
beforeEach(async () => {
  fixture = await DeployFixture.create();
  await fixture.deployed(A);
});
afterEach(async () => {
  await fixture.host.dispose();
});

/** Resolves when `log` first shows `text`. */
function logged(log: TestLog, text: string): Promise<void> {
  return new Promise((resolve) => log.on(text, () => resolve()));
}

describe('a deploy held by a rollout', () => {
  it('holds, switched and ready, without committing, and commits once released', async () => {
    let release!: () => void;
    const beforeCommit = new Promise<void>((resolve) => (release = resolve));
    const log = new TestLog();
    const deploying = fixture.deploy(B, {
      log,
      holds: { beforeSwitch: async () => undefined, beforeCommit: () => beforeCommit },
    });
    await logged(log, 'wait-all-hosts: started');
    expect(fixture.runningImages()).toEqual([B.appImage]);
    expect(fixture.state().current?.sha).toBe(A.sha);
    expect(fixture.lock()).toBeDefined();
    release();
    const { outcome } = await deploying;
    expect(outcome?.release.status).toBe('success');
    expect(fixture.state().current?.sha).toBe(B.sha);
    expect(fixture.lock()).toBeUndefined();
  });

  it('halted while it holds after the switch: puts the previous release back and records rolled_back', async () => {
    const halt = new AbortController();
    const log = new TestLog();
    const deploying = fixture.deploy(B, {
      log,
      halt: halt.signal,
      holds: { beforeSwitch: async () => undefined, beforeCommit: () => new Promise(() => undefined) },
    });
    await logged(log, 'wait-all-hosts: started');
    halt.abort(new RolloutHaltedError('web-3 (10.0.0.13:22) failed: not ready'));
    const { recorded, error } = await deploying;
    expect(recorded?.release).toMatchObject({ sha: B.sha, status: 'rolled_back' });
    expect(recorded?.release.reason).toMatch(
      /^the rollout halted: web-3 \(10\.0\.0\.13:22\) failed: not ready; /,
    );
    expect(error?.message).toMatch(/stopped \(rolled back\): the rollout halted/);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.state().current?.sha).toBe(A.sha);
    expect(fixture.lock()).toBeUndefined();
  });

  it('halted before its turn to switch: records cancelled and never touches the running app', async () => {
    const halt = new AbortController();
    const log = new TestLog();
    const deploying = fixture.deploy(B, {
      log,
      halt: halt.signal,
      holds: { beforeSwitch: () => new Promise(() => undefined), beforeCommit: async () => undefined },
    });
    await logged(log, 'wait-turn: started');
    halt.abort(new RolloutHaltedError('web-1 (10.0.0.11:22) failed: the migrator exited with code 3'));
    const { recorded } = await deploying;
    expect(recorded?.release).toMatchObject({ sha: B.sha, status: 'cancelled' });
    expect(recorded?.release.reason).toMatch(/the rollout halted: web-1 .*; the running app was not touched/);
    expect(log.text).not.toMatch(/switch: started/);
    expect(fixture.runningImages()).toEqual([A.appImage]);
    expect(fixture.lock()).toBeUndefined();
  });

  it('reconnects at once when the connection drops while it holds, and commits over the new one', async () => {
    let release!: () => void;
    const beforeCommit = new Promise<void>((resolve) => (release = resolve));
    const log = new TestLog();
    const executor = fixture.host.connect();
    const deploying = fixture.deploy(B, {
      log,
      executor,
      holds: { beforeSwitch: async () => undefined, beforeCommit: () => beforeCommit },
    });
    await logged(log, 'wait-all-hosts: started');
    executor.drop();
    await logged(log, 'reconnected (attempt 1)');
    expect(log.text).toMatch(/wait-all-hosts: the SSH connection was lost while waiting; reconnecting/);
    release();
    const { outcome } = await deploying;
    expect(outcome?.release.status).toBe('success');
    expect(fixture.state().current?.sha).toBe(B.sha);
    expect(fixture.lock()).toBeUndefined();
  });

  it('a connection lost before its record landed commits again (the other hosts commit too), once', async () => {
    fixture.host.inject('record', { kind: 'lost', when: 'before' });
    const log = new TestLog();
    const result = await fixture.deploy(B, {
      log,
      holds: { beforeSwitch: async () => undefined, beforeCommit: async () => undefined },
    });
    expect(result.error).toBeUndefined();
    expect(log.text).toMatch(/the record had not landed: committing again over the new connection/);
    expect(fixture.recordStatuses(B.sha)).toEqual(['success']);
    expect(fixture.runningImages()).toEqual([B.appImage]);
    expect(fixture.currentRelease()).toBe(result.outcome?.release.id);
    expect(fixture.lock()).toBeUndefined();
  });
});
