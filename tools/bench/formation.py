#!/usr/bin/python3
#  formation.py - what it costs a rumor cluster to form, and where its
#  join time goes
#
#  rumor_bench.py times the join (every node lists N alive, from the last
#  start). This starts N rumord agents the same way (same observer, same
#  network namespace when run as root, loopback beacon by default), waits
#  for the join, and prints per run: the join time; the CPU all agents used
#  from the first start until the join, against the wall time (formation is
#  CPU-bound when that nears the machine's cores); when each node first
#  listed all N (percentiles); and per node, the connections it opened
#  (supervisor.links_opened) and accepted (router_accepted), the frames it
#  sent back over a peer's own connection (routed), frames and bytes sent,
#  beacons read, Joins sent.
#
#  Usage: tools/bench/formation.py [--rumord build/rumord] [--n 64]
#         [--reps 3] [--profile local] [--rumor-join beacon|seed]
#         [--no-netns]
#  Exit 0 when every run formed, 1 otherwise, 77 without python3-zmq (as
#  rumor_bench.py).

import argparse
import os
import sys
import time

sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import rumor_bench as rb         # noqa: E402

#  Counters averaged per node, in the order printed
COUNTERS = (
    "supervisor.links_opened", "supervisor.router_accepted",
    "supervisor.routed", "supervisor.frames_out", "supervisor.bytes_out",
    "beacon.heard", "membership.joins_sent",
)


def percentile (values, fraction):
    return values [min (len (values) - 1, int (len (values) * fraction))]


def run_once (bench, n, rep):
    cluster = rb.RumorCluster (bench, n, "form-%d-%d" % (os.getpid (), rep))
    try:
        wall0 = time.monotonic ()
        cluster.start ()
        ms = cluster.join ()
        wall = (time.monotonic () - wall0) * 1e3
        cpu = sum (rb.cpu_ns (p.pid) or 0 for p in cluster.procs) / 1e6
        if ms is None:
            print ("run %d: the cluster did not form" % rep)
            return False
        done = sorted ((v.complete_at - cluster.t_started) / 1e6
                       for v in cluster.views if v.complete_at)
        print ("run %d: join %.0f ms; agents' CPU %.0f ms over %.0f ms "
               "(%.2f cores)" % (rep, ms, cpu, wall, cpu / wall))
        print ("  each node complete (ms from the last start): first %.0f, "
               "median %.0f, 90%% %.0f, last %.0f" % (
                   done [0], percentile (done, 0.5), percentile (done, 0.9),
                   done [-1]))
        sums = dict.fromkeys (COUNTERS, 0)
        for i in cluster.live_indexes ():
            stats = cluster.stats (i)
            for name in COUNTERS:
                sums [name] += stats.get (name, 0)
        print ("  per node: " + ", ".join (
            "%s %.1f" % (name.split (".") [1], sums [name] / n)
            for name in COUNTERS))
        return True
    finally:
        cluster.cleanup ()


def main ():
    parser = argparse.ArgumentParser (
        description = "the cost and timeline of a rumor cluster's formation")
    parser.add_argument ("--rumord", default = os.path.join (
        rb.SOURCE, "build", "rumord"))
    parser.add_argument ("--n", type = int, default = 64)
    parser.add_argument ("--reps", type = int, default = 3)
    parser.add_argument ("--profile", default = "local",
                         choices = ["local", "lan", "wan"])
    parser.add_argument ("--rumor-join", default = "beacon",
                         choices = ["beacon", "seed"])
    parser.add_argument ("--no-netns", dest = "netns", action = "store_false")
    args = parser.parse_args ()
    if args.n < 2 or args.n > 512 or args.reps < 1:
        parser.error ("--n between 2 and 512, --reps at least 1")
    #  The bench's own options, for the cluster class
    argv = ["formation", "--rumord", args.rumord, "--systems", "rumor",
            "--sizes", str (args.n), "--profile", args.profile,
            "--rumor-join", args.rumor_join]
    if not args.netns:
        argv.append ("--no-netns")
    sys.argv = argv
    bench = rb.Bench (rb.parse_args ())
    def body ():
        formed = [run_once (bench, args.n, rep)
                  for rep in range (1, args.reps + 1)]
        return 0 if all (formed) else 1
    return rb.run_probe (bench, "form", body)


if __name__ == "__main__":
    sys.exit (main ())
