import { randomUUID } from 'node:crypto';
import { compose, type ComposeFlavor, type ComposeProject } from '../commands/compose.js';
import type { DeployRequest } from '../types/deploy.js';
import { EXIT, host, type Fence } from '../commands/host.js';
import { pinnedDigest } from '../commands/registry.js';
import { lastLines } from '../exec/executor.js';
import type { EventLog } from '../events.js';
import { pause } from '../pause.js';
import type { ReadinessResult } from '../readiness/index.js';
import { describeLock, LockTimeoutError, type LockInfo } from '../state/lock.js';
import {
  parseState,
  recordRelease,
  releaseId,
  type DeployState,
  type ReleaseRecord,
  type ReleaseStatus,
} from '../state/release.js';
import { auditLine, prunePlan } from '../state/store.js';
import { waitForNewRelease, watchStability } from './app-watch.js';
import { BlueGreenStrategy } from './blue-green.js';
import { CancelledError } from './cancelled.js';
import { AppFailure, hostCommandFailure, RolloutHaltedError } from './failures.js';
import { deployEnvFile, DEPLOY_FILES } from './files.js';
import type { HostExecutor } from '../exec/executor.js';
import { HostLink, isTransportFault } from './host-link.js';
import {
  begin,
  type BeginResult,
  describePullFailure,
  detectCompose,
  MigratorBusyError,
} from './host-steps.js';
import { ContainerMigrator, type Migrator } from './migrator.js';
import { Lease, LeaseLostError } from './lease.js';
import { RecreateStrategy } from './recreate.js';
import { SwarmStrategy } from '../swarm/strategy.js';
import { swarmReleaseFiles } from '../swarm/stack-files.js';
import type { SwitchStrategy } from './strategy.js';

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

export interface DeployContext {
  executor: HostExecutor;
  /** Opens a fresh connection after a transport fault (bounded attempts). */
  reconnect?: () => Promise<HostExecutor>;
  log: EventLog;
  signal?: AbortSignal;
  now?: () => Date;
  /** A rollout to several hosts holds the deploy before it switches and before it commits. */
  holds?: RolloutHolds;
  /** Aborted with a RolloutHaltedError when another host of the rollout failed. */
  halt?: AbortSignal;
  /** Told once the deploy holds the lock and its release has an id (e.g. to record it on GitHub). */
  onBegun?: (release: BegunRelease) => void;
}

export type BegunRelease = Pick<ReleaseRecord, 'id' | 'environment' | 'sha' | 'appImage' | 'migratorImage'>;

/** Where a rollout holds one host's deploy; a hold rejects (RolloutHaltedError) when the rollout halts. */
export interface RolloutHolds {
  /** Pulled (and migrated, on the host that migrates): waits for the migration and for its batch's turn. */
  beforeSwitch(): Promise<void>;
  /** Switched, ready and stable: waits until every host is, so that a later failure can still undo it. */
  beforeCommit(): Promise<void>;
}

/** On SIGINT/SIGTERM the record and the lock must be settled well inside GitHub's 10 s before SIGKILL. */
export const CANCEL_BUDGET_MS = 4_500;
const AUDIT_CAP_BYTES = 1024 * 1024;
/** At least this long to find out what happened and undo it after a failure. */
const SETTLE_MS = 60_000;
const LOCK_POLL_MS = 1_000;

/**
 * One deploy over one supervised connection: lock → files → pull → migrate → switch → ready →
 * stable → commit, with automatic rollback, a lease renewed while it runs, and a truthful record
 * of every attempt whatever goes wrong (app, connection, cancellation, lost lease).
 */
export function runDeploy(request: DeployRequest, context: DeployContext): Promise<DeployOutcome> {
  return new Deployment(request, context).run();
}

type Phase = 'starting' | 'locked' | 'switching' | 'switched' | 'committing' | 'committed';
type Migration = NonNullable<ReleaseRecord['migration']>;

