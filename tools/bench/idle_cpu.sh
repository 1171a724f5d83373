#!/bin/bash
#  Idle CPU of a rumor cluster on loopback, summed over every node:
#      tools/bench/idle_cpu.sh [RUMORD] [N] [SECONDS]
#  Starts N rumord (default build/rumord, 32, 20 s) on 127.0.0.1, beacon
#  off, all joined through the first one, --profile local; waits 15 s for
#  the join, then prints the CPU (schedstat of every thread of every node)
#  per node per second over SECONDS. Run two builds alternately to compare:
#  one node's figure is too noisy for that, the sum of N is not.
set -u
RUMORD=${1:-build/rumord}
N=${2:-32}
SECONDS_=${3:-20}
[ -x "$RUMORD" ] || { echo "idle_cpu: no $RUMORD" >&2; exit 2; }
TMP=$(mktemp -d)
PIDS=()
cleanup () {
    [ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
TAG="idle$$"
start () {
    "$RUMORD" --name "$TAG-$1" --beacon off --bind 127.0.0.1 --profile local \
        --control "ipc://$TMP/$1.ctl" --log-level error "${@:2}" \
        >"$TMP/$1.log" 2>&1 &
    PIDS+=($!)
}
start 0 --port 0
#  The first node's port, from its log line "rumord: endpoint tcp://..."
for _ in $(seq 50); do
    SEED=$(grep -o 'tcp://127.0.0.1:[0-9]*' "$TMP/0.log" | head -1)
    [ -n "$SEED" ] && break
    sleep 0.1
done
[ -n "$SEED" ] || { echo "idle_cpu: the first node did not start" >&2; exit 1; }
for i in $(seq 1 $((N - 1))); do
    start "$i" --seed "$SEED"
done
sleep 15
total_ns () {
    local sum=0 pid task
    for pid in "${PIDS[@]}"; do
        for task in /proc/"$pid"/task/*; do
            sum=$((sum + $(cut -d' ' -f1 "$task/schedstat" 2>/dev/null || echo 0)))
        done
    done
    echo "$sum"
}
BEFORE=$(total_ns)
sleep "$SECONDS_"
AFTER=$(total_ns)
ALIVE=0
for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && ALIVE=$((ALIVE + 1)); done
[ "$ALIVE" -eq "$N" ] || { echo "idle_cpu: only $ALIVE of $N nodes ran" >&2; exit 1; }
echo "$(( (AFTER - BEFORE) / N / SECONDS_ / 1000 )) us of CPU per node per second ($N nodes, $SECONDS_ s)"
