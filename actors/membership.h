/*  =========================================================================
    rumor_membership - SWIM membership core

    The member table of one node: who is in the cluster, at which
    generation and incarnation, in which state (alive, suspect, dead,
    left), where to reach them and with which tags. A pure core: driven
    only by (now_ms, input), it queues its outputs as effects (see
    framework/effects.h) and never reads a clock or touches the network.

    What it does:
      - joins through an endpoint (seed) or a known id (heard by beacon):
        Join -> JoinReply with the responder's full table;
      - spreads every change SWIM-style: each update is queued and sent
        about retransmit_mult * ceil (log10 (N + 1)) times, in MemberUpdates
        batches every gossip interval and piggybacked on other cores'
        traffic (rumor_membership_piggyback);
      - applies SWIM precedence to every update it hears (generation, then
        incarnation, then DEAD/LEFT > SUSPECT > ALIVE), refutes suspicion
        of itself by raising its incarnation, and tells the detector about
        independent confirmations of a suspicion (Lifeguard);
      - runs a periodic full push-pull with one random member, which heals
        missed updates and partitions;
      - leaves gracefully, and reaps DEAD/LEFT entries after a delay.

    What it deliberately does not do: probe members (the detector does and
    reports "suspect"/"dead" events), trust remote DEAD/SUSPECT about
    members it has never heard of, or send a table larger than a frame in
    one message (JoinReply and PushPull are cut into chunks).
    =========================================================================
*/

#ifndef RUMOR_MEMBERSHIP_H_INCLUDED
#define RUMOR_MEMBERSHIP_H_INCLUDED

#include "codec.h"
#include "effects.h"
#include "ident.h"
#include "prng.h"

//  LAN profile defaults; each one's rationale is beside its field below
//  beacon_join_spread: a cluster of up to this many nodes joins a newcomer
//  from every member at its first beacon (the fastest join: nobody waits
//  for gossip); a larger one sends about this many Joins per beacon. Why
//  8: a newcomer is joined at once with chance 1 - e^-8, and the tables
//  traded for it stay 8 N, not N^2.
#define RUMOR_MEMBERSHIP_JOIN_SHARE                 8
//  ... and a node alone (no live peer) joins at most ALONE_JOINS of the
//  members its beacons reveal per ALONE_JOIN_WAIT ms: alone it hears every
//  member's beacon, each Join is answered with a whole table, and the first
//  answer ends its being alone. Why 2 per 250 ms: one lost Join or dead
//  member still leaves one, and a reply takes a few ms on a LAN (tens
//  on a loaded host: a node started with 63 others sent 14 Joins before
//  its first answer came, and 64 such nodes traded some 900 tables).
#define RUMOR_MEMBERSHIP_ALONE_JOINS                2
#define RUMOR_MEMBERSHIP_ALONE_JOIN_WAIT            250
#define RUMOR_MEMBERSHIP_GOSSIP_INTERVAL_DFLT       200
#define RUMOR_MEMBERSHIP_GOSSIP_FANOUT_DFLT         3
#define RUMOR_MEMBERSHIP_RETRANSMIT_MULT_DFLT       4
#define RUMOR_MEMBERSHIP_PUSH_PULL_INTERVAL_DFLT    30000
#define RUMOR_MEMBERSHIP_REAP_AFTER_DFLT            60000
#define RUMOR_MEMBERSHIP_GOSSIP_TO_DEAD_DFLT        30000
#define RUMOR_MEMBERSHIP_MAX_MEMBERS_DFLT           10000
#define RUMOR_MEMBERSHIP_MAX_PIGGYBACK_DFLT         256
#define RUMOR_MEMBERSHIP_GENERATION_TOLERANCE_DFLT  (3600 * 1000)
#define RUMOR_MEMBERSHIP_MAX_ACCUSERS_DFLT          8
#define RUMOR_MEMBERSHIP_REJOIN_INTERVAL_DFLT       5000
#define RUMOR_MEMBERSHIP_SETTLE_INTERVAL_DFLT       500
#define RUMOR_MEMBERSHIP_RECONNECT_INTERVAL_DFLT    10000
#define RUMOR_MEMBERSHIP_SEED_RETRY_DFLT            1000
#define RUMOR_MEMBERSHIP_SEED_RETRY_MAX_DFLT        30000
#define RUMOR_MEMBERSHIP_SEEDS_MAX                  16

typedef struct _rumor_membership_t rumor_membership_t;

//  Trace callback: one line, no newline, "membership: <event> key=value".
typedef void (rumor_membership_trace_fn) (void *arg, const char *line);

