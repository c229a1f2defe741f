import type { Clock } from '../../common/clock';
import { INLINE_SLICER, WorkSlicer } from '../../common/loop-slicer';
import { InvalidArgumentError } from '../../common/errors';
import { DIRECT_ALONE_MS } from './direct-mode';
import { LockTableEvent } from './types';

export interface LockTableOptions {
  clock: Clock;
  /** Epoch of the current leader (the etcd revision at which it won). */
  epoch: number;
  /** Receives asynchronous outcomes: later grants, failures, revokes. */
  onEvent: (event: LockTableEvent) => void;
  /** After this long without release, a revoked token's waiter is still waiting: emit revokeOverdue once. Default 5000. */
  revokeDeadlineMs?: number;
  /** First resend interval of a revoke; doubles up to 1000 ms. Default 100. */
  revokeResendMs?: number;
  /** Adaptive minimum hold before a fresh token may be revoked: lower bound. Default 10. */
  minHoldMs?: number;
  /** Adaptive minimum hold: upper bound. Default 200. */
  maxHoldMs?: number;
  /** Bound on waiting requests per session (DESIGN §10). Default 10000. */
  maxWaitersPerSession?: number;
  /** Quota on one session's waiting requests for one (resource, space): WAITER_QUOTA beyond it. Default 1000. */
  maxWaitersPerResource?: number;
  /** A resource in direct mode that no two sessions wanted for this long leaves it (docs/direct-mode.md); 0 turns direct mode off. Default 2000. */
  directAloneMs?: number;
  /**
   * Paces the freeing of a large session so the event loop never stalls
   * for long (issue 15; timers are paced by giving a PacedClock as clock).
   * Default INLINE_SLICER: everything at once, as unit tests and the model
   * expect.
   */
  slicer?: WorkSlicer;
  /**
   * Asked before a timer acts; false (the leadership deadline passed) skips
   * it: the table is about to be dropped. Default: always true.
   */
  mayAct?: () => boolean;
}

function nonNegative(name: string, value: unknown, fallback: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${name} must be a non-negative finite number`, { [name]: value });
  }
  return v;
}

/** Validates options and fills in defaults (cockatiel style: fail in the constructor, not later). */
export function checkOptions(o: LockTableOptions): Required<LockTableOptions> {
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('INVALID_ARGUMENT', 'options must be an object');
  if (typeof o.clock?.nowMs !== 'function' || typeof o.clock?.setTimer !== 'function') {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'options.clock must be a Clock');
  }
  if (typeof o.onEvent !== 'function') throw new InvalidArgumentError('INVALID_ARGUMENT', 'options.onEvent must be a function');
  if (!Number.isSafeInteger(o.epoch) || o.epoch < 0) throw new InvalidArgumentError('INVALID_ARGUMENT', 'options.epoch must be a non-negative integer', { epoch: o.epoch });
  const out: Required<LockTableOptions> = {
    clock: o.clock,
    epoch: o.epoch,
    onEvent: o.onEvent,
    revokeDeadlineMs: nonNegative('revokeDeadlineMs', o.revokeDeadlineMs, 5000),
    revokeResendMs: nonNegative('revokeResendMs', o.revokeResendMs, 100),
    minHoldMs: nonNegative('minHoldMs', o.minHoldMs, 10),
    maxHoldMs: nonNegative('maxHoldMs', o.maxHoldMs, 200),
    maxWaitersPerSession: nonNegative('maxWaitersPerSession', o.maxWaitersPerSession, 10000),
    maxWaitersPerResource: nonNegative('maxWaitersPerResource', o.maxWaitersPerResource, 1000),
    directAloneMs: nonNegative('directAloneMs', o.directAloneMs, DIRECT_ALONE_MS),
    slicer: o.slicer ?? INLINE_SLICER,
    mayAct: o.mayAct ?? (() => true),
  };
  if (out.revokeResendMs === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', 'revokeResendMs must be positive');
  if (out.maxHoldMs < out.minHoldMs) throw new InvalidArgumentError('INVALID_ARGUMENT', 'maxHoldMs must be at least minHoldMs', { minHoldMs: out.minHoldMs, maxHoldMs: out.maxHoldMs });
  if (!Number.isSafeInteger(out.maxWaitersPerSession)) throw new InvalidArgumentError('INVALID_ARGUMENT', 'maxWaitersPerSession must be an integer');
  if (!Number.isSafeInteger(out.maxWaitersPerResource)) throw new InvalidArgumentError('INVALID_ARGUMENT', 'maxWaitersPerResource must be an integer');
  return out;
}
