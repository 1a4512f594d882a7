import { z } from 'zod';
import { CONFIG_SETTING_NAMES, SECRET_SETTINGS, valueForm, type ValueForm } from './settings.js';

/** A setting as the file writes it: text, or the name of an environment variable to read it from. */
export type SettingSource = { kind: 'text'; text: string } | { kind: 'env'; variable: string };
export type SettingSources = Readonly<Record<string, SettingSource | undefined>>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Role, environment and host names: they name locks, records and log lines. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const SECRET_WRITTEN_IN_FILE =
  'secrets are referenced by name from the environment, never written in the file: write { env: NAME } and give the step that variable';

/** How a value is shown in a message: text quoted, structures by their kind. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'no value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return JSON.stringify(String(value));
}

const EXPECTED: Record<ValueForm, string> = {
  single: 'one value (text, a number or true/false) or { env: NAME }',
  lines: 'a value, a list of values or { env: NAME }',
  'key-values': 'a map of KEY: VALUE, a list of KEY=VALUE lines or { env: NAME }',
  json: 'JSON text, a map or a list, or { env: NAME }',
};

type Problem = { problem: string; path?: Array<string | number> };

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ env: NAME }`: a map with the one key `env` (so a deploy-env map cannot have a lone `env` key). */
function isEnvReference(value: unknown): value is { env: unknown } {
  return isMap(value) && Object.keys(value).length === 1 && 'env' in value;
}

function scalarLines(
  items: Array<[string | number, unknown]>,
  line: (key: string | number, text: string) => string,
) {
  const lines: string[] = [];
  for (const [key, item] of items) {
    if (!isScalar(item))
      return { problem: `expected text, a number or true/false, got ${describeValue(item)}`, path: [key] };
    lines.push(line(key, String(item)));
  }
  return lines.join('\n');
}

/** The text an action input would be given for a value written in the file. */
function textOf(value: unknown, form: ValueForm): string | Problem {
  if (value === null) return { problem: "has no value: leave the key out for the action's default" };
  if (isScalar(value)) return String(value);
  if (form === 'json') return JSON.stringify(value);
  if (Array.isArray(value) && form !== 'single')
    return scalarLines([...value.entries()], (_index, text) => text);
  if (isMap(value) && form === 'key-values')
    return scalarLines(Object.entries(value), (key, text) => `${key}=${text}`);
  return { problem: `expected ${EXPECTED[form]}, got ${describeValue(value)}` };
}

function envReference(reference: { env: unknown }): SettingSource | Problem {
  const variable = reference.env;
  return typeof variable === 'string' && ENV_NAME.test(variable)
    ? { kind: 'env', variable }
    : {
        problem: `expected an environment variable name (letters, digits and _, not starting with a digit), got ${describeValue(variable)}`,
        path: ['env'],
      };
}

function sourceOf(setting: string, value: unknown): SettingSource | Problem {
  if (isEnvReference(value)) return envReference(value);
  if (SECRET_SETTINGS.includes(setting)) return { problem: SECRET_WRITTEN_IN_FILE };
  const form = valueForm(setting);
  if (isMap(value) && 'env' in value && form !== 'key-values' && form !== 'json')
    return { problem: '{ env: NAME } takes no other keys' };
  const text = textOf(value, form);
  return typeof text === 'string' ? { kind: 'text', text } : text;
}

function settingValue(setting: string, missing = `missing "${setting}"`) {
  return z.unknown().transform((value, ctx): SettingSource => {
    const source = value === undefined ? { problem: missing } : sourceOf(setting, value);
    if ('problem' in source) {
      ctx.addIssue({ code: 'custom', message: source.problem, path: source.path ?? [] });
      return z.NEVER;
    }
    return source;
  });
}

const settingFields = Object.fromEntries(
  CONFIG_SETTING_NAMES.map((setting) => [setting, settingValue(setting).optional()]),
);

function withSettings<K extends string>(value: Record<string, unknown>, keys: readonly K[]) {
  const settings: Record<string, SettingSource | undefined> = {};
  const own = {} as Record<K, unknown>;
  for (const [key, item] of Object.entries(value)) {
    if ((keys as readonly string[]).includes(key)) own[key as K] = item;
    else settings[key] = item as SettingSource | undefined;
  }
  return { own, settings: settings as SettingSources };
}

function nameField(what: string, missing?: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined ? missing : `expected ${what}, got ${describeValue(issue.input)}`,
    })
    .regex(NAME, {
      error: (issue) => `expected ${what} (letters, digits, ., _ and -), got ${describeValue(issue.input)}`,
    });
}

/** The error of a map or list field: missing, or written as something else. */
function shapeError(missing: string, expected: string) {
  return (issue: { code?: string; input?: unknown }) => {
    if (issue.code !== 'invalid_type') return undefined;
    return issue.input === undefined ? missing : `expected ${expected}, got ${describeValue(issue.input)}`;
  };
}