typedef struct {
    rumor_id_t self;                //  our node id
    uint64_t generation;            //  our start, ms since epoch
    const char *name;               //  our node name (copied; may be NULL)
    const char *endpoint;           //  where others reach us (copied)
    const char *const *tags;        //  our tags, "key=value" (copied)
    size_t n_tags;                  //  number of tags
    uint64_t seed;                  //  PRNG seed: same seed, same choices
    //  Tuning (LAN profile by rumor_membership_cfg_defaults)
    int64_t gossip_interval_ms;     //  200: a round every 200 ms batches
                                    //  news while keeping latency to a few
                                    //  rounds of log3(N) (DESIGN targets)
    uint32_t gossip_fanout;         //  3: with fanout 3 an update reaches
                                    //  everyone in about log3(N) rounds;
                                    //  more adds bytes, little speed
    uint32_t retransmit_mult;       //  4 (lambda): each update is sent
                                    //  lambda * ceil (log10 (N + 1)) times,
                                    //  memberlist's formula; enough for
                                    //  full spread with high probability
                                    //  under loss, bounded per update
    int64_t push_pull_interval_ms;  //  30000: full-table sync is O(N)
                                    //  bytes, so rare; it only repairs
                                    //  what gossip missed. Scaled up above
                                    //  32 members like memberlist does
    int64_t reap_after_ms;          //  60000: DEAD/LEFT entries stay this
                                    //  long so late gossip about them is
                                    //  recognised as old, then go
    int64_t gossip_to_dead_ms;      //  30000: keep gossiping to a dead
                                    //  member this long so that, if it is
                                    //  alive after all, it hears and refutes
    size_t max_members;             //  10000: table cap; new members past
                                    //  it are refused (memory bound)
    size_t max_piggyback;           //  256: updates per gossip message.
                                    //  memberlist packs a UDP MTU (~1400
                                    //  bytes); we ride TCP, so a batch can
                                    //  be ~16 KiB: when a whole cluster
                                    //  joins at once, N^2 updates must
                                    //  flow, and big batches cut a
                                    //  1,000-node join from 23 s to 4 s in
                                    //  rumor-sim (seed 1). Shells choose
                                    //  a smaller piggyback budget per frame
    int64_t generation_tolerance_ms;  //  1 hour: a generation (a start
                                    //  time) further ahead than this of
                                    //  our clock is a bug or an attack;
                                    //  an hour forgives bad clocks
    size_t max_accusers;            //  8: accusers kept per suspicion;
                                    //  Lifeguard needs only a few (k=3)
                                    //  confirmations, so 8 bounds memory
                                    //  with room to spare
    int64_t rejoin_interval_ms;     //  5000: at most one Join per this to
                                    //  a member we hold DEAD but still hear
                                    //  beacons from (beacons come each 1 s)
    bool beacon_join_spread;        //  true: a member new to us heard by
                                    //  beacon is joined at once while we
                                    //  and our live peers are at most
                                    //  RUMOR_MEMBERSHIP_JOIN_SHARE, else by
                                    //  each of n live peers only with
                                    //  chance SHARE/(n+1): about SHARE
                                    //  Joins per beacon for the cluster
                                    //  (it joins one of us itself, gossip
                                    //  tells the rest; a later beacon
                                    //  tries again). Every Join is
                                    //  answered with the whole table: N
                                    //  nodes starting together would
                                    //  trade N^2 tables. false: join all
    int64_t settle_interval_ms;     //  500: after its first peer, a node
                                    //  push-pulls at 0.5, 1, 2, ... s until
                                    //  the regular interval. Its table came
                                    //  from one node, and members that
                                    //  joined at the same moment missed
                                    //  each other's gossip while the
                                    //  cluster was small (the retransmit
                                    //  limit follows log N): early syncs
                                    //  catch such stragglers in seconds,
                                    //  where memberlist/Serf wait for the
                                    //  regular push-pull (up to a minute)
    int64_t reconnect_interval_ms;  //  10000: Serf's reconnect: this
                                    //  often, push-pull with one random
                                    //  DEAD member. After a partition the
                                    //  other side is all DEAD to us and
                                    //  regular push-pull goes to ALIVE
                                    //  members only; one table per 10 s
                                    //  bounds what we spend on hosts that
                                    //  may really be gone
    int64_t seed_retry_ms;          //  1000: while we have no live peer,
                                    //  Join every seed again after this,
                                    //  doubling up to seed_retry_max_ms:
                                    //  a lost Join or a seed started after
                                    //  us must not leave a node alone
    int64_t seed_retry_max_ms;      //  30000: the backoff's ceiling
    size_t chunk_bytes;             //  RUMOR_FRAME_MAX / 2: packed bytes
                                    //  of one JoinReply/PushPull chunk;
                                    //  half the max-message-bytes limit
                                    //  (rumor_limits.h), so our tables fit the
                                    //  frames our peers accept
    rumor_ident_pool_t *idents;     //  where members' identities are kept:
                                    //  one pool for the cores of one
                                    //  thread (rumor-sim), or NULL for
                                    //  our own (ident.h)
    rumor_membership_trace_fn *trace;   //  debugging lines; NULL = silent
    void *trace_arg;                //  first argument of trace
} rumor_membership_cfg_t;

