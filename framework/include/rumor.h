/*  =========================================================================
    rumor - gossip framework in C on ZeroMQ

    A node joins a self-managing cluster: members find each other by UDP
    beacon on a LAN (or on one host) or through seed endpoints; failures are
    detected (SWIM with Lifeguard); every node publishes versioned key/value
    state that converges everywhere (Scuttlebutt); nodes broadcast events on
    topics (Plumtree), send each other direct messages and ask the cluster
    questions.

        rumor_t *node = rumor_new ("alice");
        rumor_set_cluster (node, "office");
        rumor_set_beacon (node, RUMOR_BEACON_LOOPBACK);
        rumor_start (node);
        rumor_set_str (node, "temp", "21.5", 0);
        rumor_hear (node, "lights.*");
        rumor_say (node, "lights.kitchen", "on", 2);
        rumor_event_t *event = rumor_recv (node);
        ...
        rumor_event_destroy (&event);
        rumor_destroy (&node);              //  leaves gracefully, then stops

    Conventions (czmq's): constructors return NULL on failure; destructors
    take the address of the pointer and set it to NULL; every other call
    returns 0 or a negative rumor error code (see rumor_strerror) and never
    aborts on a bad argument. Calls on one rumor_t are not thread-safe: use
    a node from one thread, as with any czmq socket.

    Members are named by their 32-digit hex id or by their node name
    wherever a call takes `member`.
    =========================================================================
*/

#ifndef RUMOR_H_INCLUDED
#define RUMOR_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Library version of this header
#define RUMOR_VERSION_MAJOR 0
#define RUMOR_VERSION_MINOR 1
#define RUMOR_VERSION_PATCH 0

#define RUMOR_MAKE_VERSION(major, minor, patch) \
    ((major) * 10000 + (minor) * 100 + (patch))
#define RUMOR_VERSION \
    RUMOR_MAKE_VERSION (RUMOR_VERSION_MAJOR, RUMOR_VERSION_MINOR, RUMOR_VERSION_PATCH)

//  Version of the library actually linked, to compare with the macros
//  above: a program built against one header and run with another library
//  can tell.
void rumor_version (int *major, int *minor, int *patch);

//  Wire protocol version spoken by this library: (major << 16) | minor.
//  Nodes refuse frames of another major version.
unsigned int rumor_protocol_version (void);

//  --------------------------------------------------------------------------
//  Errors: every call that can fail returns 0 or one of these.

#define RUMOR_OK            0
#define RUMOR_EINVAL       -1       //  bad argument (NULL, empty, malformed)
#define RUMOR_ESTATE       -2       //  not allowed now (e.g. set_port after
                                    //  start, say before start)
#define RUMOR_ETOOBIG      -3       //  key, topic, value or payload too large
#define RUMOR_EFULL        -4       //  a limit is reached (keys, patterns,
                                    //  pending queries)
#define RUMOR_ENOTFOUND    -5       //  no such member, key or pattern
#define RUMOR_ENET         -6       //  network setup failed (bind, port in
                                    //  use, no such interface)
#define RUMOR_ETIMEOUT     -7       //  the node did not answer in time

//  Text for an error code; never NULL.
const char *rumor_strerror (int code);

//  --------------------------------------------------------------------------
//  Lifecycle and configuration

typedef struct _rumor_t rumor_t;
typedef struct _rumor_event_t rumor_event_t;

//  How a node finds others with no configuration.
typedef enum {
    RUMOR_BEACON_LAN = 0,           //  zbeacon on the LAN interfaces
                                    //  (rumor_set_interface), the default
    RUMOR_BEACON_LOOPBACK = 1,      //  UDP broadcast to 127.255.255.255:
                                    //  nodes on this host only; no root,
                                    //  nothing leaves the machine
    RUMOR_BEACON_OFF = 2            //  no beacon: seeds only
} rumor_beacon_t;

//  Timing profiles: how fast the protocol reacts against what it costs.
typedef enum {
    RUMOR_PROFILE_LAN = 0,          //  probe 500 ms, gossip 200 ms (default)
    RUMOR_PROFILE_LOCAL = 1,        //  one host or a fast LAN: faster timers
    RUMOR_PROFILE_WAN = 2           //  slow links: longer timeouts
} rumor_profile_t;

//  Create a node. name NULL means the host name plus a random suffix. The
//  node id is derived from the name, so a node restarted under the same
//  name keeps its identity (a new generation replaces the old one). Returns
//  NULL if name is invalid (empty or over 255 bytes).
rumor_t *rumor_new (const char *name);

