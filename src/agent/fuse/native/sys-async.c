/*
 * The backing-store system calls the agent makes per file operation
 * (renameat2 flags, mknod, fallocate, lseek, xattrs, utimensat with
 * nanoseconds), run on libuv's thread pool
 * so the JS thread never waits for one: on an NFS export each is a network
 * round trip, and every FUSE request of the host waits behind the JS
 * thread. Each returns a Promise of what the synchronous form (sys.c)
 * returns: 0, a size or a Buffer on success, -errno on failure; bad
 * arguments throw. Never called on a mount this process serves.
 */
#include "fuse-addon.h"
#include <errno.h>
#include <stdio.h> /* renameat2 */
#include <stdlib.h>
#include <fcntl.h> /* AT_FDCWD, AT_SYMLINK_NOFOLLOW */
#include <sys/stat.h> /* utimensat */
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_MAX_BYTES (64u << 10)

enum job_op { J_RENAME2, J_MKNOD, J_FALLOCATE, J_LSEEK, J_GETXATTR, J_LISTXATTR, J_SETXATTR, J_REMOVEXATTR, J_UTIMENS };

struct sys_job {
  enum job_op op;
  char *s0, *s1;
  int64_t n[4];
  /* setxattr: the caller's Buffer, kept alive by a reference until the job completes. */
  void *in; size_t in_len; napi_ref in_ref;
  /* getxattr/listxattr with a size: the bytes read. */
  void *out;
  ssize_t rc;
  napi_deferred deferred;
  napi_async_work work;
};

static void job_run(napi_env env, void *data) {
  struct sys_job *j = data;
  ssize_t rc = -1;
  size_t size = (size_t)j->n[0];
  switch (j->op) {
    case J_RENAME2: rc = renameat2(AT_FDCWD, j->s0, AT_FDCWD, j->s1, (unsigned)j->n[0]); break;
    case J_MKNOD: rc = mknod(j->s0, (mode_t)j->n[0], (dev_t)j->n[1]); break;
    case J_FALLOCATE: rc = fallocate((int)j->n[0], (int)j->n[1], j->n[2], j->n[3]); break;
    case J_LSEEK: rc = lseek((int)j->n[0], (off_t)j->n[1], (int)j->n[2]); break;
    case J_GETXATTR:
    case J_LISTXATTR:
      if (size > 0 && !(j->out = malloc(size))) { errno = ENOMEM; break; }
      rc = j->op == J_GETXATTR ? lgetxattr(j->s0, j->s1, j->out, size) : llistxattr(j->s0, j->out, size);
      break;
    case J_SETXATTR: rc = lsetxattr(j->s0, j->s1, j->in, j->in_len, (int)j->n[0]); break;
    case J_REMOVEXATTR: rc = lremovexattr(j->s0, j->s1); break;
    case J_UTIMENS: {
      struct timespec ts[2] = { { (time_t)j->n[0], (long)j->n[1] }, { (time_t)j->n[2], (long)j->n[3] } };
      rc = utimensat(AT_FDCWD, j->s0, ts, AT_SYMLINK_NOFOLLOW);
      break;
    }
  }
  j->rc = rc < 0 ? -errno : rc;
}

static void job_free(napi_env env, struct sys_job *j) {
  if (j->in_ref) napi_delete_reference(env, j->in_ref);
  if (j->work) napi_delete_async_work(env, j->work);
  free(j->s0); free(j->s1); free(j->out); free(j);
}

static void job_done(napi_env env, napi_status status, void *data) {
  struct sys_job *j = data;
  napi_value result;
  int bytes = (j->op == J_GETXATTR || j->op == J_LISTXATTR) && j->n[0] > 0 && j->rc >= 0;
  if (status != napi_ok) result = cf_int(env, -ECANCELED);
  else if (bytes) napi_create_buffer_copy(env, (size_t)j->rc, j->out, NULL, &result);
  else result = cf_int(env, j->rc);
  napi_resolve_deferred(env, j->deferred, result);
  job_free(env, j);
}

/* Queues j (arguments already parsed) and returns its Promise; frees j and throws if it cannot. */
static napi_value job_queue(napi_env env, struct sys_job *j, const char *name) {
  napi_value promise = cf_queue_work(env, name, job_run, job_done, j, &j->deferred, &j->work);
  if (promise == NULL) {
    job_free(env, j);
    napi_throw_error(env, NULL, "could not queue a system call on the thread pool");
  }
  return promise;
}

static struct sys_job *job_new(napi_env env, enum job_op op) {
  struct sys_job *j = calloc(1, sizeof *j);
  if (!j) napi_throw_error(env, NULL, "out of memory");
  else j->op = op;
  return j;
}

/* Parses string arguments a[0..count) into j->s0/s1; 0 on success (else j is freed, an exception pending). */
static int job_strings(napi_env env, struct sys_job *j, napi_value *a, int count) {
  j->s0 = cf_get_string(env, a[0]);
  if (j->s0 && count > 1) j->s1 = cf_get_string(env, a[1]);
  if (j->s0 && (count < 2 || j->s1)) return 0;
  job_free(env, j);
  return -1;
}

/* rename2Async(from, to, flags) */
static napi_value async_rename2(napi_env env, napi_callback_info info) {
  napi_value a[3];
  struct sys_job *j;
  if (cf_args(env, info, 3, a) || !(j = job_new(env, J_RENAME2))) return NULL;
  if (cf_get_int(env, a[2], &j->n[0])) { job_free(env, j); return NULL; }
  return job_strings(env, j, a, 2) ? NULL : job_queue(env, j, "coherd.rename2");
}

