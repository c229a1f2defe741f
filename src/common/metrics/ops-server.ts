import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { Logger } from '../logger';
import { splitHostPort } from '../../coordinator/transport-security';
import { metricsText } from './metrics-text';

/** What a process exposes to operators: its metrics and whether it is alive and ready. */
export interface OpsEndpoint {
  registry: Registry;
  /** Alive: the process still works (event loop turns, not stopping). */
  live(): { ok: boolean; detail: string };
  /** Ready: worth sending traffic to (coordinator: leader, or standby that knows the leader; agent: session open and mount serving). */
  ready(): { ok: boolean; detail: string };
}

export interface OpsServer {
  address: string;
  close(): Promise<void>;
}

/** Plain HTTP on --metrics-listen: GET /metrics (Prometheus text), /healthz, /readyz (200 or 503 with a one-line reason). */
export async function serveOps(listen: string, endpoint: OpsEndpoint, logger: Logger): Promise<OpsServer> {
  const { host, port } = splitHostPort(listen);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'only GET\n');
    if (path === '/metrics') {
      metricsText(endpoint.registry).then(
        (text) => reply(res, 200, text, endpoint.registry.contentType),
        (e) => {
          logger.error('metrics collection failed', { error: (e as Error).stack });
          reply(res, 500, 'metrics collection failed\n');
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const s = path === '/healthz' ? endpoint.live() : endpoint.ready();
      return reply(res, s.ok ? 200 : 503, `${s.ok ? 'ok' : 'not ok'}: ${s.detail}\n`);
    }
    reply(res, 404, 'try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host.replace(/^\[|\]$/g, ''), () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  logger.info('metrics listening', { address: `${host}:${bound}` });
  return {
    address: `${host}:${bound}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function reply(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
