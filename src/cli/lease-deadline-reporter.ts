import { Clock } from '../common/clock';
import { Logger } from '../common/logger';

/** What the reporter reads: the agent's client (CoherdClient). */
export interface LeaseView {
  leaseDeadlineMs(): number;
  isFenced(): boolean;
  on(event: 'fenced', listener: (reason: string) => void): unknown;
}

/** How often the deadline is looked at; it moves at most once per heartbeat acknowledgement. */
const POLL_MS = 10;

/**
 * For `coherd chaos`: with COHERD_LOG_LEASE_DEADLINE=1 the agent logs
 * "lease deadline" (remainingMs: deadline − now on the agent's own clock)
 * every time its lease deadline moves, and remainingMs null when it is
 * fenced (it holds nothing until a new session). The harness timestamps
 * each line as it arrives and checks that the agent's acknowledged writes
 * fall in a time it held a lease. Returns a stop function.
 */
export function reportLeaseDeadline(client: LeaseView, clock: Clock, logger: Logger): () => void {
  let last = -1;
  const report = () => {
    const fenced = client.isFenced();
    const deadline = fenced ? 0 : client.leaseDeadlineMs();
    if (deadline === last) return;
    last = deadline;
    logger.info('lease deadline', { remainingMs: deadline > 0 ? Math.round(deadline - clock.nowMs()) : null });
  };
  client.on('fenced', () => report());
  const timer = setInterval(report, POLL_MS);
  timer.unref();
  report();
  return () => clearInterval(timer);
}
