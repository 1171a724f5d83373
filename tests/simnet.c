/*  =========================================================================
    simnet - a deterministic simulated network of rumor nodes

    One priority queue (a binary heap ordered by time, then by insertion
    order) holds everything that will happen: frame deliveries, core
    deadlines (one tick item per node, lazily replaced when the node's
    earliest deadline moves), scheduled starts and stops. simnet_step pops
    the earliest item and handles it; the clock jumps to its time.

    Per-node state lives in one array indexed by node number; ids map back
    to node numbers through an open-addressing table, so every step costs
    O(log queue) plus what the cores do.
    =========================================================================
*/

#include "simnet.h"

//  A core may legitimately ask to be ticked again at the same millisecond
//  (work left after a batch). More than this many ticks of one node within
//  one millisecond means a core whose deadline never moves past now: the
//  next tick is then deferred by 1 ms (counted in stats.stalls) so the
//  simulation keeps going and the bug shows in the counters.
#define S_SPIN_MAX      64

//  TCP-like loss: give up doubling the retransmission timeout past this
//  (Linux's TCP_RTO_MAX is 120 s; past a minute the peer is as good as
//  gone for a gossip protocol anyway)
#define S_RTO_MAX       60000

//  Core numbers, in the order a node's cores are drained and ticked
enum { S_MEMBERSHIP, S_DETECTOR, S_ANTI_ENTROPY, S_APP, S_CORES };

//  What a queue item is
typedef enum {
    S_DELIVER,                      //  a frame reaches node
    S_TICK,                         //  node's earliest core deadline
    S_START,                        //  scheduled start of node
    S_STOP,                         //  leave bound of node reached
    S_PEER_LOST,                    //  node's socket monitor sees a reset
    S_BEACON                        //  node beacons on the LAN
} s_kind_t;

typedef struct {
    int64_t at;                     //  virtual time it happens
    uint64_t order;                 //  insertion number: ties in order
    int64_t sent_at;                //  S_DELIVER: when it was sent
    uint32_t kind;                  //  s_kind_t
    uint32_t node;                  //  the node it happens to
    uint32_t from;                  //  S_DELIVER: sender; S_START: seed+1
                                    //  (0 = none); S_PEER_LOST: lost peer
    uint32_t life;                  //  node's life when scheduled (S_TICK:
                                    //  the node's tick version)
    zframe_t *frame;                //  S_DELIVER: the sealed frame
} s_item_t;

//  Min-heap of items
typedef struct {
    s_item_t *items;                //  heap array
    size_t size;                    //  items held
    size_t max;                     //  items allocated
} s_heap_t;

typedef struct {
    size_t index;                   //  node number
    rumor_id_t id;                  //  node id, from its name
    char name [32];                 //  "sim-<index>"
    char endpoint [40];             //  "tcp://10.a.b.c:7400"
    simnet_node_state_t state;      //  lifecycle
    bool starting;                  //  an S_START is queued
    bool leaving;                   //  left, waiting for leave_done
    int group;                      //  partition group
    uint64_t generation;            //  current generation (start time)
    uint32_t life;                  //  bumped at each start: frames and
                                    //  timers of a past life are void
    uint64_t seq;                   //  frame counter of this life
    rumor_membership_t *membership; //  the cores, NULL unless UP/FROZEN
    rumor_detector_t *detector;
    rumor_anti_entropy_t *anti_entropy;
    rumor_app_t *app;
    int64_t tick_at;                //  queued tick time, -1 none
    uint32_t tick_version;          //  only the newest queued tick counts
    int64_t last_tick;              //  time of the last tick
    uint32_t spins;                 //  ticks at last_tick
    s_item_t *held;                 //  frames arrived while frozen
    size_t n_held;                  //  ... how many
    size_t max_held;                //  ... allocated
    uint64_t member_events;         //  "member" events heard (any change
                                    //  of the member table makes one)
    uint64_t view_events;           //  member_events at the last full
                                    //  simnet_lists_all_alive check
    uint64_t view_epoch;            //  live_epoch + 1 at that check, 0 =
                                    //  never checked
    bool view_all_alive;            //  ... and its result
    const char *query_done;         //  last query-done extra, or NULL
    size_t query_responses;         //  responses since last query
    simnet_stats_t stats;           //  traffic and fault counters
    rumor_codec_stats_t codec;      //  inbound refusal counters
} s_node_t;

typedef struct {
    size_t origin;                  //  node whose keyspace holds the key
    char *key;                      //  the key
    char *value;                    //  the value, NULL = any
    int64_t *seen_at;               //  per node, first time seen or -1
} s_watch_t;

struct _simnet_t {
    simnet_cfg_t cfg;               //  configuration (cluster copied)
    char *cluster;                  //  our copy of the cluster name
    uint64_t cluster_hash;          //  rumor_cluster_hash (cluster)
    int64_t now;                    //  virtual clock
    rumor_prng_t prng;              //  loss and delay draws
    s_heap_t queue;                 //  everything scheduled
    uint64_t order;                 //  next insertion number
    s_node_t *nodes;                //  node slots
    size_t size;                    //  number of slots
    uint32_t *ids;                  //  id table: node number + 1, 0 empty
    size_t id_slots;                //  table size, a power of two
    rumor_ident_pool_t *idents;     //  members' identities, shared by
                                    //  every core of every node: they run
                                    //  in this one thread (ident.h)
    simnet_stats_t totals;          //  sum of every node's counters
    uint64_t hash;                  //  trace hash
    uint64_t steps;                 //  items processed
    uint64_t live_epoch;            //  bumped when any node starts, stops,
                                    //  freezes or thaws: views to recheck
    simnet_event_fn *event_fn;      //  event hook
    void *event_arg;
    simnet_trace_fn *trace_fn;      //  trace hook
    void *trace_arg;
    s_watch_t *watches;             //  key watches
    size_t n_watches;
    Rumor__MemberUpdate **piggyback;    //  piggyback_max slots for sealing
};

//  Bump a counter of a node and the total.
#define S_BUMP(self, node, field, n) \
    do { (node)->stats.field += (n); (self)->totals.field += (n); } while (0)

//  --------------------------------------------------------------------------
//  Binary heap

