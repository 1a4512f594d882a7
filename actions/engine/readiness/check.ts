import { pause } from '../pause.js';
import { attempt, type AttemptPlan } from './attempt.js';
import { parseBodyExpectation } from './body.js';
import { parseStatusSpec } from './status-spec.js';
import { formatMs, plural } from './report.js';
import type { ReadinessAttempt, ReadinessCheck, ReadinessResult } from './types.js';

export const HISTORY_LIMIT = 50;
/** The shortest attempt worth starting after the first. */
const MIN_ATTEMPT_MS = 25;
/** Room kept for one last attempt right before the deadline when the next interval would pass it. */
const LAST_CHANCE_MS = 300;

/**
 * Polls until the app answers as expected `consecutiveSuccesses` times in a row, or the overall deadline
 * passes. Never runs past the deadline: each request's timeout is capped by the time left.
 */
export async function waitUntilReady(check: ReadinessCheck): Promise<ReadinessResult> {
  const plan: AttemptPlan = {
    url: new URL(check.url),
    status: parseStatusSpec(check.expectedStatus),
    body: check.expectBody !== undefined ? parseBodyExpectation(check.expectBody) : undefined,
    json: check.expectJson,
    headers: check.headers,
    followRedirects: check.followRedirects,
    insecureTls: check.insecureTls,
    connect: check.connect,
    signal: check.signal,
  };
  const start = performance.now();
  const deadline = start + check.timeoutMs;
  const since = () => Math.round(performance.now() - start);
  const history: ReadinessAttempt[] = [];
  let attempts = 0;
  let successesInARow = 0;
  let failuresInARow = 0;
  let lastStatus: number | undefined;
  const result = (fields: Partial<ReadinessResult>): ReadinessResult => ({
    ready: false,
    attempts,
    history,
    lastStatus,
    elapsedMs: since(),
    timeoutMs: check.timeoutMs,
    ...fields,
  });

  while (!check.signal?.aborted) {
    const startedAt = performance.now();
    const left = deadline - startedAt;
    // A late timer (a loaded machine) must not end the check on an attempt too short to answer,
    // which would hide the last real answer behind "timed out after 1 ms".
    if (left <= 0 || (attempts > 0 && left < Math.min(MIN_ATTEMPT_MS, check.requestTimeoutMs))) break;
    const verdict = await attempt(plan, Math.min(check.requestTimeoutMs, Math.ceil(left)));
    if (verdict.aborted) break;
    attempts++;
    if (verdict.status !== undefined) lastStatus = verdict.status;
    successesInARow = verdict.ok ? successesInARow + 1 : 0;
    failuresInARow = verdict.ok ? 0 : failuresInARow + 1;
    const ready = successesInARow >= check.consecutiveSuccesses;
    const record: ReadinessAttempt = {
      number: attempts,
      atMs: Math.round(startedAt - start),
      durationMs: Math.round(performance.now() - startedAt),
      ok: verdict.ok,
      status: verdict.status,
      outcome:
        verdict.ok && !ready
          ? `ok (${successesInARow} of ${check.consecutiveSuccesses} in a row)`
          : verdict.outcome,
    };
    history.push(record);
    if (history.length > HISTORY_LIMIT) history.shift();
    check.onAttempt?.(record);
    if (ready) return result({ ready: true, timeToReadyMs: since() });

    const wait = failuresInARow > 0 ? backoffWait(check, failuresInARow) : check.intervalMs;
    const now = performance.now();
    let next = startedAt + wait;
    if (next < now) next = now;
    if (next >= deadline) {
      // The next regular attempt would be too late: one last look just before the deadline, if there is room.
      const lastChance = deadline - Math.min(LAST_CHANCE_MS, check.requestTimeoutMs);
      if (lastChance <= now) break;
      next = lastChance;
    }
    await pause(next - now, check.signal);
  }
  const cancelled = check.signal?.aborted === true;
  const last = history.at(-1);
  const reason = cancelled
    ? `cancelled after ${formatMs(since())} and ${plural(attempts, 'attempt')}`
    : `not ready within ${formatMs(check.timeoutMs)} (${plural(attempts, 'attempt')}${last ? `; the last: ${last.outcome}` : ''})`;
  return result({ cancelled, reason });
}

function backoffWait(check: ReadinessCheck, failuresInARow: number): number {
  const factor = check.backoff && check.backoff > 1 ? check.backoff ** (failuresInARow - 1) : 1;
  return Math.min(check.intervalMs * factor, check.maxIntervalMs ?? Infinity);
}
