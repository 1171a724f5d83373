#!/bin/bash
#  Idle CPU of a rumor cluster on loopback, summed over every node:
#      tools/bench/idle_cpu.sh [RUMORD] [N] [SECONDS] [PROFILE]
#  Starts N rumord (default build/rumord, 32, 20 s, local) on 127.0.0.1,
#  beacon off, all joined through the first one, --profile PROFILE; waits
#  15 s for the join, then prints the CPU (schedstat of every thread of
#  every node) per node per second over SECONDS, and the same by thread
#  name with the thread's wake-ups (context switches) per node per second.
#  Run two builds alternately to compare: one node's figure is too noisy
#  for that, the sum of N is not.
set -u
RUMORD=${1:-build/rumord}
N=${2:-32}
SECONDS_=${3:-20}
PROFILE=${4:-local}
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
    "$RUMORD" --name "$TAG-$1" --beacon off --bind 127.0.0.1 --profile "$PROFILE" \
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
#  One line per thread of every node: id, name, CPU ns, context switches
threads () {
    local pid task
    for pid in "${PIDS[@]}"; do
        for task in /proc/"$pid"/task/*; do
            [ -r "$task/schedstat" ] || continue
            printf '%s %s %s %s\n' "${task##*/}" "$(tr ' ' '_' < "$task/comm")" \
                "$(cut -d' ' -f1 "$task/schedstat")" \
                "$(awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n }' \
                   "$task/status")"
        done
    done | LC_ALL=C sort
}
threads > "$TMP/before"
sleep "$SECONDS_"
threads > "$TMP/after"
#  Thread id, name, CPU and switches before, then the same after: only
#  threads that ran through the whole window count (an idle node starts
#  or ends none)
LC_ALL=C join "$TMP/before" "$TMP/after" > "$TMP/both"
ALIVE=0
for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && ALIVE=$((ALIVE + 1)); done
[ "$ALIVE" -eq "$N" ] || { echo "idle_cpu: only $ALIVE of $N nodes ran" >&2; exit 1; }
awk -v n="$N" -v s="$SECONDS_" '{ ns += $6 - $3 }
    END { printf "%d us of CPU per node per second (%d nodes, %d s)\n",
                 ns / n / s / 1000, n, s }' "$TMP/both"
#  By thread name
awk -v n="$N" -v s="$SECONDS_" '
    { cpu [$2] += $6 - $3; wakes [$2] += $7 - $4 }
    END { for (name in cpu)
              printf "  %-16s %8.1f us/s %6.1f wake-ups/s per node\n",
                     name, cpu [name] / n / s / 1000, wakes [name] / n / s }' \
    "$TMP/both" | sort -k2 -rn
