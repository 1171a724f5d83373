/*  =========================================================================
    rumor_anti_entropy - Scuttlebutt anti-entropy core (pure)

    See anti_entropy.h for the model. Notes on the choices made here:

    - "Max version" of an origin is the version up to which we hold
      everything the origin wrote (or a later write of the same key). It
      only advances along what is provably contiguous: a Delta answer is a
      prefix of what we lacked, so its last entry per origin is safe; an
      entry whose version is exactly max + 1 is safe wherever it comes from
      (an origin bumps its version by one per write, so nothing lies
      between); a pushed entry is also safe when Delta.base_version equals
      our max.
      Entries above max that arrive by push are stored, and their versions
      remembered, so the max catches up through them once the gap fills.
    - A Delta answer only ever carries entries up to our own max for that
      origin, never stored entries above it: a receiver would otherwise
      claim versions it lacks.
    - An entry at or below our max that we do not hold was superseded or
      collected: it is a duplicate, never stored again. That is what keeps a
      collected tombstone's key from coming back from a lagging peer.
    - A Digest holds at most RUMOR_REPEATED_MAX origins (the codec's bound).
      With more origins, rounds send a window that rotates over them, and a
      receiver treats a Digest of that size as partial: it does not offer
      origins the Digest leaves out (it cannot tell "absent" from "not in
      this window"); the sender still learns them by pulling, through the
      DeltaRequest, once the window reaches them.
    - Expiry: when a key of ours expires we tell "expire", then turn it
      into a tombstone with a new version (pushed like a delete), so every
      node ends with the same tombstone. Other nodes tell "expire" at the
      same absolute instant and hide the entry; the owner's tombstone then
      replaces it silently. Expiries over 10 years ahead are refused.
    - An origin that departed (DEAD/LEFT) and was dropped leaves a marker
      for tombstone_ttl_ms, so lagging peers cannot re-infect us with its
      keys; a member update showing it alive again clears the marker.
    =========================================================================
*/

#include "anti_entropy.h"
#include "prng.h"
#include "id_table.h"

//  Bytes kept free in a Delta for its own fields and the Envelope's body
//  tag and length: truncated (2), push (2), hops (6), base_version (11),
//  body tag and length (2 + 5). Rounded up so the packed body never exceeds the
//  budget.
#define S_DELTA_OVERHEAD    32
//  A cfg past this fanout is a programmer error (rumor_anti_entropy_new
//  returns NULL): a push to more peers than this is a broadcast to all.
#define S_PUSH_FANOUT_MAX   64

//  One stored entry. entry's pointers point at the fields below, so the
//  entry stays valid independent of any input message.
typedef struct {
    Rumor__KvEntry entry;           //  the entry as on the wire
    rumor_id_t origin;              //  entry.origin points here
    char *key;                      //  entry.key, owned
    uint8_t *value;                 //  entry.value.data, owned (or NULL)
    int64_t stored_at;              //  when we stored it (tombstone clock)
    bool expire_told;               //  kv "expire" told, or arrived expired
} s_entry_t;

//  One origin's keyspace as we hold it.
typedef struct {
    rumor_id_t id;                  //  the origin
    char hex [RUMOR_ID_HEX];        //  id in hex, our hash key
    uint64_t generation;            //  generation we hold
    uint64_t max_version;           //  we hold everything up to this
    zhashx_t *entries;              //  key -> s_entry_t
    size_t value_bytes;             //  bytes of the values in entries
    uint64_t *pending;              //  versions seen above max, sorted
    size_t n_pending;               //  versions in pending
    size_t max_pending;             //  room in pending
    bool departed;                  //  DEAD/LEFT: drop at drop_at
    int64_t drop_at;                //  when to drop it, if departed
    uint64_t departed_generation;   //  generation that departed
} s_origin_t;

//  A departed origin we dropped: refuse its old generations for a while.
typedef struct {
    uint64_t generation;            //  highest generation that departed
    int64_t forget_at;              //  when the marker goes
} s_marker_t;

//  What a peer lacks of one origin: entries above from.
typedef struct {
    s_origin_t *origin;             //  origin to serve
    uint64_t from;                  //  peer has everything up to this
} s_want_t;

struct _rumor_anti_entropy_t {
    rumor_anti_entropy_cfg_t cfg;   //  our configuration
    rumor_anti_entropy_stats_t stats;   //  counters
    rumor_fx_t *fx;                 //  queued effects
    rumor_prng_t prng;              //  peer choice, round phase
    bool started;                   //  given any time yet
    int64_t now;                    //  latest time given
    uint64_t version;               //  our version counter
    s_origin_t *mine;               //  our own keyspace
    zhashx_t *origins;              //  hex -> s_origin_t
    s_origin_t **sorted;            //  origins sorted by id
    size_t n_sorted;                //  entries in sorted
    bool sorted_dirty;              //  origins changed since sorting
    zhashx_t *markers;              //  hex -> s_marker_t
    rumor_ident_pool_t *idents;     //  identities of our peers
    rumor_id_table_t peer_index;    //  id -> position in peers
    uint32_t *peers;                //  gossip peers (ALIVE or SUSPECT
                                    //  members) for random choice: a
                                    //  reference to each one's identity
                                    //  (id, generation and endpoint as
                                    //  last told), nothing else per peer
    size_t n_peers;                 //  peers in use
    size_t max_peers;               //  room in peers
    rumor_id_t successor;           //  the peer whose id follows ours on
    bool has_successor;             //  the ring (push_ring), if any peer
    rumor_id_t rotor;               //  origin served first last time
    size_t digest_rotor;            //  first origin of the next digest
    int64_t round_at;               //  next digest round
    int64_t expire_at;              //  next entry expiry (INT64_MAX: none)
    int64_t collect_at;             //  next tombstone collection
    int64_t depart_at;              //  next departed drop or marker end
};

//  --------------------------------------------------------------------------
//  Configuration

void
rumor_anti_entropy_cfg_defaults (rumor_anti_entropy_cfg_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof (*cfg));
    //  The LAN round of DESIGN.md: a missed push is repaired within a few
    //  hundred ms, at one Digest per node per 200 ms.
    cfg->gossip_interval_ms = 200;
    //  One Digest per round, as in the Scuttlebutt paper. Each exchange is
    //  push and pull at once (Delta one way, DeltaRequest the other), and
    //  every node also answers about one Digest per round from others, so
    //  each node syncs with about two peers per round; push-pull with one
    //  partner spreads in log3(N) + O(log log N) rounds (Karp et al., 2000).
    //  Digests grow with the number of origins, so more would cost more
    //  bytes than it saves: eager pushes already carry most updates.
    cfg->gossip_fanout = 1;
    //  Eager push to 3 peers: with each node forwarding a fresh entry once,
    //  the reached fraction p solves p = 1 - exp (-3p), about 94%, in
    //  milliseconds; rounds fill the rest.
    cfg->push_fanout = 3;
    //  A push tree of fanout 3 covers 3^9 = 19,683 > 10,000 nodes in 9
    //  hops; one more for the sends wasted on nodes that had it. Each node
    //  forwards an entry at most once, so the cap bounds path length, not
    //  cost.
    cfg->push_max_hops = 10;
    //  The ring successor gets every push too: one send more per node, and
    //  no node is left for a round when the random choices all miss it
    //  (about e^-push_fanout of them, one node in 20 at 3).
    cfg->push_ring = true;
    //  64 KiB per Delta (DESIGN.md): large enough for one maximal value,
    //  small enough to keep one exchange well under the 1 MiB frame limit.
    cfg->mtu_budget = 65536;
    //  Entries per origin, tombstones included: bounds what one node can
    //  make every other node hold.
    cfg->max_keys = 10000;
    //  The wire limit of a value (RUMOR_VALUE_MAX).
    cfg->max_value = RUMOR_VALUE_MAX;
    //  4 MiB of values per origin (max-value-bytes, framework/rumor_limits.h):
    //  64 maximal values, or 10,000 keys of 400 bytes. max_keys alone
    //  would let one node make every other hold 10,000 x 64 KiB = 640 MiB.
    cfg->max_value_bytes = 4 * 1024 * 1024;
    //  A tombstone must outlive the longest time a live peer can lag (a
    //  partition, a paused process): a peer that catches up after we
    //  collected it never hears of the delete and keeps the old value. Kept
    //  longer, tombstones cost memory (they count against max_keys).
    //  10 minutes covers long suspicion timeouts and short partitions.
    cfg->tombstone_ttl_ms = 10 * 60 * 1000;
    //  A member declared DEAD may be a false verdict and refute within
    //  seconds; keeping its keys for a minute avoids dropping and
    //  re-fetching its whole keyspace, while a truly dead node's keys go
    //  away soon enough for service discovery.
    cfg->departed_ttl_ms = 60 * 1000;
    //  Generations are start times on other hosts' clocks. Five minutes
    //  absorbs badly synchronised clocks; a forged far-future generation
    //  (which would beat every real restart) is refused.
    cfg->future_tolerance_ms = 5 * 60 * 1000;
}

