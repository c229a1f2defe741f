import { JournalRecord, JournalSink } from './journal-record';

/** Keeps records in memory: unit tests, and agents run without a journal file. */
export class MemoryJournalSink implements JournalSink {
  readonly records: JournalRecord[] = [];
  private closed = false;

  get lastSequence(): number {
    return this.records.length === 0 ? 0 : this.records[this.records.length - 1].sequence;
  }

  append(record: JournalRecord): void {
    // The payload is the vop's buffer, reused once the vop settles: keep a copy.
    if (!this.closed) this.records.push(record.payload ? { ...record, payload: Buffer.from(record.payload) } : record);
  }

  async waitForRoom(): Promise<void> {}

  hasRoom(): boolean {
    return true;
  }

  async sync(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}
