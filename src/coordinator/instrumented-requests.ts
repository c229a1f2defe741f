import type { CoordinatorMetrics } from '../common/metrics/coordinator-metrics';
import { spaceFromWire } from '../common/wire';
import { LockRequests } from './lock-requests';
import { tableRequestId } from './lock-info';
import { Session } from './session';

type Body = Record<string, unknown>;

/**
 * Counts what LockRequests decides without changing it: wraps acquire,
 * convert, release and revoke answers of one instance and reports their
 * outcome to the metrics. The wrapped methods behave exactly as before.
 */
export function instrumentRequests(requests: LockRequests, metrics: CoordinatorMetrics): LockRequests {
  const acquire = requests.acquire.bind(requests);
  const convert = requests.convert.bind(requests);
  const release = requests.release.bind(requests);
  const releaseQuietly = requests.releaseQuietly.bind(requests);
  const revokeAck = requests.revokeAck.bind(requests);
  const observed = (kind: 'acquire' | 'convert', fn: (s: Session, id: number, b: Body) => object) =>
    (session: Session, requestId: number, body: Body): object => {
      const key = tableRequestId(session.id, requestId);
      try {
        const reply = fn(session, requestId, body);
        metrics.onRequest(kind, key, body, kind === 'convert' ? spaceOfReply(reply) : undefined, { reply });
        return reply;
      } catch (error) {
        metrics.onRequest(kind, key, body, undefined, { error });
        throw error;
      }
    };
  requests.acquire = observed('acquire', acquire);
  requests.convert = observed('convert', convert);
  requests.release = (session, lockId) => {
    const reply = release(session, lockId);
    metrics.onGivenBack(Number(lockId));
    return reply;
  };
  requests.releaseQuietly = (session, lockIds) => {
    releaseQuietly(session, lockIds);
    for (const id of lockIds) metrics.onGivenBack(Number(id));
  };
  requests.revokeAck = (session, body) => {
    const reply = revokeAck(session, body);
    metrics.onGivenBack(Number(body.lockId));
    return reply;
  };
  return requests;
}

function spaceOfReply(reply: object): string | undefined {
  const lock = ((reply as Body).converted as Body | undefined)?.lock as Body | undefined;
  try {
    return lock ? spaceFromWire(lock.space) : undefined;
  } catch {
    return undefined;
  }
}
