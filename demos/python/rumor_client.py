#!/usr/bin/python3
#  rumor_client.py - drive a rumord agent from Python through control.proto
#
#  A small, dependency-light client: Debian's python3-zmq and python3-protobuf
#  plus protoc (protobuf-compiler). The Python module for control.proto is
#  generated at run time with `protoc --python_out` into a temporary
#  directory (or into --build-dir), so no generated code lives in the tree.
#
#  As a program it prints who the agent is, lists the members, then streams
#  events (member changes, and events heard on a topic pattern) until it has
#  printed --count events, --timeout seconds pass, or Ctrl-C:
#
#      /usr/bin/python3 demos/python/rumor_client.py \
#          --control ipc:///tmp/rumord-alice.ctl --listen 'chat.#'
#
#  As a module:
#
#      client = RumorClient ("ipc:///tmp/rumord-alice.ctl")
#      for member in client.members ():
#          print (member.name, client.state_name (member.state))
#      client.say ("chat.hello", b"hi")
#      for event in client.listen ("chat.#", members = True, timeout = 10):
#          print (client.format_event (event))
#      client.close ()

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import zmq
except ImportError:                         # pragma: no cover
    sys.stderr.write ("rumor_client: python3-zmq is missing "
                      "(apt-get install python3-zmq)\n")
    sys.exit (3)

HERE = os.path.dirname (os.path.abspath (__file__))
DEFAULT_PROTO = os.path.normpath (
    os.path.join (HERE, "..", "..", "schemas", "control.proto"))


class ClientError (Exception):
    """The agent said no, or could not be reached."""

    def __init__ (self, message, status = None):
        Exception.__init__ (self, message)
        self.status = status               # control.proto Status, or None


def load_control_module (proto = None, build_dir = None):
    """Generate control_pb2 from control.proto with protoc and import it.

    proto: path of control.proto (default: schemas/ of this source tree, or
    $RUMOR_CONTROL_PROTO). build_dir: where to write control_pb2.py; default
    a temporary directory removed at exit."""
    proto = proto or os.environ.get ("RUMOR_CONTROL_PROTO") or DEFAULT_PROTO
    if not os.path.isfile (proto):
        raise ClientError ("cannot read %s" % proto)
    protoc = shutil.which ("protoc")
    if protoc is None:
        raise ClientError ("protoc is missing "
                           "(apt-get install protobuf-compiler)")
    if build_dir is None:
        build_dir = tempfile.mkdtemp (prefix = "rumor-py-")
        atexit.register (shutil.rmtree, build_dir, True)
    else:
        os.makedirs (build_dir, exist_ok = True)
    result = subprocess.run (
        [protoc, "-I", os.path.dirname (os.path.abspath (proto)),
         "--python_out=" + build_dir, os.path.basename (proto)],
        stdout = subprocess.PIPE, stderr = subprocess.PIPE,
        universal_newlines = True)
    if result.returncode != 0:
        raise ClientError ("protoc failed on %s: %s"
                           % (proto, result.stderr.strip ()))
    sys.path.insert (0, build_dir)
    try:
        import control_pb2
    except ImportError as error:
        raise ClientError ("cannot import the generated module (%s): is "
                           "python3-protobuf installed?" % error)
    return control_pb2