//  Counters. Every refusal has its own; the rest are activity counters.
typedef struct {
    //  Activity
    uint64_t updates_applied;       //  updates that changed the table
    uint64_t duplicates;            //  updates we already held (not refused)
    uint64_t refuted;               //  suspicions of us refuted
    uint64_t suspects_told;         //  our detector's suspicions sent to
                                    //  the suspect itself (buddy system)
    uint64_t refutes_told;          //  refutations sent to the accuser
    uint64_t confirmations;         //  "confirm" events emitted
    uint64_t reaped;                //  DEAD/LEFT entries removed
    uint64_t joins_sent;            //  Join messages sent
    uint64_t joins_deferred;        //  beacon Joins left to the others
                                    //  or a later beacon (beacon_join_spread)
    uint64_t joins_answered;        //  JoinReply sent (per Join answered)
    uint64_t gossip_sent;           //  MemberUpdates messages sent
    uint64_t push_pulls_sent;       //  PushPull started by us
    uint64_t push_pulls_answered;   //  PushPull answered by us
    uint64_t leaves_sent;           //  Leave messages sent
    //  Refusals
    uint64_t stale_incarnation;     //  older than held: lower incarnation,
                                    //  or weaker state at equal incarnation
    uint64_t stale_generation;      //  older generation than held
    uint64_t future_generation;     //  generation beyond now + tolerance
    uint64_t unknown_member;        //  SUSPECT/DEAD/LEFT about a member we
                                    //  do not know
    uint64_t stale_self;            //  about our id, older generation
    uint64_t self_conflict;         //  about our id, NEWER generation:
                                    //  another process runs with our id
    uint64_t absurd_incarnation;    //  about us at an incarnation we cannot
                                    //  exceed (UINT32_MAX)
    uint64_t table_full;            //  new member past max_members
    uint64_t oversized_batch;       //  more entries in one message than
                                    //  max_members
    uint64_t unknown_sender;        //  Leave from a member we do not know
    uint64_t join_self;             //  Join claiming our own id
    uint64_t join_mismatch;         //  Join whose entry is not its sender
    uint64_t bad_input;             //  body or event kind not ours, bad
                                    //  API argument, or call after leave
} rumor_membership_stats_t;

//  Borrowed view of one member, valid until the next call on self (any
//  input, tick or API command, and the next lookup or iteration step:
//  views are built when asked for, one at a time).
typedef struct {
    rumor_id_t id;                  //  member id
    uint64_t generation;            //  member's start, ms since epoch
    uint32_t incarnation;           //  SWIM incarnation
    Rumor__State state;             //  ALIVE, SUSPECT, DEAD or LEFT
    const char *name;               //  node name, "" if unknown
    const char *endpoint;           //  "tcp://host:port", "" if unknown
    size_t n_tags;                  //  number of tags
    const char *const *tags;        //  "key=value", sorted by key
    int64_t changed_at;             //  last change of this entry (now_ms)
} rumor_member_t;

//  Fill cfg with the LAN profile defaults; self, generation, name,
//  endpoint, tags and seed are zeroed for the caller to set.
void rumor_membership_cfg_defaults (rumor_membership_cfg_t *cfg);

//  Create a membership core holding only itself (ALIVE, incarnation 0).
//  Returns NULL on a bad cfg (zero interval/fanout/limits, bad tags).
rumor_membership_t *rumor_membership_new (const rumor_membership_cfg_t *cfg);

//  Destroy the core and every queued effect; nullifies the pointer.
void rumor_membership_destroy (rumor_membership_t **self_p);

//  Apply a decoded, codec-validated envelope with a membership body (Join,
//  JoinReply, Leave, MemberUpdates, PushPull). Does NOT apply
//  env->piggyback: the shell calls rumor_membership_on_piggyback for that,
//  once per envelope of any kind. Returns 0 if accepted, -1 if the message
//  or any update in it was refused (reason counted in stats).
int rumor_membership_on_message (rumor_membership_t *self, int64_t now_ms,
                                 const Rumor__Envelope *env);

//  Apply the piggybacked updates of any envelope (env->piggyback). Returns
//  0, or -1 if any update was refused (counted).
int rumor_membership_on_piggyback (rumor_membership_t *self, int64_t now_ms,
                                   const Rumor__Envelope *env);

//  Apply an event from another core: "suspect" or "dead" from the detector
//  with a Rumor__MemberUpdate detail (accuser = the detector's node).
//  Returns 0 if applied, -1 if refused or not ours (counted).
int rumor_membership_on_event (rumor_membership_t *self, int64_t now_ms,
                               const char *kind,
                               const ProtobufCMessage *detail);

