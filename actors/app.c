/*  =========================================================================
    rumor_app - events, direct messages and queries (pure core)

    @header
    Plumtree broadcast of events and queries, topic patterns, direct
    messages and queries with response collection. See app.h for the
    contract; this file is the protocol.

    The broadcast follows Leitao et al. (SRDS 2007), "Epidemic Broadcast
    Trees", section 3:
      - first receipt of a message from S: deliver if heard, make S eager,
        push to every eager peer but S, announce (IHave) to a few lazy
        peers, keep the message for retain_ms to answer Grafts;
      - a duplicate from S: make S lazy and send it Prune;
      - IHave of an unknown message: start a timer; when it fires, make the
        announcer eager and Graft the message from it; the next timer tries
        the next announcer;
      - Graft from S: make S eager, send what it asked for;
      - Prune from S: make S lazy.
    @discuss
    We run over full membership rather than a HyParView partial view, so
    the eager set is kept to eager_fanout peers and IHave goes to
    lazy_fanout random lazy peers per batch: a node's cost per broadcast is
    O(1), not O(N), and the tree is repaired by Graft rather than by
    a partial-view protocol. The hop-count tree optimisation (section 3.8)
    is not done: on a LAN every path is about as short.
    @end
    =========================================================================
*/

#include "app.h"
#include "id_table.h"
#include "slab.h"

//  Announcers remembered per missing message. Each one is a second chance
//  after a graft timeout; beyond four the message is almost certainly
//  gone for everyone and the dedup window will not see it again anyway.
#define MISSING_ANNOUNCERS      4

//  Most words s_split can find in a topic or pattern: words may be empty
//  (refused after the split), so RUMOR_KEY_MAX dots make one word more
//  than there are bytes (found by fuzz_app: "...." overflowed half this).
#define WORDS_MAX               (RUMOR_KEY_MAX + 1)

//  Highest generation we accept: ids are generation << RUMOR_APP_ID_SHIFT
//  plus a counter and must stay below 2^63 (query ids are int64_t).
#define GENERATION_MAX          (1ULL << (62 - RUMOR_APP_ID_SHIFT))

//  Hash key of an (origin, id) pair: 16 id bytes, then the id big-endian
typedef struct {
    uint8_t bytes [RUMOR_ID_SIZE + 8];  //  origin, then id big-endian
} ref_key_t;

//  A broadcast message, Event or Query; pointers are borrowed.
typedef struct {
    bool is_query;                  //  Query (true) or Event (false)
    rumor_id_t origin;              //  node that said or asked it
    uint64_t id;                    //  origin's counter
    const char *topic;              //  topic, never NULL
    const uint8_t *payload;         //  payload bytes, may be NULL if size 0
    size_t size;                    //  payload size
    uint32_t hops;                  //  hops travelled to reach us
    uint64_t deadline;              //  Query only: absolute deadline, ms
} bcast_t;

//  A message kept to answer Grafts, in one allocation with its bytes.
typedef struct {
    ref_key_t key;                  //  hash key
    bcast_t msg;                    //  view into the bytes that follow
    int64_t at;                     //  when we got it
    size_t bytes;                   //  topic + payload bytes counted
} retained_t;

//  A message announced by IHave that we do not have yet.
typedef struct {
    ref_key_t key;                  //  hash key
    rumor_id_t origin;              //  message origin
    uint64_t id;                    //  message id
    uint32_t hops;                  //  hops at the first announcer
    rumor_id_t announcers [MISSING_ANNOUNCERS];  //  who told us, in order
    size_t count;                   //  announcers known
    size_t tried;                   //  announcers already grafted
    int64_t deadline;               //  when the current timer fires
    void *handle;                   //  our place in the timer FIFO
} missing_t;

//  One remembered (origin, id), in arrival order.
typedef struct {
    ref_key_t key;                  //  the pair
    int64_t at;                     //  when we first saw it
} seen_t;

//  Which Plumtree set a peer is in
typedef enum {
    PEER_EAGER,                     //  we push full messages to it
    PEER_LAZY                       //  we only announce to it
} peer_set_t;

//  A token bucket: what one origin may still send now, in thousandths of
//  a message (so that refills per millisecond stay exact in integers)
typedef struct {
    int64_t milli;                  //  tokens x 1000
    int64_t at;                     //  last refill, -1 = never used (full)
} bucket_t;

//  A live member other than self. A simulated cluster of N nodes holds N^2
//  of them: 24 bytes in a slab, named by a 32-bit handle in the index and
//  in its set's array (slab.h).
typedef struct {
    uint32_t ident;                 //  id, generation (when it became a
                                    //  peer) and last known endpoint, may
                                    //  be "" (ident.h)
    uint32_t index;                 //  position in its set's array (no
                                    //  more than max members)
    uint64_t live_since;            //  member epoch when it became a peer
    uint32_t bucket;                //  its rate_per_sec budget (bucket_t
                                    //  in self->buckets), or NONE before
                                    //  it sent us a broadcast
    uint8_t set;                    //  peer_set_t: eager or lazy
    bool linked;                    //  eager because the link carried a
                                    //  message or a Graft (not sampled)
} peer_t;

//  A set of peers as an array, for O(1) random picks and removal.
typedef struct {
    uint32_t *items;                //  peers (handles), unordered
    size_t size;                    //  peers in use
    size_t max;                     //  allocated slots
} peer_array_t;

//  One announced reference waiting for the next IHave batch.
typedef struct {
    rumor_id_t origin;              //  message origin
    uint64_t id;                    //  message id
    uint32_t hops;                  //  hops at us
    uint32_t rounds;                //  batches still to announce it in
} pending_ref_t;

//  One of our queries, collecting responses.
typedef struct {
    uint64_t id;                    //  query id (our origin counter)
    char *topic;                    //  query topic
    uint8_t *payload;               //  query payload, owned
    size_t size;                    //  payload size
    uint64_t deadline;              //  absolute, ms
    uint64_t start_epoch;           //  member epoch at the start
    size_t remaining;               //  expected and live, not answered yet
    zhashx_t *responders;           //  ids that answered
} query_t;

struct _rumor_app_t {
    rumor_app_cfg_t cfg;            //  our configuration
    rumor_prng_t prng;              //  peer choices
    rumor_fx_t *fx;                 //  queued effects
    rumor_app_stats_t stats;        //  counters
    rumor_app_error_t error;        //  last program call's error
    char self_hex [RUMOR_ID_HEX];   //  our id, hex
    uint64_t id_base;               //  first origin id of this generation
    uint64_t last_id;               //  last origin id used (events, queries)
    uint64_t direct_seq;            //  Direct counter
    uint64_t epoch;                 //  bumped on each new peer
    //  Peers
    rumor_ident_pool_t *idents;     //  identities of our peers
    rumor_slab_t peer_slab;         //  the peers (peer_t)
    rumor_slab_t buckets;           //  peers' rate budgets (bucket_t)
    rumor_id_table_t peers;         //  id -> peer handle
    peer_array_t eager;             //  eager push peers
    peer_array_t lazy;              //  lazy push peers
    //  Dedup: hash of pairs + ring in arrival order
    zhashx_t *seen;                 //  ref_key_t -> (void *) 1
    seen_t *ring;                   //  arrival order, oldest at ring_head
    size_t ring_head;               //  index of the oldest entry
    size_t ring_count;              //  entries in use
    size_t ring_max;                //  allocated entries (<= dedup_max)
    //  Retained messages
    zhashx_t *retained;             //  ref_key_t -> retained_t (owner)
    zlistx_t *retain_fifo;          //  retained_t, oldest first
    size_t retain_bytes;            //  bytes held
    //  Lazy push
    pending_ref_t *refs;            //  refs waiting for the next IHave
    size_t refs_count;              //  refs queued
    size_t refs_alloc;              //  slots allocated (grows)
    size_t refs_max;                //  queue bound
    int64_t ihave_due;              //  next IHave batch, -1 if none queued
    //  Grafts
    zhashx_t *missing;              //  ref_key_t -> missing_t (owner)
    zlistx_t *missing_fifo;         //  missing_t by deadline, soonest first
    //  Rate limit of origins that are not peers (yet), all together
    bucket_t strangers;
    //  Program side
    zlistx_t *patterns;             //  heard patterns (strings)
    query_t **queries;              //  our pending queries
    size_t query_count;             //  queries pending
    size_t query_alloc;             //  slots allocated (grows)
};


//  --------------------------------------------------------------------------
//  Peers' records

static peer_t *
s_peer_at (const rumor_app_t *self, uint32_t handle)
{
    return (peer_t *) rumor_slab_at (&self->peer_slab, handle);
}

//  Who a peer is: id, generation and endpoint
static const rumor_ident_t *
s_who (const rumor_app_t *self, const peer_t *peer)
{
    return rumor_ident_at (self->idents, peer->ident);
}

static const rumor_id_t *
s_peer_id (const rumor_app_t *self, const peer_t *peer)
{
    return &s_who (self, peer)->id;
}

//  The id of a peer handle (the index's key)
static const rumor_id_t *
s_peer_key (const void *arg, uint32_t handle)
{
    const rumor_app_t *self = (const rumor_app_t *) arg;
    return s_peer_id (self, s_peer_at (self, handle));
}


//  --------------------------------------------------------------------------
//  Hash keys: fixed-size binary keys for zhashx

static size_t
s_ref_hash (const void *key)
{
    return (size_t) rumor_hash64 (key, sizeof (ref_key_t));
}

