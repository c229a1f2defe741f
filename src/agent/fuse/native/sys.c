/*
 * System calls Node's fs lacks, for the TypeScript passthrough: renameat2
 * flags, mknod, xattrs, utimensat with UTIME_OMIT/UTIME_NOW and
 * nanoseconds, fchownat on an O_PATH fd, fallocate. Each is one short
 * metadata call on the backing filesystem (never on a FUSE mount served by
 * this process), made synchronously; each returns 0 (or a size/Buffer) on
 * success and -errno on failure, never throws for a failed system call.
 */
#include "fuse-addon.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <limits.h>
#include <unistd.h>

#define FAIL_OR(env, rc) cf_int(env, (rc) < 0 ? -errno : (rc))

/* rename2(oldPath, newPath, flags) */
static napi_value sys_rename2(napi_env env, napi_callback_info info) {
  napi_value a[3];
  int64_t flags;
  if (cf_args(env, info, 3, a) || cf_get_int(env, a[2], &flags)) return NULL;
  char *from = cf_get_string(env, a[0]), *to = from ? cf_get_string(env, a[1]) : NULL;
  if (!to) { free(from); return NULL; }
  int rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, (unsigned)flags);
  napi_value r = FAIL_OR(env, rc);
  free(from); free(to);
  return r;
}

/* mknod(path, mode, dev) */
static napi_value sys_mknod(napi_env env, napi_callback_info info) {
  napi_value a[3];
  int64_t mode; uint64_t dev;
  if (cf_args(env, info, 3, a) || cf_get_int(env, a[1], &mode) || cf_get_u64(env, a[2], &dev)) return NULL;
  char *path = cf_get_string(env, a[0]);
  if (!path) return NULL;
  int rc = mknod(path, (mode_t)mode, (dev_t)dev);
  free(path);
  return FAIL_OR(env, rc);
}

/* getxattr(path, name, size, nofollow): size 0 -> the size; else a Buffer, or -errno. */
static napi_value sys_getxattr(napi_env env, napi_callback_info info) {
  napi_value a[4], out;
  uint64_t size, nofollow;
  if (cf_args(env, info, 4, a) || cf_get_u64(env, a[2], &size) || cf_get_u64(env, a[3], &nofollow)) return NULL;
  if (size > (64u << 10)) size = 64u << 10;
  char *path = cf_get_string(env, a[0]), *name = path ? cf_get_string(env, a[1]) : NULL;
  if (!name) { free(path); return NULL; }
  void *buf = size ? malloc(size) : NULL;
  ssize_t n = (size && !buf) ? (errno = ENOMEM, -1)
            : nofollow ? lgetxattr(path, name, buf, size) : getxattr(path, name, buf, size);
  if (n < 0 || size == 0) out = cf_int(env, n < 0 ? -errno : n);
  else napi_create_buffer_copy(env, (size_t)n, buf, NULL, &out);
  free(buf); free(path); free(name);
  return out;
}

/* listxattr(path, size, nofollow): like getxattr, the NUL-separated list. */
static napi_value sys_listxattr(napi_env env, napi_callback_info info) {
  napi_value a[3], out;
  uint64_t size, nofollow;
  if (cf_args(env, info, 3, a) || cf_get_u64(env, a[1], &size) || cf_get_u64(env, a[2], &nofollow)) return NULL;
  if (size > (64u << 10)) size = 64u << 10;
  char *path = cf_get_string(env, a[0]);
  if (!path) return NULL;
  char *buf = size ? malloc(size) : NULL;
  ssize_t n = (size && !buf) ? (errno = ENOMEM, -1)
            : nofollow ? llistxattr(path, buf, size) : listxattr(path, buf, size);
  if (n < 0 || size == 0) out = cf_int(env, n < 0 ? -errno : n);
  else napi_create_buffer_copy(env, (size_t)n, buf, NULL, &out);
  free(buf); free(path);
  return out;
}

/* setxattr(path, name, value, flags, nofollow) */
static napi_value sys_setxattr(napi_env env, napi_callback_info info) {
  napi_value a[5];
  int64_t flags;
  uint64_t nofollow;
  void *data; size_t len;
  if (cf_args(env, info, 5, a) || cf_get_int(env, a[3], &flags) || cf_get_u64(env, a[4], &nofollow)) return NULL;
  if (napi_get_buffer_info(env, a[2], &data, &len) != napi_ok) return CF_THROW(env, "expected a Buffer");
  char *path = cf_get_string(env, a[0]), *name = path ? cf_get_string(env, a[1]) : NULL;
  if (!name) { free(path); return NULL; }
  int rc = nofollow ? lsetxattr(path, name, data, len, (int)flags) : setxattr(path, name, data, len, (int)flags);
  napi_value r = FAIL_OR(env, rc);
  free(path); free(name);
  return r;
}

