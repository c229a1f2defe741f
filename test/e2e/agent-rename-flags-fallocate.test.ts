import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'node:fs';
import { AgentCluster } from '../support/agent-cluster';

/**
 * renameat2 flags and fallocate on the agent mount run as vops through the
 * hooks: what one host does is what the other host sees at once, even for
 * names, attributes and pages it had just read (its tokens were revoked).
 */
let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const A = (rel: string) => cluster.mnt(0, rel);
const B = (rel: string) => cluster.mnt(1, rel);
const sh = (cmd: string) => cluster.sh(cmd);
const cat = async (path: string) => {
  const r = await cluster.run(`cat ${q(path)}`);
  return r.code === 0 ? r.stdout : r.stderr.includes('No such file') ? 'ENOENT' : `ERR ${r.stderr}`;
};
const RENAME2 = 'import ctypes,sys,errno\nlibc=ctypes.CDLL(None,use_errno=True)\nr=libc.renameat2(-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),int(sys.argv[3]))\nprint("OK" if r==0 else errno.errorcode[ctypes.get_errno()])';
const rename2 = async (from: string, to: string, flags: number) => (await sh(`python3 -c ${q(RENAME2)} ${q(from)} ${q(to)} ${flags}`)).trim();

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
});

after(async () => {
  await cluster?.stop();
});