static int
s_ref_cmp (const void *a, const void *b)
{
    return memcmp (a, b, sizeof (ref_key_t));
}

static void *
s_ref_dup (const void *key)
{
    void *copy = malloc (sizeof (ref_key_t));
    assert (copy);
    memcpy (copy, key, sizeof (ref_key_t));
    return copy;
}

static size_t
s_id_hash (const void *key)
{
    return (size_t) rumor_hash64 (key, RUMOR_ID_SIZE);
}

static int
s_id_cmp (const void *a, const void *b)
{
    return memcmp (a, b, RUMOR_ID_SIZE);
}

static void *
s_id_dup (const void *key)
{
    void *copy = malloc (RUMOR_ID_SIZE);
    assert (copy);
    memcpy (copy, key, RUMOR_ID_SIZE);
    return copy;
}

static void
s_key_free (void **key)
{
    free (*key);
    *key = NULL;
}

static void
s_item_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  New hash with binary keys of the given kind; items freed with free().
static zhashx_t *
s_hash_new (bool ref_keys, bool owns_items)
{
    zhashx_t *hash = zhashx_new ();
    assert (hash);
    zhashx_set_key_hasher (hash, ref_keys? s_ref_hash: s_id_hash);
    zhashx_set_key_comparator (hash, ref_keys? s_ref_cmp: s_id_cmp);
    zhashx_set_key_duplicator (hash, ref_keys? s_ref_dup: s_id_dup);
    zhashx_set_key_destructor (hash, s_key_free);
    if (owns_items)
        zhashx_set_destructor (hash, s_item_free);
    return hash;
}

//  Build the hash key of (origin, id).
static void
s_ref_key (ref_key_t *key, const rumor_id_t *origin, uint64_t id)
{
    memcpy (key->bytes, origin->bytes, RUMOR_ID_SIZE);
    for (int i = 0; i < 8; i++)
        key->bytes [RUMOR_ID_SIZE + i] = (uint8_t) (id >> (56 - 8 * i));
}

//  Program input refused: set the last error, bump its counter, return -1.
static int
s_refuse (rumor_app_t *self, rumor_app_error_t error, uint64_t *counter)
{
    self->error = error;
    (*counter)++;
    return -1;
}

//  Network or internal input refused: bump its counter, return -1. The
//  program's last error is left alone (the program did nothing wrong).
static int
s_drop (uint64_t *counter)
{
    (*counter)++;
    return -1;
}


//  --------------------------------------------------------------------------
//  Configuration and lifecycle

void
rumor_app_cfg_defaults (rumor_app_cfg_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof (*cfg));
    //  Three eager peers: Plumtree's tree degree. With full membership we
    //  keep the eager set small so each node sends O(1) copies; three gives
    //  a first broadcast that reaches everyone even with a lost link, and
    //  the duplicates it causes prune the links down to a tree.
    cfg->eager_fanout = RUMOR_APP_EAGER_FANOUT_DFLT;
    //  Three lazy peers per IHave batch: enough that a node missing a tree
    //  link hears of the message within a batch or two (each of N nodes
    //  picks 3, so a node is told about 3 times per batch on average),
    //  while lazy cost stays O(1) per node, not O(N).
    cfg->lazy_fanout = RUMOR_APP_LAZY_FANOUT_DFLT;
    //  50 ms batching: IHave is only repair, so it may wait; one IHave per
    //  50 ms carries every ref of a burst in one message.
    cfg->ihave_interval_ms = RUMOR_APP_IHAVE_INTERVAL_DFLT;
    //  Each ref in 3 batches (to 3 fresh random lazy peers each time): a
    //  node off the tree then misses every IHave with probability about
    //  e^-(lazy_fanout x rounds) = e^-9 ~ 1e-4 once all nodes hold the
    //  message; one round would leave e^-3 ~ 5% of such nodes untold.
    cfg->ihave_rounds = RUMOR_APP_IHAVE_ROUNDS_DFLT;
    //  100 ms before Graft: on a LAN the eager copy arrives in a few ms, so
    //  an IHave that is still unanswered after 100 ms means a lost link.
    cfg->graft_timeout_ms = RUMOR_APP_GRAFT_TIMEOUT_DFLT;
    //  60 s and 64 Ki pairs: far longer than any path through the tree or
    //  any graft repair (retain_ms), so a late copy is still recognised;
    //  64 Ki pairs is about 2.5 MiB of keys, 1000 events/s for a minute.
    cfg->dedup_window_ms = RUMOR_APP_DEDUP_WINDOW_DFLT;
    cfg->dedup_max = RUMOR_APP_DEDUP_MAX_DFLT;
    //  10 s of retained events: a graft follows an IHave within a few
    //  graft timeouts, so 10 s covers repairs even across a slow link.
    cfg->retain_ms = RUMOR_APP_RETAIN_DFLT;
    //  8 MiB of retained bytes: a burst of large payloads cannot grow the
    //  node without bound; older events are dropped first.
    cfg->retain_max_bytes = RUMOR_APP_RETAIN_BYTES_DFLT;
    //  64 hops: a tree over 10,000 nodes is about 10 deep; 64 leaves room
    //  for unbalanced trees and only stops forged or looping hop counts.
    cfg->max_hops = RUMOR_APP_MAX_HOPS_DFLT;
    //  1024 pending queries: a program that asks faster than its queries
    //  finish is broken; the bound keeps it from exhausting memory.
    cfg->max_queries = RUMOR_APP_MAX_QUERIES_DFLT;
    //  256 patterns: pattern matching is linear in the patterns.
    cfg->max_patterns = RUMOR_APP_MAX_PATTERNS_DFLT;
    //  256 refs per IHave/Graft: five batches of a 50k events/s burst; a
    //  peer asking for more in one Graft is refused.
    cfg->max_refs = RUMOR_APP_MAX_REFS_DFLT;
    //  4096 graft timers: a peer cannot make us track unbounded IHaves.
    cfg->max_missing = RUMOR_APP_MAX_MISSING_DFLT;
    cfg->max_payload = RUMOR_VALUE_MAX;
    //  One hour: longer queries are almost surely a unit mistake.
    cfg->query_max_ms = RUMOR_APP_QUERY_MAX_DFLT;
    //  5 s of clock skew between nodes before a peer's query deadline is
    //  called absurd (NTP keeps LAN clocks within milliseconds).
    cfg->clock_skew_ms = RUMOR_APP_CLOCK_SKEW_DFLT;
    //  250,000 new messages per second per origin (max-events-per-sec,
    //  framework/rumor_limits.h): above the benchmark targets (50,000 events/s
    //  from one sender, 200,000 directs/s between two nodes), and a ceiling
    //  on what one member can make every node deliver and forward.
    cfg->rate_per_sec = RUMOR_APP_RATE_DFLT;
}

//  True if every knob has a usable value.
static bool
s_cfg_valid (const rumor_app_cfg_t *cfg)
{
    return !rumor_id_is_zero (&cfg->self)
        && cfg->generation < GENERATION_MAX
        && cfg->eager_fanout > 0 && cfg->lazy_fanout > 0
        && cfg->ihave_interval_ms > 0 && cfg->ihave_rounds > 0
        && cfg->graft_timeout_ms > 0
        && cfg->dedup_window_ms > 0 && cfg->dedup_max > 0
        && cfg->retain_ms > 0 && cfg->retain_max_bytes > 0
        && cfg->max_hops > 0 && cfg->max_queries > 0
        && cfg->max_patterns > 0
        && cfg->max_refs > 0 && cfg->max_refs <= RUMOR_REPEATED_MAX
        && cfg->max_missing > 0
        && cfg->max_payload <= RUMOR_VALUE_MAX
        && cfg->query_max_ms > 0 && cfg->clock_skew_ms >= 0
        && cfg->rate_per_sec > 0 && cfg->rate_per_sec <= INT64_MAX / 1000000;
}

