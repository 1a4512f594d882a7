// GitHub's record of a deploy: a deployment with its statuses, and the commit status `deployer/<environment>`.
// Pure: the request parameters, built from what the deploy knows. The recorder (recorder.ts) sends them.
import { pinnedDigest } from '../commands/registry.js';
import type { RolloutResult } from '../fleet/rollout.js';
import type { ReleaseRecord, ReleaseStatus } from '../state/release.js';

export interface Repository {
  owner: string;
  repo: string;
}

/** The deploy, as GitHub's deployment describes it. */
export interface DeploymentFacts {
  environment: string;
  sha: string;
  releaseId: string;
  appImage: string;
  migratorImage: string;
  /** promote-prod's target: GitHub shows it as a production environment. */
  production: boolean;
  /** The workflow run's page, for log_url / target_url. */
  runUrl?: string;
}

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';
export type CommitState = 'pending' | 'success' | 'failure' | 'error';

/** The commit status context deployer sets on the sha: what branch protection and rulesets require. */
export const statusContext = (environment: string) => `deployer/${environment}`;

export function createDeploymentParams(repository: Repository, facts: DeploymentFacts) {
  return {
    ...repository,
    ref: facts.sha,
    environment: facts.environment,
    task: 'deploy',
    // deployer checks the commit itself (the release was built, staging answered ready): GitHub must
    // neither merge the default branch in nor wait for other statuses.
    auto_merge: false,
    required_contexts: [] as string[],
    production_environment: facts.production,
    transient_environment: false,
    description: `release ${facts.releaseId}`,
    payload: {
      releaseId: facts.releaseId,
      appImage: facts.appImage,
      migratorImage: facts.migratorImage,
      appDigest: pinnedDigest(facts.appImage) ?? null,
      migratorDigest: pinnedDigest(facts.migratorImage) ?? null,
    },
  };
}

export function deploymentStatusParams(
  repository: Repository,
  deploymentId: number,
  state: DeploymentState,
  details: { description: string; environmentUrl?: string; runUrl?: string },
) {
  return {
    ...repository,
    deployment_id: deploymentId,
    state,
    description: shorten(details.description),
    ...(details.runUrl ? { log_url: details.runUrl } : {}),
    ...(details.environmentUrl ? { environment_url: details.environmentUrl } : {}),
    // GitHub marks the environment's earlier successful deployments inactive: the new one is live.
    ...(state === 'success' ? { auto_inactive: true } : {}),
  };
}

export function commitStatusParams(
  repository: Repository,
  facts: Pick<DeploymentFacts, 'environment' | 'sha' | 'runUrl'>,
  state: CommitState,
  details: { description: string; targetUrl?: string },
) {
  return {
    ...repository,
    sha: facts.sha,
    state,
    context: statusContext(facts.environment),
    description: shorten(details.description),
    ...((details.targetUrl ?? facts.runUrl) ? { target_url: details.targetUrl ?? facts.runUrl } : {}),
  };
}

/**
 * What the recorded attempt means on GitHub. A release that was rolled back failed and is not live:
 * its deployment gets `failure`, then `inactive`. A cancelled one is an `error` (not the release's fault).
 */
export function finalStates(status: ReleaseStatus): { deployment: DeploymentState[]; commit: CommitState } {
  switch (status) {
    case 'success':
      return { deployment: ['success'], commit: 'success' };
    case 'rolled_back':
      return { deployment: ['failure', 'inactive'], commit: 'failure' };
    case 'cancelled':
      return { deployment: ['error'], commit: 'error' };
    default:
      return { deployment: ['failure'], commit: 'failure' };
  }
}

/** One line about the attempt for a status description (GitHub keeps 140 characters). */
export function describeAttempt(release: Pick<ReleaseRecord, 'id' | 'status' | 'reason'>): string {
  const status = release.status.replace('_', ' ');
  return release.reason ? `${release.id} ${status}: ${release.reason}` : `${release.id} ${status}`;
}

function shorten(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= 140 ? line : `${line.slice(0, 139)}…`;
}

/** Whether GitHub's answer means the token lacks a permission (401, 403, or 404 for what it may not see). */
export function refusedForPermission(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return status === 401 || status === 403 || status === 404;
}

/** `owner/name` (GITHUB_REPOSITORY) as the API's two path parameters; undefined when it is not one. */
export function repositoryOf(slug: string): Repository | undefined {
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(slug);
  return match ? { owner: match[1]!, repo: match[2]! } : undefined;
}

/** The environment's deployments (of one commit when `sha` is given), newest first (GitHub's order). */
export function listDeploymentsParams(repository: Repository, environment: string, sha?: string) {
  return { ...repository, environment, per_page: 10, ...(sha ? { sha } : {}) };
}

/**
 * promote-prod's second gate: the commit's latest deployment in the source environment must stand at
 * `success` on GitHub (not failed, rolled back to inactive, or still in progress).
 */
export function checkGitHubDeployment(
  environment: string,
  sha: string,
  latest: { id: number; states: string[] } | undefined,
): { ok: true } | { ok: false; reason: string } {
  if (!latest) return { ok: false, reason: `GitHub has no deployment of ${sha} in ${environment}` };
  const state = latest.states[0];
  if (state !== 'success')
    return {
      ok: false,
      reason: `GitHub's latest deployment of ${sha} in ${environment} (#${latest.id}) is ${state ?? 'without any status'}, not success`,
    };
  return { ok: true };
}

/**
 * The rollout as one attempt on GitHub: success when every host's release is; a failed rollout left no host
 * on the new release (switched hosts rolled back), so it reads as rolled back unless it was cancelled.
 */
export function rolloutAttempt(
  result: Pick<RolloutResult, 'status' | 'members' | 'failure'>,
  id: string | undefined,
): Pick<ReleaseRecord, 'id' | 'status' | 'reason'> | undefined {
  if (!id) return undefined;
  if (result.status === 'success') return { id, status: 'success' };
  const cancelled = result.members.some((member) => member.state === 'cancelled');
  return { id, status: cancelled ? 'cancelled' : 'rolled_back', reason: result.failure?.message };
}
