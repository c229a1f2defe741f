/*
 * struct stat and fuse_entry_param from JS objects. Fields may be Numbers
 * or BigInts (fs.lstat(..., { bigint: true }) gives full 64-bit inode
 * numbers and nanosecond times: atimeNs/mtimeNs/ctimeNs; atimeMs etc. are
 * accepted as a fallback).
 */
#include "fuse-addon.h"
#include <string.h>

static int time_from_js(napi_env env, napi_value obj, const char *ns_key, const char *ms_key,
                        struct timespec *ts) {
  int64_t ns;
  if (cf_has_prop(env, obj, ns_key)) {
    if (cf_prop_i64(env, obj, ns_key, &ns, 0)) return -1;
  } else {
    double ms;
    if (cf_prop_double(env, obj, ms_key, &ms, 0)) return -1;
    ns = (int64_t)(ms * 1e6);
  }
  ts->tv_sec = ns / 1000000000;
  ts->tv_nsec = ns % 1000000000;
  if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000; ts->tv_sec -= 1; }
  return 0;
}

int cf_stat_from_js(napi_env env, napi_value obj, struct stat *st) {
  uint64_t ino, mode, nlink, uid, gid, rdev, size, blksize, blocks;
  memset(st, 0, sizeof *st);
  napi_valuetype t;
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, NULL, "expected a stat object");
    return -1;
  }
  if (cf_prop_u64(env, obj, "ino", &ino, 0) || cf_prop_u64(env, obj, "mode", &mode, 0) ||
      cf_prop_u64(env, obj, "nlink", &nlink, 1) || cf_prop_u64(env, obj, "uid", &uid, 0) ||
      cf_prop_u64(env, obj, "gid", &gid, 0) || cf_prop_u64(env, obj, "rdev", &rdev, 0) ||
      cf_prop_u64(env, obj, "size", &size, 0) || cf_prop_u64(env, obj, "blksize", &blksize, 4096) ||
      cf_prop_u64(env, obj, "blocks", &blocks, 0))
    return -1;
  if (mode > 0xffffffffu || uid > 0xffffffffu || gid > 0xffffffffu || size > INT64_MAX) {
    napi_throw_range_error(env, NULL, "stat field out of range");
    return -1;
  }
  st->st_ino = ino; st->st_mode = (mode_t)mode; st->st_nlink = nlink;
  st->st_uid = (uid_t)uid; st->st_gid = (gid_t)gid; st->st_rdev = rdev;
  st->st_size = (off_t)size; st->st_blksize = (blksize_t)blksize; st->st_blocks = (blkcnt_t)blocks;
  if (time_from_js(env, obj, "atimeNs", "atimeMs", &st->st_atim) ||
      time_from_js(env, obj, "mtimeNs", "mtimeMs", &st->st_mtim) ||
      time_from_js(env, obj, "ctimeNs", "ctimeMs", &st->st_ctim))
    return -1;
  return 0;
}

/** { ino (node id, 0 = negative entry), generation, attr, attrTimeout, entryTimeout } (timeouts in s). */
int cf_entry_from_js(napi_env env, napi_value obj, struct fuse_entry_param *e) {
  uint64_t ino, gen;
  double at, et;
  memset(e, 0, sizeof *e);
  napi_valuetype t;
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, NULL, "expected an entry object");
    return -1;
  }
  if (cf_prop_u64(env, obj, "ino", &ino, 0) || cf_prop_u64(env, obj, "generation", &gen, 0) ||
      cf_prop_double(env, obj, "attrTimeout", &at, 0) || cf_prop_double(env, obj, "entryTimeout", &et, 0))
    return -1;
  if (at < 0 || et < 0) {
    napi_throw_range_error(env, NULL, "timeouts must be >= 0");
    return -1;
  }
  e->ino = ino; e->generation = gen; e->attr_timeout = at; e->entry_timeout = et;
  if (ino != 0) {
    napi_value attr;
    if (napi_get_named_property(env, obj, "attr", &attr) != napi_ok) return -1;
    if (cf_stat_from_js(env, attr, &e->attr)) return -1;
  }
  return 0;
}
