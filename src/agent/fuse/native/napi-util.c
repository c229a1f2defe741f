/* Argument parsing helpers: every failure throws a TypeError, never crashes. */
#include "fuse-addon.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cf_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  if (argc < want) {
    napi_throw_type_error(env, NULL, "missing arguments");
    return -1;
  }
  return 0;
}

int cf_get_double(napi_env env, napi_value v, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_boolean) {
    bool b;
    if (napi_get_value_bool(env, v, &b) != napi_ok) return -1;
    *out = b ? 1 : 0;
    return 0;
  }
  if (t == napi_bigint) {
    int64_t x; bool lossless;
    if (napi_get_value_bigint_int64(env, v, &x, &lossless) != napi_ok) return -1;
    *out = (double)x;
    return 0;
  }
  if (t != napi_number || napi_get_value_double(env, v, out) != napi_ok || !isfinite(*out)) {
    napi_throw_type_error(env, NULL, "expected a finite number");
    return -1;
  }
  return 0;
}

int cf_get_int(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (cf_get_double(env, v, &d)) return -1;
  if (d != floor(d) || d > 9007199254740991.0 || d < -9007199254740991.0) {
    napi_throw_type_error(env, NULL, "expected an integer");
    return -1;
  }
  *out = (int64_t)d;
  return 0;
}

/** Accepts a non-negative Number or a BigInt (full 64-bit inode numbers). */
int cf_get_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_bigint) {
    bool lossless;
    if (napi_get_value_bigint_uint64(env, v, out, &lossless) != napi_ok || !lossless) {
      napi_throw_type_error(env, NULL, "expected a 64-bit unsigned BigInt");
      return -1;
    }
    return 0;
  }
  int64_t x;
  if (cf_get_int(env, v, &x)) return -1;
  if (x < 0) {
    napi_throw_type_error(env, NULL, "expected a non-negative integer");
    return -1;
  }
  *out = (uint64_t)x;
  return 0;
}

static int get_prop(napi_env env, napi_value obj, const char *key, napi_value *v) {
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok) return -1;
  if (!has) return 0;
  if (napi_get_named_property(env, obj, key, v) != napi_ok) return -1;
  napi_valuetype t;
  if (napi_typeof(env, *v, &t) != napi_ok) return -1;
  return t == napi_undefined ? 0 : 1;
}

int cf_prop_u64(napi_env env, napi_value obj, const char *key, uint64_t *out, uint64_t dflt) {
  napi_value v;
  int has = get_prop(env, obj, key, &v);
  if (has < 0) return -1;
  if (!has) { *out = dflt; return 0; }
  return cf_get_u64(env, v, out);
}

int cf_prop_double(napi_env env, napi_value obj, const char *key, double *out, double dflt) {
  napi_value v;
  int has = get_prop(env, obj, key, &v);
  if (has < 0) return -1;
  if (!has) { *out = dflt; return 0; }
  return cf_get_double(env, v, out);
}

/** A malloc'd UTF-8 copy (caller frees), or NULL with a TypeError thrown. */
char *cf_get_string(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) { napi_throw_error(env, "ENOMEM", "out of memory"); return NULL; }
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) { free(s); return NULL; }
  if (strlen(s) != len) { free(s); napi_throw_type_error(env, NULL, "string contains NUL"); return NULL; }
  return s;
}

napi_value cf_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

/** Numbers while exact, BigInt above 2^53. */
napi_value cf_u64(napi_env env, uint64_t v) {
  napi_value r;
  if (v <= 9007199254740991ULL) napi_create_double(env, (double)v, &r);
  else napi_create_bigint_uint64(env, v, &r);
  return r;
}

void cf_set(napi_env env, napi_value obj, const char *key, napi_value v) {
  napi_set_named_property(env, obj, key, v);
}

napi_value cf_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/** A signed 64-bit property from a Number or BigInt (times in ns may be negative). */
int cf_prop_i64(napi_env env, napi_value obj, const char *key, int64_t *out, int64_t dflt) {
  napi_value v;
  int has = get_prop(env, obj, key, &v);
  if (has < 0) return -1;
  if (!has) { *out = dflt; return 0; }
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_bigint) {
    bool lossless;
    if (napi_get_value_bigint_int64(env, v, out, &lossless) != napi_ok || !lossless) {
      napi_throw_type_error(env, NULL, "expected a signed 64-bit BigInt");
      return -1;
    }
    return 0;
  }
  return cf_get_int(env, v, out);
}

int cf_has_prop(napi_env env, napi_value obj, const char *key) {
  napi_value v;
  return get_prop(env, obj, key, &v) == 1;
}

/*
 * Queues `run` on libuv's pool (`done` on the JS thread after it) and
 * returns its Promise; NULL if any step failed, with nothing queued: the
 * caller frees its job and throws.
 */
napi_value cf_queue_work(napi_env env, const char *name, napi_async_execute_callback run,
                         napi_async_complete_callback done, void *data, napi_deferred *deferred, napi_async_work *work) {
  napi_value promise, resource_name;
  if (napi_create_promise(env, deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, run, done, data, work) != napi_ok ||
      napi_queue_async_work(env, *work) != napi_ok) return NULL;
  return promise;
}
