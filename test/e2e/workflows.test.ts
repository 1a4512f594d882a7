import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createChain,
  destroyChain,
  planChain,
  attestedStatement,
  recordedBy,
  startGitHubApi,
  type Chain,
  type GitHubApi,
  type ChainPlan,
  type HarnessEvent,
  type WorkflowResult,
} from '../../scripts/harness/index.mjs';
import { get } from '../support/http.js';
import { expectWorkflowSuccess } from '../support/workflow-run.js';
import { repoRoot } from '../support/paths.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// The starter workflows installed in a fresh repository made from examples/hello, run by the local
// workflow harness (scripts/harness) on the sandbox: push to main -> release.yml -> deploy-staging.yml,
// then "Run workflow" -> promote-prod.yml. Deployer's actions run from their dist/ bundles.
//
// The starters deploy blue-green behind deployer's proxy. createChain puts them on the sandbox, as for the
// demo, in the repository's second commit (chain.sha, the first that deploys): the proxy of the two
// environments is the plan's own (an image the sandbox builds offline, a container and a folder no other
// test uses) and serves each environment on the plan's free port, which is also the environment's
// APP_HOST_PORT secret (where promote-prod checks staging's readiness). Those are the only lines of the
// starters it changes.

describe('reusable workflows: release → deploy-staging → promote-prod through the starters', () => {
  let sb: Sandbox;
  let plan: ChainPlan;
  let chain: Chain;
  let api: GitHubApi;
  const events: HarnessEvent[] = [];

  beforeAll(async () => {
    sb = sandbox();
    for (const action of ['release-image', 'deploy-staging', 'promote-prod'])
      if (!existsSync(`${repoRoot}${action}/dist/index.js`))
        throw new Error(`${action}/dist is missing: npm run build -- ${action}`);
    plan = await planChain(sb, { name: 'wfe2e' });
    api = await startGitHubApi();
    chain = createChain(sb, plan, { githubApi: api, reporter: (event) => events.push(event) });
  });

  afterAll(async () => {
    await api?.close();
    if (!plan) return;
    destroyChain(sb, plan);
    if (chain) rmSync(chain.work, { recursive: true, force: true });
  });

  const expectSuccess = (run: WorkflowResult) => expectWorkflowSuccess(run, events);

  const version = async (port: number) =>
    JSON.parse((await get(`http://127.0.0.1:${port}/version`)).body).version;

  /** The running app containers of a project (blue-green: `<project>-app-<release id>`). */
  const appContainers = (project: string) =>
    execFileSync(
      'docker',
      [
        'ps',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--filter',
        'label=com.docker.compose.service=app',
        '--format',
        '{{.Names}}',
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n')
      .filter(Boolean);

  /** `docker inspect` of the running app container of a project: the image reference it was started from. */
  const runningAppImage = (project: string) =>
    execFileSync(
      'sh',
      [
        '-c',
        'docker ps -q --filter "label=com.docker.compose.project=$1" --filter label=com.docker.compose.service=app | xargs -r docker inspect --format "{{.Config.Image}}"',
        'sh',
        project,
      ],
      { encoding: 'utf8' },
    ).trim();

  /** The commit statuses GitHub holds for a commit, oldest first, as `context state`. */
  const commitStatuses = (sha: string) =>
    (api.statuses.get(sha) ?? []).map((status) => `${status.context} ${status.state}`);
  /**
   * The deployments of an environment for a commit, oldest first: who made it (GitHub for the job, deployer
   * for the deploy, told by its payload) and its statuses in order.
   */
  const deploymentsOf = (environment: string, sha: string) =>
    api.deployments
      .filter((d) => d.deployment.environment === environment && d.deployment.sha === sha)
      .map((d) => ({
        by: recordedBy(d.deployment),
        payload: d.deployment.payload,
        states: d.statuses.map((status) => status.state),
        environmentUrl: d.statuses.find((status) => status.state === 'success')?.environment_url,
      }));

  let first: { sha: string; appImage: string; appDigest: string; migratorDigest: string };

  it('a push to main releases both images and deploys them by digest to staging, blue-green', async () => {
    const head = chain.sha;
    const push = await chain.push(head);
    expectSuccess(push);
    const release = push.jobs.release!.outputs;
    expect(release.sha).toBe(head);
    expect(release.tag).toBe(`sha-${head}`);
    expect(release['app-image']).toBe(`${sb.registry}/${plan.repository}@${release['app-digest']}`);
    expect(release['migrator-image']).toBe(
      `${sb.registry}/${plan.repository}-migrator@${release['migrator-digest']}`,
    );
    expect(release['app-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    const staging = push.jobs.staging!.outputs;
    expect(staging).toMatchObject({ status: 'success', sha: head, 'app-digest': release['app-digest'] });
    expect(runningAppImage(plan.staging.project)).toBe(release['app-image']);
    // The starter's strategy reached the action: one app container named after its release, no fixed port,
    // behind the proxy the deploy started, which serves staging on its address.
    expect(appContainers(plan.staging.project)).toEqual([
      `${plan.staging.project}-app-${staging['release-id']}`.toLowerCase(),
    ]);
    expect(
      execFileSync(
        'docker',
        ['inspect', '--format', '{{.State.Status}} {{.Config.Image}}', plan.proxy.container],
        { encoding: 'utf8' },
      ).trim(),
    ).toBe(`running ${sb.proxyImage}`);
    expect(await version(plan.staging.port)).toBe(head);
    // Deployer's actions were checked out at the commit of the workflow file that ran (job.workflow_sha);
    // the harness's checkout refuses any other ref of deployer. ("deployer" is masked: it is also the
    // registry user, a secret here.)
    const deployerSha = execFileSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const located = events.filter((event) => event.type === 'step' && event.name === 'Locate deployer');
    expect(located.length).toBe(2);
    for (const step of located) expect(step.log).toContain(`@${deployerSha}`);
    // GitHub's record: the job's deployment (the environment key) and deployer's, with both digests; the
    // commit status deployer/staging; both images' provenance attestations, by digest.
    expect(deploymentsOf('staging', head)).toEqual([
      {
        by: 'job',
        payload: {},
        states: ['in_progress', 'success'],
        environmentUrl: `http://127.0.0.1:${plan.staging.port}`,
      },
      {
        by: 'deployer',
        payload: expect.objectContaining({
          releaseId: staging['release-id'],
          appDigest: release['app-digest'],
          migratorDigest: release['migrator-digest'],
        }),
        states: ['in_progress', 'success'],
        environmentUrl: `http://127.0.0.1:${plan.staging.port}`,
      },
    ]);
    expect(commitStatuses(head)).toEqual(['deployer/staging pending', 'deployer/staging success']);
    const attested = api.attestations.map((attestation) => attestedStatement(attestation).subject[0]);
    expect(attested).toEqual([
      { name: `${sb.registry}/${plan.repository}`, digest: { sha256: release['app-digest']!.slice(7) } },
      {
        name: `${sb.registry}/${plan.repository}-migrator`,
        digest: { sha256: release['migrator-digest']!.slice(7) },
      },
    ]);
    expect(api.violations).toEqual([]);
    first = {
      sha: head,
      appImage: release['app-image']!,
      appDigest: release['app-digest']!,
      migratorDigest: release['migrator-digest']!,
    };
  });

  it("promoting by hand puts exactly staging's digests in production, which then serves the commit", async () => {
    const run = await chain.dispatch({ sha: first.sha });
    expectSuccess(run);
    const promoted = run.jobs.production!;
    const job = promoted.jobs!.promote!;
    expect(job.environment).toEqual({ name: 'production', url: `http://127.0.0.1:${plan.production.port}` });
    expect(promoted.outputs).toMatchObject({
      status: 'success',
      sha: first.sha,
      'app-digest': first.appDigest,
      'migrator-digest': first.migratorDigest,
    });
    expect(await version(plan.production.port)).toBe(first.sha);
    expect(runningAppImage(plan.production.project)).toBe(first.appImage);
    // One proxy for both environments of the host, each on its own address.
    expect(readdirSync(join(plan.proxy.dir, 'sites'))).toEqual(
      expect.arrayContaining([`${plan.staging.project}.caddy`, `${plan.production.project}.caddy`]),
    );
    expect(await version(plan.staging.port)).toBe(first.sha);
    expect(
      deploymentsOf('production', first.sha).map(({ by, states }) => `${by} ${states.join(' ')}`),
    ).toEqual(['job in_progress success', 'deployer in_progress success']);
    expect(commitStatuses(first.sha)).toEqual([
      'deployer/staging pending',
      'deployer/staging success',
      'deployer/production pending',
      'deployer/production success',
    ]);
    expect(api.violations).toEqual([]);
  });

  it('refuses to promote a commit staging does not run, leaving production as it was', async () => {
    const other = chain.commit({ 'NOTES.md': 'not deployed anywhere\n' }, 'a commit staging never ran');
    const run = await chain.dispatch({ sha: other });
    expect(run.result).toBe('failure');
    const step = run.jobs.production!.jobs!.promote!.steps!.find((s) => s.outcome === 'failure');
    expect(step?.name).toBe('Promote or roll back');
    expect(step?.errors?.join('\n')).toContain(`staging does not currently run ${other}`);
    expect(await version(plan.production.port)).toBe(first.sha);
  });

  it('the next commit goes the same way, and the rollback input takes production back to the first', async () => {
    const second = chain.commit({ 'CHANGELOG.md': 'second release\n' }, 'second release');
    expectSuccess(await chain.push(second));
    expect(await version(plan.staging.port)).toBe(second);
    // The first release's container drained and went.
    expect(appContainers(plan.staging.project)).toHaveLength(1);
    expectSuccess(await chain.dispatch({ sha: second }));
    expect(await version(plan.production.port)).toBe(second);

    const rollback = await chain.dispatch({ rollback: true });
    expectSuccess(rollback);
    expect(rollback.jobs.production!.outputs).toMatchObject({ status: 'success', sha: first.sha });
    expect(await version(plan.production.port)).toBe(first.sha);
    expect(runningAppImage(plan.production.project)).toBe(first.appImage);
  });

  it('names the missing environment secrets before touching anything (APP_HOST_PORT only for recreate)', async () => {
    const plain = await planChain(sb, { name: 'wfe2e' });
    const broken = createChain(sb, plain, {
      githubApi: api,
      environments: ({ staging, production }) => {
        const { DEPLOY_PATH: _path, APP_HOST_PORT: _port, ...rest } = staging!.secrets!;
        return { staging: { secrets: rest }, production: production! };
      },
    });
    const checkFails = async (sha: string, message: string) => {
      const push = await broken.push(sha);
      expect(push.result).toBe('failure');
      expect(push.jobs.release!.result).toBe('success');
      const steps = push.jobs.staging!.jobs!.deploy!.steps!;
      expect(steps[0]).toMatchObject({ name: 'Check the staging secrets', outcome: 'failure' });
      expect(steps[0]!.errors!.join('\n')).toContain(message);
      expect(steps.find((step) => step.name === 'Deploy')?.outcome).toBe('skipped');
    };
    try {
      // The starter deploys blue-green (as shipped), which needs no APP_HOST_PORT.
      await checkFails(broken.sha, 'Missing secrets: DEPLOY_PATH. ');
      const starter = '.github/workflows/deployer-staging.yml';
      const recreate = readFileSync(join(broken.repository, starter), 'utf8').replace(
        'strategy: blue-green',
        'strategy: recreate',
      );
      expect(recreate).toMatch(/^ {6}strategy: recreate$/m);
      await checkFails(
        broken.commit({ [starter]: recreate }, 'recreate'),
        'Missing secrets: DEPLOY_PATH APP_HOST_PORT.',
      );
    } finally {
      destroyChain(sb, plain);
      rmSync(broken.work, { recursive: true, force: true });
    }
  });
});
