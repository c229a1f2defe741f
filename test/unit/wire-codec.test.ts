import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import * as protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';
import { coherdPackage, sessionProtoRoot, sessionServiceDefinition } from '../../src/common/proto';
import { messageCodec } from '../../src/common/wire-codec';

const TWO_TO_63 = 2 ** 63;

/** Any plain object the schema allows, in the shape coherd code builds (enums as names, 64-bit as numbers). */
function arbitraryOf(type: protobuf.Type, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const plain: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of type.fieldsArray) {
    field.resolve();
    if (field.partOf) continue;
    plain[field.name] = field.repeated ? fc.array(valueOf(field, depth), { maxLength: 3 }) : valueOf(field, depth);
  }
  const base = fc.record(plain, { requiredKeys: [] });
  if (type.oneofsArray.length === 0) return base;
  const choices = type.oneofsArray.flatMap((o) => o.fieldsArray.map((f) => fc.tuple(fc.constant(f.name), valueOf(f, depth))));
  return fc.tuple(base, fc.option(fc.oneof(...choices), { nil: undefined })).map(([b, chosen]) => (chosen ? { ...b, [chosen[0]]: chosen[1] } : b));
}

function valueOf(field: protobuf.Field, depth: number): fc.Arbitrary<unknown> {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return depth > 3 ? fc.constant({}) : arbitraryOf(rt, depth + 1);
  if (rt instanceof protobuf.Enum) return fc.constantFrom(...Object.keys(rt.values));
  switch (field.type) {
    case 'string': return fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constant(42));
    case 'bool': return fc.boolean();
    case 'uint32': return fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.constantFrom(-1, 2 ** 33, 2.5));
    case 'int64':
    case 'uint64':
      return fc.oneof(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(TWO_TO_63, -TWO_TO_63, 2 ** 64, 2 ** 70, -(2 ** 70), 1.5));
    default: throw new Error(`test arbitrary: no generator for ${field.type}`);
  }
}

/** proto-loader leaves an unset oneof's name absent; the codec keeps the key (one hidden class): the same to every reader. */
function withoutUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutUndefined);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, withoutUndefined(x)]));
  }
  return v;
}

const loaded = (coherdPackage().Session as grpc.ServiceClientConstructor).service.Connect;
const root = sessionProtoRoot();

for (const [name, codec, serialize, deserialize] of [
  ['ClientMessage', messageCodec(root.lookupType('coherd.v1.ClientMessage')), loaded.requestSerialize, loaded.requestDeserialize],
  ['ServerMessage', messageCodec(root.lookupType('coherd.v1.ServerMessage')), loaded.responseSerialize, loaded.responseDeserialize],
] as const) {
  const arb = arbitraryOf(root.lookupType(`coherd.v1.${name}`));

  test(`${name}: the direct codec decodes its own bytes to what proto-loader decodes from its bytes`, () => {
    fc.assert(fc.property(arb, (m) => {
      assert.deepEqual(withoutUndefined(codec.decode(codec.encode(m))), withoutUndefined(deserialize(serialize(m))));
    }), { numRuns: 500 });
  });

  test(`${name}: bytes from either codec read the same in the other`, () => {
    fc.assert(fc.property(arb, (m) => {
      assert.deepEqual(withoutUndefined(deserialize(codec.encode(m))), withoutUndefined(codec.decode(serialize(m))));
    }), { numRuns: 500 });
  });
}

test('an enum name the schema does not know is refused when encoding', () => {
  const codec = messageCodec(root.lookupType('coherd.v1.ClientMessage'));
  assert.throws(() => codec.encode({ requestId: 1, acquire: { resource: 'r', mode: 'SIDEWAYS' } }), /SIDEWAYS/);
});

test('truncated bytes are refused when decoding', () => {
  const codec = messageCodec(root.lookupType('coherd.v1.ServerMessage'));
  const bytes = codec.encode({ requestId: 7, granted: { lock: { resource: 'some/file', lockId: 3 } } });
  assert.throws(() => codec.decode(bytes.subarray(0, bytes.length - 3)));
});

test('the Session service carries the direct codec on both directions', () => {
  const def = sessionServiceDefinition().Connect;
  const message = { requestId: 5, ackSeq: 2, releaseLockIds: [1, 2], acquire: { resource: 'r', space: 'DATA', mode: 'EXCLUSIVE' } };
  assert.deepEqual(withoutUndefined(def.requestDeserialize(def.requestSerialize(message))), withoutUndefined(loaded.requestDeserialize(loaded.requestSerialize(message))));
});
