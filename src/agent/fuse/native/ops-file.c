/* File and directory handle requests: open/create, data, sync, lseek, readdirplus. */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SESS(req) ((struct cf_session *)fuse_req_userdata(req))

static void post_fh(enum cf_op op, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(op, req, ino);
  if (r && fi) { r->fh = fi->fh; r->flags = fi->flags; r->lock_owner = fi->lock_owner;
    r->sleep = fi->flock_release; }
  cf_post(SESS(req), req, r);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  post_fh(CF_OPEN, req, ino, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_CREATE, req, parent);
  if (r && !(r->name = cf_strdup(name))) { cf_request_free(r); r = NULL; }
  if (r) { r->mode = mode; r->flags = fi->flags; }
  cf_post(SESS(req), req, r);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_READ, req, ino);
  if (r) { r->fh = fi->fh; r->size = size; r->off = (uint64_t)off; }
  cf_post(SESS(req), req, r);
}

/* The payload lives in libfuse's receive buffer only until we return: copy it. */
static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_WRITE, req, ino);
  if (r) {
    r->fh = fi->fh; r->off = (uint64_t)off; r->data_len = size; r->flags = fi->flags;
    r->writeback = fi->writepage;
    r->data = malloc(size ? size : 1);
    if (!r->data) { cf_request_free(r); r = NULL; }
    else memcpy(r->data, buf, size);
  }
  cf_post(SESS(req), req, r);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  post_fh(CF_FLUSH, req, ino, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  post_fh(CF_RELEASE, req, ino, fi);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_FSYNC, req, ino);
  if (r) { r->fh = fi->fh; r->datasync = datasync; }
  cf_post(SESS(req), req, r);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_FALLOCATE, req, ino);
  if (r) { r->fh = fi->fh; r->flags = mode; r->off = (uint64_t)off; r->len = (uint64_t)len; }
  cf_post(SESS(req), req, r);
}

/* Only SEEK_DATA and SEEK_HOLE reach here: the kernel answers the other whences itself. */
static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_LSEEK, req, ino);
  if (r) { r->fh = fi->fh; r->off = (uint64_t)off; r->mask = whence; }
  cf_post(SESS(req), req, r);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  post_fh(CF_OPENDIR, req, ino, fi);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_READDIRPLUS, req, ino);
  if (r) { r->fh = fi->fh; r->size = size; r->off = (uint64_t)off; }
  cf_post(SESS(req), req, r);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  post_fh(CF_RELEASEDIR, req, ino, fi);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_FSYNCDIR, req, ino);
  if (r) { r->fh = fi->fh; r->datasync = datasync; }
  cf_post(SESS(req), req, r);
}

void cf_ops_file(struct fuse_lowlevel_ops *ops) {
  ops->open = op_open;
  ops->create = op_create;
  ops->read = op_read;
  ops->write = op_write;
  ops->flush = op_flush;
  ops->release = op_release;
  ops->fsync = op_fsync;
  ops->fallocate = op_fallocate;
  ops->lseek = op_lseek;
  ops->opendir = op_opendir;
  ops->readdirplus = op_readdirplus;
  ops->releasedir = op_releasedir;
  ops->fsyncdir = op_fsyncdir;
}
