/*  =========================================================================
    rumor_supervisor - the actor that owns a node's network endpoint

    See supervisor.h for what it owns and its pipe protocol. The code is in
    five parts: peers and their DEALERs, the inbound path (decode once,
    hand to actors), the outbound path (seal, send), events (routing
    between actors, conversion for the program) and the actor's life
    (START, STOP, timers, the loop).
    =========================================================================
*/

#include <inttypes.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include "supervisor.h"
#include "beacon.h"
#include "pollfd.h"
#include "codec.h"
#include "effects.h"
#include "shell.h"
#include "actors.h"
#include "detector.h"
#include "secret.h"
#include "zap.h"
#include <sodium.h>

//  Inbound frames queued on the ROUTER. Why 10000: a burst from every peer
//  at once (a broadcast answered by all, a push-pull round) fits, while
//  memory stays bounded (frames are small, at most RUMOR_FRAME_MAX); past
//  it TCP pushes back and the senders' DEALER queues fill and drop.
#define S_ROUTER_RCVHWM     10000
//  Replies through the ROUTER (Acks to strangers) are rare: 1000 is ample.
#define S_ROUTER_SNDHWM     1000
//  Frames queued per peer: the max-queue limit (rumor_limits.h, default 1000),
//  which also sets the ROUTER's inbound queue (s_router_limits) over the
//  S_ROUTER_RCVHWM that s_router_options sets first.
//  Links to endpoints whose id we do not know yet (seeds). Why 64: seeds
//  are a handful; this only bounds a program that joins in a loop.
#define S_ANON_MAX          64
//  An anonymous link no member claimed is closed after 30 s: the seed
//  either answered under another address or is not there.
#define S_ANON_IDLE_MS      30000
//  Seeds remembered for rumor_why (the membership core retries them)
#define S_SEEDS_MAX         64
//  Messages waiting for room in an actor's pipe (control messages only:
//  decoded frames are dropped instead). Why 4 x max-queue (4096 by
//  default): twice what the pipe itself holds; an actor that lags more
//  than that is wedged.
#define S_BACKLOG_MAX(self)  (size_t) (4 * (self)->caps.queue)
//  Messages read from one socket per wakeup, so that no socket starves
//  the others (a flood on the ROUTER, a chatty actor).
#define S_BURST             64
//  App frames a link keeps while its DEALER is full (the max-queue limit
//  again): past it the supervisor stops reading the app actor, which
//  stops reading its pipe, and so on up to the program's rumor_say.
#define S_LINK_PENDING_MAX(self)  (size_t) ((self)->caps.queue)
//  A link whose queue moved nothing for this long is not slow but gone (a
//  dead peer before the detector says so, a refused handshake): its app
//  frames are dropped and counted ("supervisor.app_dropped"), and so are
//  the next ones until its DEALER has room again, so that one dead peer
//  does not hold back every other. Without a connection (closed, refused,
//  never made) 1 s; with one, the peer is alive but behind (a loaded
//  host): 4 s, still under the 5 s a blocked rumor_say waits.
#define S_LINK_STALL_MS     1000
#define S_LINK_STALL_UP_MS  4000
//  Neither the program's pipe nor the ROUTER is read while the app actor's
//  backlog holds this many messages: the program blocks in rumor_say and
//  rumor_whisper, and a peer's frames wait in TCP (its DEALER fills, it
//  keeps its app frames, its program blocks), instead of messages being
//  dropped. Half the backlog's bound: a burst read meanwhile still fits.
#define S_PIPE_PAUSE(self)  (S_BACKLOG_MAX (self) / 2)
//  Graceful leave: at most this long before STOP answers anyway (rumor.h
//  promises about two seconds).
#define S_LEAVE_BOUND_MS    2000
//  After membership says the leave is spread, keep running this long so
//  the last frames leave the DEALERs (they close with LINGER 0).
#define S_DRAIN_MS          100
//  How often DEAD/LEFT peers and idle anonymous links are checked.
#define S_REAP_CHECK_MS     1000
//  How long rumor_supervisor_actor_destroy waits for room for $TERM.
#define S_TERM_WAIT_MS      2000
//  LOCAL profile: beacon every 250 ms instead of 1 s. One host: beacons
//  cost nothing, and nodes started together find each other at once.
#define S_LOCAL_BEACON_MS   250
//  Once a node has had peers for S_BEACON_SETTLE_MS its beacon slows down
//  and is shared by the cluster (rumor_discovery_paced): on one host every
//  node reads every other's beacons, N datagrams per interval per node,
//  which at 250 ms and N = 64 was most of an idle node's CPU. Members find
//  a newcomer by its own (fast) beacons, so only partitions heal slower
//  (seconds). Alone, it beacons fast again.
#define S_BEACON_SETTLE_MS  5000
//  With a secret, libzmq checks ZMQ_MAXMSGSIZE against the encrypted
//  CURVE MESSAGE command: the frame plus 33 bytes (command name, nonce,
//  MAC, flags). The plaintext is bounded again by the codec.
#define S_CURVE_OVERHEAD    64
//  An endpoint whose handshakes failed with every key is not tried again
//  for 1 s, doubling up to 60 s: a node of another cluster (or without
//  the secret) costs a handshake a minute, not ten a second, and a
//  healthy one that was restarting comes back within a second.
#define S_BACKOFF_MIN_MS    1000
#define S_BACKOFF_MAX_MS    60000
//  ... but a live member's endpoint starts at 100 ms: a member was
//  admitted before, so a failed handshake with it is most likely a key
//  rotation in flight (a newcomer with the new key only, while the others
//  still serve the old one for S_REKEY_DELAY_MS), and every send to it is
//  dropped while it backs off. A member that really lost the secret
//  doubles to the same 60 s within 10 failures.
#define S_BACKOFF_MEMBER_MS 100
//  Endpoints in backoff remembered (bounded like the anonymous links; the
//  oldest deadline is forgotten first) and how long after its deadline a
//  quiet entry is dropped
#define S_BACKOFF_ENTRIES   1024
#define S_BACKOFF_FORGET_MS (2 * S_BACKOFF_MAX_MS)
//  A cluster-wide USE or REMOVE re-keys (rebinds, closes links) this long
//  after the answer is sent, so that every answer gets home on the links
//  it would cut: all members apply the op at about the same time.
#define S_REKEY_DELAY_MS    500
//  Rebinding the same port right after zmq_unbind can race libzmq's own
//  close of the listener: try again at once up to S_REBIND_SPIN times a
//  millisecond apart, then every S_REBIND_RETRY_MS, S_REBIND_TRIES times,
//  then every second (counted: the port was taken meanwhile)
#define S_REBIND_SPIN       20
#define S_REBIND_RETRY_MS   20
#define S_REBIND_TRIES      250
//  Secured DEALERs reconnect after 10 ms, doubling to 1 s (s_dealer_curve)
#define S_RECONNECT_MS      10
#define S_RECONNECT_MAX_MS  1000
//  The reserved topic of keyring queries, and the reserved prefix
#define S_KEYS_TOPIC        "$rumor.keys"
#define S_RESERVED_PREFIX   "$rumor"
//  Monitor events that end a handshake in failure
#define S_HANDSHAKE_FAILED  (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL \
                           | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL \
                           | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

//  The four actors, in rumor_owner_t order minus one
typedef enum {
    S_MEMBERSHIP = 0,
    S_DETECTOR,
    S_ANTI_ENTROPY,
    S_APP,
    S_ACTORS
} s_actor_index_t;

static const char *s_actor_names [S_ACTORS] = {
    "membership", "detector", "anti_entropy", "app"
};

//  State of a peer we never heard membership talk about
#define S_STATE_UNKNOWN     0

//  Counters of the supervisor ("supervisor.<name>")
typedef struct {
    uint64_t frames_in;             //  frames read (ROUTER and DEALERs)
    uint64_t bytes_in;              //  their bytes
    uint64_t frames_out;            //  frames handed to a socket
    uint64_t bytes_out;             //  their bytes
    uint64_t bad_frames;            //  multipart messages from a peer
    uint64_t dropped_full;          //  sends dropped: peer queue full
    uint64_t dropped_actor;         //  decoded frames dropped: actor full
    uint64_t dropped_control;       //  control messages dropped: backlog
                                    //  full, or lost on a pipe
    uint64_t unroutable;            //  sends with no link and no route
    uint64_t routed;                //  sent back over a peer's connection
    uint64_t seal_failed;           //  sends too big once sealed
    uint64_t to_self;               //  sends addressed to ourselves
    uint64_t peers_full;            //  new peers past max_members
    uint64_t anon_full;             //  anonymous links past S_ANON_MAX
    uint64_t links_opened;          //  DEALERs opened
    uint64_t links_closed;          //  DEALERs closed
    uint64_t link_failed;           //  DEALERs that could not be opened
    uint64_t peer_lost;             //  disconnects told to the detector
    uint64_t bad_effects;           //  actor messages we could not parse
    uint64_t bad_events;            //  event kinds/details not in effects.h
    uint64_t replies_dropped;       //  replies the program pipe refused
    uint64_t beacon_joins;          //  accepted beacons passed to membership
    uint64_t beacon_known;          //  ... not passed: member known alive there
    uint64_t member_routine;        //  member events for the detector only
                                    //  (see s_member_routine)
    uint64_t seed_joins;            //  Join attempts to seeds
    uint64_t router_accepted;       //  connections accepted by the ROUTER
    uint64_t router_disconnects;    //  ... dropped (peer gone, or libzmq
                                    //  cut it: a frame over RUMOR_FRAME_MAX)
    uint64_t router_handshake_failed;   //  ZMTP handshakes that failed
                                    //  (not ZeroMQ: random bytes, a scan)
    uint64_t app_queued;            //  app frames that waited for room in
                                    //  a DEALER (backpressure, not loss)
    uint64_t app_dropped;           //  app frames dropped: link stalled
                                    //  (S_LINK_STALL_MS) or closed
    uint64_t app_paused;            //  times the app actor was not read:
                                    //  a link's queue was full
    uint64_t pipe_paused;           //  times the program's pipe was not
                                    //  read: the app actor lagged
    uint64_t router_paused;         //  times the ROUTER was not read: the
                                    //  app actor lagged on its own
    uint64_t posts_refused;         //  no-reply commands refused (not
                                    //  started, unknown actor)
    uint64_t pings_answered;        //  Pings answered here (s_answer_ping)
    uint64_t ping_wrong_target;     //  Pings meant for another member (a
                                    //  stale address), not answered
} s_stats_t;

//  Counters of security ("security.<name>"), kept with or without a secret
typedef struct {
    uint64_t handshakes_refused;    //  handshakes our ROUTER failed (wrong
                                    //  key, no secret, ZAP refusal, not
                                    //  ZeroMQ)
    uint64_t handshake_failures;    //  handshakes our DEALERs failed
    uint64_t key_retries;           //  links reopened with the next key
    uint64_t links_given_up;        //  links closed: every key failed
    uint64_t backoff_dropped;       //  sends dropped: endpoint backing off
    uint64_t keys_applied;          //  keyring ops applied (API, cluster)
    uint64_t keys_refused;          //  ... refused
    uint64_t rebinds;               //  ROUTER rebinds with a new key
    uint64_t rebind_failed;         //  ... that could not bind the port
    uint64_t reserved_dropped;      //  messages on "$rumor." topics that
                                    //  were not ours to answer
} s_security_t;

#define S_SECURITY(field) { #field, offsetof (s_security_t, field) }
static const rumor_shell_counter_t s_security_counters [] = {
    S_SECURITY (handshakes_refused), S_SECURITY (handshake_failures),
    S_SECURITY (key_retries), S_SECURITY (links_given_up),
    S_SECURITY (backoff_dropped), S_SECURITY (keys_applied),
    S_SECURITY (keys_refused), S_SECURITY (rebinds),
    S_SECURITY (rebind_failed), S_SECURITY (reserved_dropped)
};
#undef S_SECURITY

//  An endpoint whose handshakes failed with every key
typedef struct {
    int64_t until;                  //  no new link before then
    int64_t delay;                  //  the current delay, ms
} s_backoff_t;

#define S_COUNTER(field) { #field, offsetof (s_stats_t, field) }
static const rumor_shell_counter_t s_counters [] = {
    S_COUNTER (frames_in), S_COUNTER (bytes_in), S_COUNTER (frames_out),
    S_COUNTER (bytes_out), S_COUNTER (bad_frames), S_COUNTER (dropped_full),
    S_COUNTER (dropped_actor), S_COUNTER (dropped_control),
    S_COUNTER (unroutable), S_COUNTER (routed), S_COUNTER (seal_failed),
    S_COUNTER (to_self),
    S_COUNTER (peers_full), S_COUNTER (anon_full), S_COUNTER (links_opened),
    S_COUNTER (links_closed), S_COUNTER (link_failed), S_COUNTER (peer_lost),
    S_COUNTER (bad_effects), S_COUNTER (bad_events),
    S_COUNTER (replies_dropped), S_COUNTER (beacon_joins),
    S_COUNTER (beacon_known), S_COUNTER (member_routine),
    S_COUNTER (seed_joins), S_COUNTER (router_accepted),
    S_COUNTER (router_disconnects), S_COUNTER (router_handshake_failed),
    S_COUNTER (app_queued), S_COUNTER (app_dropped), S_COUNTER (app_paused),
    S_COUNTER (pings_answered), S_COUNTER (ping_wrong_target),
    S_COUNTER (pipe_paused), S_COUNTER (router_paused),
    S_COUNTER (posts_refused)
};
#undef S_COUNTER

#define S_CODEC(field) { #field, offsetof (rumor_codec_stats_t, field) }
static const rumor_shell_counter_t s_codec_counters [] = {
    S_CODEC (accepted), S_CODEC (oversized), S_CODEC (malformed),
    S_CODEC (bad_version), S_CODEC (bad_cluster), S_CODEC (bad_sender),
    S_CODEC (no_body), S_CODEC (bad_field)
};
#undef S_CODEC

typedef struct _s_peer_t s_peer_t;

//  One DEALER (with its monitor) to one endpoint
typedef struct {
    zsock_t *dealer;                //  connected to endpoint
    zsock_t *monitor;               //  PAIR reading the DEALER's monitor
    int dealer_fd;                  //  their file handles, in
    int monitor_fd;                 //  self->epoll (s_link_touch)
    void *checking;                 //  our item in self->checking while
                                    //  the link is to be read, or NULL
    bool monitor_dirty;             //  ... and its monitor too
    char *endpoint;                 //  "tcp://host:port"
    s_peer_t *peer;                 //  owner, NULL while anonymous
    void *handle;                   //  our item in self->links
    int64_t used_at;                //  last send through it
    bool handshaken;                //  its connection is up: a disconnect
                                    //  now is a lost peer, a failed
                                    //  handshake is not
    size_t key;                     //  keyring index it tries (secured)
    uint8_t fingerprint [RUMOR_FINGERPRINT_SIZE];   //  ... that key's
    size_t failures;                //  handshakes failed in a row
    bool proven;                    //  one of its handshakes succeeded
    int lost;                       //  secured: disconnected, PEERLOST
                                    //  waits for the redial's outcome:
                                    //  1 = redial to be scheduled, 2 =
                                    //  scheduled (the next retry means
                                    //  it was refused)
    zlistx_t *pending;              //  app frames waiting for room in the
                                    //  DEALER (zframe_t), or NULL
    int64_t moved_at;               //  when pending last moved (or began)
    bool full;                      //  pending holds S_LINK_PENDING_MAX
    bool stalled;                   //  pending was dropped: app frames are
                                    //  dropped until the DEALER has room
} s_link_t;

//  What we know of one member, from membership's "member" events
struct _s_peer_t {
    rumor_id_t id;                  //  member id
    char hex [RUMOR_ID_HEX];        //  its hex form, the table key
    char *name;                     //  node name, "" if unknown
    char *endpoint;                 //  endpoint, "" if unknown
    int state;                      //  Rumor__State, or S_STATE_UNKNOWN
    uint64_t generation;            //  its generation
    uint32_t incarnation;           //  its incarnation
    uint64_t tags_hash;             //  hash of its tags (UPDATED events)
    char *evidence;                 //  our detector's last verdict, or NULL
    int evidence_state;             //  the state that verdict was about
    int64_t gone_at;                //  DEAD/LEFT/unknown since, 0 if live
    s_link_t *link;                 //  our DEALER to it, or NULL
};

//  How a peer that connected to us is reached back through our ROUTER
typedef struct {
    zframe_t *routing;              //  its DEALER's routing id here
    int fd;                         //  that connection's socket (the
                                    //  ROUTER monitor names it on a
                                    //  disconnect), -1 if unknown
} s_route_t;

//  A seed endpoint
typedef struct {
    char *endpoint;                 //  "tcp://host:port"
    uint64_t tries;                 //  Joins sent to it
    int64_t last_at;                //  when the last one was sent
} s_seed_t;

//  A control message waiting for room in an actor's pipe
typedef struct {
    zmsg_t *msg;                    //  the message
    rumor_shared_t *shared;         //  the pointer it carries, or NULL
} s_pending_t;