const role = z
  .strictObject(
    {
      service: nameField(
        'a Compose service name',
        'missing "service": the Compose service this role deploys',
      ),
      ...settingFields,
    },
    { error: shapeError('missing role', 'a map with service: <Compose service> and settings') },
  )
  .transform((value) => {
    const { own, settings } = withSettings(value, ['service']);
    return { service: own.service as string, settings };
  });

const host = z
  .strictObject(
    {
      name: nameField('a host name').optional(),
      host: settingValue('host', 'missing "host": the SSH host name or IP address'),
      roles: z
        .array(nameField('a role name'), {
          error: shapeError(
            'missing "roles": the roles this host runs, such as [web]',
            'a list of role names such as [web]',
          ),
        })
        .min(1, { error: 'expected at least one role' }),
      ...settingFields,
    },
    { error: shapeError('missing host', 'a map with host, roles and settings') },
  )
  .transform((value) => {
    const { own, settings } = withSettings(value, ['name', 'host', 'roles']);
    return {
      name: own.name as string | undefined,
      host: own.host as SettingSource,
      roles: own.roles as string[],
      settings,
    };
  });

const maxParallel = z.unknown().transform((value, ctx) => {
  if (typeof value === 'string' && /^\d+$/.test(value) && Number(value) >= 1) return Number(value);
  ctx.addIssue({
    code: 'custom',
    message: `expected a whole number of at least 1, got ${describeValue(value)}`,
  });
  return z.NEVER;
});

const environment = z
  .strictObject(
    {
      hosts: z
        .array(host, {
          error: shapeError(
            'missing "hosts": the hosts of this environment',
            'a list of hosts such as - { host: 10.0.0.1, roles: [web] }',
          ),
        })
        .min(1, { error: 'expected at least one host' }),
      'max-parallel': maxParallel.optional(),
      'migrate-on': z
        .string({ error: (issue) => `expected a host name, got ${describeValue(issue.input)}` })
        .optional(),
      ...settingFields,
    },
    { error: shapeError('missing environment', 'a map with hosts and settings') },
  )
  .transform((value) => {
    const { own, settings } = withSettings(value, ['hosts', 'max-parallel', 'migrate-on']);
    return {
      hosts: own.hosts as Array<z.output<typeof host>>,
      maxParallel: (own['max-parallel'] as number | undefined) ?? 1,
      migrateOn: own['migrate-on'] as string | undefined,
      settings,
    };
  });

const nonEmpty = (value: object) => Object.keys(value).length > 0;

export const configSchema = z
  .strictObject(
    {
      roles: z.record(nameField('a role name'), role, {
        error: shapeError(
          'missing "roles": a map of role names to { service: <Compose service>, ...settings }',
          'a map of role names to { service: <Compose service>, ...settings }',
        ),
      }),
      environments: z
        .record(nameField('an environment name'), environment, {
          error: shapeError(
            'missing "environments": a map of environment names to { hosts: [...], ...settings }',
            'a map of environment names to { hosts: [...], ...settings }',
          ),
        })
        .refine(nonEmpty, { error: 'expected at least one environment' }),
      ...settingFields,
    },
    {
      error: (issue) => {
        if (issue.code !== 'invalid_type') return undefined;
        return issue.input === null || issue.input === undefined
          ? 'the file is empty: expected roles and environments'
          : `expected a map with roles, environments and settings, got ${describeValue(issue.input)}`;
      },
    },
  )
  .transform((value) => {
    const { own, settings } = withSettings(value, ['roles', 'environments']);
    return {
      roles: own.roles as Record<string, z.output<typeof role>>,
      environments: own.environments as Record<string, z.output<typeof environment>>,
      settings,
    };
  });

export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedEnvironment = ParsedConfig['environments'][string];
export type ParsedHost = ParsedEnvironment['hosts'][number];

const OWN_KEYS: Array<{ at: (path: ReadonlyArray<string | number>) => boolean; keys: string[] }> = [
  { at: (path) => path.length === 0, keys: ['roles', 'environments'] },
  { at: (path) => path.length === 2 && path[0] === 'roles', keys: ['service'] },
  {
    at: (path) => path.length === 2 && path[0] === 'environments',
    keys: ['hosts', 'max-parallel', 'migrate-on'],
  },
  { at: (path) => path.length === 4 && path[0] === 'environments', keys: ['name', 'host', 'roles'] },
];

/** The keys the map at `path` may hold, for did-you-mean suggestions. */
export function allowedKeysAt(path: ReadonlyArray<string | number>): string[] {
  return [...(OWN_KEYS.find((level) => level.at(path))?.keys ?? []), ...CONFIG_SETTING_NAMES];
}
