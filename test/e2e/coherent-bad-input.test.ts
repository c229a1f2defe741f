import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { AgentCluster } from '../support/agent-cluster';

/**
 * Bad input through a real coherd mount (DESIGN §7, §8.6): every call is
 * made by python3 in a separate process on mount A (agent 0) and gets an
 * errno; after each test both agents are alive and both mounts work.
 */
let cluster: AgentCluster;
const A = 0;
const B = 1;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** A path on mount i as a python string literal. */
const P = (i: number, rel: string) => JSON.stringify(cluster.mnt(i, rel));
/** Runs python code on the helper's `try`: "OK <repr(result)>" or the errno name. */
const attempt = (code: string) => cluster.sh(`python3 ${q(cluster.py)} try ${q(code)}`).then((s) => s.trim());
const size = (i: number, rel: string) => attempt(`result = os.stat(${P(i, rel)}).st_size`);
let healthChecks = 0;

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
  await cluster.sh(`printf 'small file' > ${q(cluster.mnt(A, 'small'))}`);
});

afterEach(async () => {
  // The agents are alive and both mounts still work, in both directions.
  for (const agent of cluster.agents) assert.ok(agent.alive, `agent ${agent.index} is alive:\n${agent.recentLog}`);
  const n = ++healthChecks;
  await cluster.sh(`printf 'health ${n}' > ${q(cluster.mnt(A, 'health'))}`, { timeoutMs: 15_000 });
  assert.equal(await cluster.sh(`cat ${q(cluster.mnt(B, 'health'))}`, { timeoutMs: 15_000 }), `health ${n}`);
  await cluster.sh(`printf 'back ${n}' > ${q(cluster.mnt(B, 'health'))}`, { timeoutMs: 15_000 });
  assert.equal(await cluster.sh(`cat ${q(cluster.mnt(A, 'health'))}`, { timeoutMs: 15_000 }), `back ${n}`);
});

after(async () => {
  await cluster?.stop();
});

