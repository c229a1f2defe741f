import * as protobuf from 'protobufjs';

/**
 * Scalar conversions the generated codecs (wire-codec.ts) call, with
 * proto-loader's rules (LOADER_OPTIONS: 64-bit integers as numbers, enums
 * as names) so that both codecs read and write the same values.
 */

interface LongStatics {
  fromValue(v: number | string, unsigned?: boolean): protobuf.Long;
}

type LongLike = number | { toNumber(): number };

/**
 * Safe integers in range go to the writer as they are; anything else through
 * Long exactly as proto-loader's fromObject does (saturating: 2^64 as a
 * uint64 is written as 2^64 − 1, a negative uint64 as 0, 2^63 as an int64 as
 * 2^63 − 1, fractions truncated).
 */
function longInput(v: unknown, unsigned: boolean): number | protobuf.Long | string {
  if (typeof v === 'number' && Number.isSafeInteger(v) && (!unsigned || v >= 0)) return v;
  if (typeof v === 'number' || typeof v === 'string') return (protobuf.util.Long as unknown as LongStatics).fromValue(v, unsigned);
  if (typeof v === 'bigint') return String(v);
  throw new TypeError(`${JSON.stringify(v)} is not an integer`);
}

/**
 * Below 2^32 a 64-bit varint has the same bytes as a 32-bit one: written
 * without the Long/LongBits objects protobufjs allocates per 64-bit value.
 */
function isSmallUint(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v <= 0xffff_ffff && Number.isInteger(v);
}

/**
 * A varint of at most 7 bytes (< 2^49: exact in a double, the same value as
 * signed or unsigned) read without allocating; undefined (position
 * unchanged) for a longer one, which the Long path reads.
 */
function readSmallVarint(r: protobuf.Reader): number | undefined {
  const buf = r.buf;
  let pos = r.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= r.len) throw new RangeError(`index out of range: ${pos} + 1 > ${r.len}`);
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      r.pos = pos;
      return value;
    }
    scale *= 128;
  }
  return undefined;
}

function longToNumber(v: LongLike): number {
  return typeof v === 'number' ? v : v.toNumber();
}

export const wireScalars = {
  writeUint64(w: protobuf.Writer, v: unknown): void {
    if (isSmallUint(v)) w.uint32(v);
    else w.uint64(longInput(v, true));
  },
  writeInt64(w: protobuf.Writer, v: unknown): void {
    if (isSmallUint(v)) w.uint32(v);
    else w.int64(longInput(v, false));
  },
  readUint64(r: protobuf.Reader): number {
    return readSmallVarint(r) ?? longToNumber(r.uint64() as unknown as LongLike);
  },
  readInt64(r: protobuf.Reader): number {
    return readSmallVarint(r) ?? longToNumber(r.int64() as unknown as LongLike);
  },
  /** An enum value given as a name (or already a number). */
  enumNumber(e: protobuf.Enum, v: unknown, field: string): number {
    if (typeof v === 'number') return v;
    const n = e.values[String(v)];
    if (n === undefined) throw new TypeError(`${field}: ${JSON.stringify(v)} is not a ${e.name}`);
    return n;
  },
  /** An enum value as its name; a number the schema does not know stays a number. */
  enumName(e: protobuf.Enum, n: number): string | number {
    return e.valuesById[n] ?? n;
  },
  notAnArray(field: string): TypeError {
    return new TypeError(`${field}: expected an array`);
  },
};
