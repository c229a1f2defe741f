import * as http from 'node:http';
import { AddressInfo } from 'node:net';

export interface StoreWrite {
  who: string;
  token: [number, number];
  accepted: boolean;
  atMs: number;
}

/**
 * A storage service that remembers the highest fencing token it has seen
 * and refuses writes carrying a smaller one (DESIGN §3.6): what makes a
 * paused lock holder harmless.
 */
export class FencingStore {
  readonly writes: StoreWrite[] = [];
  private highest: [number, number] = [0, 0];
  private server: http.Server | undefined;
  url = '';

  /** host: where to listen; loopback unless a test host in a namespace must reach it. */
  async start(host = '127.0.0.1'): Promise<void> {
    this.server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const [epoch, counter] = (u.searchParams.get('token') ?? '0.0').split('.').map(Number);
      const who = u.searchParams.get('who') ?? '?';
      const accepted = epoch > this.highest[0] || (epoch === this.highest[0] && counter >= this.highest[1]);
      if (accepted) this.highest = [epoch, counter];
      this.writes.push({ who, token: [epoch, counter], accepted, atMs: performance.now() });
      res.statusCode = accepted ? 200 : 409;
      res.end(accepted ? 'ok' : 'stale fencing token');
    });
    await new Promise<void>((r) => this.server!.listen(0, host, () => r()));
    this.url = `http://${host}:${(this.server!.address() as AddressInfo).port}/write`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A command for `coherd lock … --`: writes to the store every 100 ms with its token, and once more on SIGTERM. */
export function fencedWriterScript(storeUrl: string, who: string): string[] {
  const js = `
const url = ${JSON.stringify(storeUrl)} + '?who=${who}&token=' + process.env.COHERD_FENCING_TOKEN;
const write = () => fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => console.log('write', r.status), (e) => console.log('write failed', e.message));
setInterval(write, 100);
process.on('SIGTERM', () => write().finally(() => process.exit(143)));
`;
  return [process.execPath, '-e', js];
}