//  Leave gracefully (bounded in time), stop, and free the node. Nullifies
//  the pointer; does nothing if it is NULL.
void rumor_destroy (rumor_t **self_p);

//  Before start: cluster name (default "rumor"); nodes of other clusters
//  are refused and counted.
int rumor_set_cluster (rumor_t *self, const char *cluster);

//  Before start: TCP port to bind (0 = any free port, the default).
int rumor_set_port (rumor_t *self, int port);

//  Before start: address to bind, e.g. "127.0.0.1" (default: all, "*").
int rumor_set_bind (rumor_t *self, const char *address);

//  Before start: the host or IP address others use to reach this node
//  (default: the beacon interface's address, or 127.0.0.1 with the
//  loopback beacon or no beacon).
int rumor_set_advertise (rumor_t *self, const char *host);

//  Before start: beacon mode (default RUMOR_BEACON_LAN).
int rumor_set_beacon (rumor_t *self, rumor_beacon_t mode);

//  Before start: LAN beacon interface name, e.g. "eth0" (default: czmq's
//  choice, the first broadcast-capable interface).
int rumor_set_interface (rumor_t *self, const char *iface);

//  Before start: UDP port of the beacon (default 5670 + 1 = 5671).
int rumor_set_beacon_port (rumor_t *self, int port);

//  Before start: timing profile (default RUMOR_PROFILE_LAN).
int rumor_set_profile (rumor_t *self, rumor_profile_t profile);

//  Set a tag (service=kafka), before or after start; value NULL removes it.
//  Tags travel with the node's membership entry.
int rumor_set_tag (rumor_t *self, const char *key, const char *value);

//  Join through an endpoint "tcp://host:port". Before start: a seed, tried
//  at start (and again while the node has no peers). After start: join now.
int rumor_join (rumor_t *self, const char *endpoint);

//  Start the node: bind, beacon, join seeds. Returns RUMOR_ENET if the port
//  is in use or the interface does not exist.
int rumor_start (rumor_t *self);

//  Leave the cluster gracefully (others see LEFT, never FAILED) and stop.
//  Returns once the LEFT is spread (its gossip retransmits sent: a few
//  gossip rounds), or at a bound of about two seconds with RUMOR_ETIMEOUT:
//  stopped, but some members may learn of it only by failure detection.
int rumor_stop (rumor_t *self);

//  After start: this node's id (32 hex digits), name and endpoint
//  ("tcp://host:port"). Borrowed, valid while the node lives.
const char *rumor_id (rumor_t *self);
const char *rumor_name (rumor_t *self);
const char *rumor_endpoint (rumor_t *self);

//  --------------------------------------------------------------------------
//  Limits: what the node accepts, each a setting with a sane default. When
//  a limit is hit the excess is refused and counted (rumor_stats), and
//  nothing else breaks: a member over its keys keeps its other keys and its
//  membership, a flooding peer loses only its own excess. Give every node
//  of a cluster the same values: a node with a lower limit refuses what
//  the others accept.

typedef enum {
    RUMOR_LIMIT_MESSAGE_BYTES = 0,  //  bytes in one frame, 128 KiB..1 MiB,
                                    //  default 1 MiB. A larger frame cuts
                                    //  its connection ("supervisor.
                                    //  router_disconnects")
    RUMOR_LIMIT_MEMBERS = 1,        //  members held, default 10,000
                                    //  ("membership.table_full",
                                    //  "supervisor.peers_full")
    RUMOR_LIMIT_KEYS = 2,           //  keys per member, tombstones
                                    //  included, default 10,000
                                    //  ("anti_entropy.full"; rumor_set:
                                    //  RUMOR_EFULL)
    RUMOR_LIMIT_VALUE_BYTES = 3,    //  total bytes of values in one
                                    //  member's keyspace, default 4 MiB
                                    //  ("anti_entropy.value_bytes_full";
                                    //  rumor_set: RUMOR_EFULL)
    RUMOR_LIMIT_EVENTS_PER_SEC = 4, //  events + queries + direct messages
                                    //  accepted per second from one origin
                                    //  (token bucket, one second of burst),
                                    //  default 250,000 ("app.rate_limited")
    RUMOR_LIMIT_QUEUE = 5           //  messages queued per peer link,
                                    //  default 1000 ("supervisor.
                                    //  dropped_full"); the inbound queue
                                    //  holds 10 times this
} rumor_limit_t;