class Deployment {
  private readonly log: EventLog;
  private readonly link: HostLink;
  private readonly startedAt: Date;
  private readonly deadline: number;
  private readonly id: string;
  private readonly token = randomUUID();
  private readonly files: ReturnType<typeof DEPLOY_FILES.paths>;
  private readonly releaseDir: string;
  private readonly stop = new AbortController();
  private readonly steps: StepTiming[] = [];
  private readonly lease: Lease;
  private readonly fence: Fence;
  private readonly migratorName: string;
  private migratorRun: Migrator | undefined;
  private now: () => Date;
  private phase: Phase = 'starting';
  private migration: Migration = 'not-run';
  private state!: DeployState;
  private previous: ReleaseRecord | undefined;
  private previousProject: ComposeProject | undefined;
  private project!: ComposeProject;
  private flavor: ComposeFlavor | undefined;
  private readiness: ReadinessResult | undefined;
  private imagesPresent = false;
  private strategy!: SwitchStrategy;
  private inFlight: Promise<unknown> | undefined;
  /** Independent host work started along the way; settled before the attempt is recorded. */
  private readonly background: Array<Promise<unknown>> = [];

  constructor(
    private readonly request: DeployRequest,
    private readonly context: DeployContext,
  ) {
    this.log = context.log;
    this.now = context.now ?? (() => new Date());
    this.startedAt = this.now();
    this.deadline = Date.now() + request.policy.deployTimeoutMs;
    this.id = releaseId(this.startedAt, request.release.sha);
    this.log.context.release = this.id;
    this.files = DEPLOY_FILES.paths(request.target.deployPath);
    this.releaseDir = this.files.releaseDir(this.id);
    this.link = new HostLink(context.executor, context.reconnect, () => this.deadline);
    this.fence = { lock: this.files.lock, token: this.token };
    this.migratorName = `${request.target.projectName}-migrator-${this.id}`.toLowerCase();
    this.lease = new Lease(this.link, this.fence, request.policy.lockTtlMs, (error) => {
      this.log.error('lock', error.message);
      this.stop.abort(error);
    });
    context.signal?.addEventListener('abort', () => this.stop.abort(new CancelledError()), { once: true });
    if (context.signal?.aborted) this.stop.abort(new CancelledError());
    const halt = context.halt;
    halt?.addEventListener('abort', () => this.stop.abort(halt.reason), { once: true });
    if (halt?.aborted) this.stop.abort(halt.reason);
  }

  async run(): Promise<DeployOutcome> {
    await this.start();
    this.lease.start();
    const { release, target } = this.request;
    this.context.onBegun?.({
      id: this.id,
      environment: target.environment,
      sha: release.sha,
      appImage: release.appImage,
      migratorImage: release.migratorImage,
    });
    let outcome: DeployOutcome;
    try {
      await this.pull();
      if (this.strategy.steps.prepare)
        await this.step(this.strategy.steps.prepare, () => this.strategy.prepare());
      // On Swarm the accessories are services of the stack: `docker stack deploy` leaves an unchanged one alone.
      if (this.request.target.services.accessories.length > 0 && this.request.switching.strategy !== 'swarm')
        await this.accessories();
      if (this.request.release.runMigrations) await this.migrate();
      const holds = this.context.holds;
      if (holds) await this.hold('wait-turn', () => holds.beforeSwitch());
      await this.switchOver();
      await this.awaitReady();
      await this.awaitStable();
      if (this.strategy.steps.cutOver)
        await this.step(this.strategy.steps.cutOver, () => this.strategy.cutOver());
      if (holds) await this.hold('wait-all-hosts', () => holds.beforeCommit());
      outcome = await this.commit();
    } catch (error) {
      return await this.settle(error as Error);
    } finally {
      this.lease.stop();
    }
    await this.retire();
    return outcome;
  }

  /**
   * Waits for the rollout, holding the lock. No command runs meanwhile, so a connection lost now would
   * only show at the commit, after the lease had lapsed: it is watched, and reconnected at once.
   */
  private hold(name: string, wait: () => Promise<void>): Promise<void> {
    return this.step(name, async () => {
      const released = wait().then(() => 'released' as const);
      for (;;) {
        const watching = new AbortController();
        const event = await Promise.race([released, this.connectionLost(watching.signal)]).finally(() =>
          watching.abort(),
        );
        if (event === 'released') return;
        this.log.warn(name, 'the SSH connection was lost while waiting; reconnecting to keep the lock');
        await this.reconnect();
        this.lease.start();
      }
    });
  }

  /** Settles when the connection is found lost (a local check, no command), unless `signal` ends the watch. */
  private async connectionLost(signal: AbortSignal): Promise<'lost'> {
    while (!this.link.lost) {
      await pause(250, signal);
      if (signal.aborted) return new Promise(() => undefined);
    }
    return 'lost';
  }

