import type { Clock, TimerHandle } from '../../common/clock';
import type { Entry, Waiter } from './entries';
import type { HoldPolicy } from './hold-policy';
import type { ResourceState } from './resource-state';
import { LockTableEvent } from './types';

/** Revoke progress of one token; exists only while the token blocks a waiter. */
export interface RevokeState {
  /** Sends so far (the next revoke event carries attempt + 1). */
  attempt: number;
  firstSentMs: number;
  nextResendMs: number;
  overdueSent: boolean;
  timer: TimerHandle | null;
}

export interface RevokerOptions {
  clock: Clock;
  holdPolicy: HoldPolicy;
  revokeDeadlineMs: number;
  revokeResendMs: number;
  /** Caps the resend interval. */
  maxResendMs: number;
  emit(event: LockTableEvent): void;
  /** Sets a clock timer whose callback runs as a table operation (events flushed after). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/**
 * How long a token is held before its first revoke (docs/direct-mode.md,
 * "Minimum hold time"). The resource's adaptive hold protects a fresh
 * holder's first use of a token, except for these pairs:
 * - a DIRECT waiter and a caching token: no hold. The resource leaves
 *   caching for good, the holder keeps its access through DIRECT, so
 *   nothing it was granted goes unused;
 * - unless that token was granted noDirect: the shortest hold. Its holder's
 *   kernel caches the file and will ask for it again; with no hold each of
 *   the other host's writes took it away after one read(2), and a reader
 *   reading to EOF never got there while the writer appended (bench P9 with
 *   the page cache, a poll of 2.4 s). The shortest, not the adaptive one
 *   (which doubles under such turns, to 200 ms): cached reads need no round
 *   trip, so a few ms read to EOF, and the writer waits no longer;
 * - a noDirect waiter and a DIRECT token: no hold. Nothing is cached under
 *   a DIRECT token, its holder just asks again, while the waiter's read(2)
 *   waits.
 */
export function holdBeforeRevokeMs(e: Entry, waiter: Waiter | undefined, policy: HoldPolicy): number {
  if (waiter?.mode === 'DIRECT') return e.noDirect ? policy.minHoldMs : 0;
  if (waiter?.noDirect === true && e.mode === 'DIRECT') return 0;
  return policy.holdMs(e.state);
}

/**
 * Revocation of tokens that block waiters (DESIGN §3.3–3.4). A token gets
 * its first `revoke` no earlier than grantedAtMs + the resource's hold
 * time (holdBeforeRevokeMs), then resends at revokeResendMs, doubling up to maxResendMs, and a
 * single `revokeOverdue` once revokeDeadlineMs passed since the first send.
 * Each revoke names the range and mode of the earliest waiter the token
 * blocks at that moment. Everything stops as soon as the token blocks no
 * waiter. Only tokens being revoked have a timer (one each).
 */
export class Revoker {
  constructor(private readonly o: RevokerOptions) {}

  /** Starts revoking e unless that is already under way. */
  ensure(e: Entry): void {
    if (e.revoke !== null) return;
    const rs: RevokeState = { attempt: 0, firstSentMs: 0, nextResendMs: 0, overdueSent: false, timer: null };
    e.revoke = rs;
    const state = e.state;
    if (state.revoking === null) state.revoking = new Set();
    state.revoking.add(e);
    const dueMs = e.grantedAtMs + holdBeforeRevokeMs(e, state.firstBlockedBy(e), this.o.holdPolicy);
    const nowMs = this.o.clock.nowMs();
    if (dueMs <= nowMs) this.step(e);
    else rs.timer = this.o.setTimer(dueMs - nowMs, () => this.onTimer(e, rs));
  }

  /** Sends the revoke again now (a stale answer came back), if e is still being revoked and was asked already. */
  resendNow(e: Entry): void {
    const rs = e.revoke;
    if (rs === null || rs.attempt === 0) return;
    rs.timer?.cancel();
    rs.timer = null;
    rs.nextResendMs = this.o.clock.nowMs();
    this.step(e);
  }

  /** Stops revoking e (released, or blocks no one any more). */
  stop(e: Entry): void {
    const rs = e.revoke;
    if (rs === null) return;
    rs.timer?.cancel();
    e.revoke = null;
    const set = e.state.revoking;
    if (set !== null) {
      set.delete(e);
      if (set.size === 0) e.state.revoking = null;
    }
  }

  /** After waiters left or tokens shrank: stop revoking tokens that block no one now. */
  reevaluate(state: ResourceState): void {
    if (state.revoking === null) return;
    for (const e of state.revoking) {
      if (state.conflictingWaiter(e.mode, e.holder, e.start, e.end) === undefined) this.stop(e);
    }
  }

  private onTimer(e: Entry, rs: RevokeState): void {
    if (e.revoke !== rs) return;
    rs.timer = null;
    this.step(e);
  }

  private step(e: Entry): void {
    const rs = e.revoke as RevokeState;
    const blocked = e.state.firstBlockedBy(e);
    if (blocked === undefined) {
      this.stop(e);
      return;
    }
    const nowMs = this.o.clock.nowMs();
    if (rs.attempt === 0 || nowMs >= rs.nextResendMs) {
      rs.attempt++;
      if (rs.attempt === 1) {
        rs.firstSentMs = nowMs;
        this.o.holdPolicy.recordRevoke(e.state, nowMs, nowMs - e.grantedAtMs, e.holder.sessionId, blocked.holder.sessionId);
      }
      const backoff = Math.min(this.o.maxResendMs, this.o.revokeResendMs * 2 ** (rs.attempt - 1));
      rs.nextResendMs = nowMs + backoff;
      this.o.emit({
        kind: 'revoke', lockId: e.lockId, version: e.version, holder: e.holder.toHolder(), resource: e.state.resource, space: e.state.space,
        range: { start: blocked.start, end: blocked.end }, wantedMode: blocked.mode, attempt: rs.attempt,
      });
    }
    const overdueMs = rs.firstSentMs + this.o.revokeDeadlineMs;
    if (!rs.overdueSent && nowMs >= overdueMs) {
      rs.overdueSent = true;
      this.o.emit({ kind: 'revokeOverdue', lockId: e.lockId, holder: e.holder.toHolder(), resource: e.state.resource });
    }
    const nextMs = rs.overdueSent ? rs.nextResendMs : Math.min(rs.nextResendMs, overdueMs);
    rs.timer = this.o.setTimer(nextMs - nowMs, () => this.onTimer(e, rs));
  }
}
