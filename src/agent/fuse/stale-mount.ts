import { execFile } from 'child_process';
import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { promisify } from 'util';
import { InternalError } from '../../common/errors';
import { Logger } from '../../common/logger';

const execFileAsync = promisify(execFile);
const FUSECTL_DIR = '/sys/fs/fuse/connections';

export interface MountInfoEntry {
  mountPoint: string;
  /** Device numbers of the mount; for FUSE, the minor is the fusectl connection id. */
  major: number;
  minor: number;
  fsType: string;
  source: string;
}

/** Parses /proc/self/mountinfo (octal escapes such as \040 decoded). */
export async function readMountInfo(): Promise<MountInfoEntry[]> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const f = left.split(' ');
    const r = (right ?? '').split(' ');
    const [major, minor] = (f[2] ?? '').split(':').map(Number);
    out.push({ mountPoint: unescapeMountField(f[4] ?? ''), major, minor, fsType: r[0] ?? '', source: unescapeMountField(r[1] ?? '') });
  }
  return out;
}

function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The topmost mount at exactly this path, if any. */
export async function findMount(mountPoint: string): Promise<MountInfoEntry | undefined> {
  const target = nodePath.resolve(mountPoint);
  const entries = (await readMountInfo()).filter((e) => e.mountPoint === target);
  return entries[entries.length - 1];
}

export function isFuseMount(entry: MountInfoEntry): boolean {
  return entry.fsType === 'fuse' || entry.fsType.startsWith('fuse.') || entry.fsType === 'fuseblk';
}

/** Aborts a FUSE connection through fusectl (mounting fusectl first if needed). */
export async function abortFuseConnection(minor: number, logger: Logger): Promise<void> {
  const abortFile = nodePath.join(FUSECTL_DIR, String(minor), 'abort');
  const exists = () => fsp.access(abortFile).then(() => true, () => false);
  if (!(await exists())) {
    await execFileAsync('mount', ['-t', 'fusectl', 'fusectl', FUSECTL_DIR]).catch((e: Error) => {
      logger.debug('mounting fusectl failed (may already be mounted)', { error: e.message });
    });
  }
  if (!(await exists())) throw new InternalError('INTERNAL', 'no fusectl abort file for the connection', { minor });
  await fsp.writeFile(abortFile, '1');
  logger.warn('aborted FUSE connection', { minor });
}

/**
 * Detaches whatever FUSE mount sits at `mountPoint` until none is left:
 * `fusermount -uz` (lazy), and if that fails, abort the connection via
 * fusectl and try again. Resolves at once if nothing is mounted there;
 * refuses to touch a mount that is not FUSE.
 */
export async function forceUnmount(mountPoint: string, logger: Logger): Promise<void> {
  const target = nodePath.resolve(mountPoint);
  for (let attempt = 0; attempt < 8; attempt++) {
    const entry = await findMount(target);
    if (!entry) return;
    if (!isFuseMount(entry)) throw new InternalError('INTERNAL', 'a non-FUSE filesystem is mounted at the mount point', { mountPoint: target, fsType: entry.fsType });
    try {
      await execFileAsync('fusermount', ['-uz', target]);
      continue;
    } catch (e) {
      logger.warn('fusermount -uz failed; aborting the connection', { mountPoint: target, error: (e as Error).message });
    }
    await abortFuseConnection(entry.minor, logger).catch((e: Error) => logger.warn('fuse abort failed', { error: e.message }));
    await execFileAsync('umount', ['-l', target]).catch(() => undefined);
  }
  if (await findMount(target)) throw new InternalError('INTERNAL', 'could not unmount', { mountPoint: target });
}

export interface ClearStaleMountOptions {
  /** How long a live-looking mount may take to answer stat before it is declared stuck. Default 2000 ms. */
  probeTimeoutMs?: number;
  /** Also replace a mount whose server still answers. Default false (refuse: it belongs to a live agent). */
  takeOver?: boolean;
}

/**
 * Clears a mount left at `mountPoint` by a crashed agent (DESIGN §7): a
 * FUSE mount whose server is gone answers ENOTCONN, one whose server is
 * stuck does not answer; both are detached, and a stuck one's connection
 * is aborted first (its waiting requests fail instead of hanging). A mount that answers belongs
 * to a live server and is left alone unless `takeOver`.
 */
export async function clearStaleMount(mountPoint: string, logger: Logger, options: ClearStaleMountOptions = {}): Promise<void> {
  const entry = await findMount(mountPoint);
  if (!entry) return;
  if (!isFuseMount(entry)) throw new InternalError('INTERNAL', 'a non-FUSE filesystem is mounted at the mount point', { mountPoint, fsType: entry.fsType });
  const state = await probeMount(mountPoint, options.probeTimeoutMs ?? 2000);
  if (state === 'live' && !options.takeOver) {
    throw new InternalError('INTERNAL', 'mount point is served by a live FUSE server', { mountPoint });
  }
  logger.warn('clearing a leftover FUSE mount', { mountPoint, state, minor: entry.minor });
  // A lazy unmount detaches a stuck mount but leaves its connection, and every request waiting on it (our
  // probe's stat among them), alive for as long as the old server holds /dev/fuse: a server killed while its
  // notify thread waited on a page lock stays a zombie that does (seen once: a touch in D state for 70 min).
  if (state === 'stuck') await abortFuseConnection(entry.minor, logger).catch((e: Error) => logger.warn('fuse abort failed', { error: e.message }));
  await forceUnmount(mountPoint, logger);
}

/**
 * stat() from the thread pool (never synchronously: the server might be
 * this process). A stuck server leaves that thread blocked until the
 * connection is aborted, which forceUnmount then does.
 */
export async function probeMount(mountPoint: string, timeoutMs: number): Promise<'live' | 'dead' | 'stuck'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'stuck'>((resolve) => { timer = setTimeout(() => resolve('stuck'), timeoutMs); });
  const stat = fsp.stat(mountPoint).then(() => 'live' as const, () => 'dead' as const);
  try {
    return await Promise.race([stat, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
