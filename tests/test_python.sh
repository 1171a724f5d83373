#!/bin/bash
#  test_python.sh - the Python client (demos/python) against live agents
#
#  Usage: tests/test_python.sh RUMORD RUMORCTL SOURCE_DIR
#
#  Starts two rumord agents on loopback (beacon off, b seeded with a), runs
#  demos/python/rumor_client.py against a's control socket and checks that
#  it lists both members, then that it prints an event said with rumorctl on
#  a and one said on b. Skips (exit 77) when python3-zmq, python3-protobuf
#  or protoc are missing. Every wait is a polling loop with a deadline.

set -u

RUMORD=${1:?usage: test_python.sh RUMORD RUMORCTL SOURCE_DIR}
RUMORCTL=${2:?usage: test_python.sh RUMORD RUMORCTL SOURCE_DIR}
SRC=${3:?usage: test_python.sh RUMORD RUMORCTL SOURCE_DIR}
PYTHON=/usr/bin/python3
CLIENT=$SRC/demos/python/rumor_client.py

skip () {
    echo "test_python: SKIP: $* (tools/setup.sh installs python3-zmq" \
         "python3-protobuf protobuf-compiler)"
    exit 77
}
[ -x "$PYTHON" ] || skip "$PYTHON is missing"
"$PYTHON" -c 'import zmq' 2> /dev/null || skip "python3-zmq is missing"
"$PYTHON" -c 'import google.protobuf' 2> /dev/null \
    || skip "python3-protobuf is missing"
command -v protoc > /dev/null || skip "protoc (protobuf-compiler) is missing"

tmp=$(mktemp -d /tmp/rumor-python.XXXXXX)
cluster="python-test-$$-$RANDOM"
declare -a PIDS=()
failures=0
t0=$SECONDS

cleanup () {                        #  kills only what this script started
    local pid
    for pid in "${PIDS[@]}"; do
        kill -CONT "$pid" 2> /dev/null
        kill -KILL "$pid" 2> /dev/null
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2> /dev/null
    done
    if [ "$failures" -ne 0 ] || [ -n "${KEEP_TMP:-}" ]; then
        echo "test_python: logs kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log () {
    printf '[%3ds] %s\n' $((SECONDS - t0)) "$*"
}

fail () {
    failures=$((failures + 1))
    log "FAIL: $*"
}

#  wait_until DEADLINE_S CMD...: runs CMD every 100 ms until it succeeds
#  (return 0) or DEADLINE_S seconds pass (return 1)
wait_until () {
    local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
    shift
    while true; do
        "$@" && return 0
        [ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

ctl () {                            #  ctl NODE ARGS...
    local node=$1
    shift
    "$RUMORCTL" --control "ipc://$tmp/$node.ctl" "$@"
}

start_node () {                     #  start_node NAME [rumord args]
    local name=$1
    shift
    "$RUMORD" --name "$name" --cluster "$cluster" --port 0 --bind 127.0.0.1 \
        --beacon off --profile local --control "ipc://$tmp/$name.ctl" "$@" \
        > "$tmp/$name.log" 2>&1 &
    PIDS+=($!)
}

endpoint_of () {
    grep -o 'tcp://[0-9.]*:[0-9]*' "$tmp/$1.log" | head -n 1
}

in_log () {                         #  in_log FILE REGEX
    grep -q -E "$2" "$1"
}

both_alive_on_a () {
    local table
    table=$(ctl a members 2> /dev/null) || return 1
    echo "$table" | grep -w b | grep -q -w alive
}

#  --------------------------------------------------------------------------
log "starting agents a and b (cluster $cluster)"
start_node a
wait_until 10 in_log "$tmp/a.log" 'rumord: endpoint tcp://' \
    || { fail "agent a never printed its endpoint"; cat "$tmp/a.log"; exit 1; }
start_node b --seed "$(endpoint_of a)"
wait_until 10 in_log "$tmp/b.log" 'rumord: endpoint tcp://' \
    || { fail "agent b never printed its endpoint"; cat "$tmp/b.log"; exit 1; }
wait_until 15 both_alive_on_a \
    || { fail "a never saw b alive"; ctl a members; exit 1; }

log "running the Python client against a"
out=$tmp/client.out
"$PYTHON" "$CLIENT" --control "ipc://$tmp/a.ctl" --listen 'demo.#' \
    --no-members --count 2 --timeout 60 --build-dir "$tmp/py" \
    > "$out" 2> "$tmp/client.err" &
client=$!
PIDS+=($client)

if wait_until 20 in_log "$out" "^listening on 'demo.#'"; then
    grep -q -E '^agent a id=[0-9a-f]{32} endpoint=tcp://127.0.0.1:[0-9]+ '"cluster=$cluster" "$out" \
        || fail "the client did not print agent a's info"
    grep -q -E '^members: 2$' "$out" || fail "the client did not count 2 members"
    for name in a b; do
        grep -q -E "^MEMBER $name +[0-9a-f]{32} alive +tcp://127.0.0.1:[0-9]+ " "$out" \
            || fail "the client did not list member $name alive"
    done
    grep -q -E '^MEMBER a .*\(self\)$' "$out" \
        || fail "the client did not mark a as self"
else
    fail "the client never started listening"
fi

ctl a say demo.hello "hello from a" > /dev/null \
    || fail "rumorctl say on a failed"
wait_until 10 in_log "$out" '^EVENT HEARD .*name=a topic=demo.hello data=hello from a$' \
    || fail "the client did not print the event said on a"
ctl b say demo.world "hello from b" > /dev/null \
    || fail "rumorctl say on b failed"
wait_until 10 in_log "$out" '^EVENT HEARD .*name=b topic=demo.world data=hello from b$' \
    || fail "the client did not print the event said on b"

#  --count 2: the client exits by itself, 0
client_gone () { ! kill -0 "$client" 2> /dev/null; }
if wait_until 10 client_gone; then
    wait "$client"
    rc=$?
    [ "$rc" -eq 0 ] || fail "the client exited $rc"
else
    fail "the client did not exit after 2 events"
fi

#  An unreachable agent: a clear message and exit 3, within its timeout
"$PYTHON" "$CLIENT" --control "ipc://$tmp/nobody.ctl" --wait 1 \
    --build-dir "$tmp/py" \
    > "$tmp/nobody.out" 2> "$tmp/nobody.err"
rc=$?
[ "$rc" -eq 3 ] && grep -q 'no answer from' "$tmp/nobody.err" \
    || fail "unreachable agent: exit $rc, $(cat "$tmp/nobody.err")"

#  Both agents leave on SIGTERM and exit 0 (sanitizer builds also check
#  their leaks at that exit)
agents_gone () { ! kill -0 "${PIDS[0]}" 2> /dev/null && ! kill -0 "${PIDS[1]}" 2> /dev/null; }
kill -TERM "${PIDS[0]}" "${PIDS[1]}"
if wait_until 10 agents_gone; then
    for index in 0 1; do
        wait "${PIDS[$index]}"
        rc=$?
        [ "$rc" -eq 0 ] || fail "agent $index exited $rc on SIGTERM"
    done
else
    fail "the agents did not exit within 10 s of SIGTERM"
fi
if grep -l -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$tmp"/*.log; then
    fail "sanitizer reports in the agents' logs above"
fi

if [ "$failures" -ne 0 ]; then
    echo "--- client output"; cat "$out"
    echo "--- client stderr"; cat "$tmp/client.err"
    log "FAILED: $failures check(s)"
    exit 1
fi
log "PASS"
exit 0