static int
s_string_cmp (const void *a, const void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

rumor_app_t *
rumor_app_new (const rumor_app_cfg_t *cfg)
{
    assert (cfg);
    if (!s_cfg_valid (cfg))
        return NULL;
    rumor_app_t *self = (rumor_app_t *) zmalloc (sizeof (rumor_app_t));
    assert (self);
    self->cfg = *cfg;
    rumor_prng_seed (&self->prng, cfg->seed);
    self->fx = rumor_fx_new ();
    rumor_id_hex (&cfg->self, self->self_hex);
    self->id_base = cfg->generation << RUMOR_APP_ID_SHIFT;
    self->last_id = self->id_base;
    self->idents = cfg->idents? rumor_ident_pool_link (cfg->idents)
                              : rumor_ident_pool_new ();
    self->cfg.idents = NULL;        //  ours is self->idents
    rumor_slab_init (&self->peer_slab, sizeof (peer_t), 8);
    rumor_slab_init (&self->buckets, sizeof (bucket_t), 4);
    rumor_id_table_init (&self->peers, s_peer_key, self);
    self->seen = s_hash_new (true, false);
    self->retained = s_hash_new (true, true);
    self->retain_fifo = zlistx_new ();
    self->missing = s_hash_new (true, true);
    self->missing_fifo = zlistx_new ();
    self->patterns = zlistx_new ();
    assert (self->retain_fifo && self->missing_fifo && self->patterns);
    zlistx_set_destructor (self->patterns, s_item_free);
    zlistx_set_comparator (self->patterns, s_string_cmp);
    //  The IHave queue holds four messages' worth of refs: beyond that we
    //  are far over what lazy repair is for, and the eager tree carries
    //  the load anyway.
    self->refs_max = 4 * (size_t) cfg->max_refs;
    self->ihave_due = -1;
    self->strangers.at = -1;
    return self;
}

//  Free a peer (by handle) that left the index and its set
static void
s_peer_destroy (rumor_app_t *self, uint32_t handle)
{
    peer_t *peer = s_peer_at (self, handle);
    if (peer->bucket != RUMOR_SLAB_NONE)
        rumor_slab_free (&self->buckets, peer->bucket);
    rumor_ident_release (self->idents, peer->ident);
    rumor_slab_free (&self->peer_slab, handle);
}

static void
s_query_destroy (query_t **query_p)
{
    if (*query_p) {
        query_t *query = *query_p;
        zhashx_destroy (&query->responders);
        free (query->topic);
        free (query->payload);
        free (query);
        *query_p = NULL;
    }
}

void
rumor_app_destroy (rumor_app_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rumor_app_t *self = *self_p;
        for (size_t i = 0; i < self->eager.size; i++)
            s_peer_destroy (self, self->eager.items [i]);
        for (size_t i = 0; i < self->lazy.size; i++)
            s_peer_destroy (self, self->lazy.items [i]);
        free (self->eager.items);
        free (self->lazy.items);
        rumor_id_table_clear (&self->peers);
        rumor_slab_clear (&self->peer_slab);
        rumor_slab_clear (&self->buckets);
        rumor_ident_pool_destroy (&self->idents);
        zhashx_destroy (&self->seen);
        free (self->ring);
        zlistx_destroy (&self->retain_fifo);
        zhashx_destroy (&self->retained);
        zlistx_destroy (&self->missing_fifo);
        zhashx_destroy (&self->missing);
        zlistx_destroy (&self->patterns);
        for (size_t i = 0; i < self->query_count; i++)
            s_query_destroy (&self->queries [i]);
        free (self->queries);
        free (self->refs);
        rumor_fx_destroy (&self->fx);
        free (self);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Peer sets

//  Add a peer (by handle) at the end of a set's array.
static void
s_array_add (rumor_app_t *self, peer_array_t *array, uint32_t handle)
{
    if (array->size == array->max) {
        array->max = array->max? array->max * 2: 8;
        array->items = (uint32_t *) realloc (array->items,
                                             array->max * sizeof (uint32_t));
        assert (array->items);
    }
    s_peer_at (self, handle)->index = (uint32_t) array->size;
    array->items [array->size++] = handle;
}

//  Remove by swapping the last peer into the hole; returns the handle.
static uint32_t
s_array_remove (rumor_app_t *self, peer_array_t *array, peer_t *peer)
{
    assert (peer->index < array->size);
    uint32_t handle = array->items [peer->index];
    assert (s_peer_at (self, handle) == peer);
    uint32_t last = array->items [--array->size];
    array->items [peer->index] = last;
    s_peer_at (self, last)->index = peer->index;
    return handle;
}

static peer_array_t *
s_array_of (rumor_app_t *self, peer_set_t set)
{
    return set == PEER_EAGER? &self->eager: &self->lazy;
}

//  Move a peer to the eager or lazy set (no-op if already there).
static void
s_peer_move (rumor_app_t *self, peer_t *peer, peer_set_t set)
{
    if (set == PEER_LAZY)
        peer->linked = false;
    if (peer->set == set)
        return;
    uint32_t handle = s_array_remove (self, s_array_of (self, peer->set), peer);
    peer->set = set;
    s_array_add (self, s_array_of (self, set), handle);
}

//  Make a peer eager because the link is in use (a message arrived on it
//  first, or a Graft crossed it): such links are kept for newcomers.
static void
s_peer_link (rumor_app_t *self, peer_t *peer)
{
    s_peer_move (self, peer, PEER_EAGER);
    peer->linked = true;
}

static peer_t *
s_peer_lookup (rumor_app_t *self, const rumor_id_t *id)
{
    uint32_t handle = rumor_id_table_lookup (&self->peers, id);
    return handle == RUMOR_ID_TABLE_NONE? NULL: s_peer_at (self, handle);
}

//  A peer by a protobuf bytes id, or NULL (also for a bad length).
static peer_t *
s_peer_lookup_bin (rumor_app_t *self, ProtobufCBinaryData bin, rumor_id_t *id)
{
    if (rumor_id_from_bin (id, bin))
        return NULL;
    return s_peer_lookup (self, id);
}

//  Promote random lazy peers until the eager set is back to eager_fanout
//  (or no lazy peer is left): a lost eager peer may have been our only
//  tree link to part of the cluster.
static void
s_promote (rumor_app_t *self)
{
    while (self->eager.size < self->cfg.eager_fanout && self->lazy.size > 0) {
        uint32_t pick = rumor_prng_below (&self->prng, (uint32_t) self->lazy.size);
        s_peer_link (self, s_peer_at (self, self->lazy.items [pick]));
        self->stats.promoted++;
    }
}

//  Does a new peer take an eager slot? Yes if the eager set is short.
//  Otherwise reservoir sampling (Vitter's algorithm R): the k-th peer
//  takes a slot with probability eager_fanout / k from a random eager peer
//  whose link never carried traffic. Before any traffic the eager set is
//  thus a uniform random sample of the members, the random overlay
//  Plumtree assumes: taken in join order, every node would pick the same
//  first members (a star that leaves most nodes to lazy repair). Once the
//  tree has formed every eager link is in use, and new peers join lazy.
static bool
s_sample_eager (rumor_app_t *self)
{
    if (self->eager.size < self->cfg.eager_fanout)
        return true;
    uint32_t k = (uint32_t) rumor_id_table_size (&self->peers) + 1;
    if (rumor_prng_below (&self->prng, k) >= self->cfg.eager_fanout)
        return false;
    size_t unlinked = 0;
    for (size_t i = 0; i < self->eager.size; i++)
        unlinked += !s_peer_at (self, self->eager.items [i])->linked;
    if (unlinked == 0)
        return false;
    size_t pick = rumor_prng_below (&self->prng, (uint32_t) unlinked);
    for (size_t i = 0; i < self->eager.size; i++) {
        peer_t *peer = s_peer_at (self, self->eager.items [i]);
        if (!peer->linked && pick-- == 0) {
            s_peer_move (self, peer, PEER_LAZY);
            break;
        }
    }
    return true;
}

//  A new peer: eager if sampled (see s_sample_eager), else lazy; the tree
//  already reaches the cluster, and Graft adds links where it does not.
//  Our choice is one-way until traffic crosses the link (the receiver of a
//  first copy makes the sender eager): about e^-eager_fanout of the nodes
//  (5% at 3) have no link in before the first broadcast, and so does a
//  node joining a formed tree; they get that broadcast by IHave -> Graft.
static void
s_peer_add (rumor_app_t *self, const rumor_id_t *id,
            const Rumor__MemberUpdate *update)
{
    uint32_t handle = rumor_slab_alloc (&self->peer_slab);
    peer_t *peer = s_peer_at (self, handle);
    peer->ident = rumor_ident_get (self->idents, id, update->generation,
                                   update->name, update->endpoint);
    peer->live_since = ++self->epoch;
    peer->bucket = RUMOR_SLAB_NONE;
    peer->set = s_sample_eager (self)? PEER_EAGER: PEER_LAZY;
    s_array_add (self, s_array_of (self, peer->set), handle);
    rumor_id_table_insert (&self->peers, handle);
}

static void s_query_member_gone (rumor_app_t *self, const peer_t *peer);

//  Forget a peer everywhere, then refill the eager set if it fell short.
static void
s_peer_remove (rumor_app_t *self, peer_t *peer)
{
    bool was_eager = peer->set == PEER_EAGER;
    uint32_t handle = s_array_remove (self, s_array_of (self, peer->set), peer);
    s_query_member_gone (self, peer);
    rumor_id_table_delete (&self->peers, s_peer_id (self, peer));
    s_peer_destroy (self, handle);
    if (was_eager)
        s_promote (self);
}

//  Apply a member event: ALIVE/SUSPECT are peers, DEAD/LEFT are removed.
static int
s_on_member (rumor_app_t *self, const Rumor__MemberUpdate *update)
{
    rumor_id_t id;
    if (rumor_id_from_bin (&id, update->id))
        return s_drop (&self->stats.refused_bad_member);
    if (rumor_id_eq (&id, &self->cfg.self)) {
        self->stats.ignored_events++;
        return 0;
    }
    bool live = update->state == RUMOR__STATE__STATE_ALIVE
             || update->state == RUMOR__STATE__STATE_SUSPECT;
    bool gone = update->state == RUMOR__STATE__STATE_DEAD
             || update->state == RUMOR__STATE__STATE_LEFT;
    if (!live && !gone)
        return s_drop (&self->stats.refused_bad_member);

    peer_t *peer = s_peer_lookup (self, &id);
    uint64_t generation = peer? s_who (self, peer)->generation: 0;
    if (peer && update->generation < generation) {
        self->stats.ignored_events++;   //  news of an older life: stale
        return 0;
    }
    self->stats.member_updates++;
    //  A new generation is a restarted process: the old one is gone (it
    //  will never answer our queries), the new one starts afresh.
    if (peer && (gone || update->generation > generation)) {
        s_peer_remove (self, peer);
        peer = NULL;
    }
    if (live && !peer)
        s_peer_add (self, &id, update);
    else
    if (live)
        rumor_ident_set (self->idents, &peer->ident, &id, generation,
                         update->name, update->endpoint);
    return 0;
}


//  --------------------------------------------------------------------------
//  Sending

//  Queue a SEND of body to id, with its endpoint if it is a peer.
static int
s_send (rumor_app_t *self, const rumor_id_t *to, const Rumor__Envelope *body)
{
    peer_t *peer = s_peer_lookup (self, to);
    const char *endpoint = peer? s_who (self, peer)->endpoint: NULL;
    if (endpoint && !*endpoint)
        endpoint = NULL;
    return rumor_fx_send (self->fx, to, endpoint, body);
}

//  Send a broadcast message to one peer with the given hop count.
static void
s_send_bcast (rumor_app_t *self, const rumor_id_t *to, const bcast_t *msg,
              uint32_t hops)
{
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    Rumor__Event event = RUMOR__EVENT__INIT;
    Rumor__Query query = RUMOR__QUERY__INIT;
    ProtobufCBinaryData payload = { msg->size, (uint8_t *) msg->payload };
    if (msg->is_query) {
        query.origin = rumor_id_bin (&msg->origin);
        query.id = msg->id;
        query.topic = (char *) msg->topic;
        query.payload = payload;
        query.deadline = msg->deadline;
        query.hops = hops;
        body.body_case = RUMOR__ENVELOPE__BODY_QUERY;
        body.query = &query;
    }
    else {
        event.origin = rumor_id_bin (&msg->origin);
        event.id = msg->id;
        event.topic = (char *) msg->topic;
        event.payload = payload;
        event.hops = hops;
        body.body_case = RUMOR__ENVELOPE__BODY_EVENT;
        body.event = &event;
    }
    s_send (self, to, &body);
    self->stats.eager_sent++;
}

static void
s_send_prune (rumor_app_t *self, const rumor_id_t *to)
{
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    Rumor__Prune prune = RUMOR__PRUNE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PRUNE;
    body.prune = &prune;
    s_send (self, to, &body);
    self->stats.prune_sent++;
}

//  Send an IHave or Graft carrying count refs.
static void
s_send_refs (rumor_app_t *self, const rumor_id_t *to, bool graft,
             const pending_ref_t *refs, size_t count)
{
    Rumor__EventRef *items = (Rumor__EventRef *) calloc (count + 1, sizeof (Rumor__EventRef));
    Rumor__EventRef **pointers = (Rumor__EventRef **) calloc (count + 1, sizeof (Rumor__EventRef *));
    assert (items && pointers);
    for (size_t i = 0; i < count; i++) {
        rumor__event_ref__init (&items [i]);
        items [i].origin = rumor_id_bin (&refs [i].origin);
        items [i].id = refs [i].id;
        items [i].hops = refs [i].hops;
        pointers [i] = &items [i];
    }
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    Rumor__IHave ihave = RUMOR__IHAVE__INIT;
    Rumor__Graft graft_msg = RUMOR__GRAFT__INIT;
    if (graft) {
        graft_msg.n_refs = count;
        graft_msg.refs = pointers;
        body.body_case = RUMOR__ENVELOPE__BODY_GRAFT;
        body.graft = &graft_msg;
    }
    else {
        ihave.n_refs = count;
        ihave.refs = pointers;
        body.body_case = RUMOR__ENVELOPE__BODY_IHAVE;
        body.ihave = &ihave;
    }
    s_send (self, to, &body);
    free (pointers);
    free (items);
}


//  --------------------------------------------------------------------------
//  Dedup: (origin, id) pairs remembered for dedup_window_ms, at most
//  dedup_max of them, oldest forgotten first.

static bool
s_seen_has (rumor_app_t *self, const ref_key_t *key)
{
    return zhashx_lookup (self->seen, key) != NULL;
}

static void
s_seen_drop_oldest (rumor_app_t *self)
{
    seen_t *oldest = &self->ring [self->ring_head];
    zhashx_delete (self->seen, &oldest->key);
    self->ring_head = (self->ring_head + 1) % self->ring_max;
    self->ring_count--;
}

//  Grow the ring (doubling, up to dedup_max) so an idle node stays small.
static void
s_seen_grow (rumor_app_t *self)
{
    size_t max = self->ring_max? self->ring_max * 2: 64;
    if (max > self->cfg.dedup_max)
        max = self->cfg.dedup_max;
    seen_t *ring = (seen_t *) malloc (max * sizeof (seen_t));
    assert (ring);
    for (size_t i = 0; i < self->ring_count; i++)
        ring [i] = self->ring [(self->ring_head + i) % self->ring_max];
    free (self->ring);
    self->ring = ring;
    self->ring_head = 0;
    self->ring_max = max;
}

static void
s_seen_add (rumor_app_t *self, int64_t now, const ref_key_t *key)
{
    if (self->ring_count == self->ring_max) {
        if (self->ring_max < self->cfg.dedup_max)
            s_seen_grow (self);
        else {
            s_seen_drop_oldest (self);
            self->stats.dedup_evicted++;
        }
    }
    size_t slot = (self->ring_head + self->ring_count) % self->ring_max;
    self->ring [slot].key = *key;
    self->ring [slot].at = now;
    self->ring_count++;
    zhashx_insert (self->seen, key, (void *) 1);
}

static void
s_seen_expire (rumor_app_t *self, int64_t now)
{
    while (self->ring_count > 0
       &&  self->ring [self->ring_head].at + self->cfg.dedup_window_ms <= now)
        s_seen_drop_oldest (self);
}


//  --------------------------------------------------------------------------
//  Retained messages, to answer Grafts

static void
s_retain_drop_oldest (rumor_app_t *self)
{
    retained_t *oldest = (retained_t *) zlistx_detach (self->retain_fifo, NULL);
    self->retain_bytes -= oldest->bytes;
    zhashx_delete (self->retained, &oldest->key);   //  frees oldest
}

//  Keep a copy of msg (one allocation: struct, topic, payload).
static void
s_retain_add (rumor_app_t *self, int64_t now, const ref_key_t *key,
              const bcast_t *msg)
{
    if (zhashx_lookup (self->retained, key))
        return;                     //  re-received after a dedup eviction
    size_t topic_size = strlen (msg->topic) + 1;
    retained_t *kept = (retained_t *) malloc (sizeof (retained_t)
                                              + topic_size + msg->size);
    assert (kept);
    char *topic = (char *) (kept + 1);
    memcpy (topic, msg->topic, topic_size);
    if (msg->size)
        memcpy (topic + topic_size, msg->payload, msg->size);
    kept->key = *key;
    kept->msg = *msg;
    kept->msg.topic = topic;
    kept->msg.payload = (const uint8_t *) topic + topic_size;
    kept->at = now;
    kept->bytes = topic_size + msg->size;
    zhashx_insert (self->retained, key, kept);
    zlistx_add_end (self->retain_fifo, kept);
    self->retain_bytes += kept->bytes;
    while (self->retain_bytes > self->cfg.retain_max_bytes
       &&  zlistx_size (self->retain_fifo) > 1) {
        s_retain_drop_oldest (self);
        self->stats.retain_evicted++;
    }
}

static void
s_retain_expire (rumor_app_t *self, int64_t now)
{
    retained_t *oldest;
    while ((oldest = (retained_t *) zlistx_first (self->retain_fifo))
       &&  oldest->at + self->cfg.retain_ms <= now)
        s_retain_drop_oldest (self);
}

//  Expire dedup and retained entries; run on every input.
static void
s_housekeep (rumor_app_t *self, int64_t now)
{
    s_seen_expire (self, now);
    s_retain_expire (self, now);
}


//  --------------------------------------------------------------------------
//  Topics and patterns

typedef struct {
    const char *start;              //  first byte of the word
    size_t size;                    //  bytes in the word
} word_t;

//  Split a dotted string into words. "" has no words. Returns the count,
//  or -1 if the string is longer than RUMOR_KEY_MAX.
static int
s_split (const char *string, word_t *words)
{
    size_t length = strnlen (string, RUMOR_KEY_MAX + 1);
    if (length > RUMOR_KEY_MAX)
        return -1;
    if (length == 0)
        return 0;
    int count = 0;
    const char *start = string;
    while (true) {
        const char *dot = strchr (start, '.');
        size_t size = dot? (size_t) (dot - start): strlen (start);
        words [count].start = start;
        words [count].size = size;
        count++;
        if (!dot)
            return count;
        start = dot + 1;
    }
}

static bool
s_word_is (const word_t *word, const char *literal)
{
    return word->size == strlen (literal)
        && memcmp (word->start, literal, word->size) == 0;
}

//  True if the word is empty or holds a wildcard character.
static bool
s_word_bad_in_topic (const word_t *word)
{
    return word->size == 0
        || memchr (word->start, '*', word->size)
        || memchr (word->start, '#', word->size);
}

bool
rumor_app_pattern_valid (const char *pattern)
{
    assert (pattern);
    word_t words [WORDS_MAX];
    int count = s_split (pattern, words);
    if (count <= 0)
        return false;
    for (int i = 0; i < count; i++)
        if (s_word_bad_in_topic (&words [i])
        &&  !s_word_is (&words [i], "*") && !s_word_is (&words [i], "#"))
            return false;
    return true;
}

//  A topic for say/query: non-empty, bounded, no empty word, no wildcard,
//  and valid UTF-8 without NUL, or every peer's codec would refuse the
//  message and the program its own delivery (found by fuzz_app).
static bool
s_topic_valid (const char *topic)
{
    if (!rumor_codec_valid_string (topic, RUMOR_KEY_MAX))
        return false;
    word_t words [WORDS_MAX];
    int count = s_split (topic, words);
    if (count <= 0)
        return false;
    for (int i = 0; i < count; i++)
        if (s_word_bad_in_topic (&words [i]))
            return false;
    return true;
}

//  One step of the matcher: from the topic prefixes the pattern so far
//  matches (matched [j]: the first j topic words), to those it matches
//  after one more pattern word. Dynamic programming, so even many '#'
//  cost O(pattern words x topic words), never exponential.
static void
s_match_step (const word_t *pattern_word, const word_t *topic, int count,
              const bool *matched, bool *next)
{
    if (s_word_is (pattern_word, "#")) {
        bool any = false;           //  '#' eats zero or more words
        for (int j = 0; j <= count; j++)
            next [j] = (any = any || matched [j]);
        return;
    }
    bool star = s_word_is (pattern_word, "*");
    next [0] = false;
    for (int j = 1; j <= count; j++)
        next [j] = matched [j - 1]
            && (star || (pattern_word->size == topic [j - 1].size
                         && memcmp (pattern_word->start, topic [j - 1].start,
                                    pattern_word->size) == 0));
}

bool
rumor_app_topic_matches (const char *pattern, const char *topic)
{
    assert (pattern);
    assert (topic);
    if (!rumor_app_pattern_valid (pattern))
        return false;
    word_t pattern_words [WORDS_MAX], topic_words [WORDS_MAX];
    int patterns = s_split (pattern, pattern_words);
    int count = s_split (topic, topic_words);
    if (count < 0)
        return false;
    bool matched [WORDS_MAX + 1] = { true }, next [WORDS_MAX + 1];
    for (int i = 0; i < patterns; i++) {
        s_match_step (&pattern_words [i], topic_words, count, matched, next);
        memcpy (matched, next, sizeof (bool) * (size_t) (count + 1));
    }
    return matched [count];
}

bool
rumor_app_hears (rumor_app_t *self, const char *topic)
{
    assert (self);
    assert (topic);
    const char *pattern = (const char *) zlistx_first (self->patterns);
    for (; pattern; pattern = (const char *) zlistx_next (self->patterns))
        if (rumor_app_topic_matches (pattern, topic))
            return true;
    return false;
}

int
rumor_app_hear (rumor_app_t *self, const char *pattern)
{
    assert (self);
    assert (pattern);
    self->error = RUMOR_APP_OK;
    if (!rumor_app_pattern_valid (pattern))
        return s_refuse (self, RUMOR_APP_E_BAD_PATTERN,
                         &self->stats.refused_bad_pattern);
    if (zlistx_find (self->patterns, (void *) pattern))
        return 0;                   //  already heard
    if (zlistx_size (self->patterns) >= self->cfg.max_patterns)
        return s_refuse (self, RUMOR_APP_E_TOO_MANY_PATTERNS,
                         &self->stats.refused_too_many_patterns);
    zlistx_add_end (self->patterns, strdup (pattern));
    return 0;
}

int
rumor_app_unhear (rumor_app_t *self, const char *pattern)
{
    assert (self);
    assert (pattern);
    self->error = RUMOR_APP_OK;
    void *handle = zlistx_find (self->patterns, (void *) pattern);
    if (!handle)
        return s_refuse (self, RUMOR_APP_E_UNKNOWN_PATTERN,
                         &self->stats.refused_unknown_pattern);
    zlistx_delete (self->patterns, handle);
    return 0;
}


//  --------------------------------------------------------------------------
//  Broadcast

//  Give a broadcast message to the program if we hear its topic. Events
//  carry the origin's hex as extra (a program can tell its own events);
//  queries carry "" (the origin is in the Query).
static void
s_deliver (rumor_app_t *self, const bcast_t *msg)
{
    if (!rumor_app_hears (self, msg->topic))
        return;
    ProtobufCBinaryData payload = { msg->size, (uint8_t *) msg->payload };
    if (msg->is_query) {
        Rumor__Query query = RUMOR__QUERY__INIT;
        query.origin = rumor_id_bin (&msg->origin);
        query.id = msg->id;
        query.topic = (char *) msg->topic;
        query.payload = payload;
        query.deadline = msg->deadline;
        query.hops = msg->hops;
        rumor_fx_event (self->fx, "query", &query.base, "");
    }
    else {
        Rumor__Event event = RUMOR__EVENT__INIT;
        event.origin = rumor_id_bin (&msg->origin);
        event.id = msg->id;
        event.topic = (char *) msg->topic;
        event.payload = payload;
        event.hops = msg->hops;
        char origin [RUMOR_ID_HEX];
        rumor_fx_event (self->fx, "event", &event.base,
                        rumor_id_hex (&msg->origin, origin));
    }
    self->stats.delivered++;
}

static void s_ihave_flush (rumor_app_t *self, int64_t now);

//  Drop the queued refs that were announced at least once; returns how
//  many went.
static size_t
s_ihave_cut_announced (rumor_app_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->refs_count; i++)
        if (self->refs [i].rounds == self->cfg.ihave_rounds)
            self->refs [kept++] = self->refs [i];
    size_t cut = self->refs_count - kept;
    self->refs_count = kept;
    if (kept == 0)
        self->ihave_due = -1;
    return cut;
}

//  The IHave queue is full: make room without losing an announcement.
//  IHave is the only repair of a cut tree, and under load the tree is cut
//  and regrown again and again (both ends of a link prune it when
//  duplicates cross); a message whose ref was dropped unannounced everywhere is lost
//  to every node below the cut (measured: 8 nodes flooded by one sayer,
//  3 runs in 6 lost 0.01-0.7% of the events at half of the receivers).
//  So refs announced at least once give up their later rounds first; if
//  none was announced yet, the batch goes now instead of at the interval,
//  which announces every one of them once. False if there is no room yet.
static bool
s_ihave_make_room (rumor_app_t *self, int64_t now)
{
    size_t cut = s_ihave_cut_announced (self);
    if (cut == 0) {
        s_ihave_flush (self, now);
        cut = s_ihave_cut_announced (self);
    }
    self->stats.ihave_rounds_cut += cut;
    return self->refs_count < self->refs_max;
}

//  Queue a ref for the next IHave batch, arming the batch timer.
static void
s_ihave_queue (rumor_app_t *self, int64_t now, const bcast_t *msg)
{
    if (self->lazy.size == 0)
        return;                     //  nobody to announce to
    if (self->refs_count == self->refs_max
    &&  !s_ihave_make_room (self, now)) {
        self->stats.ihave_dropped++;
        return;
    }
    if (self->refs_count == self->refs_alloc) {
        //  Grow on demand: most nodes of a big simulation stay idle
        self->refs_alloc = self->refs_alloc? self->refs_alloc * 2: 16;
        self->refs = (pending_ref_t *) realloc (self->refs,
                         self->refs_alloc * sizeof (pending_ref_t));
        assert (self->refs);
    }
    pending_ref_t *ref = &self->refs [self->refs_count++];
    ref->origin = msg->origin;
    ref->id = msg->id;
    ref->hops = msg->hops;
    ref->rounds = self->cfg.ihave_rounds;
    if (self->ihave_due < 0)
        self->ihave_due = now + self->cfg.ihave_interval_ms;
}

//  Spread a message we have for the first time: push to eager peers but
//  the one it came from, announce to lazy ones, keep it for Grafts.
static void
s_spread (rumor_app_t *self, int64_t now, const ref_key_t *key,
          const bcast_t *msg, const rumor_id_t *from)
{
    s_retain_add (self, now, key, msg);
    if (msg->hops >= self->cfg.max_hops)
        return;                     //  next hop would be refused anyway
    for (size_t i = 0; i < self->eager.size; i++) {
        const rumor_id_t *id = s_peer_id (self, s_peer_at (self,
                                                          self->eager.items [i]));
        if (!from || !rumor_id_eq (id, from))
            s_send_bcast (self, id, msg, msg->hops + 1);
    }
    s_ihave_queue (self, now, msg);
}

//  Pick up to k distinct random lazy peers into picks; returns the count.
static size_t
s_pick_lazy (rumor_app_t *self, peer_t **picks, size_t k)
{
    size_t size = self->lazy.size;
    if (size <= k) {
        for (size_t i = 0; i < size; i++)
            picks [i] = s_peer_at (self, self->lazy.items [i]);
        return size;
    }
    size_t count = 0;
    while (count < k) {
        peer_t *peer = s_peer_at (self, self->lazy.items [
            rumor_prng_below (&self->prng, (uint32_t) size)]);
        bool taken = false;
        for (size_t i = 0; i < count; i++)
            taken = taken || picks [i] == peer;
        if (!taken)
            picks [count++] = peer;
    }
    return count;
}

//  Send the queued refs to lazy_fanout random lazy peers, max_refs per
//  IHave; keep each ref for ihave_rounds batches, then forget it.
static void
s_ihave_flush (rumor_app_t *self, int64_t now)
{
    size_t fanout = self->cfg.lazy_fanout;
    peer_t **picks = (peer_t **) calloc (fanout, sizeof (peer_t *));
    assert (picks);
    size_t count = s_pick_lazy (self, picks, fanout);
    for (size_t i = 0; i < count; i++)
        for (size_t start = 0; start < self->refs_count;
             start += self->cfg.max_refs) {
            size_t chunk = self->refs_count - start;
            if (chunk > self->cfg.max_refs)
                chunk = self->cfg.max_refs;
            s_send_refs (self, s_peer_id (self, picks [i]), false,
                         self->refs + start, chunk);
            self->stats.ihave_sent++;
            self->stats.ihave_refs_sent += chunk;
        }
    free (picks);
    size_t kept = 0;
    for (size_t i = 0; i < self->refs_count; i++)
        if (--self->refs [i].rounds > 0 && count > 0)
            self->refs [kept++] = self->refs [i];
    self->refs_count = kept;
    self->ihave_due = kept? now + self->cfg.ihave_interval_ms: -1;
}

//  Stop waiting for a message that has arrived.
static void
s_missing_cancel (rumor_app_t *self, const ref_key_t *key)
{
    missing_t *missing = (missing_t *) zhashx_lookup (self->missing, key);
    if (missing) {
        zlistx_delete (self->missing_fifo, missing->handle);
        zhashx_delete (self->missing, key);
    }
}

//  Convert an incoming Event or Query into a view.
static void
s_bcast_from_env (const Rumor__Envelope *env, bcast_t *msg)
{
    memset (msg, 0, sizeof (*msg));
    if (env->body_case == RUMOR__ENVELOPE__BODY_QUERY) {
        const Rumor__Query *query = env->query;
        msg->is_query = true;
        rumor_id_from_bin (&msg->origin, query->origin);
        msg->id = query->id;
        msg->topic = query->topic? query->topic: "";
        msg->payload = query->payload.data;
        msg->size = query->payload.len;
        msg->hops = query->hops;
        msg->deadline = query->deadline;
    }
    else {
        const Rumor__Event *event = env->event;
        rumor_id_from_bin (&msg->origin, event->origin);
        msg->id = event->id;
        msg->topic = event->topic? event->topic: "";
        msg->payload = event->payload.data;
        msg->size = event->payload.len;
        msg->hops = event->hops;
    }
}

//  True if a peer's query deadline is plausible: not already past and not
//  beyond the longest query, each with clock_skew_ms of tolerance.
static bool
s_deadline_sane (rumor_app_t *self, int64_t now, uint64_t deadline)
{
    int64_t skew = self->cfg.clock_skew_ms;
    if (deadline > (uint64_t) INT64_MAX)
        return false;
    return (int64_t) deadline + skew >= now
        && (int64_t) deadline <= now + self->cfg.query_max_ms + skew;
}

//  Take one message from the bucket of origin (a peer, or the strangers'
//  bucket): refill at rate_per_sec up to one second's worth, then spend
//  1000 thousandths. False if it is empty: the message is refused.
static bool
s_rate_take (rumor_app_t *self, int64_t now, const rumor_id_t *origin)
{
    peer_t *peer = s_peer_lookup (self, origin);
    if (peer && peer->bucket == RUMOR_SLAB_NONE) {
        peer->bucket = rumor_slab_alloc (&self->buckets);
        ((bucket_t *) rumor_slab_at (&self->buckets, peer->bucket))->at = -1;
    }
    bucket_t *bucket = peer? (bucket_t *) rumor_slab_at (&self->buckets,
                                                         peer->bucket)
                           : &self->strangers;
    int64_t full = self->cfg.rate_per_sec * 1000;
    if (bucket->at < 0) {
        bucket->milli = full;
        bucket->at = now;
    }
    if (now > bucket->at) {
        int64_t elapsed = now - bucket->at;
        //  elapsed beyond a second refills the bucket anyway (no overflow)
        bucket->milli = elapsed >= 1000? full
                      : bucket->milli + elapsed * self->cfg.rate_per_sec;
        if (bucket->milli > full)
            bucket->milli = full;
        bucket->at = now;
    }
    if (bucket->milli < 1000)
        return false;
    bucket->milli -= 1000;
    return true;
}

//  A duplicate: the link it came on is redundant, prune it (section 3.5).
static void
s_on_duplicate (rumor_app_t *self, peer_t *sender)
{
    self->stats.duplicates++;
    if (sender) {
        s_peer_move (self, sender, PEER_LAZY);
        s_send_prune (self, s_peer_id (self, sender));
    }
}

//  Event or Query from the network.
static int
s_handle_bcast (rumor_app_t *self, int64_t now, const Rumor__Envelope *env)
{
    bcast_t msg;
    s_bcast_from_env (env, &msg);
    rumor_id_t from;
    peer_t *sender = s_peer_lookup_bin (self, env->sender, &from);
    if (msg.hops > self->cfg.max_hops)
        return s_drop (&self->stats.refused_hops);
    bool ours = rumor_id_eq (&msg.origin, &self->cfg.self);
    if (ours && msg.id > self->last_id)
        return s_drop (&self->stats.refused_forged_self);
    if (msg.is_query && !ours && !s_deadline_sane (self, now, msg.deadline))
        return s_drop (&self->stats.refused_query_deadline);

    //  Our own messages (this generation or an older one) are never new
    ref_key_t key;
    s_ref_key (&key, &msg.origin, msg.id);
    if (ours || s_seen_has (self, &key)) {
        s_on_duplicate (self, sender);
        return 0;
    }
    if (!s_rate_take (self, now, &msg.origin))
        return s_drop (&self->stats.rate_limited);
    self->stats.received++;
    self->stats.hops_total += msg.hops;
    if (msg.hops > self->stats.hops_max)
        self->stats.hops_max = msg.hops;
    if (sender)
        s_peer_link (self, sender);
    else
        self->stats.unknown_sender++;
    s_seen_add (self, now, &key);
    s_missing_cancel (self, &key);
    s_deliver (self, &msg);
    s_spread (self, now, &key, &msg, &from);
    return 0;
}

//  Note one announced ref: start a graft timer, or add an announcer.
static void
s_missing_note (rumor_app_t *self, int64_t now, const Rumor__EventRef *ref,
                const peer_t *announcer)
{
    rumor_id_t origin;
    rumor_id_from_bin (&origin, ref->origin);
    if (rumor_id_eq (&origin, &self->cfg.self))
        return;                     //  ours: we have it by definition
    ref_key_t key;
    s_ref_key (&key, &origin, ref->id);
    if (s_seen_has (self, &key))
        return;
    missing_t *missing = (missing_t *) zhashx_lookup (self->missing, &key);
    if (!missing) {
        if (zhashx_size (self->missing) >= self->cfg.max_missing) {
            self->stats.refused_missing_full++;
            return;
        }
        missing = (missing_t *) zmalloc (sizeof (missing_t));
        assert (missing);
        missing->key = key;
        missing->origin = origin;
        missing->id = ref->id;
        missing->hops = ref->hops;
        missing->deadline = now + self->cfg.graft_timeout_ms;
        missing->handle = zlistx_add_end (self->missing_fifo, missing);
        zhashx_insert (self->missing, &key, missing);
    }
    for (size_t i = 0; i < missing->count; i++)
        if (rumor_id_eq (&missing->announcers [i], s_peer_id (self, announcer)))
            return;
    if (missing->count < MISSING_ANNOUNCERS)
        missing->announcers [missing->count++] = *s_peer_id (self, announcer);
}

//  Checks shared by IHave and Graft: a known peer, a bounded ref count.
static peer_t *
s_control_sender (rumor_app_t *self, const Rumor__Envelope *env,
                  size_t n_refs, int *rc)
{
    rumor_id_t from;
    peer_t *sender = s_peer_lookup_bin (self, env->sender, &from);
    *rc = 0;
    if (!sender)
        *rc = s_drop (&self->stats.refused_unknown_peer);
    else
    if (n_refs > self->cfg.max_refs)
        *rc = s_drop (&self->stats.refused_too_many_refs);
    return *rc? NULL: sender;
}

static int
s_handle_ihave (rumor_app_t *self, int64_t now, const Rumor__Envelope *env)
{
    int rc;
    peer_t *sender = s_control_sender (self, env, env->ihave->n_refs, &rc);
    if (!sender)
        return rc;
    self->stats.ihave_received++;
    for (size_t i = 0; i < env->ihave->n_refs; i++)
        s_missing_note (self, now, env->ihave->refs [i], sender);
    return 0;
}

//  Graft: make the link eager and resend what we still retain.
static int
s_handle_graft (rumor_app_t *self, const Rumor__Envelope *env)
{
    int rc;
    peer_t *sender = s_control_sender (self, env, env->graft->n_refs, &rc);
    if (!sender)
        return rc;
    self->stats.graft_received++;
    s_peer_link (self, sender);
    for (size_t i = 0; i < env->graft->n_refs; i++) {
        const Rumor__EventRef *ref = env->graft->refs [i];
        rumor_id_t origin;
        rumor_id_from_bin (&origin, ref->origin);
        ref_key_t key;
        s_ref_key (&key, &origin, ref->id);
        retained_t *kept = (retained_t *) zhashx_lookup (self->retained, &key);
        if (kept && kept->msg.hops < self->cfg.max_hops) {
            s_send_bcast (self, s_peer_id (self, sender), &kept->msg,
                          kept->msg.hops + 1);
            self->stats.graft_served++;
        }
        else
            self->stats.graft_unavailable++;
    }
    return 0;
}

static int
s_handle_prune (rumor_app_t *self, const Rumor__Envelope *env)
{
    int rc;
    peer_t *sender = s_control_sender (self, env, 0, &rc);
    if (!sender)
        return rc;
    self->stats.prune_received++;
    s_peer_move (self, sender, PEER_LAZY);
    return 0;
}

//  Send one Graft per announcer for the due refs: targets [i] wants
//  refs [i]; refs to one target go together, max_refs per message.
static void
s_graft_batches (rumor_app_t *self, peer_t **targets, pending_ref_t *refs,
                 size_t count)
{
    if (count == 0)
        return;
    pending_ref_t *batch = (pending_ref_t *) calloc (count, sizeof (pending_ref_t));
    assert (batch);
    for (size_t i = 0; i < count; i++) {
        peer_t *target = targets [i];
        size_t size = 0;
        for (size_t j = i; target && j < count; j++) {
            if (targets [j] != target)
                continue;
            batch [size++] = refs [j];
            targets [j] = NULL;
            if (size == self->cfg.max_refs) {
                s_send_refs (self, s_peer_id (self, target), true, batch,
                             size);
                self->stats.graft_sent++;
                size = 0;
            }
        }
        if (size) {
            s_send_refs (self, s_peer_id (self, target), true, batch, size);
            self->stats.graft_sent++;
        }
    }
    free (batch);
}

//  The next announcer of a missing message that is still a peer, or NULL.
static peer_t *
s_next_announcer (rumor_app_t *self, missing_t *missing)
{
    peer_t *peer = NULL;
    while (!peer && missing->tried < missing->count)
        peer = s_peer_lookup (self, &missing->announcers [missing->tried++]);
    return peer;
}

//  Fire due graft timers: for each, Graft the next untried announcer (and
//  make it eager, section 3.6), and re-arm in case that one fails too.
static void
s_missing_tick (rumor_app_t *self, int64_t now)
{
    missing_t *missing = (missing_t *) zlistx_first (self->missing_fifo);
    if (!missing || missing->deadline > now)
        return;
    size_t count = 0, max = zlistx_size (self->missing_fifo);
    pending_ref_t *refs = (pending_ref_t *) calloc (max, sizeof (pending_ref_t));
    peer_t **targets = (peer_t **) calloc (max, sizeof (peer_t *));
    assert (refs && targets);
    while ((missing = (missing_t *) zlistx_first (self->missing_fifo))
       &&  missing->deadline <= now) {
        peer_t *peer = s_next_announcer (self, missing);
        if (!peer) {
            self->stats.graft_gave_up++;
            s_missing_cancel (self, &missing->key);
            continue;
        }
        s_peer_link (self, peer);
        targets [count] = peer;
        refs [count++] = (pending_ref_t) { missing->origin, missing->id,
                                           missing->hops, 0 };
        missing->deadline = now + self->cfg.graft_timeout_ms;
        zlistx_move_end (self->missing_fifo, missing->handle);
    }
    s_graft_batches (self, targets, refs, count);
    free (targets);
    free (refs);
}


//  --------------------------------------------------------------------------
//  Queries

static query_t *
s_query_find (rumor_app_t *self, uint64_t id)
{
    for (size_t i = 0; i < self->query_count; i++)
        if (self->queries [i]->id == id)
            return self->queries [i];
    return NULL;
}

//  Emit query-done once and forget the query.
static void
s_query_finish (rumor_app_t *self, query_t *query, const char *how)
{
    Rumor__Query detail = RUMOR__QUERY__INIT;
    detail.origin = rumor_id_bin (&self->cfg.self);
    detail.id = query->id;
    detail.topic = query->topic;
    detail.payload.data = query->payload;
    detail.payload.len = query->size;
    detail.deadline = query->deadline;
    rumor_fx_event (self->fx, "query-done", &detail.base, how);
    if (streq (how, "complete"))
        self->stats.queries_complete++;
    else
        self->stats.queries_deadline++;
    for (size_t i = 0; i < self->query_count; i++)
        if (self->queries [i] == query) {
            self->queries [i] = self->queries [--self->query_count];
            break;
        }
    s_query_destroy (&query);
}

//  True if responder was a live member when the query started (self
//  included) and is still one.
static bool
s_query_expects (rumor_app_t *self, const query_t *query, const rumor_id_t *id)
{
    if (rumor_id_eq (id, &self->cfg.self))
        return true;
    peer_t *peer = s_peer_lookup (self, id);
    return peer && peer->live_since <= query->start_epoch;
}

//  A response from responder: first one per responder is told to the
//  program and may complete the query.
static int
s_query_answer (rumor_app_t *self, query_t *query, const rumor_id_t *responder,
                const void *payload, size_t size)
{
    if (zhashx_lookup (query->responders, responder->bytes))
        return s_drop (&self->stats.refused_dup_response);
    zhashx_insert (query->responders, responder->bytes, (void *) 1);
    self->stats.responses_received++;
    Rumor__Response detail = RUMOR__RESPONSE__INIT;
    detail.query = query->id;
    detail.payload.data = (uint8_t *) payload;
    detail.payload.len = size;
    char hex [RUMOR_ID_HEX];
    rumor_fx_event (self->fx, "response", &detail.base,
                    rumor_id_hex (responder, hex));
    if (s_query_expects (self, query, responder) && query->remaining > 0)
        query->remaining--;
    if (query->remaining == 0)
        s_query_finish (self, query, "complete");
    return 0;
}

//  A peer left: it no longer counts among the expected responders.
static void
s_query_member_gone (rumor_app_t *self, const peer_t *peer)
{
    size_t i = self->query_count;
    while (i-- > 0) {
        query_t *query = self->queries [i];
        if (peer->live_since > query->start_epoch
        ||  zhashx_lookup (query->responders, s_peer_id (self, peer)->bytes))
            continue;
        if (query->remaining > 0)
            query->remaining--;
        if (query->remaining == 0)
            s_query_finish (self, query, "complete");
    }
}

static void
s_query_tick (rumor_app_t *self, int64_t now)
{
    size_t i = self->query_count;
    while (i-- > 0)
        if (i < self->query_count
        &&  (int64_t) self->queries [i]->deadline <= now)
            s_query_finish (self, self->queries [i], "deadline");
}

static int
s_handle_response (rumor_app_t *self, const Rumor__Envelope *env)
{
    rumor_id_t responder;
    if (!s_peer_lookup_bin (self, env->sender, &responder))
        self->stats.unknown_sender++;
    query_t *query = s_query_find (self, env->response->query);
    if (!query)
        return s_drop (&self->stats.refused_unknown_query);
    return s_query_answer (self, query, &responder,
                           env->response->payload.data,
                           env->response->payload.len);
}

//  Direct from any authenticated sender: members are the norm, but a
//  member we have not heard of yet is still a legitimate sender.
static int
s_handle_direct (rumor_app_t *self, int64_t now, const Rumor__Envelope *env)
{
    rumor_id_t sender;
    bool member = s_peer_lookup_bin (self, env->sender, &sender) != NULL;
    if (!s_rate_take (self, now, &sender))
        return s_drop (&self->stats.rate_limited);
    if (!member)
        self->stats.direct_unknown_sender++;
    self->stats.directs_received++;
    char hex [RUMOR_ID_HEX];
    rumor_fx_event (self->fx, "direct", &env->direct->base,
                    rumor_id_hex (&sender, hex));
    return 0;
}


//  --------------------------------------------------------------------------
//  Inputs

int
rumor_app_on_message (rumor_app_t *self, int64_t now_ms,
                      const Rumor__Envelope *env)
{
    assert (self);
    assert (env);
    s_housekeep (self, now_ms);
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_EVENT:
        case RUMOR__ENVELOPE__BODY_QUERY:    return s_handle_bcast (self, now_ms, env);
        case RUMOR__ENVELOPE__BODY_IHAVE:    return s_handle_ihave (self, now_ms, env);
        case RUMOR__ENVELOPE__BODY_GRAFT:    return s_handle_graft (self, env);
        case RUMOR__ENVELOPE__BODY_PRUNE:    return s_handle_prune (self, env);
        case RUMOR__ENVELOPE__BODY_DIRECT:   return s_handle_direct (self, now_ms, env);
        case RUMOR__ENVELOPE__BODY_RESPONSE: return s_handle_response (self, env);
        default:
            return s_drop (&self->stats.refused_not_app);
    }
}

