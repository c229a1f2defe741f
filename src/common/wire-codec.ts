import * as protobuf from 'protobufjs';
import { wireScalars } from './wire-scalars';

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
 * Like protobufjs, the per-type functions are generated, so that every
 * property access is to a known name (monomorphic in V8); a generic loop over
 * field descriptors cost twice as much per message inside the servers.
 */
export interface MessageCodec {
  encode(message: object): Buffer;
  decode(bytes: Uint8Array): Record<string, unknown>;
}

type Plain = Record<string, unknown>;

interface Compiled {
  encode(m: Plain, w: protobuf.Writer): void;
  decode(r: protobuf.Reader, end: number): Plain;
}

const compiled = new Map<protobuf.Type, Compiled>();

export function messageCodec(type: protobuf.Type): MessageCodec {
  const c = compile(type);
  return {
    encode(message) {
      const w = protobuf.Writer.create();
      c.encode(message as Plain, w);
      return w.finish() as Buffer;
    },
    decode(bytes) {
      const r = protobuf.Reader.create(bytes);
      return c.decode(r, r.len);
    },
  };
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;
const tag = (id: number, wireType: number): number => ((id << 3) | wireType) >>> 0;

/** What the generated code refers to: nested types' codecs and enums, by index. */
class Refs {
  readonly nested: Compiled[] = [];
  readonly enums: protobuf.Enum[] = [];

  nestedIndex(t: protobuf.Type): number {
    this.nested.push(compile(t));
    return this.nested.length - 1;
  }

  enumIndex(e: protobuf.Enum): number {
    this.enums.push(e);
    return this.enums.length - 1;
  }
}

function compile(type: protobuf.Type): Compiled {
  const known = compiled.get(type);
  if (known) return known;
  // Registered before generating: a message type may contain itself.
  const c: Compiled = { encode: () => undefined, decode: () => ({}) };
  compiled.set(type, c);
  const refs = new Refs();
  const fields = type.fieldsArray.map((f) => f.resolve());
  const encodeBody = fields.map((f) => encodeField(f, refs)).join('\n');
  const decodeCases = fields.map((f) => `case ${f.id}: ${decodeField(f, refs)} break;`).join('\n');
  const make = new Function('H', 'N', 'E', 'Buffer', `
    return {
      encode: function encode(m, w) { let v;\n${encodeBody}\n },
      decode: function decode(r, end) {
        const m = ${defaultsLiteral(type)};
        while (r.pos < end) {
          const t = r.uint32();
          switch (t >>> 3) {\n${decodeCases}\n default: r.skipType(t & 7); }
        }
        return m;
      },
    };`);
  Object.assign(c, make(wireScalars, refs.nested, refs.enums, Buffer));
  return c;
}

/** A fresh object per decode from one literal: one hidden class for every message of the type. */
function defaultsLiteral(type: protobuf.Type): string {
  const entries: string[] = [];
  for (const field of type.fieldsArray) {
    if (field.partOf) continue; // oneof members stay absent unless set
    let literal: string;
    if (field.repeated) literal = '[]';
    else if (field.resolvedType instanceof protobuf.Type) literal = 'null';
    else if (field.resolvedType instanceof protobuf.Enum) literal = JSON.stringify(wireScalars.enumName(field.resolvedType, 0));
    else if (field.type === 'bytes') literal = 'Buffer.alloc(0)';
    else if (field.type === 'string') literal = "''";
    else if (field.type === 'bool') literal = 'false';
    else literal = '0';
    entries.push(`${JSON.stringify(field.name)}: ${literal}`);
  }
  for (const o of type.oneofsArray) entries.push(`${JSON.stringify(o.name)}: undefined`);
  return `{ ${entries.join(', ')} }`;
}

/** Source that writes value `x` without its tag; null for a message field. */
function bareWrite(field: protobuf.Field, refs: Refs, x: string): string | null {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return null;
  if (rt instanceof protobuf.Enum) return `w.int32(H.enumNumber(E[${refs.enumIndex(rt)}], ${x}, ${JSON.stringify(field.name)}));`;
  switch (field.type) {
    case 'string': return `w.string(String(${x}));`;
    case 'bytes': return `w.bytes(${x});`;
    case 'bool': return `w.bool(Boolean(${x}));`;
    case 'uint32': return `w.uint32(Number(${x}));`;
    case 'int32': return `w.int32(Number(${x}));`;
    case 'uint64': return `H.writeUint64(w, ${x});`;
    case 'int64': return `H.writeInt64(w, ${x});`;
    default: throw new TypeError(`wire codec: field ${field.name} has unsupported type ${field.type}`);
  }
}

function wireTypeOf(field: protobuf.Field): number {
  return field.resolvedType instanceof protobuf.Type || field.type === 'string' || field.type === 'bytes' ? LENGTH_DELIMITED : VARINT;
}

function encodeField(field: protobuf.Field, refs: Refs): string {
  const get = `v = m[${JSON.stringify(field.name)}];`;
  const rt = field.resolvedType;
  const writeOne = (x: string): string => rt instanceof protobuf.Type
    ? `w.uint32(${tag(field.id, LENGTH_DELIMITED)}).fork(); N[${refs.nestedIndex(rt)}].encode(${x}, w); w.ldelim();`
    : `w.uint32(${tag(field.id, wireTypeOf(field))}); ${bareWrite(field, refs, x)}`;
  if (field.repeated) {
    const packed = wireTypeOf(field) === VARINT;
    const body = packed
      ? `w.uint32(${tag(field.id, LENGTH_DELIMITED)}).fork(); for (const x of v) { ${bareWrite(field, refs, 'x')} } w.ldelim();`
      : `for (const x of v) { ${writeOne('x')} }`;
    return `${get} if (v != null) { if (!Array.isArray(v)) throw H.notAnArray(${JSON.stringify(field.name)}); if (v.length > 0) { ${body} } }`;
  }
  // proto3: a scalar equal to its default is left out, except as a oneof member (its presence is the choice).
  const skipDefault = !field.partOf && !(rt instanceof protobuf.Type);
  const present = skipDefault ? `v != null && v !== 0 && v !== '' && v !== false` : 'v != null';
  return `${get} if (${present}) { ${writeOne('v')} }`;
}

/** Source that reads one value of the field (its tag already read) into `x`. */
function bareRead(field: protobuf.Field, refs: Refs): string {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return `(l = r.uint32(), N[${refs.nestedIndex(rt)}].decode(r, r.pos + l))`;
  if (rt instanceof protobuf.Enum) return `H.enumName(E[${refs.enumIndex(rt)}], r.int32())`;
  switch (field.type) {
    case 'string': return 'r.string()';
    case 'bytes': return 'Buffer.from(r.bytes())';
    case 'bool': return 'r.bool()';
    case 'uint32': return 'r.uint32()';
    case 'int32': return 'r.int32()';
    case 'uint64': return 'H.readUint64(r)';
    case 'int64': return 'H.readInt64(r)';
    default: throw new TypeError(`wire codec: field ${field.name} has unsupported type ${field.type}`);
  }
}

function decodeField(field: protobuf.Field, refs: Refs): string {
  const name = JSON.stringify(field.name);
  const read = bareRead(field, refs);
  if (field.repeated) {
    if (wireTypeOf(field) !== VARINT) return `{ let l; m[${name}].push(${read}); }`;
    return `{ let l; if ((t & 7) === ${LENGTH_DELIMITED}) { const e = r.uint32() + r.pos; while (r.pos < e) m[${name}].push(${read}); } else m[${name}].push(${read}); }`;
  }
  const chosen = field.partOf ? ` m[${JSON.stringify(field.partOf.name)}] = ${name};` : '';
  return `{ let l; m[${name}] = ${read};${chosen} }`;
}
