import type { ContainerState } from '../commands/docker.js';
import { pause } from '../pause.js';
import { formatMs, HISTORY_LIMIT, type ReadinessAttempt, type ReadinessResult } from '../readiness/index.js';
import type { ReadinessSettings } from '../readiness/index.js';

/** What a container's state says about its readiness; `final`: it will not become ready any more. */
export interface ContainerVerdict {
  ok: boolean;
  final: boolean;
  outcome: string;
}

/**
 * Readiness of an app without HTTP (a worker): healthy by its Docker health check, or simply
 * running when it has none (the stability window after it then proves it keeps running).
 */
export function containerVerdict(state: ContainerState | undefined): ContainerVerdict {
  if (!state) return { ok: false, final: true, outcome: 'the container is gone' };
  if (state.restarting)
    return { ok: false, final: true, outcome: `restarting (exit code ${state.exitCode})` };
  if (state.status === 'created') return { ok: false, final: false, outcome: 'created, not started yet' };
  if (state.status !== 'running')
    return { ok: false, final: true, outcome: `${state.status} (exit code ${state.exitCode})` };
  if (state.health === undefined)
    return { ok: true, final: false, outcome: 'running (no health check: running counts as ready)' };
  if (state.health === 'healthy') return { ok: true, final: false, outcome: 'healthy' };
  if (state.health === 'unhealthy')
    return { ok: false, final: true, outcome: 'unhealthy (its Docker health check fails)' };
  return { ok: false, final: false, outcome: `running, health check ${state.health}` };
}

/**
 * Polls the container's state every `intervalMs` until it is ready (`consecutiveSuccesses` times
 * in a row), can no longer become ready, or `timeoutMs` passes.
 */
export async function waitForReadyContainer(
  settings: Pick<ReadinessSettings, 'timeoutMs' | 'intervalMs' | 'consecutiveSuccesses'>,
  state: () => Promise<ContainerState | undefined>,
  { signal, onAttempt }: { signal?: AbortSignal; onAttempt?: (attempt: ReadinessAttempt) => void } = {},
): Promise<ReadinessResult> {
  const start = performance.now();
  const since = () => Math.round(performance.now() - start);
  const history: ReadinessAttempt[] = [];
  let inARow = 0;
  for (let number = 1; !signal?.aborted; number++) {
    const began = performance.now();
    const verdict = containerVerdict(await state());
    inARow = verdict.ok ? inARow + 1 : 0;
    const record: ReadinessAttempt = {
      number,
      atMs: Math.round(began - start),
      durationMs: Math.round(performance.now() - began),
      ok: verdict.ok,
      outcome: verdict.outcome,
    };
    history.push(record);
    if (history.length > HISTORY_LIMIT) history.shift();
    onAttempt?.(record);
    const result = { attempts: number, history, elapsedMs: since(), timeoutMs: settings.timeoutMs };
    if (inARow >= Math.max(1, settings.consecutiveSuccesses))
      return { ...result, ready: true, timeToReadyMs: since() };
    if (verdict.final) return { ...result, ready: false, reason: `the container is ${verdict.outcome}` };
    const left = settings.timeoutMs - since();
    if (left <= 0)
      return {
        ...result,
        ready: false,
        reason: `not ready within ${formatMs(settings.timeoutMs)} (the last look: ${verdict.outcome})`,
      };
    await pause(Math.min(settings.intervalMs, left), signal);
  }
  return {
    ready: false,
    cancelled: true,
    attempts: history.length,
    history,
    elapsedMs: since(),
    reason: `cancelled after ${formatMs(since())}`,
  };
}
