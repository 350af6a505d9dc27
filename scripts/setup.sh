#!/usr/bin/env bash
# Installs the Debian packages the project needs (only those missing), then configures and
# builds into build/ (or $BUILD_DIR). Idempotent: a second run with nothing changed is quick.
#
#   scripts/setup.sh            # Release-ish build (RelWithDebInfo)
#   BUILD_TYPE=Debug SANITIZE=address,undefined BUILD_DIR=build-asan scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake g++ make pkg-config
  libzmq3-dev cppzmq-dev libyaml-cpp-dev libcereal-dev catch2
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libxxhash-dev zlib1g-dev
  libbenchmark-dev
  procps iproute2 util-linux
  nftables           # chaos tier: partitions between nodes (tests/chaos)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build_dir=${BUILD_DIR:-build}
cmake_args=(-DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}")
[ -n "${SANITIZE:-}" ] && cmake_args+=(-DSANITIZE="$SANITIZE")
[ -n "${WERROR:-}" ] && cmake_args+=(-DRAFT_WERROR=ON)
cmake_args+=(-DRAFT_ONLY="${RAFT_ONLY:-}")
# Configuring is quick and keeps the cache in line with this call's settings.
cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}"
