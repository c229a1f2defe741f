import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentCluster, waitForFile } from '../support/agent-cluster';

/**
 * Data coherence across two real agents (DESIGN §8.3): every file op runs
 * in a separate process on mount A (agent 0) or mount B (agent 1), both
 * over one backing directory.
 */
let cluster: AgentCluster;
const A = 0;
const B = 1;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const mnt = (i: number, name: string) => q(cluster.mnt(i, name));
const py = (args: string) => cluster.sh(`python3 ${q(cluster.py)} ${args}`).then((out) => out.trim());

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
});

after(async () => {
  await cluster?.stop();
});

describe('data coherence across two agents', () => {
  it('returns a write through mount A to a read through mount B that starts after it', { timeout: 60_000 }, async () => {
    await cluster.sh(`printf 'hello from A' > ${mnt(A, 'greeting')}`);
    assert.equal(await cluster.sh(`cat ${mnt(B, 'greeting')}`), 'hello from A');
    // B now caches the old bytes; an overwrite in place on A must still be what B reads next.
    await cluster.sh(`printf 'HELLO' | dd of=${mnt(A, 'greeting')} conv=notrunc status=none`);
    assert.equal(await cluster.sh(`cat ${mnt(B, 'greeting')}`), 'HELLO from A');
    await cluster.sh(`printf ', and more' >> ${mnt(A, 'greeting')}`);
    assert.equal((await cluster.sh(`stat -c %s ${mnt(B, 'greeting')}`)).trim(), '22', 'B sees the new size');
    assert.equal(await cluster.sh(`cat ${mnt(B, 'greeting')}`), 'HELLO from A, and more');
    assert.equal(await cluster.sh(`cat ${q(cluster.bak('greeting'))}`), 'HELLO from A, and more');
    // And the other way round, many times, alternating.
    for (let i = 0; i < 20; i++) {
      const [w, r] = i % 2 === 0 ? [A, B] : [B, A];
      await cluster.sh(`printf 'round %s' ${i} | dd of=${mnt(w, 'greeting')} conv=notrunc status=none`);
      assert.equal((await cluster.sh(`cat ${mnt(r, 'greeting')}`)).slice(0, `round ${i}`.length), `round ${i}`, `round ${i}`);
    }
  });

  it('returns new data to a reader on B that kept the file open since before the write', { timeout: 60_000 }, async () => {
    assert.equal(await py(`write ${mnt(A, 'held')} 0 100000 1`), 'ok');
    const ready = cluster.tmp('held.ready');
    const go = cluster.tmp('held.go');
    const reader = cluster.spawnSh(`python3 ${q(cluster.py)} hold-read ${mnt(B, 'held')} ${q(ready)} ${q(go)}`);
    await waitForFile(ready);
    // Overwrite part of it and extend it through A while B's descriptor stays open (and B has read the old bytes).
    assert.equal(await py(`write ${mnt(A, 'held')} 50000 100000 2`), 'ok');
    await cluster.sh(`touch ${q(go)}`);
    const result = await reader.result(30_000);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), await py(`sha ${q(cluster.bak('held'))}`), 'the held reader sees what the backing file holds');
    assert.equal(await py(`verify ${q(cluster.bak('held'))} 0 50000 1`), 'ok');
    assert.equal(await py(`verify ${q(cluster.bak('held'))} 50000 100000 2`), 'ok');
    assert.match(result.stdout, /^150000 /);
  });

  it('reports the blocks a file this host just wrote takes (du and cp do not take it for empty or sparse)', { timeout: 60_000 }, async () => {
    assert.equal(await py(`write ${mnt(A, 'dense')} 0 100000 3`), 'ok');
    // 100,000 bytes in 4 KiB blocks: 25 blocks, 200 units of 512 bytes; before the fix the writer's own stat said 0.
    const blocks = Number((await cluster.sh(`stat -c %b ${mnt(A, 'dense')}`)).trim());
    assert.ok(blocks >= Math.ceil(100_000 / 512), `A reports ${blocks} blocks of 512 bytes`);
    assert.ok(blocks <= 2 * 200, `A reports ${blocks} blocks, more than the file can take`);
  });

  it('moves a file\'s mtime and ctime with each overwrite, append, truncate and O_TRUNC, as make needs', { timeout: 60_000 }, async () => {
    // Each change follows a utime back to 2000-01-01, so no test has to wait for the clock to move.
    const script = [
      'import os, sys',
      'p = sys.argv[1]',
      'OLD = 946684800',
      'def old(): os.utime(p, (OLD, OLD))',
      'def times(what): s = os.stat(p); print(what, s.st_mtime > OLD + 1e8, s.st_ctime > OLD + 1e8)',
      "open(p, 'w').write('abcdef')",
      'old(); fd = os.open(p, os.O_WRONLY); os.pwrite(fd, b"X", 0); times("overwrite"); os.close(fd); times("closed")',
      "old(); f = open(p, 'a'); f.write('gh'); f.close(); times('append')",
      'old(); os.truncate(p, 3); times("truncate")',
      'old(); os.close(os.open(p, os.O_WRONLY | os.O_TRUNC)); times("O_TRUNC")',
    ].join('\n');
    const out = await cluster.sh(`python3 -c ${q(script)} ${mnt(A, 'mtimes')}`);
    assert.equal(out.trim(), ['overwrite', 'closed', 'append', 'truncate', 'O_TRUNC'].map((w) => `${w} True True`).join('\n'));
    const onB = Number((await cluster.sh(`stat -c %Y ${mnt(B, 'mtimes')}`)).trim());
    assert.ok(onB > 946684800 + 1e8, `B reports mtime ${onB} after A's O_TRUNC`);
  });

  it('returns data larger than the agent page cache (80 MiB > 64 MiB) written through A to a reader on B', { timeout: 180_000 }, async () => {
    const ref = q(cluster.tmp('big.ref'));
    await cluster.sh(`head -c 83886080 /dev/urandom > ${ref}`);
    const want = (await cluster.sh(`sha256sum < ${ref}`)).split(' ')[0];
    await cluster.sh(`dd if=${ref} of=${mnt(A, 'big')} bs=1M status=none`, { timeoutMs: 120_000 });
    assert.equal((await cluster.sh(`sha256sum < ${mnt(B, 'big')}`, { timeoutMs: 120_000 })).split(' ')[0], want, 'read through B');
    assert.equal((await cluster.sh(`sha256sum < ${q(cluster.bak('big'))}`)).split(' ')[0], want, 'backing file');
    // Rewrite a slice in the middle through B: A (which cached part of the file while writing) reads the new slice.
    await cluster.sh(`head -c 1048576 /dev/zero | tr '\\0' 'Z' | dd of=${mnt(B, 'big')} bs=1M seek=40 conv=notrunc iflag=fullblock status=none`);
    await cluster.sh(`head -c 1048576 /dev/zero | tr '\\0' 'Z' | dd of=${ref} bs=1M seek=40 conv=notrunc iflag=fullblock status=none`);
    const want2 = (await cluster.sh(`sha256sum < ${ref}`)).split(' ')[0];
    assert.equal((await cluster.sh(`sha256sum < ${mnt(A, 'big')}`, { timeoutMs: 120_000 })).split(' ')[0], want2, 'read through A after B rewrote a slice');
    await cluster.sh(`rm -f ${ref} ${mnt(A, 'big')}`);
  });

  it('loses no line and tears none when both mounts append 200 lines each to one file at once', { timeout: 180_000 }, async (t) => {
    const pad = 'x'.repeat(100);
    const go = q(cluster.tmp('append.go'));
    // Both loops start together; every 4 lines a writer pauses 50 ms so the token keeps changing hands.
    const appender = (i: number, tag: string) => cluster.spawnSh(
      `while [ ! -e ${go} ]; do sleep 0.01; done; i=1; while [ $i -le 200 ]; do echo "${tag}-$i-${pad}" >> ${mnt(i, 'log')} || exit 1; ` +
      `[ $((i % 4)) -eq 0 ] && sleep 0.05; i=$((i+1)); done`);
    await cluster.sh(`: > ${mnt(A, 'log')}`);
    const writers = [appender(A, 'A'), appender(B, 'B')];
    await cluster.sh(`touch ${go}`);
    const results = await Promise.all(writers.map((w) => w.result(150_000)));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    for (const [where, path] of [['B', mnt(B, 'log')], ['A', mnt(A, 'log')], ['backing', q(cluster.bak('log'))]] as const) {
      const lines = (await cluster.sh(`cat ${path}`)).split('\n');
      assert.equal(lines.pop(), '', `${where}: ends with a newline`);
      assert.equal(lines.length, 400, `${where}: 400 lines`);
      const seen: Record<string, number[]> = { A: [], B: [] };
      if (where === 'B') {
        const alternations = lines.filter((l, k) => k > 0 && l[0] !== lines[k - 1][0]).length;
        t.diagnostic(`writers alternated ${alternations} times in the file`);
        assert.ok(alternations >= 2, 'the two writers really did append at the same time');
      }
      for (const line of lines) {
        const m = /^([AB])-(\d+)-(x+)$/.exec(line);
        assert.ok(m && m[3] === pad, `${where}: torn line ${JSON.stringify(line.slice(0, 60))}`);
        seen[m[1]].push(Number(m[2]));
      }
      const oneTo200 = Array.from({ length: 200 }, (_, k) => k + 1);
      assert.deepEqual(seen.A, oneTo200, `${where}: every A line once, in order`);
      assert.deepEqual(seen.B, oneTo200, `${where}: every B line once, in order`);
    }
  });

  it('keeps both ranges when two writers write disjoint ranges of one file at once (dd conv=notrunc seek=)', { timeout: 120_000 }, async () => {
    // The boundary (1,000,000) is not page aligned: both agents dirty the page that holds it.
    const dd = (i: number, ch: string, seekBlocks: number) =>
      cluster.spawnSh(`head -c 1000000 /dev/zero | tr '\\0' '${ch}' | dd of=${mnt(i, 'halves')} bs=1000 seek=${seekBlocks} conv=notrunc iflag=fullblock status=none`);
    for (let round = 0; round < 3; round++) {
      await cluster.sh(`rm -f ${mnt(A, 'halves')}; : > ${mnt(A, 'halves')}`);
      const rs = await Promise.all([dd(A, 'A', 0), dd(B, 'B', 1000)].map((w) => w.result(60_000)));
      for (const r of rs) assert.equal(r.code, 0, r.stderr);
      for (const path of [mnt(A, 'halves'), mnt(B, 'halves'), q(cluster.bak('halves'))]) {
        const counts = await cluster.sh(`python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(len(d), d[:1000000].count(b"A"), d[1000000:].count(b"B"))' ${path}`);
        assert.equal(counts.trim(), '2000000 1000000 1000000', `round ${round}: ${path}`);
      }
    }
  });

  it('keeps every block when two writers with open descriptors interleave 1000-byte blocks of one file', { timeout: 120_000 }, async () => {
    // A writes the even blocks, B the odd ones, each through one descriptor: most 4 KiB pages hold bytes of both.
    await cluster.sh(`: > ${mnt(A, 'interleaved')}`);
    const writers = [cluster.spawnSh(`python3 ${q(cluster.py)} write-blocks ${mnt(A, 'interleaved')} 0 2 400 1000 11`),
      cluster.spawnSh(`python3 ${q(cluster.py)} write-blocks ${mnt(B, 'interleaved')} 1 2 400 1000 22`)];
    for (const r of await Promise.all(writers.map((w) => w.result(60_000)))) assert.equal(r.stdout.trim(), 'ok', r.stderr);
    for (const path of [mnt(B, 'interleaved'), mnt(A, 'interleaved'), q(cluster.bak('interleaved'))]) {
      assert.equal(await py(`verify-blocks ${path} 1000 400 11 22`), 'ok', path);
    }
  });

  it('flushes a writer\'s dirty pages when a read on B revokes its token: the reader sees all of them', { timeout: 60_000 }, async () => {
    let stillDirty = 0;
    for (let round = 0; round < 3; round++) {
      const name = `dirty-${round}`;
      const ready = cluster.tmp(`${name}.ready`);
      const go = cluster.tmp(`${name}.go`);
      await cluster.sh(`head -c 300000 /dev/zero > ${mnt(A, name)}`);
      // The writer keeps its descriptor open and does not fsync: the data sits dirty in agent A.
      const writer = cluster.spawnSh(`python3 ${q(cluster.py)} hold-write ${mnt(A, name)} 0 300000 ${round + 5} ${q(ready)} ${q(go)}`);
      await waitForFile(ready);
      // (Looking at the backing file directly takes no token: it shows whether the data is still dirty in A.)
      if ((await py(`verify ${q(cluster.bak(name))} 0 300000 ${round + 5}`)) !== 'ok') stillDirty++;
      assert.equal(await py(`verify ${mnt(B, name)} 0 300000 ${round + 5}`), 'ok', `round ${round}: read through B`);
      assert.equal(await py(`verify ${q(cluster.bak(name))} 0 300000 ${round + 5}`), 'ok', `round ${round}: backing after the revoke`);
      await cluster.sh(`touch ${q(go)}`);
      const r = await writer.result(30_000);
      assert.equal(r.stdout.trim(), 'ok', r.stderr);
    }
    assert.ok(stillDirty > 0, 'in at least one round the data was still dirty in A when B read it (else this test shows nothing)');
  });
});
