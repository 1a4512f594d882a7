import { describe, expect, it } from 'vitest';
import {
  CONFIG_SETTING_NAMES,
  ConfigError,
  configInputSource,
  describeEnvironment,
  explainInputError,
  parseDeployConfig,
  resolveEnvironment,
  SECRET_SETTINGS,
  type ConfigTarget,
} from '../../actions/engine/config/deploy-config.js';
import { deploySettingsShape } from '../../actions/engine/deploy/inputs.js';
import { InputError, inputsFrom, readInputs, type InputSource } from '../../actions/engine/inputs.js';
import { collectingReporter } from '../../actions/engine/reporter.js';

const FILE = '.github/deployer.yml';
const TOKEN = 'tok-9f8e7d6c5b4a-REGISTRY-SECRET';

// Line numbers matter: the error tests below replace lines of this file by number.
const VALID = `# .github/deployer.yml
compose-file: docker-compose.fleet.yml
user: deploy
registry-password: { env: REGISTRY_TOKEN }
ready-timeout: 90s
roles:
  web:
    service: app
    strategy: blue-green
    ready-path: /api/ready
  worker:
    service: worker
    ready-check: container
    deploy-path: /srv/hello/worker
environments:
  staging:
    deploy-path: /srv/hello/staging
    ready-timeout: 2m
    max-parallel: 2
    migrate-on: web-2
    hosts:
      - name: web-1
        host: 10.0.0.1
        roles: [web]
        host-fingerprint: SHA256:abc
        ready-port: 8080
      - name: web-2
        host: 10.0.0.2
        roles: [web, worker]
        ready-path: /healthz
        accessories: [postgres, redis]
        deploy-env: { LOG_LEVEL: debug, RATIO: 1.10 }
  production:
    user: { env: PROD_USER }
    hosts:
      - host: 10.1.0.1
        roles: [web, worker]
`;

const ENV: Record<string, string> = { REGISTRY_TOKEN: TOKEN, PROD_USER: 'release' };
const fromEnv =
  (values: Record<string, string> = ENV) =>
  (name: string) =>
    values[name];

/** VALID with some lines (by 1-based number) replaced; a replacement may hold several lines. */
function variant(replacements: Record<number, string>): string {
  return VALID.split('\n')
    .map((line, index) => replacements[index + 1] ?? line)
    .join('\n');
}

function errorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const parseError = (text: string) => errorOf(() => parseDeployConfig(text, FILE));

function expectError(error: ConfigError, line: number, key: string, message: string | RegExp) {
  expect({ file: error.file, line: error.line, key: error.key }).toEqual({ file: FILE, line, key });
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
}

const staging = (text = VALID, env = fromEnv()) =>
  resolveEnvironment(parseDeployConfig(text, FILE), 'staging', env);

describe('deploy config settings', () => {
  it('are the deploy, SSH and readiness inputs, once each, without host and app-service', () => {
    for (const name of [
      'deploy-path',
      'strategy',
      'user',
      'ssh-key',
      'ready-timeout',
      'ready-path',
      'ready-check',
    ])
      expect(CONFIG_SETTING_NAMES).toContain(name);
    expect(CONFIG_SETTING_NAMES).not.toContain('host');
    expect(CONFIG_SETTING_NAMES).not.toContain('app-service');
    expect(new Set(CONFIG_SETTING_NAMES).size).toBe(CONFIG_SETTING_NAMES.length);
  });

  it('finds the secret inputs from their fields', () => {
    expect([...SECRET_SETTINGS].sort()).toEqual(['notify-secret', 'registry-password', 'ssh-key']);
  });
});

