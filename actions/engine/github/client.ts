import type { getOctokit } from '@actions/github';
import type { GitHubRest } from './recorder.js';

type Rest = ReturnType<typeof getOctokit>['rest'];

/**
 * The REST calls the recorder needs, through @actions/github's Octokit. `apiUrl` is GITHUB_API_URL on a
 * runner (GitHub Enterprise Server has its own); no retries: a record that cannot be written is a warning.
 * Octokit (~600 KB with every endpoint's route) is a chunk of its own, loaded on the first call, so a
 * step that fails on its inputs or never reaches a deploy does not pay for reading and compiling it.
 */
export function githubRest(token: string, apiUrl: string): GitHubRest {
  let loaded: Promise<Rest> | undefined;
  const rest = () =>
    (loaded ??= import('@actions/github').then(
      ({ getOctokit }) =>
        getOctokit(token, { baseUrl: apiUrl.replace(/\/+$/, ''), request: { retries: 0 } }).rest,
    ));
  return {
    createDeployment: async (params) => (await rest()).repos.createDeployment(params),
    createDeploymentStatus: async (params) => (await rest()).repos.createDeploymentStatus(params),
    createCommitStatus: async (params) => (await rest()).repos.createCommitStatus(params),
    listDeployments: async (params) => (await rest()).repos.listDeployments(params),
    listDeploymentStatuses: async (params) =>
      (await rest()).repos.listDeploymentStatuses({ ...params, per_page: 1 }),
  };
}
