#!/bin/bash
#  test_flood.sh - limits that hold under abuse
#
#  Usage: tests/test_flood.sh RUMORD RUMORCTL RUMOR_FLOOD
#
#  Starts 8 agents (loopback beacon on a random port of their own,
#  --profile local, bound to 127.0.0.1, control sockets in a private temp
#  dir, max-events-per-sec lowered to 20 so that forged events hit it) and
#  waits until each lists all 8 alive. Then 4 flooders (tests/flood.c) hit
#  every node's ports for FLOOD_S seconds:
#    f1  raw TCP garbage, one connection per message, to every TCP port
#    f2  hostile ZMTP: random, oversize, multipart, forged-header, other-
#        cluster frames and well-formed Events from unknown senders, with a
#        reconnect every 64 messages
#    f3  UDP garbage to the loopback beacon port
#    f4  all three at a lower rate
#  Meanwhile: a key set on n1 must be read by all 8, then n8 is killed with
#  kill -9 and n1..n7 must all report it failed; n1..n7 must still see each
#  other alive at the end. Each node's VmRSS is sampled every second during
#  the flood: every sample stays under RSS_MAX_KB and no node grows by more
#  than GROWTH_MAX_KB between the first and the last sample (skipped, with
#  a note, in a sanitizer build, whose allocator keeps freed memory in
#  quarantine by design). Every surviving node must have counted refusals
#  (rumorctl stats): hostile frames and handshakes on its TCP port, bad
#  datagrams on its beacon port; and the cluster must have rate-limited
#  forged events. Every wait has a deadline; every process started here is
#  killed on exit. Exit 0 pass, 1 fail.
#
#  Why the memory bounds: an idle agent holds about 10 MiB (libzmq, czmq,
#  four actor threads; 9.3-9.8 MiB measured on the 8 agents here). Under
#  the flood every queue is bounded (ROUTER 10 x max-queue frames, DEALERs
#  max-queue, actor backlogs, the app's dedup, retain and graft tables fed
#  by the forged events), so the heap may rise once to fill them and must
#  then stay flat: 64 MiB is six times an idle agent, and 24 MiB of growth
#  covers those bounded structures at these rates (1.6-1.8 MiB measured in
#  15 s). Each node gets about 40,000 hostile inputs here (34,000
#  datagrams, 4,000 ZMTP frames, 800 raw connections, the forged events
#  its peers forward): state kept per input, at 600 bytes or more each,
#  would pass 24 MiB. A slower leak could pass unseen: the bound is a
#  tripwire, not a proof.

set -u

RUMORD=${1:?usage: test_flood.sh RUMORD RUMORCTL RUMOR_FLOOD}
RUMORCTL=${2:?usage: test_flood.sh RUMORD RUMORCTL RUMOR_FLOOD}
FLOOD=${3:?usage: test_flood.sh RUMORD RUMORCTL RUMOR_FLOOD}
N=8
FLOOD_S=${FLOOD_S:-15}
RSS_MAX_KB=$((64 * 1024))
GROWTH_MAX_KB=$((24 * 1024))

tmp=$(mktemp -d /tmp/rumor-flood.XXXXXX)
cluster="flood-test-$$-$RANDOM"
beacon_port=$((20000 + RANDOM % 40000))
declare -a PIDS=()                  #  rumord pid per node index, "" if gone
declare -a FLOODERS=()              #  rumor_flood pids
t0=$SECONDS
failures=0

