import type { ConfigOrigin } from './config-error.js';
import type { SettingSource } from './schema.js';

/** A setting as written at one level of the file, and where. */
export interface PlacedSetting {
  source: SettingSource;
  at: ConfigOrigin;
}
export type PlacedSettings = ReadonlyMap<string, PlacedSetting>;

export interface RoleConfig {
  name: string;
  /** The Compose service the role deploys: its `app-service`. */
  service: PlacedSetting;
  settings: PlacedSettings;
}

export interface HostConfig {
  /** Unique in its environment: the `name`, else the `host` as written. */
  name: string;
  /** The hosts entry itself. */
  at: ConfigOrigin;
  address: PlacedSetting;
  roles: readonly string[];
  settings: PlacedSettings;
}

export interface EnvironmentConfig {
  name: string;
  maxParallel: number;
  /** The host name that runs the migrator. */
  migrateOn: string;
  hosts: readonly HostConfig[];
  settings: PlacedSettings;
}

/** A checked deploy config file; `resolveEnvironment` turns one environment into deploy targets. */
export interface DeployConfig {
  file: string;
  /** The `environments` key, for errors about an environment the file does not have. */
  environmentsAt: ConfigOrigin;
  settings: PlacedSettings;
  roles: ReadonlyMap<string, RoleConfig>;
  environments: ReadonlyMap<string, EnvironmentConfig>;
}

export interface SettingOrigin extends ConfigOrigin {
  /** The environment variable the value was read from, when it was written as `{ env: NAME }`. */
  env?: string;
}

/** One role on one host: the unit that is deployed, locked and recorded. */
export interface ConfigTarget {
  /** The host's name from the file (unique in the environment). */
  name: string;
  role: string;
  /** The SSH host address. */
  host: string;
  /** Raw input values by action input name, after precedence; includes `host` and `app-service`. */
  settings: Readonly<Record<string, string>>;
  /** Where a setting came from, for the messages of later validation. */
  origin(setting: string): SettingOrigin | undefined;
  /** Settings whose values are secrets (read from `{ env: NAME }` references). */
  secretSettings: readonly string[];
}

export interface EnvironmentPlan {
  file: string;
  environment: string;
  maxParallel: number;
  /** Host name that runs the migrator. */
  migrateOn: string;
  /** In file order: hosts, then each host's roles in its order. */
  targets: readonly ConfigTarget[];
}
