/**
 * A reader child for the chaos harness that keeps its O_RDONLY opens (and
 * shared mappings) of the mount across reads, so re-reads can be served by
 * the kernel's page cache (docs/fuse.md, "The page cache") and the
 * register checker sees it if those pages went stale. Python (os.pread,
 * mmap): Node has no mmap. Same line protocol as file-worker-main.ts:
 * { id, op, path } in, { id, ok: true, value } or { id, ok: false, code }
 * out. Ops: 'held-pread' (pread of the record through the kept fd),
 * 'held-mmap' (the record's bytes through a kept MAP_SHARED mapping of
 * that fd), 'reopen' (close the kept fd and mapping of path first, then a
 * held-pread), 'held-mmap-write' (the record `data` stored through a kept
 * read-write MAP_SHARED mapping, then msync: docs/fuse.md, "Writable shared
 * mappings") and 'held-mmap-rw' (the record read back through that
 * mapping). A failed call closes what it kept of that path, so the next
 * one opens it again (a restarted agent's mount is a new one).
 */
export const HELD_READER_PY = `
import errno, json, mmap, os, sys
RECORD = 64
fds, maps = {}, {}

def drop(p):
    for key in (p, ('rw', p)):
        m = maps.pop(key, None)
        if m is not None:
            try: m.close()
            except Exception: pass
        fd = fds.pop(key, None)
        if fd is not None:
            try: os.close(fd)
            except OSError: pass

def held(p):
    if p not in fds: fds[p] = os.open(p, os.O_RDONLY)
    return fds[p]

def rw_map(p):
    key = ('rw', p)
    m = maps.get(key)
    if m is None:
        if key not in fds: fds[key] = os.open(p, os.O_RDWR)
        if os.fstat(fds[key]).st_size < RECORD: raise OSError(errno.ENODATA, 'record file too short to map')
        m = maps[key] = mmap.mmap(fds[key], RECORD, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    return m

def text(b):
    t = b.decode('utf8', 'replace').rstrip(' \\t\\r\\n\\x00')
    return None if t == '' else t

def record(data):
    b = (data or '').encode('utf8')[:RECORD - 1]
    return b + b' ' * (RECORD - 1 - len(b)) + b'\\n'

def read(op, p, data=None):
    if op == 'held-mmap-write':
        m = rw_map(p)
        m[0:RECORD] = record(data)
        m.flush()
        return None
    if op == 'held-mmap-rw': return text(bytes(rw_map(p)[0:RECORD]))
    if op == 'reopen':
        drop(p)
        op = 'held-pread'
    fd = held(p)
    if op == 'held-pread': return text(os.pread(fd, RECORD, 0))
    if op == 'held-mmap':
        m = maps.get(p)
        if m is None:
            if os.fstat(fd).st_size < RECORD: return text(os.pread(fd, RECORD, 0))
            m = maps[p] = mmap.mmap(fd, RECORD, mmap.MAP_SHARED, mmap.PROT_READ)
        return text(bytes(m[0:RECORD]))
    raise OSError(errno.EINVAL, 'unknown op ' + str(op))

for line in sys.stdin:
    try: r = json.loads(line)
    except ValueError:
        print(json.dumps({'id': -1, 'ok': False, 'code': 'EBADMSG'}), flush=True); continue
    try: out = {'id': r['id'], 'ok': True, 'value': read(r['op'], r['path'], r.get('data'))}
    except OSError as e:
        drop(r.get('path'))
        out = {'id': r['id'], 'ok': False, 'code': errno.errorcode.get(e.errno, 'EIO') if e.errno else 'EIO'}
    except Exception as e:
        drop(r.get('path'))
        out = {'id': r['id'], 'ok': False, 'code': type(e).__name__}
    print(json.dumps(out), flush=True)
`;

/** argv of a held reader child. */
export const HELD_READER_ARGV: readonly string[] = ['python3', '-c', HELD_READER_PY];
