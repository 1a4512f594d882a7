import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSha } from '../support/images.js';
import { eventually, get } from '../support/http.js';
import { exampleDir } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { runAction, type ActionRun } from '../support/run-action.js';
import { sandbox, type Sandbox } from '../support/sandbox.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, index: number) => void;

interface SeenRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  at: number;
}

/** A local app under the test's control, on 127.0.0.1 only. */
class FakeApp {
  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    private readonly scheme: string,
    readonly requests: SeenRequest[],
  ) {}

  static async start(handler: Handler, tls?: { key: string; cert: string }): Promise<FakeApp> {
    const requests: SeenRequest[] = [];
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      requests.push({ path: req.url ?? '', headers: req.headers, at: performance.now() });
      handler(req, res, requests.length - 1);
    };
    const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const app = new FakeApp(server, (server.address() as AddressInfo).port, tls ? 'https' : 'http', requests);
    apps.push(app);
    return app;
  }

  url(path = '/api/ready', host = '127.0.0.1'): string {
    return `${this.scheme}://${host}:${this.port}${path}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const apps: FakeApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function answer(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}

/** The failure annotation, decoded as the runner shows it. */
function failure(run: ActionRun): string {
  return (run.errors[0] ?? '')
    .replace(/^::error::/, '')
    .replace(/%0A/g, '\n')
    .replace(/%25/g, '%');
}

const verify = (inputs: Record<string, string>) => runAction('verify-ready', { inputs });

describe('verify-ready against local apps', () => {
  it('turns ready after a delay, noticed on the next attempt', async () => {
    let ready = false;
    const app = await FakeApp.start((_req, res) =>
      ready ? answer(res, 200, { ready: true }) : answer(res, 503, { ready: false }),
    );
    const running = verify({ url: app.url(), interval: '100ms', timeout: '30s' });
    await eventually(
      async () => app.requests.length,
      (count) => count >= 3,
    );
    ready = true;
    const refusedBeforeFlip = app.requests.length;
    const run = await running;

    expect(run.code).toBe(0);
    expect(run.outputs.ready).toBe('true');
    expect(run.outputs['last-status']).toBe('200');
    expect(Number(run.outputs.attempts)).toBe(app.requests.length);
    expect(Number(run.outputs.attempts)).toBeGreaterThan(refusedBeforeFlip);
    expect(Number(run.outputs['time-to-ready-ms'])).toBeGreaterThan(0);
    expect(run.summary).toContain(`is ready after`);
    expect(run.summary).toMatch(/\| 1 \| 0 ms \| \d+ ms \| 503 \| ❌ status 503, expected 200 \|/);
    expect(run.summary).toMatch(new RegExp(`\\| ${run.outputs.attempts} \\| .* \\| 200 \\| ✅ ready \\|`));
  });

  it('fails at the deadline, not at the request timeout, while a request is still in flight', async () => {
    const app = await FakeApp.start(() => undefined); // accepts, never answers
    const run = await verify({ url: app.url(), timeout: '3s', 'request-timeout': '30s' });
    const ended = performance.now();

    expect(run.code).toBe(1);
    expect(run.outputs.ready).toBe('false');
    expect(run.outputs.attempts).toBe('1');
    expect(run.outputs['last-status']).toBe('');
    expect(run.outputs['time-to-ready-ms']).toBe('');
    // The action's clock starts just before its first request; process exit ends it. Not before the
    // 3 s deadline, and nowhere near the 30 s request timeout (the margin is for a loaded machine).
    expect(ended - app.requests[0]!.at).toBeGreaterThanOrEqual(2900);
    expect(ended - app.requests[0]!.at).toBeLessThan(6000);
    expect(failure(run)).toContain('Not ready within 3 s (1 attempt; the last: timed out after 3000 ms)');
  });

  it('keeps trying until the deadline and lists the last attempts when never ready', async () => {
    const app = await FakeApp.start((_req, res) => answer(res, 503, { ready: false }));
    const run = await verify({ url: app.url(), timeout: '3s', interval: '1s' });
    const ended = performance.now();

    expect(run.code).toBe(1);
    expect(run.outputs.ready).toBe('false');
    expect(run.outputs['last-status']).toBe('503');
    // The last look is 300 ms before the 3 s deadline; nothing comes after it.
    expect(ended - app.requests[0]!.at).toBeGreaterThanOrEqual(2600);
    expect(ended - app.requests[0]!.at).toBeLessThan(6000);
    // 0, 1, 2 s, then one last look just before the deadline.
    expect(app.requests.length).toBe(4);
    const message = failure(run);
    expect(message).toMatch(
      /^Not ready within 3 s \(4 attempts; the last: status 503, expected 200\)\.\nAttempts:\n/,
    );
    expect(message).toMatch(/ {2}#1 at 0 ms \(\d+ ms\): status 503, expected 200\n/);
    expect(message).toMatch(/ {2}#4 at 2\.\d s \(\d+ ms\): status 503, expected 200$/);
    expect(run.summary).toContain('❌');
    expect(run.summary.match(/^\| \d+ \|/gm)).toHaveLength(4);
  });

  it('reports connection refused when nothing listens', async () => {
    const port = await freePort();
    const run = await verify({ url: `http://127.0.0.1:${port}/api/ready`, timeout: '1s', interval: '200ms' });
    expect(run.code).toBe(1);
    expect(run.outputs.ready).toBe('false');
    expect(Number(run.outputs.attempts)).toBeGreaterThanOrEqual(4);
    expect(failure(run)).toMatch(/#\d+ at .*: connection refused$/m);
    expect(run.summary).toContain('❌ connection refused');
  });

  it('reports a request timeout per attempt', async () => {
    const app = await FakeApp.start((req, res, index) => (index === 0 ? undefined : answer(res, 200, {})));
    const run = await verify({
      url: app.url(),
      timeout: '10s',
      interval: '100ms',
      'request-timeout': '300ms',
    });
    expect(run.code).toBe(0);
    expect(run.outputs.attempts).toBe('2');
    expect(run.summary).toContain('❌ timed out after 300 ms');
  });

  it('waits for consecutive successes when the app flaps', async () => {
    const pattern = [200, 200, 503, 200, 503, 200, 200, 200];
    const flapping: Handler = (_req, res, index) => {
      const status = pattern[index] ?? 200;
      answer(res, status, { ready: status === 200 });
    };
    const app = await FakeApp.start(flapping);
    const run = await verify({ url: app.url(), interval: '50ms', 'consecutive-successes': '3' });

    expect(run.code).toBe(0);
    expect(run.outputs.ready).toBe('true');
    expect(run.outputs.attempts).toBe('8');
    expect(app.requests.length).toBe(8);
    expect(run.summary).toContain('| 200 | ✅ ok (2 of 3 in a row) |');
    expect(run.summary).toMatch(/\| 8 \| .* \| 200 \| ✅ ready \|/);

    const once = await FakeApp.start(flapping);
    const eager = await verify({ url: once.url(), interval: '50ms' });
    expect(eager.outputs.attempts).toBe('1');
  });

  describe('redirects', () => {
    const redirecting: Handler = (req, res) => {
      if (req.url === '/api/ready') return answer(res, 302, '', { Location: '/internal/ready' });
      if (req.url === '/internal/ready') return answer(res, 200, { ready: true });
      answer(res, 404, 'not found');
    };

    it('does not follow them unless asked', async () => {
      const app = await FakeApp.start(redirecting);
      const run = await verify({ url: app.url(), timeout: '1s', interval: '200ms' });
      expect(run.code).toBe(1);
      expect(run.outputs['last-status']).toBe('302');
      expect(failure(run)).toContain(
        `status 302 (a redirect to http://127.0.0.1:${app.port}/internal/ready; follow-redirects is off), expected 200`,
      );
      expect(app.requests.map((r) => r.path)).not.toContain('/internal/ready');
    });

    it('follows them with follow-redirects', async () => {
      const app = await FakeApp.start(redirecting);
      const run = await verify({ url: app.url(), 'follow-redirects': 'true' });
      expect(run.code).toBe(0);
      expect(run.outputs['last-status']).toBe('200');
      expect(run.outputs.attempts).toBe('1');
      expect(app.requests.map((r) => r.path)).toEqual(['/api/ready', '/internal/ready']);
    });

    it('can expect the redirect itself', async () => {
      const app = await FakeApp.start(redirecting);
      const run = await verify({ url: app.url(), 'expected-status': '3xx' });
      expect(run.code).toBe(0);
      expect(run.outputs['last-status']).toBe('302');
    });

    it('does not send credentials to another host', async () => {
      const app = await FakeApp.start((req, res) =>
        req.url === '/api/ready'
          ? answer(res, 307, '', { Location: `http://localhost:${app.port}/elsewhere` })
          : answer(res, 200, {}),
      );
      const run = await verify({
        url: app.url().replace('http://', 'http://deployer:hop-s3cret@'),
        headers: 'X-Trace: keep-me\nCookie: session=abcdef',
        'follow-redirects': 'true',
      });
      expect(run.code).toBe(0);
      const [first, second] = app.requests;
      expect(first?.headers.authorization).toMatch(/^Basic /);
      expect(first?.headers.cookie).toBe('session=abcdef');
      expect(second?.path).toBe('/elsewhere');
      expect(second?.headers.authorization).toBeUndefined();
      expect(second?.headers.cookie).toBeUndefined();
      expect(second?.headers['x-trace']).toBe('keep-me');
    });
  });

  describe('body and version', () => {
    it('waits until the new build answers (expect-json)', async () => {
      let version = 'old-build-sha';
      const app = await FakeApp.start((_req, res) => answer(res, 200, { ready: true, version }));
      const running = verify({
        url: app.url(),
        interval: '100ms',
        timeout: '30s',
        'expect-json': '{"ready":true,"version":"new-build-sha"}',
      });
      await eventually(
        async () => app.requests.length,
        (count) => count >= 2,
      );
      version = 'new-build-sha';
      const run = await running;
      expect(run.code).toBe(0);
      expect(run.summary).toContain('❌ JSON body: version is "old-build-sha", expected "new-build-sha"');
      expect(run.summary).toMatch(/✅ ready \|\n*$/);
    });

    it('fails when the version never matches', async () => {
      const app = await FakeApp.start((_req, res) =>
        answer(res, 200, { ready: true, version: 'old-build-sha' }),
      );
      const run = await verify({
        url: app.url(),
        timeout: '1s',
        interval: '200ms',
        'expect-json': '{"version":"new-build-sha"}',
      });
      expect(run.code).toBe(1);
      expect(run.outputs['last-status']).toBe('200');
      expect(failure(run)).toContain('JSON body: version is "old-build-sha", expected "new-build-sha"');
    });

    it('checks the body against a substring or a regex', async () => {
      const app = await FakeApp.start((_req, res) => answer(res, 200, 'Status: DEGRADED'));
      const mismatch = await verify({
        url: app.url(),
        timeout: '1s',
        interval: '200ms',
        'expect-body': '/status:\\s*up/i',
      });
      expect(mismatch.code).toBe(1);
      expect(failure(mismatch)).toContain('body does not match /status:\\s*up/i (got "Status: DEGRADED")');

      const match = await verify({ url: app.url(), 'expect-body': '/status:\\s*degraded/i' });
      expect(match.code).toBe(0);
      const substring = await verify({ url: app.url(), 'expect-body': 'DEGRADED' });
      expect(substring.code).toBe(0);
    });
  });

  describe('headers and credentials', () => {
    // Like an app that validates the Host header (where Kamal's fixed check fails).
    const hostChecking: Handler = (req, res) =>
      req.headers.host === 'app.example.test'
        ? answer(res, 200, { ready: true })
        : answer(res, 421, 'wrong host');

    it('sends the Host header and other headers, never printing their values', async () => {
      const token = `tok-${randomSha().slice(0, 16)}`;
      const app = await FakeApp.start(hostChecking);
      const run = await verify({
        url: app.url(),
        headers: `Host: app.example.test\nX-Probe-Token: ${token}`,
      });
      expect(run.code).toBe(0);
      expect(app.requests[0]?.headers.host).toBe('app.example.test');
      expect(app.requests[0]?.headers['x-probe-token']).toBe(token);
      expect(run.masks).toContain(token);
      expect(run.everything).not.toContain(token);
      expect(run.everything).not.toContain('app.example.test');
    });

    it('fails without the Host header the app wants', async () => {
      const app = await FakeApp.start(hostChecking);
      const run = await verify({ url: app.url(), timeout: '500ms', interval: '100ms' });
      expect(run.code).toBe(1);
      expect(failure(run)).toContain('status 421, expected 200');
    });

    it('sends URL credentials as Basic auth and never prints them', async () => {
      const password = `pw-${randomSha().slice(0, 12)}`;
      const expected = `Basic ${Buffer.from(`deployer:${password}`).toString('base64')}`;
      const app = await FakeApp.start((req, res) =>
        req.headers.authorization === expected ? answer(res, 200, {}) : answer(res, 401, 'who are you'),
      );
      const good = await verify({ url: app.url().replace('http://', `http://deployer:${password}@`) });
      expect(good.code).toBe(0);
      expect(good.everything).not.toContain(password);
      expect(good.stdout).toContain(`http://127.0.0.1:${app.port}/api/ready`);

      const bad = await verify({
        url: app.url().replace('http://', `http://deployer:wrong-${password}@`),
        timeout: '500ms',
      });
      expect(bad.code).toBe(1);
      expect(failure(bad)).toContain('status 401, expected 200');
      expect(bad.everything).not.toContain(password);
    });
  });

  describe('https with a self-signed certificate', () => {
    let tls: { key: string; cert: string };
    beforeAll(() => {
      const dir = mkdtempSync(join(tmpdir(), 'verify-ready-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      tls = {
        key: readFileSync(join(dir, 'key.pem'), 'utf8'),
        cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      };
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses the certificate by default, naming insecure-tls', async () => {
      const app = await FakeApp.start((_req, res) => answer(res, 200, {}), tls);
      const run = await verify({ url: app.url(), timeout: '500ms' });
      expect(run.code).toBe(1);
      expect(failure(run)).toContain('TLS error: self-signed certificate');
      expect(failure(run)).toContain('insecure-tls: true');
      expect(app.requests).toHaveLength(0);
    });

    it('accepts it with insecure-tls, with a warning', async () => {
      const app = await FakeApp.start((_req, res) => answer(res, 200, { ready: true }), tls);
      const run = await verify({ url: app.url(), 'insecure-tls': 'true', 'expect-json': '{"ready":true}' });
      expect(run.code).toBe(0);
      expect(run.outputs['last-status']).toBe('200');
      expect(run.warnings.join('\n')).toContain('insecure-tls is true');
    });
  });

  describe('bad inputs fail before any request, naming the input', () => {
    it.each([
      [{ url: 'http//127.0.0.1/api/ready' }, 'url', 'expected an http:// or https:// URL'],
      [{ url: 'ftp://127.0.0.1/api/ready' }, 'url', 'expected an http:// or https:// URL'],
      [{ timeout: '-5s' }, 'timeout', 'expected a duration such as 60s'],
      [{ timeout: '10s', interval: '30s' }, 'interval', 'must not be longer than timeout (30 s > 10 s)'],
      [{ 'expected-status': 'two hundred' }, 'expected-status', 'expected a status such as 200, 200,204'],
      [
        { 'expected-status': '200-2xx' },
        'expected-status',
        'expected a status such as 200, 200,204, 200-299 or 2xx, got "200-2xx"',
      ],
      [{ 'expect-json': 'version=abc' }, 'expect-json', 'expected a JSON object'],
      [{ 'consecutive-successes': '-1' }, 'consecutive-successes', 'expected a whole number from 1 to 100'],
      [{ 'target-port': '8080' }, 'target-port', 'only applies with host'],
      [{ host: '127.0.0.1' }, 'url', 'set either url (a direct check) or host'],
    ])('%j -> %s', async (inputs, name, message) => {
      const app = await FakeApp.start((_req, res) => answer(res, 200, {}));
      const run = await verify({ url: app.url(), ...inputs });
      expect(run.code).toBe(1);
      expect(failure(run)).toContain(`Invalid input "${name}": ${message}`);
      expect(app.requests).toHaveLength(0);
    });

    it('needs url or an SSH host', async () => {
      const run = await verify({});
      expect(run.code).toBe(1);
      expect(failure(run)).toContain('Invalid input "url": is required: set url for a direct check, or host');
    });
  });
});

