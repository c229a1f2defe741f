#!/usr/bin/env python3
"""A log written on one host and followed on another (issue 14), as a new user would run it.

  writer FILE RECORDS RECORD_BYTES GO      O_APPEND write + fsync of numbered records; prints JSON
  follower FILE RECORDS RECORD_BYTES STAMPS  re-open, seek to the last position, read every 5 ms until every
                                             record is in; checks order and content; prints JSON with lag
  alternate-write FILE ROUNDS RECORD_BYTES DIR   write + fsync record i, say so on DIR/w2r, wait for DIR/r2w
  alternate-read FILE ROUNDS RECORD_BYTES DIR    wait on DIR/w2r, read record i once (it must be whole), say so on DIR/r2w

A record is `<seq:8 digits> <write time us:16 digits><padding>\n` of RECORD_BYTES bytes (28 at least 27): the follower
checks every one arrives complete, in order, with the right content, and measures the lag from the
write's timestamp to the moment it read it (same host clock: the mounts share one machine in tests).
Everything is printed as one JSON line; any violation exits 1 with a message on stderr.
"""
import json
import os
import sys
import time


def record(seq, size):
    head = b'%08d %016d' % (seq, now_us())
    pad = size - len(head) - 1
    if pad < 1:
        raise SystemExit('record size too small')
    return head + (b'%x' % (seq % 16)) * pad + b'\n'


def check(rec, want_seq, size):
    if len(rec) != size or rec[-1:] != b'\n':
        raise SystemExit('torn record %d: %r' % (want_seq, rec[:40]))
    seq = int(rec[:8])
    if seq != want_seq:
        raise SystemExit('out of order: record %d where %d was due' % (seq, want_seq))
    if rec[25:-1] != (b'%x' % (seq % 16)) * (size - 26):
        raise SystemExit('corrupt record %d' % seq)
    return int(rec[9:25])


def now_us():
    return (time.time_ns() // 1000) % 10 ** 16


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.001)


def writer(path, records, size, go):
    wait_for(go)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    t0 = time.monotonic()
    for i in range(records):
        os.write(fd, record(i, size))
        os.fsync(fd)
    secs = time.monotonic() - t0
    os.close(fd)
    print(json.dumps({'records': records, 'seconds': secs, 'per_second': records / secs}))


def follower(path, records, size, go):
    wait_for(go)
    pos, buf, seq, lags, polls, poll_ms = 0, b'', 0, [], 0, []
    deadline = time.monotonic() + 600
    while seq < records:
        if time.monotonic() > deadline:
            raise SystemExit('follower timed out at record %d' % seq)
        started = time.monotonic()
        fd = os.open(path, os.O_RDONLY)
        os.lseek(fd, pos, os.SEEK_SET)
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            pos += len(chunk)
            buf += chunk
        os.close(fd)
        poll_ms.append((time.monotonic() - started) * 1e3)
        polls += 1
        now = now_us()
        while len(buf) >= size:
            written = check(buf[:size], seq, size)
            lags.append((now - written) / 1e3)
            buf = buf[size:]
            seq += 1
        if seq < records:
            time.sleep(0.005)
    slow = [(i, round(l)) for i, l in enumerate(lags) if l > 20][:40] if os.environ.get('FOLLOW_DEBUG') else []
    lags.sort()
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
    out = {'records': seq, 'polls': polls, 'lag_p50_ms': pick(0.5), 'lag_p99_ms': pick(0.99)}
    if slow:
        out['slow'] = slow
    if os.environ.get('FOLLOW_DEBUG'):
        # One poll: open, seek, read to EOF, close. Its duration plus the 5 ms pause bounds the lag.
        poll_ms.sort()
        out['poll_ms'] = {q: round(poll_ms[min(len(poll_ms) - 1, int(float(q) * len(poll_ms)))], 2) for q in ('0.5', '0.9', '0.99', '0.999')}
    print(json.dumps(out))


def fifos(d, writer):
    """Two named pipes in d: the writer says "written" on one, the reader "read" on the other (no polling)."""
    w2r, r2w = os.path.join(d, 'w2r'), os.path.join(d, 'r2w')
    for p in (w2r, r2w):
        try:
            os.mkfifo(p)
        except FileExistsError:
            pass
    if writer:
        return os.open(w2r, os.O_WRONLY), os.open(r2w, os.O_RDONLY)
    return os.open(w2r, os.O_RDONLY), None


def alternate_write(path, rounds, size, d):
    """Round i: write + fsync record i, tell the reader, wait until it has read it."""
    say, hear = fifos(d, True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    t0 = time.monotonic()
    for i in range(rounds):
        os.write(fd, record(i, size))
        os.fsync(fd)
        os.write(say, b'w')
        if os.read(hear, 1) != b'r':
            raise SystemExit('reader went away at round %d' % i)
    secs = time.monotonic() - t0
    os.close(fd)
    print(json.dumps({'rounds': rounds, 'seconds': secs, 'per_second': rounds / secs}))


def alternate_read(path, rounds, size, d):
    """Round i: once the writer's write + fsync returned, one read must return record i whole."""
    hear, _ = fifos(d, False)
    say = os.open(os.path.join(d, 'r2w'), os.O_WRONLY)
    for i in range(rounds):
        if os.read(hear, 1) != b'w':
            raise SystemExit('writer went away at round %d' % i)
        fd = os.open(path, os.O_RDONLY)
        rec = os.pread(fd, size, i * size)
        os.close(fd)
        check(rec, i, size)
        os.write(say, b'r')
    print(json.dumps({'rounds': rounds}))


if __name__ == '__main__':
    cmd, path, n, size, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    {'writer': writer, 'follower': follower, 'alternate-write': alternate_write, 'alternate-read': alternate_read}[cmd](path, n, size, extra)
