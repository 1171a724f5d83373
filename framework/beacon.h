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
    generation and TTLs would be absurd too; with keys, more than
    replay_window_ms), bad_endpoint (an advertised endpoint that
    rumor_codec_valid_endpoint refuses, or a source address that makes no
    valid endpoint), and with a secret: unsigned (no MAC while we have
    keys), bad_mac (no key of ours verifies it, or it carries a MAC and we
    have no keys) or replayed (not newer than the last beacon we accepted
    from that id). Nothing from the network is ever asserted on.
    rumor_discovery_accept is that whole validation of one datagram,
    without any I/O (recv reads, then calls it): tests and fuzzers use it.

    Signed beacons (a cluster secret): cfg.keys or rumor_discovery_set_keys
    give up to RUMOR_DISCOVERY_KEYS_MAX keys of RUMOR_DISCOVERY_KEY_SIZE
    bytes (derived from the secrets by the caller; copied here, wiped with
    sodium_memzero when replaced or destroyed). keys[0] signs; a beacon is
    accepted if ANY key verifies it, so that a key rotation (install K2
    everywhere, then sign with it, then remove K1) never silences a node.
    The wire form of a signed beacon is

        U || 0x42 0x20 || MAC          (U: the packed beacon without mac)

    i.e. U followed by field 8 (mac, 32 bytes), which protobuf packs last;
    MAC = keyed BLAKE2b-256 (crypto_generichash) of U under the key. It
    covers every other byte of the datagram (cluster, id, generation,
    port, endpoint, timestamp, version), so an accepted datagram is byte
    for byte one that a key holder signed. It does not cover the source
    address: a beacon without an advertised endpoint tells where it came
    from, not who may connect (CURVE authenticates the TCP links).
    Verification is constant-time (crypto_verify_32) and happens right
    after decoding, before any other check, so unauthenticated datagrams
    move nothing but their own refusal counter. A node without keys
    refuses signed beacons (bad_mac): it cannot check them, and that
    cluster would refuse its TCP handshakes anyway.

    Replay defence (with keys only; without a secret anyone can forge a
    beacon, so there is nothing to defend): the timestamp must be within
    replay_window_ms (30 s) of our clock, else bad_time, and per sender id
    it must strictly increase over the last one accepted, else replayed.
    So a captured beacon is refused both soon (replayed) and later
    (bad_time). The table of last timestamps is bounded
    (RUMOR_DISCOVERY_SENDERS_MAX = 4096 ids, least recently heard
    evicted). Why that suffices: only beacons that passed the MAC enter
    it, so only key holders fill it, never a flood of forged ids; 4096
    nodes on one beacon port already means 4096 datagrams per second into
    every host, well past what beacon discovery is for (the benchmarks
    run 64 nodes); and were it exceeded, the ids evicted are the longest
    silent ones, whose last beacons are mostly older than the window, so
    the window still refuses their replays. Side effects: a sender whose
    clock steps back is refused (replayed) until its clock passes its last
    accepted timestamp; nodes whose clocks differ by more than the window
    cannot find each other by beacon (the why report says so).

    How the supervisor drives it (all calls from the thread that owns it):

        rumor_discovery_cfg_t cfg;
        rumor_discovery_cfg_defaults (&cfg);    //  mode OFF until set
        cfg.mode = RUMOR_BEACON_LOOPBACK;
        cfg.cluster = rumor_cluster_hash ("office");
        cfg.self = our_id;  cfg.generation = our_generation;
        cfg.tcp_port = port_the_router_bound;   //  bind the ROUTER first
        cfg.keys = mac_keys;  cfg.n_keys = n;   //  with a secret: primary
                                                //  first (copied)
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
            //  keyring changed: rumor_discovery_set_keys (beacon, keys, n)
        }
        rumor_discovery_destroy (&beacon);

    Polling: rumor_discovery_pollable is the zbeacon zactor in LAN mode and,
    in loopback mode, a rumor_pollfd_t (pollfd.h): the UDP file descriptor
    in the form czmq's zpoller takes "a file handle" (an int * to it); it
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
    mode (the replay defence relies on it), and a signed beacon is signed
    afresh at every tick.
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

//  Signing (see "Signed beacons" above)
#define RUMOR_DISCOVERY_KEY_SIZE        32      //  bytes of one MAC key
#define RUMOR_DISCOVERY_MAC_SIZE        32      //  bytes of a beacon's MAC
#define RUMOR_DISCOVERY_KEYS_MAX        8       //  = RUMOR_KEYRING_MAX
#define RUMOR_DISCOVERY_REPLAY_WINDOW_DFLT  30000
#define RUMOR_DISCOVERY_REPLAY_WINDOW_MIN   1000    //  ms; less refuses
                                                //  beacons of clocks a
                                                //  NTP hiccup apart
//  Ids whose last timestamp we keep (see "Replay defence" above)
#define RUMOR_DISCOVERY_SENDERS_MAX     4096

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
                                    //  and tcp_port. The beacon must fit
                                    //  RUMOR_BEACON_MAX: with keys (34
                                    //  bytes of MAC) the endpoint can be
                                    //  161 bytes in the worst case (a host
                                    //  of 150), without 195
    int64_t max_skew_ms;            //  3600000: a beacon whose timestamp is
                                    //  further than this from our clock is
                                    //  refused (bad_time). An hour forgives
                                    //  bad clocks, as membership's
                                    //  generation tolerance does
    const uint8_t *keys;            //  n_keys x RUMOR_DISCOVERY_KEY_SIZE
                                    //  bytes (copied): keys[0] signs, any
                                    //  verifies; NULL = no secret
    size_t n_keys;                  //  0..RUMOR_DISCOVERY_KEYS_MAX
    int64_t replay_window_ms;       //  30000: with keys, a beacon further
                                    //  than this from our clock is refused
                                    //  (bad_time): a replay can be no
                                    //  older. 30 s is far beyond delivery
                                    //  delays, within what NTP-synced
                                    //  clocks keep; at least
                                    //  RUMOR_DISCOVERY_REPLAY_WINDOW_MIN
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
    uint64_t unsigned_;             //  no MAC while we have keys
                                    //  (exported as beacon.unsigned)
    uint64_t bad_mac;               //  no key verifies it, or a MAC and we
                                    //  have no keys
    uint64_t replayed;              //  timestamp not newer than the last
                                    //  accepted from that id (with keys)
} rumor_discovery_stats_t;

