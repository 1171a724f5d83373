/*  =========================================================================
    simnet - a deterministic simulated network of rumor nodes

    N nodes, each made of the four pure cores (membership, detector,
    anti-entropy, app) wired exactly as the live node's supervisor wires
    them, exchange real sealed frames over a virtual network with a virtual
    clock. Nothing sleeps: the clock jumps to the earliest of the next
    delivery and the next core deadline, like quinn's Pair::step.

    One seed gives one trace. Loss and delay come from one PRNG owned by
    the network; each core gets its own PRNG seed derived from (seed, node,
    generation, core). Nodes are always visited by index and ties in time
    are broken by insertion order, so nothing depends on pointer values or
    hash order.

    Faults: per-message loss (UDP-like: the frame is gone; or TCP-like with
    rto_ms: it arrives late), base delay + uniform jitter (frames may
    overtake each other), partitions (groups of nodes; frames and beacons
    between groups are dropped), crash (the node stops; frames to it are
    dropped), freeze/unfreeze (like SIGSTOP: frames to it wait, as in a
    TCP buffer, and are handled at unfreeze), restart (a crashed node comes
    back with the same id, a newer generation = the current virtual time,
    and fresh cores), graceful leave (membership leave, then stop once the
    LEFT update is spread, or after a bound).
    Optional LAN beacons (beacon_ms) and socket-reset fast path (fast_path)
    model what the live supervisor adds with zbeacon and socket monitors.

    The wiring of one node (what the supervisor does):
      - inbound frame -> rumor_codec_decode (per-node codec stats) ->
        rumor_membership_on_piggyback (every envelope, piggyback or not,
        first) -> owner core's on_message (rumor_codec_owner);
      - SEND effect -> rumor_codec_seal with the header (cluster, our id,
        generation, membership's incarnation, per-node seq, target = the
        destination id) and, on detector messages, up to piggyback_max
        membership updates (rumor_membership_piggyback);
      - a SEND by endpoint only (a Join to a seed) resolves the endpoint
        through the network's endpoint table ("tcp://10.a.b.c:7400", one
        per node, never opened);
      - EVENT effects follow the table of framework/effects.h: member ->
        detector, anti-entropy, app (and the program); confirm -> detector;
        suspect, dead -> membership; every other kind is a program event.
    Program events are recorded (see the observation functions) and handed
    to the simnet_on_event hook, if any.

    Node numbers are indexes 0..size-1; node i is named "sim-<i>".
    =========================================================================
*/

#ifndef SIMNET_H_INCLUDED
#define SIMNET_H_INCLUDED

#include "codec.h"
#include "membership.h"
#include "detector.h"
#include "anti_entropy.h"
#include "app.h"

//  Virtual time at creation: 2023-11-14, so times look like wall clock
//  (generations and TTL expiries are absolute times).
#define SIMNET_EPOCH_MS         1700000000000LL
//  A gossip round of the LAN profile, the unit of rumor-sim's progress.
#define SIMNET_ROUND_MS         200

typedef struct _simnet_t simnet_t;

//  Lifecycle of a node slot
typedef enum {
    SIMNET_IDLE = 0,                //  never started
    SIMNET_UP,                      //  running
    SIMNET_FROZEN,                  //  stopped in place (SIGSTOP)
    SIMNET_DOWN,                    //  crashed (cores destroyed)
    SIMNET_LEFT                     //  left gracefully (cores destroyed)
} simnet_node_state_t;

