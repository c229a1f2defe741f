import * as protobuf from 'protobufjs';

/**
 * Encodes plain objects straight to protobuf bytes and decodes bytes straight
 * to plain objects, in the shape `@grpc/proto-loader` gives with
 * LOADER_OPTIONS (camelCase names, enums as strings, 64-bit integers as
 * numbers, every default filled in, message fields null when absent, the
 * chosen oneof member named by a virtual field).
 *
 * proto-loader does the same in two passes per direction
 * (`fromObject` + `encode`, `decode` + `toObject`), allocating a message
 * instance per nested message; on the session stream that was a quarter of
 * the coordinator's and the client's CPU per grant (bench/RESULTS.md, P3).
 */
export interface MessageCodec {
  encode(message: object): Buffer;
  decode(bytes: Uint8Array): Record<string, unknown>;
}

type Plain = Record<string, unknown>;
type FieldEncoder = (value: unknown, w: protobuf.Writer) => void;

interface FieldPlan {
  name: string;
  id: number;
  /** Whether a scalar equal to its default may be left out (not for oneof members). */
  skipDefault: boolean;
  encode: FieldEncoder;
  decode: (r: protobuf.Reader, wireType: number, into: Plain) => void;
}

interface TypePlan {
  fields: FieldPlan[];
  /** Indexed by field number (field numbers of coherd's messages are small). */
  byId: Array<FieldPlan | undefined>;
  defaults: () => Plain;
}

const plans = new WeakMap<protobuf.Type, TypePlan>();

export function messageCodec(type: protobuf.Type): MessageCodec {
  const plan = planOf(type);
  return {
    encode(message) {
      const w = protobuf.Writer.create();
      encodeInto(plan, message as Plain, w);
      return w.finish() as Buffer;
    },
    decode(bytes) {
      const r = protobuf.Reader.create(bytes);
      return decodeFrom(plan, r, r.len);
    },
  };
}

function encodeInto(plan: TypePlan, message: Plain, w: protobuf.Writer): void {
  for (const f of plan.fields) {
    const v = message[f.name];
    if (v === undefined || v === null) continue;
    if (f.skipDefault && (v === 0 || v === '' || v === false)) continue;
    f.encode(v, w);
  }
}

function decodeFrom(plan: TypePlan, r: protobuf.Reader, end: number): Plain {
  const out = plan.defaults();
  while (r.pos < end) {
    const tag = r.uint32();
    const f = plan.byId[tag >>> 3];
    if (f) f.decode(r, tag & 7, out);
    else r.skipType(tag & 7);
  }
  return out;
}

function planOf(type: protobuf.Type): TypePlan {
  let plan = plans.get(type);
  if (plan) return plan;
  const fields: FieldPlan[] = [];
  plan = { fields, byId: [], defaults: () => ({}) };
  plans.set(type, plan); // before the fields: message types may refer to themselves
  for (const field of type.fieldsArray) {
    field.resolve();
    const fp = fieldPlan(field);
    fields.push(fp);
    plan.byId[fp.id] = fp;
  }
  plan.defaults = defaultsFactory(type);
  return plan;
}

/**
 * A fresh object of defaults per decode. Built from a generated object
 * literal so that every decoded message of a type shares one hidden class
 * (property reads in the handlers stay monomorphic).
 */
function defaultsFactory(type: protobuf.Type): () => Plain {
  const entries: string[] = [];
  for (const field of type.fieldsArray) {
    if (field.partOf) continue; // oneof members stay absent unless set
    let literal: string;
    if (field.repeated) literal = '[]';
    else if (field.resolvedType instanceof protobuf.Type) literal = 'null';
    else if (field.resolvedType instanceof protobuf.Enum) literal = JSON.stringify(enumName(field.resolvedType, 0));
    else if (field.type === 'bytes') literal = 'Buffer.alloc(0)';
    else literal = JSON.stringify(scalarDefault(field.type));
    entries.push(`${JSON.stringify(field.name)}: ${literal}`);
  }
  for (const o of type.oneofsArray) entries.push(`${JSON.stringify(o.name)}: undefined`);
  return new Function('Buffer', `return function defaults() { return { ${entries.join(', ')} }; };`)(Buffer) as () => Plain;
}

function scalarDefault(type: string): string | number | boolean {
  if (type === 'string') return '';
  if (type === 'bool') return false;
  return 0;
}

function enumName(e: protobuf.Enum, value: number): string | number {
  return e.valuesById[value] ?? value;
}

