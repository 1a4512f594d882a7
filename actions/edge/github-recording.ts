import * as core from '@actions/core';
import type { BegunRelease } from '../engine/deploy/deploy.js';
import { githubRest } from '../engine/github/client.js';
import { repositoryOf, type DeploymentFacts } from '../engine/github/deployments.js';
import type { ReleaseRecord } from '../engine/state/release.js';
import { GitHubDeploymentRecorder } from '../engine/github/recorder.js';
import { requireGitHubDeployment, type GitHubAccess } from '../engine/github/gate.js';

/** How deploy-staging and promote-prod record a deploy on GitHub (deployments, commit status). */
export interface GitHubRecording {
  recorder: GitHubDeploymentRecorder;
  production: boolean;
  runUrl?: string;
}

/**
 * GitHub for this run: the `github-token` input (github.token by default, masked at once), GITHUB_REPOSITORY
 * and GITHUB_API_URL (GitHub Enterprise Server has its own); or why GitHub cannot be asked.
 */
function githubAccess(): GitHubAccess {
  const token = core.getInput('github-token');
  if (token) core.setSecret(token);
  const repository = repositoryOf(process.env.GITHUB_REPOSITORY ?? '');
  if (!token) return { unavailable: 'github-token is empty' };
  if (!repository) return { unavailable: 'GITHUB_REPOSITORY is not owner/name' };
  return { rest: githubRest(token, process.env.GITHUB_API_URL || 'https://api.github.com'), repository };
}

/** The recorder for this run. Without a token the deploy goes on unrecorded, with a warning. */
export function githubRecording(
  production: boolean,
  runUrl: string | undefined,
): GitHubRecording | undefined {
  const access = githubAccess();
  if ('unavailable' in access) {
    core.warning(
      `The deploy is not recorded on GitHub (no deployment, no commit status): ${access.unavailable}.`,
    );
    return undefined;
  }
  const recorder = new GitHubDeploymentRecorder(access.rest, access.repository, (message) =>
    core.warning(message),
  );
  return { recorder, production, runUrl };
}

/** promote-prod `require-github-deployment`: the gate on GitHub's record of `source` before promoting to `target`. */
export function githubDeploymentGate(source: string, target: string) {
  const access = githubAccess();
  const reachable: GitHubAccess =
    'unavailable' in access
      ? { unavailable: `require-github-deployment cannot ask GitHub about ${source}: ${access.unavailable}` }
      : access;
  return (sha: string) => requireGitHubDeployment(reachable, source, target, sha);
}

/** What GitHub is told a deploy (or a whole rollout) came to. */
export type RecordedAttempt = Pick<ReleaseRecord, 'id' | 'status' | 'reason'>;

/**
 * One GitHub deployment for one step: begun when the first deploy holds its lock (`onBegun`, passed to
 * each host's deploy; later calls are the other hosts of a rollout), finished with the attempt's outcome.
 * A deploy that ended without a recorded attempt (e.g. the connection was lost) is a failure on GitHub.
 */
export function githubDeploymentRun(github: GitHubRecording | undefined) {
  let facts: DeploymentFacts | undefined;
  let begun: Promise<void> | undefined;
  return {
    onBegun: github
      ? (release: BegunRelease) => {
          if (facts) return;
          facts = { ...release, releaseId: release.id, production: github.production, runUrl: github.runUrl };
          begun = github.recorder.begin(facts);
        }
      : undefined,
    async finish(attempt: RecordedAttempt | undefined, failure: Error | undefined, url?: string) {
      if (!github || !facts) return;
      await begun;
      await github.recorder.finish(
        facts,
        attempt ?? { id: facts.releaseId, status: 'failed', reason: failure?.message },
        url,
      );
    },
  };
}
