import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { FileRequest } from './file-worker-main';

export type FileAnswer = { ok: true; value?: string | null } | { ok: false; code: string };

/** A request of a held reader child (held-reader-script.ts). */
export interface HeldReadRequest {
  op: 'held-pread' | 'held-mmap' | 'reopen' | 'held-mmap-write' | 'held-mmap-rw';
  path: string;
  /** held-mmap-write: the record's text. */
  data?: string;
}

const WORKER = path.join(__dirname, 'file-worker-main.js');

/**
 * A sequential process's file calls, run by its own file worker child. A
 * call that does not answer in time (a paused or partitioned agent) ends
 * as TIMEOUT and the worker is killed, so nothing of the harness hangs.
 */
export class FileClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private waiting: { id: number; resolve: (a: FileAnswer) => void } | undefined;

  /** argv: the child to run (default: file-worker-main.js under this Node). */
  constructor(
    private readonly timeoutMs: number,
    private readonly argv: readonly string[] = [process.execPath, WORKER],
  ) {}

  call(req: Omit<FileRequest, 'id'> | HeldReadRequest): Promise<FileAnswer> {
    const child = this.worker();
    const id = this.nextId++;
    return new Promise<FileAnswer>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.kill();
        resolve({ ok: false, code: 'TIMEOUT' });
      }, this.timeoutMs);
      this.waiting = { id, resolve: (a) => { clearTimeout(timer); resolve(a); } };
      child.stdin!.write(JSON.stringify({ ...req, id }) + '\n');
    });
  }

  kill(): void {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve({ ok: false, code: 'WORKER_GONE' });
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  private worker(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(this.argv[0], this.argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdin!.on('error', () => undefined);
    child.once('error', () => {
      // Could not start (e.g. no python3): the call fails, the next one tries again.
      if (this.child === child) this.child = undefined;
      const w = this.waiting;
      this.waiting = undefined;
      w?.resolve({ ok: false, code: 'WORKER_GONE' });
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let a: { id: number } & FileAnswer;
      try {
        a = JSON.parse(line) as typeof a;
      } catch {
        return;
      }
      if (this.waiting && this.waiting.id === a.id) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(a.ok ? { ok: true, value: a.value } : { ok: false, code: a.code });
      }
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
      const w = this.waiting;
      this.waiting = undefined;
      w?.resolve({ ok: false, code: 'WORKER_GONE' });
    });
    this.child = child;
    return child;
  }
}