//  What the loop waits on. Not a zpoller: zmq_poll asks every socket for
//  its events twice per call and each ask is a poll system call when the
//  socket has nothing, so an idle node made some 25 system calls per
//  wakeup, 500 a second at N = 32, for 20 frames. Each socket's ZMQ_FD is
//  in our epoll set instead and we ask a socket for its events only when
//  it may have input (s_source_t.dirty): its handle fired, or we used the
//  socket (a send may take the signal of a frame that arrived meanwhile),
//  or its last read stopped at a burst.
typedef enum {
    S_SRC_PIPE = 0,                 //  the program's pipe
    S_SRC_LINKS,                    //  the epoll set of every link
    S_SRC_ROUTER,
    S_SRC_MONITOR,                  //  the ROUTER's monitor
    S_SRC_BEACON,
    S_SRC_ACTOR,                    //  then one per actor
    S_SOURCES = S_SRC_ACTOR + S_ACTORS
} s_source_index_t;

typedef struct {
    void *handle;                   //  a socket or actor, or a rumor_pollfd_t
    bool zmq;                       //  a socket: ask it (zsock_events)
    bool dirty;                     //  may have input: look before we sleep
    bool off;                       //  not read (backpressure): not waited on
    bool unwatched;                 //  epoll refused it: looked at each ms
} s_source_t;

typedef struct {
    zsock_t *pipe;                  //  to the node (program thread)
    zsock_t *events;                //  PAIR to the program (borrowed)
    int loop_fd;                    //  epoll over every source's handle
    s_source_t sources [S_SOURCES]; //  what the loop reads
    uint64_t loop_turns;            //  turns of the loop (waits)
    uint64_t loop_unwatched;        //  sources epoll refused (looked at
                                    //  every ms instead)
    bool terminated;                //  $TERM received
    //  Configuration (copied)
    char *name;                     //  our node name
    rumor_id_t id;                  //  our node id
    char hex [RUMOR_ID_HEX];        //  our id in hex
    uint64_t generation;            //  our generation
    uint64_t seed;                  //  seeds the cores
    char *cluster;                  //  cluster name
    uint64_t cluster_hash;          //  its hash, in every frame
    int port;                       //  TCP port asked for (0 = any)
    char *bind;                     //  address to bind
    char *advertise;                //  host to advertise, or NULL
    rumor_beacon_t beacon_mode;     //  beacon mode
    char *iface;                    //  LAN interface, or NULL
    int beacon_port;                //  UDP port, 0 = default
    int profile;                    //  RUMOR_ACTOR_PROFILE_*
    zlistx_t *tags;                 //  "key=value" strings
    rumor_membership_limits_t limits;   //  membership's profile values
    rumor_limits_t caps;            //  user-facing limits, resolved
    //  Running state
    bool started;                   //  START succeeded
    char *endpoint;                 //  our advertised endpoint
    zsock_t *router;                //  our inbox
    zsock_t *router_monitor;        //  PAIR reading the ROUTER's monitor
    rumor_discovery_t *beacon;      //  beacon (inert when OFF)
    int64_t beacon_fast_ms;         //  its interval while we are alone
    int64_t beacon_peers_since;     //  we have had live peers since, or 0
    void *beacon_pollable;          //  what to poll for it, or NULL
    zactor_t *actors [S_ACTORS];    //  the four actors
    zlistx_t *backlogs [S_ACTORS];  //  s_pending_t per actor
    zhashx_t *peers;                //  hex -> s_peer_t
    zlistx_t *links;                //  every s_link_t
    zhashx_t *anon;                 //  endpoint -> anonymous s_link_t
    zhashx_t *routes;               //  sender hex -> s_route_t
    uint32_t links_made;            //  links opened, for routing ids
    zlistx_t *seeds;                //  s_seed_t
    uint32_t incarnation;           //  ours, from membership
    uint64_t seq;                   //  frames sealed so far
    int64_t next_reap_at;           //  next reaping pass
    //  Graceful leave
    bool leaving;                   //  STOP received
    uint32_t stop_seq;              //  its seq, 0 once answered
    int64_t stop_deadline;          //  answer by then at the latest
    int64_t left_at;                //  membership said LEFT is spread
    //  Counters
    s_stats_t stats;                //  ours
    rumor_codec_stats_t codec;      //  inbound frames, per node
    uint64_t events_sent;           //  program events delivered
    uint64_t events_dropped;        //  ... dropped: program not reading
    //  Security
    rumor_keyring_t *keyring;       //  the node's (borrowed), or NULL
    bool secure;                    //  started with a secret
    rumor_zap_domain_t *zap;        //  our ZAP domain while secured
    char *why;                      //  why START failed, or NULL
    char *bound;                    //  the ROUTER's bound endpoint
    int bound_port;                 //  ... its port
    int64_t rekey_at;               //  close stale links and rebind then,
                                    //  0 = nothing to do
    int64_t rebind_at;              //  next bind attempt, 0 = bound
    int rebind_tries;               //  attempts left
    bool rebind_needed;             //  the next re-key rebinds
    uint8_t server_print [RUMOR_FINGERPRINT_SIZE];  //  the key the ROUTER
                                    //  was bound with
    zhashx_t *backoff;              //  endpoint -> s_backoff_t
    s_security_t sec;               //  counters
    //  Flow control of app traffic (see S_LINK_PENDING_MAX)
    size_t pending_frames;          //  app frames in every link's pending
    size_t links_full;              //  links whose pending is full
    rumor_pollfd_t *epoll;          //  an epoll set of every link's handles
    zlistx_t *checking;             //  links to read (s_link_touch)
} self_t;


//  --------------------------------------------------------------------------
//  Small helpers

static char *
s_strdup_or_null (const char *string)
{
    return string? strdup (string): NULL;
}

static void
s_free_string (void **item)
{
    free (*item);
    *item = NULL;
}

void
rumor_supervisor_actor_destroy (zactor_t **actor_p)
{
    assert (actor_p);
    if (!*actor_p)
        return;
    //  zactor_destroy sends $TERM with SNDTIMEO 0: make sure it fits. An
    //  actor that stopped reading its pipe until what it sends us drains
    //  (backpressure) needs that read: discard it meanwhile, as
    //  zactor_destroy's own wait does.
    zsock_t *pipe = zactor_sock (*actor_p);
    zmq_pollitem_t item = { zsock_resolve (pipe), 0,
                            ZMQ_POLLOUT | ZMQ_POLLIN, 0 };
    int64_t deadline = zclock_mono () + S_TERM_WAIT_MS;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0 || zmq_poll (&item, 1, (long) left) <= 0
        ||  (item.revents & ZMQ_POLLOUT))
            break;
        zmsg_t *msg = zmsg_recv (pipe);
        zmsg_destroy (&msg);
    }
    zactor_destroy (actor_p);
}


//  --------------------------------------------------------------------------
//  The loop's sources (see s_source_t)

static int
s_source_fd (const s_source_t *source)
{
    return source->zmq? zsock_fd (source->handle)
                      : ((rumor_pollfd_t *) source->handle)->fd;
}

//  Put a source's handle in the set, or take it out. If epoll refuses
//  (out of memory, max_user_watches) the source is looked at every
//  millisecond instead: slower, never lost.
static void
s_source_watch (self_t *self, int index, bool add)
{
    s_source_t *source = &self->sources [index];
    struct epoll_event event = { .events = EPOLLIN,
                                 .data.u32 = (uint32_t) index };
    int rc = epoll_ctl (self->loop_fd, add? EPOLL_CTL_ADD: EPOLL_CTL_DEL,
                        s_source_fd (source), &event);
    if (add) {
        source->unwatched = rc != 0;
        self->loop_unwatched += rc != 0;
    }
}

//  Read a source from now on: a socket or actor (zmq), or a
//  rumor_pollfd_t. A socket is looked at before the first wait; a plain
//  handle is level-triggered and wakes us when it has something.
static void
s_source_add (self_t *self, int index, void *handle, bool zmq)
{
    s_source_t *source = &self->sources [index];
    source->handle = handle;
    source->zmq = zmq;
    source->dirty = zmq;
    source->off = false;
    s_source_watch (self, index, true);
}

//  Stop or resume reading a source (backpressure): out of the set while
//  off, or its handle would wake us again and again; looked at when back.
static void
s_source_switch (self_t *self, int index, bool off)
{
    s_source_t *source = &self->sources [index];
    if (!source->unwatched)
        s_source_watch (self, index, !off);
    source->off = off;
    if (!off)
        source->dirty = true;
}

//  Does a source have input now? A socket is asked only while dirty, and
//  is clean once it says no, until its handle fires or we use it. A plain
//  handle has input while dirty; its reader cleans it.
static bool
s_source_has_input (self_t *self, int index)
{
    s_source_t *source = &self->sources [index];
    if (!source->handle || source->off || !source->dirty)
        return false;
    if (!source->zmq || (zsock_events (source->handle) & ZMQ_POLLIN))
        return true;
    source->dirty = false;
    return false;
}

//  The next frame of a socket source that may have input, or NULL: then
//  it is clean (see rumor_shell_try_recv: no events asked first)
static zframe_t *
s_source_recv (self_t *self, int index)
{
    s_source_t *source = &self->sources [index];
    if (!source->handle || source->off || !source->dirty)
        return NULL;
    assert (source->zmq);
    zframe_t *frame = rumor_shell_try_recv (source->handle);
    if (!frame)
        source->dirty = false;
    return frame;
}

//  We sent on a socket: its send may have taken the signal of a frame
//  that arrived meanwhile, so look at it before we sleep.
static void
s_source_used (self_t *self, int index)
{
    self->sources [index].dirty = true;
}

//  Sleep until a source's handle fires or timeout_ms pass, and mark those
//  that fired.
static void
s_wait (self_t *self, int timeout_ms)
{
    struct epoll_event events [S_SOURCES];
    int ready = epoll_wait (self->loop_fd, events, S_SOURCES, timeout_ms);
    self->loop_turns++;
    for (int i = 0; i < ready; i++)
        if (events [i].data.u32 < S_SOURCES)
            self->sources [events [i].data.u32].dirty = true;
    for (int index = 0; index < S_SOURCES; index++)
        if (self->sources [index].unwatched)
            self->sources [index].dirty = true;
}

//  Our end of an actor's pipe, which we are about to use
static zsock_t *
s_actor_sock (self_t *self, int index)
{
    s_source_used (self, S_SRC_ACTOR + index);
    return zactor_sock (self->actors [index]);
}


//  --------------------------------------------------------------------------
//  Links: one DEALER and its monitor

//  Links are not in the loop's sources: a node's idle cost would grow with
//  its peers. Their file handles are in an epoll set of their own, one
//  source of the loop (S_SRC_LINKS); a ready handle puts its link on the
//  "checking" list, read before we sleep. A handle signals only a change, though: a link is read until it
//  holds nothing (s_link_read), and is read again after we used its
//  DEALER, whose send or events query may have taken the signal of a
//  frame that arrived meanwhile.
static void
s_link_touch (self_t *self, s_link_t *link)
{
    if (!link->checking)
        link->checking = zlistx_add_end (self->checking, link);
}

static void
s_link_checked (self_t *self, s_link_t *link)
{
    if (link->checking) {
        zlistx_delete (self->checking, link->checking);
        link->checking = NULL;
    }
}

//  Add (or, with add false, remove) a link's handles to the epoll set.
//  0, or -1 if epoll refused one (out of memory or max_user_watches): a
//  link we would never read must not be kept.
static int
s_link_watch (self_t *self, s_link_t *link, bool add)
{
    int handles [2] = { link->dealer_fd, link->monitor_fd };
    int rc = 0;
    for (int index = 0; index < 2; index++) {
        struct epoll_event event = { .events = EPOLLIN, .data.ptr = link };
        if (epoll_ctl (self->epoll->fd, add? EPOLL_CTL_ADD: EPOLL_CTL_DEL,
                       handles [index], &event))
            rc = -1;
    }
    return rc;
}

//  Close a link's DEALER and monitor (the link itself stays)
static void
s_link_close (self_t *self, s_link_t *link)
{
    if (link->dealer) {
        s_link_watch (self, link, false);   //  (a handle not in it: fine)
        //  Stop the monitor before closing what it watches
        zmq_socket_monitor (zsock_resolve (link->dealer), NULL, 0);
    }
    zsock_destroy (&link->monitor);
    zsock_destroy (&link->dealer);
    link->handshaken = false;
}

//  Pending app frames of a link

static void
s_frame_destroy (void **item)
{
    zframe_destroy ((zframe_t **) item);
}

//  Keep links_full in step with the link's pending size
static void
s_pending_mark (self_t *self, s_link_t *link)
{
    bool full = link->pending
             && zlistx_size (link->pending) >= S_LINK_PENDING_MAX (self);
    if (full && !link->full)
        self->links_full++;
    else
    if (!full && link->full)
        self->links_full--;
    link->full = full;
}

//  Drop what the link keeps, counted
static void
s_pending_drop (self_t *self, s_link_t *link)
{
    size_t size = link->pending? zlistx_size (link->pending): 0;
    if (size) {
        self->stats.app_dropped += size;
        self->pending_frames -= size;
        zlistx_purge (link->pending);
    }
    s_pending_mark (self, link);
}

//  Send what the link keeps while its DEALER has room; once nothing moved
//  for S_LINK_STALL_MS, drop it and mark the link stalled.
static void
s_pending_flush (self_t *self, s_link_t *link, int64_t now)
{
    zframe_t *frame;
    if (link->dealer)
        s_link_touch (self, link);
    //  (no POLLOUT asked first: see rumor_shell_try_recv; a send that
    //  does not fit fails at once, SNDTIMEO 0)
    while (link->dealer
       && (frame = (zframe_t *) zlistx_first (link->pending))) {
        size_t size = zframe_size (frame);
        if (zframe_send (&frame, link->dealer, ZFRAME_DONTWAIT | ZFRAME_REUSE))
            break;
        zlistx_delete (link->pending, zlistx_cursor (link->pending));
        self->pending_frames--;
        self->stats.frames_out++;
        self->stats.bytes_out += size;
        link->moved_at = now;
    }
    int64_t stall = link->dealer && link->handshaken? S_LINK_STALL_UP_MS
                                                    : S_LINK_STALL_MS;
    if (zlistx_size (link->pending) && now - link->moved_at >= stall) {
        s_pending_drop (self, link);
        link->stalled = true;
    }
    s_pending_mark (self, link);
}

//  Every link's pending, while any has some
static void
s_links_flush (self_t *self, int64_t now)
{
    if (!self->pending_frames)
        return;
    for (s_link_t *link = (s_link_t *) zlistx_first (self->links); link;
         link = (s_link_t *) zlistx_next (self->links))
        if (link->pending && zlistx_size (link->pending))
            s_pending_flush (self, link, now);
}

//  An app frame: sent at once if the DEALER has room and nothing waits
//  before it, else kept in order (never dropped while the link moves).
static void
s_send_app (self_t *self, s_link_t *link, zframe_t **frame_p, int64_t now)
{
    if (link->dealer)
        s_link_touch (self, link);
    if (link->stalled && link->dealer
    && (zsock_events (link->dealer) & ZMQ_POLLOUT))
        link->stalled = false;      //  it moves again
    size_t waiting = link->pending? zlistx_size (link->pending): 0;
    if (link->stalled || waiting >= 2 * S_LINK_PENDING_MAX (self)) {
        //  (past twice the bound only if the app actor was read anyway)
        self->stats.app_dropped++;
        zframe_destroy (frame_p);
        return;
    }
    size_t size = zframe_size (*frame_p);
    if (waiting == 0 && link->dealer
    &&  zframe_send (frame_p, link->dealer, ZFRAME_DONTWAIT) == 0) {
        self->stats.frames_out++;
        self->stats.bytes_out += size;
        return;
    }
    if (!link->pending) {
        link->pending = zlistx_new ();
        assert (link->pending);
        zlistx_set_destructor (link->pending, s_frame_destroy);
    }
    if (waiting == 0)
        link->moved_at = now;
    zlistx_add_end (link->pending, *frame_p);
    *frame_p = NULL;
    self->pending_frames++;
    self->stats.app_queued++;
    s_pending_mark (self, link);
}

static void
s_link_destroy (self_t *self, s_link_t **link_p)
{
    s_link_t *link = *link_p;
    if (!link)
        return;
    s_link_close (self, link);
    s_link_checked (self, link);
    s_pending_drop (self, link);
    zlistx_destroy (&link->pending);
    if (link->handle)
        zlistx_delete (self->links, link->handle);
    if (link->peer)
        link->peer->link = NULL;
    free (link->endpoint);
    free (link);
    self->stats.links_closed++;
    *link_p = NULL;
}

//  Each link gets its own routing id: our id and a link number. With our
//  id alone, a stale link (to a dead member's address, now taken by a
//  restarted node) and a fresh one would share a routing id at the peer's
//  ROUTER, whose handover silently cuts the older connection off: pings
//  vanish and a healthy node is suspected again and again. The sender is
//  named by the envelope anyway.
static void
s_dealer_options (self_t *self, zsock_t *dealer)
{
    uint8_t routing [RUMOR_ID_SIZE + 4];
    memcpy (routing, self->id.bytes, RUMOR_ID_SIZE);
    uint32_t number = ++self->links_made;
    memcpy (routing + RUMOR_ID_SIZE, &number, sizeof (number));
    zmq_setsockopt (zsock_resolve (dealer), ZMQ_ROUTING_ID, routing,
                    sizeof (routing));
    zsock_set_sndhwm (dealer, (int) self->caps.queue);
    zsock_set_rcvhwm (dealer, (int) self->caps.queue);
    zsock_set_sndtimeo (dealer, 0);
    zsock_set_linger (dealer, 0);
    zsock_set_maxmsgsize (dealer, self->caps.message_bytes);
}

