import { isCoherdError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { grantFromWire, grantToWire } from './grant-wire';
import type { HeldGrants } from './held-grants';
import type { LockListener } from './types';

export interface ReclaimDeps {
  held: HeldGrants;
  sessionId(): string;
  request(body: object): Promise<Record<string, unknown>>;
  listener(): LockListener | undefined;
  logger: Logger;
}

/**
 * A new leader asks the client to re-declare what it holds (DESIGN §6):
 * exactly the belief in `held`, which never exceeds what the old leader
 * granted. A refused reclaim means the lock is gone: the holder stops using
 * it and the dirty data under it becomes an error (listener.lost), and it is
 * logged as an error (it means a bug somewhere). Then ReclaimComplete.
 */
export async function reclaimAll(d: ReclaimDeps, streamLost: Promise<never>): Promise<void> {
  const grants = d.held.all();
  const outcomes = await Promise.race([
    Promise.all(grants.map((g) => d.request({ reclaim: { lock: grantToWire(g, d.sessionId()) } }).then(
      (reply) => ({ g, reply, error: undefined }),
      (error: unknown) => ({ g, reply: undefined, error }),
    ))),
    streamLost,
  ]);
  for (const { g, reply, error } of outcomes) {
    if (reply) {
      d.held.changed(grantFromWire((reply.reclaimed as { lock: Record<string, unknown> }).lock));
      continue;
    }
    // Stream trouble is not a refusal: the whole reclaim starts over on the next stream.
    if (isCoherdError(error) && error.retryable) throw error;
    if (!d.held.forget(g.lockId)) continue;
    d.logger.error('reclaim refused; the grant is lost', { lockId: g.lockId, resource: g.resource, error: (error as Error).message });
    d.listener()?.lost(g.lockId, `reclaim refused: ${(error as Error).message}`);
  }
  await Promise.race([d.request({ reclaimComplete: {} }), streamLost]);
  d.logger.info('reclaimed grants at the new leader', { session: d.sessionId(), grants: grants.length });
}
