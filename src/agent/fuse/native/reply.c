/*
 * Replies, called from the JS thread: each takes the request id out of the
 * pending table (a stale or repeated id returns false and answers nothing)
 * and calls fuse_reply_*, which writes to /dev/fuse directly.
 */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define TAKE(env, v, req) \
  double id_; fuse_req_t req; \
  if (cf_get_double(env, v, &id_)) return NULL; \
  if (!(req = cf_take(id_))) return result(env, -1)

static napi_value result(napi_env env, int rc) {
  napi_value v;
  napi_get_boolean(env, rc == 0, &v);
  return v;
}

/* replyErr(id, errno): 0 answers success for ops without a payload. */
static napi_value reply_err(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int64_t err;
  if (cf_args(env, info, 2, a) || cf_get_int(env, a[1], &err)) return NULL;
  if (err < 0 || err > 4095) return CF_THROW(env, "errno out of range");
  TAKE(env, a[0], req);
  return result(env, fuse_reply_err(req, (int)err) == 0 ? 0 : -1);
}

static napi_value reply_entry(napi_env env, napi_callback_info info) {
  napi_value a[2];
  struct fuse_entry_param e;
  if (cf_args(env, info, 2, a) || cf_entry_from_js(env, a[1], &e)) return NULL;
  TAKE(env, a[0], req);
  return result(env, fuse_reply_entry(req, &e));
}

static napi_value reply_attr(napi_env env, napi_callback_info info) {
  napi_value a[3];
  struct stat st;
  double timeout;
  if (cf_args(env, info, 3, a) || cf_stat_from_js(env, a[1], &st) || cf_get_double(env, a[2], &timeout)) return NULL;
  if (timeout < 0) return CF_THROW(env, "timeout must be >= 0");
  TAKE(env, a[0], req);
  return result(env, fuse_reply_attr(req, &st, timeout));
}

/* { keepCache, directIo, nonseekable, cacheReaddir } */
static int open_opts(napi_env env, napi_value o, uint64_t fh, struct fuse_file_info *fi) {
  uint64_t keep, direct, nonseek, cachedir;
  memset(fi, 0, sizeof *fi);
  if (cf_prop_u64(env, o, "keepCache", &keep, 0) || cf_prop_u64(env, o, "directIo", &direct, 0) ||
      cf_prop_u64(env, o, "nonseekable", &nonseek, 0) || cf_prop_u64(env, o, "cacheReaddir", &cachedir, 0))
    return -1;
  fi->fh = fh; fi->keep_cache = keep != 0; fi->direct_io = direct != 0;
  fi->nonseekable = nonseek != 0; fi->cache_readdir = cachedir != 0;
  return 0;
}

/* replyOpen(id, fh, opts) for open and opendir. */
static napi_value reply_open(napi_env env, napi_callback_info info) {
  napi_value a[3];
  uint64_t fh;
  struct fuse_file_info fi;
  if (cf_args(env, info, 3, a) || cf_get_u64(env, a[1], &fh) || open_opts(env, a[2], fh, &fi)) return NULL;
  TAKE(env, a[0], req);
  return result(env, fuse_reply_open(req, &fi));
}

/* replyCreate(id, entry, fh, opts) */
static napi_value reply_create(napi_env env, napi_callback_info info) {
  napi_value a[4];
  uint64_t fh;
  struct fuse_entry_param e;
  struct fuse_file_info fi;
  if (cf_args(env, info, 4, a) || cf_entry_from_js(env, a[1], &e) || cf_get_u64(env, a[2], &fh) ||
      open_opts(env, a[3], fh, &fi))
    return NULL;
  if (e.ino == 0) return CF_THROW(env, "create needs a node id");
  TAKE(env, a[0], req);
  return result(env, fuse_reply_create(req, &e, &fi));
}

/* replyWrite(id, count) */
static napi_value reply_write(napi_env env, napi_callback_info info) {
  napi_value a[2];
  uint64_t count;
  if (cf_args(env, info, 2, a) || cf_get_u64(env, a[1], &count)) return NULL;
  TAKE(env, a[0], req);
  return result(env, fuse_reply_write(req, count));
}

/* replyLseek(id, offset): where SEEK_DATA/SEEK_HOLE landed. */
static napi_value reply_lseek(napi_env env, napi_callback_info info) {
  napi_value a[2];
  uint64_t off;
  if (cf_args(env, info, 2, a) || cf_get_u64(env, a[1], &off)) return NULL;
  TAKE(env, a[0], req);
  return result(env, fuse_reply_lseek(req, (off_t)off));
}

