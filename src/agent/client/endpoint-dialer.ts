import { Clock } from '../../common/clock';
import { Logger } from '../../common/logger';
import { UnavailableError, errorFromReason, isCoherdError } from '../../common/errors';
import { TlsFiles } from '../../coordinator/transport-security';
import { ConnectionHandlers, SessionConnection, ServerMessage, SessionLink, SessionLinkFactory } from './session-connection';

export interface DialOptions {
  endpoints: string[];
  tls?: TlsFiles;
  logger: Logger;
  clock: Clock;
  /** Overall budget for trying every endpoint. */
  timeoutMs: number;
  firstMessage(lastSeq: number): object;
  lastSeq(): number;
  handlers(getConn: () => SessionLink): ConnectionHandlers;
  /** Default: a gRPC Connect call. */
  openLink?: SessionLinkFactory;
}

const grpcLink: SessionLinkFactory = (endpoint, tls, handlers, logger) => new SessionConnection(endpoint, tls, handlers, logger);

/**
 * Tries the endpoints in turn (following a standby's hint to the leader)
 * until one opens or resumes the session. Domain errors that retrying
 * cannot fix (bad session, bad input) end the dial at once.
 */
export async function connectToSomeEndpoint(o: DialOptions): Promise<{ conn: SessionLink; opened: Record<string, unknown> }> {
  const queue = [...o.endpoints];
  const tried: string[] = [];
  const failures: string[] = [];
  const deadline = o.clock.nowMs() + o.timeoutMs;
  let round = 0;
  while (o.clock.nowMs() < deadline) {
    const endpoint = queue.shift() ?? o.endpoints[round++ % o.endpoints.length];
    if (!tried.includes(endpoint)) tried.push(endpoint);
    try {
      return await dialOne(endpoint, o, Math.max(200, deadline - o.clock.nowMs()));
    } catch (e) {
      if (isCoherdError(e) && !e.retryable) throw e;
      const leader = String((e as { details?: { leaderAddress?: unknown } }).details?.leaderAddress ?? '');
      if (leader) queue.unshift(leader);
      failures.push(`${endpoint}: ${(e as Error).message}`);
      o.logger.debug('dial failed', { endpoint, error: (e as Error).message });
      if (queue.length === 0) await new Promise((r) => o.clock.setTimer(Math.min(200, 50 * 2 ** Math.min(round, 2)), () => r(undefined)));
    }
  }
  throw new UnavailableError('COORDINATOR_UNAVAILABLE', `coordinator unreachable at ${tried.join(', ')} (${failures.slice(-tried.length).join('; ')})`, { endpoints: tried });
}

function dialOne(endpoint: string, o: DialOptions, budgetMs: number): Promise<{ conn: SessionLink; opened: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let conn: SessionLink;
    const inner = o.handlers(() => conn);
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      fn();
    };
    const timer = o.clock.setTimer(Math.min(budgetMs, 3000), () =>
      settle(() => {
        conn.close();
        reject(new UnavailableError('COORDINATOR_UNAVAILABLE', 'no answer within the dial timeout'));
      }),
    );
    conn = (o.openLink ?? grpcLink)(endpoint, o.tls, {
      onMessage: (m: ServerMessage) => {
        if (!settled && m.body === 'opened') {
          inner.onMessage(m);
          return settle(() => resolve({ conn, opened: m.opened as Record<string, unknown> }));
        }
        if (!settled && m.body === 'error' && Number(m.requestId ?? 0) === 0) {
          const e = m.error as Record<string, unknown>;
          return settle(() => { conn.close(); reject(errorFromReason(String(e.reason), String(e.message), { leaderAddress: e.leaderAddress })); });
        }
        inner.onMessage(m);
      },
      onClosed: (reason) => {
        if (!settled) return settle(() => reject(new UnavailableError('COORDINATOR_UNAVAILABLE', reason)));
        inner.onClosed(reason);
      },
    }, o.logger);
    conn.send(o.firstMessage(o.lastSeq()));
  });
}