describe('resolveEnvironment', () => {
  it('resolves targets in file order with top < environment < role < host precedence', () => {
    const plan = staging();
    expect(plan).toMatchObject({ file: FILE, environment: 'staging', maxParallel: 2, migrateOn: 'web-2' });
    expect(plan.targets.map((t) => `${t.name}/${t.role}@${t.host}`)).toEqual([
      'web-1/web@10.0.0.1',
      'web-2/web@10.0.0.2',
      'web-2/worker@10.0.0.2',
    ]);
    const [web1, web2, worker] = plan.targets;
    expect(web1!.settings).toEqual({
      'compose-file': 'docker-compose.fleet.yml',
      user: 'deploy',
      'registry-password': TOKEN,
      'ready-timeout': '2m',
      'deploy-path': '/srv/hello/staging',
      strategy: 'blue-green',
      'ready-path': '/api/ready',
      'host-fingerprint': 'SHA256:abc',
      'ready-port': '8080',
      host: '10.0.0.1',
      'app-service': 'app',
    });
    expect(web2!.settings['ready-path']).toBe('/healthz');
    expect(web2!.settings['deploy-path']).toBe('/srv/hello/staging');
    expect(worker!.settings).toMatchObject({
      'app-service': 'worker',
      'ready-check': 'container',
      'deploy-path': '/srv/hello/worker',
      'ready-path': '/healthz',
      accessories: 'postgres\nredis',
      'deploy-env': 'LOG_LEVEL=debug\nRATIO=1.10',
    });
    expect(worker!.settings.strategy).toBeUndefined();
  });

  it('tells where each setting came from', () => {
    const [web1, web2] = staging().targets;
    expect(web2!.origin('ready-path')).toEqual({
      file: FILE,
      line: 30,
      key: 'environments.staging.hosts[1].ready-path',
    });
    expect(web1!.origin('ready-timeout')).toEqual({
      file: FILE,
      line: 18,
      key: 'environments.staging.ready-timeout',
    });
    expect(web1!.origin('app-service')).toEqual({ file: FILE, line: 8, key: 'roles.web.service' });
    expect(web1!.origin('registry-password')).toEqual({
      file: FILE,
      line: 4,
      key: 'registry-password',
      env: 'REGISTRY_TOKEN',
    });
    expect(web1!.origin('proxy-address')).toBeUndefined();
    expect(web1!.secretSettings).toEqual(['registry-password']);
  });

  it('reads env references, only those the environment uses', () => {
    // staging never needs PROD_USER.
    expect(staging(VALID, fromEnv({ REGISTRY_TOKEN: TOKEN })).targets).toHaveLength(3);
    const production = resolveEnvironment(parseDeployConfig(VALID, FILE), 'production', fromEnv());
    expect(production).toMatchObject({ maxParallel: 1, migrateOn: '10.1.0.1' });
    expect(production.targets.map((t) => [t.name, t.role, t.settings.user])).toEqual([
      ['10.1.0.1', 'web', 'release'],
      ['10.1.0.1', 'worker', 'release'],
    ]);
  });

  it('reads an SSH host from the environment when the entry has a name', () => {
    const plan = staging(
      variant({ 23: '        host: { env: WEB1_HOST }' }),
      fromEnv({ ...ENV, WEB1_HOST: '10.9.9.9' }),
    );
    expect(plan.targets[0]).toMatchObject({ name: 'web-1', host: '10.9.9.9' });
    expect(plan.targets[0]!.origin('host')).toMatchObject({ line: 23, env: 'WEB1_HOST' });
  });

  it('names the file, line, key and variable of an unset or empty env reference', () => {
    expectError(
      errorOf(() => staging(VALID, fromEnv({}))),
      4,
      'registry-password',
      `${FILE}:4: registry-password: environment variable REGISTRY_TOKEN is not set or is empty`,
    );
    expect(errorOf(() => staging(VALID, fromEnv({ REGISTRY_TOKEN: ' ' }))).message).toContain(
      'REGISTRY_TOKEN',
    );
    expectError(
      errorOf(() =>
        resolveEnvironment(parseDeployConfig(VALID, FILE), 'production', fromEnv({ REGISTRY_TOKEN: TOKEN })),
      ),
      34,
      'environments.production.user',
      /PROD_USER is not set/,
    );
  });

  it('lists the environments the file has when asked for another', () => {
    const config = parseDeployConfig(VALID, FILE);
    expectError(
      errorOf(() => resolveEnvironment(config, 'stagin', fromEnv())),
      15,
      'environments',
      `${FILE}:15: environments: no environment "stagin" (did you mean staging?); the file has: staging, production`,
    );
    expect(errorOf(() => resolveEnvironment(config, 'qa', fromEnv())).message).toMatch(
      /no environment "qa"; the file has: staging, production$/,
    );
  });

  it('rejects two roles of one host sharing a deploy-path, on the line of the host entry', () => {
    expectError(
      errorOf(() => staging(variant({ 14: '    ready-timeout: 1m' }))),
      27,
      'environments.staging.hosts[1]',
      `${FILE}:27: environments.staging.hosts[1]: roles web and worker resolve to the same deploy-path /srv/hello/staging: they would share one lock and history; give one of them its own deploy-path`,
    );
    // A trailing slash names the same folder.
    expect(errorOf(() => staging(variant({ 14: '    deploy-path: /srv/hello/staging/' }))).line).toBe(27);
  });

  it('rejects two host entries for one address sharing a deploy-path', () => {
    const error = errorOf(() =>
      staging(variant({ 28: '        host: 10.0.0.1', 29: '        roles: [web]' })),
    );
    expectError(
      error,
      27,
      'environments.staging.hosts[1]',
      /web on web-1 and web on web-2 \(both 10\.0\.0\.1\)/,
    );
  });
});

