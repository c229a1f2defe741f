import { InvalidArgumentError, NotFoundError, UnavailableError } from '../common/errors';
import { boundedString, modeFromWire, nonNegativeMs, rangeFromWire, spaceFromWire, MAX_OWNER_BYTES, MAX_RESOURCE_BYTES } from '../common/wire';

import { Clock } from '../common/clock';
import { LockTable } from './lock-table/lock-table';
import { Grant } from './lock-table/types';
import { lockInfoToWire, tableRequestId } from './lock-info';
import { Session } from './session';

/** What request handlers need from the coordinator. */
export interface LockRequestContext {
  /** The leader's table; throws UnavailableError('NOT_LEADER') when there is none. */
  table(): LockTable;
  clock: Clock;
  /** Throws UnavailableError when this coordinator may not grant now. */
  assertCanGrant(): void;
  /** true while the leader's recovery window waits for this session's reclaims. */
  recovering(sessionId: string): boolean;
}

type Reply = object;

/**
 * Turns validated client requests into lock-table operations and the
 * immediate reply (granted, queued, released…). Later grants and failures
 * come from table events and are routed by the coordinator.
 */
export class LockRequests {
  constructor(private readonly ctx: LockRequestContext) {}

  acquire(session: Session, requestId: number, body: Record<string, unknown>): Reply {
    const space = spaceFromWire(body.space);
    const mode = modeFromWire(body.mode);
    const range = rangeFromWire(body.range as { start?: unknown; end?: unknown }, space);
    const resource = boundedString(body.resource, 'resource', MAX_RESOURCE_BYTES, true);
    const owner = boundedString(body.owner, 'owner', MAX_OWNER_BYTES, false);
    const timeoutMs = nonNegativeMs(body.timeoutMs, 'timeout_ms');
    this.ctx.assertCanGrant();
    const result = this.ctx.table().acquire({
      requestId: tableRequestId(session.id, requestId),
      resource, space, mode, range,
      holder: { sessionId: session.id, owner },
      wait: body.wait === true,
      timeoutMs,
      noDirect: body.noDirect === true,
    });
    return this.grantOrQueued(result);
  }

  convert(session: Session, requestId: number, body: Record<string, unknown>): Reply {
    const grant = this.ownGrant(session, body.lockId);
    const mode = modeFromWire(body.mode);
    const range = rangeFromWire(body.range as { start?: unknown; end?: unknown }, grant.space);
    const timeoutMs = nonNegativeMs(body.timeoutMs, 'timeout_ms');
    this.ctx.assertCanGrant();
    const result = this.ctx.table().convert({
      requestId: tableRequestId(session.id, requestId),
      lockId: grant.lockId,
      holder: grant.holder,
      mode, range,
      wait: body.wait === true,
      timeoutMs,
    });
    if (result === 'queued') return { queued: { blockers: 1 } };
    return { converted: { lock: lockInfoToWire(result, this.ctx.clock.nowMs()) } };
  }

  release(session: Session, lockIdValue: unknown): Reply {
    const grant = this.ownGrant(session, lockIdValue);
    this.ctx.table().release(grant.lockId, grant.holder);
    return { released: { lockId: grant.lockId } };
  }

  /**
   * Early releases riding on another message: unknown ids are ignored (the
   * lock may be gone already). Never throws: without a table (this
   * coordinator stopped leading) there is nothing to release here — the
   * client resumes at the new leader and does not reclaim what it released.
   */
  releaseQuietly(session: Session, lockIds: unknown[]): void {
    let table: LockTable;
    try {
      table = this.ctx.table();
    } catch (e) {
      if (e instanceof UnavailableError) return;
      throw e;
    }
    for (const id of lockIds) {
      const grant = table.getGrant(Number(id));
      if (grant && grant.holder.sessionId === session.id) table.release(grant.lockId, grant.holder);
    }
  }

  /**
   * A revoke answer: a release, or a reduction applied at once (even while
   * the holder's own conversion of the lock waits), planned against the
   * lock version it names; STALE_VERSION when the lock changed since.
   */
  revokeAck(session: Session, body: Record<string, unknown>): Reply {
    if (body.released === true) return this.release(session, body.lockId);
    const grant = this.ownGrant(session, body.lockId);
    const mode = modeFromWire(body.mode);
    const range = rangeFromWire(body.range as { start?: unknown; end?: unknown }, grant.space);
    const result = this.ctx.table().reduce({ lockId: grant.lockId, holder: grant.holder, version: Number(body.version), mode, range });
    return { converted: { lock: lockInfoToWire(result, this.ctx.clock.nowMs()) } };
  }

  cancel(session: Session, body: Record<string, unknown>): boolean {
    const target = Number(body.targetRequestId);
    if (!Number.isSafeInteger(target) || target <= 0) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', 'target_request_id must be a positive integer');
    }
    return this.ctx.table().cancel(tableRequestId(session.id, target));
  }

  reclaim(session: Session, body: Record<string, unknown>): Reply {
    // A coordinator that lost its leadership has no recovery window any more: that is NOT_LEADER (reclaim at
    // the next leader), never a refusal, which would make the client drop grants the next leader would take.
    const table = this.ctx.table();
    if (!this.ctx.recovering(session.id)) {
      throw new InvalidArgumentError('PROTOCOL_VIOLATION', 'reclaim is only accepted during this session\'s recovery window');
    }
    const lock = (body.lock ?? {}) as Record<string, unknown>;
    const space = spaceFromWire(lock.space);
    const range = rangeFromWire(lock.range as { start?: unknown; end?: unknown }, space);
    const fencing = (lock.fencingToken ?? {}) as { epoch?: unknown; counter?: unknown };
    const grant = table.reclaim({
      lockId: Number(lock.lockId),
      requestId: `${session.id}/reclaim-${String(lock.lockId)}`,
      resource: boundedString(lock.resource, 'resource', MAX_RESOURCE_BYTES, true),
      space,
      mode: modeFromWire(lock.mode),
      range,
      holder: { sessionId: session.id, owner: boundedString(lock.owner, 'owner', MAX_OWNER_BYTES, false) },
      fencingToken: { epoch: Number(fencing.epoch ?? 0), counter: Number(fencing.counter ?? 0) },
      version: Number(lock.version) > 0 ? Number(lock.version) : 1,
    });
    return { reclaimed: { lock: lockInfoToWire(grant, this.ctx.clock.nowMs()) } };
  }

  private ownGrant(session: Session, lockIdValue: unknown): Grant {
    const lockId = Number(lockIdValue);
    const grant = Number.isSafeInteger(lockId) ? this.ctx.table().getGrant(lockId) : undefined;
    if (!grant || grant.holder.sessionId !== session.id) {
      throw new NotFoundError('LOCK_NOT_FOUND', `lock ${String(lockIdValue)} is not held by this session`, { lockId: lockIdValue });
    }
    return grant;
  }

  private grantOrQueued(result: Grant | 'queued'): Reply {
    if (result === 'queued') return { queued: { blockers: 1 } };
    return { granted: { lock: lockInfoToWire(result, this.ctx.clock.nowMs()) } };
  }
}

