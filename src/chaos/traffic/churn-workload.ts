import { FileClient } from './file-client';
import { DEFINITE_FAILURES, Workload, WorkloadContext, sleep } from './workload';

/**
 * Namespace churn in one directory (the mount's root): each agent host
 * creates, renames and unlinks its own names while the others do theirs,
 * sometimes touching another host's names. Recorded for the timeline;
 * errors other than the expected ENOENT/EEXIST are ambiguous.
 */
export class ChurnWorkload implements Workload {
  readonly name = 'churn';

  async run(ctx: WorkloadContext): Promise<void> {
    await Promise.all(ctx.cluster.agents.map((_, i) => this.loop(ctx, i)));
  }

  private async loop(ctx: WorkloadContext, agent: number): Promise<void> {
    const host = `agent-${agent}`;
    const process = `${host}/churn`;
    const rnd = ctx.rnd.fork(process);
    const files = new FileClient(ctx.opTimeoutMs);
    const agents = ctx.cluster.agents.length;
    try {
      for (let n = 0; ctx.running() && n < ctx.maxOpsPerProcess; n++) {
        const owner = rnd.next() < 0.8 ? agent : rnd.int(0, agents - 1);
        const name = `churn-${owner}-${rnd.int(0, 7)}`;
        const kind = rnd.pick(['create', 'rename', 'unlink'] as const);
        const key = kind === 'rename' ? `${name}>${name}.r` : name;
        const op = ctx.rec.invoke({ process, host, type: kind, key });
        const a = await files.call(kind === 'rename'
          ? { op: 'rename', path: ctx.cluster.mnt(agent, name), to: ctx.cluster.mnt(agent, `${name}.r`) }
          : { op: kind, path: ctx.cluster.mnt(agent, rnd.next() < 0.3 && kind === 'unlink' ? `${name}.r` : name), data: value(n) });
        if (a.ok) ctx.rec.complete(op, 'ok');
        else if (DEFINITE_FAILURES.has(a.code)) ctx.rec.complete(op, 'fail', { error: a.code });
        else ctx.rec.ambiguous(op, a.code);
        await sleep(rnd.int(20, 100));
      }
    } finally {
      files.kill();
    }
  }
}

function value(n: number): string {
  return `churn ${n}\n`;
}
