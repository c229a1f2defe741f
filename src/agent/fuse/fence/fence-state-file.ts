import { closeSync, mkdtempSync, openSync, rmdirSync, unlinkSync, writeSync } from 'fs';
import { tmpdir } from 'os';
import * as nodePath from 'path';

/** The layout coherd_fence reads (src/agent/fuse/fence/fence.h; keep both in step; little-endian hosts). */
export const FENCE_OFF_SEQ = 0;
export const FENCE_OFF_DEADLINE = 8;
export const FENCE_OFF_GENERATION = 16;
export const FENCE_OFF_SLOTS = 64;
export const FENCE_SLOTS = 4096;
export const FENCE_FILE_SIZE = FENCE_OFF_SLOTS + 8 * FENCE_SLOTS;

/** A deadline that never passes (no lease bound known). */
export const FENCE_NEVER_NS = (1n << 63n) - 1n;

/** Where the bytes go (the state file's fd; injectable for tests of the protocol). */
export type PositionalWrite = (data: Buffer, position: number) => void;

/**
 * The agent's side of the state the fence reads (docs/fuse.md, "The cache
 * fence"): the lease deadline under a seqlock (the sequence is odd while
 * it changes: the fence keeps the last consistent deadline, never later
 * than a new one), and a fixed table of node ids whose pages the kernel
 * may cache, one 8-byte write per slot, a node written before the
 * generation that tells the fence to read the table again.
 * Nodes are counted: a node stays listed while any of its cached opens is.
 */
export class FenceStateFile {
  private seq = 0n;
  private deadlineNs = 0n;
  private generation = 0n;
  private readonly slots = new Map<number, { slot: number; count: number }>();
  private readonly free: number[] = [];

  constructor(private readonly write: PositionalWrite) {
    for (let i = FENCE_SLOTS - 1; i >= 0; i--) this.free.push(i);
    this.write(Buffer.alloc(FENCE_FILE_SIZE), 0);
  }

  /**
   * An anonymous state file: made 0600 in a fresh 0700 directory of the
   * temp dir, both unlinked at once, so only the two descriptors reach it.
   */
  static createFd(): number {
    const dir = mkdtempSync(nodePath.join(tmpdir(), 'coherd-fence-'));
    const file = nodePath.join(dir, 'state');
    try {
      return openSync(file, 'wx+', 0o600);
    } finally {
      try { unlinkSync(file); } catch { /* not created */ }
      rmdirSync(dir);
    }
  }

  static onFd(fd: number): FenceStateFile {
    return new FenceStateFile((data, position) => {
      const n = writeSync(fd, data, 0, data.length, position);
      if (n !== data.length) throw new Error(`short write to the fence state file (${n} of ${data.length})`);
    });
  }

  static closeFd(fd: number): void {
    closeSync(fd);
  }

  /** The CLOCK_MONOTONIC ns past which the fence drops every listed node's pages. */
  get deadline(): bigint {
    return this.deadlineNs;
  }

  setDeadline(ns: bigint): void {
    if (ns === this.deadlineNs) return;
    this.deadlineNs = ns;
    this.writeHeader();
  }

  /** Lists `node`; false (and nothing changes) when the table is full: its open must not be cached. */
  add(node: number): boolean {
    const held = this.slots.get(node);
    if (held) {
      held.count++;
      return true;
    }
    const slot = this.free.pop();
    if (slot === undefined) return false;
    this.slots.set(node, { slot, count: 1 });
    this.writeSlot(slot, BigInt(node));
    this.generation++;
    this.writeHeader();
    return true;
  }

  /** One cached open of `node` less; its slot is freed with the last. */
  remove(node: number): void {
    const held = this.slots.get(node);
    if (!held || --held.count > 0) return;
    this.slots.delete(node);
    this.writeSlot(held.slot, 0n);
    this.free.push(held.slot);
  }

  /** Nodes listed (tests, diagnostics). */
  get listed(): number {
    return this.slots.size;
  }

  private writeSlot(slot: number, value: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(value);
    this.write(b, FENCE_OFF_SLOTS + 8 * slot);
  }

  private writeHeader(): void {
    const seq = Buffer.alloc(8);
    seq.writeBigUInt64LE(++this.seq);
    this.write(seq, FENCE_OFF_SEQ);
    const fields = Buffer.alloc(16);
    fields.writeBigInt64LE(this.deadlineNs);
    fields.writeBigUInt64LE(this.generation, 8);
    this.write(fields, FENCE_OFF_DEADLINE);
    seq.writeBigUInt64LE(++this.seq);
    this.write(seq, FENCE_OFF_SEQ);
  }
}