int
rumor_app_on_event (rumor_app_t *self, int64_t now_ms, const char *kind,
                    const ProtobufCMessage *detail)
{
    assert (self);
    assert (kind);
    s_housekeep (self, now_ms);
    if (!streq (kind, "member")) {
        self->stats.ignored_events++;   //  not ours to consume
        return 0;
    }
    if (!detail || detail->descriptor != &rumor__member_update__descriptor)
        return s_drop (&self->stats.refused_bad_member);
    return s_on_member (self, (const Rumor__MemberUpdate *) detail);
}

void
rumor_app_on_tick (rumor_app_t *self, int64_t now_ms)
{
    assert (self);
    s_housekeep (self, now_ms);
    if (self->ihave_due >= 0 && self->ihave_due <= now_ms)
        s_ihave_flush (self, now_ms);
    s_missing_tick (self, now_ms);
    s_query_tick (self, now_ms);
}

static int64_t
s_earliest (int64_t a, int64_t b)
{
    return a < 0? b: b < 0? a: a < b? a: b;
}

int64_t
rumor_app_next_deadline (rumor_app_t *self)
{
    assert (self);
    int64_t next = self->ihave_due;
    missing_t *missing = (missing_t *) zlistx_first (self->missing_fifo);
    if (missing)
        next = s_earliest (next, missing->deadline);
    for (size_t i = 0; i < self->query_count; i++)
        next = s_earliest (next, (int64_t) self->queries [i]->deadline);
    return next;
}

