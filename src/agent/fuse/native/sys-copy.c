/*
 * copyFileRangeAsync(fdIn, offsetIn, fdOut, offsetOut, length): copy_file_range(2)
 * between two backing descriptors on libuv's thread pool, at explicit
 * offsets (neither descriptor's file offset moves). Short copies are
 * continued until `length` bytes or the end of the source; resolves with
 * the bytes copied, or -errno when nothing was copied. Bad arguments
 * throw. Never called on a mount this process serves.
 */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct copy_job {
  int fd_in, fd_out;
  off_t off_in, off_out;
  size_t len;
  int64_t rc;
  napi_deferred deferred;
  napi_async_work work;
};

static void copy_run(napi_env env, void *data) {
  (void)env;
  struct copy_job *j = data;
  size_t done = 0;
  int err = 0;
  while (done < j->len) {
    ssize_t n = copy_file_range(j->fd_in, &j->off_in, j->fd_out, &j->off_out, j->len - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { err = errno; break; }
    if (n == 0) break; /* end of the source */
    done += (size_t)n;
  }
  j->rc = done > 0 || err == 0 ? (int64_t)done : -err;
}

static void copy_free(napi_env env, struct copy_job *j) {
  if (j->work) napi_delete_async_work(env, j->work);
  free(j);
}

static void copy_done(napi_env env, napi_status status, void *data) {
  struct copy_job *j = data;
  napi_resolve_deferred(env, j->deferred, cf_int(env, status == napi_ok ? j->rc : -ECANCELED));
  copy_free(env, j);
}

static napi_value async_copy_file_range(napi_env env, napi_callback_info info) {
  napi_value a[5];
  int64_t n[5];
  if (cf_args(env, info, 5, a)) return NULL;
  for (int i = 0; i < 5; i++) if (cf_get_int(env, a[i], &n[i])) return NULL;
  if (n[0] < INT32_MIN || n[2] < INT32_MIN || n[0] > INT32_MAX || n[2] > INT32_MAX) return CF_THROW(env, "expected file descriptors");
  if (n[1] < 0 || n[3] < 0 || n[4] < 0) return CF_THROW(env, "expected non-negative offsets and length");
  struct copy_job *j = calloc(1, sizeof *j);
  if (!j) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  j->fd_in = (int)n[0]; j->off_in = (off_t)n[1];
  j->fd_out = (int)n[2]; j->off_out = (off_t)n[3];
  j->len = (size_t)n[4];
  napi_value promise = cf_queue_work(env, "coherd.copyFileRange", copy_run, copy_done, j, &j->deferred, &j->work);
  if (promise == NULL) {
    copy_free(env, j);
    napi_throw_error(env, NULL, "could not queue a system call on the thread pool");
  }
  return promise;
}

napi_value cf_init_sys_copy(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "copyFileRangeAsync", NULL, async_copy_file_range, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
