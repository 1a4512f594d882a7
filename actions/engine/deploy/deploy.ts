import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { compose, type ComposeFlavor, type ComposeProject } from '../commands/compose.js';
import { host } from '../commands/host.js';
import type { Executor } from '../exec/executor.js';
import type { EventLog } from '../events.js';
import { waitUntilReady, type ReadinessResult, type ReadinessSettings } from '../readiness/index.js';
import {
  assertRunning,
  containerLogTail,
  readinessEndpoint,
  restoredReadiness,
  waitForNewRelease,
} from './app-watch.js';
import { detectCompose, pullImages } from './host-steps.js';
import { CancelledError } from './cancelled.js';
import { HostLock, describeLock } from '../state/lock.js';
import { releaseId, type DeployState, type ReleaseRecord, type ReleaseStatus } from '../state/release.js';
import { StateStore } from '../state/store.js';
import { RecreateStrategy, type SwitchStrategy } from './switch.js';
import { deployEnvFile, DEPLOY_FILES } from './files.js';

/** Where readiness is checked: a URL the runner reaches, or a port on the host through the SSH session. */
export type ReadinessTarget = { url: string } | { host: string; port: number; path: string };

export interface DeployRequest {
  environment: string;
  kind: ReleaseRecord['kind'];
  deployPath: string;
  projectName: string;
  /** Uploaded as the release's compose file; when absent the host's current one is reused (rollback). */
  composeFileContent?: string;
  envFileName: string;
  appService: string;
  migratorService: string;
  accessories: string[];
  appImage: string;
  migratorImage: string;
  /** Extra non-secret variables for deploy.env (e.g. APP_HOST_PORT). */
  deployEnv: Record<string, string>;
  runMigrations: boolean;
  /** Pull images first; when false, images missing on the host are still pulled. */
  pull: boolean;
  registry?: { server: string; username: string; password: string };
  readiness: ReadinessSettings;
  readinessTarget: ReadinessTarget;
  lockTtlMs: number;
  lockWaitMs: number;
  composeCommand: 'auto' | ComposeFlavor['command'];
  sha: string;
  actor: string;
  runId: string;
  runUrl?: string;
  promotedFrom?: ReleaseRecord['promotedFrom'];
  rolledBackTo?: string;
}

export interface StepTiming {
  step: string;
  ms: number;
}

export interface DeployOutcome {
  release: ReleaseRecord;
  previous?: ReleaseRecord;
  state: DeployState;
  steps: StepTiming[];
  readiness?: ReadinessResult;
  composeFlavor?: ComposeFlavor;
}

export class DeployFailedError extends Error {
  constructor(
    message: string,
    readonly outcome: DeployOutcome,
  ) {
    super(message);
    this.name = 'DeployFailedError';
  }
}

/** The host side of an executor, when it can tunnel (SSH). */
export interface Tunnel {
  openTunnel(host: string, port: number): Promise<Duplex>;
}

export interface DeployContext {
  executor: Executor & Partial<Tunnel>;
  log: EventLog;
  signal?: AbortSignal;
  now?: () => Date;
}

/**
 * One deploy over one connection: lock → upload → pull → migrate → switch → ready → record,
 * with automatic rollback when the new release is not ready, and cancellation handling.
 */
