/**
 * FUSE test support. Tests never serve a mount from their own process (a
 * synchronous fs call into it would deadlock): this file is also the child
 * entrypoint that mounts `[journal, rangeLock]` over a backing directory
 * and prints "ready". The parent does file operations with async fs or
 * shell commands, and always unmounts (fusermount -uz, fusectl abort
 * fallback) in after() hooks.
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { Interface, createInterface } from 'readline';
import { promisify } from 'util';
import { createLogger, silentLogger } from '../../src/common/logger';
import { mountAgentFs } from '../../src/agent/fuse/fuse-mount';
import { forceUnmount, isFuseMount, probeMount, readMountInfo } from '../../src/agent/fuse/stale-mount';
import { createJournalHook } from '../../src/agent/hooks/journal';
import { createRangeLockHook } from '../../src/agent/hooks/range-lock';
import { FileJournalSink } from '../../src/agent/journal/file-journal-sink';

export const execFileAsync = promisify(execFile);
/** Temp dirs of FUSE tests start with this; the sweeper unmounts anything below such dirs. */
export const FUSE_TEST_PREFIX = nodePath.join(os.tmpdir(), 'coherd-fuse-test-');

/** Holds the pid of the test process that owns a test root. */
const OWNER_FILE = 'owner.pid';

export interface FuseTestDirs {
  root: string;
  backingDir: string;
  mountPoint: string;
  journalPath: string;
}

/** A fresh temp root below FUSE_TEST_PREFIX, marked as owned by this process (see sweepLeftoverMounts). */
export async function makeFuseTestRoot(): Promise<string> {
  const root = await fsp.mkdtemp(FUSE_TEST_PREFIX);
  await fsp.writeFile(nodePath.join(root, OWNER_FILE), String(process.pid));
  return root;
}

export async function makeFuseTestDirs(): Promise<FuseTestDirs> {
  const root = await makeFuseTestRoot();
  const dirs = { root, backingDir: nodePath.join(root, 'backing'), mountPoint: nodePath.join(root, 'mnt'), journalPath: nodePath.join(root, 'journal.jsonl') };
  await fsp.mkdir(dirs.backingDir);
  await fsp.mkdir(dirs.mountPoint);
  return dirs;
}

/** Unmounts (then removes) a test root; never throws. */
export async function removeFuseTestDirs(dirs: FuseTestDirs): Promise<void> {
  await forceUnmount(dirs.mountPoint, silentLogger()).catch(() => undefined);
  await fsp.rm(dirs.root, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * The test root a mount point below `prefix` lies in: mkdtemp(prefix) appends
 * its random part to the prefix itself, so the root is the prefix plus the
 * rest of the first path component ('/tmp/coherd-fuse-test-AbC123' for
 * '/tmp/coherd-fuse-test-AbC123/mnt-0'). path.join(prefix, rest) would put a
 * '/' after the prefix and name a directory that does not exist: the owner
 * record was then never found, and every sweep probed the mounts of live test
 * processes and detached those whose agent was stopped or fenced (docs/fuse.md,
 * "Seen on the way"). Undefined when the mount point is not below `prefix`.
 */
export function testRootOf(mountPoint: string, prefix = FUSE_TEST_PREFIX): string | undefined {
  if (!mountPoint.startsWith(prefix)) return undefined;
  const rest = mountPoint.slice(prefix.length).split('/')[0];
  return rest === '' ? undefined : prefix + rest;
}

/**
 * Unmounts FUSE mounts left below FUSE_TEST_PREFIX* by test processes that
 * are gone (crashed runs). Mounts of live test processes (test files run
 * in parallel) are left alone: a root made by makeFuseTestRoot records its
 * owner's pid; a root without that record is swept only if its mount no
 * longer answers (dead or stuck server).
 */
export async function sweepLeftoverMounts(prefix = FUSE_TEST_PREFIX): Promise<string[]> {
  const candidates = (await readMountInfo()).filter((e) => isFuseMount(e) && e.mountPoint.startsWith(prefix));
  const swept: string[] = [];
  for (const e of candidates.reverse()) {
    const root = testRootOf(e.mountPoint, prefix);
    const owner = root === undefined ? NaN : Number(await fsp.readFile(nodePath.join(root, OWNER_FILE), 'utf8').catch(() => 'NaN'));
    if (Number.isInteger(owner) && owner > 0) {
      if (isAlive(owner)) continue;
    } else if ((await probeMount(e.mountPoint, 2000)) === 'live') {
      continue;
    }
    await forceUnmount(e.mountPoint, silentLogger()).catch(() => undefined);
    swept.push(e.mountPoint);
  }
  return swept;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function isMounted(mountPoint: string): Promise<boolean> {
  const mounts = await fsp.readFile('/proc/mounts', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[1] === mountPoint);
}

export interface MountChild {
  readonly pid: number;
  readonly dirs: FuseTestDirs;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or signal name) once the child is gone. */
  readonly exited: Promise<number | string>;
  /** Toggles the child's fencing (SIGUSR2): while fenced, mutating vops fail with EIO. */
  toggleFenced(): void;
  /** SIGUSR1: the child calls unmount() twice, then mount() twice, and reports "remounted <mountedBetween> <mountedAfter>". */
  remount(): Promise<string>;
  /** SIGTERM (clean unmount), SIGKILL after 5 s, then force-unmounts whatever is left. Idempotent. */
  stop(): Promise<void>;
}

/** A mount served by a child process (this file's or another test support script), once it printed "ready". */
export interface SupervisedMountChild {
  child: ChildProcess;
  exited: Promise<number | string>;
  lines: Interface;
  /** SIGTERM (clean unmount), SIGKILL after 5 s, then force-unmounts whatever is left. Idempotent. */
  stop(): Promise<void>;
}

/** Spawns `node script arg`, waits up to 15 s for its "ready" line; on failure kills it and unmounts. */
export async function superviseMountChild(script: string, arg: string, mountPoint: string, label: string): Promise<SupervisedMountChild> {
  const child = spawn(process.execPath, [script, arg], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => { if (line === 'ready') resolve(); });
    void exited.then((code) => reject(new Error(`${label} exited (${code}) before ready: ${stderr}`)));
    setTimeout(() => reject(new Error(`${label} not ready after 15 s: ${stderr}`)), 15000).unref();
  });
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= (async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await forceUnmount(mountPoint, silentLogger()).catch(() => undefined);
  })());
  try {
    await ready;
  } catch (e) {
    child.kill('SIGKILL');
    await stop();
    throw e;
  }
  return { child, exited, lines, stop };
}

