import * as os from 'node:os';
import * as path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Clock, SystemClock } from '../common/clock';
import { InvalidArgumentError } from '../common/errors';
import { Logger } from '../common/logger';
import { TlsFiles } from '../coordinator/transport-security';
import { CoherdClient } from './client/coherd-client';
import { mountAgentFs, AgentFs } from './fuse/fuse-mount';
import { createCoherencyHook, coherencyBackingOf, CoherencyHook, CoherencyOptions } from './hooks/coherency';
import { createJournalHook } from './hooks/journal';
import { createRangeLockHook } from './hooks/range-lock';
import { SegmentedJournal } from './journal/segmented-journal';
import { agentClientName } from './journal/journal-advert';
import { LocalLockServer } from './local-api/local-lock-server';
import { BackingStore } from './backing/backing-store';
import type { AgentMetrics } from '../common/metrics/agent-metrics';
import { OpsEndpoint } from '../common/metrics/ops-server';

export interface AgentOptions {
  /** Coordinator endpoints, HOST:PORT. */
  coordinators: string[];
  backingDir: string;
  mountPoint: string;
  namespace: string;
  logger: Logger;
  clock?: Clock;
  /** Session lease TTL; default 10000 ms. */
  ttlMs?: number;
  /** This agent's journal directory (segments, replica acks); default <state dir>/journal-<namespace>. */
  journalDir?: string;
  /** The journal directory as replica hosts see it, advertised with the session (default the absolute journal dir); "" advertises none. */
  journalAdvertise?: string;
  /** Journal segment size; default 64 MiB. */
  journalSegmentBytes?: number;
  /** Local lock API socket; default <state dir>/agent.sock. */
  socketPath?: string;
  /** Where the journal and socket live by default; default /run/coherd. */
  stateDir?: string;
  tls?: TlsFiles;
  coherency?: CoherencyOptions;
  /** Let other users use the mount (allow_other; default: when the agent runs as root). */
  allowOther?: boolean;
  /** Answer O_RDONLY opens through the kernel's page cache (docs/fuse.md, "The page cache"); default true. */
  kernelPageCache?: boolean;
  /** With it, O_RDWR opens too, so they can be mapped MAP_SHARED with PROT_WRITE (docs/fuse.md, "Writable shared mappings"); default false. */
  writableMappings?: boolean;
  /** Serve copy_file_range (docs/fuse.md, "copy_file_range"); false: ENOSYS, the kernel copies through READ and WRITE. Default true. */
  copyFileRange?: boolean;
  /** Keep Prometheus metrics (exposed as `ops`); default false. */
  metrics?: boolean;
}

export interface RunningAgent {
  readonly mountPoint: string;
  readonly socketPath: string;
  readonly client: CoherdClient;
  /** Metrics and health for --metrics-listen; undefined unless options.metrics. */
  readonly ops: OpsEndpoint | undefined;
  /** Flushes dirty data, unmounts, stops the local API and ends the session. */
  stop(): Promise<void>;
}

/**
 * The per-host agent (DESIGN §7): a session with the coordinator, a FUSE
 * mount whose every op runs through compose([journal, coherency,
 * rangeLock], backing), and the local lock API.
 */
