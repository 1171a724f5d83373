/*  =========================================================================
    rumor_discovery - beacon discovery for live nodes

    Every interval a node announces itself in one UDP datagram, a packed
    Rumor__Beacon (cluster hash, id, generation, TCP port, advertised
    endpoint, timestamp; at most RUMOR_BEACON_MAX bytes), and reads the
    beacons of others. A beacon of our cluster from another node tells the
    supervisor "this id at this generation is at this endpoint"; the
    supervisor hands it to membership (rumor_membership_join_id), which
    decides whether to join it.

    Three modes (rumor_beacon_t in rumor.h):
      - RUMOR_BEACON_LOOPBACK: a plain UDP socket with SO_REUSEADDR,
        SO_REUSEPORT and SO_BROADCAST, bound to 127.255.255.255:port and
        sending there. Linux delivers such a broadcast to every socket of
        the host bound to that address and port, in this process or any
        other, and to nothing else: it never leaves the machine, and a
        unicast datagram to 127.0.0.1:port is not delivered to it. The
        socket also hears its own beacons (filtered by id).
      - RUMOR_BEACON_LAN: czmq's zbeacon actor (IPv4 broadcast, or IPv6
        multicast with ZSYS_IPV6) on one interface. czmq 4.2.1 takes that
        interface from zsys_set_interface, which is PROCESS-GLOBAL: we set
        it (under a static mutex) just before zbeacon's CONFIGURE and leave
        it set, since zbeacon reads it again when it recreates its socket
        after a send failure. So every LAN-mode node of one process should
        use the same interface. cfg.iface NULL keeps whatever is in effect
        (ZSYS_INTERFACE, or czmq's choice: the first broadcast-capable
        interface, which broadcasts on the real network). A nonexistent
        interface, or one zbeacon cannot use (czmq skips lo, interfaces
        that are down and those without broadcast), fails at new, before
        anything is sent.
      - RUMOR_BEACON_OFF: an inert object (no socket, no deadline), so that
        the supervisor's code is the same in every mode.

    Every datagram read is counted (heard) and then either accepted or
    refused with exactly one reason counter: oversized, malformed (not a
    beacon, or an id that is not 16 bytes), other_version (another protocol
    major), other_cluster, own (our own beacon came back: our id and
    generation), id_conflict (our id at another generation: another node
    runs under our name), bad_port (TCP port 0 or over 65535),
    bad_time (sender's clock more than max_skew_ms away from ours: its
    generation and TTLs would be absurd too) or bad_endpoint (an advertised
    endpoint that rumor_codec_valid_endpoint refuses, or a source address
    that makes no valid endpoint). Nothing from the network is ever
    asserted on.

    How the supervisor drives it (all calls from the thread that owns it):

        rumor_discovery_cfg_t cfg;
        rumor_discovery_cfg_defaults (&cfg);    //  mode OFF until set
        cfg.mode = RUMOR_BEACON_LOOPBACK;
        cfg.cluster = rumor_cluster_hash ("office");
        cfg.self = our_id;  cfg.generation = our_generation;
        cfg.tcp_port = port_the_router_bound;   //  bind the ROUTER first
        rumor_discovery_t *beacon = rumor_discovery_new (&cfg);
        if (!beacon)                            //  -> RUMOR_ENET
            zsys_error ("beacon: %s", rumor_discovery_error ());
        void *pollable = rumor_discovery_pollable (beacon);  //  NULL if OFF
        if (pollable)
            zpoller_add (poller, pollable);
        while (running) {
            int64_t now = zclock_time ();
            //  timeout: min over next deadlines (beacon's included) - now
            void *which = zpoller_wait (poller, timeout);
            now = zclock_time ();
            if (which && which == pollable) {
                rumor_heard_t heard;
                for (int i = 0; i < RUMOR_DISCOVERY_BURST; i++) {
                    int rc = rumor_discovery_recv (beacon, now, &heard);
                    if (rc < 0)
                        break;          //  nothing more to read
                    if (rc == 1)        //  another node of our cluster
                        join_id (heard.id, heard.generation, heard.endpoint);
                }
            }
            rumor_discovery_tick (beacon, now); //  sends when due
        }
        rumor_discovery_destroy (&beacon);

    Polling: rumor_discovery_pollable is the zbeacon zactor in LAN mode and,
    in loopback mode, a pointer to the UDP file descriptor in the form
    czmq's zpoller takes "a file handle" (an int * to the descriptor); it
    is NULL in OFF mode. zpoller_wait returns that same pointer when a
    datagram is waiting. (In loopback mode it is not a socket: give it to
    zpoller only, never to zsock_* calls.) (czmq probes such a pointer with zmq_getsockopt,
    which reads libzmq's socket tag about 1 KB into it; the descriptor sits
    at the head of a zeroed 4 KiB block so that the probe stays in our
    memory: valgrind-clean.) For zmq_poll or zloop_poller, fill a
    zmq_pollitem_t with rumor_discovery_pollitem. rumor_discovery_fd is the
    raw descriptor (loopback mode only, -1 otherwise) for poll(2).
    Since a level-triggered poll wakes again while anything is left,
    reading at most RUMOR_DISCOVERY_BURST datagrams per wakeup keeps a
    flood of garbage from starving the node's other sockets.

    Timing: rumor_discovery_tick sends one beacon when due (in LAN mode by
    publishing a fresh beacon to zbeacon, which sends it at once), then
    schedules the next one interval_ms later; next_deadline says when. The
    timestamp in each beacon is tick's now_ms, so it stays fresh in every
    mode (the replay defence of a future MAC relies on it).
    =========================================================================
*/

