import { promises as fsp } from 'fs';
import type { BackingStore } from '../../../src/agent/backing/backing-store';
import { VopBuilder } from '../../../src/agent/fuse/vop-builder';
import { PathNodeTable } from '../../../src/agent/fuse/ll/path-node-table';
import { vopLowLevelOps } from '../../../src/agent/fuse/ll/vop-low-level-ops';
import type { Vop, VopResult } from '../../../src/agent/vop';

/** A vop the chain ran (a copy, as it was sent), with its result or error code. */
export interface RanVop {
  vop: Vop;
  result?: VopResult;
  error?: string;
}

/**
 * The agent's low-level ops over `store` (backing directory `dir`) with no
 * coherency hooks: every vop the chain ran is recorded in `ran`, and every
 * lstat of a mount path the store made is counted in `lstats` until
 * `restore()`.
 */
export async function recordedLowLevelOps(store: BackingStore, dir: string) {
  const ran: RanVop[] = [];
  const run = async (vop: Vop): Promise<VopResult> => {
    const seen: RanVop = { vop: { ...vop, args: { ...(vop.args as object) } } as Vop };
    ran.push(seen);
    try {
      seen.result = await store.execute(vop);
      return seen.result;
    } catch (e) {
      seen.error = (e as { code?: string }).code;
      throw e;
    }
  };
  const lstats = { count: 0 };
  const lstat = store.paths.lstat.bind(store.paths);
  store.paths.lstat = (p: unknown) => {
    lstats.count++;
    return lstat(p);
  };
  const nodes = new PathNodeTable((await fsp.stat(dir)).ino);
  const ops = vopLowLevelOps(run as never, new VopBuilder(store, new AbortController().signal), nodes);
  return { ops, nodes, ran, lstats, restore: () => { store.paths.lstat = lstat; } };
}