zframe_t *
rumor_app_next_effect (rumor_app_t *self)
{
    assert (self);
    return rumor_fx_pop (self->fx);
}

const rumor_app_stats_t *
rumor_app_stats (rumor_app_t *self)
{
    assert (self);
    return &self->stats;
}

rumor_app_error_t
rumor_app_last_error (rumor_app_t *self)
{
    assert (self);
    return self->error;
}

const char *
rumor_app_strerror (rumor_app_error_t error)
{
    switch (error) {
        case RUMOR_APP_OK:                  return "ok";
        case RUMOR_APP_E_OVERSIZED:         return "payload too large";
        case RUMOR_APP_E_BAD_TOPIC:         return "malformed topic";
        case RUMOR_APP_E_BAD_PATTERN:       return "malformed pattern";
        case RUMOR_APP_E_TOO_MANY_PATTERNS: return "too many patterns";
        case RUMOR_APP_E_UNKNOWN_PATTERN:   return "pattern not heard";
        case RUMOR_APP_E_UNKNOWN_TARGET:    return "target is not a member";
        case RUMOR_APP_E_TOO_MANY_QUERIES:  return "too many pending queries";
        case RUMOR_APP_E_BAD_TIMEOUT:       return "query timeout must be > 0";
        case RUMOR_APP_E_TOO_BIG:           return "message does not fit a frame";
        case RUMOR_APP_E_UNKNOWN_QUERY:     return "no such pending query";
    }
    return "unknown error";
}


