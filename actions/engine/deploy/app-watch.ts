import { compose, type ComposeProject } from '../commands/compose.js';
import type { ContainerState } from '../commands/docker.js';
import type { Executor, HostExecutor } from '../exec/executor.js';
import { lastLines } from '../exec/executor.js';
import type { EventLog } from '../events.js';
import { pause } from '../pause.js';
import {
  describeEndpoint,
  endpointCheck,
  formatMs,
  parseStatusSpec,
  waitUntilReady,
  type ReadinessResult,
  type ReadinessSettings,
} from '../readiness/index.js';
import { serviceContainers } from '../state/containers.js';
import type { DeployRequest } from '../types/deploy.js';

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

/** Waits for readiness, giving up early when the new app container exits or restarts. */
export async function waitForNewRelease(
  request: DeployRequest,
  context: WatchContext,
  next: ComposeProject,
): Promise<ReadinessResult> {
  const watcher = new AbortController();
  const signals = [watcher.signal, ...(context.signal ? [context.signal] : [])];
  let exitReason: string | undefined;
  const watching = (async () => {
    await pause(500, watcher.signal);
    while (!watcher.signal.aborted) {
      const state = await appContainerState(context.executor, request, next).catch(() => undefined);
      if (watcher.signal.aborted) return;
      if (context.executor.lost) {
        // Readiness through a dead tunnel can only fail: stop now and let the deploy reconnect.
        exitReason = 'the SSH connection was lost';
        watcher.abort();
        return;
      }
      if (state && (state.status === 'exited' || state.status === 'dead' || state.restarting)) {
        exitReason = `the ${request.target.services.app} container ${state.restarting ? 'is restarting' : 'exited'} (exit code ${state.exitCode})`;
        watcher.abort();
        return;
      }
      await pause(500, watcher.signal);
    }
  })();
  const settings = request.readiness.settings;
  context.log.info(
    'ready',
    `waiting up to ${formatMs(settings.timeoutMs)} for ${describeEndpoint(request.readiness.endpoint, context.executor.where)} to answer ${parseStatusSpec(settings.expectedStatus).text}`,
  );
  try {
    const result = await waitUntilReady({
      ...settings,
      ...endpointCheck(request.readiness.endpoint, context.executor),
      signal: AbortSignal.any(signals),
      onAttempt: (attempt) => {
        if (!attempt.ok) context.log.info('ready', `attempt ${attempt.number}: ${attempt.outcome}`);
      },
    });
    if (context.signal?.aborted) throw context.signal.reason;
    if (exitReason && !result.ready) return { ...result, reason: exitReason };
    return result;
  } finally {
    // An in-flight container check is not waited for: its answer no longer matters.
    watcher.abort();
    void watching;
  }
}

/**
 * After the first ready answer: the app container must stay the same container, running, with the
 * same restart count and start time for `ms` (checked every 250 ms), or the release is not stable.
 */
export async function watchStability(
  executor: Executor,
  request: DeployRequest,
  project: ComposeProject,
  ms: number,
  signal: AbortSignal,
): Promise<{ stable: true } | { stable: false; reason: string }> {
  const first = await appContainerState(executor, request, project);
  if (!first || first.image !== request.release.appImage)
    return {
      stable: false,
      reason: `after the switch ${request.target.services.app} runs ${first?.image ?? 'nothing'}, not ${request.release.appImage}`,
    };
  const until = Date.now() + ms;
  let now: ContainerState | undefined = first;
  for (;;) {
    if (
      now?.id !== first.id ||
      now.status !== 'running' ||
      now.restarting ||
      now.restartCount !== first.restartCount ||
      now.startedAt !== first.startedAt
    ) {
      return {
        stable: false,
        reason: `the ${request.target.services.app} container ${now?.status === 'running' && now.restartCount !== first.restartCount ? `restarted (restart count ${first.restartCount} → ${now.restartCount})` : `is ${now?.restarting ? 'restarting' : (now?.status ?? 'gone')} (exit code ${now?.exitCode ?? '?'})`} within ${Math.round(ms / 100) / 10} s of its first ready answer`,
      };
    }
    if (Date.now() >= until) return { stable: true };
    await pause(Math.min(250, until - Date.now()), signal);
    if (signal.aborted) throw signal.reason;
    now = await appContainerState(executor, request, project);
  }
}

async function appContainerState(
  executor: Executor,
  request: DeployRequest,
  project: ComposeProject,
): Promise<ContainerState | undefined> {
  const [state] = await serviceContainers(
    executor,
    request.target.services.app,
    { name: project.projectName },
    { all: true },
  );
  return state;
}

export async function containerLogTail(
  executor: Executor,
  request: DeployRequest,
  project: ComposeProject,
): Promise<string> {
  const result = await executor.run(compose.logs(project, request.target.services.app, 30), {
    cwd: request.target.deployPath,
    check: false,
  });
  return lastLines(`${result.stdout}${result.stderr}`, 30);
}
