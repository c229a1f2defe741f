/*
 * Session lifecycle: mount, the loop thread, unmount.
 *
 * The loop thread polls the /dev/fuse fd and a stop pipe, then
 * fuse_session_receive_buf + fuse_session_process_buf: the op callbacks
 * (ops-*.c) only copy the request and post it to JS, so the thread never
 * waits for JavaScript. unmount() stops the thread through the pipe, fails
 * whatever JS has not answered with EIO, unmounts (lazily) and destroys.
 */
#include "fuse-addon.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_log[512];

static void capture_log(enum fuse_log_level level, const char *fmt, va_list ap) {
  if (level > FUSE_LOG_ERR) return;
  pthread_mutex_lock(&log_lock);
  vsnprintf(last_log, sizeof last_log, fmt, ap);
  size_t n = strlen(last_log);
  while (n && last_log[n - 1] == '\n') last_log[--n] = 0;
  pthread_mutex_unlock(&log_lock);
}

static void throw_with_log(napi_env env, const char *code, const char *what) {
  char msg[700];
  pthread_mutex_lock(&log_lock);
  snprintf(msg, sizeof msg, "%s%s%s", what, last_log[0] ? ": " : "", last_log);
  last_log[0] = 0;
  pthread_mutex_unlock(&log_lock);
  napi_throw_error(env, code, msg);
}

static void on_init(void *userdata, struct fuse_conn_info *conn) {
  (void)userdata;
  /* Always readdirplus: lookups counted in one place, attributes in one reply. */
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  /* Writes go through the agent: no kernel writeback cache (a revoke could not flush it). */
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void *loop_main(void *arg) {
  struct cf_session *s = arg;
  struct fuse_buf buf = { .mem = NULL };
  struct pollfd pfd[2] = { { fuse_session_fd(s->se), POLLIN, 0 }, { s->stop_pipe[0], POLLIN, 0 } };
  int res = 0;
  while (!fuse_session_exited(s->se)) {
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      res = -errno;
      break;
    }
    if (pfd[1].revents) break;
    res = fuse_session_receive_buf(s->se, &buf);
    if (res == -EINTR || res == -EAGAIN) continue;
    if (res <= 0) break; /* 0 or -ENODEV: the kernel side is gone */
    fuse_session_process_buf(s->se, &buf);
  }
  free(buf.mem);
  s->loop_result = res;
  if (!pfd[1].revents) {
    /* Unmounted from outside: tell JS so it can release the session. */
    struct cf_request *r = cf_request_new(CF_CLOSED, NULL, 0);
    if (r) {
      r->flags = res; /* why the loop ended: 0 or -ENODEV (unmounted, aborted) or another -errno */
      cf_post(s, NULL, r);
    }
  }
  return NULL;
}

/* The handle's finalizer frees a session that was unmounted; a live one is kept. */
static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  struct cf_session *s = data;
  if (!s->loop_started) free(s);
}

static void session_free(struct cf_session *s) {
  if (s->se) fuse_session_destroy(s->se);
  if (s->stop_pipe[0] >= 0) close(s->stop_pipe[0]);
  if (s->stop_pipe[1] >= 0) close(s->stop_pipe[1]);
  free(s->mountpoint);
  free(s);
}

