/** What a READ saw of this host's writes of its file when it started (LocalWrites.ticket). */
export interface ReadTicket {
  readonly writesStarted: number;
  readonly writing: boolean;
}

/**
 * This host's WRITEs per file, for the kernel page cache (kernel-pages.ts):
 * a READ that ran beside a write of the same file may have cached bytes
 * older than the write. A file's count is kept while a write of it is in
 * flight (a cached open may start during a write) or while `keep` says the
 * file has a page record (a READ compares when it is answered).
 */
export class LocalWrites {
  private readonly files = new Map<string, { started: number; inFlight: number }>();
  private serial = 0;

  constructor(private readonly keep: (key: string) => boolean) {}

  starting(key: string): void {
    let w = this.files.get(key);
    if (!w) {
      w = { started: 0, inFlight: 0 };
      this.files.set(key, w);
    }
    w.started = ++this.serial;
    w.inFlight++;
  }

  done(key: string): void {
    const w = this.files.get(key);
    if (w && --w.inFlight <= 0 && !this.keep(key)) this.files.delete(key);
  }

  ticket(key: string): ReadTicket {
    const w = this.files.get(key);
    return { writesStarted: w?.started ?? -1, writing: (w?.inFlight ?? 0) > 0 };
  }

  /** A write of `key` ran while the READ holding `ticket` did. */
  ranBeside(key: string, ticket: ReadTicket): boolean {
    return ticket.writing || ticket.writesStarted !== (this.files.get(key)?.started ?? -1);
  }

  /** The file's page record is gone: its count goes once no write is in flight. */
  recordGone(key: string): void {
    if ((this.files.get(key)?.inFlight ?? 1) === 0) this.files.delete(key);
  }
}
