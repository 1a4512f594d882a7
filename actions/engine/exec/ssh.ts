import { connect as tcpConnect, type Socket } from 'node:net';
import type { NodeSSH } from 'node-ssh';
import type { Channel, ClientChannel } from 'ssh2';
import { CommandError, type CommandResult, type Executor, type RunOptions } from './executor.js';
import { verifyHostKey, type HostKeyPolicy } from './host-key.js';
import { RemoteShell } from './remote-shell.js';
import { inDirectory, toShell } from './shell.js';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  passphrase?: string;
  hostKey: HostKeyPolicy;
  /** Optional bastion: the target is reached through a TCP channel opened on it. */
  jump?: Omit<SshTarget, 'jump'>;
  readyTimeoutMs?: number;
  /** SSH keepalive interval; the connection counts as lost after 3 unanswered keepalives. */
  keepaliveMs?: number;
}

export class HostKeyRejectedError extends Error {
  constructor(reason: string) {
    super(
      `Refusing to connect: ${reason}. Nothing was sent to the host (the check happens before authentication).`,
    );
    this.name = 'HostKeyRejectedError';
  }
}

/** The SSH connection went away (dropped, reset, or frozen past the keepalive limit). */
export class ConnectionLostError extends Error {
  constructor(where: string, cause: string) {
    super(`lost the SSH connection to ${where} (${cause})`);
    this.name = 'ConnectionLostError';
  }
}

/** A command ran past its deadline; the host may be frozen or the command hung. */
export class CommandTimeoutError extends Error {
  constructor(argv: readonly string[], where: string, ms: number) {
    super(
      `\`${argv.slice(0, 4).join(' ')}${argv.length > 4 ? ' …' : ''}\` did not finish on ${where} within ${Math.round(ms / 100) / 10} s`,
    );
    this.name = 'CommandTimeoutError';
  }
}

export const DEFAULT_KEEPALIVE_MS = 5_000;
const KEEPALIVE_COUNT_MAX = 3;
/** Shells run side by side on the connection (sshd allows 10 sessions per connection by default). */
const MAX_SHELLS = 4;

/**
 * One SSH connection (TCP_NODELAY, keepalive) and a few long-lived remote shells on it. Commands
 * take an idle shell, so independent work runs concurrently; a lost connection fails every
 * command in flight with ConnectionLostError, never as the command's own failure.
 */
export class SshExecutor implements Executor {
  private readonly idle: RemoteShell[] = [];
  private readonly all = new Set<RemoteShell>();
  private readonly waiting: Array<(shell: RemoteShell | Error) => void> = [];
  private opening = 0;
  private lostReason: string | undefined;
  private readonly lostListeners: Array<(error: ConnectionLostError) => void> = [];

  private constructor(
    private readonly ssh: NodeSSH,
    private readonly jumpSsh: NodeSSH | undefined,
    readonly where: string,
  ) {
    const onGone = (reason: string) => this.markLost(reason);
    ssh.connection?.on('error', (error: Error) => onGone(error.message));
    ssh.connection?.on('close', () => onGone('connection closed'));
    jumpSsh?.connection?.on('close', () => onGone('the jump host connection closed'));
  }

  static async connect(target: SshTarget): Promise<SshExecutor> {
    let jumpSsh: NodeSSH | undefined;
    let sock: Channel | Socket | undefined;
    if (target.jump) {
      jumpSsh = await open(target.jump, await tcp(target.jump));
      sock = await jumpSsh.forwardOut('127.0.0.1', 0, target.host, target.port);
    } else {
      sock = await tcp(target);
    }
    try {
      const ssh = await open(target, sock);
      return new SshExecutor(ssh, jumpSsh, `${target.username}@${target.host}:${target.port}`);
    } catch (error) {
      jumpSsh?.dispose();
      throw error;
    }
  }

  get lost(): boolean {
    return this.lostReason !== undefined;
  }

