/*
 * File handles of backing inodes (name_to_handle_at / open_by_handle_at),
 * so the agent can find where an inode it knows lies now after another
 * host renamed it (or a directory above it) in the shared backing store.
 *
 * - handleAtAsync(path): the handle of `path` (a final symlink not
 *   followed), on libuv's pool (a path walk: a round trip on NFS);
 *   resolves { handle: Buffer, mountId } or -errno.
 * - handleOfFd(fd): the same for an open descriptor (AT_EMPTY_PATH: no path
 *   walk, no I/O, so synchronous); { handle, mountId } or -errno.
 * - pathOfHandleAsync(root, handle): where the inode lies now: opens it by
 *   handle (O_PATH, on the filesystem of directory `root`; needs
 *   CAP_DAC_READ_SEARCH, else -EPERM), then readlink of /proc/self/fd/N.
 *   Resolves the path, or -ENOENT when the inode is gone (ESTALE from the
 *   kernel, no links left, or a "(deleted)" path), or another -errno.
 *
 * The handle Buffer is struct file_handle as the kernel fills it (its
 * handle_bytes, handle_type, then the bytes). Never called on a mount this
 * process serves.
 */
#include "fuse-addon.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HANDLE_MAX 128 /* MAX_HANDLE_SZ */
#define DELETED " (deleted)"

struct handle_job {
  char *path, *root;
  /* the handle: taken (handleAtAsync) or given (pathOfHandleAsync) */
  union { struct file_handle fh; char space[sizeof(struct file_handle) + HANDLE_MAX]; } h;
  int mount_id;
  int rc;
  char out[PATH_MAX];
  napi_deferred deferred;
  napi_async_work work;
};

/* name_to_handle_at into j->h; 0 or -errno. */
static int take_handle(int dirfd, const char *path, int flags, struct handle_job *j) {
  j->h.fh.handle_bytes = HANDLE_MAX;
  return name_to_handle_at(dirfd, path, &j->h.fh, &j->mount_id, flags) < 0 ? -errno : 0;
}

/* Opens j->h under j->root and reads its current path into j->out; 0 or -errno. */
static int locate(struct handle_job *j) {
  int root = open(j->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return -errno;
  int fd = open_by_handle_at(root, &j->h.fh, O_PATH | O_CLOEXEC);
  int rc = fd < 0 ? -errno : 0;
  if (close(root) < 0 && rc == 0) rc = -errno;
  if (rc == -ESTALE) return -ENOENT;
  if (rc < 0) { if (fd >= 0) close(fd); return rc; }
  struct stat st;
  char proc[64];
  ssize_t n = -1;
  if (fstat(fd, &st) < 0) rc = -errno;
  else if (st.st_nlink == 0) rc = -ENOENT;
  else if (snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd) >= (int)sizeof proc) rc = -EOVERFLOW;
  else if ((n = readlink(proc, j->out, sizeof j->out - 1)) < 0) rc = -errno;
  else if ((size_t)n >= sizeof j->out - 1) rc = -ENAMETOOLONG;
  else j->out[n] = '\0';
  if (close(fd) < 0 && rc == 0) rc = -errno;
  if (rc < 0) return rc;
  size_t d = strlen(DELETED);
  if ((size_t)n >= d && strcmp(j->out + n - d, DELETED) == 0) return -ENOENT;
  return j->out[0] == '/' ? 0 : -ENOENT; /* not a path ("anon_inode:", a detached mount): nowhere to go */
}

static void run_take(napi_env env, void *data) {
  struct handle_job *j = data;
  j->rc = take_handle(AT_FDCWD, j->path, 0, j);
}

static void run_locate(napi_env env, void *data) {
  struct handle_job *j = data;
  j->rc = locate(j);
}

static void job_free(napi_env env, struct handle_job *j) {
  if (j->work) napi_delete_async_work(env, j->work);
  free(j->path); free(j->root); free(j);
}