//  --------------------------------------------------------------------------
//  Program API: say, whisper, query, respond

//  Checks shared by say and query. Returns 0, or -1 with the error set.
static int
s_check_bcast (rumor_app_t *self, const char *topic, const void *payload,
               size_t size)
{
    self->error = RUMOR_APP_OK;
    if (!s_topic_valid (topic))
        return s_refuse (self, RUMOR_APP_E_BAD_TOPIC,
                         &self->stats.refused_bad_topic);
    if (size > self->cfg.max_payload || (size && !payload))
        return s_refuse (self, RUMOR_APP_E_OVERSIZED,
                         &self->stats.refused_oversized);
    return 0;
}

//  Originate a broadcast message: deliver here if heard, then spread.
static void
s_originate (rumor_app_t *self, int64_t now, bcast_t *msg)
{
    msg->origin = self->cfg.self;
    msg->id = ++self->last_id;
    msg->hops = 0;
    ref_key_t key;
    s_ref_key (&key, &msg->origin, msg->id);
    s_deliver (self, msg);
    s_spread (self, now, &key, msg, NULL);
}

int
rumor_app_say (rumor_app_t *self, int64_t now_ms, const char *topic,
               const void *payload, size_t size)
{
    assert (self);
    assert (topic);
    s_housekeep (self, now_ms);
    if (s_check_bcast (self, topic, payload, size))
        return -1;
    bcast_t msg = { false, { { 0 } }, 0, topic, (const uint8_t *) payload,
                    size, 0, 0 };
    s_originate (self, now_ms, &msg);
    self->stats.said++;
    return 0;
}

