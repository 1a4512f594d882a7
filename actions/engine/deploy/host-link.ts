import type { Duplex } from 'node:stream';
import type { CommandResult, Executor, HostExecutor, RunOptions, Tunnel } from '../exec/executor.js';
import { ConnectionLostError, CommandTimeoutError } from '../exec/ssh.js';
import { pause } from '../pause.js';

/** Reconnect attempts after a lost connection: waits before each, then a connect of its own deadline. */
const RECONNECT_DELAYS_MS = [0, 1_000, 3_000];

/** A transport fault: the connection is gone or the host stopped answering. Not the command's own failure. */
export function isTransportFault(error: unknown): error is ConnectionLostError | CommandTimeoutError {
  return error instanceof ConnectionLostError || error instanceof CommandTimeoutError;
}

/**
 * The deploy's way to the host: the current connection, and a bounded reconnect to find out what
 * happened after a transport fault. Every command gets a deadline (the deploy's remaining time by default).
 */
export class HostLink implements Executor, Tunnel {
  private extendedTo = 0;

  constructor(
    private executor: HostExecutor,
    private readonly reconnectWith: (() => Promise<HostExecutor>) | undefined,
    private readonly deadline: () => number,
  ) {}

  /** Lets commands run until `at` even past the deploy's deadline (to undo and record). */
  extendDeadline(at: number): void {
    this.extendedTo = Math.max(this.extendedTo, at);
  }

  get lost(): boolean {
    return this.executor.lost === true;
  }

  get where(): string {
    return this.executor.where;
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const remaining = Math.max(1, Math.max(this.deadline(), this.extendedTo) - Date.now());
    return this.executor.run(argv, {
      ...options,
      timeoutMs: Math.min(options.timeoutMs ?? remaining, remaining),
    });
  }

  openTunnel(host: string, port: number): Promise<Duplex> {
    if (!this.executor.openTunnel)
      throw new Error('a readiness check through the host needs an SSH connection');
    return this.executor.openTunnel(host, port);
  }

  /** Replaces the connection; fails after the last attempt with the last reason. */
  async reconnect(onAttempt: (attempt: number, error?: Error) => void): Promise<void> {
    if (!this.reconnectWith) throw new Error('this executor cannot reconnect');
    await this.executor.close().catch(() => undefined);
    let last: Error | undefined;
    for (const [index, delayMs] of RECONNECT_DELAYS_MS.entries()) {
      if (delayMs) await pause(delayMs);
      try {
        this.executor = await this.reconnectWith();
        onAttempt(index + 1);
        return;
      } catch (error) {
        last = error as Error;
        onAttempt(index + 1, last);
      }
    }
    throw new Error(`could not reconnect after ${RECONNECT_DELAYS_MS.length} attempts: ${last?.message}`);
  }

  close(): Promise<void> {
    return this.executor.close();
  }
}
