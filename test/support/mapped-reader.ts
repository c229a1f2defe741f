import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { CliResult } from './cluster';
import { AgentCluster, ShProcess, waitForFile } from './agent-cluster';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Maps the file shared, reads its first 16 bytes (filling the kernel's
 * page), writes them to `ready`; once `go` exists, prints the 16 bytes the
 * mapping shows at byte `at` (argv[4], default 0).
 */
const MAPPED_READER = `
import mmap, os, sys, time
path, ready, go = sys.argv[1:4]
at = int(sys.argv[4]) if len(sys.argv) > 4 else 0
fd = os.open(path, os.O_RDONLY)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
first = bytes(m[0:16]).decode()
with open(ready + '.tmp', 'w') as f: f.write(first)
os.rename(ready + '.tmp', ready)
while not os.path.exists(go): time.sleep(0.01)
print(bytes(m[at:at + 16]).decode(), flush=True)`;

/** A child process on a mount holding a MAP_SHARED mapping (never the test process: it serves no mount, but keeps out of them). */
export interface MappedReader {
  readonly process: ShProcess;
  /** What it printed so far. */
  printed(): string;
  /** Asks it to read the mapping again (at `at`) and print it. */
  go(): Promise<void>;
  result(timeoutMs: number): Promise<CliResult>;
}

/** Starts a mapped reader of `path` (a file in a mount of `cluster`) and waits until it read `expect` through its mapping. */
export async function startMappedReader(cluster: AgentCluster, path: string, tag: string, expect: string, at = 0): Promise<MappedReader> {
  const ready = cluster.tmp(`${tag}.ready`);
  const goFile = cluster.tmp(`${tag}.go`);
  const reader = cluster.spawnSh(`python3 -c ${q(MAPPED_READER)} ${q(path)} ${q(ready)} ${q(goFile)} ${at}`);
  let printed = '';
  reader.child.stdout!.on('data', (d: Buffer) => (printed += d.toString()));
  await waitForFile(ready);
  assert.equal(await readFile(ready, 'utf8'), expect, 'the mapping shows the file as it was written');
  return {
    process: reader,
    printed: () => printed.trim(),
    go: async () => { await cluster.sh(`touch ${q(goFile)}`); },
    result: (timeoutMs) => reader.result(timeoutMs),
  };
}

/** What a new mapping of `path` shows (16 bytes), or the last line of the error; run in a child. */
export async function mapOnce(cluster: AgentCluster, path: string): Promise<{ ok: boolean; text: string }> {
  const r = await cluster.run(`python3 -c ${q('import mmap, os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\nprint(bytes(mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)[0:16]).decode())')} ${q(path)}`);
  return r.code === 0 ? { ok: true, text: r.stdout.trim() } : { ok: false, text: r.stderr.trim().split('\n').pop() ?? '' };
}
