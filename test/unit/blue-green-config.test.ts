// What blue-green needs from the app service (deploy/blue-green-config.ts): no fixed name, no host
// network, no fixed host port, as the compose file says it and as `compose config --format json`
// resolves it; and the image's one EXPOSEd port.
import { describe, expect, it } from 'vitest';
import {
  blueGreenServiceProblem,
  parseServiceConfig,
  singleExposedPort,
  type ServiceConfig,
} from '../../actions/engine/deploy/blue-green-config.js';

const problem = (service: ServiceConfig | undefined) => blueGreenServiceProblem(service, 'app', 'c.yml');
const withPorts = (...ports: NonNullable<ServiceConfig['ports']>) => problem({ ports });

describe('blueGreenServiceProblem', () => {
  it('accepts a service two containers of which can run side by side', () => {
    expect(problem({})).toBeUndefined();
    expect(problem({ restart: 'unless-stopped', ports: [] })).toBeUndefined();
    expect(problem({ network_mode: 'bridge' })).toBeUndefined();
  });

  it('names a missing service and the file', () => {
    expect(problem(undefined)).toBe('c.yml has no service "app"');
    expect(blueGreenServiceProblem(undefined, 'web')).toBe('the compose file has no service "web"');
  });

  it('refuses container_name, naming the service, the key and its value', () => {
    expect(problem({ container_name: 'hello-app' })).toBe(
      'service "app" in c.yml sets container_name ("hello-app"): remove it, two containers of it run side by side during a blue-green deploy',
    );
  });

  it('refuses network_mode: host, naming the service and the key', () => {
    expect(problem({ network_mode: 'host' })).toBe(
      'service "app" in c.yml sets network_mode: host: remove it, two containers of it run side by side during a blue-green deploy and each needs its own port',
    );
  });

  it('refuses a fixed host port in the short syntax, naming the service, ports and the host side', () => {
    const fixed: Array<[string, string]> = [
      ['8080:80', '8080'],
      ['127.0.0.1:8080:80', '8080'],
      ['0.0.0.0:8080:80/tcp', '8080'],
      ['[::1]:8080:80', '8080'],
      ['${APP_HOST_PORT:-8080}:8080', '${APP_HOST_PORT:-8080}'],
      ['127.0.0.1:${PORT}:80', '${PORT}'],
      ['127.0.0.1:${APP_HOST_PORT:-8080}:8080', '${APP_HOST_PORT:-8080}'],
      ['8080:80/udp', '8080'],
      ['9090-9091:8080-8081', '9090-9091'],
    ];
    for (const [entry, host] of fixed) {
      const message = withPorts(entry);
      expect(message, entry).toBe(
        `service "app" in c.yml publishes a fixed host port in ports (${JSON.stringify(host)}): remove ports, two containers of it run side by side during a blue-green deploy; the proxy owns the public address and deployer publishes each container on a free loopback port`,
      );
    }
    // The first fixed one is named, whatever comes before it.
    expect(withPorts('80', '127.0.0.1::81', '9000:90')).toContain('("9000")');
  });

  it('accepts a container port alone or an ephemeral host port in the short syntax', () => {
    for (const entry of [
      '80',
      '8080/udp',
      '80/tcp',
      '8080-8081',
      '127.0.0.1::80',
      '[::1]::80',
      '0.0.0.0::80/tcp',
    ])
      expect(withPorts(entry), entry).toBeUndefined();
    expect(withPorts('80', '127.0.0.1::81')).toBeUndefined();
  });

  it('refuses a published port in the long syntax, as the file or compose config gives it', () => {
    for (const published of ['8080', 8080, '${PORT}'])
      expect(withPorts({ target: 80, published }), String(published)).toContain(
        `publishes a fixed host port in ports (${JSON.stringify(String(published))})`,
      );
  });

  it('accepts the long syntax without a published port (ephemeral)', () => {
    expect(withPorts({ target: 80 })).toBeUndefined();
    expect(withPorts({ target: 80, published: '' })).toBeUndefined();
    expect(withPorts({ target: 80, published: 0 })).toBeUndefined();
  });

  it('reads the shape `compose config --format json` prints', () => {
    const config = (ports: unknown[]) =>
      JSON.stringify({
        name: 'hello-staging',
        services: {
          app: { image: 'r/app@sha256:0', restart: 'unless-stopped', networks: { default: null }, ports },
          migrator: { image: 'r/m@sha256:0', container_name: 'm' },
        },
      });
    const fixed = parseServiceConfig(
      config([{ mode: 'ingress', host_ip: '127.0.0.1', target: 8080, published: '8080', protocol: 'tcp' }]),
      'app',
    );
    expect(blueGreenServiceProblem(fixed, 'app')).toBe(
      'service "app" in the compose file publishes a fixed host port in ports ("8080"): remove ports, two containers of it run side by side during a blue-green deploy; the proxy owns the public address and deployer publishes each container on a free loopback port',
    );
    const ephemeral = parseServiceConfig(
      config([
        { mode: 'ingress', host_ip: '127.0.0.1', target: 8080, published: '', protocol: 'tcp' },
        { mode: 'ingress', target: 9090, protocol: 'tcp' },
      ]),
      'app',
    );
    expect(ephemeral?.restart).toBe('unless-stopped');
    expect(blueGreenServiceProblem(ephemeral, 'app')).toBeUndefined();
    // Only the app service counts.
    expect(blueGreenServiceProblem(parseServiceConfig(config([]), 'app'), 'app')).toBeUndefined();
    expect(blueGreenServiceProblem(parseServiceConfig(config([]), 'migrator'), 'migrator')).toContain(
      'sets container_name ("m")',
    );
  });

  it('checks container_name before network_mode before ports', () => {
    expect(problem({ container_name: 'x', network_mode: 'host', ports: ['1:1'] })).toContain(
      'container_name',
    );
    expect(problem({ network_mode: 'host', ports: ['1:1'] })).toContain('network_mode: host');
  });

  it('accepts an ephemeral host port whose container port or host IP is a variable', () => {
    for (const entry of [
      '${APP_PORT:-8080}',
      '${APP_PORT}',
      '${APP_PORT:-8080}/tcp',
      '127.0.0.1::${APP_PORT:-8080}',
      '${BIND_IP:-127.0.0.1}::8080',
      '${HOST_IP}::80',
      '${HOST_IP:-[::1]}::80',
      '[::1]::${APP_PORT:-8080}',
      '${HOST_IP:-${FALLBACK:-127.0.0.1}}::80',
    ])
      expect(withPorts(entry), entry).toBeUndefined();
  });

  it('names the host port when a part of the entry is a variable whose default has colons', () => {
    const fixed: Array<[string, string]> = [
      ['${BIND_IP:-127.0.0.1}:8080:80', '8080'],
      ['${BIND_IP:-127.0.0.1}:${PORT:-8080}:${APP_PORT:-80}', '${PORT:-8080}'],
      ['[::1]:${PORT:-8080}:80/tcp', '${PORT:-8080}'],
      ['${HOST_PORT:-${FALLBACK:-8080}}:80', '${HOST_PORT:-${FALLBACK:-8080}}'],
    ];
    for (const [entry, host] of fixed)
      expect(withPorts(entry), entry).toContain(
        `publishes a fixed host port in ports (${JSON.stringify(host)})`,
      );
  });
});

