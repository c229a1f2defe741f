/*
 * Kernel cache notifications (inval_inode, inval_entry, delete, store), run on a
 * dedicated thread per session: the kernel may wait, inside one of these
 * calls, for a request this process still has to answer (libfuse documents
 * the deadlock), so they never run on the loop thread, the JS thread or
 * libuv's pool (whose threads JS's own fs calls need). Each call returns
 * a Promise of 0 or -errno (-ENOENT: the kernel had nothing cached).
 */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>
#include <linux/fuse.h>
#include <string.h>
#include <unistd.h>

/* Kernel 6.16 (protocol 7.44); libfuse 3.14 predates it, so the message is written here. */
#define CF_NOTIFY_INC_EPOCH 8

enum job_kind { INVAL_INODE, INVAL_ENTRY, DELETE, STORE };

struct job {
  struct job *next;
  enum job_kind kind;
  fuse_ino_t ino, child;
  int64_t off, len;
  char *name;
  void *data; /* STORE: a copy of the bytes (len of them) */
  int rc;
  napi_deferred deferred;
};

struct cf_notify_queue {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct job *head, *tail;
  int stopping;
  pthread_t thread;
  napi_threadsafe_function done;
  struct fuse_session *se;
};

static void job_free(struct job *j) {
  free(j->name);
  free(j->data);
  free(j);
}

/* FUSE_NOTIFY_STORE of the job's bytes at j->off: the kernel sets i_size to at least off + len (no attr_version check). */
static int store(struct fuse_session *se, struct job *j) {
  struct fuse_bufvec bufv = FUSE_BUFVEC_INIT((size_t)j->len);
  bufv.buf[0].mem = j->data;
  return fuse_lowlevel_notify_store(se, j->ino, (off_t)j->off, &bufv, 0);
}

static void *notify_main(void *arg) {
  struct cf_notify_queue *q = arg;
  for (;;) {
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->stopping) pthread_cond_wait(&q->cond, &q->lock);
    struct job *j = q->head;
    if (j) { q->head = j->next; if (!q->head) q->tail = NULL; }
    pthread_mutex_unlock(&q->lock);
    if (!j) return NULL; /* stopping and drained */
    switch (j->kind) {
      case INVAL_INODE: j->rc = fuse_lowlevel_notify_inval_inode(q->se, j->ino, j->off, j->len); break;
      case INVAL_ENTRY: j->rc = fuse_lowlevel_notify_inval_entry(q->se, j->ino, j->name, strlen(j->name)); break;
      case DELETE: j->rc = fuse_lowlevel_notify_delete(q->se, j->ino, j->child, j->name, strlen(j->name)); break;
      case STORE: j->rc = store(q->se, j); break;
    }
    if (napi_call_threadsafe_function(q->done, j, napi_tsfn_nonblocking) != napi_ok) job_free(j);
  }
}

static void settle(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)cb; (void)ctx;
  struct job *j = data;
  if (env) napi_resolve_deferred(env, j->deferred, cf_int(env, j->rc));
  job_free(j);
}

void cf_notify_start(napi_env env, struct cf_session *s) {
  struct cf_notify_queue *q = calloc(1, sizeof *q);
  napi_value name;
  if (!q) return;
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->cond, NULL);
  q->se = s->se;
  napi_create_string_utf8(env, "coherd-fuse-notify", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, settle, &q->done) != napi_ok) {
    free(q);
    return;
  }
  napi_unref_threadsafe_function(env, q->done);
  if (pthread_create(&q->thread, NULL, notify_main, q) != 0) {
    napi_release_threadsafe_function(q->done, napi_tsfn_abort);
    free(q);
    return;
  }
  s->notify = q;
}

/* Drains queued jobs (they still run: the device is open until destroy), then joins. */
void cf_notify_stop(struct cf_session *s) {
  struct cf_notify_queue *q = s->notify;
  if (!q) return;
  pthread_mutex_lock(&q->lock);
  q->stopping = 1;
  pthread_cond_signal(&q->cond);
  pthread_mutex_unlock(&q->lock);
  pthread_join(q->thread, NULL);
  napi_release_threadsafe_function(q->done, napi_tsfn_release);
  s->notify = NULL;
  /* q itself is small and referenced by nothing now; settle() no longer touches it. */
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->cond);
  free(q);
}

static napi_value enqueue(napi_env env, struct cf_session *s, struct job *j) {
  napi_value promise;
  if (!s->notify) { job_free(j); napi_throw_error(env, "ENOTCONN", "notify thread not running"); return NULL; }
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok) { job_free(j); return NULL; }
  struct cf_notify_queue *q = s->notify;
  pthread_mutex_lock(&q->lock);
  if (q->tail) q->tail->next = j; else q->head = j;
  q->tail = j;
  pthread_cond_signal(&q->cond);
  pthread_mutex_unlock(&q->lock);
  return promise;
}

