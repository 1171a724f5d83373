#!/bin/bash
#  A guided tour of a live rumor cluster on this host: starts N rumord
#  agents that find each other through the loopback beacon (nothing leaves
#  the machine), then shows members, keys, events and failure detection
#  with rumorctl, and stops everything it started.
#
#  Usage: tools/tour.sh [BUILD_DIR] [NODES]      (default: build 5)
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
nodes=${2:-5}
rumord=$build/rumord
rumorctl=$build/rumorctl
[ -x "$rumord" ] && [ -x "$rumorctl" ] || {
    echo "tour: $rumord or $rumorctl missing: run tools/setup.sh first" >&2
    exit 2
}
case $nodes in ''|*[!0-9]*) echo "tour: NODES must be a number" >&2; exit 2;; esac
[ "$nodes" -ge 3 ] && [ "$nodes" -le 32 ] || { echo "tour: NODES must be 3..32" >&2; exit 2; }

work=$(mktemp -d /tmp/rumor-tour.XXXXXX)
cluster=tour-$$
beacon_port=$((20000 + $$ % 20000))
pids=()
cleanup () {
    for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

ctl () { local n=$1; shift; "$rumorctl" --control "ipc://$work/node$n.ctl" "$@"; }
now_ms () { date +%s%3N; }
#  wait_until SECONDS CMD...: poll CMD until it succeeds or the time is up
wait_until () {
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@"; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}
count_state () { ctl "$1" --json members 2>/dev/null | grep -c "\"state\":\"$2\""; }
all_list () {                   #  all_list STATE COUNT NODES...
    local state=$1 want=$2; shift 2
    for n in "$@"; do [ "$(count_state "$n" "$state")" -ge "$want" ] || return 1; done
}
step () { printf '\n== %s\n' "$*"; }

step "starting $nodes rumord agents (cluster $cluster, loopback beacon on UDP $beacon_port)"
started=$(now_ms)
for n in $(seq 1 "$nodes"); do
    "$rumord" --name "node$n" --cluster "$cluster" --beacon loopback \
        --beacon-port "$beacon_port" --bind 127.0.0.1 --profile local \
        --control "ipc://$work/node$n.ctl" --tag "role=tour" \
        > "$work/node$n.log" 2>&1 &
    pids+=($!)
done
everyone=$(seq 1 "$nodes")
if ! wait_until 20 all_list alive "$nodes" $everyone; then
    echo "tour: the agents did not find each other; node1 says:" >&2
    ctl 1 why >&2
    exit 1
fi
echo "every node lists $nodes alive, $(( $(now_ms) - started )) ms after the first start"
step "rumorctl --control ipc://$work/node1.ctl members"
ctl 1 members

step "a key set on node1 is read on node$nodes"
ctl 1 set greeting "hello from node1"
set_at=$(now_ms)
wait_until 10 bash -c "\"$rumorctl\" --control ipc://$work/node$nodes.ctl get node1 greeting >/dev/null 2>&1"
echo "node$nodes reads: $(ctl "$nodes" get node1 greeting)  ($(( $(now_ms) - set_at )) ms)"

step "an event said on node1 is heard by node2 (rumorctl listen)"
ctl 2 listen 'tour.#' --count 1 --timeout 5000 > "$work/heard" 2>&1 &
listener=$!
listening () { ctl 2 stats 2>/dev/null | grep -Eq 'control\.listens[^0-9]+[1-9]'; }
wait_until 5 listening || true  #  say anyway: the listener may miss it
ctl 1 say tour.hello "hi everyone"
wait "$listener"
cat "$work/heard"

victim=$nodes
others=$(seq 1 $((nodes - 1)))
step "kill -9 node$victim: the others detect it"
killed=$(now_ms)
{ kill -9 "${pids[$((victim - 1))]}"; wait "${pids[$((victim - 1))]}"; } 2>/dev/null
if wait_until 20 all_list failed 1 $others; then
    echo "every other node lists node$victim failed, $(( $(now_ms) - killed )) ms after kill -9"
else
    echo "tour: node$victim was not declared failed in time" >&2
    exit 1
fi
ctl 1 members

step "node2 leaves gracefully (SIGTERM): the others see it left, not failed"
kill -TERM "${pids[1]}"
rest=$(seq 3 $((nodes - 1)))
[ -n "$rest" ] || rest=1
if wait_until 10 all_list left 1 1 $rest; then
    echo "node1 and the rest list node2 left"
else
    echo "tour: node2's leave was not seen in time" >&2
    exit 1
fi
ctl 1 members

step "done: stopping the agents (each leaves gracefully)"