static bool
s_item_before (const s_item_t *a, const s_item_t *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void
s_heap_push (s_heap_t *heap, const s_item_t *item)
{
    if (heap->size == heap->max) {
        heap->max = heap->max? heap->max * 2: 1024;
        heap->items = (s_item_t *) realloc (heap->items,
                                            heap->max * sizeof (s_item_t));
        assert (heap->items);
    }
    size_t child = heap->size++;
    while (child > 0) {
        size_t parent = (child - 1) / 2;
        if (!s_item_before (item, &heap->items [parent]))
            break;
        heap->items [child] = heap->items [parent];
        child = parent;
    }
    heap->items [child] = *item;
}

//  Remove the earliest item into *item. The heap must not be empty.
static void
s_heap_pop (s_heap_t *heap, s_item_t *item)
{
    assert (heap->size > 0);
    *item = heap->items [0];
    s_item_t last = heap->items [--heap->size];
    size_t parent = 0;
    while (true) {
        size_t child = 2 * parent + 1;
        if (child >= heap->size)
            break;
        if (child + 1 < heap->size
        &&  s_item_before (&heap->items [child + 1], &heap->items [child]))
            child++;
        if (!s_item_before (&heap->items [child], &last))
            break;
        heap->items [parent] = heap->items [child];
        parent = child;
    }
    if (heap->size)
        heap->items [parent] = last;
}

//  Queue an item at its time, numbering it for ties.
static void
s_schedule_item (simnet_t *self, s_item_t *item)
{
    item->order = self->order++;
    s_heap_push (&self->queue, item);
}

//  --------------------------------------------------------------------------
//  Trace hash: a fast 64-bit mix over everything that happens

static uint64_t
s_mix (uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void
s_hash_u64 (simnet_t *self, uint64_t value)
{
    self->hash = s_mix (self->hash ^ value) + 0x9e3779b97f4a7c15ULL;
}

static void
s_hash_bytes (simnet_t *self, const void *data, size_t size)
{
    const uint8_t *byte = (const uint8_t *) data;
    uint64_t word;
    while (size >= 8) {
        memcpy (&word, byte, 8);
        s_hash_u64 (self, word);
        byte += 8;
        size -= 8;
    }
    word = size;
    memcpy (&word, byte, size);
    s_hash_u64 (self, word ^ ((uint64_t) size << 56));
}

//  --------------------------------------------------------------------------
//  Ids and endpoints

static size_t
s_id_slot (simnet_t *self, const rumor_id_t *id)
{
    uint64_t hash = rumor_hash64 (id->bytes, RUMOR_ID_SIZE);
    return (size_t) hash & (self->id_slots - 1);
}

static void
s_id_insert (simnet_t *self, size_t node)
{
    size_t slot = s_id_slot (self, &self->nodes [node].id);
    while (self->ids [slot])
        slot = (slot + 1) & (self->id_slots - 1);
    self->ids [slot] = (uint32_t) node + 1;
}

long
simnet_node_of (simnet_t *self, const rumor_id_t *id)
{
    assert (self);
    assert (id);
    size_t slot = s_id_slot (self, id);
    while (self->ids [slot]) {
        size_t node = self->ids [slot] - 1;
        if (rumor_id_eq (&self->nodes [node].id, id))
            return (long) node;
        slot = (slot + 1) & (self->id_slots - 1);
    }
    return -1;
}

//  Endpoint of node i: 10.a.b.c with a.b.c = i + 1, so 16M nodes fit.
static void
s_endpoint_format (char *endpoint, size_t size, size_t node)
{
    size_t n = node + 1;
    snprintf (endpoint, size, "tcp://10.%u.%u.%u:7400",
              (unsigned) (n >> 16) & 255, (unsigned) (n >> 8) & 255,
              (unsigned) n & 255);
}

//  Node number of an endpoint, or -1 if no node has it.
static long
s_endpoint_node (simnet_t *self, const char *endpoint)
{
    unsigned a, b, c, port;
    int used = 0;
    if (sscanf (endpoint, "tcp://10.%u.%u.%u:%u%n",
                &a, &b, &c, &port, &used) != 4
    ||  endpoint [used] || a > 255 || b > 255 || c > 255)
        return -1;
    size_t n = ((size_t) a << 16) | (b << 8) | c;
    if (n == 0 || n > self->size
    ||  strcmp (self->nodes [n - 1].endpoint, endpoint))
        return -1;
    return (long) n - 1;
}

//  --------------------------------------------------------------------------
//  Configuration and lifecycle

void
simnet_cfg_defaults (simnet_cfg_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof (*cfg));
    cfg->seed = 1;
    cfg->size = 16;
    cfg->delay_ms = 1;              //  a LAN: well under a probe timeout
    cfg->cluster = "sim";
    //  The live supervisor's budget: membership's own default per frame
    cfg->piggyback_max = 16;       //  per detector frame: a small budget
                                    //  (gossip batches carry the bulk)
    cfg->hear = "#";
    cfg->respond = true;
    //  5 s: a LEFT update is spread in a few gossip rounds (~1 s at N=1000);
    //  the bound only matters when nobody is left to tell
    cfg->leave_bound_ms = 5000;
    rumor_membership_cfg_defaults (&cfg->membership);
    rumor_detector_cfg_defaults (&cfg->detector);
    rumor_anti_entropy_cfg_defaults (&cfg->anti_entropy);
    rumor_app_cfg_defaults (&cfg->app);
}

simnet_t *
simnet_new (const simnet_cfg_t *cfg)
{
    assert (cfg);
    if (cfg->size == 0 || cfg->size >= (1u << 24)
    ||  !(cfg->loss >= 0 && cfg->loss <= 1) || cfg->rto_ms < 0
    ||  cfg->delay_ms < 0 || cfg->jitter_ms < 0 || !cfg->cluster)
        return NULL;
    simnet_t *self = (simnet_t *) zmalloc (sizeof (simnet_t));
    assert (self);
    self->cfg = *cfg;
    self->cluster = strdup (cfg->cluster);
    self->cfg.cluster = self->cluster;
    self->cluster_hash = rumor_cluster_hash (cfg->cluster);
    self->now = SIMNET_EPOCH_MS;
    self->hash = 14695981039346656037ULL;
    rumor_prng_seed (&self->prng, cfg->seed);
    self->size = cfg->size;
    self->nodes = (s_node_t *) zmalloc (self->size * sizeof (s_node_t));
    self->id_slots = 16;
    while (self->id_slots < self->size * 2)
        self->id_slots *= 2;
    self->ids = (uint32_t *) zmalloc (self->id_slots * sizeof (uint32_t));
    self->idents = rumor_ident_pool_new ();
    self->piggyback = (Rumor__MemberUpdate **) zmalloc (
        (cfg->piggyback_max + 1) * sizeof (Rumor__MemberUpdate *));
    for (size_t index = 0; index < self->size; index++) {
        s_node_t *node = &self->nodes [index];
        node->index = index;
        snprintf (node->name, sizeof (node->name), "sim-%zu", index);
        rumor_id_from_name (&node->id, node->name);
        s_endpoint_format (node->endpoint, sizeof (node->endpoint), index);
        node->tick_at = -1;
        node->last_tick = -1;
        s_id_insert (self, index);
    }
    return self;
}

static void s_node_halt (simnet_t *self, s_node_t *node,
                         simnet_node_state_t state);

void
simnet_destroy (simnet_t **self_p)
{
    assert (self_p);
    simnet_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->size; index++)
        s_node_halt (self, &self->nodes [index], SIMNET_DOWN);
    for (size_t i = 0; i < self->queue.size; i++)
        zframe_destroy (&self->queue.items [i].frame);
    free (self->queue.items);
    for (size_t i = 0; i < self->n_watches; i++) {
        free (self->watches [i].key);
        free (self->watches [i].value);
        free (self->watches [i].seen_at);
    }
    free (self->watches);
    free (self->piggyback);
    free (self->ids);
    rumor_ident_pool_destroy (&self->idents);
    free (self->nodes);
    free (self->cluster);
    free (self);
    *self_p = NULL;
}

