#!/usr/bin/python3
#  rumor_bench.py - rumor against Serf, side by side, live on loopback
#
#  Starts N rumord agents (or N serf agents) on this host and measures, each
#  repetition alternating rumor and Serf:
#
#    join     all N started -> every node lists N alive (from the last start)
#    key      one node writes a key -> every other node has it (rumor: a key
#             of the node's keyspace; Serf has no key/value store, so a tag
#             set through RPC and seen in member-update events)
#    event    one node says an event -> every other node heard it
#    crash    kill -9 one node -> every survivor reports it failed
#    freeze   SIGSTOP one node -> every survivor reports it failed
#    leave    one node leaves gracefully -> every survivor reports it left
#    idle     CPU (% of one core) and resident memory per node, and bytes per
#             node per second, once the cluster is formed and quiet
#    sender   (rumor) frames the sayer sends for one event, to show it does
#             not grow with N
#    false    verdicts (FAILED/LEFT) about a node no fault touched, whole run
#
#  How it observes. rumor: ONE process (this one) holds a ZeroMQ DEALER to
#  every agent's control socket, subscribed to member, key and event
#  streams (schemas/control.proto), polls them all and stamps each event
#  with CLOCK_MONOTONIC on arrival; the "said" time is read right before the
#  request is sent. Serf: every agent runs an event handler (a sh script)
#  that appends "<date +%s%N> <event> <member line>" to a file of its own,
#  as the issue asks; Serf commands (tags, event, leave) go through Serf's
#  msgpack RPC on a connection opened beforehand, so no CLI start-up is
#  timed. Serf's times therefore include its handler start (fork of sh and
#  date, about a millisecond) and rumor's the control socket and this
#  Python process; both are in the numbers, and both are said.
#
#  Where: when run as root, each cluster lives in a network namespace of its
#  own (made and removed here) with only its loopback up: no other test can
#  hear it, and the loopback's byte counters in /proc/net/dev are then the
#  cluster's own traffic (IP bytes, both systems measured the same way).
#  Without root (or with --no-netns) agents bind 127.0.0.1 in the host's
#  namespace, and bytes come from rumor's own counters only.
#
#  Both systems run their "local" timing profile by default (rumord
#  --profile local, serf agent -profile local; --profile lan|wan for both),
#  said in the results. rumor nodes find each other by the loopback beacon
#  (--rumor-join seed: all join the first node, as the Serf agents do).
#
#  Output (--out DIR): results.json (every sample and the summaries, with the
#  command, date, machine), results.csv (one sample a row), results.md
#  (median [min..max] per figure, and the ratio rumor/Serf, ready to paste
#  into docs/BENCHMARKS.md), results.dat/.gp/.png (times against N, drawn
#  with gnuplot when installed). --report DIR/results.json rebuilds the
#  table and plot. Exit 0 when complete; 1 if a cluster run failed, a rumor
#  sample missed its deadline, or a figure was never measured (Serf's misses
#  are results: counted in the table); 2 on usage errors; 77 without
#  python3-zmq.
#
#  Usage: tools/bench/rumor_bench.py --rumord build/rumord --sizes 8,32,64
#         [--reps 3] [--systems rumor,serf] [--samples 5] [--idle 10] [--settle 10]
#         [--profile local] [--rumor-join beacon] [--out DIR] [--keep]

import argparse
import ctypes
import datetime
import json
import os
import platform
import random
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname (os.path.abspath (__file__))
SOURCE = os.path.normpath (os.path.join (HERE, "..", ".."))
sys.path.insert (0, os.path.join (SOURCE, "demos", "python"))

try:
    import zmq
except ImportError:                             # pragma: no cover
    sys.stderr.write ("rumor_bench: python3-zmq is missing (run with "
                      "/usr/bin/python3; apt-get install python3-zmq)\n")
    sys.exit (77)

from rumor_client import load_control_module, ClientError

#  Deadlines of the scenarios, in seconds: a miss is recorded, not waited
#  for. Serf's unconfirmed suspicion can last 6 x 3 x log10(N) probe
#  intervals of 1 s (Lifeguard), hence the long detection deadlines.
JOIN_DEADLINE = 90.0
PROPAGATE_DEADLINE = 10.0
DETECT_DEADLINE = 60.0
LEAVE_DEADLINE = 20.0

#  Serf's agent coalesces member events (join, update, failed, leave) before
#  its handlers see them: it waits for 1 s without news, at most 3 s
#  (CoalescePeriod/QuiescentPeriod, fixed in the agent). The *_log figures
#  time the same member events from the agent's log lines instead
#  ("serf: EventMemberFailed: ..."), read through a pipe by this process
#  and stamped on arrival: what memberlist and serf know before coalescing.
FIGURES = [
    #  key, label, unit, systems, rumor figure shown on a Serf-only row
    ("join_ms", "join: all list N alive, from the last start", "ms", "both"),
    ("join_log_ms", "join, Serf read from its log (before coalescing)", "ms",
     "serf", "join_ms"),
    ("key_ms", "key on all others (Serf: a tag)", "ms", "both"),
    ("key_log_ms", "key, Serf's tag read from its log", "ms", "serf",
     "key_ms"),
    ("key_seen_ms", "key, rumor read by this client (its arrival, not the "
     "node's stamp)", "ms", "rumor"),
    ("event_ms", "event heard by all others", "ms", "both"),
    ("event_seen_ms", "event, rumor read by this client", "ms", "rumor"),
    ("crash_ms", "kill -9 until all report failed", "ms", "both"),
    ("crash_log_ms", "kill -9, Serf read from its log", "ms", "serf",
     "crash_ms"),
    ("freeze_ms", "SIGSTOP until all report failed", "ms", "both"),
    ("freeze_log_ms", "SIGSTOP, Serf read from its log", "ms", "serf",
     "freeze_ms"),
    ("leave_ms", "graceful leave until all report left", "ms", "both"),
    ("leave_log_ms", "graceful leave, Serf read from its log", "ms", "serf",
     "leave_ms"),
    ("idle_cpu_pct", "idle CPU per node, % of one core", "%", "both"),
    ("rss_mib", "resident memory per node", "MiB", "both"),
    ("uss_mib", "memory only the node holds (USS: its private pages)",
     "MiB", "both"),
    ("bytes_node_s", "loopback bytes per node per second (IP)", "B/s",
     "both"),
    ("payload_node_s", "rumor's own bytes_out per node per second", "B/s",
     "rumor"),
    ("sender_frames", "frames the sayer sends for one event", "frames",
     "rumor"),
    ("tree_hops_mean", "event hops to a node, mean (Plumtree tree depth)",
     "hops", "rumor"),
    ("tree_hops_max", "event hops to the farthest node", "hops", "rumor"),
    ("false_verdicts", "false verdicts (FAILED/LEFT of a healthy node)",
     "count", "both"),
    ("leave_failed", "nodes that reported the leaver failed (not left "
     "first)", "count", "both"),
    ("suspicions", "SUSPECT events about healthy nodes (not verdicts)",
     "count", "rumor"),
]


def log (message):
    sys.stderr.write ("[%s] %s\n" % (time.strftime ("%H:%M:%S"), message))
    sys.stderr.flush ()


#  --------------------------------------------------------------------------
#  Network namespace: joined by this process with setns(2) (Python 3.11 has
#  no os.setns), so every agent started afterwards inherits it

CLONE_NEWNET = 0x40000000


