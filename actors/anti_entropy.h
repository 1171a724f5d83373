/*  =========================================================================
    rumor_anti_entropy - Scuttlebutt anti-entropy core (pure)

    Each node owns a keyspace. Every local write (set or delete) bumps the
    node's version counter (1, 2, 3, ... in each generation) and stamps the
    entry with it; an entry is (origin, generation, key, value, version,
    expires_at, deleted) = Rumor__KvEntry. Every node keeps a copy of every
    origin's keyspace and, per origin, the highest version up to which it
    holds everything ("max version": it never claims a version it lacks).

    Spreading, as in the Scuttlebutt paper (van Renesse et al., 2008):
      - rounds: every gossip_interval_ms a Digest (origin, generation, max
        version for every origin held, self included) goes to gossip_fanout
        random peers. The receiver answers with a Delta of what the sender
        lacks and a DeltaRequest for what the sender has and it lacks; the
        DeltaRequest is answered with a Delta (three-way exchange);
      - a Delta carries, per origin, entries sorted by version ascending,
        always a prefix of what the receiver lacks, cut to mtu_budget bytes;
        the origin served first rotates so none starves;
      - eager push: a local write is sent at once to push_fanout random
        peers as Delta{push=true, hops=0,
        base_version=previous version}; a receiver
        forwards an entry it had not seen once, to push_fanout other peers,
        while hops stay below push_max_hops. With push_ring, each send also
        goes to our ring successor (the peer whose id follows ours, the
        last wrapping to the first): whoever gets an entry hands it to the
        next node of the ring, so a node the random choices all missed
        still gets it a hop after its predecessor, instead of a round
        later. Rounds are the safety net (lost pushes, views that differ).

    Keys may carry a TTL (absolute expiry, so it means the same everywhere):
    an expired entry is hidden from get/keys and EVENT kv "expire" is told
    once; the owner then turns its expired key into a tombstone (new
    version), so the key is gone everywhere consistently, and others just
    hide it until that tombstone arrives. Deletes are versioned tombstones,
    collected tombstone_ttl_ms after this node stored them. An origin that
    is DEAD or LEFT is dropped departed_ttl_ms later unless it comes back;
    a newer generation of an origin replaces its older keys.

    EVENT kv (detail KvEntry, extra "set", "delete" or "expire") is told for
    every change of what get/keys return, local writes included: "set" when
    a live value appears or changes, "delete" when a live key disappears (a
    tombstone, a dropped origin or an older generation replaced), "expire"
    when a live key passes its expiry. Hidden entries change silently.

    Not done here: AIMD flow control on update rate (the paper's section 4).
    =========================================================================
*/

#ifndef RUMOR_ANTI_ENTROPY_H_INCLUDED
#define RUMOR_ANTI_ENTROPY_H_INCLUDED

#include "effects.h"
#include "ident.h"

//  Results of the local write API. Negative codes name the refusal.
typedef enum {
    RUMOR_AE_OK = 0,                //  done
    RUMOR_AE_EKEY = -1,             //  key NULL, empty, over 255 bytes, or
                                    //  not valid UTF-8
    RUMOR_AE_EVALUE = -2,           //  value over max_value (or NULL with a
                                    //  size)
    RUMOR_AE_EFULL = -3,            //  max_keys entries (live + tombstones)
                                    //  held already, or the value would
                                    //  take our keyspace over
                                    //  max_value_bytes
    RUMOR_AE_ENOKEY = -4,           //  delete of a key that is not live
    RUMOR_AE_ETTL = -5              //  ttl negative or over 10 years
} rumor_ae_result_t;

//  Longest TTL and farthest expiry accepted: ten years. Expiries beyond
//  that are refused, not clamped: a clamped expiry would silently differ
//  from what the writer asked for.
#define RUMOR_AE_EXPIRY_MAX_MS  (10LL * 366 * 24 * 3600 * 1000)

