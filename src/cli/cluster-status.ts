import { AdminClient } from '../agent/client/admin-client';
import { isCoherdError } from '../common/errors';
import { TlsFiles } from '../coordinator/transport-security';
import { formatAgeMs, formatTable } from './table-format';
import { histogramQuantile, scrapeMetrics } from './metrics-scrape';

type Row = Record<string, unknown>;

export interface StatusSources {
  coordinators: string[];
  tls?: TlsFiles;
  /** etcd client URLs to ask for /health (http only). */
  etcd?: string[];
  /** --metrics-listen addresses of the coordinators, for latencies. */
  metrics?: string[];
}

export interface ClusterStatus {
  coordinators: Array<{ endpoint: string; id?: string; role: string; epoch?: number; uptimeMs?: number; error?: string }>;
  leader?: { endpoint: string; address: string; epoch: number; sessions: number; grants: number; waiters: number; recovering: boolean };
  etcd: Array<{ url: string; healthy: boolean; detail: string }>;
  contended?: Array<{ resource: string; space: string; holders: number; waiters: number; longestWaitMs: number }>;
  contendedError?: string;
  latency?: { revokeP50Ms: number; revokeP99Ms: number; revokes: number; grantP99Ms: number; keepaliveP99Ms: number };
  checkedAt: string;
}

/** Asks every coordinator, etcd member and metrics endpoint given; what does not answer is reported, not fatal. */
export async function gatherStatus(s: StatusSources): Promise<ClusterStatus> {
  const out: ClusterStatus = { coordinators: [], etcd: [], checkedAt: new Date().toISOString() };
  out.coordinators = await Promise.all(s.coordinators.map(async (endpoint) => {
    try {
      const r = await new AdminClient([endpoint], s.tls, 1500).status();
      return { endpoint, id: String(r.coordinatorId), role: String(r.role), epoch: Number(r.epoch), uptimeMs: Number(r.uptimeMs), raw: r };
    } catch (e) {
      if (isCoherdError(e) && e.reason !== 'COORDINATOR_UNAVAILABLE') throw e; // bad TLS files and the like: the user's to fix
      return { endpoint, role: 'UNREACHABLE', error: (e as Error).message };
    }
  })).then((rows) => rows.map((r) => {
    if ('raw' in r && r.raw && (r.role === 'LEADER' || r.role === 'RECOVERING') && (!out.leader || Number(r.epoch) > out.leader.epoch)) {
      const raw = r.raw as Row;
      out.leader = {
        endpoint: r.endpoint, address: String(raw.leaderAddress), epoch: Number(raw.epoch), sessions: Number(raw.sessions),
        grants: Number(raw.grants), waiters: Number(raw.waiters), recovering: r.role === 'RECOVERING',
      };
    }
    const { raw: _raw, ...rest } = r as typeof r & { raw?: unknown };
    return rest;
  }));
  out.etcd = await Promise.all((s.etcd ?? []).map(async (url) => {
    try {
      const res = await fetch(`${url.replace(/\/$/, '')}/health`, { signal: AbortSignal.timeout(1500) });
      const body = (await res.json()) as { health?: string; reason?: string };
      return { url, healthy: body.health === 'true', detail: body.health === 'true' ? 'healthy' : body.reason || 'unhealthy' };
    } catch (e) {
      return { url, healthy: false, detail: (e as Error).message };
    }
  }));
  if (out.leader) {
    try {
      const dump = await new AdminClient([out.leader.endpoint], s.tls, 3000).dumpLocks('', 100_000);
      out.contended = topContended((dump.locks as Row[]) ?? [], (dump.waiters as Row[]) ?? []);
    } catch (e) {
      out.contendedError = isCoherdError(e) && e.reason === 'PERMISSION_DENIED' ? 'needs an admin certificate' : (e as Error).message;
    }
  }
  out.latency = await leaderLatency(s.metrics ?? []);
  return out;
}

