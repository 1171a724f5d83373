#!/bin/bash
#  lan.sh LAN_NODE - three hosts on a private LAN find each other by zbeacon
#
#  Builds three network namespaces on a bridge with tests/netns-lan.sh (a
#  prefix unique to this run), runs LAN_NODE (tests/lan_node.c) in each:
#  LAN beacon on eth0, no seeds, no loopback beacon. Checks that they form
#  one cluster (each reports JOINED for the two others), converge a key
#  (each prints the others' "host" key), and that when host 3 is cut off
#  (netns-lan.sh isolate 3) hosts 1 and 2 report it FAILED. Every wait
#  polls the nodes' output until a deadline; the namespaces and their
#  processes are removed on exit, whatever happens. Root only: skipped
#  otherwise (CI runs as root).
set -u

if [ "$(id -u)" != 0 ]; then
    echo "lan: skipped (needs root)"
    exit 0
fi
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: lan.sh LAN_NODE_BINARY" >&2
    exit 2
fi
node_bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
netns="$here/netns-lan.sh"

export NETNS_PREFIX="rlan$$"
export NODES=3
cluster="lan-$$"
#  The beacon port: namespaces are private, any port works; vary it anyway
beacon_port=$((20000 + RANDOM % 40000))
#  Upper bound of each node's life: well past the test's own deadline
node_seconds=90
#  Each phase's deadline, in 0.2 s polls: a healthy run needs a few
#  seconds for discovery and failure detection
phase_polls=150

work=$(mktemp -d /tmp/rumor-lan.XXXXXX)
pids=""
cleanup () {
    for pid in $pids; do
        kill "$pid" 2>/dev/null
    done
    "$netns" teardown >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail () {
    echo "lan: FAIL: $*"
    for i in 1 2 3; do
        echo "--- host $i output"
        cat "$work/n$i.log" "$work/n$i.err"
    done
    exit 1
}

#  wait_for FILE PATTERN: true once FILE has a line matching PATTERN
wait_for () {
    local n=0
    while [ $n -lt $phase_polls ]; do
        grep -q -E "$2" "$1" 2>/dev/null && return 0
        n=$((n + 1))
        sleep 0.2
    done
    return 1
}

started=$(date +%s)
"$netns" setup >/dev/null || fail "netns setup"
for i in 1 2 3; do
    "$netns" exec "$i" "$node_bin" "host$i" "$cluster" eth0 "$beacon_port" \
        "$node_seconds" "${NETNS_PREFIX}-n$i" </dev/null >"$work/n$i.log" 2>"$work/n$i.err" &
    pids="$pids $!"
done

#  One cluster: each host reports the two others JOINED
for i in 1 2 3; do
    wait_for "$work/n$i.log" "^STARTED " || fail "host $i did not start"
    for j in 1 2 3; do
        [ "$i" = "$j" ] && continue
        wait_for "$work/n$i.log" "^JOINED host$j " \
            || fail "host $i never saw host $j join"
    done
done
echo "lan: one cluster of 3 after $(( $(date +%s) - started )) s"

#  The key each host set reaches the others
for i in 1 2 3; do
    for j in 1 2 3; do
        [ "$i" = "$j" ] && continue
        wait_for "$work/n$i.log" "^KEY host$j host host$j\$" \
            || fail "host $i never read host $j's key"
    done
done
echo "lan: keys converged after $(( $(date +%s) - started )) s"

#  Host 3 cut off: hosts 1 and 2 report it FAILED
"$netns" isolate 3 || fail "isolate 3"
for i in 1 2; do
    wait_for "$work/n$i.log" "^FAILED host3 " \
        || fail "host $i did not report host3 FAILED"
done
for i in 1 2; do
    grep -q -E "^(FAILED|LEFT) host[12] " "$work/n$i.log" \
        && fail "host $i reported a connected host gone"
done
echo "lan: host3 reported FAILED after $(( $(date +%s) - started )) s"
echo "lan: passed"
exit 0
