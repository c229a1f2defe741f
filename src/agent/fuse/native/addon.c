/* Module entry: exports the session, reply, notify and sys function groups. */
#include "fuse-addon.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_value sys;
  cf_init_session(env, exports);
  cf_init_reply(env, exports);
  cf_init_reply_data(env, exports);
  cf_init_notify(env, exports);
  napi_create_object(env, &sys);
  cf_init_sys(env, sys);
  cf_init_sys_async(env, sys);
  cf_init_sys_copy(env, sys);
  napi_set_named_property(env, exports, "sys", sys);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
