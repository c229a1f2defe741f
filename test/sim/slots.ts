/**
 * The workload's file layout: fixed-size slots, each owned by one host
 * (disjoint, interleaved ranges, several sharing a page, as in the issue's
 * scenario). A slot's content names its writer and a sequence number,
 * repeated, so a torn or stale slot is recognisable.
 */
export const SLOT_BYTES = 100;

export function slotContent(host: number, seq: number): Buffer {
  const unit = `H${host}S${seq};`;
  return Buffer.from(unit.repeat(Math.ceil(SLOT_BYTES / unit.length)).slice(0, SLOT_BYTES));
}

/** seq of a slot's bytes: 0 when never written (zeros or short), -1 when torn or garbage. */
export function slotSeq(bytes: Buffer, owner: number): number {
  if (bytes.length < SLOT_BYTES) return bytes.every((b) => b === 0) ? 0 : -1;
  if (bytes.every((b) => b === 0)) return 0;
  const m = /^H(\d+)S(\d+);/.exec(bytes.subarray(0, 24).toString('latin1'));
  if (!m || Number(m[1]) !== owner) return -1;
  const seq = Number(m[2]);
  return slotContent(owner, seq).equals(bytes) ? seq : -1;
}

/**
 * Slots go round-robin to the workers of all hosts: slot s belongs to worker
 * s % (hosts × workers). Slot s starts at s × stride: a stride of
 * SLOT_BYTES packs many owners into one page, a page-sized one gives each
 * slot a page of its own (where caching pays and stale caches would show).
 */
export interface SlotLayout {
  hosts: number;
  workersPerHost: number;
  stride: number;
}

export const slotOffset = (slot: number, l: SlotLayout): number => slot * l.stride;

/** The slots lying wholly within [offset, offset + length). */
export function slotsWithin(offset: number, length: number, slots: number, l: SlotLayout): number[] {
  const out: number[] = [];
  for (let s = 0; s < slots; s++) if (slotOffset(s, l) >= offset && slotOffset(s, l) + SLOT_BYTES <= offset + length) out.push(s);
  return out;
}

export const ownerOf = (slot: number, l: SlotLayout): number => Math.floor(slot / l.workersPerHost) % l.hosts;

/** The slots of one worker of one host. */
export function slotsOf(host: number, worker: number, count: number, l: SlotLayout): number[] {
  return Array.from({ length: count }, (_, k) => (k * l.hosts + host) * l.workersPerHost + worker);
}
