#!/bin/bash
#  test_agent.sh - rumord and rumorctl against live agents on loopback
#
#  Usage: test_agent.sh RUMORD RUMORCTL
#  Env:   RUMORD_WRAP  prefix for every rumord (e.g. "valgrind -q
#                      --leak-check=full --error-exitcode=1")
#         CTL_TIMEOUT  rumorctl --timeout in ms (default 3000; raise it
#                      under valgrind)
#
#  Bad configurations exit non-zero with one line; three agents with the
#  beacon off join through a seed; every rumorctl command works in human
#  and JSON form with the documented exit codes; garbage on the control
#  socket gets error replies and the agent keeps answering; SIGTERM makes
#  an agent leave (the others see LEFT) and exit 0. Every wait polls until
#  a condition holds or a deadline passes. Processes started here are
#  killed by PID and the temp directory removed on exit.

set -u
RUMORD=${1:?usage: test_agent.sh RUMORD RUMORCTL}
RUMORCTL=${2:?usage: test_agent.sh RUMORD RUMORCTL}
WRAP=${RUMORD_WRAP:-}
CTL_T=${CTL_TIMEOUT:-3000}
PY=/usr/bin/python3

TMP=$(mktemp -d /tmp/test_agent.XXXXXX)
TAG=t$$
PIDS=""
FAILED=0

