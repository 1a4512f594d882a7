import { readFileSync } from 'node:fs';
import type { RunIdentity } from './types/run.js';

/** Facts about the workflow run, from the environment a runner provides. */
export function githubRun(env: NodeJS.ProcessEnv = process.env) {
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const repository = env.GITHUB_REPOSITORY ?? '';
  const runId = env.GITHUB_RUN_ID ?? 'local';
  return {
    sha: env.GITHUB_SHA ?? '',
    actor: env.GITHUB_ACTOR ?? 'unknown',
    repository,
    runId:
      env.GITHUB_RUN_ATTEMPT && env.GITHUB_RUN_ATTEMPT !== '1' ? `${runId}.${env.GITHUB_RUN_ATTEMPT}` : runId,
    runUrl:
      repository && env.GITHUB_RUN_ID
        ? `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined,
    eventName: env.GITHUB_EVENT_NAME ?? '',
    eventPath: env.GITHUB_EVENT_PATH,
    workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
    /** GITHUB_SERVER_URL, `https://github.com` when unset. */
    serverUrl: server,
    /** The file the job summary goes to; undefined outside a runner. */
    stepSummary: env.GITHUB_STEP_SUMMARY || undefined,
    /** The runner's temporary directory (RUNNER_TEMP), emptied after each job; undefined outside a runner. */
    runnerTemp: env.RUNNER_TEMP || undefined,
  };
}

/** Who runs the deploy and from which run, as written on the lock and in the release records. */
export function runIdentity(run: ReturnType<typeof githubRun>): RunIdentity {
  return { actor: run.actor, runId: run.runId, ...(run.runUrl ? { runUrl: run.runUrl } : {}) };
}

/** The event payload the runner wrote to GITHUB_EVENT_PATH; `{}` outside a runner (no path set). */
export function readEventPayload(env: NodeJS.ProcessEnv = process.env): unknown {
  const path = env.GITHUB_EVENT_PATH;
  if (!path) return {};
  const event = env.GITHUB_EVENT_NAME || 'unknown';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `GITHUB_EVENT_PATH (${path}) cannot be read for the ${event} event: ${(error as Error).message}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(
      `GITHUB_EVENT_PATH (${path}) does not hold the ${event} event's payload as JSON: ${(error as Error).message}`,
    );
  }
}
