import type { z } from 'zod';
import { ConfigError, dottedPath, type ConfigPath } from './config-error.js';
import { didYouMean } from './did-you-mean.js';
import type { DeployConfig, EnvironmentConfig, HostConfig, PlacedSettings, RoleConfig } from './model.js';
import {
  allowedKeysAt,
  configSchema,
  type ParsedConfig,
  type ParsedEnvironment,
  type ParsedHost,
  type SettingSources,
} from './schema.js';
import { parseYaml, type YamlSource } from './yaml-source.js';

export { ConfigError, type ConfigOrigin } from './config-error.js';
export { CONFIG_SETTING_NAMES, SECRET_SETTINGS } from './settings.js';
export type { ConfigTarget, DeployConfig, EnvironmentPlan, SettingOrigin } from './model.js';
export { resolveEnvironment } from './resolve.js';
export { describeEnvironment } from './describe.js';
export { configInputSource, explainInputError } from './input-source.js';

/**
 * Reads a deploy config file (environments → hosts with roles) and checks all of it: syntax, keys,
 * value types, secrets written in the file, roles, host names and `migrate-on`. What depends on
 * the environment variables of the run is checked by `resolveEnvironment`.
 */
export function parseDeployConfig(text: string, file: string): DeployConfig {
  const source = parseYaml(text, file);
  const parsed = configSchema.safeParse(source.data);
  if (!parsed.success) throw firstInFile(parsed.error.issues.flatMap((issue) => errorsOf(issue, source)));
  return buildConfig(parsed.data, source);
}

function firstInFile(errors: ConfigError[]): ConfigError {
  return errors.reduce((first, error) => (error.line < first.line ? error : first));
}

function errorsOf(issue: z.core.$ZodIssue, source: YamlSource): ConfigError[] {
  const path = issue.path as ConfigPath;
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownKeyError(source, path, key));
  const problem = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  return [errorAt(source, path, problem)];
}

/** Keys a file might hold that are set another way. */
const SET_ELSEWHERE: Record<string, string> = {
  host: ' (hosts are listed under environments.<name>.hosts)',
  'app-service': " (each role's service sets it)",
};

function unknownKeyError(source: YamlSource, path: ConfigPath, key: string): ConfigError {
  const hint = SET_ELSEWHERE[key] ?? didYouMean(key, allowedKeysAt(path));
  return new ConfigError(source.originOf([...path, key]), `unknown key "${key}"${hint}`, dottedPath(path));
}

/** An error about `path`; about the map that lacks it when the file does not have it. */
function errorAt(source: YamlSource, path: ConfigPath, problem: string): ConfigError {
  const missing = path.length > 0 && !holds(source.data, path);
  return new ConfigError(source.originOf(path), problem, missing ? dottedPath(path.slice(0, -1)) : undefined);
}

function holds(data: unknown, path: ConfigPath): boolean {
  let node = data;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part)) return false;
    node = (node as Record<string | number, unknown>)[part];
  }
  return true;
}

function buildConfig(parsed: ParsedConfig, source: YamlSource): DeployConfig {
  const roles = new Map(
    Object.entries(parsed.roles).map(([name, role]): [string, RoleConfig] => [
      name,
      {
        name,
        service: {
          source: { kind: 'text', text: role.service },
          at: source.originOf(['roles', name, 'service']),
        },
        settings: placed(source, ['roles', name], role.settings),
      },
    ]),
  );
  const environments = new Map(
    Object.entries(parsed.environments).map(([name, environment]) => [
      name,
      buildEnvironment(source, name, environment, roles),
    ]),
  );
  return {
    file: source.file,
    environmentsAt: source.originOf(['environments']),
    settings: placed(source, [], parsed.settings),
    roles,
    environments,
  };
}

function placed(source: YamlSource, path: ConfigPath, settings: SettingSources): PlacedSettings {
  const entries = Object.entries(settings).flatMap(([name, setting]) =>
    setting ? [[name, { source: setting, at: source.originOf([...path, name]) }] as const] : [],
  );
  return new Map(entries);
}

function buildEnvironment(
  source: YamlSource,
  name: string,
  environment: ParsedEnvironment,
  roles: ReadonlyMap<string, RoleConfig>,
): EnvironmentConfig {
  const path = ['environments', name];
  const hosts = environment.hosts.map((host, index) =>
    buildHost(source, [...path, 'hosts', index], host, roles),
  );
  checkUniqueHostNames(source, path, hosts, environment.hosts);
  const migrateOn = environment.migrateOn ?? hosts[0]!.name;
  checkMigrateOn(source, path, migrateOn, hosts);
  return {
    name,
    maxParallel: environment.maxParallel,
    migrateOn,
    hosts,
    settings: placed(source, path, environment.settings),
  };
}

function checkMigrateOn(
  source: YamlSource,
  path: ConfigPath,
  migrateOn: string,
  hosts: readonly HostConfig[],
): void {
  const names = hosts.map((host) => host.name);
  if (names.includes(migrateOn)) return;
  throw new ConfigError(
    source.originOf([...path, 'migrate-on']),
    `names no host of this environment${didYouMean(migrateOn, names)}; its hosts are: ${names.join(', ')}`,
  );
}

function buildHost(
  source: YamlSource,
  path: ConfigPath,
  host: ParsedHost,
  roles: ReadonlyMap<string, RoleConfig>,
): HostConfig {
  checkRolesOfHost(source, path, host.roles, roles);
  return {
    name: hostName(source, path, host),
    at: source.originOf(path),
    address: { source: host.host, at: source.originOf([...path, 'host']) },
    roles: host.roles,
    settings: placed(source, path, host.settings),
  };
}

function hostName(source: YamlSource, path: ConfigPath, host: ParsedHost): string {
  if (host.name) return host.name;
  if (host.host.kind === 'text') return host.host.text.trim();
  throw new ConfigError(
    source.originOf([...path, 'host']),
    `missing "name": a host read from { env: ${host.host.variable} } needs a name of its own`,
    dottedPath(path),
  );
}

function checkRolesOfHost(
  source: YamlSource,
  path: ConfigPath,
  names: readonly string[],
  roles: ReadonlyMap<string, RoleConfig>,
): void {
  names.forEach((name, index) => {
    const at = source.originOf([...path, 'roles', index]);
    if (!roles.has(name)) {
      const defined = roles.size
        ? `the roles are: ${[...roles.keys()].join(', ')}`
        : 'the file defines no roles';
      throw new ConfigError(at, `unknown role "${name}"${didYouMean(name, roles.keys())}; ${defined}`);
    }
    if (names.indexOf(name) !== index) throw new ConfigError(at, `role "${name}" is listed twice`);
  });
}

function checkUniqueHostNames(
  source: YamlSource,
  path: ConfigPath,
  hosts: readonly HostConfig[],
  parsed: readonly ParsedHost[],
): void {
  hosts.forEach((host, index) => {
    const first = hosts.findIndex((other) => other.name === host.name);
    if (first === index) return;
    const namedBy = parsed[index]?.name ? 'name' : 'host';
    throw new ConfigError(
      source.originOf([...path, 'hosts', index, namedBy]),
      `host name "${host.name}" is already used by ${hosts[first]!.at.key}: give each host its own name`,
    );
  });
}
