import { promises as fsp } from 'node:fs';
import { FileClient } from './file-client';
import { DEFINITE_FAILURES, Workload, WorkloadContext, sleep } from './workload';

/**
 * Appenders: every agent host appends unique lines to one shared file
 * (O_APPEND, then fsync). What fsync acknowledged must be in the backing
 * file after the run, once (lost-writes checker).
 */
export class AppendWorkload implements Workload {
  readonly name = 'append';
  private readonly key = 'append-log';

  async prepare(ctx: WorkloadContext): Promise<void> {
    await fsp.writeFile(ctx.cluster.bak(this.key), '');
  }

  async run(ctx: WorkloadContext): Promise<void> {
    await Promise.all(ctx.cluster.agents.map((_, i) => this.loop(ctx, i)));
  }

  private async loop(ctx: WorkloadContext, agent: number): Promise<void> {
    const host = `agent-${agent}`;
    const process = `${host}/append`;
    const rnd = ctx.rnd.fork(process);
    const files = new FileClient(ctx.opTimeoutMs);
    try {
      for (let n = 0; ctx.running() && n < ctx.maxOpsPerProcess; n++) {
        const value = `${process}#${n}`;
        const op = ctx.rec.invoke({ process, host, type: 'append', key: this.key, value });
        const a = await files.call({ op: 'append', path: ctx.cluster.mnt(agent, this.key), data: value });
        if (a.ok) ctx.rec.complete(op, 'ok');
        else if (DEFINITE_FAILURES.has(a.code)) ctx.rec.complete(op, 'fail', { error: a.code });
        else ctx.rec.ambiguous(op, a.code);
        await sleep(rnd.int(20, 120));
      }
    } finally {
      files.kill();
    }
  }

  async finish(ctx: WorkloadContext): Promise<void> {
    const op = ctx.rec.invoke({ process: 'backing/final', host: 'backing', type: 'final-read', key: this.key });
    const text = await fsp.readFile(ctx.cluster.bak(this.key), 'utf8').catch(() => '');
    ctx.rec.complete(op, 'ok', { value: text.split('\n').filter((l) => l !== '') });
  }
}
