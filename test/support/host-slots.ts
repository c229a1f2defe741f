import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import type { AgentCluster } from './agent-cluster';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * What hosts 0..hosts-1 leave in an 8 KiB file when each writes `rounds`
 * 16-byte slots of its own page: host h, round r at h·4096 + r·16, every
 * byte 65 + r.
 */
export function slotsWritten(hosts = 2, rounds = 20): Buffer {
  const want = Buffer.alloc(8192);
  for (let host = 0; host < hosts; host++) for (let r = 0; r < rounds; r++) want.fill(65 + r, host * 4096 + r * 16, host * 4096 + r * 16 + 16);
  return want;
}

/** Every mount of `cluster`, and the backing file, hold `want` as file `name`. */
export async function assertEveryHostReads(cluster: AgentCluster, name: string, want: Buffer): Promise<void> {
  for (let i = 0; i < cluster.agents.length; i++) {
    const got = Buffer.from((await cluster.sh(`base64 -w0 ${q(cluster.mnt(i, name))}`)).trim(), 'base64');
    assert.ok(got.equals(want), `host ${i} reads what every host wrote`);
  }
  assert.ok((await fsp.readFile(cluster.bak(name))).equals(want), 'the backing file holds what every host wrote');
}