cleanup () {
    local pid
    for pid in "${FLOODERS[@]}" "${PIDS[@]}"; do
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${FLOODERS[@]}" "${PIDS[@]}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null
    done
    if [ "$failures" -ne 0 ] || [ -n "${KEEP_TMP:-}" ]; then
        echo "test_flood: logs kept in $tmp"
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

now_ms () {
    echo $(( $(date +%s%N) / 1000000 ))
}

#  wait_until DEADLINE_S CMD...: runs CMD every 200 ms until it succeeds
#  (return 0) or DEADLINE_S seconds pass (return 1)
wait_until () {
    local deadline=$(( $(now_ms) + $1 * 1000 ))
    shift
    while true; do
        "$@" && return 0
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}

ctl () {                            #  ctl I ARGS...: rumorctl on node I
    local i=$1
    shift
    "$RUMORCTL" --timeout 3000 --control "ipc://$tmp/n$i.ctl" "$@"
}

#  Prints "NAME STATE" per member seen by node I
view () {
    ctl "$1" --json members 2>/dev/null | sed -n 's/^{"id":"[0-9a-f]*","name":"\([^"]*\)","endpoint":"[^"]*","state":"\([a-z]*\)".*/\1 \2/p'
}

#  everyone_alive NODES...: each of NODES sees each of NODES alive
everyone_alive () {
    local a b table
    for a in "$@"; do
        table=$(view "$a")
        for b in "$@"; do
            echo "$table" | awk -v n="n$b" '$1 == n && $2 == "alive" {ok=1}
                END {exit !ok}' || return 1
        done
    done
}

#  all_see_failed TARGET OBSERVERS...
all_see_failed () {
    local target=$1 o
    shift
    for o in "$@"; do
        view "$o" | awk -v n="n$target" '$1 == n && $2 == "failed" {ok=1}
            END {exit !ok}' || return 1
    done
}

#  all_read ORIGIN KEY VALUE NODES...: every node reads ORIGIN's KEY
all_read () {
    local origin=$1 key=$2 value=$3 i
    shift 3
    for i in "$@"; do
        [ "$(ctl "$i" get "$origin" "$key" 2>/dev/null)" = "$value" ] || return 1
    done
}

ready () {
    ctl "$1" members > /dev/null 2>&1
}

endpoint_of () {
    grep -o 'tcp://127\.0\.0\.1:[0-9]*' "$tmp/n$1.log" | head -n 1
}

rss_kb () {                         #  VmRSS of a pid in kB, 0 if gone
    awk '/^VmRSS:/ {print $2; found=1} END {if (!found) print 0}' \
        "/proc/$1/status" 2>/dev/null || echo 0
}

stat_of () {                        #  stat_of I NAME: a counter of node I
    ctl "$1" stats 2>/dev/null | awk -v n="$2" '$1 == n {print $2; f=1}
        END {if (!f) print 0}'
}

#  Sum of the named counters of node I
stats_sum () {
    local i=$1 name total=0 value
    shift
    local all
    all=$(ctl "$i" stats 2>/dev/null)
    for name in "$@"; do
        value=$(echo "$all" | awk -v n="$name" '$1 == n {print $2}')
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

#  --------------------------------------------------------------------------
log "starting $N agents in cluster $cluster, beacon port $beacon_port"
for i in $(seq 1 $N); do
    "$RUMORD" --name "n$i" --cluster "$cluster" --bind 127.0.0.1 \
        --beacon loopback --beacon-port "$beacon_port" --profile local \
        --limit max-events-per-sec=20 \
        --control "ipc://$tmp/n$i.ctl" > "$tmp/n$i.log" 2>&1 &
    PIDS[$i]=$!
done
for i in $(seq 1 $N); do
    wait_until 15 ready "$i" || { fail "n$i never became ready"; cat "$tmp/n$i.log"; exit 1; }
done
if ! wait_until 30 everyone_alive $(seq 1 $N); then
    fail "the $N agents never all saw each other alive"
    for i in $(seq 1 $N); do echo "  n$i:"; view "$i" | sed 's/^/    /'; done
    exit 1
fi
log "all $N agents see each other alive"

endpoints=()
for i in $(seq 1 $N); do
    e=$(endpoint_of "$i")
    [ -n "$e" ] || { fail "n$i printed no endpoint"; exit 1; }
    endpoints+=(--endpoint "$e")
done

#  A sanitizer build keeps freed memory in quarantine: RSS says nothing
asan=0
if ldd "$RUMORD" 2>/dev/null | grep -q 'libasan'; then
    asan=1
fi

#  --------------------------------------------------------------------------
log "flooding for $FLOOD_S s with 4 flooders"
flood_start=$SECONDS
"$FLOOD" --mode tcp --rate 150 --duration "$FLOOD_S" --cluster "$cluster" \
    "${endpoints[@]}" > "$tmp/f1.log" 2>&1 &
FLOODERS+=($!)
"$FLOOD" --mode zmtp --rate 2000 --duration "$FLOOD_S" --cluster "$cluster" \
    "${endpoints[@]}" > "$tmp/f2.log" 2>&1 &
FLOODERS+=($!)
"$FLOOD" --mode udp --rate 2000 --duration "$FLOOD_S" \
    --beacon-port "$beacon_port" > "$tmp/f3.log" 2>&1 &
FLOODERS+=($!)
"$FLOOD" --mode mixed --rate 300 --duration "$FLOOD_S" --cluster "$cluster" \
    --beacon-port "$beacon_port" "${endpoints[@]}" > "$tmp/f4.log" 2>&1 &
FLOODERS+=($!)

#  RSS samples: first and last per node, and the highest
declare -a RSS_FIRST=() RSS_LAST=() RSS_PEAK=()
sample_rss () {
    local i kb
    for i in $(seq 1 $N); do
        [ -n "${PIDS[$i]}" ] || continue
        kb=$(rss_kb "${PIDS[$i]}")
        [ "$kb" -gt 0 ] || continue
        [ -n "${RSS_FIRST[$i]:-}" ] || RSS_FIRST[$i]=$kb
        RSS_LAST[$i]=$kb
        [ "$kb" -gt "${RSS_PEAK[$i]:-0}" ] && RSS_PEAK[$i]=$kb
    done
}
sleep 1                             #  let the flood reach full rate
sample_rss

#  A key set on n1 reaches all 8 while the flood goes on
ctl 1 set flood-key under-fire > /dev/null || fail "set on n1 refused"
t=$(now_ms)
if wait_until 15 all_read n1 flood-key under-fire $(seq 1 $N); then
    log "flood-key read on all $N nodes after $(( $(now_ms) - t )) ms"
else
    fail "flood-key did not reach every node"
fi
sample_rss

#  kill -9 n8: n1..n7 report it failed while the flood goes on
kill -KILL "${PIDS[8]}"
{ wait "${PIDS[8]}"; } 2>/dev/null
PIDS[8]=""
t=$(now_ms)
if wait_until 20 all_see_failed 8 1 2 3 4 5 6 7; then
    log "n8 failed on n1..n7 after $(( $(now_ms) - t )) ms"
else
    fail "n8 not reported failed by every other node"
    for i in 1 2 3 4 5 6 7; do
        echo "    n$i sees: $(view "$i" | awk '$1 == "n8"')"
    done
fi

#  Sample every second until the flooders end (bounded)
deadline=$(( $(now_ms) + (FLOOD_S + 10) * 1000 ))
while true; do
    sample_rss
    running=0
    for pid in "${FLOODERS[@]}"; do
        kill -0 "$pid" 2>/dev/null && running=1
    done
    [ "$running" -eq 0 ] && break
    if [ "$(now_ms)" -ge "$deadline" ]; then
        fail "flooders still running past their duration"
        break
    fi
    sleep 1
done
for pid in "${FLOODERS[@]}"; do
    wait "$pid" 2>/dev/null
done
FLOODERS=()
log "flood over after $((SECONDS - flood_start)) s: $(cat "$tmp"/f*.log | tr '\n' ' ')"

#  --------------------------------------------------------------------------
#  Nothing else broke: the 7 survivors still see each other alive
if ! wait_until 10 everyone_alive 1 2 3 4 5 6 7; then
    fail "the survivors do not all see each other alive after the flood"
    for i in 1 2 3 4 5 6 7; do echo "  n$i:"; view "$i" | sed 's/^/    /'; done
fi

#  Memory
for i in 1 2 3 4 5 6 7; do
    first=${RSS_FIRST[$i]:-0} last=${RSS_LAST[$i]:-0} peak=${RSS_PEAK[$i]:-0}
    log "n$i VmRSS: first ${first} kB, last ${last} kB, peak ${peak} kB"
    [ "$first" -gt 0 ] || { fail "n$i: no RSS sample"; continue; }
    [ "$asan" -eq 1 ] && continue
    [ "$peak" -lt "$RSS_MAX_KB" ] \
        || fail "n$i: RSS peak ${peak} kB over ${RSS_MAX_KB} kB"
    [ $((last - first)) -lt "$GROWTH_MAX_KB" ] \
        || fail "n$i: RSS grew by $((last - first)) kB (bound ${GROWTH_MAX_KB} kB)"
done
[ "$asan" -eq 1 ] && log "sanitizer build: RSS bounds not asserted"

#  Refusals were counted on every survivor, on both ports
rate_limited=0
for i in 1 2 3 4 5 6 7; do
    tcp=$(stats_sum "$i" codec.oversized codec.malformed codec.bad_version \
          codec.bad_cluster codec.bad_sender codec.no_body codec.bad_field \
          supervisor.bad_frames supervisor.router_handshake_failed \
          supervisor.router_disconnects)
    udp=$(stats_sum "$i" beacon.oversized beacon.malformed \
          beacon.other_version beacon.other_cluster beacon.bad_port \
          beacon.bad_time beacon.bad_endpoint beacon.bad_mac)
    limited=$(stat_of "$i" app.rate_limited)
    log "n$i refused: tcp port $tcp, beacon port $udp, rate-limited $limited"
    [ "$tcp" -gt 0 ] || fail "n$i counted no refusal on its TCP port"
    [ "$udp" -gt 0 ] || fail "n$i counted no refusal on its beacon port"
    rate_limited=$((rate_limited + limited))
done
[ "$rate_limited" -gt 0 ] || fail "no node rate-limited the forged events"

for i in 1 2 3 4 5 6 7; do
    if grep -q 'ERROR: AddressSanitizer\|runtime error:' "$tmp/n$i.log"; then
        fail "n$i log holds a sanitizer report"
    fi
done

log "done in $((SECONDS - t0)) s, $failures failure(s)"
[ "$failures" -eq 0 ]
