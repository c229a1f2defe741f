/**
 * Child entrypoint for tests of the low-level addon: mounts a plain
 * passthrough (src/agent/fuse/ll/passthrough) over a backing directory and
 * prints "ready". Tests never serve a mount from their own process; they
 * use async fs and shell commands on it and stop the child in after().
 */
import { ChildProcess, spawn } from 'child_process';
import { createInterface } from 'readline';
import { createLogger, silentLogger } from '../../src/common/logger';
import { mountPassthrough } from '../../src/agent/fuse/ll/passthrough/passthrough-fs';
import { forceUnmount } from '../../src/agent/fuse/stale-mount';
import { CoherdClient } from '../../src/agent/client/coherd-client';

export interface LlChildOptions {
  backingDir: string;
  mountPoint: string;
  attrTimeout?: number;
  entryTimeout?: number;
  /** Coordinator address: cluster fcntl/flock locks through a session with it. */
  coordinator?: string;
  namespace?: string;
}

export interface LlMountChild {
  readonly pid: number;
  readonly process: ChildProcess;
  readonly exited: Promise<number | string>;
  /** Asks the child for a line of state ("inodes <n>"): the inode table size. */
  query(cmd: 'inodes'): Promise<string>;
  /** SIGTERM (clean unmount), SIGKILL after 5 s, then force-unmounts. Idempotent. */
  stop(): Promise<void>;
}

export async function startLlMountChild(options: LlChildOptions): Promise<LlMountChild> {
  const child = spawn(process.execPath, [__filename, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => { if (line === 'ready') resolve(); });
    void exited.then((code) => reject(new Error(`ll mount child exited (${code}) before ready: ${stderr}`)));
    setTimeout(() => reject(new Error(`ll mount child not ready after 15 s: ${stderr}`)), 15000).unref();
  });
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= (async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await forceUnmount(options.mountPoint, silentLogger()).catch(() => undefined);
  })());
  try {
    await ready;
  } catch (e) {
    child.kill('SIGKILL');
    await stop();
    throw e;
  }
  const query = (cmd: string) => new Promise<string>((resolve) => {
    const onLine = (line: string) => {
      if (!line.startsWith(cmd)) return;
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
  input.on('line', (line) => {
    if (line === 'inodes') process.stdout.write(`inodes ${mount.core.table.size}\n`);
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
