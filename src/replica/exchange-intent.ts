import { promises as fsp } from 'fs';
import { writeFileDurably } from './durable-file';

/** In the replica's state directory. */
export const EXCHANGE_INTENT_FILE = 'exchange-intent.json';

interface IntentData {
  /** Which record: its agent sequence, op time and the two names. */
  key: string;
  /** The mirror's own inode numbers at `from` and `to` just before the swap. */
  fromIno: number;
  toIno: number;
}

/**
 * A RENAME_EXCHANGE is the one replay that is not idempotent: applied
 * twice it swaps back. The inode map recognises a replay only if it was
 * saved after the swap; a crash between the swap and that save would swap
 * the pair back on restart. So before swapping, the replica writes down
 * (durably) which record it is about to apply and which mirror inodes the
 * two names hold; on a replay of that record, names that hold each other's
 * inodes mean the swap already happened.
 */
export class ExchangeIntent {
  constructor(private readonly file: string) {}

  /** True when the exchange `key` was applied already: the intent names it and the two names hold each other's inodes. */
  async alreadySwapped(key: string, fromIno: number, toIno: number): Promise<boolean> {
    const text = await fsp.readFile(this.file, 'utf8').catch(() => undefined);
    if (text === undefined) return false;
    let data: Partial<IntentData>;
    try {
      data = JSON.parse(text) as Partial<IntentData>;
    } catch {
      return false; // torn by a crash while being written: the swap after it never ran
    }
    return data.key === key && data.fromIno === toIno && data.toIno === fromIno;
  }

  /** Durably records the exchange about to be applied (write, fsync, rename, fsync the directory). */
  record(key: string, fromIno: number, toIno: number): Promise<void> {
    return writeFileDurably(this.file, JSON.stringify({ key, fromIno, toIno } satisfies IntentData));
  }
}

/** The key of an exchange record: unique per agent journal (sequence) and, across agents, by time and names. */
export function exchangeKey(sequence: number, timeMs: number, from: string, to: string): string {
  return `${sequence}|${timeMs}|${from}|${to}`;
}
