/**
 * Child entrypoint for tests of the low-level addon: mounts a plain
 * passthrough (src/agent/fuse/ll/passthrough) over a backing directory and
 * prints "ready". Tests never serve a mount from their own process; they
 * use async fs and shell commands on it and stop the child in after().
 */
import type { ChildProcess } from 'child_process';
import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { createInterface } from 'readline';
import { createLogger } from '../../src/common/logger';
import { mountPassthrough } from '../../src/agent/fuse/ll/passthrough/passthrough-fs';
import { superviseMountChild } from './fuse-mount';
import { CoherdClient } from '../../src/agent/client/coherd-client';

export interface LlChildOptions {
  backingDir: string;
  mountPoint: string;
  attrTimeout?: number;
  entryTimeout?: number;
  keepCache?: boolean;
  /** Coordinator address: cluster fcntl/flock locks through a session with it. */
  coordinator?: string;
  namespace?: string;
}

export interface LlMountChild {
  readonly pid: number;
  readonly process: ChildProcess;
  readonly exited: Promise<number | string>;
  /**
   * Asks the child: "inodes" -> "inodes <table size>"; "inval <name>",
   * "invalentry <name>", "delete <name>" (a name in the root) -> "<cmd> <result>"
   * after the kernel notification (0 or -errno); "grow <name>" stores the backing
   * file's last byte (notify_store); "epoch" -> "epoch <result>"
   * (FUSE_NOTIFY_INC_EPOCH).
   */
  query(cmd: string): Promise<string>;
  /** SIGTERM (clean unmount), SIGKILL after 5 s, then force-unmounts. Idempotent. */
  stop(): Promise<void>;
}

export async function startLlMountChild(options: LlChildOptions): Promise<LlMountChild> {
  const { child, exited, lines, stop } = await superviseMountChild(__filename, JSON.stringify(options), options.mountPoint, 'll mount child');
  const query = (cmd: string) => new Promise<string>((resolve) => {
    const verb = cmd.split(' ')[0];
    const onLine = (line: string) => {
      if (!line.startsWith(`${verb} `)) return;
      lines.off('line', onLine);
      resolve(line);
    };
    lines.on('line', onLine);
    child.stdin!.write(`${cmd}\n`);
  });
  return { pid: child.pid!, process: child, exited, query, stop };
}

async function childMain(arg: string): Promise<void> {
  const options = JSON.parse(arg) as LlChildOptions;
  const logger = createLogger({ level: process.env.COHERD_LOG_LEVEL ?? 'warn', json: false });
  const client = options.coordinator ? await CoherdClient.connect({ endpoints: [options.coordinator], logger, clientName: `ll-${process.pid}` }) : null;
  const locks = client ? { client, namespace: options.namespace ?? 'test' } : undefined;
  const mount = await mountPassthrough({ ...options, logger, locks });
  let exiting = false;
  const shutdown = async () => {
    if (exiting) return;
    exiting = true;
    await mount.unmount();
    await client?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  const input = createInterface({ input: process.stdin });
  const { session, core } = mount;
  const idOf = async (name: string) => {
    const st = await fsp.lstat(nodePath.join(options.backingDir, name), { bigint: true }).catch(() => null);
    return st ? core.table.idOfKey(`${st.dev}:${st.ino}`) ?? 0 : 0;
  };
  const commands: Record<string, (name: string) => Promise<number | string>> = {
    inodes: async () => core.table.size,
    inval: async (name) => session.invalidateInode(await idOf(name)),
    invalentry: async (name) => session.invalidateEntry(1, name),
    epoch: async () => session.incrementEpoch(),
    delete: async (name) => session.notifyDelete(1, Number(name.split('/')[1] ?? 0), name.split('/')[0]),
    idof: async (name) => idOf(name),
    // The backing file's last byte, stored at its offset: the kernel's i_size grows to the backing size.
    grow: async (name) => {
      const data = await fsp.readFile(nodePath.join(options.backingDir, name));
      return session.storeInode(await idOf(name), data.length - 1, data.subarray(data.length - 1));
    },
  };
  input.on('line', (line) => {
    const [verb, arg = ''] = line.split(' ');
    const run = commands[verb];
    if (run) void run(arg).then((r) => process.stdout.write(`${verb} ${r}\n`), (e: Error) => process.stdout.write(`${verb} error ${e.message}\n`));
  });
  input.on('close', () => void shutdown());
  process.stdout.write('ready\n');
}

if (require.main === module && process.argv[2]?.startsWith('{')) {
  childMain(process.argv[2]).catch((e) => {
    process.stderr.write(`ll mount child failed: ${(e as Error).stack}\n`);
    process.exit(1);
  });
}