describe('parseDeployConfig errors', () => {
  it('reports YAML syntax errors with their line', () => {
    expectError(
      parseError(variant({ 3: 'user: deploy: x' })),
      3,
      '',
      `${FILE}:3: invalid YAML: Nested mappings are not allowed in compact mappings`,
    );
    expect(parseError(variant({ 24: '        roles: [web]', 25: '        roles: [web]' })).message).toMatch(
      new RegExp(`^${FILE}:25: invalid YAML: Map keys must be unique`),
    );
  });

  it('reports unknown keys at every level, with a suggestion when one is close', () => {
    expectError(
      parseError(variant({ 30: '        redy-path: /healthz' })),
      30,
      'environments.staging.hosts[1].redy-path',
      `${FILE}:30: environments.staging.hosts[1]: unknown key "redy-path" (did you mean ready-path?)`,
    );
    expectError(
      parseError(variant({ 10: '    redy-path: /api/ready' })),
      10,
      'roles.web.redy-path',
      `${FILE}:10: roles.web: unknown key "redy-path" (did you mean ready-path?)`,
    );
    expectError(
      parseError(variant({ 19: '    max-paralel: 2' })),
      19,
      'environments.staging.max-paralel',
      `${FILE}:19: environments.staging: unknown key "max-paralel" (did you mean max-parallel?)`,
    );
    expectError(
      parseError(variant({ 5: 'ready-timout: 90s' })),
      5,
      'ready-timout',
      `${FILE}:5: unknown key "ready-timout" (did you mean ready-timeout?)`,
    );
    expect(parseError(variant({ 9: '    colour: blue' })).message).toBe(
      `${FILE}:9: roles.web: unknown key "colour"`,
    );
    expect(parseError(variant({ 3: 'host: 10.0.0.1' })).message).toBe(
      `${FILE}:3: unknown key "host" (hosts are listed under environments.<name>.hosts)`,
    );
    expect(parseError(variant({ 9: '    app-service: web' })).message).toBe(
      `${FILE}:9: roles.web: unknown key "app-service" (each role's service sets it)`,
    );
  });

  it('requires a service for each role', () => {
    expectError(
      parseError(variant({ 12: '    strategy: recreate' })),
      11,
      'roles.worker.service',
      `${FILE}:11: roles.worker: missing "service": the Compose service this role deploys`,
    );
  });

  it('rejects a role that the file does not define', () => {
    expectError(
      parseError(variant({ 29: '        roles: [web, wroker]' })),
      29,
      'environments.staging.hosts[1].roles[1]',
      `${FILE}:29: environments.staging.hosts[1].roles[1]: unknown role "wroker" (did you mean worker?); the roles are: web, worker`,
    );
  });

  it('requires host and roles in each hosts entry', () => {
    expectError(
      parseError(variant({ 23: '        user: root' })),
      22,
      'environments.staging.hosts[0].host',
      `${FILE}:22: environments.staging.hosts[0]: missing "host": the SSH host name or IP address`,
    );
    expectError(
      parseError(variant({ 24: '        user: root' })),
      22,
      'environments.staging.hosts[0].roles',
      /hosts\[0\]: missing "roles"/,
    );
    expectError(
      parseError(variant({ 24: '        roles: []' })),
      24,
      'environments.staging.hosts[0].roles',
      `${FILE}:24: environments.staging.hosts[0].roles: expected at least one role`,
    );
    expectError(
      parseError(variant({ 22: '      - host: { env: WEB1_HOST }', 23: '        user: root' })),
      22,
      'environments.staging.hosts[0].host',
      /hosts\[0\]: missing "name": a host read from \{ env: WEB1_HOST \} needs a name/,
    );
  });

  it('rejects an environment without hosts', () => {
    expectError(
      parseError(variant({ 35: '    hosts: []', 36: '', 37: '' })),
      35,
      'environments.production.hosts',
      /expected at least one host/,
    );
  });

  it('rejects duplicate host names in an environment', () => {
    expectError(
      parseError(variant({ 27: '      - name: web-1' })),
      27,
      'environments.staging.hosts[1].name',
      `${FILE}:27: environments.staging.hosts[1].name: host name "web-1" is already used by environments.staging.hosts[0]: give each host its own name`,
    );
    // Without a name, the host is the name.
    const twice = variant({
      37: '        roles: [web, worker]\n      - host: 10.1.0.1\n        roles: [web]',
    });
    expectError(
      parseError(twice),
      38,
      'environments.production.hosts[1].host',
      /host name "10.1.0.1" is already used/,
    );
  });

  it('rejects migrate-on naming no host of the environment', () => {
    expectError(
      parseError(variant({ 20: '    migrate-on: web-9' })),
      20,
      'environments.staging.migrate-on',
      /migrate-on: names no host of this environment \(did you mean web-1\?\); its hosts are: web-1, web-2$/,
    );
  });

  it('requires max-parallel to be a whole number of at least 1', () => {
    for (const value of ['0', '1.5', 'two', '-1']) {
      expectError(
        parseError(variant({ 19: `    max-parallel: ${value}` })),
        19,
        'environments.staging.max-parallel',
        `${FILE}:19: environments.staging.max-parallel: expected a whole number of at least 1, got "${value}"`,
      );
    }
  });

  it('rejects values of the wrong type', () => {
    expectError(
      parseError(variant({ 3: 'user: { name: deploy }' })),
      3,
      'user',
      `${FILE}:3: user: expected one value (text, a number or true/false) or { env: NAME }, got a map`,
    );
    expectError(
      parseError(variant({ 9: '    strategy: [recreate, blue-green]' })),
      9,
      'roles.web.strategy',
      /got a list$/,
    );
    expectError(
      parseError(variant({ 32: '        deploy-env: { LOG: { level: debug } }' })),
      32,
      'environments.staging.hosts[1].deploy-env.LOG',
      /deploy-env.LOG: expected text, a number or true\/false, got a map$/,
    );
    expectError(
      parseError(variant({ 26: '        ready-port:' })),
      26,
      'environments.staging.hosts[0].ready-port',
      /has no value/,
    );
    expectError(
      parseError(variant({ 35: '    hosts: 10.1.0.1', 36: '', 37: '' })),
      35,
      'environments.production.hosts',
      /expected a list of hosts such as .*, got "10.1.0.1"$/,
    );
    expectError(
      parseError(variant({ 11: '  worker: worker', 12: '', 13: '', 14: '' })),
      11,
      'roles.worker',
      /roles.worker: expected a map with service: <Compose service> and settings, got "worker"$/,
    );
  });

  it('rejects secrets written in the file, at any level', () => {
    const secret = 'secrets are referenced by name from the environment, never written in the file';
    expectError(
      parseError(variant({ 4: 'registry-password: hunter2' })),
      4,
      'registry-password',
      new RegExp(secret),
    );
    expectError(
      parseError(variant({ 26: '        notify-secret: s3cret' })),
      26,
      'environments.staging.hosts[0].notify-secret',
      new RegExp(secret),
    );
    expectError(
      parseError(variant({ 13: '    ssh-key: |\n      -----BEGIN OPENSSH PRIVATE KEY-----' })),
      13,
      'roles.worker.ssh-key',
      new RegExp(secret),
    );
  });

  it('rejects an env reference that is not a variable name', () => {
    expectError(
      parseError(variant({ 4: 'registry-password: { env: 1TOKEN }' })),
      4,
      'registry-password.env',
      /expected an environment variable name .*, got "1TOKEN"/,
    );
    expect(parseError(variant({ 3: 'user: { env: DEPLOY_USER, default: deploy }' })).message).toMatch(
      /user: \{ env: NAME \} takes no other keys/,
    );
  });

  it('reports an empty file or one that is not a map', () => {
    expectError(parseError(''), 1, '', `${FILE}:1: the file is empty: expected roles and environments`);
    expect(parseError('- web\n').message).toMatch(
      /expected a map with roles, environments and settings, got a list/,
    );
    expectError(parseError('roles: {}\n'), 1, 'environments', /: missing "environments"/);
  });
});

