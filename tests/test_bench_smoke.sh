#!/bin/bash
#  test_bench_smoke.sh - the live benchmark (tools/bench/rumor_bench.py) as a
#  smoke run: N = 4, one repetition, rumor always and Serf when `serf` is
#  installed. The benchmark itself takes minutes and is not part of the test
#  run; this proves the tool works end to end and that what it measures is
#  sane for every scenario:
#    - rumor: every figure present, none past its deadline, each in a sane
#      range (join, key, event, crash, freeze and leave times positive and
#      bounded; idle CPU, memory and bytes positive), the sayer sent at
#      least one frame for an event, and no false verdict in the run
#    - Serf: the same figures present and sane, except graceful leave,
#      which at N = 4 (two of the four already dead) Serf can miss
#    - the markdown table has a row per figure and the rumor/Serf ratio
#    - tools/bench/spread.py at N = 4: every write reached every node
#    - tools/bench/formation.py at N = 4: the cluster formed, and pairs of
#      nodes share connections (frames were sent back over a peer's own)
#  Exit 0 pass, 1 fail, 77 skipped (python3-zmq, python3-protobuf or protoc
#  missing).
#
#  Usage: tests/test_bench_smoke.sh RUMORD SOURCE_DIR

set -u

RUMORD=${1:?usage: test_bench_smoke.sh RUMORD SOURCE_DIR}
SOURCE=${2:?usage: test_bench_smoke.sh RUMORD SOURCE_DIR}
PYTHON=/usr/bin/python3

if ! "$PYTHON" -c 'import zmq, google.protobuf' 2>/dev/null \
   || ! command -v protoc > /dev/null; then
    echo "test_bench_smoke: SKIP (python3-zmq, python3-protobuf or protoc" \
         "missing)"
    exit 77
fi

