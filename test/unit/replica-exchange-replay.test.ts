import assert from 'node:assert/strict';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { test } from 'node:test';
import { silentLogger } from '../../src/common/logger';
import { JournalRecord } from '../../src/agent/journal/journal-record';
import { InodeMap } from '../../src/replica/inode-map';
import { MirrorApplier } from '../../src/replica/mirror-apply';
import { ExchangeIntent } from '../../src/replica/exchange-intent';

/** RENAME_EXCHANGE of /a (inode `ino`) and /b (inode `destIno`). */
const exchange = (sequence: number, ino = 10, destIno = 11): JournalRecord => ({
  namespace: 'ns', ino, op: 'rename', path: '/a', sequence, timeMs: 1000 + sequence, fencingToken: { epoch: 1, counter: sequence },
  args: { dest: '/b', flags: 2, destIno },
});

/** The inode map as the replica saved it before the exchange: a crash after the swap leaves exactly this on disk. */
const savedMap = () => InodeMap.fromJSON([[10, ['a']], [11, ['b']]], []);

async function mirrorWithPair(): Promise<{ mirror: string; state: string }> {
  const root = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-exchange-'));
  const mirror = nodePath.join(root, 'mirror');
  const state = nodePath.join(root, 'state');
  await fsp.mkdir(mirror);
  await fsp.mkdir(state);
  await fsp.writeFile(nodePath.join(mirror, 'a'), 'A');
  await fsp.writeFile(nodePath.join(mirror, 'b'), 'B');
  return { mirror, state };
}

const contents = async (mirror: string) => [await fsp.readFile(nodePath.join(mirror, 'a'), 'utf8'), await fsp.readFile(nodePath.join(mirror, 'b'), 'utf8')];

test('an exchange replayed after a crash that lost the saved inode map does not swap the pair back', async () => {
  const { mirror, state } = await mirrorWithPair();
  const intent = () => new ExchangeIntent(nodePath.join(state, 'exchange-intent.json'));
  assert.equal(await new MirrorApplier(mirror, savedMap(), silentLogger(), intent()).apply(exchange(5)), 'applied');
  assert.deepEqual(await contents(mirror), ['B', 'A']);
  // Restart: the state on disk still has the map from before the swap, and the cursor before record 5.
  const restarted = new MirrorApplier(mirror, savedMap(), silentLogger(), intent());
  await restarted.apply(exchange(5));
  assert.deepEqual(await contents(mirror), ['B', 'A'], 'swapped back by the replay');
  assert.equal(restarted.inodes.pathOf(10), 'b', 'the map learns the swap it missed');
  // A later exchange of the same pair (now /a is inode 11) is a new record and swaps again.
  await restarted.apply(exchange(6, 11, 10));
  assert.deepEqual(await contents(mirror), ['A', 'B']);
});

test('without the intent the same replay swaps the pair back (what the intent prevents)', async () => {
  const { mirror } = await mirrorWithPair();
  await new MirrorApplier(mirror, savedMap(), silentLogger()).apply(exchange(5));
  await new MirrorApplier(mirror, savedMap(), silentLogger()).apply(exchange(5));
  assert.deepEqual(await contents(mirror), ['A', 'B']);
});