export async function runDeploy(request: DeployRequest, context: DeployContext): Promise<DeployOutcome> {
  const { executor, log, signal } = context;
  const now = context.now ?? (() => new Date());
  const startedAt = now();
  const id = releaseId(startedAt, request.sha);
  const stateDir = `${request.deployPath}/${DEPLOY_FILES.stateDir}`;
  const lock = new HostLock(executor, stateDir);
  const store = new StateStore(executor, stateDir, request.environment);
  const steps: StepTiming[] = [];
  const token = randomUUID();
  log.context.release = id;

  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    if (signal?.aborted) throw new CancelledError();
    const began = Date.now();
    log.info(name, 'started');
    try {
      return await work();
    } finally {
      steps.push({ step: name, ms: Date.now() - began });
    }
  };

  const flavor = await step('detect-compose', () => detectCompose(executor, request.composeCommand));
  log.info('detect-compose', `using ${flavor.command} (v${flavor.major})`);

  await step('lock', async () => {
    const taken = await lock.acquire(
      {
        token,
        environment: request.environment,
        sha: request.sha,
        actor: request.actor,
        runId: request.runId,
        runUrl: request.runUrl,
        startedAt: startedAt.toISOString(),
      },
      {
        ttlMs: request.lockTtlMs,
        waitMs: request.lockWaitMs,
        signal,
        onWait: (holder) => log.info('lock', `waiting for the deploy lock held by ${describeLock(holder)}`),
      },
    );
    if (taken.tookOver)
      log.warn('lock', `took over an expired deploy lock held by ${describeLock(taken.tookOver)}`);
  });

  const files = DEPLOY_FILES.paths(request.deployPath);
  const next: ComposeProject = {
    flavor,
    projectName: request.projectName,
    composeFile: files.nextCompose,
    envFile: files.nextEnv,
  };
  let previousProject: ComposeProject | undefined;
  let previous: ReleaseRecord | undefined;
  let switched = false;
  let readiness: ReadinessResult | undefined;
  let migrated = false;
  const strategy: SwitchStrategy = new RecreateStrategy(executor, request.deployPath, request.appService);

  const record = async (
    status: ReleaseStatus,
    extra: Partial<ReleaseRecord> = {},
  ): Promise<DeployOutcome> => {
    const finishedAt = now();
    const release: ReleaseRecord = {
      id,
      environment: request.environment,
      kind: request.kind,
      sha: request.sha,
      appImage: request.appImage,
      migratorImage: request.migratorImage,
      status,
      migrated,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      actor: request.actor,
      runUrl: request.runUrl,
      host: executor.where,
      previousReleaseId: previous?.id,
      promotedFrom: request.promotedFrom,
      rolledBackTo: request.rolledBackTo,
      ...extra,
    };
    const state = await store.record(release);
    return { release, previous, state, steps, readiness, composeFlavor: flavor };
  };

  try {
    const state = await step('read-state', () => store.read());
    previous = state.current;
    const hasPreviousRelease = (await executor.run(host.fileExists(files.env), { check: false })).code === 0;
    if (hasPreviousRelease) previousProject = { ...next, composeFile: files.compose, envFile: files.env };

    await step('upload', async () => {
      const envFile = `${request.deployPath}/${request.envFileName}`;
      const prepared = await executor.run(host.prepareDeployPath(request.deployPath, stateDir, envFile), {
        check: false,
      });
      if (prepared.code === 3) {
        throw new Error(
          `The env file ${envFile} does not exist on ${executor.where}. It holds the app's runtime settings and secrets and never leaves the host: create it there (it may be empty).`,
        );
      }
      if (prepared.code !== 0)
        throw new Error(
          `Could not create ${request.deployPath} on ${executor.where}: ${prepared.stderr.trim()}`,
        );
      if (request.composeFileContent !== undefined) {
        await executor.run(host.writeFileAtomic(files.nextCompose, '644'), {
          stdin: request.composeFileContent,
        });
      } else {
        await executor.run(host.copyIfExists(files.compose, files.nextCompose));
      }
      const content = deployEnvFile({
        APP_IMAGE: request.appImage,
        MIGRATOR_IMAGE: request.migratorImage,
        ENV_FILE: request.envFileName,
        DEPLOYER_ENVIRONMENT: request.environment,
        DEPLOYER_RELEASE: id,
        DEPLOYER_SHA: request.sha,
        ...request.deployEnv,
      });
      await executor.run(host.writeFileAtomic(files.nextEnv, '600'), { stdin: content });
    });

    await step('pull', () => pullImages(executor, request, next, log, signal));

    if (request.accessories.length > 0) {
      await step('accessories', () =>
        executor.run(compose.ensureRunning(next, request.accessories), { cwd: request.deployPath }),
      );
    }

    if (request.runMigrations) {
      await step('migrate', async () => {
        try {
          await executor.run(compose.runOnce(next, request.migratorService), {
            cwd: request.deployPath,
            onStdout: log.stream('migrate'),
            onStderr: log.stream('migrate'),
          });
          migrated = true;
        } catch (error) {
          throw new MigrationFailed(error as Error);
        }
      });
    }

    await step('switch', async () => {
      switched = true;
      await strategy.start(next);
    });

    readiness = await step('ready', () => waitForNewRelease(request, context, next));
    if (readiness.ready)
      log.info(
        'ready',
        `ready after ${readiness.attempts} attempt(s), ${readiness.timeToReadyMs ?? readiness.elapsedMs} ms`,
      );
    if (!readiness.ready) {
      const reason = readiness.reason ?? 'the new release did not answer ready';
      const logTail = await containerLogTail(executor, request, next);
      log.error('ready', `${reason}; rolling back`);
      if (logTail) log.info('ready', `last log lines of ${request.appService}:\n${logTail}`);
      await step('rollback', () => strategy.revert(next, previousProject));
      if (previousProject) {
        const check = await waitUntilReady({
          ...restoredReadiness(request),
          ...readinessEndpoint(request, context),
          signal,
        });
        const restored = check.ready
          ? 'the previous release answers ready again'
          : `the previous release is NOT ready either: ${check.reason}`;
        log[check.ready ? 'info' : 'error']('rollback', restored);
        const outcome = await record('rolled_back', { reason: `${reason}; ${restored}`, logTail });
        throw new DeployFailedError(
          `Release ${id} was not ready and was rolled back to ${previous?.id ?? 'the previous release'}: ${reason}. ${restored}.`,
          outcome,
        );
      }
      const outcome = await record('failed', {
        reason: `${reason}; first deploy, the new app was stopped and removed`,
        logTail,
      });
      throw new DeployFailedError(
        `Release ${id} was not ready: ${reason}. This was the first deploy here, so the new app was stopped and removed.`,
        outcome,
      );
    }

    await step('commit', async () => {
      await assertRunning(executor, request, next);
      await executor.run(host.commitRelease(files));
    });
    const outcome = await record('success');
    log.info('done', `release ${id} is live`, {
      durationMs: outcome.release.durationMs,
      steps: steps.map((s) => `${s.step} ${s.ms}ms`).join(', '),
    });
    return outcome;
  } catch (error) {
    if (error instanceof DeployFailedError) throw error;
    const cancelled = error instanceof CancelledError || signal?.aborted === true;
    const reason = cancelled
      ? 'cancelled'
      : error instanceof MigrationFailed
        ? `migration failed: ${error.message}`
        : (error as Error).message;
    if (switched) {
      log.warn(
        'rollback',
        `${cancelled ? 'cancelled' : 'failed'} after the switch; restoring the previous release`,
      );
      await strategy
        .revert(next, previousProject)
        .catch((revertError: Error) => log.error('rollback', revertError.message));
    } else if (cancelled || error instanceof MigrationFailed) {
      log.info('abort', 'the running app was not touched');
    }
    await executor
      .run(host.remove(files.nextEnv, files.nextCompose), { check: false })
      .catch(() => undefined);
    const outcome = await record(
      cancelled ? 'cancelled' : switched && previousProject ? 'rolled_back' : 'failed',
      { reason },
    ).catch((recordError: Error) => {
      log.error('record', `could not record the release: ${recordError.message}`);
      return undefined;
    });
    const message = cancelled
      ? `Deploy of ${id} was cancelled${switched ? '; the previous release was restored' : '; nothing was switched'}.`
      : error instanceof MigrationFailed
        ? `The migrator failed, so release ${id} was not started; the running app is untouched.\n${error.message}`
        : `Deploy of ${id} failed: ${reason}`;
    if (outcome) throw new DeployFailedError(message, outcome);
    throw new Error(message);
  } finally {
    const released = await lock.release(token).catch(() => false);
    if (!released)
      log.warn('lock', 'the deploy lock was not ours any more when releasing it (taken over after expiry?)');
  }
}

class MigrationFailed extends Error {
  constructor(cause: Error) {
    super(cause.message);
    this.name = 'MigrationFailed';
  }
}