//  Open a DEALER to endpoint, with a monitor for disconnects. NULL if the
//  sockets cannot be made or the endpoint is refused by libzmq.
//  Number of monitor endpoints made, so each one is unique
static atomic_uint s_monitors;

//  With a secret: the DEALER is a CURVE client with the keypair of the
//  link's key, and expects that same key as the server's (one keypair per
//  secret). The frame limit grows by CURVE's overhead.
static void
s_dealer_curve (self_t *self, s_link_t *link)
{
    const rumor_key_t *key = rumor_keyring_at (self->keyring, link->key);
    assert (key);                   //  link->key < size, by the callers
    void *handle = zsock_resolve (link->dealer);
    zmq_setsockopt (handle, ZMQ_CURVE_SERVERKEY, key->public_key,
                    RUMOR_KEY_SIZE);
    zmq_setsockopt (handle, ZMQ_CURVE_PUBLICKEY, key->public_key,
                    RUMOR_KEY_SIZE);
    zmq_setsockopt (handle, ZMQ_CURVE_SECRETKEY, key->secret_key,
                    RUMOR_KEY_SIZE);
    zsock_set_maxmsgsize (link->dealer,
                          (int) (self->caps.message_bytes + S_CURVE_OVERHEAD));
    memcpy (link->fingerprint, key->fingerprint, RUMOR_FINGERPRINT_SIZE);
    //  A peer that re-keys drops our connection: reconnect within 10-20 ms
    //  (then try the next key at once), not libzmq's 100 ms, so that its
    //  detectors barely notice. Doubling to 1 s keeps a dead peer cheap.
    zsock_set_reconnect_ivl (link->dealer, S_RECONNECT_MS);
    zsock_set_reconnect_ivl_max (link->dealer, S_RECONNECT_MAX_MS);
}

//  Open the link's DEALER (with link->key when secured) and its monitor,
//  connected to link->endpoint. 0, or -1 with nothing left open.
static int
s_link_open (self_t *self, s_link_t *link)
{
    link->dealer = zsock_new (ZMQ_DEALER);
    link->monitor = zsock_new (ZMQ_PAIR);
    char monitor [64];
    snprintf (monitor, sizeof (monitor), "inproc://rumor-monitor-%u",
              atomic_fetch_add (&s_monitors, 1));
    bool ok = link->dealer && link->monitor;
    if (ok) {
        s_dealer_options (self, link->dealer);
        if (self->secure)
            s_dealer_curve (self, link);
        zsock_set_linger (link->monitor, 0);
        //  Handshakes too: a failed one means "try the next key", or give
        //  up; it is never a lost peer
        ok = zmq_socket_monitor (zsock_resolve (link->dealer), monitor,
                                 ZMQ_EVENT_DISCONNECTED
                               | ZMQ_EVENT_CONNECT_RETRIED
                               | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                               | S_HANDSHAKE_FAILED) == 0
          && zsock_connect (link->monitor, "%s", monitor) == 0
          && zsock_connect (link->dealer, "%s", link->endpoint) == 0;
    }
    if (!ok) {
        if (link->dealer)
            zmq_socket_monitor (zsock_resolve (link->dealer), NULL, 0);
        zsock_destroy (&link->monitor);
        zsock_destroy (&link->dealer);
        self->stats.link_failed++;
        return -1;
    }
    link->dealer_fd = zsock_fd (link->dealer);
    link->monitor_fd = zsock_fd (link->monitor);
    if (s_link_watch (self, link, true)) {
        s_link_close (self, link);
        self->stats.link_failed++;
        return -1;
    }
    link->monitor_dirty = true;
    s_link_touch (self, link);
    return 0;
}

static s_link_t *
s_link_new (self_t *self, const char *endpoint, int64_t now)
{
    s_link_t *link = (s_link_t *) zmalloc (sizeof (s_link_t));
    assert (link);
    link->endpoint = strdup (endpoint);
    link->key = 0;                  //  new links start with the primary
    if (s_link_open (self, link)) {
        free (link->endpoint);
        free (link);
        return NULL;
    }
    link->used_at = now;
    link->handle = zlistx_add_end (self->links, link);
    self->stats.links_opened++;
    return link;
}

//  True if endpoint is backing off (a send to it is dropped and counted)
static bool
s_backing_off (self_t *self, const char *endpoint, int64_t now)
{
    s_backoff_t *backoff = (s_backoff_t *) zhashx_lookup (self->backoff,
                                                          endpoint);
    if (!backoff || now >= backoff->until)
        return false;
    self->sec.backoff_dropped++;
    return true;
}


//  --------------------------------------------------------------------------
//  Peers

static void
s_peer_destroy (void **item)
{
    s_peer_t *peer = (s_peer_t *) *item;
    if (!peer)
        return;
    assert (!peer->link);           //  links are closed before
    free (peer->name);
    free (peer->endpoint);
    free (peer->evidence);
    free (peer);
    *item = NULL;
}

static s_peer_t *
s_peer_lookup (self_t *self, const rumor_id_t *id)
{
    char hex [RUMOR_ID_HEX];
    return (s_peer_t *) zhashx_lookup (self->peers, rumor_id_hex (id, hex));
}

//  A new peer of unknown state, or NULL past max_members (counted). It
//  is reaped like a departed one unless membership tells us about it.
static s_peer_t *
s_peer_new (self_t *self, const rumor_id_t *id, int64_t now)
{
    if (zhashx_size (self->peers) >= self->limits.max_members) {
        self->stats.peers_full++;
        return NULL;
    }
    s_peer_t *peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
    assert (peer);
    peer->id = *id;
    rumor_id_hex (id, peer->hex);
    peer->name = strdup ("");
    peer->endpoint = strdup ("");
    peer->gone_at = now;
    zhashx_insert (self->peers, peer->hex, peer);
    return peer;
}

//  Forget a peer and close its link.
static void
s_peer_remove (self_t *self, s_peer_t *peer)
{
    s_link_destroy (self, &peer->link);
    char hex [RUMOR_ID_HEX];
    memcpy (hex, peer->hex, sizeof (hex));
    zhashx_delete (self->routes, hex);
    zhashx_delete (self->peers, hex);
}

//  The anonymous link to endpoint, or a peer's link to it, or NULL.
static s_link_t *
s_link_to (self_t *self, const char *endpoint)
{
    s_link_t *link = (s_link_t *) zhashx_lookup (self->anon, endpoint);
    if (link)
        return link;
    for (link = (s_link_t *) zlistx_first (self->links); link;
         link = (s_link_t *) zlistx_next (self->links))
        if (streq (link->endpoint, endpoint))
            return link;
    return NULL;
}

//  A link to an endpoint whose id we do not know (a seed).
static s_link_t *
s_anon_link (self_t *self, const char *endpoint, int64_t now)
{
    s_link_t *link = s_link_to (self, endpoint);
    if (link)
        return link;
    if (zhashx_size (self->anon) >= S_ANON_MAX) {
        self->stats.anon_full++;
        return NULL;
    }
    if (s_backing_off (self, endpoint, now))
        return NULL;
    link = s_link_new (self, endpoint, now);
    if (link)
        zhashx_insert (self->anon, endpoint, link);
    return link;
}

//  The peer's link, opened (or reopened at a new endpoint) as needed. The
//  endpoint membership told us wins over the SEND's hint. NULL if no
//  endpoint is known: the caller routes through the ROUTER.
static s_link_t *
s_peer_link (self_t *self, const rumor_id_t *id, const char *hint,
             int64_t now)
{
    s_peer_t *peer = s_peer_lookup (self, id);
    if (!peer && *hint)
        peer = s_peer_new (self, id, now);
    if (!peer)
        return NULL;
    const char *endpoint = *peer->endpoint? peer->endpoint: hint;
    if (!*endpoint || (peer->link && streq (peer->link->endpoint, endpoint)))
        return peer->link;
    s_link_destroy (self, &peer->link);
    if (s_backing_off (self, endpoint, now))
        return NULL;
    s_link_t *link = (s_link_t *) zhashx_lookup (self->anon, endpoint);
    if (link)
        zhashx_delete (self->anon, endpoint);      //  a seed: adopt it
    else
        link = s_link_new (self, endpoint, now);
    if (link) {
        link->peer = peer;
        peer->link = link;
    }
    return link;
}

static size_t
s_live_peers (self_t *self)
{
    size_t live = 0;
    for (s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers); peer;
         peer = (s_peer_t *) zhashx_next (self->peers))
        if (peer->state == RUMOR__STATE__STATE_ALIVE
        ||  peer->state == RUMOR__STATE__STATE_SUSPECT)
            live++;
    return live;
}

//  Close what membership has forgotten: peers DEAD/LEFT (or never
//  reported) for reap_after_ms, anonymous links idle for S_ANON_IDLE_MS.
static void
s_reap (self_t *self, int64_t now)
{
    zlistx_t *gone = zlistx_new ();
    for (s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers); peer;
         peer = (s_peer_t *) zhashx_next (self->peers))
        if (peer->gone_at && now - peer->gone_at >= self->limits.reap_after_ms)
            zlistx_add_end (gone, peer);
    for (s_peer_t *peer = (s_peer_t *) zlistx_first (gone); peer;
         peer = (s_peer_t *) zlistx_next (gone))
        s_peer_remove (self, peer);
    zlistx_purge (gone);
    for (s_link_t *link = (s_link_t *) zhashx_first (self->anon); link;
         link = (s_link_t *) zhashx_next (self->anon))
        if (now - link->used_at >= S_ANON_IDLE_MS)
            zlistx_add_end (gone, link);
    for (s_link_t *link = (s_link_t *) zlistx_first (gone); link;
         link = (s_link_t *) zlistx_next (gone)) {
        zhashx_delete (self->anon, link->endpoint);
        s_link_destroy (self, &link);
    }
    zlistx_destroy (&gone);
    //  Backoffs nobody ran into for a while: the endpoint is not wanted
    zlistx_t *quiet = zlistx_new ();
    for (s_backoff_t *backoff = (s_backoff_t *) zhashx_first (self->backoff);
         backoff; backoff = (s_backoff_t *) zhashx_next (self->backoff))
        if (now - backoff->until >= S_BACKOFF_FORGET_MS)
            zlistx_add_end (quiet, (void *) zhashx_cursor (self->backoff));
    for (const char *endpoint = (const char *) zlistx_first (quiet); endpoint;
         endpoint = (const char *) zlistx_next (quiet))
        zhashx_delete (self->backoff, endpoint);
    zlistx_destroy (&quiet);
}


//  --------------------------------------------------------------------------
//  Actors: posting without blocking

static void
s_pending_destroy (void **item)
{
    s_pending_t *pending = (s_pending_t *) *item;
    if (pending) {
        zmsg_destroy (&pending->msg);
        rumor_shared_release (&pending->shared);
        free (pending);
        *item = NULL;
    }
}

//  Post msg (carrying shared, or NULL) to an actor. If its pipe is full, a
//  droppable message (a decoded frame) is dropped and counted; any other
//  waits in the actor's backlog, in order, up to S_BACKLOG_MAX.
static void
s_actor_post (self_t *self, int index, zmsg_t *msg, rumor_shared_t *shared,
              bool droppable)
{
    zlistx_t *backlog = self->backlogs [index];
    if (zlistx_size (backlog) == 0) {
        if (rumor_shell_try_send (&msg, s_actor_sock (self, index)) == 0)
            return;                 //  the actor holds shared now
        if (!msg) {                 //  lost on the way: not the actor's
            self->stats.dropped_control++;
            rumor_shared_release (&shared);
            return;
        }
    }
    if (droppable || zlistx_size (backlog) >= S_BACKLOG_MAX (self)) {
        if (droppable)
            self->stats.dropped_actor++;
        else
            self->stats.dropped_control++;
        zmsg_destroy (&msg);
        rumor_shared_release (&shared);
        return;
    }
    s_pending_t *pending = (s_pending_t *) zmalloc (sizeof (s_pending_t));
    assert (pending);
    pending->msg = msg;
    pending->shared = shared;
    zlistx_add_end (backlog, pending);
}

//  Send what waits for an actor, oldest first, while it has room.
static void
s_actor_drain (self_t *self, int index)
{
    zlistx_t *backlog = self->backlogs [index];
    s_pending_t *pending;
    while ((pending = (s_pending_t *) zlistx_first (backlog))) {
        int rc = rumor_shell_try_send (&pending->msg,
                                       s_actor_sock (self, index));
        if (rc && pending->msg)
            break;                  //  still full
        if (rc == 0)
            pending->shared = NULL; //  the actor holds it now
        else
            self->stats.dropped_control++;
        zlistx_delete (backlog, zlistx_cursor (backlog));
    }
}

static bool
s_backlogged (self_t *self)
{
    for (int index = 0; index < S_ACTORS; index++)
        if (self->backlogs [index] && zlistx_size (self->backlogs [index]))
            return true;
    return false;
}

//  A command to an actor: COMMAND | seq | ...; the caller adds arguments.
static zmsg_t *
s_command_new (const char *command, uint32_t seq)
{
    zmsg_t *msg = zmsg_new ();
    assert (msg);
    zmsg_addstr (msg, command);
    rumor_shell_add_u32 (msg, seq);
    return msg;
}

//  Hand a shared message to an actor, as one frame (shell.h).
static void
s_actor_share (self_t *self, int index, const char *kind,
               rumor_shared_t *shared)
{
    zframe_t *frame = rumor_shell_shared_frame (kind, shared);
    zsock_t *actor = s_actor_sock (self, index);
    if (zlistx_size (self->backlogs [index]) == 0
    &&  zframe_send (&frame, actor, ZFRAME_DONTWAIT) == 0)
        return;                     //  the actor holds shared now
    //  App messages wait (the ROUTER stops being read before the backlog
    //  is full, s_flow), unless we are held back ourselves; other frames
    //  are worth nothing late
    bool app = index == S_APP && kind == NULL;
    if (app && zlistx_size (self->backlogs [index]) >= S_BACKLOG_MAX (self)) {
        self->stats.dropped_actor++;
        zframe_destroy (&frame);
        rumor_shared_release (&shared);
        return;
    }
    zmsg_t *msg = zmsg_new ();
    assert (msg);
    zmsg_append (msg, &frame);
    s_actor_post (self, index, msg, shared, kind == NULL && !app);
}


//  --------------------------------------------------------------------------
//  Program events

typedef rumor_supervisor_event_t s_event_t;

//  Send one event to the program; dropped and counted if it is not
//  reading (the node never blocks on it).
static void
s_emit (self_t *self, const s_event_t *event)
{
    zframe_t *frame = rumor_supervisor_event_pack (event);
    if (zframe_send (&frame, self->events, ZFRAME_DONTWAIT) == 0)
        self->events_sent++;
    else {
        self->events_dropped++;
        zframe_destroy (&frame);
    }
}

//  A member event about a peer, with its name and endpoint
static void
s_emit_member (self_t *self, const s_peer_t *peer, rumor_event_type_t type,
               const char *evidence)
{
    s_event_t event = {
        .type = type, .member = peer->hex, .name = peer->name,
        .endpoint = peer->endpoint, .evidence = evidence
    };
    s_emit (self, &event);
}

//  Name of a member for events about its keys and messages
static const char *
s_name_of (self_t *self, const char *hex)
{
    if (streq (hex, self->hex))
        return self->name;
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, hex);
    return peer? peer->name: "";
}

static const char *
s_endpoint_of (self_t *self, const char *hex)
{
    if (streq (hex, self->hex))
        return self->endpoint;
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, hex);
    return peer? peer->endpoint: "";
}


//  --------------------------------------------------------------------------
//  Member events: our table, and JOINED/ALIVE/SUSPECT/FAILED/LEFT/UPDATED

//  Previous state of a peer for the transition: none, or a restart
#define S_PREV_NONE         -1
#define S_PREV_RESTART      -2

static uint64_t
s_tags_hash (const Rumor__MemberUpdate *update)
{
    uint64_t hash = 0;
    for (size_t i = 0; i < update->n_tags; i++) {
        const Rumor__Tag *tag = update->tags [i];
        uint64_t words [2] = {
            rumor_hash64 (tag->key, strlen (tag->key)),
            rumor_hash64 (tag->value, strlen (tag->value))
        };
        hash = hash * 31 + rumor_hash64 (words, sizeof (words));
    }
    return hash;
}

//  Evidence for a SUSPECT/FAILED: our detector's verdict if it is about
//  this state, else who accused it through gossip.
static char *
s_evidence (const s_peer_t *peer, const Rumor__MemberUpdate *update)
{
    if (peer->evidence && peer->evidence_state == (int) update->state)
        return strdup (peer->evidence);
    rumor_id_t accuser;
    char hex [RUMOR_ID_HEX] = "unknown";
    if (rumor_id_from_bin (&accuser, update->accuser) == 0)
        rumor_id_hex (&accuser, hex);
    return zsys_sprintf ("%s by %s (heard through gossip)",
                         update->state == RUMOR__STATE__STATE_DEAD?
                         "declared dead": "suspected", hex);
}