int64_t
simnet_now (simnet_t *self)
{
    assert (self);
    return self->now;
}

size_t
simnet_size (simnet_t *self)
{
    assert (self);
    return self->size;
}

void
simnet_set_loss (simnet_t *self, double loss)
{
    assert (self);
    assert (loss >= 0 && loss <= 1);
    self->cfg.loss = loss;
}

void
simnet_set_delay (simnet_t *self, int64_t delay_ms, int64_t jitter_ms)
{
    assert (self);
    assert (delay_ms >= 0 && jitter_ms >= 0);
    self->cfg.delay_ms = delay_ms;
    self->cfg.jitter_ms = jitter_ms;
}

void
simnet_on_event (simnet_t *self, simnet_event_fn *fn, void *arg)
{
    assert (self);
    self->event_fn = fn;
    self->event_arg = arg;
}

void
simnet_on_trace (simnet_t *self, simnet_trace_fn *fn, void *arg)
{
    assert (self);
    self->trace_fn = fn;
    self->trace_arg = arg;
}

//  --------------------------------------------------------------------------
//  The wire: fates of frames

static void
s_trace (simnet_t *self, simnet_fate_t fate, int64_t sent_at, size_t from,
         size_t to, zframe_t *frame)
{
    s_hash_u64 (self, ((uint64_t) fate << 48) ^ ((uint64_t) from << 24) ^ to);
    s_hash_u64 (self, (uint64_t) self->now);
    if (fate == SIMNET_SENT)
        s_hash_bytes (self, zframe_data (frame), zframe_size (frame));
    if (self->trace_fn) {
        simnet_trace_t record = {
            fate, sent_at, self->now, from, to,
            zframe_size (frame), zframe_data (frame)
        };
        self->trace_fn (self->trace_arg, self, &record);
    }
}

//  Send a frame from one node to another through the fault model; takes
//  the frame.
static void
s_transmit (simnet_t *self, size_t from, size_t to, zframe_t **frame_p)
{
    s_node_t *sender = &self->nodes [from];
    s_node_t *receiver = &self->nodes [to];
    zframe_t *frame = *frame_p;
    *frame_p = NULL;
    S_BUMP (self, sender, msgs_sent, 1);
    S_BUMP (self, sender, bytes_sent, zframe_size (frame));
    simnet_fate_t fate = SIMNET_SENT;
    int64_t delay = self->cfg.delay_ms;
    if (self->cfg.rto_ms > 0) {
        //  TCP-like: each loss costs a retransmission timeout, doubled
        int64_t rto = self->cfg.rto_ms;
        while (self->cfg.loss > 0 && rto < S_RTO_MAX
        &&     rumor_prng_unit (&self->prng) < self->cfg.loss) {
            S_BUMP (self, sender, lost, 1);
            delay += rto;
            rto *= 2;
        }
    }
    else
    if (self->cfg.loss > 0 && rumor_prng_unit (&self->prng) < self->cfg.loss) {
        fate = SIMNET_LOST;
        S_BUMP (self, sender, lost, 1);
    }
    if (fate == SIMNET_SENT && sender->group != receiver->group) {
        fate = SIMNET_PARTITIONED;
        S_BUMP (self, sender, partitioned, 1);
    }
    s_trace (self, fate, self->now, from, to, frame);
    if (fate != SIMNET_SENT) {
        zframe_destroy (&frame);
        return;
    }
    if (self->cfg.jitter_ms > 0)
        delay += rumor_prng_below (&self->prng,
                                   (uint32_t) self->cfg.jitter_ms + 1);
    s_item_t item = {
        .at = self->now + delay, .sent_at = self->now, .kind = S_DELIVER,
        .node = (uint32_t) to, .from = (uint32_t) from,
        .life = receiver->life, .frame = frame
    };
    s_schedule_item (self, &item);
}

void
simnet_inject (simnet_t *self, size_t from, size_t to, const void *data,
               size_t size)
{
    assert (self);
    assert (from < self->size && to < self->size);
    zframe_t *frame = zframe_new (data, size);
    assert (frame);
    s_transmit (self, from, to, &frame);
}

//  --------------------------------------------------------------------------
//  Events: routing between cores, and what the program sees

//  Sub-message type of each event kind's detail, or NULL if unknown.
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

//  Ground truth check of a SUSPECT/DEAD verdict heard by observer.
static void
s_check_verdict (simnet_t *self, s_node_t *observer,
                 const Rumor__MemberUpdate *update)
{
    if (update->state != RUMOR__STATE__STATE_DEAD
    &&  update->state != RUMOR__STATE__STATE_SUSPECT)
        return;
    rumor_id_t id;
    rumor_id_from_bin (&id, update->id);
    long index = simnet_node_of (self, &id);
    if (index < 0 || (size_t) index == observer->index)
        return;
    s_node_t *member = &self->nodes [index];
    if (member->state != SIMNET_UP || member->leaving
    ||  member->generation != update->generation
    ||  member->group != observer->group)
        return;
    if (update->state == RUMOR__STATE__STATE_DEAD)
        S_BUMP (self, observer, false_dead, 1);
    else
        S_BUMP (self, observer, false_suspect, 1);
}

