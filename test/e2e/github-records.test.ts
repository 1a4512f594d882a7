// deploy-staging's bundle records each deploy on GitHub: the local GitHub API below stands in for
// api.github.com and checks every request against GitHub's OpenAPI description.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployInputs } from '../support/deploy.js';
import { startGitHubApi, type GitHubApi } from '../../scripts/harness/github-api.mjs';
import { HostFixture } from '../support/host.js';
import { buildAndPushExample, type ExampleRelease } from '../support/images.js';
import { freePort } from '../support/ports.js';
import { runAction } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

const TOKEN = 'ghs_e2etoken000000000000000000000000';

describe('deploys recorded on GitHub: deployments and the commit status', () => {
  let sb: Sandbox;
  let api: GitHubApi;
  let fixture: HostFixture;
  let production: HostFixture;
  let port: number;
  let productionPort: number;
  let releaseA: ExampleRelease;
  let neverReady: ExampleRelease;
  let releaseB: ExampleRelease;
  const repo = `github-records-test/${process.pid}/hello`;

  beforeAll(async () => {
    sb = sandbox();
    api = await startGitHubApi({ token: TOKEN });
    releaseA = buildAndPushExample(sb, repo);
    neverReady = buildAndPushExample(sb, repo, { neverReady: true });
    releaseB = buildAndPushExample(sb, repo);
    fixture = await HostFixture.create(sb, 'github-records');
    production = await HostFixture.create(sb, 'github-records-production');
    port = await freePort();
    productionPort = await freePort();
  });

  afterAll(async () => {
    await fixture?.destroy();
    await production?.destroy();
    await api?.close();
  });

  const deploy = (release: ExampleRelease) =>
    runAction('deploy-staging', {
      inputs: {
        ...deployInputs(sb, fixture, port, release),
        'github-token': TOKEN,
        url: `http://127.0.0.1:${port}`,
      },
      env: { GITHUB_API_URL: api.url },
    });

  it('a deploy: create deployment, in_progress, success with the environment and run URLs; commit status deployer/staging', async () => {
    const run = await deploy(releaseA);
    expect(run.code, run.stdout).toBe(0);
    expect(run.warnings).toEqual([]);
    expect(api.violations).toEqual([]);
    const [stored] = api.deployments;
    expect(stored!.deployment).toMatchObject({
      sha: releaseA.sha,
      environment: 'staging',
      payload: {
        releaseId: run.outputs['release-id'],
        appDigest: releaseA.appDigest,
        migratorDigest: releaseA.migratorDigest,
      },
    });
    expect(stored!.statuses.map((status) => status.state)).toEqual(['in_progress', 'success']);
    expect(stored!.statuses[1]).toMatchObject({
      environment_url: `http://127.0.0.1:${port}`,
      log_url: expect.stringMatching(/^https:\/\/github.com\/acme\/hello\/actions\/runs\/\d+$/),
    });
    expect(api.statuses.get(releaseA.sha)!.map((status) => [status.context, status.state])).toEqual([
      ['deployer/staging', 'pending'],
      ['deployer/staging', 'success'],
    ]);
    expect(run.everything).not.toContain(TOKEN);
  });

  it('a release that is rolled back: failure, then inactive; the commit status fails', async () => {
    const run = await deploy(neverReady);
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('rolled_back');
    expect(api.violations).toEqual([]);
    const stored = api.deployments.at(-1)!;
    expect(stored.deployment.sha).toBe(neverReady.sha);
    expect(stored.statuses.map((status) => status.state)).toEqual(['in_progress', 'failure', 'inactive']);
    expect(api.statuses.get(neverReady.sha)!.at(-1)!.state).toBe('failure');
    // The release that runs keeps its successful deployment.
    expect(api.deployments[0]!.statuses.at(-1)!.state).toBe('success');
  });

  const promote = (release: ExampleRelease) =>
    runAction('promote-prod', {
      inputs: {
        ...deployInputs(sb, production, productionPort, release),
        'source-deploy-path': fixture.deployPath,
        'source-ready-port': String(port),
        sha: release.sha,
        'require-github-deployment': 'true',
        'github-token': TOKEN,
      },
      env: { GITHUB_API_URL: api.url },
    });

  it("a promotion gated on GitHub's record promotes a sha with a successful staging deployment", async () => {
    const passed = await promote(releaseA);
    expect(passed.code, passed.stdout).toBe(0);
    expect(passed.stdout).toMatch(
      new RegExp(`GitHub records a successful deployment of ${releaseA.sha} in staging`),
    );
    expect(api.violations).toEqual([]);
    const promoted = api.deployments.at(-1)!;
    expect(promoted.deployment).toMatchObject({
      environment: 'production',
      production_environment: true,
      sha: releaseA.sha,
    });
    expect(promoted.statuses.map((status) => status.state)).toEqual(['in_progress', 'success']);
  });

  it('and refuses one that staging runs but GitHub has no successful deployment of', async () => {
    // Deployed without a token: the host runs B, and GitHub knows nothing of it.
    const unrecorded = await runAction('deploy-staging', {
      inputs: deployInputs(sb, fixture, port, releaseB),
    });
    expect(unrecorded.code, unrecorded.stdout).toBe(0);
    expect(unrecorded.warnings.join('\n')).toMatch(/not recorded on GitHub .*github-token is empty/);
    const refused = await promote(releaseB);
    expect(refused.code).toBe(1);
    expect(refused.errors.join('\n')).toMatch(
      new RegExp(
        `Promotion refused, production was not touched: GitHub has no deployment of ${releaseB.sha} in staging`,
      ),
    );
    expect(api.violations).toEqual([]);
    expect(api.deployments.at(-1)!.deployment.environment).toBe('production');
  });

  it('no permission (403): a warning naming it, and a successful deploy', async () => {
    api.forbid(['repos/create-deployment', 'repos/create-commit-status']);
    const run = await deploy(releaseA);
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('success');
    expect(run.warnings.join('\n')).toMatch(/403 .*`deployments: write`/);
    expect(run.warnings.join('\n')).toMatch(/403 .*`statuses: write`/);
  });
});