/** Spawns a child that mounts dirs.mountPoint over dirs.backingDir and waits for its "ready". */
export async function startMountChild(dirs: FuseTestDirs, namespace = 'test'): Promise<MountChild> {
  const { child, exited, lines, stop } = await superviseMountChild(__filename, JSON.stringify({ ...dirs, namespace }), dirs.mountPoint, 'mount child');
  const remount = () => new Promise<string>((resolve) => {
    const onLine = (line: string) => {
      if (!line.startsWith('remount')) return;
      lines.off('line', onLine);
      resolve(line);
    };
    lines.on('line', onLine);
    child.kill('SIGUSR1');
  });
  return { pid: child.pid!, dirs, process: child, exited, toggleFenced: () => child.kill('SIGUSR2'), remount, stop };
}

/** The errno code a file call failed with, or 'OK'. */
export async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'UNKNOWN';
  }
}

/** Child side: mount, print ready, unmount on SIGTERM/SIGINT or when the parent goes away. */
async function childMain(arg: string): Promise<void> {
  const { backingDir, mountPoint, journalPath, namespace } = JSON.parse(arg) as FuseTestDirs & { namespace: string };
  const logger = createLogger({ level: process.env.COHERD_LOG_LEVEL ?? 'warn', json: false });
  const sink = await FileJournalSink.open({ path: journalPath, logger });
  let fenced = false;
  process.on('SIGUSR2', () => { fenced = !fenced; });
  const hooks = [createJournalHook({ namespace, sink, logger }), createRangeLockHook({ isFenced: () => fenced, logger })];
  const fs = await mountAgentFs({ mountPoint, backingDir, namespace, hooks, logger });
  process.on('SIGUSR1', () => {
    void (async () => {
      await Promise.all([fs.unmount(), fs.unmount()]);
      const between = fs.mounted;
      await Promise.all([fs.mount(), fs.mount()]);
      process.stdout.write(`remounted ${between} ${fs.mounted}\n`);
    })().catch((e: Error) => process.stdout.write(`remount failed ${e.message}\n`));
  });
  let exiting = false;
  const shutdown = async () => {
    if (exiting) return;
    exiting = true;
    try {
      await fs.unmount();
      await sink.close();
      process.exit(0);
    } catch (e) {
      logger.error('shutdown failed', { error: e });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.stdin.on('end', () => void shutdown());
  process.stdin.resume();
  process.stdout.write('ready\n');
}

// Only with the JSON argument startMountChild passes: `node --test dist/` also runs files under test/.
if (require.main === module && process.argv[2]?.startsWith('{')) {
  childMain(process.argv[2]).catch((e) => {
    process.stderr.write(`mount child failed: ${(e as Error).stack}\n`);
    process.exit(1);
  });
}