static void
s_check_watches (simnet_t *self, s_node_t *node, const Rumor__KvEntry *entry)
{
    for (size_t i = 0; i < self->n_watches; i++) {
        s_watch_t *watch = &self->watches [i];
        if (watch->seen_at [node->index] >= 0
        ||  !rumor_id_eq_bin (&self->nodes [watch->origin].id, entry->origin)
        ||  strcmp (watch->key, entry->key))
            continue;
        if (watch->value
        && (entry->value.len != strlen (watch->value)
        ||  memcmp (entry->value.data, watch->value, entry->value.len)))
            continue;
        watch->seen_at [node->index] = self->now;
    }
}

//  The program's side of an event: counters, records, auto-answers.
static void
s_program_event (simnet_t *self, s_node_t *node, const char *kind,
                 const ProtobufCMessage *detail, const char *extra)
{
    if (streq (kind, "member")) {
        node->member_events++;
        s_check_verdict (self, node, (const Rumor__MemberUpdate *) detail);
    }
    else
    if (streq (kind, "event"))
        S_BUMP (self, node, heard, 1);
    else
    if (streq (kind, "kv") && streq (extra, "set"))
        s_check_watches (self, node, (const Rumor__KvEntry *) detail);
    else
    if (streq (kind, "response"))
        node->query_responses++;
    else
    if (streq (kind, "query-done"))
        node->query_done = streq (extra, "complete")? "complete": "deadline";
    else
    if (streq (kind, "query") && self->cfg.respond) {
        const Rumor__Query *query = (const Rumor__Query *) detail;
        rumor_id_t origin;
        rumor_id_from_bin (&origin, query->origin);
        rumor_app_respond (node->app, self->now, &origin, query->id,
                           node->name, strlen (node->name));
    }
}

//  Hand an event to the cores that consume it (framework/effects.h).
static void
s_route_event (simnet_t *self, s_node_t *node, const char *kind,
               const ProtobufCMessage *detail)
{
    int64_t now = self->now;
    if (streq (kind, "member")) {
        rumor_detector_on_event (node->detector, now, kind, detail);
        rumor_anti_entropy_on_event (node->anti_entropy, now, kind, detail);
        rumor_app_on_event (node->app, now, kind, detail);
    }
    else
    if (streq (kind, "confirm"))
        rumor_detector_on_event (node->detector, now, kind, detail);
    else
    if (streq (kind, "suspect") || streq (kind, "dead"))
        rumor_membership_on_event (node->membership, now, kind, detail);
}

static void
s_handle_event (simnet_t *self, s_node_t *node, const rumor_fx_view_t *view)
{
    S_BUMP (self, node, events, 1);
    s_hash_u64 (self, node->index);
    s_hash_bytes (self, view->kind, strlen (view->kind));
    s_hash_bytes (self, view->extra, strlen (view->extra));
    s_hash_bytes (self, view->body,
                  view->body_size);
    const ProtobufCMessageDescriptor *type = s_detail_type (view->kind);
    ProtobufCMessage *detail = type? rumor_codec_decode_detail (
        type, view->body, view->body_size): NULL;
    if (!detail) {
        //  A core emitted what the contract does not allow: count it
        S_BUMP (self, node, rejected, 1);
        return;
    }
    s_program_event (self, node, view->kind, detail, view->extra);
    if (self->event_fn)
        self->event_fn (self->event_arg, self, node->index, view->kind,
                        detail, view->extra);
    s_route_event (self, node, view->kind, detail);
    rumor_codec_free_detail (&detail);
}

//  --------------------------------------------------------------------------
//  Sends: resolve, seal, transmit

static void
s_handle_send (simnet_t *self, s_node_t *node, int core,
               const rumor_fx_view_t *view)
{
    bool by_id = !rumor_id_is_zero (&view->to);
    long dest = by_id? simnet_node_of (self, &view->to): -1;
    if (dest < 0 && *view->endpoint)
        dest = s_endpoint_node (self, view->endpoint);
    if (dest < 0) {
        S_BUMP (self, node, unroutable, 1);
        return;
    }
    rumor_header_t header = {
        .cluster = self->cluster_hash,
        .sender = node->id,
        .generation = node->generation,
        .incarnation = rumor_membership_incarnation (node->membership),
        .seq = ++node->seq
    };
    if (by_id)
        header.target = view->to;
    //  Membership gossip rides on detector traffic, as in SWIM
    size_t n = 0;
    if (core == S_DETECTOR && self->cfg.piggyback_max)
        n = rumor_membership_piggyback (node->membership, self->piggyback,
                                        self->cfg.piggyback_max);
    zframe_t *frame = rumor_codec_seal (&header, self->piggyback, n,
                                        view->body,
                                        view->body_size);
    if (!frame) {
        S_BUMP (self, node, seal_failed, 1);
        return;
    }
    s_transmit (self, node->index, (size_t) dest, &frame);
}

static zframe_t *
s_next_effect (s_node_t *node, int core)
{
    switch (core) {
        case S_MEMBERSHIP:
            return rumor_membership_next_effect (node->membership);
        case S_DETECTOR:
            return rumor_detector_next_effect (node->detector);
        case S_ANTI_ENTROPY:
            return rumor_anti_entropy_next_effect (node->anti_entropy);
        default:
            return rumor_app_next_effect (node->app);
    }
}

//  Drain every core's effects until none produces more (events to one
//  core may make it emit more).
static void
s_node_drain (simnet_t *self, s_node_t *node)
{
    bool busy = true;
    while (busy) {
        busy = false;
        for (int core = 0; core < S_CORES; core++) {
            zframe_t *effect;
            while ((effect = s_next_effect (node, core))) {
                busy = true;
                rumor_fx_view_t view;
                int rc = rumor_fx_parse (effect, &view);
                assert (rc == 0);   //  cores build effects with rumor_fx
                if (view.is_send)
                    s_handle_send (self, node, core, &view);
                else
                    s_handle_event (self, node, &view);
                zframe_destroy (&effect);
            }
        }
    }
}

//  --------------------------------------------------------------------------
//  Deadlines

static int64_t
s_core_deadline (s_node_t *node, int core)
{
    switch (core) {
        case S_MEMBERSHIP:
            return rumor_membership_next_deadline (node->membership);
        case S_DETECTOR:
            return rumor_detector_next_deadline (node->detector);
        case S_ANTI_ENTROPY:
            return rumor_anti_entropy_next_deadline (node->anti_entropy);
        default:
            return rumor_app_next_deadline (node->app);
    }
}

