/* coherd_fence's main loop (what it is for: fence.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "fence.h"

#define POLL_MS 5

static volatile sig_atomic_t stop_requested;
/* The agent said "q" before closing stdin: an orderly stop (it still serves its requests). */
static int told_to_stop;

static void on_term(int sig) {
  (void)sig;
  stop_requested = 1;
}

/*
 * A device of the fence's own on the same connection (FUSE_DEV_IOC_CLONE),
 * so the agent's READs end when the agent's descriptor closes
 * (fence-rescue.c). Falls back to the inherited descriptor.
 */
static int own_device(void) {
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fence_log("fence clone failed errno=%d", errno);
    return FENCE_FD_FUSE;
  }
  uint32_t from = FENCE_FD_FUSE;
  if (ioctl(fd, FUSE_DEV_IOC_CLONE, &from) != 0) {
    fence_log("fence clone failed errno=%d", errno);
    close(fd);
    return FENCE_FD_FUSE;
  }
  close(FENCE_FD_FUSE);
  return fd;
}

static int setup(pid_t parent) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  if (sigemptyset(&sa.sa_mask) || sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL)) return -errno;
  sa.sa_handler = SIG_IGN;
  if (sigaction(SIGPIPE, &sa, NULL)) return -errno;
  /*
   * The agent's death ends the fence (and stdin's EOF): it must never hold
   * the connection alone. The signal may come while the agent's other
   * threads still exit (the thread that started the fence went first), so
   * getppid() does not tell an orderly stop from a death: "q" on stdin does.
   */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) return -errno;
  if (getppid() != parent) stop_requested = 1;
  int flags = fcntl(2, F_GETFL);
  if (flags < 0 || fcntl(2, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
  return 0;
}

/* 1: the agent closed stdin or the connection went away; 0: carry on; -errno. */
static int wait_a_moment(int fuse_fd) {
  struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = fuse_fd, .events = 0 } };
  int n = poll(p, 2, POLL_MS);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) return 1;
  if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) return 1;
  if (p[0].revents & POLLIN) {
    char buf[64];
    ssize_t r = read(0, buf, sizeof buf);
    if (r == 0) return 1;
    if (r < 0 && errno != EINTR && errno != EAGAIN) return -errno;
    if (r > 0 && memchr(buf, 'q', (size_t)r)) told_to_stop = 1;
  }
  return 0;
}

/*
 * The agent died: nobody will drop these pages any more, and a mapping of
 * them would show the old bytes for as long as it lives (chaos seed 52: a
 * killed agent's mapping read a value another host had replaced 1 s
 * later, and on). Dropped now, not at the deadline: the next fault asks
 * the connection, which answers EIO (SIGBUS), never old bytes.
 */
static void drop_at_death(uint64_t *ids) {
  int n = fence_read_nodes(ids);
  if (n < 0) {
    fence_log("fence drop at the agent's death failed errno=%d", -n);
    return;
  }
  fence_inval_queue(ids, n);
  if (n > 0) fence_log("fence fired at the agent's death nodes=%d", n);
}

int main(int argc, char **argv) {
  char *end = NULL;
  long parent = argc == 2 ? strtol(argv[1], &end, 10) : 0;
  if (parent <= 1 || !end || *end) {
    fence_log("usage: coherd_fence <agent pid>");
    return 2;
  }
  int r = setup((pid_t)parent);
  if (r < 0) {
    fence_log("fence setup failed errno=%d", -r);
    return 1;
  }
  int fuse_fd = own_device();
  if ((r = fence_inval_start(fuse_fd)) < 0) {
    fence_log("fence setup failed errno=%d", -r);
    return 1;
  }
  struct fence_header last = { 0, 0 }, fired = { -1, 0 };
  static uint64_t ids[FENCE_SLOTS];
  while (!stop_requested) {
    if ((r = wait_a_moment(fuse_fd)) != 0) break;
    struct fence_header h;
    int got = fence_read_header(&h);
    if (got < 0) {
      r = got;
      break;
    }
    if (got == 0) last = h;
    int64_t now = fence_now_ns();
    if (now < last.deadline_ns || (last.deadline_ns == fired.deadline_ns && last.generation == fired.generation)) continue;
    int n = fence_read_nodes(ids);
    if (n < 0) {
      r = n;
      break;
    }
    fence_inval_queue(ids, n);
    fired = last;
    if (n > 0) fence_log("fence fired nodes=%d late_ms=%lld", n, (long long)((now - last.deadline_ns) / 1000000));
  }
  if (r < 0) fence_log("fence stopped errno=%d", -r);
  if (!told_to_stop) {
    drop_at_death(ids);
    fence_rescue(fuse_fd);
  }
  _exit(r < 0 ? 1 : 0);
}
