import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { FencingToken } from '../coordinator/lock-table/types';
import { InternalError } from '../common/errors';
import { writeFileDurably } from './durable-file';
import { InodeMap } from './inode-map';

/** One followed agent, as the replica last made durable. */
export interface AgentCursor {
  agentId: string;
  /** The agent's journal directory. */
  dir: string;
  /** Every record up to this sequence is applied and durable on the mirror. */
  applied: number;
  appliedRecords: number;
  appliedBytes: number;
  lastToken: FencingToken | null;
  /** Wall-clock time of the last applied record's op (on the agent). */
  lastOpTimeMs: number | null;
  /** Set when the stream was stopped (corrupt record, late record, apply error): why. */
  stopped?: string;
}

export interface ReplicaStateData {
  version: 1;
  name: string;
  namespace: string;
  mirror: string;
  agents: Record<string, AgentCursor>;
  inodes: { entries: Array<[number, string[]]>; gone: number[] };
  rescans: number;
  savedWallMs: number;
}

const FILE = 'replica-state.json';

/**
 * The replica's cursors and inode map, in `<state dir>/replica-state.json`,
 * replaced atomically (write, fsync, rename, fsync the directory) after the
 * mirror itself was fsync'ed: a cursor never runs ahead of the mirror.
 */
export class ReplicaState {
  constructor(readonly dir: string, public data: ReplicaStateData) {}

  static async load(dir: string, init: { name: string; namespace: string; mirror: string }): Promise<ReplicaState> {
    await fsp.mkdir(dir, { recursive: true });
    const data = await readState(dir);
    if (!data) return new ReplicaState(dir, { version: 1, ...init, agents: {}, inodes: { entries: [], gone: [] }, rescans: 0, savedWallMs: 0 });
    if (data.namespace !== init.namespace || nodePath.resolve(data.mirror) !== nodePath.resolve(init.mirror)) {
      throw new InternalError('INTERNAL', 'replica state belongs to another namespace or mirror', { dir, namespace: data.namespace, mirror: data.mirror });
    }
    return new ReplicaState(dir, data);
  }

  inodeMap(): InodeMap {
    return InodeMap.fromJSON(this.data.inodes.entries, this.data.inodes.gone);
  }

  async save(inodes: InodeMap): Promise<void> {
    this.data.inodes = inodes.toJSON();
    this.data.savedWallMs = Date.now();
    await writeFileDurably(nodePath.join(this.dir, FILE), JSON.stringify(this.data));
  }
}

/** The saved state in `dir`, or undefined if there is none yet. */
export async function readState(dir: string): Promise<ReplicaStateData | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(nodePath.join(dir, FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as ReplicaStateData;
  } catch (e) {
    throw new InternalError('INTERNAL', 'replica state file is not valid JSON', { dir }, { cause: e });
  }
}
