import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { InputError, inputsFrom } from '../../actions/engine/inputs.js';
import { readComposeFile, readConfigFiles, readDeploySettings } from '../../actions/engine/deploy/inputs.js';
import { collectingReporter } from '../../actions/engine/reporter.js';
import {
  configInputSource,
  parseDeployConfig,
  resolveEnvironment,
} from '../../actions/engine/config/deploy-config.js';
import { configFileRefs, swarmStackFiles } from '../../actions/engine/swarm/stack-files.js';
import { exampleDir } from '../support/paths.js';

const options = (configs: Record<string, string> = {}) => ({
  path: 'docker-compose.swarm.yml',
  stack: 'shop-staging',
  migrator: 'migrator',
  monitorMs: 5_000,
  configs,
});

const COMPOSE = `
services:
  app:
    image: \${APP_IMAGE:?APP_IMAGE must be set}
    restart: unless-stopped
    profiles: [web]
    depends_on: [db]
  db:
    image: postgres:16
    deploy:
      update_config:
        order: stop-first
  migrator:
    image: \${MIGRATOR_IMAGE:?MIGRATOR_IMAGE must be set}
    restart: 'no'
    profiles: [migrate]
    deploy:
      resources:
        limits: { memory: 256M }
volumes:
  data:
`;

