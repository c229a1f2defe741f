import { buildFuseOptions } from '../../src/agent/fuse/fuse-options';

/**
 * FUSE mount options of the plain passthrough: exactly the agent's
 * (buildFuseOptions, DESIGN §7: direct_io, big_writes, attr/entry/
 * negative_timeout=0, use_ino), taken from the agent's own code so the
 * two cannot drift apart, except that it names itself (fsname, no
 * `coherd` subtype) so nothing mistakes it for a coherd mount.
 */
export function passthroughMountOptions(fsname: string): string[] {
  if (!/^[A-Za-z0-9._-]+$/.test(fsname)) throw new RangeError(`fsname must be a plain word, got ${JSON.stringify(fsname)}`);
  const agent = buildFuseOptions({ namespace: 'bench' }).filter((o) => !o.startsWith('fsname=') && !o.startsWith('subtype='));
  return [...agent, `fsname=${fsname}`];
}

/**
 * The `-o…` argument fuse-native hands to libfuse. Built here because
 * fuse-native drops options whose value is 0 and knows neither direct_io
 * nor big_writes.
 */
export function fuseOptionsArgument(fsname: string): string {
  return '-o' + passthroughMountOptions(fsname).join(',');
}
