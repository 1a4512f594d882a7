import * as core from '@actions/core';
import { pinnedDigest } from '../engine/commands/registry.js';
import { deployOverSsh } from '../engine/deploy/session.js';
import { rollOut, type RolloutMember } from '../engine/fleet/rollout.js';
import { rolloutHostsOutput, rolloutSummaryMarkdown } from '../engine/fleet/summary.js';
import { notify } from '../engine/notify.js';
import { actionsReporter } from './actions-reporter.js';

export interface FleetStep {
  title: string;
  members: RolloutMember[];
  maxParallel: number;
  /** The resolved deploy config without secrets, for the job summary. */
  configText: string;
  url?: string;
  notifyUrl?: string;
  notifySecret?: string;
}

/** deploy-staging's and promote-prod's step with a deploy config: rolls out to every host, then outputs, summary, notification. */
export async function fleetStep(step: FleetStep): Promise<void> {
  core.startGroup('Deploy config (resolved, without secrets)');
  core.info(step.configText);
  core.endGroup();
  const result = await rollOut(step.members, step.maxParallel, actionsReporter, deployOverSsh);
  const release = result.members.find((m) => m.outcome)?.outcome?.release;
  core.setOutput('status', result.status);
  core.setOutput('hosts', rolloutHostsOutput(result));
  core.setOutput('url', step.url ?? '');
  if (release) {
    core.setOutput('release-id', release.id);
    core.setOutput('app-image', release.appImage);
    core.setOutput('migrator-image', release.migratorImage);
    core.setOutput('app-digest', pinnedDigest(release.appImage) ?? '');
    core.setOutput('migrator-digest', pinnedDigest(release.migratorImage) ?? '');
    core.setOutput('sha', release.sha);
  }
  await core.summary.addRaw(rolloutSummaryMarkdown(step.title, result, step.configText)).write();
  if (step.notifyUrl) {
    const problem = await notify({
      url: step.notifyUrl,
      secret: step.notifySecret,
      payload: {
        event: 'rollout',
        status: result.status,
        hosts: JSON.parse(rolloutHostsOutput(result)),
        url: step.url ?? null,
      },
    });
    if (problem) core.warning(`Notification to notify-url failed: ${problem}`);
  }
  if (result.failure) core.setFailed(result.failure.message);
}
