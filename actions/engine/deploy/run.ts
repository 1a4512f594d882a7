import * as core from '@actions/core';
import { pinnedDigest } from '../commands/registry.js';
import { cancellationSignal } from '../cancellation.js';
import { EventLog, type LogFormat } from '../events.js';
import { SshExecutor, type SshTarget } from '../exec/ssh.js';
import { notify } from '../notify.js';
import { DeployFailedError, runDeploy, type DeployOutcome, type DeployRequest } from './deploy.js';
import { deploySummaryMarkdown } from './summary.js';

export interface DeployRun {
  target: SshTarget;
  /** The request, or a function that prepares it over the same connection (e.g. a promotion gate). */
  request: DeployRequest | ((executor: SshExecutor) => Promise<DeployRequest>);
  environment: string;
  sha?: string;
  logFormat: LogFormat;
  notifyUrl?: string;
  notifySecret?: string;
  /** Title of the job summary section. */
  title: string;
  /** Public URL of the environment, for outputs and the summary. */
  url?: string;
}

/** Connects once, deploys, then reports: outputs, job summary, notification. Fails the step on failure. */
export async function deployAndReport(run: DeployRun): Promise<DeployOutcome | undefined> {
  const log = new EventLog(run.logFormat, {
    environment: run.environment,
    sha: run.sha,
    host: `${run.target.host}:${run.target.port}`,
  });
  const signal = cancellationSignal((name) =>
    log.warn('cancel', `${name} received: finishing the step in progress, then undoing and unlocking`),
  );
  let outcome: DeployOutcome | undefined;
  let failure: Error | undefined;
  let executor: SshExecutor | undefined;
  try {
    executor = await SshExecutor.connect(run.target);
    const request = typeof run.request === 'function' ? await run.request(executor) : run.request;
    log.context.sha = request.sha;
    outcome = await runDeploy(request, {
      executor,
      reconnect: async () =>
        (executor = await SshExecutor.connect({ ...run.target, readyTimeoutMs: 10_000 })),
      log,
      signal,
    });
  } catch (error) {
    failure = error as Error;
    if (error instanceof DeployFailedError) outcome = error.outcome;
  } finally {
    await executor?.close();
  }

  if (outcome) {
    const { release, previous } = outcome;
    core.setOutput('release-id', release.id);
    core.setOutput('status', release.status);
    core.setOutput('app-image', release.appImage);
    core.setOutput('migrator-image', release.migratorImage);
    core.setOutput('app-digest', digestOf(release.appImage));
    core.setOutput('migrator-digest', digestOf(release.migratorImage));
    core.setOutput('sha', release.sha);
    core.setOutput('previous-release', previous?.id ?? '');
    core.setOutput('duration-ms', String(release.durationMs));
    core.setOutput('url', run.url ?? '');
    await core.summary.addRaw(deploySummaryMarkdown(run.title, outcome, run.url)).write();
    if (run.notifyUrl) {
      const problem = await notify({
        url: run.notifyUrl,
        secret: run.notifySecret,
        payload: {
          event: 'deploy',
          status: release.status,
          release,
          previousRelease: previous?.id ?? null,
          url: run.url ?? null,
        },
      });
      if (problem) core.warning(`Notification to notify-url failed: ${problem}`);
    }
  }
  if (failure) {
    core.setFailed(failure.message);
    return outcome;
  }
  return outcome;
}

function digestOf(image: string): string {
  return pinnedDigest(image) ?? '';
}
