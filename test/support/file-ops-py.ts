/**
 * python3 helper for file operations from a separate process, written to
 * the cluster root. The data pattern: the byte at file offset o is
 * (7·o + seed) mod 251, so any range can be checked on its own.
 *   write PATH OFFSET LENGTH SEED            pwrite the pattern, close; prints "ok" or the errno name
 *   hold-write PATH OFFSET LENGTH SEED READY GO [fsync]
 *                                            open (then create READY.opened), pwrite, create READY, wait for GO,
 *                                            [fsync,] close;
 *                                            prints "ok" or the errno name of the failing call
 *   hold-read PATH READY GO                  open, read all (warms caches), create READY, wait for GO,
 *                                            pread from 0; prints "<length> <sha256>"
 *   write-blocks PATH FIRST STEP END BLOCK SEED
 *                                            through one descriptor, pwrite blocks k = FIRST, FIRST+STEP, … < END
 *                                            (block k at k·BLOCK); prints "ok" or the errno name
 *   verify PATH OFFSET LENGTH SEED           prints "ok", "short N" or "mismatch at OFFSET"
 *   verify-blocks PATH BLOCK COUNT SEED…     block k must hold the pattern of SEED[k mod #SEEDs] and the file
 *                                            COUNT·BLOCK bytes; prints "ok" or "size N bad [k…]"
 *   sha PATH                                 prints "<length> <sha256>"
 *   try CODE                                 exec(CODE) with os, errno in scope; prints "OK <repr(result)>" or the
 *                                            errno name of the OSError it raised
 * A SEED that is not a number is a fill character: "X" writes/expects XXXX….
 */
export const FILE_OPS_PY = String.raw`import errno, hashlib, os, sys, time

def pattern(seed, offset, length):
    if not str(seed).isdigit():
        return (str(seed) * length).encode()[:length]
    seed = int(seed)
    period = bytes(((offset + k) * 7 + seed) % 251 for k in range(251))
    return (period * (length // 251 + 1))[:length]

def wait_for(path, timeout=60.0):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline:
            print('timeout waiting for ' + path)
            sys.exit(3)
        time.sleep(0.005)

def touch(path):
    open(path, 'w').close()

def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno))

def sha(data):
    return '%d %s' % (len(data), hashlib.sha256(data).hexdigest())

def read_all(fd):
    chunks, off = [], 0
    while True:
        b = os.pread(fd, 1 << 20, off)
        if not b:
            return b''.join(chunks)
        chunks.append(b)
        off += len(b)

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == 'write':
    path, off, n, seed = args[0], int(args[1]), int(args[2]), args[3]
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.pwrite(fd, pattern(seed, off, n), off)
        os.close(fd)
        print('ok')
    except OSError as e:
        print(errname(e))
elif cmd == 'write-blocks':
    path, first, step, end, block, seed = args[0], int(args[1]), int(args[2]), int(args[3]), int(args[4]), args[5]
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        for k in range(first, end, step):
            os.pwrite(fd, pattern(seed, k * block, block), k * block)
        os.close(fd)
        print('ok')
    except OSError as e:
        print(errname(e))
elif cmd == 'verify-blocks':
    path, block, count, seeds = args[0], int(args[1]), int(args[2]), args[3:]
    fd = os.open(path, os.O_RDONLY)
    d = read_all(fd)
    os.close(fd)
    bad = [k for k in range(count) if d[k * block:(k + 1) * block] != pattern(seeds[k % len(seeds)], k * block, block)]
    print('ok' if not bad and len(d) == count * block else 'size %d bad %r' % (len(d), bad[:20]))
elif cmd == 'hold-write':
    path, off, n, seed, ready, go = args[0], int(args[1]), int(args[2]), args[3], args[4], args[5]
    do_fsync = len(args) > 6 and args[6] == 'fsync'
    data = pattern(seed, off, n)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    touch(ready + '.opened')
    done = 0
    while done < n:
        done += os.pwrite(fd, data[done:], off + done)
    touch(ready)
    wait_for(go)
    try:
        if do_fsync:
            os.fsync(fd)
        os.close(fd)
        print('ok')
    except OSError as e:
        print(errname(e))
elif cmd == 'hold-read':
    path, ready, go = args
    fd = os.open(path, os.O_RDONLY)
    read_all(fd)
    touch(ready)
    wait_for(go)
    print(sha(read_all(fd)))
    os.close(fd)
elif cmd == 'verify':
    path, off, n, seed = args[0], int(args[1]), int(args[2]), args[3]
    with open(path, 'rb') as f:
        f.seek(off)
        got = f.read(n)
    want = pattern(seed, off, n)
    if len(got) < n:
        print('short %d' % len(got))
    elif got == want:
        print('ok')
    else:
        print('mismatch at %d' % (off + next(i for i in range(n) if got[i] != want[i])))
elif cmd == 'sha':
    fd = os.open(args[0], os.O_RDONLY)
    print(sha(read_all(fd)))
    os.close(fd)
elif cmd == 'try':
    scope = {'os': os, 'errno': errno, 'result': None}
    try:
        exec(args[0], scope)
        print('OK %r' % (scope['result'],))
    except OSError as e:
        print(errname(e))
else:
    print('unknown command ' + cmd)
    sys.exit(2)
`;
