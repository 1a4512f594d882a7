import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { node24, repoRoot } from './paths.js';

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /**
   * Everything the action wrote anywhere a user could read it. `::add-mask::` commands are left out:
   * the runner consumes them and never shows them (they are in `masks`).
   */
  everything: string;
  /** Values the action registered as secrets (`::add-mask::`). */
  masks: string[];
  /** The runner's folders (RUNNER_TEMP…); removed after the run unless `keepWorkDir` was set. */
  workDir: string;
  /** `::error::` / `::warning::` annotations. */
  errors: string[];
  warnings: string[];
}

export interface ActionRunOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  event?: unknown;
  eventName?: string;
  cwd?: string;
  /** Directory holding `<action>/dist/index.js`; defaults to the repository. */
  actionsRoot?: string;
  /** Called with the child once spawned (e.g. to send SIGTERM). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
  onStdout?: (chunk: string) => void;
  /** Keep the runner's temp folders (RUNNER_TEMP, tool cache…) after the run, e.g. to inspect them. */
  keepWorkDir?: boolean;
}

/** Runs `node24 <action>/dist/index.js` the way a GitHub runner does. */
export function runAction(action: string, options: ActionRunOptions = {}): Promise<ActionRun> {
  const work = mkdtempSync(join(tmpdir(), `deployer-run-${action}-`));
  const outputFile = join(work, 'output');
  const summaryFile = join(work, 'summary');
  const eventFile = join(work, 'event.json');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  writeFileSync(eventFile, JSON.stringify(options.event ?? {}));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_STATE: join(work, 'state'),
    GITHUB_ENV: join(work, 'env'),
    GITHUB_PATH: join(work, 'path'),
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_EVENT_NAME: options.eventName ?? 'push',
    GITHUB_REPOSITORY: 'acme/hello',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'octocat',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_JOB: 'deploy',
    GITHUB_SHA: '0000000000000000000000000000000000000000',
    GITHUB_WORKSPACE: options.cwd ?? work,
    RUNNER_TEMP: join(work, 'runner-temp'),
    RUNNER_TOOL_CACHE: join(work, 'tool-cache'),
    ...options.env,
  };
  // Like the runner: every input declared with a default in action.yml arrives set.
  const metadata = parse(
    readFileSync(join(options.actionsRoot ?? repoRoot, action, 'action.yml'), 'utf8'),
  ) as {
    inputs?: Record<string, { default?: string }>;
  };
  for (const [name, spec] of Object.entries(metadata.inputs ?? {})) {
    if (spec.default !== undefined && !String(spec.default).includes('${{'))
      env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(spec.default);
  }
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  const entry = join(options.actionsRoot ?? repoRoot, action, 'dist', 'index.js');
  return new Promise((resolve, reject) => {
    const child = spawn(node24, [entry], {
      cwd: options.cwd ?? work,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const outputsText = readFileSync(outputFile, 'utf8');
      const summary = readFileSync(summaryFile, 'utf8');
      const envText = existsSync(env.GITHUB_ENV!) ? readFileSync(env.GITHUB_ENV!, 'utf8') : '';
      if (!options.keepWorkDir) rmSync(work, { recursive: true, force: true });
      const outputs = parseOutputs(outputsText);
      const lines = stdout.split('\n');
      resolve({
        code: code ?? 1,
        stdout,
        stderr,
        outputs,
        summary,
        workDir: work,
        masks: lines
          .filter((line) => line.startsWith('::add-mask::'))
          .map((line) => decodeCommandValue(line.slice(12))),
        everything: [
          lines.filter((line) => !line.startsWith('::add-mask::')).join('\n'),
          stderr,
          outputsText,
          summary,
          envText,
        ].join('\n'),
        errors: lines.filter((line) => line.startsWith('::error')),
        warnings: lines.filter((line) => line.startsWith('::warning')),
      });
    });
  });
}

/** Undoes the escaping @actions/core applies to command values. */
function decodeCommandValue(value: string): string {
  return value.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

/** Parses the `name<<delimiter … delimiter` format @actions/core writes to GITHUB_OUTPUT. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const [, name, delimiter] = match;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
    outputs[name!] = value.join('\n');
  }
  return outputs;
}
