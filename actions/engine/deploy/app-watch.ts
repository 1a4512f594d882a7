import { compose, docker, type ComposeProject } from '../commands/compose.js';
import type { Executor } from '../exec/executor.js';
import { lastLines } from '../exec/executor.js';
import {
  waitUntilReady,
  type ReadinessCheck,
  type ReadinessResult,
  type ReadinessSettings,
} from '../readiness/index.js';
import type { DeployRequest } from './deploy.js';
import type { HostExecutor } from './host-link.js';
import type { EventLog } from '../events.js';
import { pause } from '../pause.js';

interface WatchContext {
  executor: HostExecutor;
  log: EventLog;
  signal?: AbortSignal;
}

export function readinessEndpoint(
  request: DeployRequest,
  context: { executor: HostExecutor },
): Pick<ReadinessCheck, 'url' | 'connect'> {
  const target = request.readinessTarget;
  if ('url' in target) return { url: target.url };
  const { executor } = context;
  if (!executor.openTunnel) throw new Error('a readiness check through the host needs an SSH connection');
  return {
    url: `http://${target.host}:${target.port}${target.path}`,
    connect: (h, p) => executor.openTunnel!(h, p),
  };
}

/** After a rollback the old build answers: only the status is checked, not version expectations. */
export function restoredReadiness(request: DeployRequest): ReadinessSettings {
  return { ...request.readiness, expectBody: undefined, expectJson: undefined, consecutiveSuccesses: 1 };
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
        exitReason = `the ${request.appService} container ${state.restarting ? 'is restarting' : 'exited'} (exit code ${state.exitCode})`;
        watcher.abort();
        return;
      }
      await pause(500, watcher.signal);
    }
  })();
  try {
    const result = await waitUntilReady({
      ...request.readiness,
      ...readinessEndpoint(request, context),
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

interface ContainerState {
  id: string;
  image: string;
  status: string;
  exitCode: number;
  restarting: boolean;
  restartCount: number;
  startedAt: string;
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
  if (!first || first.image !== request.appImage)
    return {
      stable: false,
      reason: `after the switch ${request.appService} runs ${first?.image ?? 'nothing'}, not ${request.appImage}`,
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
        reason: `the ${request.appService} container ${now?.status === 'running' && now.restartCount !== first.restartCount ? `restarted (restart count ${first.restartCount} → ${now.restartCount})` : `is ${now?.restarting ? 'restarting' : (now?.status ?? 'gone')} (exit code ${now?.exitCode ?? '?'})`} within ${Math.round(ms / 100) / 10} s of its first ready answer`,
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
  const ids = (
    await executor.run(docker.serviceContainers(request.appService, { name: project.projectName }, true), {
      check: false,
    })
  ).stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (ids.length === 0) return undefined;
  const { stdout } = await executor.run(docker.inspectContainers(ids));
  return JSON.parse(stdout.trim().split('\n')[0]!) as ContainerState;
}

export async function containerLogTail(
  executor: Executor,
  request: DeployRequest,
  project: ComposeProject,
): Promise<string> {
  const result = await executor.run(compose.logs(project, request.appService, 30), {
    cwd: request.deployPath,
    check: false,
  });
  return lastLines(`${result.stdout}${result.stderr}`, 30);
}