typedef struct {
    uint64_t seed;                  //  one seed, one trace
    size_t size;                    //  node slots (nodes start IDLE)
    double loss;                    //  probability a frame is lost, 0..1
    int64_t rto_ms;                 //  0: a lost frame is gone (UDP-like);
                                    //  > 0: it arrives late instead, after
                                    //  rto_ms, doubled per further loss
                                    //  (TCP-like, as over ZeroMQ)
    int64_t delay_ms;               //  base one-way delay
    int64_t jitter_ms;              //  + uniform 0..jitter ms (reorders)
    const char *cluster;            //  cluster name (hashed into frames)
    size_t piggyback_max;           //  membership updates per detector
                                    //  frame (the supervisor's budget)
    const char *hear;               //  pattern every node hears, NULL none
    bool respond;                   //  every node answers every query with
                                    //  its node name
    bool fast_path;                 //  on crash, every node listing the
                                    //  crashed one gets peer_lost after
                                    //  delay_ms (TCP reset, socket monitor)
    int64_t leave_bound_ms;         //  a leaving node stops after this,
                                    //  done spreading its LEFT or not
    int64_t beacon_ms;              //  LAN beacons: every running node
                                    //  beacons this often and every other
                                    //  running node of its partition group
                                    //  hears it (subject to loss) and calls
                                    //  rumor_membership_join_id, as the
                                    //  supervisor does with zbeacon; 0 = off
                                    //  (seeds only). Costs O(N^2) per period
    //  Core configurations: filled with each core's defaults by
    //  simnet_cfg_defaults, then self/generation/seed/name/endpoint are
    //  set per node. Tune the protocol here.
    rumor_membership_cfg_t membership;
    rumor_detector_cfg_t detector;
    rumor_anti_entropy_cfg_t anti_entropy;
    rumor_app_cfg_t app;
} simnet_cfg_t;

//  Traffic and fault counters, per node and in total.
typedef struct {
    uint64_t msgs_sent;             //  frames sealed and sent (lost ones too)
    uint64_t bytes_sent;            //  their bytes
    uint64_t msgs_received;         //  frames handed to the node
    uint64_t bytes_received;        //  their bytes
    uint64_t lost;                  //  sent frames lost by the loss model
                                    //  (with rto_ms: retransmissions)
    uint64_t partitioned;           //  sent frames dropped at a partition
    uint64_t to_down;               //  frames for a crashed/left/restarted
                                    //  node, dropped on arrival
    uint64_t unroutable;            //  SENDs to an id or endpoint the
                                    //  network does not know
    uint64_t seal_failed;           //  SENDs whose sealed frame was too big
    uint64_t refused;               //  inbound frames refused by the codec
    uint64_t rejected;              //  frames a core refused (returned -1)
    uint64_t events;                //  EVENT effects (every kind)
    uint64_t heard;                 //  "event" deliveries (broadcasts)
    uint64_t false_dead;            //  DEAD verdicts about a node that is
                                    //  UP, at its current generation, in
                                    //  the observer's partition group
    uint64_t false_suspect;         //  same for SUSPECT (refutable)
    uint64_t stalls;                //  ticks deferred 1 ms because a core
                                    //  kept asking for the same ms
    uint64_t beacons;               //  beacons heard (beacon_ms > 0)
} simnet_stats_t;

//  What became of one frame, for simnet_on_trace
typedef enum {
    SIMNET_SENT = 0,                //  left the sender (will be delivered)
    SIMNET_LOST,                    //  lost by the loss model
    SIMNET_PARTITIONED,             //  dropped at a partition
    SIMNET_DELIVERED,               //  handed to the destination node
    SIMNET_DROPPED                  //  destination down/restarted/left
} simnet_fate_t;

typedef struct {
    simnet_fate_t fate;             //  what happened
    int64_t sent_at;                //  virtual time it was sent
    int64_t at;                     //  virtual time of this record
    size_t from;                    //  sender node
    size_t to;                      //  destination node
    size_t size;                    //  frame bytes
    const uint8_t *data;            //  the frame (borrowed, this call only)
} simnet_trace_t;

//  Hook for every EVENT effect of every node (member, verdict, kv, event,
//  query, ...; internal kinds too). detail is the decoded sub-message,
//  borrowed for the call. The hook must not change node states (crash,
//  restart, ...) from inside: do that between steps.
typedef void (simnet_event_fn) (void *arg, simnet_t *net, size_t node,
                                const char *kind,
                                const ProtobufCMessage *detail,
                                const char *extra);
//  Hook for every frame's fate.
typedef void (simnet_trace_fn) (void *arg, simnet_t *net,
                                const simnet_trace_t *record);
//  Condition for simnet_run_until_cond.
typedef bool (simnet_cond_fn) (simnet_t *net, void *arg);

//  --------------------------------------------------------------------------
//  Network

