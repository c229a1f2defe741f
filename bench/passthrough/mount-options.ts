/**
 * FUSE mount options of coherd's agent (DESIGN §7), used by the plain
 * passthrough so the two are compared like for like:
 * - direct_io: the kernel keeps no page cache for the mount;
 * - big_writes: writes arrive up to 128 KiB, not in 4 KiB pieces;
 * - attr/entry/negative_timeout=0: no cached attributes or lookups.
 * Keep in step with the agent's mount.
 */
export const AGENT_MOUNT_OPTIONS: readonly string[] = [
  'direct_io',
  'big_writes',
  'attr_timeout=0',
  'entry_timeout=0',
  'negative_timeout=0',
];

/**
 * The `-o…` argument fuse-native hands to libfuse. Built here because
 * fuse-native drops options whose value is 0 and knows neither direct_io
 * nor big_writes.
 */
export function fuseOptionsArgument(fsname: string, extra: readonly string[] = []): string {
  if (!/^[A-Za-z0-9._-]+$/.test(fsname)) throw new RangeError(`fsname must be a plain word, got ${JSON.stringify(fsname)}`);
  return '-o' + [...AGENT_MOUNT_OPTIONS, ...extra, `fsname=${fsname}`].join(',');
}