/* { handle, mountId } of j->h, or NULL with an exception pending. */
static napi_value handle_to_js(napi_env env, struct handle_job *j) {
  napi_value obj, buf;
  size_t len = sizeof(struct file_handle) + j->h.fh.handle_bytes;
  if (napi_create_object(env, &obj) != napi_ok || napi_create_buffer_copy(env, len, &j->h.fh, NULL, &buf) != napi_ok) return NULL;
  cf_set(env, obj, "handle", buf);
  cf_set(env, obj, "mountId", cf_int(env, j->mount_id));
  return obj;
}

static void job_done(napi_env env, napi_status status, void *data) {
  struct handle_job *j = data;
  napi_value result = NULL;
  if (status != napi_ok) result = cf_int(env, -ECANCELED);
  else if (j->rc < 0) result = cf_int(env, j->rc);
  else if (j->path) result = handle_to_js(env, j);
  else if (napi_create_string_utf8(env, j->out, NAPI_AUTO_LENGTH, &result) != napi_ok) result = NULL;
  if (result == NULL) result = cf_int(env, -ENOMEM);
  napi_resolve_deferred(env, j->deferred, result);
  job_free(env, j);
}

static napi_value job_queue(napi_env env, struct handle_job *j, napi_async_execute_callback run, const char *name) {
  napi_value promise, resource_name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, run, job_done, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    job_free(env, j);
    napi_throw_error(env, NULL, "could not queue a system call on the thread pool");
    return NULL;
  }
  return promise;
}

/* handleAtAsync(path) */
static napi_value handle_at_async(napi_env env, napi_callback_info info) {
  napi_value a[1];
  struct handle_job *j;
  if (cf_args(env, info, 1, a)) return NULL;
  if (!(j = calloc(1, sizeof *j))) return CF_THROW(env, "out of memory");
  if (!(j->path = cf_get_string(env, a[0]))) { job_free(env, j); return NULL; }
  return job_queue(env, j, run_take, "coherd.handleAt");
}

/* handleOfFd(fd) */
static napi_value handle_of_fd(napi_env env, napi_callback_info info) {
  napi_value a[1], result;
  int64_t fd;
  struct handle_job *j;
  if (cf_args(env, info, 1, a) || cf_get_int(env, a[0], &fd)) return NULL;
  if (fd < 0 || fd > INT_MAX) return CF_THROW(env, "expected a file descriptor");
  if (!(j = calloc(1, sizeof *j))) return CF_THROW(env, "out of memory");
  int rc = take_handle((int)fd, "", AT_EMPTY_PATH, j);
  result = rc < 0 ? cf_int(env, rc) : handle_to_js(env, j);
  free(j);
  return result;
}

/* pathOfHandleAsync(root, handle) */
static napi_value path_of_handle_async(napi_env env, napi_callback_info info) {
  napi_value a[2];
  void *data;
  size_t len;
  struct handle_job *j;
  if (cf_args(env, info, 2, a)) return NULL;
  if (napi_get_buffer_info(env, a[1], &data, &len) != napi_ok || len < sizeof(struct file_handle) || len > sizeof(struct file_handle) + HANDLE_MAX) {
    return CF_THROW(env, "expected a file handle Buffer");
  }
  if (!(j = calloc(1, sizeof *j))) return CF_THROW(env, "out of memory");
  memcpy(j->h.space, data, len);
  if (sizeof(struct file_handle) + j->h.fh.handle_bytes != len) { job_free(env, j); return CF_THROW(env, "file handle length mismatch"); }
  if (!(j->root = cf_get_string(env, a[0]))) { job_free(env, j); return NULL; }
  return job_queue(env, j, run_locate, "coherd.pathOfHandle");
}

napi_value cf_init_handles(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "handleAtAsync", NULL, handle_at_async, NULL, NULL, NULL, napi_default, NULL },
    { "handleOfFd", NULL, handle_of_fd, NULL, NULL, NULL, napi_default, NULL },
    { "pathOfHandleAsync", NULL, path_of_handle_async, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
