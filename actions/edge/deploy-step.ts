import * as core from '@actions/core';
import { pinnedDigest } from '../engine/commands/registry.js';
import { deployOverSsh, type DeploySession } from '../engine/deploy/session.js';
import { deploySummaryMarkdown } from '../engine/deploy/summary.js';
import { notify } from '../engine/notify.js';
import type { ReleaseRecord } from '../engine/state/release.js';
import { actionsReporter } from './actions-reporter.js';
import { githubDeploymentRun, type GitHubRecording } from './github-recording.js';

export interface DeployStep extends DeploySession {
  /** Title of the job summary section. */
  title: string;
  /** Public URL of the environment, for outputs and the summary. */
  url?: string;
  notifyUrl?: string;
  notifySecret?: string;
  /** Records the deploy on GitHub (a deployment and the commit status) as it goes. */
  github?: GitHubRecording;
}

/** The outputs that name a recorded release: its id, images, digests and commit. */
export function setReleaseOutputs(release: ReleaseRecord): void {
  core.setOutput('release-id', release.id);
  core.setOutput('app-image', release.appImage);
  core.setOutput('migrator-image', release.migratorImage);
  core.setOutput('app-digest', pinnedDigest(release.appImage) ?? '');
  core.setOutput('migrator-digest', pinnedDigest(release.migratorImage) ?? '');
  core.setOutput('sha', release.sha);
}

/** deploy-staging's and promote-prod's step: deploys, then outputs, job summary, notification; fails the step on failure. */
export async function deployStep(step: DeployStep): Promise<void> {
  const github = githubDeploymentRun(step.github);
  const { outcome, failure } = await deployOverSsh({ ...step, onBegun: github.onBegun }, actionsReporter);
  await github.finish(outcome?.release, failure, step.url);
  if (outcome) {
    const { release, previous } = outcome;
    setReleaseOutputs(release);
    core.setOutput('status', release.status);
    core.setOutput('previous-release', previous?.id ?? '');
    core.setOutput('duration-ms', String(release.durationMs));
    core.setOutput('url', step.url ?? '');
    await core.summary.addRaw(deploySummaryMarkdown(step.title, outcome, step.url)).write();
    if (step.notifyUrl) {
      const problem = await notify({
        url: step.notifyUrl,
        secret: step.notifySecret,
        payload: {
          event: 'deploy',
          status: release.status,
          release,
          previousRelease: previous?.id ?? null,
          url: step.url ?? null,
        },
      });
      if (problem) core.warning(`Notification to notify-url failed: ${problem}`);
    }
  }
  if (failure) core.setFailed(failure.message);
}
