// The inputs of strategy: blue-green (deploy/inputs.ts): strategy, proxy-*, app-port, drain-timeout,
// the readiness endpoint they give, and readComposeFile's check of the app service.
import { describe, expect, it } from 'vitest';
import {
  deployRequestFrom,
  readComposeFile,
  readDeploySettings,
} from '../../actions/engine/deploy/inputs.js';
import { inputsFrom } from '../../actions/engine/inputs.js';
import { collectingReporter } from '../../actions/engine/reporter.js';
import { exampleDir } from '../support/paths.js';

const base = { 'deploy-path': '/srv/app/staging' };
const read = (values: Record<string, string>, workspace = '/tmp') =>
  readDeploySettings(inputsFrom({ ...base, ...values }, collectingReporter()), workspace);
const blueGreen = (values: Record<string, string> = {}) => read({ strategy: 'blue-green', ...values });
const proxyOf = (values: Record<string, string>) => {
  const { switching } = blueGreen(values);
  if (switching.strategy !== 'blue-green') throw new Error('not blue-green');
  return switching;
};

describe('strategy', () => {
  it('is recreate unless blue-green is asked for, whatever proxy inputs are given', () => {
    expect(read({ 'ready-port': '8080' }).switching).toEqual({ strategy: 'recreate' });
    expect(
      read({ 'ready-port': '8080', strategy: 'recreate', 'proxy-address': ':8080', 'app-port': '3000' })
        .switching,
    ).toEqual({ strategy: 'recreate' });
  });

  it('refuses another strategy, naming the input', () => {
    expect(() => read({ 'ready-port': '8080', strategy: 'canary' })).toThrow(
      'Invalid input "strategy": expected one of recreate, blue-green, got "canary"',
    );
  });

  it('blue-green has defaults for every proxy input', () => {
    expect(blueGreen().switching).toEqual({
      strategy: 'blue-green',
      proxy: { address: ':80', image: 'caddy:2', container: 'deployer-proxy', dir: '~/.deployer-proxy' },
      appPort: undefined,
      drainTimeoutMs: 30_000,
    });
  });

  it('is carried into the deploy request', () => {
    const settings = blueGreen({ 'app-port': '3000' });
    const image = 'r/app@sha256:' + 'a'.repeat(64);
    const request = deployRequestFrom(
      settings,
      'staging',
      { kind: 'deploy', sha: 'a'.repeat(40), appImage: image, migratorImage: image, runMigrations: true },
      { actor: 'octocat', runId: '1' },
    );
    expect(request.switching).toEqual(settings.switching);
  });
});

describe('the readiness endpoint of a blue-green deploy', () => {
  it('needs no ready-port, ready-url or app-host-port: the proxy’s port, with ready-path', () => {
    expect(blueGreen().endpoint).toEqual({
      kind: 'through-host',
      scheme: 'http',
      host: '127.0.0.1',
      port: 80,
      path: '/api/ready',
    });
    expect(
      blueGreen({ 'proxy-address': 'staging.example.com:8080', 'ready-path': '/healthz' }).endpoint,
    ).toEqual({
      kind: 'through-host',
      scheme: 'http',
      host: '127.0.0.1',
      port: 8080,
      path: '/healthz',
    });
    expect(blueGreen({ 'proxy-address': 'staging.example.com' }).endpoint).toMatchObject({ port: 80 });
  });

  it('takes ready-port or ready-url when given', () => {
    expect(blueGreen({ 'ready-port': '9000' }).endpoint).toMatchObject({ port: 9000 });
    expect(blueGreen({ 'ready-url': 'https://staging.example.com/api/ready' }).endpoint).toEqual({
      kind: 'url',
      url: 'https://staging.example.com/api/ready',
    });
  });

  it('recreate still needs one, naming ready-port', () => {
    expect(() => read({})).toThrow(
      /^Invalid input "ready-port": is required \(or ready-url, or app-host-port\)/,
    );
  });
});

describe('proxy-address', () => {
  it('accepts Caddy site addresses', () => {
    for (const address of [
      ':80',
      ':8080',
      'staging.example.com',
      'staging.example.com:8080',
      '*.example.com:8443',
      'localhost',
    ])
      expect(proxyOf({ 'proxy-address': address }).proxy.address, address).toBe(address);
  });

  it('is :80 when empty or blank', () => {
    expect(proxyOf({ 'proxy-address': '' }).proxy.address).toBe(':80');
    expect(proxyOf({ 'proxy-address': '  ' }).proxy.address).toBe(':80');
  });

  it('refuses URLs, spaces and other text, naming the input', () => {
    for (const address of [
      'http://x',
      'https://staging.example.com',
      'a b',
      'x.com/path',
      '[::1]:80',
      ':',
      'x:',
      '-x.com',
    ])
      expect(() => blueGreen({ 'proxy-address': address }), address).toThrow(
        `Invalid input "proxy-address": expected a site address such as :80, staging.example.com or staging.example.com:8080, got ${JSON.stringify(address)}`,
      );
  });

  it('refuses a port out of range, naming the input', () => {
    expect(() => blueGreen({ 'proxy-address': ':99999' })).toThrow(
      'Invalid input "proxy-address": has port 99999; expected a port from 1 to 65535',
    );
    expect(() => blueGreen({ 'proxy-address': 'x.example.com:0' })).toThrow(
      'Invalid input "proxy-address": has port 0; expected a port from 1 to 65535',
    );
    expect(() => blueGreen({ 'proxy-address': ':123456' })).toThrow(
      /^Invalid input "proxy-address": expected/,
    );
  });
});

