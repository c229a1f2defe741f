import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AttrCache } from '../../src/agent/coherency/attr-cache';
import type { VopStat } from '../../src/agent/vop';

const KEY = 'ns/7';
const stat = (size: number, blocks: number): VopStat => ({
  ino: 7, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, size, blksize: 4096, blocks,
  atimeMs: 0, mtimeMs: 0, ctimeMs: 0,
});

describe('attribute cache: st_blocks of a file this host writes', () => {
  it('grows the blocks with the bytes written, in whole 4 KiB blocks', () => {
    const c = new AttrCache();
    c.set(KEY, stat(0, 0));
    c.setSize(KEY, 100, 100);
    assert.equal(c.get(KEY)?.blocks, 8);
    c.setSize(KEY, 10_000, 9_900);
    assert.equal(c.get(KEY)?.blocks, 24, "10,000 bytes take three 4 KiB blocks");
  });

  it('never counts more blocks than a dense file of that size takes (rewrites of the same bytes)', () => {
    const c = new AttrCache();
    c.set(KEY, stat(4096, 8));
    for (let i = 0; i < 10; i++) c.setSize(KEY, 8192, 4096);
    assert.equal(c.get(KEY)?.blocks, 16);
  });

  it('leaves the blocks of a file extended without data (a truncate up stays sparse)', () => {
    const c = new AttrCache();
    c.set(KEY, stat(4096, 8));
    c.setSize(KEY, 1 << 30);
    assert.equal(c.get(KEY)?.blocks, 8);
  });

  it('gives back the blocks past a smaller size', () => {
    const c = new AttrCache();
    c.set(KEY, stat(1 << 20, 2048));
    c.setSize(KEY, 4096);
    assert.equal(c.get(KEY)?.blocks, 8);
  });
});
