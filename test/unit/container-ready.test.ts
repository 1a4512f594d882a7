import { describe, expect, it } from 'vitest';
import { parseContainerStates, type ContainerState } from '../../actions/engine/commands/docker.js';
import { containerVerdict, waitForReadyContainer } from '../../actions/engine/deploy/container-ready.js';
import { readDeploySettings } from '../../actions/engine/deploy/inputs.js';
import { inputsFrom } from '../../actions/engine/inputs.js';
import { checkSameRelease } from '../../actions/engine/promote/gate.js';
import type { ReleaseRecord } from '../../actions/engine/state/release.js';

const quiet = {
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  mask: () => undefined,
};

function state(fields: Partial<ContainerState>): ContainerState {
  return {
    id: 'c1',
    image: 'r/app@sha256:1',
    imageId: 'sha256:1',
    status: 'running',
    exitCode: 0,
    restarting: false,
    restartCount: 0,
    startedAt: '2026-11-24T00:00:00Z',
    ...fields,
  };
}

describe('container readiness (ready-check: container)', () => {
  it('is ready when healthy, or running without a health check; never when unhealthy, stopped or gone', () => {
    expect(containerVerdict(state({ health: 'healthy' }))).toMatchObject({ ok: true });
    expect(containerVerdict(state({}))).toMatchObject({ ok: true, outcome: /no health check/ });
    expect(containerVerdict(state({ health: 'starting' }))).toMatchObject({ ok: false, final: false });
    expect(containerVerdict(state({ status: 'created' }))).toMatchObject({ ok: false, final: false });
    expect(containerVerdict(state({ health: 'unhealthy' }))).toMatchObject({ ok: false, final: true });
    expect(containerVerdict(state({ status: 'exited', exitCode: 3 }))).toMatchObject({
      ok: false,
      final: true,
      outcome: 'exited (exit code 3)',
    });
    expect(containerVerdict(state({ restarting: true, exitCode: 1 }))).toMatchObject({ final: true });
    expect(containerVerdict(undefined)).toMatchObject({ ok: false, final: true });
  });

  it('waits through `starting` until healthy', async () => {
    const seen = ['starting', 'starting', 'healthy'];
    const result = await waitForReadyContainer(
      { timeoutMs: 5_000, intervalMs: 1, consecutiveSuccesses: 1 },
      async () => state({ health: seen.shift() ?? 'healthy' }),
    );
    expect(result).toMatchObject({ ready: true, attempts: 3 });
    expect(result.history.map((a) => a.outcome)).toEqual([
      'running, health check starting',
      'running, health check starting',
      'healthy',
    ]);
  });

  it('gives up at once when the container turns unhealthy, and at the deadline while it is starting', async () => {
    const unhealthy = await waitForReadyContainer(
      { timeoutMs: 60_000, intervalMs: 1, consecutiveSuccesses: 1 },
      async () => state({ health: 'unhealthy' }),
    );
    expect(unhealthy).toMatchObject({ ready: false, attempts: 1 });
    expect(unhealthy.reason).toBe('the container is unhealthy (its Docker health check fails)');

    const starting = await waitForReadyContainer(
      { timeoutMs: 30, intervalMs: 5, consecutiveSuccesses: 1 },
      async () => state({ health: 'starting' }),
    );
    expect(starting.ready).toBe(false);
    expect(starting.reason).toMatch(
      /^not ready within .* \(the last look: running, health check starting\)$/,
    );
  });

  it('reads the health status docker inspect prints, and none when the container has no health check', () => {
    const line = (health: string) =>
      `{"id":"abc","name":"/w","image":"r/app:1","imageId":"sha256:1","status":"running","exitCode":0,"restarting":false,"restartCount":0,"startedAt":"2024-01-01T00:00:00Z","portBindings":{},"health":${health}}`;
    expect(parseContainerStates(line('"healthy"'))[0]?.health).toBe('healthy');
    expect(parseContainerStates(line('null'))[0]).not.toHaveProperty('health');
  });
});

describe('ready-check input', () => {
  const read = (values: Record<string, string>) =>
    readDeploySettings(inputsFrom({ 'deploy-path': '/srv/w/staging', ...values }, quiet), '/tmp');

  it('container needs no readiness port; http still does', () => {
    expect(read({ 'ready-check': 'container' }).endpoint).toBeUndefined();
    expect(() => read({})).toThrow(/ready-port.*ready-check: container/);
  });

  it('container is refused with blue-green, which switches a proxy to HTTP', () => {
    expect(() => read({ 'ready-check': 'container', strategy: 'blue-green' })).toThrow(
      /Invalid input "ready-check": must be http with strategy: blue-green/,
    );
  });
});

describe('the fleet promotion gate', () => {
  const release = (app: string, migrator = 'r/migrator@sha256:m') =>
    ({ id: 'r1', sha: 'abc1234', appImage: app, migratorImage: migrator }) as ReleaseRecord;

  it('passes when every source host runs the same digests', () => {
    const verdict = checkSameRelease(
      [
        { name: 'web-1', release: release('r/app@sha256:a') },
        { name: 'worker-1', release: release('r/app@sha256:a') },
      ],
      'staging',
    );
    expect(verdict.ok).toBe(true);
  });

  it('refuses hosts that run the same commit built twice (other digests), naming both', () => {
    const verdict = checkSameRelease(
      [
        { name: 'web-1', release: release('r/app@sha256:a') },
        { name: 'web-2', release: release('r/app@sha256:a', 'r/migrator@sha256:other') },
      ],
      'staging',
    );
    expect(verdict).toEqual({
      ok: false,
      reason:
        "staging's hosts do not run the same release: web-1 runs r/app@sha256:a with r/migrator@sha256:m, web-2 runs r/app@sha256:a with r/migrator@sha256:other",
    });
  });
});
