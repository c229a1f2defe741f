import * as grpc from '@grpc/grpc-js';
import { Clock } from '../common/clock';
import { Logger } from '../common/logger';
import { toWireError } from '../common/grpc-status-table';
import { boundedString, rangeToWire, spaceToWire } from '../common/wire';
import { LockTable } from './lock-table/lock-table';
import { lockInfoToWire } from './lock-info';
import { SessionRegistry } from './session-registry';

export interface AdminContext {
  table(): LockTable | undefined;
  /** Throws UnavailableError('NOT_LEADER') on a standby, so admin clients move on to the leader. */
  requireLeader(): void;
  registry: SessionRegistry;
  clock: Clock;
  logger: Logger;
  coordinatorId: string;
  startedAtMs: number;
  status(): { role: string; leaderAddress: string; epoch: number };
  /** Throws PermissionDeniedError unless the caller has an admin identity. */
  authorizeAdmin(call: grpc.ServerUnaryCall<unknown, unknown>): void;
}

const VERSION = '0.1.0';
const DEFAULT_DUMP_LIMIT = 10_000;

type Handler = (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, cb: grpc.sendUnaryData<object>) => void;

/** Admin RPCs: Status, ListSessions, DumpLocks, Evict (adapters only; logic lives elsewhere). */
export function adminHandlers(ctx: AdminContext): Record<string, Handler> {
  const wrap = (needsAdmin: boolean, fn: (req: Record<string, unknown>) => Promise<object> | object): Handler =>
    (call, cb) => {
      Promise.resolve()
        .then(() => { if (needsAdmin) ctx.authorizeAdmin(call); return fn(call.request ?? {}); })
        .then((res) => cb(null, res))
        .catch((e) => {
          const w = toWireError(e);
          if (w.reason === 'INTERNAL') ctx.logger.error('admin call failed', { error: (e as Error).stack });
          cb({ code: w.code, details: `${w.reason}: ${w.message}` });
        });
    };

  return {
    Status: wrap(false, () => {
      const s = ctx.status();
      const stats = ctx.table()?.stats() ?? { grants: 0, waiters: 0, resources: 0 };
      return {
        coordinatorId: ctx.coordinatorId, role: s.role, leaderAddress: s.leaderAddress, epoch: s.epoch,
        sessions: ctx.registry.size, grants: stats.grants, waiters: stats.waiters,
        uptimeMs: Math.round(ctx.clock.nowMs() - ctx.startedAtMs), version: VERSION,
      };
    }),
    ListSessions: wrap(true, () => {
      ctx.requireLeader();
      const table = ctx.table();
      const now = ctx.clock.nowMs();
      const sessions = [...ctx.registry.all()].sort((a, b) => a.id.localeCompare(b.id)).map((s) => ({
        sessionId: s.id, clientName: s.clientName, peer: s.peer, ttlMs: s.ttlMs,
        sinceHeartbeatMs: Math.round(now - s.lastConfirmedMs),
        grants: table?.grantsOf(s.id).length ?? 0,
        waiters: 0,
        connected: s.connected,
        leaseId: BigInt(s.leaseId).toString(16),
      }));
      return { sessions };
    }),
    DumpLocks: wrap(true, (req) => {
      ctx.requireLeader();
      const prefix = boundedString(req.resourcePrefix, 'resource_prefix', 1024, false);
      const limit = Number(req.limit) > 0 ? Math.min(Number(req.limit), 100_000) : DEFAULT_DUMP_LIMIT;
      const dump = ctx.table()?.dump({ resourcePrefix: prefix }) ?? { grants: [], waiters: [] };
      const now = ctx.clock.nowMs();
      return {
        locks: dump.grants.slice(0, limit).map((g) => lockInfoToWire(g, now)),
        waiters: dump.waiters.slice(0, limit).map((w) => ({
          resource: w.resource, space: spaceToWire(w.space), mode: w.mode, range: rangeToWire(w.range),
          sessionId: w.holder.sessionId, owner: w.holder.owner, waitedMs: Math.round(now - w.queuedAtMs),
        })),
        truncated: dump.grants.length > limit || dump.waiters.length > limit,
        direct: (ctx.table()?.directResources() ?? []).filter((d) => d.resource.startsWith(prefix)).slice(0, limit).map((d) => ({
          resource: d.resource, reason: d.reason, ageMs: Math.round(now - d.enteredAtMs), sharedMsAgo: Math.round(now - d.lastSharedMs),
        })),
      };
    }),
    Evict: wrap(true, async (req) => {
      ctx.requireLeader();
      const id = boundedString(req.sessionId, 'session_id', 64, true);
      const freed = ctx.table()?.grantsOf(id).length ?? 0;
      await ctx.registry.evict(id);
      ctx.logger.warn('session evicted by admin', { session: id, freedGrants: freed });
      return { freedGrants: freed };
    }),
  };
}