static bool
s_cfg_valid (const rumor_anti_entropy_cfg_t *cfg)
{
    return !rumor_id_is_zero (&cfg->self)
        && cfg->generation > 0
        && cfg->gossip_interval_ms > 0
        && cfg->gossip_fanout > 0
        && cfg->push_fanout > 0 && cfg->push_fanout <= S_PUSH_FANOUT_MAX
        && cfg->mtu_budget > S_DELTA_OVERHEAD
        && cfg->mtu_budget <= RUMOR_FRAME_MAX / 2
        && cfg->max_keys > 0
        && cfg->max_value <= RUMOR_VALUE_MAX
        && cfg->max_value_bytes > 0
        && cfg->tombstone_ttl_ms > 0
        && cfg->departed_ttl_ms > 0
        && cfg->future_tolerance_ms >= 0;
}

//  --------------------------------------------------------------------------
//  Entries

static void
s_entry_destroy (s_entry_t **self_p)
{
    if (*self_p) {
        s_entry_t *self = *self_p;
        free (self->key);
        free (self->value);
        free (self);
        *self_p = NULL;
    }
}

static void
s_entry_free (void **item)
{
    s_entry_destroy ((s_entry_t **) item);
}

//  Copy src into a new stored entry (origin taken from src).
static s_entry_t *
s_entry_new (const Rumor__KvEntry *src, int64_t now)
{
    s_entry_t *self = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    assert (self);
    Rumor__KvEntry init = RUMOR__KV_ENTRY__INIT;
    self->entry = init;
    rumor_id_from_bin (&self->origin, src->origin);
    self->key = strdup (src->key);
    assert (self->key);
    if (src->value.len) {
        self->value = (uint8_t *) malloc (src->value.len);
        assert (self->value);
        memcpy (self->value, src->value.data, src->value.len);
    }
    self->entry.origin = rumor_id_bin (&self->origin);
    self->entry.generation = src->generation;
    self->entry.key = self->key;
    self->entry.value.data = self->value;
    self->entry.value.len = src->value.len;
    self->entry.version = src->version;
    self->entry.expires_at = src->expires_at;
    self->entry.deleted = src->deleted;
    self->stored_at = now;
    return self;
}

static bool
s_expired (const Rumor__KvEntry *entry, int64_t now)
{
    return entry->expires_at && (uint64_t) now >= entry->expires_at;
}

//  Live: what get and keys return.
static bool
s_live (const Rumor__KvEntry *entry, int64_t now)
{
    return !entry->deleted && !s_expired (entry, now);
}

//  --------------------------------------------------------------------------
//  Origins

static void
s_origin_destroy (s_origin_t **self_p)
{
    if (*self_p) {
        s_origin_t *self = *self_p;
        zhashx_destroy (&self->entries);
        free (self->pending);
        free (self);
        *self_p = NULL;
    }
}

static void
s_origin_free (void **item)
{
    s_origin_destroy ((s_origin_t **) item);
}

static s_origin_t *
s_origin_new (const rumor_id_t *id, uint64_t generation)
{
    s_origin_t *self = (s_origin_t *) zmalloc (sizeof (s_origin_t));
    assert (self);
    self->id = *id;
    rumor_id_hex (id, self->hex);
    self->generation = generation;
    self->entries = zhashx_new ();
    assert (self->entries);
    zhashx_set_destructor (self->entries, s_entry_free);
    return self;
}

static s_origin_t *
s_origin_lookup (rumor_anti_entropy_t *self, const rumor_id_t *id)
{
    char hex [RUMOR_ID_HEX];
    return (s_origin_t *) zhashx_lookup (self->origins, rumor_id_hex (id, hex));
}

static s_origin_t *
s_origin_add (rumor_anti_entropy_t *self, const rumor_id_t *id,
              uint64_t generation)
{
    s_origin_t *origin = s_origin_new (id, generation);
    zhashx_insert (self->origins, origin->hex, origin);
    self->sorted_dirty = true;
    return origin;
}

static int
s_compare_origins (const void *a, const void *b)
{
    const s_origin_t *x = *(const s_origin_t * const *) a;
    const s_origin_t *y = *(const s_origin_t * const *) b;
    return rumor_id_cmp (&x->id, &y->id);
}

//  Origins sorted by id, rebuilt only after origins came or went.
static void
s_sort_origins (rumor_anti_entropy_t *self)
{
    if (!self->sorted_dirty)
        return;
    free (self->sorted);
    self->n_sorted = zhashx_size (self->origins);
    self->sorted = (s_origin_t **) malloc (
        (self->n_sorted + 1) * sizeof (s_origin_t *));
    assert (self->sorted);
    size_t n = 0;
    for (s_origin_t *origin = (s_origin_t *) zhashx_first (self->origins);
         origin; origin = (s_origin_t *) zhashx_next (self->origins))
        self->sorted [n++] = origin;
    qsort (self->sorted, n, sizeof (s_origin_t *), s_compare_origins);
    self->sorted_dirty = false;
}

//  Tell a kv event about entry, with its deleted flag forced if asked.
static void
s_tell (rumor_anti_entropy_t *self, const Rumor__KvEntry *entry,
        const char *extra, bool as_deleted)
{
    Rumor__KvEntry copy = *entry;
    if (as_deleted) {
        copy.deleted = true;
        copy.value.len = 0;
        copy.value.data = NULL;
    }
    rumor_fx_event (self->fx, "kv", &copy.base, extra);
}

//  Drop every entry of origin, telling "delete" for the live ones.
static void
s_origin_clear (rumor_anti_entropy_t *self, s_origin_t *origin)
{
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (origin->entries);
         entry; entry = (s_entry_t *) zhashx_next (origin->entries))
        if (s_live (&entry->entry, self->now))
            s_tell (self, &entry->entry, "delete", true);
    zhashx_purge (origin->entries);
    origin->value_bytes = 0;
    origin->n_pending = 0;
    origin->max_version = 0;
}

//  A newer generation of origin: its older keys are gone.
static void
s_origin_renew (rumor_anti_entropy_t *self, s_origin_t *origin,
                uint64_t generation)
{
    s_origin_clear (self, origin);
    origin->generation = generation;
    self->stats.generations_replaced++;
}

//  Remember that version was seen above max (bounded: forgetting one only
//  delays the max until a digest exchange covers it).
static void
s_pending_add (rumor_anti_entropy_t *self, s_origin_t *origin, uint64_t version)
{
    size_t pos = 0;
    while (pos < origin->n_pending && origin->pending [pos] < version)
        pos++;
    if (pos < origin->n_pending && origin->pending [pos] == version)
        return;
    if (origin->n_pending >= self->cfg.max_keys)
        return;
    if (origin->n_pending == origin->max_pending) {
        origin->max_pending = origin->max_pending? origin->max_pending * 2: 8;
        origin->pending = (uint64_t *) realloc (origin->pending,
            origin->max_pending * sizeof (uint64_t));
        assert (origin->pending);
    }
    memmove (origin->pending + pos + 1, origin->pending + pos,
             (origin->n_pending - pos) * sizeof (uint64_t));
    origin->pending [pos] = version;
    origin->n_pending++;
}

//  Raise origin's max to version if higher, then through every pending
//  version that directly follows it.
static void
s_advance (s_origin_t *origin, uint64_t version)
{
    if (version > origin->max_version)
        origin->max_version = version;
    size_t skip = 0;
    while (skip < origin->n_pending) {
        uint64_t next = origin->pending [skip];
        if (next <= origin->max_version)
            skip++;
        else
        if (next == origin->max_version + 1) {
            origin->max_version = next;
            skip++;
        }
        else
            break;
    }
    memmove (origin->pending, origin->pending + skip,
             (origin->n_pending - skip) * sizeof (uint64_t));
    origin->n_pending -= skip;
}

