// The GitHub REST API stand-in (scripts/harness/github-api.mjs): GitHub's behaviour for deployments and
// statuses, and a violation for every request its OpenAPI description would not allow.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getOctokit } from '@actions/github';
import { startGitHubApi, type GitHubApi } from '../../scripts/harness/github-api.mjs';

const TOKEN = 'ghs_mocktoken';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const REPO = '/repos/acme/hello';

let api: GitHubApi;
beforeEach(async () => {
  api = await startGitHubApi({ token: TOKEN });
});
afterEach(async () => {
  await api.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  authorization = `Bearer ${TOKEN}`,
): Promise<{
  status: number;
  body: Record<string, unknown> & Array<Record<string, unknown>>;
  link: string | null;
}> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization, accept: 'application/vnd.github+json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json(), link: response.headers.get('link') };
}

describe('the GitHub API mock', { timeout: 30_000 }, () => {
  it('stores deployments, their statuses and commit statuses as GitHub does, with no violations', async () => {
    const first = await call('POST', `${REPO}/deployments`, {
      ref: SHA,
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
      payload: { release: 'one' },
      description: 'first',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      id: 1,
      sha: SHA,
      ref: SHA,
      task: 'deploy',
      environment: 'staging',
      original_environment: 'staging',
      production_environment: false,
      transient_environment: false,
      payload: { release: 'one' },
      statuses_url: `${api.url}${REPO}/deployments/1/statuses`,
    });
    const success = await call('POST', `${REPO}/deployments/1/statuses`, {
      state: 'success',
      environment_url: 'https://staging.example.test',
      log_url: 'https://github.com/acme/hello/actions/runs/7',
    });
    expect(success.status).toBe(201);
    expect(success.body).toMatchObject({
      state: 'success',
      environment: 'staging',
      target_url: 'https://github.com/acme/hello/actions/runs/7',
      deployment_url: `${api.url}${REPO}/deployments/1`,
    });

    // Another environment's successful deployment stays active.
    await call('POST', `${REPO}/deployments`, { ref: SHA, auto_merge: false, required_contexts: [] });
    await call('POST', `${REPO}/deployments/2/statuses`, { state: 'success' });

    const second = await call('POST', `${REPO}/deployments`, { ref: 'main', environment: 'staging' });
    expect(second.body).toMatchObject({ id: 3, ref: 'main', payload: {} });
    expect(second.body.sha).toMatch(/^[0-9a-f]{40}$/);
    await call('POST', `${REPO}/deployments/3/statuses`, { state: 'in_progress' });
    await call('POST', `${REPO}/deployments/3/statuses`, { state: 'success', description: 'deployed' });

    const commit = await call('POST', `${REPO}/statuses/${SHA}`, {
      state: 'success',
      context: 'deployer/staging',
      target_url: 'https://staging.example.test',
      description: 'Deployed to staging',
    });
    expect(commit.status).toBe(201);
    await call('POST', `${REPO}/statuses/${SHA}`, { state: 'pending' });

    // auto_inactive leaves production environments' deployments alone (GitHub's documented rule).
    await call('POST', `${REPO}/deployments`, { ref: SHA });
    await call('POST', `${REPO}/deployments/4/statuses`, { state: 'success' });

    expect(api.deployments.map((d) => [d.deployment.environment, d.statuses.map((s) => s.state)])).toEqual([
      ['staging', ['success', 'inactive']],
      ['production', ['success']],
      ['staging', ['in_progress', 'success']],
      ['production', ['success']],
    ]);
    expect(api.deployments[1]?.deployment.production_environment).toBe(true);
    expect(api.statuses.get(SHA)?.map((s) => [s.state, s.context, s.description])).toEqual([
      ['success', 'deployer/staging', 'Deployed to staging'],
      ['pending', 'default', null],
    ]);

    const listed = await call('GET', `${REPO}/deployments?environment=staging`);
    expect(listed.body.map((d) => d.id)).toEqual([3, 1]);
    expect((await call('GET', `${REPO}/deployments?sha=${SHA}&task=deploy`)).body.map((d) => d.id)).toEqual([
      4, 2, 1,
    ]);
    expect((await call('GET', `${REPO}/deployments/1`)).body.id).toBe(1);
    const history = await call('GET', `${REPO}/deployments/1/statuses`);
    expect(history.body.map((s) => s.state)).toEqual(['inactive', 'success']);
    const commits = await call('GET', `${REPO}/commits/${SHA}/statuses`);
    expect(commits.body.map((s) => s.state)).toEqual(['pending', 'success']);

    expect(api.requests.map((r) => r.operationId)).toContain('repos/create-deployment-status');
    expect(api.violations).toEqual([]);
  });

  it('pages lists with a Link header, as Octokit reads them', async () => {
    for (let i = 0; i < 3; i++) await call('POST', `${REPO}/deployments`, { ref: SHA });
    const page = await call('GET', `${REPO}/deployments?per_page=2`);
    expect(page.body.map((d) => d.id)).toEqual([3, 2]);
    expect(page.link).toContain('rel="next"');
    const octokit = getOctokit(TOKEN, { baseUrl: api.url });
    const all = await octokit.paginate(octokit.rest.repos.listDeployments, {
      owner: 'acme',
      repo: 'hello',
      per_page: 2,
    });
    expect(all.map((d) => d.id)).toEqual([3, 2, 1]);
    const { data } = await octokit.rest.repos.createDeploymentStatus({
      owner: 'acme',
      repo: 'hello',
      deployment_id: 1,
      state: 'failure',
      auto_inactive: false,
    });
    expect(data.state).toBe('failure');
    expect(api.violations).toEqual([]);
  });

  it('records a violation for a body, a query or a route the description does not allow', async () => {
    await call('POST', `${REPO}/deployments`, { ref: SHA });
    const done = await call('POST', `${REPO}/deployments/1/statuses`, { state: 'done' });
    expect(done.status).toBe(422);
    expect(done.body.message).toBe('Validation Failed');
    const badEnvironment = await call('POST', `${REPO}/deployments`, { ref: SHA, environment: 5 });
    expect(badEnvironment.status).toBe(422);
    expect((await call('POST', `${REPO}/deployments`, { environment: 'staging' })).status).toBe(422);
    expect(
      (await call('POST', `${REPO}/statuses/${SHA}`, { state: 'ok', environment_url: 'x' })).status,
    ).toBe(422);
    expect((await call('GET', `${REPO}/deployments?per_page=many`)).status).toBe(422);
    const unknown = await call('GET', `${REPO}/deploymentz`);
    expect(unknown).toMatchObject({ status: 404, body: { message: 'Not Found' } });
    expect((await call('PUT', `${REPO}/deployments`, {})).status).toBe(404);

    expect(api.violations).toEqual([
      `POST ${REPO}/deployments/1/statuses: body/state must be equal to one of the allowed values: ` +
        '"error", "failure", "inactive", "in_progress", "queued", "pending", "success"',
      `POST ${REPO}/deployments: body/environment must be string`,
      `POST ${REPO}/deployments: body must have required property 'ref'`,
      `POST ${REPO}/statuses/${SHA}: body must NOT have additional properties: environment_url`,
      `POST ${REPO}/statuses/${SHA}: body/state must be equal to one of the allowed values: ` +
        '"error", "failure", "pending", "success"',
      `GET ${REPO}/deployments: query/per_page must be integer`,
      `GET ${REPO}/deploymentz: no GitHub operation`,
      `PUT ${REPO}/deployments: no GitHub operation (the path takes GET, POST)`,
    ]);
    expect(api.deployments).toHaveLength(1);
  });

  it('answers like GitHub where the request is valid but GitHub refuses it', async () => {
    expect((await call('POST', `${REPO}/deployments/9/statuses`, { state: 'success' })).status).toBe(404);
    expect((await call('GET', `${REPO}/deployments/9`)).status).toBe(404);
    await call('POST', `${REPO}/deployments`, { ref: SHA });
    const long = await call('POST', `${REPO}/deployments/1/statuses`, {
      state: 'success',
      description: 'x'.repeat(141),
    });
    expect(long.status).toBe(422);
    expect((await call('POST', `${REPO}/statuses/main`, { state: 'success' })).status).toBe(422);
    expect(api.violations).toEqual([]);
  });

  it("answers 501 with a violation for a valid route it doesn't implement", async () => {
    expect((await call('GET', REPO)).status).toBe(501);
    expect(api.violations).toEqual([`GET ${REPO}: repos/get is not implemented by the mock`]);
  });

  it('answers forbidden operations with 403 as for a token without the permission', async () => {
    api.forbid(['repos/create-deployment']);
    const denied = await call('POST', `${REPO}/deployments`, { ref: SHA });
    expect(denied).toMatchObject({
      status: 403,
      body: {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
      },
    });
    expect(api.deployments).toEqual([]);
    expect(api.violations).toEqual([]);
    expect(() => api.forbid(['repos/create-deploymnet'])).toThrow(/no GitHub operation/);
  });

  it('answers 401 with a violation for a wrong or missing token', async () => {
    const wrong = await call('POST', `${REPO}/deployments`, { ref: SHA }, 'token ghs_other');
    expect(wrong).toMatchObject({ status: 401, body: { message: 'Bad credentials' } });
    expect((await call('GET', `${REPO}/deployments`, undefined, '')).status).toBe(401);
    expect((await call('GET', `${REPO}/deployments`, undefined, `token ${TOKEN}`)).status).toBe(200);
    expect(api.violations).toEqual([
      `POST ${REPO}/deployments: the Authorization header has the wrong token`,
      `GET ${REPO}/deployments: no Authorization header`,
    ]);
    expect(api.requests.map((r) => r.status)).toEqual([401, 401, 200]);
  });

  it("answers a granted token's calls by its job's permissions, GitHub's 403 beyond them", async () => {
    api.grant('ghs_job1', { contents: 'read', deployments: 'write' });
    api.grant('ghs_job2', 'read-all');
    const created = await call('POST', `${REPO}/deployments`, { ref: SHA }, 'token ghs_job1');
    expect(created.status).toBe(201);
    const status = await call(
      'POST',
      `${REPO}/statuses/${SHA}`,
      { state: 'success', context: 'deployer/staging' },
      'token ghs_job1',
    );
    expect(status).toMatchObject({
      status: 403,
      body: { message: 'Resource not accessible by integration' },
    });
    expect((await call('GET', `${REPO}/deployments`, undefined, 'token ghs_job2')).status).toBe(200);
    expect((await call('POST', `${REPO}/deployments`, { ref: SHA }, 'token ghs_job2')).status).toBe(403);
    expect((await call('GET', `${REPO}/deployments`, undefined, 'token ghs_unknown')).status).toBe(401);
    expect(api.deployments).toHaveLength(1);
    expect(api.statuses.get(SHA)).toBeUndefined();
    expect(api.violations).toEqual([`GET ${REPO}/deployments: the Authorization header has the wrong token`]);
  });
});
