import type { BenchContext, SubjectRole } from './types';

/**
 * The lock cases (P1–P3) drive any exclusive lock service through these
 * three interfaces: coherd, etcd's Lock service and the etcd3 npm Lock each
 * implement them in a few lines.
 */

/** A lock held by one contender. */
export interface HeldLock {
  /** Gives the lock back; resolves when the service has taken it back. */
  release(): Promise<void>;
}

/** One contender: its own connection and session. */
export interface LockClient {
  /** Resolves once `key` is held exclusively, waiting behind other holders. */
  acquire(key: string): Promise<HeldLock>;
  /** Closes the connection and ends the session. */
  close(): Promise<void>;
}

/** A running lock service (its servers, if it has its own, started by create()). */
export interface LockSystem {
  /** Opens a contender; `clientName` is unique within the system. */
  connect(clientName: string): Promise<LockClient>;
  /** Stops whatever create() started. Contenders are closed before this. */
  close(): Promise<void>;
}

/** How a case gets a fresh lock system for each measurement. */
export interface LockSystemSpec {
  /** Subject name in the results: 'coherd', 'etcd-v3lock', 'etcd3-npm-lock'. */
  name: string;
  role: SubjectRole;
  create(ctx: BenchContext): Promise<LockSystem>;
}

/** Opens `count` contenders and registers their teardown; closes all if one fails. */
export async function connectContenders(
  ctx: BenchContext,
  system: LockSystem,
  prefix: string,
  count: number,
): Promise<{ clients: LockClient[]; close: () => Promise<void> }> {
  const clients: LockClient[] = [];
  const close = ctx.cleanup.add({
    name: `${prefix} contenders`,
    run: async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  });
  try {
    for (let i = 0; i < count; i++) clients.push(await system.connect(`${prefix}-${i}`));
  } catch (e) {
    await close();
    throw e;
  }
  return { clients, close };
}

/** Creates the system, registers its teardown and runs `body`; always closes. */
export async function withLockSystem<T>(
  ctx: BenchContext,
  spec: LockSystemSpec,
  body: (system: LockSystem) => Promise<T>,
): Promise<T> {
  const system = await spec.create(ctx);
  const close = ctx.cleanup.add({ name: `${spec.name} system`, run: () => system.close() });
  try {
    return await body(system);
  } finally {
    await close();
  }
}