//  Defaults: 16 nodes, no loss, 1 ms delay, no jitter, cluster "sim",
//  16 piggybacked updates, every node hears "#" and answers queries, no
//  fast path, no beacons, 5 s leave bound, each core's LAN profile.
void simnet_cfg_defaults (simnet_cfg_t *cfg);

//  Create a network of cfg->size idle nodes at SIMNET_EPOCH_MS. Returns
//  NULL if cfg is unusable (no nodes, loss outside 0..1, negative delays).
simnet_t *simnet_new (const simnet_cfg_t *cfg);

//  Destroy the network, its nodes and frames in flight; nullifies.
void simnet_destroy (simnet_t **self_p);

//  Current virtual time, ms since the Unix epoch.
int64_t simnet_now (simnet_t *self);

//  Number of node slots.
size_t simnet_size (simnet_t *self);

//  Change the fault model from now on (frames in flight keep their fate).
void simnet_set_loss (simnet_t *self, double loss);
void simnet_set_delay (simnet_t *self, int64_t delay_ms, int64_t jitter_ms);

//  Set the hooks (NULL to remove).
void simnet_on_event (simnet_t *self, simnet_event_fn *fn, void *arg);
void simnet_on_trace (simnet_t *self, simnet_trace_fn *fn, void *arg);

//  --------------------------------------------------------------------------
//  Running

//  Process the earliest scheduled thing (a delivery, a core deadline, a
//  scheduled start or stop), moving the clock to its time. Returns false
//  if nothing at all is scheduled.
bool simnet_step (simnet_t *self);

//  Process everything scheduled up to and including time t, then set the
//  clock to t (if later than now).
void simnet_run_until (simnet_t *self, int64_t t);

//  simnet_run_until (now + ms).
void simnet_run_for (simnet_t *self, int64_t ms);

//  Run until cond holds, checking it every check_ms of virtual time (and
//  once at once), for at most timeout_ms. Returns the virtual time at which
//  it was first seen to hold, or -1 if it did not within timeout_ms.
int64_t simnet_run_until_cond (simnet_t *self, simnet_cond_fn *cond,
                               void *arg, int64_t check_ms,
                               int64_t timeout_ms);

//  --------------------------------------------------------------------------
//  Nodes

//  Start an idle node at virtual time at_ms (now if in the past), joining
//  through node `seed` (its endpoint), or alone if seed < 0. Returns 0, or
//  -1 if the node is not idle or the cores refuse their configuration.
int simnet_start (simnet_t *self, size_t node, int64_t at_ms, long seed);

//  Start nodes 0..n-1: node 0 now, alone; node i at now + i * stagger_ms,
//  joining through node 0. Returns 0 or -1.
int simnet_start_cluster (simnet_t *self, size_t n, int64_t stagger_ms);

//  Crash a running or frozen node: it stops at once, its cores are
//  destroyed, frames to it are dropped.
void simnet_crash (simnet_t *self, size_t node);

//  Bring a crashed or left node back with the same id, generation = now
//  (above its last), fresh cores, joining through `seed` (< 0: the lowest
//  running node other than itself). Returns 0 or -1.
int simnet_restart (simnet_t *self, size_t node, long seed);

//  Freeze a running node / let a frozen node run again.
void simnet_freeze (simnet_t *self, size_t node);
void simnet_unfreeze (simnet_t *self, size_t node);

//  Leave gracefully: membership leave; the node stops once it has spread
//  its LEFT update, or after cfg.leave_bound_ms.
void simnet_leave (simnet_t *self, size_t node);

//  Partition: groups[i] is node i's group (size entries); frames between
//  different groups are dropped. simnet_heal puts everyone in group 0.
void simnet_partition (simnet_t *self, const int *groups);
void simnet_heal (simnet_t *self);
//  Partition into two halves: nodes < split in group 0, the rest in 1.
void simnet_split (simnet_t *self, size_t split);

//  Inject raw bytes as a frame from one node to another, through the fault
//  model (machinery tests: loss, delay, partitions, crash).
void simnet_inject (simnet_t *self, size_t from, size_t to,
                    const void *data, size_t size);

//  --------------------------------------------------------------------------
//  Program API on a node (each returns 0, or -1 if the node is not running
//  or the core refused)