describe('describeEnvironment', () => {
  const key =
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-DISTINCT\n-----END OPENSSH PRIVATE KEY-----';
  const text = variant({
    3: 'user: deploy\nssh-key: { env: SSH_KEY }\nready-headers: { Authorization: Bearer hdr-token-4242 }',
  });

  it('shows targets and settings, but secrets only by the variable they come from', () => {
    const plan = staging(text, fromEnv({ ...ENV, SSH_KEY: key }));
    const shown = describeEnvironment(plan);
    expect(shown).toContain('### Deploy plan: staging');
    expect(shown).toContain('#### web-2 · worker (10.0.0.2)');
    expect(shown).toMatch(
      /\| deploy-path \| `\/srv\/hello\/worker` \| `roles.worker.deploy-path` line 16 \|/,
    );
    expect(shown).toContain('from env REGISTRY_TOKEN');
    expect(shown).toContain('from env SSH_KEY');
    for (const secret of [TOKEN, key, 'b3BlbnNzaC1rZXktdjEAAAAA-DISTINCT', 'hdr-token-4242'])
      expect(shown).not.toContain(secret);
  });

  it('hides a secret copied into another setting', () => {
    const copied = variant({ 5: `ready-timeout: 90s\ndeploy-env: { COPY: ${TOKEN} }` });
    expect(describeEnvironment(staging(copied))).not.toContain(TOKEN);
  });
});