//  Number of limits (the values of rumor_limit_t are 0 .. this - 1)
#define RUMOR_LIMITS 6

//  Before start: set a limit. Returns RUMOR_EINVAL for an unknown limit or
//  a value out of its range, RUMOR_ESTATE once started.
int rumor_set_limit (rumor_t *self, rumor_limit_t limit, int64_t value);

//  A limit's current value (the default unless set), or RUMOR_EINVAL for
//  an unknown limit.
int64_t rumor_limit (rumor_t *self, rumor_limit_t limit);

//  Name of a limit: "max-message-bytes", "max-members", "max-keys",
//  "max-value-bytes", "max-events-per-sec", "max-queue"; NULL if unknown.
const char *rumor_limit_name (rumor_limit_t limit);

//  --------------------------------------------------------------------------
//  Security: a cluster secret, and a keyring to rotate it live
//
//  With a secret, every node-to-node connection is CURVE-encrypted and
//  authenticated with keys derived from it (one keypair per secret: a node
//  that does not hold the secret cannot connect to, or accept a connection
//  from, the cluster), and beacons carry a MAC. A node without the secret,
//  or with another one, fails the handshake: it is refused and counted
//  ("security.*" in rumor_stats), never listed, and both sides back off
//  (1 s doubling to 60 s per endpoint) instead of retrying in a loop.
//  Secrets are never sent in clear and never logged; a keyring keeps only
//  the keys derived from them, wiped when removed. (A cluster-wide INSTALL
//  carries the secret inside its encrypted query, which members hold in
//  memory, like any broadcast, for the broadcast retention time.)
//
//  Rotation without downtime: install the new secret on every node
//  (rumor_keys_cluster INSTALL), then make it the primary on every node
//  (USE), then remove the old one (REMOVE). A node tries its primary first
//  and every installed key after it, and admits any installed key, so
//  nodes at different steps keep talking.
//
//  A secured node runs rumor's ZAP handler (inproc://zeromq.zap.01, one per
//  process): a program that runs zauth cannot start secured nodes
//  (rumor_start returns RUMOR_ENET, rumor_why says why).

#define RUMOR_SECRET_MIN    16      //  bytes of a secret, at least
#define RUMOR_SECRET_MAX    1024    //  ... at most
#define RUMOR_KEYRING_MAX   8       //  keys a node holds

//  Before start: the cluster secret (RUMOR_SECRET_MIN..RUMOR_SECRET_MAX
//  bytes of text). Replaces the whole keyring with this one key. Returns
//  RUMOR_EINVAL for a secret of a bad length, RUMOR_ESTATE once started.
int rumor_set_secret (rumor_t *self, const char *secret);

//  The keyring, on this node only. Install adds a secret (before or after
//  start; before start the first one installed is the primary, as with
//  rumor_set_secret): RUMOR_EFULL past RUMOR_KEYRING_MAX; installing a key
//  already there is a no-op. Use makes an installed secret the primary:
//  the node's server key and the first key new links try (RUMOR_ENOTFOUND
//  if not installed). Remove drops a secret and closes whatever was
//  authenticated with it (RUMOR_ESTATE if it is the primary). After start,
//  all three return RUMOR_ESTATE on a node started without a secret (it
//  cannot become secured while running); use and remove need a running
//  node.
int rumor_keys_install (rumor_t *self, const char *secret);
int rumor_keys_use (rumor_t *self, const char *secret);
int rumor_keys_remove (rumor_t *self, const char *secret);

//  Fingerprints of the installed secrets (16 hex digits each, never the
//  secrets), primary first, as a new list of strings (caller destroys it;
//  empty without a secret), or NULL on error.
zlist_t *rumor_keys_list (rumor_t *self);

//  What rumor_keys_cluster asks every member to do
typedef enum {
    RUMOR_KEYS_INSTALL = 1,
    RUMOR_KEYS_USE,
    RUMOR_KEYS_REMOVE,
    RUMOR_KEYS_LIST
} rumor_keys_op_t;

