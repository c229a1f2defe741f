import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BackingStore } from '../../src/agent/backing/backing-store';
import { compose } from '../../src/agent/hooks/compose';
import { coherencyBackingOf, createCoherencyHook } from '../../src/agent/hooks/coherency';
import type { VopName, VopOf } from '../../src/agent/vop';
import { FakeClock } from '../../src/common/clock';
import { silentLogger } from '../../src/common/logger';
import { FakeCoordinator, FakeTokenClient } from './coherency-fakes.test';

/**
 * Issue 9, item 7: the FUSE layer maps a path to an inode before any token
 * is held; another host may replace the file in between (rename(tmp,
 * name)). The op must run on the inode the path names once its tokens are
 * held, holding that inode's tokens.
 */
async function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'coherd-validated-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'old contents');
  const store = await BackingStore.open({ dir, logger: silentLogger() });
  t.after(() => store.close());
  const clock = new FakeClock(0);
  const coordinator = new FakeCoordinator();
  const client = new FakeTokenClient('A', coordinator, clock);
  const hook = createCoherencyHook({ client, namespace: 'ns', clock, logger: silentLogger(), backing: coherencyBackingOf(store) });
  const run = compose([hook], store.terminal);
  const signal = new AbortController().signal;
  const vop = <N extends VopName>(op: N, ino: number, args: VopOf<N>['args']): VopOf<N> => ({ op, path: '/f', ino, args, signal }) as VopOf<N>;
  return { dir, store, coordinator, client, run, vop };
}

/** Another host replaces /f by renaming a new file over it: the old inode is gone from the path. */
function replaceBehindTheAgent(dir: string): number {
  writeFileSync(join(dir, 'f.tmp'), 'new contents, longer');
  renameSync(join(dir, 'f.tmp'), join(dir, 'f'));
  return statSync(join(dir, 'f')).ino;
}

test('a chmod whose path was replaced after its inode was looked up runs on the new inode, under that inode\'s attr token', async (t) => {
  const { dir, store, coordinator, client, run, vop } = await setup(t);
  const oldIno = await store.lookupIno('/f') as number;
  const newIno = replaceBehindTheAgent(dir);
  chmodSync(join(dir, 'f'), 0o644);
  await run(vop('chmod', oldIno, { mode: 0o600 }));
  assert.equal(statSync(join(dir, 'f')).mode & 0o777, 0o600, 'the file the path names now was changed');
  const held = coordinator.held(client).filter((g) => g.space === 'attr').map((g) => g.resource);
  assert.ok(held.includes(`ns/${newIno}`), `the attr token is the new inode's (held: ${held.join(', ')})`);
});

test('a truncate by path whose file was replaced truncates the new file under its own tokens', async (t) => {
  const { dir, store, coordinator, client, run, vop } = await setup(t);
  const oldIno = await store.lookupIno('/f') as number;
  const newIno = replaceBehindTheAgent(dir);
  await run(vop('truncate', oldIno, { size: 3 }));
  assert.equal(statSync(join(dir, 'f')).size, 3);
  const resources = new Set(coordinator.held(client).map((g) => g.resource));
  assert.ok(resources.has(`ns/${newIno}`), 'tokens of the new inode were taken');
});

test('an op whose path vanished before its tokens were held fails with ENOENT and changes nothing', async (t) => {
  const { dir, store, run, vop } = await setup(t);
  const ino = await store.lookupIno('/f') as number;
  rmSync(join(dir, 'f'));
  await assert.rejects(run(vop('chmod', ino, { mode: 0o600 })), (e: unknown) => (e as { code?: string }).code === 'ENOENT');
});