describe('the stack files of a Swarm release', () => {
  it('leaves the migrator out of the stack and updates every service start-first, rolled back by Swarm, with a monitor window', () => {
    const files = swarmStackFiles(COMPOSE, options());
    const stack = parse(files.stack);
    expect(Object.keys(stack.services)).toEqual(['app', 'db']);
    expect(stack.services.app).toEqual({
      image: '${APP_IMAGE:?APP_IMAGE must be set}',
      deploy: {
        update_config: { order: 'start-first', monitor: '5s', failure_action: 'rollback' },
        rollback_config: { order: 'start-first' },
      },
    });
    // What the file says wins, except the failure action.
    expect(stack.services.db.deploy.update_config).toEqual({
      order: 'stop-first',
      monitor: '5s',
      failure_action: 'rollback',
    });
    expect(stack.volumes).toEqual({ data: null });
    expect(files.stack).toMatch(/^# Written by deployer from docker-compose.swarm.yml/);
  });

  it('makes the migrator a one-off job that is never restarted, keeping its own deploy settings', () => {
    const migrate = parse(swarmStackFiles(COMPOSE, options()).migrate);
    expect(migrate.services).toEqual({
      migrator: {
        image: '${MIGRATOR_IMAGE:?MIGRATOR_IMAGE must be set}',
        deploy: {
          resources: { limits: { memory: '256M' } },
          mode: 'replicated-job',
          replicas: 1,
          restart_policy: { condition: 'none' },
        },
      },
    });
    expect(migrate.volumes).toEqual({ data: null });
  });

  it('refuses another failure action, or a job among the services, naming the service and the file', () => {
    const pausing = COMPOSE.replace('order: stop-first', 'order: stop-first\n        failure_action: pause');
    expect(() => swarmStackFiles(pausing, options())).toThrow(
      new InputError(
        'compose-file',
        'service "db" in docker-compose.swarm.yml sets deploy.update_config.failure_action: pause; deployer needs rollback there (a failed update is rolled back for the whole stack)',
      ),
    );
    const job = COMPOSE.replace('order: stop-first', 'order: stop-first\n      mode: global-job');
    expect(() => swarmStackFiles(job, options())).toThrow(/service "db" .* deploy.mode "global-job"/);
  });

  it('names each config file by its content, so a changed file is a new Swarm config, and ships it in the release folder', () => {
    const text = `${COMPOSE}configs:\n  caddyfile:\n    file: ./swarm/Caddyfile\n  external-one:\n    external: true\n`;
    expect(configFileRefs(text, 'c.yml')).toEqual([{ key: 'caddyfile', file: './swarm/Caddyfile' }]);
    const first = swarmStackFiles(text, options({ caddyfile: ':80 {\n}\n' }));
    const second = swarmStackFiles(text, options({ caddyfile: ':81 {\n}\n' }));
    const configs = parse(first.stack).configs;
    expect(configs.caddyfile).toEqual({
      name: expect.stringMatching(/^shop-staging_caddyfile_[0-9a-f]{12}$/),
      file: './config.caddyfile',
    });
    expect(configs['external-one']).toEqual({ external: true });
    expect(parse(second.stack).configs.caddyfile.name).not.toBe(configs.caddyfile.name);
    expect(first.configFiles).toEqual([{ name: 'config.caddyfile', text: ':80 {\n}\n' }]);
  });

  it('turns the example compose file into stack files that keep its own update settings', () => {
    const text = readFileSync(`${exampleDir}/docker-compose.swarm.yml`, 'utf8');
    const files = swarmStackFiles(text, options({ caddyfile: 'x' }));
    const stack = parse(files.stack);
    expect(Object.keys(stack.services).sort()).toEqual(['app', 'proxy']);
    expect(stack.services.app.deploy.update_config).toMatchObject({
      order: 'start-first',
      monitor: '5s',
      parallelism: 1,
    });
    expect(stack.services.proxy.deploy.update_config.order).toBe('stop-first');
    expect(parse(files.migrate).services.migrator.deploy.mode).toBe('replicated-job');
  });
});

describe('target: swarm inputs', () => {
  const read = (values: Record<string, string>, workspace = '/tmp') =>
    readDeploySettings(
      inputsFrom({ 'deploy-path': '/srv/app/staging', ...values }, collectingReporter()),
      workspace,
    );

  it('needs no readiness port (the healthchecks are readiness), and takes ready-stable-for as the monitor window', () => {
    const settings = read({ target: 'swarm', 'ready-stable-for': '8s' });
    expect(settings.switching).toEqual({ strategy: 'swarm', monitorMs: 8_000 });
    expect(settings.endpoint).toBeUndefined();
    // An HTTP endpoint, when given, is checked once the stack converged.
    expect(read({ target: 'swarm', 'ready-port': '8080' }).endpoint).toMatchObject({ port: 8080 });
    expect(() => read({})).toThrow(/ready-port/);
  });

  it('refuses blue-green and an unknown target before anything changes', () => {
    expect(() => read({ target: 'swarm', strategy: 'blue-green' })).toThrow(
      /Invalid input "strategy": must be recreate \(the default\) with target: swarm/,
    );
    expect(() => read({ target: 'kubernetes' })).toThrow(/Invalid input "target"/);
  });

  it("reads the example's config file next to the compose file, and refuses one it cannot read", () => {
    const settings = read({ target: 'swarm', 'compose-file': 'docker-compose.swarm.yml' }, exampleDir);
    const text = readComposeFile(settings, true);
    expect(Object.keys(readConfigFiles(settings, text))).toEqual(['caddyfile']);
    const elsewhere = read(
      { target: 'swarm', 'compose-file': `${exampleDir}/docker-compose.swarm.yml` },
      '/tmp',
    );
    expect(readConfigFiles(elsewhere, text).caddyfile).toMatch(/dynamic a/);
    const missing = text.replace('./swarm/Caddyfile', './swarm/Nothing');
    expect(() => readConfigFiles(settings, missing)).toThrow(
      /Invalid input "compose-file": cannot read .*swarm\/Nothing/,
    );
  });
});

describe('target: swarm in a deploy config file', () => {
  it('is a setting like any other: an environment on a Swarm manager gets the Swarm switch', () => {
    const text = `compose-file: docker-compose.swarm.yml
roles:
  web: { service: app }
environments:
  staging:
    target: swarm
    deploy-path: /srv/shop/staging
    hosts:
      - { name: manager-1, host: 10.0.0.1, roles: [web] }
`;
    const environment = resolveEnvironment(
      parseDeployConfig(text, '.github/deployer.yml'),
      'staging',
      () => undefined,
    );
    const settings = readDeploySettings(
      configInputSource(environment.targets[0]!, inputsFrom({}, collectingReporter())),
      '/tmp',
    );
    expect(settings.switching).toEqual({ strategy: 'swarm', monitorMs: 5_000 });
    expect(settings.endpoint).toBeUndefined();
  });
});
