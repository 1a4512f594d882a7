import { readFileSync } from 'node:fs';
import { pinnedDigest } from '../commands/registry.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import { input, InputError, readInputs, type InputSource } from '../inputs.js';
import { PROXY_DIR } from '../commands/proxy.js';
import type { SwitchSettings } from '../types/switching.js';
import { blueGreenServiceProblem, type ServiceConfig } from './blue-green-config.js';
import { checkComposeFile } from './compose-file.js';
import { configFileRefs, swarmStackFiles } from '../swarm/stack-files.js';
import {
  DEPLOY_ENDPOINT_INPUTS,
  endpointInputShape,
  readEndpoint,
  readReadinessSettings,
  redactUrl,
  type ReadinessEndpoint,
} from '../readiness/index.js';
import type { DeployRequest } from '../types/deploy.js';
import type { ReleaseSpec } from '../types/release.js';
import type { RunIdentity } from '../types/run.js';
import type { RegistryCredentials } from '../types/target.js';

export const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+|__|\/[a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const PROJECT = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const DEPLOY_PATH = /^\/[A-Za-z0-9._/-]*$/;
const FILE_NAME = /^[A-Za-z0-9._-]+$/;
/** A Caddy site address: `:80`, `staging.example.com`, `*.example.com:8080`. */
const PROXY_ADDRESS = /^(?:(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)?(?::\d{1,5})?$/;

/** Inputs of the deploy engine that deploy-staging and promote-prod share (besides SSH and readiness). */
export const deploySettingsShape = {
  'deploy-path': input.matching(
    DEPLOY_PATH,
    'an absolute path on the host such as /srv/app/staging (letters, digits, ._-/)',
  ),
  'compose-file': input.withDefault('docker-compose.deploy.yml'),
  'env-file': input.matching(
    FILE_NAME,
    'a file name in deploy-path such as .env.production',
    '.env.production',
  ),
  'app-service': input.matching(NAME, 'a Compose service name', 'app'),
  'migrator-service': input.matching(NAME, 'a Compose service name', 'migrator'),
  accessories: input.list(),
  'project-name': input.matching(
    PROJECT,
    'a Compose project name (lower-case letters, digits, - and _)',
    undefined,
  ),
  'app-host-port': input.integer(0, 0, 65535),
  'deploy-env': input.keyValues(),
  registry: input.optional(),
  'registry-username': input.optional(),
  'registry-password': input.secret(false, 'the registry password or token'),
  'lock-timeout': input.duration(10 * 60_000),
  'lock-ttl': input.duration(2 * 60_000, { min: 10_000 }),
  'deploy-timeout': input.duration(30 * 60_000, { min: 10_000 }),
  'ready-stable-for': input.duration(5_000, { min: 0 }),
  'keep-releases': input.integer(5, 1, 100),
  'ssh-keepalive': input.duration(5_000, { min: 500 }),
  'compose-command': input.oneOf(['auto', 'docker compose', 'docker-compose'], 'auto'),
  ...endpointInputShape(DEPLOY_ENDPOINT_INPUTS),
  'ready-check': input.oneOf(['http', 'container'], 'http'),
  strategy: input.oneOf(['recreate', 'blue-green'], 'recreate'),
  target: input.oneOf(['compose', 'swarm'], 'compose'),
  'proxy-address': input.matching(
    PROXY_ADDRESS,
    'a site address such as :80, staging.example.com or staging.example.com:8080',
    ':80',
  ),
  'proxy-image': input.matching(IMAGE_REFERENCE, 'an image reference such as caddy:2', 'caddy:2'),
  'proxy-container': input.matching(NAME, 'a container name', 'deployer-proxy'),
  'proxy-dir': input.matching(
    PROXY_DIR,
    "an absolute folder on the host, or one in the SSH user's home such as ~/.deployer-proxy",
    '~/.deployer-proxy',
  ),
  'app-port': input.integer(0, 0, 65535),
  'drain-timeout': input.duration(30_000, { min: 0 }),
  'log-format': input.oneOf(['text', 'json'], 'text'),
  'notify-url': input.optional(),
  'notify-secret': input.secret(false),
};

export type DeploySettings = ReturnType<typeof readDeploySettings>;

export function readDeploySettings(source: InputSource, workspace: string) {
  const values = readInputs(deploySettingsShape, source);
  const deployPath = values['deploy-path'];
  if (!deployPath)
    throw new InputError('deploy-path', 'is required: an absolute path on the host such as /srv/app/staging');
  if (deployPath.split('/').includes('..'))
    throw new InputError('deploy-path', `must not contain "..", got ${JSON.stringify(deployPath)}`);
  const normalizedPath = deployPath.replace(/\/+$/, '') || '/';
  if (normalizedPath === '/') throw new InputError('deploy-path', 'must be a folder below /, not / itself');

  for (const name of values.accessories) {
    if (!NAME.test(name))
      throw new InputError('accessories', `expected Compose service names, got ${JSON.stringify(name)}`);
  }
  if (values['notify-url'] && !/^https?:\/\//.test(values['notify-url'])) {
    throw new InputError('notify-url', 'expected an http(s) URL');
  }
  if (values['registry-password'] && !values['registry-username']) {
    throw new InputError('registry-username', 'is required when registry-password is set');
  }
  if (values.registry && !/^[a-zA-Z0-9.-]+(?::\d+)?$/.test(values.registry)) {
    throw new InputError(
      'registry',
      `expected a registry host such as ghcr.io or 127.0.0.1:5000, got ${JSON.stringify(values.registry)}`,
    );
  }
  const proxyPort = Number(/:(\d+)$/.exec(values['proxy-address'])?.[1] ?? 80);
  if (proxyPort < 1 || proxyPort > 65535)
    throw new InputError('proxy-address', `has port ${proxyPort}; expected a port from 1 to 65535`);
  const readiness = readReadinessSettings('ready-', source);
  const appPort = values['app-host-port'] || Number(values['deploy-env'].APP_HOST_PORT ?? 0);
  const blueGreen = values.strategy === 'blue-green';
  const swarmTarget = values.target === 'swarm';
  if (swarmTarget && blueGreen)
    throw new InputError(
      'strategy',
      'must be recreate (the default) with target: swarm: Swarm replaces the tasks start-first itself, behind your proxy service',
    );
  // Blue-green asks readiness of the new container itself (ready-path); the proxy is the default
  // public endpoint.
  const byContainer = values['ready-check'] === 'container';
  if (byContainer && blueGreen)
    throw new InputError(
      'ready-check',
      'must be http with strategy: blue-green (the proxy switches to a container that answers HTTP readiness); use recreate for a worker',
    );
  const endpoint =
    byContainer && !swarmTarget
      ? undefined
      : readEndpoint(DEPLOY_ENDPOINT_INPUTS, source, appPort || (blueGreen ? proxyPort : 0));
  // On Swarm, readiness is the services' healthchecks as Swarm sees them; an HTTP endpoint is an extra check.
  if (!endpoint && !byContainer && !swarmTarget)
    throw new InputError(
      'ready-port',
      'is required (or ready-url, or app-host-port): the port on the host where the app answers readiness; or ready-check: container for an app without HTTP (a worker)',
    );
  const switching: SwitchSettings = swarmTarget
    ? { strategy: 'swarm', monitorMs: values['ready-stable-for'] }
    : blueGreen
      ? {
          strategy: 'blue-green',
          proxy: {
            address: values['proxy-address'],
            image: values['proxy-image'],
            container: values['proxy-container'],
            dir: values['proxy-dir'].replace(/\/+$/, ''),
          },
          appPort: values['app-port'] || undefined,
          drainTimeoutMs: values['drain-timeout'],
        }
      : { strategy: 'recreate' };
  return { ...values, deployPath: normalizedPath, readiness, endpoint, switching, workspace };
}

/** A file an input names, relative to the workspace; an InputError naming the input when it cannot be read. */
export function readWorkspaceFile(input: string, file: string, workspace: string): string {
  const path = isAbsolute(file) ? file : resolve(workspace, file);
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new InputError(input, `cannot read ${path} (paths are relative to the workspace)`);
  }
}

/** The compose file from the workspace, checked against the service inputs before anything changes. */
export function readComposeFile(settings: DeploySettings, runMigrations: boolean): string {
  const text = readWorkspaceFile('compose-file', settings['compose-file'], settings.workspace);
  const services = checkComposeFile(text, settings['compose-file'], {
    app: settings['app-service'],
    migrator: runMigrations ? settings['migrator-service'] : undefined,
    accessories: settings.accessories,
  });
  if (settings.switching.strategy === 'swarm')
    swarmStackFiles(text, {
      path: settings['compose-file'],
      stack: settings['project-name'] ?? 'stack',
      migrator: settings['migrator-service'],
      monitorMs: settings.switching.monitorMs,
      configs: readConfigFiles(settings, text),
    });
  if (settings.switching.strategy === 'blue-green') {
    const problem = blueGreenServiceProblem(
      services[settings['app-service']] as ServiceConfig | undefined,
      settings['app-service'],
      settings['compose-file'],
    );
    if (problem) throw new InputError('compose-file', `${problem} (strategy: blue-green)`);
  }
  return text;
}

/** Swarm: the files the compose file's top-level configs name, read next to the compose file. */
export function readConfigFiles(settings: DeploySettings, composeText: string): Record<string, string> {
  const composeDir = dirname(resolve(settings.workspace, settings['compose-file']));
  return Object.fromEntries(
    configFileRefs(composeText, settings['compose-file']).map(({ key, file }) => [
      key,
      readWorkspaceFile('compose-file', resolve(composeDir, file), settings.workspace),
    ]),
  );
}

export function checkImageReference(name: string, value: string | undefined, allowMutable: boolean): string {
  if (!value)
    throw new InputError(
      name,
      'is required: an image reference pinned by digest, e.g. ghcr.io/acme/app@sha256:…',
    );
  if (!IMAGE_REFERENCE.test(value))
    throw new InputError(
      name,
      `expected an image reference such as ghcr.io/acme/app@sha256:<64 hex>, got ${JSON.stringify(value)}`,
    );
  if (!pinnedDigest(value) && !allowMutable) {
    throw new InputError(
      name,
      `must be pinned by digest (…@sha256:<64 hex>): a tag like ${JSON.stringify(value)} can be re-pushed. Set allow-mutable-tags: true to accept tags anyway`,
    );
  }
  return value;
}

export function registryFor(settings: DeploySettings, image: string): RegistryCredentials | undefined {
  if (!settings['registry-username'] || !settings['registry-password']) return undefined;
  const server = settings.registry ?? registryOfImage(image);
  return { server, username: settings['registry-username'], password: settings['registry-password'] };
}

export function registryOfImage(image: string): string {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'docker.io';
}

export function defaultProjectName(deployPath: string, environment: string): string {
  const base = deployPath.split('/').filter(Boolean).pop() ?? 'app';
  const name = `${base}-${environment}`
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return (name || 'deployer').slice(0, 63);
}

/** A deploy request: the release to deploy, where (the shared deploy settings) and by which run. */
export function deployRequestFrom(
  settings: DeploySettings,
  environment: string,
  release: Omit<ReleaseSpec, 'deployEnv'>,
  run: RunIdentity,
): DeployRequest {
  return {
    target: {
      environment,
      deployPath: settings.deployPath,
      projectName: settings['project-name'] ?? defaultProjectName(settings.deployPath, environment),
      envFileName: settings['env-file'],
      services: {
        app: settings['app-service'],
        migrator: settings['migrator-service'],
        accessories: settings.accessories,
      },
      composeCommand: settings['compose-command'],
    },
    release: {
      ...release,
      ...(settings.switching.strategy === 'swarm' && release.composeFileContent
        ? { configFiles: readConfigFiles(settings, release.composeFileContent) }
        : {}),
      deployEnv: {
        ...(settings['app-host-port'] ? { APP_HOST_PORT: String(settings['app-host-port']) } : {}),
        ...settings['deploy-env'],
      },
    },
    policy: {
      readyStableForMs: settings['ready-stable-for'],
      deployTimeoutMs: settings['deploy-timeout'],
      keepReleases: settings['keep-releases'],
      lockTtlMs: settings['lock-ttl'],
      lockWaitMs: settings['lock-timeout'],
    },
    readiness: { settings: settings.readiness, endpoint: settings.endpoint },
    switching: settings.switching,
    registry: registryFor(settings, release.appImage),
    run,
  };
}

/** The environment's public URL: the `url` input, else the origin of a direct readiness URL. */
export function environmentUrl(explicit: string | undefined, settings: DeploySettings): string | undefined {
  if (explicit) return explicit;
  return originOf(settings.endpoint);
}

function originOf(endpoint: ReadinessEndpoint | undefined): string | undefined {
  return endpoint?.kind === 'url' ? redactUrl(new URL(endpoint.url).origin) : undefined;
}
