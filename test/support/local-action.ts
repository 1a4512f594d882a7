import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { node24, repoRoot } from './paths.js';

// Runs one of our actions under GitHub's own local runner, @github/local-action (`local-action run <action
// folder> <entrypoint> <dotenv file>`), the way a developer would from this repository. What the tool does,
// read from its source (node_modules/@github/local-action, 7.x):
//
// - Its bin runs `npm exec tsx src/index.ts -- <args>` from the current directory, so the cwd must be inside
//   this project (outside it npm finds no tsx and wants to download one). The arguments are joined with
//   spaces unquoted: no spaces in paths.
// - The entrypoint must export `run()`; the tool imports it and awaits `run()`. Ours is
//   `actions/<name>/main.ts` (relative to the folder with action.yml: `../actions/<name>/main.ts`), loaded as
//   TypeScript by tsx, ESM with `.js` import suffixes. The bundles (dist/index.js) cannot be used: they call
//   run() themselves and bundle their own @actions/core, which the tool cannot stub.
// - It finds @actions/core (and artifact, cache, github) with `npm ls` in the cwd and replaces the module with
//   quibble by its own stubs (the @actions/core 2.x API): getInput reads INPUT_<NAME> from the environment
//   (falling back to action.yml defaults, without trimming), setOutput prints `::set-output name=…::value`
//   and collects it, logging is printed as `::info::…`, `::warning::…`, `::error …::…` lines (multi-line
//   messages unescaped), setSecret replaces secrets with **** only in what goes through @actions/core, and
//   summary appends to GITHUB_STEP_SUMMARY (an error when that is unset). GITHUB_OUTPUT / GITHUB_ENV /
//   GITHUB_STATE are not used.
// - setFailed only records the failure and prints `::error::<message>`: the exit code stays 0 for a failed
//   action. A non-zero exit means the tool itself failed (no run() export, an exception out of run(), npm ls).
// - The dotenv file is loaded over the environment (dotenv `override: true`, no variable expansion). Inputs
//   go there as INPUT_<NAME> (hyphens kept), next to the GITHUB_* / RUNNER_* variables a runner sets.

export type ActionName =
  'release-image' | 'deploy-staging' | 'promote-prod' | 'verify-ready' | 'gitleaks-gate';

export interface LocalActionOptions {
  inputs?: Record<string, string>;
  /** More variables for the dotenv file (GITHUB_SHA …); they override the defaults below. */
  env?: Record<string, string>;
  event?: unknown;
  eventName?: string;
  /** GITHUB_WORKSPACE. The process itself runs in `root` (see above), so relative inputs are not resolved here. */
  workspace?: string;
  /** Killed (the whole process group) after this long; default 90 s. */
  timeoutMs?: number;
  /** Checkout whose action folders, sources and node_modules are used; default this repository. */
  root?: string;
}

export interface LocalActionRun {
  /** local-action's exit code: 0 also when the action failed (see `failure`); null when killed. */
  code: number | null;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  /** What the action printed: the part of stdout between the tool's "Running Action" and "Action Outputs". */
  log: string;
  /** From the `::set-output name=…::value` lines (one line per value). */
  outputs: Record<string, string>;
  /** The message the action failed with (core.setFailed), undefined when it did not fail. */
  failure?: string;
  /** First lines of `::error` / `::warning` commands, annotations included. */
  errors: string[];
  warnings: string[];
  /** The job summary the action wrote. */
  summary: string;
}

const DEFAULT_TIMEOUT_MS = 90_000;

/** The dotenv parser local-action itself loads the file with. */
function dotenvParser(root: string): (text: string) => Record<string, string> {
  const require = createRequire(join(root, 'node_modules/@github/local-action/src/index.ts'));
  return (require('dotenv') as { parse: (text: string) => Record<string, string> }).parse;
}

/**
 * `NAME=<value>` for the dotenv file, quoted so that dotenv reads the exact value back (newlines included);
 * undefined when no quoting can carry it.
 */
