import { createHash } from 'crypto';
import { Logger } from '../../common/logger';
import { JournalRecord, JournalSink } from '../journal/journal-record';
import { Hook, MUTATING_OPS, Vop, VopResult, VopStat } from '../vop';

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
 * data an application made durable is durably journaled as well.
 */
export function createJournalHook(options: JournalHookOptions): Hook {
  const { namespace, sink } = options;
  const logger = options.logger.child({ component: 'journal-hook' });
  const wallClockMs = options.wallClockMs ?? Date.now;
  let sequence = sink.lastSequence;

  return async (vop, next) => {
    if (!MUTATING_OPS.has(vop.op)) {
      const result = await next(vop);
      if (vop.op === 'fsync' || vop.op === 'fsyncdir') await sink.sync();
      return result;
    }
    if (!sink.hasRoom()) await sink.waitForRoom();
    // Taken before the op: its buffers are valid only until it settles, and
    // large data is hashed while the op waits for its backing write (journalArgs).
    const pendingArgs = journalArgs(vop);
    let result: VopResult;
    try {
      result = await next(vop);
    } catch (e) {
      if (pendingArgs instanceof Promise) await pendingArgs; // the hash must not outlive the buffer
      throw e;
    }
    // The sequence is taken once the args are complete, so records reach the sink in sequence order.
    const args = pendingArgs instanceof Promise ? await pendingArgs : pendingArgs;
    const record: JournalRecord = {
      namespace,
      ino: inoOf(vop, result) ?? null,
      op: vop.op,
      path: vop.path,
      args,
      fencingToken: vop.fencingToken ? { ...vop.fencingToken } : null,
      sequence: ++sequence,
      timeMs: wallClockMs(),
    };
    try {
      sink.append(record);
    } catch (e) {
      // The op already happened; failing it now would lie to the application.
      logger.error('journal append failed', { op: vop.op, sequence: record.sequence, error: e });
    }
    return result;
  };
}

/** The inode a record is about: the new one for ops that create, else the vop's. */
function inoOf(vop: Vop, result: VopResult): number | undefined {
  switch (vop.op) {
    case 'create':
      return (result as { stat: VopStat }).stat.ino;
    case 'mkdir':
    case 'mknod':
    case 'symlink':
      return (result as VopStat).ino;
    default:
      return vop.ino;
  }
}

/**
 * Buffers from this size on are hashed in a setImmediate callback instead of
 * at once. SHA-256 of a 128 KiB write costs ~90 µs, about what the backing
 * pwrite takes; by the time the callback runs, the op's chain of promises
 * has reached that pwrite (queued on the libuv pool), so the hash runs on
 * the main thread while the pool writes and the op takes the longer of the
 * two instead of their sum. No copy is made (the buffer stays valid: the op
 * does not settle before its record is complete). Why not WebCrypto: it
 * copies the buffer first, and a 128 KiB allocation is an mmap with page
 * faults, which cost more than the hash.
 */
const DEFERRED_DIGEST_BYTES = 32 * 1024;

/**
 * Args as journaled: buffers become length + SHA-256; local handle ids are
 * dropped. A promise when a large buffer is hashed later (see above).
 */
export function journalArgs(vop: Vop): Record<string, unknown> | Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let deferred: Array<[string, Buffer]> | undefined;
  for (const [key, value] of Object.entries(vop.args as Record<string, unknown>)) {
    if (key === 'fh') continue;
    if (!Buffer.isBuffer(value)) {
      out[key] = value;
    } else if (value.length < DEFERRED_DIGEST_BYTES) {
      out[key] = digestOf(value);
    } else {
      out[key] = undefined; // keeps the key order of the args
      (deferred ??= []).push([key, value]);
    }
  }
  if (!deferred) return out;
  const later = deferred;
  return new Promise((resolve) => setImmediate(() => {
    for (const [key, value] of later) out[key] = digestOf(value);
    resolve(out);
  }));
}

function digestOf(value: Buffer): { length: number; sha256: string } {
  return { length: value.length, sha256: createHash('sha256').update(value).digest('hex') };
}
