import { TcpProxy } from '../../../test/support/tcp-proxy';

/**
 * `node netns-forwarder-main.js HOST BASEPORT TARGET…`, run inside a
 * machine's network namespace by NetnsLink: listens on HOST:BASEPORT+i for
 * target i, rewrites hints naming a target to its local port (equal length:
 * same number of digits), prints "forwarding A,B,…" and exits when stdin closes.
 */
async function main(): Promise<void> {
  const [host, base, ...targets] = process.argv.slice(2);
  if (!host || !/^\d+$/.test(base ?? '') || targets.length === 0) {
    process.stderr.write('usage: netns-forwarder-main HOST BASEPORT TARGET...\n');
    process.exit(2);
  }
  const rewrite: Array<[Buffer, Buffer]> = targets.map((t, i) => [Buffer.from(t), Buffer.from(`${host}:${Number(base) + i}`)]);
  const proxies = targets.map((t, i) => {
    const [th, tp] = t.split(':');
    return new TcpProxy(th, Number(tp), { rewrite, listenHost: host, listenPort: Number(base) + i });
  });
  for (const p of proxies) await p.start();
  process.stdout.write(`forwarding ${proxies.map((p) => p.address).join(',')}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
  process.stdin.once('error', () => process.exit(0));
}

main().catch((e: Error) => {
  process.stderr.write(`netns forwarder: ${e.message}\n`);
  process.exit(1);
});