function dotenvLine(
  name: string,
  value: string,
  parse: (text: string) => Record<string, string>,
): string | undefined {
  for (const quote of ["'", '`', '"']) {
    const line = `${name}=${quote}${value}${quote}`;
    if (parse(line)[name] === value) return line;
  }
  return undefined;
}

/** Runs `local-action run <root>/<action> ../actions/<action>/main.ts <dotenv>` with node 24 first on PATH. */
export function runLocalAction(
  action: ActionName,
  options: LocalActionOptions = {},
): Promise<LocalActionRun> {
  const root = options.root ?? repoRoot.replace(/\/$/, '');
  const work = mkdtempSync(join(tmpdir(), `deployer-local-action-${action}-`));
  const summaryFile = join(work, 'summary.md');
  const eventFile = join(work, 'event.json');
  const dotenvFile = join(work, 'action.env');
  writeFileSync(summaryFile, '');
  writeFileSync(eventFile, JSON.stringify(options.event ?? {}));

  const variables: Record<string, string> = {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_STEP_SUMMARY: summaryFile,
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
    GITHUB_WORKSPACE: options.workspace ?? work,
    RUNNER_TEMP: join(work, 'runner-temp'),
    RUNNER_TOOL_CACHE: join(work, 'tool-cache'),
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs ?? {}))
    variables[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;

  // The environment local-action starts with: node 24 (the actions' runtime) first, so that tsx runs on it.
  const env: Record<string, string> = {
    PATH: `${dirname(node24)}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? '/root',
    NO_COLOR: '1',
  };
  const parse = dotenvParser(root);
  const lines: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    const line = dotenvLine(name, value, parse);
    // A value dotenv cannot carry (all three quote characters) still reaches the action through the environment.
    if (line) lines.push(line);
    else env[name] = value;
  }
  writeFileSync(dotenvFile, `${lines.join('\n')}\n`, { mode: 0o600 });

  const bin = join(root, 'node_modules/@github/local-action/bin/local-action.js');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      node24,
      [bin, 'run', join(root, action), `../actions/${action}/main.ts`, dotenvFile],
      // Its own process group: on timeout the bin, npm, tsx and the action's node are killed together.
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      rmSync(work, { recursive: true, force: true });
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const summary = readFileSync(summaryFile, 'utf8');
      rmSync(work, { recursive: true, force: true });
      resolve({
        code,
        timedOut,
        durationMs: Date.now() - started,
        stdout,
        stderr,
        summary,
        ...parseLog(stdout),
      });
    });
  });
}

/** The action's part of local-action's stdout, and what it says in workflow-command form. */
export function parseLog(
  stdout: string,
): Pick<LocalActionRun, 'log' | 'outputs' | 'failure' | 'errors' | 'warnings'> {
  const all = stdout.split('\n');
  // Each title is printed between two lines of '='.
  const title = (name: string) =>
    all.findIndex(
      (line, i) => line.trim() === name && /^=+$/.test(all[i - 1] ?? '') && /^=+$/.test(all[i + 1] ?? ''),
    );
  const start = title('Running Action');
  const end = title('Action Outputs');
  const lines = start < 0 ? [] : all.slice(start + 2, end < 0 ? undefined : end - 1);

  const outputs: Record<string, string> = {};
  for (const line of lines) {
    const match = /^::set-output name=([^:]+)::(.*)$/.exec(line);
    if (match) outputs[match[1]!] = match[2]!;
  }
  // setFailed prints `::error::<message>` (no properties), the message's further lines as they are.
  let failure: string | undefined;
  let failed = lines.length - 1;
  while (failed >= 0 && !lines[failed]!.startsWith('::error::')) failed--;
  if (failed >= 0) {
    const message = [lines[failed]!.slice('::error::'.length)];
    for (const line of lines.slice(failed + 1)) {
      if (line.startsWith('::')) break;
      message.push(line);
    }
    failure = message.join('\n').trimEnd();
  }
  return {
    log: lines.join('\n'),
    outputs,
    failure,
    errors: lines.filter((line) => line.startsWith('::error')),
    warnings: lines.filter((line) => line.startsWith('::warning')),
  };
}
