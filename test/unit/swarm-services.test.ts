import { describe, expect, it } from 'vitest';
import { TASKS_MARK } from '../../actions/engine/commands/swarm.js';
import { checkRunningStack } from '../../actions/engine/promote/gate.js';
import type { ReleaseRecord } from '../../actions/engine/state/release.js';
import {
  jobOutcome,
  parseStackView,
  restoredProgress,
  serviceProgress,
  taskNamedBy,
  type StackView,
} from '../../actions/engine/swarm/services.js';

const OLD = 'registry.example/app@sha256:' + '1'.repeat(64);
const NEW = 'registry.example/app@sha256:' + '2'.repeat(64);
const DEPLOYED_AT = '2026-11-24T10:00:00.123456789Z';

function service(
  image: string,
  update?: { State: string; StartedAt: string; Message?: string },
  replicas = 2,
) {
  return {
    ID: 'svc1',
    Version: { Index: 10 },
    Spec: {
      Name: 'shop_app',
      TaskTemplate: { ContainerSpec: { Image: image, Env: ['A=1'], StopGracePeriod: 30_000_000_000 } },
      Mode: { Replicated: { Replicas: replicas } },
    },
    ...(update ? { UpdateStatus: update } : {}),
  };
}

function task(
  id: string,
  image: string,
  state: string,
  desired = 'running',
  extra: Record<string, unknown> = {},
) {
  return {
    ID: id,
    ServiceID: 'svc1',
    DesiredState: desired,
    // A task's copy of the spec leaves out fields such as StopGracePeriod.
    Spec: { ContainerSpec: { Image: image, Env: ['A=1'] } },
    Status: { Timestamp: '2026-11-24T10:00:05Z', State: state, Message: state, ...extra },
  };
}

const view = (services: unknown[], tasks: unknown[]): StackView =>
  parseStackView(`${JSON.stringify(services)}\n${TASKS_MARK}\n${JSON.stringify(tasks)}\n`);

const wanted = { image: NEW, since: Date.parse('2026-11-24T10:00:00.123Z') };

describe("a Swarm service's progress after a deploy", () => {
  it('is converged when the update completed and every task meant to run runs the new spec', () => {
    const stack = view(
      [service(NEW, { State: 'completed', StartedAt: '2026-11-24T10:00:01Z' })],
      [task('t1', NEW, 'running'), task('t2', NEW, 'running'), task('t0', OLD, 'shutdown', 'shutdown')],
    );
    expect(serviceProgress(stack.services[0]!, stack.tasks, wanted)).toEqual({ kind: 'converged' });
  });

  it('waits while Swarm updates, and while a new task is still starting (its healthcheck not passed yet)', () => {
    const updating = view(
      [service(NEW, { State: 'updating', StartedAt: '2026-11-24T10:00:01Z' })],
      [task('t1', NEW, 'running'), task('t2', OLD, 'running')],
    );
    expect(serviceProgress(updating.services[0]!, updating.tasks, wanted)).toEqual({
      kind: 'waiting',
      detail: 'updating: 1/2 task(s) running the new spec',
    });
    const starting = view([service(NEW)], [task('t1', NEW, 'running'), task('t2', NEW, 'starting')]);
    expect(serviceProgress(starting.services[0]!, starting.tasks, wanted)).toMatchObject({ kind: 'waiting' });
  });

  it('fails when Swarm rolled the update back or paused it, or the spec is no longer the deployed one', () => {
    for (const state of ['rollback_started', 'rollback_completed', 'rollback_paused', 'paused']) {
      const stack = view(
        [
          service(NEW, {
            State: state,
            StartedAt: '2026-11-24T10:00:20Z',
            Message: 'update rolled back due to failure or early termination of task t3',
          }),
        ],
        [],
      );
      expect(serviceProgress(stack.services[0]!, stack.tasks, wanted)).toEqual({
        kind: 'failed',
        reason: `Swarm's update of shop_app ended ${state}: update rolled back due to failure or early termination of task t3`,
      });
    }
    const reverted = view([service(OLD)], [task('t1', OLD, 'running'), task('t2', OLD, 'running')]);
    expect(serviceProgress(reverted.services[0]!, reverted.tasks, wanted)).toMatchObject({
      kind: 'failed',
      reason: `shop_app no longer has the deployed spec: it runs ${OLD}`,
    });
  });

  it('ignores an update status older than the deploy (left by an earlier update when this one changed nothing)', () => {
    const stack = view(
      [service(NEW, { State: 'rollback_completed', StartedAt: '2026-11-24T09:00:00Z' })],
      [task('t1', NEW, 'running'), task('t2', NEW, 'running')],
    );
    expect(serviceProgress(stack.services[0]!, stack.tasks, wanted)).toEqual({ kind: 'converged' });
    // The deploy's clock has nanoseconds; a status from the same millisecond counts as this deploy's.
    const same = view([service(NEW, { State: 'updating', StartedAt: DEPLOYED_AT })], []);
    expect(serviceProgress(same.services[0]!, same.tasks, wanted)).toMatchObject({ kind: 'waiting' });
  });

  it('names the latest failed task while it waits', () => {
    const stack = view(
      [service(NEW)],
      [
        task('t1', NEW, 'running'),
        task('t9', NEW, 'failed', 'shutdown', {
          Err: 'task: non-zero exit (1)',
          ContainerStatus: { ExitCode: 1 },
        }),
      ],
    );
    expect(serviceProgress(stack.services[0]!, stack.tasks, wanted)).toEqual({
      kind: 'waiting',
      detail: '1/2 task(s) running the new spec; latest failed task: task: non-zero exit (1) (exit code 1)',
    });
  });

  it('is restored once the previous spec is back, no rollback under way, and its tasks run', () => {
    const earlier = view([service(OLD)], []).services[0]!.containerSpec;
    const rolling = view(
      [service(OLD, { State: 'rollback_started', StartedAt: DEPLOYED_AT })],
      [task('t1', OLD, 'running')],
    );
    expect(restoredProgress(rolling.services[0]!, rolling.tasks, earlier)).toMatchObject({ kind: 'waiting' });
    const back = view(
      [service(OLD, { State: 'rollback_completed', StartedAt: DEPLOYED_AT })],
      [task('t1', OLD, 'running'), task('t2', OLD, 'running')],
    );
    expect(restoredProgress(back.services[0]!, back.tasks, earlier)).toEqual({ kind: 'converged' });
  });
});

