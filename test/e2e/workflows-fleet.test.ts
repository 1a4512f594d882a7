import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import {
  createChain,
  destroyChain,
  planChain,
  recordedBy,
  startGitHubApi,
  type Chain,
  type GitHubApi,
  type ChainPlan,
  type HarnessEvent,
  type WorkflowResult,
} from '../../scripts/harness/index.mjs';
import { HostFixture } from '../support/host.js';
import { get } from '../support/http.js';
import { expectWorkflowSuccess } from '../support/workflow-run.js';
import { freePort } from '../support/ports.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

// The starters with `config-file: .github/deployer.yml` uncommented, as their comment says (strategy,
// compose-file and proxy-address moved into the file), in a repository made from examples/hello, run by
// the local workflow harness: push → release → deploy-staging to two sandbox fleet hosts, then "Run
// workflow" → promote-prod to a third. As docs/workflows.md asks, the environments keep only their
// SSH_PRIVATE_KEY secret (the file reads it as { env: SSH_PRIVATE_KEY }): an old SSH_HOST or SSH_PORT
// secret would make GitHub drop every output that contains its value, `hosts` among them.

interface FleetHost {
  name: string;
  fixture: HostFixture;
  address: string;
  fingerprint: string;
  port: number;
}

describe('reusable workflows with a deploy config file: a push deploys every staging host, a dispatch promotes', () => {
  let sb: Sandbox;
  let plan: ChainPlan;
  let chain: Chain;
  let api: GitHubApi;
  let staging: FleetHost[];
  let production: FleetHost[];
  const events: HarnessEvent[] = [];
  const volume = `wf-fleet-data-${process.pid}`;

  const fleetHost = async (index: number, name: string): Promise<FleetHost> => {
    const on = sb.fleet[index]!;
    return {
      name,
      fixture: await HostFixture.create(sb, `wf-${name}`, 'GREETING=hello\n', sb.sshUser, on),
      address: on.host,
      fingerprint: on.fingerprint,
      port: await freePort(),
    };
  };

  const proxyOf = (host: FleetHost) => ({
    container: `deployer-proxy-wf-${host.name}-${process.pid}`,
    dir: `${host.fixture.deployPath}-proxy`,
  });

  const hostEntry = (host: FleetHost) => ({
    name: host.name,
    host: host.address,
    roles: ['web'],
    'host-fingerprint': host.fingerprint,
    'deploy-path': host.fixture.deployPath,
    'project-name': host.fixture.projectName,
    'proxy-address': `:${host.port}`,
    'proxy-container': proxyOf(host).container,
    'proxy-dir': proxyOf(host).dir,
  });

  beforeAll(async () => {
    sb = sandbox();
    plan = await planChain(sb, { name: 'wffleet' });
    api = await startGitHubApi();
    chain = createChain(sb, plan, {
      githubApi: api,
      reporter: (event) => events.push(event),
      environments: () => ({
        staging: { secrets: { SSH_PRIVATE_KEY: sb.sshKey } },
        production: { secrets: { SSH_PRIVATE_KEY: sb.sshKey } },
      }),
    });
    staging = [await fleetHost(7, 'web-1'), await fleetHost(8, 'web-2')];
    production = [await fleetHost(9, 'prod-web-1')];
    const config = {
      'compose-file': 'docker-compose.fleet.yml',
      user: sb.sshUser,
      port: sb.sshPort,
      'ssh-key': { env: 'SSH_PRIVATE_KEY' },
      'ready-interval': '200ms',
      'ready-stable-for': '500ms',
      roles: {
        web: { service: 'app', strategy: 'blue-green', 'proxy-image': sb.proxyImage, 'drain-timeout': '5s' },
      },
      environments: {
        staging: { 'deploy-env': { DATA_VOLUME: volume }, hosts: staging.map(hostEntry) },
        production: {
          'deploy-env': { DATA_VOLUME: `${volume}-production` },
          hosts: production.map(hostEntry),
        },
      },
    };
    const starters: Record<string, string> = {};
    for (const [file, job] of [
      ['deployer-staging.yml', 'staging'],
      ['deployer-production.yml', 'production'],
    ] as const) {
      const path = `.github/workflows/${file}`;
      const doc = parseDocument(readFileSync(join(chain.repository, path), 'utf8'));
      for (const moved of [
        'strategy',
        'compose-file',
        'proxy-address',
        'proxy-image',
        'proxy-container',
        'proxy-dir',
      ])
        doc.deleteIn(['jobs', job, 'with', moved]);
      doc.setIn(['jobs', job, 'with', 'config-file'], '.github/deployer.yml');
      starters[path] = String(doc);
    }
    chain.commit(
      { ...starters, '.github/deployer.yml': stringify(config) },
      'deployer: a deploy config file',
    );
  });

  afterAll(async () => {
    await api?.close();
    for (const host of [...(staging ?? []), ...(production ?? [])]) {
      await host.fixture.ssh.run(['docker', 'rm', '--force', proxyOf(host).container], { check: false });
      await host.fixture.ssh.run(['rm', '-rf', '--', proxyOf(host).dir], { check: false });
      await host.fixture.destroy();
    }
    execFileSync('docker', ['volume', 'rm', '--force', volume, `${volume}-production`], { stdio: 'ignore' });
    if (plan) destroyChain(sb, plan);
    if (chain) rmSync(chain.work, { recursive: true, force: true });
  });

  const expectSuccess = (run: WorkflowResult) => expectWorkflowSuccess(run, events);
  const version = async (host: FleetHost) =>
    JSON.parse((await get(`http://127.0.0.1:${host.port}/version`)).body).version as string;
  const hostsOutput = (outputs: Record<string, string>) =>
    (JSON.parse(outputs.hosts ?? '[]') as Array<{ name: string; status: string }>).map((h) => [
      h.name,
      h.status,
    ]);

  /** The environment's deployments on GitHub, oldest first: by whom, and their statuses. */
  const githubRecords = (environment: string) =>
    api.deployments
      .filter((d) => d.deployment.environment === environment)
      .map((d) => `${recordedBy(d.deployment)} ${d.statuses.map((s) => s.state).join(' ')}`);

  let head: string;

  it('a push releases the images and deploys them to both staging hosts from the file', async () => {
    head = execFileSync('git', ['-C', chain.repository, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const push = await chain.push(head);
    expectSuccess(push);
    const outputs = push.jobs.staging!.outputs;
    expect(outputs.status).toBe('success');
    expect(hostsOutput(outputs)).toEqual([
      ['web-1', 'success'],
      ['web-2', 'success'],
    ]);
    for (const host of staging) expect(await version(host), host.name).toBe(head);
    // On GitHub the rollout is one deployment of staging (beside the job's own), not one per host.
    expect(githubRecords('staging')).toEqual(['job in_progress success', 'deployer in_progress success']);
    expect((api.statuses.get(head) ?? []).map((status) => `${status.context} ${status.state}`)).toEqual([
      'deployer/staging pending',
      'deployer/staging success',
    ]);
  });

  it('"Run workflow" promotes what both staging hosts run to the production host of the file', async () => {
    const run = await chain.dispatch({ sha: head });
    expectSuccess(run);
    const outputs = run.jobs.production!.outputs;
    expect(outputs).toMatchObject({ status: 'success', sha: head });
    expect(hostsOutput(outputs)).toEqual([['prod-web-1', 'success']]);
    expect(await version(production[0]!)).toBe(head);
    // The starter's require-github-deployment gate read staging's record before promoting.
    expect(
      events.some(
        (event) => event.type === 'step' && /GitHub records a successful deployment/.test(event.log ?? ''),
      ),
    ).toBe(true);
    expect(githubRecords('production')).toEqual(['job in_progress success', 'deployer in_progress success']);
    expect(api.violations).toEqual([]);
  });
});