/* mknodAsync(path, mode, dev) */
static napi_value async_mknod(napi_env env, napi_callback_info info) {
  napi_value a[3];
  struct sys_job *j;
  uint64_t dev;
  if (cf_args(env, info, 3, a) || !(j = job_new(env, J_MKNOD))) return NULL;
  if (cf_get_int(env, a[1], &j->n[0]) || cf_get_u64(env, a[2], &dev)) { job_free(env, j); return NULL; }
  j->n[1] = (int64_t)dev;
  return job_strings(env, j, a, 1) ? NULL : job_queue(env, j, "coherd.mknod");
}

/* A job whose `count` arguments (at most 4) are all integers, taken into n[0..count). */
static napi_value async_ints(napi_env env, napi_callback_info info, int count, enum job_op op, const char *name) {
  napi_value a[4];
  struct sys_job *j;
  if (cf_args(env, info, count, a) || !(j = job_new(env, op))) return NULL;
  for (int i = 0; i < count; i++) if (cf_get_int(env, a[i], &j->n[i])) { job_free(env, j); return NULL; }
  return job_queue(env, j, name);
}

/* fallocateAsync(fd, mode, offset, length) */
static napi_value async_fallocate(napi_env env, napi_callback_info info) {
  return async_ints(env, info, 4, J_FALLOCATE, "coherd.fallocate");
}

/* lseekAsync(fd, offset, whence): the new offset, or -errno (SEEK_DATA/SEEK_HOLE on a backing fd). */
static napi_value async_lseek(napi_env env, napi_callback_info info) {
  return async_ints(env, info, 3, J_LSEEK, "coherd.lseek");
}

/* A read of `strings` names then a buffer size (capped at XATTR_MAX_BYTES): size 0 -> the size; else a Buffer, or -errno. */
static napi_value async_sized_read(napi_env env, napi_callback_info info, enum job_op op, int strings, const char *name) {
  napi_value a[3];
  struct sys_job *j;
  uint64_t size;
  if (cf_args(env, info, (size_t)strings + 1, a) || !(j = job_new(env, op))) return NULL;
  if (cf_get_u64(env, a[strings], &size)) { job_free(env, j); return NULL; }
  j->n[0] = size > XATTR_MAX_BYTES ? XATTR_MAX_BYTES : (int64_t)size;
  return job_strings(env, j, a, strings) ? NULL : job_queue(env, j, name);
}

/* lgetxattrAsync(path, name, size) */
static napi_value async_getxattr(napi_env env, napi_callback_info info) {
  return async_sized_read(env, info, J_GETXATTR, 2, "coherd.getxattr");
}

/* llistxattrAsync(path, size): the NUL-separated list. */
static napi_value async_listxattr(napi_env env, napi_callback_info info) {
  return async_sized_read(env, info, J_LISTXATTR, 1, "coherd.listxattr");
}

/* lsetxattrAsync(path, name, value, flags) */
static napi_value async_setxattr(napi_env env, napi_callback_info info) {
  napi_value a[4];
  struct sys_job *j;
  if (cf_args(env, info, 4, a) || !(j = job_new(env, J_SETXATTR))) return NULL;
  if (cf_get_int(env, a[3], &j->n[0])) { job_free(env, j); return NULL; }
  if (napi_get_buffer_info(env, a[2], &j->in, &j->in_len) != napi_ok || napi_create_reference(env, a[2], 1, &j->in_ref) != napi_ok) {
    job_free(env, j);
    return CF_THROW(env, "expected a Buffer");
  }
  return job_strings(env, j, a, 2) ? NULL : job_queue(env, j, "coherd.setxattr");
}

/* lremovexattrAsync(path, name) */
static napi_value async_removexattr(napi_env env, napi_callback_info info) {
  napi_value a[2];
  struct sys_job *j;
  if (cf_args(env, info, 2, a) || !(j = job_new(env, J_REMOVEXATTR))) return NULL;
  return job_strings(env, j, a, 2) ? NULL : job_queue(env, j, "coherd.removexattr");
}

/* lutimensAsync(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec): exact times, the last component not followed. */
static napi_value async_lutimens(napi_env env, napi_callback_info info) {
  napi_value a[5];
  struct sys_job *j;
  if (cf_args(env, info, 5, a) || !(j = job_new(env, J_UTIMENS))) return NULL;
  for (int i = 0; i < 4; i++) if (cf_get_int(env, a[i + 1], &j->n[i])) { job_free(env, j); return NULL; }
  if (j->n[1] < 0 || j->n[1] > 999999999 || j->n[3] < 0 || j->n[3] > 999999999) {
    job_free(env, j);
    napi_throw_range_error(env, NULL, "nanoseconds must be in [0, 999999999]");
    return NULL;
  }
  return job_strings(env, j, a, 1) ? NULL : job_queue(env, j, "coherd.utimens");
}

napi_value cf_init_sys_async(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "rename2Async", NULL, async_rename2, NULL, NULL, NULL, napi_default, NULL },
    { "mknodAsync", NULL, async_mknod, NULL, NULL, NULL, napi_default, NULL },
    { "fallocateAsync", NULL, async_fallocate, NULL, NULL, NULL, napi_default, NULL },
    { "lseekAsync", NULL, async_lseek, NULL, NULL, NULL, napi_default, NULL },
    { "lgetxattrAsync", NULL, async_getxattr, NULL, NULL, NULL, napi_default, NULL },
    { "llistxattrAsync", NULL, async_listxattr, NULL, NULL, NULL, napi_default, NULL },
    { "lsetxattrAsync", NULL, async_setxattr, NULL, NULL, NULL, napi_default, NULL },
    { "lremovexattrAsync", NULL, async_removexattr, NULL, NULL, NULL, napi_default, NULL },
    { "lutimensAsync", NULL, async_lutimens, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
