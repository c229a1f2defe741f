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
export async function reclaimAll(d: ReclaimDeps): Promise<void> {
  const grants = d.held.all();
  await Promise.all(grants.map(async (g) => {
    try {
      const reply = await d.request({ reclaim: { lock: grantToWire(g, d.sessionId()) } });
      d.held.changed(grantFromWire((reply.reclaimed as { lock: Record<string, unknown> }).lock));
    } catch (e) {
      if (!d.held.forget(g.lockId)) return;
      d.logger.error('reclaim refused; the grant is lost', { lockId: g.lockId, resource: g.resource, error: (e as Error).message });
      d.listener()?.lost(g.lockId, `reclaim refused: ${(e as Error).message}`);
    }
  }));
  await d.request({ reclaimComplete: {} });
  d.logger.info('reclaimed grants at the new leader', { session: d.sessionId(), grants: grants.length });
}
