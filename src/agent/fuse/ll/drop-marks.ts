import type { Logger } from '../../../common/logger';

/**
 * How long after a drop completed its queue mark is made. A GETATTR whose
 * attr_version the kernel sampled before the drop, but that was queued
 * only after the mark, would have to spend longer than this between the
 * sample and the queue (a few instructions and an allocation).
 */
export const MARK_DELAY_MS = 10;

export interface DropMarksOptions {
  /**
   * Makes the kernel queue a request of this mount and resolves once it
   * was answered (a statfs(2) of the mount point from libuv's pool: FUSE
   * sends every statfs, and never from the JS thread, which answers it).
   */
  mark(): Promise<void>;
  /** Waits `ms` on the agent's clock. */
  sleep(ms: number): Promise<void>;
  logger: Logger;
}

interface NodeMarks {
  /** Drops sent (or done) whose queue mark is not known yet. */
  unmarked: number;
  /** The mark of the last marked drop: a request queued before it may have been sampled before that drop. */
  markSeq: number;
  /** Drops sent so far (while the record lasts: at least while a GETATTR that needs it is served). */
  sent: number;
}

/**
 * Which GETATTR replies the kernel may throw away because of a page or
 * attribute drop (docs/fuse.md, "The page cache"). notify_inval_inode bumps
 * the inode's attr_version, and the kernel discards a GETATTR reply whose
 * request sampled the version before the bump; a read(2) waiting on that
 * GETATTR then reads up to the old i_size: another host's write that grew
 * the file comes back cut at the old size, even when the read(2) began
 * after that write returned (a retirement's or a lost token's drop, which
 * no write waits for). The agent cannot see when the kernel sampled, but
 * it sees requests in the kernel's queue order (one loop thread posts them
 * in order; `requestSeen` numbers them). After a drop completed it makes
 * the kernel queue a request of its own (`mark`): a GETATTR queued before
 * that mark may predate the drop, one queued after it does not. Such a
 * GETATTR's size is given to the kernel with notify_store before its reply
 * (KernelPageCache.attrAnswering), which no attr_version check stops.
 */
export class DropMarks {
  private seq = 0;
  /** The last statfs request seen: after `mark()` resolved, at or after the mark's own request. */
  private statfsSeq = 0;
  private readonly nodes = new Map<number, NodeMarks>();
  /** Nodes whose drops completed and wait for the next mark. */
  private awaiting: NodeMarks[] = [];
  private marking = false;
  /** GETATTRs received and not answered yet (their seq): marks older than all of them are forgotten. */
  private readonly answering = new Set<number>();

  constructor(private readonly o: DropMarksOptions) {}

  /** A request arrived (in the kernel's queue order): its sequence number. */
  requestSeen(op: string): number {
    this.seq++;
    if (op === 'statfs') this.statfsSeq = this.seq;
    return this.seq;
  }

  /** A drop of `node` is being sent to the kernel; call the result once it completed (whatever its outcome). */
  dropping(node: number): () => void {
    let m = this.nodes.get(node);
    if (!m) {
      m = { unmarked: 0, markSeq: 0, sent: 0 };
      this.nodes.set(node, m);
    }
    m.unmarked++;
    m.sent++;
    const marks = m;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.awaiting.push(marks);
      this.startMarking();
    };
  }

  /** A GETATTR of `node` (request `seq`) is being answered: the kernel may discard its reply. */
  mayBeDiscarded(node: number, seq: number): boolean {
    const m = this.nodes.get(node);
    return m !== undefined && (m.unmarked > 0 || seq < m.markSeq);
  }

  /** Drops of `node` sent so far; reliable while a GETATTR of it that mayBeDiscarded is served. */
  sentTo(node: number): number {
    return this.nodes.get(node)?.sent ?? 0;
  }

  /** A GETATTR `seq` is being served; `attrAnswered` follows. */
  attrAnswering(seq: number): void {
    this.answering.add(seq);
  }

  attrAnswered(seq: number): void {
    this.answering.delete(seq);
  }

  private startMarking(): void {
    if (this.marking) return;
    this.marking = true;
    void this.markAll().finally(() => {
      this.marking = false;
      if (this.awaiting.length > 0) this.startMarking();
    });
  }

  private async markAll(): Promise<void> {
    while (this.awaiting.length > 0) {
      await this.o.sleep(MARK_DELAY_MS);
      const batch = this.awaiting;
      this.awaiting = [];
      let markSeq: number;
      try {
        await this.o.mark();
        markSeq = this.statfsSeq;
      } catch (e) {
        // The mount is going away; every request seen so far counts as before the drop.
        this.o.logger.debug('kernel queue mark failed', { error: (e as Error).message });
        markSeq = this.seq + 1;
      }
      for (const m of batch) {
        m.markSeq = Math.max(m.markSeq, markSeq);
        m.unmarked--;
      }
      this.forgetOld();
    }
  }

  /** Marks no GETATTR in service or to come can be older than. */
  private forgetOld(): void {
    let oldest = this.seq + 1;
    for (const s of this.answering) oldest = Math.min(oldest, s);
    for (const [node, m] of this.nodes) if (m.unmarked === 0 && m.markSeq <= oldest) this.nodes.delete(node);
  }
}
