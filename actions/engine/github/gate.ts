import { PromotionRefusedError } from '../promote/source.js';
import {
  checkGitHubDeployment,
  listDeploymentsParams,
  refusedForPermission,
  type Repository,
} from './deployments.js';
import type { GitHubRest } from './recorder.js';

/** Where the gate asks GitHub; undefined when it cannot (the reason is given instead). */
export type GitHubAccess = { rest: GitHubRest; repository: Repository } | { unavailable: string };

/**
 * promote-prod `require-github-deployment`: refuses the promotion to `target` (PromotionRefusedError)
 * unless `sha`'s latest deployment in `source` stands at success on GitHub. Unlike the records, this gate
 * was asked for: when GitHub cannot answer (no token, no `deployments: read`), the promotion is refused.
 */
export async function requireGitHubDeployment(
  access: GitHubAccess,
  source: string,
  target: string,
  sha: string,
): Promise<void> {
  const verdict =
    'unavailable' in access
      ? { ok: false as const, reason: access.unavailable }
      : await githubDeploymentVerdict(access.rest, access.repository, source, sha);
  if (!verdict.ok) throw new PromotionRefusedError(verdict.reason, target);
}

async function githubDeploymentVerdict(
  rest: GitHubRest,
  repository: Repository,
  environment: string,
  sha: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const { data: deployments } = await rest.listDeployments(
      listDeploymentsParams(repository, environment, sha),
    );
    const latest = deployments[0];
    if (!latest) return checkGitHubDeployment(environment, sha, undefined);
    const { data: statuses } = await rest.listDeploymentStatuses({ ...repository, deployment_id: latest.id });
    return checkGitHubDeployment(environment, sha, {
      id: latest.id,
      states: statuses.map((status) => status.state),
    });
  } catch (error) {
    const permission = refusedForPermission(error) ? ' (the token needs `deployments: read`)' : '';
    return {
      ok: false,
      reason: `GitHub's deployments could not be read: ${(error as Error).message}${permission}`,
    };
  }
}