//  Queue the node's earliest deadline (replacing any queued tick).
static void
s_node_schedule (simnet_t *self, s_node_t *node)
{
    if (node->state != SIMNET_UP)
        return;
    int64_t next = -1;
    for (int core = 0; core < S_CORES; core++) {
        int64_t deadline = s_core_deadline (node, core);
        if (deadline >= 0 && (next < 0 || deadline < next))
            next = deadline;
    }
    if (next >= 0 && next < self->now)
        next = self->now;
    if (next == self->now && node->last_tick == self->now
    &&  node->spins >= S_SPIN_MAX) {
        next = self->now + 1;
        S_BUMP (self, node, stalls, 1);
    }
    if (next == node->tick_at)
        return;
    node->tick_version++;
    node->tick_at = next;
    if (next < 0)
        return;
    s_item_t item = {
        .at = next, .kind = S_TICK, .node = (uint32_t) node->index,
        .life = node->tick_version
    };
    s_schedule_item (self, &item);
}

//  After any input to a node: drain, stop if done leaving, reschedule.
static void
s_node_settle (simnet_t *self, s_node_t *node)
{
    if (node->state != SIMNET_UP)
        return;
    s_node_drain (self, node);
    if (node->leaving && rumor_membership_leave_done (node->membership))
        s_node_halt (self, node, SIMNET_LEFT);
    else
        s_node_schedule (self, node);
}

static void
s_node_tick (simnet_t *self, s_node_t *node)
{
    node->tick_at = -1;
    if (node->last_tick == self->now)
        node->spins++;
    else {
        node->last_tick = self->now;
        node->spins = 0;
    }
    //  Tick only the cores that are due: a spurious tick is safe, not free
    int64_t now = self->now;
    for (int core = 0; core < S_CORES; core++) {
        int64_t deadline = s_core_deadline (node, core);
        if (deadline < 0 || deadline > now)
            continue;
        switch (core) {
            case S_MEMBERSHIP:
                rumor_membership_on_tick (node->membership, now);
                break;
            case S_DETECTOR:
                rumor_detector_on_tick (node->detector, now);
                break;
            case S_ANTI_ENTROPY:
                rumor_anti_entropy_on_tick (node->anti_entropy, now);
                break;
            default:
                rumor_app_on_tick (node->app, now);
        }
    }
    s_node_settle (self, node);
}

//  --------------------------------------------------------------------------
//  Inbound frames

//  What the supervisor does with one frame: decode once, piggyback to
//  membership, body to its owner.
static void
s_node_receive (simnet_t *self, s_node_t *node, zframe_t *frame)
{
    Rumor__Envelope *env = rumor_codec_decode (
        zframe_data (frame), zframe_size (frame), self->cluster_hash,
        &node->codec);
    if (!env) {
        S_BUMP (self, node, refused, 1);
        return;
    }
    int64_t now = self->now;
    //  Once per envelope of any kind, as the membership contract says
    rumor_membership_on_piggyback (node->membership, now, env);
    int rc = -1;
    switch (rumor_codec_owner (env)) {
        case RUMOR_OWNER_MEMBERSHIP:
            rc = rumor_membership_on_message (node->membership, now, env);
            break;
        case RUMOR_OWNER_DETECTOR:
            rc = rumor_detector_on_message (node->detector, now, env);
            break;
        case RUMOR_OWNER_ANTI_ENTROPY:
            rc = rumor_anti_entropy_on_message (node->anti_entropy, now, env);
            break;
        case RUMOR_OWNER_APP:
            rc = rumor_app_on_message (node->app, now, env);
            break;
        default:
            break;
    }
    if (rc)
        S_BUMP (self, node, rejected, 1);
    rumor_codec_free (&env);
}

static void
s_hold (s_node_t *node, const s_item_t *item)
{
    if (node->n_held == node->max_held) {
        node->max_held = node->max_held? node->max_held * 2: 64;
        node->held = (s_item_t *) realloc (node->held,
                                           node->max_held * sizeof (s_item_t));
        assert (node->held);
    }
    node->held [node->n_held++] = *item;
}

static void
s_deliver (simnet_t *self, s_item_t *item)
{
    s_node_t *node = &self->nodes [item->node];
    bool same_life = node->life == item->life;
    if (node->state == SIMNET_FROZEN && same_life) {
        s_hold (node, item);        //  waits in the socket buffer
        return;
    }
    simnet_fate_t fate = SIMNET_DELIVERED;
    if (node->state != SIMNET_UP || !same_life) {
        fate = SIMNET_DROPPED;
        S_BUMP (self, node, to_down, 1);
    }
    else
    if (self->nodes [item->from].group != node->group) {
        fate = SIMNET_PARTITIONED;  //  the partition began in flight
        S_BUMP (self, &self->nodes [item->from], partitioned, 1);
    }
    s_trace (self, fate, item->sent_at, item->from, item->node, item->frame);
    if (fate == SIMNET_DELIVERED) {
        S_BUMP (self, node, msgs_received, 1);
        S_BUMP (self, node, bytes_received, zframe_size (item->frame));
        s_node_receive (self, node, item->frame);
        s_node_settle (self, node);
    }
    zframe_destroy (&item->frame);
}

//  --------------------------------------------------------------------------
//  Node lifecycle

//  Seed of one core of one node's life: distinct per core, node and
//  generation, all drawn from the network's seed.
static uint64_t
s_core_seed (simnet_t *self, s_node_t *node, int core)
{
    uint64_t words [4] = {
        self->cfg.seed, node->index, node->generation, (uint64_t) core
    };
    return rumor_hash64 (words, sizeof (words));
}

static bool
s_node_new_cores (simnet_t *self, s_node_t *node)
{
    rumor_membership_cfg_t membership = self->cfg.membership;
    membership.self = node->id;
    membership.generation = node->generation;
    membership.name = node->name;
    membership.endpoint = node->endpoint;
    membership.seed = s_core_seed (self, node, S_MEMBERSHIP);
    membership.idents = self->idents;
    node->membership = rumor_membership_new (&membership);

    rumor_detector_cfg_t detector = self->cfg.detector;
    detector.self = node->id;
    detector.generation = node->generation;
    detector.seed = s_core_seed (self, node, S_DETECTOR);
    detector.idents = self->idents;
    node->detector = rumor_detector_new (&detector);

    rumor_anti_entropy_cfg_t anti_entropy = self->cfg.anti_entropy;
    anti_entropy.self = node->id;
    anti_entropy.generation = node->generation;
    anti_entropy.seed = s_core_seed (self, node, S_ANTI_ENTROPY);
    anti_entropy.idents = self->idents;
    node->anti_entropy = rumor_anti_entropy_new (&anti_entropy);

    rumor_app_cfg_t app = self->cfg.app;
    app.self = node->id;
    app.generation = node->generation;
    app.seed = s_core_seed (self, node, S_APP);
    app.idents = self->idents;
    node->app = rumor_app_new (&app);

    return node->membership && node->detector && node->anti_entropy
        && node->app
        && (!self->cfg.hear || rumor_app_hear (node->app, self->cfg.hear) == 0);
}