int
rumor_app_whisper (rumor_app_t *self, int64_t now_ms, const rumor_id_t *to,
                   const char *topic, const void *payload, size_t size)
{
    assert (self);
    assert (to);
    assert (topic);
    (void) now_ms;
    self->error = RUMOR_APP_OK;
    if (!rumor_codec_valid_string (topic, RUMOR_KEY_MAX))
        return s_refuse (self, RUMOR_APP_E_BAD_TOPIC, &self->stats.refused_bad_topic);
    if (size > self->cfg.max_payload || (size && !payload))
        return s_refuse (self, RUMOR_APP_E_OVERSIZED, &self->stats.refused_oversized);
    bool to_self = rumor_id_eq (to, &self->cfg.self);
    if (!to_self && !s_peer_lookup (self, to))
        return s_refuse (self, RUMOR_APP_E_UNKNOWN_TARGET,
                         &self->stats.refused_unknown_target);
    Rumor__Direct direct = RUMOR__DIRECT__INIT;
    direct.id = ++self->direct_seq;
    direct.topic = (char *) topic;
    direct.payload.data = (uint8_t *) payload;
    direct.payload.len = size;
    if (to_self) {
        //  Like say, a whisper to ourselves is delivered here
        rumor_fx_event (self->fx, "direct", &direct.base, self->self_hex);
        self->stats.directs_received++;
    }
    else {
        Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
        body.body_case = RUMOR__ENVELOPE__BODY_DIRECT;
        body.direct = &direct;
        if (s_send (self, to, &body))
            return s_refuse (self, RUMOR_APP_E_TOO_BIG, &self->stats.refused_oversized);
    }
    self->stats.whispered++;
    return 0;
}

