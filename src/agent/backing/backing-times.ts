import { promises as fsp } from 'fs';
import { InvalidArgumentError } from '../../common/errors';
import type { TimeSpec, VopArgs } from '../vop';
import { checkTimeMs } from './backing-limits';
import { backingSys, checkSys } from './backing-sys';

const NS_PER_S = 1_000_000_000;
/** Seconds either side of the epoch a time may lie (what a JS Date can hold: 8.64e15 ms). */
const MAX_SEC = 8.64e12;

/** A TimeSpec from JS milliseconds (whole ns: the ms fraction kept to the nanosecond). */
export function timeSpecOfMs(ms: number): TimeSpec {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.min(NS_PER_S - 1, Math.round((ms - sec * 1000) * 1e6)) };
}

/** A TimeSpec from nanoseconds since the epoch. */
export function timeSpecOfNs(ns: bigint): TimeSpec {
  const s = ns / 1_000_000_000n;
  const sec = ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s;
  return { sec: Number(sec), nsec: Number(ns - sec * 1_000_000_000n) };
}

/** The time in ms (the journal's legacy fields). */
export function msOfTimeSpec(t: TimeSpec): number {
  return t.sec * 1000 + t.nsec / 1e6;
}

function checkTimeSpec(value: unknown, what: string): TimeSpec {
  const t = value as Partial<TimeSpec> | null;
  const ok = typeof t === 'object' && t !== null && Number.isSafeInteger(t.sec) && Math.abs(t.sec as number) <= MAX_SEC
    && Number.isInteger(t.nsec) && (t.nsec as number) >= 0 && (t.nsec as number) < NS_PER_S;
  if (!ok) throw new InvalidArgumentError('INVALID_ARGUMENT', `${what} must be { sec, nsec } with nsec in [0, 999999999]`, { [what]: value });
  return t as TimeSpec;
}

/**
 * Sets the times of `resolved` without following a final symlink: to the
 * nanosecond when the args carry TimeSpecs (utimensat), else to what
 * atimeMs/mtimeMs say (records journaled before the specs existed).
 */
export async function setTimesNoFollow(resolved: string, args: VopArgs['utimens']): Promise<void> {
  if (args.atime === undefined || args.mtime === undefined) {
    await fsp.lutimes(resolved, checkTimeMs(args.atimeMs, 'atimeMs') / 1000, checkTimeMs(args.mtimeMs, 'mtimeMs') / 1000);
    return;
  }
  const a = checkTimeSpec(args.atime, 'atime');
  const m = checkTimeSpec(args.mtime, 'mtime');
  checkSys(await backingSys().lutimensAsync(resolved, a.sec, a.nsec, m.sec, m.nsec), 'utimens');
}
