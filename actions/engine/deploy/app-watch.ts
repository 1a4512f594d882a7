import {
  docker,
  parseContainerEvent,
  UNHEALTHY,
  type ContainerEvent,
  type ContainerState,
} from '../commands/docker.js';
import { host } from '../commands/host.js';
import type { Executor, HostExecutor, Tunnel } from '../exec/executor.js';
import { lastLines } from '../exec/executor.js';
import type { EventLog } from '../events.js';
import { lineSplitter } from '../lines.js';
import { pause } from '../pause.js';
import {
  describeEndpoint,
  endpointCheck,
  formatMs,
  parseStatusSpec,
  waitUntilReady,
  type ReadinessAttempt,
  type ReadinessEndpoint,
  type ReadinessResult,
  type ReadinessSettings,
} from '../readiness/index.js';
import { containerState } from '../state/containers.js';
import { waitForReadyContainer } from './container-ready.js';
import type { DeployRequest } from '../types/deploy.js';

/** The new release's app container, as the readiness and stability watches follow it. */
export interface WatchedApp {
  /** The Compose service, as messages name it ("the app container"). */
  service: string;
  /** The image it must run. */
  image: string;
  /** Where it answers readiness; undefined: the container's own state says (see container-ready). */
  endpoint?: ReadinessEndpoint;
  /** The container now, stopped too; undefined when there is none. */
  state(executor: Executor): Promise<ContainerState | undefined>;
  /** Its last lines of output, for the record of a failed release. */
  logTail(executor: Executor): Promise<string>;
}

interface WatchContext {
  executor: HostExecutor;
  log: EventLog;
  signal?: AbortSignal;
}

/** After a rollback the old build answers: only the status is checked, not version expectations. */
export function restoredReadiness(request: DeployRequest): ReadinessSettings {
  return {
    ...request.readiness.settings,
    expectBody: undefined,
    expectJson: undefined,
    consecutiveSuccesses: 1,
  };
}

/**
 * Readiness as the deploy asks it: its HTTP endpoint (through the host's tunnel for a port on the
 * host), or, without one, the app container's own state (`state`).
 */
export function askReadiness(
  settings: ReadinessSettings,
  endpoint: ReadinessEndpoint | undefined,
  tunnel: Partial<Tunnel>,
  state: () => Promise<ContainerState | undefined>,
  options: { signal?: AbortSignal; onAttempt?: (attempt: ReadinessAttempt) => void } = {},
): Promise<ReadinessResult> {
  return endpoint
    ? waitUntilReady({ ...settings, ...endpointCheck(endpoint, tunnel), ...options })
    : waitForReadyContainer(settings, state, options);
}

/** Waits for readiness, giving up early when the new app container exits or restarts. */
export async function waitForNewRelease(
  settings: ReadinessSettings,
  context: WatchContext,
  watched: WatchedApp,
): Promise<ReadinessResult> {
  const app = watched.service;
  const watcher = new AbortController();
  let exitReason: string | undefined;
  const giveUp = (reason: string) => {
    if (watcher.signal.aborted) return;
    exitReason = reason;
    watcher.abort();
  };
  // Readiness through a dead tunnel can only fail: stop then and let the deploy reconnect. A local
  // check, no command.
  void (async () => {
    while (!watcher.signal.aborted) {
      if (context.executor.lost) return giveUp('the SSH connection was lost');
      await pause(250, watcher.signal);
    }
  })();
  // The app container's events for as long as readiness may take: one command, no polling.
  void (async () => {
    const first = await watched.state(context.executor).catch(() => undefined);
    if (!first || watcher.signal.aborted) return;
    if (first.restarting || first.status === 'exited' || first.status === 'dead')
      return giveUp(`the ${app} container ${change(first, first, undefined, () => 'exited')}`);
    const seen = await followEvents(context.executor, first, settings.timeoutMs, watcher.signal);
    if (watcher.signal.aborted) return;
    if (seen.failure && !seen.broke)
      context.log.warn(
        'ready',
        `the ${app} container is not watched while readiness is checked: ${seen.failure}`,
      );
    if (!seen.trouble) return;
    const now = await containerState(context.executor, first.id).then(
      (state) => ({ state }),
      () => undefined,
    );
    // Without an answer (the connection's loss is the other watch's), the event alone says it exited.
    const reason = now
      ? change(first, now.state, seen, () => 'exited')
      : `exited ${exit(seen, seen.trouble.exitCode)}`;
    if (reason) giveUp(`the ${app} container ${reason}`);
  })();
  const signal = AbortSignal.any([watcher.signal, ...(context.signal ? [context.signal] : [])]);
  const onAttempt = (attempt: ReadinessAttempt) => {
    if (!attempt.ok) context.log.info('ready', `attempt ${attempt.number}: ${attempt.outcome}`);
  };
  const endpoint = watched.endpoint;
  context.log.info(
    'ready',
    endpoint
      ? `waiting up to ${formatMs(settings.timeoutMs)} for ${describeEndpoint(endpoint, context.executor.where)} to answer ${parseStatusSpec(settings.expectedStatus).text}`
      : `waiting up to ${formatMs(settings.timeoutMs)} for the ${app} container to be healthy (running, when it has no health check)`,
  );
  try {
    const result = await askReadiness(
      settings,
      endpoint,
      context.executor,
      () => watched.state(context.executor),
      {
        signal,
        onAttempt,
      },
    );
    if (context.signal?.aborted) throw context.signal.reason;
    if (exitReason && !result.ready) return { ...result, reason: exitReason };
    return result;
  } finally {
    // Stops waiting for the event stream (it ends by itself on the host when its window closes)
    // and for a container check in flight: their answers no longer matter.
    watcher.abort();
  }
}

