import { promises as fsp } from 'node:fs';
import { FileClient } from './file-client';
import { HELD_READER_ARGV } from './held-reader-script';
import { RECORD_BYTES } from './file-worker-main';
import { DEFINITE_FAILURES, Workload, WorkloadContext, sleep } from './workload';

/**
 * Per-file registers through different mounts: each agent host runs a
 * process that reads (pread of a 64-byte record) or writes (pwrite of a
 * unique value, fsync) one of a few files at random. With `rmw`, every
 * process instead reads one shared file and writes it back (concurrent
 * read-then-write from several hosts); both are checked as registers.
 * In 'register' mode each host also runs held readers: processes that keep
 * their O_RDONLY opens across reads (re-reads a page cache may serve), by
 * pread (a tenth of its reads open the file anew first) and, in the
 * 'register-mmap' workload (files regm-N), also through a shared mapping
 * of the kept open; their reads are register reads too. The
 * 'register-mmap-write' workload (files regw-N, made one record long) adds
 * a process per host that writes records through a kept read-write shared
 * mapping (msync ends the write) and reads them back through it.
 */
export type HeldReader = 'pread' | 'mmap' | 'mmap-write';

export class RegisterWorkload implements Workload {
  readonly name: string;
  private readonly keys: string[];

  constructor(
    private readonly mode: 'register' | 'rmw',
    files = 3,
    private readonly heldReaders: readonly HeldReader[] = mode === 'register' ? ['pread'] : [],
  ) {
    const mmap = heldReaders.includes('mmap');
    const mmapWrite = heldReaders.includes('mmap-write');
    this.name = mmapWrite ? `${mode}-mmap-write` : mmap ? `${mode}-mmap` : mode;
    const prefix = mmapWrite ? 'regw' : mmap ? 'regm' : 'reg';
    this.keys = mode === 'rmw' ? ['rmw-0'] : Array.from({ length: files }, (_, i) => `${prefix}-${i}`);
  }

  async prepare(ctx: WorkloadContext): Promise<void> {
    // A mapping of a record beyond the end of the file would fault (SIGBUS): mapped files start one blank record long.
    const initial = this.heldReaders.includes('mmap-write') ? `${' '.repeat(RECORD_BYTES - 1)}\n` : '';
    for (const key of this.keys) await fsp.writeFile(ctx.cluster.bak(key), initial);
  }

  async run(ctx: WorkloadContext): Promise<void> {
    await Promise.all(ctx.cluster.agents.flatMap((_, i) => [this.loop(ctx, i), ...this.heldReaders.map((r) => this.heldLoop(ctx, i, r))]));
  }

  /** A held reader on agent `agent`: reads only, through opens (and mappings) it keeps. */
  private async heldLoop(ctx: WorkloadContext, agent: number, kind: HeldReader): Promise<void> {
    const host = `agent-${agent}`;
    const process = `${host}/held-${kind}`;
    const rnd = ctx.rnd.fork(process);
    const files = new FileClient(ctx.opTimeoutMs, HELD_READER_ARGV);
    try {
      for (let n = 0; ctx.running() && n < ctx.maxOpsPerProcess; n++) {
        const key = rnd.pick(this.keys);
        if (kind === 'mmap-write' && rnd.next() < 0.5) {
          await this.mappedWrite(ctx, files, { process, host, key, agent, value: `${process}#${n}` });
          await sleep(rnd.int(5, 40));
          continue;
        }
        const how = kind === 'mmap-write' ? 'held-mmap-rw' : kind === 'mmap' ? 'held-mmap' : rnd.next() < 0.1 ? 'reopen' : 'held-pread';
        const op = ctx.rec.invoke({ process, host, type: 'read', key });
        const a = await files.call({ op: how, path: ctx.cluster.mnt(agent, key) });
        if (a.ok) ctx.rec.complete(op, 'ok', { value: a.value ?? null });
        else ctx.rec.complete(op, 'fail', { error: a.code });
        await sleep(rnd.int(5, 40));
      }
    } finally {
      files.kill();
    }
  }

  /**
   * A store through the kept mapping, ended by msync. A failure is
   * ambiguous: a revoke may have written the dirty page back before the
   * msync that failed.
   */
  private async mappedWrite(ctx: WorkloadContext, files: FileClient, w: { process: string; host: string; key: string; agent: number; value: string }): Promise<void> {
    const op = ctx.rec.invoke({ process: w.process, host: w.host, type: 'write', key: w.key, value: w.value });
    const a = await files.call({ op: 'held-mmap-write', path: ctx.cluster.mnt(w.agent, w.key), data: w.value });
    if (a.ok) ctx.rec.complete(op, 'ok');
    else ctx.rec.ambiguous(op, a.code);
  }

  private async loop(ctx: WorkloadContext, agent: number): Promise<void> {
    const host = `agent-${agent}`;
    const process = `${host}/${this.name}`;
    const rnd = ctx.rnd.fork(process);
    const files = new FileClient(ctx.opTimeoutMs);
    try {
      for (let n = 0; ctx.running() && n < ctx.maxOpsPerProcess; n++) {
        const key = rnd.pick(this.keys);
        const path = ctx.cluster.mnt(agent, key);
        if (this.mode === 'rmw' || rnd.next() < 0.5) {
          const op = ctx.rec.invoke({ process, host, type: 'read', key });
          const a = await files.call({ op: 'read-record', path });
          if (a.ok) ctx.rec.complete(op, 'ok', { value: a.value ?? null });
          else ctx.rec.complete(op, 'fail', { error: a.code });
          if (this.mode === 'register' || !a.ok) {
            await sleep(rnd.int(10, 80));
            continue;
          }
        }
        const value = `${process}#${n}`;
        const op = ctx.rec.invoke({ process, host, type: 'write', key, value });
        const a = await files.call({ op: 'write-record', path, data: value });
        if (a.ok) ctx.rec.complete(op, 'ok');
        else if (DEFINITE_FAILURES.has(a.code)) ctx.rec.complete(op, 'fail', { error: a.code });
        else ctx.rec.ambiguous(op, a.code);
        await sleep(rnd.int(10, 80));
      }
    } finally {
      files.kill();
    }
  }

  /** After the agents stopped: each file as the backing store holds it, a last read. */
  async finish(ctx: WorkloadContext): Promise<void> {
    for (const key of this.keys) {
      const op = ctx.rec.invoke({ process: 'backing/final', host: 'backing', type: 'read', key });
      const data = await fsp.readFile(ctx.cluster.bak(key)).catch(() => Buffer.alloc(0));
      const text = data.subarray(0, RECORD_BYTES).toString('utf8').replace(/[\s\0]+$/, '');
      ctx.rec.complete(op, 'ok', { value: text === '' ? null : text });
    }
  }
}
