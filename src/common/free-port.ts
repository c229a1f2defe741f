import * as fs from 'node:fs';
import * as net from 'node:net';

/**
 * Fixed ports are drawn from below the kernel's ephemeral range: a port
 * from listen(0) or an outgoing connect() is always inside that range, so
 * a process restarted on its old port (a killed coordinator, an etcd
 * member) never finds it taken by a proxy's listener or a client socket
 * that happened to draw the same number after the probe closed.
 */
const FIXED_PORT_FLOOR = 20_000;
const PROBES = 64;
/** Never hand the same port out twice in one process, even once it is closed again. */
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral range where the machine allows it. */
export async function freePort(): Promise<number> {
  const ceiling = ephemeralRangeStart();
  if (ceiling - FIXED_PORT_FLOOR >= 1_000) {
    for (let i = 0; i < PROBES; i++) {
      const port = FIXED_PORT_FLOOR + Math.floor(Math.random() * (ceiling - FIXED_PORT_FLOOR));
      if (handedOut.has(port)) continue;
      if (await canListen(port)) return keep(port);
    }
  }
  // The ephemeral range leaves no room below it, or everything probed was taken.
  for (;;) {
    const port = await listenOnce(0);
    if (!handedOut.has(port)) return keep(port);
  }
}

function keep(port: number): number {
  handedOut.add(port);
  return port;
}

/** First port of net.ipv4.ip_local_port_range; Linux's default when it cannot be read. */
export function ephemeralRangeStart(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

async function canListen(port: number): Promise<boolean> {
  try {
    await listenOnce(port);
    return true;
  } catch {
    return false;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}
