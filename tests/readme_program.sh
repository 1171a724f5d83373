#!/bin/bash
#  readme_program.sh SOURCE_DIR BUILD_DIR [MARKDOWN]
#
#  Extracts the C program between the lines <!-- readme-program --> and
#  <!-- /readme-program --> of MARKDOWN (default SOURCE_DIR/README.md),
#  installs the library from BUILD_DIR into a temporary prefix, builds the
#  program against it with pkg-config, and runs two copies of it ("alice"
#  and "bob") in a fresh network namespace holding only lo (unshare -n):
#  whatever the program's beacon does, nothing leaves the namespace. Passes
#  when each copy printed that it started, saw the other JOINED and read
#  its key (KEY_SET), and both exit 0 on SIGINT (a graceful leave). Every
#  wait polls the programs' output until a deadline; the temporary files
#  and processes are removed whatever happens.
set -u
src=${1:?usage: readme_program.sh SOURCE_DIR BUILD_DIR [MARKDOWN]}
build=${2:?usage: readme_program.sh SOURCE_DIR BUILD_DIR [MARKDOWN]}
markdown=${3:-$src/README.md}

#  A private network namespace: as root with unshare -n, otherwise in a
#  user namespace (unshare -r -n) where the kernel allows it
if [ "$(id -u)" = 0 ]; then
    netns="unshare -n"
elif unshare -r -n true 2>/dev/null; then
    netns="unshare -r -n"
else
    echo "readme_program: skipped (needs root or user namespaces)"
    exit 0
fi

work=$(mktemp -d /tmp/rumor-readme.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

fail () {
    echo "readme_program: FAIL: $*"
    for f in "$work"/*.out "$work"/*.log; do
        [ -f "$f" ] && { echo "--- $f"; cat "$f"; }
    done
    exit 1
}

#  1. The program, exactly as the README shows it
awk '/^<!-- readme-program -->$/ { on = 1; next }
     /^<!-- \/readme-program -->$/ { on = 0 }
     on' "$markdown" | sed '/^```/d' > "$work/program.c"
grep -q "main" "$work/program.c" \
    || fail "no program between <!-- readme-program --> markers in $markdown"
lines=$(grep -c -v '^[[:space:]]*$' "$work/program.c")
echo "readme_program: $lines lines from $markdown"

#  2. Installed library, pkg-config, a strict compiler
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" 2>&1 \
    || fail "cmake --install $build"
libdir=$(ls -d "$work"/prefix/lib* | head -n 1)
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror -o "$work/program" "$work/program.c" \
    $(pkg-config --cflags --libs rumor) > "$work/cc.log" 2>&1 \
    || fail "the README program does not build"

#  3. Two copies in a private namespace. The inner script polls their
#  output (deadline 30 s), then interrupts both and bounds their exit.
cat > "$work/inner.sh" <<'EOF'
work=$1
ip link set lo up || exit 10
export LD_LIBRARY_PATH=$2
#  Line-buffered: a program writing to a file would flush only at exit
stdbuf -oL "$work/program" alice > "$work/alice.out" 2>&1 & alice=$!
stdbuf -oL "$work/program" bob > "$work/bob.out" 2>&1 & bob=$!
seen () { grep -q -E "$2" "$work/$1.out"; }
ok=11
for _ in $(seq 1 150); do
    if seen alice "^started alice at tcp://" && seen bob "^started bob at tcp://" \
    && seen alice "^JOINED bob " && seen bob "^JOINED alice " \
    && seen alice "^KEY_SET bob greeting" && seen bob "^KEY_SET alice greeting"
    then ok=0; break; fi
    sleep 0.2
done
kill -INT $alice $bob 2>/dev/null
for _ in $(seq 1 50); do
    kill -0 $alice 2>/dev/null || kill -0 $bob 2>/dev/null || break
    sleep 0.1
done
for pid in $alice $bob; do
    kill -0 $pid 2>/dev/null || continue
    #  Hung after SIGINT: show where, for the report
    echo "pid $pid still running 5 s after SIGINT"
    command -v gdb > /dev/null \
        && gdb -p $pid -batch -ex "thread apply all bt 12" 2>/dev/null \
           | grep -E "^#|^Thread"
done
kill -KILL $alice $bob 2>/dev/null
wait $alice; ra=$?
wait $bob; rb=$?
[ $ok = 0 ] || exit $ok
[ $ra = 0 ] && [ $rb = 0 ] || exit 12
exit 0
EOF
timeout -k 5 60 $netns bash "$work/inner.sh" "$work" "$libdir" > "$work/run.log" 2>&1
rc=$?
case $rc in
    0)  ;;
    10) fail "cannot bring lo up in the namespace" ;;
    11) fail "the two programs did not start, join each other and read each other's key in time" ;;
    12) fail "the programs did not exit 0 on SIGINT" ;;
    *)  fail "the namespace run failed (exit $rc)" ;;
esac
echo "--- alice"; cat "$work/alice.out"
echo "readme_program: passed"
exit 0
