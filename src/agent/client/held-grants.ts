import type { ByteRange } from '../../common/byte-range';
import type { ClientGrant, LockMode } from './types';

/**
 * What this client believes it holds, lock by lock, with the version of
 * each lock it last heard of. The belief never exceeds what the
 * coordinator's table says: rights are given up here *before* the message
 * that gives them back is sent, and gained only when the coordinator's
 * grant arrives. Reclaims after a failover declare exactly this.
 */
export class HeldGrants {
  private readonly byId = new Map<number, ClientGrant>();

  has(lockId: number): boolean {
    return this.byId.has(lockId);
  }

  all(): ClientGrant[] {
    return [...this.byId.values()];
  }

  /** A new lock was granted. */
  granted(grant: ClientGrant): void {
    this.byId.set(grant.lockId, grant);
  }

  /**
   * The coordinator changed a held lock (conversion, reduction, reclaim):
   * taken when it is newer than what is known. A lock given up meanwhile
   * stays given up (its release follows the reply on the wire). Returns
   * whether the grant was taken.
   */
  changed(grant: ClientGrant): boolean {
    const known = this.byId.get(grant.lockId);
    if (known === undefined || grant.version <= known.version) return false;
    this.byId.set(grant.lockId, grant);
    return true;
  }

  /**
   * Rights given back in a revoke answer planned against `version`: the
   * belief shrinks before the answer is sent. False (nothing changes) when
   * a newer version arrived since: the coordinator will refuse the answer
   * as stale and ask again.
   */
  reduce(lockId: number, version: number, mode: LockMode, range: ByteRange): boolean {
    const known = this.byId.get(lockId);
    if (known === undefined || known.version !== version) return false;
    this.byId.set(lockId, { ...known, mode, range: { start: range.start, end: range.end } });
    return true;
  }

  /** Gone: released, revoked, or refused at reclaim. */
  forget(lockId: number): boolean {
    return this.byId.delete(lockId);
  }

  clear(): void {
    this.byId.clear();
  }
}
