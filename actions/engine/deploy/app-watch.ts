import { compose, docker, type ComposeProject } from '../commands/compose.js';
import type { Executor } from '../exec/executor.js';
import { lastLines } from '../exec/executor.js';
import {
  waitUntilReady,
  type ReadinessCheck,
  type ReadinessResult,
  type ReadinessSettings,
} from '../readiness/index.js';
import { CancelledError } from './cancelled.js';
import type { DeployContext, DeployRequest } from './deploy.js';

export function readinessEndpoint(
  request: DeployRequest,
  context: DeployContext,
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
  context: DeployContext,
  next: ComposeProject,
): Promise<ReadinessResult> {
  const watcher = new AbortController();
  const signals = [watcher.signal, ...(context.signal ? [context.signal] : [])];
  let exitReason: string | undefined;
  const pause = () =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, 1000);
      watcher.signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), {
        once: true,
      });
    });
  const watching = (async () => {
    await pause();
    while (!watcher.signal.aborted) {
      const state = await appContainerState(context.executor, request, next).catch(() => undefined);
      if (watcher.signal.aborted) return;
      if (state && (state.status === 'exited' || state.status === 'dead' || state.restarting)) {
        exitReason = `the ${request.appService} container ${state.restarting ? 'is restarting' : 'exited'} (exit code ${state.exitCode})`;
        watcher.abort();
        return;
      }
      await pause();
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
    if (context.signal?.aborted) throw new CancelledError();
    if (exitReason && !result.ready) return { ...result, reason: exitReason };
    return result;
  } finally {
    // An in-flight container check is not waited for: its answer no longer matters.
    watcher.abort();
    void watching;
  }
}

interface ContainerState {
  image: string;
  status: string;
  exitCode: number;
  restarting: boolean;
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

export async function assertRunning(
  executor: Executor,
  request: DeployRequest,
  project: ComposeProject,
): Promise<void> {
  const state = await appContainerState(executor, request, project);
  if (!state || state.image !== request.appImage) {
    throw new Error(
      `after the switch ${request.appService} runs ${state?.image ?? 'nothing'}, not ${request.appImage}`,
    );
  }
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
