/*
 * The agent died while a drop may wait on a page a READ holds locked. The
 * READs the agent had taken end with its own descriptor (the fence holds a
 * clone, a device of its own: the kernel ends each device's requests when
 * it is closed). The ones still queued would wait for the fence's
 * connection, which the stuck drop keeps open: so the fence takes them
 * and answers EIO (as the aborted connection would), until no drop is
 * left, then exits and the connection goes with its last device.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <unistd.h>
#include "fence.h"

/* A READ buffer must hold the largest write (max_pages 256 by default; up to 4 MiB here). */
#define RESCUE_BUF ((4u << 20) + 4096)
#define RESCUE_MAX_MS 5000

static int needs_reply(uint32_t opcode) {
  return opcode != FUSE_FORGET && opcode != FUSE_BATCH_FORGET && opcode != FUSE_INTERRUPT;
}

static void answer_eio(int fd, uint64_t unique) {
  struct fuse_out_header out = { .len = sizeof out, .error = -EIO, .unique = unique };
  ssize_t n;
  do n = write(fd, &out, sizeof out); while (n < 0 && errno == EINTR);
  /* ENOENT: the request was interrupted and ended meanwhile. */
  if (n < 0 && errno != ENOENT) fence_log("fence rescue reply failed errno=%d", errno);
}

void fence_rescue(int fd) {
  if (!fence_inval_busy()) return;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    fence_log("fence rescue failed errno=%d", errno);
    return;
  }
  char *buf = malloc(RESCUE_BUF);
  if (!buf) {
    fence_log("fence rescue failed errno=%d", ENOMEM);
    return;
  }
  int answered = 0;
  for (int waited = 0; waited < RESCUE_MAX_MS && fence_inval_busy();) {
    ssize_t n = read(fd, buf, RESCUE_BUF);
    if (n >= (ssize_t)sizeof(struct fuse_in_header)) {
      const struct fuse_in_header *in = (const struct fuse_in_header *)buf;
      if (needs_reply(in->opcode)) {
        answer_eio(fd, in->unique);
        answered++;
      }
    } else if (n < 0 && errno == EAGAIN) {
      usleep(1000);
      waited++;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n < 0 && errno != ENODEV) fence_log("fence rescue read failed errno=%d", errno);
      break;
    }
  }
  free(buf);
  fence_log("fence rescued after the agent died answered=%d busy=%d", answered, fence_inval_busy());
}
