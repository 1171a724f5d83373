#!/bin/bash
#  test_chat.sh - drive rumor-chat processes and check what each one printed
#
#      test_chat.sh RUMOR_CHAT [SOURCE_DIR]
#
#  Part 1, loopback (no root): alice, bob and carol on the loopback beacon
#  (random beacon port), stdin through FIFOs, stdout to files. Checks join
#  notices, a said line printed once by the others and never at its sender,
#  /who, /msg reaching only its target, a second "alice" handled, /quit ->
#  "left", kill -9 -> "failed", SIGTERM and EOF leave gracefully with exit 0.
#  Part 2, as root only: two chats in network namespaces (tests/netns-lan.sh)
#  on --beacon lan --interface eth0 find each other and talk.
#
#  Every wait polls the output files until a pattern shows or a deadline
#  passes. CHAT_WRAP (e.g. "valgrind --error-exitcode=1 --leak-check=full")
#  prefixes every chat; graceful exits must then be 0 too.
set -u
CHAT=${1:?usage: test_chat.sh RUMOR_CHAT [SOURCE_DIR]}
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
#  Deadline of one wait. A healthy run needs well under a second per wait
#  (failure detection a few seconds); valgrind is tens of times slower.
WAIT=${CHAT_WAIT:-30}
WRAP=${CHAT_WRAP:-}
TMP=$(mktemp -d /tmp/test_chat.XXXXXX)
PIDS=()
NETNS_PREFIX=rc$$
NETNS_UP=0
FAILED=0
START=$(date +%s.%N)