//  --------------------------------------------------------------------------
//  Timers

static void
s_clock (rumor_anti_entropy_t *self, int64_t now)
{
    if (!self->started) {
        self->started = true;
        self->now = now;
        //  A random phase, so nodes started together do not gossip in step
        self->round_at = now + rumor_prng_below (
            &self->prng, (uint32_t) self->cfg.gossip_interval_ms);
    }
    if (now > self->now)
        self->now = now;
}

//  A stored entry may bring the next expiry or collection forward.
static void
s_schedule_entry (rumor_anti_entropy_t *self, s_entry_t *entry)
{
    if (entry->entry.deleted) {
        int64_t due = entry->stored_at + self->cfg.tombstone_ttl_ms;
        if (due < self->collect_at)
            self->collect_at = due;
    }
    else
    if (entry->entry.expires_at && !entry->expire_told
    &&  entry->entry.expires_at < (uint64_t) self->expire_at)
        self->expire_at = (int64_t) entry->entry.expires_at;
}

//  --------------------------------------------------------------------------
//  Peers

static const rumor_ident_t *
s_ident (const rumor_anti_entropy_t *self, uint32_t handle)
{
    return rumor_ident_at (self->idents, handle);
}

//  The id of the peer at a position of peers (peer_index's key)
static const rumor_id_t *
s_peer_key (const void *arg, uint32_t at)
{
    const rumor_anti_entropy_t *self = (const rumor_anti_entropy_t *) arg;
    return &s_ident (self, self->peers [at])->id;
}

//  The identity of a peer, or NULL if id is not a peer
static const rumor_ident_t *
s_peer_lookup (rumor_anti_entropy_t *self, const rumor_id_t *id)
{
    uint32_t at = rumor_id_table_lookup (&self->peer_index, id);
    return at == RUMOR_ID_TABLE_NONE? NULL: s_ident (self, self->peers [at]);
}

//  Is x after a and before b on the ring of ids (b after a, wrapping)?
static bool
s_ring_between (const rumor_id_t *a, const rumor_id_t *x, const rumor_id_t *b)
{
    if (rumor_id_cmp (a, b) < 0)
        return rumor_id_cmp (a, x) < 0 && rumor_id_cmp (x, b) < 0;
    return rumor_id_cmp (x, a) > 0 || rumor_id_cmp (x, b) < 0;
}

//  A new peer: our successor if it falls between us and the current one
static void
s_successor_offer (rumor_anti_entropy_t *self, const rumor_id_t *id)
{
    if (!self->has_successor
    ||  s_ring_between (&self->cfg.self, id, &self->successor)) {
        self->successor = *id;
        self->has_successor = true;
    }
}

//  Our successor left the peers: find the next one (O(N), once per
//  departure of that one peer; arrivals are O(1))
static void
s_successor_find (rumor_anti_entropy_t *self)
{
    self->has_successor = false;
    for (size_t at = 0; at < self->n_peers; at++)
        s_successor_offer (self, &s_ident (self, self->peers [at])->id);
}

static void
s_peer_put (rumor_anti_entropy_t *self, const rumor_id_t *id,
            uint64_t generation, const char *name, const char *endpoint)
{
    uint32_t at = rumor_id_table_lookup (&self->peer_index, id);
    if (at == RUMOR_ID_TABLE_NONE) {
        if (self->n_peers == self->max_peers) {
            self->max_peers = self->max_peers? self->max_peers * 2: 16;
            self->peers = (uint32_t *) realloc (self->peers,
                self->max_peers * sizeof (uint32_t));
            assert (self->peers);
        }
        at = (uint32_t) self->n_peers++;
        self->peers [at] = rumor_ident_get (self->idents, id, generation,
                                            name, endpoint);
        rumor_id_table_insert (&self->peer_index, at);
        s_successor_offer (self, id);
    }
    else
    if (generation >= s_ident (self, self->peers [at])->generation)
        rumor_ident_set (self->idents, &self->peers [at], id, generation,
                         name, endpoint);
}

//  Remove the peer at a position: the last one takes its place
static void
s_peer_remove (rumor_anti_entropy_t *self, uint32_t at)
{
    uint32_t gone = self->peers [at];
    bool was_successor = self->has_successor
        && rumor_id_eq (&s_ident (self, gone)->id, &self->successor);
    rumor_id_table_delete (&self->peer_index, &s_ident (self, gone)->id);
    uint32_t last = (uint32_t) --self->n_peers;
    if (at != last) {
        //  The index still finds the moved peer at last: tell it first
        self->peers [at] = self->peers [last];
        rumor_id_table_update (&self->peer_index,
                               &s_ident (self, self->peers [at])->id, at);
    }
    rumor_ident_release (self->idents, gone);
    if (was_successor)
        s_successor_find (self);
}

static bool
s_peer_excluded (const rumor_ident_t *peer, const rumor_id_t *not1,
                 const rumor_id_t *not2)
{
    return (not1 && rumor_id_eq (&peer->id, not1))
        || (not2 && rumor_id_eq (&peer->id, not2));
}

//  Choose up to want distinct random peers other than not1 and not2 (either
//  may be NULL) into chosen. Returns how many were chosen. Small tables are
//  shuffled; large ones sampled, so a round costs O(want), not O(N).
static size_t
s_pick_peers (rumor_anti_entropy_t *self, uint32_t want,
              const rumor_id_t *not1, const rumor_id_t *not2,
              const rumor_ident_t **chosen)
{
    size_t n = self->n_peers;
    size_t count = 0;
    if (n == 0 || want == 0)
        return 0;
    if (n <= (size_t) want * 4 + 8) {
        uint32_t *order = (uint32_t *) malloc (n * sizeof (uint32_t));
        assert (order);
        memcpy (order, self->peers, n * sizeof (uint32_t));
        rumor_prng_shuffle (&self->prng, order, n, sizeof (uint32_t));
        for (size_t i = 0; i < n && count < want; i++)
            if (!s_peer_excluded (s_ident (self, order [i]), not1, not2))
                chosen [count++] = s_ident (self, order [i]);
        free (order);
        return count;
    }
    //  Sampling: n > 4 * want + 8, so a few tries each find a new peer
    for (uint32_t tries = 0; tries < want * 8 && count < want; tries++) {
        const rumor_ident_t *peer = s_ident (self, self->peers [
            rumor_prng_below (&self->prng, (uint32_t) n)]);
        bool taken = s_peer_excluded (peer, not1, not2);
        for (size_t i = 0; i < count && !taken; i++)
            taken = chosen [i] == peer;
        if (!taken)
            chosen [count++] = peer;
    }
    return count;
}

//  The peers of an eager push: push_fanout random ones other than not1
//  and not2, and the ring successor unless excluded or chosen already.
//  chosen has room for push_fanout + 1.
static size_t
s_push_targets (rumor_anti_entropy_t *self, const rumor_id_t *not1,
                const rumor_id_t *not2, const rumor_ident_t **chosen)
{
    size_t count = s_pick_peers (self, self->cfg.push_fanout, not1, not2,
                                 chosen);
    if (!self->cfg.push_ring || !self->has_successor)
        return count;
    const rumor_ident_t *next = s_peer_lookup (self, &self->successor);
    if (!next || s_peer_excluded (next, not1, not2))
        return count;
    for (size_t i = 0; i < count; i++)
        if (chosen [i] == next)
            return count;
    chosen [count++] = next;
    return count;
}

//  Queue a body for a node, with its endpoint if it is a known peer.
static void
s_send (rumor_anti_entropy_t *self, const rumor_id_t *to,
        const Rumor__Envelope *body)
{
    const rumor_ident_t *peer = s_peer_lookup (self, to);
    rumor_fx_send (self->fx, to, peer? peer->endpoint: NULL, body);
}

//  --------------------------------------------------------------------------
//  Building Deltas

static int
s_compare_versions (const void *a, const void *b)
{
    const s_entry_t *x = *(const s_entry_t * const *) a;
    const s_entry_t *y = *(const s_entry_t * const *) b;
    return x->entry.version < y->entry.version? -1:
           x->entry.version > y->entry.version? 1: 0;
}

