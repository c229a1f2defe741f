import { promises as fsp } from 'node:fs';
import { OpType } from '../history/operation';
import { FileAnswer, FileClient } from './file-client';
import { CREATED_THEN, RECORD_BYTES } from './file-worker-main';
import { DEFINITE_FAILURES, Workload, WorkloadContext, sleep } from './workload';

/** The shared directory (under data/) and its names: pairs pN-a, pN-b. */
export const NAMES_DIR = 'names';
export const NAME_PAIRS = 3;

/** names/pN-a or names/pN-b. */
export function nameKey(pair: number, slot: 'a' | 'b'): string {
  return `${NAMES_DIR}/p${pair}-${slot}`;
}

type Kind = 'create' | 'unlink' | 'rename' | 'stat' | 'read';
const KINDS: readonly Kind[] = ['create', 'create', 'create', 'unlink', 'unlink', 'rename', 'stat', 'stat', 'stat', 'read', 'read', 'read'];

/**
 * Namespace coherence: every agent host creates (O_EXCL, a unique value),
 * unlinks, renames (within a pair, a→b or b→a, replacing the target) and
 * observes (stat, read of the content) the same six names of one shared
 * directory. Checked per pair by namespace-linearizability. An ENOENT is
 * only believed if the directory was there, on the same mount, before and
 * after the call (a stopped agent's bare mount point has no data/).
 */
export class NamesWorkload implements Workload {
  readonly name = 'names';

  async prepare(ctx: WorkloadContext): Promise<void> {
    await fsp.mkdir(ctx.cluster.bak(NAMES_DIR), { recursive: true });
  }

  async run(ctx: WorkloadContext): Promise<void> {
    await Promise.all(ctx.cluster.agents.map((_, i) => this.loop(ctx, i)));
  }

  private async loop(ctx: WorkloadContext, agent: number): Promise<void> {
    const host = `agent-${agent}`;
    const process = `${host}/names`;
    const rnd = ctx.rnd.fork(process);
    const files = new FileClient(ctx.opTimeoutMs);
    const guard = ctx.cluster.mnt(agent, NAMES_DIR);
    const path = (key: string) => ctx.cluster.mnt(agent, key);
    try {
      for (let n = 0; ctx.running() && n < ctx.maxOpsPerProcess; n++) {
        const pair = rnd.int(0, NAME_PAIRS - 1);
        const slot = rnd.pick(['a', 'b'] as const);
        const key = nameKey(pair, slot);
        const kind = rnd.pick(KINDS);
        if (kind === 'stat' || kind === 'read') {
          const op = ctx.rec.invoke({ process, host, type: `name-${kind}`, key });
          const a = await files.call({ op: kind === 'stat' ? 'stat' : 'read-record', path: path(key), guard });
          if (a.ok) ctx.rec.complete(op, 'ok', kind === 'read' ? { value: a.value ?? '' } : {});
          else ctx.rec.complete(op, 'fail', { error: a.code });
        } else {
          const to = nameKey(pair, slot === 'a' ? 'b' : 'a');
          const value = `${process}#${n}`;
          const op = ctx.rec.invoke({ process, host, type: `name-${kind}` as OpType, key: kind === 'rename' ? `${key}>${to}` : key, ...(kind === 'create' ? { value } : {}) });
          const a = await files.call(kind === 'rename' ? { op: 'rename', path: path(key), to: path(to), guard } : { op: kind, path: path(key), data: value, guard });
          settle(ctx, op, a);
        }
        await sleep(rnd.int(10, 60));
      }
    } finally {
      files.kill();
    }
  }

  /** After the agents stopped: each name as the backing store holds it, a last read. */
  async finish(ctx: WorkloadContext): Promise<void> {
    for (let pair = 0; pair < NAME_PAIRS; pair++) {
      for (const slot of ['a', 'b'] as const) {
        const key = nameKey(pair, slot);
        const op = ctx.rec.invoke({ process: 'backing/final', host: 'backing', type: 'name-read', key });
        try {
          const data = await fsp.readFile(ctx.cluster.bak(key));
          ctx.rec.complete(op, 'ok', { value: data.subarray(0, RECORD_BYTES).toString('utf8').replace(/[\s\0]+$/, '') });
        } catch (e) {
          ctx.rec.complete(op, 'fail', { error: (e as NodeJS.ErrnoException).code ?? 'EIO' });
        }
      }
    }
  }
}

/**
 * A mutation's answer: ok; a create whose open succeeded but whose write
 * or close failed (CREATED_THEN_…: the name exists, its content is
 * unknown) is ok with that error; a definite failure (ENOENT, EEXIST,
 * ENOMOUNT: nothing happened); else ambiguous.
 */
function settle(ctx: WorkloadContext, op: Parameters<WorkloadContext['rec']['complete']>[0], a: FileAnswer): void {
  if (a.ok) ctx.rec.complete(op, 'ok');
  else if (a.code.startsWith(CREATED_THEN)) ctx.rec.complete(op, 'ok', { error: a.code });
  else if (DEFINITE_FAILURES.has(a.code) || a.code === 'ENOMOUNT') ctx.rec.complete(op, 'fail', { error: a.code });
  else ctx.rec.ambiguous(op, a.code);
}
