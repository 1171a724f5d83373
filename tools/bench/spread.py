#!/usr/bin/python3
#  spread.py - how long each write and each event takes to reach a whole
#  rumor cluster, one figure per write, and what it costs in messages
#
#  rumor_bench.py reports the median of a few samples; a median hides the
#  writes that waited for an anti-entropy round. This starts N rumord agents
#  the way rumor_bench.py does (same observer, same network namespace when
#  run as root, loopback beacon), waits for the join, then alternates
#  WRITES events and WRITES key writes, and prints for each kind the time
#  until the last node had it, every write sorted, and the frames sent for
#  one: Delta pushes of every node (anti_entropy.pushes_sent +
#  pushes_forwarded) and round Deltas (anti_entropy.deltas_sent) for keys,
#  the sayer's app.eager_sent + app.ihave_sent for events.
#
#  Usage: tools/bench/spread.py [--rumord build/rumord] [--n 64]
#         [--writes 25] [--profile local] [--no-netns]
#  Exit 0 when every write reached every node, 1 otherwise, 77 without
#  python3-zmq (as rumor_bench.py).

import argparse
import os
import statistics
import sys

sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import rumor_bench as rb         # noqa: E402


def total (cluster, counters):
    return sum (cluster.stats (i).get (name, 0)
                for i in cluster.live_indexes () for name in counters)


def report (kind, times, cost):
    done = sorted (t for t in times if t is not None)
    missed = len (times) - len (done)
    print ("%s: %d writes, median %.1f ms, max %.1f ms%s" % (
        kind, len (times), statistics.median (done) if done else 0,
        done [-1] if done else 0,
        ", %d never reached every node" % missed if missed else ""))
    print ("  each (ms): " + " ".join ("%.1f" % t for t in done))
    print ("  " + cost)


def run (args, bench):
    cluster = rb.RumorCluster (bench, args.n, "spread-%d" % os.getpid ())
    try:
        cluster.start ()
        if cluster.join () is None:
            print ("spread: the cluster did not form", file = sys.stderr)
            return 1
        cluster.pump_for (3)
        events, keys, frames = [], [], 0
        pushes = ("anti_entropy.pushes_sent", "anti_entropy.pushes_forwarded")
        pushes0 = total (cluster, pushes)
        rounds0 = total (cluster, ("anti_entropy.deltas_sent",))
        for k in range (args.writes):
            ms, sent = cluster.event (k)
            events.append (ms)
            frames += sent
            keys.append (cluster.key (k))
            cluster.pump (0.05)
        pushed = total (cluster, pushes) - pushes0
        rounds = total (cluster, ("anti_entropy.deltas_sent",)) - rounds0
        report ("event", events, "frames the sayer sent per event: %.1f"
                % (frames / args.writes))
        report ("key", keys, "pushes per write, all nodes: %.1f; round "
                "Deltas during the writes: %d" % (pushed / args.writes,
                                                 rounds))
        return 0 if None not in events + keys else 1
    finally:
        cluster.cleanup ()


def main ():
    parser = argparse.ArgumentParser (
        description = "per-write spread of keys and events on rumor")
    parser.add_argument ("--rumord", default = os.path.join (
        rb.SOURCE, "build", "rumord"))
    parser.add_argument ("--n", type = int, default = 64)
    parser.add_argument ("--writes", type = int, default = 25)
    parser.add_argument ("--profile", default = "local",
                         choices = ["local", "lan", "wan"])
    parser.add_argument ("--no-netns", dest = "netns", action = "store_false")
    args = parser.parse_args ()
    if args.n < 4 or args.n > 512 or args.writes < 1:
        parser.error ("--n between 4 and 512, --writes at least 1")
    #  The bench's own options, for the cluster class
    argv = ["spread", "--rumord", args.rumord, "--systems", "rumor",
            "--sizes", str (args.n), "--profile", args.profile]
    if not args.netns:
        argv.append ("--no-netns")
    sys.argv = argv
    bench = rb.Bench (rb.parse_args ())
    return rb.run_probe (bench, "spread", lambda: run (args, bench))


if __name__ == "__main__":
    sys.exit (main ())
