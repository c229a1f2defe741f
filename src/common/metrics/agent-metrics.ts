import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Clock } from '../clock';
import { isCoherdError } from '../errors';
import type { Hook } from '../../agent/vop';
import type { CoherencyCore } from '../../agent/coherency/coherency-core';
import { processRegistry } from './process-metrics';

const OP_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The agent's Prometheus metrics. Labels are bounded: the vop name (a
 * fixed list), ok/error, hit/miss, fencing reason (a fixed list); never a
 * path, inode or session.
 */
export class AgentMetrics {
  readonly registry: Registry;
  readonly opLatency: Histogram<'op' | 'result'>;
  readonly tokenLookups: Counter<'result'>;
  readonly pageLookups: Counter<'result'>;
  readonly flushLatency: Histogram<'result'>;
  readonly flushedBytes: Counter;
  readonly fencings: Counter<'reason'>;
  readonly sessionsStarted: Counter;
  private core: CoherencyCore | undefined;

  constructor(private readonly clock: Clock, private readonly journalDir: string, registry = processRegistry('agent')) {
    this.registry = registry;
    const r = [registry];
    this.opLatency = new Histogram({ name: 'coherd_agent_vop_duration_seconds', help: 'File operations (FUSE vops) through the hook chain, by op and outcome', labelNames: ['op', 'result'], buckets: OP_BUCKETS, registers: r });
    this.tokenLookups = new Counter({ name: 'coherd_agent_token_cache_lookups_total', help: 'Token cache lookups; a miss asks the coordinator (acquire or convert)', labelNames: ['result'], registers: r });
    this.pageLookups = new Counter({ name: 'coherd_agent_page_cache_lookups_total', help: 'Small reads served entirely from cached pages (hit) or read through from the backing store (miss); large reads bypass the page cache', labelNames: ['result'], registers: r });
    this.flushLatency = new Histogram({ name: 'coherd_agent_flush_duration_seconds', help: 'One write-back pwrite of dirty pages to the backing store', labelNames: ['result'], buckets: OP_BUCKETS, registers: r });
    this.flushedBytes = new Counter({ name: 'coherd_agent_flushed_bytes_total', help: 'Dirty bytes written back to the backing store', registers: r });
    this.fencings = new Counter({ name: 'coherd_agent_self_fencing_total', help: 'Times the agent fenced itself (session lost or lease deadline passed)', labelNames: ['reason'], registers: r });
    this.sessionsStarted = new Counter({ name: 'coherd_agent_sessions_started_total', help: 'New sessions after the first (a lost one replaced)', registers: r });
    const core = () => this.core;
    gauge(r, 'coherd_agent_held_tokens', 'Tokens this agent holds (in use or idle)', () => core()?.tokens.size ?? 0);
    gauge(r, 'coherd_agent_idle_tokens', 'Held tokens no file operation uses now', () => core()?.tokens.idleCount ?? 0);
    gauge(r, 'coherd_agent_direct_tokens', 'DIRECT tokens held: files in direct mode (docs/direct-mode.md)', () => core()?.tokens.directCount() ?? 0);
    new Counter({
      name: 'coherd_agent_direct_ops_total', help: 'File operations done straight against the backing store under DIRECT tokens, by op', labelNames: ['op'], registers: r,
      collect() {
        const counts = core()?.direct.counts;
        if (!counts) return;
        this.reset();
        for (const [op, n] of Object.entries(counts)) this.inc({ op }, n);
      },
    });
    gauge(r, 'coherd_agent_page_cache_bytes', 'Page cache memory (clean and dirty)', () => core()?.pages.bytes ?? 0);
    gauge(r, 'coherd_agent_dirty_bytes', 'Dirty bytes not yet written back', () => core()?.pages.dirtyBytes ?? 0);
    const dir = this.journalDir;
    new Gauge({
      name: 'coherd_agent_journal_bytes', help: 'Bytes in the agent journal\'s segment files (what replicas have not all acknowledged yet)', registers: r,
      async collect() { this.set(await journalBytes(dir)); },
    });
  }

  /** The outermost hook: times every vop. */
  timingHook(): Hook {
    return (vop, next) => {
      const startMs = this.clock.nowMs();
      return next(vop).then(
        (res) => { this.opLatency.observe({ op: vop.op, result: 'ok' }, (this.clock.nowMs() - startMs) / 1000); return res; },
        (e) => { this.opLatency.observe({ op: vop.op, result: 'error' }, (this.clock.nowMs() - startMs) / 1000); throw e; },
      );
    };
  }

  /** Watches the coherency core's caches and flushes, without changing what they do. */
  observeCore(core: CoherencyCore): void {
    this.core = core;
    const tryUse = core.tokens.tryUse.bind(core.tokens);
    core.tokens.tryUse = (req) => {
      const use = tryUse(req);
      this.tokenLookups.inc({ result: use ? 'hit' : 'miss' });
      return use;
    };
    const readCached = core.pages.readCached.bind(core.pages);
    core.pages.readCached = (file, offset, length, allowShort) => {
      const out = readCached(file, offset, length, allowShort);
      if (out) this.pageLookups.inc({ result: 'hit' });
      return out;
    };
    // A small read that the cache could not serve goes through readThrough (large reads bypass the page cache).
    const readThrough = core.pages.readThrough.bind(core.pages);
    core.pages.readThrough = (file, offset, length, backing, policy) => {
      this.pageLookups.inc({ result: 'miss' });
      return readThrough(file, offset, length, backing, policy);
    };
    const write = core.backing.write.bind(core.backing);
    core.backing.write = async (file, offset, data) => {
      const startMs = this.clock.nowMs();
      try {
        await write(file, offset, data);
        this.flushedBytes.inc(data.length);
        this.flushLatency.observe({ result: 'ok' }, (this.clock.nowMs() - startMs) / 1000);
      } catch (e) {
        this.flushLatency.observe({ result: 'error' }, (this.clock.nowMs() - startMs) / 1000);
        throw e;
      }
    };
  }

  onFenced(reason: unknown): void {
    // Reasons are error reasons (a fixed list) or short fixed phrases; anything else is "other".
    const r = typeof reason === 'string' && /^[A-Z_]{3,40}$/.test(reason) ? reason : isCoherdError(reason) ? reason.reason : 'other';
    this.fencings.inc({ reason: r });
  }
}

function gauge(registers: Registry[], name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers, collect() { this.set(read()); } });
}

async function journalBytes(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const sizes = await Promise.all(names.filter((n) => n.endsWith('.jnl')).map((n) => stat(join(dir, n)).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}
