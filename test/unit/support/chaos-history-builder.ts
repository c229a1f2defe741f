import { RunHistory } from '../../../src/chaos/history/history-file';
import { Operation } from '../../../src/chaos/history/operation';

/** Builds small histories by hand for the checker tests. */
export class HistoryBuilder {
  readonly ops: Operation[] = [];
  private nextId = 1;

  constructor(private readonly durationMs = 10_000) {}

  op(o: Omit<Operation, 'id' | 'host'> & { host?: string }): Operation {
    const op: Operation = { host: o.process, ...o, id: this.nextId++ };
    this.ops.push(op);
    return op;
  }

  /** A lock held by `process` from grantMs to releaseMs (the unlock is invoked at releaseMs). */
  hold(process: string, key: string, grantMs: number, releaseMs: number, token: [number, number], extra: { toldLostMs?: number; invokeMs?: number } = {}): Operation {
    const lock = this.op({ process, type: 'lock', key, invokeMs: extra.invokeMs ?? grantMs - 1, completeMs: grantMs, result: 'ok', fencingToken: { epoch: token[0], counter: token[1] } });
    this.op({ process, type: 'unlock', key, invokeMs: releaseMs, completeMs: releaseMs + 1, result: 'ok', lockOp: lock.id, toldLostMs: extra.toldLostMs });
    return lock;
  }

  write(process: string, key: string, value: string, invokeMs: number, completeMs: number | null, result: Operation['result'] = 'ok'): Operation {
    return this.op({ process, type: 'write', key, value, invokeMs, completeMs, result });
  }

  read(process: string, key: string, value: string | null, invokeMs: number, completeMs: number): Operation {
    return this.op({ process, type: 'read', key, value, invokeMs, completeMs, result: 'ok' });
  }

  history(): RunHistory {
    return { meta: { seed: 1, startedAt: '', durationMs: this.durationMs, options: {} }, ops: this.ops, faults: [] };
  }
}
