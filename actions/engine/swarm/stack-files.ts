import { createHash } from 'node:crypto';
import { Document, isMap, parseDocument, type YAMLMap } from 'yaml';
import { InputError } from '../inputs.js';
import type { DeployRequest } from '../types/deploy.js';
import type { SwarmSettings } from '../types/switching.js';

/** The two files a Swarm release deploys from its folder: the app stack, and the migrator on its own. */
export const SWARM_FILES = { stack: 'stack.yml', migrate: 'migrate.yml' } as const;

export interface StackFileOptions {
  /** The compose file's name, for messages. */
  path: string;
  /** The stack's name: Swarm configs are named after it. */
  stack: string;
  migrator: string;
  /** Swarm's `monitor`: how long each updated task must keep running before the update counts. */
  monitorMs: number;
  /** The text of each top-level config's `file`, by config key (see configFileRefs). */
  configs: Record<string, string>;
}

const CONFIG_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The top-level `configs` that take their content from a file (path relative to the compose file). */
export function configFileRefs(text: string, path: string): Array<{ key: string; file: string }> {
  const root = parseCompose(text, path);
  const configs = asMap(root.configs) ?? {};
  return Object.entries(configs).flatMap(([key, value]) => {
    const file = asMap(value)?.file;
    if (typeof file !== 'string') return [];
    if (!CONFIG_KEY.test(key))
      throw new InputError(
        'compose-file',
        `config ${JSON.stringify(key)} in ${path}: a config key may only contain letters, digits and ._-`,
      );
    return [{ key, file }];
  });
}

/** The release folder's copy of a config file. */
const configFileName = (key: string) => `config.${key}`;

function parseCompose(text: string, path: string): Record<string, unknown> {
  const document = parseDocument(text, { prettyErrors: false });
  if (document.errors.length > 0)
    throw new InputError('compose-file', `${path} is not valid YAML: ${document.errors[0]!.message}`);
  return (asMap(document.toJS({ maxAliasCount: 100 })) ?? {}) as Record<string, unknown>;
}

/**
 * Swarm configs cannot change once created: each config file's copy in the release folder gets a
 * name of its own content (`<stack>_<key>_<hash>`), so a changed file is a new config, and a
 * rollback uses its release's own.
 */
function withReleaseConfigs(topLevel: Record<string, unknown>, options: StackFileOptions) {
  const configs = asMap(topLevel.configs);
  if (!configs) return { topLevel, files: [] };
  const files: Array<{ name: string; text: string }> = [];
  const rewritten = Object.fromEntries(
    Object.entries(configs).map(([key, value]) => {
      const text = options.configs[key];
      const config = asMap(value);
      if (text === undefined || typeof config?.file !== 'string') return [key, value];
      files.push({ name: configFileName(key), text });
      const hash = createHash('sha256').update(text).digest('hex').slice(0, 12);
      return [
        key,
        {
          ...config,
          name: config.name ?? `${options.stack}_${key}_${hash}`,
          file: `./${configFileName(key)}`,
        },
      ];
    }),
  );
  return { topLevel: { ...topLevel, configs: rewritten }, files };
}

/** Keys Swarm does not know in a service; left in, `docker stack deploy` refuses (profiles) or warns. */
const COMPOSE_ONLY_KEYS = ['profiles', 'restart', 'container_name', 'depends_on'];
/** Top-level keys `docker stack deploy` accepts besides services. */
const STACK_TOP_LEVEL = ['version', 'networks', 'volumes', 'secrets', 'configs'];

/**
 * The release's stack files from the user's compose file, on the runner, before anything changes:
 * - `stack`: every service but the migrator, each updated `start-first` (unless the file says
 *   `stop-first`, e.g. for a database on a volume), rolled back by Swarm on failure, with a monitor
 *   window; the same for rollbacks;
 * - `migrate`: the migrator alone as a one-off `replicated-job` that is never restarted. Swarm runs a
 *   job alongside the other services' updates, so it is deployed and waited for first, on its own.
 * `${VARIABLES}` stay as they are: `docker stack deploy` fills them in from deploy.env on the host.
 */
