import type { Tunnel } from '../deploy/deploy.js';
import type { Executor } from '../exec/executor.js';
import { docker } from '../commands/compose.js';
import { waitUntilReady, describeFailure, type ReadinessSettings } from '../readiness/index.js';
import { readState } from '../state/store.js';
import type { ReleaseRecord } from '../state/release.js';
import { DEPLOY_FILES } from '../deploy/files.js';
import type { ReadinessTarget } from '../deploy/deploy.js';
import { checkRunningContainers, checkSourceRelease, type RunningContainer } from './gate.js';

export interface SourceEnvironment {
  environment: string;
  deployPath: string;
  appService: string;
  readiness: ReadinessSettings;
  readinessTarget: ReadinessTarget;
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
  executor: Executor & Partial<Tunnel>,
  source: SourceEnvironment,
  requested: string,
  targetEnvironment: string,
): Promise<ReleaseRecord> {
  const state = await readState(executor, DEPLOY_FILES.paths(source.deployPath).stateDir, source.environment);
  const byState = checkSourceRelease(state, requested, source.environment);
  if (!byState.ok) throw new PromotionRefusedError(byState.reason, targetEnvironment);

  const running = await runningContainers(
    executor,
    byState.release.projectName ? { name: byState.release.projectName } : { workingDir: source.deployPath },
    source.appService,
  );
  const imageId = await executor.run(docker.imageExists(byState.release.appImage), { check: false });
  const byContainer = checkRunningContainers(
    byState.release,
    running,
    imageId.code === 0 ? imageId.stdout.trim() : undefined,
    source.environment,
  );
  if (!byContainer.ok) throw new PromotionRefusedError(byContainer.reason, targetEnvironment);

  const target = source.readinessTarget;
  const endpoint =
    'url' in target
      ? { url: target.url }
      : {
          url: `http://${target.host}:${target.port}${target.path}`,
          connect: (h: string, p: number) => executor.openTunnel!(h, p),
        };
  if (!('url' in target) && !executor.openTunnel)
    throw new Error('checking the source through its host needs an SSH connection');
  const ready = await waitUntilReady({ ...source.readiness, ...endpoint });
  if (!ready.ready)
    throw new PromotionRefusedError(
      `${source.environment} is not ready right now: ${describeFailure(ready)}`,
      targetEnvironment,
    );
  return byContainer.release;
}

async function runningContainers(
  executor: Executor,
  project: { name: string } | { workingDir: string },
  service: string,
): Promise<RunningContainer[]> {
  const ids = (await executor.run(docker.serviceContainers(service, project))).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (ids.length === 0) return [];
  const { stdout } = await executor.run(docker.inspectContainers(ids));
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as RunningContainer);
}
