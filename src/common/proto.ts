import * as path from 'node:path';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

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

export function sessionServiceDefinition(): grpc.ServiceDefinition {
  return (coherdPackage().Session as grpc.ServiceClientConstructor).service;
}

export function adminServiceDefinition(): grpc.ServiceDefinition {
  return (coherdPackage().Admin as grpc.ServiceClientConstructor).service;
}

export function sessionClientConstructor(): grpc.ServiceClientConstructor {
  return coherdPackage().Session as grpc.ServiceClientConstructor;
}

export function adminClientConstructor(): grpc.ServiceClientConstructor {
  return coherdPackage().Admin as grpc.ServiceClientConstructor;
}

/** Upper bound on one message; larger ones are refused with RESOURCE_EXHAUSTED by grpc-js. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