/* replyXattrSize(id, size): the answer to a size probe (size 0 asked). */
static napi_value reply_xattr(napi_env env, napi_callback_info info) {
  napi_value a[2];
  uint64_t size;
  if (cf_args(env, info, 2, a) || cf_get_u64(env, a[1], &size)) return NULL;
  TAKE(env, a[0], req);
  return result(env, fuse_reply_xattr(req, size));
}

static napi_value reply_readlink(napi_env env, napi_callback_info info) {
  napi_value a[2];
  if (cf_args(env, info, 2, a)) return NULL;
  char *target = cf_get_string(env, a[1]);
  if (!target) return NULL;
  double id; fuse_req_t req;
  if (cf_get_double(env, a[0], &id)) { free(target); return NULL; }
  if (!(req = cf_take(id))) { free(target); return result(env, -1); }
  int rc = fuse_reply_readlink(req, target);
  free(target);
  return result(env, rc);
}

static napi_value reply_statfs(napi_env env, napi_callback_info info) {
  napi_value a[2];
  struct statvfs sv;
  uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, favail, namemax;
  if (cf_args(env, info, 2, a)) return NULL;
  if (cf_prop_u64(env, a[1], "bsize", &bsize, 4096) || cf_prop_u64(env, a[1], "frsize", &frsize, bsize) ||
      cf_prop_u64(env, a[1], "blocks", &blocks, 0) || cf_prop_u64(env, a[1], "bfree", &bfree, 0) ||
      cf_prop_u64(env, a[1], "bavail", &bavail, 0) || cf_prop_u64(env, a[1], "files", &files, 0) ||
      cf_prop_u64(env, a[1], "ffree", &ffree, 0) || cf_prop_u64(env, a[1], "favail", &favail, ffree) ||
      cf_prop_u64(env, a[1], "namemax", &namemax, 255))
    return NULL;
  memset(&sv, 0, sizeof sv);
  sv.f_bsize = bsize; sv.f_frsize = frsize; sv.f_blocks = blocks; sv.f_bfree = bfree;
  sv.f_bavail = bavail; sv.f_files = files; sv.f_ffree = ffree; sv.f_favail = favail;
  sv.f_namemax = namemax;
  TAKE(env, a[0], req);
  return result(env, fuse_reply_statfs(req, &sv));
}

/* replyLock(id, { type, start, len, pid }) for getlk. */
static napi_value reply_lock(napi_env env, napi_callback_info info) {
  napi_value a[2];
  int64_t type, start, len, pid;
  if (cf_args(env, info, 2, a)) return NULL;
  if (cf_prop_i64(env, a[1], "type", &type, F_UNLCK) || cf_prop_i64(env, a[1], "start", &start, 0) ||
      cf_prop_i64(env, a[1], "len", &len, 0) || cf_prop_i64(env, a[1], "pid", &pid, 0))
    return NULL;
  if (type != F_UNLCK && type != F_RDLCK && type != F_WRLCK) return CF_THROW(env, "bad lock type");
  struct flock fl = { .l_type = (short)type, .l_whence = SEEK_SET, .l_start = start, .l_len = len, .l_pid = (pid_t)pid };
  TAKE(env, a[0], req);
  return result(env, fuse_reply_lock(req, &fl));
}

napi_value cf_init_reply(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "replyErr", NULL, reply_err, NULL, NULL, NULL, napi_default, NULL },
    { "replyEntry", NULL, reply_entry, NULL, NULL, NULL, napi_default, NULL },
    { "replyAttr", NULL, reply_attr, NULL, NULL, NULL, napi_default, NULL },
    { "replyOpen", NULL, reply_open, NULL, NULL, NULL, napi_default, NULL },
    { "replyCreate", NULL, reply_create, NULL, NULL, NULL, napi_default, NULL },
    { "replyWrite", NULL, reply_write, NULL, NULL, NULL, napi_default, NULL },
    { "replyLseek", NULL, reply_lseek, NULL, NULL, NULL, napi_default, NULL },
    { "replyXattrSize", NULL, reply_xattr, NULL, NULL, NULL, napi_default, NULL },
    { "replyReadlink", NULL, reply_readlink, NULL, NULL, NULL, napi_default, NULL },
    { "replyStatfs", NULL, reply_statfs, NULL, NULL, NULL, napi_default, NULL },
    { "replyLock", NULL, reply_lock, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