export function swarmStackFiles(
  text: string,
  options: StackFileOptions,
): { stack: string; migrate: string; configFiles: Array<{ name: string; text: string }> } {
  const root = parseCompose(text, options.path);
  const services = (asMap(root.services) ?? {}) as Record<string, Record<string, unknown> | null>;
  const { topLevel, files: configFiles } = withReleaseConfigs(
    Object.fromEntries(STACK_TOP_LEVEL.filter((key) => key in root).map((key) => [key, root[key]])),
    options,
  );

  const appServices: Record<string, unknown> = {};
  for (const [name, service] of Object.entries(services)) {
    if (name === options.migrator) continue;
    appServices[name] = swarmService(name, service ?? {}, options);
  }
  const migratorService = services[options.migrator];
  const migrate = migratorService
    ? {
        ...topLevel,
        services: {
          [options.migrator]: {
            ...withoutComposeOnlyKeys(migratorService),
            deploy: {
              ...(asMap(migratorService.deploy) ?? {}),
              mode: 'replicated-job',
              replicas: 1,
              restart_policy: { condition: 'none' },
            },
          },
        },
      }
    : undefined;
  return {
    stack: render({ ...topLevel, services: appServices }, options.path),
    migrate: migrate ? render(migrate, options.path) : '',
    configFiles,
  };
}

function swarmService(name: string, service: Record<string, unknown>, options: StackFileOptions) {
  const deploy = asMap(service.deploy) ?? {};
  const mode = deploy.mode ?? 'replicated';
  if (mode !== 'replicated' && mode !== 'global')
    throw new InputError(
      'compose-file',
      `service ${JSON.stringify(name)} in ${options.path} has deploy.mode ${JSON.stringify(mode)}; a service of the stack must be replicated or global (only the migrator runs as a job)`,
    );
  return {
    ...withoutComposeOnlyKeys(service),
    deploy: {
      ...deploy,
      update_config: updatePolicy(name, asMap(deploy.update_config), 'update_config', options),
      rollback_config: { order: 'start-first', ...asMap(deploy.rollback_config) },
    },
  };
}

function updatePolicy(
  name: string,
  given: Record<string, unknown> | undefined,
  key: string,
  options: StackFileOptions,
): Record<string, unknown> {
  const failureAction = given?.failure_action;
  if (failureAction !== undefined && failureAction !== 'rollback')
    throw new InputError(
      'compose-file',
      `service ${JSON.stringify(name)} in ${options.path} sets deploy.${key}.failure_action: ${String(failureAction)}; deployer needs rollback there (a failed update is rolled back for the whole stack)`,
    );
  return {
    order: 'start-first',
    monitor: `${Math.max(1, Math.ceil(options.monitorMs / 1000))}s`,
    ...given,
    failure_action: 'rollback',
  };
}

function withoutComposeOnlyKeys(service: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(service).filter(([key]) => !COMPOSE_ONLY_KEYS.includes(key)));
}

function asMap(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function render(value: Record<string, unknown>, path: string): string {
  const document = new Document(value);
  if (!isMap(document.contents)) throw new Error(`could not render the stack file of ${path}`);
  (document.contents as YAMLMap).commentBefore = ` Written by deployer from ${path} for docker stack deploy.`;
  return document.toString({ lineWidth: 0 });
}

/** The stack files `begin` writes into the release folder; a rollback copies the ones its release ran with. */
export function swarmReleaseFiles(
  request: DeployRequest,
  settings: SwarmSettings,
): Array<{ name: string; text: string }> {
  // A rollback copies these (and its config files) from the release it restores.
  if (request.release.fromRelease) return Object.values(SWARM_FILES).map((name) => ({ name, text: '' }));
  const files = swarmStackFiles(request.release.composeFileContent ?? '', {
    path: 'the compose file',
    stack: request.target.projectName,
    migrator: request.target.services.migrator,
    monitorMs: settings.monitorMs,
    configs: request.release.configFiles ?? {},
  });
  return [
    { name: SWARM_FILES.stack, text: files.stack },
    { name: SWARM_FILES.migrate, text: files.migrate },
    ...files.configFiles,
  ];
}