//  The program events for one transition of a peer.
static void
s_member_transition (self_t *self, s_peer_t *peer, int prev,
                     const Rumor__MemberUpdate *update, bool changed)
{
    int state = update->state;
    if (state == RUMOR__STATE__STATE_ALIVE
    ||  state == RUMOR__STATE__STATE_SUSPECT) {
        if (prev == S_PREV_NONE)
            s_emit_member (self, peer, RUMOR_EVENT_JOINED, NULL);
        else
        if (prev == S_PREV_RESTART || prev == RUMOR__STATE__STATE_DEAD
        ||  prev == RUMOR__STATE__STATE_LEFT
        || (prev == RUMOR__STATE__STATE_SUSPECT
        &&  state == RUMOR__STATE__STATE_ALIVE))
            s_emit_member (self, peer, RUMOR_EVENT_ALIVE, NULL);
        else
        if (changed)
            s_emit_member (self, peer, RUMOR_EVENT_UPDATED, NULL);
    }
    //  Nothing new, or a first sighting of a member already gone
    if (prev == state
    || (prev == S_PREV_NONE && state != RUMOR__STATE__STATE_SUSPECT))
        return;
    //  A member that left is gone, not failed
    if (prev == RUMOR__STATE__STATE_LEFT && state == RUMOR__STATE__STATE_DEAD)
        return;
    if (state == RUMOR__STATE__STATE_SUSPECT || state == RUMOR__STATE__STATE_DEAD) {
        char *evidence = s_evidence (peer, update);
        s_emit_member (self, peer, state == RUMOR__STATE__STATE_DEAD?
                       RUMOR_EVENT_FAILED: RUMOR_EVENT_SUSPECT, evidence);
        free (evidence);
    }
    else
    if (state == RUMOR__STATE__STATE_LEFT)
        s_emit_member (self, peer, RUMOR_EVENT_LEFT, NULL);
}

//  Store what the update says; true if name, endpoint or tags changed.
static bool
s_peer_store (self_t *self, s_peer_t *peer, const Rumor__MemberUpdate *update,
              int64_t now)
{
    uint64_t tags_hash = s_tags_hash (update);
    bool moved = !streq (peer->endpoint, update->endpoint);
    bool changed = moved || !streq (peer->name, update->name)
                || tags_hash != peer->tags_hash;
    if (moved) {
        //  A link to the old address is reopened at the next send (one
        //  opened from a SEND's hint to this very address is kept)
        if (peer->link && !streq (peer->link->endpoint, update->endpoint))
            s_link_destroy (self, &peer->link);
        free (peer->endpoint);
        peer->endpoint = strdup (update->endpoint);
    }
    if (!streq (peer->name, update->name)) {
        free (peer->name);
        peer->name = strdup (update->name);
    }
    peer->tags_hash = tags_hash;
    peer->state = update->state;
    peer->generation = update->generation;
    peer->incarnation = update->incarnation;
    bool gone = update->state == RUMOR__STATE__STATE_DEAD
             || update->state == RUMOR__STATE__STATE_LEFT;
    peer->gone_at = gone? (peer->gone_at? peer->gone_at: now): 0;
    if (!gone && update->state == RUMOR__STATE__STATE_ALIVE) {
        free (peer->evidence);      //  old verdicts no longer apply
        peer->evidence = NULL;
    }
    return changed;
}

static void
s_on_member (self_t *self, const Rumor__MemberUpdate *update, int64_t now)
{
    rumor_id_t id;
    if (rumor_id_from_bin (&id, update->id))
        return;
    if (rumor_id_eq (&id, &self->id)) {
        //  Our incarnation, sealed into every frame
        if (update->generation == self->generation
        &&  update->incarnation > self->incarnation)
            self->incarnation = update->incarnation;
        return;
    }
    s_peer_t *peer = s_peer_lookup (self, &id);
    if (!peer && !(peer = s_peer_new (self, &id, now)))
        return;
    if (peer->state != S_STATE_UNKNOWN && update->generation < peer->generation)
        return;                     //  an older life: nothing to tell
    int prev = peer->state == S_STATE_UNKNOWN? S_PREV_NONE
             : update->generation > peer->generation? S_PREV_RESTART
             : peer->state;
    bool changed = s_peer_store (self, peer, update, now);
    s_member_transition (self, peer, prev, update, changed);
}

//  Our detector's verdict: kept as the evidence of the member event that
//  follows it.
static void
s_on_verdict (self_t *self, const Rumor__Verdict *verdict, int64_t now)
{
    rumor_id_t id;
    if (rumor_id_from_bin (&id, verdict->id))
        return;
    s_peer_t *peer = s_peer_lookup (self, &id);
    if (!peer)
        return;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    fprintf (out, "%s by this node's detector; suspecters:",
             verdict->state == RUMOR__STATE__STATE_DEAD?
             "declared dead": "suspected");
    for (size_t i = 0; i < verdict->n_suspecters; i++) {
        rumor_id_t suspecter;
        char hex [RUMOR_ID_HEX] = "?";
        if (rumor_id_from_bin (&suspecter, verdict->suspecters [i]) == 0)
            rumor_id_hex (&suspecter, hex);
        fprintf (out, " %s", hex);
    }
    fprintf (out, "; last RTTs (ms, newest first):");
    for (size_t i = 0; i < verdict->n_rtts; i++)
        fprintf (out, " %u", verdict->rtts [i]);
    if (verdict->n_rtts == 0)
        fprintf (out, " none");
    fprintf (out, "; phi %.2f", verdict->phi / 100.0);
    if (verdict->suspected_at)
        fprintf (out, "; suspected %" PRId64 " ms ago",
                 now - (int64_t) verdict->suspected_at);
    fclose (out);
    free (peer->evidence);
    peer->evidence = text;
    peer->evidence_state = verdict->state;
}


//  --------------------------------------------------------------------------
//  The keyring: ops, re-keying, "$rumor.keys" queries

//  (in "START" below)
static void s_router_curve (self_t *self);
static void s_bound (self_t *self, int port);
static size_t s_beacon_keys (self_t *self, uint8_t *keys);

//  After the keyring changed: ZAP admits exactly its keys, the beacon
//  signs with the primary and verifies with any.
static void
s_keys_publish (self_t *self)
{
    rumor_zap_set_keys (self->zap, self->keyring);
    uint8_t keys [RUMOR_KEYRING_MAX * RUMOR_DISCOVERY_KEY_SIZE];
    size_t n = s_beacon_keys (self, keys);
    if (self->beacon && rumor_discovery_set_keys (self->beacon, keys, n))
        zsys_warning ("rumor: the beacon refused the new keys");
    sodium_memzero (keys, sizeof (keys));
}

//  One attempt to bind the ROUTER again on its port; retried from the
//  timers while the port is not free yet (libzmq closes the old listener
//  in its I/O thread), then every second, counted, until it works.
static void
s_rebind_step (self_t *self, int64_t now)
{
    int port = zsock_bind (self->router, "tcp://%s:%d", self->bind,
                           self->bound_port);
    if (port >= 0) {
        s_bound (self, port);
        self->rebind_at = 0;
        self->sec.rebinds++;
        return;
    }
    if (self->rebind_tries > 0) {
        self->rebind_tries--;
        self->rebind_at = now + S_REBIND_RETRY_MS;
        return;
    }
    if (self->sec.rebind_failed++ == 0)
        zsys_error ("rumor: cannot bind port %d again with the new key: %s",
                    self->bound_port, zmq_strerror (zmq_errno ()));
    self->rebind_at = now + S_BACKOFF_MIN_MS;
}

//  After USE or REMOVE: close our links authenticated with a key no longer
//  installed (the next send reopens them, primary first), and rebind the
//  ROUTER with the primary: zmq_unbind drops every connection it accepted,
//  so nothing authenticated with an old server key survives; peers
//  reconnect and try their keys again.
static void
s_rekey (self_t *self, int64_t now)
{
    self->rekey_at = 0;
    zlistx_t *stale = zlistx_new ();
    for (s_link_t *link = (s_link_t *) zlistx_first (self->links); link;
         link = (s_link_t *) zlistx_next (self->links))
        if (rumor_keyring_find (self->keyring, link->fingerprint) < 0)
            zlistx_add_end (stale, link);
    for (s_link_t *link = (s_link_t *) zlistx_first (stale); link;
         link = (s_link_t *) zlistx_next (stale)) {
        if (!link->peer && zhashx_lookup (self->anon, link->endpoint) == link)
            zhashx_delete (self->anon, link->endpoint);
        s_link_destroy (self, &link);
    }
    zlistx_destroy (&stale);
    if (!self->rebind_needed)
        return;
    self->rebind_needed = false;
    if (!self->rebind_at && self->bound
    &&  zmq_unbind (zsock_resolve (self->router), self->bound))
        zsys_warning ("rumor: cannot unbind %s: %s", self->bound,
                      zmq_strerror (zmq_errno ()));
    rumor_zap_forget (self->zap);
    s_router_curve (self);
    self->rebind_tries = S_REBIND_TRIES;
    //  libzmq closes the old listener in its I/O thread, within a ms or
    //  so: bind again as soon as it can, to keep the port ours (a few
    //  short waits here, then the timers take over)
    self->rebind_at = now;
    for (int spin = 0; spin < S_REBIND_SPIN && self->rebind_at; spin++) {
        s_rebind_step (self, now);
        if (self->rebind_at)
            zclock_sleep (1);
    }
}

//  Apply one op to the keyring: "INSTALL" (data: a rumor_key_t), "USE" or
//  "REMOVE" (data: a fingerprint), "LIST". USE and REMOVE re-key delay ms
//  later (0: at once). Returns 0 or a rumor.h code; counted.
static int
s_keys_apply (self_t *self, const char *op, const void *data, size_t size,
              int64_t now, int64_t delay)
{
    bool change = !streq (op, "LIST");
    int rc = RUMOR_EINVAL;
    if (!self->secure)
        rc = RUMOR_ESTATE;
    else
    if (streq (op, "LIST"))
        rc = RUMOR_OK;
    else
    if (streq (op, "INSTALL") && size == sizeof (rumor_key_t)) {
        rumor_key_t key;
        memcpy (&key, data, sizeof (key));
        rc = rumor_keyring_install (self->keyring, &key);
        rumor_key_wipe (&key);
    }
    else
    if ((streq (op, "USE") || streq (op, "REMOVE"))
    &&  size == RUMOR_FINGERPRINT_SIZE) {
        const uint8_t *print = (const uint8_t *) data;
        bool serving = memcmp (print, self->server_print,
                               RUMOR_FINGERPRINT_SIZE) == 0;
        int index = rumor_keyring_find (self->keyring, print);
        //  A removed key still served, or admitted since the last rebind,
        //  may hold connections up: only then must the ROUTER rebind
        bool used = index >= 0 && rumor_zap_used (self->zap,
                        rumor_keyring_at (self->keyring, index)->public_key);
        if (streq (op, "USE"))
            rc = rumor_keyring_use (self->keyring, print);
        else
            rc = rumor_keyring_remove (self->keyring, print);
        if (rc == RUMOR_OK && (streq (op, "USE")? !serving: serving || used))
            self->rebind_needed = true;
        if (rc == RUMOR_OK
        && (!self->rekey_at || self->rekey_at > now + delay))
            self->rekey_at = now + delay;
    }
    if (rc == RUMOR_OK && change) {
        s_keys_publish (self);
        self->sec.keys_applied++;
    }
    else
    if (rc != RUMOR_OK)
        self->sec.keys_refused++;
    if (self->rekey_at && self->rekey_at <= now)
        s_rekey (self, now);
    return rc;
}

static const char *
s_keys_reason (int rc, const char *op)
{
    switch (rc) {
        case RUMOR_ESTATE:      return streq (op, "REMOVE")?
                                       "it is the primary key": "no secret";
        case RUMOR_ENOTFOUND:   return "not installed";
        case RUMOR_EFULL:       return "the keyring is full";
        default:                return "bad request";
    }
}

//  A keyring op from a "$rumor.keys" query's payload: "install SECRET",
//  "use FINGERPRINT", "remove FINGERPRINT" or "list". The secret is
//  copied only to derive its key, then wiped.
static int
s_keys_request (self_t *self, const uint8_t *data, size_t size, char *op,
                int64_t now)
{
    if (!data || size == 0) {
        strcpy (op, "?");
        self->sec.keys_refused++;
        return RUMOR_EINVAL;
    }
    const uint8_t *space = (const uint8_t *) memchr (data, ' ', size);
    size_t word = space? (size_t) (space - data): size;
    const char *ops [] = { "install", "use", "remove", "list" };
    const char *names [] = { "INSTALL", "USE", "REMOVE", "LIST" };
    int which = -1;
    for (int i = 0; i < 4; i++)
        if (word == strlen (ops [i]) && memcmp (data, ops [i], word) == 0)
            which = i;
    strcpy (op, which < 0? "?": names [which]);
    if (which < 0 || (which == 3) != (space == NULL)) {
        self->sec.keys_refused++;   //  not an op, or a missing argument
        return RUMOR_EINVAL;
    }
    if (which == 3)
        return s_keys_apply (self, op, NULL, 0, now, 0);
    size_t length = size - word - 1;
    char *text = (char *) calloc (1, length + 1);
    assert (text);
    memcpy (text, space + 1, length);
    int rc = RUMOR_EINVAL;
    bool applied = false;           //  s_keys_apply counts what it sees
    if (strlen (text) == length && which == 0) {
        rumor_key_t key;
        if ((applied = rumor_key_derive (&key, text) == 0))
            rc = s_keys_apply (self, op, &key, sizeof (key), now, 0);
        rumor_key_wipe (&key);
    }
    else
    if (strlen (text) == length) {
        uint8_t print [RUMOR_FINGERPRINT_SIZE];
        if ((applied = rumor_fingerprint_from_hex (print, text) == 0))
            rc = s_keys_apply (self, op, print, sizeof (print), now,
                               S_REKEY_DELAY_MS);
    }
    if (!applied)
        self->sec.keys_refused++;
    sodium_memzero (text, length);
    free (text);
    return rc;
}

//  A query on a reserved topic: never the program's. "$rumor.keys" on a
//  secured node is applied and answered ("ok FINGERPRINTS" or "error
//  REASON"); anything else is dropped and counted.
static void
s_keys_query (self_t *self, const Rumor__Query *query, int64_t now)
{
    rumor_id_t origin;
    if (!self->secure || !streq (query->topic, S_KEYS_TOPIC)
    ||  rumor_id_from_bin (&origin, query->origin)) {
        self->sec.reserved_dropped++;
        return;
    }
    char op [16];
    int rc = s_keys_request (self, query->payload.data, query->payload.len,
                             op, now);
    char *prints = rumor_keyring_fingerprints (self->keyring);
    char *answer = rc == RUMOR_OK? zsys_sprintf ("ok %s", prints)
                 : zsys_sprintf ("error %s", s_keys_reason (rc, op));
    zmsg_t *respond = s_command_new ("RESPOND", 0);
    zmsg_addmem (respond, origin.bytes, RUMOR_ID_SIZE);
    rumor_shell_add_u64 (respond, query->id);
    zmsg_addstr (respond, answer);
    s_actor_post (self, S_APP, respond, NULL, false);
    free (answer);
    free (prints);
}

//  True for a topic of the "$rumor" namespace (node.c refuses them too)
static bool
s_reserved (const char *topic)
{
    return topic && strncmp (topic, S_RESERVED_PREFIX,
                             strlen (S_RESERVED_PREFIX)) == 0;
}

//  Reserved messages are intercepted here: a query is answered by us, an
//  event or direct message is dropped. True if it was one.
static bool
s_intercept (self_t *self, const char *kind, const ProtobufCMessage *detail,
             int64_t now)
{
    if (streq (kind, "query")
    &&  s_reserved (((const Rumor__Query *) detail)->topic)) {
        s_keys_query (self, (const Rumor__Query *) detail, now);
        return true;
    }
    if ((streq (kind, "event")
    &&   s_reserved (((const Rumor__Event *) detail)->topic))
    ||  (streq (kind, "direct")
    &&   s_reserved (((const Rumor__Direct *) detail)->topic))) {
        self->sec.reserved_dropped++;
        return true;
    }
    return false;
}


//  --------------------------------------------------------------------------
//  Other program events: kv, event, direct, query, response, query-done

static void
s_on_kv (self_t *self, const Rumor__KvEntry *entry, const char *extra)
{
    rumor_id_t origin;
    char hex [RUMOR_ID_HEX] = "";
    if (rumor_id_from_bin (&origin, entry->origin) == 0)
        rumor_id_hex (&origin, hex);
    s_event_t event = {
        .type = streq (extra, "set")? RUMOR_EVENT_KEY_SET
              : streq (extra, "expire")? RUMOR_EVENT_KEY_EXPIRED
              : RUMOR_EVENT_KEY_DELETED,
        .member = hex, .name = s_name_of (self, hex),
        .endpoint = s_endpoint_of (self, hex), .topic = entry->key,
        .data = entry->value.data, .size = entry->value.len
    };
    s_emit (self, &event);
}

