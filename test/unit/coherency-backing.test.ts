import assert from 'node:assert/strict';
import { constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BackingStore } from '../../src/agent/backing/backing-store';
import { compose } from '../../src/agent/hooks/compose';
import { coherencyBackingOf, createCoherencyHook } from '../../src/agent/hooks/coherency';
import type { VopName, VopOf } from '../../src/agent/vop';
import { silentLogger } from '../../src/common/logger';
import { FakeCoordinator, FakeTokenClient, settle } from './coherency-fakes.test';
import { FakeClock } from '../../src/common/clock';

test('over the real backing store: buffered writes, cached reads, flush on fsync and on the timer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coherd-coherency-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'hello world');
  const store = await BackingStore.open({ dir, logger: silentLogger(), xattrs: false });
  t.after(() => store.close());
  const clock = new FakeClock(0);
  const client = new FakeTokenClient('A', new FakeCoordinator(), clock);
  const hook = createCoherencyHook({ client, namespace: 'ns', clock, logger: silentLogger(), backing: coherencyBackingOf(store) });
  const run = compose([hook], store.terminal);
  const signal = new AbortController().signal;
  const ino = await store.lookupIno('/f');
  const vop = <N extends VopName>(op: N, args: VopOf<N>['args']): VopOf<N> => ({ op, path: '/f', ino, args, signal }) as VopOf<N>;

  const { fh } = await run(vop('open', { flags: constants.O_RDWR }));
  const buffer = Buffer.alloc(64);
  assert.equal(await run(vop('read', { fh, buffer, length: 64, offset: 0 })), 11);
  assert.equal(buffer.subarray(0, 11).toString(), 'hello world');

  await run(vop('write', { fh, data: Buffer.from('HELLO'), offset: 0 }));
  await run(vop('write', { fh, data: Buffer.from('!!'), offset: 11 }));
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hello world', 'buffered');
  assert.equal((await run(vop('getattr', {}))).size, 13);
  assert.equal(await run(vop('read', { fh, buffer, length: 64, offset: 0 })), 13);
  assert.equal(buffer.subarray(0, 13).toString(), 'HELLO world!!');

  await run(vop('fsync', { fh, datasync: false }));
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'HELLO world!!');

  await run(vop('write', { fh, data: Buffer.from('W'), offset: 6 }));
  clock.advance(999);
  await settle();
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'HELLO world!!');
  clock.advance(1);
  for (let i = 0; i < 500 && readFileSync(join(dir, 'f'), 'utf8') !== 'HELLO World!!'; i++) await settle(1);
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'HELLO World!!', 'flushed by the timer');
  await run(vop('release', { fh }));
});