//  Cluster-wide: asks every member (this one included) to apply op to its
//  keyring, as a query on the reserved topic "$rumor.keys" that each node
//  answers itself (the program never sees it, not even with a pattern
//  like "#"). secret is NULL for RUMOR_KEYS_LIST. Returns a query id (> 0)
//  or an error (RUMOR_ESTATE without a secret). Answers arrive as
//  RUMOR_EVENT_RESPONSE events whose data is "ok FINGERPRINT..." (the
//  member's keyring after the op, primary first) or "error REASON", then
//  one RUMOR_EVENT_QUERY_DONE. The secret travels only inside the
//  encrypted cluster (and only for INSTALL: USE and REMOVE send its
//  fingerprint). A member changes its keyring at once, but re-keys its
//  connections for USE and REMOVE about half a second after it answers,
//  so that every answer gets home first.
int64_t rumor_keys_cluster (rumor_t *self, rumor_keys_op_t op,
                            const char *secret, int64_t timeout_ms);

//  Topics and patterns that start with "$rumor" are reserved: rumor_say,
//  rumor_whisper, rumor_query, rumor_hear and rumor_unhear refuse them
//  (RUMOR_EINVAL).

//  --------------------------------------------------------------------------
//  Key/value state: each node writes only its own keyspace, and reads
//  everyone's.

//  Set key (1..255 bytes) to size bytes of value (at most 64 KiB), with a
//  TTL in ms (0 = forever). The entry reaches every node within
//  milliseconds and expires everywhere at the same time.
int rumor_set (rumor_t *self, const char *key, const void *value,
               size_t size, int64_t ttl_ms);

//  Same, for a string value (without its NUL).
int rumor_set_str (rumor_t *self, const char *key, const char *value,
                   int64_t ttl_ms);

//  Delete one of our keys everywhere.
int rumor_delete (rumor_t *self, const char *key);

//  Read key from a member's keyspace (member NULL = ours). Returns a new
//  frame holding the value (caller destroys it), or NULL if absent.
zframe_t *rumor_get (rumor_t *self, const char *member, const char *key);

//  Same, as a new NUL-terminated string (caller frees), or NULL.
char *rumor_get_str (rumor_t *self, const char *member, const char *key);

//  The live keys of a member's keyspace (NULL = ours), sorted, as a new
//  list of strings (caller destroys it), or NULL on error.
zlist_t *rumor_keys (rumor_t *self, const char *member);

//  --------------------------------------------------------------------------
//  Events, direct messages, queries

//  Hear events and queries whose topic matches pattern: dot-separated
//  words, "*" matches one word, "#" zero or more ("lights.*", "lights.#").
int rumor_hear (rumor_t *self, const char *pattern);
int rumor_unhear (rumor_t *self, const char *pattern);

//  Broadcast an event on a topic (no wildcards). Every node that hears the
//  topic gets it exactly once, this one included.
//  say and whisper queue the message and return (as Zyre's shout and
//  whisper): RUMOR_OK means queued, not delivered. What can be checked
//  here is (arguments, topic, size, a stopped node); what is found later
//  is counted in rumor_stats (app.refused_unknown_target: the member is
//  gone, app.rate_limited). Nothing queued is dropped on the way to the
//  wire: when the node or a peer's link is behind, the call blocks until
//  there is room (at most ~5 s, then RUMOR_ETIMEOUT), and a link that
//  moves nothing for a second is a dead peer's: its messages are dropped
//  and counted (supervisor.app_dropped).
int rumor_say (rumor_t *self, const char *topic, const void *payload,
               size_t size);

//  Send a direct message to one member (id or name). A name is resolved
//  by the node the first time (RUMOR_ENOTFOUND if no member has it), then
//  locally: ids derive from names.
int rumor_whisper (rumor_t *self, const char *member, const char *topic,
                   const void *payload, size_t size);

//  Ask every node that hears topic. Returns a query id (> 0) or an error.
//  Answers arrive as RUMOR_EVENT_RESPONSE events, then one
//  RUMOR_EVENT_QUERY_DONE when every live member answered or at the
//  timeout.
int64_t rumor_query (rumor_t *self, const char *topic, const void *payload,
                     size_t size, int64_t timeout_ms);

//  Answer a RUMOR_EVENT_QUERY event.
int rumor_respond (rumor_t *self, const rumor_event_t *query,
                   const void *payload, size_t size);

//  --------------------------------------------------------------------------
//  Members and statistics

typedef enum {
    RUMOR_STATE_ALIVE = 1,
    RUMOR_STATE_SUSPECT = 2,
    RUMOR_STATE_DEAD = 3,           //  failed: declared dead by the detector
    RUMOR_STATE_LEFT = 4            //  left gracefully
} rumor_state_t;

//  Name of a state: "alive", "suspect", "failed", "left".
const char *rumor_state_name (rumor_state_t state);

