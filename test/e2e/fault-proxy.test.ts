import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import { FaultProxy, type ProxiedConnection } from '../support/fault-proxy.js';
import { sandbox } from '../support/sandbox.js';

/** Fails with `what` when `promise` has not settled within `ms` (a deadline, not a pause). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** One end of a TCP connection, recording what it receives, its error and its close. */
class Peer {
  text = '';
  error: NodeJS.ErrnoException | undefined;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.text += chunk));
    socket.on('error', (error) => (this.error = error));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(port: number): Promise<Peer> {
    const peer = new Peer(connect(port, '127.0.0.1'));
    await within(new Promise((resolve) => peer.socket.once('connect', resolve)), 5000, 'connect');
    return peer;
  }

  /** Resolves once the text received so far contains `expected`. */
  waitFor(expected: string, ms = 5000): Promise<void> {
    return within(
      new Promise<void>((resolve) => {
        const check = () => {
          if (!this.text.includes(expected)) return;
          this.socket.off('data', check);
          resolve();
        };
        this.socket.on('data', check);
        check();
      }),
      ms,
      JSON.stringify(expected),
    );
  }

  waitClosed(ms = 5000): Promise<void> {
    return within(this.closed, ms, 'close');
  }

  async roundTrip(text: string): Promise<void> {
    this.socket.write(text);
    await this.waitFor(text);
  }
}

let echo: Server;
let echoPort: number;
/** The echo server's side of each connection it accepted, in order. */
let serverSide: Peer[] = [];
let proxy: FaultProxy;
let seen: ProxiedConnection[];

