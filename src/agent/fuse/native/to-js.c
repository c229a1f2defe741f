/* Turns a cf_request into the JS object the TypeScript dispatcher receives. */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>

static const char *const OP_NAMES[CF_OP_COUNT] = {
  "lookup", "forget", "getattr", "setattr", "readlink", "mknod", "mkdir",
  "unlink", "rmdir", "symlink", "rename", "link", "open", "read", "write",
  "flush", "release", "fsync", "opendir", "readdirplus", "releasedir",
  "fsyncdir", "statfs", "setxattr", "getxattr", "listxattr", "removexattr",
  "access", "create", "getlk", "setlk", "flock", "fallocate", "interrupt", "closed",
  "lseek", "copy_file_range",
};

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value boolean(napi_env env, int b) {
  napi_value v;
  napi_get_boolean(env, b != 0, &v);
  return v;
}

static napi_value big(napi_env env, uint64_t x) {
  napi_value v;
  napi_create_bigint_uint64(env, x, &v);
  return v;
}

static void free_data(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

static void set_setattr(napi_env env, napi_value o, const struct cf_request *r) {
  const struct stat *st = &r->attr;
  cf_set(env, o, "valid", cf_int(env, r->to_set));
  cf_set(env, o, "attrMode", cf_int(env, st->st_mode));
  cf_set(env, o, "attrUid", cf_int(env, st->st_uid));
  cf_set(env, o, "attrGid", cf_int(env, st->st_gid));
  cf_set(env, o, "attrSize", cf_int(env, st->st_size));
  cf_set(env, o, "atimeSec", cf_int(env, st->st_atim.tv_sec));
  cf_set(env, o, "atimeNsec", cf_int(env, st->st_atim.tv_nsec));
  cf_set(env, o, "mtimeSec", cf_int(env, st->st_mtim.tv_sec));
  cf_set(env, o, "mtimeNsec", cf_int(env, st->st_mtim.tv_nsec));
}

static void set_lock(napi_env env, napi_value o, const struct cf_request *r) {
  napi_value l;
  napi_create_object(env, &l);
  cf_set(env, l, "type", cf_int(env, r->lock.l_type));
  cf_set(env, l, "start", cf_int(env, r->lock.l_start));
  cf_set(env, l, "len", cf_int(env, r->lock.l_len));
  cf_set(env, l, "pid", cf_int(env, r->lock.l_pid));
  cf_set(env, o, "lock", l);
}

static napi_value to_object(napi_env env, struct cf_request *r) {
  napi_value o;
  napi_create_object(env, &o);
  cf_set(env, o, "op", str(env, OP_NAMES[r->op]));
  cf_set(env, o, "id", cf_u64(env, (uint64_t)r->id));
  cf_set(env, o, "ino", cf_u64(env, r->ino));
  if (r->name) cf_set(env, o, "name", str(env, r->name));
  if (r->name2) cf_set(env, o, "name2", str(env, r->name2));
  if (r->ino2) cf_set(env, o, "ino2", cf_u64(env, r->ino2));
  cf_set(env, o, "uid", cf_int(env, r->uid));
  cf_set(env, o, "gid", cf_int(env, r->gid));
  cf_set(env, o, "pid", cf_int(env, r->pid));
  cf_set(env, o, "umask", cf_int(env, r->umask_));
  cf_set(env, o, "mode", cf_int(env, r->mode));
  cf_set(env, o, "flags", cf_int(env, r->flags));
  cf_set(env, o, "fh", cf_u64(env, r->fh));
  cf_set(env, o, "hasFh", boolean(env, r->has_fh));
  cf_set(env, o, "size", cf_u64(env, r->size));
  cf_set(env, o, "offset", cf_u64(env, r->off));
  switch (r->op) {
    case CF_FORGET: cf_set(env, o, "nlookup", cf_u64(env, r->nlookup)); break;
    case CF_MKNOD: cf_set(env, o, "rdev", cf_u64(env, r->rdev)); break;
    case CF_FSYNC: case CF_FSYNCDIR: cf_set(env, o, "datasync", boolean(env, r->datasync)); break;
    case CF_ACCESS: cf_set(env, o, "mask", cf_int(env, r->mask)); break;
    case CF_WRITE: cf_set(env, o, "writeback", boolean(env, r->writeback)); break;
    case CF_FALLOCATE: cf_set(env, o, "length", cf_u64(env, r->len)); break;
    case CF_LSEEK: cf_set(env, o, "whence", cf_int(env, r->mask)); break;
    case CF_COPY_FILE_RANGE:
      cf_set(env, o, "length", cf_u64(env, r->len));
      cf_set(env, o, "fhOut", cf_u64(env, r->fh2));
      cf_set(env, o, "offsetOut", cf_u64(env, r->off2));
      break;
    case CF_SETATTR: set_setattr(env, o, r); break;
    case CF_GETLK: case CF_SETLK: case CF_FLOCK: case CF_FLUSH: case CF_RELEASE:
      cf_set(env, o, "owner", big(env, r->lock_owner));
      cf_set(env, o, r->op == CF_RELEASE ? "flockRelease" : "sleep", boolean(env, r->sleep));
      if (r->op == CF_GETLK || r->op == CF_SETLK) set_lock(env, o, r);
      break;
    default: break;
  }
  if (r->data) {
    napi_value buf;
    if (napi_create_external_buffer(env, r->data_len, r->data, free_data, NULL, &buf) == napi_ok) {
      r->data = NULL; /* the Buffer owns it now */
      cf_set(env, o, "data", buf);
    }
  }
  return o;
}

/** The thread-safe function's call_js: on the JS thread, once per request. */
void cf_call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)ctx;
  struct cf_request *r = data;
  if (env == NULL || cb == NULL) {
    fuse_req_t req = r->id && r->op != CF_INTERRUPT ? cf_take(r->id) : NULL;
    if (req) fuse_reply_err(req, EIO);
    cf_request_free(r);
    return;
  }
  napi_value obj = to_object(env, r), undef = cf_undefined(env);
  double id = r->op == CF_INTERRUPT ? 0 : r->id;
  cf_request_free(r);
  if (napi_call_function(env, undef, cb, 1, &obj, NULL) != napi_ok) {
    /* The dispatcher threw: answer EIO so the caller is not left hanging. */
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    fuse_req_t req = id ? cf_take(id) : NULL;
    if (req) fuse_reply_err(req, EIO);
  }
}
