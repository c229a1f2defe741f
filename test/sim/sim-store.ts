import { constants } from 'node:fs';
import { ErrnoError } from '../../src/agent/backing/errno-error';
import type { VopStat } from '../../src/agent/vop';
import type { SimScheduler } from './scheduler';

/**
 * The shared backing store: one in-memory file per inode. Every pread,
 * pwrite and stat completes as a scheduler event on the calling host's
 * store channel, so store operations interleave with messages and timers.
 * A syscall under way completes even while its host is paused (the kernel runs it).
 */
export class SimStore {
  private readonly files = new Map<number, Buffer>();
  /** Writes that reached the store, in order: the checkers read this. */
  readonly writes: Array<{ host: string; ino: number; offset: number; length: number; atMs: number }> = [];

  constructor(private readonly sched: SimScheduler, inos: number[]) {
    for (const ino of inos) this.files.set(ino, Buffer.alloc(0));
  }

  content(ino: number): Buffer {
    return this.file(ino);
  }

  pread(host: string, ino: number, offset: number, length: number): Promise<Buffer> {
    return this.later(host, `pread ${ino}@${offset}+${length}`, () => {
      const d = this.file(ino);
      return Buffer.from(d.subarray(Math.min(offset, d.length), Math.min(offset + length, d.length)));
    });
  }

  pwrite(host: string, ino: number, offset: number, data: Buffer, append = false): Promise<number> {
    const copy = Buffer.from(data);
    return this.later(host, `pwrite ${ino}@${offset}+${data.length}`, () => {
      let d = this.file(ino);
      const at = append ? d.length : offset;
      const end = at + copy.length;
      if (end > d.length) d = Buffer.concat([d, Buffer.alloc(end - d.length)]);
      copy.copy(d, at);
      this.files.set(ino, d);
      this.writes.push({ host, ino, offset: at, length: copy.length, atMs: this.sched.nowMs });
      return copy.length;
    });
  }

  truncate(host: string, ino: number, size: number): Promise<void> {
    return this.later(host, `truncate ${ino} to ${size}`, () => {
      const d = this.file(ino);
      this.files.set(ino, size <= d.length ? Buffer.from(d.subarray(0, size)) : Buffer.concat([d, Buffer.alloc(size - d.length)]));
    });
  }

  stat(host: string, ino: number): Promise<VopStat> {
    return this.later(host, `stat ${ino}`, () => {
      const size = this.file(ino).length;
      return { ino, mode: constants.S_IFREG | 0o644, nlink: 1, uid: 0, gid: 0, rdev: 0, size, blksize: 4096, blocks: Math.ceil(size / 512), atimeMs: 0, mtimeMs: 0, ctimeMs: 0 };
    });
  }

  private file(ino: number): Buffer {
    const f = this.files.get(ino);
    if (!f) throw new ErrnoError('ENOENT', `no inode ${ino}`);
    return f;
  }

  /** The effect lands as a store event; the caller resumes in an event of its own (so a paused host stays frozen). */
  private later<T>(host: string, label: string, fn: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.sched.schedule(this.sched.rng.next() * 0.5, 'store', label, () => {
        let outcome: () => void;
        try {
          const value = fn();
          outcome = () => resolve(value);
        } catch (e) {
          outcome = () => reject(e);
        }
        this.sched.schedule(0, host, `${label} returns`, outcome, `ret:${host}`);
      }, `store:${host}`);
    });
  }
}