beforeAll(async () => {
  echo = createServer((socket) => {
    serverSide.push(new Peer(socket));
    socket.on('data', (chunk) => socket.write(chunk));
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
  return () => new Promise<void>((resolve) => echo.close(() => resolve()));
});

beforeEach(async () => {
  serverSide = [];
  seen = [];
  proxy = await FaultProxy.start('127.0.0.1', echoPort);
  proxy.onConnection((connection) => seen.push(connection));
});

afterEach(async () => {
  await proxy.close();
});

describe('FaultProxy against a local echo server', () => {
  it('forwards both ways and counts connections', async () => {
    expect(proxy.host).toBe('127.0.0.1');
    expect(proxy.port).toBeGreaterThan(0);
    const a = await Peer.open(proxy.port);
    await a.roundTrip('hello');
    const b = await Peer.open(proxy.port);
    await b.roundTrip('world');
    expect(proxy.connections).toBe(2);
    expect(proxy.accepted).toBe(2);
    expect(seen).toEqual([
      { id: 1, refused: false },
      { id: 2, refused: false },
    ]);
    a.socket.end();
    await a.waitClosed();
    await serverSide[0]!.waitClosed();
    expect(proxy.connections).toBe(1);
    expect(proxy.accepted).toBe(2);
  });

  it('refuses a target that is not on loopback', async () => {
    await expect(FaultProxy.start('192.0.2.1', 22)).rejects.toThrow(/loopback only/);
  });

  it('cut resets every open connection on both sides; new connections work', async () => {
    const a = await Peer.open(proxy.port);
    const b = await Peer.open(proxy.port);
    await a.roundTrip('a1');
    await b.roundTrip('b1');
    proxy.cut();
    await Promise.all([a.waitClosed(), b.waitClosed(), ...serverSide.map((peer) => peer.waitClosed())]);
    expect(a.error?.code).toBe('ECONNRESET');
    expect(b.error?.code).toBe('ECONNRESET');
    expect(serverSide.map((peer) => peer.error?.code)).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(proxy.connections).toBe(0);

    const c = await Peer.open(proxy.port);
    await c.roundTrip('after the cut');
    expect(proxy.connections).toBe(1);
    expect(proxy.accepted).toBe(3);
  });

  it('freeze stops the open connections both ways without closing them; thaw resumes them', async () => {
    const a = await Peer.open(proxy.port);
    await a.roundTrip('before;');
    const aServer = serverSide[0]!;
    proxy.freeze();
    a.socket.write('client-while-frozen;');
    aServer.socket.write('server-while-frozen;');

    // A connection opened during the freeze works; its round trip, which takes longer than a
    // forward on the frozen one would, is also the barrier for the checks below.
    const b = await Peer.open(proxy.port);
    await b.roundTrip('fresh');
    await b.roundTrip('fresh again');
    expect(a.text).toBe('before;');
    expect(aServer.text).toBe('before;');
    expect(a.socket.destroyed).toBe(false);
    expect(aServer.socket.destroyed).toBe(false);
    expect(proxy.connections).toBe(2);

    proxy.thaw();
    // The server's own line arrives, and the client's is echoed.
    await a.waitFor('server-while-frozen;');
    await a.waitFor('client-while-frozen;');
    expect(aServer.text).toBe('before;client-while-frozen;');
    await a.roundTrip('after;');
    await b.roundTrip('still fine');
  });

  it('cut also drops frozen connections', async () => {
    const a = await Peer.open(proxy.port);
    await a.roundTrip('x');
    proxy.freeze();
    proxy.cut();
    await Promise.all([a.waitClosed(), serverSide[0]!.waitClosed()]);
    expect(a.error?.code).toBe('ECONNRESET');
    expect(proxy.connections).toBe(0);
  });

  it('refuse closes new connections at once and cuts open ones; accept restores', async () => {
    const a = await Peer.open(proxy.port);
    await a.roundTrip('open');
    proxy.refuse();
    await a.waitClosed();
    expect(a.error?.code).toBe('ECONNRESET');

    // Not Peer.open: the reset may reach the client before its connect completes.
    const refused = new Peer(connect(proxy.port, '127.0.0.1'));
    await refused.waitClosed();
    expect(refused.error?.code).toBe('ECONNRESET');
    expect(refused.text).toBe('');
    expect(serverSide).toHaveLength(1); // the echo server never saw it
    expect(proxy.connections).toBe(0);
    expect(proxy.accepted).toBe(2);
    expect(seen.at(-1)).toEqual({ id: 2, refused: true });

    proxy.accept();
    const c = await Peer.open(proxy.port);
    await c.roundTrip('back');
    expect(seen.at(-1)).toEqual({ id: 3, refused: false });
    expect(proxy.connections).toBe(1);
  });

  it('onConnection runs before data flows, so freezing there holds the connection from the start', async () => {
    proxy.onConnection(({ id }) => {
      if (id === 1) proxy.freeze();
    });
    const a = await Peer.open(proxy.port);
    a.socket.write('held;');
    const b = await Peer.open(proxy.port);
    await b.roundTrip('second');
    expect(a.text).toBe('');
    proxy.thaw();
    await a.waitFor('held;');
  });
});

describe('FaultProxy in front of the sandbox sshd', () => {
  let sb: ReturnType<typeof sandbox>;
  beforeAll(() => {
    sb = sandbox();
  });

  it('carries an SSH session, and cut drops it', async () => {
    await proxy.close(); // the echo server's; afterEach closes this one
    proxy = await FaultProxy.start(sb.sshHost, sb.sshPort);
    const client = new ssh2.Client();
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
    client.connect({
      host: proxy.host,
      port: proxy.port,
      username: sb.sshUser,
      privateKey: sb.sshKey,
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) =>
        `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}` ===
        sb.hostFingerprint,
    });
    await within(ready, 20_000, 'the SSH session');

    const output = await within(
      new Promise<{ code: number; stdout: string }>((resolve, reject) => {
        client.exec('echo ok', (error, channel) => {
          if (error) return reject(error);
          let stdout = '';
          channel.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
          channel.on('close', (code: number) => resolve({ code, stdout }));
        });
      }),
      10_000,
      'echo ok',
    );
    expect(output).toEqual({ code: 0, stdout: 'ok\n' });
    expect(proxy.connections).toBe(1);

    proxy.cut();
    await within(closed, 10_000, 'the SSH client to close');
    expect(errors.map((error) => (error as NodeJS.ErrnoException).code)).toEqual(['ECONNRESET']);
    expect(proxy.connections).toBe(0);
  });
});
