import { FencingToken } from '../../coordinator/lock-table/types';
import { VopName } from '../vop';

/**
 * One mutating vop that succeeded (DESIGN §7 `journal`): the basis of live
 * replication. Data buffers are not journaled, only their length and
 * SHA-256, so a replica reads the bytes from the shared backing store.
 */
export interface JournalRecord {
  namespace: string;
  /** The resource the op changed; for create/mkdir/symlink/mknod the new inode. null if unknown. */
  ino: number | null;
  op: VopName;
  /** Path inside the mount at the time of the op. */
  path: string;
  /** Op arguments; buffers become `{ length, sha256 }`, local file handle ids are omitted. */
  args: Record<string, unknown>;
  /** The token that protected the op, if a hook attached one. */
  fencingToken: FencingToken | null;
  /** Strictly increasing per agent (continues across restarts with the same journal file). */
  sequence: number;
  /** Wall-clock time the op completed (informational; nothing decides on it). */
  timeMs: number;
}

/** Where journal records go. Implementations batch; errors surface on sync()/close(). */
export interface JournalSink {
  /** Highest sequence already in the sink (0 if none); the journal hook continues after it. */
  readonly lastSequence: number;
  /** Enqueues a record; never throws and never blocks. */
  append(record: JournalRecord): void;
  /** Resolves at once unless too much is buffered; then when there is room again. */
  waitForRoom(): Promise<void>;
  /** Whether waitForRoom() would resolve at once (lets the hot path skip an await). */
  hasRoom(): boolean;
  /** Everything appended so far is durable once this resolves; rejects if any write failed. */
  sync(): Promise<void>;
  /** Syncs and releases the sink; idempotent. */
  close(): Promise<void>;
}
