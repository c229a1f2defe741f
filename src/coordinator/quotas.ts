import type { Clock } from '../common/clock';
import { InvalidArgumentError } from '../common/errors';
import type { Session } from './session';
import { TokenBucket } from './token-bucket';

/**
 * What one client may use of a coordinator (docs/lock-table.md "Quotas").
 * Over a quota the request gets RESOURCE_EXHAUSTED with its reason, and
 * nothing else changes.
 */
export interface Quotas {
  /** Waiting requests of one session for one (resource, space): WAITER_QUOTA. */
  maxWaitersPerResource: number;
  /** Live sessions of one client identity (TLS name, else client name): SESSION_QUOTA. */
  maxSessionsPerClient: number;
  /** Sustained acquire/convert requests per second of one session: RATE_LIMITED (retryable). */
  requestsPerSecond: number;
  /** Requests one session may send at once above the sustained rate. */
  requestBurst: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  maxWaitersPerResource: 1000,
  maxSessionsPerClient: 1000,
  requestsPerSecond: 20_000,
  requestBurst: 20_000,
};

/** Defaults filled in; every value must be a positive integer. */
export function checkQuotas(q: Partial<Quotas> = {}): Quotas {
  const out = { ...DEFAULT_QUOTAS, ...q };
  for (const [name, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError('INVALID_ARGUMENT', `quota ${name} must be a positive integer`, { [name]: v });
  }
  return out;
}

/**
 * Takes one request from the session's rate quota; false when it is used
 * up. The bucket lives on the Session, so reconnecting does not refill it.
 */
export function withinRequestRate(session: Session, rate: Pick<Quotas, 'requestsPerSecond' | 'requestBurst'> | undefined, clock: Clock | undefined): boolean {
  if (!rate || !clock) return true;
  session.requestBucket ??= new TokenBucket(clock, rate.requestsPerSecond, rate.requestBurst);
  return session.requestBucket.take();
}
