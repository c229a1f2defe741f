/** Options for a low-level mount. */
export interface MountOptionsInput {
  /** fsname shown in /proc/mounts. */
  fsName: string;
  /** Let other users in; default: on when this process is root (as other cluster filesystems do). */
  allowOther?: boolean;
  /** Mount type suffix (fuse.<subtype>); none by default, so a passthrough never passes for a coherd mount. */
  subtype?: string;
  /** Extra -o options (e.g. max_read=N). */
  extra?: string[];
}

const SAFE = /^[A-Za-z0-9_.:/@+-]+$/;

/**
 * The -o list: default_permissions always (the kernel checks the caller's
 * uid/gid/groups against the attributes we return), allow_other when
 * root unless turned off, fsname (and a subtype if asked) for mount tables.
 */
export function buildMountOptions(input: MountOptionsInput): string[] {
  if (!SAFE.test(input.fsName)) throw new TypeError(`fsName must match ${SAFE}`);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const opts = ['default_permissions', `fsname=${input.fsName}`];
  if (input.subtype !== undefined) {
    if (!SAFE.test(input.subtype)) throw new TypeError(`subtype must match ${SAFE}`);
    opts.push(`subtype=${input.subtype}`);
  }
  if (input.allowOther ?? isRoot) opts.push('allow_other');
  for (const o of input.extra ?? []) {
    if (!/^[A-Za-z0-9_=.]+$/.test(o)) throw new TypeError(`bad mount option ${JSON.stringify(o)}`);
    opts.push(o);
  }
  return opts;
}
