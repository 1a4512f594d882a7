import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel } from 'ssh2';
import type { CommandResult } from './executor.js';

/**
 * One long-lived `sh` on the host, fed commands on its standard input. Each command is framed:
 * it runs in a subshell, then the shell prints a marker with the exit status on stdout and a
 * marker on stderr, so one channel carries any number of commands (0.3–0.5 ms each instead of a
 * channel round trip per command).
 */
export class RemoteShell {
  private readonly nonce = randomBytes(8).toString('hex');
  private seq = 0;
  private pending: PendingCommand | undefined;
  private closedReason: Error | undefined;

  constructor(
    private readonly channel: ClientChannel,
    private readonly onClosed: (shell: RemoteShell) => void,
  ) {
    const out = new StringDecoder('utf8');
    const err = new StringDecoder('utf8');
    channel.on('data', (chunk: Buffer) => this.pending?.stdout(out.write(chunk)));
    channel.stderr.on('data', (chunk: Buffer) => this.pending?.stderr(err.write(chunk)));
    channel.on('close', () => this.end(new Error('the remote shell ended')));
    // A channel of a dropped connection may still report write errors: the connection's loss is reported once, elsewhere.
    channel.on('error', (error: Error) => this.end(error));
    channel.stderr.on('error', (error: Error) => this.end(error));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Runs one shell command line; `stdin` is delivered base64-encoded through a pipe, never a temp file. */
  run(
    commandLine: string,
    options: { stdin?: string; onStdout?: (text: string) => void; onStderr?: (text: string) => void },
  ): Promise<CommandResult> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    if (this.pending) return Promise.reject(new Error('a remote shell runs one command at a time'));
    const mark = `__deployer_${this.nonce}_${++this.seq}__`;
    const source =
      options.stdin === undefined
        ? `( ${commandLine}\n) </dev/null`
        : `printf '%s' '${Buffer.from(options.stdin, 'utf8').toString('base64')}' | base64 -d | ( ${commandLine}\n)`;
    const framed = `${source}; printf '\\n%s %d\\n' '${mark}' "$?"; printf '\\n%s\\n' '${mark}' >&2\n`;
    return new Promise((resolve, reject) => {
      this.pending = new PendingCommand(mark, options, (result, error) => {
        this.pending = undefined;
        if (error) reject(error);
        else resolve(result!);
      });
      this.channel.write(framed);
    });
  }

  /** Ends the shell at once; a command still running on the host is not waited for. */
  close(reason: Error = new Error('the remote shell was closed')): void {
    this.end(reason);
    this.channel.close();
  }

  private end(reason: Error): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.pending?.fail(reason);
    this.pending = undefined;
    this.onClosed(this);
  }
}

class PendingCommand {
  private out = '';
  private err = '';
  private emittedOut = 0;
  private emittedErr = 0;
  private code: number | undefined;
  private errDone = false;
  private settled = false;

  constructor(
    private readonly mark: string,
    private readonly options: { onStdout?: (text: string) => void; onStderr?: (text: string) => void },
    private readonly done: (result: CommandResult | undefined, error?: Error) => void,
  ) {}

  stdout(text: string): void {
    this.out += text;
    if (this.code === undefined) {
      const found = new RegExp(`\\n${this.mark} (\\d+)\\n`).exec(this.out);
      if (found) {
        this.code = Number(found[1]);
        this.out = this.out.slice(0, found.index);
      }
    }
    this.emittedOut = this.stream(this.out, this.emittedOut, this.code !== undefined, this.options.onStdout);
    this.finish();
  }

  stderr(text: string): void {
    this.err += text;
    if (!this.errDone) {
      const end = this.err.indexOf(`\n${this.mark}\n`);
      if (end >= 0) {
        this.errDone = true;
        this.err = this.err.slice(0, end);
      }
    }
    this.emittedErr = this.stream(this.err, this.emittedErr, this.errDone, this.options.onStderr);
    this.finish();
  }

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.done(undefined, error);
  }

  /**
   * Passes output on as it comes, holding back only a last partial line that could be the marker.
   * A streamed command may so end with one newline more than its result (the marker's own).
   */
  private stream(
    text: string,
    emitted: number,
    complete: boolean,
    sink: ((text: string) => void) | undefined,
  ): number {
    if (!sink) return emitted;
    let safe = text.length;
    if (!complete) {
      const lineStart = text.lastIndexOf('\n') + 1;
      const partial = text.slice(lineStart);
      if (partial && `${this.mark} `.startsWith(partial.slice(0, this.mark.length + 1))) safe = lineStart;
    }
    if (safe > emitted) sink(text.slice(emitted, safe));
    return Math.max(emitted, safe);
  }

  private finish(): void {
    if (this.settled || this.code === undefined || !this.errDone) return;
    this.settled = true;
    this.done({ code: this.code, stdout: this.out, stderr: this.err });
  }
}