  /** Called once when the connection is lost. */
  onLost(listener: (error: ConnectionLostError) => void): void {
    this.lostListeners.push(listener);
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const command = options.cwd ? inDirectory(options.cwd, argv) : toShell(argv);
    if (options.signal?.aborted) throw abortError(options.signal);
    const shell = await this.takeShell();
    let timer: NodeJS.Timeout | undefined;
    const abort = () => shell.close(abortError(options.signal!));
    options.signal?.addEventListener('abort', abort, { once: true });
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      timer = setTimeout(() => shell.close(new CommandTimeoutError(argv, this.where, ms)), ms);
    }
    try {
      const result = await shell.run(command, options).catch((error: Error) => {
        throw this.lostReason ? new ConnectionLostError(this.where, this.lostReason) : error;
      });
      if (result.code !== 0 && options.check !== false) throw new CommandError(argv, result, this.where);
      return result;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      this.giveBack(shell);
    }
  }

  /** A TCP stream to host:port as seen from the SSH host (e.g. an app bound to 127.0.0.1 there). */
  openTunnel(host: string, port: number): Promise<Channel> {
    if (this.lostReason) return Promise.reject(new ConnectionLostError(this.where, this.lostReason));
    return this.ssh.forwardOut('127.0.0.1', 0, host, port);
  }

  async close(): Promise<void> {
    for (const shell of this.all) shell.close();
    this.ssh.dispose();
    this.jumpSsh?.dispose();
  }

  private markLost(reason: string): void {
    if (this.lostReason) return;
    this.lostReason = reason;
    const error = new ConnectionLostError(this.where, reason);
    for (const shell of this.all) shell.close(error);
    for (const waiter of this.waiting.splice(0)) waiter(error);
    for (const listener of this.lostListeners) listener(error);
    this.ssh.dispose();
    this.jumpSsh?.dispose();
  }

  private async takeShell(): Promise<RemoteShell> {
    if (this.lostReason) throw new ConnectionLostError(this.where, this.lostReason);
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.all.size + this.opening < MAX_SHELLS) {
      this.opening++;
      try {
        const channel = await new Promise<ClientChannel>((resolve, reject) =>
          this.ssh.connection!.exec('exec sh', (error, opened) => (error ? reject(error) : resolve(opened))),
        );
        const shell = new RemoteShell(channel, (closed) => this.forget(closed));
        this.all.add(shell);
        return shell;
      } catch (error) {
        if (this.lostReason) throw new ConnectionLostError(this.where, this.lostReason);
        throw new Error(`could not open a shell on ${this.where}: ${(error as Error).message}`);
      } finally {
        this.opening--;
      }
    }
    const next = await new Promise<RemoteShell | Error>((resolve) => this.waiting.push(resolve));
    if (next instanceof Error) throw next;
    return next;
  }

  private giveBack(shell: RemoteShell): void {
    if (shell.closed) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter(shell);
    else this.idle.push(shell);
  }

  private forget(shell: RemoteShell): void {
    this.all.delete(shell);
    const index = this.idle.indexOf(shell);
    if (index >= 0) this.idle.splice(index, 1);
    // A waiter may now open a fresh shell in the freed slot.
    const waiter = this.waiting.shift();
    if (waiter) this.takeShell().then(waiter, waiter);
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** The TCP socket, with Nagle off before the handshake: otherwise every small write waits ~40 ms for a delayed ACK. */
function tcp(target: Omit<SshTarget, 'jump'>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: target.host, port: target.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `SSH connection to ${target.username}@${target.host}:${target.port} failed: no TCP connection within ${(target.readyTimeoutMs ?? 20_000) / 1000} s`,
        ),
      );
    }, target.readyTimeoutMs ?? 20_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new Error(
          `SSH connection to ${target.username}@${target.host}:${target.port} failed: ${error.message}`,
        ),
      );
    });
  });
}

async function open(target: Omit<SshTarget, 'jump'>, sock: Channel | Socket): Promise<NodeSSH> {
  let rejection: string | undefined;
  // Loaded on first connect (a chunk of its own in the bundle): node-ssh and ssh2 cost ~40 ms at start-up.
  const { NodeSSH } = await import('node-ssh');
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      passphrase: target.passphrase,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
      keepaliveInterval: target.keepaliveMs ?? DEFAULT_KEEPALIVE_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      sock,
      hostVerifier: (key: Buffer) => {
        const verdict = verifyHostKey(target.hostKey, target.host, target.port, key);
        if (!verdict.ok) rejection = verdict.reason;
        return verdict.ok;
      },
    });
  } catch (error) {
    ssh.dispose();
    if ('destroy' in sock) sock.destroy();
    if (rejection) throw new HostKeyRejectedError(rejection);
    throw new Error(
      `SSH connection to ${target.username}@${target.host}:${target.port} failed: ${(error as Error).message}`,
    );
  }
  return ssh;
}
