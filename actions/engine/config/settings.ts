import { deploySettingsShape } from '../deploy/inputs.js';
import { readInputs } from '../inputs.js';
import { readinessInputShape } from '../readiness/index.js';
import { collectingReporter } from '../reporter.js';
import { sshInputShape } from '../ssh-inputs.js';

const actionSettingsShape = {
  ...deploySettingsShape,
  ...sshInputShape(''),
  ...readinessInputShape('ready-'),
};

/** Inputs the file sets in its own way: `host` in a hosts entry, `app-service` as a role's `service`. */
export const IMPLIED_SETTINGS: ReadonlyArray<string> = ['host', 'app-service'];

/** The deploy settings a config file may set, by their action input names. */
export const CONFIG_SETTING_NAMES: ReadonlyArray<string> = [
  // `ready-check` is listed on its own in case deploySettingsShape does not declare it (yet).
  ...new Set([...Object.keys(actionSettingsShape), 'ready-check']),
].filter((name) => !IMPLIED_SETTINGS.includes(name));

const fieldsByName = new Map(Object.entries(actionSettingsShape));

/** The parts of a setting's value that the action masks in the log when it reads it. */
export function maskedParts(setting: string, value: string): string[] {
  const field = fieldsByName.get(setting);
  if (!field || !value.trim()) return [];
  const reporter = collectingReporter();
  try {
    readInputs({ [setting]: field }, { read: () => value, reporter });
  } catch {
    // Masking happens before validation: an invalid value has been looked at all the same.
  }
  return reporter.masked;
}

const PROBE = 'deployer-config-secret-probe';

/**
 * Settings that are secrets as a whole (the `input.secret` fields): reading one masks all of its
 * text. Found by reading a probe value, so a new secret input is covered without being listed here.
 */
export const SECRET_SETTINGS: ReadonlyArray<string> = [...CONFIG_SETTING_NAMES, ...IMPLIED_SETTINGS].filter(
  (name) => maskedParts(name, PROBE).includes(PROBE),
);

/** How a setting may be written besides one value: as a YAML list, a map, or any JSON value. */
export type ValueForm = 'single' | 'lines' | 'key-values' | 'json';

const FORMS: Readonly<Record<string, ValueForm>> = {
  accessories: 'lines',
  'host-fingerprint': 'lines',
  'jump-host-fingerprint': 'lines',
  'known-hosts': 'lines',
  'jump-known-hosts': 'lines',
  'deploy-env': 'key-values',
  'ready-headers': 'key-values',
  'ready-expect-json': 'json',
};

export function valueForm(setting: string): ValueForm {
  return FORMS[setting] ?? 'single';
}
