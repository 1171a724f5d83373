/*  =========================================================================
    rumor_app - events, direct messages and queries (pure core)

    What applications use. Broadcasts (events and queries) ride a Plumtree
    (Leitao, Pereira, Rodrigues, "Epidemic Broadcast Trees", SRDS 2007):
    each node pushes a new message eagerly to a few peers (the tree) and
    announces it lazily (IHave) to a few others; a duplicate prunes a
    redundant eager link, and an announced message that does not arrive in
    time is grafted, which repairs the tree. In steady state each broadcast
    crosses each node once and each node sends O(1) copies.

    Over full membership (no HyParView) the initial eager set is a uniform
    random sample of eager_fanout members (reservoir sampling, so it does
    not depend on the order members are learned); links that have carried
    traffic are kept, and later newcomers join lazy. Each announced ref is
    sent in ihave_rounds batches to lazy_fanout random lazy peers.

    Peers come only from "member" events (Rumor__MemberUpdate from the
    membership core): ALIVE and SUSPECT members are peers, DEAD and LEFT
    members are forgotten everywhere (eager/lazy sets, expected responders
    of pending queries). Updates about self are ignored.

    Deliveries to the program are EVENT effects (see effects.h):
        event       Event     origin hex     a heard broadcast (also our own)
        direct      Direct    sender hex     a whisper to us
        query       Query     ""             a heard query: answer with
                                             rumor_app_respond
        response    Response  responder hex  first answer of each responder
        query-done  Query     "complete" or "deadline", once per query

    Topic patterns are AMQP-style: dot-separated words, "*" matches exactly
    one word, "#" matches zero or more words, anything else is literal.

    Bounded by design: dedup memory (window and count), retained events
    (time and bytes), graft timers, pending queries, patterns. Refusals of
    network input bump a named counter and never assert.

    The core does not decide what a program answers to a query, nor does it
    retry whispers: a Direct is one SEND, as reliable as the link.
    =========================================================================
*/

#ifndef RUMOR_APP_H_INCLUDED
#define RUMOR_APP_H_INCLUDED

#include "effects.h"
#include "ident.h"
#include "prng.h"

//  Defaults: the LAN profile (see rumor_app_cfg_defaults for the why)
#define RUMOR_APP_EAGER_FANOUT_DFLT     3
#define RUMOR_APP_LAZY_FANOUT_DFLT      3
#define RUMOR_APP_IHAVE_INTERVAL_DFLT   50          //  ms
#define RUMOR_APP_IHAVE_ROUNDS_DFLT     3           //  batches per ref
#define RUMOR_APP_GRAFT_TIMEOUT_DFLT    100         //  ms
#define RUMOR_APP_DEDUP_WINDOW_DFLT     60000       //  ms
#define RUMOR_APP_DEDUP_MAX_DFLT        65536       //  (origin, id) pairs
#define RUMOR_APP_RETAIN_DFLT           10000       //  ms
#define RUMOR_APP_RETAIN_BYTES_DFLT     (8 * 1024 * 1024)
#define RUMOR_APP_MAX_HOPS_DFLT         64
#define RUMOR_APP_MAX_QUERIES_DFLT      1024
#define RUMOR_APP_MAX_PATTERNS_DFLT     256
#define RUMOR_APP_MAX_REFS_DFLT         256         //  refs per IHave/Graft
#define RUMOR_APP_MAX_MISSING_DFLT      4096        //  graft timers
#define RUMOR_APP_QUERY_MAX_DFLT        3600000     //  ms, 1 hour
#define RUMOR_APP_CLOCK_SKEW_DFLT       5000        //  ms
#define RUMOR_APP_RATE_DFLT             250000      //  per second per origin

//  Id space: an origin's first id is generation << RUMOR_APP_ID_SHIFT, so a
//  restarted node (new generation) never reuses an (origin, id) pair that
//  peers may still remember in their dedup window.
#define RUMOR_APP_ID_SHIFT              16