//  Time passes: gossip round, push-pull, reaping, each only when due.
void rumor_membership_on_tick (rumor_membership_t *self, int64_t now_ms);

//  Next time on_tick has work, or -1 if none. May be in the past (due now).
int64_t rumor_membership_next_deadline (rumor_membership_t *self);

//  Next effect, or NULL. Caller owns it and must destroy it.
zframe_t *rumor_membership_next_effect (rumor_membership_t *self);

//  Counters; borrowed, valid while self is.
const rumor_membership_stats_t *rumor_membership_stats (rumor_membership_t *self);

//  --------------------------------------------------------------------------
//  API commands

//  Send Join{our entry} to an endpoint whose id we do not know (a seed).
//  The answer, JoinReply, is merged by on_message. Returns 0, or -1 if the
//  endpoint is invalid or we are leaving.
//  The endpoint is remembered as a seed (up to RUMOR_MEMBERSHIP_SEEDS_MAX):
//  while the node has no live peer, it joins its seeds again with backoff.
int rumor_membership_join (rumor_membership_t *self, int64_t now_ms,
                           const char *endpoint);

//  Same, to a member whose id and generation we know (heard by beacon).
//  Sends nothing, and returns 0, if that member is already known ALIVE or
//  SUSPECT at that generation (or LEFT at it, or at a newer one), or if we
//  sent it a Join less than rejoin_interval_ms ago, or if the member is
//  new to us while we have live peers and beacon_join_spread leaves its
//  Join to the others, or while we are alone and have sent the Joins
//  allowed alone (RUMOR_MEMBERSHIP_ALONE_JOINS) within the last
//  RUMOR_MEMBERSHIP_ALONE_JOIN_WAIT ms (both joins_deferred). Returns -1
//  if refused:
//  our own id (a newer generation of it counts as self_conflict), a
//  generation too far in the future, a bad endpoint, or leaving.
int rumor_membership_join_id (rumor_membership_t *self, int64_t now_ms,
                              const rumor_id_t *id, uint64_t generation,
                              const char *endpoint);

//  Leave gracefully: raise our incarnation, go LEFT (member event for
//  ourselves), queue the LEFT update and send Leave to gossip_fanout
//  random peers at once. Gossip continues until the update is fully
//  retransmitted; then rumor_membership_leave_done is true. Joins and
//  tag/endpoint changes are refused afterwards.
void rumor_membership_leave (rumor_membership_t *self, int64_t now_ms);

//  True once the LEFT update about us has been sent its full retransmit
//  count, or there is no one left to tell. False before leave.
bool rumor_membership_leave_done (rumor_membership_t *self);

//  Replace our tags ("key=value"), raise our incarnation and gossip the new
//  ALIVE entry. Returns 0, or -1 on bad tags (too many, empty or
//  duplicate key, too long) or after leave.
int rumor_membership_set_tags (rumor_membership_t *self, int64_t now_ms,
                               const char *const *tags, size_t n);

//  Replace our endpoint (a node that keeps its identity on a new
//  address), raise our incarnation and gossip. Returns 0 or -1.
int rumor_membership_set_endpoint (rumor_membership_t *self, int64_t now_ms,
                                   const char *endpoint);

//  Our current incarnation; the shell seals it into every envelope.
uint32_t rumor_membership_incarnation (rumor_membership_t *self);

//  --------------------------------------------------------------------------
//  Member views

//  The member with this id, or NULL. Borrowed (see rumor_member_t).
const rumor_member_t *rumor_membership_lookup (rumor_membership_t *self,
                                               const rumor_id_t *id);

//  Entries in the table, ourselves included.
size_t rumor_membership_size (rumor_membership_t *self);

//  Entries in this state, ourselves included when we match.
size_t rumor_membership_count (rumor_membership_t *self, Rumor__State state);

//  Iterate over every entry, ourselves first; NULL at the end. Any call
//  that changes self ends the iteration (start again with first).
const rumor_member_t *rumor_membership_first (rumor_membership_t *self);
const rumor_member_t *rumor_membership_next (rumor_membership_t *self);

//  --------------------------------------------------------------------------
//  Piggyback (membership gossip riding on other cores' messages)

//  Fill out with up to max queued updates, least transmitted first, and
//  count each as one transmission. The shell passes them to
//  rumor_codec_seal. Pointers are borrowed, valid until the next call on
//  self. Returns how many were filled.
size_t rumor_membership_piggyback (rumor_membership_t *self,
                                   Rumor__MemberUpdate **out, size_t max);

//  Updates waiting to be (re)transmitted.
size_t rumor_membership_queue_size (rumor_membership_t *self);

//  Current retransmit limit: retransmit_mult * ceil (log10 (size + 1)).
uint32_t rumor_membership_retransmit_limit (rumor_membership_t *self);

#endif