function topContended(locks: Row[], waiters: Row[], n = 5): ClusterStatus['contended'] {
  const byKey = new Map<string, { resource: string; space: string; holders: number; waiters: number; longestWaitMs: number }>();
  const entry = (r: Row) => {
    const key = `${r.resource}\u0000${r.space}`;
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { resource: String(r.resource), space: String(r.space).replace(/^SPACE_/, '').toLowerCase(), holders: 0, waiters: 0, longestWaitMs: 0 }));
    return e;
  };
  for (const w of waiters) {
    const e = entry(w);
    e.waiters++;
    e.longestWaitMs = Math.max(e.longestWaitMs, Number(w.waitedMs));
  }
  for (const l of locks) if (byKey.has(`${l.resource}\u0000${l.space}`)) entry(l).holders++;
  return [...byKey.values()].sort((a, b) => b.waiters - a.waiters || b.longestWaitMs - a.longestWaitMs).slice(0, n);
}

async function leaderLatency(addresses: string[]): Promise<ClusterStatus['latency']> {
  const scraped = await Promise.all(addresses.map((a) => scrapeMetrics(a).catch(() => undefined)));
  for (const samples of scraped) {
    if (!samples || !samples.some((x) => x.name === 'coherd_is_leader' && x.value === 1)) continue;
    const q = (name: string, p: number) => Math.round(histogramQuantile(samples, name, p) * 1000 * 10) / 10;
    return {
      revokeP50Ms: q('coherd_revoke_round_trip_seconds', 0.5),
      revokeP99Ms: q('coherd_revoke_round_trip_seconds', 0.99),
      revokes: samples.filter((x) => x.name === 'coherd_revoke_round_trip_seconds_count').reduce((a, x) => a + x.value, 0),
      grantP99Ms: q('coherd_grant_latency_seconds', 0.99),
      keepaliveP99Ms: q('coherd_etcd_keepalive_latency_seconds', 0.99),
    };
  }
  return undefined;
}

/** The cluster at a glance, for `coherd status` and `coherd top`. */
export function formatStatus(s: ClusterStatus): string {
  const parts: string[] = [];
  const l = s.leader;
  parts.push(l
    ? `leader ${l.address} (epoch ${l.epoch})${l.recovering ? ', RECOVERY WINDOW OPEN: waiting for clients to reclaim' : ''}\nsessions ${l.sessions}   grants ${l.grants}   waiters ${l.waiters}`
    : 'NO LEADER reachable');
  parts.push(formatTable(['COORDINATOR', 'ID', 'ROLE', 'EPOCH', 'UPTIME'], s.coordinators.map((c) => [
    c.endpoint, c.id ?? '-', c.role, c.epoch === undefined ? '-' : String(c.epoch), c.uptimeMs === undefined ? (c.error ?? '').slice(0, 60) : formatAgeMs(c.uptimeMs),
  ])).trimEnd());
  if (s.etcd.length) parts.push(formatTable(['ETCD', 'HEALTH'], s.etcd.map((e) => [e.url, e.healthy ? 'healthy' : `UNHEALTHY: ${e.detail}`])).trimEnd());
  if (s.latency) {
    parts.push(`revoke round trip p50 ${s.latency.revokeP50Ms} ms, p99 ${s.latency.revokeP99Ms} ms (${s.latency.revokes} revokes); grant p99 ${s.latency.grantP99Ms} ms; etcd keepalive p99 ${s.latency.keepaliveP99Ms} ms`);
  }
  if (s.contended?.length) {
    parts.push(formatTable(['CONTENDED RESOURCE', 'SPACE', 'HOLDERS', 'WAITERS', 'LONGEST WAIT'], s.contended.map((c) => [
      c.resource, c.space, String(c.holders), String(c.waiters), formatAgeMs(c.longestWaitMs),
    ])).trimEnd());
  } else if (s.contendedError) {
    parts.push(`contended resources: ${s.contendedError}`);
  } else if (l) {
    parts.push('no contended resources');
  }
  return parts.join('\n\n') + '\n';
}
