import { spawn } from 'node:child_process';
import { CommandError, type CommandResult, type Executor, type RunOptions } from './executor.js';

/** Runs argv lists on this machine without a shell. */
export class LocalExecutor implements Executor {
  readonly where = 'this runner';

  constructor(private readonly baseEnv: NodeJS.ProcessEnv = process.env) {}

  run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty command');
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, {
        cwd: options.cwd,
        env: { ...this.baseEnv, ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        signal: options.signal,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        options.onStdout?.(chunk);
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        options.onStderr?.(chunk);
      });
      child.on('error', reject);
      // A command that exits before reading its input (git rev-parse, a failed login) closes the pipe:
      // EPIPE here is not an error of ours; the exit code says how the command went.
      child.stdin.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') reject(error);
      });
      child.on('close', (code, signal) => {
        const result = { code: code ?? (signal ? 128 : 1), stdout, stderr };
        if (result.code !== 0 && options.check !== false) reject(new CommandError(argv, result, this.where));
        else resolve(result);
      });
      child.stdin.end(options.stdin ?? '');
    });
  }

  async close(): Promise<void> {}
}
