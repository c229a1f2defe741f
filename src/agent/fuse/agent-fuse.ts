import { VopDirEntry, VopStat, VopStatfs } from '../vop';
import { fuseErrno } from './fuse-errno';
import { FuseNativeClass, FuseNativeInstance, FuseNativeModule, FuseSignal } from './fuse-native-binding';
import { toStatArray, toStatfsArray } from './fuse-stat';

type Reply<T> = (code: number, value?: T) => void;

/**
 * The ops whose fuse-native adapters this subclass replaces; they receive
 * vop-level values (VopStat, entries, Buffers) and the subclass encodes the
 * wire format itself.
 */
export interface AgentFuseOwnOps {
  getattr(path: string, reply: Reply<VopStat>): void;
  fgetattr(path: string, fh: number, reply: Reply<VopStat>): void;
  readdir(path: string, reply: Reply<VopDirEntry[]>): void;
  statfs(path: string, reply: Reply<VopStatfs>): void;
  getxattr(path: string, name: string, reply: Reply<Buffer>): void;
  listxattr(path: string, reply: Reply<string[]>): void;
}

export interface AgentFuseOptions {
  /** The complete -o option list, built by fuse-options.ts. */
  mountOptions: string[];
  /** Unmounts the kernel side (fusermount -uz, abort fallback); must resolve once nothing is mounted. */
  detach: (mountPoint: string) => Promise<void>;
}

export type AgentFuse = FuseNativeInstance;

/**
 * Subclasses fuse-native 2.2.6 to fix what its adapters get wrong:
 * - `_fuseOptions`: the options string is ours (fuse-native drops values
 *   of 0 and knows no direct_io/big_writes/negative_timeout/use_ino).
 * - `_op_fgetattr`: fuse-native calls ops.getattr(path) and loses the
 *   handle; this passes it, so fstat works on renamed and unlinked files.
 * - `_op_getattr`/`_op_readdir`/`_op_statfs`: our own wire encoding
 *   (32-bit ino, scaled block counts).
 * - `_op_getxattr`/`_op_listxattr`: fuse-native ignores the caller's
 *   buffer size (it truncates silently); this answers ERANGE as the kernel
 *   expects, and the size when asked for it (size 0).
 * - `_close`: unmount via our detach (which falls back to the fusectl
 *   abort), then release the native loop handle.
 */
export function createAgentFuseClass(Fuse: FuseNativeClass, binding: FuseNativeModule): new (mnt: string, ops: object, opts: object) => AgentFuse {
  class Subclass extends Fuse {
    private get own(): AgentFuseOwnOps {
      return this.ops as unknown as AgentFuseOwnOps;
    }

    private get agentOptions(): AgentFuseOptions {
      return this.opts.agent as AgentFuseOptions;
    }

    _fuseOptions(): string {
      return '-o' + this.agentOptions.mountOptions.join(',');
    }

    _op_getattr(signal: FuseSignal, path: string): void {
      this.own.getattr(path, (code, st) => (code === 0 && st ? signal(0, toStatArray(st)) : signal(code)));
    }

    _op_fgetattr(signal: FuseSignal, path: string, fh: number): void {
      this.own.fgetattr(path, fh, (code, st) => (code === 0 && st ? signal(0, toStatArray(st)) : signal(code)));
    }

    _op_readdir(signal: FuseSignal, path: string): void {
      this.own.readdir(path, (code, entries) => {
        if (code !== 0 || !entries) return signal(code);
        const withStat = entries.filter((e) => e.stat);
        return signal(0, withStat.map((e) => e.name), withStat.map((e) => toStatArray(e.stat!)));
      });
    }

    _op_statfs(signal: FuseSignal, path: string): void {
      this.own.statfs(path, (code, st) => (code === 0 && st ? signal(0, toStatfsArray(st)) : signal(code)));
    }

    _op_getxattr(signal: FuseSignal, path: string, name: string, valueBuf: Buffer): void {
      this.own.getxattr(path, name, (code, value) => {
        if (code !== 0 || !value) return signal(code || fuseErrno('ENODATA'), valueBuf.buffer);
        if (valueBuf.length === 0) return signal(value.length, valueBuf.buffer);
        if (value.length > valueBuf.length) return signal(fuseErrno('ERANGE'), valueBuf.buffer);
        value.copy(valueBuf);
        return signal(value.length, valueBuf.buffer);
      });
    }

    _op_listxattr(signal: FuseSignal, path: string, listBuf: Buffer): void {
      this.own.listxattr(path, (code, names) => {
        if (code !== 0 || !names) return signal(code, listBuf.buffer);
        const encoded = Buffer.concat(names.map((n) => Buffer.from(n + '\0')));
        if (listBuf.length === 0) return signal(encoded.length, listBuf.buffer);
        if (encoded.length > listBuf.length) return signal(fuseErrno('ERANGE'), listBuf.buffer);
        encoded.copy(listBuf);
        return signal(encoded.length, listBuf.buffer);
      });
    }

    _close(cb: (err: Error | null) => void): void {
      this.agentOptions.detach(this.mnt).then(() => {
        try {
          if (this._thread) binding.fuse_native_unmount(this.mnt, this._thread);
        } catch (e) {
          return cb(e as Error);
        }
        return cb(null);
      }, (e: Error) => cb(e));
    }
  }
  return Subclass as unknown as new (mnt: string, ops: object, opts: object) => AgentFuse;
}
