/* Namespace requests: lookup/forget and the ops that add or remove names. */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>

#define SESS(req) ((struct cf_session *)fuse_req_userdata(req))

static void post_named(enum cf_op op, fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct cf_request *r = cf_request_new(op, req, parent);
  if (r && !(r->name = cf_strdup(name))) { cf_request_free(r); r = NULL; }
  cf_post(SESS(req), req, r);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  post_named(CF_LOOKUP, req, parent, name);
}

/* Forgets need no answer from JS: reply now, then tell JS. */
static void forget_one(struct cf_session *s, fuse_ino_t ino, uint64_t nlookup) {
  struct cf_request *r = cf_request_new(CF_FORGET, NULL, ino);
  if (!r) return;
  r->nlookup = nlookup;
  cf_post(s, NULL, r);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  struct cf_session *s = SESS(req);
  fuse_reply_none(req);
  forget_one(s, ino, nlookup);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  struct cf_session *s = SESS(req);
  for (size_t i = 0; i < count; i++) forget_one(s, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  struct cf_request *r = cf_request_new(CF_MKNOD, req, parent);
  if (r && !(r->name = cf_strdup(name))) { cf_request_free(r); r = NULL; }
  if (r) { r->mode = mode; r->rdev = rdev; }
  cf_post(SESS(req), req, r);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  struct cf_request *r = cf_request_new(CF_MKDIR, req, parent);
  if (r && !(r->name = cf_strdup(name))) { cf_request_free(r); r = NULL; }
  if (r) r->mode = mode | S_IFDIR;
  cf_post(SESS(req), req, r);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  post_named(CF_UNLINK, req, parent, name);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  post_named(CF_RMDIR, req, parent, name);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
  struct cf_request *r = cf_request_new(CF_SYMLINK, req, parent);
  if (r && (!(r->name = cf_strdup(name)) || !(r->name2 = cf_strdup(link)))) { cf_request_free(r); r = NULL; }
  cf_post(SESS(req), req, r);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags) {
  struct cf_request *r = cf_request_new(CF_RENAME, req, parent);
  if (r && (!(r->name = cf_strdup(name)) || !(r->name2 = cf_strdup(newname)))) { cf_request_free(r); r = NULL; }
  if (r) { r->ino2 = newparent; r->flags = (int)flags; }
  cf_post(SESS(req), req, r);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
  struct cf_request *r = cf_request_new(CF_LINK, req, ino);
  if (r && !(r->name = cf_strdup(newname))) { cf_request_free(r); r = NULL; }
  if (r) r->ino2 = newparent;
  cf_post(SESS(req), req, r);
}

void cf_ops_entry(struct fuse_lowlevel_ops *ops) {
  ops->lookup = op_lookup;
  ops->forget = op_forget;
  ops->forget_multi = op_forget_multi;
  ops->mknod = op_mknod;
  ops->mkdir = op_mkdir;
  ops->unlink = op_unlink;
  ops->rmdir = op_rmdir;
  ops->symlink = op_symlink;
  ops->rename = op_rename;
  ops->link = op_link;
}
