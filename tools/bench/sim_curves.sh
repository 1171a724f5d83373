#!/bin/bash
#  sim_curves.sh - the simulator's scaling and detection curves (issue 6)
#
#  Usage: tools/bench/sim_curves.sh [BUILD_DIR] [OUT_DIR]
#         (defaults: build, docs/bench)
#
#  1. Scaling: for each N of SIM_NODES, `rumor-sim --scenario update` with
#     SIM_SEEDS_<N> seeds (fewer at large N: a run of 5,000 nodes takes
#     about 7 minutes and 3.5 GB). SIM_LARGE=1 adds N = 5000 and 10000 to
#     the default sizes (10,000 needs about 16 GB: skipped below that). One run gives both curves: its warm-up is the join
#     scenario's trace up to its goal (rumor-sim prints a "warm-up join:"
#     line with the join's figures; same seed, same trace as --scenario
#     join), then the update is timed. Rounds = time to the goal / 200 ms.
#  2. Detection: N = SIM_DETECT_NODES (100), `--scenario crash` at each loss
#     of SIM_LOSSES with SIM_DETECT_SEEDS seeds, the cluster formed without
#     loss (--clean-warm-up), the crash SIM_DETECT_SETTLE ms (10000) after
#     the warm-up's own 5 s (--settle: every member is past the detector's
#     10 s first-contact grace, as in the live benchmark's settled
#     cluster), and observed 30 s past detection (--linger):
#     time until every live node lists the crashed one DEAD, and false
#     verdicts (live nodes declared SUSPECT or DEAD) after the crash.
#  Writes OUT_DIR/sim_scaling_raw.csv, sim_scaling.csv, sim_detect_raw.csv,
#  sim_detect.csv, and with gnuplot sim_rounds.png, sim_messages.png,
#  sim_detect.png. A point whose memory would not fit in MemAvailable (less
#  SIM_RESERVE_MB for the rest of the machine) is skipped and listed in
#  sim_skipped.txt. Exit 1 if a run failed to converge or a tool is missing.
#
#  The simulator allocates as fast as it computes: glibc malloc is half its
#  time, so libmimalloc is preloaded when installed (SIM_MALLOC=none to
#  skip). The trace hash is the same with either allocator: same results.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
out=${2:-$root/docs/bench}
sim=$build/rumor-sim
[ -x "$sim" ] || { echo "sim_curves: no $sim (build first)"; exit 1; }
command -v python3 > /dev/null || { echo "sim_curves: needs python3"; exit 1; }
mkdir -p "$out"