function fieldPlan(field: protobuf.Field): FieldPlan {
  const name = field.name;
  const id = field.id;
  const rt = field.resolvedType;
  const one = scalarCodec(field, rt);
  const skipDefault = !field.partOf && !field.repeated && !(rt instanceof protobuf.Type);
  if (!field.repeated) {
    const oneofName = field.partOf?.name;
    return {
      name, id, skipDefault,
      encode: (v, w) => one.write(v, w, id),
      decode: oneofName
        ? (r, _wt, into) => { into[name] = one.read(r); into[oneofName] = name; }
        : (r, _wt, into) => { into[name] = one.read(r); },
    };
  }
  const packable = !(rt instanceof protobuf.Type) && field.type !== 'string' && field.type !== 'bytes';
  return {
    name, id, skipDefault: false,
    encode: (v, w) => {
      if (!Array.isArray(v)) throw new TypeError(`${name}: expected an array`);
      if (v.length === 0) return;
      if (packable) {
        w.uint32(((id << 3) | 2) >>> 0).fork();
        for (const item of v) one.writeBare(item, w);
        w.ldelim();
      } else {
        for (const item of v) one.write(item, w, id);
      }
    },
    decode: (r, wireType, into) => {
      const list = into[name] as unknown[];
      if (packable && wireType === 2) {
        const end = r.uint32() + r.pos;
        while (r.pos < end) list.push(one.read(r));
      } else {
        list.push(one.read(r));
      }
    },
  };
}

interface ScalarCodec {
  /** Tag and value. */
  write(v: unknown, w: protobuf.Writer, id: number): void;
  /** Value only (packed repeated). */
  writeBare(v: unknown, w: protobuf.Writer): void;
  read(r: protobuf.Reader): unknown;
}

function scalarCodec(field: protobuf.Field, rt: protobuf.Type | protobuf.Enum | null): ScalarCodec {
  if (rt instanceof protobuf.Type) {
    let cached: TypePlan | undefined;
    const plan = (): TypePlan => (cached ??= planOf(rt));
    return {
      write: (v, w, id) => {
        w.uint32(((id << 3) | 2) >>> 0).fork();
        encodeInto(plan(), v as Plain, w);
        w.ldelim();
      },
      writeBare: () => { throw new TypeError('messages are never packed'); },
      read: (r) => {
        const len = r.uint32();
        return decodeFrom(plan(), r, r.pos + len);
      },
    };
  }
  if (rt instanceof protobuf.Enum) {
    const e = rt;
    const toNumber = (v: unknown): number => {
      if (typeof v === 'number') return v;
      const n = e.values[String(v)];
      if (n === undefined) throw new TypeError(`${field.name}: ${JSON.stringify(v)} is not a ${e.name}`);
      return n;
    };
    return varint((v, w) => w.int32(toNumber(v)), (r) => enumName(e, r.int32()));
  }
  switch (field.type) {
    case 'string':
      return lengthDelimited((v, w) => w.string(String(v)), (r) => r.string());
    case 'bytes':
      return lengthDelimited((v, w) => w.bytes(v as Uint8Array), (r) => Buffer.from(r.bytes()));
    case 'bool':
      return varint((v, w) => w.bool(Boolean(v)), (r) => r.bool());
    case 'uint32':
      return varint((v, w) => w.uint32(Number(v)), (r) => r.uint32());
    case 'int32':
      return varint((v, w) => w.int32(Number(v)), (r) => r.int32());
    case 'uint64':
      return varint(
        (v, w) => (isSmallUint(v) ? w.uint32(v) : w.uint64(longInput(v, true))),
        (r) => readSmallVarint(r) ?? longToNumber(r.uint64() as unknown as LongLike),
      );
    case 'int64':
      return varint(
        (v, w) => (isSmallUint(v) ? w.uint32(v) : w.int64(longInput(v, false))),
        (r) => readSmallVarint(r) ?? longToNumber(r.int64() as unknown as LongLike),
      );
    default:
      throw new TypeError(`wire codec: field ${field.name} has unsupported type ${field.type}`);
  }
}

function varint(writeBare: (v: unknown, w: protobuf.Writer) => void, read: (r: protobuf.Reader) => unknown): ScalarCodec {
  return {
    write: (v, w, id) => { w.uint32((id << 3) >>> 0); writeBare(v, w); },
    writeBare,
    read,
  };
}

function lengthDelimited(writeBare: (v: unknown, w: protobuf.Writer) => void, read: (r: protobuf.Reader) => unknown): ScalarCodec {
  return {
    write: (v, w, id) => { w.uint32(((id << 3) | 2) >>> 0); writeBare(v, w); },
    writeBare,
    read,
  };
}

interface LongStatics {
  fromValue(v: number | string, unsigned?: boolean): protobuf.Long;
}

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

type LongLike = number | { toNumber(): number };

function longToNumber(v: LongLike): number {
  return typeof v === 'number' ? v : v.toNumber();
}