//  An event of the app core, for the program
static void
s_on_app (self_t *self, const char *kind, const ProtobufCMessage *detail,
          const char *extra)
{
    s_event_t event = { .member = extra };
    char hex [RUMOR_ID_HEX] = "";
    rumor_id_t origin;
    if (streq (kind, "event")) {
        const Rumor__Event *heard = (const Rumor__Event *) detail;
        if (rumor_id_from_bin (&origin, heard->origin) == 0)
            event.member = rumor_id_hex (&origin, hex);
        event.type = RUMOR_EVENT_HEARD;
        event.topic = heard->topic;
        event.data = heard->payload.data;
        event.size = heard->payload.len;
    }
    else
    if (streq (kind, "direct")) {
        const Rumor__Direct *direct = (const Rumor__Direct *) detail;
        event.type = RUMOR_EVENT_DIRECT;
        event.topic = direct->topic;
        event.data = direct->payload.data;
        event.size = direct->payload.len;
    }
    else
    if (streq (kind, "query") || streq (kind, "query-done")) {
        const Rumor__Query *query = (const Rumor__Query *) detail;
        if (rumor_id_from_bin (&origin, query->origin) == 0)
            event.member = rumor_id_hex (&origin, hex);
        event.type = streq (kind, "query")? RUMOR_EVENT_QUERY
                                          : RUMOR_EVENT_QUERY_DONE;
        event.topic = query->topic;
        if (event.type == RUMOR_EVENT_QUERY) {
            event.data = query->payload.data;
            event.size = query->payload.len;
        }
        event.query = query->id;
        event.complete = streq (extra, "complete");
    }
    else {                          //  response
        const Rumor__Response *response = (const Rumor__Response *) detail;
        event.type = RUMOR_EVENT_RESPONSE;
        event.data = response->payload.data;
        event.size = response->payload.len;
        event.query = response->query;
    }
    event.name = s_name_of (self, event.member);
    event.endpoint = s_endpoint_of (self, event.member);
    s_emit (self, &event);
}


//  --------------------------------------------------------------------------
//  Event effects: routing between actors (effects.h), and to the program

//  Sub-message type of each kind's detail, or NULL if not in effects.h.
static const ProtobufCMessageDescriptor *
s_detail_type (const char *kind)
{
    if (streq (kind, "member") || streq (kind, "confirm")
    ||  streq (kind, "suspect") || streq (kind, "dead"))
        return &rumor__member_update__descriptor;
    if (streq (kind, "verdict"))
        return &rumor__verdict__descriptor;
    if (streq (kind, "kv"))
        return &rumor__kv_entry__descriptor;
    if (streq (kind, "event"))
        return &rumor__event__descriptor;
    if (streq (kind, "direct"))
        return &rumor__direct__descriptor;
    if (streq (kind, "query") || streq (kind, "query-done"))
        return &rumor__query__descriptor;
    if (streq (kind, "response"))
        return &rumor__response__descriptor;
    return NULL;
}

//  The actors that consume an event kind (effects.h); returns how many.
static int
s_consumers (const char *kind, int *consumers)
{
    int n = 0;
    if (streq (kind, "member")) {
        consumers [n++] = S_DETECTOR;
        consumers [n++] = S_ANTI_ENTROPY;
        consumers [n++] = S_APP;
    }
    else
    if (streq (kind, "confirm"))
        consumers [n++] = S_DETECTOR;
    else
    if (streq (kind, "suspect") || streq (kind, "dead"))
        consumers [n++] = S_MEMBERSHIP;
    return n;
}

//  True if a member event tells anti-entropy and app nothing: the member
//  was live (ALIVE or SUSPECT) and stays live, in the same generation, at
//  the same endpoint. Those two keep only live-or-gone, generation and
//  endpoint; a suspicion and its refutation (an incarnation bump), or a
//  tag change, matter to the detector alone. Under load a cluster can
//  trade many of these a second (a suspicion of a starved node and its
//  refutation reach every node), and each one handed on costs two thread
//  hops per node for nothing. What was last handed on is what the
//  supervisor's peer record holds (s_on_member stores every update after
//  this check), so the two stay in step.
static bool
s_member_routine (self_t *self, const Rumor__MemberUpdate *update)
{
    rumor_id_t id;
    if (rumor_id_from_bin (&id, update->id) || rumor_id_eq (&id, &self->id))
        return false;
    s_peer_t *peer = s_peer_lookup (self, &id);
    if (!peer)
        return false;
    bool was_live = peer->state == RUMOR__STATE__STATE_ALIVE
                 || peer->state == RUMOR__STATE__STATE_SUSPECT;
    bool is_live = update->state == RUMOR__STATE__STATE_ALIVE
                || update->state == RUMOR__STATE__STATE_SUSPECT;
    return was_live && is_live
        && update->generation == peer->generation
        && peer->endpoint && update->endpoint
        && streq (peer->endpoint, update->endpoint);
}

static void
s_handle_event (self_t *self, const rumor_fx_view_t *view, int64_t now)
{
    const ProtobufCMessageDescriptor *type = s_detail_type (view->kind);
    ProtobufCMessage *detail = type? rumor_codec_decode_detail (
        type, view->body, view->body_size): NULL;
    if (!detail) {
        self->stats.bad_events++;
        return;
    }
    int consumers [S_ACTORS];
    int n = s_consumers (view->kind, consumers);
    if (streq (view->kind, "member")
    &&  s_member_routine (self, (const Rumor__MemberUpdate *) detail)) {
        n = 0;
        consumers [n++] = S_DETECTOR;
        self->stats.member_routine++;
    }
    //  One decode, shared by every consumer and by us (the last ref)
    rumor_shared_t *shared = rumor_shared_new (NULL, &detail, n + 1);
    for (int i = 0; i < n; i++)
        s_actor_share (self, consumers [i], view->kind, shared);
    if (streq (view->kind, "member"))
        s_on_member (self, (const Rumor__MemberUpdate *) shared->detail, now);
    else
    if (streq (view->kind, "verdict"))
        s_on_verdict (self, (const Rumor__Verdict *) shared->detail, now);
    else
    if (streq (view->kind, "kv"))
        s_on_kv (self, (const Rumor__KvEntry *) shared->detail, view->extra);
    else
    if (n == 0 && !s_intercept (self, view->kind, shared->detail, now))
        s_on_app (self, view->kind, shared->detail, view->extra);
    rumor_shared_release (&shared);
}


//  --------------------------------------------------------------------------
//  Outbound: seal and send

static void
s_send_frame (self_t *self, zsock_t *socket, zframe_t **frame_p)
{
    size_t size = zframe_size (*frame_p);
    if (zframe_send (frame_p, socket, ZFRAME_DONTWAIT) == 0) {
        self->stats.frames_out++;
        self->stats.bytes_out += size;
    }
    else {
        zframe_destroy (frame_p);
        self->stats.dropped_full++;
    }
}

//  Back through the ROUTER to the peer's routing id, if it is connected
//  to us and its pipe has room (ROUTER_MANDATORY tells). True if sent
//  (the frame is destroyed then); false leaves the frame to the caller.
static bool
s_route_send (self_t *self, const rumor_id_t *to, zframe_t **frame_p)
{
    char hex [RUMOR_ID_HEX];
    s_route_t *route = (s_route_t *) zhashx_lookup (self->routes,
                                                    rumor_id_hex (to, hex));
    if (!route)
        return false;
    void *router = zsock_resolve (self->router);
    s_source_used (self, S_SRC_ROUTER);
    size_t size = zframe_size (*frame_p);
    size_t routing = zframe_size (route->routing);
    if (zmq_send (router, zframe_data (route->routing), routing,
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) != (int) routing
    ||  zmq_send (router, zframe_data (*frame_p), size, ZMQ_DONTWAIT) < 0)
        return false;
    self->stats.frames_out++;
    self->stats.bytes_out += size;
    zframe_destroy (frame_p);
    return true;
}

//  Through the ROUTER, or dropped and counted
static void
s_send_router (self_t *self, const rumor_id_t *to, zframe_t **frame_p)
{
    if (!s_route_send (self, to, frame_p)) {
        self->stats.unroutable++;   //  not connected to us (or full)
        zframe_destroy (frame_p);
    }
}

//  One connection per pair of nodes where we can: a peer that connected to
//  us and to which we have no link of our own is sent the protocol's own
//  frames back over its connection. Opening a link of ours would cost
//  both nodes a TCP and ZMTP (and CURVE) handshake, a socket monitor and
//  ~45 KB of buffers; at N = 64, 59 links made and 59 accepted per node.
//  App frames keep to links: they wait in order for room (s_send_app),
//  which the ROUTER cannot give per peer.
static bool
s_route_first (self_t *self, const rumor_id_t *to, zframe_t **frame_p)
{
    s_peer_t *peer = s_peer_lookup (self, to);
    if (peer && peer->link)
        return false;
    if (s_route_send (self, to, frame_p)) {
        self->stats.routed++;
        return true;
    }
    return false;
}

static zframe_t *
s_seal (self_t *self, const rumor_fx_view_t *view)
{
    rumor_header_t header = {
        .cluster = self->cluster_hash,
        .sender = self->id,
        .generation = self->generation,
        .incarnation = self->incarnation,
        .seq = ++self->seq,
        .target = view->to
    };
    return rumor_codec_seal (&header, NULL, 0, view->body, view->body_size);
}

//  Send an actor's SEND effect. App frames (app true) wait for room in
//  the link (s_send_app); the others are dropped and counted when it is
//  full, as a detector's probe is worth nothing late.
static void
s_handle_send (self_t *self, const rumor_fx_view_t *view, int64_t now,
               bool app)
{
    bool by_id = !rumor_id_is_zero (&view->to);
    if (by_id? rumor_id_eq (&view->to, &self->id)
             : streq (view->endpoint, self->endpoint)) {
        self->stats.to_self++;
        return;
    }
    zframe_t *frame = s_seal (self, view);
    if (!frame) {
        self->stats.seal_failed++;
        return;
    }
    if (by_id && !app && s_route_first (self, &view->to, &frame))
        return;
    s_link_t *link = by_id? s_peer_link (self, &view->to, view->endpoint, now)
                          : s_anon_link (self, view->endpoint, now);
    if (link) {
        link->used_at = now;
        if (app)
            s_send_app (self, link, &frame, now);
        else {
            s_link_touch (self, link);
            s_send_frame (self, link->dealer, &frame);
        }
    }
    else
    if (by_id)
        s_send_router (self, &view->to, &frame);
    else {
        self->stats.unroutable++;
        zframe_destroy (&frame);
    }
}


//  --------------------------------------------------------------------------
//  Inbound: decode once, hand to the owner (and membership for piggyback)

static int
s_owner_actor (rumor_owner_t owner)
{
    switch (owner) {
        case RUMOR_OWNER_MEMBERSHIP:    return S_MEMBERSHIP;
        case RUMOR_OWNER_DETECTOR:      return S_DETECTOR;
        case RUMOR_OWNER_ANTI_ENTROPY:  return S_ANTI_ENTROPY;
        case RUMOR_OWNER_APP:           return S_APP;
        default:                        return -1;
    }
}

static void
s_route_destroy (void **item)
{
    s_route_t *route = (s_route_t *) *item;
    if (route) {
        zframe_destroy (&route->routing);
        free (route);
        *item = NULL;
    }
}

//  Remember through which routing id (and connection) a sender reached
//  our ROUTER, to answer it over that connection (bounded like the peers)
static void
s_route_learn (self_t *self, const Rumor__Envelope *env, zframe_t *routing,
               int fd)
{
    rumor_id_t sender;
    if (!routing || rumor_id_from_bin (&sender, env->sender))
        return;
    char hex [RUMOR_ID_HEX];
    rumor_id_hex (&sender, hex);
    s_route_t *known = (s_route_t *) zhashx_lookup (self->routes, hex);
    if (known && zframe_eq (known->routing, routing)) {
        known->fd = fd;
        return;
    }
    if (!known && zhashx_size (self->routes) >= self->limits.max_members)
        return;
    s_route_t *route = (s_route_t *) zmalloc (sizeof (s_route_t));
    assert (route);
    route->routing = zframe_dup (routing);
    route->fd = fd;
    zhashx_update (self->routes, hex, route);
}

static void s_handle_send (self_t *self, const rumor_fx_view_t *view,
                           int64_t now, bool app);

//  Answer a Ping in this thread, as the detector's core would
//  (rumor_detector_ack_of): its thread is not woken twice for every Ping
//  that reaches us, and a busy detector never delays an Ack into a false
//  suspicion. The Ack goes where the detector's would: by the sender's
//  id, through its link, or back through the ROUTER.
static void
s_answer_ping (self_t *self, const Rumor__Envelope *env, int64_t now)
{
    rumor_id_t sender;
    if (rumor_id_from_bin (&sender, env->sender))
        return;                     //  the codec refuses these already
    Rumor__Ack ack;
    if (!rumor_detector_ack_of (&self->id, env->ping, &ack)) {
        self->stats.ping_wrong_target++;
        return;
    }
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_ACK;
    body.ack = &ack;
    //  Three varints and an id: well under 64 bytes
    uint8_t packed [64];
    if (rumor__envelope__get_packed_size (&body) > sizeof (packed)) {
        self->stats.seal_failed++;
        return;
    }
    rumor_fx_view_t view = {
        .is_send = true, .to = sender, .endpoint = "", .body = packed,
        .body_size = rumor__envelope__pack (&body, packed)
    };
    s_handle_send (self, &view, now, false);
    self->stats.pings_answered++;
}

static void
s_handle_frame (self_t *self, const void *data, size_t size,
                zframe_t *routing, int fd, int64_t now)
{
    self->stats.frames_in++;
    self->stats.bytes_in += size;
    Rumor__Envelope *env = rumor_codec_decode (
        (const uint8_t *) data, size, self->cluster_hash, &self->codec);
    if (!env)
        return;                     //  refused and counted by the codec
    s_route_learn (self, env, routing, fd);
    int owner = s_owner_actor (rumor_codec_owner (env));
    bool to_membership = owner == S_MEMBERSHIP || env->n_piggyback > 0;
    bool to_owner = owner >= 0 && owner != S_MEMBERSHIP;
    if (env->body_case == RUMOR__ENVELOPE__BODY_PING) {
        s_answer_ping (self, env, now);
        to_owner = false;           //  nothing in it for the detector
    }
    if (!to_membership && !to_owner) {
        rumor_codec_free (&env);    //  the codec refuses these already
        return;
    }
    rumor_shared_t *shared = rumor_shared_new (&env, NULL,
                                               to_membership + to_owner);
    if (to_owner)
        s_actor_share (self, owner, NULL, shared);
    if (to_membership)
        s_actor_share (self, S_MEMBERSHIP, NULL, shared);
}

//  Read and drop the rest of a message whose first frames were read
static void
s_discard_rest (zsock_t *socket)
{
    while (zsock_rcvmore (socket)) {
        zframe_t *rest = zframe_recv (socket);
        zframe_destroy (&rest);
    }
}

//  ROUTER: routing id | frame. Anything else is counted and dropped.
static void
s_handle_router (self_t *self, zframe_t *routing, int64_t now)
{
    //  The frame as a zmq_msg_t: it names the socket it came in on
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (zframe_more (routing)
    &&  zmq_msg_recv (&frame, zsock_resolve (self->router), 0) >= 0
    &&  !zmq_msg_more (&frame))
        s_handle_frame (self, zmq_msg_data (&frame), zmq_msg_size (&frame),
                        routing, zmq_msg_get (&frame, ZMQ_SRCFD), now);
    else {
        self->stats.frames_in++;
        self->stats.bad_frames++;
        s_discard_rest (self->router);
    }
    zmq_msg_close (&frame);
    zframe_destroy (&routing);
}

//  A DEALER got a frame back through a peer's ROUTER (an Ack to us while
//  that peer did not know our endpoint yet).
static void
s_handle_dealer (self_t *self, s_link_t *link, zframe_t *frame, int64_t now)
{
    if (!zframe_more (frame))
        s_handle_frame (self, zframe_data (frame), zframe_size (frame),
                        NULL, -1, now);
    else {
        self->stats.frames_in++;
        self->stats.bad_frames++;
        s_discard_rest (link->dealer);
    }
    zframe_destroy (&frame);
}

//  Back an endpoint off: 1 s after its first give-up, twice the last
//  delay after each next one, at most 60 s.
static void
s_backoff_bump (self_t *self, const char *endpoint, int64_t first,
                int64_t now)
{
    s_backoff_t *backoff = (s_backoff_t *) zhashx_lookup (self->backoff,
                                                          endpoint);
    if (!backoff && zhashx_size (self->backoff) >= S_BACKOFF_ENTRIES) {
        //  Full (a scan of many bad endpoints): forget the one due first
        const char *oldest = NULL;
        int64_t until = INT64_MAX;
        for (s_backoff_t *item = (s_backoff_t *) zhashx_first (self->backoff);
             item; item = (s_backoff_t *) zhashx_next (self->backoff))
            if (item->until < until) {
                until = item->until;
                oldest = (const char *) zhashx_cursor (self->backoff);
            }
        if (oldest)
            zhashx_delete (self->backoff, oldest);
    }
    if (!backoff) {
        backoff = (s_backoff_t *) zmalloc (sizeof (s_backoff_t));
        assert (backoff);
        zhashx_insert (self->backoff, endpoint, backoff);
    }
    backoff->delay = backoff->delay? backoff->delay * 2: first;
    if (backoff->delay > S_BACKOFF_MAX_MS)
        backoff->delay = S_BACKOFF_MAX_MS;
    backoff->until = now + backoff->delay;
}

