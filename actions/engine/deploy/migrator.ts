import type { ComposeProject } from '../commands/compose.js';
import { docker } from '../commands/docker.js';
import type { Fence } from '../commands/host.js';
import type { Executor } from '../exec/executor.js';
import { migratorStatus, startMigrator, waitForContainer } from './host-steps.js';

export type MigratorStatus = { running: true } | { running: false; exitCode: number } | undefined;

/**
 * One release's migrator run, wherever it runs: a named one-off container (Compose) or a one-off job
 * service (Swarm). Its status and output outlive the deploy's connection.
 */
export interface Migrator {
  /** What the record calls the run (a container or a service). */
  readonly name: string;
  /** The run in words: `container <name>`, `Swarm job <name>`. */
  readonly description: string;
  /** Starts the run; throws MigratorBusyError while an earlier run of the environment goes on. */
  start(): Promise<void>;
  /** Resolves the exit code once the run ended; its output goes to `onOutput` meanwhile (or at the end). */
  waitForExit(options?: {
    onOutput?: (chunk: string) => void;
    timeoutMs?: number;
    signal?: AbortSignal;
  }): Promise<number>;
  /** An earlier run (MigratorBusyError names it) to wait for: its exit code, then it is removed. */
  awaitEarlier(name: string, timeoutMs: number): Promise<number>;
  status(): Promise<MigratorStatus>;
  logTail(lines: number): Promise<string>;
  remove(): Promise<void>;
}

/** The Compose migrator: `compose run --detach --name <name>`, then `docker wait` while its logs stream. */
export class ContainerMigrator implements Migrator {
  constructor(
    private readonly link: Executor,
    private readonly fence: Fence,
    private readonly project: ComposeProject,
    private readonly service: string,
    readonly name: string,
    private readonly cwd: string,
  ) {}

  get description(): string {
    return `container ${this.name}`;
  }

  start(): Promise<void> {
    return startMigrator(this.link, this.fence, this.project, this.service, this.name, this.cwd);
  }

  async waitForExit({
    onOutput,
    timeoutMs,
  }: { onOutput?: (chunk: string) => void; timeoutMs?: number } = {}) {
    // Logs stream while `docker wait` waits: the exit code is there the moment the output ends.
    const following = onOutput
      ? this.link.run(docker.followLogs(this.name), { onStdout: onOutput, onStderr: onOutput, check: false })
      : undefined;
    following?.catch(() => undefined); // when `docker wait` fails first, its own error is the one reported
    const exitCode = await waitForContainer(this.link, this.name, timeoutMs);
    await following;
    return exitCode;
  }

  async awaitEarlier(name: string, timeoutMs: number): Promise<number> {
    const code = await waitForContainer(this.link, name, timeoutMs);
    await this.link.run(docker.removeContainer(name), { check: false });
    return code;
  }

  status(): Promise<MigratorStatus> {
    return migratorStatus(this.link, this.name);
  }

  async logTail(lines: number): Promise<string> {
    return (await this.link.run(docker.logTail(this.name, lines), { check: false })).stdout;
  }

  async remove(): Promise<void> {
    await this.link.run(docker.removeContainer(this.name), { check: false });
  }
}
