import { checkGitHubDeployment, listDeploymentsParams, type Repository } from './deployments.js';
import type { GitHubRest } from './recorder.js';

/**
 * Asks GitHub whether `sha` has a successful deployment in `environment`. Unlike the records, this gate
 * was asked for: when GitHub cannot answer (no token, no `deployments: read`), the promotion is refused.
 */
export async function githubDeploymentVerdict(
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
    const status = (error as { status?: number }).status;
    const permission =
      status === 401 || status === 403 || status === 404 ? ' (the token needs `deployments: read`)' : '';
    return {
      ok: false,
      reason: `GitHub's deployments could not be read: ${(error as Error).message}${permission}`,
    };
  }
}
