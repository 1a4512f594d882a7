import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readDeploySettings } from '../../actions/engine/deploy/inputs.js';
import { inputsFrom } from '../../actions/engine/inputs.js';
import { readSource } from '../../actions/engine/promote/source-inputs.js';
import {
  DEPLOY_ENDPOINT_INPUTS,
  describeEndpoint,
  endpointCheck,
  endpointUrl,
  readEndpoint,
} from '../../actions/engine/readiness/index.js';
import { collectingReporter } from '../../actions/engine/reporter.js';

const from = (values: Record<string, string>, reporter = collectingReporter()) =>
  inputsFrom(values, reporter);

describe('the readiness endpoint', () => {
  it('brackets an IPv6 host, so ready-host: ::1 gives a valid URL', () => {
    const endpoint = readEndpoint(
      DEPLOY_ENDPOINT_INPUTS,
      from({ 'ready-host': '::1', 'ready-port': '8080' }),
    );
    expect(endpoint).toEqual({
      kind: 'through-host',
      scheme: 'http',
      host: '::1',
      port: 8080,
      path: '/api/ready',
    });
    expect(endpointUrl(endpoint!)).toBe('http://[::1]:8080/api/ready');
    expect(new URL(endpointUrl(endpoint!)).hostname).toBe('[::1]');
  });

  it('takes the port from app-host-port when ready-port is not given, and none at all gives undefined', () => {
    expect(readEndpoint(DEPLOY_ENDPOINT_INPUTS, from({}), 9000)).toMatchObject({ port: 9000 });
    expect(readEndpoint(DEPLOY_ENDPOINT_INPUTS, from({}))).toBeUndefined();
  });

  it('refuses a URL and a port together, naming both', () => {
    expect(() =>
      readEndpoint(DEPLOY_ENDPOINT_INPUTS, from({ 'ready-url': 'http://a.test/', 'ready-port': '80' })),
    ).toThrow('Invalid input "ready-port": only applies without ready-url; put the port in ready-url');
  });

  it('masks the credentials of a URL before it is validated, and never prints them', () => {
    const reporter = collectingReporter();
    const endpoint = readEndpoint(
      DEPLOY_ENDPOINT_INPUTS,
      from({ 'ready-url': 'https://deploy:s3cret-pass@app.test/api/ready' }, reporter),
    );
    expect(reporter.masked).toEqual(expect.arrayContaining(['s3cret-pass', 'deploy']));
    expect(describeEndpoint(endpoint!)).toBe('https://app.test/api/ready');
    expect(() =>
      readEndpoint(DEPLOY_ENDPOINT_INPUTS, from({ 'ready-url': 'ftp://user:hunter22@x.test/' }, reporter)),
    ).toThrow('Invalid input "ready-url": expected an http:// or https:// URL, got "ftp://x.test/"');
    expect(reporter.masked).toContain('hunter22');
  });

  it('says from where a port on the host is asked, and needs the SSH connection for it', async () => {
    const endpoint = {
      kind: 'through-host',
      scheme: 'http',
      host: '127.0.0.1',
      port: 8080,
      path: '/r',
    } as const;
    expect(describeEndpoint(endpoint, 'deployer@10.0.0.5:22')).toBe(
      'http://127.0.0.1:8080/r (as seen from deployer@10.0.0.5:22)',
    );
    expect(() => endpointCheck(endpoint)).toThrow(/through the SSH host, but there is no SSH connection/);
    const opened: string[] = [];
    const check = endpointCheck(endpoint, {
      openTunnel: async (host, port) => {
        opened.push(`${host}:${port}`);
        return new Duplex({
          read() {},
          write(_c, _e, done) {
            done();
          },
        });
      },
    });
    expect(check.url).toBe('http://127.0.0.1:8080/r');
    await check.connect!('127.0.0.1', 8080);
    expect(opened).toEqual(['127.0.0.1:8080']);
  });
});

describe('deploy and promotion endpoint inputs', () => {
  const deploy = {
    'deploy-path': '/srv/app/production',
    'ready-host': '::1',
    'ready-port': '8081',
    'ready-path': '/healthz',
    'ready-expected-status': '204',
  };

  it('deploy settings carry the endpoint with the IPv6 host', () => {
    const settings = readDeploySettings(from(deploy), '/tmp');
    expect(endpointUrl(settings.endpoint!)).toBe('http://[::1]:8081/healthz');
  });

  it('source-ready-* not given follow the deploy’s own ready-* (path, port, host, status), never its URL or timeout', () => {
    const inputs = from({ ...deploy, 'ready-timeout': '5m' });
    const settings = readDeploySettings(inputs, '/tmp');
    const source = readSource(
      { 'promote-from': 'staging', 'source-deploy-path': '/srv/app/staging/' },
      settings,
      inputs,
    );
    expect(endpointUrl(source.endpoint!)).toBe('http://[::1]:8081/healthz');
    expect(source.readiness.expectedStatus).toBe('204');
    expect(source.readiness.timeoutMs).toBe(10_000);
    expect(source.deployPath).toBe('/srv/app/staging');
  });

  it('own source-ready-* win, and a production URL is not taken for staging', () => {
    const own = readSource(
      { 'promote-from': 'staging', 'source-deploy-path': '/srv/app/staging' },
      readDeploySettings(from(deploy), '/tmp'),
      from({ ...deploy, 'source-ready-port': '8080', 'source-ready-path': '/api/ready' }),
    );
    expect(endpointUrl(own.endpoint!)).toBe('http://[::1]:8080/api/ready');
    const viaUrl = { ...deploy, 'ready-port': '', 'ready-url': 'https://prod.example.test/api/ready' };
    expect(() =>
      readSource(
        { 'promote-from': 'staging', 'source-deploy-path': '/srv/app/staging' },
        readDeploySettings(from(viaUrl), '/tmp'),
        from(viaUrl),
      ),
    ).toThrow(/Invalid input "source-ready-port": is required \(or source-ready-url\)/);
  });
});