static void
s_node_free_cores (s_node_t *node)
{
    rumor_membership_destroy (&node->membership);
    rumor_detector_destroy (&node->detector);
    rumor_anti_entropy_destroy (&node->anti_entropy);
    rumor_app_destroy (&node->app);
}

//  Start a life of the node now: fresh cores at a new generation, joining
//  through seed (< 0: none).
static int
s_node_boot (simnet_t *self, s_node_t *node, long seed)
{
    //  A generation is a start time, and must grow across restarts
    node->generation = (uint64_t) self->now > node->generation?
                       (uint64_t) self->now: node->generation + 1;
    node->life++;
    node->seq = 0;
    node->starting = false;
    node->leaving = false;
    node->query_done = NULL;
    node->query_responses = 0;
    for (size_t i = 0; i < self->n_watches; i++)
        self->watches [i].seen_at [node->index] = -1;
    if (!s_node_new_cores (self, node)) {
        s_node_free_cores (node);
        node->state = SIMNET_DOWN;
        return -1;
    }
    node->state = SIMNET_UP;
    node->view_epoch = 0;
    self->live_epoch++;
    int64_t now = self->now;
    //  First tick: cores that only arm timers once they see time
    rumor_membership_on_tick (node->membership, now);
    rumor_detector_on_tick (node->detector, now);
    rumor_anti_entropy_on_tick (node->anti_entropy, now);
    rumor_app_on_tick (node->app, now);
    if (seed >= 0 && (size_t) seed != node->index)
        rumor_membership_join (node->membership, now,
                               self->nodes [seed].endpoint);
    if (self->cfg.beacon_ms > 0) {
        //  Beacons start at a random phase, as zbeacon's do
        s_item_t item = {
            .at = now + rumor_prng_below (&self->prng,
                                          (uint32_t) self->cfg.beacon_ms),
            .kind = S_BEACON, .node = (uint32_t) node->index,
            .life = node->life
        };
        s_schedule_item (self, &item);
    }
    s_node_settle (self, node);
    return 0;
}

//  Stop a node: destroy its cores and frames held for it.
static void
s_node_halt (simnet_t *self, s_node_t *node, simnet_node_state_t state)
{
    if (node->state != SIMNET_UP && node->state != SIMNET_FROZEN)
        return;
    s_node_free_cores (node);
    for (size_t i = 0; i < node->n_held; i++) {
        S_BUMP (self, node, to_down, 1);
        zframe_destroy (&node->held [i].frame);
    }
    free (node->held);
    node->held = NULL;
    node->n_held = node->max_held = 0;
    node->state = state;
    node->leaving = false;
    self->live_epoch++;
    node->tick_version++;
    node->tick_at = -1;
}

int
simnet_start (simnet_t *self, size_t index, int64_t at_ms, long seed)
{
    assert (self);
    assert (index < self->size);
    assert (seed < (long) self->size);
    s_node_t *node = &self->nodes [index];
    if (node->state != SIMNET_IDLE || node->starting)
        return -1;
    if (at_ms <= self->now)
        return s_node_boot (self, node, seed);
    node->starting = true;
    s_item_t item = {
        .at = at_ms, .kind = S_START, .node = (uint32_t) index,
        .from = (uint32_t) (seed + 1)
    };
    s_schedule_item (self, &item);
    return 0;
}

int
simnet_start_cluster (simnet_t *self, size_t n, int64_t stagger_ms)
{
    assert (self);
    assert (n <= self->size);
    int rc = 0;
    for (size_t index = 0; index < n; index++)
        if (simnet_start (self, index, self->now + (int64_t) index * stagger_ms,
                          index? 0: -1))
            rc = -1;
    return rc;
}

void
simnet_crash (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    s_node_t *node = &self->nodes [index];
    if (node->state != SIMNET_UP && node->state != SIMNET_FROZEN)
        return;
    s_node_halt (self, node, SIMNET_DOWN);
    if (!self->cfg.fast_path)
        return;
    //  Every node connected to it sees the TCP reset one delay later
    for (size_t other = 0; other < self->size; other++) {
        s_node_t *peer = &self->nodes [other];
        if (peer->state != SIMNET_UP || other == index
        ||  !rumor_membership_lookup (peer->membership, &node->id))
            continue;
        s_item_t item = {
            .at = self->now + self->cfg.delay_ms, .kind = S_PEER_LOST,
            .node = (uint32_t) other, .from = (uint32_t) index,
            .life = peer->life
        };
        s_schedule_item (self, &item);
    }
}

int
simnet_restart (simnet_t *self, size_t index, long seed)
{
    assert (self);
    assert (index < self->size);
    s_node_t *node = &self->nodes [index];
    if (node->state != SIMNET_DOWN && node->state != SIMNET_LEFT)
        return -1;
    if (seed < 0)
        for (size_t other = 0; other < self->size && seed < 0; other++)
            if (other != index && self->nodes [other].state == SIMNET_UP)
                seed = (long) other;
    return s_node_boot (self, node, seed);
}

void
simnet_freeze (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    s_node_t *node = &self->nodes [index];
    if (node->state != SIMNET_UP)
        return;
    node->state = SIMNET_FROZEN;
    self->live_epoch++;
    node->tick_version++;
    node->tick_at = -1;
}

void
simnet_unfreeze (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    s_node_t *node = &self->nodes [index];
    if (node->state != SIMNET_FROZEN)
        return;
    node->state = SIMNET_UP;
    self->live_epoch++;
    //  What waited in the socket buffer is read at once, in order
    for (size_t i = 0; i < node->n_held; i++) {
        s_item_t item = node->held [i];
        item.at = self->now;
        s_schedule_item (self, &item);
    }
    node->n_held = 0;
    s_node_schedule (self, node);
}

void
simnet_leave (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    s_node_t *node = &self->nodes [index];
    if (node->state != SIMNET_UP || node->leaving)
        return;
    rumor_membership_leave (node->membership, self->now);
    node->leaving = true;
    s_item_t item = {
        .at = self->now + self->cfg.leave_bound_ms, .kind = S_STOP,
        .node = (uint32_t) index, .life = node->life
    };
    s_schedule_item (self, &item);
    s_node_settle (self, node);
}

void
simnet_partition (simnet_t *self, const int *groups)
{
    assert (self);
    assert (groups);
    for (size_t index = 0; index < self->size; index++)
        self->nodes [index].group = groups [index];
}

