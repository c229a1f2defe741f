#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for coherd, then builds.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
# The libfuse3 addon (src/agent/fuse/native) is built from source by node-gyp.
[ -f /usr/include/fuse3/fuse_lowlevel.h ] || need_apt+=(libfuse3-dev)
command -v fusermount3 >/dev/null 2>&1 || need_apt+=(fuse3)
command -v make >/dev/null 2>&1 && command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# coherd chaos: clock-skew faults run an agent under libfaketime.
command -v faketime >/dev/null 2>&1 || need_apt+=(faketime)
# The TLS tests make their CA and certificates with the openssl command line.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# coherd up --netns and its test: network namespaces (ip) entered with nsenter (util-linux).
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need_apt+=(util-linux)
# The systemd unit test runs systemd-analyze verify.
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "coherd: missing Debian packages: ${need_apt[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "coherd: installing ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian's etcd-server package starts a system etcd on 2379; coherd starts its own.
if systemctl is-active --quiet etcd 2>/dev/null; then systemctl stop etcd || true; fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "coherd: installing npm packages" >&2
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi
# npm ci builds the addon (install script); rebuild it when its sources changed since.
addon=build/Release/coherd_fuse.node
if [ ! -f "$addon" ] || [ ! -f build/Release/coherd_crc.node ] || [ ! -x build/Release/coherd_fence ] || [ -n "$(find src/agent/fuse/native src/agent/fuse/fence src/agent/journal/native binding.gyp -newer "$addon" -print -quit)" ]; then
  echo "coherd: building the native addons (libfuse3, crc32c) and the cache fence" >&2
  npm run --silent build:native >/dev/null
fi
npx tsc -p tsconfig.json