describe('renameat2 flags and fallocate across two agents', () => {
  it('RENAME_NOREPLACE refuses an existing target with EEXIST and moves onto a free name', { timeout: 60_000 }, async () => {
    await sh(`printf one > ${q(A('n1'))} && printf two > ${q(A('n2'))}`);
    assert.equal(await cat(B('n1')), 'one');
    assert.equal(await rename2(A('n1'), A('n2'), 1), 'EEXIST');
    assert.deepEqual([await cat(B('n1')), await cat(B('n2'))], ['one', 'two']);
    assert.equal(await rename2(A('n1'), A('n3'), 1), 'OK');
    assert.deepEqual([await cat(B('n1')), await cat(B('n3'))], ['ENOENT', 'one']);
  });

  it('RENAME_EXCHANGE of two files on A shows swapped contents and sizes on B, which had just read both', { timeout: 60_000 }, async () => {
    await sh(`printf short > ${q(A('p'))} && printf 'a longer file' > ${q(A('q'))}`);
    assert.deepEqual([await cat(B('p')), await cat(B('q'))], ['short', 'a longer file']);
    assert.equal((await sh(`stat -c %s ${q(B('p'))}`)).trim(), '5');
    assert.equal(await rename2(A('p'), A('q'), 2), 'OK');
    assert.deepEqual([await cat(B('p')), await cat(B('q'))], ['a longer file', 'short']);
    assert.equal((await sh(`stat -c %s ${q(B('p'))}`)).trim(), '13');
    assert.equal(await fsp.readFile(cluster.bak('p'), 'utf8'), 'a longer file');
    // A name swapped through A, then written through A by its new name, is what B reads by that name.
    await sh(`printf X >> ${q(A('q'))}`);
    assert.equal(await cat(B('q')), 'shortX');
  });

  it('RENAME_EXCHANGE of two directories swaps their entries as B lists them', { timeout: 60_000 }, async () => {
    await sh(`mkdir ${q(A('d1'))} ${q(A('d2'))} && touch ${q(A('d1/in-1'))} ${q(A('d2/in-2'))}`);
    assert.equal((await sh(`ls ${q(B('d1'))}`)).trim(), 'in-1');
    assert.equal(await rename2(A('d1'), A('d2'), 2), 'OK');
    assert.equal((await sh(`ls ${q(B('d1'))}`)).trim(), 'in-2');
    assert.equal((await sh(`ls ${q(B('d2'))}`)).trim(), 'in-1');
    // Paths below a swapped directory resolve through A too (its node table swapped them).
    await sh(`printf deep > ${q(A('d1/in-2'))}`);
    assert.equal(await fsp.readFile(cluster.bak('d1', 'in-2'), 'utf8'), 'deep');
  });

  it('a rename on A over a hard-linked file updates the link count and ctime B sees through the other link', { timeout: 60_000 }, async () => {
    await sh(`printf old > ${q(A('t'))} && ln ${q(A('t'))} ${q(A('t-link'))} && printf new > ${q(A('s'))}`);
    const stat = async () => (await sh(`stat -c '%h|%z' ${q(B('t-link'))}`)).trim().split('|');
    const [linksBefore, ctimeBefore] = await stat();
    assert.equal(linksBefore, '2');
    await sh(`mv ${q(A('s'))} ${q(A('t'))}`);
    const [linksAfter, ctimeAfter] = await stat();
    assert.equal(linksAfter, '1', 'B no longer counts the replaced name');
    assert.notEqual(ctimeAfter, ctimeBefore, 'the replaced inode\'s ctime moved'); // %z: nanoseconds
    assert.equal(await cat(B('t')), 'new');
    assert.equal(await cat(B('t-link')), 'old');
  });

  it('refuses RENAME_NOREPLACE|RENAME_EXCHANGE together with EINVAL', { timeout: 60_000 }, async () => {
    assert.equal(await rename2(A('p'), A('q'), 3), 'EINVAL');
  });

  it('fallocate on A extends the file as B sees it; a hole punched on A reads as zeros on B, which had the bytes cached', { timeout: 60_000 }, async () => {
    await sh(`head -c 8192 /dev/zero | tr '\\0' x > ${q(A('f'))}`);
    assert.equal((await sh(`head -c 8192 ${q(B('f'))} | tr -d x | wc -c`)).trim(), '0');
    await sh(`fallocate -l 1048576 ${q(A('f'))}`);
    assert.equal((await sh(`stat -c %s ${q(B('f'))}`)).trim(), '1048576');
    await sh(`fallocate -p -o 0 -l 4096 ${q(A('f'))}`);
    assert.equal((await sh(`head -c 4096 ${q(B('f'))} | tr -d '\\0' | wc -c`)).trim(), '0', 'the punched range reads as zeros on B');
    assert.equal((await sh(`head -c 8192 ${q(B('f'))} | tail -c 4096 | tr -d x | wc -c`)).trim(), '0', 'the rest is still there');
    assert.equal((await fsp.stat(cluster.bak('f'))).size, 1048576);
  });
  it('SEEK_DATA and SEEK_HOLE on B find the holes of a file A wrote sparsely; on A they count its own unflushed writes as data', { timeout: 60_000 }, async () => {
    const SEEK = 'import os,sys,errno\nfd=os.open(sys.argv[1],os.O_RDONLY)\nfor a in sys.argv[2:]:\n  w,o=a.split(":")\n  try: print(os.lseek(fd,int(o),os.SEEK_DATA if w=="D" else os.SEEK_HOLE))\n  except OSError as e: print(errno.errorcode[e.errno])';
    const seek = async (path: string, ...asks: string[]) => (await sh(`python3 -c ${q(SEEK)} ${q(path)} ${asks.join(' ')}`)).trim().split('\n');
    await sh(`python3 -c 'import os,sys; fd=os.open(sys.argv[1],os.O_WRONLY|os.O_CREAT,0o644); os.pwrite(fd,b"x"*4096,0); os.pwrite(fd,b"y"*4096,1<<20); os.close(fd)' ${q(A('sparse'))}`);
    // Without an lseek op the kernel calls the whole file data: SEEK_HOLE from 0 would give the size, 1052672.
    assert.deepEqual(await seek(B('sparse'), 'H:0', 'D:4096', 'H:1048576', 'D:1052672'), ['4096', '1048576', '1052672', 'ENXIO']);
    const OWN = 'import os,sys\nfd=os.open(sys.argv[1],os.O_RDWR)\nos.pwrite(fd,b"z"*4096,2<<20)\nprint(os.lseek(fd,1052672,os.SEEK_DATA))';
    assert.equal((await sh(`python3 -c ${q(OWN)} ${q(A('sparse'))}`)).trim(), '2097152', 'A\'s own write, still in its write-back, is data');
    assert.deepEqual(await seek(B('sparse'), 'D:1052672', 'H:2097152'), ['2097152', '2101248']);
  });
});