int simnet_set (simnet_t *self, size_t node, const char *key,
                const char *value, int64_t ttl_ms);
int simnet_delete (simnet_t *self, size_t node, const char *key);
int simnet_say (simnet_t *self, size_t node, const char *topic,
                const char *payload);
int simnet_whisper (simnet_t *self, size_t node, size_t to,
                    const char *topic, const char *payload);
//  Start a query; the node's query_done/query_responses record its end.
int simnet_query (simnet_t *self, size_t node, const char *topic,
                  const char *payload, int64_t timeout_ms);

//  --------------------------------------------------------------------------
//  Observation

simnet_node_state_t simnet_node_state (simnet_t *self, size_t node);
const rumor_id_t *simnet_node_id (simnet_t *self, size_t node);
uint64_t simnet_node_generation (simnet_t *self, size_t node);
const char *simnet_node_endpoint (simnet_t *self, size_t node);
//  Node number of an id, or -1.
long simnet_node_of (simnet_t *self, const rumor_id_t *id);
//  Nodes running (UP) / running or frozen.
size_t simnet_up_count (simnet_t *self);

//  The cores of a running or frozen node (NULL otherwise); borrowed.
rumor_membership_t *simnet_membership (simnet_t *self, size_t node);
rumor_detector_t *simnet_detector (simnet_t *self, size_t node);
rumor_anti_entropy_t *simnet_anti_entropy (simnet_t *self, size_t node);
rumor_app_t *simnet_app (simnet_t *self, size_t node);

//  True if `observer` is running or frozen and lists `member`, at the
//  member's current generation, in `state`.
bool simnet_lists (simnet_t *self, size_t observer, size_t member,
                   Rumor__State state);
//  True if `observer` lists every running or frozen node ALIVE (at its
//  current generation).
bool simnet_lists_all_alive (simnet_t *self, size_t observer);
//  Running nodes that list every running or frozen node ALIVE.
size_t simnet_count_all_alive (simnet_t *self);
//  True if every running node lists every running or frozen node ALIVE
//  (one view); stops at the first node that does not, so it is cheap to
//  poll while a cluster forms.
bool simnet_converged (simnet_t *self);
//  Running nodes that list `member` in `state` (member itself excluded).
size_t simnet_count_listing (simnet_t *self, size_t member,
                             Rumor__State state);

//  True if `node` holds key of `origin`'s keyspace with this value (value
//  NULL: any live value).
bool simnet_has_key (simnet_t *self, size_t node, size_t origin,
                     const char *key, const char *value);

//  Watch for a key: returns a watch number. Every node's first kv "set"
//  event of (origin's keyspace, key, value; value NULL = any) is timed. A
//  restart clears the node's record.
size_t simnet_watch_key (simnet_t *self, size_t origin, const char *key,
                         const char *value);
//  When node first saw the watched key, or -1.
int64_t simnet_key_seen_at (simnet_t *self, size_t watch, size_t node);
//  Running nodes that saw it.
size_t simnet_key_seen_count (simnet_t *self, size_t watch);
//  When the last running node saw it, or -1 if some running node has not.
int64_t simnet_key_all_seen_at (simnet_t *self, size_t watch);

//  The node's last query-done: "complete", "deadline", or NULL if none
//  yet; and how many responses arrived for that query (counted since the
//  node's last simnet_query).
const char *simnet_query_done (simnet_t *self, size_t node);
size_t simnet_query_responses (simnet_t *self, size_t node);

//  Counters of one node (cumulative over restarts), and totals.
const simnet_stats_t *simnet_node_stats (simnet_t *self, size_t node);
const simnet_stats_t *simnet_stats (simnet_t *self);
//  Codec refusal counters of a node (cumulative over restarts).
const rumor_codec_stats_t *simnet_codec_stats (simnet_t *self, size_t node);

//  Hash of everything that happened to every frame (time, ends, bytes,
//  fate) and every event: two runs with the same seed give the same hash.
uint64_t simnet_trace_hash (simnet_t *self);
//  Items processed so far (deliveries, ticks, starts).
uint64_t simnet_steps (simnet_t *self);

#endif
