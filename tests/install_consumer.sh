#!/bin/sh
#  Install librumor into a temporary prefix, then build a program outside the
#  tree against it twice (pkg-config, then CMake's find_package) and run
#  both. Usage: install_consumer.sh SOURCE_DIR BUILD_DIR
set -eu
src=${1:?usage: install_consumer.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: install_consumer.sh SOURCE_DIR BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
libdir=$(ls -d "$prefix"/lib* | head -n 1)
for f in include/rumor.h; do
    test -f "$prefix/$f" || { echo "install_consumer: $f not installed"; exit 1; }
done
test -f "$libdir/pkgconfig/rumor.pc" || { echo "install_consumer: no rumor.pc"; exit 1; }

#  1. pkg-config, as a Makefile user would
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -Wall -Werror -o "$work/consumer-pc" "$src/tests/consumer/consumer.c" \
    $(pkg-config --cflags --libs rumor)
LD_LIBRARY_PATH="$libdir" "$work/consumer-pc" | tee "$work/pc.out"
grep -q "^rumor $(pkg-config --modversion rumor) protocol 1$" "$work/pc.out"

#  2. find_package, as a CMake user would
cmake -S "$src/tests/consumer" -B "$work/cmake-build" \
    -DCMAKE_PREFIX_PATH="$prefix" > "$work/cmake.log"
cmake --build "$work/cmake-build" > "$work/build.log"
LD_LIBRARY_PATH="$libdir" "$work/cmake-build/consumer"
echo "install_consumer: pkg-config and find_package consumers built and ran"
