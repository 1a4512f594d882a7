import type { Duplex } from 'node:stream';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's standard input, then closed (e.g. a password for --password-stdin). */
  stdin?: string;
  /** Directory to run in. */
  cwd?: string;
  /** Extra environment (local executor only; remote commands get what they need through argv or files). */
  env?: Record<string, string>;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** When true (the default) a non-zero exit throws a CommandError. */
  check?: boolean;
  /** Aborts the command (kills it locally; closes its remote shell: the host process is not waited for). */
  signal?: AbortSignal;
  /** Deadline of the command (remote executor): past it the command fails with CommandTimeoutError. */
  timeoutMs?: number;
}

/** Runs argv lists somewhere: on this machine, or on a host over one SSH connection. */
export interface Executor {
  readonly where: string;
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  close(): Promise<void>;
}

/** An executor on a host that can also open TCP connections from that host (SSH). */
export interface Tunnel {
  openTunnel(host: string, port: number): Promise<Duplex>;
}

/** An executor on a host; `lost` says its connection is gone (SSH). */
export type HostExecutor = Executor & Partial<Tunnel> & { readonly lost?: boolean };

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
    where: string,
  ) {
    const tail = lastLines(result.stderr || result.stdout, 15);
    super(
      `\`${argv.slice(0, 4).join(' ')}${argv.length > 4 ? ' …' : ''}\` failed on ${where} with exit code ${result.code}${tail ? `:\n${tail}` : ''}`,
    );
    this.name = 'CommandError';
  }
}

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
