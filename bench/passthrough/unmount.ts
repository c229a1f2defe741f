import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Getting rid of FUSE mounts whatever state their daemon is in:
 * `fusermount -uz` (lazy), then, if the mount is still listed, abort its
 * connection through fusectl (DESIGN §7).
 */

const FUSECTL = '/sys/fs/fuse/connections';

interface MountEntry {
  minor: string;
  mountPoint: string;
  fsType: string;
}

/** Mounts of this process's namespace, from /proc/self/mountinfo. */
function mounts(): MountEntry[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const sep = fields.indexOf('-');
      const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      return { minor: fields[2].split(':')[1], mountPoint: unescape(fields[4]), fsType: fields[sep + 1] ?? '' };
    });
}

function fuseMountAt(mountPoint: string): MountEntry | undefined {
  const target = path.resolve(mountPoint);
  return mounts().find((m) => m.mountPoint === target && m.fsType.startsWith('fuse'));
}

export function isFuseMounted(mountPoint: string): boolean {
  return fuseMountAt(mountPoint) !== undefined;
}

function abortConnection(minor: string): void {
  if (!fs.existsSync(path.join(FUSECTL, minor))) {
    try {
      execFileSync('mount', ['-t', 'fusectl', 'none', FUSECTL], { stdio: 'ignore' });
    } catch {
      /* already mounted, or not permitted */
    }
  }
  const abort = path.join(FUSECTL, minor, 'abort');
  if (fs.existsSync(abort)) fs.writeFileSync(abort, '1');
}

function fusermount(mountPoint: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('fusermount', ['-uz', mountPoint], { timeout: 10_000 }, () => resolve());
  });
}

/** Unmounts mountPoint if a FUSE filesystem is mounted there; never throws for "not mounted". */
export async function forceUnmount(mountPoint: string): Promise<void> {
  const entry = fuseMountAt(mountPoint);
  if (!entry) return;
  await fusermount(mountPoint);
  if (isFuseMounted(mountPoint)) abortConnection(entry.minor);
  if (isFuseMounted(mountPoint)) await fusermount(mountPoint);
  if (isFuseMounted(mountPoint)) throw new Error(`could not unmount ${mountPoint}`);
}

/** The same, synchronously, for process 'exit' handlers. */
export function forceUnmountSync(mountPoint: string): void {
  const entry = fuseMountAt(mountPoint);
  if (!entry) return;
  try {
    execFileSync('fusermount', ['-uz', mountPoint], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    abortConnection(entry.minor);
  }
}