/* removexattr(path, name, nofollow) */
static napi_value sys_removexattr(napi_env env, napi_callback_info info) {
  napi_value a[3];
  uint64_t nofollow;
  if (cf_args(env, info, 3, a) || cf_get_u64(env, a[2], &nofollow)) return NULL;
  char *path = cf_get_string(env, a[0]), *name = path ? cf_get_string(env, a[1]) : NULL;
  if (!name) { free(path); return NULL; }
  int rc = nofollow ? lremovexattr(path, name) : removexattr(path, name);
  napi_value r = FAIL_OR(env, rc);
  free(path); free(name);
  return r;
}

/* utimens(fdOrPath, atimeSec, atimeNsec, mtimeSec, mtimeNsec): nsec may be UTIME_NOW/UTIME_OMIT. */
static napi_value sys_utimens(napi_env env, napi_callback_info info) {
  napi_value a[5];
  int64_t v[4];
  napi_valuetype t;
  if (cf_args(env, info, 5, a)) return NULL;
  for (int i = 0; i < 4; i++) if (cf_get_int(env, a[i + 1], &v[i])) return NULL;
  struct timespec ts[2] = { { v[0], v[1] }, { v[2], v[3] } };
  napi_typeof(env, a[0], &t);
  int rc;
  if (t == napi_number) {
    int64_t fd;
    if (cf_get_int(env, a[0], &fd)) return NULL;
    rc = futimens((int)fd, ts);
  } else {
    char *path = cf_get_string(env, a[0]);
    if (!path) return NULL;
    rc = utimensat(AT_FDCWD, path, ts, 0);
    free(path);
  }
  return FAIL_OR(env, rc);
}

/* fchown(fd, uid, gid): works on O_PATH fds and symlinks (AT_EMPTY_PATH); -1 keeps an id. */
static napi_value sys_fchown(napi_env env, napi_callback_info info) {
  napi_value a[3];
  int64_t fd, uid, gid;
  if (cf_args(env, info, 3, a) || cf_get_int(env, a[0], &fd) || cf_get_int(env, a[1], &uid) || cf_get_int(env, a[2], &gid)) return NULL;
  int rc = fchownat((int)fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  return FAIL_OR(env, rc);
}

/* fallocate(fd, mode, offset, length) */
static napi_value sys_fallocate(napi_env env, napi_callback_info info) {
  napi_value a[4];
  int64_t fd, mode, off, len;
  if (cf_args(env, info, 4, a) || cf_get_int(env, a[0], &fd) || cf_get_int(env, a[1], &mode) ||
      cf_get_int(env, a[2], &off) || cf_get_int(env, a[3], &len)) return NULL;
  int rc = fallocate((int)fd, (int)mode, off, len);
  return FAIL_OR(env, rc);
}

/* linkat(from, to): from may be /proc/self/fd/N (followed, like passthrough_ll). */
static napi_value sys_linkat(napi_env env, napi_callback_info info) {
  napi_value a[2];
  if (cf_args(env, info, 2, a)) return NULL;
  char *from = cf_get_string(env, a[0]), *to = from ? cf_get_string(env, a[1]) : NULL;
  if (!to) { free(from); return NULL; }
  int rc = linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW);
  napi_value r = FAIL_OR(env, rc);
  free(from); free(to);
  return r;
}

/* readlinkFd(fd): the target of the symlink an O_PATH fd refers to, or -errno. */
static napi_value sys_readlink_fd(napi_env env, napi_callback_info info) {
  napi_value a[1], out;
  int64_t fd;
  char buf[PATH_MAX + 1];
  if (cf_args(env, info, 1, a) || cf_get_int(env, a[0], &fd)) return NULL;
  ssize_t n = readlinkat((int)fd, "", buf, sizeof buf);
  if (n < 0) return cf_int(env, -errno);
  if ((size_t)n >= sizeof buf) return cf_int(env, -ENAMETOOLONG);
  napi_create_string_utf8(env, buf, (size_t)n, &out);
  return out;
}

napi_value cf_init_sys(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "rename2", NULL, sys_rename2, NULL, NULL, NULL, napi_default, NULL },
    { "mknod", NULL, sys_mknod, NULL, NULL, NULL, napi_default, NULL },
    { "getxattr", NULL, sys_getxattr, NULL, NULL, NULL, napi_default, NULL },
    { "listxattr", NULL, sys_listxattr, NULL, NULL, NULL, napi_default, NULL },
    { "setxattr", NULL, sys_setxattr, NULL, NULL, NULL, napi_default, NULL },
    { "removexattr", NULL, sys_removexattr, NULL, NULL, NULL, napi_default, NULL },
    { "utimens", NULL, sys_utimens, NULL, NULL, NULL, napi_default, NULL },
    { "fchown", NULL, sys_fchown, NULL, NULL, NULL, napi_default, NULL },
    { "linkat", NULL, sys_linkat, NULL, NULL, NULL, napi_default, NULL },
    { "readlinkFd", NULL, sys_readlink_fd, NULL, NULL, NULL, napi_default, NULL },
    { "fallocate", NULL, sys_fallocate, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
