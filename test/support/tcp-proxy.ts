import * as net from 'node:net';

/** Which way a one-way partition drops bytes. */
export type ProxyDirection = 'to-target' | 'to-client';

export interface TcpProxyOptions {
  /**
   * Byte strings replaced, at equal length, in what the target sends back
   * (chaos: a standby's "the leader is at HOST:PORT" hint names the
   * leader's proxy, so a client never bypasses its proxies).
   */
  rewrite?: Array<[Buffer, Buffer]>;
  /** Where to listen; default 127.0.0.1 on a free port. */
  listenHost?: string;
  listenPort?: number;
}

/**
 * A TCP fault proxy between two parts on loopback: forward, cut every live
 * connection, black-hole (accept and hold, forward nothing) both ways or one
 * way, or add delay.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private mode: 'forward' | 'blackhole' | 'refuse' = 'forward';
  private dropping: ProxyDirection | undefined;
  private delayMs = 0;
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number, private readonly options: TcpProxyOptions = {}) {
    for (const [from, to] of options.rewrite ?? []) {
      if (from.length !== to.length) throw new Error('TcpProxy rewrite: both byte strings must have the same length');
    }
  }

  get address(): string {
    return `${this.options.listenHost ?? '127.0.0.1'}:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((r) => this.server!.listen(this.options.listenPort ?? 0, this.options.listenHost ?? '127.0.0.1', () => r()));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }

  /** Destroys every live connection; new ones are still accepted. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** New and existing connections go silent (packets dropped), like a partition. */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const s of this.sockets) s.pause();
  }

  /** Connections are refused at once (cut + close on accept). */
  refuse(): void {
    this.mode = 'refuse';
    this.cutAll();
  }

  /** Bytes going one way are dropped (connections stay up): a one-way partition. */
  dropOneWay(direction: ProxyDirection): void {
    this.dropping = direction;
  }

  heal(): void {
    this.mode = 'forward';
    this.dropping = undefined;
    this.cutAll();
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private accept(client: net.Socket): void {
    if (this.mode === 'refuse') return void client.destroy();
    this.sockets.add(client);
    if (this.mode === 'blackhole') return void client.pause();
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.sockets.add(upstream);
    const pipe = (from: net.Socket, to: net.Socket, direction: ProxyDirection) =>
      from.on('data', (d: Buffer) => {
        if (this.mode === 'blackhole' || this.dropping === direction) return;
        if (direction === 'to-client') d = this.rewritten(d);
        if (this.delayMs > 0) setTimeout(() => to.write(d), this.delayMs);
        else to.write(d);
      });
    pipe(client, upstream, 'to-target');
    pipe(upstream, client, 'to-client');
    const close = () => { client.destroy(); upstream.destroy(); this.sockets.delete(client); this.sockets.delete(upstream); };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  private rewritten(d: Buffer): Buffer {
    for (const [from, to] of this.options.rewrite ?? []) {
      for (let i = d.indexOf(from); i >= 0; i = d.indexOf(from, i + to.length)) to.copy(d, i);
    }
    return d;
  }
}
