{
  "targets": [
    {
      "target_name": "coherd_fuse",
      "sources": [
        "src/agent/fuse/native/addon.c",
        "src/agent/fuse/native/napi-util.c",
        "src/agent/fuse/native/requests.c",
        "src/agent/fuse/native/to-js.c",
        "src/agent/fuse/native/stat-js.c",
        "src/agent/fuse/native/ops-entry.c",
        "src/agent/fuse/native/ops-file.c",
        "src/agent/fuse/native/ops-attr.c",
        "src/agent/fuse/native/ops-lock.c",
        "src/agent/fuse/native/reply.c",
        "src/agent/fuse/native/reply-data.c",
        "src/agent/fuse/native/session.c",
        "src/agent/fuse/native/notify.c",
        "src/agent/fuse/native/sys.c",
        "src/agent/fuse/native/sys-async.c",
        "src/agent/fuse/native/ops-copy.c",
        "src/agent/fuse/native/sys-copy.c"
      ],
      "include_dirs": ["/usr/include/fuse3"],
      "libraries": ["-lfuse3", "-lpthread"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "coherd_fence",
      "type": "executable",
      "sources": [
        "src/agent/fuse/fence/fence-main.c",
        "src/agent/fuse/fence/fence-state.c",
        "src/agent/fuse/fence/fence-inval.c",
        "src/agent/fuse/fence/fence-rescue.c",
        "src/agent/fuse/fence/fence-log.c"
      ],
      "libraries": ["-lpthread"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "coherd_crc",
      "sources": ["src/agent/journal/native/crc32c.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