describe('verify-ready through the sandbox sshd', () => {
  let sb: Sandbox;
  let appPort: number;
  const sha = randomSha();
  const image = `deployer-test/verify-ready-hello:${process.pid}`;
  const container = `verify-ready-${process.pid}-${sha.slice(0, 8)}`;

  beforeAll(async () => {
    sb = sandbox();
    execFileSync(
      'docker',
      [
        'build',
        '--quiet',
        '--target',
        'runner',
        '--build-arg',
        `BASE_IMAGE=${sb.baseImage}`,
        '--build-arg',
        `GIT_SHA=${sha}`,
        '--tag',
        image,
        exampleDir,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    appPort = await freePort();
    execFileSync(
      'docker',
      ['run', '--detach', '--name', container, '--publish', `127.0.0.1:${appPort}:8080`, image],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    await eventually(
      () => get(`http://127.0.0.1:${appPort}/healthz`),
      (r) => r.status === 200,
    );
  });

  afterAll(() => {
    execFileSync('docker', ['rm', '--force', container], { stdio: 'ignore' });
    execFileSync('docker', ['image', 'rm', '--force', image], { stdio: 'ignore' });
  });

  const ssh = (extra: Record<string, string>) => ({
    host: sb.sshHost,
    port: String(sb.sshPort),
    user: sb.sshUser,
    'ssh-key': sb.sshKey,
    'host-fingerprint': sb.hostFingerprint,
    ...extra,
  });

  it('the app port is published on 127.0.0.1 only', () => {
    const bindings = execFileSync('docker', ['port', container, '8080'], { encoding: 'utf8' }).trim();
    expect(bindings).toBe(`127.0.0.1:${appPort}`);
  });

  it('checks the app over the SSH connection and proves the build answering', async () => {
    const run = await verify(
      ssh({
        'target-port': String(appPort),
        path: '/version',
        'expect-json': JSON.stringify({ version: sha }),
      }),
    );
    expect(run.code).toBe(0);
    expect(run.outputs.ready).toBe('true');
    expect(run.outputs['last-status']).toBe('200');
    expect(run.stdout).toContain(`as seen from ${sb.sshUser}@${sb.sshHost}:${sb.sshPort}`);
    expect(run.everything).not.toContain(sb.sshKey.split('\n')[1]!);
  });

  it('reports what the app says through the tunnel (503 before migrations)', async () => {
    const run = await verify(ssh({ 'target-port': String(appPort), timeout: '1s', interval: '200ms' }));
    expect(run.code).toBe(1);
    expect(run.outputs['last-status']).toBe('503');
    expect(failure(run)).toContain('status 503, expected 200');
  });

  it('reports connection refused on the SSH host', async () => {
    const closed = await freePort();
    const run = await verify(ssh({ 'target-port': String(closed), timeout: '1s', interval: '200ms' }));
    expect(run.code).toBe(1);
    expect(failure(run)).toContain('connection refused (on the SSH host)');
  });

  it('refuses a host with the wrong fingerprint before any check', async () => {
    const run = await verify(
      ssh({
        'target-port': String(appPort),
        'host-fingerprint': 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      }),
    );
    expect(run.code).toBe(1);
    expect(failure(run)).toContain('Refusing to connect');
    expect(failure(run)).toContain(sb.hostFingerprint);
    expect(run.outputs.ready).toBe('false');
    expect(run.outputs.attempts).toBe('0');
  });

  it('needs target-port with host', async () => {
    const run = await verify(ssh({}));
    expect(run.code).toBe(1);
    expect(failure(run)).toContain('Invalid input "target-port": is required with host');
  });
});
