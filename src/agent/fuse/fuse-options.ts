import { InvalidArgumentError } from '../../common/errors';

export interface FuseMountOptionsInput {
  namespace: string;
  /** Let other users use the mount; default: when this process runs as root (as other cluster filesystems do). */
  allowOther?: boolean;
}

/**
 * The -o option list of an agent mount on the low-level addon. Caching is
 * chosen per reply, not here: the agent answers with zero attr/entry
 * timeouts and direct_io opens (vop-low-level-ops.ts) until the coherency
 * hook drives the kernel cache with notifications. st_ino is always the
 * backing inode (the low-level API reports what we answer).
 * New entries belong to the caller (vop-low-level-ops.ts ownerOf).
 */
export function buildFuseOptions(input: FuseMountOptionsInput): string[] {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(input.namespace)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'namespace must be 1-64 characters of [A-Za-z0-9._-]', { namespace: input.namespace });
  }
  // default_permissions always: the kernel checks every caller's uid/gid/groups against the attributes we answer.
  const options = [`fsname=coherd:${input.namespace}`, 'subtype=coherd', 'default_permissions'];
  if (input.allowOther ?? process.getuid?.() === 0) options.push('allow_other');
  return options;
}
