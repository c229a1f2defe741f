import { FaultRecord, FencingTokenValue, LeaseRecord, OpType, Operation } from './operation';

export interface InvokeFields {
  process: string;
  host: string;
  type: OpType;
  key: string;
  value?: Operation['value'];
  fencingToken?: FencingTokenValue;
  leaseDeadlineMs?: number;
  lockOp?: number;
}

/**
 * Where workloads and faults write what happened, on one clock: ms since
 * the run started (performance.now() based, like the clients' own lease
 * deadlines, which toRunMs converts).
 */
export class Recorder {
  readonly ops: Operation[] = [];
  readonly faults: FaultRecord[] = [];
  readonly leases: LeaseRecord[] = [];
  private nextOp = 1;
  private nextFault = 1;
  readonly t0 = performance.now();

  now(): number {
    return performance.now() - this.t0;
  }

  /** A performance.now() reading (a client's lease deadline) on the run's scale. */
  toRunMs(perfMs: number): number {
    return perfMs - this.t0;
  }

  /** Opens an operation: 'info' with no completion until complete() says otherwise. */
  invoke(f: InvokeFields): Operation {
    const op: Operation = { id: this.nextOp++, ...f, invokeMs: this.now(), completeMs: null, result: 'info' };
    this.ops.push(op);
    return op;
  }

  complete(op: Operation, result: Operation['result'], extra: Partial<Operation> = {}): Operation {
    Object.assign(op, extra, { result, completeMs: this.now() });
    return op;
  }

  /** An operation whose outcome stays unknown (timeout, crash): it keeps completeMs null. */
  ambiguous(op: Operation, error: string): Operation {
    Object.assign(op, { result: 'info', completeMs: null, error });
    return op;
  }

  /** An agent said its lease deadline is remainingMs from now (null: fenced, it holds nothing). */
  leaseSeen(host: string, remainingMs: number | null): void {
    const atMs = this.now();
    this.leases.push({ host, atMs, deadlineMs: remainingMs === null ? null : atMs + remainingMs });
  }

  faultStarted(fault: string, target: string, detail?: string): FaultRecord {
    const f: FaultRecord = { id: this.nextFault++, fault, target, startMs: this.now(), endMs: null, detail };
    this.faults.push(f);
    return f;
  }

  faultEnded(f: FaultRecord, detail?: string): void {
    f.endMs = this.now();
    if (detail) f.detail = f.detail ? `${f.detail}; ${detail}` : detail;
  }
}
