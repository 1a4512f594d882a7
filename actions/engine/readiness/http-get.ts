import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

export type Connect = (host: string, port: number) => Promise<Duplex>;

export interface HttpGetOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  insecureTls: boolean;
  /** Opens the TCP stream (e.g. a channel over SSH); a direct connection otherwise. */
  connect?: Connect;
  signal?: AbortSignal;
  maxBodyBytes?: number;
}

export interface HttpAnswer {
  status: number;
  location?: string;
  body: string;
}

export class RequestTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

export class TlsError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
    this.name = 'TlsError';
  }
}

export class AbortedError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'AbortedError';
  }
}

const MAX_BODY_BYTES = 1024 * 1024;

type Closable = { destroy(): unknown; on(event: 'error', listener: (error: Error) => void): unknown };
const ignore = () => undefined;

/**
 * One GET over a connection this function opens and always closes. It settles within `timeoutMs`
 * whatever the server or the tunnel does: the timer destroys whatever is still open.
 */
export function httpGet(url: URL, options: HttpGetOptions): Promise<HttpAnswer> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const open = new Set<Closable>();
  let settled = false;

  return new Promise<HttpAnswer>((resolve, reject) => {
    const finish = (error: Error | undefined, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      for (const resource of open) resource.destroy();
      if (error) reject(error);
      else resolve(answer!);
    };
    const timer = setTimeout(() => finish(new RequestTimeoutError(options.timeoutMs)), options.timeoutMs);
    const onAbort = () => finish(new AbortedError());
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const track = <T extends Closable>(resource: T): T => {
      // Errors after the outcome is decided (a reset while closing) must not crash the process.
      resource.on('error', ignore);
      if (settled) resource.destroy();
      else open.add(resource);
      return resource;
    };

    openStream(host, port, options.connect, track)
      .then((raw) => (url.protocol === 'https:' ? secure(raw, host, options, track) : raw))
      .then((stream) => {
        if (settled) return;
        const request = track(
          http.request({
            method: 'GET',
            host,
            port,
            path: `${url.pathname}${url.search}`,
            headers: {
              Host: url.host,
              'User-Agent': 'deployer-verify-ready',
              Accept: '*/*',
              Connection: 'close',
              ...options.headers,
            },
            createConnection: () => stream as net.Socket,
          }),
        );
        request.on('error', (error) => finish(error));
        request.on('response', (response) => {
          const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
          const chunks: Buffer[] = [];
          let size = 0;
          const answer = (): HttpAnswer => ({
            status: response.statusCode ?? 0,
            location: response.headers.location,
            body: Buffer.concat(chunks).toString('utf8'),
          });
          response.on('data', (chunk: Buffer) => {
            if (size >= limit) return;
            chunks.push(chunk);
            size += chunk.length;
            if (size >= limit) finish(undefined, answer());
          });
          response.on('end', () => finish(undefined, answer()));
          response.on('error', (error) => finish(error));
        });
        request.end();
      })
      .catch((error: Error) => finish(error));
  });
}

async function openStream(
  host: string,
  port: number,
  connect: Connect | undefined,
  track: <T extends Closable>(resource: T) => T,
): Promise<Duplex> {
  if (connect) return track(await connect(host, port));
  const socket = track(net.connect({ host, port }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

async function secure(
  raw: Duplex,
  host: string,
  options: HttpGetOptions,
  track: <T extends Closable>(resource: T) => T,
): Promise<Duplex> {
  const hostHeader = Object.entries(options.headers).find(([name]) => name.toLowerCase() === 'host')?.[1];
  // SNI and the certificate check use the name the app is served under, when a Host header says it.
  const name = (hostHeader ?? host).replace(/:\d+$/, '');
  const socket = track(
    tls.connect({
      socket: raw,
      servername: net.isIP(name) ? undefined : name,
      host: name,
      rejectUnauthorized: !options.insecureTls,
      ALPNProtocols: ['http/1.1'],
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', (error) => reject(new TlsError(error)));
  });
  return socket;
}
