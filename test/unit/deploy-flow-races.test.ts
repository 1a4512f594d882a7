// Races between a cancel or a lost connection and a host command already on its way (found by the
// fake-host deploy tests; each failed before deploy.ts waited for the command's answer).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeployFixture, PROJECT, release } from '../support/fake-deploy.js';

const A = release('a');
const B = release('b');

let fixture: DeployFixture;
beforeEach(async () => {
  fixture = await DeployFixture.create();
});
afterEach(async () => {
  await fixture.host.dispose();
});

describe('a fault while a host command is on its way', () => {
  // deploy.ts start(): the 'lock' step races `begin` against the cancel signal (step()), so a
  // cancel that arrives while `begin` is on its way returns at once, and the catch only cleans up
  // after a transport fault. The host still runs `begin`: it takes the lock and writes the release
  // folder, and nobody gives them back; the next deploy waits up to lock-ttl (or lock-timeout).
  it('a cancel while the lock is being taken leaves no lock and no release folder behind', async () => {
    const cancel = new AbortController();
    fixture.host.on('begin', () => cancel.abort());
    const beginEnded = fixture.host.when('begin', { phase: 'end' });
    const result = await fixture.deploy(A, { signal: cancel.signal });
    await beginEnded;

    expect(result.error?.message).toMatch(/cancel/i);
    expect(fixture.lock()).toBeUndefined();
    expect(fixture.releaseDirs()).toEqual([]);
  });

  // deploy.ts start(): detectCompose runs beside `begin`. When the connection drops after `begin`
  // took the lock but before detectCompose answered, `await detecting` throws ConnectionLostError
  // and the cleanup (releaseLock, remove) runs on the dead connection, so both fail silently
  // (`.catch(() => undefined)`): the lock stays held until lock-ttl. The same fault during `begin`
  // itself is handled by abandonStart(), which reconnects first.
  it('a connection lost while Compose is detected, after the lock was taken, gives the lock back', async () => {
    fixture.host.inject('detect-compose', { kind: 'hang' });
    fixture.host.on('begin', (command) => fixture.host.connectionOf(command)?.drop('connection reset'), {
      phase: 'end',
    });
    const result = await fixture.deploy(A);

    expect(result.error?.message).toMatch(/lost the SSH connection/);
    expect(fixture.lock()).toBeUndefined();
    expect(fixture.releaseDirs()).toEqual([]);
  });

  // Past the commit point a cancel must not undo: were the record raced against the cancel, the
  // revert's `compose up` of the previous release could pass its fence first and the record then
  // commit the new release while the previous one runs (state.json and the current link naming B, A running).
  it('a cancel while the record is on its way leaves state, current link and running app consistent', async () => {
    await fixture.deployed(A);
    const cancel = new AbortController();
    let revertSwitched!: () => void;
    const reverted = new Promise<void>((resolve) => (revertSwitched = resolve));
    // The record is ~1 s late on the wire (a slow link): it reaches the host after the revert's
    // switch when there is one, else after the second.
    const late = new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref());
    fixture.host.inject('record', { kind: 'delay', until: Promise.race([reverted, late]) });
    // A second record (the cancelled one) runs only after the first ended: no two at once.
    fixture.host.inject(
      'record',
      { kind: 'delay', until: fixture.host.when('record', { phase: 'end' }) },
      { nth: 2 },
    );
    fixture.host.on('record', () => cancel.abort());
    fixture.host.on('compose up', () => revertSwitched(), { nth: 2, phase: 'end' });
    const result = await fixture.deploy(B, { signal: cancel.signal });

    const state = fixture.state();
    const latest = state.history[0]!;
    // The app runs what state.json and the current link say runs.
    expect(fixture.host.runningImages(PROJECT, 'app')).toEqual([state.current!.appImage]);
    expect(fixture.currentRelease()).toBe(state.current!.id);
    // One truthful record of the attempt, and the run reports that one.
    expect(state.history.filter((r) => r.sha === B.sha)).toHaveLength(1);
    expect(result.error?.message ?? '').not.toMatch(/could not be recorded/);
    expect(result.recorded?.release.status).toBe(latest.status);
    expect(fixture.lock()).toBeUndefined();
  });
});