#ifndef RUMOR_BEACON_H_INCLUDED
#define RUMOR_BEACON_H_INCLUDED

#include <czmq.h>
#include "rumor.h"
#include "codec.h"

//  Defaults; each one's rationale is beside its field below
#define RUMOR_DISCOVERY_PORT_DFLT       5671
#define RUMOR_DISCOVERY_INTERVAL_DFLT   1000
#define RUMOR_DISCOVERY_MAX_SKEW_DFLT   (3600 * 1000)
#define RUMOR_DISCOVERY_INTERVAL_MIN    10      //  ms; below that a beacon
                                                //  is a flood, not a hint
//  Datagrams to read per poll wakeup. Why 64: at 1 beacon per node per
//  second this drains a 64-node host in one wakeup, yet a flood of
//  garbage costs at most 64 decodes (each bounded to 255 bytes) before
//  the node's other sockets get their turn.
#define RUMOR_DISCOVERY_BURST           64

typedef struct _rumor_discovery_t rumor_discovery_t;

//  MAC hook, for later (beacon signing with a cluster secret): computes a
//  MAC over data (the packed beacon without its mac field) into mac, at
//  most *mac_size bytes, and sets *mac_size; returns 0 or -1. NOT
//  IMPLEMENTED yet: rumor_discovery_new refuses a non-NULL hook, and
//  received beacons' mac field is ignored.
typedef int (rumor_discovery_mac_fn) (void *arg, const uint8_t *data,
                                      size_t size, uint8_t *mac,
                                      size_t *mac_size);

typedef struct {
    rumor_beacon_t mode;            //  LAN, LOOPBACK or OFF; defaults to
                                    //  OFF so that nothing ever beacons
                                    //  unless the node asks for it
    const char *iface;              //  LAN: interface name (copied); NULL =
                                    //  the process-wide zsys_interface
    int port;                       //  UDP port of the beacon, 1..65535;
                                    //  5671 (zyre beacons on 5670)
    int64_t interval_ms;            //  1000 (DESIGN: beacon every 1 s): a
                                    //  node is found within a second, at
                                    //  N datagrams per second per host;
                                    //  at least RUMOR_DISCOVERY_INTERVAL_MIN
    uint64_t cluster;               //  rumor_cluster_hash of our cluster
    rumor_id_t self;                //  our node id
    uint64_t generation;            //  our generation (start time, ms)
    int tcp_port;                   //  our ROUTER's TCP port, 1..65535
    const char *endpoint;           //  advertised "tcp://host:port", valid
                                    //  for rumor_codec_valid_endpoint
                                    //  (copied); NULL or "" = receivers
                                    //  use the datagram's source address
                                    //  and tcp_port
    int64_t max_skew_ms;            //  3600000: a beacon whose timestamp is
                                    //  further than this from our clock is
                                    //  refused (bad_time). An hour forgives
                                    //  bad clocks, as membership's
                                    //  generation tolerance does
    rumor_discovery_mac_fn *mac;    //  NULL (the only value accepted now)
    void *mac_arg;                  //  first argument of mac
} rumor_discovery_cfg_t;

//  A beacon heard from another node of our cluster
typedef struct {
    rumor_id_t id;                  //  its node id
    uint64_t generation;            //  its generation
    char endpoint [RUMOR_NAME_MAX + 1];     //  "tcp://host:port": the
                                    //  advertised one, else the source
                                    //  address and its TCP port
    char address [INET6_ADDRSTRLEN + 16];   //  datagram's source address
                                    //  (IPv6 may carry a %scope)
    uint64_t timestamp;             //  its clock when it sent, ms
    int64_t heard_ms;               //  our now_ms when we read it
} rumor_heard_t;

