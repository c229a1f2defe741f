import { Logger } from '../../common/logger';
import { JournalRecord, JournalSink, ResourceToken } from '../journal/journal-record';
import { Hook, MUTATING_OPS, Next, Vop, VopOf, VopResult, VopResults, VopStat } from '../vop';

export interface JournalHookOptions {
  /** Configured name of the shared filesystem (DESIGN §2). */
  namespace: string;
  sink: JournalSink;
  logger: Logger;
  /** Wall clock for `timeMs` (informational only). Default Date.now. */
  wallClockMs?: () => number;
}

/**
 * The outermost hook (DESIGN §7): for every mutating vop that succeeded,
 * appends a record to the sink. Records are appended after the op, in
 * completion order, each with the next sequence number; a failed op
 * writes nothing. fsync/fsyncdir also sync the journal, so an op whose
 * data an application made durable is durably journaled as well, and then
 * wait for every synchronous replica's ack (DESIGN §11, `--sync`).
 */
export function createJournalHook(options: JournalHookOptions): Hook {
  const { namespace, sink } = options;
  const logger = options.logger.child({ component: 'journal-hook' });
  const wallClockMs = options.wallClockMs ?? Date.now;
  let sequence = sink.lastSequence;

  return async (vop, next) => {
    if (vop.op === 'fsync' || vop.op === 'fsyncdir') return syncBoth(vop, next);
    if (!MUTATING_OPS.has(vop.op)) return next(vop);
    if (!sink.hasRoom()) await sink.waitForRoom();
    const result = await next(vop);
    // A create without O_EXCL that opened a file another host had just made changed nothing.
    if (vop.op === 'create' && (result as VopResults['create']).existed) return result;
    const copy = vop.op === 'copyFileRange' ? (result as VopResults['copyFileRange']) : undefined;
    if (copy && copy.copied === 0) return result;
    // Encoded after the op (its buffers stay valid until this hook returns): a failed op costs nothing.
    const args = copy ? copyArgs(vop as VopOf<'copyFileRange'>, copy) : journalArgs(vop);
    const record: JournalRecord = {
      namespace,
      ino: inoOf(vop, result) ?? null,
      ...(vop.parentIno !== undefined ? { parentIno: vop.parentIno } : {}),
      op: copy ? 'write' : vop.op,
      path: vop.path,
      args,
      fencingToken: vop.fencingToken ? { ...vop.fencingToken } : null,
      ...(vop.heldTokens ? { resourceTokens: resourceTokens(vop.heldTokens) } : {}),
      ...(vop.direct ? { direct: true as const } : {}),
      sequence: ++sequence,
      timeMs: wallClockMs(),
      ...(vop.op === 'write' && Buffer.isBuffer(vop.args.data) ? { payload: vop.args.data } : {}),
      ...(copy ? { payload: copy.bytes } : {}),
    };
    try {
      sink.append(record);
    } catch (e) {
      // The op already happened; failing it now would lie to the application.
      logger.error('journal append failed', { op: vop.op, sequence: record.sequence, error: e });
    }
    return result;
  };

  /**
   * fsync/fsyncdir: the journal is synced alongside the op, not after it.
   * Every write the application completed before calling fsync already has
   * its record in the journal file (appended when its vop completed), so
   * syncing from now covers them; the op's own flush of dirty pages makes
   * no records. The reply waits for both (and then for synchronous
   * replicas), so an acknowledged fsync still means: on the backing file
   * and in the journal (docs/fuse.md, "Create and write throughput").
   */
  async function syncBoth(vop: Vop, next: Next): Promise<VopResult> {
    const upTo = sink.lastSequence;
    const journalSynced = sink.sync();
    let result: VopResult;
    try {
      result = await next(vop);
    } finally {
      await journalSynced.catch(() => undefined); // never left running unobserved; its error is reported below
    }
    await journalSynced;
    if (sink.waitForSyncReplicas) await sink.waitForSyncReplicas(upTo);
    return result;
  }
}

/** The inode a record is about: the new one for ops that create, else the vop's. */
function inoOf(vop: Vop, result: VopResult): number | undefined {
  switch (vop.op) {
    case 'create':
      return (result as { stat: VopStat }).stat.ino;
    case 'mkdir':
    case 'mknod':
    case 'symlink':
    case 'link':
      return (result as VopStat).ino;
    default:
      return vop.ino;
  }
}

/** `<namespace>/<ino>` resources as inode numbers (the namespace is the record's). */
function resourceTokens(held: NonNullable<Vop['heldTokens']>): ResourceToken[] {
  const out: ResourceToken[] = [];
  for (const h of held) {
    const ino = Number(h.resource.slice(h.resource.lastIndexOf('/') + 1));
    if (Number.isSafeInteger(ino)) out.push({ ino, space: h.space, token: { ...h.fencingToken } });
  }
  return out;
}

/**
 * Args as journaled: buffers become their length (a write's bytes go in the
 * record's payload, checksummed with it); local handle ids and a create's
 * parent inode check are dropped.
 */
export function journalArgs(vop: Vop): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(vop.args as Record<string, unknown>)) {
    if (key === 'fh' || key === 'expectParentIno') continue; // local handle ids and inode checks mean nothing elsewhere
    out[key] = Buffer.isBuffer(value) ? { length: value.length } : value;
  }
  return out;
}

/**
 * A copy_file_range is journaled as the write it amounts to: the bytes it
 * copied (read back from the source under the op's tokens) at the
 * destination's offset, so a replica applies it as any write, whatever its
 * own copy of the source holds at that point (docs/fuse.md, "copy_file_range").
 * `copiedFrom` is informational.
 */
function copyArgs(vop: VopOf<'copyFileRange'>, copy: VopResults['copyFileRange']): Record<string, unknown> {
  return { offset: vop.args.offset, data: { length: copy.copied }, copiedFrom: { ino: vop.args.inoIn, offset: vop.args.offsetIn } };
}
