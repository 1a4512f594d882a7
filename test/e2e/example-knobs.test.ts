import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '../support/http.js';
import { exampleBuildArgs, randomSha } from '../support/images.js';
import { freePort } from '../support/ports.js';
import { sandbox } from '../support/sandbox.js';

// The example's test knobs (MIGRATE_DELAY in migrate.sh, CRASH_AFTER_READY in app/serve.sh),
// proven on locally built images run by the local Docker engine, as an env file sets them.

const unique = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const appImage = `deployer-knobs/hello:${unique}`;
const migratorImage = `deployer-knobs/hello-migrator:${unique}`;
const containers: string[] = [];
const volumes: string[] = [];
let envDir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI without blocking the event loop; never throws on a non-zero exit. */
async function docker(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)('docker', args, { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function inspect(container: string, format: string): Promise<string> {
  const result = await docker('inspect', '--format', format, container);
  if (result.code !== 0) throw new Error(`docker inspect ${container}: ${result.stderr}`);
  return result.stdout.trim();
}

async function logs(container: string): Promise<string> {
  const result = await docker('logs', container);
  return result.stdout + result.stderr;
}

/** An env file like the host's .env.production; `docker run --env-file` reads it. */
function envFile(name: string, lines: string[]): string {
  const path = join(envDir, name);
  writeFileSync(path, lines.map((line) => `${line}\n`).join(''));
  return path;
}

function name(role: string): string {
  const container = `knobs-${role}-${unique}`;
  containers.push(container);
  return container;
}

function volume(role: string): string {
  const created = `knobs-${role}-${unique}`;
  volumes.push(created);
  return created;
}

/** Milliseconds between two of Docker's RFC 3339 timestamps (nanoseconds cut to milliseconds). */
function elapsed(from: string, to: string): number {
  const ms = (timestamp: string) => Date.parse(timestamp.replace(/(\.\d{3})\d*/, '$1'));
  return ms(to) - ms(from);
}

/** GET /api/ready over a raw socket, timed until the server closes the connection. */
function ready(port: number): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('error', reject);
    socket.on('data', (chunk) => (response += chunk.toString('utf8')));
    socket.on('end', () => {
      socket.destroy();
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1] ?? 0),
        ms: performance.now() - started,
      });
    });
    socket.write('GET /api/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  });
}

