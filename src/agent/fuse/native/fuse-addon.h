/*
 * coherd's libfuse3 low-level addon: shared declarations.
 *
 * Threads: one loop thread per session reads /dev/fuse (session.c) and
 * turns each request into a `struct cf_request` posted to JavaScript with a
 * thread-safe function (requests.c, to-js.c). It never waits for JS. JS
 * answers by calling the reply functions (reply*.c) on its own thread:
 * fuse_reply_* writes to the device directly. Kernel notifications run on
 * a dedicated notify thread per session (notify.c), never on the loop
 * thread, so they cannot deadlock against a request.
 */
#ifndef COHERD_FUSE_ADDON_H
#define COHERD_FUSE_ADDON_H

#define FUSE_USE_VERSION 34
#define _GNU_SOURCE
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <fcntl.h>

enum cf_op {
  CF_LOOKUP, CF_FORGET, CF_GETATTR, CF_SETATTR, CF_READLINK, CF_MKNOD, CF_MKDIR,
  CF_UNLINK, CF_RMDIR, CF_SYMLINK, CF_RENAME, CF_LINK, CF_OPEN, CF_READ, CF_WRITE,
  CF_FLUSH, CF_RELEASE, CF_FSYNC, CF_OPENDIR, CF_READDIRPLUS, CF_RELEASEDIR,
  CF_FSYNCDIR, CF_STATFS, CF_SETXATTR, CF_GETXATTR, CF_LISTXATTR, CF_REMOVEXATTR,
  CF_ACCESS, CF_CREATE, CF_GETLK, CF_SETLK, CF_FLOCK, CF_FALLOCATE, CF_INTERRUPT,
  CF_CLOSED, CF_LSEEK, CF_COPY_FILE_RANGE, CF_OP_COUNT
};

/** One kernel request, filled on the loop thread, read once on the JS thread. */
struct cf_request {
  enum cf_op op;
  double id;              /* pending-table id (0 for forget/interrupt/init) */
  fuse_ino_t ino, ino2;   /* ino (or parent); ino2: new parent / link target dir */
  char *name, *name2;     /* owned copies */
  uint32_t mode, umask_;
  uint64_t rdev;
  int flags, datasync, mask, to_set, sleep, has_fh;
  int writeback;          /* write: the kernel writes back cached pages (FUSE_WRITE_CACHE), not a write(2) */
  uint64_t fh, lock_owner, nlookup;
  uint64_t size, off, len;
  uint64_t fh2, off2;      /* copy_file_range: the destination's handle and offset */
  struct stat attr;       /* setattr */
  struct flock lock;      /* getlk/setlk */
  void *data;             /* write/setxattr payload (malloc'd, handed to JS) */
  size_t data_len;
  uid_t uid; gid_t gid; pid_t pid;
  int ngroups; gid_t *groups;
};

struct cf_session {
  struct fuse_session *se;
  napi_threadsafe_function tsfn;   /* requests to JS */
  napi_threadsafe_function notify_tsfn;
  pthread_t loop_thread;
  int loop_started, stop_pipe[2], mounted, loop_result, locks;
  struct cf_notify_queue *notify;
  char *mountpoint;
};

/* requests.c: the pending table (id -> fuse_req_t) and posting to JS. */
struct cf_request *cf_request_new(enum cf_op op, fuse_req_t req, fuse_ino_t ino);
void cf_request_free(struct cf_request *r);
void cf_post(struct cf_session *s, fuse_req_t req, struct cf_request *r);
fuse_req_t cf_take(double id);
int cf_pending_fail_session(struct cf_session *s, int err);
char *cf_strdup(const char *s);

/* to-js.c: converting a request to a JS object on the JS thread. */
void cf_call_js(napi_env env, napi_value cb, void *ctx, void *data);

/* ops-*.c: the fuse_lowlevel_ops tables. */
void cf_ops_entry(struct fuse_lowlevel_ops *ops);
void cf_ops_file(struct fuse_lowlevel_ops *ops);
void cf_ops_attr(struct fuse_lowlevel_ops *ops);
void cf_ops_lock(struct fuse_lowlevel_ops *ops);
void cf_ops_copy(struct fuse_lowlevel_ops *ops);
void cf_on_interrupt(fuse_req_t req, void *data);

/* napi-util.c: argument parsing that throws instead of crashing; work queued on libuv's pool. */
#define CF_THROW(env, msg) (napi_throw_type_error((env), NULL, (msg)), (napi_value)NULL)
int cf_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
int cf_get_double(napi_env env, napi_value v, double *out);
int cf_get_int(napi_env env, napi_value v, int64_t *out);
int cf_get_u64(napi_env env, napi_value v, uint64_t *out);
int cf_prop_u64(napi_env env, napi_value obj, const char *key, uint64_t *out, uint64_t dflt);
int cf_prop_double(napi_env env, napi_value obj, const char *key, double *out, double dflt);
char *cf_get_string(napi_env env, napi_value v);
int cf_prop_i64(napi_env env, napi_value obj, const char *key, int64_t *out, int64_t dflt);
int cf_has_prop(napi_env env, napi_value obj, const char *key);
napi_value cf_int(napi_env env, int64_t v);
napi_value cf_u64(napi_env env, uint64_t v);
void cf_set(napi_env env, napi_value obj, const char *key, napi_value v);
napi_value cf_undefined(napi_env env);
napi_value cf_queue_work(napi_env env, const char *name, napi_async_execute_callback run,
                         napi_async_complete_callback done, void *data, napi_deferred *deferred, napi_async_work *work);

/* reply*.c and stat-from-js.c */
int cf_stat_from_js(napi_env env, napi_value obj, struct stat *st);
int cf_entry_from_js(napi_env env, napi_value obj, struct fuse_entry_param *e);
napi_value cf_stat_to_js(napi_env env, const struct stat *st);
int cf_session_from_js(napi_env env, napi_value v, struct cf_session **out);

/* exported function groups */
napi_value cf_init_session(napi_env env, napi_value exports);
napi_value cf_init_reply(napi_env env, napi_value exports);
napi_value cf_init_reply_data(napi_env env, napi_value exports);
napi_value cf_init_notify(napi_env env, napi_value exports);
napi_value cf_init_sys(napi_env env, napi_value exports);
napi_value cf_init_sys_async(napi_env env, napi_value exports);
napi_value cf_init_sys_copy(napi_env env, napi_value exports);
void cf_notify_start(napi_env env, struct cf_session *s);
void cf_notify_stop(struct cf_session *s);

#endif
