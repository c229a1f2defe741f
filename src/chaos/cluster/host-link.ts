import { TcpProxy } from '../../../test/support/tcp-proxy';

/**
 * One host's way to the coordinators: a fault proxy per coordinator. A
 * standby's hint naming the leader's real address is rewritten to this
 * host's proxy for it, so partitions cannot be bypassed.
 */
export class HostLink {
  readonly proxies: TcpProxy[] = [];
  private readonly rewrite: Array<[Buffer, Buffer]> = [];

  constructor(readonly name: string) {}

  async start(coordinatorAddresses: readonly string[]): Promise<void> {
    for (const address of coordinatorAddresses) {
      const [host, port] = address.split(':');
      const proxy = new TcpProxy(host, Number(port), { rewrite: this.rewrite });
      await proxy.start();
      this.proxies.push(proxy);
    }
    coordinatorAddresses.forEach((address, i) => {
      const from = Buffer.from(address);
      const to = Buffer.from(this.proxies[i].address);
      if (from.length !== to.length) throw new Error(`chaos: proxy address ${this.proxies[i].address} and coordinator address ${address} differ in length; cannot rewrite leader hints`);
      this.rewrite.push([from, to]);
    });
  }

  /** What this host's clients dial. */
  get endpoints(): string[] {
    return this.proxies.map((p) => p.address);
  }

  blackhole(): void {
    for (const p of this.proxies) p.blackhole();
  }

  dropOneWay(direction: 'to-target' | 'to-client'): void {
    for (const p of this.proxies) p.dropOneWay(direction);
  }

  heal(): void {
    for (const p of this.proxies) p.heal();
  }

  async stop(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.stop()));
  }
}
