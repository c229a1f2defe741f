/* Attribute requests: getattr/setattr, readlink, statfs, access, xattrs. */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SESS(req) ((struct cf_session *)fuse_req_userdata(req))

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_GETATTR, req, ino);
  if (r && fi) { r->fh = fi->fh; r->has_fh = 1; }
  cf_post(SESS(req), req, r);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi) {
  struct cf_request *r = cf_request_new(CF_SETATTR, req, ino);
  if (r) {
    r->attr = *attr;
    r->to_set = to_set;
    if (fi) { r->fh = fi->fh; r->has_fh = 1; }
  }
  cf_post(SESS(req), req, r);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  cf_post(SESS(req), req, cf_request_new(CF_READLINK, req, ino));
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  cf_post(SESS(req), req, cf_request_new(CF_STATFS, req, ino));
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  struct cf_request *r = cf_request_new(CF_ACCESS, req, ino);
  if (r) r->mask = mask;
  cf_post(SESS(req), req, r);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags) {
  struct cf_request *r = cf_request_new(CF_SETXATTR, req, ino);
  if (r) {
    r->name = cf_strdup(name);
    r->data = malloc(size ? size : 1);
    r->data_len = size;
    r->flags = flags;
    if (!r->name || !r->data) { cf_request_free(r); r = NULL; }
    else memcpy(r->data, value, size);
  }
  cf_post(SESS(req), req, r);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  struct cf_request *r = cf_request_new(CF_GETXATTR, req, ino);
  if (r) { r->size = size; if (!(r->name = cf_strdup(name))) { cf_request_free(r); r = NULL; } }
  cf_post(SESS(req), req, r);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  struct cf_request *r = cf_request_new(CF_LISTXATTR, req, ino);
  if (r) r->size = size;
  cf_post(SESS(req), req, r);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
  struct cf_request *r = cf_request_new(CF_REMOVEXATTR, req, ino);
  if (r && !(r->name = cf_strdup(name))) { cf_request_free(r); r = NULL; }
  cf_post(SESS(req), req, r);
}

void cf_ops_attr(struct fuse_lowlevel_ops *ops) {
  ops->getattr = op_getattr;
  ops->setattr = op_setattr;
  ops->readlink = op_readlink;
  ops->statfs = op_statfs;
  ops->access = op_access;
  ops->setxattr = op_setxattr;
  ops->getxattr = op_getxattr;
  ops->listxattr = op_listxattr;
  ops->removexattr = op_removexattr;
}
