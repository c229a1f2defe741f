/*
 * The fence's page drops: FUSE_NOTIFY_INVAL_INODE of whole files, written
 * to the connection by a small pool of workers. The kernel drops the pages
 * in the writer's context (invalidate_inode_pages2_range) and waits there
 * for any page a READ holds locked, a READ the paused agent will answer
 * only when it runs again: one such file occupies one worker, the others
 * go on. The queue holds each node once (queued or in flight).
 */
#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include "fence.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static uint64_t queue[FENCE_SLOTS];
static int queued;
static uint64_t in_flight[FENCE_WORKERS];
static int fd = -1;

/* Under lock: node is queued or being dropped. */
static int pending(uint64_t node) {
  for (int i = 0; i < queued; i++) if (queue[i] == node) return 1;
  for (int i = 0; i < FENCE_WORKERS; i++) if (in_flight[i] == node) return 1;
  return 0;
}

/* One whole-file drop (offset 0, length 0), as libfuse's fuse_lowlevel_notify_inval_inode writes it. */
static int drop(uint64_t node) {
  struct {
    struct fuse_out_header h;
    struct fuse_notify_inval_inode_out o;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.h.len = sizeof msg;
  msg.h.error = FUSE_NOTIFY_INVAL_INODE;
  msg.h.unique = 0;
  msg.o.ino = node;
  msg.o.off = 0;
  msg.o.len = 0;
  ssize_t n;
  do n = write(fd, &msg, sizeof msg); while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return n == (ssize_t)sizeof msg ? 0 : -EIO;
}

static void *worker(void *arg) {
  int slot = (int)(intptr_t)arg;
  for (;;) {
    if (pthread_mutex_lock(&lock) != 0) return NULL;
    while (queued == 0) {
      if (pthread_cond_wait(&work, &lock) != 0) {
        pthread_mutex_unlock(&lock);
        return NULL;
      }
    }
    uint64_t node = queue[--queued];
    in_flight[slot] = node;
    pthread_mutex_unlock(&lock);
    int r = drop(node);
    /* ENOENT: the kernel has no inode for it (forgotten): nothing cached. ENODEV: the connection is gone. */
    if (r < 0 && r != -ENOENT && r != -ENODEV) fence_log("fence drop failed node=%llu errno=%d", (unsigned long long)node, -r);
    if (pthread_mutex_lock(&lock) != 0) return NULL;
    in_flight[slot] = 0;
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

int fence_inval_start(int fuse_fd) {
  pthread_attr_t attr;
  int r;
  fd = fuse_fd;
  if ((r = pthread_attr_init(&attr))) return -r;
  if ((r = pthread_attr_setstacksize(&attr, 64 * 1024)) || (r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED))) {
    pthread_attr_destroy(&attr);
    return -r;
  }
  for (int i = 0; i < FENCE_WORKERS; i++) {
    pthread_t t;
    if ((r = pthread_create(&t, &attr, worker, (void *)(intptr_t)i))) {
      pthread_attr_destroy(&attr);
      return -r;
    }
  }
  pthread_attr_destroy(&attr);
  return 0;
}

void fence_inval_queue(const uint64_t *ids, int n) {
  if (pthread_mutex_lock(&lock) != 0) return;
  for (int i = 0; i < n; i++) {
    if (queued < FENCE_SLOTS && !pending(ids[i])) queue[queued++] = ids[i];
  }
  pthread_cond_broadcast(&work);
  pthread_mutex_unlock(&lock);
}

int fence_inval_busy(void) {
  int busy = 0;
  if (pthread_mutex_lock(&lock) != 0) return 1;
  busy = queued;
  for (int i = 0; i < FENCE_WORKERS; i++) if (in_flight[i] != 0) busy++;
  pthread_mutex_unlock(&lock);
  return busy;
}