static size_t
s_varint_size (size_t value)
{
    size_t size = 1;
    while (value >= 0x80) {
        value >>= 7;
        size++;
    }
    return size;
}

//  Bytes an entry adds to a Delta: tag, length, body.
static size_t
s_entry_cost (const s_entry_t *entry)
{
    size_t size = rumor__kv_entry__get_packed_size (&entry->entry);
    return 1 + s_varint_size (size) + size;
}

//  Entries of origin above from and up to its max, by version ascending.
//  Returns a new array (caller frees) and its length in count.
static s_entry_t **
s_entries_above (s_origin_t *origin, uint64_t from, size_t *count)
{
    size_t n = 0;
    s_entry_t **list = (s_entry_t **) malloc (
        (zhashx_size (origin->entries) + 1) * sizeof (s_entry_t *));
    assert (list);
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (origin->entries);
         entry; entry = (s_entry_t *) zhashx_next (origin->entries))
        if (entry->entry.version > from
        &&  entry->entry.version <= origin->max_version)
            list [n++] = entry;
    qsort (list, n, sizeof (s_entry_t *), s_compare_versions);
    *count = n;
    return list;
}

//  Where to start serving: the first wanted origin after the one served
//  first last time, so each origin gets its turn at the head.
static size_t
s_rotation_start (rumor_anti_entropy_t *self, s_want_t *wants, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rumor_id_cmp (&wants [i].origin->id, &self->rotor) > 0)
            return i;
    return 0;
}

//  Send to a peer one Delta with what it lacks (wants, sorted by origin id),
//  whole prefixes per origin, within mtu_budget. The first entry always
//  goes, even if larger than the budget, so no entry can block an origin.
static void
s_send_delta (rumor_anti_entropy_t *self, const rumor_id_t *to,
              s_want_t *wants, size_t n_wants)
{
    if (n_wants == 0)
        return;
    size_t start = s_rotation_start (self, wants, n_wants);
    self->rotor = wants [start].origin->id;

    Rumor__KvEntry **out = (Rumor__KvEntry **) malloc (
        RUMOR_REPEATED_MAX * sizeof (Rumor__KvEntry *));
    assert (out);
    size_t n_out = 0;
    size_t room = self->cfg.mtu_budget - S_DELTA_OVERHEAD;
    size_t used = 0;
    bool truncated = false;
    for (size_t step = 0; step < n_wants; step++) {
        s_want_t *want = &wants [(start + step) % n_wants];
        size_t count;
        s_entry_t **list = s_entries_above (want->origin, want->from, &count);
        size_t taken = 0;
        while (taken < count && n_out < RUMOR_REPEATED_MAX) {
            size_t cost = s_entry_cost (list [taken]);
            if (used + cost > room && n_out > 0)
                break;
            used += cost;
            out [n_out++] = &list [taken++]->entry;
        }
        if (taken < count)
            truncated = true;
        free (list);
    }
    if (n_out) {
        Rumor__Delta delta = RUMOR__DELTA__INIT;
        delta.entries = out;
        delta.n_entries = n_out;
        delta.truncated = truncated;
        Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
        body.body_case = RUMOR__ENVELOPE__BODY_DELTA;
        body.delta = &delta;
        s_send (self, to, &body);
        self->stats.deltas_sent++;
        self->stats.entries_sent += n_out;
        if (truncated)
            self->stats.deltas_truncated++;
    }
    free (out);
}

//  --------------------------------------------------------------------------
//  Reading digests

static int
s_compare_digest (const void *a, const void *b)
{
    const Rumor__DigestEntry *x = *(Rumor__DigestEntry * const *) a;
    const Rumor__DigestEntry *y = *(Rumor__DigestEntry * const *) b;
    return memcmp (x->origin.data, y->origin.data, RUMOR_ID_SIZE);
}

//  The usable entries of a peer's digest, sorted by origin, duplicates and
//  future generations left out. Returns a new array (caller frees).
static Rumor__DigestEntry **
s_digest_sorted (rumor_anti_entropy_t *self, Rumor__DigestEntry **entries,
                 size_t n, size_t *count)
{
    Rumor__DigestEntry **list = (Rumor__DigestEntry **) malloc (
        (n + 1) * sizeof (Rumor__DigestEntry *));
    assert (list);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (entries [i]->generation
            > (uint64_t) (self->now + self->cfg.future_tolerance_ms))
            self->stats.bad_digest++;
        else
            list [kept++] = entries [i];
    }
    qsort (list, kept, sizeof (Rumor__DigestEntry *), s_compare_digest);
    size_t unique = 0;
    for (size_t i = 0; i < kept; i++)
        if (unique == 0 || s_compare_digest (&list [unique - 1], &list [i]))
            list [unique++] = list [i];
    *count = unique;
    return list;
}

//  What the peer lacks of origin, given its digest entry (NULL when it does
//  not list the origin). Returns true and sets from if it lacks anything.
static bool
s_peer_lacks (const s_origin_t *origin, const Rumor__DigestEntry *theirs,
              uint64_t *from)
{
    if (origin->max_version == 0)
        return false;
    if (!theirs || theirs->generation < origin->generation) {
        *from = 0;
        return true;
    }
    if (theirs->generation == origin->generation
    &&  theirs->version < origin->max_version) {
        *from = theirs->version;
        return true;
    }
    return false;
}

//  True if the peer's digest entry shows it ahead of us on that origin.
static bool
s_peer_ahead (rumor_anti_entropy_t *self, const Rumor__DigestEntry *theirs,
              s_origin_t **origin_p)
{
    rumor_id_t id;
    rumor_id_from_bin (&id, theirs->origin);
    *origin_p = NULL;
    if (rumor_id_eq (&id, &self->cfg.self))
        return false;               //  nobody is ahead of us on our keys
    char hex [RUMOR_ID_HEX];
    s_marker_t *marker = (s_marker_t *) zhashx_lookup (
        self->markers, rumor_id_hex (&id, hex));
    if (marker && theirs->generation <= marker->generation)
        return false;               //  departed: we do not want it back
    s_origin_t *origin = s_origin_lookup (self, &id);
    *origin_p = origin;
    if (!origin)
        return theirs->version > 0;
    return theirs->generation > origin->generation
        || (theirs->generation == origin->generation
            && theirs->version > origin->max_version);
}

//  Answer a peer's digest (or delta request): a Delta of what it lacks and,
//  for a full Digest, a DeltaRequest for where it is ahead. complete: the
//  digest lists every origin the peer holds, so unlisted ones are lacking.
static void
s_answer_digest (rumor_anti_entropy_t *self, const rumor_id_t *to,
                 Rumor__DigestEntry **entries, size_t n_entries,
                 bool complete, bool request)
{
    size_t n;
    Rumor__DigestEntry **theirs = s_digest_sorted (self, entries, n_entries,
                                                   &n);
    s_sort_origins (self);

    //  Merge-walk our sorted origins against their sorted digest
    s_want_t *wants = (s_want_t *) malloc (
        (self->n_sorted + 1) * sizeof (s_want_t));
    assert (wants);
    size_t n_wants = 0;
    size_t j = 0;
    for (size_t i = 0; i < self->n_sorted; i++) {
        s_origin_t *origin = self->sorted [i];
        while (j < n && memcmp (theirs [j]->origin.data, origin->id.bytes,
                                RUMOR_ID_SIZE) < 0)
            j++;
        Rumor__DigestEntry *match = j < n
            && memcmp (theirs [j]->origin.data, origin->id.bytes,
                       RUMOR_ID_SIZE) == 0? theirs [j]: NULL;
        if (!match && !complete)
            continue;
        uint64_t from;
        if (s_peer_lacks (origin, match, &from)) {
            wants [n_wants].origin = origin;
            wants [n_wants].from = from;
            n_wants++;
        }
    }
    s_send_delta (self, to, wants, n_wants);
    free (wants);

    if (request) {
        Rumor__DigestEntry *mine = (Rumor__DigestEntry *) malloc (
            (n + 1) * sizeof (Rumor__DigestEntry));
        Rumor__DigestEntry **ptrs = (Rumor__DigestEntry **) malloc (
            (n + 1) * sizeof (Rumor__DigestEntry *));
        assert (mine && ptrs);
        size_t n_mine = 0;
        for (size_t k = 0; k < n; k++) {
            s_origin_t *origin;
            if (!s_peer_ahead (self, theirs [k], &origin))
                continue;
            Rumor__DigestEntry init = RUMOR__DIGEST_ENTRY__INIT;
            mine [n_mine] = init;
            mine [n_mine].origin = theirs [k]->origin;
            mine [n_mine].generation = origin? origin->generation: 0;
            mine [n_mine].version = origin? origin->max_version: 0;
            ptrs [n_mine] = &mine [n_mine];
            n_mine++;
        }
        if (n_mine) {
            Rumor__DeltaRequest req = RUMOR__DELTA_REQUEST__INIT;
            req.entries = ptrs;
            req.n_entries = n_mine;
            Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
            body.body_case = RUMOR__ENVELOPE__BODY_DELTA_REQUEST;
            body.delta_request = &req;
            s_send (self, to, &body);
            self->stats.requests_sent++;
        }
        free (mine);
        free (ptrs);
    }
    free (theirs);
}