tmp=$(mktemp -d /tmp/rumor-bench-smoke.XXXXXX)
bench_pid=""
cleanup () {
    #  The tool kills its own agents when it gets SIGTERM
    if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
        kill -TERM "$bench_pid" 2>/dev/null
        wait "$bench_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

systems=rumor
if command -v serf > /dev/null; then
    systems=rumor,serf
else
    echo "test_bench_smoke: serf not installed, rumor only"
fi

#  Bounded: the tool's own deadlines keep a run near a minute; 240 s is
#  the outer bound
timeout -s TERM 240 "$PYTHON" "$SOURCE/tools/bench/rumor_bench.py" \
    --rumord "$RUMORD" --sizes 4 --reps 1 --samples 2 --idle 2 --settle 2 \
    --systems "$systems" --out "$tmp/out" > "$tmp/stdout" 2> "$tmp/stderr" &
bench_pid=$!
wait "$bench_pid"
rc=$?
bench_pid=""
cat "$tmp/stderr"
if [ "$rc" -ne 0 ]; then
    echo "test_bench_smoke: FAIL: rumor_bench.py exited $rc"
    cat "$tmp/stdout"
    exit 1
fi
cat "$tmp/out/results.md"

#  Run a probe (tools/bench/NAME.py, bounded to 120 s) into $tmp/NAME and
#  show what it printed; its exit code in $rc
s_probe () {
    local name=$1
    shift
    timeout -s TERM 120 "$PYTHON" "$SOURCE/tools/bench/$name.py" \
        --rumord "$RUMORD" "$@" > "$tmp/$name" 2>&1 &
    bench_pid=$!
    wait "$bench_pid"
    rc=$?
    bench_pid=""
    cat "$tmp/$name"
}

#  tools/bench/spread.py, the per-write probe: 3 events and 3 keys reach all
#  4 nodes (exit 0), each kind gets its line, and the writes cost pushes
s_probe spread --n 4 --writes 3
if [ "$rc" -ne 0 ] || ! grep -q '^event: 3 writes' "$tmp/spread" \
   || ! grep -q '^key: 3 writes' "$tmp/spread" \
   || ! grep -Eq 'pushes per write, all nodes: [1-9]' "$tmp/spread"; then
    echo "test_bench_smoke: FAIL: spread.py (exit $rc)"
    exit 1
fi

#  tools/bench/formation.py, the formation probe: 4 nodes form (exit 0),
#  the run gets its line, and pairs share connections (frames routed back)
s_probe formation --n 4 --reps 1
if [ "$rc" -ne 0 ] || ! grep -q '^run 1: join [0-9]* ms' "$tmp/formation" \
   || ! grep -Eq 'routed ([1-9]|0\.[1-9])' "$tmp/formation"; then
    echo "test_bench_smoke: FAIL: formation.py (exit $rc)"
    exit 1
fi

"$PYTHON" - "$tmp/out" "$systems" <<'EOF'
import json, os, sys

out, systems = sys.argv [1], sys.argv [2].split (",")
data = json.load (open (os.path.join (out, "results.json")))
summary = data ["summary"] ["4"]
netns = data ["meta"] ["netns"]
failures = []

#  figure -> (low, high) exclusive bounds of a sane median. Times: within
#  the tool's own deadlines (90 s join, 60 s detection, 20 s leave, 10 s
#  key and event), no tighter: this checks that every scenario completes
#  and gives a figure, not how fast (Serf's join takes 30 s now and then)
#  Serf's figures read from its log get 1 s more than the deadline (the
#  tool reads the logs for 1 s after the handlers' wait ends): a leave
#  that Serf's handlers missed can be logged at 20.8 s
ranges = {
    "join_ms": (0, 90000), "join_log_ms": (0, 91000),
    "key_ms": (0, 10000), "key_log_ms": (0, 11000),
    "event_ms": (0, 10000),
    "key_seen_ms": (0, 10000), "event_seen_ms": (0, 10000),
    "tree_hops_mean": (0.5, 64), "tree_hops_max": (0.5, 64),
    "crash_ms": (0, 60000), "crash_log_ms": (0, 61000),
    "freeze_ms": (0, 60000), "freeze_log_ms": (0, 61000),
    "leave_ms": (0, 20000), "leave_log_ms": (0, 21000),
    "idle_cpu_pct": (0, 100), "rss_mib": (0.5, 1024), "uss_mib": (0.1, 1024),
    "bytes_node_s": (0, 1e7), "payload_node_s": (0, 1e7),
    "sender_frames": (0, 1000),
    "false_verdicts": (-1, 1), "leave_failed": (-1, 100),
    "suspicions": (-1, 1000),
}
#  Serf may miss these at N = 4 (see the header)
serf_may_miss = {"leave_ms", "leave_log_ms", "leave_failed"}

for figure in data ["figures"]:
    key, which = figure ["key"], figure ["systems"]
    for system in systems:
        if which not in ("both", system):
            continue
        if key == "bytes_node_s" and not netns:
            continue
        s = summary.get (system, {}).get (key)
        may_miss = system == "serf" and key in serf_may_miss
        if s is None or s ["count"] == 0:
            if not may_miss:
                failures.append ("%s %s: no figure" % (system, key))
            continue
        if s ["missed"] and system == "rumor":
            failures.append ("%s %s: %d samples past the deadline"
                             % (system, key, s ["missed"]))
        low, high = ranges [key]
        if not low < s ["median"] < high:
            failures.append ("%s %s: %r not in (%g, %g)"
                             % (system, key, s ["median"], low, high))

#  rumor's times are its agents' stamps; this client reads each event
#  after its agent stamped it, so no stamped median is later than the read
for stamped in ("key_ms", "event_ms"):
    a = summary.get ("rumor", {}).get (stamped)
    b = summary.get ("rumor", {}).get (stamped.replace ("_ms", "_seen_ms"))
    if a and b and a ["count"] and b ["count"] and a ["median"] > b ["median"]:
        failures.append ("rumor %s: stamped %r after read %r"
                         % (stamped, a ["median"], b ["median"]))

#  The table: a row per figure shown, and the ratio when both ran
md = open (os.path.join (out, "results.md")).read ()
for label in ("join: all list N alive", "event heard by all others",
              "kill -9 until all report failed", "idle CPU per node"):
    if label not in md:
        failures.append ("results.md has no row '%s'" % label)
if len (systems) == 2 and "rumor/Serf" not in md:
    failures.append ("results.md has no rumor/Serf ratio")
csv = open (os.path.join (out, "results.csv")).read ().splitlines ()
if len (csv) < 10 or csv [0] != "system,n,rep,figure,value":
    failures.append ("results.csv is not as expected")

for failure in failures:
    print ("test_bench_smoke: FAIL: " + failure)
if failures:
    sys.exit (1)
print ("test_bench_smoke: every scenario measured and sane (%s)"
       % ", ".join (systems))
EOF
