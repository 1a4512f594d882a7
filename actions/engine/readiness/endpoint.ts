import { z } from 'zod';
import type { Tunnel } from '../exec/executor.js';
import { input, InputError, readInputs, sensitive, type InputSource } from '../inputs.js';
import type { ReadinessCheck } from './types.js';
import { credentialsOf, readinessUrl, redactUrl } from './url.js';

/**
 * Where readiness is asked: a URL the runner reaches itself, or a port on the SSH host reached
 * through the SSH connection (a port that need not be public).
 */
export type ReadinessEndpoint =
  | { kind: 'url'; url: string }
  | { kind: 'through-host'; scheme: 'http' | 'https'; host: string; port: number; path: string };

/** The URL asked: IPv6 hosts in brackets, as a URL needs them. */
export function endpointUrl(endpoint: ReadinessEndpoint): string {
  if (endpoint.kind === 'url') return endpoint.url;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${endpoint.scheme}://${host}:${endpoint.port}${endpoint.path}`;
}

/** For the log: the URL without credentials, and from where it is asked. */
export function describeEndpoint(endpoint: ReadinessEndpoint, sshHost?: string): string {
  const shown = redactUrl(endpointUrl(endpoint));
  return endpoint.kind === 'through-host' ? `${shown} (as seen from ${sshHost ?? 'the SSH host'})` : shown;
}

/** The part of a readiness check that says where to ask: through the tunnel for a port on the host. */
export function endpointCheck(
  endpoint: ReadinessEndpoint,
  tunnel?: Partial<Tunnel>,
): Pick<ReadinessCheck, 'url' | 'connect'> {
  const url = endpointUrl(endpoint);
  if (endpoint.kind === 'url') return { url };
  const open = tunnel?.openTunnel?.bind(tunnel);
  if (!open)
    throw new Error(
      `readiness of ${redactUrl(url)} is asked through the SSH host, but there is no SSH connection`,
    );
  return { url, connect: (host, port) => open(host, port) };
}

/** The names a readiness endpoint is given by in one action (verify-ready, deploy, promotion source). */
export interface EndpointInputNames {
  url: string;
  host: string;
  port: string;
  path: string;
  /** Only verify-ready lets the scheme of a port on the host be chosen. */
  scheme?: string;
}

export const DEPLOY_ENDPOINT_INPUTS: EndpointInputNames = {
  url: 'ready-url',
  host: 'ready-host',
  port: 'ready-port',
  path: 'ready-path',
};

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?)$/;

/** One input shape for endpoint settings, under the action's own names. */
export function endpointInputShape(names: EndpointInputNames) {
  return {
    [names.url]: sensitive(
      z.string().transform((raw, ctx) => {
        if (!raw.trim()) return undefined;
        try {
          return readinessUrl(raw, names.url);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as InputError).expected });
          return z.NEVER;
        }
      }),
      credentialsOf,
    ),
    [names.host]: input.matching(HOST, 'a hostname or IP address as seen from the SSH host', '127.0.0.1'),
    [names.port]: input.integer(0, 0, 65535),
    [names.path]: input.matching(/^\/\S*$/, 'a path starting with /, such as /api/ready', '/api/ready'),
    ...(names.scheme ? { [names.scheme]: input.oneOf(['http', 'https'], 'http') } : {}),
  };
}

/**
 * Reads an endpoint: the URL when given, else the port on the host (or `fallbackPort`), else
 * undefined. Giving both a URL and a port is an error naming both.
 */
export function readEndpoint(
  names: EndpointInputNames,
  source: InputSource,
  fallbackPort = 0,
): ReadinessEndpoint | undefined {
  const values = readInputs(endpointInputShape(names), source) as Record<string, unknown>;
  const url = values[names.url] as string | undefined;
  const port = values[names.port] as number;
  if (url && port)
    throw new InputError(names.port, `only applies without ${names.url}; put the port in ${names.url}`);
  if (url) return { kind: 'url', url };
  if (!port && !fallbackPort) return undefined;
  return {
    kind: 'through-host',
    scheme: names.scheme ? (values[names.scheme] as 'http' | 'https') : 'http',
    host: (values[names.host] as string).replace(/^\[|\]$/g, ''),
    port: port || fallbackPort,
    path: values[names.path] as string,
  };
}
