import { CoherdClient } from '../../src/agent/client/coherd-client';
import { History } from '../../src/chaos/history';

export interface LockWorkloadOptions {
  clients: number;
  resources: number;
  holdMs: number;
}

/**
 * Clients that take exclusive locks on a few resources in a loop and log
 * what they held (a bounded workload: it runs until stop()).
 */
export class LockWorkload {
  readonly history = new History();
  grants = 0;
  lastGrantAtMs = 0;
  /** Highest fencing epoch seen in a grant: a new leader's first grant raises it. */
  maxEpoch = 0;
  /** When the first grant of maxEpoch arrived. */
  maxEpochFirstGrantAtMs = 0;
  errors: string[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly endpoints: () => string[], private readonly o: LockWorkloadOptions) {}

  async start(): Promise<void> {
    this.running = true;
    for (let i = 0; i < this.o.clients; i++) this.loops.push(this.loop(`w${i}`));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(name: string): Promise<void> {
    let client: CoherdClient | undefined;
    let n = 0;
    while (this.running) {
      try {
        client ??= await CoherdClient.connect({ endpoints: this.endpoints(), clientName: name, ttlMs: 8000, connectTimeoutMs: 15_000 });
        const resource = `wl-${(n++ + name.length) % this.o.resources}`;
        const g = await client.acquire({ resource, space: 'range', mode: 'EXCLUSIVE', timeoutMs: 15_000 });
        const now = performance.now();
        const h = this.history.granted(name, resource, 'EXCLUSIVE', g.range, g.fencingToken, now);
        this.grants++;
        this.lastGrantAtMs = now;
        if (g.fencingToken.epoch > this.maxEpoch) {
          this.maxEpoch = g.fencingToken.epoch;
          this.maxEpochFirstGrantAtMs = now;
        }
        await new Promise((r) => setTimeout(r, this.o.holdMs));
        this.history.released(h, performance.now());
        await client.release(g.lockId);
      } catch (e) {
        this.errors.push(`${name}: ${(e as Error).message}`);
        if (client?.isFenced()) {
          await client.close();
          client = undefined;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await client?.close();
  }
}