//  --------------------------------------------------------------------------
//  Applying entries

typedef enum {
    S_APPLIED,                      //  newer than ours: stored
    S_DUPLICATE,                    //  we had it, or something newer
    S_REFUSED                       //  refused and counted
} s_verdict_t;

//  Checks that need no state of the origin. Returns true if acceptable.
static bool
s_entry_sane (rumor_anti_entropy_t *self, const Rumor__KvEntry *in,
              const rumor_id_t *id, s_verdict_t *verdict)
{
    *verdict = S_REFUSED;
    if (!rumor_codec_valid_kv (in))
        self->stats.bad_entry++;
    else
    if (rumor_id_eq (id, &self->cfg.self)) {
        if (in->generation == self->cfg.generation
        &&  in->version <= self->version)
            *verdict = S_DUPLICATE;
        else
        if (in->generation < self->cfg.generation)
            self->stats.stale_self++;
        else
            self->stats.forged++;
    }
    else
    if (in->generation > (uint64_t) (self->now + self->cfg.future_tolerance_ms))
        self->stats.future_generation++;
    else
    if (in->expires_at > (uint64_t) (self->now + RUMOR_AE_EXPIRY_MAX_MS))
        self->stats.bad_expiry++;
    else
    if (in->value.len > self->cfg.max_value)
        self->stats.too_big++;
    else
        return true;
    return false;
}

//  The origin an entry belongs to, created or renewed as needed; NULL if
//  the entry must be refused (counted).
static s_origin_t *
s_entry_origin (rumor_anti_entropy_t *self, const Rumor__KvEntry *in,
                const rumor_id_t *id)
{
    s_origin_t *origin = s_origin_lookup (self, id);
    char hex [RUMOR_ID_HEX];
    s_marker_t *marker = (s_marker_t *) zhashx_lookup (
        self->markers, rumor_id_hex (id, hex));
    if (marker) {
        if (in->generation <= marker->generation) {
            self->stats.departed++;
            return NULL;
        }
        zhashx_delete (self->markers, hex);
    }
    if (!origin)
        return s_origin_add (self, id, in->generation);
    if (in->generation < origin->generation) {
        self->stats.stale_generation++;
        return NULL;
    }
    if (in->generation > origin->generation)
        s_origin_renew (self, origin, in->generation);
    return origin;
}

//  Store in as the entry of its key, telling what changed for the program.
static void
s_store (rumor_anti_entropy_t *self, s_origin_t *origin, s_entry_t *old,
         const Rumor__KvEntry *in)
{
    bool was_live = old && s_live (&old->entry, self->now);
    s_entry_t *entry = s_entry_new (in, self->now);
    if (s_live (in, self->now))
        s_tell (self, in, "set", false);
    else
    if (was_live)
        s_tell (self, in, in->deleted? "delete": "expire", in->deleted);
    //  One that arrives expired was never live here: no expire to tell
    entry->expire_told = s_expired (in, self->now);
    origin->value_bytes += in->value.len - (old? old->entry.value.len: 0);
    zhashx_update (origin->entries, entry->key, entry);
    s_schedule_entry (self, entry);
}

//  True if origin can hold a value of size bytes in place of old (NULL if
//  new) without going over max_value_bytes. A tombstone always fits, so a
//  member at the limit can still delete.
static bool
s_bytes_fit (rumor_anti_entropy_t *self, s_origin_t *origin,
             const s_entry_t *old, size_t size)
{
    size_t held = origin->value_bytes - (old? old->entry.value.len: 0);
    return size <= self->cfg.max_value_bytes
        && held <= self->cfg.max_value_bytes - size;
}

//  Apply one remote entry. Sets *origin_p to its origin when not refused.
static s_verdict_t
s_apply (rumor_anti_entropy_t *self, const Rumor__KvEntry *in,
         s_origin_t **origin_p)
{
    *origin_p = NULL;
    rumor_id_t id;
    s_verdict_t verdict;
    rumor_id_from_bin (&id, in->origin);
    if (!s_entry_sane (self, in, &id, &verdict)) {
        if (verdict == S_DUPLICATE) {
            self->stats.entries_duplicate++;
            *origin_p = self->mine;
        }
        return verdict;
    }
    s_origin_t *origin = s_entry_origin (self, in, &id);
    if (!origin)
        return S_REFUSED;
    *origin_p = origin;
    s_entry_t *old = (s_entry_t *) zhashx_lookup (origin->entries, in->key);
    //  Not newer than ours; or at or below our max and absent, so
    //  superseded or collected
    if ((old && old->entry.version >= in->version)
    ||  (!old && in->version <= origin->max_version)) {
        self->stats.entries_duplicate++;
        return S_DUPLICATE;
    }
    if (!old && zhashx_size (origin->entries) >= self->cfg.max_keys) {
        self->stats.full++;
        return S_REFUSED;
    }
    if (!s_bytes_fit (self, origin, old, in->value.len)) {
        self->stats.value_bytes_full++;
        return S_REFUSED;
    }
    s_store (self, origin, old, in);
    self->stats.entries_applied++;
    return S_APPLIED;
}

//  --------------------------------------------------------------------------
//  Local writes

static bool
s_valid_utf8 (const char *string)
{
    const uint8_t *byte = (const uint8_t *) string;
    while (*byte) {
        size_t extra = *byte < 0x80? 0:
                       (*byte & 0xE0) == 0xC0 && *byte >= 0xC2? 1:
                       (*byte & 0xF0) == 0xE0? 2:
                       (*byte & 0xF8) == 0xF0 && *byte <= 0xF4? 3: 9;
        if (extra == 9)
            return false;
        uint32_t code = extra == 0? *byte: *byte & (0x3F >> extra);
        for (size_t i = 1; i <= extra; i++) {
            if ((byte [i] & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (byte [i] & 0x3F);
        }
        //  Overlong forms, surrogates and beyond U+10FFFF
        if ((extra == 2 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF)))
        ||  (extra == 3 && (code < 0x10000 || code > 0x10FFFF)))
            return false;
        byte += extra + 1;
    }
    return true;
}

static bool
s_valid_key (const char *key)
{
    return key && key [0]
        && strnlen (key, RUMOR_KEY_MAX + 1) <= RUMOR_KEY_MAX
        && s_valid_utf8 (key);
}

//  Push our fresh entry to push_fanout random peers and our successor.
static void
s_push (rumor_anti_entropy_t *self, s_entry_t *entry)
{
    const rumor_ident_t **chosen = (const rumor_ident_t **) malloc (
        ((size_t) self->cfg.push_fanout + 1) * sizeof (rumor_ident_t *));
    assert (chosen);
    size_t n = s_push_targets (self, NULL, NULL, chosen);
    Rumor__KvEntry *list [1] = { &entry->entry };
    Rumor__Delta delta = RUMOR__DELTA__INIT;
    delta.entries = list;
    delta.n_entries = 1;
    delta.push = true;
    delta.hops = 0;
    delta.base_version = entry->entry.version - 1;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_DELTA;
    body.delta = &delta;
    for (size_t i = 0; i < n; i++) {
        rumor_fx_send (self->fx, &chosen [i]->id, chosen [i]->endpoint, &body);
        self->stats.pushes_sent++;
    }
    free (chosen);
}