describe('bad input through a coherd mount', () => {
  it('refuses pwrite at offsets past 2^53 with EFBIG/EINVAL and writes nothing', { timeout: 30_000 }, async (t) => {
    for (const offset of ['2**53 + 1', '2**53 + 4096', '2**62', '2**63 - 2']) {
      const r = await attempt(`fd = os.open(${P(A, 'small')}, os.O_WRONLY)\ntry:\n    result = os.pwrite(fd, b'x', ${offset})\nfinally:\n    os.close(fd)`);
      assert.ok(['EFBIG', 'EINVAL', 'EOVERFLOW'].includes(r), `pwrite at ${offset}: ${r}`);
      t.diagnostic(`pwrite at ${offset}: ${r}`);
    }
    assert.equal(await size(B, 'small'), 'OK 10', 'size unchanged as B sees it');
    assert.equal(await cluster.sh(`cat ${q(cluster.bak('small'))}`), 'small file');
  });

  it('answers pread at offsets past 2^53 with no data or an errno', { timeout: 30_000 }, async (t) => {
    for (const offset of ['2**53 + 1', '2**62', '2**63 - 1']) {
      const r = await attempt(`fd = os.open(${P(A, 'small')}, os.O_RDONLY)\ntry:\n    result = os.pread(fd, 4096, ${offset})\nfinally:\n    os.close(fd)`);
      assert.ok(["OK b''", 'EINVAL', 'EFBIG', 'EOVERFLOW'].includes(r), `pread at ${offset}: ${r}`);
      t.diagnostic(`pread at ${offset}: ${r}`);
    }
    assert.equal(await cluster.sh(`cat ${q(cluster.mnt(A, 'small'))}`), 'small file');
  });

  it('refuses truncate to 2^62 (and negative sizes) with an errno and leaves the size alone', { timeout: 30_000 }, async (t) => {
    for (const [what, code] of [
      ['truncate 2^62', `os.truncate(${P(A, 'small')}, 2**62)`],
      ['ftruncate 2^62', `fd = os.open(${P(A, 'small')}, os.O_WRONLY)\ntry:\n    os.ftruncate(fd, 2**62)\nfinally:\n    os.close(fd)`],
      ['truncate 2^53 + 1', `os.truncate(${P(A, 'small')}, 2**53 + 1)`],
      ['truncate -1', `os.truncate(${P(A, 'small')}, -1)`],
    ]) {
      const r = await attempt(code);
      assert.ok(['EFBIG', 'EINVAL'].includes(r), `${what}: ${r}`);
      t.diagnostic(`${what}: ${r}`);
    }
    assert.equal(await size(B, 'small'), 'OK 10');
    assert.equal(await size(A, 'small'), 'OK 10');
  });

  it('keeps a symlink whose target escapes the mount verbatim and never follows it', { timeout: 30_000 }, async () => {
    // A file outside the backing directory that the link's target names, seen from the backing dir.
    await cluster.sh(`printf 'outside' > ${q(cluster.tmp('outside'))}`);
    for (const [name, target] of [['up', '../outside'], ['abs', cluster.tmp('outside')], ['deep', '../../../../../../etc/passwd'], ['dangling', '../nowhere/../../x']]) {
      assert.equal(await attempt(`os.symlink(${JSON.stringify(target)}, ${P(A, name)})`), 'OK None', `symlink ${name}`);
      assert.equal(await attempt(`result = os.readlink(${P(B, name)})`), `OK ${pyRepr(target)}`, `readlink ${name} on B`);
      assert.equal(await attempt(`import stat\nresult = stat.S_ISLNK(os.lstat(${P(B, name)}).st_mode)`), 'OK True', `lstat ${name} is a link`);
      assert.equal(await attempt(`result = os.lstat(${P(A, name)}).st_size`), `OK ${Buffer.byteLength(target)}`, `lstat ${name} size is the target's length`);
      assert.equal(await attempt(`result = os.readlink(${JSON.stringify(cluster.bak(name))})`), `OK ${pyRepr(target)}`, `the backing link ${name} has the same target`);
    }
    // Ops on the link itself act on the link: rename and unlink leave the outside file alone.
    assert.equal(await attempt(`os.rename(${P(A, 'up')}, ${P(A, 'up2')})`), 'OK None');
    assert.equal(await attempt(`result = os.readlink(${P(B, 'up2')})`), "OK '../outside'");
    for (const name of ['up2', 'abs', 'deep', 'dangling']) assert.equal(await attempt(`os.unlink(${P(A, name)})`), 'OK None', `unlink ${name}`);
    assert.equal(await cluster.sh(`cat ${q(cluster.tmp('outside'))}`), 'outside');
    // O_NOFOLLOW on a link is ELOOP, not an open of whatever it names.
    await attempt(`os.symlink('small', ${P(A, 'nofollow')})`);
    assert.equal(await attempt(`os.open(${P(A, 'nofollow')}, os.O_RDONLY | os.O_NOFOLLOW)`), 'ELOOP');
    // A target longer than PATH_MAX is refused.
    assert.equal(await attempt(`os.symlink('x' * 5000, ${P(A, 'long-target')})`), 'ENAMETOOLONG');
  });

  it('answers names that are too long with ENAMETOOLONG', { timeout: 60_000 }, async (t) => {
    for (const len of [256, 1000, 1100, 5000]) {
      const long = `'${'n'.repeat(len)}'`;
      const at = (i: number) => `os.path.join(${JSON.stringify(cluster.agents[i].mountPoint)}, ${long})`;
      for (const [op, code] of [
        ['create', `os.close(os.open(${at(A)}, os.O_CREAT | os.O_WRONLY, 0o644))`],
        ['mkdir', `os.mkdir(${at(A)})`],
        ['stat', `os.stat(${at(B)})`],
        ['rename to', `os.rename(${P(A, 'small')}, ${at(A)})`],
        ['symlink', `os.symlink('small', ${at(A)})`],
        ['link', `os.link(${P(A, 'small')}, ${at(A)})`],
        ['unlink', `os.unlink(${at(A)})`],
      ]) {
        assert.equal(await attempt(code), 'ENAMETOOLONG', `${op} with a ${len}-byte name`);
      }
    }
    assert.equal(await cluster.sh(`cat ${q(cluster.mnt(B, 'small'))}`), 'small file');
    // A path longer than PATH_MAX below the mount, reached by descending with relative names: the kernel limits
    // each call's path, not a tree's depth, and so does the mount (a local filesystem takes it too).
    const deep = await attempt(
      `name = 'd' * 200\nos.chdir(${JSON.stringify(cluster.agents[A].mountPoint)})\nos.mkdir('deep')\nos.chdir('deep')\nresult = 0\n` +
      `try:\n    for i in range(30):\n        os.mkdir(name)\n        os.chdir(name)\n        result += 1\n` +
      `    open('leaf', 'w').close()\nexcept OSError as e:\n    result = (result, errno.errorcode[e.errno])`,
    );
    assert.equal(deep, 'OK 30', `descending 30 directories of 200-byte names (6 KB): ${deep}`);
    await cluster.sh(`rm -rf ${q(cluster.mnt(A, 'deep'))}`, { timeoutMs: 30_000 });
    assert.equal(await cluster.sh(`ls ${q(cluster.mnt(A, ''))} | grep -c '^deep$' || true`), '0\n', 'rm -rf removed the deep tree');
  });

  it('answers operations on missing files with ENOENT', { timeout: 30_000 }, async () => {
    const missing = P(A, 'missing');
    const cases: Array<[string, string]> = [
      ['stat', `os.stat(${missing})`],
      ['lstat', `os.lstat(${P(B, 'missing')})`],
      ['open', `os.open(${missing}, os.O_RDONLY)`],
      ['open in a missing dir', `os.open(${P(A, 'nodir/f')}, os.O_CREAT | os.O_WRONLY)`],
      ['unlink', `os.unlink(${missing})`],
      ['rmdir', `os.rmdir(${missing})`],
      ['rename from', `os.rename(${missing}, ${P(A, 'other')})`],
      ['chmod', `os.chmod(${missing}, 0o600)`],
      ['truncate', `os.truncate(${missing}, 0)`],
      ['readlink', `os.readlink(${missing})`],
      ['utime', `os.utime(${missing}, (1, 1))`],
      ['listdir', `os.listdir(${P(A, 'nodir')})`],
      ['link from', `os.link(${missing}, ${P(A, 'other')})`],
      ['getxattr', `os.getxattr(${missing}, 'user.x')`],
    ];
    for (const [op, code] of cases) assert.equal(await attempt(code), 'ENOENT', op);
    assert.equal(await attempt(`os.stat(${P(A, 'small/child')})`), 'ENOTDIR', 'a path through a regular file');
  });

  it('answers rmdir of a non-empty directory with ENOTEMPTY and keeps its content', { timeout: 30_000 }, async () => {
    await cluster.sh(`mkdir -p ${q(cluster.mnt(A, 'full/sub'))} && printf 'kept' > ${q(cluster.mnt(A, 'full/f'))}`);
    assert.equal(await attempt(`os.rmdir(${P(A, 'full')})`), 'ENOTEMPTY');
    assert.equal(await attempt(`os.rmdir(${P(B, 'full')})`), 'ENOTEMPTY');
    assert.equal(await attempt(`os.rename(${P(A, 'small')}, ${P(A, 'full')})`), 'EISDIR', 'rename a file over a directory');
    assert.equal(await attempt(`os.rmdir(${P(A, 'full/f')})`), 'ENOTDIR');
    assert.equal(await attempt(`os.unlink(${P(A, 'full/sub')})`), 'EISDIR');
    assert.equal(await attempt(`os.mkdir(${P(A, 'full/sub')})`), 'EEXIST');
    assert.equal(await attempt(`os.rename(${P(A, 'full')}, ${P(A, 'full/sub/inside')})`), 'EINVAL', 'a directory into itself');
    assert.equal(await cluster.sh(`cat ${q(cluster.mnt(B, 'full/f'))}`), 'kept');
    assert.equal(await cluster.sh(`ls ${q(cluster.mnt(B, 'full'))}`), 'f\nsub\n');
  });

  it('logged no unexpected vop failure for any of this input', async () => {
    for (const agent of cluster.agents) {
      const unexpected = (await cluster.sh(`grep -c 'vop failed unexpectedly' ${q(agent.logFile)} || true`)).trim();
      assert.equal(unexpected, '0', `agent ${agent.index} log:\n${agent.recentLog}`);
    }
  });
});

/** Python's repr of an ASCII str. */
function pyRepr(s: string): string {
  return s.includes("'") ? JSON.stringify(s) : `'${s.replace(/\\/g, '\\\\')}'`;
}