cleanup () {
    for pid in $PIDS; do
        kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
    rm -f "/tmp/rumord-$TAG-dflt.ctl" "/tmp/rumord-$TAG-dflt.ctl.lock"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass () { echo "ok   - $*"; }
fail () { echo "FAIL - $*"; FAILED=1; }

#  expect RC DESCRIPTION COMMAND...: runs the command, checks its exit code
expect () {
    local want=$1 what=$2
    shift 2
    "$@" > "$TMP/out" 2> "$TMP/err"
    local got=$?
    if [ "$got" = "$want" ]; then
        pass "$what (exit $got)"
    else
        fail "$what: exit $got, wanted $want; stdout: $(head -c 300 "$TMP/out"); stderr: $(head -c 300 "$TMP/err")"
    fi
}

#  expect_line PATTERN DESCRIPTION: last command's stderr is one line
#  matching PATTERN
expect_line () {
    local lines
    lines=$(wc -l < "$TMP/err")
    if [ "$lines" = 1 ] && grep -q -- "$1" "$TMP/err"; then
        pass "$2: $(cat "$TMP/err")"
    else
        fail "$2: wanted one line matching '$1', got $lines: $(head -c 400 "$TMP/err")"
    fi
}

#  out_has PATTERN DESCRIPTION: last command's stdout matches
out_has () {
    if grep -q -- "$1" "$TMP/out"; then
        pass "$2"
    else
        fail "$2: '$1' not in: $(head -c 400 "$TMP/out")"
    fi
}

#  wait_for SECONDS DESCRIPTION COMMAND...: polls until the command succeeds
wait_for () {
    local seconds=$1 what=$2
    shift 2
    local deadline=$(( $(date +%s) + seconds ))
    while [ "$(date +%s)" -le "$deadline" ]; do
        if "$@" > /dev/null 2>&1; then
            pass "$what"
            return 0
        fi
        sleep 0.1
    done
    fail "$what (not within ${seconds}s)"
    return 1
}

ctl () { "$RUMORCTL" --timeout "$CTL_T" "$@"; }

#  start NAME ARGS...: starts an agent, waits for its two ready lines
#  and sets EP_NAME (endpoint), CTL_NAME (control), PID_NAME
start () {
    local name=$1
    shift
    $WRAP "$RUMORD" --name "$TAG-$name" --cluster "$TAG" --bind 127.0.0.1 \
        --profile local --control "ipc://$TMP/$name.ctl" "$@" \
        > "$TMP/$name.out" 2> "$TMP/$name.log" &
    local pid=$!
    PIDS="$PIDS $pid"
    eval "PID_$name=$pid"
    local deadline=$(( $(date +%s) + 60 ))
    while ! grep -q '^rumord: control ' "$TMP/$name.out" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
            fail "rumord $name did not start: $(cat "$TMP/$name.log")"
            return 1
        fi
        sleep 0.1
    done
    eval "EP_$name=\$(sed -n 's/^rumord: endpoint //p' \"\$TMP/\$name.out\")"
    eval "CTL_$name=\$(sed -n 's/^rumord: control //p' \"\$TMP/\$name.out\")"
    pass "rumord $name ready: $(tr '\n' ' ' < "$TMP/$name.out")"
}

#  alive_count CONTROL N: the agent lists exactly N alive members
alive_count () {
    [ "$(ctl --control "$1" members 2>/dev/null | grep -c ' alive ')" = "$2" ]
}

#  ---------------------------------------------------------------------
echo "# bad configurations: non-zero exit, one line saying what and where"

expect 2 "unknown option" "$RUMORD" --bogus
expect_line "unknown option '--bogus'" "unknown option"
expect 2 "bad port" "$RUMORD" --port 70000 --beacon off
expect_line "port '70000'" "bad port"
expect 2 "bad beacon mode" "$RUMORD" --beacon sideways
expect_line "beacon 'sideways'" "bad beacon"
expect 2 "unreadable config" "$RUMORD" --config "$TMP/nonexistent.conf"
expect_line "nonexistent.conf: cannot read" "unreadable config"
printf '# a comment\nname = x\nbeacon = off\ncolour = blue\n' > "$TMP/bad.conf"
expect 2 "unknown config key" "$RUMORD" --config "$TMP/bad.conf"
expect_line "bad.conf:4: unknown key 'colour'" "unknown config key"
printf 'port = many\n' > "$TMP/badport.conf"
expect 2 "bad port in config" "$RUMORD" --config "$TMP/badport.conf"
expect_line "badport.conf:1: bad port 'many'" "bad port in config"
expect 0 "rumord --help" "$RUMORD" --help
out_has "Usage: rumord" "rumord --help text"
expect 0 "rumord --version" "$RUMORD" --version
out_has "^rumord [0-9]" "rumord --version text"

#  ---------------------------------------------------------------------
echo "# three agents, beacon off, joined through a seed"

#  a from a config file, so the file path is exercised when it is good
cat > "$TMP/a.conf" <<EOF
# agent a
beacon = off
tag = role=seed
log-level = info
EOF
start a --config "$TMP/a.conf" || exit 1
start b --beacon off --seed "$EP_a" --tag role=worker || exit 1
start c --beacon off --seed "$EP_a" || exit 1
#  The node's threads carry their actor's name (top -H, perf, gdb)
if [ -z "$WRAP" ]; then
    THREADS=$(cat /proc/"$PID_a"/task/*/comm 2>/dev/null | sort | tr '\n' ' ')
    case "$THREADS" in
        *rm-anti_entropy*rm-app*rm-detector*rm-membership*rm-supervisor*)
            pass "threads named: $THREADS" ;;
        *) fail "thread names: $THREADS" ;;
    esac
fi
wait_for 30 "a sees 3 alive" alive_count "$CTL_a" 3
wait_for 30 "b sees 3 alive" alive_count "$CTL_b" 3
wait_for 30 "c sees 3 alive" alive_count "$CTL_c" 3
grep -q "member JOINED $TAG-b" "$TMP/a.log" && pass "a logged b JOINED" \
    || fail "a did not log b JOINED: $(cat "$TMP/a.log")"
#  The supervisor's loop wakes for work, not in a spin: its turns are
#  counted from here to the stats below (seconds of queries and events)
loop_turns () {
    ctl --control "$1" stats 2>/dev/null \
        | awk '$1 == "supervisor.loop_turns" { print $2 }'
}
TURNS_FROM=$(loop_turns "$CTL_a")
TURNS_SINCE=$(date +%s%N)

expect 1 "port in use" "$RUMORD" --name "$TAG-x" --cluster "$TAG" \
    --beacon off --bind 127.0.0.1 --port "${EP_a##*:}" --control "ipc://$TMP/x.ctl"
expect_line "cannot start node (--port ${EP_a##*:}" "port in use"
expect 1 "control endpoint in use" "$RUMORD" --name "$TAG-y" --cluster "$TAG" \
    --beacon off --bind 127.0.0.1 --control "$CTL_a"
expect_line "in use" "control endpoint in use"
expect 0 "a still answers after the refused second agent" ctl --control "$CTL_a" info

#  ---------------------------------------------------------------------
echo "# rumorctl commands"

expect 0 "members" ctl --control "$CTL_a" members
out_has "$TAG-a .*alive.*(self)" "members lists self"
out_has "$TAG-b .*alive.*role=worker" "members lists b with its tag"
expect 0 "members --json" ctl --control "$CTL_a" --json members
[ "$(grep -c '^{"id":"[0-9a-f]\{32\}".*"state":"alive"' "$TMP/out")" = 3 ] \
    && pass "members --json: 3 objects" || fail "members --json: $(cat "$TMP/out")"
expect 0 "info" ctl --control "$CTL_b" --json info
out_has "\"name\":\"$TAG-b\"" "info names b"

expect 0 "set" ctl --control "$CTL_a" set colour blue
expect 0 "set --ttl" ctl --control "$CTL_a" set short lived --ttl 600000
expect 0 "get self" ctl --control "$CTL_a" get self colour
out_has "^blue$" "get self prints the value"
wait_for 20 "b reads a's key" sh -c "'$RUMORCTL' --timeout $CTL_T --control '$CTL_b' get '$TAG-a' colour | grep -qx blue"
expect 0 "get --json" ctl --control "$CTL_b" --json get "$TAG-a" colour
out_has '{"value":"blue"}' "get --json value"
expect 1 "get a missing key" ctl --control "$CTL_b" get "$TAG-a" nothing
expect_line "no key 'nothing'" "get a missing key says so"
expect 0 "keys of a (from b)" ctl --control "$CTL_b" keys "$TAG-a"
out_has "^colour$" "keys lists colour"
expect 0 "keys --json" ctl --control "$CTL_a" --json keys
out_has '"keys":\["colour","short"\]' "keys --json sorted"
expect 0 "del" ctl --control "$CTL_a" del colour
expect 1 "get after del" ctl --control "$CTL_a" get self colour

#  say + listen: b listens, a says; whisper a -> b
ctl --control "$CTL_b" listen 'news.*' --timeout 20000 --count 2 \
    > "$TMP/listen_b.out" 2>&1 &
LPID=$!
PIDS="$PIDS $LPID"
ctl --control "$CTL_c" --json listen 'news.#' --timeout 20000 --count 1 \
    > "$TMP/listen_c.out" 2>&1 &
LPID2=$!
PIDS="$PIDS $LPID2"
#  listens COUNT CONTROL: the agent has accepted COUNT listen requests
listens () {
    ctl --control "$2" stats 2>/dev/null | grep -q "^control.listens $1\$"
}
wait_for 10 "b's listener registered" listens 1 "$CTL_b"
wait_for 10 "c's listener registered" listens 1 "$CTL_c"
SAID_US=$(( $(date +%s%N) / 1000 ))
expect 0 "say" ctl --control "$CTL_a" say news.today "it rains"
expect 0 "whisper" ctl --control "$CTL_a" whisper "$TAG-b" news.dm psst
wait "$LPID"; rc=$?
[ $rc = 0 ] && pass "listen --count 2 exits 0" || fail "listen exit $rc"
grep -q "HEARD news.today from $TAG-a: it rains" "$TMP/listen_b.out" \
    && pass "b heard the event" || fail "b did not hear: $(cat "$TMP/listen_b.out")"
grep -q "DIRECT news.dm from $TAG-a: psst" "$TMP/listen_b.out" \
    && pass "b got the whisper" || fail "b no whisper: $(cat "$TMP/listen_b.out")"
wait "$LPID2"
grep -q '"event":"HEARD".*"topic":"news.today","data":"it rains"' "$TMP/listen_c.out" \
    && pass "c heard the event (json)" || fail "c json: $(cat "$TMP/listen_c.out")"
#  Event.at_us: when c's agent got it, on the wall clock, after the say
AT_US=$(grep -o '"at_us":[0-9]*' "$TMP/listen_c.out" | head -1 | cut -d: -f2)
NOW_US=$(( $(date +%s%N) / 1000 ))
[ -n "$AT_US" ] && [ "$AT_US" -ge "$SAID_US" ] && [ "$AT_US" -le "$NOW_US" ] \
    && pass "the event carries the agent's receipt time" \
    || fail "at_us '$AT_US' not within [$SAID_US, $NOW_US]"
expect 1 "whisper to an unknown member" ctl --control "$CTL_a" whisper nobody t x

#  query: b and c answer with listen --respond
ctl --control "$CTL_b" listen 'ask.#' --respond "from-b" --timeout 30000 \
    > "$TMP/resp_b.out" 2>&1 &
RPID_b=$!
PIDS="$PIDS $RPID_b"
ctl --control "$CTL_c" listen 'ask.#' --respond "from-c" --timeout 30000 \
    > "$TMP/resp_c.out" 2>&1 &
RPID_c=$!
PIDS="$PIDS $RPID_c"
wait_for 10 "b's responder registered" listens 2 "$CTL_b"
wait_for 10 "c's responder registered" listens 2 "$CTL_c"
expect 0 "query" ctl --control "$CTL_a" query ask.time now --timeout 5000
out_has "RESPONSE.* from $TAG-b: from-b" "query got b's response"
out_has "RESPONSE.* from $TAG-c: from-c" "query got c's response"
out_has "QUERY_DONE" "query done"
expect 0 "query --json" ctl --control "$CTL_a" --json query ask.time now --timeout 5000
out_has '"event":"QUERY_DONE"' "query --json done"
grep -q "QUERY ask.time from $TAG-a: now" "$TMP/resp_b.out" \
    && pass "b's responder saw the query" || fail "b responder: $(cat "$TMP/resp_b.out")"
#  A responder interrupted stops cleanly (exit 0)
kill -INT "$RPID_b" "$RPID_c"
wait "$RPID_b"; rc=$?
[ $rc = 0 ] && pass "listen exits 0 on SIGINT" || fail "listen exit $rc on SIGINT"
wait "$RPID_c"

expect 0 "stats" ctl --control "$CTL_a" stats
out_has "^control.requests [0-9]" "stats has agent counters"
TURNS_TO=$(awk '$1 == "supervisor.loop_turns" { print $2 }' "$TMP/out")
TURNS_MS=$(( ($(date +%s%N) - TURNS_SINCE) / 1000000 + 1 ))
if [ -n "$TURNS_FROM" ] && [ -n "$TURNS_TO" ] \
   && [ $(( (TURNS_TO - TURNS_FROM) * 1000 / TURNS_MS )) -lt 2000 ]; then
    pass "the supervisor's loop does not spin ($((TURNS_TO - TURNS_FROM)) turns in $TURNS_MS ms)"
else
    fail "supervisor loop turns: from '$TURNS_FROM' to '$TURNS_TO' in $TURNS_MS ms"
fi
expect 0 "stats --json" ctl --control "$CTL_a" --json stats
out_has '"control.requests":' "stats --json"
expect 0 "why" ctl --control "$CTL_a" why
[ -s "$TMP/out" ] && pass "why says something" || fail "why empty"
expect 0 "tags set" ctl --control "$CTL_a" tags zone=eu
out_has "^role=seed$" "tags keeps the config tag"
out_has "^zone=eu$" "tags shows the new tag"
expect 0 "tags --json" ctl --control "$CTL_a" --json tags
out_has '"zone":"eu"' "tags --json"
expect 0 "join (again, harmless)" ctl --control "$CTL_c" join "$EP_b"

#  usage and unreachable
expect 2 "no command" ctl --control "$CTL_a"
expect 2 "unknown command" ctl --control "$CTL_a" frobnicate
expect 2 "get with one argument" ctl --control "$CTL_a" get only
expect 2 "bad --ttl" ctl --control "$CTL_a" set k v --ttl soon
expect 2 "tags without =" ctl --control "$CTL_a" tags novalue
expect 0 "rumorctl --help" "$RUMORCTL" --help
expect 0 "rumorctl set --help" "$RUMORCTL" set --help
[ "$(wc -l < "$TMP/out")" = 2 ] && out_has "set one of" "set --help says what" \
    || fail "set --help: $(cat "$TMP/out")"
expect 3 "no agent there" "$RUMORCTL" --timeout 300 --control "ipc://$TMP/none.ctl" members
expect_line "no answer from agent" "no agent there says so"

#  the default control endpoint matches between rumord and rumorctl
$WRAP "$RUMORD" --name "$TAG-dflt" --cluster "$TAG-d" --beacon off \
    --bind 127.0.0.1 > "$TMP/dflt.out" 2>&1 &
DPID=$!
PIDS="$PIDS $DPID"
wait_for 60 "default control endpoint found by --name" \
    "$RUMORCTL" --timeout "$CTL_T" --name "$TAG-dflt" info
grep -q "^rumord: control ipc:///tmp/rumord-$TAG-dflt.ctl$" "$TMP/dflt.out" \
    && pass "default control is ipc:///tmp/rumord-NAME.ctl" \
    || fail "default control: $(cat "$TMP/dflt.out")"
expect 0 "leave through rumorctl" ctl --name "$TAG-dflt" leave
wait "$DPID"; rc=$?
[ $rc = 0 ] && pass "agent exits 0 after leave" || fail "agent exit $rc after leave"

#  ---------------------------------------------------------------------
echo "# garbage on the control socket"

cat > "$TMP/garbage.py" <<'EOF'
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVTIMEO, int(sys.argv[2]))
s.connect(sys.argv[1])
replies = 0
for frame in [b"\xff\xff\xff\xff", b"", b"\x0a\x05abc", b"\x08" + b"\xff" * 11,
              b"\x92\x01\x02\x0a\x00",       # set with an empty key
              b"\x9a\x01\x00"]:               # delete with no key
    s.send(frame)
    try:
        s.recv(); replies += 1
    except zmq.Again:
        pass
s.send_multipart([b"one", b"two", b"three"])
try:
    s.recv(); replies += 1
except zmq.Again:
    pass
s.send(b"x" * (300 * 1024))                    # over the frame cap: dropped
print(replies)
EOF
REPLIES=$("$PY" "$TMP/garbage.py" "$CTL_a" "$CTL_T")
[ "$REPLIES" = 7 ] && pass "7 garbage frames got 7 error replies" \
    || fail "garbage got $REPLIES replies"
expect 0 "a answers after garbage" ctl --control "$CTL_a" members
expect 0 "refusals counted" ctl --control "$CTL_a" stats
out_has "^control.refused [1-9]" "control.refused counted"
out_has "^control.refused.decode [1-9]" "control.refused.decode counted"
out_has "^control.refused.bounds [1-9]" "control.refused.bounds counted"

#  ---------------------------------------------------------------------
echo "# a client that never reads its stream does not block the agent"

cat > "$TMP/slow.py" <<'EOF'
import sys, zmq
#  Hand-encoded control.proto requests (no generated code needed here)
def varint(n):
    out = b""
    while True:
        byte = n & 0x7f
        n >>= 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out
def field(number, payload):             # length-delimited field
    return varint(number << 3 | 2) + varint(len(payload)) + payload
ctx = zmq.Context()
slow = ctx.socket(zmq.DEALER)
slow.setsockopt(zmq.LINGER, 0)
slow.setsockopt(zmq.RCVHWM, 10)
slow.setsockopt(zmq.RCVTIMEO, int(sys.argv[2]))
slow.connect(sys.argv[1])
# Listen { pattern: "slow.#" } with id 1; never read after the ack
slow.send(b"\x08\x01" + field(16, field(1, b"slow.#")))
slow.recv()
fast = ctx.socket(zmq.DEALER)
fast.setsockopt(zmq.LINGER, 0)
fast.setsockopt(zmq.RCVTIMEO, int(sys.argv[2]))
fast.connect(sys.argv[1])
payload = b"x" * 4096
answered = 0
for i in range(int(sys.argv[3])):
    # Say { topic: "slow.n", payload } with id i + 2
    fast.send(b"\x08" + varint(i + 2) + field(15, field(1, b"slow.n") + field(2, payload)))
    try:
        fast.recv()
        answered += 1
    except zmq.Again:
        break
print(answered)
EOF
SAYS=2000
ANSWERED=$("$PY" "$TMP/slow.py" "$CTL_a" "$CTL_T" "$SAYS")
[ "$ANSWERED" = "$SAYS" ] && pass "agent answered $SAYS says while a listener never read" \
    || fail "agent answered $ANSWERED of $SAYS says"
expect 0 "a answers after the slow client" ctl --control "$CTL_a" stats
out_has "^control.events_dropped [1-9]" "events to the slow client dropped and counted"

#  ---------------------------------------------------------------------
echo "# two agents find each other by loopback beacon (nothing leaves the host)"

BPORT=$(( 20000 + $$ % 20000 ))
start d --beacon loopback --beacon-port "$BPORT" || exit 1
start e --beacon loopback --beacon-port "$BPORT" || exit 1
wait_for 30 "d sees e by beacon" alive_count "$CTL_d" 2
wait_for 30 "e sees d by beacon" alive_count "$CTL_e" 2
kill -TERM "$PID_d" "$PID_e"
wait "$PID_d"; rc_d=$?
wait "$PID_e"; rc_e=$?
[ "$rc_d$rc_e" = 00 ] && pass "beacon agents exit 0" || fail "beacon agents exit $rc_d $rc_e"

#  ---------------------------------------------------------------------
echo "# SIGTERM: the agent leaves, the others see LEFT, exit 0"

kill -TERM "$PID_c"
wait "$PID_c"; rc=$?
[ $rc = 0 ] && pass "c exits 0 on SIGTERM" || fail "c exit $rc on SIGTERM: $(tail -5 "$TMP/c.log")"
wait_for 20 "a sees c left" sh -c "'$RUMORCTL' --timeout $CTL_T --control '$CTL_a' members | grep -q '^$TAG-c .* left '"
wait_for 20 "a logged LEFT" grep -q "member LEFT $TAG-c" "$TMP/a.log"
kill -INT "$PID_b"
wait "$PID_b"; rc=$?
[ $rc = 0 ] && pass "b exits 0 on SIGINT" || fail "b exit $rc on SIGINT: $(tail -5 "$TMP/b.log")"
kill -TERM "$PID_a"
wait "$PID_a"; rc=$?
[ $rc = 0 ] && pass "a exits 0 on SIGTERM" || fail "a exit $rc on SIGTERM: $(tail -5 "$TMP/a.log")"
[ ! -e "$TMP/a.ctl" ] && pass "a removed its ipc socket file" \
    || fail "a left $TMP/a.ctl behind"

if [ $FAILED = 0 ]; then
    echo "# all passed"
    exit 0
fi
echo "# FAILED"
exit 1