typedef struct {
    rumor_id_t self;                //  our node id (the origin of our keys)
    uint64_t generation;            //  our start time, ms since the epoch
    uint64_t seed;                  //  seeds the PRNG (peer choice, phase)
    int64_t gossip_interval_ms;     //  time between digest rounds
    uint32_t gossip_fanout;         //  peers that get our Digest per round
    uint32_t push_fanout;           //  peers that get an eager push
    uint32_t push_max_hops;         //  hops an eager push may travel
    bool push_ring;                 //  eager pushes also go to the ring
                                    //  successor (see above)
    size_t mtu_budget;              //  bytes of entries in one Delta
    size_t max_keys;                //  entries per origin (live+tombstones)
    size_t max_value;               //  bytes in one value
    size_t max_value_bytes;         //  bytes of values held per origin
    int64_t tombstone_ttl_ms;       //  tombstones kept this long
    int64_t departed_ttl_ms;        //  DEAD/LEFT origin's keys kept this long
    int64_t future_tolerance_ms;    //  clock skew accepted on generations
    rumor_ident_pool_t *idents;     //  where peers' identities are kept:
                                    //  one pool for the cores of one
                                    //  thread (rumor-sim), or NULL for
                                    //  our own (ident.h)
} rumor_anti_entropy_cfg_t;

typedef struct {
    //  Traffic
    uint64_t rounds;                //  digest rounds run (with a peer)
    uint64_t digests_sent;          //  Digest messages queued
    uint64_t digests_received;      //  Digest messages handled
    uint64_t deltas_sent;           //  Delta answers queued (not pushes)
    uint64_t deltas_received;       //  Delta messages handled (pushes too)
    uint64_t requests_sent;         //  DeltaRequest messages queued
    uint64_t requests_received;     //  DeltaRequest messages handled
    uint64_t deltas_truncated;      //  Delta answers cut by mtu_budget
    uint64_t pushes_sent;           //  eager pushes of local writes
    uint64_t pushes_forwarded;      //  eager pushes forwarded onwards
    uint64_t entries_sent;          //  entries in Delta answers
    uint64_t entries_applied;       //  remote entries newer than ours
    uint64_t entries_duplicate;     //  remote entries we had (not refused)
    uint64_t expired;               //  kv "expire" events told
    uint64_t tombstones_collected;  //  tombstones dropped after their TTL
    uint64_t origins_dropped;       //  origins dropped (departed)
    uint64_t generations_replaced;  //  origins reset by a newer generation
    //  Refusals: each bumps exactly one counter
    uint64_t bad_body;              //  not a Digest, Delta or DeltaRequest
    uint64_t bad_sender;            //  envelope from ourselves, or sender
                                    //  generation in the future
    uint64_t bad_entry;             //  entry failing the codec's checks
    uint64_t forged;                //  entry about us, our generation, a
                                    //  version above ours (or a newer
                                    //  generation of us)
    uint64_t stale_self;            //  entry about an older generation of us
    uint64_t stale_generation;      //  entry of an origin's generation older
                                    //  than the one we hold
    uint64_t future_generation;     //  generation > now + future_tolerance
    uint64_t bad_expiry;            //  expires_at > now + 10 years
    uint64_t too_big;               //  value over max_value
    uint64_t full;                  //  origin already at max_keys (a
                                    //  remote entry, or our own set)
    uint64_t value_bytes_full;      //  entry would take its origin over
                                    //  max_value_bytes (remote, or ours)
    uint64_t departed;              //  entry of a departed, dropped origin
    uint64_t bad_digest;            //  digest entry ignored (future
                                    //  generation)
    uint64_t bad_event;             //  member event we cannot use
} rumor_anti_entropy_stats_t;

typedef struct _rumor_anti_entropy_t rumor_anti_entropy_t;

//  Fill cfg with the LAN profile defaults; self, generation and seed are
//  zeroed: the caller sets them.
void rumor_anti_entropy_cfg_defaults (rumor_anti_entropy_cfg_t *cfg);

//  Create a core. Returns NULL if cfg makes no sense (zero id, generation 0,
//  zero interval, fanout or budget, max_keys 0, max_value over 64 KiB, ...).
rumor_anti_entropy_t *rumor_anti_entropy_new (
    const rumor_anti_entropy_cfg_t *cfg);