class Netns (object):
    def __init__ (self, name):
        self.name = name
        self.libc = ctypes.CDLL ("libc.so.6", use_errno = True)
        self.home = os.open ("/proc/self/ns/net", os.O_RDONLY)
        self.created = False

    def create (self):
        subprocess.run (["ip", "netns", "add", self.name], check = True)
        self.created = True
        subprocess.run (["ip", "-n", self.name, "link", "set", "lo", "up"],
                        check = True)

    def enter (self):
        fd = os.open ("/run/netns/" + self.name, os.O_RDONLY)
        try:
            if self.libc.setns (fd, CLONE_NEWNET) != 0:
                raise OSError (ctypes.get_errno (), "setns")
        finally:
            os.close (fd)

    def leave (self):
        if self.libc.setns (self.home, CLONE_NEWNET) != 0:
            raise OSError (ctypes.get_errno (), "setns home")

    def destroy (self):
        if self.created:
            subprocess.run (["ip", "netns", "del", self.name],
                            stderr = subprocess.DEVNULL)
            self.created = False


def run_probe (bench, tag, body):
    """The probes' main (spread.py, formation.py): body () in a network
    namespace of its own when bench.args.netns; SIGTERM/SIGINT unwind
    through the finally blocks, which kill every agent started and remove
    the namespace and temp dir. body's exit code, 130 when interrupted."""
    def stop (signum, frame):
        raise KeyboardInterrupt ()
    signal.signal (signal.SIGTERM, stop)
    netns = None
    try:
        if bench.args.netns:
            netns = Netns ("rumor-%s-%d" % (tag, os.getpid ()))
            netns.create ()
            netns.enter ()
        return body ()
    except KeyboardInterrupt:
        print ("%s: interrupted" % tag, file = sys.stderr)
        return 130
    finally:
        if netns:
            netns.leave ()
            netns.destroy ()


def lo_bytes ():
    """Bytes sent on this namespace's loopback (each packet once)."""
    with open ("/proc/self/net/dev") as dev:
        for line in dev:
            name, _, rest = line.partition (":")
            if name.strip () == "lo":
                return int (rest.split () [8])
    return 0


#  --------------------------------------------------------------------------
#  Process sampling: CPU time from schedstat (ns, summed over threads) and
#  resident memory from /proc/PID/status

