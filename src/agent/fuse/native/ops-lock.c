/*
 * Lock requests: getlk, setlk/setlkw (sleep=1) and flock, each with the
 * kernel's lock_owner. A blocking request is answered whenever JS grants or
 * refuses it; a FUSE_INTERRUPT for it reaches JS as an "interrupt" request
 * carrying the id to cancel (JS then replies EINTR). Registered only when
 * the mount asks for cluster locks; otherwise the kernel keeps locks local.
 */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/file.h>

#define SESS(req) ((struct cf_session *)fuse_req_userdata(req))

/* Runs on the loop thread inside libfuse's interrupt handling: post only. */
void cf_on_interrupt(fuse_req_t req, void *data) {
  struct cf_request *r = cf_request_new(CF_INTERRUPT, NULL, 0);
  if (!r) return;
  r->id = (double)(uintptr_t)data;
  cf_post(SESS(req), NULL, r);
}

static struct cf_request *lock_request(enum cf_op op, fuse_req_t req, fuse_ino_t ino,
                                       struct fuse_file_info *fi, const struct flock *lock) {
  struct cf_request *r = cf_request_new(op, req, ino);
  if (!r) return NULL;
  r->fh = fi->fh;
  r->lock_owner = fi->lock_owner;
  if (lock) r->lock = *lock;
  return r;
}

static void op_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock) {
  cf_post(SESS(req), req, lock_request(CF_GETLK, req, ino, fi, lock));
}

static void op_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock, int sleep) {
  struct cf_request *r = lock_request(CF_SETLK, req, ino, fi, lock);
  if (r) r->sleep = sleep;
  cf_post(SESS(req), req, r);
}

static void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op) {
  struct cf_request *r = lock_request(CF_FLOCK, req, ino, fi, NULL);
  if (r) { r->flags = op; r->sleep = !(op & LOCK_NB) && !(op & LOCK_UN); }
  cf_post(SESS(req), req, r);
}

void cf_ops_lock(struct fuse_lowlevel_ops *ops) {
  ops->getlk = op_getlk;
  ops->setlk = op_setlk;
  ops->flock = op_flock;
}
