#!/usr/bin/env bash
# Installs what Coffer needs from Debian 12 packages; idempotent (installs only what is missing).
#   scripts/install-deps.sh build   compiler, CMake and libraries: enough for `make run`
#   scripts/install-deps.sh test    + test clients and servers (PostgreSQL, Ceph RGW, awscli, boto3)
#   scripts/install-deps.sh bench   + wrk and the profilers
set -euo pipefail

level="${1:-build}"
build=(build-essential cmake ninja-build ccache pkg-config git ca-certificates
       libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsqlite3-dev
       libpq-dev libsodium-dev libspdlog-dev libcli11-dev libtomlplusplus-dev libpugixml-dev
       libgtest-dev libgmock-dev libbenchmark-dev)
test=(python3 python3-pytest python3-requests python3-boto3 awscli curl procps jq sqlite3
      postgresql postgresql-client python3-psycopg2 nginx util-linux python3-jwt python3-cryptography
      ceph-mon ceph-osd ceph-mgr radosgw ceph-common uuid-runtime)
bench=(wrk linux-perf valgrind heaptrack hyperfine)

want=("${build[@]}")
case "$level" in
  build) ;;
  test) want+=("${test[@]}") ;;
  bench) want+=("${test[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; an old one may have stale ones.
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