def cpu_ns (pid):
    total = 0
    try:
        for task in os.listdir ("/proc/%d/task" % pid):
            try:
                with open ("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                    total += int (f.read ().split () [0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return total


def rss_kib (pid):
    try:
        with open ("/proc/%d/status" % pid) as status:
            for line in status:
                if line.startswith ("VmRSS:"):
                    return int (line.split () [1])
    except OSError:
        pass
    return None


def uss_kib (pid):
    """Unique set size: the pages only this process holds. VmRSS also counts
    every shared library page it maps (about 7 MiB of libc, libstdc++,
    libzmq and theirs for rumord), which the system holds once for all."""
    try:
        total = 0
        with open ("/proc/%d/smaps_rollup" % pid) as rollup:
            for line in rollup:
                if line.startswith (("Private_Clean:", "Private_Dirty:")):
                    total += int (line.split () [1])
        return total
    except (OSError, ValueError, IndexError):
        return None


#  --------------------------------------------------------------------------
#  A small msgpack codec, enough for Serf's RPC (Debian's python3-msgpack is
#  not among rumor's dependencies and is not needed for this)

class Incomplete (Exception):
    pass


def mp_pack (obj):
    if obj is None:
        return b"\xc0"
    if obj is True:
        return b"\xc3"
    if obj is False:
        return b"\xc2"
    if isinstance (obj, int):
        if 0 <= obj < 128:
            return struct.pack ("B", obj)
        if obj >= 0:
            return b"\xcf" + struct.pack (">Q", obj)
        return b"\xd3" + struct.pack (">q", obj)
    if isinstance (obj, str):
        obj = obj.encode ()
    if isinstance (obj, bytes):
        #  Raw (old-spec str) framing: Go's codec decodes it as string or
        #  []byte alike
        if len (obj) < 32:
            return struct.pack ("B", 0xa0 | len (obj)) + obj
        if len (obj) < 65536:
            return b"\xda" + struct.pack (">H", len (obj)) + obj
        return b"\xdb" + struct.pack (">I", len (obj)) + obj
    if isinstance (obj, (list, tuple)):
        head = (struct.pack ("B", 0x90 | len (obj)) if len (obj) < 16
                else b"\xdc" + struct.pack (">H", len (obj)))
        return head + b"".join (mp_pack (item) for item in obj)
    if isinstance (obj, dict):
        head = (struct.pack ("B", 0x80 | len (obj)) if len (obj) < 16
                else b"\xde" + struct.pack (">H", len (obj)))
        return head + b"".join (mp_pack (k) + mp_pack (v)
                                for k, v in obj.items ())
    raise TypeError ("cannot pack %r" % type (obj))


def mp_unpack (buf, pos = 0):
    """(object, next position); raises Incomplete if buf ends early."""
    def take (count):
        if pos + count > len (buf):
            raise Incomplete ()
        return buf [pos:pos + count]

    if pos >= len (buf):
        raise Incomplete ()
    code = buf [pos]
    pos += 1
    if code < 0x80:
        return code, pos
    if code >= 0xe0:
        return code - 256, pos
    if 0x80 <= code <= 0x8f or code in (0xde, 0xdf):
        if code <= 0x8f:
            count = code & 0x0f
        else:
            size = 2 if code == 0xde else 4
            count = int.from_bytes (take (size), "big")
            pos += size
        result = {}
        for _ in range (count):
            key, pos = mp_unpack (buf, pos)
            value, pos = mp_unpack (buf, pos)
            if isinstance (key, bytes):
                key = key.decode ("utf-8", "replace")
            result [key] = value
        return result, pos
    if 0x90 <= code <= 0x9f or code in (0xdc, 0xdd):
        if code <= 0x9f:
            count = code & 0x0f
        else:
            size = 2 if code == 0xdc else 4
            count = int.from_bytes (take (size), "big")
            pos += size
        result = []
        for _ in range (count):
            item, pos = mp_unpack (buf, pos)
            result.append (item)
        return result, pos
    if 0xa0 <= code <= 0xbf or code in (0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6):
        if code <= 0xbf:
            length = code & 0x1f
        else:
            size = {0xd9: 1, 0xc4: 1, 0xda: 2, 0xc5: 2,
                    0xdb: 4, 0xc6: 4} [code]
            length = int.from_bytes (take (size), "big")
            pos += size
        data = take (length)
        return bytes (data), pos + length
    if code == 0xc0:
        return None, pos
    if code in (0xc2, 0xc3):
        return code == 0xc3, pos
    fixed = {0xcc: (1, False), 0xcd: (2, False), 0xce: (4, False),
             0xcf: (8, False), 0xd0: (1, True), 0xd1: (2, True),
             0xd2: (4, True), 0xd3: (8, True)}
    if code in fixed:
        size, signed = fixed [code]
        return int.from_bytes (take (size), "big", signed = signed), \
               pos + size
    if code in (0xca, 0xcb):
        size = 4 if code == 0xca else 8
        return struct.unpack (">f" if size == 4 else ">d", take (size)) [0], \
               pos + size
    if code in (0xd4, 0xd5, 0xd6, 0xd7, 0xd8):           #  fixext: skipped
        size = {0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16} [code]
        take (1 + size)
        return None, pos + 1 + size
    if code in (0xc7, 0xc8, 0xc9):                        #  ext: skipped
        size = {0xc7: 1, 0xc8: 2, 0xc9: 4} [code]
        length = int.from_bytes (take (size), "big")
        pos += size
        take (1 + length)
        return None, pos + 1 + length
    raise ValueError ("msgpack: bad code 0x%02x" % code)


class SerfRpc (object):
    """One connection to a serf agent's RPC address (handshake done)."""

    def __init__ (self, address, deadline):
        host, port = address.rsplit (":", 1)
        while True:
            try:
                self.sock = socket.create_connection ((host, int (port)),
                                                      timeout = 5)
                break
            except OSError:
                if time.monotonic () > deadline:
                    raise
                time.sleep (0.01)
        self.sock.setsockopt (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.seq = 0
        self.call ("handshake", {"Version": 1})

    def close (self):
        self.sock.close ()

    def _read (self):
        while True:
            try:
                obj, pos = mp_unpack (self.buf)
                self.buf = self.buf [pos:]
                return obj
            except Incomplete:
                data = self.sock.recv (65536)
                if not data:
                    raise OSError ("serf rpc: connection closed")
                self.buf += data

    def send (self, command, body = None):
        """Send a request; returns its sequence number."""
        self.seq += 1
        data = mp_pack ({"Command": command, "Seq": self.seq})
        if body is not None:
            data += mp_pack (body)
        self.sock.sendall (data)
        return self.seq

    def wait (self, seq):
        while True:
            header = self._read ()
            if isinstance (header, dict) and header.get ("Seq") == seq:
                error = header.get ("Error") or b""
                if error:
                    raise ClientError ("serf rpc: %s" % error)
                return

    def call (self, command, body = None):
        self.wait (self.send (command, body))


#  --------------------------------------------------------------------------
#  Views: what each observed node has reported, with arrival times (ns, in
#  the clock of its system: monotonic for rumor, realtime for Serf)

class View (object):
    def __init__ (self, name):
        self.name = name
        #  member name -> alive|suspect|failed|left; a node counts itself
        self.state = {name: "alive"}
        self.complete_at = None     #  when N members were first alive
        self.complete_exact = True  #  False: known only from a snapshot
        self.first = {}             #  (kind, member) -> first time
        self.times = {}             #  (kind, member) -> every time, in order
        self.keys = {}              #  (origin, key, value) -> first time
        self.heard = {}             #  (topic, payload) -> first time
        #  rumor: the same, when this client read it (the times above are
        #  the agent's own stamps, Event.at_us, as Serf's are its handlers')
        self.keys_seen = {}
        self.heard_seen = {}
        self.updates = {}           #  member -> times of its tag updates

    def mark (self, kind, member, t):
        self.first.setdefault ((kind, member), t)
        self.times.setdefault ((kind, member), []).append (t)

    def after (self, kind, member, t0):
        """The first time kind was reported about member at or after t0
        (an earlier false verdict about it must not count), or None."""
        return next ((t for t in self.times.get ((kind, member), ())
                      if t >= t0), None)

    def alive_count (self):
        return sum (1 for s in self.state.values () if s == "alive")


class Cluster (object):
    """What both systems share: views, verdict accounting, sampling."""

    def __init__ (self, bench, n, tag):
        self.bench = bench
        self.n = n
        self.tag = tag              #  unique per cluster run
        self.views = []
        self.pids = []
        self.procs = []
        self.faulted = {}           #  member name -> fault kind since when
        self.false_verdicts = 0
        self.suspicions = 0
        self.extra = {}             #  more figures: Serf's from its logs
        self.leave_failed = 0       #  leaver reported failed by a node
        self.dir = tempfile.mkdtemp (prefix = "rumor-bench-", dir = "/tmp")

    #  A verdict about a node no fault touched is false
    def on_verdict (self, kind, member):
        if member not in self.faulted:
            if kind == "suspect":
                self.suspicions += 1
            else:
                self.false_verdicts += 1
                log ("  false verdict: %s %s" % (kind, member))
        elif self.faulted [member] == "leave" and kind == "failed":
            #  Gone, so not false, but not what it did either
            self.leave_failed += 1

    def stop_all (self):
        for proc in self.procs:
            if proc.poll () is None:
                try:
                    os.kill (proc.pid, signal.SIGCONT)
                    os.kill (proc.pid, signal.SIGKILL)
                except OSError:
                    pass
        for proc in self.procs:
            try:
                proc.wait (timeout = 10)
            except subprocess.TimeoutExpired:
                pass

    def cleanup (self):
        self.stop_all ()
        if self.bench.keep:
            log ("  logs kept in %s" % self.dir)
        else:
            shutil.rmtree (self.dir, True)

    def live_indexes (self):
        return [i for i in range (self.n)
                if self.names [i] not in self.faulted]

    def sample_idle (self, seconds):
        """CPU % of one core and RSS MiB per node, loopback bytes per node
        per second, over `seconds` of quiet."""
        pids = [self.procs [i].pid for i in self.live_indexes ()]
        cpu0 = [cpu_ns (pid) for pid in pids]
        lo0 = lo_bytes () if self.bench.args.netns else None
        extra0 = self.counter_bytes ()
        t0 = time.monotonic ()
        #  Keep reading events meanwhile: an agent drops what a client does
        #  not read (bounded queue), and a verdict must not go unseen
        self.pump_for (seconds)
        elapsed = time.monotonic () - t0
        cpu1 = [cpu_ns (pid) for pid in pids]
        lo1 = lo_bytes () if self.bench.args.netns else None
        extra1 = self.counter_bytes ()
        used = [b - a for a, b in zip (cpu0, cpu1)
                if a is not None and b is not None]
        rss = [r for r in (rss_kib (pid) for pid in pids) if r is not None]
        uss = [r for r in (uss_kib (pid) for pid in pids) if r is not None]
        result = {
            "idle_cpu_pct": 100.0 * sum (used) / len (used) / 1e9 / elapsed,
            "rss_mib": sum (rss) / len (rss) / 1024.0,
        }
        if uss:
            result ["uss_mib"] = sum (uss) / len (uss) / 1024.0
        if lo0 is not None:
            result ["bytes_node_s"] = (lo1 - lo0) / len (pids) / elapsed
        if extra0 is not None and extra1 is not None:
            result ["payload_node_s"] = (extra1 - extra0) / len (pids) \
                                        / elapsed
        return result

    def counter_bytes (self):
        return None

    def pump_for (self, seconds):
        deadline = time.monotonic () + seconds
        while True:
            left = deadline - time.monotonic ()
            if left <= 0:
                return
            self.pump (min (left, 0.1))

    #  Wait until every view in `indexes` satisfies has (view) -> time|None;
    #  returns {index: time} (missing ones absent) after the deadline
    def wait_all (self, indexes, has, deadline_s, views = None):
        views = views or self.views
        deadline = time.monotonic () + deadline_s
        found = {}
        while True:
            for i in indexes:
                if i not in found:
                    t = has (views [i])
                    if t is not None:
                        found [i] = t
            if len (found) == len (indexes) or time.monotonic () > deadline:
                return found
            self.pump (0.02)

    def spread_ms (self, found, indexes, t0, what = ""):
        """Time until the last of indexes had it, in ms, or None."""
        if len (found) < len (indexes):
            missing = [self.names [i] for i in indexes if i not in found]
            log ("  %s: missing on %d nodes: %s" % (
                what, len (missing), " ".join (missing [:8])))
            return None
        return (max (found.values ()) - t0) / 1e6

    def measure (self, figure, indexes, has, t0, deadline_s, has_log = None):
        """Wait until every node in indexes has it; the time until the last
        did, in ms (None if some never did within the deadline)."""
        found = self.wait_all (indexes, has, deadline_s)
        return self.spread_ms (found, indexes, t0, figure)

    #  The fault scenarios are the same for both systems
    def detect (self, kind, victim, sig):
        name = self.names [victim]
        self.faulted [name] = kind
        watchers = self.live_indexes ()
        t0 = self.now ()
        os.kill (self.procs [victim].pid, sig)
        result = self.measure (kind, watchers,
                               lambda v: v.after ("failed", name, t0),
                               t0, DETECT_DEADLINE)
        if sig == signal.SIGSTOP:
            #  Done with it: a frozen process is killed, not resumed
            os.kill (self.procs [victim].pid, signal.SIGCONT)
            os.kill (self.procs [victim].pid, signal.SIGKILL)
        return result

    def scenarios (self, samples, idle_s, settle_s):
        r = {}
        r ["join_ms"] = self.join ()
        if r ["join_ms"] is None:
            return r
        self.pump_for (settle_s)
        r.update (self.sample_idle (idle_s))
        self.pump (0)
        r ["key_ms"] = [self.key (k) for k in range (samples)]
        r ["event_ms"] = []
        senders = []
        for k in range (samples):
            ms, frames = self.event (k)
            r ["event_ms"].append (ms)
            if frames is not None:
                senders.append (frames)
        if senders:
            r ["sender_frames"] = senders
        if self.system == "rumor":
            r.update (self.tree_depth ())
        n = self.n
        r ["crash_ms"] = self.detect ("crash", n - 1, signal.SIGKILL)
        r ["freeze_ms"] = self.detect ("freeze", n - 2, signal.SIGSTOP)
        r ["leave_ms"] = self.leave (n - 3)
        self.pump (0.2)
        r ["false_verdicts"] = self.false_verdicts
        r ["leave_failed"] = self.leave_failed
        if self.system == "rumor":
            r ["suspicions"] = self.suspicions
        r.update (self.extra)
        return r


#  --------------------------------------------------------------------------
#  rumor: rumord agents, observed through their control sockets

STATE_NAMES = {1: "alive", 2: "suspect", 3: "failed", 4: "left"}


class RumorCluster (Cluster):
    system = "rumor"

    def __init__ (self, bench, n, tag):
        Cluster.__init__ (self, bench, n, tag)
        self.pb = bench.pb
        self.names = ["r%d" % i for i in range (n)]
        self.views = [View (name) for name in self.names]
        self.socks = []
        self.listen_ids = []
        self.replies = [{} for _ in range (n)]
        self.next_id = 1000
        self.poller = zmq.Poller ()
        self.sock_index = {}

    def now (self):
        #  The wall clock: the agents stamp events with it (Event.at_us)
        return time.time_ns ()

    def start (self):
        beacon_port = random.randint (20000, 60000)
        cluster = "bench-%s" % self.tag
        args_common = ["--cluster", cluster,
                       "--profile", self.bench.args.profile,
                       "--bind", "127.0.0.1", "--log-level", "warning"]
        if self.bench.args.rumor_join == "beacon":
            args_common += ["--beacon", "loopback",
                            "--beacon-port", str (beacon_port)]
        else:
            #  As Serf: every node joins through the first one
            seed_port = random.randint (20000, 60000)
            args_common += ["--beacon", "off"]
        ctx = zmq.Context.instance ()
        for i, name in enumerate (self.names):
            endpoint = "ipc://%s/%s.ctl" % (self.dir, name)
            logf = open (os.path.join (self.dir, name + ".log"), "w")
            argv = [self.bench.rumord, "--name", name, "--control",
                    endpoint] + args_common
            if self.bench.args.rumor_join == "seed":
                argv += ["--port", str (seed_port)] if i == 0 else \
                        ["--seed", "tcp://127.0.0.1:%d" % seed_port]
            proc = subprocess.Popen (argv, stdout = logf,
                                     stderr = subprocess.STDOUT)
            logf.close ()
            self.procs.append (proc)
            sock = ctx.socket (zmq.DEALER)
            sock.setsockopt (zmq.LINGER, 0)
            #  The socket file appears when the agent binds; retry soon
            sock.setsockopt (zmq.RECONNECT_IVL, 5)
            sock.setsockopt (zmq.RCVHWM, 100000)
            sock.connect (endpoint)
            self.socks.append (sock)
            self.poller.register (sock, zmq.POLLIN)
            self.sock_index [sock] = i
        self.t_started = self.now ()
        #  Subscribe everyone at once (queued until each agent binds), then
        #  read each member table once the subscription is acknowledged
        for i in range (self.n):
            self.listen_ids.append (self.send (i, listen = self.pb.Listen (
                pattern = "bench.#", members = True, keys = True)))

    def send (self, i, **command):
        self.next_id += 1
        request = self.pb.Request (id = self.next_id, **command)
        self.socks [i].send (request.SerializeToString ())
        return self.next_id

    def pump (self, timeout_s):
        """Read everything that arrived within timeout_s."""
        for sock, _ in self.poller.poll (int (timeout_s * 1000)):
            i = self.sock_index [sock]
            while True:
                try:
                    frame = sock.recv (zmq.NOBLOCK)
                except zmq.Again:
                    break
                t = self.now ()
                reply = self.pb.Reply ()
                try:
                    reply.ParseFromString (frame)
                except Exception:
                    continue
                self.on_reply (i, reply, t)

    def on_reply (self, i, reply, t):
        view = self.views [i]
        kind = reply.WhichOneof ("result")
        if kind == "event" and reply.id == self.listen_ids [i]:
            self.on_event (view, reply.event, t)
            return
        if kind == "listening" and reply.id == self.listen_ids [i]:
            self.replies [i] ["members"] = self.send (
                i, members = self.pb.Members ())
            return
        if kind == "members" and reply.id == self.replies [i].get ("members"):
            for member in reply.members.members:
                name = member.name
                view.state [name] = STATE_NAMES.get (member.state, "?")
            self.check_complete (view, t, exact = False)
            return
        self.replies [i] [reply.id] = (t, reply)

    def on_event (self, view, event, t_seen):
        """An event of a node's stream: timed by the agent's stamp (when it
        got it from its node), which this process's reading can trail by
        milliseconds when 64 agents keep both cores busy."""
        pb = self.pb
        t = event.at_us * 1000 if event.at_us else t_seen
        name = event.name
        if event.type in (pb.EVENT_JOINED, pb.EVENT_ALIVE):
            view.state [name] = "alive"
            self.check_complete (view, t)
        elif event.type == pb.EVENT_SUSPECT:
            view.state [name] = "suspect"
            self.on_verdict ("suspect", name)
        elif event.type == pb.EVENT_FAILED:
            view.state [name] = "failed"
            view.mark ("failed", name, t)
            self.on_verdict ("failed", name)
        elif event.type == pb.EVENT_LEFT:
            view.state [name] = "left"
            view.mark ("left", name, t)
            self.on_verdict ("left", name)
        elif event.type == pb.EVENT_KEY_SET:
            view.keys.setdefault ((name, event.topic, event.data), t)
            view.keys_seen.setdefault ((name, event.topic, event.data), t_seen)
        elif event.type == pb.EVENT_HEARD:
            view.heard.setdefault ((event.topic, event.data), t)
            view.heard_seen.setdefault ((event.topic, event.data), t_seen)

    def check_complete (self, view, t, exact = True):
        if view.complete_at is None and view.alive_count () >= self.n:
            view.complete_at = t
            view.complete_exact = exact

    def call (self, i, deadline_s = 5.0, **command):
        request_id = self.send (i, **command)
        deadline = time.monotonic () + deadline_s
        while request_id not in self.replies [i]:
            if time.monotonic () > deadline:
                raise ClientError ("%s: no reply" % self.names [i])
            self.pump (0.01)
        t, reply = self.replies [i].pop (request_id)
        if reply.status != self.pb.STATUS_OK:
            raise ClientError ("%s: %s" % (self.names [i], reply.error))
        return reply

    def join (self):
        everyone = list (range (self.n))
        ms = self.measure ("join", everyone, lambda v: v.complete_at,
                           self.t_started, JOIN_DEADLINE)
        inexact = sum (1 for v in self.views if not v.complete_exact)
        if inexact:
            log ("  %d nodes were complete before their subscription "
                 "(time of the member table reply used)" % inexact)
        return ms

    def key (self, k):
        setter = k % max (1, self.n - 3)
        origin = self.names [setter]
        value = ("v-%s-%d" % (self.tag, k)).encode ()
        others = [i for i in self.live_indexes () if i != setter]
        t0 = self.now ()
        self.call (setter, set = self.pb.Set (key = "bench.key",
                                               value = value))
        ms = self.measure (
            "key", others,
            lambda v: v.keys.get ((origin, "bench.key", value)),
            t0, PROPAGATE_DEADLINE)
        self.seen ("key", others,
                   lambda v: v.keys_seen.get ((origin, "bench.key", value)),
                   t0)
        return ms

    def seen (self, figure, indexes, has, t0):
        """The same figure from this client's reading times, kept as
        FIGURE_seen_ms: what the stamps save from the client's lag."""
        found = {}
        for i in indexes:
            t = has (self.views [i])
            if t is not None:
                found [i] = t
        ms = self.spread_ms (found, indexes, t0, figure + " (read)")
        self.extra.setdefault (figure + "_seen_ms", []).append (ms)

    def stats (self, i):
        reply = self.call (i, stats = self.pb.Stats ())
        return {c.name: c.value for c in reply.stats.counters}

    def tree_depth (self):
        """How deep the broadcast tree is, over every event so far: the
        hops of each node's first copy (app.hops_total / app.received)."""
        hops = received = deepest = 0
        for i in self.live_indexes ():
            counters = self.stats (i)
            hops += counters.get ("app.hops_total", 0)
            received += counters.get ("app.received", 0)
            deepest = max (deepest, counters.get ("app.hops_max", 0))
        if not received:
            return {}
        return {"tree_hops_mean": hops / received, "tree_hops_max": deepest}

    def event (self, k):
        sayer = k % max (1, self.n - 3)
        payload = ("e-%s-%d" % (self.tag, k)).encode ()
        others = [i for i in self.live_indexes () if i != sayer]
        before = self.stats (sayer)
        t0 = self.now ()
        self.call (sayer, say = self.pb.Say (topic = "bench.event",
                                             payload = payload))
        ms = self.measure (
            "event", others,
            lambda v: v.heard.get (("bench.event", payload)),
            t0, PROPAGATE_DEADLINE)
        self.seen ("event", others,
                   lambda v: v.heard_seen.get (("bench.event", payload)), t0)
        #  Lazy IHave announcements go out in batches: let one pass
        self.pump (0.1)
        after = self.stats (sayer)
        frames = sum (after.get (c, 0) - before.get (c, 0)
                      for c in ("app.eager_sent", "app.ihave_sent"))
        return ms, frames

    def counter_bytes (self):
        total = 0
        for i in self.live_indexes ():
            try:
                total += self.stats (i).get ("supervisor.bytes_out", 0)
            except ClientError:
                return None
        return total

    def leave (self, i):
        name = self.names [i]
        self.faulted [name] = "leave"
        watchers = [j for j in self.live_indexes () if j != i]
        t0 = self.now ()
        self.send (i, leave = self.pb.Leave ())
        return self.measure ("leave", watchers,
                             lambda v: v.after ("left", name, t0),
                             t0, LEAVE_DEADLINE)

    def cleanup (self):
        for sock in self.socks:
            sock.close ()
        Cluster.cleanup (self)


#  --------------------------------------------------------------------------
#  Serf: serf agents, observed through event handlers

HANDLER = r"""#!/bin/sh
# One line per event (and per member for member events), stamped on arrival
t=$(date +%s%N)
if [ "$SERF_EVENT" = user ]; then
    echo "$t user $SERF_USER_EVENT" >> "$1"
else
    while IFS= read -r line || [ -n "$line" ]; do
        echo "$t $SERF_EVENT $line"
    done >> "$1"
fi
"""


class SerfCluster (Cluster):
    system = "serf"

    #  Member event lines of serf's log: "serf: EventMemberFailed: s3 ADDR",
    #  "serf: EventMemberLeave (forced): s5 ADDR"
    LOG_EVENTS = {"EventMemberJoin": "join", "EventMemberFailed": "failed",
                  "EventMemberLeave": "left", "EventMemberUpdate": "update"}

    def __init__ (self, bench, n, tag):
        Cluster.__init__ (self, bench, n, tag)
        self.names = ["s%d" % i for i in range (n)]
        self.views = [View (name) for name in self.names]
        self.log_views = [View (name) for name in self.names]
        self.offsets = [0] * n
        self.partial = [""] * n
        self.log_partial = {}       #  pipe fd -> unfinished line
        self.log_index = {}         #  pipe fd -> agent index
        self.log_files = {}         #  pipe fd -> file kept with --keep
        self.rpcs = {}
        self.handler = os.path.join (self.dir, "handler.sh")
        with open (self.handler, "w") as f:
            f.write (HANDLER)
        base = random.randint (20000, 50000)
        self.ports = [base + 2 * i for i in range (n)]
        self.rpc_ports = [base + 2 * i + 1 for i in range (n)]

    def now (self):
        return time.time_ns ()

    def spawn (self, i):
        name = self.names [i]
        out = os.path.join (self.dir, name + ".events")
        open (out, "w").close ()
        argv = [self.bench.serf, "agent", "-node", name,
                "-bind", "127.0.0.1:%d" % self.ports [i],
                "-rpc-addr", "127.0.0.1:%d" % self.rpc_ports [i],
                "-profile", self.bench.args.profile, "-log-level", "info",
                "-event-handler", "/bin/sh %s %s" % (self.handler, out)]
        if i > 0:
            argv += ["-join", "127.0.0.1:%d" % self.ports [0]]
        #  The log comes through a pipe: its member event lines are stamped
        #  when they arrive here
        proc = subprocess.Popen (argv, stdout = subprocess.PIPE,
                                 stderr = subprocess.STDOUT)
        fd = proc.stdout.fileno ()
        os.set_blocking (fd, False)
        self.log_index [fd] = i
        self.log_partial [fd] = ""
        if self.bench.keep:
            self.log_files [fd] = open (os.path.join (self.dir,
                                                      name + ".log"), "w")
        self.procs.append (proc)

    def rpc (self, i):
        if i not in self.rpcs:
            self.rpcs [i] = SerfRpc ("127.0.0.1:%d" % self.rpc_ports [i],
                                     time.monotonic () + 10)
        return self.rpcs [i]

    def start (self):
        #  Agents join through the first one, which must listen first
        self.spawn (0)
        self.rpc (0)
        for i in range (1, self.n):
            self.spawn (i)
        self.t_started = self.now ()

    def pump (self, timeout_s):
        """Read the agents' logs (waiting up to timeout_s for one) and what
        the handlers appended since last time."""
        fds = list (self.log_index)
        if fds:
            ready, _, _ = select.select (fds, [], [], timeout_s)
            t = self.now ()
            for fd in ready:
                self.read_log (fd, t)
        elif timeout_s:
            time.sleep (timeout_s)
        for i, name in enumerate (self.names):
            path = os.path.join (self.dir, name + ".events")
            try:
                with open (path, "rb") as f:
                    f.seek (self.offsets [i])
                    data = f.read ()
            except OSError:
                continue
            self.offsets [i] += len (data)
            text = self.partial [i] + data.decode ("utf-8", "replace")
            lines = text.split ("\n")
            self.partial [i] = lines.pop ()
            for line in lines:
                self.on_line (self.views [i], line)

    def read_log (self, fd, t):
        try:
            data = os.read (fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:                #  the agent is gone
            del self.log_index [fd]
            return
        if fd in self.log_files:
            self.log_files [fd].write (data.decode ("utf-8", "replace"))
        text = self.log_partial [fd] + data.decode ("utf-8", "replace")
        lines = text.split ("\n")
        self.log_partial [fd] = lines.pop ()
        view = self.log_views [self.log_index [fd]]
        for line in lines:
            words = line.split ()
            for k, word in enumerate (words):
                kind = self.LOG_EVENTS.get (word.rstrip (":"))
                if kind:
                    rest = [w for w in words [k + 1:] if w != "(forced):"]
                    if rest:
                        self.on_member (view, kind, rest [0], t, True)
                    break

    def on_member (self, view, kind, member, t, from_log = False):
        if kind == "join":
            view.state [member] = "alive"
            if view.complete_at is None and view.alive_count () >= self.n:
                view.complete_at = t
        elif kind in ("failed", "left"):
            view.state [member] = kind
            view.mark (kind, member, t)
            if not from_log:        #  counted once, from the handlers
                self.on_verdict (kind, member)
        elif kind == "update":
            view.updates.setdefault (member, []).append (t)

    def on_line (self, view, line):
        parts = line.split (" ", 2)
        if len (parts) < 3:
            return
        try:
            t = int (parts [0])
        except ValueError:
            return
        kind, rest = parts [1], parts [2]
        if kind == "user":
            view.heard.setdefault (("bench.event", rest.strip ()), t)
            return
        fields = rest.split ("\t")
        member = fields [0]
        kind = {"member-join": "join", "member-failed": "failed",
                "member-leave": "left", "member-update": "update"}.get (kind)
        if kind:
            self.on_member (view, kind, member, t)
        if kind == "update" and len (fields) > 3:
            for tag in fields [3].split (","):
                key, _, value = tag.partition ("=")
                if key == "bench_key":
                    view.keys.setdefault ((member, "bench.key",
                                           value.encode ()), t)

    def measure (self, figure, indexes, has, t0, deadline_s, has_log = None):
        """Handlers first (the issue's method), then the same from the logs,
        which saw it earlier (no coalescing), kept as FIGURE_log_ms."""
        ms = Cluster.measure (self, figure, indexes, has, t0, deadline_s)
        found = self.wait_all (indexes, has_log or has, 1.0,
                               views = self.log_views)
        ms_log = self.spread_ms (found, indexes, t0, figure + " (log)")
        if figure == "key":
            self.extra.setdefault ("key_log_ms", []).append (ms_log)
        else:
            self.extra [figure + "_log_ms"] = ms_log
        return ms

    def join (self):
        everyone = list (range (self.n))
        return self.measure ("join", everyone, lambda v: v.complete_at,
                             self.t_started, JOIN_DEADLINE)

    def key (self, k):
        setter = k % max (1, self.n - 3)
        origin = self.names [setter]
        value = ("v-%s-%d" % (self.tag, k))
        others = [i for i in self.live_indexes () if i != setter]
        rpc = self.rpc (setter)
        t0 = self.now ()
        rpc.call ("tags", {"Tags": {"bench_key": value}, "DeleteTags": []})
        #  The log names the updated member but not its tags: the first
        #  update of the setter after t0 is this one (one key at a time)
        return self.measure (
            "key", others,
            lambda v: v.keys.get ((origin, "bench.key", value.encode ())),
            t0, PROPAGATE_DEADLINE,
            lambda v: next ((t for t in v.updates.get (origin, [])
                             if t >= t0), None))

    def event (self, k):
        sayer = k % max (1, self.n - 3)
        name = "e-%s-%d" % (self.tag, k)
        others = [i for i in self.live_indexes () if i != sayer]
        rpc = self.rpc (sayer)
        t0 = self.now ()
        #  Coalesce false: user events then reach handlers uncoalesced
        rpc.call ("event", {"Name": name, "Payload": b"",
                            "Coalesce": False})
        found = self.wait_all (
            others, lambda v: v.heard.get (("bench.event", name)),
            PROPAGATE_DEADLINE)
        return self.spread_ms (found, others, t0, "event"), None

    def leave (self, i):
        name = self.names [i]
        self.faulted [name] = "leave"
        watchers = [j for j in self.live_indexes () if j != i]
        rpc = self.rpc (i)
        t0 = self.now ()
        rpc.send ("leave")
        return self.measure ("leave", watchers,
                             lambda v: v.after ("left", name, t0),
                             t0, LEAVE_DEADLINE)

    def cleanup (self):
        for rpc in self.rpcs.values ():
            rpc.close ()
        Cluster.cleanup (self)
        for proc in self.procs:
            proc.stdout.close ()
        for f in self.log_files.values ():
            f.close ()


#  --------------------------------------------------------------------------
#  The run

def summarize (values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median (values), "min": min (values),
            "max": max (values), "count": len (values)}


def fmt (value, unit):
    if value is None:
        return "-"
    if unit in ("count", "frames"):
        return "%g" % value
    if unit == "B/s":
        return "%.0f" % value
    if abs (value) >= 100:
        return "%.0f" % value
    if abs (value) >= 10:
        return "%.1f" % value
    return "%.2f" % value


def machine ():
    model = ""
    try:
        with open ("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith ("model name"):
                    model = line.split (":", 1) [1].strip ()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count (), "cpu": model,
            "kernel": platform.release (),
            "loadavg_start": open ("/proc/loadavg").read ().strip ()}


def version_of (argv):
    try:
        out = subprocess.run (argv, stdout = subprocess.PIPE,
                              stderr = subprocess.STDOUT,
                              universal_newlines = True, timeout = 10)
        return out.stdout.strip ().splitlines () [0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


class Bench (object):
    def __init__ (self, args):
        self.args = args
        self.rumord = args.rumord
        self.serf = shutil.which (args.serf) if args.serf else None
        self.keep = args.keep
        self.samples = []           #  dicts: n, rep, system, figure, value
        self.misses = {}            #  (n, system, figure) -> samples missed
        self.failed_runs = []
        self.pb = load_control_module ()

    def run_cluster (self, system, n, rep):
        tag = "%d-%d-%s-%04x" % (n, rep, system, random.getrandbits (16))
        netns = None
        cluster = None
        t0 = time.monotonic ()
        try:
            if self.args.netns:
                netns = Netns ("rumor-bench-%d-%s" % (os.getpid (), tag))
                netns.create ()
                netns.enter ()
            cls = RumorCluster if system == "rumor" else SerfCluster
            cluster = cls (self, n, tag)
            cluster.start ()
            result = cluster.scenarios (self.args.samples, self.args.idle,
                                        self.args.settle)
        finally:
            if cluster:
                cluster.cleanup ()
            if netns:
                netns.leave ()
                netns.destroy ()
        log ("  %s N=%d rep %d done in %.1f s" % (system, n, rep,
                                                  time.monotonic () - t0))
        return result

    def record (self, system, n, rep, result):
        """Keep every sample; a None (a deadline passed) is a miss."""
        for figure in FIGURES:
            key, which = figure [0], figure [3]
            if which != "both" and which != system:
                continue
            if key == "bytes_node_s" and not self.args.netns:
                continue
            value = result.get (key)
            values = value if isinstance (value, list) else [value]
            for v in values:
                if v is None:
                    self.misses [(n, system, key)] = \
                        self.misses.get ((n, system, key), 0) + 1
                else:
                    self.samples.append ({"system": system, "n": n,
                                          "rep": rep, "figure": key,
                                          "value": v})
        shown = []
        for key, value in result.items ():
            if isinstance (value, list):
                value = [v for v in value if v is not None]
                value = statistics.median (value) if value else None
            shown.append ("%s=%s" % (key, fmt (value, "")))
        log ("  " + " ".join (shown))

    def problems (self):
        """What makes the run incomplete: a cluster run that failed, a rumor
        figure that missed its deadline, or a figure never measured (Serf's
        misses are results, reported in the table)."""
        found = list (self.failed_runs)
        for (n, system, key), count in sorted (self.misses.items ()):
            if system == "rumor":
                found.append ("rumor N=%d %s: %d missed" % (n, key, count))
        have = {(s ["n"], s ["system"], s ["figure"]) for s in self.samples}
        for n in self.args.sizes:
            for system in self.args.systems:
                for figure in FIGURES:
                    key, which = figure [0], figure [3]
                    if which not in ("both", system):
                        continue
                    if key == "bytes_node_s" and not self.args.netns:
                        continue
                    if (n, system, key) not in have \
                       and (n, system, key) not in self.misses:
                        found.append ("%s N=%d %s: no sample" % (system, n,
                                                                  key))
        return found

    def run (self):
        systems = self.args.systems
        for n in self.args.sizes:
            for rep in range (self.args.reps):
                #  Alternate which system goes first, so that neither always
                #  runs on the warmer (or busier) machine
                order = systems if rep % 2 == 0 else list (reversed (systems))
                for system in order:
                    log ("%s N=%d rep %d" % (system, n, rep + 1))
                    try:
                        result = self.run_cluster (system, n, rep + 1)
                    except (ClientError, OSError,
                            subprocess.CalledProcessError) as error:
                        log ("  failed: %s" % error)
                        self.failed_runs.append ("%s N=%d rep %d: %s" % (
                            system, n, rep + 1, error))
                        result = {}
                    self.record (system, n, rep + 1, result)

    def summary (self):
        table = {}
        for s in self.samples:
            table.setdefault ((s ["n"], s ["system"], s ["figure"]),
                              []).append (s ["value"])
        out = {}
        for key in set (table) | set (self.misses):
            n, system, figure = key
            entry = summarize (table.get (key, [])) or {"count": 0}
            entry ["missed"] = self.misses.get (key, 0)
            out.setdefault (str (n), {}).setdefault (system, {}) [figure] = \
                entry
        return out

    def markdown (self, summary, meta):
        lines = []
        lines.append ("Command: `%s`  " % meta ["command"])
        lines.append ("Date: %s; %d cores (%s), kernel %s; load average at "
                      "start %s, at end %s; %.0f s  " % (
                          meta ["date"], meta ["machine"] ["nproc"],
                          meta ["machine"] ["cpu"],
                          meta ["machine"] ["kernel"],
                          meta ["machine"] ["loadavg_start"],
                          meta ["loadavg_end"], meta ["duration_s"]))
        lines.append ("%s (`--profile %s`), serf %s (`-profile %s`); "
                      "rumor joins by %s; "
                      "%d repetitions, %d key/event samples each; %s" % (
                          meta ["rumor_version"], meta ["profile"],
                          meta ["serf_version"], meta ["profile"],
                          "the loopback beacon" if meta ["rumor_join"] ==
                          "beacon" else "a seed (the first node)",
                          meta ["reps"], meta ["samples"],
                          "each cluster in its own network namespace"
                          if meta ["netns"] else "host namespace"))
        lines.append ("")
        systems = self.args.systems
        both = len (systems) == 2
        for n in self.args.sizes:
            per = summary.get (str (n), {})
            lines.append ("**N = %d** (median [min..max]; \"k missed\": "
                          "samples past the deadline)" % n)
            lines.append ("")
            head = "| figure | unit |"
            rule = "| --- | --- |"
            for system in systems:
                head += " %s |" % ("rumor" if system == "rumor" else "Serf")
                rule += " ---: |"
            if both:
                head += " rumor/Serf |"
                rule += " ---: |"
            lines.append (head)
            lines.append (rule)
            for figure in FIGURES:
                key, label, unit, which = figure [:4]
                row = "| %s | %s |" % (label, unit)
                medians = []
                shown = False
                for system in systems:
                    show = key
                    if which not in ("both", system):
                        if system == "rumor" and len (figure) > 4:
                            show = figure [4]   #  rumor's figure to compare
                        else:
                            row += " n/a |"
                            medians.append (None)
                            continue
                    s = per.get (system, {}).get (show)
                    if s is None or not s ["count"]:
                        row += " %s |" % ("%d missed" % s ["missed"]
                                          if s else "-")
                        medians.append (None)
                        continue
                    shown = shown or show == key
                    cell = "%s [%s..%s]" % (fmt (s ["median"], unit),
                                            fmt (s ["min"], unit),
                                            fmt (s ["max"], unit))
                    if s ["missed"]:
                        cell += ", %d missed" % s ["missed"]
                    row += " %s |" % cell
                    medians.append (s ["median"])
                if not shown:
                    continue
                if both:
                    #  A ratio of counts (verdicts) says nothing: none
                    a, b = medians
                    row += (" %.2g |" % (a / b)) if a is not None \
                        and b not in (None, 0) and unit != "count" \
                        else " - |"
                lines.append (row)
            lines.append ("")
        return "\n".join (lines) + "\n"


#  Time figures drawn by plot (): median against N, one line per system
PLOTTED = [("join_ms", "join"), ("key_ms", "key"), ("event_ms", "event"),
           ("crash_ms", "kill -9"), ("freeze_ms", "SIGSTOP"),
           ("leave_ms", "leave")]
PLOT_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
               "#8c564b"]


def plot (summary, sizes, systems, out):
    """results.dat, results.gp and, with gnuplot, results.png: the time
    figures' medians against N, log scale, rumor solid and Serf dashed."""
    series = [(system, key, label) for system in systems
              for key, label in PLOTTED]
    with open (os.path.join (out, "results.dat"), "w") as f:
        f.write ("# N %s\n" % " ".join ("%s:%s" % (system, key)
                                        for system, key, _ in series))
        for n in sizes:
            row = [str (n)]
            for system, key, _ in series:
                s = summary.get (str (n), {}).get (system, {}).get (key)
                row.append ("%g" % s ["median"] if s and s ["count"]
                            else "NaN")
            f.write (" ".join (row) + "\n")
    plots = []
    for column, (system, key, label) in enumerate (series, start = 2):
        color = PLOT_COLORS [PLOTTED.index ((key, label))]
        plots.append ("'results.dat' using 1:%d with linespoints "
                      "lc rgb '%s' dt %d title '%s %s'" % (
                          column, color, 1 if system == "rumor" else 2,
                          "rumor" if system == "rumor" else "Serf", label))
    with open (os.path.join (out, "results.gp"), "w") as f:
        f.write ("set terminal pngcairo size 1000,600\n"
                 "set output 'results.png'\n"
                 "set logscale x 2\n"
                 "set logscale y 10\n"
                 "set xlabel 'nodes (N)'\n"
                 "set ylabel 'ms until every node knows (median)'\n"
                 "set key outside right\n"
                 "set grid\n"
                 "set xtics (%s)\n"
                 "set xrange [%g:%g]\n"
                 "plot %s\n" % (", ".join (str (n) for n in sizes),
                                min (sizes) / 1.25, max (sizes) * 1.25,
                                ", \\\n     ".join (plots)))
    gnuplot = shutil.which ("gnuplot")
    if gnuplot:
        subprocess.run ([gnuplot, "results.gp"], cwd = out,
                        stderr = subprocess.DEVNULL)


def parse_args ():
    parser = argparse.ArgumentParser (
        description = "rumor against Serf, live on loopback")
    parser.add_argument ("--rumord", default = os.path.join (
        SOURCE, "build", "rumord"), help = "rumord binary")
    parser.add_argument ("--serf", default = "serf",
                         help = "serf binary (default: serf on PATH)")
    parser.add_argument ("--sizes", default = "8,32,64",
                         help = "cluster sizes, comma separated (>= 4)")
    parser.add_argument ("--reps", type = int, default = 3,
                         help = "repetitions per size and system")
    parser.add_argument ("--systems", default = "rumor,serf",
                         help = "rumor,serf | rumor | serf")
    parser.add_argument ("--samples", type = int, default = 5,
                         help = "key and event samples per repetition")
    parser.add_argument ("--idle", type = float, default = 10.0,
                         help = "seconds of idle sampling")
    parser.add_argument ("--settle", type = float, default = 10.0,
                         help = "seconds after the join before idle "
                         "sampling (rumor slows its beacon 5 s after it "
                         "has peers; Serf's first push-pulls run)")
    parser.add_argument ("--out", default = None,
                         help = "directory for results.{json,csv,md}")
    parser.add_argument ("--profile", default = "local",
                         choices = ["local", "lan", "wan"],
                         help = "timing profile of both (rumord --profile, "
                                "serf agent -profile; default local)")
    parser.add_argument ("--rumor-join", default = "beacon",
                         choices = ["beacon", "seed"],
                         help = "rumor nodes find each other by the loopback "
                                "beacon (default) or all join the first "
                                "node (--beacon off --seed), as Serf does")
    parser.add_argument ("--no-netns", dest = "netns", action = "store_false",
                         help = "stay in the host's network namespace")
    parser.add_argument ("--keep", action = "store_true",
                         help = "keep agents' logs")
    parser.add_argument ("--report", metavar = "RESULTS_JSON",
                         help = "run nothing: print the table (and write "
                                "results.md and the plot beside the file) "
                                "from an earlier run's results.json")
    args = parser.parse_args ()
    if args.report:
        return args
    try:
        args.sizes = [int (s) for s in args.sizes.split (",")]
    except ValueError:
        parser.error ("--sizes: integers, comma separated")
    if any (n < 4 or n > 512 for n in args.sizes):
        parser.error ("--sizes: each between 4 and 512")
    args.systems = [s for s in args.systems.split (",") if s]
    if not args.systems or any (s not in ("rumor", "serf")
                                for s in args.systems):
        parser.error ("--systems: rumor, serf or both")
    if args.reps < 1 or args.samples < 1 or args.idle <= 0 or args.settle < 0:
        parser.error ("--reps, --samples and --idle must be positive, "
                      "--settle not negative")
    if not os.access (args.rumord, os.X_OK):
        parser.error ("no rumord at %s (--rumord)" % args.rumord)
    if "serf" in args.systems and not shutil.which (args.serf):
        parser.error ("no serf binary (apt-get install serf, or "
                      "--systems rumor)")
    if args.netns and (os.geteuid () != 0 or not shutil.which ("ip")):
        log ("not root (or no ip): staying in the host namespace, no "
             "loopback byte counts")
        args.netns = False
    return args


def report (path):
    """Rebuild results.md and the plot from a results.json."""
    with open (path) as f:
        data = json.load (f)
    meta = data ["meta"]
    args = argparse.Namespace (sizes = meta ["sizes"],
                               systems = meta ["systems"],
                               netns = meta ["netns"])
    bench = Bench.__new__ (Bench)
    bench.args = args
    bench.samples = data ["samples"]
    bench.misses = {}
    for n, systems in data ["summary"].items ():
        for system, figures in systems.items ():
            for figure, entry in figures.items ():
                if entry.get ("missed"):
                    bench.misses [(int (n), system, figure)] = \
                        entry ["missed"]
    meta.setdefault ("rumor_join", "beacon")
    summary = bench.summary ()
    md = bench.markdown (summary, meta)
    out = os.path.dirname (os.path.abspath (path))
    plot (summary, args.sizes, args.systems, out)
    with open (os.path.join (out, "results.md"), "w") as f:
        f.write (md)
    sys.stdout.write (md)
    return 0


def main ():
    args = parse_args ()
    if args.report:
        return report (args.report)
    bench = Bench (args)
    #  SIGTERM/SIGINT: unwind through the finally blocks, which kill every
    #  agent started and remove the namespace and temp dirs
    def stop (signum, frame):
        raise KeyboardInterrupt ()
    signal.signal (signal.SIGTERM, stop)
    meta = {
        "command": " ".join ([os.path.relpath (sys.argv [0], os.getcwd ())]
                             + sys.argv [1:]),
        "date": datetime.datetime.now (datetime.timezone.utc)
                .strftime ("%Y-%m-%d %H:%M UTC"),
        "machine": machine (),
        "rumor_version": version_of ([args.rumord, "--version"]),
        "serf_version": version_of ([bench.serf, "version"])
                        if bench.serf and "serf" in args.systems else "-",
        "sizes": args.sizes, "reps": args.reps, "samples": args.samples,
        "idle_s": args.idle, "settle_s": args.settle, "netns": args.netns,
        "profile": args.profile, "systems": args.systems,
        "rumor_join": args.rumor_join,
    }
    t0 = time.monotonic ()
    try:
        bench.run ()
    except KeyboardInterrupt:
        log ("interrupted")
        return 130
    meta ["loadavg_end"] = open ("/proc/loadavg").read ().strip ()
    meta ["duration_s"] = round (time.monotonic () - t0, 1)
    problems = bench.problems ()
    meta ["problems"] = problems
    summary = bench.summary ()
    md = bench.markdown (summary, meta)
    sys.stdout.write (md)
    if args.out:
        os.makedirs (args.out, exist_ok = True)
        with open (os.path.join (args.out, "results.json"), "w") as f:
            json.dump ({"meta": meta, "figures": [
                {"key": f [0], "label": f [1], "unit": f [2],
                 "systems": f [3], "rumor_compare": f [4] if len (f) > 4
                 else None} for f in FIGURES],
                "summary": summary, "samples": bench.samples}, f, indent = 1)
        with open (os.path.join (args.out, "results.csv"), "w") as f:
            f.write ("system,n,rep,figure,value\n")
            for s in bench.samples:
                f.write ("%s,%d,%d,%s,%r\n" % (s ["system"], s ["n"],
                                               s ["rep"], s ["figure"],
                                               s ["value"]))
        plot (summary, args.sizes, args.systems, args.out)
        with open (os.path.join (args.out, "results.md"), "w") as f:
            f.write (md)
        log ("results in %s (%.0f s)" % (args.out, meta ["duration_s"]))
    if problems:
        log ("incomplete: %s" % "; ".join (problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit (main ())