//  Configuration. Short why per knob; the long form is beside each default
//  in rumor_app_cfg_defaults (app.c).
typedef struct {
    rumor_id_t self;                //  our node id
    uint64_t generation;            //  our start time, ms since epoch; ids
                                    //  start at generation << ID_SHIFT
    uint64_t seed;                  //  PRNG seed (peer choices): one seed,
                                    //  one trace
    uint32_t eager_fanout;          //  initial eager peers, Plumtree's tree
                                    //  degree: small, so each node sends
                                    //  O(1) copies over full membership
    uint32_t lazy_fanout;           //  random lazy peers told per IHave
                                    //  batch: lazy cost O(1), not O(N)
    int64_t ihave_interval_ms;      //  IHave batching: one IHave per peer
                                    //  per period carries a whole burst
    uint32_t ihave_rounds;          //  batches announcing each ref: a node
                                    //  off the tree misses them all with
                                    //  p ~ e^-(lazy_fanout x rounds)
    int64_t graft_timeout_ms;       //  wait after an IHave before Graft
                                    //  (eager copies take ms on a LAN); a
                                    //  second timeout tries the next
                                    //  announcer
    int64_t dedup_window_ms;        //  how long (origin, id) is remembered:
                                    //  far beyond any path or repair
    uint32_t dedup_max;             //  bound on remembered pairs (oldest
                                    //  forgotten first)
    int64_t retain_ms;              //  how long messages are kept to
                                    //  answer Grafts
    size_t retain_max_bytes;        //  bound on retained topic+payload
                                    //  bytes (oldest dropped first)
    uint32_t max_hops;              //  hops above this are refused: stops
                                    //  forged or looping hop counts
    uint32_t max_queries;           //  bound on our pending queries
    uint32_t max_patterns;          //  bound on hear patterns (matching is
                                    //  linear in them)
    uint32_t max_refs;              //  refs accepted/sent per IHave/Graft
                                    //  (same on every node)
    uint32_t max_missing;           //  bound on outstanding graft timers
    size_t max_payload;             //  bytes accepted from the program
                                    //  (<= RUMOR_VALUE_MAX)
    int64_t query_max_ms;           //  query timeouts are clamped to this
    int64_t clock_skew_ms;          //  tolerance on peers' query deadlines
    int64_t rate_per_sec;           //  new events + queries + directs
                                    //  accepted per second from one origin
                                    //  (token bucket, one second of
                                    //  burst); non-members share one bucket
    rumor_ident_pool_t *idents;     //  where peers' identities are kept:
                                    //  one pool for the cores of one
                                    //  thread (rumor-sim), or NULL for
                                    //  our own (ident.h)
} rumor_app_cfg_t;

