import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'node:fs';
import { AgentCluster } from '../support/agent-cluster';
import { readMountInfo } from '../../src/agent/fuse/stale-mount';

/**
 * Caller identity on the agent mount: an agent running as root mounts with
 * allow_other and default_permissions, so other users reach the mount, the
 * kernel checks their permissions against the attributes the agent answers,
 * and what they create belongs to them (with their umask), on this host and
 * as every other host sees it.
 */
let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** Runs a shell command as uid/gid `id` with no supplementary groups. */
const as = (id: number, cmd: string) => cluster.run(`setpriv --reuid ${id} --regid ${id} --clear-groups sh -c ${q(cmd)}`);
const statOf = async (path: string) => {
  const st = await fsp.lstat(path);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
};

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
  await fsp.chmod(cluster.root, 0o755); // mkdtemp made it 0700: other users could not reach the mounts
  await cluster.sh(`mkdir ${q(cluster.mnt(0, 'pub'))} && chmod 1777 ${q(cluster.mnt(0, 'pub'))}`);
});

after(async () => {
  await cluster?.stop();
});

describe('caller identity on the agent mount', () => {
  it('mounts with allow_other and default_permissions when the agent runs as root', async () => {
    const mounts = await readMountInfo();
    const m = mounts.find((x) => x.mountPoint === cluster.mnt(0));
    assert.ok(m, 'mount listed');
    const line = (await fsp.readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.includes(` ${cluster.mnt(0)} `)) ?? '';
    assert.match(line, /allow_other/);
    assert.match(line, /default_permissions/);
  });

  it('gives files, directories, FIFOs and symlinks a non-root user makes to that user, with its umask', { timeout: 60_000 }, async () => {
    const d = cluster.mnt(0, 'pub');
    const r = await as(65534, `umask 027 && cd ${q(d)} && echo hi > file && mkdir dir && mkfifo fifo && ln -s file link && stat -c '%u:%g %a' file dir fifo`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), ['65534:65534 640', '65534:65534 750', '65534:65534 640'].join('\n'));
    assert.deepEqual(await statOf(cluster.bak('pub', 'file')), { uid: 65534, gid: 65534, mode: 0o640 });
    assert.deepEqual(await statOf(cluster.bak('pub', 'dir')), { uid: 65534, gid: 65534, mode: 0o750 });
    assert.deepEqual(await statOf(cluster.bak('pub', 'fifo')), { uid: 65534, gid: 65534, mode: 0o640 });
    const link = await statOf(cluster.bak('pub', 'link'));
    assert.deepEqual([link.uid, link.gid], [65534, 65534]);
    // The other host sees the same owner.
    const b = await cluster.run(`stat -c '%u:%g %a' ${q(cluster.mnt(1, 'pub', 'file'))}`);
    assert.equal(b.stdout.trim(), '65534:65534 640');
  });

  it('refuses another user where POSIX says so: reading a 0640 file, writing into a 0750 directory, removing from a sticky directory', { timeout: 60_000 }, async () => {
    const d = cluster.mnt(1, 'pub'); // through the other host
    const read = await as(65533, `cat ${q(`${d}/file`)}`);
    assert.notEqual(read.code, 0);
    assert.match(read.stderr, /Permission denied/);
    const write = await as(65533, `touch ${q(`${d}/dir/x`)}`);
    assert.match(write.stderr, /Permission denied/);
    const rm = await as(65533, `rm -f ${q(`${d}/file`)}`);
    assert.match(rm.stderr, /Operation not permitted|Permission denied/);
    const chown = await as(65534, `chown 65533 ${q(`${d}/file`)}`);
    assert.match(chown.stderr, /Operation not permitted/);
    assert.deepEqual(await statOf(cluster.bak('pub', 'file')), { uid: 65534, gid: 65534, mode: 0o640 });
    // The owner itself may.
    const own = await as(65534, `cat ${q(`${d}/file`)} && touch ${q(`${d}/dir/x`)} && chmod 600 ${q(`${d}/file`)} && rm ${q(`${d}/dir/x`)}`);
    assert.equal(own.code, 0, own.stderr);
    assert.equal(own.stdout, 'hi\n');
  });

  it('lets a non-root user bind a Unix socket and make a FIFO on the mount, and root make a device node', { timeout: 60_000 }, async () => {
    const d = cluster.mnt(0, 'pub');
    const bind = 'import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\nprint("bound")';
    const r = await as(65534, `python3 -c ${q(bind)} ${q(`${d}/sock`)}`);
    assert.equal(r.stdout.trim(), 'bound', r.stderr);
    const st = await fsp.lstat(cluster.bak('pub', 'sock'));
    assert.ok(st.isSocket());
    assert.equal(st.uid, 65534);
    await cluster.sh(`mknod ${q(`${d}/null`)} c 1 3`);
    // Seen from the other host (the mount is nodev, so the node is not opened).
    assert.equal((await cluster.sh(`stat -c '%F %t:%T' ${q(cluster.mnt(1, 'pub', 'null'))}`)).trim(), 'character special file 1:3');
  });

  it('lets root create as root: its files stay root\'s', { timeout: 60_000 }, async () => {
    await cluster.sh(`touch ${q(cluster.mnt(0, 'pub', 'rootfile'))}`);
    const st = await statOf(cluster.bak('pub', 'rootfile'));
    assert.deepEqual([st.uid, st.gid], [0, 0]);
  });
});

describe('--allow-other no', () => {
  it('clears set-user-ID and set-group-ID when another user writes the file, as a local filesystem does; root\'s write keeps them', { timeout: 60_000 }, async () => {
    const f = cluster.mnt(0, 'pub', 'setid');
    await cluster.sh(`printf x > ${q(f)} && chmod 6777 ${q(f)}`);
    const w = await as(1000, `printf y >> ${q(f)}`);
    assert.equal(w.code, 0, w.stderr);
    assert.equal((await statOf(f)).mode, 0o777);
    assert.equal((await statOf(cluster.mnt(1, 'pub', 'setid'))).mode, 0o777, 'the other host sees the bits gone');
    // Without group-execute the set-group-ID bit grants nothing (it marks mandatory locking): it stays.
    await cluster.sh(`chmod 2766 ${q(f)}`);
    assert.equal((await as(1000, `printf z >> ${q(f)}`)).code, 0);
    assert.equal((await statOf(f)).mode, 0o2766);
    await cluster.sh(`chmod 6777 ${q(f)} && printf r >> ${q(f)}`);
    assert.equal((await statOf(f)).mode, 0o6777, 'root (CAP_FSETID) keeps them');
  });

  it('keeps other users out of the mount', { timeout: 60_000 }, async () => {
    const solo = await AgentCluster.start({ agents: 1, agentArgs: ['--allow-other', 'no'] });
    try {
      await fsp.chmod(solo.root, 0o755);
      const r = await solo.run(`setpriv --reuid 65534 --regid 65534 --clear-groups ls ${q(solo.mnt(0))}`);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Permission denied/);
      const root = await solo.run(`ls ${q(solo.mnt(0))}`);
      assert.equal(root.code, 0, root.stderr);
    } finally {
      await solo.stop();
    }
  });
});
