import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SshExecutor } from '../../actions/engine/exec/ssh.js';
import { buildAndPushExample, type ExampleRelease } from '../support/images.js';
import { get, eventually } from '../support/http.js';
import { exampleDir } from '../support/paths.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

// The sandbox end to end with plain commands: offline images, registry with auth, Compose v2 over SSH.
describe('sandbox: build, push, start over SSH', () => {
  let sb: Sandbox;
  let release: ExampleRelease;
  const deployPath = `/srv/deployer-sandbox/foundation-${process.pid}`;
  const port = 18400 + (process.pid % 500);

  beforeAll(() => {
    sb = sandbox();
    release = buildAndPushExample(sb, `foundation/hello-${process.pid}`);
  });

  it('registry refuses anonymous pulls', async () => {
    const response = await fetch(`http://${sb.registry}/v2/`);
    expect(response.status).toBe(401);
  });

  it('runs caddy from the offline proxy image, as the deploy user over SSH', async () => {
    const ssh = await SshExecutor.connect({
      host: sb.sshHost,
      port: sb.sshPort,
      username: sb.sshUser,
      privateKey: sb.sshKey,
      hostKey: { kind: 'fingerprint', fingerprints: [sb.hostFingerprint] },
    });
    try {
      const version = await ssh.run(['docker', 'run', '--rm', sb.proxyImage, 'caddy', 'version']);
      // Debian's build knows no module version: a bare `2.6.2`, no `v` and no hash after it.
      expect(version.stdout.trim()).toMatch(/^2\.\d+\.\d+$/);
    } finally {
      await ssh.close();
    }
  });

  it('starts the pushed images with Compose v2 and turns ready only after the migrator ran', async () => {
    const ssh = await SshExecutor.connect({
      host: sb.sshHost,
      port: sb.sshPort,
      username: sb.sshUser,
      privateKey: sb.sshKey,
      hostKey: { kind: 'fingerprint', fingerprints: [sb.hostFingerprint] },
    });
    const compose = [
      'docker',
      'compose',
      '--project-name',
      `foundation${process.pid}`,
      '--env-file',
      'deploy.env',
    ];
    try {
      await ssh.run(['mkdir', '-p', deployPath]);
      await ssh.run(['sh', '-c', 'cat > "$1"', 'sh', `${deployPath}/docker-compose.yml`], {
        stdin: readFileSync(`${exampleDir}/docker-compose.deploy.yml`, 'utf8'),
      });
      await ssh.run(['sh', '-c', 'cat > "$1"', 'sh', `${deployPath}/deploy.env`], {
        stdin: `APP_IMAGE=${release.appImage}\nMIGRATOR_IMAGE=${release.migratorImage}\nAPP_HOST_PORT=${port}\n`,
      });
      await ssh.run(['sh', '-c', 'echo GREETING=hello > "$1"', 'sh', `${deployPath}/.env.production`]);
      const config = `${deployPath}/.docker-login`;
      await ssh.run(
        [
          'docker',
          '--config',
          config,
          'login',
          sb.registry,
          '--username',
          sb.registryUsername,
          '--password-stdin',
        ],
        {
          stdin: sb.registryPassword,
        },
      );
      await ssh.run(['env', `DOCKER_CONFIG=${config}`, ...compose, 'pull', '--quiet', 'app', 'migrator'], {
        cwd: deployPath,
      });
      await ssh.run(['rm', '-rf', config]);

      await ssh.run([...compose, 'up', '--detach', '--no-build', 'app'], { cwd: deployPath });
      const before = await eventually(
        () => get(`http://127.0.0.1:${port}/api/ready`),
        (r) => r.status !== 0,
      );
      expect(before.status).toBe(503);

      const migration = await ssh.run([...compose, 'run', '--rm', 'migrator'], { cwd: deployPath });
      expect(migration.stdout).toContain('applying 002-add-language.sql');

      const ready = await get(`http://127.0.0.1:${port}/api/ready`);
      expect(ready.status).toBe(200);
      const version = await get(`http://127.0.0.1:${port}/version`);
      expect(JSON.parse(version.body)).toEqual({ version: release.sha });

      const inspect = await ssh.run([...compose, 'ps', '--format', '{{.Image}}', 'app'], { cwd: deployPath });
      expect(inspect.stdout.trim()).toBe(release.appImage);
    } finally {
      await ssh.run([...compose, 'down', '--volumes', '--remove-orphans'], { cwd: deployPath, check: false });
      await ssh.run(['rm', '-rf', deployPath], { check: false });
      await ssh.close();
    }
  });
});