//  A handshake of this link failed: try the next key of the keyring (with
//  a secret), or give up once every key failed in a row: close the link,
//  back its endpoint off. libzmq alone would reconnect for ever. False
//  if the link was destroyed.
static bool
s_link_failed (self_t *self, s_link_t *link, int64_t now)
{
    self->sec.handshake_failures++;
    size_t keys = self->secure? rumor_keyring_size (self->keyring): 0;
    //  A link that worked before gets a second round: a peer that re-keys
    //  may accept a connection on its closing listener and drop it, which
    //  looks like a failed key
    size_t tries = link->proven? 2 * keys: keys;
    link->failures++;
    if (link->failures < tries) {
        s_link_close (self, link);
        //  The key after the one that failed, in today's keyring order
        //  (a USE since the link opened moved the keys around)
        int index = rumor_keyring_find (self->keyring, link->fingerprint);
        link->key = (size_t) (index + 1) % keys;
        if (s_link_open (self, link) == 0) {
            self->sec.key_retries++;
            return true;
        }
    }
    self->sec.links_given_up++;
    bool member = link->peer && link->peer->gone_at == 0
               && link->peer->state != S_STATE_UNKNOWN;
    s_backoff_bump (self, link->endpoint,
                    member? S_BACKOFF_MEMBER_MS: S_BACKOFF_MIN_MS, now);
    if (!link->peer && zhashx_lookup (self->anon, link->endpoint) == link)
        zhashx_delete (self->anon, link->endpoint);
    s_link_destroy (self, &link);
    return false;
}

//  Tell the detector a peer's connection is gone (probe it now)
static void
s_peer_lost_tell (self_t *self, const s_peer_t *peer)
{
    if (self->leaving)
        return;
    zmsg_t *command = s_command_new ("PEERLOST", 0);
    zmsg_addmem (command, peer->id.bytes, RUMOR_ID_SIZE);
    s_actor_post (self, S_DETECTOR, command, NULL, false);
    self->stats.peer_lost++;
}

static void
s_peer_lost (self_t *self, s_link_t *link)
{
    link->lost = 0;
    if (link->peer)
        s_peer_lost_tell (self, link->peer);
}

//  The ROUTER lost the connection on socket fd: a peer we reach only
//  through it (s_route_first) is lost as if its link had dropped. A peer
//  with a link of its own is told by that link's monitor. Not with a
//  secret: a peer that re-keys drops every connection and redials at
//  once, which is no lost peer (see s_handle_monitor).
static void
s_route_dropped (self_t *self, int fd)
{
    if (fd < 0)
        return;
    for (s_route_t *route = (s_route_t *) zhashx_first (self->routes);
         route; route = (s_route_t *) zhashx_next (self->routes)) {
        if (route->fd != fd)
            continue;
        route->fd = -1;
        const char *hex = (const char *) zhashx_cursor (self->routes);
        s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, hex);
        if (peer && !peer->link && !self->secure && peer->gone_at == 0)
            s_peer_lost_tell (self, peer);
    }
}

//  A monitor event of a link. A disconnect of an established connection
//  to a known peer is the detector's fast path; a handshake that fails
//  (wrong key, no secret on one side, refused) is not a lost peer. With a
//  secret, a disconnect is told only once the redial (10-20 ms later) is
//  refused: a peer that re-keys drops every connection too, and a probe
//  sent into that moment would be lost with the old DEALER (s_link_failed)
//  and raise a false suspicion; its redial meets a listener and a
//  handshake instead, and nothing is told. False if the link was destroyed.
static bool
s_handle_monitor (self_t *self, s_link_t *link, int64_t now)
{
    zmsg_t *msg = zmsg_recv (link->monitor);
    if (!msg)
        return true;
    zframe_t *frame = zmsg_first (msg);
    uint16_t event = 0;
    if (frame && zframe_size (frame) >= sizeof (event))
        memcpy (&event, zframe_data (frame), sizeof (event));
    zmsg_destroy (&msg);
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        link->handshaken = link->proven = true;
        link->lost = 0;
        link->failures = 0;
        zhashx_delete (self->backoff, link->endpoint);
    }
    else
    if ((event & S_HANDSHAKE_FAILED)
    && (self->secure || event != ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)) {
        //  Without a secret, only a refusal (a secured peer: mechanism
        //  mismatch) is final; a peer that closed mid-handshake (stopping,
        //  restarting) is redialled by libzmq as always. With one, that
        //  is how a wrong server key looks, so it counts.
        link->lost = 0;
        return s_link_failed (self, link, now);
    }
    else
    if (event == ZMQ_EVENT_DISCONNECTED && link->handshaken) {
        link->handshaken = false;
        if (self->secure)
            link->lost = 1;
        else
            s_peer_lost (self, link);
    }
    else
    if (event == ZMQ_EVENT_CONNECT_RETRIED && link->lost == 1)
        link->lost = 2;                 //  libzmq scheduled the redial
    else
    if (event == ZMQ_EVENT_CONNECT_RETRIED && link->lost == 2)
        s_peer_lost (self, link);       //  refused: nobody listens there
    return true;
}

//  Read a burst of what a link's DEALER and monitor hold; the link stays
//  marked for a recheck while either may hold more (see s_link_touch).
//  Reading the DEALER never destroys a link; its monitor may.
static void
s_link_read (self_t *self, s_link_t *link, int64_t now)
{
    s_link_checked (self, link);
    int count = 0;
    zframe_t *frame;
    while (link->dealer && count < S_BURST
       && (frame = rumor_shell_try_recv (link->dealer))) {
        s_handle_dealer (self, link, frame, now);
        count++;
    }
    bool more = count == S_BURST;
    //  The monitor only when a handle of the link fired or its last read
    //  stopped at a burst: our sends on the DEALER never take its signal,
    //  and asking it costs two system calls (rumor_shell_try_recv)
    count = 0;
    if (link->monitor_dirty) {
        while (link->monitor && count < S_BURST
           && (zsock_events (link->monitor) & ZMQ_POLLIN)) {
            if (!s_handle_monitor (self, link, now))
                return;
            count++;
        }
        link->monitor_dirty = count == S_BURST;
    }
    if (more || count == S_BURST)
        s_link_touch (self, link);
}

//  Read the links on the checking list: those there now (a link whose
//  burst left frames goes back to its end, for the next turn). Reading a
//  monitor may destroy a link, which leaves the list then.
static void
s_links_recheck (self_t *self, int64_t now)
{
    size_t count = zlistx_size (self->checking);
    s_link_t *link;
    while (count-- && (link = (s_link_t *) zlistx_first (self->checking)))
        s_link_read (self, link, now);
}

//  The epoll set is ready: put every ready link on the checking list
static void
s_links_ready (self_t *self, int64_t now)
{
    struct epoll_event events [64];
    int ready = epoll_wait (self->epoll->fd, events, 64, 0);
    for (int index = 0; index < ready; index++) {
        s_link_t *link = (s_link_t *) events [index].data.ptr;
        link->monitor_dirty = true;         //  (either handle fired)
        s_link_touch (self, link);
    }
    s_links_recheck (self, now);
}

//  The ROUTER's connections, counted
static void
s_handle_router_monitor (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->router_monitor);
    if (!msg)
        return;
    zframe_t *frame = zmsg_first (msg);
    uint16_t event = 0;
    if (frame && zframe_size (frame) >= sizeof (event))
        memcpy (&event, zframe_data (frame), sizeof (event));
    if (event == ZMQ_EVENT_ACCEPTED)
        self->stats.router_accepted++;
    else
    if (event == ZMQ_EVENT_DISCONNECTED) {
        self->stats.router_disconnects++;
        uint32_t fd = UINT32_MAX;
        if (frame && zframe_size (frame) >= sizeof (event) + sizeof (fd))
            memcpy (&fd, zframe_data (frame) + sizeof (event), sizeof (fd));
        s_route_dropped (self, fd > INT32_MAX? -1: (int) fd);
    }
    else {
        self->stats.router_handshake_failed++;
        self->sec.handshakes_refused++;
    }
    zmsg_destroy (&msg);
}

//  A beacon of our cluster from another node: membership decides.
//  True if a beacon only repeats what we know: the member is alive at that
//  generation and endpoint. Membership would ignore it, so it is not worth
//  a message to its thread: on one host every node hears every other's
//  beacon each second, N hops per second per node for nothing.
static bool
s_beacon_known (self_t *self, const rumor_heard_t *heard)
{
    s_peer_t *peer = s_peer_lookup (self, &heard->id);
    return peer
        && peer->state == RUMOR__STATE__STATE_ALIVE
        && peer->generation == heard->generation
        && peer->endpoint && streq (peer->endpoint, heard->endpoint);
}

static void
s_handle_beacon (self_t *self, int64_t now)
{
    rumor_heard_t heard;
    for (int i = 0; i < RUMOR_DISCOVERY_BURST; i++) {
        int rc = rumor_discovery_recv (self->beacon, now, &heard);
        if (rc < 0)
            break;
        if (rc == 1 && !self->leaving) {
            if (s_beacon_known (self, &heard)) {
                self->stats.beacon_known++;
                continue;
            }
            zmsg_t *command = s_command_new ("JOINID", 0);
            zmsg_addmem (command, heard.id.bytes, RUMOR_ID_SIZE);
            rumor_shell_add_u64 (command, heard.generation);
            zmsg_addstr (command, heard.endpoint);
            s_actor_post (self, S_MEMBERSHIP, command, NULL, false);
            self->stats.beacon_joins++;
        }
    }
}


//  --------------------------------------------------------------------------
//  Messages from the actors: effects, replies, notices

static void
s_reply_forward (self_t *self, zmsg_t **msg_p)
{
    s_source_used (self, S_SRC_PIPE);
    if (rumor_shell_try_send (msg_p, self->pipe)) {
        self->stats.replies_dropped++;
        zmsg_destroy (msg_p);
    }
}

//  An effect: one frame (effects.h)
static void
s_handle_effect (self_t *self, int index, zframe_t *frame, int64_t now)
{
    rumor_fx_view_t view;
    if (rumor_fx_parse (frame, &view))
        self->stats.bad_effects++;
    else
    if (view.is_send)
        s_handle_send (self, &view, now, index == S_APP);
    else
        s_handle_event (self, &view, now);
}

//  A reply or notice: several frames, the first one read already
static void
s_handle_actor_msg (self_t *self, int index, zframe_t **first_p, int64_t now)
{
    zmsg_t *msg = zmsg_new ();
    assert (msg);
    zframe_t *first = *first_p;
    zmsg_append (msg, first_p);
    zsock_t *actor = s_actor_sock (self, index);
    while (zsock_rcvmore (actor)) {
        zframe_t *frame = zframe_recv (actor);
        if (frame)
            zmsg_append (msg, &frame);
    }
    if (zframe_streq (first, "REPLY"))
        s_reply_forward (self, &msg);
    else
    if (zframe_streq (first, "NOTICE")
    &&  zmsg_first (msg) == first       //  (the cursor: zmsg_next below is
    &&  zframe_streq (zmsg_next (msg), "LEFT")      //  the second frame)
    &&  !self->left_at)
        self->left_at = now;
    zmsg_destroy (&msg);
}

//  What an actor sends up: an effect (one frame), or a reply or notice
static void
s_handle_actor (self_t *self, int index, zframe_t *frame, int64_t now)
{
    if (zframe_more (frame))
        s_handle_actor_msg (self, index, &frame, now);
    else
        s_handle_effect (self, index, frame, now);
    zframe_destroy (&frame);
}


//  --------------------------------------------------------------------------
//  START: bind, beacon, actors, seeds

static void
s_router_options (zsock_t *router)
{
    void *handle = zsock_resolve (router);
    int on = 1;
    //  A restarted node (same id) takes its routing id over at once
    zmq_setsockopt (handle, ZMQ_ROUTER_HANDOVER, &on, sizeof (on));
    //  Report unroutable replies instead of dropping them silently
    zmq_setsockopt (handle, ZMQ_ROUTER_MANDATORY, &on, sizeof (on));
    zsock_set_maxmsgsize (router, RUMOR_FRAME_MAX);
    zsock_set_rcvhwm (router, S_ROUTER_RCVHWM);
    zsock_set_sndhwm (router, S_ROUTER_SNDHWM);
    zsock_set_sndtimeo (router, 0);
    zsock_set_linger (router, 0);
}

//  The user-facing limits on the ROUTER (rumor_limits.h): the frame size, and an
//  inbound queue of 10 times a peer link's, a burst from every peer at once
static void
s_router_limits (self_t *self)
{
    zsock_set_maxmsgsize (self->router, self->caps.message_bytes);
    zsock_set_rcvhwm (self->router, (int) (10 * self->caps.queue));
}

//  With a secret: the ROUTER is a CURVE server with the primary's secret
//  key, and asks our ZAP domain about every client (zap.h). Applies to
//  the next bind (libzmq copies the options at bind).
static void
s_router_curve (self_t *self)
{
    void *handle = zsock_resolve (self->router);
    int on = 1;
    const rumor_key_t *primary = rumor_keyring_at (self->keyring, 0);
    zmq_setsockopt (handle, ZMQ_CURVE_SERVER, &on, sizeof (on));
    zmq_setsockopt (handle, ZMQ_CURVE_SECRETKEY, primary->secret_key,
                    RUMOR_KEY_SIZE);
    memcpy (self->server_print, primary->fingerprint, RUMOR_FINGERPRINT_SIZE);
    const char *domain = rumor_zap_domain (self->zap);
    zmq_setsockopt (handle, ZMQ_ZAP_DOMAIN, domain, strlen (domain));
    zsock_set_maxmsgsize (self->router,
                          (int) (self->caps.message_bytes + S_CURVE_OVERHEAD));
}

//  Remember what we bound, to unbind it when the key changes
static void
s_bound (self_t *self, int port)
{
    free (self->bound);
    self->bound = zsock_last_endpoint (self->router);
    self->bound_port = port;
}

