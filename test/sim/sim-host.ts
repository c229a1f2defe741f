import type { Clock } from '../../src/common/clock';
import type { Logger } from '../../src/common/logger';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import type { CoherencyBacking } from '../../src/agent/coherency/coherency-backing';
import { compose } from '../../src/agent/hooks/compose';
import { CoherencyHook, createCoherencyHook } from '../../src/agent/hooks/coherency';
import type { Terminal, Vop, VopName, VopOf, VopResults, VopRunner } from '../../src/agent/vop';
import type { SimNetwork } from './sim-network';
import type { SimStore } from './sim-store';

export const TTL_MS = 2000;

/**
 * One host: the real CoherdClient (session stream, revoke answering,
 * resume and reclaim, self-fencing) and the real coherency hook (token
 * cache, page cache, write-back, revoke handler) over the simulated
 * network and store, with a small file API that builds vops as the FUSE
 * layer does.
 */
export class SimHost {
  client!: CoherdClient;
  hook!: CoherencyHook;
  private run!: VopRunner;
  private readonly handles = new Map<number, { ino: number; append: boolean }>();
  private nextFh = 1;
  private readonly signal = new AbortController().signal;

  constructor(readonly name: string, readonly clock: Clock, private readonly logger: Logger, private readonly store: SimStore) {}

  async start(net: SimNetwork): Promise<void> {
    this.client = await CoherdClient.connect({
      endpoints: ['coordinator'], clientName: this.name, ttlMs: TTL_MS, clock: this.clock, logger: this.logger,
      renewSession: true, connectTimeoutMs: 10_000, openLink: net.factoryFor(this.name),
    });
    const backing: CoherencyBacking = {
      write: async (file, offset, data) => { await this.store.pwrite(this.name, file.ino, offset, data); },
      stat: (file) => this.store.stat(this.name, file.ino),
    };
    this.hook = createCoherencyHook({ client: this.client, namespace: 'ns', clock: this.clock, logger: this.logger, backing });
    this.run = compose([this.hook], this.terminal());
  }

  get core() {
    return this.hook.core;
  }

  open(ino: number, append = false): number {
    const fh = this.nextFh++;
    this.handles.set(fh, { ino, append });
    return fh;
  }

  async read(fh: number, offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    const n = await this.vop('read', fh, { fh, buffer, length, offset });
    return buffer.subarray(0, n);
  }

  write(fh: number, offset: number, data: Buffer): Promise<number> {
    return this.vop('write', fh, { fh, data, offset });
  }

  fsync(fh: number): Promise<void> {
    return this.vop('fsync', fh, { fh, datasync: false });
  }

  truncate(fh: number, size: number): Promise<void> {
    return this.vop('truncate', fh, { size, fh });
  }

  private vop<N extends VopName>(op: N, fh: number, args: VopOf<N>['args']): Promise<VopResults[N]> {
    const h = this.handles.get(fh);
    return this.run({ op, path: `/f${h?.ino}`, ino: h?.ino, args, signal: this.signal } as VopOf<N>);
  }

  /** The real operations on the store, as the backing store runs them. */
  private terminal(): Terminal {
    const handle = (fh: number) => {
      const h = this.handles.get(fh);
      if (!h) throw new Error(`bad handle ${fh}`);
      return h;
    };
    return async (vop: Vop): Promise<never> => {
      const r = await this.terminalOp(vop, handle);
      return r as never;
    };
  }

  private async terminalOp(vop: Vop, handle: (fh: number) => { ino: number; append: boolean }): Promise<unknown> {
    switch (vop.op) {
      case 'read': {
        const data = await this.store.pread(this.name, handle(vop.args.fh).ino, vop.args.offset, vop.args.length);
        return data.copy(vop.args.buffer);
      }
      case 'write': {
        const h = handle(vop.args.fh);
        return this.store.pwrite(this.name, h.ino, vop.args.offset, vop.args.data, h.append);
      }
      case 'getattr':
        return this.store.stat(this.name, vop.ino as number);
      case 'truncate':
        return this.store.truncate(this.name, vop.ino as number, vop.args.size);
      case 'fsync': case 'flush': case 'release':
        return undefined;
      default:
        throw new Error(`sim store: ${vop.op}`);
    }
  }
}

