import * as net from 'node:net';

/**
 * A TCP fault proxy between two parts on loopback: forward, cut every live
 * connection, black-hole (accept and hold, forward nothing) or add delay.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private mode: 'forward' | 'blackhole' | 'refuse' = 'forward';
  private delayMs = 0;
  port = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
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

  heal(): void {
    this.mode = 'forward';
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
    const pipe = (from: net.Socket, to: net.Socket) =>
      from.on('data', (d) => {
        if (this.mode === 'blackhole') return;
        if (this.delayMs > 0) setTimeout(() => to.write(d), this.delayMs);
        else to.write(d);
      });
    pipe(client, upstream);
    pipe(upstream, client);
    const close = () => { client.destroy(); upstream.destroy(); this.sockets.delete(client); this.sockets.delete(upstream); };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }
}