/* mount(mountpoint, optionString, dispatch, { locks }) -> session handle */
static napi_value mount_fs(napi_env env, napi_callback_info info) {
  napi_value a[4], handle, name;
  uint64_t locks;
  if (cf_args(env, info, 4, a) || cf_prop_u64(env, a[3], "locks", &locks, 0)) return NULL;
  struct cf_session *s = calloc(1, sizeof *s);
  if (!s) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  s->stop_pipe[0] = s->stop_pipe[1] = -1;
  s->locks = locks != 0;
  char *opts = NULL;
  if (!(s->mountpoint = cf_get_string(env, a[0])) || !(opts = cf_get_string(env, a[1]))) goto fail;
  if (pipe2(s->stop_pipe, O_CLOEXEC) != 0) { napi_throw_error(env, "EMFILE", "pipe failed"); goto fail; }
  char *argv[] = { "coherd", "-o", opts, NULL };
  struct fuse_args args = FUSE_ARGS_INIT(opts[0] ? 3 : 1, argv);
  struct fuse_lowlevel_ops ops;
  memset(&ops, 0, sizeof ops);
  ops.init = on_init;
  cf_ops_entry(&ops); cf_ops_file(&ops); cf_ops_attr(&ops); cf_ops_copy(&ops);
  if (s->locks) cf_ops_lock(&ops);
  fuse_set_log_func(capture_log);
  s->se = fuse_session_new(&args, &ops, sizeof ops, s);
  fuse_opt_free_args(&args);
  if (!s->se) { throw_with_log(env, "EINVAL", "fuse_session_new failed (bad options?)"); goto fail; }
  napi_create_string_utf8(env, "coherd-fuse", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, a[2], NULL, name, 0, 1, NULL, NULL, NULL, cf_call_js, &s->tsfn) != napi_ok) {
    napi_throw_error(env, "EIO", "cannot create the request queue");
    goto fail;
  }
  if (fuse_session_mount(s->se, s->mountpoint) != 0) {
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    throw_with_log(env, "EIO", "mount failed");
    goto fail;
  }
  s->mounted = 1;
  cf_notify_start(env, s);
  int rc = pthread_create(&s->loop_thread, NULL, loop_main, s);
  if (rc != 0) {
    cf_notify_stop(s);
    fuse_session_unmount(s->se);
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    napi_throw_error(env, "EAGAIN", "cannot start the loop thread");
    goto fail;
  }
  s->loop_started = 1;
  free(opts);
  napi_create_external(env, s, finalize_handle, NULL, &handle);
  return handle;
fail:
  free(opts);
  session_free(s);
  return NULL;
}

int cf_session_from_js(napi_env env, napi_value v, struct cf_session **out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, (void **)out) != napi_ok || !*out) {
    napi_throw_type_error(env, NULL, "expected a session handle");
    return -1;
  }
  if (!(*out)->loop_started) {
    napi_throw_error(env, "ENOTCONN", "session already unmounted");
    return -1;
  }
  return 0;
}

/* unmount(session): idempotent from JS's side (a second call throws ENOTCONN). */
/*
 * sessionFd(session): the session's /dev/fuse descriptor, for the cache
 * fence (src/agent/fuse/fence), which the agent starts with a copy of it;
 * -ENOTCONN once unmounted.
 */
static napi_value session_fd(napi_env env, napi_callback_info info) {
  napi_value a[1];
  struct cf_session *s;
  if (cf_args(env, info, 1, a) || cf_session_from_js(env, a[0], &s)) return NULL;
  return cf_int(env, s->se && s->mounted ? fuse_session_fd(s->se) : -ENOTCONN);
}

static napi_value unmount_fs(napi_env env, napi_callback_info info) {
  napi_value a[1];
  struct cf_session *s;
  if (cf_args(env, info, 1, a) || cf_session_from_js(env, a[0], &s)) return NULL;
  char one = 1;
  ssize_t w;
  do { w = write(s->stop_pipe[1], &one, 1); } while (w < 0 && errno == EINTR);
  pthread_join(s->loop_thread, NULL);
  s->loop_started = 0;
  int failed = cf_pending_fail_session(s, EIO);
  cf_notify_stop(s);
  if (s->mounted) fuse_session_unmount(s->se);
  s->mounted = 0;
  napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
  /* Forgets and interrupts may still be queued to JS; they only read copies. */
  fuse_session_destroy(s->se);
  s->se = NULL;
  close(s->stop_pipe[0]); close(s->stop_pipe[1]);
  s->stop_pipe[0] = s->stop_pipe[1] = -1;
  free(s->mountpoint);
  s->mountpoint = NULL;
  return cf_int(env, failed);
}

napi_value cf_init_session(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "mount", NULL, mount_fs, NULL, NULL, NULL, napi_default, NULL },
    { "unmount", NULL, unmount_fs, NULL, NULL, NULL, napi_default, NULL },
    { "sessionFd", NULL, session_fd, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
