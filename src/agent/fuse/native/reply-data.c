/* Replies that carry data: read/getxattr/listxattr buffers and readdirplus. */
#include "fuse-addon.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static napi_value boolean(napi_env env, int b) {
  napi_value v;
  napi_get_boolean(env, b != 0, &v);
  return v;
}

/* replyBuf(id, buffer, length): sends buffer[0, length). */
static napi_value reply_buf(napi_env env, napi_callback_info info) {
  napi_value a[3];
  void *data; size_t len;
  uint64_t n;
  double id;
  if (cf_args(env, info, 3, a) || cf_get_double(env, a[0], &id) || cf_get_u64(env, a[2], &n)) return NULL;
  if (napi_get_buffer_info(env, a[1], &data, &len) != napi_ok) return CF_THROW(env, "expected a Buffer");
  if (n > len) return CF_THROW(env, "length exceeds the buffer");
  fuse_req_t req = cf_take(id);
  if (!req) return boolean(env, 0);
  return boolean(env, fuse_reply_buf(req, data, n) == 0);
}

static int dirent_from_js(napi_env env, napi_value o, char **name, off_t *off, struct fuse_entry_param *e) {
  napi_value v;
  int64_t next;
  if (cf_entry_from_js(env, o, e)) return -1;
  if (e->ino == 0 && cf_has_prop(env, o, "attr")) {
    if (napi_get_named_property(env, o, "attr", &v) != napi_ok || cf_stat_from_js(env, v, &e->attr)) return -1;
  }
  if (cf_prop_i64(env, o, "off", &next, 0)) return -1;
  if (napi_get_named_property(env, o, "name", &v) != napi_ok) return -1;
  if (!(*name = cf_get_string(env, v))) return -1;
  *off = (off_t)next;
  return 0;
}

/*
 * replyDirplus(id, size, entries) -> number of entries that fit (the
 * kernel takes a lookup reference on each of those with a non-zero ino;
 * the caller must count exactly those), or -1 if the id is unknown.
 */
static napi_value reply_dirplus(napi_env env, napi_callback_info info) {
  napi_value a[3];
  uint64_t size;
  uint32_t count;
  double id;
  bool is_array;
  if (cf_args(env, info, 3, a) || cf_get_double(env, a[0], &id) || cf_get_u64(env, a[1], &size)) return NULL;
  if (napi_is_array(env, a[2], &is_array) != napi_ok || !is_array) return CF_THROW(env, "expected an array");
  if (size > (64u << 20)) return CF_THROW(env, "size too large");
  napi_get_array_length(env, a[2], &count);
  char *buf = malloc(size ? size : 1);
  if (!buf) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  size_t used = 0;
  uint32_t i;
  fuse_req_t req = NULL;
  /* Validate everything first: a TypeError must not leave the request half-answered. */
  for (i = 0; i < count; i++) {
    napi_value o; char *name; off_t off; struct fuse_entry_param e;
    if (napi_get_element(env, a[2], i, &o) != napi_ok || dirent_from_js(env, o, &name, &off, &e)) { free(buf); return NULL; }
    free(name);
  }
  if (!(req = cf_take(id))) { free(buf); return cf_int(env, -1); }
  for (i = 0; i < count; i++) {
    napi_value o; char *name; off_t off; struct fuse_entry_param e;
    napi_get_element(env, a[2], i, &o);
    if (dirent_from_js(env, o, &name, &off, &e)) break;
    size_t n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, off);
    free(name);
    if (n > size - used) break;
    used += n;
  }
  int rc = fuse_reply_buf(req, buf, used);
  free(buf);
  return cf_int(env, rc == 0 ? (int64_t)i : -1);
}

napi_value cf_init_reply_data(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "replyBuf", NULL, reply_buf, NULL, NULL, NULL, napi_default, NULL },
    { "replyDirplus", NULL, reply_dirplus, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