//  Bind the ROUTER; returns the port, or -1.
static int
s_bind (self_t *self)
{
    self->router = zsock_new (ZMQ_ROUTER);
    if (!self->router)
        return -1;
    s_router_options (self->router);
    s_router_limits (self);
    if (self->secure)
        s_router_curve (self);
    //  Watch connections: refused handshakes and cut connections are
    //  input we count too, even though libzmq drops them before us
    char monitor [64];
    snprintf (monitor, sizeof (monitor), "inproc://rumor-router-%u",
              atomic_fetch_add (&s_monitors, 1));
    self->router_monitor = zsock_new (ZMQ_PAIR);
    if (!self->router_monitor
    ||  zmq_socket_monitor (zsock_resolve (self->router), monitor,
                            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED
                          | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                          | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                          | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    ||  zsock_connect (self->router_monitor, "%s", monitor))
        return -1;
    zsock_set_linger (self->router_monitor, 0);
    //  Any free port: czmq's "!" starts its scan at a random port, so that
    //  the port we free for a moment when we re-key (s_rekey) is not the
    //  first one another node starting on this host would try ("*" scans
    //  from 49152 up)
    int port = self->port
             ? zsock_bind (self->router, "tcp://%s:%d", self->bind, self->port)
             : zsock_bind (self->router, "tcp://%s:!", self->bind);
    if (port < 0) {
        self->why = zsys_sprintf ("cannot bind tcp://%s:%d: %s", self->bind,
                                  self->port, zmq_strerror (zmq_errno ()));
        zsys_error ("rumor: %s", self->why);
    }
    else
        s_bound (self, port);
    return port;
}

//  The beacon MAC keys of the keyring, primary first, into keys (room for
//  RUMOR_KEYRING_MAX); returns how many (0 without a secret).
static size_t
s_beacon_keys (self_t *self, uint8_t *keys)
{
    size_t n = self->secure? rumor_keyring_size (self->keyring): 0;
    for (size_t i = 0; i < n; i++)
        memcpy (keys + i * RUMOR_DISCOVERY_KEY_SIZE,
                rumor_keyring_at (self->keyring, i)->beacon_key,
                RUMOR_DISCOVERY_KEY_SIZE);
    return n;
}

static int
s_beacon_start (self_t *self, int port)
{
    rumor_discovery_cfg_t cfg;
    rumor_discovery_cfg_defaults (&cfg);
    cfg.mode = self->beacon_mode;
    cfg.iface = self->iface;
    if (self->beacon_port)
        cfg.port = self->beacon_port;
    if (self->profile == RUMOR_ACTOR_PROFILE_LOCAL)
        cfg.interval_ms = S_LOCAL_BEACON_MS;
    self->beacon_fast_ms = cfg.interval_ms;
    cfg.cluster = self->cluster_hash;
    cfg.self = self->id;
    cfg.generation = self->generation;
    cfg.tcp_port = port;
    char endpoint [RUMOR_NAME_MAX + 32] = "";
    if (self->advertise)
        snprintf (endpoint, sizeof (endpoint), "tcp://%s:%d", self->advertise,
                  port);
    cfg.endpoint = endpoint;
    uint8_t keys [RUMOR_KEYRING_MAX * RUMOR_DISCOVERY_KEY_SIZE];
    cfg.n_keys = s_beacon_keys (self, keys);
    cfg.keys = cfg.n_keys? keys: NULL;
    self->beacon = rumor_discovery_new (&cfg);
    sodium_memzero (keys, sizeof (keys));
    if (!self->beacon) {
        self->why = zsys_sprintf ("beacon: %s", rumor_discovery_error ());
        zsys_error ("rumor: %s", self->why);
        return -1;
    }
    self->beacon_pollable = rumor_discovery_pollable (self->beacon);
    if (self->beacon_pollable)
        s_source_add (self, S_SRC_BEACON, self->beacon_pollable,
                      zsock_is (self->beacon_pollable)
                      || zactor_is (self->beacon_pollable));
    return 0;
}

//  Host others reach us at: as set, else the beacon's address, else the
//  bind address if specific, else loopback.
static const char *
s_advertised_host (self_t *self)
{
    if (self->advertise)
        return self->advertise;
    const char *address = rumor_discovery_address (self->beacon);
    if (address && *address)
        return address;
    if (!streq (self->bind, "*") && !streq (self->bind, "0.0.0.0"))
        return self->bind;
    return "127.0.0.1";
}

static int
s_actors_start (self_t *self)
{
    rumor_actor_cfg_t cfg = {
        .self = self->id, .generation = self->generation, .seed = self->seed,
        .name = self->name, .endpoint = self->endpoint,
        .n_tags = zlistx_size (self->tags), .profile = self->profile,
        .limits = &self->caps
    };
    const char **tags = (const char **) calloc (cfg.n_tags + 1, sizeof (char *));
    assert (tags);
    size_t n = 0;
    for (const char *tag = (const char *) zlistx_first (self->tags); tag;
         tag = (const char *) zlistx_next (self->tags))
        tags [n++] = tag;
    cfg.tags = tags;
    self->actors [S_MEMBERSHIP] = rumor_membership_actor_new (&cfg);
    self->actors [S_DETECTOR] = rumor_detector_actor_new (&cfg);
    self->actors [S_ANTI_ENTROPY] = rumor_anti_entropy_actor_new (&cfg);
    self->actors [S_APP] = rumor_app_actor_new (&cfg);
    free (tags);
    for (int index = 0; index < S_ACTORS; index++) {
        if (!self->actors [index]) {
            zsys_error ("rumor: cannot start the %s actor",
                        s_actor_names [index]);
            return -1;
        }
        s_source_add (self, S_SRC_ACTOR + index, self->actors [index], true);
    }
    return 0;
}

//  Join through a seed now, and remember it for rumor_why.
static void
s_seed_join (self_t *self, const char *endpoint, uint32_t seq, int64_t now)
{
    s_seed_t *seed;
    for (seed = (s_seed_t *) zlistx_first (self->seeds); seed;
         seed = (s_seed_t *) zlistx_next (self->seeds))
        if (streq (seed->endpoint, endpoint))
            break;
    if (!seed && zlistx_size (self->seeds) < S_SEEDS_MAX) {
        seed = (s_seed_t *) zmalloc (sizeof (s_seed_t));
        assert (seed);
        seed->endpoint = strdup (endpoint);
        zlistx_add_end (self->seeds, seed);
    }
    if (seed) {
        seed->tries++;
        seed->last_at = now;
    }
    zmsg_t *command = s_command_new ("JOIN", seq);
    zmsg_addstr (command, endpoint);
    s_actor_post (self, S_MEMBERSHIP, command, NULL, false);
    self->stats.seed_joins++;
}

static int
s_start (self_t *self, int64_t now)
{
    if (self->started)
        return RUMOR_ESTATE;
    //  With a secret, rumor's ZAP handler must answer for our ROUTER
    //  before it accepts anything
    if (self->secure && !(self->zap = rumor_zap_register (&self->why))) {
        zsys_error ("rumor: %s", self->why);
        return RUMOR_ENET;
    }
    if (self->zap)
        rumor_zap_set_keys (self->zap, self->keyring);
    int port = s_bind (self);
    if (port < 0 || s_beacon_start (self, port))
        return RUMOR_ENET;
    self->endpoint = zsys_sprintf ("tcp://%s:%d", s_advertised_host (self),
                                   port);
    if (s_actors_start (self))
        return RUMOR_ENET;
    //  Keyring queries: the app core hears them, we answer (s_on_app)
    if (self->secure) {
        zmsg_t *hear = s_command_new ("HEAR", 0);
        zmsg_addstr (hear, S_KEYS_TOPIC);
        s_actor_post (self, S_APP, hear, NULL, false);
    }
    s_source_add (self, S_SRC_ROUTER, self->router, true);
    s_source_add (self, S_SRC_MONITOR, self->router_monitor, true);
    self->started = true;
    for (s_seed_t *seed = (s_seed_t *) zlistx_first (self->seeds); seed;
         seed = (s_seed_t *) zlistx_next (self->seeds)) {
        zmsg_t *command = s_command_new ("JOIN", 0);
        zmsg_addstr (command, seed->endpoint);
        s_actor_post (self, S_MEMBERSHIP, command, NULL, false);
        seed->tries++;
        seed->last_at = now;
        self->stats.seed_joins++;
    }
    self->next_reap_at = now + S_REAP_CHECK_MS;
    return RUMOR_OK;
}


//  --------------------------------------------------------------------------
//  Stats and why

//  "security.*": ours, our ZAP domain's, the keyring's size
static void
s_security_stats (self_t *self, zmsg_t *reply)
{
    rumor_shell_add_counters (reply, "security", &self->sec,
                              s_security_counters,
                              sizeof (s_security_counters)
                              / sizeof (s_security_counters [0]));
    uint64_t admitted = 0, refused = 0;
    if (self->zap)
        rumor_zap_counts (self->zap, &admitted, &refused);
    rumor_shell_add_counter (reply, "security", "zap_admitted", admitted);
    rumor_shell_add_counter (reply, "security", "zap_refused", refused);
    rumor_shell_add_counter (reply, "security", "keys",
                             self->secure? rumor_keyring_size (self->keyring)
                                         : 0);
    rumor_shell_add_counter (reply, "security", "backoffs",
                             zhashx_size (self->backoff));
}

static void
s_stats_reply (self_t *self, zmsg_t *reply)
{
    rumor_shell_add_i32 (reply, 0);
    rumor_shell_add_counters (reply, "supervisor", &self->stats, s_counters,
                              sizeof (s_counters) / sizeof (s_counters [0]));
    rumor_shell_add_counter (reply, "supervisor", "peers",
                             zhashx_size (self->peers));
    rumor_shell_add_counter (reply, "supervisor", "links",
                             zlistx_size (self->links));
    rumor_shell_add_counter (reply, "supervisor", "incarnation",
                             self->incarnation);
    rumor_shell_add_counter (reply, "supervisor", "loop_turns",
                             self->loop_turns);
    rumor_shell_add_counter (reply, "supervisor", "loop_unwatched",
                             self->loop_unwatched);
    rumor_shell_add_counters (reply, "codec", &self->codec, s_codec_counters,
                              sizeof (s_codec_counters)
                              / sizeof (s_codec_counters [0]));
    rumor_shell_add_counter (reply, "codec", "refused",
                             rumor_codec_refused (&self->codec));
    rumor_shell_add_counter (reply, "events", "sent", self->events_sent);
    rumor_shell_add_counter (reply, "events", "dropped", self->events_dropped);
    s_security_stats (self, reply);
    if (!self->beacon)
        return;
    zhash_t *beacon = zhash_new ();
    zhash_autofree (beacon);
    rumor_discovery_export (self->beacon, beacon);
    for (const char *value = (const char *) zhash_first (beacon); value;
         value = (const char *) zhash_next (beacon)) {
        zmsg_addstr (reply, zhash_cursor (beacon));
        zmsg_addstr (reply, value);
    }
    zhash_destroy (&beacon);
}

static void
s_why_peers (self_t *self, FILE *out)
{
    size_t count [5] = { 0 };
    for (s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers); peer;
         peer = (s_peer_t *) zhashx_next (self->peers))
        if (peer->state >= 0 && peer->state < 5)
            count [peer->state]++;
    fprintf (out, "peers: %zu alive, %zu suspect, %zu failed, %zu left, "
             "%zu not (yet) members; %zu connections\n",
             count [RUMOR__STATE__STATE_ALIVE],
             count [RUMOR__STATE__STATE_SUSPECT],
             count [RUMOR__STATE__STATE_DEAD], count [RUMOR__STATE__STATE_LEFT],
             count [S_STATE_UNKNOWN], zlistx_size (self->links));
}

static void
s_why_seeds (self_t *self, FILE *out, int64_t now)
{
    if (zlistx_size (self->seeds) == 0) {
        fprintf (out, "seeds: none (rumor_join adds one)\n");
        return;
    }
    fprintf (out, "seeds: (joined again with backoff while this node has "
                  "no live peer; membership.joins_sent counts every Join)\n");
    for (s_seed_t *seed = (s_seed_t *) zlistx_first (self->seeds); seed;
         seed = (s_seed_t *) zlistx_next (self->seeds)) {
        fprintf (out, "  %s: %" PRIu64 " join(s) asked", seed->endpoint,
                 seed->tries);
        if (seed->tries)
            fprintf (out, ", last %" PRId64 " ms ago", now - seed->last_at);
        fprintf (out, "\n");
    }
}

static void
s_why_security (self_t *self, FILE *out, int64_t now)
{
    if (!self->secure) {
        fprintf (out, "security: no secret: links are not encrypted; nodes "
                 "with a secret refuse this one (%" PRIu64 " handshake(s) "
                 "failed as client, %" PRIu64 " refused)\n",
                 self->sec.handshake_failures, self->sec.handshakes_refused);
        return;
    }
    char *prints = rumor_keyring_fingerprints (self->keyring);
    uint64_t admitted = 0, refused = 0;
    rumor_zap_counts (self->zap, &admitted, &refused);
    fprintf (out, "security: CURVE, keys %s (primary first); handshakes: "
             "%" PRIu64 " admitted, %" PRIu64 " refused by key, %" PRIu64
             " failed at our ROUTER, %" PRIu64 " failed as client; %" PRIu64
             " link(s) given up\n", prints, admitted, refused,
             self->sec.handshakes_refused, self->sec.handshake_failures,
             self->sec.links_given_up);
    free (prints);
    for (s_backoff_t *backoff = (s_backoff_t *) zhashx_first (self->backoff);
         backoff; backoff = (s_backoff_t *) zhashx_next (self->backoff)) {
        fprintf (out, "  %s: every key failed its handshake (another "
                 "secret, or none there); backing off %" PRId64 " ms, ",
                 (const char *) zhashx_cursor (self->backoff),
                 backoff->delay);
        if (backoff->until > now)
            fprintf (out, "next try in %" PRId64 " ms\n",
                     backoff->until - now);
        else
            fprintf (out, "may be tried again\n");
    }
}

static char *
s_why (self_t *self, int64_t now)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    fprintf (out, "node %s (id %s, generation %" PRIu64 ") at %s, "
             "cluster \"%s\"\n", self->name, self->hex, self->generation,
             self->endpoint? self->endpoint: "(not started)", self->cluster);
    s_why_peers (self, out);
    s_why_seeds (self, out, now);
    s_why_security (self, out, now);
    const rumor_codec_stats_t *codec = &self->codec;
    fprintf (out, "frames: %" PRIu64 " in, %" PRIu64 " out; refused: "
             "%" PRIu64 " other cluster, %" PRIu64 " other version, "
             "%" PRIu64 " malformed, %" PRIu64 " oversized, %" PRIu64
             " other\n", self->stats.frames_in, self->stats.frames_out,
             codec->bad_cluster, codec->bad_version, codec->malformed,
             codec->oversized,
             codec->bad_sender + codec->no_body + codec->bad_field);
    fprintf (out, "sends dropped: %" PRIu64 " (peer queue full), %" PRIu64
             " unroutable\n", self->stats.dropped_full, self->stats.unroutable);
    if (self->beacon) {
        char *beacon = rumor_discovery_why (self->beacon);
        fputs (beacon, out);
        free (beacon);
    }
    if (s_live_peers (self) == 0 && zlistx_size (self->seeds) == 0
    &&  self->beacon_mode == RUMOR_BEACON_OFF)
        fprintf (out, "hint: no seed and no beacon: this node can only be "
                 "joined by others (rumor_join, or a beacon mode)\n");
    fclose (out);
    return text;
}


//  --------------------------------------------------------------------------
//  Commands from the node

static void
s_reply (self_t *self, uint32_t seq, int32_t rc, const char *string)
{
    zmsg_t *reply = rumor_shell_reply_new (seq);
    rumor_shell_add_i32 (reply, rc);
    if (string)
        zmsg_addstr (reply, string);
    s_reply_forward (self, &reply);
}

static int
s_actor_index (const char *name)
{
    for (int index = 0; index < S_ACTORS; index++)
        if (streq (name, s_actor_names [index]))
            return index;
    return -1;
}

//  CALL actor COMMAND args: forwarded as COMMAND | seq | args
static void
s_call (self_t *self, uint32_t seq, zmsg_t *request)
{
    char *actor = rumor_shell_pop_str (request);
    char *command = rumor_shell_pop_str (request);
    int index = s_actor_index (actor);
    if ((index < 0 || !self->started) && seq == 0)
        self->stats.posts_refused++;    //  nobody waits for a reply
    else
    if (index < 0 || !self->started)
        s_reply (self, seq, index < 0? RUMOR_EINVAL: RUMOR_ESTATE, NULL);
    else {
        zmsg_t *forward = s_command_new (command, seq);
        zframe_t *frame;
        while ((frame = zmsg_pop (request)))
            zmsg_append (forward, &frame);
        s_actor_post (self, index, forward, NULL, false);
    }
    free (command);
    free (actor);
}

//  RESOLVE member: a 32-hex id as is, else a node name (ours, or the
//  newest live peer of that name).
static void
s_resolve (self_t *self, uint32_t seq, zmsg_t *request)
{
    char *member = rumor_shell_pop_str (request);
    rumor_id_t id;
    bool found = rumor_id_from_hex (&id, member) == 0;
    if (!found && streq (member, self->name)) {
        id = self->id;
        found = true;
    }
    const s_peer_t *best = NULL;
    for (s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers);
         peer && !found; peer = (s_peer_t *) zhashx_next (self->peers))
        if (streq (peer->name, member)
        && (!best || peer->generation > best->generation))
            best = peer;
    if (best) {
        id = best->id;
        found = true;
    }
    zmsg_t *reply = rumor_shell_reply_new (seq);
    rumor_shell_add_i32 (reply, found? RUMOR_OK: RUMOR_ENOTFOUND);
    if (found)
        zmsg_addmem (reply, id.bytes, RUMOR_ID_SIZE);
    s_reply_forward (self, &reply);
    free (member);
}

static void
s_stop (self_t *self, uint32_t seq, int64_t now)
{
    if (!self->started || self->leaving) {
        s_reply (self, seq, self->started? RUMOR_OK: RUMOR_ESTATE, NULL);
        return;
    }
    self->leaving = true;
    self->stop_seq = seq;
    self->stop_deadline = now + S_LEAVE_BOUND_MS;
    s_actor_post (self, S_MEMBERSHIP, s_command_new ("LEAVE", 0), NULL, false);
}

//  KEYS op [arg] from the node: applied at once -> rc, fingerprints
static void
s_keys_command (self_t *self, uint32_t seq, zmsg_t *request, int64_t now)
{
    char *op = rumor_shell_pop_str (request);
    zframe_t *arg = zmsg_pop (request);
    int rc = self->started? s_keys_apply (self, op, arg? zframe_data (arg): NULL,
                                          arg? zframe_size (arg): 0, now, 0)
                          : RUMOR_ESTATE;
    if (arg)
        sodium_memzero (zframe_data (arg), zframe_size (arg));
    zframe_destroy (&arg);
    char *prints = self->secure? rumor_keyring_fingerprints (self->keyring)
                               : strdup ("");
    s_reply (self, seq, rc, prints);
    free (prints);
    free (op);
}

