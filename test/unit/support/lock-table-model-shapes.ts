/**
 * Shapes and pure rules shared by the lock-table model and its harness:
 * what a grant and a waiter look like, when two conflict, queue order.
 */
export const EOF = 2 ** 63;

export type Space = 'data' | 'attr' | 'dir' | 'range';
export type Mode = 'READ' | 'WRITE' | 'DIRECT' | 'SHARED' | 'EXCLUSIVE';

export interface MHolder { sessionId: string; owner: string }

/** What a grant and a waiter both are: someone's request for a mode on a range. */
interface MRequestShape {
  requestId: string;
  resource: string;
  space: Space;
  mode: Mode;
  start: number;
  end: number;
  holder: MHolder;
  /** Asked by a host whose kernel caches the file: never shaped DIRECT, and its grant keeps the minimum hold against DIRECT. */
  noDirect?: boolean;
}

export interface MGrant extends MRequestShape {
  lockId: number; // -1 until learned from the table
  grantedAtMs: number;
  uncached: boolean;
  version: number;
}

export interface MWaiter extends MRequestShape {
  conversion: boolean;
  targetLockId?: number;
  seq: number;
  queuedAtMs: number;
  deadlineMs?: number;
}

export type Outcome = { kind: 'granted'; grant: MGrant } | { kind: 'queued' } | { kind: 'error'; reason: string };
export interface MFailure { requestId: string; reason: string }

export interface Req { requestId: string; resource: string; space: Space; mode: Mode; start: number; end: number; holder: MHolder; wait: boolean; timeoutMs?: number; noDirect?: boolean }
export type Shape = { resource: string; space: Space; mode: Mode; start: number; end: number; holder: MHolder; noDirect?: boolean };

/** The pairs whose revoke skips the minimum hold (revocation.ts holdBeforeRevokeMs; a noDirect token keeps the shortest one). */
export const skipsHold = (g: MGrant, w: MWaiter) => (w.mode === 'DIRECT' ? g.noDirect !== true : w.noDirect === true && g.mode === 'DIRECT');

export const excl = (m: Mode) => m === 'WRITE' || m === 'EXCLUSIVE';
/** DIRECT shares with DIRECT only; otherwise anything exclusive conflicts. */
export const modeConflict = (a: Mode, b: Mode) => (a === 'DIRECT' || b === 'DIRECT' ? a !== b : excl(a) || excl(b));
/** What a revoke answer may keep of a lock held in `held`. */
export const reducesTo = (held: Mode, kept: Mode) => kept === held || (held === 'WRITE' && kept === 'READ') || (held === 'EXCLUSIVE' && kept === 'SHARED');
/** Modes whose change to the other grants new rights (a new fencing token). */
export const upgrades = (from: Mode, to: Mode) => (excl(to) && !excl(from)) || (to === 'DIRECT') !== (from === 'DIRECT');
export const sameHolder = (a: MHolder, b: MHolder) => a.sessionId === b.sessionId && a.owner === b.owner;
export const hkey = (h: MHolder) => `${h.sessionId}/${h.owner}`;
export const isToken = (s: Space) => s !== 'range';

export function keyOf(x: { resource: string; space: Space }): string {
  return `${x.space}:${x.resource}`;
}

export function conflicts(a: Shape, b: Shape): boolean {
  return a.resource === b.resource && a.space === b.space && a.start < b.end && b.start < a.end
    && !sameHolder(a.holder, b.holder) && modeConflict(a.mode, b.mode);
}

export function queuedBefore(a: MWaiter, b: MWaiter): boolean {
  if (a.conversion !== b.conversion) return a.conversion;
  return a.seq < b.seq;
}