//  Destroy the core and its queued effects; nullifies the pointer.
void rumor_anti_entropy_destroy (rumor_anti_entropy_t **self_p);

//  Input: a decoded, codec-validated envelope with a Digest, Delta or
//  DeltaRequest body. Returns 0 if everything in it was accepted, -1 if it
//  or any entry in it was refused (each refusal counted in stats).
int rumor_anti_entropy_on_message (rumor_anti_entropy_t *self, int64_t now_ms,
                                   const Rumor__Envelope *env);

//  Input: an event from another core. Handles "member" (detail is a
//  Rumor__MemberUpdate): ALIVE/SUSPECT members are gossip peers; DEAD/LEFT
//  ones are not, and their keyspace is dropped after departed_ttl_ms unless
//  they come back; a newer generation replaces an origin's older keys.
//  Other kinds are ignored (returns 0). Returns -1 if the update is refused.
int rumor_anti_entropy_on_event (rumor_anti_entropy_t *self, int64_t now_ms,
                                 const char *kind,
                                 const ProtobufCMessage *detail);

//  Input: time passes. Runs digest rounds, expiries, tombstone collection
//  and departed-origin drops that are due; safe to call spuriously.
void rumor_anti_entropy_on_tick (rumor_anti_entropy_t *self, int64_t now_ms);

//  Output: the next time on_tick has work, or -1 if none (only before the
//  core has been given any time at all).
int64_t rumor_anti_entropy_next_deadline (rumor_anti_entropy_t *self);

//  Output: the next effect (SEND or EVENT, see effects.h), or NULL. Caller
//  owns it.
zframe_t *rumor_anti_entropy_next_effect (rumor_anti_entropy_t *self);

//  Counters.
const rumor_anti_entropy_stats_t *rumor_anti_entropy_stats (
    rumor_anti_entropy_t *self);

//  Set key to size bytes of value (value may be NULL if size is 0) with a
//  TTL (0 = forever). Bumps our version and pushes the entry eagerly.
//  Returns RUMOR_AE_OK or a negative rumor_ae_result_t.
int rumor_anti_entropy_set (rumor_anti_entropy_t *self, int64_t now_ms,
                            const char *key, const void *value, size_t size,
                            int64_t ttl_ms);

//  Delete key (a tombstone with a new version, pushed eagerly). Returns
//  RUMOR_AE_OK or a negative rumor_ae_result_t (RUMOR_AE_ENOKEY if the key
//  is not live).
int rumor_anti_entropy_delete (rumor_anti_entropy_t *self, int64_t now_ms,
                               const char *key);

//  Text for a rumor_ae_result_t code; never NULL.
const char *rumor_anti_entropy_strerror (int code);

//  The live entry of key in origin's keyspace (origin NULL = ours), or NULL
//  if absent, deleted or expired at now_ms. Borrowed: valid until the next
//  call that changes self (any input, write or tick).
const Rumor__KvEntry *rumor_anti_entropy_get (rumor_anti_entropy_t *self,
                                              const rumor_id_t *origin,
                                              const char *key, int64_t now_ms);

//  Append to out a strdup'd copy of each live key of origin (NULL = ours),
//  sorted, as of the latest time the core was given. Returns how many were
//  appended. out takes the strings: give it a destructor that frees them,
//  and no duplicator.
size_t rumor_anti_entropy_keys (rumor_anti_entropy_t *self,
                                const rumor_id_t *origin, zlistx_t *out);

//  Number of origins whose keyspace we hold, ours included.
size_t rumor_anti_entropy_origins (rumor_anti_entropy_t *self);

//  Max version seen of origin (NULL = ours): the version up to which we hold
//  everything; for ourselves, our current version. 0 if unknown.
uint64_t rumor_anti_entropy_version (rumor_anti_entropy_t *self,
                                     const rumor_id_t *origin);

//  Number of gossip peers (ALIVE or SUSPECT members other than us).
size_t rumor_anti_entropy_peers (rumor_anti_entropy_t *self);

#endif
