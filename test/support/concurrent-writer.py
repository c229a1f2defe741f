#!/usr/bin/env python3
"""One host's share of a concurrent read-then-write workload on a shared file.

usage: concurrent-writer.py slots PATH HOST HOSTS WRITES SEED GOFILE
       concurrent-writer.py overlap PATH HOST HOSTS WRITES SEED GOFILE
       concurrent-writer.py poll PATH HOSTS GOFILE STOPFILE
       concurrent-writer.py check-slots PATH HOSTS LASTS_JSON...
       concurrent-writer.py check-overlap PATH LOG_JSON...

slots:   the file is cut into regions of 100 bytes to a few pages (small
         ones share pages with their neighbours); region i belongs to host
         i % HOSTS. The host reads the file whole, then rewrites random
         regions of its own (record: header + repeated tag), fsyncs every 50
         writes and at the end. Prints JSON: last seq per region, writes/s.
overlap: writes of 64-byte-aligned units anywhere (hosts overlap); prints
         every write's (units, tag, start, end) with CLOCK_MONOTONIC times.
poll:    reads the file whole until STOPFILE exists; every region's seq
         must never go back; prints JSON: polls, regressions.
Errors from the OS are printed and make the exit status 1.
"""
import json, os, random, sys, time

UNIT = 64

def layout(hosts):
    sizes = [100, 300, 1000, 4096, 9000, 180, 2500]
    regions, off = [], 0
    for i in range(7 * hosts * 2):
        size = sizes[i % len(sizes)]
        regions.append((off, size, i % hosts))
        off += size
    return regions

def record(region, host, seq, size):
    tag = ('r%d h%d s%d;' % (region, host, seq)).encode()
    return (tag * (size // len(tag) + 1))[:size]

def parse(region, data, owner):
    if len(data) == 0 or data == b'\0' * len(data):
        return 0
    head = data[:40].split(b';')[0].decode('latin1', 'replace')
    try:
        r, h, s = head.split(' ')
        seq = int(s[1:])
        if int(r[1:]) != region or int(h[1:]) != owner or record(region, owner, seq, len(data)) != data:
            return -1
        return seq
    except ValueError:
        return -1

def wait_go(gofile):
    while not os.path.exists(gofile):
        time.sleep(0.005)

def slots(path, host, hosts, writes, seed, gofile):
    rng = random.Random(seed * 1000 + host)
    regions = layout(hosts)
    mine = [i for i, (_, _, owner) in enumerate(regions) if owner == host]
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    wait_go(gofile)
    os.pread(fd, regions[-1][0] + regions[-1][1], 0)  # read it whole first: every host holds READ
    last = {}
    t0 = time.monotonic()
    for n in range(1, writes + 1):
        i = rng.choice(mine)
        off, size, _ = regions[i]
        seq = last.get(i, 0) + 1
        os.pwrite(fd, record(i, host, seq, size), off)
        last[i] = seq
        if n % 50 == 0:
            os.fsync(fd)
    os.fsync(fd)
    elapsed = time.monotonic() - t0
    os.close(fd)
    print(json.dumps({'last': last, 'writes': writes, 'seconds': elapsed, 'per_second': writes / elapsed}))

def overlap(path, host, hosts, writes, seed, gofile):
    rng = random.Random(seed * 7919 + host)
    units = 256
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    wait_go(gofile)
    os.pread(fd, units * UNIT, 0)
    log = []
    for seq in range(1, writes + 1):
        first = rng.randrange(units)
        count = min(units - first, rng.choice([1, 2, 8, 64, 130]))
        tag = ('h%ds%d;' % (host, seq)).encode()
        unit = (tag * (UNIT // len(tag) + 1))[:UNIT]
        start = time.monotonic()
        os.pwrite(fd, unit * count, first * UNIT)
        log.append([first, count, tag.decode(), start, time.monotonic()])
        if seq % 50 == 0:
            os.fsync(fd)
    os.fsync(fd)
    os.close(fd)
    print(json.dumps(log))

def poll(path, hosts, gofile, stopfile):
    regions = layout(hosts)
    seen = [0] * len(regions)
    polls = regressions = 0
    wait_go(gofile)
    while not os.path.exists(stopfile):
        with open(path, 'rb') as f:
            data = f.read()
        polls += 1
        for i, (off, size, owner) in enumerate(regions):
            seq = parse(i, data[off:off + size], owner)
            if seq < 0:
                continue  # a write under way may be half visible to a concurrent read
            if seq < seen[i]:
                regressions += 1
            seen[i] = max(seen[i], seq)
        time.sleep(0.005)
    print(json.dumps({'polls': polls, 'regressions': regressions}))

def check_slots(path, hosts, lasts):
    regions = layout(hosts)
    want = {}
    for j in lasts:
        for k, v in json.loads(j)['last'].items():
            want[int(k)] = v
    with open(path, 'rb') as f:
        data = f.read()
    bad = []
    for i, (off, size, owner) in enumerate(regions):
        got = parse(i, data[off:off + size], owner)
        if got != want.get(i, 0):
            bad.append((i, got, want.get(i, 0)))
    print('ok' if not bad else 'bad %s' % bad[:10])

def check_overlap(path, logs):
    writes = [w for j in logs for w in json.loads(j)]
    with open(path, 'rb') as f:
        data = f.read()
    bad = []
    for u in range(256):
        covering = [w for w in writes if w[0] <= u < w[0] + w[1]]
        got = data[u * UNIT:(u + 1) * UNIT]
        if not covering:
            continue
        by_tag = [w for w in covering if (w[2].encode() * (UNIT // len(w[2]) + 1))[:UNIT] == got]
        if not by_tag:
            bad.append((u, 'torn or unknown'))
            continue
        final = by_tag[0]
        # The unit must not hold a write that ended before another covering write started.
        if any(w[3] > final[4] for w in covering):
            bad.append((u, 'stale: %s overwritten later' % final[2]))
    print('ok' if not bad else 'bad %s' % bad[:10])

if __name__ == '__main__':
    try:
        cmd = sys.argv[1]
        a = sys.argv[2:]
        if cmd == 'slots': slots(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5])
        elif cmd == 'overlap': overlap(a[0], int(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5])
        elif cmd == 'poll': poll(a[0], int(a[1]), a[2], a[3])
        elif cmd == 'check-slots': check_slots(a[0], int(a[1]), a[2:])
        elif cmd == 'check-overlap': check_overlap(a[0], a[1:])
        else: raise SystemExit('unknown command %s' % cmd)
    except OSError as e:
        print('error %s' % e, file=sys.stderr)
        sys.exit(1)