describe('parseServiceConfig', () => {
  it('returns one service, or undefined when there is none', () => {
    expect(parseServiceConfig('{"services":{"app":{"restart":"no"}}}', 'app')).toEqual({ restart: 'no' });
    expect(parseServiceConfig('{"services":{"app":{}}}', 'web')).toBeUndefined();
    expect(parseServiceConfig('{}', 'app')).toBeUndefined();
  });

  it('says what compose printed when it is not JSON', () => {
    expect(() => parseServiceConfig('services:\n  app: {}\n', 'app')).toThrow(
      '`compose config` did not print JSON: services:\n  app: {}\n',
    );
    expect(() => parseServiceConfig('x'.repeat(500), 'app')).toThrow(
      `\`compose config\` did not print JSON: ${'x'.repeat(200)}`,
    );
    expect(() => parseServiceConfig('', 'app')).toThrow(/did not print JSON/);
  });
});

describe('singleExposedPort', () => {
  const image = 'ghcr.io/acme/app@sha256:' + 'a'.repeat(64);

  it('takes the image’s one TCP port', () => {
    expect(singleExposedPort('{"8080/tcp":{}}\n', image)).toBe(8080);
    expect(singleExposedPort('{"8080/tcp":{},"53/udp":{}}', image)).toBe(8080);
  });

  it('asks for app-port when the image exposes no TCP port', () => {
    const none = `app-port is not set and ${image} EXPOSEs no TCP port: set app-port to the port the app listens on in its container`;
    for (const output of ['null\n', '', '{}', '{"53/udp":{}}', 'not json'])
      expect(() => singleExposedPort(output, image), output).toThrow(none);
  });

  it('asks for app-port when the image exposes several', () => {
    expect(() => singleExposedPort('{"8080/tcp":{},"9090/tcp":{}}', image)).toThrow(
      `app-port is not set and ${image} EXPOSEs several ports (8080, 9090): set app-port to the one that serves HTTP`,
    );
  });
});
