#!/bin/sh
#  Install rumor's build and test dependencies (Debian 12, as root: the LAN
#  tests build network namespaces with iproute2 and iptables) and build it into
#  ./build. Safe to run again: apt-get skips what is installed and the build
#  is incremental. Usage: tools/setup.sh [BUILD_DIR] [extra cmake args...]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift

packages="build-essential cmake pkg-config libczmq-dev libzmq3-dev
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libcmocka-dev
  libsodium-dev iproute2 iptables python3-zmq python3-protobuf
  serf gnuplot-nox"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing packages:$missing" >&2
        echo "setup: run as root (or: sudo apt-get install$missing)" >&2
        exit 1
    fi
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing > /dev/null
fi

cmake -S . -B "$build" "$@" > /dev/null
cmake --build "$build" -j "$(nproc)"
echo "setup: built into $build"
