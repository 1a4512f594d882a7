import { connect, createServer, isIPv4, type AddressInfo, type Server, type Socket } from 'node:net';

/** A connection the proxy accepted: `id` counts from 1; `refused` when it was reset at once. */
export type ProxiedConnection = { readonly id: number; readonly refused: boolean };
type Link = { client: Socket; upstream: Socket; frozen: boolean };

/** A TCP proxy on 127.0.0.1 in front of a loopback service, for fault injection: drop the open
 * connections (`cut`), keep them open but silent (`freeze`/`thaw`), or make the service unreachable. */
export class FaultProxy {
  readonly host = '127.0.0.1';
  private readonly links = new Set<Link>();
  private readonly hooks: Array<(connection: ProxiedConnection) => void> = [];
  private refusing = false;
  private total = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetHost: string,
    readonly targetPort: number,
  ) {
    server.on('connection', (client) => this.handle(client));
  }

  static async start(targetHost: string, targetPort: number): Promise<FaultProxy> {
    if (!isLoopback(targetHost)) throw new Error(`FaultProxy forwards to loopback only, not ${targetHost}`);
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) =>
      server.once('error', reject).listen(0, '127.0.0.1', resolve),
    );
    return new FaultProxy(server, (server.address() as AddressInfo).port, targetHost, targetPort);
  }

  /** Connections being forwarded right now. */
  get connections(): number {
    return this.links.size;
  }

  /** Every connection accepted so far, refused ones included. */
  get accepted(): number {
    return this.total;
  }

  /** Called for each accepted connection once it is registered, so `cut`/`freeze` in it apply to it. */
  onConnection(callback: (connection: ProxiedConnection) => void): void {
    this.hooks.push(callback);
  }

  /** Resets every open connection, both sides (a dropped network); new connections keep working. */
  cut(): void {
    for (const link of [...this.links]) this.drop(link);
  }

  /** The open connections stop reading and writing, both ways, but stay open; later ones work. */
  freeze(): void {
    for (const link of this.links) {
      link.frozen = true;
      link.client.pause();
      link.upstream.pause();
    }
  }

  /** Frozen connections forward again, starting with what was sent to them meanwhile. */
  thaw(): void {
    for (const link of this.links) {
      if (!link.frozen) continue;
      link.frozen = false;
      // A reset that reached a frozen connection is only passed on now, as a resumed process sees it.
      if (link.client.destroyed || link.upstream.destroyed) this.drop(link);
      else {
        if (!link.upstream.writableNeedDrain) link.client.resume();
        if (!link.client.writableNeedDrain) link.upstream.resume();
      }
    }
  }

  /** From now on new connections are accepted and reset at once; open ones are cut. */
  refuse(): void {
    this.refusing = true;
    this.cut();
  }

  accept(): void {
    this.refusing = false;
  }

  /** Stops listening and resets every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(client: Socket): void {
    const connection = { id: ++this.total, refused: this.refusing };
    client.on('error', () => {});
    if (connection.refused) reset(client);
    else {
      const upstream = connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
      const link: Link = { client, upstream, frozen: false };
      this.links.add(link);
      upstream.on('error', () => {});
      this.forward(link, client, upstream);
      this.forward(link, upstream, client);
    }
    for (const hook of this.hooks) hook(connection);
  }

  /** A clean close means both directions ended (the other side then closes by itself); a reset is
   * passed on, through a frozen connection only when it thaws. */
  private forward(link: Link, from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => void (to.write(chunk) || from.pause()));
    to.on('drain', () => void (link.frozen || from.resume()));
    from.on('end', () => to.end());
    from.on('close', (hadError) => {
      if (!hadError) this.links.delete(link);
      else if (!link.frozen) this.drop(link);
    });
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    reset(link.client);
    reset(link.upstream);
  }
}

/** Destroys a socket so that its peer sees a reset (a plain close while it is still connecting). */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || typeof socket.resetAndDestroy !== 'function') socket.destroy();
  else socket.resetAndDestroy();
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}
