import * as path from 'node:path';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { messageCodec } from './wire-codec';

/** Finds protos/ whether running from src (tsx) or dist (compiled). */
function protosDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'protos');
    if (fs.existsSync(path.join(candidate, 'coherd', 'v1', 'session.proto'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('protos/coherd/v1 not found above ' + __dirname);
}

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: grpc.GrpcObject | undefined;

/** The coherd.v1 package, loaded once per process. */
export function coherdPackage(): grpc.GrpcObject {
  if (!cached) {
    const dir = protosDir();
    const def = protoLoader.loadSync(['coherd/v1/session.proto', 'coherd/v1/admin.proto'], { ...LOADER_OPTIONS, includeDirs: [dir] });
    const root = grpc.loadPackageDefinition(def) as unknown as { coherd: { v1: grpc.GrpcObject } };
    cached = root.coherd.v1;
  }
  return cached;
}

let sessionRoot: protobuf.Root | undefined;

/** session.proto (and what it imports) as protobufjs reflection, loaded once per process. */
export function sessionProtoRoot(): protobuf.Root {
  if (!sessionRoot) {
    const dir = protosDir();
    sessionRoot = new protobuf.Root();
    sessionRoot.resolvePath = (_origin, target) => path.join(dir, target);
    sessionRoot.loadSync('coherd/v1/session.proto', { keepCase: false });
  }
  return sessionRoot;
}

let sessionService: grpc.ServiceDefinition | undefined;

/**
 * The Session service with the direct wire codec (wire-codec.ts) on its
 * stream: the same bytes and the same decoded shape as proto-loader's, at a
 * fraction of the CPU. Admin keeps proto-loader's (its calls are rare).
 */
export function sessionServiceDefinition(): grpc.ServiceDefinition {
  if (!sessionService) {
    const loaded = (coherdPackage().Session as grpc.ServiceClientConstructor).service;
    const root = sessionProtoRoot();
    const client = messageCodec(root.lookupType('coherd.v1.ClientMessage'));
    const server = messageCodec(root.lookupType('coherd.v1.ServerMessage'));
    sessionService = {
      Connect: {
        ...loaded.Connect,
        requestSerialize: (m: object) => client.encode(m),
        requestDeserialize: (b: Buffer) => client.decode(b),
        responseSerialize: (m: object) => server.encode(m),
        responseDeserialize: (b: Buffer) => server.decode(b),
      },
    };
  }
  return sessionService;
}

export function adminServiceDefinition(): grpc.ServiceDefinition {
  return (coherdPackage().Admin as grpc.ServiceClientConstructor).service;
}

let sessionClient: grpc.ServiceClientConstructor | undefined;

export function sessionClientConstructor(): grpc.ServiceClientConstructor {
  sessionClient ??= grpc.makeClientConstructor(sessionServiceDefinition(), 'coherd.v1.Session');
  return sessionClient;
}

export function adminClientConstructor(): grpc.ServiceClientConstructor {
  return coherdPackage().Admin as grpc.ServiceClientConstructor;
}

/** Upper bound on one message; larger ones are refused with RESOURCE_EXHAUSTED by grpc-js. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
