import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentCluster, waitForFile } from '../support/agent-cluster';

/**
 * Namespace coherence across two real agents: a change made through mount
 * A (agent 0) is what the very next stat, ls or open on mount B (agent 1)
 * sees — no sleeps, no polling. Before each change B looks at the old
 * state, so whatever B caches (attributes, entries, negative lookups)
 * must be invalidated.
 */
let cluster: AgentCluster;
const A = 0;
const B = 1;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const on = (i: number, rel: string) => q(cluster.mnt(i, rel));
/** `stat` through mount i: "<type> <octal mode> <size>", or the error text. */
const stat = async (i: number, rel: string) => {
  const r = await cluster.run(`stat -c '%F %a %s' ${on(i, rel)}`);
  return r.code === 0 ? r.stdout.trim().replace(/^regular empty file/, 'regular file') : `ERR ${r.stderr.includes('No such file') ? 'ENOENT' : r.stderr.trim()}`;
};
const ls = async (i: number, rel: string) => (await cluster.sh(`ls -1a ${on(i, rel)}`)).split('\n').filter((n) => n && n !== '.' && n !== '..');
const py = (args: string) => cluster.sh(`python3 ${q(cluster.py)} ${args}`).then((out) => out.trim());
const cat = async (i: number, rel: string) => {
  const r = await cluster.run(`cat ${on(i, rel)}`);
  return r.code === 0 ? r.stdout : `ERR ${r.stderr.includes('No such file') ? 'ENOENT' : r.stderr.trim()}`;
};

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
  await cluster.sh(`mkdir ${on(A, 'd')}`);
});

after(async () => {
  await cluster?.stop();
});

