import { InvalidArgumentError } from '../../common/errors';

export interface FuseMountOptionsInput {
  namespace: string;
  /** Let other users use the mount; implies default_permissions (the kernel checks callers against our attributes). */
  allowOther?: boolean;
}

/**
 * The -o option list of an agent mount on the low-level addon. Caching is
 * chosen per reply, not here: the agent answers with zero attr/entry
 * timeouts and direct_io opens (vop-low-level-ops.ts) until the coherency
 * hook drives the kernel cache with notifications. st_ino is always the
 * backing inode (the low-level API reports what we answer).
 */
export function buildFuseOptions(input: FuseMountOptionsInput): string[] {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(input.namespace)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'namespace must be 1-64 characters of [A-Za-z0-9._-]', { namespace: input.namespace });
  }
  const options = [`fsname=coherd:${input.namespace}`, 'subtype=coherd'];
  if (input.allowOther) options.push('allow_other', 'default_permissions');
  return options;
}
