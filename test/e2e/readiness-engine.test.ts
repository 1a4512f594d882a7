import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  readReadinessSettings,
  waitUntilReady,
  type ReadinessAttempt,
} from '../../actions/engine/readiness/index.js';
import { inputsFrom } from '../../actions/engine/inputs.js';
import { collectingReporter } from '../../actions/engine/reporter.js';

// The engine module as deploy-staging and promote-prod call it (the action's bundle is covered in verify-ready.test.ts).
const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const defaults = readReadinessSettings('', inputsFrom({}, collectingReporter()));

describe('waitUntilReady', () => {
  it('opens every connection with `connect`, for the host and port of the URL as the SSH host sees them', async () => {
    const port = await serve((req, res) => res.end(JSON.stringify({ host: req.headers.host })));
    const opened: Array<[string, number]> = [];
    const attempts: ReadinessAttempt[] = [];
    const result = await waitUntilReady({
      ...defaults,
      // Not resolvable here: only `connect` knows where it is.
      url: 'http://app.internal:8080/api/ready',
      expectJson: { host: 'app.internal:8080' },
      connect: async (host, targetPort): Promise<Duplex> => {
        opened.push([host, targetPort]);
        const socket = net.connect({ host: '127.0.0.1', port });
        await new Promise((resolve) => socket.once('connect', resolve));
        return socket;
      },
      onAttempt: (attempt) => attempts.push(attempt),
    });
    expect(result).toMatchObject({ ready: true, attempts: 1, lastStatus: 200 });
    expect(opened).toEqual([['app.internal', 8080]]);
    expect(attempts).toEqual([
      expect.objectContaining({ number: 1, ok: true, status: 200, outcome: 'ready' }),
    ]);
  });

  it('reports a failing `connect` as the attempt outcome', async () => {
    const result = await waitUntilReady({
      ...defaults,
      url: 'http://127.0.0.1:8080/',
      timeoutMs: 300,
      intervalMs: 100,
      connect: () => Promise.reject(new Error('(SSH) Channel open failure: Connection refused')),
    });
    expect(result.ready).toBe(false);
    expect(result.history.map((a) => a.outcome)).toContain('connection refused (on the SSH host)');
  });

  it('stops at once when the signal aborts, even with a request in flight', async () => {
    let received = 0;
    const port = await serve(() => received++);
    const cancel = new AbortController();
    const started = performance.now();
    const waiting = waitUntilReady({
      ...defaults,
      url: `http://127.0.0.1:${port}/`,
      requestTimeoutMs: 30_000,
      signal: cancel.signal,
    });
    while (received === 0) await new Promise((resolve) => setImmediate(resolve));
    cancel.abort();
    const result = await waiting;
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(result).toMatchObject({ ready: false, cancelled: true, attempts: 0 });
    expect(result.reason).toMatch(/^cancelled after/);
  });

  it('keeps only the last attempts in the history', async () => {
    const port = await serve((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const result = await waitUntilReady({
      ...defaults,
      url: `http://127.0.0.1:${port}/`,
      timeoutMs: 2000,
      intervalMs: 10,
    });
    expect(result.attempts).toBeGreaterThan(50);
    expect(result.history).toHaveLength(50);
    expect(result.history.at(-1)?.number).toBe(result.attempts);
  });
});