beforeAll(() => {
  const sb = sandbox();
  envDir = mkdtempSync(join(tmpdir(), 'deployer-knobs-'));
  const sha = randomSha();
  for (const [target, tag] of [
    ['runner', appImage],
    ['migrator', migratorImage],
  ]) {
    execFileSync('docker', [...exampleBuildArgs(sb, target!, sha), '--load', '--tag', tag!], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
});

afterAll(async () => {
  if (containers.length) await docker('rm', '--force', '--volumes', ...containers);
  if (volumes.length) await docker('volume', 'rm', '--force', ...volumes);
  await docker('image', 'rm', '--force', appImage, migratorImage);
  if (envDir) rmSync(envDir, { recursive: true, force: true });
});

describe('MIGRATE_DELAY', () => {
  it('unset: the migrator migrates at once, as before', async () => {
    const container = name('migrate-plain');
    const run = await docker(
      'run',
      '--name',
      container,
      '--env-file',
      envFile('plain.env', ['GREETING=hello']),
      '--volume',
      `${volume('plain')}:/data`,
      migratorImage,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/waiting/);
    expect(run.stdout).toMatch(/^migrator: applying 001-create-greetings\.sql$/m);
    expect(run.stdout).toMatch(/^migrator: schema at version 2 /m);
  });

  it('waits that many seconds, saying so, then migrates and exits 0', async () => {
    const container = name('migrate-delay');
    const run = await docker(
      'run',
      '--name',
      container,
      '--env-file',
      envFile('delay.env', ['GREETING=hello', 'MIGRATE_DELAY=2']),
      '--volume',
      `${volume('delay')}:/data`,
      migratorImage,
    );
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('migrator: waiting 2 s before migrating');
    expect(lines[1]).toBe('migrator: applying 001-create-greetings.sql');
    expect(lines.at(-1)).toMatch(/^migrator: schema at version 2 /);
    const [started, finished] = (
      await inspect(container, '{{.State.StartedAt}} {{.State.FinishedAt}}')
    ).split(' ');
    const ms = elapsed(started!, finished!);
    expect(ms).toBeGreaterThanOrEqual(2000);
    expect(ms).toBeLessThan(10_000);
  });

  it('a SIGTERM (docker stop) ends the wait at once, before migrating', async () => {
    const container = name('migrate-stop');
    const run = await docker(
      'run',
      '--detach',
      '--name',
      container,
      '--env-file',
      envFile('long.env', ['MIGRATE_DELAY=300']),
      '--volume',
      `${volume('stop')}:/data`,
      migratorImage,
    );
    expect(run.code).toBe(0);
    await eventually(
      () => logs(container),
      (text) => text.includes('migrator: waiting 300 s before migrating'),
      15_000,
    );
    const started = performance.now();
    expect((await docker('stop', '--time', '30', container)).code).toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await inspect(container, '{{.State.ExitCode}}')).toBe('143');
    expect(await logs(container)).not.toMatch(/applying/);
  });

  it('rejects a value that is not a whole number of seconds', async () => {
    const run = await docker(
      'run',
      '--name',
      name('migrate-bad'),
      '--env',
      'MIGRATE_DELAY=2s',
      '--volume',
      `${volume('bad')}:/data`,
      migratorImage,
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/MIGRATE_DELAY must be a whole number of seconds, not '2s'/);
  });
});

describe('CRASH_AFTER_READY', () => {
  it('crashes the container that many seconds after its first ready answer, on every start', async () => {
    // A data volume with the schema applied, so that the app answers ready 200.
    const data = volume('app-data');
    const migrate = await docker('run', '--rm', '--volume', `${data}:/data`, migratorImage);
    expect(migrate.code).toBe(0);

    const start = async (role: string, env: string[], restart: string) => {
      const container = name(role);
      const port = await freePort();
      const run = await docker(
        'run',
        '--detach',
        '--name',
        container,
        '--restart',
        restart,
        '--env-file',
        envFile(`${role}.env`, ['GREETING=hello', ...env]),
        '--publish',
        `127.0.0.1:${port}:8080`,
        '--volume',
        `${data}:/data`,
        appImage,
      );
      expect(run.code, run.stderr).toBe(0);
      return { container, port };
    };
    const restartCount = (container: string) =>
      inspect(container, '{{.RestartCount}}').then((count) => Number(count));

    const plain = await start('app-plain', [], 'unless-stopped');
    const crashing = await start('app-crash', ['CRASH_AFTER_READY=2'], 'unless-stopped');
    const once = await start('app-once', ['CRASH_AFTER_READY=1'], 'no');

    await eventually(
      () => ready(plain.port),
      (answer) => answer.status === 200,
    );
    await eventually(
      () => ready(once.port),
      (answer) => answer.status === 200,
    );
    let askedAt = 0;
    const first = await eventually(
      () => {
        askedAt = performance.now();
        return ready(crashing.port);
      },
      (answer) => answer.status === 200,
    );
    // The scheduled crash lets go of the connection: the answer is not held back by it.
    expect(first.ms).toBeLessThan(1000);

    await eventually(
      () => restartCount(crashing.container),
      (count) => count >= 1,
    );
    const crashSeenAfter = performance.now() - askedAt;
    expect(crashSeenAfter).toBeGreaterThanOrEqual(2000);
    expect(crashSeenAfter).toBeLessThan(10_000);
    expect(await logs(crashing.container)).toContain('hello app: crashing on purpose (CRASH_AFTER_READY=2)');

    // Restarted, it crashes again after its next first ready answer.
    await eventually(
      () => ready(crashing.port),
      (answer) => answer.status === 200,
    );
    await eventually(
      () => restartCount(crashing.container),
      (count) => count >= 2,
    );

    // Without a restart policy the crash shows its exit status.
    await eventually(
      () => inspect(once.container, '{{.State.Status}} {{.State.ExitCode}}'),
      (state) => state !== 'running 0',
    );
    expect(await inspect(once.container, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 1');

    // Unset, nothing changes: the plain app answered ready before all this and is still up.
    expect(await inspect(plain.container, '{{.State.Running}} {{.RestartCount}}')).toBe('true 0');
    expect((await ready(plain.port)).status).toBe(200);
    expect(await logs(plain.container)).not.toMatch(/crashing/);
  });
});
