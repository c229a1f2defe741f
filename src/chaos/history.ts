import { ByteRange } from '../common/byte-range';
import { FencingToken, LockMode } from '../coordinator/lock-table/types';

/** One grant as its holder saw it: from the moment the grant arrived until the release was sent. */
export interface HeldInterval {
  client: string;
  resource: string;
  mode: LockMode;
  range: ByteRange;
  fencingToken: FencingToken;
  /** Monotonic ms (one clock for every client of the test process). */
  grantedAtMs: number;
  /** Infinity while still held. */
  releasedAtMs: number;
}

/** The clients' own log of what they held, the input of the checker. */
export class History {
  readonly intervals: HeldInterval[] = [];

  granted(client: string, resource: string, mode: LockMode, range: ByteRange, fencingToken: FencingToken, atMs: number): HeldInterval {
    const h: HeldInterval = { client, resource, mode, range, fencingToken, grantedAtMs: atMs, releasedAtMs: Infinity };
    this.intervals.push(h);
    return h;
  }

  released(h: HeldInterval, atMs: number): void {
    h.releasedAtMs = atMs;
  }
}
