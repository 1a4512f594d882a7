import { getOctokit } from '@actions/github';
import type { GitHubRest } from './recorder.js';

/**
 * The REST calls the recorder needs, through @actions/github's Octokit. `apiUrl` is GITHUB_API_URL on a
 * runner (GitHub Enterprise Server has its own); no retries: a record that cannot be written is a warning.
 */
export function githubRest(token: string, apiUrl: string): GitHubRest {
  const { rest } = getOctokit(token, { baseUrl: apiUrl.replace(/\/+$/, ''), request: { retries: 0 } });
  return {
    createDeployment: (params) => rest.repos.createDeployment(params),
    createDeploymentStatus: (params) => rest.repos.createDeploymentStatus(params),
    createCommitStatus: (params) => rest.repos.createCommitStatus(params),
    listDeployments: (params) => rest.repos.listDeployments(params),
    listDeploymentStatuses: (params) => rest.repos.listDeploymentStatuses({ ...params, per_page: 1 }),
  };
}
