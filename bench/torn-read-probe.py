"""Reads racing one write that both overwrites a file's bytes and extends it.

A reader thread preads the whole file while the main thread, round after
round, resets the file to OLD bytes of 'A' and then overwrites it from
offset 0 with NEW bytes of 'B' in a single pwrite. Counts reads that return
exactly OLD bytes of which some are 'B': the new bytes cut at the old size,
a result that is no state of the file.
Usage: python3 torn-read-probe.py <file> [rounds=20000] [reader's path]
(the reader's path: the same file through another mount, e.g. another host's)
"""
import os, sys, threading

OLD, NEW = 4196, 64 * 4096
path, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20000
read_path = sys.argv[3] if len(sys.argv) > 3 else path
stop = False
counts = {'reads': 0, 'torn': 0}

def reader():
    fd = os.open(read_path, os.O_RDONLY)
    while not stop:
        b = os.pread(fd, NEW + 4096, 0)
        counts['reads'] += 1
        if len(b) == OLD and b'B' in b:
            counts['torn'] += 1
    os.close(fd)

fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
old, new = b'A' * OLD, b'B' * NEW
os.pwrite(fd, old, 0)
os.fsync(fd)
t = threading.Thread(target=reader)
t.start()
for _ in range(rounds):
    os.ftruncate(fd, 0)
    os.pwrite(fd, old, 0)
    os.pwrite(fd, new, 0)
stop = True
t.join()
os.close(fd)
os.unlink(path)
print(f"{path}: {rounds} rounds, {counts['reads']} reads, {counts['torn']} new bytes cut at the old size")