export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const logger = o.logger.child({ component: 'agent', namespace: o.namespace });
  const clock = o.clock ?? new SystemClock();
  const stateDir = o.stateDir ?? '/run/coherd';
  const journalDir = path.resolve(o.journalDir ?? path.join(stateDir, `journal-${o.namespace}`));
  const advertised = o.journalAdvertise ?? journalDir;
  const clientName = agentClientName({ host: os.hostname(), namespace: o.namespace, ...(advertised ? { journal: advertised } : {}) });
  if (!clientName.fits) logger.warn('journal path too long to advertise: replicas must be given --journals', { journal: advertised });
  const client = await CoherdClient.connect({
    endpoints: o.coordinators, clientName: clientName.name,
    ttlMs: o.ttlMs, clock, logger, tls: o.tls, renewSession: true,
  });
  await mkdir(stateDir, { recursive: true });
  const sink = await SegmentedJournal.open({ dir: journalDir, namespace: o.namespace, logger, clock, segmentBytes: o.journalSegmentBytes });
  // prom-client is loaded only by agents that serve metrics.
  const metrics: AgentMetrics | undefined = o.metrics ? new (await import('../common/metrics/agent-metrics')).AgentMetrics(clock, journalDir) : undefined;
  if (metrics) {
    client.on('fenced', (reason: string) => metrics.onFenced(reason));
    client.on('session', () => metrics.sessionsStarted.inc());
  }
  const plants = plantedBugs(process.env.COHERD_TEST_PLANT);
  const coherencyOptions = { ...o.coherency, ...plants.coherency };
  let coherency: CoherencyHook | undefined;
  let fs: AgentFs;
  try {
    fs = await mountAgentFs({
      mountPoint: o.mountPoint,
      backingDir: o.backingDir,
      namespace: o.namespace,
      logger,
      locks: client,
      allowOther: o.allowOther,
      kernelCache: () => coherency?.core.kernel,
      pageCache: o.kernelPageCache !== false,
      writableMappings: o.writableMappings === true,
      cacheFence: !plants.noCacheFence,
      sizeStore: !plants.noSizeStore,
      attrReplyDelayMs: plants.slowGetattr ? SLOW_GETATTR_MS : 0,
      copyFileRange: o.copyFileRange !== false,
      // Writes that were running at the unmount land after stop()'s own flush.
      afterRequests: async () => { await coherency?.core.flushAll(); },
      hooks: (backing: BackingStore) => {
        coherency = createCoherencyHook({ client, namespace: o.namespace, clock, logger, backing: coherencyBackingOf(backing), options: coherencyOptions });
        if (metrics && coherency) metrics.observeCore(coherency.core);
        return [
          ...(metrics ? [metrics.timingHook()] : []),
          createJournalHook({ namespace: o.namespace, sink, logger }),
          coherency,
          createRangeLockHook({ isFenced: () => client.isFenced(), logger }),
        ];
      },
    });
  } catch (e) {
    await client.close();
    throw e;
  }
  const socketPath = o.socketPath ?? path.join(stateDir, 'agent.sock');
  const local = new LocalLockServer(socketPath, () => client, logger);
  await local.start();
  client.on('fenced', (reason: string) => local.sessionLost(reason));
  logger.info('agent running', { mountPoint: fs.mountPoint, backingDir: o.backingDir, session: client.sessionId, socketPath });

  let stopping: Promise<void> | undefined;
  const ops: OpsEndpoint | undefined = metrics && {
    registry: metrics.registry,
    live: () => ({ ok: stopping === undefined, detail: stopping ? 'stopping' : 'running' }),
    ready: () => {
      if (stopping) return { ok: false, detail: 'stopping' };
      if (client.isFenced()) return { ok: false, detail: 'no session (fenced); file operations wait' };
      if (!fs.mounted) return { ok: false, detail: `${fs.mountPoint} is not mounted` };
      return { ok: true, detail: `session ${client.sessionId} open, ${fs.mountPoint} mounted` };
    },
  };
  return {
    ops,
    mountPoint: fs.mountPoint,
    socketPath,
    client,
    stop: () => (stopping ??= (async () => {
      await local.stop();
      try {
        await coherency?.core.flushAll();
      } catch (e) {
        logger.error('dirty data could not be flushed at shutdown', { error: (e as Error).message });
      }
      await fs.unmount();
      await sink.close().catch((e: Error) => logger.error('journal close failed', { error: (e as Error).message }));
      await client.close();
      logger.info('agent stopped');
    })()),
  };
}

/** How long the slow-getattr test hook holds a GETATTR reply. */
const SLOW_GETATTR_MS = 400;

/**
 * Bugs an end-to-end test plants in a real agent to see its checks fail
 * ($COHERD_TEST_PLANT, comma-separated): skip-kernel-invalidation (the
 * kernel keeps what it cached after the token went), no-cache-fence (the
 * page cache runs without its fence: a paused agent's mappings keep old
 * bytes), no-size-store (a GETATTR reply a page drop made the kernel
 * discard leaves a cached read(2) at the old size: drop-marks.ts); and one
 * test hook that is no bug, slow-getattr (a GETATTR of a file with a cached
 * open waits SLOW_GETATTR_MS before its reply, so a drop lands inside it).
 * Unknown names refuse to start.
 */
function plantedBugs(list: string | undefined): { coherency: CoherencyOptions; noCacheFence: boolean; noSizeStore: boolean; slowGetattr: boolean } {
  const known = ['skip-kernel-invalidation', 'no-cache-fence', 'no-size-store', 'slow-getattr'];
  const names = (list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!known.includes(n)) throw new InvalidArgumentError('INVALID_ARGUMENT', `unknown COHERD_TEST_PLANT "${n}" (known: ${known.join(', ')})`);
  }
  return {
    coherency: names.includes('skip-kernel-invalidation') ? { plantSkipKernelInvalidation: true } : {},
    noCacheFence: names.includes('no-cache-fence'),
    noSizeStore: names.includes('no-size-store'),
    slowGetattr: names.includes('slow-getattr'),
  };
}
