import { InvalidArgumentError } from '../../common/errors';

export interface FuseMountOptionsInput {
  namespace: string;
  /** Let other users use the mount; implies default_permissions (the agent runs ops as itself). */
  allowOther?: boolean;
  /** libfuse debug output on stderr. */
  debug?: boolean;
}

/**
 * The -o option list for every coherd mount (DESIGN §7). Built here, not by
 * fuse-native, which drops values of 0 and lacks most of these:
 * - direct_io: no kernel page cache (fuse-native cannot invalidate it);
 *   the agent's page cache is the only cache, governed by tokens.
 * - attr_timeout=0, entry_timeout=0, negative_timeout=0: no cached
 *   attributes or lookups the agent could not revoke.
 * - big_writes: writes arrive in up to 128 KiB instead of 4 KiB pieces.
 * - use_ino: st_ino is the backing store's inode (stable across hosts and
 *   renames), not libfuse's node id.
 * Without allow_other only the mounting user can enter the mount, so the
 * kernel's permission checks (default_permissions, one extra getattr per
 * path component with attr_timeout=0) are only turned on with it.
 */
export function buildFuseOptions(input: FuseMountOptionsInput): string[] {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(input.namespace)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'namespace must be 1-64 characters of [A-Za-z0-9._-]', { namespace: input.namespace });
  }
  const options = [
    'direct_io',
    'big_writes',
    'attr_timeout=0',
    'entry_timeout=0',
    'negative_timeout=0',
    'use_ino',
    `fsname=coherd:${input.namespace}`,
    'subtype=coherd',
  ];
  if (input.allowOther) options.push('allow_other', 'default_permissions');
  if (input.debug) options.push('debug');
  return options;
}
