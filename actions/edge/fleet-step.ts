import * as core from '@actions/core';
import { deployOverSsh } from '../engine/deploy/session.js';
import { rollOut, type RolloutMember } from '../engine/fleet/rollout.js';
import { rolloutHosts, rolloutSummaryMarkdown } from '../engine/fleet/summary.js';
import { notify } from '../engine/notify.js';
import { actionsReporter } from './actions-reporter.js';
import { setReleaseOutputs } from './deploy-step.js';
import { githubDeploymentRun, type GitHubRecording } from './github-recording.js';
import { rolloutAttempt } from '../engine/github/deployments.js';

export interface FleetStep {
  title: string;
  members: RolloutMember[];
  maxParallel: number;
  /** The resolved deploy config without secrets, for the job summary. */
  configText: string;
  url?: string;
  notifyUrl?: string;
  notifySecret?: string;
  /** Records the rollout on GitHub as one deployment of the environment. */
  github?: GitHubRecording;
}

/** deploy-staging's and promote-prod's step with a deploy config: rolls out to every host, then outputs, summary, notification. */
export async function fleetStep(step: FleetStep): Promise<void> {
  core.startGroup('Deploy config (resolved, without secrets)');
  core.info(step.configText);
  core.endGroup();
  const github = githubDeploymentRun(step.github);
  const result = await rollOut(step.members, step.maxParallel, actionsReporter, (session, reporter) =>
    deployOverSsh({ ...session, onBegun: github.onBegun }, reporter),
  );
  const release = result.members.find((m) => m.outcome)?.outcome?.release;
  await github.finish(rolloutAttempt(result, release?.id), result.failure, step.url);
  core.setOutput('status', result.status);
  const hosts = rolloutHosts(result);
  core.setOutput('hosts', JSON.stringify(hosts));
  core.setOutput('url', step.url ?? '');
  if (release) setReleaseOutputs(release);
  await core.summary.addRaw(rolloutSummaryMarkdown(step.title, result, step.configText)).write();
  if (step.notifyUrl) {
    const problem = await notify({
      url: step.notifyUrl,
      secret: step.notifySecret,
      payload: {
        event: 'rollout',
        status: result.status,
        hosts,
        url: step.url ?? null,
      },
    });
    if (problem) core.warning(`Notification to notify-url failed: ${problem}`);
  }
  if (result.failure) core.setFailed(result.failure.message);
}