//  A new pending query expecting every live member and self.
static query_t *
s_query_new (rumor_app_t *self, uint64_t id, const char *topic,
             const void *payload, size_t size, uint64_t deadline)
{
    query_t *query = (query_t *) zmalloc (sizeof (query_t));
    assert (query);
    query->id = id;
    query->topic = strdup (topic);
    query->payload = (uint8_t *) malloc (size + 1);
    assert (query->topic && query->payload);
    if (size)
        memcpy (query->payload, payload, size);
    query->size = size;
    query->deadline = deadline;
    query->start_epoch = self->epoch;
    query->remaining = rumor_id_table_size (&self->peers) + 1;
    query->responders = s_hash_new (false, false);
    if (self->query_count == self->query_alloc) {
        self->query_alloc = self->query_alloc? self->query_alloc * 2: 4;
        self->queries = (query_t **) realloc (self->queries,
                            self->query_alloc * sizeof (query_t *));
        assert (self->queries);
    }
    self->queries [self->query_count++] = query;
    return query;
}

int64_t
rumor_app_query (rumor_app_t *self, int64_t now_ms, const char *topic,
                 const void *payload, size_t size, int64_t timeout_ms)
{
    assert (self);
    assert (topic);
    s_housekeep (self, now_ms);
    if (s_check_bcast (self, topic, payload, size))
        return -1;
    if (timeout_ms <= 0)
        return s_refuse (self, RUMOR_APP_E_BAD_TIMEOUT,
                         &self->stats.refused_bad_timeout);
    if (self->query_count >= self->cfg.max_queries)
        return s_refuse (self, RUMOR_APP_E_TOO_MANY_QUERIES,
                         &self->stats.refused_too_many_queries);
    if (timeout_ms > self->cfg.query_max_ms) {
        timeout_ms = self->cfg.query_max_ms;
        self->stats.clamped_timeout++;
    }
    bcast_t msg = { true, { { 0 } }, 0, topic, (const uint8_t *) payload,
                    size, 0, (uint64_t) (now_ms + timeout_ms) };
    s_query_new (self, self->last_id + 1, topic, payload, size, msg.deadline);
    s_originate (self, now_ms, &msg);
    self->stats.asked++;
    return (int64_t) msg.id;
}

int
rumor_app_respond (rumor_app_t *self, int64_t now_ms, const rumor_id_t *origin,
                   uint64_t query_id, const void *payload, size_t size)
{
    assert (self);
    assert (origin);
    (void) now_ms;
    self->error = RUMOR_APP_OK;
    if (size > self->cfg.max_payload || (size && !payload))
        return s_refuse (self, RUMOR_APP_E_OVERSIZED, &self->stats.refused_oversized);
    if (rumor_id_eq (origin, &self->cfg.self)) {
        query_t *query = s_query_find (self, query_id);
        if (!query)
            return s_refuse (self, RUMOR_APP_E_UNKNOWN_QUERY,
                             &self->stats.refused_unknown_query);
        self->stats.responded++;
        if (s_query_answer (self, query, origin, payload, size)) {
            self->error = RUMOR_APP_E_UNKNOWN_QUERY;
            return -1;
        }
        return 0;
    }
    Rumor__Response response = RUMOR__RESPONSE__INIT;
    response.query = query_id;
    response.payload.data = (uint8_t *) payload;
    response.payload.len = size;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_RESPONSE;
    body.response = &response;
    if (s_send (self, origin, &body))
        return s_refuse (self, RUMOR_APP_E_TOO_BIG, &self->stats.refused_oversized);
    self->stats.responded++;
    return 0;
}


//  --------------------------------------------------------------------------
//  Inspection

size_t
rumor_app_peer_count (rumor_app_t *self)
{
    assert (self);
    return rumor_id_table_size (&self->peers);
}

size_t
rumor_app_eager_count (rumor_app_t *self)
{
    assert (self);
    return self->eager.size;
}

bool
rumor_app_is_eager (rumor_app_t *self, const rumor_id_t *id)
{
    assert (self);
    assert (id);
    peer_t *peer = s_peer_lookup (self, id);
    return peer && peer->set == PEER_EAGER;
}

bool
rumor_app_is_lazy (rumor_app_t *self, const rumor_id_t *id)
{
    assert (self);
    assert (id);
    peer_t *peer = s_peer_lookup (self, id);
    return peer && peer->set == PEER_LAZY;
}

size_t
rumor_app_pending_queries (rumor_app_t *self)
{
    assert (self);
    return self->query_count;
}