describe('the task a failed update names', () => {
  it('is found by the id prefix in the update message', () => {
    const tasks = view([], [task('qwertyuiopasdfghjklzxcvbn', NEW, 'complete', 'shutdown')]).tasks;
    expect(
      taskNamedBy('update rolled back due to failure or early termination of task qwertyuiopas', tasks)?.id,
    ).toBe('qwertyuiopasdfghjklzxcvbn');
    expect(taskNamedBy('manually requested rollback', tasks)).toBeUndefined();
  });
});

describe("a migrator job's outcome", () => {
  const job = (...tasks: unknown[]) => view([], tasks).tasks;
  it("runs until its task ended; exit 0 when complete, the exit code and Swarm's error when failed", () => {
    expect(jobOutcome(job())).toBeUndefined();
    expect(jobOutcome(job(task('t1', NEW, 'running', 'complete')))).toBeUndefined();
    expect(
      jobOutcome(job(task('t1', NEW, 'complete', 'complete', { ContainerStatus: { ExitCode: 0 } }))),
    ).toEqual({
      exitCode: 0,
    });
    expect(
      jobOutcome(
        job(
          task('t1', NEW, 'failed', 'shutdown', {
            Err: 'task: non-zero exit (3)',
            ContainerStatus: { ExitCode: 3 },
          }),
        ),
      ),
    ).toEqual({ exitCode: 3, error: 'task: non-zero exit (3)' });
  });

  it('counts a rejected task (its image could not be pulled) as failed although its exit code says 0', () => {
    expect(
      jobOutcome(
        job(
          task('t1', NEW, 'rejected', 'shutdown', {
            Err: 'No such image: x',
            ContainerStatus: { ExitCode: 0 },
          }),
        ),
      ),
    ).toEqual({ exitCode: 1, error: 'No such image: x' });
  });
});

describe('the promotion gate on a Swarm source', () => {
  const release = { id: 'r1', services: { shop_app: NEW } } as unknown as ReleaseRecord;
  it('passes when every recorded service runs its recorded digest, settled, with its tasks running', () => {
    const stack = view(
      [service(NEW, { State: 'completed', StartedAt: DEPLOYED_AT })],
      [task('t1', NEW, 'running'), task('t2', NEW, 'running')],
    );
    expect(checkRunningStack(release, stack, 'staging')).toEqual({ ok: true, release });
  });

  it('refuses another digest, an update under way, or tasks not running', () => {
    const other = view([service(OLD)], [task('t1', OLD, 'running'), task('t2', OLD, 'running')]);
    expect(checkRunningStack(release, other, 'staging')).toEqual({
      ok: false,
      reason: `staging's service shop_app runs ${OLD}, not the recorded ${NEW}`,
    });
    const updating = view(
      [service(NEW, { State: 'updating', StartedAt: DEPLOYED_AT, Message: 'update in progress' })],
      [],
    );
    expect(checkRunningStack(release, updating, 'staging')).toEqual({
      ok: false,
      reason: "staging's service shop_app is updating: update in progress",
    });
    const down = view([service(NEW)], [task('t1', NEW, 'running'), task('t2', NEW, 'starting')]);
    expect(checkRunningStack(release, down, 'staging')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not ready right now: 1\/2/),
    });
    expect(checkRunningStack(release, view([], []), 'staging')).toEqual({
      ok: false,
      reason: "staging's service shop_app is not in the swarm",
    });
  });
});
