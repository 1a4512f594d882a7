import { host } from '../commands/host.js';
import { swarm } from '../commands/swarm.js';
import type { StrategyContext } from '../deploy/strategy.js';
import { MigratorBusyError } from '../deploy/host-steps.js';
import type { Migrator, MigratorStatus } from '../deploy/migrator.js';
import { pause } from '../pause.js';
import { jobOutcome, type StackView } from './services.js';
import { SWARM_FILES } from './stack-files.js';
import { deployStackFile, observeStack, serviceLogTail } from './stack.js';

const POLL_MS = 500;

/**
 * The Swarm migrator: the release's migrate.yml deployed on its own, a `replicated-job` service of
 * the stack (on the stack's networks and volumes), waited for before any app service updates, then
 * removed. Swarm keeps running it when the deploy's connection is lost or the run is cancelled.
 */
export class SwarmJobMigrator implements Migrator {
  readonly name: string;
  private error: string | undefined;

  constructor(
    private readonly context: StrategyContext,
    service: string,
  ) {
    this.name = `${context.request.target.projectName}_${service}`;
  }

  get description(): string {
    return `Swarm job ${this.name}`;
  }

  async start(): Promise<void> {
    const outcome = await this.outcomeOf(this.name);
    if (outcome === 'running') throw new MigratorBusyError([this.name]);
    if (outcome) await this.remove(); // a finished job from an earlier release: a new service runs the job again
    await deployStackFile(this.context, SWARM_FILES.migrate);
  }

  async waitForExit({
    onOutput,
    timeoutMs,
    signal,
  }: { onOutput?: (chunk: string) => void; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number> {
    const exitCode = await this.waitFor(this.name, timeoutMs, signal);
    if (onOutput) onOutput(`${await serviceLogTail(this.context.link, this.name, 1_000)}\n`);
    return exitCode;
  }

  async awaitEarlier(name: string, timeoutMs: number): Promise<number> {
    const code = await this.waitFor(name, timeoutMs);
    await this.context.link.run(swarm.remove(name), { check: false });
    return code;
  }

  async status(): Promise<MigratorStatus> {
    const outcome = await this.outcomeOf(this.name);
    if (!outcome) return undefined;
    return outcome === 'running' ? { running: true } : { running: false, exitCode: outcome.exitCode };
  }

  async logTail(lines: number): Promise<string> {
    const logs = await serviceLogTail(this.context.link, this.name, lines);
    return this.error ? `${logs}\nSwarm: ${this.error}` : logs;
  }

  async remove(): Promise<void> {
    await this.context.link.run(host.fenced(this.context.fence, swarm.remove(this.name)), { check: false });
  }

  private async waitFor(name: string, timeoutMs?: number, signal?: AbortSignal): Promise<number> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      const outcome = await this.outcomeOf(name);
      if (outcome === undefined) throw new Error(`the migrator job ${name} is gone from the swarm`);
      if (outcome !== 'running') {
        this.error = outcome.error;
        return outcome.exitCode;
      }
      if (Date.now() >= deadline)
        throw new Error(`the migrator job ${name} did not end within ${timeoutMs} ms`);
      await pause(POLL_MS, signal);
      if (signal?.aborted) throw signal.reason;
    }
  }

  /** undefined: no such job; `running`; or how it ended. */
  private async outcomeOf(name: string) {
    const view: StackView = await observeStack(this.context.link, this.context.request.target.projectName);
    const service = view.services.find((candidate) => candidate.name === name);
    if (!service) return undefined;
    const outcome = jobOutcome(view.tasks.filter((task) => task.serviceId === service.id));
    return outcome ?? ('running' as const);
  }
}
