/**
 * The shapes every side of the protocol shares (coordinator, client, wire):
 * lock spaces, modes and fencing tokens (DESIGN §2–3). The lock table, the
 * wire conversions and the client all import them from here.
 */

/** Lock spaces of a resource; never mixed (DESIGN §2). */
export type LockSpace = 'data' | 'attr' | 'dir' | 'range';
/**
 * READ/WRITE for tokens (data, attr, dir); DIRECT for data and attr tokens
 * of a contended resource (no caching, I/O straight to the backing store;
 * compatible with DIRECT only: docs/direct-mode.md); SHARED/EXCLUSIVE for
 * range locks.
 */
export type LockMode = 'READ' | 'WRITE' | 'DIRECT' | 'SHARED' | 'EXCLUSIVE';

export interface FencingToken {
  /** etcd revision at which the granting leader won its election. */
  epoch: number;
  /** Grows with every grant within the epoch. */
  counter: number;
}
