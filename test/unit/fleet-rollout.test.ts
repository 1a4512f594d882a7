import { describe, expect, it } from 'vitest';
import { planBatches } from '../../actions/engine/fleet/batches.js';
import { rollOut, type DeployOne, type RolloutMember } from '../../actions/engine/fleet/rollout.js';
import { RolloutHaltedError } from '../../actions/engine/deploy/failures.js';
import { DeployFailedError, type DeployOutcome } from '../../actions/engine/deploy/deploy.js';
import type { DeploySession } from '../../actions/engine/deploy/session.js';
import type { ReleaseStatus } from '../../actions/engine/state/release.js';

const quiet = {
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  mask: () => undefined,
};

function member(name: string, migrates = false): RolloutMember {
  return {
    name,
    role: name.startsWith('worker') ? 'worker' : 'web',
    migrates,
    session: {
      target: { host: `host-${name}`, port: 22 },
      environment: 'staging',
      logFormat: 'text',
      request: {},
    } as unknown as DeploySession,
  };
}

function outcome(name: string, status: ReleaseStatus, reason?: string): DeployOutcome {
  return { release: { id: `r-${name}`, status, reason } } as unknown as DeployOutcome;
}

/**
 * A deploy that walks the engine's path: before-switch hold, "switch" (recorded in `events`), then
 * fails if the host is in `failing`, else the before-commit hold and commit. A rejected hold after
 * the switch is a rollback, before it a stop.
 */
function scriptedDeploy(events: string[], failing: Set<string> = new Set()): DeployOne {
  return async (session) => {
    const name = session.member!.split(' ')[0]!;
    events.push(`start ${name}`);
    let switched = false;
    try {
      await session.holds!.beforeSwitch();
      events.push(`switch ${name}`);
      switched = true;
      await Promise.resolve();
      if (failing.has(name)) {
        events.push(`fail ${name}`);
        const result = outcome(name, 'rolled_back', 'not ready');
        return { outcome: result, failure: new DeployFailedError('not ready', result) };
      }
      await session.holds!.beforeCommit();
      events.push(`commit ${name}`);
      return { outcome: outcome(name, 'success') };
    } catch (error) {
      expect(error).toBeInstanceOf(RolloutHaltedError);
      events.push(`${switched ? 'revert' : 'stop'} ${name}`);
      const result = outcome(name, switched ? 'rolled_back' : 'cancelled', (error as Error).message);
      return { outcome: result, failure: new DeployFailedError('halted', result) };
    }
  };
}

describe('planBatches', () => {
  it('puts the migrating host first, then the config order, maxParallel at a time', () => {
    const members = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, migrates: name === 'c' }));
    expect(planBatches(members, 2).map((batch) => batch.map((m) => m.name))).toEqual([
      ['c', 'a'],
      ['b', 'd'],
      ['e'],
    ]);
    expect(planBatches(members, 10)).toHaveLength(1);
    expect(() => planBatches(members, 0)).toThrow(/max-parallel/);
  });
});

describe('rollOut', () => {
  const fleet = () => [
    member('web-1', true),
    member('web-2'),
    member('web-3'),
    member('worker-1'),
    member('worker-2'),
  ];

  it('switches batch after batch and commits only when every host is switched', async () => {
    const events: string[] = [];
    const result = await rollOut(fleet(), 2, quiet, scriptedDeploy(events));
    expect(result.status).toBe('success');
    expect(result.members.map((m) => [m.name, m.batch, m.state])).toEqual([
      ['web-1', 1, 'success'],
      ['web-2', 1, 'success'],
      ['web-3', 2, 'success'],
      ['worker-1', 2, 'success'],
      ['worker-2', 3, 'success'],
    ]);
    const firstCommit = events.findIndex((e) => e.startsWith('commit'));
    expect(events.indexOf('switch worker-2')).toBeLessThan(firstCommit);
    expect(events.indexOf('start web-3')).toBeGreaterThan(events.indexOf('switch web-2'));
    expect(events.indexOf('start worker-2')).toBeGreaterThan(events.indexOf('switch worker-1'));
  });

  it('halts at the first failure: switched hosts revert, later batches are never started', async () => {
    const events: string[] = [];
    const result = await rollOut(fleet(), 2, quiet, scriptedDeploy(events, new Set(['web-3'])));
    expect(result.status).toBe('failed');
    expect(Object.fromEntries(result.members.map((m) => [m.name, m.state]))).toEqual({
      'web-1': 'rolled_back',
      'web-2': 'rolled_back',
      'web-3': 'rolled_back',
      'worker-1': 'rolled_back',
      'worker-2': 'not-started',
    });
    expect(events).not.toContain('start worker-2');
    expect(events.filter((e) => e.startsWith('commit'))).toEqual([]);
    expect(result.failure?.message).toMatch(
      /^Rollout halted\. web-3 \(web, host-web-3:22\) failed: not ready\. rolled back: web-1, web-2, worker-1\. not contacted: worker-2\.$/,
    );
  });

  it('the others wait for the migrating host before they switch; a failed migration stops them untouched', async () => {
    const events: string[] = [];
    const failingMigration: DeployOne = async (session) => {
      const name = session.member!.split(' ')[0]!;
      if (name === 'web-1') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const result = outcome(name, 'failed', 'the migrator exited with code 3');
        return { outcome: result, failure: new DeployFailedError('migration failed', result) };
      }
      return scriptedDeploy(events)(session, quiet);
    };
    const result = await rollOut(fleet(), 3, quiet, failingMigration);
    expect(result.members.map((m) => m.state)).toEqual([
      'failed',
      'cancelled',
      'cancelled',
      'not-started',
      'not-started',
    ]);
    expect(events.filter((e) => e.startsWith('switch'))).toEqual([]);
  });

  it('a deploy that throws instead of reporting is a failure that halts the rollout, not a hang', async () => {
    const events: string[] = [];
    const throwing: DeployOne = async (session) => {
      if (session.member!.startsWith('web-2')) throw new Error('unexpected: socket hang up');
      return scriptedDeploy(events)(session, quiet);
    };
    const result = await rollOut(fleet(), 2, quiet, throwing);
    expect(result.members.map((m) => m.state)).toEqual([
      'rolled_back',
      'failed',
      'not-started',
      'not-started',
      'not-started',
    ]);
    expect(result.failure?.message).toMatch(
      /^Rollout halted\. web-2 \(web, host-web-2:22\) failed: unexpected: socket hang up/,
    );
  });
});
