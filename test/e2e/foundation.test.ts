import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fingerprintOf } from '../../actions/engine/exec/host-key.js';
import { HostKeyRejectedError, SshExecutor } from '../../actions/engine/exec/ssh.js';
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

// The fleet: extra SSH hosts for multi-host deploys, one sshd each on 127.0.0.2, 127.0.0.3 … (same port, users
// and deploy key as the main one), each with its own host key and deploy root.
describe('sandbox: the fleet of SSH hosts', () => {
  let sb: Sandbox;

  beforeAll(() => {
    sb = sandbox();
  });

  const connectTo = (host: Sandbox['fleet'][number], fingerprint = host.fingerprint) =>
    SshExecutor.connect({
      host: host.host,
      port: host.port,
      username: sb.sshUser,
      privateKey: sb.sshKey,
      hostKey: { kind: 'fingerprint', fingerprints: [fingerprint] },
    });

  it('has hosts on 127.0.0.2 onwards with distinct host keys, as its known_hosts names them', () => {
    expect(sb.fleet.length).toBeGreaterThanOrEqual(2);
    expect(sb.fleet.map((host) => host.host)).toEqual(sb.fleet.map((_, index) => `127.0.0.${index + 2}`));
    expect(sb.fleet.map((host) => host.deployRoot)).toEqual(
      sb.fleet.map((_, index) => `${sb.deployRoot}/fleet/host-${index + 1}`),
    );
    const fingerprints = [sb.hostFingerprint, ...sb.fleet.map((host) => host.fingerprint)];
    expect(new Set(fingerprints).size).toBe(fingerprints.length);
    const lines = sb.fleetKnownHosts
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    expect(lines.map(([pattern, , key]) => [pattern, fingerprintOf(Buffer.from(key!, 'base64'))])).toEqual(
      sb.fleet.map((host) => [`[${host.host}]:${host.port}`, host.fingerprint]),
    );
  });

  it('every host presents its own host key, takes the deploy key and lets the deploy user write its deploy root', async () => {
    await Promise.all(
      sb.fleet.map(async (host) => {
        const ssh = await connectTo(host);
        try {
          const probe = `${host.deployRoot}/.probe-${process.pid}`;
          const result = await ssh.run([
            'sh',
            '-c',
            'id -un && test -d "$1" && echo ok >"$2" && cat "$2" && rm "$2"',
            'sh',
            host.deployRoot,
            probe,
          ]);
          expect(result.stdout).toBe(`${sb.sshUser}\nok\n`);
        } finally {
          await ssh.close();
        }
      }),
    );
  });

  it("refuses host 2 when given host 1's fingerprint", async () => {
    const [first, second] = sb.fleet;
    await expect(connectTo(second!, first!.fingerprint)).rejects.toThrow(HostKeyRejectedError);
  });
});