nodes=${SIM_NODES:-10 20 50 100 200 500 1000 2000 3000}
[ "${SIM_LARGE:-0}" = 1 ] && [ -z "${SIM_NODES:-}" ] && nodes="$nodes 5000 10000"
losses=${SIM_LOSSES:-0 0.05 0.1 0.2 0.3}
detect_nodes=${SIM_DETECT_NODES:-100}
detect_seeds=${SIM_DETECT_SEEDS:-5}
detect_settle=${SIM_DETECT_SETTLE:-10000}
reserve_mb=${SIM_RESERVE_MB:-3000}
malloc=${SIM_MALLOC:-/usr/lib/x86_64-linux-gnu/libmimalloc.so.2}
preload=
[ "$malloc" != none ] && [ -e "$malloc" ] && preload=$malloc
#  Measured peak memory per (node, member) pair, nearly all in the cores'
#  per-member records: 144 bytes at N = 5,000 and 143 at 3,000 with
#  mimalloc, 147 at 3,000 with glibc malloc (more at small N, where each
#  node's fixed costs count: 200 at 1,000); with some room
if [ -n "$preload" ]; then default_pair_bytes=170; else default_pair_bytes=175; fi
pair_bytes=${SIM_PAIR_BYTES:-$default_pair_bytes}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sim_curves.XXXXXX") || exit 1
child=
cleanup () {
    [ -n "$child" ] && kill "$child" 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
status=0

seeds_for () {
    local n=$1 var="SIM_SEEDS_$1"
    if [ -n "${!var:-}" ]; then echo "${!var}"
    elif [ "$n" -le 200 ]; then echo 5
    elif [ "$n" -le 500 ]; then echo 3
    elif [ "$n" -le 1000 ]; then echo 2
    else echo 1
    fi
}

#  Run rumor-sim in the background (so a trap can stop it), recording its
#  peak memory; prints its output file
run_sim () {
    local name=$1; shift
    LD_PRELOAD=$preload /usr/bin/time -f "max rss kb: %M" \
        -o "$tmp/$name.time" "$sim" --quiet "$@" > "$tmp/$name.out" 2>&1 &
    child=$!
    wait "$child"
    local rc=$?
    child=
    cat "$tmp/$name.time" >> "$tmp/$name.out" 2> /dev/null
    return $rc
}

fits () {
    local n=$1
    local avail_kb need_mb
    avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
    need_mb=$(( n * n * pair_bytes / 1048576 + 100 ))
    [ $(( avail_kb / 1024 - reserve_mb )) -ge "$need_mb" ] && return 0
    echo "N=$n skipped: needs about $need_mb MB, $(( avail_kb / 1024 )) MB" \
         "available less $reserve_mb MB kept for the machine" \
         >> "$out/sim_skipped.txt"
    echo "sim_curves: N=$n skipped (memory: needs ~$need_mb MB)"
    return 1
}

field () {       #  field FILE SED-EXPRESSION
    sed -n "$2" "$1" | head -1
}

#  --------------------------------------------------------------------------
#  1. Scaling

: > "$out/sim_skipped.txt"
raw=$out/sim_scaling_raw.csv
echo "nodes,seed,converged,join_rounds,join_time_s,join_msgs_per_node_s,join_bytes_per_node_s,update_time_s,update_msgs_per_node_s,update_bytes_per_node_s,false_dead,false_suspect,real_s,max_rss_kb" > "$raw"
for n in $nodes; do
    fits "$n" || continue
    for seed in $(seq 1 "$(seeds_for "$n")"); do
        name=scale-$n-$seed
        run_sim "$name" --nodes "$n" --scenario update --seed "$seed"
        rc=$?
        f=$tmp/$name.out
        [ $rc -eq 0 ] || { status=1; echo "sim_curves: N=$n seed $seed exited $rc"; }
        jr=$(field "$f" 's/^warm-up join: rounds \([0-9]*\),.*/\1/p')
        jt=$(field "$f" 's/^warm-up join: .*goal reached after \([0-9.]*\) s.*/\1/p')
        jm=$(field "$f" 's/^warm-up join: .*, \([0-9.]*\) messages and.*/\1/p')
        jb=$(field "$f" 's/^warm-up join: .* and \([0-9]*\) bytes.*/\1/p')
        conv=$(field "$f" 's/^converged: \(.*\)/\1/p')
        ut=$(field "$f" 's/^goal reached after: \([0-9.]*\) s/\1/p')
        um=$(field "$f" 's/^messages per node per second: \(.*\)/\1/p')
        ub=$(field "$f" 's/^bytes per node per second: \(.*\)/\1/p')
        fd=$(field "$f" 's/^false verdicts: \([0-9]*\) dead, \([0-9]*\) suspect/\1/p')
        fs=$(field "$f" 's/^false verdicts: \([0-9]*\) dead, \([0-9]*\) suspect/\2/p')
        rt=$(field "$f" 's/^real time: \([0-9.]*\) s/\1/p')
        rss=$(field "$f" 's/^max rss kb: \([0-9]*\)/\1/p')
        echo "$n,$seed,$conv,$jr,$jt,$jm,$jb,$ut,$um,$ub,$fd,$fs,$rt,$rss" >> "$raw"
        echo "sim_curves: N=$n seed $seed: join ${jt}s ($jr rounds), update ${ut}s, ${um} msgs/node/s, real ${rt}s, ${rss} KB"
    done
done

#  --------------------------------------------------------------------------
#  2. Detection against loss

draw=$out/sim_detect_raw.csv
echo "nodes,loss,seed,converged,detect_s,false_dead,false_suspect,msgs_per_node_s,real_s" > "$draw"
for loss in $losses; do
    for seed in $(seq 1 "$detect_seeds"); do
        name=crash-$loss-$seed
        run_sim "$name" --nodes "$detect_nodes" --scenario crash \
            --loss "$loss" --seed "$seed" --clean-warm-up --linger 30000 \
            --settle "$detect_settle"
        f=$tmp/$name.out
        conv=$(field "$f" 's/^converged: \(.*\)/\1/p')
        [ "$conv" = yes ] || { status=1; echo "sim_curves: crash loss $loss seed $seed did not converge"; }
        dt=$(field "$f" 's/^goal reached after: \([0-9.]*\) s/\1/p')
        fd=$(field "$f" 's/^false verdicts since the action: \([0-9]*\) dead, \([0-9]*\) suspect/\1/p')
        fs=$(field "$f" 's/^false verdicts since the action: \([0-9]*\) dead, \([0-9]*\) suspect/\2/p')
        mm=$(field "$f" 's/^messages per node per second: \(.*\)/\1/p')
        rt=$(field "$f" 's/^real time: \([0-9.]*\) s/\1/p')
        echo "$detect_nodes,$loss,$seed,$conv,$dt,$fd,$fs,$mm,$rt" >> "$draw"
        echo "sim_curves: crash loss $loss seed $seed: detected ${dt}s, false dead $fd, false suspect $fs"
    done
done

#  --------------------------------------------------------------------------
#  3. Summaries: median, min, max per point

python3 - "$out" << 'EOF' || status=1
import csv, math, statistics, sys
out = sys.argv[1]

def rows(name):
    with open(f"{out}/{name}") as f:
        return list(csv.DictReader(f))

def num(text):
    try:
        return float(text)
    except ValueError:
        return None

def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return ["", "", ""]
    return [f"{statistics.median(values):g}", f"{min(values):g}",
            f"{max(values):g}"]

scaling = rows("sim_scaling_raw.csv")
with open(f"{out}/sim_scaling.csv", "w") as f:
    f.write("nodes,seeds,log3_n,join_rounds_med,join_rounds_min,join_rounds_max,"
            "update_rounds_med,update_rounds_min,update_rounds_max,"
            "join_msgs_med,join_msgs_min,join_msgs_max,"
            "update_msgs_med,update_msgs_min,update_msgs_max,"
            "join_bytes_med,update_bytes_med,real_s_max,max_rss_kb\n")
    for n in sorted({int(r["nodes"]) for r in scaling}):
        group = [r for r in scaling if int(r["nodes"]) == n]
        rounds = lambda key: [num(r[key]) / 0.2 if num(r[key]) is not None
                              else None for r in group]
        col = lambda key: [num(r[key]) for r in group]
        line = [str(n), str(len(group)), f"{math.log(n, 3):.3f}"]
        line += stats(rounds("join_time_s")) + stats(rounds("update_time_s"))
        line += stats(col("join_msgs_per_node_s"))
        line += stats(col("update_msgs_per_node_s"))
        line += [stats(col("join_bytes_per_node_s"))[0],
                 stats(col("update_bytes_per_node_s"))[0],
                 f"{max(v for v in col('real_s') if v is not None):g}",
                 f"{max(v for v in col('max_rss_kb') if v is not None):g}"]
        f.write(",".join(line) + "\n")

detect = rows("sim_detect_raw.csv")
with open(f"{out}/sim_detect.csv", "w") as f:
    f.write("nodes,loss_pct,seeds,converged,detect_s_med,detect_s_min,"
            "detect_s_max,false_dead_total,false_dead_max,"
            "false_suspect_med,false_suspect_min,false_suspect_max\n")
    for loss in sorted({float(r["loss"]) for r in detect}):
        group = [r for r in detect if float(r["loss"]) == loss]
        dead = [int(r["false_dead"] or 0) for r in group]
        line = [group[0]["nodes"], f"{loss * 100:g}", str(len(group)),
                str(sum(r["converged"] == "yes" for r in group))]
        line += stats([num(r["detect_s"]) for r in group])
        line += [str(sum(dead)), str(max(dead))]
        line += stats([num(r["false_suspect"]) for r in group])
        f.write(",".join(line) + "\n")
EOF

#  --------------------------------------------------------------------------
#  4. Plots

if command -v gnuplot > /dev/null; then
    gnuplot -e "out='$out'" "$root/tools/bench/sim_curves.gp" || status=1
else
    echo "sim_curves: gnuplot not installed (apt-get install gnuplot-nox): no PNG"
    status=1
fi
echo "sim_curves: wrote $out/sim_*.csv$(command -v gnuplot > /dev/null && echo ' and sim_*.png')"
exit $status