class RumorClient (object):
    """One DEALER connection to a rumord control endpoint."""

    def __init__ (self, endpoint, pb = None, timeout = 5.0):
        self.pb = pb or load_control_module ()
        self.endpoint = endpoint
        self.timeout = timeout             # seconds to wait for a Reply
        self.context = zmq.Context.instance ()
        self.socket = self.context.socket (zmq.DEALER)
        #  Never hang at exit on requests the agent will not read
        self.socket.setsockopt (zmq.LINGER, 0)
        self.socket.connect (endpoint)
        self.next_id = 1
        self.pending = []                  # stream Replies read early

    def close (self):
        self.socket.close ()

    #  ----------------------------------------------------------------------
    #  Request / reply

    def send (self, **command):
        """Send one Request with a single command (e.g. members = Members ())
        and return its id."""
        request = self.pb.Request (id = self.next_id, **command)
        self.next_id += 1
        self.socket.send (request.SerializeToString ())
        return request.id

    def receive (self, timeout):
        """Next Reply within timeout seconds, or None."""
        if self.pending:
            return self.pending.pop (0)
        if not self.socket.poll (int (timeout * 1000)):
            return None
        reply = self.pb.Reply ()
        reply.ParseFromString (self.socket.recv ())
        return reply

    def call (self, **command):
        """Send a Request and wait for its Reply; raise ClientError when the
        agent says no or does not answer in time. Stream Replies of other
        requests that arrive meanwhile are kept for listen ()."""
        request_id = self.send (**command)
        deadline = time.monotonic () + self.timeout
        while True:
            left = deadline - time.monotonic ()
            if left <= 0:
                raise ClientError ("no answer from %s within %.1f s"
                                   % (self.endpoint, self.timeout))
            if not self.socket.poll (int (left * 1000)):
                continue
            reply = self.pb.Reply ()
            reply.ParseFromString (self.socket.recv ())
            if reply.id != request_id:
                self.pending.append (reply)
                continue
            if reply.status != self.pb.STATUS_OK:
                raise ClientError ("%s: %s" % (
                    self.pb.Status.Name (reply.status), reply.error),
                    reply.status)
            return reply

    #  ----------------------------------------------------------------------
    #  Commands

    def info (self):
        return self.call (info = self.pb.Info ()).info

    def members (self):
        return list (self.call (members = self.pb.Members ()).members.members)

    def get (self, key, member = ""):
        return self.call (get = self.pb.Get (member = member, key = key)) \
                   .value.value

    def set (self, key, value, ttl_ms = 0):
        self.call (set = self.pb.Set (key = key, value = value,
                                      ttl_ms = ttl_ms))

    def say (self, topic, payload = b""):
        self.call (say = self.pb.Say (topic = topic, payload = payload))

    def listen (self, pattern = "", members = False, keys = False,
                direct = False, timeout = None, on_ready = None):
        """Start an event stream and yield Event messages until timeout
        seconds pass (None = forever). on_ready () is called once the agent
        acknowledged the subscription."""
        reply = self.call (listen = self.pb.Listen (
            pattern = pattern, members = members, keys = keys,
            direct = direct))
        listen_id = reply.id
        if on_ready:
            on_ready ()
        deadline = None if timeout is None else time.monotonic () + timeout
        while True:
            left = 1.0 if deadline is None else deadline - time.monotonic ()
            if left <= 0:
                return
            reply = self.receive (min (left, 1.0))
            if reply is None:
                continue
            if reply.id == listen_id and reply.WhichOneof ("result") == "event":
                yield reply.event

    #  ----------------------------------------------------------------------
    #  Formatting

    def state_name (self, state):
        return {self.pb.STATE_ALIVE: "alive", self.pb.STATE_SUSPECT: "suspect",
                self.pb.STATE_FAILED: "failed", self.pb.STATE_LEFT: "left"} \
               .get (state, "invalid")

    def format_member (self, member):
        tags = ",".join ("%s=%s" % (tag.key, tag.value) for tag in member.tags)
        return "%-16s %s %-8s %-24s inc=%d gen=%d%s%s" % (
            member.name, member.id, self.state_name (member.state),
            member.endpoint, member.incarnation, member.generation,
            " tags=" + tags if tags else "", " (self)" if member.self else "")

    def format_event (self, event):
        kind = self.pb.EventType.Name (event.type)[len ("EVENT_"):]
        line = "EVENT %s member=%s name=%s" % (kind, event.member, event.name)
        if event.topic:
            line += " topic=%s" % event.topic
        if event.data:
            line += " data=%s" % event.data.decode ("utf-8", "replace")
        if event.evidence:
            line += " evidence=%s" % event.evidence
        return line


def main ():
    parser = argparse.ArgumentParser (
        description = "List a rumord agent's members and print its events.")
    parser.add_argument ("--control", default = None,
                         help = "agent control endpoint (default "
                                "ipc:///tmp/rumord-NAME.ctl with --name)")
    parser.add_argument ("--name", default = None,
                         help = "node name, for the default control endpoint")
    parser.add_argument ("--listen", default = "#", metavar = "PATTERN",
                         help = "topic pattern to hear (default '#': all)")
    parser.add_argument ("--no-members", action = "store_true",
                         help = "do not stream member events")
    parser.add_argument ("--count", type = int, default = 0,
                         help = "exit after this many events (0 = never)")
    parser.add_argument ("--timeout", type = float, default = None,
                         help = "exit after this many seconds")
    parser.add_argument ("--wait", type = float, default = 5.0,
                         metavar = "S", help = "seconds to wait for each "
                         "reply of the agent (default 5)")
    parser.add_argument ("--proto", default = None,
                         help = "path of control.proto")
    parser.add_argument ("--build-dir", default = None,
                         help = "where to generate control_pb2.py "
                                "(default: a temporary directory)")
    args = parser.parse_args ()
    endpoint = args.control
    if endpoint is None:
        if args.name is None:
            parser.error ("give --control ENDPOINT or --name NAME")
        endpoint = "ipc:///tmp/rumord-%s.ctl" % args.name

    try:
        pb = load_control_module (args.proto, args.build_dir)
        client = RumorClient (endpoint, pb, timeout = args.wait)
    except ClientError as error:
        sys.stderr.write ("rumor_client: %s\n" % error)
        return 3
    try:
        info = client.info ()
        print ("agent %s id=%s endpoint=%s cluster=%s version=%s" % (
            info.name, info.id, info.endpoint, info.cluster, info.version))
        members = client.members ()
        print ("members: %d" % len (members))
        for member in members:
            print ("MEMBER " + client.format_member (member))
        sys.stdout.flush ()

        def ready ():
            print ("listening on '%s'" % args.listen)
            sys.stdout.flush ()

        printed = 0
        for event in client.listen (args.listen,
                                    members = not args.no_members,
                                    timeout = args.timeout, on_ready = ready):
            print (client.format_event (event))
            sys.stdout.flush ()
            printed += 1
            if args.count and printed >= args.count:
                break
        return 0
    except ClientError as error:
        sys.stderr.write ("rumor_client: %s\n" % error)
        return 3 if error.status is None else 1
    except KeyboardInterrupt:
        return 0
    finally:
        client.close ()


if __name__ == "__main__":
    sys.exit (main ())
