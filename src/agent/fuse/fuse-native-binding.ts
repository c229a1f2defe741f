import * as nodePath from 'path';
import { InternalError } from '../../common/errors';

/** Callback style of fuse-native: `cb(errnoOrResult, ...values)`; errors are negative errnos. */
export type FuseCallback = (code: number, ...values: unknown[]) => void;
/** fuse-native's internal reply function handed to `_op_*` methods. */
export type FuseSignal = (code: number, ...values: unknown[]) => void;

/** The part of fuse-native 2.2.6's class this module relies on (it ships no types). */
export interface FuseNativeInstance {
  readonly mnt: string;
  readonly ops: Record<string, (...args: never[]) => void>;
  readonly opts: Record<string, unknown>;
  readonly _thread: Buffer | null;
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

export interface FuseNativeClass {
  new (mnt: string, ops: object, opts: object): FuseNativeInstance;
  [errno: string]: unknown;
}

/** The native module's unmount entry point (releases the loop handle after the kernel side is gone). */
export interface FuseNativeModule {
  fuse_native_unmount(mnt: string, thread: Buffer): void;
}

let loaded: { Fuse: FuseNativeClass; binding: FuseNativeModule } | null = null;

/** Loads fuse-native (an optional dependency) and its native binding, once. */
export function loadFuseNative(): { Fuse: FuseNativeClass; binding: FuseNativeModule } {
  if (loaded) return loaded;
  try {
    const Fuse = require('fuse-native') as FuseNativeClass;
    const dir = nodePath.dirname(require.resolve('fuse-native/package.json'));
    const nodeGypBuild = require(require.resolve('node-gyp-build', { paths: [dir] })) as (d: string) => FuseNativeModule;
    loaded = { Fuse, binding: nodeGypBuild(dir) };
    return loaded;
  } catch (e) {
    throw new InternalError('INTERNAL', 'fuse-native is not installed or failed to load', {}, { cause: e });
  }
}
