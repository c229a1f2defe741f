/*
 * The pending table: every request JS must answer gets an id (slot plus a
 * sequence number, so a stale or repeated id is refused instead of
 * answering a freed fuse_req_t). Filled on loop threads, emptied on the JS
 * thread; one mutex guards it.
 */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_BITS 22
#define SLOT_MAX (1u << SLOT_BITS)

struct slot { fuse_req_t req; uint32_t seq; int used; };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;
static uint32_t nslots, free_hint, next_seq = 1;

char *cf_strdup(const char *s) {
  return s ? strdup(s) : NULL;
}

struct cf_request *cf_request_new(enum cf_op op, fuse_req_t req, fuse_ino_t ino) {
  struct cf_request *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->op = op;
  r->ino = ino;
  if (req) {
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    r->uid = ctx->uid; r->gid = ctx->gid; r->pid = ctx->pid; r->umask_ = ctx->umask;
    r->ngroups = -1;
  }
  return r;
}

void cf_request_free(struct cf_request *r) {
  if (!r) return;
  free(r->name); free(r->name2); free(r->data); free(r->groups);
  free(r);
}

/* Registers req; returns its id or 0 when the table is full. */
static double pending_add(fuse_req_t req) {
  double id = 0;
  pthread_mutex_lock(&lock);
  uint32_t i;
  for (i = 0; i < nslots; i++) {
    uint32_t k = (free_hint + i) % nslots;
    if (!slots[k].used) { i = k; goto found; }
  }
  if (nslots < SLOT_MAX) {
    uint32_t grown = nslots ? nslots * 2 : 1024;
    struct slot *n = realloc(slots, grown * sizeof *n);
    if (n) {
      memset(n + nslots, 0, (grown - nslots) * sizeof *n);
      i = nslots; slots = n; nslots = grown;
      goto found;
    }
  }
  pthread_mutex_unlock(&lock);
  return 0;
found:
  slots[i].used = 1;
  slots[i].req = req;
  slots[i].seq = next_seq++ & 0x7fffffff;
  if (!slots[i].seq) slots[i].seq = next_seq++;
  free_hint = i + 1;
  id = (double)slots[i].seq * SLOT_MAX + i;
  pthread_mutex_unlock(&lock);
  return id;
}

fuse_req_t cf_take(double id) {
  if (!(id >= 0) || id > 9007199254740991.0) return NULL;
  uint64_t v = (uint64_t)id;
  uint32_t i = v % SLOT_MAX, seq = (uint32_t)(v / SLOT_MAX);
  fuse_req_t req = NULL;
  pthread_mutex_lock(&lock);
  if (i < nslots && slots[i].used && slots[i].seq == seq) {
    req = slots[i].req;
    slots[i].used = 0;
    slots[i].req = NULL;
  }
  pthread_mutex_unlock(&lock);
  return req;
}

/** Answers every request still pending for a session (on stop); returns how many. */
int cf_pending_fail_session(struct cf_session *sess, int err) {
  int n = 0;
  pthread_mutex_lock(&lock);
  for (uint32_t i = 0; i < nslots; i++) {
    if (!slots[i].used || fuse_req_userdata(slots[i].req) != sess) continue;
    fuse_reply_err(slots[i].req, err);
    slots[i].used = 0;
    slots[i].req = NULL;
    n++;
  }
  pthread_mutex_unlock(&lock);
  return n;
}

/**
 * Hands a request to JS. Never blocks: the queue is unbounded and the call
 * is non-blocking. `req` is NULL for requests JS does not answer (forget,
 * interrupt: the caller already replied or needs no reply). If the request
 * cannot be queued the kernel gets an error right away.
 */
void cf_post(struct cf_session *s, fuse_req_t req, struct cf_request *r) {
  if (!r) { if (req) fuse_reply_err(req, ENOMEM); return; }
  if (req) {
    r->id = pending_add(req);
    if (r->id == 0) { cf_request_free(r); fuse_reply_err(req, EBUSY); return; }
    if (r->sleep && (r->op == CF_SETLK || r->op == CF_FLOCK)) {
      /* The id rides in the data pointer: nothing to free if no interrupt comes. */
      fuse_req_interrupt_func(req, cf_on_interrupt, (void *)(uintptr_t)r->id);
      if (fuse_req_interrupted(req)) {
        fuse_req_t mine = cf_take(r->id);
        cf_request_free(r);
        if (mine) fuse_reply_err(mine, EINTR);
        return;
      }
    }
  }
  if (napi_call_threadsafe_function(s->tsfn, r, napi_tsfn_nonblocking) != napi_ok) {
    fuse_req_t mine = req ? cf_take(r->id) : NULL;
    cf_request_free(r);
    if (mine) fuse_reply_err(mine, EIO);
  }
}
