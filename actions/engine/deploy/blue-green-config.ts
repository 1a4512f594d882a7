// What blue-green needs from the app service: two of its containers must be able to run at once.

/** The parts of a service, as `compose config --format json` resolves it, that blue-green reads. */
export interface ServiceConfig {
  restart?: string;
  container_name?: string;
  network_mode?: string;
  ports?: Array<{ published?: string | number; target?: number } | string>;
}

/** Why two containers of this service cannot run side by side, or undefined. `where` names the file. */
export function blueGreenServiceProblem(
  service: ServiceConfig | undefined,
  name: string,
  where = 'the compose file',
): string | undefined {
  if (!service) return `${where} has no service ${JSON.stringify(name)}`;
  const fix = 'two containers of it run side by side during a blue-green deploy';
  if (service.container_name !== undefined)
    return `service ${JSON.stringify(name)} in ${where} sets container_name (${JSON.stringify(service.container_name)}): remove it, ${fix}`;
  if (service.network_mode === 'host')
    return `service ${JSON.stringify(name)} in ${where} sets network_mode: host: remove it, ${fix} and each needs its own port`;
  const fixed = (service.ports ?? []).map(fixedHostPort).find((port) => port !== undefined);
  if (fixed !== undefined)
    return `service ${JSON.stringify(name)} in ${where} publishes a fixed host port in ports (${JSON.stringify(fixed)}): remove ports, ${fix}; the proxy owns the public address and deployer publishes each container on a free loopback port`;
  return undefined;
}

/** The host side of a ports entry when it fixes one (`8080:80`, `127.0.0.1:8080:80`, `published: 8080`). */
function fixedHostPort(entry: NonNullable<ServiceConfig['ports']>[number]): string | undefined {
  if (typeof entry === 'object' && entry !== null) {
    const published = entry.published;
    return published === undefined || published === '' || published === 0 ? undefined : String(published);
  }
  // [ip:]host:container, where a part may be a ${VARIABLE:-default} or an [IPv6] address.
  const parts = splitOutside(String(entry).replace(/\/(tcp|udp|sctp)$/, ''), ':');
  if (parts.length < 2) return undefined;
  const hostPart = parts.length >= 3 ? parts[parts.length - 2]! : parts[0]!;
  return hostPart === '' ? undefined : hostPart;
}

/** Splits on `separator` outside ${…} and […]. */
function splitOutside(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '{' || char === '[') depth += 1;
    if ((char === '}' || char === ']') && depth > 0) depth -= 1;
    if (char === separator && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** One service out of `compose config --format json`. */
export function parseServiceConfig(json: string, name: string): ServiceConfig | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`\`compose config\` did not print JSON: ${json.slice(0, 200)}`);
  }
  const services = (parsed as { services?: Record<string, ServiceConfig> }).services;
  return services?.[name];
}

/** The image's one EXPOSEd TCP port (`docker image inspect` of `.Config.ExposedPorts`). */
export function singleExposedPort(json: string, image: string): number {
  let exposed: Record<string, unknown> | null = null;
  try {
    exposed = JSON.parse(json.trim() || 'null') as Record<string, unknown> | null;
  } catch {
    // reported below as no port
  }
  const ports = Object.keys(exposed ?? {})
    .filter((key) => key.endsWith('/tcp'))
    .map((key) => Number(key.split('/')[0]));
  if (ports.length === 1) return ports[0]!;
  throw new Error(
    ports.length === 0
      ? `app-port is not set and ${image} EXPOSEs no TCP port: set app-port to the port the app listens on in its container`
      : `app-port is not set and ${image} EXPOSEs several ports (${ports.join(', ')}): set app-port to the one that serves HTTP`,
  );
}