//  Write a new version of key in our keyspace, tell it and push it.
static void
s_write (rumor_anti_entropy_t *self, const char *key, const void *value,
         size_t size, uint64_t expires_at, bool deleted, const char *extra)
{
    Rumor__KvEntry in = RUMOR__KV_ENTRY__INIT;
    in.origin = rumor_id_bin (&self->cfg.self);
    in.generation = self->cfg.generation;
    in.key = (char *) key;
    in.value.data = (uint8_t *) value;
    in.value.len = size;
    in.version = ++self->version;
    in.expires_at = expires_at;
    in.deleted = deleted;
    s_entry_t *entry = s_entry_new (&in, self->now);
    s_entry_t *old = (s_entry_t *) zhashx_lookup (self->mine->entries, key);
    self->mine->value_bytes += size - (old? old->entry.value.len: 0);
    zhashx_update (self->mine->entries, entry->key, entry);
    self->mine->max_version = self->version;
    if (extra)
        s_tell (self, &entry->entry, extra, false);
    s_schedule_entry (self, entry);
    s_push (self, entry);
}

int
rumor_anti_entropy_set (rumor_anti_entropy_t *self, int64_t now_ms,
                        const char *key, const void *value, size_t size,
                        int64_t ttl_ms)
{
    assert (self);
    s_clock (self, now_ms);
    if (!s_valid_key (key))
        return RUMOR_AE_EKEY;
    if (size > self->cfg.max_value || (size && !value))
        return RUMOR_AE_EVALUE;
    if (ttl_ms < 0 || ttl_ms > RUMOR_AE_EXPIRY_MAX_MS)
        return RUMOR_AE_ETTL;
    s_entry_t *old = (s_entry_t *) zhashx_lookup (self->mine->entries, key);
    if (!old && zhashx_size (self->mine->entries) >= self->cfg.max_keys) {
        self->stats.full++;
        return RUMOR_AE_EFULL;
    }
    if (!s_bytes_fit (self, self->mine, old, size)) {
        self->stats.value_bytes_full++;
        return RUMOR_AE_EFULL;
    }
    uint64_t expires_at = ttl_ms? (uint64_t) (self->now + ttl_ms): 0;
    s_write (self, key, value, size, expires_at, false, "set");
    return RUMOR_AE_OK;
}

int
rumor_anti_entropy_delete (rumor_anti_entropy_t *self, int64_t now_ms,
                           const char *key)
{
    assert (self);
    s_clock (self, now_ms);
    if (!s_valid_key (key))
        return RUMOR_AE_EKEY;
    s_entry_t *old = (s_entry_t *) zhashx_lookup (self->mine->entries, key);
    if (!old || !s_live (&old->entry, self->now))
        return RUMOR_AE_ENOKEY;
    s_write (self, key, NULL, 0, 0, true, "delete");
    return RUMOR_AE_OK;
}

const char *
rumor_anti_entropy_strerror (int code)
{
    switch (code) {
        case RUMOR_AE_OK:     return "ok";
        case RUMOR_AE_EKEY:   return "key empty, too long or not UTF-8";
        case RUMOR_AE_EVALUE: return "value too big";
        case RUMOR_AE_EFULL:  return "too many keys";
        case RUMOR_AE_ENOKEY: return "no such key";
        case RUMOR_AE_ETTL:   return "ttl negative or too long";
        default:              return "unknown error";
    }
}

//  --------------------------------------------------------------------------
//  Messages

//  Forward the fresh entries of a push to push_fanout other peers and our
//  successor (neither the sender nor the origin: they have them).
static void
s_forward (rumor_anti_entropy_t *self, const rumor_id_t *sender,
           const Rumor__Delta *push, Rumor__KvEntry **fresh, size_t n_fresh)
{
    if (n_fresh == 0 || push->hops + 1 >= self->cfg.push_max_hops)
        return;
    rumor_id_t origin;
    rumor_id_from_bin (&origin, fresh [0]->origin);
    const rumor_ident_t **chosen = (const rumor_ident_t **) malloc (
        ((size_t) self->cfg.push_fanout + 1) * sizeof (rumor_ident_t *));
    assert (chosen);
    size_t n = s_push_targets (self, sender, &origin, chosen);
    Rumor__Delta delta = RUMOR__DELTA__INIT;
    delta.entries = fresh;
    delta.n_entries = n_fresh;
    delta.push = true;
    delta.hops = push->hops + 1;
    //  base_version tells the origin's version before these entries: still true
    //  when forwarded, unless we dropped some of them
    delta.base_version = n_fresh == push->n_entries? push->base_version: 0;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_DELTA;
    body.delta = &delta;
    for (size_t i = 0; i < n; i++) {
        rumor_fx_send (self->fx, &chosen [i]->id, chosen [i]->endpoint, &body);
        self->stats.pushes_forwarded++;
    }
    free (chosen);
}

//  True if id is in list (n ids).
static bool
s_id_listed (const rumor_id_t *list, size_t n, const rumor_id_t *id)
{
    for (size_t i = 0; i < n; i++)
        if (rumor_id_eq (&list [i], id))
            return true;
    return false;
}

//  Raise an origin's max after an entry of a Delta that was not refused.
static void
s_delta_advance (const Rumor__Delta *delta, const Rumor__KvEntry *in,
                 s_origin_t *origin, bool first_of_origin)
{
    if (in->generation != origin->generation)
        return;
    if (!delta->push
    ||  in->version == origin->max_version + 1
    ||  (first_of_origin && delta->base_version == origin->max_version))
        s_advance (origin, in->version);
}

static int
s_on_delta (rumor_anti_entropy_t *self, const rumor_id_t *sender,
            const Rumor__Delta *delta)
{
    self->stats.deltas_received++;
    size_t n = delta->n_entries;
    //  Origins seen in this delta, and those whose prefix a refusal broke
    rumor_id_t *seen = (rumor_id_t *) malloc ((n + 1) * sizeof (rumor_id_t));
    rumor_id_t *broken = (rumor_id_t *) malloc ((n + 1) * sizeof (rumor_id_t));
    Rumor__KvEntry **fresh = (Rumor__KvEntry **) malloc (
        (n + 1) * sizeof (Rumor__KvEntry *));
    assert (seen && broken && fresh);
    size_t n_seen = 0, n_broken = 0, n_fresh = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const Rumor__KvEntry *in = delta->entries [i];
        rumor_id_t id;
        rumor_id_from_bin (&id, in->origin);
        bool first = !s_id_listed (seen, n_seen, &id);
        if (first)
            seen [n_seen++] = id;
        s_origin_t *origin;
        s_verdict_t verdict = s_apply (self, in, &origin);
        if (verdict == S_REFUSED) {
            rc = -1;
            if (!s_id_listed (broken, n_broken, &id))
                broken [n_broken++] = id;
            continue;
        }
        if (verdict == S_APPLIED && delta->push)
            fresh [n_fresh++] = delta->entries [i];
        if (origin == self->mine || s_id_listed (broken, n_broken, &id))
            continue;
        if (in->version > origin->max_version
        &&  in->generation == origin->generation)
            s_pending_add (self, origin, in->version);
        s_delta_advance (delta, in, origin, first);
    }
    if (delta->push)
        s_forward (self, sender, delta, fresh, n_fresh);
    free (seen);
    free (broken);
    free (fresh);
    return rc;
}

int
rumor_anti_entropy_on_message (rumor_anti_entropy_t *self, int64_t now_ms,
                               const Rumor__Envelope *env)
{
    assert (self);
    assert (env);
    s_clock (self, now_ms);
    rumor_id_t sender;
    if (rumor_id_from_bin (&sender, env->sender)
    ||  rumor_id_eq (&sender, &self->cfg.self)
    ||  env->generation
        > (uint64_t) (self->now + self->cfg.future_tolerance_ms)) {
        self->stats.bad_sender++;
        return -1;
    }
    if (env->body_case == RUMOR__ENVELOPE__BODY_DIGEST && env->digest) {
        self->stats.digests_received++;
        //  A digest at the wire's item limit may be a window of a larger one
        bool complete = env->digest->n_entries < RUMOR_REPEATED_MAX;
        s_answer_digest (self, &sender, env->digest->entries,
                         env->digest->n_entries, complete, true);
        return 0;
    }
    if (env->body_case == RUMOR__ENVELOPE__BODY_DELTA_REQUEST
    &&  env->delta_request) {
        self->stats.requests_received++;
        s_answer_digest (self, &sender, env->delta_request->entries,
                         env->delta_request->n_entries, false, false);
        return 0;
    }
    if (env->body_case == RUMOR__ENVELOPE__BODY_DELTA && env->delta)
        return s_on_delta (self, &sender, env->delta);
    self->stats.bad_body++;
    return -1;
}