//  Counters. Every refusal has its own refused_* counter.
typedef struct {
    //  Broadcast traffic
    uint64_t said;                  //  events said here
    uint64_t asked;                 //  queries started here
    uint64_t received;              //  first receipts of Event/Query
    uint64_t hops_total;            //  their hops summed: / received is
                                    //  the mean depth in the tree
    uint64_t hops_max;              //  the deepest first receipt
    uint64_t delivered;             //  "event"/"query" given to the program
    uint64_t duplicates;            //  Event/Query received again
    uint64_t eager_sent;            //  Event/Query copies pushed to peers
    uint64_t ihave_sent;            //  IHave messages sent
    uint64_t ihave_refs_sent;       //  refs carried by those
    uint64_t ihave_received;        //  IHave messages accepted
    uint64_t ihave_dropped;         //  refs not announced (queue full)
    uint64_t ihave_rounds_cut;      //  refs announced fewer than ihave_rounds
                                    //  times, to make room (queue full)
    uint64_t graft_sent;            //  Graft messages sent (repairs)
    uint64_t graft_received;        //  Graft messages accepted
    uint64_t graft_served;          //  events re-sent to answer a Graft
    uint64_t graft_unavailable;     //  grafted events no longer retained
    uint64_t graft_gave_up;         //  missing events with no announcer left
    uint64_t prune_sent;            //  Prune messages sent
    uint64_t prune_received;        //  Prune messages accepted
    uint64_t promoted;              //  lazy peers made eager after a loss
    uint64_t dedup_evicted;         //  pairs forgotten early (dedup_max)
    uint64_t retain_evicted;        //  events dropped early (byte bound)
    uint64_t unknown_sender;        //  Event/Query/Response from a non-member
    //  Direct messages and queries
    uint64_t whispered;             //  Direct sent
    uint64_t directs_received;      //  Direct delivered
    uint64_t direct_unknown_sender; //  ... of which from a non-member
    uint64_t responded;             //  respond calls accepted
    uint64_t responses_received;    //  first response of each responder
    uint64_t queries_complete;      //  query-done "complete"
    uint64_t queries_deadline;      //  query-done "deadline"
    //  Member events
    uint64_t member_updates;        //  member events applied
    uint64_t ignored_events;        //  events of other kinds, or about self
    //  Refusals (network input)
    uint64_t refused_not_app;       //  envelope body of another family
    uint64_t refused_hops;          //  hops above max_hops
    uint64_t refused_forged_self;   //  our origin, id we never used
    uint64_t refused_too_many_refs; //  IHave/Graft above max_refs
    uint64_t refused_unknown_peer;  //  IHave/Graft/Prune from a non-member
    uint64_t refused_missing_full;  //  IHave refs beyond max_missing
    uint64_t refused_query_deadline;//  Query deadline passed or too far
    uint64_t refused_unknown_query; //  Response to unknown/finished query
    uint64_t refused_dup_response;  //  second Response of a responder
    uint64_t refused_bad_member;    //  member event with no usable state
    uint64_t rate_limited;          //  new Event/Query/Direct over its
                                    //  origin's rate_per_sec (an Event or
                                    //  Query refused is not marked seen:
                                    //  IHave/Graft fetch it again later)
    //  Refusals (program input)
    uint64_t refused_oversized;     //  payload above max_payload
    uint64_t refused_bad_topic;     //  empty, too long, empty word, wildcard
    uint64_t refused_bad_pattern;   //  malformed hear pattern
    uint64_t refused_too_many_patterns; //  above max_patterns
    uint64_t refused_unknown_pattern;   //  unhear of a pattern not heard
    uint64_t refused_unknown_target;    //  whisper to a non-member
    uint64_t refused_too_many_queries;  //  above max_queries pending
    uint64_t refused_bad_timeout;   //  query timeout <= 0
    uint64_t clamped_timeout;       //  query timeout above query_max_ms
} rumor_app_stats_t;

//  Why the last program call returned -1 (cleared to OK on success).
typedef enum {
    RUMOR_APP_OK = 0,
    RUMOR_APP_E_OVERSIZED,          //  payload above max_payload
    RUMOR_APP_E_BAD_TOPIC,          //  topic empty/too long/wildcard
    RUMOR_APP_E_BAD_PATTERN,        //  pattern malformed
    RUMOR_APP_E_TOO_MANY_PATTERNS,  //  max_patterns reached
    RUMOR_APP_E_UNKNOWN_PATTERN,    //  unhear of a pattern not heard
    RUMOR_APP_E_UNKNOWN_TARGET,     //  whisper target not a member
    RUMOR_APP_E_TOO_MANY_QUERIES,   //  max_queries pending
    RUMOR_APP_E_BAD_TIMEOUT,        //  query timeout <= 0
    RUMOR_APP_E_TOO_BIG,            //  message does not fit in a frame
    RUMOR_APP_E_UNKNOWN_QUERY       //  respond to our own query not pending
} rumor_app_error_t;

typedef struct _rumor_app_t rumor_app_t;

//  Fill cfg with the LAN profile; self, generation and seed are zeroed
//  and must be set by the caller.
void rumor_app_cfg_defaults (rumor_app_cfg_t *cfg);

//  Create a core. Returns NULL if cfg is unusable (zero fanouts, bounds or
//  periods, zero self id).
rumor_app_t *rumor_app_new (const rumor_app_cfg_t *cfg);

//  Destroy the core and every queued effect; nullifies the pointer.
void rumor_app_destroy (rumor_app_t **self_p);

//  Apply a decoded, codec-validated envelope of the app family (Event,
//  IHave, Graft, Prune, Direct, Query, Response). Returns 0 if accepted,
//  -1 if refused (reason counted in stats). Copies what it keeps.
int rumor_app_on_message (rumor_app_t *self, int64_t now_ms,
                          const Rumor__Envelope *env);

