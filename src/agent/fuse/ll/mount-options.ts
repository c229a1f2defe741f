/** Options for a low-level mount. */
export interface MountOptionsInput {
  /** fsname shown in /proc/mounts. */
  fsName: string;
  /** Let other users in; default: on when this process is root (as other cluster filesystems do). */
  allowOther?: boolean;
  /** Extra raw options (tests: e.g. 'debug' is not an -o option; use for max_read etc.). */
  extra?: string[];
}

const SAFE = /^[A-Za-z0-9_.:/@+-]+$/;

/**
 * The -o list: default_permissions always (the kernel checks the caller's
 * uid/gid/groups against the attributes we return), allow_other when
 * root unless turned off, fsname/subtype for mount tables.
 */
export function buildMountOptions(input: MountOptionsInput): string[] {
  if (!SAFE.test(input.fsName)) throw new TypeError(`fsName must match ${SAFE}`);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const opts = ['default_permissions', `fsname=${input.fsName}`, 'subtype=coherd'];
  if (input.allowOther ?? isRoot) opts.push('allow_other');
  for (const o of input.extra ?? []) {
    if (!/^[A-Za-z0-9_=.]+$/.test(o)) throw new TypeError(`bad mount option ${JSON.stringify(o)}`);
    opts.push(o);
  }
  return opts;
}
