import { host } from '../commands/host.js';
import { lastLines } from '../exec/executor.js';
import { swarm } from '../commands/swarm.js';
import { AppFailure } from '../deploy/failures.js';
import type { Migrator } from '../deploy/migrator.js';
import type { StrategyContext, SwitchStrategy } from '../deploy/strategy.js';
import { pause } from '../pause.js';
import { describeFailure, endpointCheck, waitUntilReady, type ReadinessResult } from '../readiness/index.js';
import { SwarmJobMigrator } from './job-migrator.js';
import {
  restoredProgress,
  serviceProgress,
  taskNamedBy,
  updateSince,
  type ServiceProgress,
  type StackView,
  type SwarmService,
  type WantedSpec,
} from './services.js';
import { SWARM_FILES } from './stack-files.js';
import { deployStackFile, observeStack, serviceLogTail } from './stack.js';

const POLL_MS = 1_000;

/**
 * `target: swarm`: the release is the stack file deployed on a Swarm manager. Swarm replaces each
 * service's tasks start-first and rolls a failed service back by itself; deployer watches every
 * service until the update converged and, when one fails, rolls back the whole stack.
 */
export class SwarmStrategy implements SwitchStrategy {
  readonly steps = { prepare: 'swarm-manager', launch: 'stack-deploy' };
  private readonly stack: string;
  /** The stack's services before the deploy (undefined until looked at). */
  private before: Map<string, SwarmService> | undefined;
  /** What the deploy set, per service of the stack. */
  private readonly wanted = new Map<string, WantedSpec>();
  private since: number | undefined;

  constructor(private readonly context: StrategyContext) {
    this.stack = context.request.target.projectName;
  }

  /** Swarm commands only work on a manager: say so before anything changes. */
  async prepare(): Promise<void> {
    const { link } = this.context;
    const result = await link.run(swarm.nodeState(), { check: false, timeoutMs: 30_000 });
    const [state = '', manager = ''] = result.stdout.trim().split(' ');
    if (state === 'active' && manager === 'true') return;
    const what =
      state === 'active'
        ? 'a worker node, not a manager'
        : `not part of a swarm (${state || result.stderr.trim() || 'docker info failed'})`;
    throw new Error(
      `target: swarm deploys through a Swarm manager, and ${link.where} is ${what}. Point the SSH connection at a manager (or run \`docker swarm init\` there).`,
    );
  }

  pullCommand(): string[] {
    const { release } = this.context.request;
    return swarm.pull([release.appImage, ...(release.runMigrations ? [release.migratorImage] : [])]);
  }

  migrator(): Migrator {
    return new SwarmJobMigrator(this.context, this.context.request.target.services.migrator);
  }

  async launch(): Promise<void> {
    const before = await this.observe();
    this.before = new Map(before.services.map((service) => [service.name, service]));
    this.since = await deployStackFile(this.context, SWARM_FILES.stack);
    const after = await this.observe();
    const changed: string[] = [];
    for (const service of after.services) {
      if (service.job) continue;
      this.wanted.set(service.name, { image: service.image, since: this.since });
      if (this.before.get(service.name)?.spec !== service.spec) changed.push(service.name);
    }
    const unchanged = [...this.wanted.keys()].filter((name) => !changed.includes(name));
    this.context.log.info(
      'stack-deploy',
      `${changed.length ? `updating ${changed.join(', ')}` : 'no service changed'}${unchanged.length ? `; unchanged: ${unchanged.join(', ')}` : ''}`,
    );
  }

  /** Follows every service of the stack until its update converged, within ready-timeout. */
  async converge(signal: AbortSignal): Promise<ReadinessResult> {
    const { request, log, link } = this.context;
    const began = Date.now();
    const timeoutMs = request.readiness.settings.timeoutMs;
    let attempts = 0;
    let reported = '';
    for (;;) {
      attempts += 1;
      const view = await this.observe();
      const progress = this.progress(view);
      const failed = progress.find(({ state }) => state.kind === 'failed');
      if (failed && failed.state.kind === 'failed')
        throw new AppFailure(failed.state.reason, 'not-ready', await this.failureTail(failed.name, view));
      const waiting = progress.flatMap(({ name, state }) =>
        state.kind === 'waiting' ? [`${name}: ${state.detail}`] : [],
      );
      if (waiting.length === 0) break;
      const report = waiting.join('; ');
      if (report !== reported) log.info('converge', report);
      reported = report;
      if (Date.now() - began >= timeoutMs) {
        const name = progress.find(({ state }) => state.kind === 'waiting')!.name;
        throw new AppFailure(
          `the stack did not converge within ready-timeout (${Math.round(timeoutMs / 1000)} s): ${report}`,
          'not-ready',
          await serviceLogTail(link, name),
        );
      }
      await pause(POLL_MS, signal);
      if (signal.aborted) throw signal.reason;
    }
    const convergedMs = Date.now() - began;
    log.info('converge', `every service of ${this.stack} runs the new spec (${convergedMs} ms)`);
    const endpoint = request.readiness.endpoint;
    if (!endpoint)
      return { ready: true, attempts, history: [], timeToReadyMs: convergedMs, elapsedMs: convergedMs };
    const http = await waitUntilReady({
      ...request.readiness.settings,
      timeoutMs: Math.max(1_000, timeoutMs - convergedMs),
      ...endpointCheck(endpoint, link),
      signal,
    });
    if (!http.ready) throw new AppFailure(describeFailure(http), 'not-ready');
    log.info(
      'converge',
      `and ready over HTTP after ${http.attempts} attempt(s), ${http.timeToReadyMs ?? http.elapsedMs} ms`,
    );
    return http;
  }

