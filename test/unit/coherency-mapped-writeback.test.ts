import assert from 'node:assert/strict';
import { constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { holdWholeFileWrite } from '../../src/agent/coherency/mapping-write-token';
import { SessionLostError } from '../../src/common/errors';
import { silentLogger } from '../../src/common/logger';
import { signal, twoHosts } from './support/coherency-hosts';

/**
 * Pages a shared writable mapping dirtied, as the coherency layer takes
 * them back from the kernel (docs/fuse.md, "Writable shared mappings"):
 * under the whole-file WRITE token a read-write cached open claimed, with
 * no request to the coordinator, and refused without it. Two hosts' hooks
 * over one real backing directory; the kernel's drop is a callback.
 */

test('a revoke\'s page drop writes a dirty mapped page back under the token being revoked, and the other host reads it', async (t) => {
  const { dir, a, b } = await twoHosts(t);
  const { fh } = await a.run(a.vop('open', { flags: constants.O_RDWR }));
  const pages = a.hook.core.kernel.pages;
  pages.opened(a.key, 1, true);
  assert.equal(await holdWholeFileWrite(a.hook.core.tokens, a.key, signal, silentLogger()), true);
  assert.equal(pages.readMode(a.key), 'WRITE', 'reads ask for WRITE while a read-write cached open exists');
  // The kernel's drop of A's pages: it writes the dirty page back first, as invalidate_inode_pages2 does.
  const acquiresBefore = a.client.acquires;
  let laundered: Promise<unknown> | undefined;
  a.hook.core.kernel.attach({
    attrs: async () => undefined,
    allAttrs: async () => undefined,
    entries: () => undefined,
    pages: async () => {
      laundered ??= a.run(a.vop('write', { fh, data: Buffer.from('HELLO'), offset: 0, writeback: true }));
      await laundered;
    },
  });
  const { fh: fhB } = await b.run(b.vop('open', { flags: constants.O_RDONLY }));
  const buffer = Buffer.alloc(11);
  assert.equal(await b.run(b.vop('read', { fh: fhB, buffer, length: 11, offset: 0 })), 11);
  assert.equal(buffer.toString(), 'HELLO world', 'B reads the page A wrote back during the revoke');
  assert.equal(await laundered, 5);
  assert.equal(a.client.acquires, acquiresBefore, 'the written-back page asked the coordinator for nothing');
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'HELLO world');
});

test('a written-back mapped page finds no data WRITE token: refused (EIO), and nothing reaches the store', async (t) => {
  const { dir, a } = await twoHosts(t);
  const { fh } = await a.run(a.vop('open', { flags: constants.O_RDWR }));
  const acquiresBefore = a.client.acquires;
  await assert.rejects(a.run(a.vop('write', { fh, data: Buffer.from('STALE'), offset: 0, writeback: true })), SessionLostError);
  assert.equal(a.client.acquires, acquiresBefore, 'no token was asked for');
  await a.run(a.vop('fsync', { fh, datasync: false }));
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hello world');
});

test('a written-back mapped page under a held WRITE token is buffered like a write and reaches the store at fsync', async (t) => {
  const { dir, a } = await twoHosts(t);
  const { fh } = await a.run(a.vop('open', { flags: constants.O_RDWR }));
  assert.equal(await holdWholeFileWrite(a.hook.core.tokens, a.key, signal, silentLogger()), true);
  assert.equal(await a.run(a.vop('write', { fh, data: Buffer.from('W'), offset: 6, writeback: true })), 1);
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hello world', 'buffered');
  await a.run(a.vop('fsync', { fh, datasync: false }));
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hello World');
  await a.run(a.vop('release', { fh }));
});

test('a write while a read-write cached open exists takes whole-file WRITE, so another host\'s later write into its page drops the kernel\'s pages', async (t) => {
  const { coordinator, a, b } = await twoHosts(t, Buffer.alloc(12288));
  coordinator.expand = false; // grants exactly what is asked: a range write gets a range token
  const { fh } = await a.run(a.vop('open', { flags: constants.O_RDWR }));
  const pages = a.hook.core.kernel.pages;
  pages.opened(a.key, 1, true);
  assert.equal(await holdWholeFileWrite(a.hook.core.tokens, a.key, signal, silentLogger()), true);
  let drops = 0;
  a.hook.core.kernel.attach({ attrs: async () => undefined, allAttrs: async () => undefined, entries: () => undefined, pages: async () => { drops++; } });
  const { fh: fhB } = await b.run(b.vop('open', { flags: constants.O_WRONLY }));
  await b.run(b.vop('write', { fh: fhB, data: Buffer.alloc(16, 'b'), offset: 8192 }));
  const afterFirst = drops;
  assert.ok(afterFirst > 0, 'B\'s first write took A\'s whole-file token, and A\'s pages with it');
  // A write(2) through A's cached handle: the kernel put a page there before the WRITE came.
  pages.pagesWritten(a.key);
  await a.run(a.vop('write', { fh, data: Buffer.alloc(4096, 'A'), offset: 0 }));
  await b.run(b.vop('write', { fh: fhB, data: Buffer.alloc(8, 'B'), offset: 100 }));
  assert.ok(drops > afterFirst, 'B\'s write into that page dropped A\'s pages (A\'s write held whole-file WRITE, not just its range)');
});