/**
 * After the first ready answer: the app container must stay the same container, running, with the
 * same restart count and start time for `ms`, or the release is not stable. Its events are followed
 * on the host for that window (cut short by one that ends its run or says its health check fails),
 * then one `docker inspect` confirms it is still the same run.
 */
export async function watchStability(
  executor: Executor,
  watched: WatchedApp,
  ms: number,
  signal: AbortSignal,
  warn: (message: string) => void = () => undefined,
): Promise<{ stable: true } | { stable: false; reason: string }> {
  const first = await watched.state(executor);
  if (!first || first.image !== watched.image)
    return {
      stable: false,
      reason: `after the switch ${watched.service} runs ${first?.image ?? 'nothing'}, not ${watched.image}`,
    };
  const unstable = (reason: string) => ({
    stable: false as const,
    reason: `the ${watched.service} container ${reason} within ${Math.round(ms / 100) / 10} s of its first ready answer`,
  });
  const isStatus = (status: string) => `is ${status}`;
  const already = change(first, first, undefined, isStatus);
  if (already) return unstable(already);
  if (ms <= 0) return { stable: true };
  const stopFollowing = new AbortController();
  const cutShort = new AbortController();
  let seen: Seen | undefined;
  void followEvents(executor, first, ms, AbortSignal.any([stopFollowing.signal, signal])).then((result) => {
    seen = result;
    // A lost connection or a passed deadline: the check below fails with it.
    if (result.trouble || result.broke) cutShort.abort();
  });
  await pause(ms, AbortSignal.any([cutShort.signal, signal]));
  stopFollowing.abort();
  if (signal.aborted) throw signal.reason;
  if (seen?.failure && !seen.broke)
    warn(
      `the ${watched.service} container's events could not be followed (${seen.failure}); its state at the end of the window decides`,
    );
  const reason = change(first, await containerState(executor, first.id), seen, isStatus);
  return reason ? unstable(reason) : { stable: true };
}

/** What a container's event stream brought. */
interface Seen {
  /** The first event that ended the container's run (die, restart, destroy) or says it is unhealthy. */
  trouble?: ContainerEvent;
  /** An `oom` came before it. */
  oom: boolean;
  /** Why the stream could not be followed to its end. */
  failure?: string;
  /** It broke off (lost connection, deadline) rather than `docker events` failing. */
  broke?: boolean;
}

/**
 * Follows `container`'s events on the host from its own start (the daemon's time) for `ms`, in whole
 * seconds of the host's clock and one more. Settles at the first event that ends its run or says its
 * health check fails, or when the stream ends. The stream ends by itself on the host when its window
 * closes: aborting `signal` only stops waiting for it.
 */
function followEvents(
  executor: Executor,
  container: ContainerState,
  ms: number,
  signal: AbortSignal,
): Promise<Seen> {
  return new Promise((resolve) => {
    let oom = false;
    let trouble: ContainerEvent | undefined;
    const lines = lineSplitter((line) => {
      const event = parseContainerEvent(line);
      if (event?.id !== container.id || trouble) return;
      if (event.action === 'oom') oom = true;
      else {
        trouble = event;
        resolve({ trouble, oom });
      }
    });
    const argv = host.eventWindow(
      container.startedAt,
      Math.ceil(ms / 1000) + 1,
      docker.containerEvents(container.id),
    );
    executor.run(argv, { check: false, signal, onStdout: (chunk) => lines.push(chunk) }).then(
      (result) => {
        lines.flush();
        resolve({
          trouble,
          oom,
          ...(result.code === 0
            ? {}
            : {
                failure: `\`docker events\` failed with exit code ${result.code}: ${lastLines(result.stderr, 3)}`,
              }),
        });
      },
      (error: Error) => resolve({ trouble, oom, failure: error.message, broke: true }),
    );
  });
}

/**
 * How the container's run changed since `first` (undefined: it did not), in the words both watches
 * put after "the app container"; `stopped` names a stopped one ("exited", "is exited").
 */
function change(
  first: ContainerState,
  now: ContainerState | undefined,
  seen: Seen | undefined,
  stopped: (status: string) => string,
): string | undefined {
  if (now?.id !== first.id) return `is gone ${exit(seen, seen?.trouble?.exitCode)}`;
  if (now.restarting) return `is restarting ${exit(seen, now.exitCode)}`;
  if (now.status !== 'running') return `${stopped(now.status)} ${exit(seen, now.exitCode)}`;
  if (now.restartCount !== first.restartCount)
    return `restarted (restart count ${first.restartCount} → ${now.restartCount})`;
  if (now.startedAt !== first.startedAt) return `restarted (started again at ${now.startedAt})`;
  if (seen?.trouble?.action === UNHEALTHY) return 'is unhealthy (its Docker health check fails)';
  return undefined;
}

function exit(seen: Seen | undefined, code: number | undefined): string {
  return `(exit code ${code ?? '?'}${seen?.oom ? ', out of memory' : ''})`;
}