cleanup () {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -9 "$pid" 2>/dev/null
    done
    if [ "$NETNS_UP" = 1 ]; then
        NETNS_PREFIX=$NETNS_PREFIX NODES=2 bash "$SRC/tests/netns-lan.sh" \
            teardown >/dev/null 2>&1
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say () { echo "test_chat: $*"; }

dump () {
    local file
    for file in "$TMP"/*.out "$TMP"/*.err; do
        [ -s "$file" ] && { echo "--- $(basename "$file")"; cat "$file"; }
    done
}

fail () {
    say "FAIL: $*"
    dump
    exit 1
}

#  wait_for FILE PATTERN [SECONDS]: until FILE has a line matching PATTERN
wait_for () {
    local file=$TMP/$1.out deadline=$(( $(date +%s) + ${3:-$WAIT} ))
    while [ "$(date +%s)" -le "$deadline" ]; do
        grep -qE -- "$2" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "$1 never printed /$2/"
}

#  count NAME PATTERN: lines of NAME's output matching PATTERN
count () {
    grep -cE -- "$2" "$TMP/$1.out" 2>/dev/null
}

#  start NAME NICK [NETNS] OPTIONS...: run a chat, stdin from a FIFO whose
#  write end is kept open on fd IN_<NAME>, pid in PID_<NAME>
start () {
    local name=$1 nick=$2 netns=$3
    shift 3
    local -a prefix=()
    [ -n "$netns" ] && prefix=(ip netns exec "$netns")
    mkfifo "$TMP/$name.in"
    "${prefix[@]}" $WRAP "$CHAT" "$nick" "$@" <"$TMP/$name.in" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    local pid=$!
    PIDS+=("$pid")
    printf -v "PID_$name" %s "$pid"
    local fd
    exec {fd}>"$TMP/$name.in"
    printf -v "IN_$name" %s "$fd"
}

#  type NAME LINE: NAME types LINE
type_line () {
    local var=IN_$1
    echo "$2" >&"${!var}" || fail "cannot type to $1"
}

#  close_stdin NAME: EOF on NAME's stdin
close_stdin () {
    local var=IN_$1
    eval "exec ${!var}>&-"
}

#  wait_exit NAME: NAME's process ends within the deadline with status 0
wait_exit () {
    local var=PID_$1 deadline=$(( $(date +%s) + WAIT ))
    local pid=${!var}
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(date +%s)" -le "$deadline" ] || fail "$1 did not exit"
        sleep 0.05
    done
    wait "$pid"
    local rc=$?
    [ "$rc" = 0 ] || fail "$1 exited with status $rc"
}

elapsed () {
    echo "$(date +%s.%N) $START" | awk '{ printf "%.1f s", $1 - $2 }'
}

#  --------------------------------------------------------------------------
#  Part 1: three chats on the loopback beacon

BEACON_PORT=$(( 20000 + RANDOM % 20000 ))
LOOP=(--beacon loopback --beacon-port "$BEACON_PORT" --cluster "chat$$")
say "loopback, beacon port $BEACON_PORT"
start alice alice "" "${LOOP[@]}"
start bob bob "" "${LOOP[@]}"
start carol carol "" "${LOOP[@]}"

#  Everyone sees the two others join
for who in alice bob carol; do
    for other in alice bob carol; do
        [ "$who" = "$other" ] || wait_for "$who" "^\*\*\* $other joined$"
    done
done
say "ok: joins seen ($(elapsed))"

#  A line said by alice: once at bob and carol, never printed at alice
type_line alice "hello from alice"
wait_for bob "^<alice> hello from alice$"
wait_for carol "^<alice> hello from alice$"
#  A later line from alice, once seen, means the first had its chance
#  to be duplicated (the same origin's events arrive in order)
type_line alice "second from alice"
wait_for bob "^<alice> second from alice$"
wait_for carol "^<alice> second from alice$"
for who in bob carol; do
    n=$(count $who 'hello from alice')
    [ "$n" = 1 ] || fail "$who printed alice's line $n times"
done
[ "$(count alice 'from alice')" = 0 ] || fail "alice echoed her own line"
say "ok: said line printed once by each other ($(elapsed))"

#  /who at carol lists all three
type_line carol "/who"
wait_for carol "^\*\*\* here \(3\): alice, bob, carol \(you\)$"
say "ok: /who ($(elapsed))"

#  /msg reaches only its target
type_line bob "/msg carol a secret for carol"
wait_for carol "^\*bob\* a secret for carol$"
type_line bob "/msg nobody hello"
wait_for bob "^\*\*\* no such nick: nobody$"
type_line alice "/who"          #  alice's marker: her events got this far
wait_for alice "^\*\*\* here \(3\)"
[ "$(count alice secret)" = 0 ] || fail "alice saw bob's direct message"
[ "$(count bob secret)" = 0 ] || fail "bob echoed his direct message"
say "ok: /msg reaches only its target ($(elapsed))"

#  A second alice: shown by full name, /msg alice is then ambiguous
start alice2 alice "" "${LOOP[@]}"
wait_for alice "^\*\*\* nick alice is taken twice"
wait_for alice2 "^\*\*\* nick alice is taken twice"
wait_for bob "^\*\*\* alice~[0-9a-f]{4} joined$"
type_line bob "/msg alice hi"
wait_for bob "^\*\*\* alice is ambiguous"
say "ok: duplicate nick handled ($(elapsed))"
#  SIGTERM leaves gracefully: the others see it left
kill -TERM "$PID_alice2"
wait_exit alice2
wait_for bob "^\*\*\* alice~[0-9a-f]{4} left$"
say "ok: SIGTERM leaves ($(elapsed))"

#  /quit: carol leaves, the others see it
type_line carol "/quit"
wait_exit carol
wait_for alice "^\*\*\* carol left$"
wait_for bob "^\*\*\* carol left$"
say "ok: /quit shows left ($(elapsed))"

#  kill -9: bob fails, alice sees it
{ kill -9 "$PID_bob"; wait "$PID_bob"; } 2>/dev/null   #  quiet "Killed"
wait_for alice "^\*\*\* bob failed$"
[ "$(count alice 'bob left')" = 0 ] || fail "alice saw a killed bob leave"
say "ok: kill -9 shows failed ($(elapsed))"

#  EOF on stdin: alice leaves and exits 0
close_stdin alice
wait_for alice "^\*\*\* leaving$"
wait_exit alice
say "ok: EOF leaves ($(elapsed))"
say "loopback: PASS ($(elapsed))"

#  --------------------------------------------------------------------------
#  Part 2: two chats on a LAN of network namespaces (root only)

if [ "$(id -u)" != 0 ]; then
    say "netns LAN: SKIPPED (needs root)"
    exit 0
fi
if ! command -v ip >/dev/null; then
    say "netns LAN: SKIPPED (no iproute2)"
    exit 0
fi
NETNS_UP=1
if ! NETNS_PREFIX=$NETNS_PREFIX NODES=2 bash "$SRC/tests/netns-lan.sh" \
        setup >"$TMP/netns.log" 2>&1; then
    fail "netns-lan.sh setup: $(cat "$TMP/netns.log")"
fi
LAN=(--beacon lan --interface eth0 --beacon-port "$BEACON_PORT")
start dave dave "$NETNS_PREFIX-n1" "${LAN[@]}"
start erin erin "$NETNS_PREFIX-n2" "${LAN[@]}"
wait_for dave "^\*\*\* dave on tcp://10\.77\.0\.1:"
wait_for dave "^\*\*\* erin joined$"
wait_for erin "^\*\*\* dave joined$"
type_line dave "hello over the LAN"
wait_for erin "^<dave> hello over the LAN$"
type_line erin "/msg dave back at you"
wait_for dave "^\*erin\* back at you$"
type_line erin "/quit"
wait_exit erin
wait_for dave "^\*\*\* erin left$"
close_stdin dave
wait_exit dave
say "netns LAN: PASS ($(elapsed))"