void
simnet_heal (simnet_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->size; index++)
        self->nodes [index].group = 0;
}

void
simnet_split (simnet_t *self, size_t split)
{
    assert (self);
    for (size_t index = 0; index < self->size; index++)
        self->nodes [index].group = index < split? 0: 1;
}

//  --------------------------------------------------------------------------
//  Running

//  A node's beacon reaches every running node of its LAN segment (its
//  partition group), each of which may start a join through it.
static void
s_beacon (simnet_t *self, s_node_t *node)
{
    for (size_t index = 0; index < self->size; index++) {
        s_node_t *peer = &self->nodes [index];
        if (peer == node || peer->state != SIMNET_UP
        ||  peer->group != node->group)
            continue;
        if (self->cfg.loss > 0
        &&  rumor_prng_unit (&self->prng) < self->cfg.loss)
            continue;
        S_BUMP (self, peer, beacons, 1);
        rumor_membership_join_id (peer->membership, self->now, &node->id,
                                  node->generation, node->endpoint);
        s_node_settle (self, peer);
    }
    s_item_t item = {
        .at = self->now + self->cfg.beacon_ms, .kind = S_BEACON,
        .node = (uint32_t) node->index, .life = node->life
    };
    s_schedule_item (self, &item);
}

bool
simnet_step (simnet_t *self)
{
    assert (self);
    if (self->queue.size == 0)
        return false;
    s_item_t item;
    s_heap_pop (&self->queue, &item);
    if (item.at > self->now)
        self->now = item.at;
    self->steps++;
    s_node_t *node = &self->nodes [item.node];
    switch (item.kind) {
        case S_DELIVER:
            s_deliver (self, &item);
            break;
        case S_TICK:
            //  Only the newest tick of a running node counts
            if (node->state == SIMNET_UP && item.life == node->tick_version)
                s_node_tick (self, node);
            break;
        case S_START:
            if (node->starting)
                s_node_boot (self, node, (long) item.from - 1);
            break;
        case S_STOP:
            if (node->leaving && node->life == item.life)
                s_node_halt (self, node, SIMNET_LEFT);
            break;
        case S_PEER_LOST:
            if (node->state == SIMNET_UP && node->life == item.life) {
                rumor_detector_peer_lost (node->detector, self->now,
                                          &self->nodes [item.from].id);
                s_node_settle (self, node);
            }
            break;
        case S_BEACON:
            //  A frozen node's beacon thread stops too (SIGSTOP)
            if (node->state == SIMNET_UP && node->life == item.life)
                s_beacon (self, node);
            else
            if (node->state == SIMNET_FROZEN && node->life == item.life) {
                item.at = self->now + self->cfg.beacon_ms;
                s_schedule_item (self, &item);
            }
            break;
        default:
            assert (false);
    }
    return true;
}

void
simnet_run_until (simnet_t *self, int64_t t)
{
    assert (self);
    while (self->queue.size && self->queue.items [0].at <= t)
        simnet_step (self);
    if (t > self->now)
        self->now = t;
}

void
simnet_run_for (simnet_t *self, int64_t ms)
{
    assert (self);
    simnet_run_until (self, self->now + ms);
}

int64_t
simnet_run_until_cond (simnet_t *self, simnet_cond_fn *cond, void *arg,
                       int64_t check_ms, int64_t timeout_ms)
{
    assert (self);
    assert (cond);
    assert (check_ms > 0);
    int64_t deadline = self->now + timeout_ms;
    while (true) {
        if (cond (self, arg))
            return self->now;
        if (self->now >= deadline)
            return -1;
        int64_t next = self->now + check_ms;
        simnet_run_until (self, next < deadline? next: deadline);
    }
}

//  --------------------------------------------------------------------------
//  Program API

static s_node_t *
s_running (simnet_t *self, size_t index)
{
    assert (index < self->size);
    s_node_t *node = &self->nodes [index];
    return node->state == SIMNET_UP? node: NULL;
}

int
simnet_set (simnet_t *self, size_t index, const char *key, const char *value,
            int64_t ttl_ms)
{
    assert (self);
    assert (key);
    assert (value);
    s_node_t *node = s_running (self, index);
    if (!node)
        return -1;
    int rc = rumor_anti_entropy_set (node->anti_entropy, self->now, key,
                                     value, strlen (value), ttl_ms);
    s_node_settle (self, node);
    return rc == RUMOR_AE_OK? 0: -1;
}

int
simnet_delete (simnet_t *self, size_t index, const char *key)
{
    assert (self);
    assert (key);
    s_node_t *node = s_running (self, index);
    if (!node)
        return -1;
    int rc = rumor_anti_entropy_delete (node->anti_entropy, self->now, key);
    s_node_settle (self, node);
    return rc == RUMOR_AE_OK? 0: -1;
}

int
simnet_say (simnet_t *self, size_t index, const char *topic,
            const char *payload)
{
    assert (self);
    assert (topic);
    assert (payload);
    s_node_t *node = s_running (self, index);
    if (!node)
        return -1;
    int rc = rumor_app_say (node->app, self->now, topic, payload,
                            strlen (payload));
    s_node_settle (self, node);
    return rc;
}

int
simnet_whisper (simnet_t *self, size_t index, size_t to, const char *topic,
                const char *payload)
{
    assert (self);
    assert (to < self->size);
    s_node_t *node = s_running (self, index);
    if (!node)
        return -1;
    int rc = rumor_app_whisper (node->app, self->now, &self->nodes [to].id,
                                topic, payload, strlen (payload));
    s_node_settle (self, node);
    return rc;
}

int
simnet_query (simnet_t *self, size_t index, const char *topic,
              const char *payload, int64_t timeout_ms)
{
    assert (self);
    s_node_t *node = s_running (self, index);
    if (!node)
        return -1;
    node->query_done = NULL;
    node->query_responses = 0;
    int64_t id = rumor_app_query (node->app, self->now, topic, payload,
                                  strlen (payload), timeout_ms);
    s_node_settle (self, node);
    return id > 0? 0: -1;
}

//  --------------------------------------------------------------------------
//  Observation

simnet_node_state_t
simnet_node_state (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].state;
}

const rumor_id_t *
simnet_node_id (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return &self->nodes [index].id;
}

uint64_t
simnet_node_generation (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].generation;
}

const char *
simnet_node_endpoint (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].endpoint;
}

static bool
s_live (const s_node_t *node)
{
    return node->state == SIMNET_UP || node->state == SIMNET_FROZEN;
}

size_t
simnet_up_count (simnet_t *self)
{
    assert (self);
    size_t count = 0;
    for (size_t index = 0; index < self->size; index++)
        if (self->nodes [index].state == SIMNET_UP)
            count++;
    return count;
}