//  Counters. heard = accepted + the sum of the refusal counters.
typedef struct {
    uint64_t sent;                  //  beacons sent (LAN: published to
                                    //  zbeacon, which sends at once; its
                                    //  send errors are not visible to us)
    uint64_t send_failed;           //  loopback sendto errors
    uint64_t heard;                 //  datagrams read
    uint64_t accepted;              //  beacons of other nodes, our cluster
    uint64_t oversized;             //  over RUMOR_BEACON_MAX bytes
    uint64_t malformed;             //  not a beacon, or id not 16 bytes
    uint64_t other_version;         //  another protocol major version
    uint64_t other_cluster;         //  another cluster's beacon
    uint64_t own;                   //  our own beacon, heard back
    uint64_t id_conflict;           //  our id, another generation
    uint64_t bad_port;              //  TCP port 0 or over 65535
    uint64_t bad_time;              //  timestamp over max_skew_ms away
    uint64_t bad_endpoint;          //  endpoint not valid (advertised, or
                                    //  made from the source address)
} rumor_discovery_stats_t;

//  Defaults: mode OFF, port 5671, interval 1000 ms, skew 1 h, no MAC.
void rumor_discovery_cfg_defaults (rumor_discovery_cfg_t *cfg);

//  Create a discovery and open its socket (nothing is sent before the
//  first tick). Returns NULL on failure, with the reason in
//  rumor_discovery_error: bad cfg (port, tcp_port, interval, endpoint, a
//  MAC hook), socket or bind failure, no such interface, an interface
//  zbeacon cannot use. A port already used by other loopback beacons is
//  fine (SO_REUSEPORT). A node maps a NULL to RUMOR_ENET.
rumor_discovery_t *rumor_discovery_new (const rumor_discovery_cfg_t *cfg);

//  Why the last rumor_discovery_new of the calling thread failed ("" if it
//  did not). Borrowed, valid until the next rumor_discovery_new in this
//  thread.
const char *rumor_discovery_error (void);

//  Stop beaconing, close the socket or the zbeacon actor, free. Nullifies
//  the pointer; does nothing if it is NULL.
void rumor_discovery_destroy (rumor_discovery_t **self_p);

//  What to poll (see "Polling" above): the zactor (LAN), a pointer to the
//  descriptor in zpoller's file-handle form (loopback), or NULL (OFF).
//  Borrowed, valid while self is.
void *rumor_discovery_pollable (rumor_discovery_t *self);

//  The UDP descriptor in loopback mode, for poll(2); -1 in other modes.
int rumor_discovery_fd (rumor_discovery_t *self);

//  Fill item for zmq_poll or zloop_poller (events = ZMQ_POLLIN). Returns
//  0, or -1 in OFF mode (item is then zeroed).
int rumor_discovery_pollitem (rumor_discovery_t *self, zmq_pollitem_t *item);

//  Read at most one datagram without blocking and validate it. Returns 1
//  if it is a valid beacon of another node of our cluster (heard filled
//  in), 0 if a datagram was refused (reason counted), -1 if there was
//  nothing to read (or OFF mode).
int rumor_discovery_recv (rumor_discovery_t *self, int64_t now_ms,
                          rumor_heard_t *heard);

//  When tick next has work (absolute ms, the clock of now_ms; before the
//  first tick that is 0, i.e. now), or -1 in OFF mode.
int64_t rumor_discovery_next_deadline (rumor_discovery_t *self);

//  Send a beacon stamped now_ms if one is due. Safe to call spuriously.
void rumor_discovery_tick (rumor_discovery_t *self, int64_t now_ms);

//  Counters; borrowed, valid while self is.
const rumor_discovery_stats_t *rumor_discovery_stats (rumor_discovery_t *self);

//  Sum of the refusal counters of stats.
uint64_t rumor_discovery_refused (const rumor_discovery_stats_t *stats);

//  Put every counter into stats as "beacon.<name>" -> decimal string
//  ("beacon.sent", "beacon.heard", "beacon.other_cluster", ...), the form
//  rumor_stats returns. Values are inserted as new strings: give a hash
//  with zhash_autofree set.
void rumor_discovery_export (rumor_discovery_t *self, zhash_t *stats);

//  The last beacon accepted, or NULL if none yet. Borrowed, valid until
//  the next rumor_discovery_recv.
const rumor_heard_t *rumor_discovery_last_heard (rumor_discovery_t *self);

//  Our own address as the beacon sees it: the interface address zbeacon
//  configured (LAN), "127.0.0.1" (loopback), "" (OFF). The node's default
//  advertised host (rumor_set_advertise). Borrowed, valid while self is.
const char *rumor_discovery_address (rumor_discovery_t *self);

//  A multi-line human report for rumor_why: mode, interface and address,
//  port, interfaces czmq can beacon on, beacons sent, heard, accepted,
//  refused by reason, the last beacon accepted and the last refused, and
//  hints. Returns a new string; the caller frees it.
char *rumor_discovery_why (rumor_discovery_t *self);

#endif