/* notifyInvalInode(session, ino, off, len): len 0 = to the end; off -1 = attributes only. */
static napi_value inval_inode(napi_env env, napi_callback_info info) {
  napi_value a[4];
  struct cf_session *s;
  uint64_t ino;
  int64_t off, len;
  if (cf_args(env, info, 4, a) || cf_session_from_js(env, a[0], &s) || cf_get_u64(env, a[1], &ino) ||
      cf_get_int(env, a[2], &off) || cf_get_int(env, a[3], &len)) return NULL;
  struct job *j = calloc(1, sizeof *j);
  if (!j) return CF_THROW(env, "out of memory");
  j->kind = INVAL_INODE; j->ino = ino; j->off = off; j->len = len;
  return enqueue(env, s, j);
}

/*
 * notifyStore(session, ino, offset, data): the kernel caches `data` at
 * `offset` of `ino` and grows its i_size to offset + data.length if that
 * is larger (FUSE_NOTIFY_STORE; kernel-page-cache.ts uses it for that size,
 * which no attr_version bump can undo, unlike a GETATTR reply). The bytes
 * are copied; 1 to 1 MiB of them. Resolves 0 or -errno (-ENOENT: no such
 * inode in the kernel).
 */
static napi_value notify_store(napi_env env, napi_callback_info info) {
  napi_value a[4];
  struct cf_session *s;
  uint64_t ino;
  int64_t off;
  void *data;
  size_t len;
  if (cf_args(env, info, 4, a) || cf_session_from_js(env, a[0], &s) || cf_get_u64(env, a[1], &ino) ||
      cf_get_int(env, a[2], &off)) return NULL;
  if (off < 0) { napi_throw_range_error(env, NULL, "offset must not be negative"); return NULL; }
  if (napi_get_buffer_info(env, a[3], &data, &len) != napi_ok) return CF_THROW(env, "expected a Buffer");
  if (len == 0 || len > (1u << 20)) { napi_throw_range_error(env, NULL, "store 1 byte to 1 MiB"); return NULL; }
  struct job *j = calloc(1, sizeof *j);
  if (!j || !(j->data = malloc(len))) { free(j); return CF_THROW(env, "out of memory"); }
  memcpy(j->data, data, len);
  j->kind = STORE; j->ino = ino; j->off = off; j->len = (int64_t)len;
  return enqueue(env, s, j);
}

/* notifyInvalEntry(session, parent, name) and notifyDelete(session, parent, child, name). */
static napi_value entry_job(napi_env env, napi_callback_info info, enum job_kind kind) {
  napi_value a[4];
  struct cf_session *s;
  uint64_t parent, child = 0;
  size_t n = kind == DELETE ? 4 : 3;
  if (cf_args(env, info, n, a) || cf_session_from_js(env, a[0], &s) || cf_get_u64(env, a[1], &parent)) return NULL;
  if (kind == DELETE && cf_get_u64(env, a[2], &child)) return NULL;
  struct job *j = calloc(1, sizeof *j);
  if (!j) return CF_THROW(env, "out of memory");
  if (!(j->name = cf_get_string(env, a[n - 1]))) { job_free(j); return NULL; }
  j->kind = kind; j->ino = parent; j->child = child;
  return enqueue(env, s, j);
}

static napi_value inval_entry(napi_env env, napi_callback_info info) { return entry_job(env, info, INVAL_ENTRY); }
static napi_value notify_delete(napi_env env, napi_callback_info info) { return entry_job(env, info, DELETE); }

/*
 * notifyIncEpoch(session): every dentry the kernel holds becomes invalid at
 * its next use (FUSE_NOTIFY_INC_EPOCH). The kernel takes no lock for it
 * (an atomic increment), so unlike inval_entry it cannot wait for a
 * request and runs synchronously on the JS thread. Returns 0, or -errno
 * (-EINVAL: a kernel without it).
 */
static napi_value inc_epoch(napi_env env, napi_callback_info info) {
  napi_value a[1];
  struct cf_session *s;
  if (cf_args(env, info, 1, a) || cf_session_from_js(env, a[0], &s)) return NULL;
  if (!s->se) return cf_int(env, -ENOTCONN);
  struct fuse_out_header out = { .len = sizeof out, .error = CF_NOTIFY_INC_EPOCH, .unique = 0 };
  ssize_t n = write(fuse_session_fd(s->se), &out, sizeof out);
  return cf_int(env, n == (ssize_t)sizeof out ? 0 : n < 0 ? -errno : -EIO);
}

napi_value cf_init_notify(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "notifyInvalInode", NULL, inval_inode, NULL, NULL, NULL, napi_default, NULL },
    { "notifyInvalEntry", NULL, inval_entry, NULL, NULL, NULL, napi_default, NULL },
    { "notifyDelete", NULL, notify_delete, NULL, NULL, NULL, napi_default, NULL },
    { "notifyStore", NULL, notify_store, NULL, NULL, NULL, napi_default, NULL },
    { "notifyIncEpoch", NULL, inc_epoch, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
