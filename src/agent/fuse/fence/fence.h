/*
 * coherd_fence: the kernel page cache's fence (docs/fuse.md, "The cache
 * fence"). A small process the agent starts at mount time, with the page
 * cache on. It holds a clone of the session's /dev/fuse connection and
 * reads a state file the agent writes: the agent's lease deadline (an
 * absolute CLOCK_MONOTONIC time, less a margin) and the node ids the
 * kernel may cache pages of. Once the deadline passes without a refresh
 * (the agent is paused, or too slow to renew), it writes
 * FUSE_NOTIFY_INVAL_INODE for every listed node itself: mapped pages are
 * unmapped, and the next access faults into a READ that waits for the agent.
 *
 * File descriptors it is started with: 0 a pipe from the agent ("q" then
 * EOF: stop; EOF alone: the agent is gone), 1 /dev/null, 2 a pipe the agent logs (one line per
 * event; never blocks), 3 the session's /dev/fuse fd, 4 the state file.
 * argv[1]: the agent's pid.
 */
#ifndef COHERD_FENCE_H
#define COHERD_FENCE_H

#include <stdint.h>

/* The state file (native byte order; the agent writes it with pwrite, see fence-state-file.ts). */
#define FENCE_OFF_SEQ 0        /* u64: odd while the agent rewrites the header */
#define FENCE_OFF_DEADLINE 8   /* i64: CLOCK_MONOTONIC ns past which the fence fires; 0: none yet (fires) */
#define FENCE_OFF_GENERATION 16 /* u64: bumped after every node added */
#define FENCE_OFF_SLOTS 64     /* u64 node ids, FENCE_SLOTS of them; 0: free */
#define FENCE_SLOTS 4096
#define FENCE_FILE_SIZE (FENCE_OFF_SLOTS + 8 * FENCE_SLOTS)

#define FENCE_FD_FUSE 3
#define FENCE_FD_STATE 4

/* Invalidations in flight at once (each may wait on a page a READ to the paused agent holds). */
#define FENCE_WORKERS 32

struct fence_header {
  int64_t deadline_ns;
  uint64_t generation;
};

/* fence-state.c: a consistent header (seqlock); 0, 1 while the agent is mid-update, or -errno. */
int fence_read_header(struct fence_header *out);
/* The listed node ids (non-zero slots) into ids[FENCE_SLOTS]; their count, or -errno. */
int fence_read_nodes(uint64_t *ids);

/* fence-inval.c */
int fence_inval_start(int fuse_fd);
/* Queues a whole-file drop of each node not already being dropped; never blocks on the kernel. */
void fence_inval_queue(const uint64_t *ids, int n);
/* Drops queued or in flight. */
int fence_inval_busy(void);

/* fence-rescue.c: the agent died; answer the requests it left pending so no drop waits forever. */
void fence_rescue(int fuse_fd);

/* fence-log.c: one line to fd 2, dropped if the pipe is full. */
void fence_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t fence_now_ns(void);

#endif