//  --------------------------------------------------------------------------
//  Member events

static void
s_marker_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  Forget the departure of id (it is back, or was never gone).
static void
s_member_back (rumor_anti_entropy_t *self, const rumor_id_t *id,
               uint64_t generation)
{
    char hex [RUMOR_ID_HEX];
    s_marker_t *marker = (s_marker_t *) zhashx_lookup (
        self->markers, rumor_id_hex (id, hex));
    if (marker)
        zhashx_delete (self->markers, hex);
    s_origin_t *origin = s_origin_lookup (self, id);
    if (origin && origin->departed
    &&  generation >= origin->departed_generation)
        origin->departed = false;
}

//  Record that id departed: drop its keys later, or mark it now if we hold
//  nothing of it.
static void
s_member_gone (rumor_anti_entropy_t *self, const rumor_id_t *id,
               uint64_t generation)
{
    s_origin_t *origin = s_origin_lookup (self, id);
    if (origin && generation < origin->generation)
        return;                     //  an older life of it died: news to none
    if (!origin) {
        char hex [RUMOR_ID_HEX];
        s_marker_t *marker = (s_marker_t *) zhashx_lookup (
            self->markers, rumor_id_hex (id, hex));
        if (!marker) {
            marker = (s_marker_t *) zmalloc (sizeof (s_marker_t));
            assert (marker);
            zhashx_insert (self->markers, hex, marker);
        }
        if (generation > marker->generation)
            marker->generation = generation;
        marker->forget_at = self->now + self->cfg.tombstone_ttl_ms;
        if (marker->forget_at < self->depart_at)
            self->depart_at = marker->forget_at;
        return;
    }
    if (!origin->departed) {
        origin->departed = true;
        origin->drop_at = self->now + self->cfg.departed_ttl_ms;
        if (origin->drop_at < self->depart_at)
            self->depart_at = origin->drop_at;
    }
    if (generation > origin->departed_generation)
        origin->departed_generation = generation;
}

static int
s_on_member (rumor_anti_entropy_t *self, const Rumor__MemberUpdate *update)
{
    rumor_id_t id;
    if (!rumor_codec_valid_member (update)
    ||  rumor_id_from_bin (&id, update->id)
    ||  update->generation
        > (uint64_t) (self->now + self->cfg.future_tolerance_ms)) {
        self->stats.bad_event++;
        return -1;
    }
    if (rumor_id_eq (&id, &self->cfg.self))
        return 0;                   //  we are not our own peer
    s_origin_t *origin = s_origin_lookup (self, &id);
    if (origin && update->generation > origin->generation)
        s_origin_renew (self, origin, update->generation);
    if (update->state == RUMOR__STATE__STATE_ALIVE
    ||  update->state == RUMOR__STATE__STATE_SUSPECT) {
        s_peer_put (self, &id, update->generation, update->name,
                    update->endpoint);
        s_member_back (self, &id, update->generation);
    }
    else {
        uint32_t at = rumor_id_table_lookup (&self->peer_index, &id);
        if (at != RUMOR_ID_TABLE_NONE
        &&  s_ident (self, self->peers [at])->generation <= update->generation)
            s_peer_remove (self, at);
        s_member_gone (self, &id, update->generation);
    }
    return 0;
}

int
rumor_anti_entropy_on_event (rumor_anti_entropy_t *self, int64_t now_ms,
                             const char *kind, const ProtobufCMessage *detail)
{
    assert (self);
    assert (kind);
    s_clock (self, now_ms);
    if (strcmp (kind, "member"))
        return 0;
    if (!detail || detail->descriptor != &rumor__member_update__descriptor) {
        self->stats.bad_event++;
        return -1;
    }
    return s_on_member (self, (const Rumor__MemberUpdate *) detail);
}

//  --------------------------------------------------------------------------
//  Time

//  Send our digest (a window of it, with more origins than a Digest
//  holds) to gossip_fanout random peers.
static void
s_round (rumor_anti_entropy_t *self)
{
    const rumor_ident_t **chosen = (const rumor_ident_t **) malloc (
        self->cfg.gossip_fanout * sizeof (rumor_ident_t *));
    assert (chosen);
    size_t n_chosen = s_pick_peers (self, self->cfg.gossip_fanout, NULL, NULL,
                                    chosen);
    if (n_chosen) {
        s_sort_origins (self);
        size_t total = self->n_sorted;
        size_t n = total < RUMOR_REPEATED_MAX? total: RUMOR_REPEATED_MAX;
        size_t first = total > n? self->digest_rotor % total: 0;
        Rumor__DigestEntry *items = (Rumor__DigestEntry *) malloc (
            (n + 1) * sizeof (Rumor__DigestEntry));
        Rumor__DigestEntry **ptrs = (Rumor__DigestEntry **) malloc (
            (n + 1) * sizeof (Rumor__DigestEntry *));
        assert (items && ptrs);
        for (size_t i = 0; i < n; i++) {
            s_origin_t *origin = self->sorted [(first + i) % total];
            Rumor__DigestEntry init = RUMOR__DIGEST_ENTRY__INIT;
            items [i] = init;
            items [i].origin = rumor_id_bin (&origin->id);
            items [i].generation = origin->generation;
            items [i].version = origin->max_version;
            ptrs [i] = &items [i];
        }
        self->digest_rotor = first + n;
        Rumor__Digest digest = RUMOR__DIGEST__INIT;
        digest.entries = ptrs;
        digest.n_entries = n;
        Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
        body.body_case = RUMOR__ENVELOPE__BODY_DIGEST;
        body.digest = &digest;
        for (size_t i = 0; i < n_chosen; i++) {
            rumor_fx_send (self->fx, &chosen [i]->id, chosen [i]->endpoint,
                           &body);
            self->stats.digests_sent++;
        }
        self->stats.rounds++;
        free (items);
        free (ptrs);
    }
    free (chosen);
}

//  Tell "expire" for entries that expired; ours become tombstones.
static void
s_sweep_expiries (rumor_anti_entropy_t *self)
{
    self->expire_at = INT64_MAX;
    zlistx_t *ours = zlistx_new ();
    assert (ours);
    for (s_origin_t *origin = (s_origin_t *) zhashx_first (self->origins);
         origin; origin = (s_origin_t *) zhashx_next (self->origins)) {
        for (s_entry_t *entry = (s_entry_t *) zhashx_first (origin->entries);
             entry; entry = (s_entry_t *) zhashx_next (origin->entries)) {
            if (entry->entry.deleted || !entry->entry.expires_at
            ||  entry->expire_told)
                continue;
            if (s_expired (&entry->entry, self->now)) {
                entry->expire_told = true;
                s_tell (self, &entry->entry, "expire", false);
                self->stats.expired++;
                if (origin == self->mine)
                    zlistx_add_end (ours, entry->key);
            }
            else
            if (entry->entry.expires_at < (uint64_t) self->expire_at)
                self->expire_at = (int64_t) entry->entry.expires_at;
        }
    }
    //  Our expired keys become tombstones, silently (expire was told)
    for (char *key = (char *) zlistx_first (ours); key;
         key = (char *) zlistx_next (ours)) {
        char *copy = strdup (key);
        assert (copy);
        s_write (self, copy, NULL, 0, 0, true, NULL);
        free (copy);
    }
    zlistx_destroy (&ours);
}

