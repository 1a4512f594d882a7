// The deploy lock's lease (deploy/lease.ts): renewed every third of its time to live with the
// real renew script on a fake host; only the lease's interval timer is faked (vi fake timers).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Lease, LeaseLostError } from '../../actions/engine/deploy/lease.js';
import { FakeHost } from '../support/fake-executor.js';

let host: FakeHost;
let deployPath: string;
let lock: string;
const mine = { token: 'my-token', environment: 'staging', actor: 'alice', runId: '7' };
const other = { token: 'other-token', environment: 'staging', actor: 'bob', runId: '8' };

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  host = new FakeHost();
  deployPath = host.deployPath();
  lock = `${deployPath}/.deployer/lock`;
  host.holdLock(deployPath, mine, 5);
});
afterEach(async () => {
  vi.useRealTimers();
  await host.dispose();
});

/** Lets the lease finish its bookkeeping after a command's answer (the microtasks queued by it). */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function lease(ttlMs: number, onLost: (error: LeaseLostError) => void = () => undefined): Lease {
  return new Lease(host.connect(), { lock, token: mine.token }, ttlMs, onLost);
}

describe('the lease on the deploy lock', { timeout: 10_000 }, () => {
  it('renews every third of lock-ttl, pushing the expiry and keeping the owner', async () => {
    const subject = lease(30_000);
    subject.start();
    vi.advanceTimersByTime(9_999);
    expect(host.labels()).toEqual([]);

    const renewed = host.when('renew-lock', { phase: 'end' });
    vi.advanceTimersByTime(1);
    const command = await renewed;
    await settled();
    expect(command.argv.slice(4)).toEqual([lock, mine.token, '30']);
    expect(command.result!.stdout).toBe('renewed\n');
    const after = host.lock(deployPath)!;
    expect(after.token).toBe(mine.token);
    expect(after.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 28_000);

    const again = host.when('renew-lock', { phase: 'end', nth: 1 });
    vi.advanceTimersByTime(10_000);
    await again;
    await settled();
    expect(host.labels()).toEqual(['renew-lock', 'renew-lock']);
    subject.stop();
    vi.advanceTimersByTime(60_000);
    expect(host.labels()).toHaveLength(2);
  });

  it('renews at least a second apart however short lock-ttl is', async () => {
    const subject = lease(1_500);
    subject.start();
    vi.advanceTimersByTime(999);
    expect(host.labels()).toEqual([]);
    const renewed = host.when('renew-lock', { phase: 'end' });
    vi.advanceTimersByTime(1);
    expect((await renewed).argv.at(-1)).toBe('2');
    subject.stop();
  });

  it('a renewal that finds the lock taken over reports it once, and renewing stops', async () => {
    const lost: LeaseLostError[] = [];
    let reported!: () => void;
    const onLost = new Promise<void>((resolve) => (reported = resolve));
    const subject = lease(30_000, (error) => {
      lost.push(error);
      reported();
    });
    subject.start();
    const thief = host.holdLock(deployPath, other, 600);

    vi.advanceTimersByTime(10_000);
    await onLost;
    await settled();
    expect(host.find('renew-lock')!.result!.stdout).toBe('lost\n');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(LeaseLostError);
    expect(lost[0]!.message).toBe(
      `the deploy lock ${lock} was taken over by another deploy while this one ran`,
    );
    // The thief's lock is left as it is, and no further renewal is sent.
    expect(host.read(lock)).toBe(thief);
    vi.advanceTimersByTime(60_000);
    expect(host.labels()).toEqual(['renew-lock']);
    expect(lost).toHaveLength(1);
  });

  it('a renewal still on its way is not doubled by the next tick', async () => {
    host.inject('renew-lock', { kind: 'hang' });
    const subject = lease(30_000);
    subject.start();
    const first = host.when('renew-lock');
    vi.advanceTimersByTime(10_000);
    await first;
    vi.advanceTimersByTime(20_000);
    expect(host.labels()).toEqual(['renew-lock']);
    subject.stop();
  });

  it('a renewal that fails on a lost connection is not a lost lease', async () => {
    const lost: LeaseLostError[] = [];
    host.inject('renew-lock', { kind: 'lost' });
    const subject = lease(30_000, (error) => lost.push(error));
    subject.start();
    const failed = host.when('renew-lock', { phase: 'end' });
    vi.advanceTimersByTime(10_000);
    expect((await failed).error?.name).toBe('ConnectionLostError');
    await settled();
    expect(lost).toEqual([]);
    expect(host.lock(deployPath)!.token).toBe(mine.token);
    subject.stop();
  });
});