describe('configInputSource', () => {
  const reporter = collectingReporter();
  const target = () => staging().targets[0]!;

  it('reads a given action input first, then the file, else empty', () => {
    const source = configInputSource(target(), inputsFrom({ user: 'ci', 'ready-path': '  ' }, reporter));
    expect(source.read('user')).toBe('ci');
    expect(source.read('ready-path')).toBe('/api/ready');
    expect(source.read('proxy-address')).toBe('');
    expect(source.reporter).toBe(reporter);
  });

  it('feeds the action input readers, masking file secrets', () => {
    const given = inputsFrom({}, collectingReporter());
    const values = readInputs(deploySettingsShape, configInputSource(staging().targets[2]!, given));
    expect(values).toMatchObject({
      'app-service': 'worker',
      'deploy-path': '/srv/hello/worker',
      accessories: ['postgres', 'redis'],
    });
    expect(values['deploy-env']).toEqual({ LOG_LEVEL: 'debug', RATIO: '1.10' });
    expect((given.reporter as ReturnType<typeof collectingReporter>).masked).toContain(TOKEN);
  });
});

describe('explainInputError', () => {
  const badPort = variant({ 26: '        ready-port: x' });
  const readPort = (target: ConfigTarget, given: InputSource) => {
    try {
      readInputs(deploySettingsShape, configInputSource(target, given));
    } catch (error) {
      return explainInputError(error as InputError, target, given);
    }
    throw new Error('expected an InputError');
  };

  it('names the file, line and key of a bad value from the file', () => {
    const error = readPort(staging(badPort).targets[0]!, inputsFrom({}, collectingReporter()));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `${FILE}:26: environments.staging.hosts[0].ready-port: expected a whole number from 0 to 65535, got "x"`,
    );
    expect(error).toMatchObject({ line: 26, key: 'environments.staging.hosts[0].ready-port' });
  });

  it('names the variable when the bad value came from one', () => {
    const text = variant({ 26: '        ready-port: { env: WEB_PORT }' });
    const error = readPort(
      staging(text, fromEnv({ ...ENV, WEB_PORT: 'eighty' })).targets[0]!,
      inputsFrom({}, collectingReporter()),
    );
    expect(error.message).toBe(
      `${FILE}:26: environments.staging.hosts[0].ready-port (from env WEB_PORT): expected a whole number from 0 to 65535, got "eighty"`,
    );
  });

  it('leaves an error about a given action input as it is', () => {
    const given = inputsFrom({ 'ready-port': 'y' }, collectingReporter());
    const error = readPort(staging(badPort).targets[0]!, given);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(
      'Invalid input "ready-port": expected a whole number from 0 to 65535, got "y"',
    );
  });

  it('leaves an error about a setting the file does not have as it is', () => {
    const error = new InputError('registry-username', 'is required when registry-password is set');
    expect(explainInputError(error, staging().targets[0]!, inputsFrom({}, collectingReporter()))).toBe(error);
  });
});