describe('namespace coherence across two agents', () => {
  it('shows a file created on A to stat, ls and open on B at once', { timeout: 30_000 }, async () => {
    assert.deepEqual(await ls(B, 'd'), []);
    assert.equal(await stat(B, 'd/new'), 'ERR ENOENT');
    await cluster.sh(`printf 'made on A' > ${on(A, 'd/new')}`);
    assert.equal(await stat(B, 'd/new'), 'regular file 644 9');
    assert.deepEqual(await ls(B, 'd'), ['new']);
    assert.equal(await cat(B, 'd/new'), 'made on A');
  });

  it('shows a rename on A to B at once: the old name is gone, the new one has the data', { timeout: 30_000 }, async () => {
    assert.equal(await cat(B, 'd/new'), 'made on A');
    await cluster.sh(`mv ${on(A, 'd/new')} ${on(A, 'd/renamed')}`);
    assert.equal(await stat(B, 'd/new'), 'ERR ENOENT');
    assert.equal(await cat(B, 'd/new'), 'ERR ENOENT');
    assert.deepEqual(await ls(B, 'd'), ['renamed']);
    assert.equal(await cat(B, 'd/renamed'), 'made on A');
    // Across directories, over an existing target.
    await cluster.sh(`printf 'target' > ${on(B, 'target')}`);
    assert.equal(await cat(A, 'target'), 'target');
    await cluster.sh(`mv ${on(A, 'd/renamed')} ${on(A, 'target')}`);
    assert.equal(await cat(B, 'target'), 'made on A');
    assert.deepEqual(await ls(B, 'd'), []);
    assert.ok((await ls(B, '')).includes('target'));
  });

  it('shows an unlink on A to B at once, even while B just read the file', { timeout: 30_000 }, async () => {
    assert.equal(await cat(B, 'target'), 'made on A');
    await cluster.sh(`rm ${on(A, 'target')}`);
    assert.equal(await stat(B, 'target'), 'ERR ENOENT');
    assert.equal(await cat(B, 'target'), 'ERR ENOENT');
    assert.ok(!(await ls(B, '')).includes('target'));
    // And the name can be made again, from B, and is seen on A.
    await cluster.sh(`printf 'again' > ${on(B, 'target')}`);
    assert.equal(await cat(A, 'target'), 'again');
    await cluster.sh(`rm ${on(B, 'target')}`);
    assert.equal(await stat(A, 'target'), 'ERR ENOENT');
  });

  it('shows mkdir and rmdir on A to B at once', { timeout: 30_000 }, async () => {
    assert.equal(await stat(B, 'd/sub'), 'ERR ENOENT');
    await cluster.sh(`mkdir ${on(A, 'd/sub')}`);
    assert.match(await stat(B, 'd/sub'), /^directory 755 /);
    assert.deepEqual(await ls(B, 'd'), ['sub']);
    assert.deepEqual(await ls(B, 'd/sub'), []);
    // B can use the new directory at once, and A sees what B put there.
    await cluster.sh(`printf 'in sub' > ${on(B, 'd/sub/f')}`);
    assert.deepEqual(await ls(A, 'd/sub'), ['f']);
    await cluster.sh(`rm ${on(A, 'd/sub/f')} && rmdir ${on(A, 'd/sub')}`);
    assert.equal(await stat(B, 'd/sub'), 'ERR ENOENT');
    assert.deepEqual(await ls(B, 'd'), []);
    const r = await cluster.run(`touch ${on(B, 'd/sub/f')}`);
    assert.notEqual(r.code, 0, 'creating inside the removed directory fails on B');
  });

  it('shows chmod on A to B at once', { timeout: 30_000 }, async () => {
    await cluster.sh(`printf 'mode' > ${on(A, 'modes')} && chmod 644 ${on(A, 'modes')}`);
    assert.equal(await stat(B, 'modes'), 'regular file 644 4');
    for (const mode of ['600', '755', '4711', '444']) {
      await cluster.sh(`chmod ${mode} ${on(A, 'modes')}`);
      assert.equal(await stat(B, 'modes'), `regular file ${mode} 4`);
    }
    assert.equal((await cluster.sh(`stat -c %a ${q(cluster.bak('modes'))}`)).trim(), '444');
    await cluster.sh(`chmod 755 ${on(A, 'd')}`);
    await cluster.sh(`chmod 700 ${on(A, 'd')}`);
    assert.match(await stat(B, 'd'), /^directory 700 /);
  });

  it('shows times set on A (touch -d) to stat on B at once', { timeout: 30_000 }, async () => {
    await cluster.sh(`printf 'times' > ${on(A, 'times')}`);
    assert.equal(await cat(B, 'times'), 'times');
    for (const epoch of [1000000000, 1500000000, 2000000000]) {
      await cluster.sh(`touch -d @${epoch} ${on(A, 'times')}`);
      assert.equal((await cluster.sh(`stat -c '%X %Y' ${on(B, 'times')}`)).trim(), `${epoch} ${epoch}`);
    }
  });

  it('shows an mtime-only change (touch -m) and distinct atime/mtime (os.utime) set on A to B', { timeout: 30_000 }, async () => {
    await cluster.sh(`printf 'times' > ${on(A, 'times2')} && touch -d @1000000000 ${on(A, 'times2')}`);
    await cluster.sh(`touch -m -d @1100000000 ${on(A, 'times2')}`);
    assert.equal((await cluster.sh(`stat -c '%X %Y' ${on(B, 'times2')}`)).trim(), '1000000000 1100000000', 'touch -m');
    await cluster.sh(`python3 -c 'import os, sys; os.utime(sys.argv[1], (1300000000, 1400000000))' ${on(A, 'times2')}`);
    assert.equal((await cluster.sh(`stat -c '%X %Y' ${on(B, 'times2')}`)).trim(), '1300000000 1400000000', 'os.utime');
  });

  it('keeps times set on A to the nanosecond (utimensat), on both mounts and in the store, and UTIME_OMIT keeps them', { timeout: 30_000 }, async () => {
    await cluster.sh(`printf 'ns' > ${on(A, 'times-ns')}`);
    const set = 'import os, sys; os.utime(sys.argv[1], ns=(100000000100000000, 1700000000123456789))';
    await cluster.sh(`python3 -c ${q(set)} ${on(A, 'times-ns')}`);
    const ns = (p: string) => cluster.sh(`python3 -c ${q('import os, sys; s = os.lstat(sys.argv[1]); print(s.st_atime_ns, s.st_mtime_ns)')} ${q(p)}`).then((o) => o.trim());
    assert.equal(await ns(cluster.mnt(A, 'times-ns')), '100000000100000000 1700000000123456789');
    assert.equal(await ns(cluster.mnt(B, 'times-ns')), '100000000100000000 1700000000123456789');
    assert.equal(await ns(cluster.bak('times-ns')), '100000000100000000 1700000000123456789');
    // touch -a sets atime only (mtime UTIME_OMIT): the mtime keeps its nanoseconds.
    await cluster.sh(`touch -a -d @1200000000.5 ${on(A, 'times-ns')}`);
    assert.equal(await ns(cluster.mnt(B, 'times-ns')), '1200000000500000000 1700000000123456789');
  });

  it('works on names deeper than PATH_MAX from the mount\'s root (as the kernel allows: each call\'s path is shorter), and shows them to B', { timeout: 60_000 }, async () => {
    // 24 directories of 200 bytes: 4,800 bytes from the mount's root, reached in two halves (no call takes more than 4,096).
    const level = (i: number) => String(i).padStart(3, '0') + 'd'.repeat(196);
    const outer = Array.from({ length: 12 }, (_, i) => level(i)).join('/');
    const inner = Array.from({ length: 12 }, (_, i) => level(i + 12)).join('/');
    const script = [
      'import os, sys',
      'os.chdir(sys.argv[1]); os.makedirs(sys.argv[2]); os.chdir(sys.argv[2]); d = sys.argv[3]',
      'os.makedirs(d)',
      "f = d + '/file'; open(f, 'w').write('deep')",
      "os.chmod(f, 0o600); os.rename(f, d + '/moved'); os.link(d + '/moved', 'deep-link')",
      "print(open(d + '/moved').read(), oct(os.stat(d + '/moved').st_mode & 0o777), os.stat('deep-link').st_nlink, os.listdir(d))",
    ].join('\n');
    assert.equal(await cluster.sh(`python3 -c ${q(script)} ${on(A, '')} ${q(outer)} ${q(inner)}`), "deep 0o600 2 ['moved']\n");
    const onB = 'import os, sys; os.chdir(sys.argv[1]); os.chdir(sys.argv[2]); d = sys.argv[3]; print(open(d + "/moved").read()); os.unlink(d + "/moved"); print(os.stat("deep-link").st_nlink)';
    assert.equal(await cluster.sh(`python3 -c ${q(onB)} ${on(B, '')} ${q(outer)} ${q(inner)}`), 'deep\n1\n');
    await cluster.sh(`rm -rf ${on(A, level(0))} ${on(A, 'deep-link')}`, { timeoutMs: 30_000 });
  });

  it('shows truncate on A (shrink, extend, to zero) to stat and read on B at once', { timeout: 30_000 }, async () => {
    await cluster.sh(`printf '0123456789abcdefghij' > ${on(A, 'trunc')}`);
    assert.equal(await cat(B, 'trunc'), '0123456789abcdefghij');
    await cluster.sh(`truncate -s 10 ${on(A, 'trunc')}`);
    assert.equal(await stat(B, 'trunc'), 'regular file 644 10');
    assert.equal(await cat(B, 'trunc'), '0123456789');
    await cluster.sh(`truncate -s 5000 ${on(A, 'trunc')}`);
    assert.equal(await stat(B, 'trunc'), 'regular file 644 5000');
    assert.equal(await cat(B, 'trunc'), '0123456789' + '\0'.repeat(4990));
    await cluster.sh(`truncate -s 0 ${on(A, 'trunc')}`);
    assert.equal(await stat(B, 'trunc'), 'regular file 644 0');
    assert.equal(await cat(B, 'trunc'), '');
  });

  it('shows a symlink made on A to readlink, stat and open on B at once', { timeout: 30_000 }, async () => {
    await cluster.sh(`printf 'pointed at' > ${on(A, 'd/real')}`);
    assert.equal(await stat(B, 'link'), 'ERR ENOENT');
    await cluster.sh(`ln -s d/real ${on(A, 'link')}`);
    assert.equal((await cluster.sh(`readlink ${on(B, 'link')}`)).trim(), 'd/real');
    assert.match(await stat(B, 'link'), /^symbolic link /);
    assert.equal(await cat(B, 'link'), 'pointed at');
    assert.ok((await ls(B, '')).includes('link'));
    await cluster.sh(`rm ${on(A, 'link')} && ln -s d/other ${on(A, 'link')}`);
    assert.equal((await cluster.sh(`readlink ${on(B, 'link')}`)).trim(), 'd/other');
    assert.equal(await cat(B, 'link'), 'ERR ENOENT');
  });

  it('keeps a hard link usable after its other names are unlinked, through this mount or the other', { timeout: 30_000 }, async () => {
    await cluster.sh(`cd ${on(A, '')} && echo linked > la && ln la lb && ln lb lc && stat -c %h la lb lc >/dev/null`);
    // A's node of the inode last had the path lc, then la (the stat); the unlinks take the paths it knew.
    await cluster.sh(`rm ${on(A, 'la')} ${on(A, 'lc')}`);
    assert.equal(await stat(A, 'lb'), 'regular file 644 7');
    await cluster.sh(`chmod 600 ${on(A, 'lb')}`);
    assert.equal(await cat(A, 'lb'), 'linked\n');
    assert.equal((await cluster.sh(`stat -c %h ${on(A, 'lb')}`)).trim(), '1');
    // B unlinks the name A's node goes by; A's next stat of the other name still finds the file.
    await cluster.sh(`cd ${on(A, '')} && echo x > lp && ln lp lq && stat lq lp >/dev/null`);
    await cluster.sh(`rm ${on(B, 'lp')}`);
    assert.equal(await stat(A, 'lq'), 'regular file 644 2');
    assert.equal(await stat(A, 'lp'), 'ERR ENOENT');
  });

  it('keeps a file readable through a descriptor B opened before A unlinked it', { timeout: 30_000 }, async () => {
    assert.equal(await py(`write ${on(A, 'doomed')} 0 50000 7`), 'ok');
    const want = await py(`sha ${on(B, 'doomed')}`);
    const ready = cluster.tmp('doomed.ready');
    const go = cluster.tmp('doomed.go');
    const reader = cluster.spawnSh(`python3 ${q(cluster.py)} hold-read ${on(B, 'doomed')} ${q(ready)} ${q(go)}`);
    await waitForFile(ready);
    await cluster.sh(`rm ${on(A, 'doomed')}`);
    assert.equal(await stat(B, 'doomed'), 'ERR ENOENT');
    await cluster.sh(`touch ${q(go)}`);
    const r = await reader.result(20_000);
    assert.equal(r.stdout.trim(), want, `the open descriptor still reads the unlinked file: ${r.stderr}`);
  });

  it('sends writes through a descriptor B opened before A renamed the file to the renamed file', { timeout: 30_000 }, async () => {
    assert.equal(await py(`write ${on(A, 'moving')} 0 10000 1`), 'ok');
    const ready = cluster.tmp('moving.ready');
    const go = cluster.tmp('moving.go');
    // B writes (dirty, not yet flushed) through a descriptor opened under the old name.
    const writer = cluster.spawnSh(`python3 ${q(cluster.py)} hold-write ${on(B, 'moving')} 0 10000 2 ${q(ready)} ${q(go)} fsync`);
    await waitForFile(ready);
    await cluster.sh(`mv ${on(A, 'moving')} ${on(A, 'moved')}`);
    await cluster.sh(`touch ${q(go)}`);
    assert.equal((await writer.result(20_000)).stdout.trim(), 'ok');
    assert.equal(await py(`verify ${on(A, 'moved')} 0 10000 2`), 'ok', 'A reads B\'s write under the new name');
    assert.equal(await stat(A, 'moving'), 'ERR ENOENT', 'the old name did not come back');
    assert.equal(await stat(B, 'moving'), 'ERR ENOENT');
  });

  it('keeps both mounts agreeing through 100 alternating create/rename/unlink steps', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 100; i++) {
      const [w, r] = i % 2 === 0 ? [A, B] : [B, A];
      await cluster.sh(`printf '${i}' > ${on(w, `d/f${i}`)}; mv ${on(w, `d/f${i}`)} ${on(w, `d/g${i}`)}; rm -f ${on(w, `d/g${i - 1}`)}`);
      assert.deepEqual(await ls(r, 'd'), [`g${i}`, 'real'].sort(), `step ${i}`);
      assert.equal(await cat(r, `d/g${i}`), String(i), `step ${i}`);
    }
  });
});