static void
s_handle_request (self_t *self, zmsg_t *request, int64_t now)
{
    char *command = rumor_shell_pop_str (request);
    uint32_t seq = rumor_shell_pop_u32 (request, 0);
    if (streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "START")) {
        int rc = s_start (self, now);
        s_reply (self, seq, rc, rc == RUMOR_OK? self->endpoint
                              : self->why? self->why: "");
    }
    else
    if (streq (command, "STOP"))
        s_stop (self, seq, now);
    else
    if (streq (command, "JOIN")) {
        char *endpoint = rumor_shell_pop_str (request);
        if (self->started && !self->leaving)
            s_seed_join (self, endpoint, seq, now);
        else
            s_reply (self, seq, RUMOR_ESTATE, NULL);
        free (endpoint);
    }
    else
    if (streq (command, "CALL"))
        s_call (self, seq, request);
    else
    if (streq (command, "RESOLVE"))
        s_resolve (self, seq, request);
    else
    if (streq (command, "STATS")) {
        zmsg_t *reply = rumor_shell_reply_new (seq);
        s_stats_reply (self, reply);
        s_reply_forward (self, &reply);
    }
    else
    if (streq (command, "KEYS"))
        s_keys_command (self, seq, request, now);
    else
    if (streq (command, "WHY")) {
        char *text = s_why (self, now);
        s_reply (self, seq, RUMOR_OK, text);
        free (text);
    }
    else {
        zsys_warning ("rumor: unknown supervisor command=%s", command);
        s_reply (self, seq, RUMOR_EINVAL, NULL);
    }
    free (command);
}

//  A post of the program (shell.h): the same frame goes to its actor;
//  nobody waits for a reply, so a refusal is only counted
static void
s_handle_post (self_t *self, zframe_t **frame_p)
{
    rumor_shell_post_t post;
    int index = rumor_shell_post_parse (*frame_p, &post) == 0
              ? s_actor_index (post.actor): -1;
    if (index < 0 || !self->started) {
        self->stats.posts_refused++;
        zframe_destroy (frame_p);
        return;
    }
    zsock_t *actor = s_actor_sock (self, index);
    if (zlistx_size (self->backlogs [index]) == 0
    &&  zframe_send (frame_p, actor, ZFRAME_DONTWAIT) == 0)
        return;
    zmsg_t *msg = zmsg_new ();
    assert (msg);
    zmsg_append (msg, frame_p);
    s_actor_post (self, index, msg, NULL, false);
}

//  What the program sends: a post (one frame), or a request
static void
s_handle_pipe (self_t *self, zframe_t *frame, int64_t now)
{
    if (!zframe_more (frame) && zframe_size (frame)
    &&  zframe_data (frame) [0] == RUMOR_SHELL_POST) {
        s_handle_post (self, &frame);
        return;
    }
    zmsg_t *request = zmsg_new ();
    assert (request);
    zmsg_append (request, &frame);
    while (zsock_rcvmore (self->pipe)) {
        frame = zframe_recv (self->pipe);
        if (frame)
            zmsg_append (request, &frame);
    }
    s_handle_request (self, request, now);
    zmsg_destroy (&request);
}


//  --------------------------------------------------------------------------
//  The actor: life, timers, loop

static void
s_seed_destroy (void **item)
{
    s_seed_t *seed = (s_seed_t *) *item;
    if (seed) {
        free (seed->endpoint);
        free (seed);
        *item = NULL;
    }
}

static self_t *
s_self_new (zsock_t *pipe, const rumor_supervisor_cfg_t *cfg)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->events = cfg->events;
    self->loop_fd = epoll_create1 (EPOLL_CLOEXEC);
    self->epoll = rumor_pollfd_new (epoll_create1 (EPOLL_CLOEXEC));
    //  Fails only out of memory or file handles, like czmq's own sockets
    assert (self->loop_fd >= 0 && self->epoll && self->epoll->fd >= 0);
    s_source_add (self, S_SRC_PIPE, pipe, true);
    s_source_add (self, S_SRC_LINKS, self->epoll, false);
    zsock_set_sndtimeo (pipe, 0);
    self->name = strdup (cfg->name);
    self->id = cfg->id;
    rumor_id_hex (&self->id, self->hex);
    self->generation = cfg->generation;
    self->seed = cfg->seed;
    self->cluster = strdup (cfg->cluster);
    self->cluster_hash = rumor_cluster_hash (cfg->cluster);
    self->port = cfg->port;
    self->bind = strdup (cfg->bind? cfg->bind: "*");
    self->advertise = s_strdup_or_null (cfg->advertise);
    self->beacon_mode = cfg->beacon;
    self->iface = s_strdup_or_null (cfg->iface);
    self->beacon_port = cfg->beacon_port;
    self->profile = (int) cfg->profile;
    rumor_membership_actor_limits (self->profile, &self->limits);
    rumor_limits_resolve (&cfg->limits, &self->caps);
    self->limits.max_members = (size_t) self->caps.members;
    self->tags = zlistx_new ();
    zlistx_set_destructor (self->tags, s_free_string);
    for (size_t i = 0; i < cfg->n_tags; i++)
        zlistx_add_end (self->tags, strdup (cfg->tags [i]));
    self->seeds = zlistx_new ();
    zlistx_set_destructor (self->seeds, s_seed_destroy);
    for (size_t i = 0; i < cfg->n_seeds && i < S_SEEDS_MAX; i++) {
        s_seed_t *seed = (s_seed_t *) zmalloc (sizeof (s_seed_t));
        assert (seed);
        seed->endpoint = strdup (cfg->seeds [i]);
        zlistx_add_end (self->seeds, seed);
    }
    for (int index = 0; index < S_ACTORS; index++) {
        self->backlogs [index] = zlistx_new ();
        zlistx_set_destructor (self->backlogs [index], s_pending_destroy);
    }
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_peer_destroy);
    self->links = zlistx_new ();
    self->checking = zlistx_new ();
    self->anon = zhashx_new ();
    self->routes = zhashx_new ();
    zhashx_set_destructor (self->routes, s_route_destroy);
    self->backoff = zhashx_new ();
    zhashx_set_destructor (self->backoff, s_free_string);
    self->keyring = cfg->keyring;
    self->secure = cfg->keyring && rumor_keyring_size (cfg->keyring) > 0;
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    //  Actors first: they release what we shared with them
    for (int index = 0; index < S_ACTORS; index++) {
        rumor_supervisor_actor_destroy (&self->actors [index]);
        zlistx_destroy (&self->backlogs [index]);
    }
    s_link_t *link;
    while ((link = (s_link_t *) zlistx_first (self->links)))
        s_link_destroy (self, &link);
    zhashx_destroy (&self->anon);
    zhashx_destroy (&self->routes);
    zhashx_destroy (&self->peers);
    zlistx_destroy (&self->links);
    zlistx_destroy (&self->checking);
    zlistx_destroy (&self->seeds);
    zlistx_destroy (&self->tags);
    rumor_discovery_destroy (&self->beacon);
    if (self->router)
        zmq_socket_monitor (zsock_resolve (self->router), NULL, 0);
    zsock_destroy (&self->router_monitor);
    zsock_destroy (&self->router);
    //  No ROUTER of ours asks it any more
    rumor_zap_unregister (&self->zap);
    zhashx_destroy (&self->backoff);
    free (self->bound);
    free (self->why);
    close (self->loop_fd);
    rumor_pollfd_destroy (&self->epoll);
    free (self->name);
    free (self->cluster);
    free (self->bind);
    free (self->advertise);
    free (self->iface);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

//  Seeds again while alone, reaping, beacons, the end of a leave.
//  Beacon fast while alone or just joined, slowly and shared once settled
//  (see S_BEACON_SETTLE_MS)
static void
s_beacon_pace (self_t *self, int64_t now)
{
    if (!self->beacon || !self->beacon_fast_ms)
        return;
    size_t live = s_live_peers (self);
    if (live == 0)
        self->beacon_peers_since = 0;
    else
    if (!self->beacon_peers_since)
        self->beacon_peers_since = now;
    bool settled = self->beacon_peers_since
                && now - self->beacon_peers_since >= S_BEACON_SETTLE_MS;
    rumor_discovery_set_interval (
        self->beacon,
        rumor_discovery_paced (self->beacon_fast_ms, live, settled), now);
}

static void
s_timers (self_t *self, int64_t now)
{
    if (!self->started)
        return;
    if (!self->leaving && self->beacon)
        rumor_discovery_tick (self->beacon, now);
    //  Seeds are retried by the membership core while the node is alone
    if (now >= self->next_reap_at) {
        s_reap (self, now);
        s_beacon_pace (self, now);
        self->next_reap_at = now + S_REAP_CHECK_MS;
    }
    if (self->rekey_at && now >= self->rekey_at)
        s_rekey (self, now);
    if (self->rebind_at && now >= self->rebind_at)
        s_rebind_step (self, now);
    if (self->leaving && self->stop_seq
    && ((self->left_at && now >= self->left_at + S_DRAIN_MS)
    ||  now >= self->stop_deadline)) {
        //  At the bound, membership had not spread our LEFT yet
        s_reply (self, self->stop_seq,
                 self->left_at? RUMOR_OK: RUMOR_ETIMEOUT, NULL);
        self->stop_seq = 0;
    }
}

//  0 if a source may have input, 1 if one is unwatched, else -1. Before
//  START only the program's pipe is read.
static int
s_sources_timeout (self_t *self)
{
    int timeout = -1;
    for (int index = 0; index < S_SOURCES; index++) {
        const s_source_t *source = &self->sources [index];
        if (!source->handle || source->off
        ||  (!self->started && index != S_SRC_PIPE))
            continue;
        if (source->dirty)
            return 0;
        if (source->unwatched)
            timeout = 1;
    }
    return timeout;
}

//  Wait timeout: the earliest timer, 1 ms while a backlog waits, 0 while a
//  source may have input.
static int
s_timeout (self_t *self, int64_t now)
{
    if (!self->started)
        return s_sources_timeout (self);
    int64_t next = self->next_reap_at;
    int64_t beacon = self->beacon?
                     rumor_discovery_next_deadline (self->beacon): -1;
    if (!self->leaving && beacon >= 0 && beacon < next)
        next = beacon;
    if (self->rekey_at && self->rekey_at < next)
        next = self->rekey_at;
    if (self->rebind_at && self->rebind_at < next)
        next = self->rebind_at;
    if (self->stop_seq) {
        int64_t end = self->left_at? self->left_at + S_DRAIN_MS
                                   : self->stop_deadline;
        if (end < next)
            next = end;
    }
    if ((s_backlogged (self) || self->pending_frames) && next > now + 1)
        next = now + 1;
    if (zlistx_size (self->checking))
        next = now;                 //  links to read
    int sources = s_sources_timeout (self);
    if (sources >= 0 && next > now + sources)
        next = now + sources;
    return next <= now? 0: (int) (next - now);
}

//  The program's pipe waits while the app actor lags behind it
static bool
s_pipe_paused (self_t *self)
{
    return self->started
        && zlistx_size (self->backlogs [S_APP]) >= S_PIPE_PAUSE (self);
}

//  The ROUTER waits too, but only while the app actor is slow on its own:
//  while we hold it back (a link is full), peers' frames are read on, or
//  two nodes that send each other app traffic (event relays) would wait
//  for each other until a link stalls. Then the app backlog's bound
//  drops and counts them ("supervisor.dropped_actor").
static bool
s_router_paused (self_t *self)
{
    return s_pipe_paused (self) && self->links_full == 0;
}

//  Stop waiting on a source while we do not read it (else the wait would
//  return at once, again and again), and resume after.
static void
s_poll_switch (self_t *self, int index, bool off, uint64_t *paused)
{
    if (off == self->sources [index].off)
        return;
    s_source_switch (self, index, off);
    if (off)
        (*paused)++;
}

//  Backpressure, from the wire up to the program: a full link stops us
//  reading the app actor; an app actor that lags stops us reading the
//  program's pipe, whose sender then blocks (node.c, s_post).
static void
s_flow (self_t *self)
{
    s_poll_switch (self, S_SRC_PIPE, s_pipe_paused (self),
                   &self->stats.pipe_paused);
    if (self->router)
        s_poll_switch (self, S_SRC_ROUTER, s_router_paused (self),
                       &self->stats.router_paused);
    if (self->actors [S_APP])
        s_poll_switch (self, S_SRC_ACTOR + S_APP, self->links_full > 0,
                       &self->stats.app_paused);
}

//  Read a burst from every source that has input, so none starves
//  another.
static void
s_sweep (self_t *self, int64_t now)
{
    zframe_t *frame;
    for (int i = 0; i < S_BURST && !self->terminated && !s_pipe_paused (self)
                    && (frame = s_source_recv (self, S_SRC_PIPE)); i++)
        s_handle_pipe (self, frame, now);
    if (self->terminated || !self->started)
        return;
    for (int i = 0; i < S_BURST && !s_router_paused (self)
         && (frame = s_source_recv (self, S_SRC_ROUTER)); i++)
        s_handle_router (self, frame, now);
    for (int i = 0; i < S_BURST
         && s_source_has_input (self, S_SRC_MONITOR); i++)
        s_handle_router_monitor (self);
    for (int index = 0; index < S_ACTORS; index++)
        for (int i = 0; i < S_BURST && (index != S_APP || !self->links_full)
             && (frame = s_source_recv (self, S_SRC_ACTOR + index)); i++)
            s_handle_actor (self, index, frame, now);
    //  Plain handles are level-triggered: one read each, and they fire
    //  again while they hold more
    s_source_t *beacon = &self->sources [S_SRC_BEACON];
    for (int i = 0; i < S_BURST && s_source_has_input (self, S_SRC_BEACON);
         i++) {
        beacon->dirty = beacon->zmq;
        s_handle_beacon (self, now);
    }
    if (s_source_has_input (self, S_SRC_LINKS)) {
        self->sources [S_SRC_LINKS].dirty = false;
        s_links_ready (self, now);
    }
}

static void
s_supervisor_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const rumor_supervisor_cfg_t *) args);
    prctl (PR_SET_NAME, "rm-supervisor", 0, 0, 0);  //  for top -H and perf
    zsock_signal (pipe, 0);
    while (!self->terminated) {
        s_wait (self, s_timeout (self, zclock_time ()));
        int64_t now = zclock_time ();
        s_sweep (self, now);
        if (self->terminated)
            break;
        for (int index = 0; index < S_ACTORS && self->started; index++)
            s_actor_drain (self, index);
        s_links_flush (self, now);
        s_timers (self, now);
        s_links_recheck (self, now);
        s_flow (self);
    }
    s_self_destroy (&self);
}

zactor_t *
rumor_supervisor_new (const rumor_supervisor_cfg_t *cfg)
{
    assert (cfg);
    assert (cfg->name && cfg->cluster && cfg->events);
    //  zactor_new returns once the actor copied cfg and signalled
    return zactor_new (s_supervisor_actor, (void *) cfg);
}


//  --------------------------------------------------------------------------
//  The events pipe's frames (supervisor.h)

//  Fixed part: type, query, complete, data size
#define S_EVENT_HEAD    (4 + 8 + 1 + 4)

static size_t
s_text_size (const char *text)
{
    return (text? strlen (text): 0) + 1;
}

static byte *
s_put (byte *at, const void *data, size_t size)
{
    if (size)
        memcpy (at, data, size);
    return at + size;
}

static byte *
s_put_text (byte *at, const char *text)
{
    return s_put (at, text? text: "", s_text_size (text));
}

zframe_t *
rumor_supervisor_event_pack (const rumor_supervisor_event_t *event)
{
    assert (event);
    size_t size = event->data? event->size: 0;
    assert (size <= UINT32_MAX);
    zframe_t *frame = zframe_new (NULL, S_EVENT_HEAD + size
        + s_text_size (event->member) + s_text_size (event->name)
        + s_text_size (event->endpoint) + s_text_size (event->topic)
        + s_text_size (event->evidence));
    assert (frame);
    uint32_t type = (uint32_t) event->type;
    uint8_t complete = event->complete? 1: 0;
    uint32_t size32 = (uint32_t) size;
    byte *at = zframe_data (frame);
    at = s_put (at, &type, sizeof (type));
    at = s_put (at, &event->query, sizeof (event->query));
    at = s_put (at, &complete, sizeof (complete));
    at = s_put (at, &size32, sizeof (size32));
    at = s_put (at, event->data, size);
    at = s_put_text (at, event->member);
    at = s_put_text (at, event->name);
    at = s_put_text (at, event->endpoint);
    at = s_put_text (at, event->topic);
    s_put_text (at, event->evidence);
    return frame;
}

int
rumor_supervisor_event_parse (zframe_t *frame, rumor_supervisor_event_t *event)
{
    assert (frame);
    assert (event);
    memset (event, 0, sizeof (*event));
    const byte *at = zframe_data (frame);
    const byte *end = at + zframe_size (frame);
    if (zframe_size (frame) < S_EVENT_HEAD)
        return -1;
    uint32_t type, size;
    memcpy (&type, at, sizeof (type));
    memcpy (&event->query, at + 4, sizeof (event->query));
    event->complete = at [12] != 0;
    memcpy (&size, at + 13, sizeof (size));
    at += S_EVENT_HEAD;
    if (size > (size_t) (end - at))
        return -1;
    event->type = (rumor_event_type_t) type;
    event->data = at;
    event->size = size;
    at += size;
    event->member = rumor_codec_take_string (&at, end);
    event->name = event->member? rumor_codec_take_string (&at, end): NULL;
    event->endpoint = event->name? rumor_codec_take_string (&at, end): NULL;
    event->topic = event->endpoint? rumor_codec_take_string (&at, end): NULL;
    event->evidence = event->topic? rumor_codec_take_string (&at, end): NULL;
    return event->evidence && at == end? 0: -1;
}
