import { docker } from '../commands/docker.js';
import type { HostExecutor } from '../exec/executor.js';
import {
  describeFailure,
  endpointCheck,
  waitUntilReady,
  type ReadinessEndpoint,
  type ReadinessSettings,
} from '../readiness/index.js';
import { serviceContainers } from '../state/containers.js';
import { readState } from '../state/store.js';
import type { ReleaseRecord } from '../state/release.js';
import { containerVerdict } from '../deploy/container-ready.js';
import { DEPLOY_FILES } from '../deploy/files.js';
import { observeStack } from '../swarm/stack.js';
import { checkRunningContainers, checkRunningStack, checkSourceRelease } from './gate.js';

export interface SourceEnvironment {
  environment: string;
  deployPath: string;
  appService: string;
  readiness: ReadinessSettings;
  /** Undefined: readiness is the app container's own (healthy, or running without a health check). */
  endpoint?: ReadinessEndpoint;
}

/** "Ready right now": a promotion source gets a short deadline, 10 s (or one interval when longer). */
export function readyRightNow(readiness: ReadinessSettings): ReadinessSettings {
  return { ...readiness, timeoutMs: Math.max(10_000, readiness.intervalMs) };
}

export class PromotionRefusedError extends Error {
  constructor(reason: string, targetEnvironment: string) {
    super(`Promotion refused, ${targetEnvironment} was not touched: ${reason}`);
    this.name = 'PromotionRefusedError';
  }
}

/**
 * The gate: `requested` must be the source's current successful release, its app container must run
 * exactly the recorded image, and it must answer ready now. Returns that release (with its digests).
 */
export async function verifySource(
  executor: HostExecutor,
  source: SourceEnvironment,
  requested: string,
  targetEnvironment: string,
): Promise<ReleaseRecord> {
  const state = await readState(executor, DEPLOY_FILES.paths(source.deployPath).stateDir, source.environment);
  const byState = checkSourceRelease(state, requested, source.environment);
  if (!byState.ok) throw new PromotionRefusedError(byState.reason, targetEnvironment);
  if (byState.release.strategy === 'swarm') {
    const view = await observeStack(executor, byState.release.projectName ?? '');
    const byStack = checkRunningStack(byState.release, view, source.environment);
    if (!byStack.ok) throw new PromotionRefusedError(byStack.reason, targetEnvironment);
    if (source.endpoint) await requireReady(executor, source, source.endpoint, targetEnvironment);
    return byStack.release;
  }

  const running = await serviceContainers(
    executor,
    source.appService,
    byState.release.projectName ? { name: byState.release.projectName } : { workingDir: source.deployPath },
  );
  const imageId = await executor.run(docker.imageExists(byState.release.appImage), { check: false });
  const byContainer = checkRunningContainers(
    byState.release,
    running,
    imageId.code === 0 ? imageId.stdout.trim() : undefined,
    source.environment,
  );
  if (!byContainer.ok) throw new PromotionRefusedError(byContainer.reason, targetEnvironment);

  if (!source.endpoint) {
    const unready = running.map(containerVerdict).find((verdict) => !verdict.ok);
    if (unready)
      throw new PromotionRefusedError(
        `${source.environment}'s ${source.appService} container is not ready right now: ${unready.outcome}`,
        targetEnvironment,
      );
    return byContainer.release;
  }
  await requireReady(executor, source, source.endpoint, targetEnvironment);
  return byContainer.release;
}

async function requireReady(
  executor: HostExecutor,
  source: SourceEnvironment,
  endpoint: ReadinessEndpoint,
  targetEnvironment: string,
): Promise<void> {
  const ready = await waitUntilReady({ ...source.readiness, ...endpointCheck(endpoint, executor) });
  if (!ready.ready)
    throw new PromotionRefusedError(
      `${source.environment} is not ready right now: ${describeFailure(ready)}`,
      targetEnvironment,
    );
}
