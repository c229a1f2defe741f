import { Operation } from '../history/operation';

/** What one holder believed it held: from the grant's arrival until it released or was told it lost the lock. */
export interface HoldInterval {
  lock: Operation;
  unlock: Operation | undefined;
  startMs: number;
  endMs: number;
  /** The holder was told (fenced, evicted) while it held the lock. */
  told: boolean;
}

/**
 * Pairs every acknowledged lock op with its unlock. A holder's belief ends
 * at the earliest of: invoking the release, being told the lock was lost,
 * and the end of the run (a lock never released is held until then).
 */
export function holdIntervals(ops: readonly Operation[], runEndMs: number): HoldInterval[] {
  const unlockOf = new Map<number, Operation>();
  for (const o of ops) if (o.type === 'unlock' && o.lockOp !== undefined) unlockOf.set(o.lockOp, o);
  const out: HoldInterval[] = [];
  for (const lock of ops) {
    if (lock.type !== 'lock' || lock.result !== 'ok' || lock.completeMs === null) continue;
    const unlock = unlockOf.get(lock.id);
    const told = unlock?.toldLostMs !== undefined;
    const endMs = Math.min(unlock ? unlock.invokeMs : runEndMs, unlock?.toldLostMs ?? Infinity, Math.max(runEndMs, lock.completeMs));
    out.push({ lock, unlock, startMs: lock.completeMs, endMs, told });
  }
  return out;
}
