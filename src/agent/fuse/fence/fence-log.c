/* The fence's log lines and clock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "fence.h"

/*
 * One line to fd 2 (a pipe the agent reads and logs; main made it
 * non-blocking): a paused agent reads nothing, so a full pipe drops the
 * line rather than stopping the fence.
 */
void fence_log(const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  ssize_t w;
  do w = write(2, line, (size_t)n); while (w < 0 && errno == EINTR);
}

/* CLOCK_MONOTONIC in ns (the clock of Node's process.hrtime). */
int64_t fence_now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return INT64_MAX; /* cannot happen; if it does, fire */
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
