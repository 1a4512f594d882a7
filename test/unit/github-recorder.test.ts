// The recorder through @actions/github's Octokit against the local GitHub API, which checks every request
// against GitHub's OpenAPI description.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { githubRest } from '../../actions/engine/github/client.js';
import { GitHubDeploymentRecorder } from '../../actions/engine/github/recorder.js';
import type { ReleaseRecord } from '../../actions/engine/state/release.js';
import { startGitHubApi, type GitHubApi } from '../../scripts/harness/github-api.mjs';

const TOKEN = 'ghs_recordertest0000';
const SHA = 'a'.repeat(40);
const facts = {
  environment: 'staging',
  sha: SHA,
  releaseId: '20261124T100000Z-aaaaaaa',
  appImage: `127.0.0.1:5000/acme/hello@sha256:${'1'.repeat(64)}`,
  migratorImage: `127.0.0.1:5000/acme/hello-migrator@sha256:${'2'.repeat(64)}`,
  production: false,
  runUrl: 'https://github.com/acme/hello/actions/runs/7',
};
const recorded = (status: ReleaseRecord['status'], reason?: string) =>
  ({ id: facts.releaseId, status, ...(reason ? { reason } : {}) }) as ReleaseRecord;

describe('GitHub deployment records', () => {
  let api: GitHubApi;
  let warnings: string[];
  let recorder: GitHubDeploymentRecorder;

  beforeEach(async () => {
    api = await startGitHubApi({ token: TOKEN });
    warnings = [];
    recorder = new GitHubDeploymentRecorder(
      githubRest(TOKEN, api.url),
      { owner: 'acme', repo: 'hello' },
      (message) => warnings.push(message),
    );
  });
  afterEach(() => api.close());

  it('a deploy: a deployment with both digests, in_progress, then success with the URLs; the commit status follows', async () => {
    await recorder.begin(facts);
    await recorder.finish(facts, recorded('success'), 'https://staging.example.com');
    expect(api.violations).toEqual([]);
    expect(warnings).toEqual([]);
    expect(api.requests.map((request) => request.operationId)).toEqual([
      'repos/create-deployment',
      'repos/create-deployment-status',
      'repos/create-commit-status',
      'repos/create-deployment-status',
      'repos/create-commit-status',
    ]);
    const [stored] = api.deployments;
    expect(stored!.deployment).toMatchObject({
      sha: SHA,
      environment: 'staging',
      production_environment: false,
      payload: {
        releaseId: facts.releaseId,
        appDigest: `sha256:${'1'.repeat(64)}`,
        migratorDigest: `sha256:${'2'.repeat(64)}`,
      },
    });
    expect(stored!.statuses.map((status) => [status.state, status.environment_url, status.log_url])).toEqual([
      ['in_progress', '', facts.runUrl],
      ['success', 'https://staging.example.com', facts.runUrl],
    ]);
    expect(api.statuses.get(SHA)!.map((status) => [status.context, status.state, status.target_url])).toEqual(
      [
        ['deployer/staging', 'pending', facts.runUrl],
        ['deployer/staging', 'success', 'https://staging.example.com'],
      ],
    );
  });

  it('a release that was rolled back: failure, then inactive; the commit status fails', async () => {
    await recorder.begin(facts);
    await recorder.finish(facts, recorded('rolled_back', 'never ready'));
    expect(api.violations).toEqual([]);
    expect(api.deployments[0]!.statuses.map((status) => status.state)).toEqual([
      'in_progress',
      'failure',
      'inactive',
    ]);
    expect(api.statuses.get(SHA)!.at(-1)).toMatchObject({
      state: 'failure',
      description: `${facts.releaseId} rolled back: never ready`,
    });
  });

  it('no permission: one warning naming it per kind of record, and nothing else tried', async () => {
    api.forbid(['repos/create-deployment', 'repos/create-commit-status']);
    await recorder.begin(facts);
    await recorder.finish(facts, recorded('success'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/403 .*`deployments: write`/);
    expect(warnings[1]).toMatch(/403 .*`statuses: write`/);
    expect(api.requests.map((request) => request.operationId)).toEqual([
      'repos/create-deployment',
      'repos/create-commit-status',
    ]);
  });

  it('production: a successful release marks the one it replaced inactive (auto_inactive spares production)', async () => {
    const production = { ...facts, environment: 'production', production: true };
    const first = new GitHubDeploymentRecorder(
      githubRest(TOKEN, api.url),
      { owner: 'acme', repo: 'hello' },
      (m) => warnings.push(m),
    );
    await first.begin(production);
    await first.finish(production, recorded('success'));
    const failed = { ...production, releaseId: '20261124T110000Z-bbbbbbb' };
    await recorder.begin(failed);
    await recorder.finish(failed, { ...recorded('failed', 'not ready'), id: failed.releaseId });
    // A failed attempt replaces nothing: the first release is still live.
    expect(api.deployments.map((d) => d.statuses.map((s) => s.state))).toEqual([
      ['in_progress', 'success'],
      ['in_progress', 'failure'],
    ]);
    const third = { ...production, releaseId: '20261124T120000Z-ccccccc' };
    const next = new GitHubDeploymentRecorder(
      githubRest(TOKEN, api.url),
      { owner: 'acme', repo: 'hello' },
      (m) => warnings.push(m),
    );
    await next.begin(third);
    await next.finish(third, { ...recorded('success'), id: third.releaseId });
    expect(api.deployments.map((d) => d.statuses.map((s) => s.state))).toEqual([
      ['in_progress', 'success', 'inactive'],
      ['in_progress', 'failure'],
      ['in_progress', 'success'],
    ]);
    expect(api.deployments[0]!.statuses.at(-1)!.description).toBe(`superseded by release ${third.releaseId}`);
    expect(warnings).toEqual([]);
    expect(api.violations).toEqual([]);
  });

  it('GitHub unreachable: a warning per kind of call, never a thrown error (the deploy goes on)', async () => {
    const closed = await startGitHubApi({ token: TOKEN });
    const url = closed.url;
    await closed.close();
    const offline = new GitHubDeploymentRecorder(
      githubRest(TOKEN, url),
      { owner: 'acme', repo: 'hello' },
      (m) => warnings.push(m),
    );
    await offline.begin(facts);
    await offline.finish(facts, recorded('success'));
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    for (const warning of warnings)
      expect(warning).toMatch(
        /^Could not record the deploy on GitHub: .*The deploy itself is not affected\.$/,
      );
  });
});
