import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { buildAndPushExample, withRegistryLogin, type ExampleRelease } from '../support/images.js';
import { get } from '../support/http.js';
import { sandboxConnectionInputs } from '../support/deploy.js';
import { HostFixture } from '../support/host.js';
import { exampleDir } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { runAction } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

describe('promote-prod: staging → production on the sandbox host', () => {
  let sb: Sandbox;
  let releaseA: ExampleRelease;
  let releaseB: ExampleRelease;
  let staging: HostFixture;
  let production: HostFixture;
  let stagingPort: number;
  let productionPort: number;
  const repo = `promote-test/${process.pid}/hello`;

  beforeAll(async () => {
    sb = sandbox();
    releaseA = buildAndPushExample(sb, repo);
    releaseB = buildAndPushExample(sb, repo);
    staging = await HostFixture.create(sb, 'staging');
    production = await HostFixture.create(sb, 'production', 'GREETING=hello-from-production\n');
    stagingPort = await freePort();
    productionPort = await freePort();
  });

  afterAll(async () => {
    await staging?.destroy();
    await production?.destroy();
  });

  const connection = () => ({
    ...sandboxConnectionInputs(sb),
    'compose-file': `${exampleDir}/docker-compose.deploy.yml`,
  });

  const deployStaging = (release: ExampleRelease) =>
    runAction('deploy-staging', {
      inputs: {
        ...connection(),
        'deploy-path': staging.deployPath,
        'project-name': staging.projectName,
        'app-host-port': String(stagingPort),
        'app-image': release.appImage,
        'migrator-image': release.migratorImage,
        sha: release.sha,
      },
    });

  const promote = (extra: Record<string, string>) =>
    runAction('promote-prod', {
      inputs: {
        ...connection(),
        'deploy-path': production.deployPath,
        'project-name': production.projectName,
        'app-host-port': String(productionPort),
        'source-deploy-path': staging.deployPath,
        'source-ready-port': String(stagingPort),
        ...extra,
      },
    });

  const version = async (port: number) =>
    JSON.parse((await get(`http://127.0.0.1:${port}/version`)).body).version;

  /** The image id (content) behind the running app container of a fixture. */
  const runningImageId = async (fixture: HostFixture) =>
    (
      await fixture.ssh.run([
        'sh',
        '-c',
        'docker ps -q --filter "label=com.docker.compose.project=$1" --filter label=com.docker.compose.service=app | xargs -r docker inspect --format "{{.Image}}"',
        'sh',
        fixture.projectName,
      ])
    ).stdout.trim();

  it('refuses a sha that staging does not run, and leaves production untouched', async () => {
    expect((await deployStaging(releaseA)).code).toBe(0);
    const run = await promote({ sha: releaseB.sha });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toContain(
      `staging does not currently run ${releaseB.sha}; it runs ${releaseA.sha}`,
    );
    expect(await production.exists('.deployer')).toBe(false);
    expect(await production.runningImages()).toEqual([]);
  });

  it('refuses when staging does not answer ready right now', async () => {
    const container = (
      await staging.ssh.run([
        'docker',
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${staging.projectName}`,
        '--filter',
        'label=com.docker.compose.service=app',
      ])
    ).stdout.trim();
    await staging.ssh.run(['docker', 'exec', container, 'sh', '-c', 'echo 0 > /data/schema_version']);
    try {
      const run = await promote({ sha: releaseA.sha, 'source-ready-timeout': '2s' });
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(/staging is not ready right now: .*503/);
      expect(await production.exists('.deployer')).toBe(false);
    } finally {
      await staging.ssh.run(['docker', 'exec', container, 'sh', '-c', 'echo 2 > /data/schema_version']);
    }
  });

  it("deploys staging's digests even after the registry tag was re-pointed", async () => {
    // Someone re-pushes the sha tag of A with B's content.
    withRegistryLogin(sb, (dockerConfig) =>
      execFileSync(
        'docker',
        [
          'buildx',
          'imagetools',
          'create',
          '--tag',
          `${sb.registry}/${repo}:sha-${releaseA.sha}`,
          releaseB.appImage,
        ],
        {
          env: { ...process.env, DOCKER_CONFIG: dockerConfig },
          stdio: 'ignore',
        },
      ),
    );
    const run = await promote({ sha: releaseA.sha });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['app-image']).toBe(releaseA.appImage);
    expect(run.outputs['app-digest']).toBe(releaseA.appDigest);
    expect(run.outputs['migrator-digest']).toBe(releaseA.migratorDigest);
    expect(run.outputs['source-release']).toMatch(new RegExp(`-${releaseA.sha.slice(0, 7)}$`));
    expect(await production.runningImages()).toEqual([releaseA.appImage]);
    expect(await runningImageId(production)).toBe(await runningImageId(staging));
    expect(await version(productionPort)).toBe(releaseA.sha);
    const state = await production.state();
    expect(state.current).toMatchObject({
      sha: releaseA.sha,
      kind: 'promote',
      promotedFrom: { environment: 'staging' },
    });
    expect(run.summary).toMatch(/Promote staging → production/);
    expect(run.summary).toContain(releaseA.appImage);
  });

  it('promotes the next release, rolls back to the previous one, and refuses an unknown release', async () => {
    expect((await deployStaging(releaseB)).code).toBe(0);
    const promoted = await promote({ sha: releaseB.sha });
    expect(promoted.code, promoted.stdout).toBe(0);
    expect(await version(productionPort)).toBe(releaseB.sha);

    const rollback = await promote({ mode: 'rollback' });
    expect(rollback.code, rollback.stdout).toBe(0);
    expect(rollback.stdout).not.toContain('migrate: migrator:');
    expect(await version(productionPort)).toBe(releaseA.sha);
    expect(await production.runningImages()).toEqual([releaseA.appImage]);
    const state = await production.state();
    expect(state.current).toMatchObject({ sha: releaseA.sha, kind: 'rollback', migrated: false });

    const unknown = await promote({ mode: 'rollback', 'rollback-to': 'deadbeefcafe' });
    expect(unknown.code).toBe(1);
    expect(unknown.errors.join('\n')).toMatch(
      /deadbeefcafe is not a successful release in production's history/,
    );
    expect(await version(productionPort)).toBe(releaseA.sha);
  });
});
