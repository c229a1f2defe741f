import { ErrnoError } from '../backing/errno-error';
import type { Next, Vop } from '../vop';
import type { CoherencyCore } from './coherency-core';

/** The path no longer names the inode whose tokens the op holds. */
class InodeMoved extends Error {
  constructor(readonly now: number | undefined) {
    super('the path names another inode now');
  }
}

const MAX_ATTEMPTS = 10;

/**
 * Runs a path-based op (truncate, chmod, chown, utimens, xattrs) on the
 * inode the path names *once its tokens are held* (issue 9, item 7): the
 * FUSE layer maps the path to an inode before any token is held, and
 * another host may replace the file meanwhile (rename(tmp, name)). Right
 * before the real op, under the tokens, the path is looked up again; if it
 * names another inode now, the op lets go and starts over on that one.
 * A path that vanished is ENOENT. Ops on an open handle need none of this:
 * a descriptor keeps meaning its inode.
 */
export async function onValidatedInode<V extends Vop, R>(
  core: CoherencyCore,
  vop: V,
  next: Next,
  ino: number,
  run: (vop: V, next: Next, ino: number) => Promise<R>,
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const checked: Next = async (v) => {
      const now = await inodeOf(core, v.path, ino);
      if (now !== ino) throw new InodeMoved(now);
      return next(v);
    };
    try {
      return await run(vop, checked, ino);
    } catch (e) {
      if (!(e instanceof InodeMoved) || attempt >= MAX_ATTEMPTS) throw e instanceof InodeMoved ? new ErrnoError('EAGAIN', `${vop.path} keeps being replaced`) : e;
      if (e.now === undefined) throw new ErrnoError('ENOENT', `${vop.path} was removed`);
      core.logger.debug('path names another inode once tokens are held; starting over', { path: vop.path, was: ino, now: e.now });
      ino = e.now;
      vop.ino = e.now;
    }
  }
}

async function inodeOf(core: CoherencyCore, path: string, ino: number): Promise<number | undefined> {
  try {
    return (await core.backing.stat({ ino, path })).ino;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
}
