import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createChain,
  destroyEnvironment,
  planChain,
  type Chain,
  type ChainPlan,
  type HarnessEvent,
  type WorkflowResult,
} from '../../scripts/harness/index.mjs';
import { get } from '../support/http.js';
import { repoRoot } from '../support/paths.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

// The starter workflows installed in a fresh repository made from examples/hello, run by the local
// workflow harness (scripts/harness) on the sandbox: push to main -> release.yml -> deploy-staging.yml,
// then "Run workflow" -> promote-prod.yml. Deployer's actions run from their dist/ bundles.

describe('reusable workflows: release → deploy-staging → promote-prod through the starters', () => {
  let sb: Sandbox;
  let plan: ChainPlan;
  let chain: Chain;
  const events: HarnessEvent[] = [];

  beforeAll(async () => {
    sb = sandbox();
    for (const action of ['release-image', 'deploy-staging', 'promote-prod'])
      if (!existsSync(`${repoRoot}${action}/dist/index.js`))
        throw new Error(`${action}/dist is missing: npm run build -- ${action}`);
    plan = await planChain(sb, { name: 'wfe2e' });
    chain = createChain(sb, plan, { reporter: (event) => events.push(event) });
  });

  afterAll(() => {
    if (!plan) return;
    destroyEnvironment(sb, plan.staging.deployPath, plan.staging.project);
    destroyEnvironment(sb, plan.production.deployPath, plan.production.project);
    if (chain) rmSync(chain.work, { recursive: true, force: true });
  });

  /** What the harness printed for failed steps, for the assertion message. */
  const failures = () =>
    events
      .filter((event) => event.type === 'step' && event.outcome === 'failure')
      .map((event) => `${event.job} / ${event.name}: ${event.errors?.join('; ')}\n${event.log}`)
      .join('\n');

  const expectSuccess = (run: WorkflowResult) => expect(run.result, failures()).toBe('success');

  const version = async (port: number) =>
    JSON.parse((await get(`http://127.0.0.1:${port}/version`)).body).version;

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

  let first: { sha: string; appImage: string; appDigest: string; migratorDigest: string };

  it('a push to main releases both images and deploys them by digest to staging', async () => {
    const push = await chain.push(chain.sha);
    expectSuccess(push);
    const release = push.jobs.release!.outputs;
    expect(release.sha).toBe(chain.sha);
    expect(release.tag).toBe(`sha-${chain.sha}`);
    expect(release['app-image']).toBe(`${sb.registry}/${plan.repository}@${release['app-digest']}`);
    expect(release['migrator-image']).toBe(
      `${sb.registry}/${plan.repository}-migrator@${release['migrator-digest']}`,
    );
    expect(release['app-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    const staging = push.jobs.staging!.outputs;
    expect(staging).toMatchObject({ status: 'success', sha: chain.sha, 'app-digest': release['app-digest'] });
    expect(runningAppImage(plan.staging.project)).toBe(release['app-image']);
    expect(await version(plan.staging.port)).toBe(chain.sha);
    // Deployer's actions were checked out at the commit of the workflow file that ran (job.workflow_sha);
    // the harness's checkout refuses any other ref of deployer. ("deployer" is masked: it is also the
    // registry user, a secret here.)
    const deployerSha = execFileSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const located = events.filter((event) => event.type === 'step' && event.name === 'Locate deployer');
    expect(located.length).toBe(2);
    for (const step of located) expect(step.log).toContain(`@${deployerSha}`);
    first = {
      sha: chain.sha,
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
    expectSuccess(await chain.dispatch({ sha: second }));
    expect(await version(plan.production.port)).toBe(second);

    const rollback = await chain.dispatch({ rollback: true });
    expectSuccess(rollback);
    expect(rollback.jobs.production!.outputs).toMatchObject({ status: 'success', sha: first.sha });
    expect(await version(plan.production.port)).toBe(first.sha);
    expect(runningAppImage(plan.production.project)).toBe(first.appImage);
  });

  it('names the missing environment secrets before touching anything', async () => {
    const plain = await planChain(sb, { name: 'wfe2e' });
    const broken = createChain(sb, plain, {
      environments: ({ staging, production }) => {
        const { DEPLOY_PATH: _path, APP_HOST_PORT: _port, ...rest } = staging!.secrets!;
        return { staging: { secrets: rest }, production: production! };
      },
    });
    try {
      const push = await broken.push(broken.sha);
      expect(push.result).toBe('failure');
      expect(push.jobs.release!.result).toBe('success');
      const steps = push.jobs.staging!.jobs!.deploy!.steps!;
      expect(steps[0]).toMatchObject({ name: 'Check the staging secrets', outcome: 'failure' });
      expect(steps[0]!.errors!.join('\n')).toContain('Missing secrets: DEPLOY_PATH APP_HOST_PORT');
      expect(steps.find((step) => step.name === 'Deploy')?.outcome).toBe('skipped');
    } finally {
      destroyEnvironment(sb, plain.staging.deployPath, plain.staging.project);
      destroyEnvironment(sb, plain.production.deployPath, plain.production.project);
      rmSync(broken.work, { recursive: true, force: true });
    }
  });
});
