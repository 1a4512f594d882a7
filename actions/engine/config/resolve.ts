import { ConfigError } from './config-error.js';
import { didYouMean } from './did-you-mean.js';
import type {
  ConfigTarget,
  DeployConfig,
  EnvironmentConfig,
  EnvironmentPlan,
  HostConfig,
  PlacedSetting,
  RoleConfig,
  SettingOrigin,
} from './model.js';
import { SECRET_SETTINGS } from './settings.js';

type EnvLookup = (name: string) => string | undefined;

/**
 * The deploy targets of one environment, each with its settings after precedence
 * (top < environment < role < host) and its `{ env: NAME }` references read.
 */
export function resolveEnvironment(
  config: DeployConfig,
  environment: string,
  env: EnvLookup,
): EnvironmentPlan {
  const chosen = config.environments.get(environment);
  if (!chosen) throw unknownEnvironment(config, environment);
  const placed = chosen.hosts.flatMap((host) =>
    host.roles.map((role) => ({
      host,
      target: resolveTarget(config, chosen, host, config.roles.get(role)!, env),
    })),
  );
  checkOwnDeployPaths(placed);
  return {
    file: config.file,
    environment,
    maxParallel: chosen.maxParallel,
    migrateOn: chosen.migrateOn,
    targets: placed.map(({ target }) => target),
  };
}

function unknownEnvironment(config: DeployConfig, environment: string): ConfigError {
  const names = [...config.environments.keys()];
  return new ConfigError(
    config.environmentsAt,
    `no environment "${environment}"${didYouMean(environment, names)}; the file has: ${names.join(', ')}`,
  );
}

function resolveTarget(
  config: DeployConfig,
  environment: EnvironmentConfig,
  host: HostConfig,
  role: RoleConfig,
  env: EnvLookup,
): ConfigTarget {
  const chosen = new Map<string, PlacedSetting>();
  for (const layer of [config.settings, environment.settings, role.settings, host.settings])
    for (const [name, setting] of layer) chosen.set(name, setting);
  chosen.set('host', host.address);
  chosen.set('app-service', role.service);

  const settings: Record<string, string> = {};
  const origins = new Map<string, SettingOrigin>();
  for (const [name, setting] of chosen) {
    settings[name] = valueOf(setting, env);
    origins.set(name, originOf(setting));
  }
  return {
    name: host.name,
    role: role.name,
    host: settings.host!,
    settings,
    origin: (setting) => origins.get(setting),
    secretSettings: [...chosen.keys()].filter((name) => SECRET_SETTINGS.includes(name)),
  };
}

function valueOf({ source, at }: PlacedSetting, env: EnvLookup): string {
  if (source.kind === 'text') return source.text;
  const value = env(source.variable);
  if (!value?.trim())
    throw new ConfigError(at, `environment variable ${source.variable} is not set or is empty`);
  return value;
}

function originOf({ source, at }: PlacedSetting): SettingOrigin {
  return source.kind === 'env' ? { ...at, env: source.variable } : at;
}

/** Two roles deployed to one folder of one machine would share its lock, history and releases. */
function checkOwnDeployPaths(placed: ReadonlyArray<{ host: HostConfig; target: ConfigTarget }>): void {
  const seen = new Map<string, { host: HostConfig; target: ConfigTarget }>();
  for (const current of placed) {
    const { settings } = current.target;
    const deployPath = (settings['deploy-path'] ?? '').trim().replace(/\/+$/, '');
    const key = [settings.host, settings.port ?? '', deployPath].join('\n');
    const earlier = seen.get(key);
    if (earlier) throw sharedDeployPath(earlier, current, deployPath);
    seen.set(key, current);
  }
}

function sharedDeployPath(
  earlier: { host: HostConfig; target: ConfigTarget },
  current: { host: HostConfig; target: ConfigTarget },
  deployPath: string,
): ConfigError {
  const roles =
    earlier.host === current.host
      ? `roles ${earlier.target.role} and ${current.target.role}`
      : `${earlier.target.role} on ${earlier.host.name} and ${current.target.role} on ${current.host.name} (both ${current.target.host})`;
  const where = deployPath
    ? `deploy-path ${deployPath}`
    : 'deploy-path (none in the file: both use the action input)';
  return new ConfigError(
    current.host.at,
    `${roles} resolve to the same ${where}: they would share one lock and history; give one of them its own deploy-path`,
  );
}
