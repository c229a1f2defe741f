import { FencingToken } from '../../coordinator/lock-table/types';
import { VopName } from '../vop';

/** A token the op held on one resource (dir ops hold several: both parents of a rename, the target). */
export interface ResourceToken {
  ino: number;
  /** Token space: data, attr or dir. */
  space: string;
  token: FencingToken;
}

/**
 * One mutating vop that succeeded (DESIGN §7 `journal`, §11): what a replica
 * replays. Written data travels with the record (`payload`), so a replica
 * never needs the shared backing store to follow the stream.
 */
export interface JournalRecord {
  namespace: string;
  /** The resource the op changed; for create/mkdir/symlink/mknod/link the (new) inode. null if unknown. */
  ino: number | null;
  /** Directory whose entries the op changes (create, unlink, rmdir, rename source, link destination, …). */
  parentIno?: number;
  op: VopName;
  /** Path inside the mount at the time of the op. */
  path: string;
  /**
   * Op arguments; buffers become `{ length }`, local file handle ids are
   * omitted. An O_APPEND write carries the offset it landed at.
   */
  args: Record<string, unknown>;
  /**
   * A write's bytes (not in the JSON: framed after it on disk). In the
   * journal hook this is the vop's own buffer, valid until the vop settles:
   * a sink that keeps records past append() must copy it.
   */
  payload?: Buffer;
  /** The token that protected the op, if a hook attached one. */
  fencingToken: FencingToken | null;
  /** Per resource, the tokens a directory op ran under (absent when the hook attached only one). */
  resourceTokens?: ResourceToken[];
  /**
   * The op ran under a DIRECT token: other hosts' DIRECT ops on the same
   * file were not ordered against it by any token, so no replica can
   * replay them in the order the backing store saw (docs/replication.md).
   */
  direct?: true;
  /** Strictly increasing per agent (continues across restarts of the same journal). */
  sequence: number;
  /** Wall-clock time the op completed (lag reporting only; nothing decides on it). */
  timeMs: number;
}

/** Where journal records go. */
export interface JournalSink {
  /** Highest sequence already in the sink (0 if none); the journal hook continues after it. */
  readonly lastSequence: number;
  /** Appends a record; never throws and never blocks on I/O longer than one write. */
  append(record: JournalRecord): void;
  /** Resolves at once unless too much is buffered; then when there is room again. */
  waitForRoom(): Promise<void>;
  /** Whether waitForRoom() would resolve at once (lets the hot path skip an await). */
  hasRoom(): boolean;
  /** Everything appended so far is durable once this resolves; rejects if any write failed. */
  sync(): Promise<void>;
  /**
   * Resolves once every replica registered as synchronous has durably
   * acknowledged `sequence` (DRBD protocol C); at once when there is none.
   */
  waitForSyncReplicas?(sequence: number): Promise<void>;
  /** Syncs and releases the sink; idempotent. */
  close(): Promise<void>;
}