//  Defaults: mode OFF, port 5671, interval 1000 ms, skew 1 h, no keys,
//  replay window 30 s.
void rumor_discovery_cfg_defaults (rumor_discovery_cfg_t *cfg);

//  Create a discovery and open its socket (nothing is sent before the
//  first tick). Returns NULL on failure, with the reason in
//  rumor_discovery_error: bad cfg (port, tcp_port, interval, endpoint,
//  keys, replay window; a beacon that with its MAC would exceed
//  RUMOR_BEACON_MAX), socket or bind failure, no such interface, an
//  interface zbeacon cannot use. A port already used by other loopback
//  beacons is fine (SO_REUSEPORT). A node maps a NULL to RUMOR_ENET.
rumor_discovery_t *rumor_discovery_new (const rumor_discovery_cfg_t *cfg);

//  Why the last rumor_discovery_new (or rumor_discovery_set_keys) of the
//  calling thread failed ("" if it did not). Borrowed, valid until the
//  next of those calls in this thread.
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

//  Validate one datagram as recv does after reading it, without I/O (in
//  any mode, OFF included): size bytes of data from source_address (the
//  numeric sender address, "" or NULL if unknown: then a beacon without an
//  advertised endpoint is refused as bad_endpoint). Only the first
//  RUMOR_BEACON_MAX bytes are ever read: a larger size is refused as
//  oversized (recv passes the datagram's real size). Counts it as heard,
//  then as accepted or under one refusal reason, and updates the replay
//  table. Returns 1 if accepted (heard filled in), 0 if refused.
int rumor_discovery_accept (rumor_discovery_t *self, int64_t now_ms,
                            const void *data, size_t size,
                            const char *source_address, rumor_heard_t *heard);

//  Replace the keys (n_keys x RUMOR_DISCOVERY_KEY_SIZE bytes, copied; the
//  old ones are wiped): keys[0] signs from the next beacon on, any of them
//  verifies. n_keys 0 = no secret (beacons go unsigned, signed ones are
//  refused). The replay table is kept. Returns 0, or -1 (nothing changed)
//  if n_keys is over RUMOR_DISCOVERY_KEYS_MAX or keys NULL with n_keys > 0,
//  or if our beacon with a MAC would exceed RUMOR_BEACON_MAX (a very long
//  advertised endpoint; new already refused that with keys in cfg). The
//  reason is then in rumor_discovery_error.
int rumor_discovery_set_keys (rumor_discovery_t *self, const uint8_t *keys,
                              size_t n_keys);

//  Our beacon stamped timestamp, exactly as tick would send it (signed
//  with keys[0] if we have keys), as a new frame. For tests and fuzz seeds.
zframe_t *rumor_discovery_beacon (rumor_discovery_t *self, uint64_t timestamp);

//  When tick next has work (absolute ms, the clock of now_ms; before the
//  first tick that is 0, i.e. now), or -1 in OFF mode.
int64_t rumor_discovery_next_deadline (rumor_discovery_t *self);

//  Send a beacon stamped now_ms if one is due. Safe to call spuriously.
void rumor_discovery_tick (rumor_discovery_t *self, int64_t now_ms);

//  Change the interval between beacons (RUMOR_DISCOVERY_INTERVAL_MIN ms
//  up to an hour); the next beacon is due at most interval_ms after now_ms.
//  Returns 0, or -1 (nothing changed) for an interval out of range. The
//  supervisor slows its beacon once the node has peers (they find
//  newcomers by the newcomers' own beacons) and speeds it up when alone.
int rumor_discovery_set_interval (rumor_discovery_t *self,
                                  int64_t interval_ms, int64_t now_ms);

//  Pacing: the interval the supervisor gives set_interval. Alone, or with
//  peers for less than a settling time, a node beacons every fast_ms (its
//  configured interval): nodes started together find each other at once.
//  Settled, members find a newcomer by the newcomer's own fast beacons, so
//  theirs only heal partitions, and the cluster shares that job: each of
//  its n nodes (live_peers + 1) beacons every slow * ceil (n / SHARE) ms,
//  where slow is max (fast_ms, RUMOR_DISCOVERY_SLOW_MS). A host then hears
//  about SHARE beacons per slow interval whatever the cluster size, not n
//  (every node hears every beacon: at N = 64 and 2 s, 32 datagrams and
//  wakeups a second per node, most of an idle node's cost). Capped at
//  RUMOR_DISCOVERY_SHARED_MAX_MS, and never below slow.
#define RUMOR_DISCOVERY_SLOW_MS         2000
#define RUMOR_DISCOVERY_SHARE           8
#define RUMOR_DISCOVERY_SHARED_MAX_MS   60000
int64_t rumor_discovery_paced (int64_t fast_ms, size_t live_peers,
                               bool settled);

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
//  port, interfaces czmq can beacon on, whether beacons are signed (and
//  with how many keys; never the keys), beacons sent, heard, accepted,
//  refused by reason, the last beacon accepted and the last refused, and
//  hints. Returns a new string; the caller frees it.
char *rumor_discovery_why (rumor_discovery_t *self);

#endif