rumor_membership_t *
simnet_membership (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].membership;
}

rumor_detector_t *
simnet_detector (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].detector;
}

rumor_anti_entropy_t *
simnet_anti_entropy (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].anti_entropy;
}

rumor_app_t *
simnet_app (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].app;
}

bool
simnet_lists (simnet_t *self, size_t observer, size_t member,
              Rumor__State state)
{
    assert (self);
    assert (observer < self->size && member < self->size);
    s_node_t *node = &self->nodes [observer];
    if (!s_live (node))
        return false;
    const rumor_member_t *entry = rumor_membership_lookup (
        node->membership, &self->nodes [member].id);
    return entry && entry->state == state
        && entry->generation == self->nodes [member].generation;
}

//  The full check of simnet_lists_all_alive, O(N) lookups
static bool
s_lists_all_alive (simnet_t *self, s_node_t *node)
{
    size_t live = 0;
    for (size_t index = 0; index < self->size; index++)
        if (s_live (&self->nodes [index]))
            live++;
    //  Cheap refusal first: too few ALIVE entries
    if (rumor_membership_count (node->membership,
                                RUMOR__STATE__STATE_ALIVE) < live)
        return false;
    for (size_t index = 0; index < self->size; index++)
        if (s_live (&self->nodes [index])
        &&  !simnet_lists (self, node->index, index,
                           RUMOR__STATE__STATE_ALIVE))
            return false;
    return true;
}

bool
simnet_lists_all_alive (simnet_t *self, size_t observer)
{
    assert (self);
    assert (observer < self->size);
    s_node_t *node = &self->nodes [observer];
    if (!s_live (node))
        return false;
    //  Polled every round for every node: the answer cannot change until
    //  the node's table changes (a member event) or a node starts or stops
    if (node->view_epoch != self->live_epoch + 1
    ||  node->view_events != node->member_events) {
        node->view_all_alive = s_lists_all_alive (self, node);
        node->view_events = node->member_events;
        node->view_epoch = self->live_epoch + 1;
    }
    return node->view_all_alive;
}

size_t
simnet_count_all_alive (simnet_t *self)
{
    assert (self);
    size_t count = 0;
    for (size_t index = 0; index < self->size; index++)
        if (self->nodes [index].state == SIMNET_UP
        &&  simnet_lists_all_alive (self, index))
            count++;
    return count;
}

bool
simnet_converged (simnet_t *self)
{
    assert (self);
    size_t live = 0;
    for (size_t index = 0; index < self->size; index++)
        if (s_live (&self->nodes [index]))
            live++;
    //  Cheap refusal first, over every node, before any full check
    for (size_t index = 0; index < self->size; index++) {
        s_node_t *node = &self->nodes [index];
        if (node->state == SIMNET_UP
        &&  rumor_membership_count (node->membership,
                                    RUMOR__STATE__STATE_ALIVE) < live)
            return false;
    }
    for (size_t index = 0; index < self->size; index++)
        if (self->nodes [index].state == SIMNET_UP
        &&  !simnet_lists_all_alive (self, index))
            return false;
    return true;
}

size_t
simnet_count_listing (simnet_t *self, size_t member, Rumor__State state)
{
    assert (self);
    size_t count = 0;
    for (size_t index = 0; index < self->size; index++)
        if (index != member && self->nodes [index].state == SIMNET_UP
        &&  simnet_lists (self, index, member, state))
            count++;
    return count;
}

bool
simnet_has_key (simnet_t *self, size_t index, size_t origin, const char *key,
                const char *value)
{
    assert (self);
    assert (index < self->size && origin < self->size);
    assert (key);
    s_node_t *node = &self->nodes [index];
    if (!s_live (node))
        return false;
    const Rumor__KvEntry *entry = rumor_anti_entropy_get (
        node->anti_entropy, &self->nodes [origin].id, key, self->now);
    if (!entry)
        return false;
    return !value
        || (entry->value.len == strlen (value)
            && memcmp (entry->value.data, value, entry->value.len) == 0);
}

size_t
simnet_watch_key (simnet_t *self, size_t origin, const char *key,
                  const char *value)
{
    assert (self);
    assert (origin < self->size);
    assert (key);
    self->watches = (s_watch_t *) realloc (
        self->watches, (self->n_watches + 1) * sizeof (s_watch_t));
    assert (self->watches);
    s_watch_t *watch = &self->watches [self->n_watches];
    watch->origin = origin;
    watch->key = strdup (key);
    watch->value = value? strdup (value): NULL;
    watch->seen_at = (int64_t *) malloc (self->size * sizeof (int64_t));
    assert (watch->seen_at);
    for (size_t index = 0; index < self->size; index++)
        watch->seen_at [index] = -1;
    return self->n_watches++;
}

int64_t
simnet_key_seen_at (simnet_t *self, size_t watch, size_t index)
{
    assert (self);
    assert (watch < self->n_watches && index < self->size);
    return self->watches [watch].seen_at [index];
}

size_t
simnet_key_seen_count (simnet_t *self, size_t watch)
{
    assert (self);
    assert (watch < self->n_watches);
    size_t count = 0;
    for (size_t index = 0; index < self->size; index++)
        if (self->nodes [index].state == SIMNET_UP
        &&  self->watches [watch].seen_at [index] >= 0)
            count++;
    return count;
}

int64_t
simnet_key_all_seen_at (simnet_t *self, size_t watch)
{
    assert (self);
    assert (watch < self->n_watches);
    int64_t last = -1;
    for (size_t index = 0; index < self->size; index++) {
        if (self->nodes [index].state != SIMNET_UP)
            continue;
        int64_t seen = self->watches [watch].seen_at [index];
        if (seen < 0)
            return -1;
        if (seen > last)
            last = seen;
    }
    return last;
}

const char *
simnet_query_done (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].query_done;
}

size_t
simnet_query_responses (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return self->nodes [index].query_responses;
}

const simnet_stats_t *
simnet_node_stats (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return &self->nodes [index].stats;
}

const simnet_stats_t *
simnet_stats (simnet_t *self)
{
    assert (self);
    return &self->totals;
}

const rumor_codec_stats_t *
simnet_codec_stats (simnet_t *self, size_t index)
{
    assert (self);
    assert (index < self->size);
    return &self->nodes [index].codec;
}

uint64_t
simnet_trace_hash (simnet_t *self)
{
    assert (self);
    return self->hash;
}

uint64_t
simnet_steps (simnet_t *self)
{
    assert (self);
    return self->steps;
}
