/* Reads the state file the agent writes (layout in fence.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "fence.h"

static int read_at(void *buf, size_t len, off_t off) {
  ssize_t n;
  do n = pread(FENCE_FD_STATE, buf, len, off); while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return (size_t)n == len ? 0 : -EIO;
}

/*
 * A seqlock: the agent makes the sequence odd, writes the fields, makes it
 * even (three pwrites). The header is consistent when the sequence read
 * before and after the fields is the same even number. 1 when it is not
 * (the agent is mid-update, or was paused mid-update): the caller keeps the
 * last consistent header, whose deadline is never later than the new one.
 */
int fence_read_header(struct fence_header *out) {
  uint64_t before, after;
  unsigned char fields[16];
  int r;
  if ((r = read_at(&before, sizeof before, FENCE_OFF_SEQ))) return r;
  if (before & 1) return 1;
  if ((r = read_at(fields, sizeof fields, FENCE_OFF_DEADLINE))) return r;
  if ((r = read_at(&after, sizeof after, FENCE_OFF_SEQ))) return r;
  if (before != after) return 1;
  memcpy(&out->deadline_ns, fields, 8);
  memcpy(&out->generation, fields + 8, 8);
  return 0;
}

/*
 * Slots are written one at a time (an 8-byte pwrite each), outside the
 * seqlock: a slot read while the agent writes it may come out torn, which
 * at worst drops another node's pages (a re-read). A node is written
 * before the generation is bumped, so a fence that sees the new
 * generation reads it whole.
 */
int fence_read_nodes(uint64_t *ids) {
  static uint64_t slots[FENCE_SLOTS];
  int r = read_at(slots, sizeof slots, FENCE_OFF_SLOTS);
  if (r) return r;
  int n = 0;
  for (int i = 0; i < FENCE_SLOTS; i++) if (slots[i] != 0) ids[n++] = slots[i];
  return n;
}
