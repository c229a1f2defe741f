import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { JournalRecord } from '../../src/agent/journal/journal-record';
import { SlowStore } from '../../src/chaos/cluster/slow-store';
import { makeFuseTestDirs, removeFuseTestDirs, startMountChild, sweepLeftoverMounts } from '../support/fuse-mount';

/** What the slow store adds to every request while the write is out. */
const STORE_DELAY_MS = 1500;

/**
 * A clean stop (SIGTERM) of a mount whose WRITE is still on its way to a
 * slow backing store: the session's unmount waits for that request
 * (FuseSession.unmount) before the mount child closes its journal, so
 * whatever reached the store is journaled (chaos seed 86: "journal record
 * appended after close" at an agent's graceful restart, a change a
 * replica would never get).
 */
test('a clean stop waits for a write still reaching the store: the store and the journal agree', { timeout: 60_000 }, async (t) => {
  await sweepLeftoverMounts();
  const dirs = await makeFuseTestDirs();
  const storeDir = nodePath.join(dirs.root, 'store');
  await fsp.mkdir(storeDir);
  const slow = new SlowStore(storeDir, dirs.backingDir);
  await slow.start();
  t.after(async () => {
    await slow.stop();
    await removeFuseTestDirs(dirs);
  });
  const child = await startMountChild(dirs);
  t.after(() => child.stop());
  await fsp.writeFile(nodePath.join(dirs.mountPoint, 'f'), 'old bytes');
  const fh = await fsp.open(nodePath.join(dirs.mountPoint, 'f'), 'r+');
  await slow.setDelay(STORE_DELAY_MS);
  const written = fh.write('new bytes', 0).then(() => 'OK', (e: NodeJS.ErrnoException) => e.code ?? 'error');
  await delay(STORE_DELAY_MS / 3); // the WRITE is at the store by now
  await child.stop();
  await slow.setDelay(0);
  const outcome = await written;
  await fh.close().catch(() => undefined);
  const stored = await fsp.readFile(nodePath.join(storeDir, 'f'), 'utf8');
  const journal = (await fsp.readFile(dirs.journalPath, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalRecord);
  const journaledWrites = journal.filter((r) => r.op === 'write' && r.path === '/f');
  t.diagnostic(`application's write: ${outcome}; store holds "${stored}"; ${journaledWrites.length} write records of /f`);
  assert.equal(stored, 'new bytes', 'the write the mount was serving reached the store');
  assert.equal(journaledWrites.length, 2, 'both writes the store got are journaled (the first one\'s and the one running at the stop)');
});