  /**
   * After the commit the old app goes; whatever happens here, the release stays live. A connection
   * lost on the way is reconnected once and the retirement asked again: it is idempotent, and
   * otherwise the old container could keep running until the next deploy.
   */
  private async retire(): Promise<void> {
    const name = this.strategy.steps.retire;
    if (!name) return;
    for (let attempt = 1; ; attempt++) {
      try {
        const problem = await this.step(name, () => this.strategy.retire(this.stop.signal));
        if (problem) this.log.warn(name, problem);
        return;
      } catch (error) {
        if (this.stop.signal.aborted) {
          this.log.warn(
            name,
            'stopped waiting for the old app container to drain (the run was cancelled); it stops on the host by itself',
          );
          return;
        }
        if (attempt === 1 && isTransportFault(error)) {
          this.log.warn(name, `${error.message}; reconnecting to finish draining the old app container`);
          const reconnected = await this.reconnect().then(
            () => true,
            () => false,
          );
          if (reconnected) continue;
        }
        this.log.warn(name, `the old app container could not be drained: ${(error as Error).message}`);
        return;
      }
    }
  }

  /**
   * Runs a step; a cancellation or a lost lease ends the wait at once (the host command is left to
   * finish). A step `past the commit point` is never interrupted: once the record is sent, it lands.
   */
  private async step<T>(
    name: string,
    work: () => Promise<T>,
    { interruptible = true }: { interruptible?: boolean } = {},
  ): Promise<T> {
    if (this.stop.signal.aborted) throw this.stop.signal.reason;
    const began = Date.now();
    this.log.info(name, 'started');
    const running = work();
    this.inFlight = running.catch(() => undefined);
    let onStop: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      onStop = () => reject(this.stop.signal.reason);
      if (interruptible) this.stop.signal.addEventListener('abort', onStop, { once: true });
    });
    try {
      return await Promise.race([running, stopped]);
    } finally {
      this.stop.signal.removeEventListener('abort', onStop!);
      stopped.catch(() => undefined);
      this.steps.push({ step: name, ms: Date.now() - began });
    }
  }

  private projectIn(dir: string): ComposeProject {
    return {
      flavor: this.flavor!,
      projectName: this.request.target.projectName,
      composeFile: `${dir}/docker-compose.yml`,
      envFile: `${dir}/deploy.env`,
    };
  }

  private async start(): Promise<void> {
    const request = this.request;
    const args = {
      stateDir: this.files.stateDir,
      lockOwner: JSON.stringify({
        token: this.token,
        environment: request.target.environment,
        sha: request.release.sha,
        actor: request.run.actor,
        runId: request.run.runId,
        runUrl: request.run.runUrl,
        startedAt: this.startedAt.toISOString(),
      }),
      token: this.token,
      ttlSeconds: Math.ceil(request.policy.lockTtlMs / 1000),
      envFile: `${request.target.deployPath}/${request.target.envFileName}`,
      releaseDir: this.releaseDir,
      envFileName: request.target.envFileName,
      source: request.release.fromRelease
        ? { fromRelease: this.files.releaseDir(request.release.fromRelease) }
        : { composeText: request.release.composeFileContent ?? '' },
      deployEnv: deployEnvFile({
        APP_IMAGE: request.release.appImage,
        MIGRATOR_IMAGE: request.release.migratorImage,
        ENV_FILE: request.target.envFileName,
        DEPLOYER_ENVIRONMENT: request.target.environment,
        DEPLOYER_RELEASE: this.id,
        DEPLOYER_SHA: request.release.sha,
        ...request.release.deployEnv,
      }),
      currentLink: this.files.currentLink,
      extraFiles: request.switching.strategy === 'swarm' ? swarmReleaseFiles(request, request.switching) : [],
      images: [
        request.release.appImage,
        ...(request.release.runMigrations ? [request.release.migratorImage] : []),
      ],
    };
    // A Swarm manager deploys with `docker stack deploy`: Compose need not be there.
    const detecting =
      request.switching.strategy === 'swarm'
        ? Promise.resolve(undefined)
        : detectCompose(this.link, this.files.stateDir, request.target.composeCommand);
    detecting.catch(() => undefined);
    let waitedSince: number | undefined;
    let began: Awaited<ReturnType<typeof begin>> & { kind: 'begun' };
    try {
      began = await this.step('lock', async () => {
        for (;;) {
          const result = await begin(this.link, args);
          if (result.kind === 'begun') return result;
          if (waitedSince === undefined) {
            waitedSince = Date.now();
            this.log.info('lock', `waiting for the deploy lock held by ${describeLock(result.holder)}`);
          }
          if (Date.now() - waitedSince >= request.policy.lockWaitMs)
            throw new LockTimeoutError(Date.now() - waitedSince, result.holder);
          await pause(
            Math.min(LOCK_POLL_MS, request.policy.lockWaitMs - (Date.now() - waitedSince)),
            this.stop.signal,
          );
          if (this.stop.signal.aborted)
            throw new Error('Cancelled while waiting for the deploy lock; nothing was changed');
        }
      });
    } catch (error) {
      if (isTransportFault(error)) await this.abandonStart(error);
      else if (this.stop.signal.aborted) await this.undoBeginAfterStop();
      throw error;
    }
    this.phase = 'locked';
    if (began.tookOver) this.warnTakeover(began.tookOver);
    try {
      this.state = parseState(
        began.stateText ?? '',
        request.target.environment,
        `${this.link.where}:${this.files.stateDir}/state.json`,
        began.stateText !== undefined,
      );
      this.flavor = await detecting;
      if (request.switching.strategy === 'blue-green' && this.flavor && this.flavor.major < 2)
        throw new Error(
          `strategy: blue-green needs Docker Compose v2 on ${this.link.where}, which has ${this.flavor.command} v${this.flavor.major}`,
        );
    } catch (error) {
      if (isTransportFault(error)) {
        await this.abandonStart(error);
        throw error;
      }
      // Nothing was changed yet: give the lock back and leave no half-written release behind.
      await this.link.run(host.releaseLock(this.files.lock, this.token)).catch(() => undefined);
      await this.link.run(host.remove(this.releaseDir)).catch(() => undefined);
      throw error;
    }
    if (this.flavor) this.log.info('detect-compose', `using ${this.flavor.command} (v${this.flavor.major})`);
    this.project = this.projectIn(this.releaseDir);
    this.previous = this.state.current;
    this.previousProject = this.previousRelease(began.current);
    this.imagesPresent = began.imagesPresent;
    const context = {
      link: this.link,
      fence: this.fence,
      log: this.log,
      request,
      releaseId: this.id,
      releaseDir: this.releaseDir,
      project: this.project,
      previous: this.previousProject ? { record: this.previous, project: this.previousProject } : undefined,
    };
    this.strategy =
      request.switching.strategy === 'blue-green'
        ? new BlueGreenStrategy(context)
        : request.switching.strategy === 'swarm'
          ? new SwarmStrategy(context)
          : new RecreateStrategy(context);
  }

  private warnTakeover(holder: LockInfo): void {
    this.log.warn('lock', `took over an expired deploy lock held by ${describeLock(holder)}`);
  }

  /** The release that runs now: the current link's folder, or wave 1's files in the deploy path. */
  private previousRelease(current: string): ComposeProject | undefined {
    if (current) return this.projectIn(`${this.request.target.deployPath}/${current}`);
    if (this.state.current)
      return {
        flavor: this.flavor!,
        projectName: this.request.target.projectName,
        composeFile: this.files.legacyCompose,
        envFile: this.files.legacyEnv,
      };
    return undefined;
  }

  private reconnect(): Promise<void> {
    return this.link.reconnect((attempt, error) =>
      this.log.info(
        'reconnect',
        error ? `attempt ${attempt} failed: ${error.message}` : `reconnected (attempt ${attempt})`,
      ),
    );
  }

  /**
   * Cancelled while `begin` ran on the host: it may still take the lock and write the release folder.
   * Wait for its answer (within the cancel budget) and undo what it did.
   */
  private async undoBeginAfterStop(): Promise<void> {
    const result = (await within(this.inFlight, CANCEL_BUDGET_MS - 1_500)) as BeginResult | undefined;
    if (result?.kind !== 'begun') return;
    this.log.info('lock', 'the lock was taken as the cancel arrived: giving it back');
    await this.link
      .run(host.releaseLock(this.files.lock, this.token), { timeoutMs: 2_000 })
      .catch(() => undefined);
    await this.link.run(host.remove(this.releaseDir), { timeoutMs: 2_000 }).catch(() => undefined);
  }

  /** The connection broke while taking the lock: whatever the host did, give the lock back if it is ours. */
  private async abandonStart(error: Error): Promise<void> {
    this.log.error('lock', `${error.message}; reconnecting to release the lock if it was taken`);
    try {
      await this.reconnect();
      await this.link.run(host.releaseLock(this.files.lock, this.token), { timeoutMs: 10_000 });
      await this.link.run(host.remove(this.releaseDir), { timeoutMs: 10_000 });
    } catch (cleanup) {
      this.log.error('lock', `could not clean up: ${(cleanup as Error).message}`);
    }
  }

  private async pull(): Promise<void> {
    const request = this.request;
    const pinned = [request.release.appImage, request.release.migratorImage].every((image) =>
      pinnedDigest(image),
    );
    if (this.imagesPresent && pinned) {
      this.log.info('pull', 'both pinned images are already on the host; no registry round trip');
      return;
    }
    const services = [
      request.target.services.app,
      ...(request.release.runMigrations ? [request.target.services.migrator] : []),
      ...request.target.services.accessories,
    ];
    const pull = this.strategy.pullCommand?.() ?? compose.pull(this.project, services);
    const argv = request.registry
      ? host.withRegistryLogin(
          this.fence,
          this.files.loginDir(this.token),
          request.registry,
          pull,
          this.releaseDir,
        )
      : host.fenced(this.fence, pull, this.releaseDir);
    const result = await this.step('pull', () =>
      this.link.run(argv, { stdin: request.registry?.password, check: false }),
    );
    if (result.code !== 0)
      throw hostCommandFailure('pull', result, (stderr) => `pull failed: ${describePullFailure(stderr)}`);
  }

  private async accessories(): Promise<void> {
    const argv = host.fenced(
      this.fence,
      compose.ensureRunning(this.project, this.request.target.services.accessories),
      this.releaseDir,
    );
    const result = await this.step('accessories', () => this.link.run(argv, { check: false }));
    if (result.code !== 0)
      throw hostCommandFailure(
        'other',
        result,
        (stderr) =>
          `starting ${this.request.target.services.accessories.join(', ')} failed: ${lastLines(stderr, 10)}`,
      );
  }

  private async migrate(): Promise<void> {
    const migrator = this.migrator();
    await this.step('migrate', async () => {
      for (;;) {
        try {
          await migrator.start();
          break;
        } catch (error) {
          if (!(error instanceof MigratorBusyError)) throw error;
          this.log.warn(
            'migrate',
            `${error.message}; waiting for it to end before migrating (two migrations never run at once)`,
          );
          for (const name of error.names) {
            const code = await migrator.awaitEarlier(name, this.request.policy.lockWaitMs);
            this.log.info('migrate', `the earlier migration ${name} ended with exit code ${code}`);
          }
        }
      }
      this.migration = 'running';
      const exitCode = await migrator.waitForExit({
        onOutput: this.log.stream('migrate'),
        signal: this.stop.signal,
      });
      await this.finishMigration(exitCode, { removeLater: true });
    });
  }

  /** This deploy's migrator run, made once: it remembers what it learnt (Swarm: the job's error) for the record. */
  private migrator(): Migrator {
    this.migratorRun ??=
      this.strategy.migrator?.(this.migratorName) ??
      new ContainerMigrator(
        this.link,
        this.fence,
        this.project,
        this.request.target.services.migrator,
        this.migratorName,
        this.releaseDir,
      );
    return this.migratorRun;
  }

  private async finishMigration(exitCode: number, { removeLater = false } = {}): Promise<void> {
    this.migration = exitCode === 0 ? 'succeeded' : 'failed';
    const migrator = this.migrator();
    let tail = '';
    if (exitCode !== 0) tail = await migrator.logTail(20);
    const removing = migrator.remove();
    // A finished migrator is removed while the switch goes on (awaited before the record).
    if (removeLater) this.background.push(removing.catch(() => undefined));
    else await removing;
    if (exitCode !== 0)
      throw new AppFailure(
        `the migrator exited with code ${exitCode}${tail.trim() ? `:\n${lastLines(tail, 15)}` : ''}`,
        'migration',
      );
  }

  private async switchOver(): Promise<void> {
    this.phase = 'switching';
    await this.step(this.strategy.steps.launch, () => this.strategy.launch());
    this.phase = 'switched';
  }

  private async awaitReady(): Promise<void> {
    const converge = this.strategy.converge?.bind(this.strategy);
    if (converge) {
      this.readiness = await this.step('converge', () => converge(this.stop.signal));
      return;
    }
    const context = { executor: this.link, log: this.log, signal: this.stop.signal };
    const watched = this.strategy.watched!();
    const readiness = await this.step('ready', () =>
      waitForNewRelease(this.request.readiness.settings, context, watched),
    );
    this.readiness = readiness;
    if (!readiness.ready) {
      const tail = await watched.logTail(this.link).catch(() => '');
      throw new AppFailure(readiness.reason ?? 'the new release did not answer ready', 'not-ready', tail);
    }
    this.log.info(
      'ready',
      `ready after ${readiness.attempts} attempt(s), ${readiness.timeToReadyMs ?? readiness.elapsedMs} ms`,
    );
  }

  private async awaitStable(): Promise<void> {
    if (!this.strategy.watched) return; // converged: the platform's own monitor window was the stability watch
    const watched = this.strategy.watched();
    const verdict = await this.step('stable', () =>
      watchStability(this.link, watched, this.request.policy.readyStableForMs, this.stop.signal, (message) =>
        this.log.warn('stable', message),
      ),
    );
    if (!verdict.stable) {
      const tail = await watched.logTail(this.link).catch(() => '');
      throw new AppFailure(verdict.reason, 'unstable', tail);
    }
  }

  private async commit(): Promise<DeployOutcome> {
    this.phase = 'committing';
    await Promise.all(this.background.splice(0));
    const prepared = this.prepareRecord('success', {}, this.files.linkTarget(this.id));
    try {
      const outcome = await this.step('commit', () => this.writeRecord(prepared), { interruptible: false });
      if (this.stop.signal.aborted)
        this.log.warn('commit', 'the cancel came after the commit point: the release stays live');
      this.phase = 'committed';
      this.log.info('done', `release ${this.id} is live`, {
        durationMs: outcome.release.durationMs,
        steps: this.steps.map((s) => `${s.step} ${s.ms}ms`).join(', '),
      });
      return outcome;
    } catch (error) {
      if (!isTransportFault(error)) throw error;
      // Past the commit point nothing is reverted: find out whether the record landed, then finish.
      this.log.error(
        'commit',
        `${error.message} while committing; reconnecting to see whether the commit landed`,
      );
      await this.reconnect();
      const { stdout } = await this.link.run(host.readState(`${this.files.stateDir}/state.json`));
      if (!stdout.includes(JSON.stringify(prepared.release.finishedAt))) {
        if (!this.context.holds) throw error;
        // In a rollout the other hosts are committing this release now: undoing this one would split
        // the fleet. It was ready and stable, so it commits again (the record command checks the lease).
        this.log.warn('commit', 'the record had not landed: committing again over the new connection');
        const outcome = await this.writeRecord(prepared);
        this.phase = 'committed';
        return outcome;
      }
      this.phase = 'committed';
      const stillOurs = await this.link.run(host.fenced(this.fence, ['true']), {
        check: false,
      });
      // The same record again finishes what the lost command left undone (link, prune, unlock); it adds nothing twice.
      if (stillOurs.code === 0) return await this.writeRecord(prepared);
      this.log.info('commit', 'the commit had landed completely before the connection was lost');
      return this.outcomeOf(prepared.release, prepared.state);
    }
  }

  /** Writes the attempt's record (and unlocks, prunes, moves the current link on success) in one command. */
  private async record(status: ReleaseStatus, extra: Partial<ReleaseRecord>): Promise<DeployOutcome> {
    await Promise.all(this.background.splice(0));
    return this.writeRecord(this.prepareRecord(status, extra, ''));
  }

  private prepareRecord(status: ReleaseStatus, extra: Partial<ReleaseRecord>, currentTarget: string) {
    const finishedAt = this.now();
    const request = this.request;
    const release: ReleaseRecord = {
      id: this.id,
      environment: request.target.environment,
      kind: request.release.kind,
      sha: request.release.sha,
      appImage: request.release.appImage,
      migratorImage: request.release.migratorImage,
      status,
      migrated: this.migration === 'succeeded',
      migration: this.migration,
      ...(this.migration !== 'not-run' ? { migratorContainer: this.migrator().name } : {}),
      projectName: request.target.projectName,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - this.startedAt.getTime(),
      actor: request.run.actor,
      runUrl: request.run.runUrl,
      host: this.link.where,
      previousReleaseId: this.previous?.id,
      promotedFrom: request.release.promotedFrom,
      rolledBackTo: request.release.rolledBackTo,
      ...this.strategy?.recordFields(),
      ...extra,
    };
    const state = recordRelease(this.state, release);
    const prune = prunePlan(state, request.policy.keepReleases);
    const argv = host.record({
      stateDir: this.files.stateDir,
      token: this.token,
      auditLine: auditLine(release),
      auditCapBytes: AUDIT_CAP_BYTES,
      currentTarget,
      currentLink: this.files.currentLink,
      loginDir: this.files.loginDir(this.token),
      keepReleaseIds: prune.keepReleaseIds,
      pruneImages: prune.images,
    });
    return { release, state, argv, stdin: `${JSON.stringify(state, null, 2)}\n` };
  }

  private async writeRecord(prepared: ReturnType<Deployment['prepareRecord']>): Promise<DeployOutcome> {
    const result = await this.link.run(prepared.argv, {
      stdin: prepared.stdin,
      check: false,
      timeoutMs: 30_000,
    });
    if (result.code === EXIT.leaseLost) throw new LeaseLostError(result.stderr.trim());
    if (!result.stdout.includes('recorded'))
      throw new Error(
        `could not record the attempt in ${this.files.stateDir}/state.json: ${lastLines(result.stderr, 5)}`,
      );
    const auditFailure = /^audit-failed (.*)$/m.exec(result.stdout);
    if (auditFailure)
      this.log.warn(
        'record',
        `the attempt is recorded in state.json, but audit.log could not be appended: ${auditFailure[1]}`,
      );
    if (!result.stdout.includes('unlocked')) this.log.warn('lock', 'the deploy lock could not be removed');
    this.lease.stop();
    return this.outcomeOf(prepared.release, prepared.state);
  }

  private outcomeOf(release: ReleaseRecord, state: DeployState): DeployOutcome {
    return {
      release,
      previous: this.previous,
      state,
      steps: this.steps,
      readiness: this.readiness,
      composeFlavor: this.flavor,
    };
  }

  /**
   * Something went wrong before the commit: find out what the host did (reconnecting after a
   * transport fault), undo the switch, record the attempt truthfully and release the lock.
   */
  private async settle(error: Error): Promise<never> {
    this.lease.stop();
    const cancelled = error instanceof CancelledError;
    const halted = error instanceof RolloutHaltedError;
    // Undoing and recording get time of their own, even when deploy-timeout is what ran out.
    const settleBy = cancelled
      ? Date.now() + CANCEL_BUDGET_MS
      : Math.max(this.deadline, Date.now() + SETTLE_MS);
    this.link.extendDeadline(settleBy + (cancelled ? 0 : 30_000));
    if (error instanceof LeaseLostError) {
      throw new Error(
        `Deploy of ${this.id} stopped: ${error.message}. Another deploy owns the environment now, so this one neither undid nor recorded anything.`,
      );
    }
    const reasons: string[] = [];
    const transport = isTransportFault(error);
    if (transport) reasons.push(`${error.message} during ${this.steps.at(-1)?.step ?? 'the deploy'}`);
    else if (cancelled) reasons.push('the run was cancelled');
    else if (halted) reasons.push(`the rollout halted: ${(error as Error).message}`);
    else reasons.push((error as Error).message);
    // A step may fail for its own reason while the connection is gone too (readiness through a dead tunnel).
    if (transport || this.link.lost) {
      const cause = transport ? error.message : 'the SSH connection was lost';
      this.log.error('connection', `${cause}; reconnecting to find out what happened`);
      try {
        await this.reconnect();
      } catch (reconnectError) {
        throw new Error(
          `Deploy of ${this.id} lost its connection to the host during ${this.steps.at(-1)?.step} (${cause}) and ${(reconnectError as Error).message}. ` +
            `What the host finished is unknown and nothing was recorded; the deploy lock expires by itself within lock-ttl (${Math.round(this.request.policy.lockTtlMs / 1000)} s).`,
        );
      }
      this.lease.start();
    }
    const appFailure = error instanceof AppFailure ? error : undefined;

    if (this.migration === 'running' || (isTransportFault(error) && this.steps.at(-1)?.step === 'migrate')) {
      reasons.push(await this.settleMigrator(cancelled, settleBy));
    }

    let restored: boolean | undefined;
    if (this.phase === 'switching' || this.phase === 'switched' || this.phase === 'committing') {
      if (this.phase === 'switching' && cancelled) await within(this.inFlight, 1_500);
      // Halted mid-launch: the launch goes on on the host; undo it once it is done.
      if (this.phase === 'switching' && halted) await within(this.inFlight, settleBy - Date.now());
      const outcome = await this.revert(settleBy);
      restored = outcome.restored;
      reasons.push(outcome.message);
    } else if (this.phase !== 'starting') {
      reasons.push('the running app was not touched');
    }

    const untouched = this.phase === 'locked';
    const status: ReleaseStatus =
      cancelled || (halted && untouched) ? 'cancelled' : restored ? 'rolled_back' : 'failed';
    const reason = reasons.join('; ');
    this.log[status === 'failed' ? 'error' : 'warn']('record', `recording ${status}: ${reason}`);
    let outcome: DeployOutcome;
    try {
      outcome = await this.record(status, {
        reason,
        ...(appFailure?.logTail ? { logTail: appFailure.logTail } : {}),
      });
    } catch (recordError) {
      throw new Error(
        `Deploy of ${this.id} failed (${reason}) and could not be recorded: ${(recordError as Error).message}`,
      );
    }
    throw new DeployFailedError(this.failureMessage(error, status, reason), outcome);
  }

  private failureMessage(error: Error, status: ReleaseStatus, reason: string): string {
    if (error instanceof RolloutHaltedError)
      return `Deploy of ${this.id} stopped (${status === 'rolled_back' ? 'rolled back' : status}): ${reason}.`;
    if (status === 'cancelled') return `Deploy of ${this.id} was cancelled: ${reason}.`;
    if (error instanceof AppFailure && error.kind === 'migration')
      return `The migrator failed, so release ${this.id} was not started; the running app is untouched.\n${error.message}`;
    if (status === 'rolled_back')
      return `Release ${this.id} was rolled back to ${this.previous?.id ?? 'the previous release'}: ${reason}.`;
    if (!this.previous && (this.phase === 'switching' || this.phase === 'switched'))
      return `Release ${this.id} was not ready: ${reason}. This was the first deploy here, so the new app was stopped and removed.`;
    return `Deploy of ${this.id} failed: ${reason}`;
  }

  /** After a cancel the migrator keeps running (recorded as such); after a lost connection we wait for its end. */
  private async settleMigrator(cancelled: boolean, settleBy: number): Promise<string> {
    const migrator = this.migrator();
    const status = await migrator.status().catch(() => undefined);
    if (!status) {
      this.migration = this.migration === 'running' ? 'unknown' : 'not-run';
      return this.migration === 'unknown'
        ? `the migrator ${migrator.description} is gone; whether it finished is unknown`
        : 'the migrator had not started';
    }
    this.migration = 'running';
    if (status.running && cancelled) {
      return `the migration is still running in ${migrator.description}; the next deploy waits for it before migrating`;
    }
    try {
      const exitCode = status.running
        ? await migrator.waitForExit({ timeoutMs: Math.max(1_000, settleBy - Date.now()) })
        : status.exitCode;
      await this.finishMigration(exitCode).catch(() => undefined);
      return exitCode === 0
        ? 'the migrator finished successfully (migrations applied)'
        : `the migrator failed with exit code ${exitCode}`;
    } catch {
      return `the migration is still running in ${migrator.description}; the next deploy waits for it before migrating`;
    }
  }

  /** Undoes the launch (and the cut-over): the strategy puts back what served before. */
  private async revert(settleBy: number): Promise<{ restored: boolean; message: string }> {
    this.log.warn(
      'rollback',
      this.previousProject
        ? `restoring ${this.previous?.id ?? 'the previous release'}`
        : 'removing the new app (first deploy here)',
    );
    const began = Date.now();
    try {
      return await this.strategy.revert(settleBy);
    } catch (error) {
      const message = `restoring the previous release failed: ${(error as Error).message}`;
      this.log.error('rollback', message);
      return { restored: false, message };
    } finally {
      this.steps.push({ step: 'rollback', ms: Date.now() - began });
    }
  }
}

function within(promise: Promise<unknown> | undefined, ms: number): Promise<unknown> {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}
