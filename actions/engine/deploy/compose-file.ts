import { parseDocument } from 'yaml';
import { InputError } from '../inputs.js';

export interface ComposeServiceNames {
  app: string;
  /** Only when migrations run. */
  migrator?: string;
  accessories: string[];
}

/**
 * Reads the user's compose file before anything changes on the host: it must be YAML with a
 * `services` map holding every service the inputs name, and the app and migrator must take their
 * image from deploy.env (APP_IMAGE, MIGRATOR_IMAGE), or the deploy would run some other image. Returns the `services` map.
 */
export function checkComposeFile(
  text: string,
  path: string,
  names: ComposeServiceNames,
): Record<string, unknown> {
  const document = parseDocument(text, { prettyErrors: false });
  if (document.errors.length > 0)
    throw new InputError('compose-file', `${path} is not valid YAML: ${document.errors[0]!.message}`);
  const root: unknown = document.toJS({ maxAliasCount: 100 });
  const services = isMap(root) && isMap(root.services) ? root.services : undefined;
  if (!services) throw new InputError('compose-file', `${path} has no services: map`);
  const known = Object.keys(services);
  const missing = (name: string) =>
    `${JSON.stringify(name)} is not a service in ${path} (it has ${known.map((n) => JSON.stringify(n)).join(', ') || 'none'})`;
  if (!(names.app in services)) throw new InputError('app-service', missing(names.app));
  if (names.migrator !== undefined && !(names.migrator in services))
    throw new InputError(
      'migrator-service',
      `${missing(names.migrator)}; set run-migrations: false to deploy without one`,
    );
  for (const accessory of names.accessories)
    if (!(accessory in services)) throw new InputError('accessories', missing(accessory));
  requireImageVariable(services[names.app], names.app, 'APP_IMAGE', path);
  if (names.migrator !== undefined)
    requireImageVariable(services[names.migrator], names.migrator, 'MIGRATOR_IMAGE', path);
  return services;
}

function requireImageVariable(service: unknown, name: string, variable: string, path: string): void {
  const image = isMap(service) ? service.image : undefined;
  if (typeof image === 'string' && new RegExp(`\\$\\{?${variable}\\b`).test(image)) return;
  throw new InputError(
    'compose-file',
    `service ${JSON.stringify(name)} in ${path} must take its image from deploy.env: image: \${${variable}:?${variable} must be set}` +
      (typeof image === 'string' ? `, not ${JSON.stringify(image)}` : ''),
  );
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