typedef struct {
    char id [33];                   //  32 hex digits
    char *name;                     //  node name
    char *endpoint;                 //  "tcp://host:port"
    rumor_state_t state;
    uint32_t incarnation;           //  SWIM incarnation
    uint64_t generation;            //  start time, ms since epoch
    zhash_t *tags;                  //  key -> value strings
    double phi;                     //  phi-accrual suspicion, 0 = none
    int rtt_ms;                     //  smoothed round-trip time, -1 unknown
    bool self;                      //  this node
} rumor_member_t;

//  Snapshot of the member table, this node included: a new list of
//  rumor_member_t (destroy it with rumor_members_destroy), or NULL.
zlistx_t *rumor_members (rumor_t *self);
void rumor_members_destroy (zlistx_t **members_p);

//  Snapshot of every counter ("codec.malformed", "membership.refuted",
//  "beacon.heard", ...) as a new hash of name -> decimal string; caller
//  destroys it.
zhash_t *rumor_stats (rumor_t *self);

//  Why this node sees no peers: a new multi-line, human-readable string
//  (beacon mode and interfaces, beacons sent/heard, refusals and their
//  reasons, seeds tried); caller frees it.
char *rumor_why (rumor_t *self);

//  --------------------------------------------------------------------------
//  Events to the program

typedef enum {
    RUMOR_EVENT_JOINED = 1,         //  a member appeared (alive)
    RUMOR_EVENT_ALIVE,              //  a suspect or failed member is back,
                                    //  or restarted (new generation)
    RUMOR_EVENT_SUSPECT,            //  a member is suspected
    RUMOR_EVENT_FAILED,             //  a member was declared dead
    RUMOR_EVENT_LEFT,               //  a member left gracefully
    RUMOR_EVENT_UPDATED,            //  a member's tags or endpoint changed
    RUMOR_EVENT_KEY_SET,            //  a key was set (any keyspace)
    RUMOR_EVENT_KEY_DELETED,        //  a key was deleted
    RUMOR_EVENT_KEY_EXPIRED,        //  a key's TTL ran out
    RUMOR_EVENT_HEARD,              //  an event on a heard topic
    RUMOR_EVENT_DIRECT,             //  a direct message to us
    RUMOR_EVENT_QUERY,              //  a query to answer (rumor_respond)
    RUMOR_EVENT_RESPONSE,           //  an answer to one of our queries
    RUMOR_EVENT_QUERY_DONE          //  one of our queries finished
} rumor_event_type_t;

//  Wait for the next event: NULL if the node stopped, or once interrupted
//  (czmq's zsys_interrupted, set by SIGINT/SIGTERM), even while events
//  are queued, so that a receive loop ends on Ctrl-C.
rumor_event_t *rumor_recv (rumor_t *self);

//  Same, waiting at most timeout_ms (NULL on timeout).
rumor_event_t *rumor_recv_timeout (rumor_t *self, int timeout_ms);

//  The socket events arrive on, for zpoller/zloop: when it is readable,
//  rumor_recv does not block.
zsock_t *rumor_socket (rumor_t *self);

void rumor_event_destroy (rumor_event_t **self_p);

//  Accessors; strings are borrowed from the event, "" when not applicable.
rumor_event_type_t rumor_event_type (const rumor_event_t *self);
const char *rumor_event_type_name (const rumor_event_t *self);  //  "JOINED"...
const char *rumor_event_member (const rumor_event_t *self);  //  id of the
                                    //  member concerned, the origin, the
                                    //  sender or the responder
const char *rumor_event_name (const rumor_event_t *self);    //  its name
const char *rumor_event_endpoint (const rumor_event_t *self);
const char *rumor_event_topic (const rumor_event_t *self);   //  HEARD,
                                    //  DIRECT, QUERY; the key for KEY_*
const void *rumor_event_data (const rumor_event_t *self);    //  payload or
                                    //  value
size_t rumor_event_size (const rumor_event_t *self);
int64_t rumor_event_query (const rumor_event_t *self);       //  query id
                                    //  (QUERY, RESPONSE, QUERY_DONE)
bool rumor_event_complete (const rumor_event_t *self);       //  QUERY_DONE:
                                    //  every live member answered
const char *rumor_event_evidence (const rumor_event_t *self);  //  SUSPECT,
                                    //  FAILED: who suspected, last RTTs, phi

#ifdef __cplusplus
}
#endif

#endif