//  Apply an internal event. Consumes "member" (Rumor__MemberUpdate); any
//  other kind is ignored and returns 0. Returns -1 if refused.
int rumor_app_on_event (rumor_app_t *self, int64_t now_ms, const char *kind,
                        const ProtobufCMessage *detail);

//  Time passes: IHave batches, graft timers, query deadlines, expiry of
//  dedup and retained events. Does nothing if nothing is due.
void rumor_app_on_tick (rumor_app_t *self, int64_t now_ms);

//  Next time on_tick has work (IHave batch, graft timer, query deadline),
//  or -1 if none. Dedup/retain expiry is housekeeping done on any call and
//  never wakes the core by itself (its memory is bounded anyway).
int64_t rumor_app_next_deadline (rumor_app_t *self);

//  Next effect, or NULL. Caller owns it.
zframe_t *rumor_app_next_effect (rumor_app_t *self);

//  Counters, borrowed, valid while self is.
const rumor_app_stats_t *rumor_app_stats (rumor_app_t *self);

//  Why the last program call (hear, unhear, say, whisper, query, respond)
//  failed, or RUMOR_APP_OK.
rumor_app_error_t rumor_app_last_error (rumor_app_t *self);

//  Human-readable text of an error code (static string).
const char *rumor_app_strerror (rumor_app_error_t error);

//  --------------------------------------------------------------------------
//  Program API

//  Subscribe to a topic pattern. Hearing the same pattern twice is a no-op
//  (returns 0). Returns -1 if the pattern is malformed or max_patterns is
//  reached.
int rumor_app_hear (rumor_app_t *self, const char *pattern);

//  Unsubscribe. Returns -1 if the pattern was not heard.
int rumor_app_unhear (rumor_app_t *self, const char *pattern);

//  True if some heard pattern matches topic.
bool rumor_app_hears (rumor_app_t *self, const char *topic);

//  Pure: true if pattern matches topic (false if pattern is malformed).
bool rumor_app_topic_matches (const char *pattern, const char *topic);

//  Pure: true if pattern is well-formed (non-empty, at most RUMOR_KEY_MAX
//  bytes, no empty word, "*" and "#" only as whole words).
bool rumor_app_pattern_valid (const char *pattern);

//  Broadcast an event on topic (a concrete topic: no wildcard, no empty
//  word). Delivered here too if we hear it. Returns 0, or -1 (see
//  rumor_app_last_error).
int rumor_app_say (rumor_app_t *self, int64_t now_ms, const char *topic,
                   const void *payload, size_t size);

//  Send a direct message to one member (or to self, delivered locally).
//  topic may be "" here. Returns 0, or -1 if target is not a member or the
//  input is bad.
int rumor_app_whisper (rumor_app_t *self, int64_t now_ms,
                       const rumor_id_t *to, const char *topic,
                       const void *payload, size_t size);

//  Ask the cluster. Returns the query id (> 0) or -1. timeout_ms must be
//  > 0; above query_max_ms it is clamped. Ends with exactly one EVENT
//  "query-done".
int64_t rumor_app_query (rumor_app_t *self, int64_t now_ms, const char *topic,
                         const void *payload, size_t size,
                         int64_t timeout_ms);

//  Answer a query (from an EVENT "query": its origin and id). Sends a
//  Response to origin, or applies it locally if origin is self. Returns 0,
//  or -1 on bad input.
int rumor_app_respond (rumor_app_t *self, int64_t now_ms,
                       const rumor_id_t *origin, uint64_t query_id,
                       const void *payload, size_t size);

//  --------------------------------------------------------------------------
//  Inspection (tests and the simulator)

//  Number of peers (ALIVE or SUSPECT members other than self).
size_t rumor_app_peer_count (rumor_app_t *self);

//  Number of eager peers.
size_t rumor_app_eager_count (rumor_app_t *self);

//  True if id is a peer in our eager set.
bool rumor_app_is_eager (rumor_app_t *self, const rumor_id_t *id);

//  True if id is a peer in our lazy set.
bool rumor_app_is_lazy (rumor_app_t *self, const rumor_id_t *id);

//  Number of our queries still pending.
size_t rumor_app_pending_queries (rumor_app_t *self);

#endif
