import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  attestedStatement,
  Harness,
  startGitHubApi,
  WorkflowError,
  type GitHubApi,
  type HarnessEvent,
  type WorkflowResult,
} from '../../scripts/harness/index.mjs';
import { node24 } from '../support/paths.js';

// The workflow harness itself, on small workflows (bash and a tiny JavaScript action; no sandbox): the
// GitHub behaviour the end-to-end chain relies on, and the refusals that keep it honest.

const PIN = 'actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8';
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'a',
  GIT_AUTHOR_EMAIL: 'a@b',
  GIT_COMMITTER_NAME: 'a',
  GIT_COMMITTER_EMAIL: 'a@b',
};
const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-C', dir, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();

function writeFiles(root: string, files: Record<string, string>) {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

const REUSABLE = `
on:
  workflow_call:
    inputs:
      who: { type: string, required: true }
      loud: { type: boolean, default: false }
    secrets:
      TOKEN: { required: false }
    outputs:
      greeting: { value: "\${{ jobs.greet.outputs.greeting }}" }
      leaked: { value: "\${{ jobs.greet.outputs.leaked }}" }
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: { contents: read }
    outputs:
      greeting: \${{ steps.greet.outputs.greeting }}
      leaked: \${{ steps.leak.outputs.value }}
    steps:
      - uses: ${PIN}
        with: { repository: "\${{ job.workflow_repository }}", ref: "\${{ job.workflow_sha }}", path: .deployer }
      - id: greet
        uses: ./.deployer/greet
        with: { who: "\${{ inputs.who }}", loud: "\${{ inputs.loud }}" }
      - id: leak
        env: { TOKEN: "\${{ secrets.TOKEN }}" }
        run: echo "value=token is $TOKEN" >> "$GITHUB_OUTPUT"
`;

const GREET_ACTION = `
name: greet
description: test action
inputs:
  who: { description: who }
  loud: { description: loud, default: 'false' }
  greeting: { description: greeting word, default: Hello }
runs: { using: node24, main: dist/index.js }
`;

const GREET_BUNDLE = `
const fs = require('node:fs');
const who = process.env.INPUT_WHO;
if (who === 'fail') { console.log('::error::cannot greet fail'); process.exit(1); }
console.log('::add-mask::hidden-' + who);
console.log('greeting hidden-' + who);
let text = process.env.INPUT_GREETING + ', ' + who + '!';
if (process.env.INPUT_LOUD === 'true') text = text.toUpperCase();
fs.appendFileSync(process.env.GITHUB_OUTPUT, 'greeting<<EOF\\n' + text + '\\nEOF\\n');
`;

const MAIN = `
on:
  push:
    branches: [main]
permissions: {}
jobs:
  hello:
    uses: acme/deployer/.github/workflows/reusable.yml@v1
    permissions: { contents: read }
    with: { who: world }
    secrets: inherit
  after:
    needs: hello
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    env: { GREETING: "\${{ needs.hello.outputs.greeting }}" }
    steps:
      - run: echo "FROM_ENV=set-by-step" >> "$GITHUB_ENV"
      - id: show
        run: echo "seen=$GREETING/$FROM_ENV" >> "$GITHUB_OUTPUT"
      - id: dropped
        if: needs.hello.outputs.leaked == ''
        run: echo "ran=yes" >> "$GITHUB_OUTPUT"
      - run: exit 3
      - id: skipped
        run: echo never
      - id: cleanup
        if: failure()
        run: echo "ran=yes" >> "$GITHUB_OUTPUT"
  later:
    needs: after
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    steps:
      - run: echo never
`;

const ATTEST = 'actions/attest-build-provenance@a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const postStatus = `curl -s -o /dev/null -w 'code=%{http_code}' -X POST -H "Authorization: Bearer \${{ github.token }}" -H 'Content-Type: application/json' -d '{"state":"success","context":"harness"}' "$GITHUB_API_URL/repos/acme/app/statuses/$GITHUB_SHA" >> "$GITHUB_OUTPUT"`;

// Each job's GITHUB_TOKEN carries that job's permissions, which the local GitHub API enforces.
const TOKENS = `
on: { push: {} }
permissions: {}
jobs:
  granted:
    runs-on: ubuntu-24.04
    permissions: { statuses: write }
    outputs: { code: "\${{ steps.post.outputs.code }}" }
    steps:
      - id: post
        run: |
          ${postStatus}
  ungranted:
    runs-on: ubuntu-24.04
    outputs: { code: "\${{ steps.post.outputs.code }}" }
    steps:
      - id: post
        run: |
          ${postStatus}
  attest:
    runs-on: ubuntu-24.04
    permissions: { id-token: write, attestations: write }
    steps:
      - id: attest
        uses: ${ATTEST} # v4.1.0
        with: { subject-name: 127.0.0.1:5000/acme/app, subject-digest: "${DIGEST}" }
  attest-without-id-token:
    runs-on: ubuntu-24.04
    permissions: { attestations: write }
    steps:
      - uses: ${ATTEST} # v4.1.0
        with: { subject-name: 127.0.0.1:5000/acme/app, subject-digest: "${DIGEST}" }
`;

// A called job in an environment sees the environment's secrets its caller names, and no others.
const ENVIRONMENT_REUSABLE = `
on:
  workflow_call:
    secrets:
      NAMED: { required: false }
      UNNAMED: { required: false }
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-24.04
    permissions: {}
    environment: { name: staging, url: "https://staging.example.test" }
    outputs:
      named: \${{ steps.look.outputs.named }}
      unnamed: \${{ steps.look.outputs.unnamed }}
    steps:
      - id: look
        env: { NAMED: "\${{ secrets.NAMED }}", UNNAMED: "\${{ secrets.UNNAMED }}" }
        run: |
          echo "named=\${NAMED:+set}" >> "$GITHUB_OUTPUT"
          echo "unnamed=\${UNNAMED:+set}" >> "$GITHUB_OUTPUT"
`;

const call = (extra: string) => `
on: { push: {} }
permissions: {}
jobs:
${extra}
`;

describe('workflow harness', () => {
  let root: string;
  let deployer: string;
  let user: string;
  let sha: string;
  const events: HarnessEvent[] = [];
  let api: GitHubApi;

  beforeAll(async () => {
    api = await startGitHubApi();
    root = mkdtempSync(join(tmpdir(), 'workflow-harness-test-'));
    deployer = join(root, 'deployer');
    user = join(root, 'user');
    writeFiles(deployer, {
      '.github/workflows/reusable.yml': REUSABLE,
      '.github/workflows/environment.yml': ENVIRONMENT_REUSABLE,
      'greet/action.yml': GREET_ACTION,
      'greet/dist/index.js': GREET_BUNDLE,
    });
    writeFiles(user, {
      '.github/workflows/main.yml': MAIN,
      '.github/workflows/tokens.yml': TOKENS,
      '.github/workflows/environment-secrets.yml': call(
        `  deploy:\n    uses: acme/deployer/.github/workflows/environment.yml@v1\n    permissions: {}\n    secrets:\n      NAMED: \${{ secrets.NAMED }}`,
      ),
      '.github/workflows/bad-input.yml': call(
        `  hello:\n    uses: acme/deployer/.github/workflows/reusable.yml@v1\n    permissions: { contents: read }\n    with: { who: world, loud: 'yes' }`,
      ),
      '.github/workflows/escalate.yml': call(
        `  hello:\n    uses: acme/deployer/.github/workflows/reusable.yml@v1\n    permissions: {}\n    with: { who: world }`,
      ),
      '.github/workflows/unpinned.yml': call(
        `  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4`,
      ),
      '.github/workflows/other-deployer.yml': call(
        `  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: ${PIN}\n        with: { repository: acme/deployer, ref: main, path: .deployer }`,
      ),
      '.github/workflows/failing-action.yml': call(
        `  hello:\n    uses: acme/deployer/.github/workflows/reusable.yml@v1\n    permissions: { contents: read }\n    with: { who: fail }`,
      ),
    });
    git(root, 'init', '--quiet', '-b', 'main', user);
    git(user, 'add', '--all');
    git(user, 'commit', '--quiet', '-m', 'workflows');
    sha = git(user, 'rev-parse', 'HEAD');
  });

  afterAll(async () => {
    rmSync(root, { recursive: true, force: true });
    await api?.close();
  });

  const harness = () =>
    new Harness({
      deployer: { repository: 'acme/deployer', root: deployer, sha: 'd'.repeat(40) },
      repositories: { 'acme/app': user },
      secrets: { TOKEN: 's3cr3t-value' },
      nodePath: node24,
      workDir: mkdtempSync(join(root, 'work-')),
      reporter: (event) => events.push(event),
      githubApi: api,
      environments: { staging: { secrets: { NAMED: 'named-value', UNNAMED: 'unnamed-value' } } },
    });
  const trigger = (path: string) =>
    harness().trigger({ repository: 'acme/app', path: `.github/workflows/${path}`, event: 'push', sha });

  it('passes outputs from steps to jobs, through a reusable workflow, to the jobs that need them', async () => {
    const run: WorkflowResult = await trigger('main.yml');
    expect(run.jobs.hello).toMatchObject({ result: 'success', outputs: { greeting: 'Hello, world!' } });
    const after = run.jobs.after!;
    const byId = Object.fromEntries(after.steps!.map((step, index) => [index, step]));
    expect(byId[1]!.outputs).toEqual({ seen: 'Hello, world!/set-by-step' });
    // GitHub drops a job output holding a secret: the leaked output never reached the caller.
    expect(byId[2]).toMatchObject({ outcome: 'success', outputs: { ran: 'yes' } });
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'warning',
        message: "Skip output 'leaked' since it may contain secret.",
      }),
    );
    expect(byId[3]).toMatchObject({ outcome: 'failure', errors: ['Process completed with exit code 3.'] });
    expect(byId[4]!.outcome).toBe('skipped');
    expect(byId[5]).toMatchObject({ outcome: 'success', outputs: { ran: 'yes' } });
    expect(after.result).toBe('failure');
    expect(run.jobs.later!.result).toBe('skipped');
    expect(run.result).toBe('failure');
  });

  it('masks secrets and ::add-mask:: values in what it reports', async () => {
    const greet = events.find(
      (event) => event.type === 'step' && event.outputs?.greeting === 'Hello, world!',
    );
    expect(greet?.log).toContain('greeting ***');
    expect(greet?.log).not.toContain('hidden');
    expect(JSON.stringify(events)).not.toContain('s3cr3t-value');
  });

  it('types reusable workflow inputs like GitHub and refuses a string for a boolean', async () => {
    await expect(trigger('bad-input.yml')).rejects.toThrow(/input loud expects a boolean, got "yes"/);
    await expect(trigger('bad-input.yml')).rejects.toBeInstanceOf(WorkflowError);
  });

  it('refuses a called job asking for more permissions than the calling job grants', async () => {
    await expect(trigger('escalate.yml')).rejects.toThrow(
      /job greet asks for contents: read but the calling job grants contents: none/,
    );
  });

  it('refuses third-party actions that are not pinned to a commit', async () => {
    await expect(trigger('unpinned.yml')).rejects.toThrow(
      /actions\/checkout@v4: third-party actions must be pinned/,
    );
  });

  it('only checks deployer out at the commit of the workflow that runs (job.workflow_sha)', async () => {
    const run = await trigger('other-deployer.yml');
    expect(run.jobs.x!.steps![0]!.errors!.join()).toMatch(
      /the harness only has the commit this workflow runs from/,
    );
  });

  it('fails the step, the job and the caller when an action fails, with its annotation', async () => {
    const run = await trigger('failing-action.yml');
    expect(run.result).toBe('failure');
    const steps = run.jobs.hello!.jobs!.greet!.steps!;
    expect(steps[1]).toMatchObject({ outcome: 'failure' });
    expect(steps[1]!.errors).toContain('cannot greet fail');
    expect(steps[2]!.outcome).toBe('skipped');
  });

  it("gives each job a token with that job's permissions, enforced by the local GitHub API", async () => {
    const run = await trigger('tokens.yml');
    expect(run.jobs.granted!.outputs.code).toBe('201');
    expect(run.jobs.ungranted!.outputs.code).toBe('403');
    expect(api.statuses.get(sha)?.map((status) => status.context)).toEqual(['harness']);
    // The attestation stand-in needs the job's id-token and attestations permissions, like the real one.
    expect(run.jobs.attest!.result).toBe('success');
    const attested = run.jobs.attest!.steps![0]!.outputs!;
    expect(attested['attestation-url']).toBe(
      `https://github.com/acme/app/attestations/${attested['attestation-id']}`,
    );
    expect(api.attestations).toHaveLength(1);
    const statement = attestedStatement(api.attestations[0]!);
    expect(statement.subject).toEqual([
      { name: '127.0.0.1:5000/acme/app', digest: { sha256: 'ab'.repeat(32) } },
    ]);
    expect(run.jobs['attest-without-id-token']!.steps![0]!.errors!.join()).toMatch(
      /the job lacks `id-token: write`/,
    );
    expect(api.violations).toEqual([]);
  });

  it("passes a called job only the environment secrets its caller names, and records GitHub's job deployment", async () => {
    const before = api.deployments.length;
    const run = await trigger('environment-secrets.yml');
    expect(run.result).toBe('success');
    expect(run.jobs.deploy!.jobs!.deploy!.outputs).toEqual({ named: 'set', unnamed: '' });
    const recorded = api.deployments.slice(before);
    expect(recorded.map((d) => [d.deployment.environment, d.deployment.sha])).toEqual([['staging', sha]]);
    expect(recorded[0]!.statuses.map((status) => [status.state, status.environment_url])).toEqual([
      ['in_progress', ''],
      ['success', 'https://staging.example.test'],
    ]);
    expect(api.violations).toEqual([]);
  });
});
