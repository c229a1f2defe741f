import * as fs from 'fs';
import { Logger } from '../../../../common/logger';
import { FuseSession } from '../fuse-session';
import { LowLevelOps } from '../low-level-ops';
import { buildMountOptions } from '../mount-options';
import { ClusterLocks, RangeLockClient } from '../locks/cluster-locks';
import { withClusterLocks } from '../locks/lock-ops';
import { O_PATH, PassthroughCore, PassthroughOptions, afs } from './passthrough-core';
import { passthroughAttrOps } from './passthrough-attrs';
import { passthroughDirOps } from './passthrough-dirs';
import { passthroughEntryOps } from './passthrough-entries';
import { passthroughFileOps } from './passthrough-files';

export interface PassthroughMountOptions extends PassthroughOptions {
  backingDir: string;
  mountPoint: string;
  logger: Logger;
  allowOther?: boolean;
  /** Cluster fcntl/flock locks through this session; without it the kernel keeps locks local. */
  locks?: { client: RangeLockClient; namespace: string };
}

/** The plain inode-based passthrough (libfuse's passthrough_ll, in TypeScript) over one backing directory. */
export function passthroughOps(core: PassthroughCore): LowLevelOps {
  return {
    ...passthroughEntryOps(core),
    ...passthroughFileOps(core),
    ...passthroughAttrOps(core),
    ...passthroughDirOps(core),
  };
}

export interface PassthroughMount {
  readonly session: FuseSession;
  readonly core: PassthroughCore;
  unmount(): Promise<void>;
}

/** Mounts backingDir at mountPoint; unmount() unmounts and closes every backing fd. */
export async function mountPassthrough(options: PassthroughMountOptions): Promise<PassthroughMount> {
  const rootFd = await afs.open(options.backingDir, O_PATH | fs.constants.O_DIRECTORY);
  const st = await afs.fstat(rootFd);
  const core = new PassthroughCore(rootFd, `${st.dev}:${st.ino}`, options);
  let ops = passthroughOps(core);
  if (options.locks) {
    const { client, namespace } = options.locks;
    const resourceOf = (id: number) => `${namespace}/${core.node(id).key.split(':')[1]}`;
    ops = withClusterLocks(ops, new ClusterLocks({ client, resourceOf, logger: options.logger }));
  }
  let session: FuseSession;
  try {
    session = new FuseSession({
      mountPoint: options.mountPoint,
      options: buildMountOptions({ fsName: 'coherd-passthrough', allowOther: options.allowOther }),
      ops,
      logger: options.logger,
      locks: options.locks !== undefined,
    });
  } catch (e) {
    core.table.clear();
    throw e;
  }
  return {
    session,
    core,
    async unmount() {
      await session.unmount();
      core.table.clear();
      for (const fd of core.openFds) fs.close(fd, () => undefined);
      core.openFds.clear();
    },
  };
}