  async cutOver(): Promise<void> {}

  async retire(): Promise<undefined> {
    return undefined;
  }

  /**
   * Puts the whole stack back: services this deploy created are removed; services it updated go back
   * to their previous spec (Swarm's rollback; one Swarm already rolls back is left to it). Waits until
   * they run it again.
   */
  async revert(settleBy: number): Promise<{ restored: boolean; message: string }> {
    const { link, fence, log, previous } = this.context;
    if (!this.before) return { restored: true, message: 'the stack was not deployed; nothing to undo' };
    const now = await this.observe();
    const created: string[] = [];
    const reverting: SwarmService[] = [];
    for (const service of now.services) {
      if (service.job) continue;
      const earlier = this.before.get(service.name);
      if (!earlier) {
        created.push(service.name);
        continue;
      }
      // Swarm already puts a failed service back by itself (its spec reverts as the rollback starts).
      const swarmRollsBack = updateSince(service, this.since ?? 0)?.state.startsWith('rollback');
      if (swarmRollsBack) reverting.push(earlier);
      else if (earlier.spec !== service.spec) {
        reverting.push(earlier);
        await link.run(host.fenced(fence, swarm.rollback(service.name)));
        log.info('rollback', `${service.name}: Swarm rolls back to its previous spec`);
      }
    }
    if (created.length > 0) {
      await link.run(host.fenced(fence, swarm.remove(...created)));
      log.info('rollback', `removed ${created.join(', ')} (created by this deploy)`);
    }
    const removedNote = created.length ? `; removed ${created.join(', ')} (new in this release)` : '';
    // Nothing had changed: the previous release's services run as they did (the new services are gone).
    if (reverting.length === 0)
      return {
        restored: Boolean(previous),
        message: previous
          ? `no service of the previous release had changed: it runs as it did${removedNote}`
          : `first deploy here: the stack's new services were removed${removedNote ? '' : ' (there were none)'}`,
      };
    let waiting: string[] = [];
    for (;;) {
      const view = await this.observe();
      waiting = reverting.flatMap((earlier) => {
        const service = view.services.find((candidate) => candidate.name === earlier.name);
        if (!service) return [`${earlier.name} is gone`];
        const state = restoredProgress(service, view.tasks, earlier.containerSpec);
        return state.kind === 'converged' ? [] : [state.kind === 'waiting' ? state.detail : state.reason];
      });
      if (waiting.length === 0) break;
      if (Date.now() + POLL_MS >= settleBy) break;
      await pause(POLL_MS);
    }
    const names = reverting.map((service) => service.name).join(', ');
    const restored = waiting.length === 0;
    const message = restored
      ? `${names} run${reverting.length === 1 ? 's' : ''} the previous spec again${previous?.record ? ` (${previous.record.id})` : ''}${removedNote}`
      : `the previous spec is not back everywhere yet (${waiting.join('; ')}); Swarm goes on restoring it${removedNote}`;
    log[restored ? 'info' : 'error']('rollback', message);
    return { restored, message };
  }

  /** The failed service's last log lines, and the healthcheck answers of the task its update names. */
  private async failureTail(name: string, view: StackView): Promise<string> {
    const { link } = this.context;
    const logs = await serviceLogTail(link, name);
    const message = view.services.find((service) => service.name === name)?.update?.message ?? '';
    const task = taskNamedBy(message, view.tasks);
    if (!task?.containerId) return logs;
    const health = await link.run(swarm.healthLog(task.containerId), { check: false, timeoutMs: 30_000 });
    const answers = lastLines(health.stdout, 5).trim();
    return answers
      ? `${logs}\nhealthcheck of task ${task.id.slice(0, 12)} (exit code, output):\n${answers}`
      : logs;
  }

  recordFields() {
    return {
      strategy: 'swarm' as const,
      services: Object.fromEntries([...this.wanted].map(([name, spec]) => [name, spec.image])),
    };
  }

  private observe(): Promise<StackView> {
    return observeStack(this.context.link, this.stack);
  }

  private progress(view: StackView): Array<{ name: string; state: ServiceProgress }> {
    return [...this.wanted].map(([name, wanted]) => {
      const service = view.services.find((candidate) => candidate.name === name);
      const state: ServiceProgress = service
        ? serviceProgress(service, view.tasks, wanted)
        : { kind: 'failed', reason: `${name} is no longer in the stack` };
      return { name, state };
    });
  }
}
