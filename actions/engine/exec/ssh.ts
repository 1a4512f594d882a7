import { NodeSSH } from 'node-ssh';
import type { Channel } from 'ssh2';
import { CommandError, type CommandResult, type Executor, type RunOptions } from './executor.js';
import { verifyHostKey, type HostKeyPolicy } from './host-key.js';
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
}

export class HostKeyRejectedError extends Error {
  constructor(reason: string) {
    super(
      `Refusing to connect: ${reason}. Nothing was sent to the host (the check happens before authentication).`,
    );
    this.name = 'HostKeyRejectedError';
  }
}

/** Connects once and runs every command of a deploy over that one connection. */
export class SshExecutor implements Executor {
  private constructor(
    private readonly ssh: NodeSSH,
    private readonly jumpSsh: NodeSSH | undefined,
    readonly where: string,
  ) {}

  static async connect(target: SshTarget): Promise<SshExecutor> {
    let jumpSsh: NodeSSH | undefined;
    let sock: Channel | undefined;
    if (target.jump) {
      jumpSsh = await open(target.jump);
      sock = await jumpSsh.forwardOut('127.0.0.1', 0, target.host, target.port);
    }
    try {
      const ssh = await open(target, sock);
      return new SshExecutor(ssh, jumpSsh, `${target.username}@${target.host}:${target.port}`);
    } catch (error) {
      jumpSsh?.dispose();
      throw error;
    }
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const command = options.cwd ? inDirectory(options.cwd, argv) : toShell(argv);
    let channel: { close(): void } | undefined;
    const abort = () => channel?.close();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      const response = await this.ssh.execCommand(command, {
        stdin: options.stdin,
        noTrim: true,
        onChannel: (opened) => {
          channel = opened;
          if (options.signal?.aborted) opened.close();
        },
        onStdout: options.onStdout && ((chunk) => options.onStdout?.(chunk.toString('utf8'))),
        onStderr: options.onStderr && ((chunk) => options.onStderr?.(chunk.toString('utf8'))),
      });
      const result = { code: response.code ?? 255, stdout: response.stdout, stderr: response.stderr };
      if (result.code !== 0 && options.check !== false) throw new CommandError(argv, result, this.where);
      return result;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  /** A TCP stream to host:port as seen from the SSH host (e.g. an app bound to 127.0.0.1 there). */
  openTunnel(host: string, port: number): Promise<Channel> {
    return this.ssh.forwardOut('127.0.0.1', 0, host, port);
  }

  async close(): Promise<void> {
    this.ssh.dispose();
    this.jumpSsh?.dispose();
  }
}

async function open(target: Omit<SshTarget, 'jump'>, sock?: Channel): Promise<NodeSSH> {
  let rejection: string | undefined;
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      passphrase: target.passphrase,
      readyTimeout: target.readyTimeoutMs ?? 20_000,
      sock,
      hostVerifier: (key: Buffer) => {
        const verdict = verifyHostKey(target.hostKey, target.host, target.port, key);
        if (!verdict.ok) rejection = verdict.reason;
        return verdict.ok;
      },
    });
  } catch (error) {
    ssh.dispose();
    if (rejection) throw new HostKeyRejectedError(rejection);
    throw new Error(
      `SSH connection to ${target.username}@${target.host}:${target.port} failed: ${(error as Error).message}`,
    );
  }
  return ssh;
}