describe('proxy-dir', () => {
  it('accepts an absolute folder or one in the SSH user’s home, without its trailing slash', () => {
    expect(proxyOf({ 'proxy-dir': '~/.deployer-proxy' }).proxy.dir).toBe('~/.deployer-proxy');
    expect(proxyOf({ 'proxy-dir': '/srv/proxy' }).proxy.dir).toBe('/srv/proxy');
    expect(proxyOf({ 'proxy-dir': '/srv/proxy/' }).proxy.dir).toBe('/srv/proxy');
    expect(proxyOf({ 'proxy-dir': '~/' }).proxy.dir).toBe('~');
  });

  it('refuses a relative folder, spaces and shell syntax, naming the input', () => {
    for (const dir of ['relative/dir', '/srv/my proxy', '/srv/$(x)', '/srv/`x`', "/srv/'x'", '~root/x', '/'])
      expect(() => blueGreen({ 'proxy-dir': dir }), dir).toThrow(
        `Invalid input "proxy-dir": expected an absolute folder on the host, or one in the SSH user's home such as ~/.deployer-proxy, got ${JSON.stringify(dir)}`,
      );
  });

  it('never becomes the host’s root folder, and has no . or .. folders', () => {
    for (const dir of [
      '//',
      '///',
      '/.',
      '/..',
      '/./',
      '/srv/../x',
      '/srv/./x',
      '/srv/..',
      '~/..',
      '~/../x',
      '~/.',
    ])
      expect(() => blueGreen({ 'proxy-dir': dir }), dir).toThrow(
        `Invalid input "proxy-dir": expected an absolute folder on the host, or one in the SSH user's home such as ~/.deployer-proxy, got ${JSON.stringify(dir)}`,
      );
    // Dots within a name are fine.
    expect(proxyOf({ 'proxy-dir': '/srv/.proxy' }).proxy.dir).toBe('/srv/.proxy');
    expect(proxyOf({ 'proxy-dir': '/srv/a..b/' }).proxy.dir).toBe('/srv/a..b');
    expect(proxyOf({ 'proxy-dir': '~//' }).proxy.dir).toBe('~');
  });
});

describe('proxy-image, proxy-container, app-port, drain-timeout', () => {
  it('take their values', () => {
    expect(
      proxyOf({
        'proxy-image': 'ghcr.io/acme/caddy:2.8',
        'proxy-container': 'edge_proxy.1',
        'app-port': '3000',
        'drain-timeout': '30s',
      }),
    ).toEqual({
      strategy: 'blue-green',
      proxy: {
        address: ':80',
        image: 'ghcr.io/acme/caddy:2.8',
        container: 'edge_proxy.1',
        dir: '~/.deployer-proxy',
      },
      appPort: 3000,
      drainTimeoutMs: 30_000,
    });
    expect(proxyOf({ 'drain-timeout': '1m30s' }).drainTimeoutMs).toBe(90_000);
    expect(proxyOf({ 'drain-timeout': '0' }).drainTimeoutMs).toBe(0);
  });

  it('app-port 0 means the image’s EXPOSEd port', () => {
    expect(proxyOf({ 'app-port': '0' }).appPort).toBeUndefined();
    expect(proxyOf({ 'app-port': '' }).appPort).toBeUndefined();
  });

  it('refuse bad values, naming the input', () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        'proxy-image',
        'caddy 2',
        /^Invalid input "proxy-image": expected an image reference such as caddy:2, got "caddy 2"/,
      ],
      ['proxy-image', '$(x)', /^Invalid input "proxy-image"/],
      [
        'proxy-container',
        'my proxy',
        /^Invalid input "proxy-container": expected a container name, got "my proxy"/,
      ],
      ['proxy-container', '-proxy', /^Invalid input "proxy-container"/],
      [
        'app-port',
        '70000',
        /^Invalid input "app-port": expected a whole number from 0 to 65535, got "70000"/,
      ],
      ['app-port', '80a', /^Invalid input "app-port"/],
      ['drain-timeout', 'soon', /^Invalid input "drain-timeout": expected a duration/],
      ['drain-timeout', '-5s', /^Invalid input "drain-timeout"/],
    ];
    for (const [name, value, error] of cases)
      expect(() => blueGreen({ [name]: value }), `${name}: ${value}`).toThrow(error);
  });
});

describe('readComposeFile with strategy: blue-green', () => {
  const settings = (composeFile: string, strategy = 'blue-green') =>
    read({ strategy, 'compose-file': composeFile, 'ready-port': '8080' }, exampleDir);

  it('refuses the recreate example, whose app publishes a fixed host port, naming service "app"', () => {
    expect(() => readComposeFile(settings('docker-compose.deploy.yml'), true)).toThrow(
      'Invalid input "compose-file": service "app" in docker-compose.deploy.yml publishes a fixed host port in ports ("${APP_HOST_PORT:-8080}"): remove ports, two containers of it run side by side during a blue-green deploy; the proxy owns the public address and deployer publishes each container on a free loopback port (strategy: blue-green)',
    );
    // The same file is fine for recreate.
    expect(() => readComposeFile(settings('docker-compose.deploy.yml', 'recreate'), true)).not.toThrow();
  });

  it('accepts the blue-green example', () => {
    const text = readComposeFile(settings('docker-compose.blue-green.yml'), true);
    expect(text).toContain('services:');
    expect(() =>
      readComposeFile(settings(`${exampleDir}/docker-compose.blue-green.yml`), false),
    ).not.toThrow();
  });
});