//  Drop tombstones older than tombstone_ttl_ms. Sweeps run at most every
//  1/64 of the TTL, so a burst of deletes costs a few scans, not one each.
static void
s_sweep_tombstones (rumor_anti_entropy_t *self)
{
    int64_t next = INT64_MAX;
    zlistx_t *doomed = zlistx_new ();
    assert (doomed);
    for (s_origin_t *origin = (s_origin_t *) zhashx_first (self->origins);
         origin; origin = (s_origin_t *) zhashx_next (self->origins)) {
        for (s_entry_t *entry = (s_entry_t *) zhashx_first (origin->entries);
             entry; entry = (s_entry_t *) zhashx_next (origin->entries)) {
            if (!entry->entry.deleted)
                continue;
            int64_t due = entry->stored_at + self->cfg.tombstone_ttl_ms;
            if (due <= self->now) {
                zlistx_add_end (doomed, origin);
                zlistx_add_end (doomed, entry->key);
            }
            else
            if (due < next)
                next = due;
        }
    }
    s_origin_t *origin = (s_origin_t *) zlistx_first (doomed);
    while (origin) {
        const char *key = (const char *) zlistx_next (doomed);
        s_entry_t *entry = (s_entry_t *) zhashx_lookup (origin->entries, key);
        origin->value_bytes -= entry->entry.value.len;
        zhashx_delete (origin->entries, key);
        self->stats.tombstones_collected++;
        origin = (s_origin_t *) zlistx_next (doomed);
    }
    zlistx_destroy (&doomed);
    int64_t floor = self->now + self->cfg.tombstone_ttl_ms / 64;
    self->collect_at = next == INT64_MAX? INT64_MAX: next > floor? next: floor;
}

//  Drop departed origins whose time is up, and end old markers.
static void
s_sweep_departed (rumor_anti_entropy_t *self)
{
    self->depart_at = INT64_MAX;
    zlistx_t *doomed = zlistx_new ();
    assert (doomed);
    for (s_origin_t *origin = (s_origin_t *) zhashx_first (self->origins);
         origin; origin = (s_origin_t *) zhashx_next (self->origins)) {
        if (!origin->departed)
            continue;
        if (origin->drop_at <= self->now)
            zlistx_add_end (doomed, origin);
        else
        if (origin->drop_at < self->depart_at)
            self->depart_at = origin->drop_at;
    }
    for (s_origin_t *origin = (s_origin_t *) zlistx_first (doomed); origin;
         origin = (s_origin_t *) zlistx_next (doomed)) {
        rumor_id_t id = origin->id;
        uint64_t generation = origin->departed_generation > origin->generation
                            ? origin->departed_generation: origin->generation;
        s_origin_clear (self, origin);
        zhashx_delete (self->origins, origin->hex);
        self->sorted_dirty = true;
        self->stats.origins_dropped++;
        s_member_gone (self, &id, generation);      //  leaves a marker
    }
    zlistx_destroy (&doomed);
    zlistx_t *ended = zlistx_new ();
    assert (ended);
    for (s_marker_t *marker = (s_marker_t *) zhashx_first (self->markers);
         marker; marker = (s_marker_t *) zhashx_next (self->markers)) {
        if (marker->forget_at <= self->now)
            zlistx_add_end (ended, (void *) zhashx_cursor (self->markers));
        else
        if (marker->forget_at < self->depart_at)
            self->depart_at = marker->forget_at;
    }
    for (const char *hex = (const char *) zlistx_first (ended); hex;
         hex = (const char *) zlistx_next (ended))
        zhashx_delete (self->markers, hex);
    zlistx_destroy (&ended);
}

void
rumor_anti_entropy_on_tick (rumor_anti_entropy_t *self, int64_t now_ms)
{
    assert (self);
    s_clock (self, now_ms);
    if (self->now >= self->round_at) {
        s_round (self);
        self->round_at += self->cfg.gossip_interval_ms;
        if (self->round_at <= self->now)
            self->round_at = self->now + self->cfg.gossip_interval_ms;
    }
    if (self->now >= self->expire_at)
        s_sweep_expiries (self);
    if (self->now >= self->collect_at)
        s_sweep_tombstones (self);
    if (self->now >= self->depart_at)
        s_sweep_departed (self);
}

int64_t
rumor_anti_entropy_next_deadline (rumor_anti_entropy_t *self)
{
    assert (self);
    if (!self->started)
        return -1;
    int64_t next = self->round_at;
    if (self->expire_at < next)
        next = self->expire_at;
    if (self->collect_at < next)
        next = self->collect_at;
    if (self->depart_at < next)
        next = self->depart_at;
    return next;
}

//  --------------------------------------------------------------------------
//  Lifecycle and queries

rumor_anti_entropy_t *
rumor_anti_entropy_new (const rumor_anti_entropy_cfg_t *cfg)
{
    assert (cfg);
    if (!s_cfg_valid (cfg))
        return NULL;
    rumor_anti_entropy_t *self =
        (rumor_anti_entropy_t *) zmalloc (sizeof (rumor_anti_entropy_t));
    assert (self);
    self->cfg = *cfg;
    self->fx = rumor_fx_new ();
    rumor_prng_seed (&self->prng, cfg->seed);
    self->origins = zhashx_new ();
    assert (self->origins);
    zhashx_set_destructor (self->origins, s_origin_free);
    self->markers = zhashx_new ();
    assert (self->markers);
    zhashx_set_destructor (self->markers, s_marker_free);
    self->idents = cfg->idents? rumor_ident_pool_link (cfg->idents)
                              : rumor_ident_pool_new ();
    self->cfg.idents = NULL;        //  ours is self->idents
    rumor_id_table_init (&self->peer_index, s_peer_key, self);
    self->mine = s_origin_add (self, &cfg->self, cfg->generation);
    self->expire_at = INT64_MAX;
    self->collect_at = INT64_MAX;
    self->depart_at = INT64_MAX;
    return self;
}

void
rumor_anti_entropy_destroy (rumor_anti_entropy_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rumor_anti_entropy_t *self = *self_p;
        for (size_t i = 0; i < self->n_peers; i++)
            rumor_ident_release (self->idents, self->peers [i]);
        free (self->peers);
        rumor_id_table_clear (&self->peer_index);
        rumor_ident_pool_destroy (&self->idents);
        zhashx_destroy (&self->markers);
        zhashx_destroy (&self->origins);
        free (self->sorted);
        rumor_fx_destroy (&self->fx);
        free (self);
        *self_p = NULL;
    }
}

zframe_t *
rumor_anti_entropy_next_effect (rumor_anti_entropy_t *self)
{
    assert (self);
    return rumor_fx_pop (self->fx);
}

const rumor_anti_entropy_stats_t *
rumor_anti_entropy_stats (rumor_anti_entropy_t *self)
{
    assert (self);
    return &self->stats;
}

static s_origin_t *
s_origin_of (rumor_anti_entropy_t *self, const rumor_id_t *origin)
{
    return origin? s_origin_lookup (self, origin): self->mine;
}

const Rumor__KvEntry *
rumor_anti_entropy_get (rumor_anti_entropy_t *self, const rumor_id_t *origin,
                        const char *key, int64_t now_ms)
{
    assert (self);
    s_origin_t *keyspace = s_origin_of (self, origin);
    if (!keyspace || !key)
        return NULL;
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (keyspace->entries, key);
    return entry && s_live (&entry->entry, now_ms)? &entry->entry: NULL;
}

static int
s_compare_strings (const void *a, const void *b)
{
    return strcmp (*(const char * const *) a, *(const char * const *) b);
}

size_t
rumor_anti_entropy_keys (rumor_anti_entropy_t *self, const rumor_id_t *origin,
                         zlistx_t *out)
{
    assert (self);
    assert (out);
    s_origin_t *keyspace = s_origin_of (self, origin);
    if (!keyspace)
        return 0;
    const char **keys = (const char **) malloc (
        (zhashx_size (keyspace->entries) + 1) * sizeof (char *));
    assert (keys);
    size_t n = 0;
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (keyspace->entries);
         entry; entry = (s_entry_t *) zhashx_next (keyspace->entries))
        if (s_live (&entry->entry, self->now))
            keys [n++] = entry->key;
    qsort (keys, n, sizeof (char *), s_compare_strings);
    for (size_t i = 0; i < n; i++) {
        char *copy = strdup (keys [i]);
        assert (copy);
        zlistx_add_end (out, copy);
    }
    free (keys);
    return n;
}

size_t
rumor_anti_entropy_origins (rumor_anti_entropy_t *self)
{
    assert (self);
    return zhashx_size (self->origins);
}

uint64_t
rumor_anti_entropy_version (rumor_anti_entropy_t *self,
                            const rumor_id_t *origin)
{
    assert (self);
    s_origin_t *keyspace = s_origin_of (self, origin);
    return keyspace? keyspace->max_version: 0;
}

size_t
rumor_anti_entropy_peers (rumor_anti_entropy_t *self)
{
    assert (self);
    return self->n_peers;
}
