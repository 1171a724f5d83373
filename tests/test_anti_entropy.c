/*  =========================================================================
    test_anti_entropy - the Scuttlebutt anti-entropy core

    Every test drives cores with explicit time. Messages go the way they go
    between real nodes: a core's SEND body is sealed with rumor_codec_seal,
    decoded with rumor_codec_decode, and delivered to the other core.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "anti_entropy.h"

#define T0          1700000000000LL     //  virtual wall clock, ms
#define CLUSTER     0x5eedc0ffee1234ULL //  any cluster hash
#define ALIVE       RUMOR__STATE__STATE_ALIVE
#define SUSPECT     RUMOR__STATE__STATE_SUSPECT
#define DEAD        RUMOR__STATE__STATE_DEAD
#define LEFT        RUMOR__STATE__STATE_LEFT

//  --------------------------------------------------------------------------
//  Helpers: nodes, effects, delivery

typedef struct {
    rumor_anti_entropy_t *core;     //  the core under test
    rumor_id_t id;                  //  its id
    uint64_t generation;            //  its generation
    char endpoint [64];             //  its endpoint
} node_t;

//  Default configuration of node n (id n, generation T0 - n).
static rumor_anti_entropy_cfg_t
s_cfg (uint64_t n)
{
    rumor_anti_entropy_cfg_t cfg;
    rumor_anti_entropy_cfg_defaults (&cfg);
    rumor_id_from_u64 (&cfg.self, n);
    cfg.generation = (uint64_t) T0 - 1000 * n;
    cfg.seed = n;
    return cfg;
}

static void
s_node_start (node_t *node, const rumor_anti_entropy_cfg_t *cfg)
{
    node->core = rumor_anti_entropy_new (cfg);
    assert_non_null (node->core);
    node->id = cfg->self;
    node->generation = cfg->generation;
    snprintf (node->endpoint, sizeof (node->endpoint), "tcp://10.0.0.%u:7400",
              (unsigned) cfg->self.bytes [RUMOR_ID_SIZE - 1]);
}

static void
s_node (node_t *node, uint64_t n)
{
    rumor_anti_entropy_cfg_t cfg = s_cfg (n);
    s_node_start (node, &cfg);
}

//  A node that only exists as an id (a fake sender or origin).
static node_t
s_ghost (uint64_t n)
{
    node_t node;
    memset (&node, 0, sizeof (node));
    rumor_id_from_u64 (&node.id, n);
    node.generation = (uint64_t) T0 - 1000 * n;
    snprintf (node.endpoint, sizeof (node.endpoint), "tcp://10.0.1.%u:7400",
              (unsigned) n);
    return node;
}

//  Tell node's core that member changed state.
static int
s_member (node_t *node, int64_t now, const node_t *member, Rumor__State state,
          uint64_t generation)
{
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.id = rumor_id_bin (&member->id);
    update.generation = generation? generation: member->generation;
    update.state = state;
    update.name = "node";
    update.endpoint = (char *) member->endpoint;
    return rumor_anti_entropy_on_event (node->core, now, "member",
                                        &update.base);
}

//  One effect, decoded.
typedef struct {
    bool is_send;                   //  SEND or EVENT
    rumor_id_t to;                  //  SEND: destination
    char endpoint [64];             //  SEND: endpoint
    size_t body_size;               //  SEND: packed body bytes
    Rumor__Envelope *env;           //  SEND: sealed, then decoded
    char kind [16];                 //  EVENT: kind
    char extra [16];                //  EVENT: extra
    Rumor__KvEntry *kv;             //  EVENT kv: decoded detail
} fx_t;

typedef struct {
    fx_t *items;                    //  effects, oldest first
    size_t n;                       //  how many
} fxs_t;

//  Seal a body from sender (generation) and decode it as a receiver would.
static Rumor__Envelope *
s_seal_decode (const rumor_id_t *sender, uint64_t generation,
               const uint8_t *body, size_t size)
{
    rumor_header_t header;
    memset (&header, 0, sizeof (header));
    header.cluster = CLUSTER;
    header.sender = *sender;
    header.generation = generation;
    header.seq = 1;
    zframe_t *frame = rumor_codec_seal (&header, NULL, 0, body, size);
    assert_non_null (frame);
    rumor_codec_stats_t stats;
    memset (&stats, 0, sizeof (stats));
    Rumor__Envelope *env = rumor_codec_decode (zframe_data (frame),
                                               zframe_size (frame), CLUSTER,
                                               &stats);
    assert_non_null (env);
    zframe_destroy (&frame);
    return env;
}

//  An envelope with body from sender, as the codec hands it to a core.
static Rumor__Envelope *
s_envelope (const node_t *sender, const Rumor__Envelope *body)
{
    zframe_t *packed = rumor_codec_pack (&body->base);
    assert_non_null (packed);
    Rumor__Envelope *env = s_seal_decode (&sender->id, sender->generation,
                                          zframe_data (packed),
                                          zframe_size (packed));
    zframe_destroy (&packed);
    return env;
}

//  Take every queued effect of node, decoded.
static fxs_t *
s_drain (node_t *node)
{
    fxs_t *fxs = (fxs_t *) calloc (1, sizeof (fxs_t));
    size_t room = 0;
    zframe_t *msg;
    while ((msg = rumor_anti_entropy_next_effect (node->core))) {
        if (fxs->n == room) {
            room = room? room * 2: 16;
            fxs->items = (fx_t *) realloc (fxs->items, room * sizeof (fx_t));
        }
        fx_t *fx = &fxs->items [fxs->n++];
        memset (fx, 0, sizeof (*fx));
        rumor_fx_view_t view;
        assert_int_equal (rumor_fx_parse (msg, &view), 0);
        fx->is_send = view.is_send;
        if (view.is_send) {
            fx->to = view.to;
            snprintf (fx->endpoint, sizeof (fx->endpoint), "%s", view.endpoint);
            fx->body_size = view.body_size;
            fx->env = s_seal_decode (&node->id, node->generation,
                                     view.body,
                                     view.body_size);
        }
        else {
            snprintf (fx->kind, sizeof (fx->kind), "%s", view.kind);
            snprintf (fx->extra, sizeof (fx->extra), "%s", view.extra);
            if (streq (view.kind, "kv"))
                fx->kv = (Rumor__KvEntry *) rumor_codec_decode_detail (
                    &rumor__kv_entry__descriptor, view.body,
                    view.body_size);
        }
        zframe_destroy (&msg);
    }
    return fxs;
}

static void
s_fxs_destroy (fxs_t **fxs_p)
{
    fxs_t *fxs = *fxs_p;
    for (size_t i = 0; i < fxs->n; i++) {
        if (fxs->items [i].env)
            rumor_codec_free (&fxs->items [i].env);
        if (fxs->items [i].kv)
            rumor_codec_free_detail ((ProtobufCMessage **) &fxs->items [i].kv);
    }
    free (fxs->items);
    free (fxs);
    *fxs_p = NULL;
}

static size_t
s_count_sends (fxs_t *fxs, Rumor__Envelope__BodyCase body)
{
    size_t count = 0;
    for (size_t i = 0; i < fxs->n; i++)
        if (fxs->items [i].is_send && fxs->items [i].env->body_case == body)
            count++;
    return count;
}

//  The index-th SEND with that body, or NULL.
static fx_t *
s_find_send (fxs_t *fxs, Rumor__Envelope__BodyCase body, size_t index)
{
    for (size_t i = 0; i < fxs->n; i++)
        if (fxs->items [i].is_send && fxs->items [i].env->body_case == body
        &&  index-- == 0)
            return &fxs->items [i];
    return NULL;
}

static size_t
s_count_events (fxs_t *fxs, const char *extra)
{
    size_t count = 0;
    for (size_t i = 0; i < fxs->n; i++)
        if (!fxs->items [i].is_send && streq (fxs->items [i].kind, "kv")
        &&  streq (fxs->items [i].extra, extra))
            count++;
    return count;
}

//  The index-th kv event with that extra, or NULL.
static Rumor__KvEntry *
s_find_event (fxs_t *fxs, const char *extra, size_t index)
{
    for (size_t i = 0; i < fxs->n; i++)
        if (!fxs->items [i].is_send && streq (fxs->items [i].extra, extra)
        &&  index-- == 0)
            return fxs->items [i].kv;
    return NULL;
}

//  Drop every queued effect of node.
static void
s_discard (node_t *node)
{
    fxs_t *fxs = s_drain (node);
    s_fxs_destroy (&fxs);
}

//  Deliver the index-th SEND with that body of fxs to node; returns
//  on_message's result.
static int
s_deliver (node_t *node, int64_t now, fxs_t *fxs,
           Rumor__Envelope__BodyCase body, size_t index)
{
    fx_t *fx = s_find_send (fxs, body, index);
    assert_non_null (fx);
    assert_true (rumor_id_eq (&fx->to, &node->id));
    return rumor_anti_entropy_on_message (node->core, now, fx->env);
}

//  Fill entry (strings borrowed) for origin.
static void
s_kv (Rumor__KvEntry *entry, const node_t *origin, const char *key,
      const char *value, uint64_t version)
{
    Rumor__KvEntry init = RUMOR__KV_ENTRY__INIT;
    *entry = init;
    entry->origin = rumor_id_bin (&origin->id);
    entry->generation = origin->generation;
    entry->key = (char *) key;
    entry->value.data = (uint8_t *) value;
    entry->value.len = value? strlen (value): 0;
    entry->version = version;
}

//  Send node a Delta of n entries from sender, through the codec.
static int
s_send_delta (node_t *node, int64_t now, const node_t *sender,
              Rumor__KvEntry *entries, size_t n, bool push, uint32_t hops,
              uint64_t base)
{
    Rumor__KvEntry **list = (Rumor__KvEntry **) malloc (
        (n + 1) * sizeof (Rumor__KvEntry *));
    for (size_t i = 0; i < n; i++)
        list [i] = &entries [i];
    Rumor__Delta delta = RUMOR__DELTA__INIT;
    delta.entries = list;
    delta.n_entries = n;
    delta.push = push;
    delta.hops = hops;
    delta.base_version = base;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_DELTA;
    body.delta = &delta;
    Rumor__Envelope *env = s_envelope (sender, &body);
    int rc = rumor_anti_entropy_on_message (node->core, now, env);
    rumor_codec_free (&env);
    free (list);
    return rc;
}

//  Send node a Digest from sender with n (origin, generation, version).
static int
s_send_digest (node_t *node, int64_t now, const node_t *sender,
               Rumor__DigestEntry *entries, size_t n)
{
    Rumor__DigestEntry **list = (Rumor__DigestEntry **) malloc (
        (n + 1) * sizeof (Rumor__DigestEntry *));
    for (size_t i = 0; i < n; i++)
        list [i] = &entries [i];
    Rumor__Digest digest = RUMOR__DIGEST__INIT;
    digest.entries = list;
    digest.n_entries = n;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_DIGEST;
    body.digest = &digest;
    Rumor__Envelope *env = s_envelope (sender, &body);
    int rc = rumor_anti_entropy_on_message (node->core, now, env);
    rumor_codec_free (&env);
    free (list);
    return rc;
}

static void
s_digest_entry (Rumor__DigestEntry *entry, const node_t *origin,
                uint64_t generation, uint64_t version)
{
    Rumor__DigestEntry init = RUMOR__DIGEST_ENTRY__INIT;
    *entry = init;
    entry->origin = rumor_id_bin (&origin->id);
    entry->generation = generation;
    entry->version = version;
}

static const Rumor__KvEntry *
s_get (node_t *node, const node_t *origin, const char *key, int64_t now)
{
    return rumor_anti_entropy_get (node->core, origin? &origin->id: NULL, key,
                                   now);
}

static bool
s_value_is (const Rumor__KvEntry *entry, const char *value)
{
    return entry && entry->value.len == strlen (value)
        && memcmp (entry->value.data, value, entry->value.len) == 0;
}

static void
s_free_string (void **item)
{
    free (*item);
    *item = NULL;
}

//  Run node's tick at its next deadline and return that time.
static int64_t
s_tick_next (node_t *node)
{
    int64_t at = rumor_anti_entropy_next_deadline (node->core);
    assert_true (at > 0);
    rumor_anti_entropy_on_tick (node->core, at);
    return at;
}

//  --------------------------------------------------------------------------
//  Usage: two nodes, one key

static void
test_usage (void **state)
{
    (void) state;
    node_t alice, bob;
    s_node (&alice, 1);
    s_node (&bob, 2);
    int64_t now = T0;

    //  Membership tells each core who its peers are
    assert_int_equal (s_member (&alice, now, &bob, ALIVE, 0), 0);
    assert_int_equal (s_member (&bob, now, &alice, ALIVE, 0), 0);
    assert_int_equal (rumor_anti_entropy_peers (alice.core), 1);

    //  A local write: told to the program, pushed to the peer at once
    assert_int_equal (rumor_anti_entropy_set (alice.core, now, "temp",
                                              "21.5", 4, 0), RUMOR_AE_OK);
    fxs_t *fxs = s_drain (&alice);
    assert_int_equal (s_count_events (fxs, "set"), 1);
    fx_t *push = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_non_null (push);
    assert_true (push->env->delta->push);
    assert_string_equal (push->endpoint, bob.endpoint);

    //  The peer applies it and tells its own program
    assert_int_equal (s_deliver (&bob, now + 1, fxs,
                                 RUMOR__ENVELOPE__BODY_DELTA, 0), 0);
    s_fxs_destroy (&fxs);
    const Rumor__KvEntry *entry = s_get (&bob, &alice, "temp", now + 1);
    assert_true (s_value_is (entry, "21.5"));
    assert_int_equal (entry->version, 1);
    assert_int_equal (rumor_anti_entropy_version (bob.core, &alice.id), 1);
    assert_int_equal (rumor_anti_entropy_origins (bob.core), 2);
    fxs = s_drain (&bob);
    assert_int_equal (s_count_events (fxs, "set"), 1);
    assert_string_equal (s_find_event (fxs, "set", 0)->key, "temp");
    s_fxs_destroy (&fxs);

    zlistx_t *keys = zlistx_new ();
    zlistx_set_destructor (keys, s_free_string);
    assert_int_equal (rumor_anti_entropy_keys (bob.core, &alice.id, keys), 1);
    assert_string_equal ((char *) zlistx_first (keys), "temp");
    zlistx_destroy (&keys);

    rumor_anti_entropy_destroy (&alice.core);
    rumor_anti_entropy_destroy (&bob.core);
    assert_null (alice.core);
}

static void
test_cfg (void **state)
{
    (void) state;
    rumor_anti_entropy_cfg_t cfg;
    rumor_anti_entropy_cfg_defaults (&cfg);
    assert_int_equal (cfg.gossip_interval_ms, 200);
    assert_int_equal (cfg.push_fanout, 3);
    assert_int_equal (cfg.mtu_budget, 65536);
    assert_int_equal (cfg.max_keys, 10000);
    assert_int_equal (cfg.max_value, 65536);
    //  No self id: refused
    assert_null (rumor_anti_entropy_new (&cfg));
    cfg = s_cfg (1);
    cfg.generation = 0;
    assert_null (rumor_anti_entropy_new (&cfg));
    cfg = s_cfg (1);
    cfg.max_value = RUMOR_VALUE_MAX + 1;
    assert_null (rumor_anti_entropy_new (&cfg));
    cfg = s_cfg (1);
    cfg.gossip_fanout = 0;
    assert_null (rumor_anti_entropy_new (&cfg));
    cfg = s_cfg (1);
    rumor_anti_entropy_t *core = rumor_anti_entropy_new (&cfg);
    assert_non_null (core);
    //  No time given yet: nothing is due
    assert_int_equal (rumor_anti_entropy_next_deadline (core), -1);
    rumor_anti_entropy_destroy (&core);
    rumor_anti_entropy_destroy (&core);
}

//  --------------------------------------------------------------------------
//  Rounds and the three-way exchange

static void
test_round_sends_digest (void **state)
{
    (void) state;
    rumor_anti_entropy_cfg_t cfg = s_cfg (1);
    cfg.gossip_fanout = 2;
    node_t node;
    s_node_start (&node, &cfg);
    node_t peers [5];
    //  Without peers a round sends nothing
    rumor_anti_entropy_on_tick (node.core, T0);
    int64_t first = rumor_anti_entropy_next_deadline (node.core);
    assert_true (first >= T0 && first < T0 + 200);
    s_tick_next (&node);
    assert_int_equal (rumor_anti_entropy_stats (node.core)->digests_sent, 0);

    for (int i = 0; i < 5; i++) {
        peers [i] = s_ghost (10 + i);
        s_member (&node, T0, &peers [i], i % 2? SUSPECT: ALIVE, 0);
    }
    rumor_anti_entropy_set (node.core, T0, "k", "v", 1, 0);
    s_discard (&node);
    int64_t at = rumor_anti_entropy_next_deadline (node.core);
    assert_int_equal (at, first + 200);
    rumor_anti_entropy_on_tick (node.core, at - 1);
    fxs_t *fxs = s_drain (&node);
    assert_int_equal (fxs->n, 0);
    s_fxs_destroy (&fxs);

    rumor_anti_entropy_on_tick (node.core, at);
    fxs = s_drain (&node);
    //  gossip_fanout distinct peers, each a Digest naming us at version 1
    assert_int_equal (s_count_sends (fxs, RUMOR__ENVELOPE__BODY_DIGEST), 2);
    fx_t *one = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DIGEST, 0);
    fx_t *two = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DIGEST, 1);
    assert_false (rumor_id_eq (&one->to, &two->to));
    Rumor__Digest *digest = one->env->digest;
    assert_int_equal (digest->n_entries, 1);
    assert_true (rumor_id_eq_bin (&node.id, digest->entries [0]->origin));
    assert_int_equal (digest->entries [0]->generation, node.generation);
    assert_int_equal (digest->entries [0]->version, 1);
    s_fxs_destroy (&fxs);
    assert_int_equal (rumor_anti_entropy_next_deadline (node.core), at + 200);
    assert_int_equal (rumor_anti_entropy_stats (node.core)->rounds, 1);
    rumor_anti_entropy_destroy (&node.core);
}

static void
test_digest_answered_three_way (void **state)
{
    (void) state;
    node_t a, b;
    s_node (&a, 1);
    s_node (&b, 2);
    int64_t now = T0;
    //  Only b knows a as a peer: a answers whatever asks it
    s_member (&b, now, &a, ALIVE, 0);
    rumor_anti_entropy_set (a.core, now, "a1", "x", 1, 0);
    rumor_anti_entropy_set (a.core, now, "a2", "y", 1, 0);
    rumor_anti_entropy_set (b.core, now, "b1", "z", 1, 0);
    s_discard (&a);
    s_discard (&b);

    //  b's round: a Digest to a listing b at version 1
    int64_t at = s_tick_next (&b);
    fxs_t *fxs = s_drain (&b);
    assert_int_equal (s_deliver (&a, at, fxs,
                                 RUMOR__ENVELOPE__BODY_DIGEST, 0), 0);
    s_fxs_destroy (&fxs);

    //  a answers: a Delta with what b lacks, a DeltaRequest for b's keys
    fxs = s_drain (&a);
    fx_t *delta = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_non_null (delta);
    assert_false (delta->env->delta->push);
    assert_false (delta->env->delta->truncated);
    assert_int_equal (delta->env->delta->n_entries, 2);
    assert_string_equal (delta->env->delta->entries [0]->key, "a1");
    assert_string_equal (delta->env->delta->entries [1]->key, "a2");
    fx_t *request = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA_REQUEST, 0);
    assert_non_null (request);
    Rumor__DeltaRequest *req = request->env->delta_request;
    assert_int_equal (req->n_entries, 1);
    assert_true (rumor_id_eq_bin (&b.id, req->entries [0]->origin));
    assert_int_equal (req->entries [0]->version, 0);
    assert_int_equal (s_deliver (&b, at + 1, fxs,
                                 RUMOR__ENVELOPE__BODY_DELTA, 0), 0);
    assert_int_equal (s_deliver (&b, at + 1, fxs,
                                 RUMOR__ENVELOPE__BODY_DELTA_REQUEST, 0), 0);
    s_fxs_destroy (&fxs);
    assert_true (s_value_is (s_get (&b, &a, "a2", at + 1), "y"));
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 2);

    //  b answers the DeltaRequest with a Delta of its own keys
    fxs = s_drain (&b);
    assert_int_equal (s_count_sends (fxs, RUMOR__ENVELOPE__BODY_DELTA), 1);
    assert_int_equal (s_deliver (&a, at + 2, fxs,
                                 RUMOR__ENVELOPE__BODY_DELTA, 0), 0);
    s_fxs_destroy (&fxs);
    assert_true (s_value_is (s_get (&a, &b, "b1", at + 2), "z"));
    assert_int_equal (rumor_anti_entropy_version (a.core, &b.id), 1);
    s_discard (&a);

    //  In sync now: the next digest gets no answer at all
    at = s_tick_next (&b);
    fxs = s_drain (&b);
    s_deliver (&a, at, fxs, RUMOR__ENVELOPE__BODY_DIGEST, 0);
    s_fxs_destroy (&fxs);
    fxs = s_drain (&a);
    assert_int_equal (fxs->n, 0);
    s_fxs_destroy (&fxs);

    rumor_anti_entropy_destroy (&a.core);
    rumor_anti_entropy_destroy (&b.core);
}

static void
test_delta_request_answered (void **state)
{
    (void) state;
    node_t a, x = s_ghost (9);
    s_node (&a, 1);
    for (int i = 0; i < 5; i++) {
        char key [16];
        snprintf (key, sizeof (key), "k%d", i);
        rumor_anti_entropy_set (a.core, T0, key, "v", 1, 0);
    }
    s_discard (&a);
    //  x has a's keys up to version 3: it gets 4 and 5, in order
    Rumor__DigestEntry entry;
    s_digest_entry (&entry, &a, a.generation, 3);
    Rumor__DigestEntry *list [1] = { &entry };
    Rumor__DeltaRequest req = RUMOR__DELTA_REQUEST__INIT;
    req.entries = list;
    req.n_entries = 1;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_DELTA_REQUEST;
    body.delta_request = &req;
    Rumor__Envelope *env = s_envelope (&x, &body);
    assert_int_equal (rumor_anti_entropy_on_message (a.core, T0, env), 0);
    rumor_codec_free (&env);
    fxs_t *fxs = s_drain (&a);
    fx_t *delta = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_non_null (delta);
    assert_true (rumor_id_eq (&delta->to, &x.id));
    assert_int_equal (delta->env->delta->n_entries, 2);
    assert_int_equal (delta->env->delta->entries [0]->version, 4);
    assert_int_equal (delta->env->delta->entries [1]->version, 5);
    //  A DeltaRequest is never answered by another DeltaRequest
    assert_int_equal (s_count_sends (fxs,
                                     RUMOR__ENVELOPE__BODY_DELTA_REQUEST), 0);
    s_fxs_destroy (&fxs);
    assert_int_equal (rumor_anti_entropy_stats (a.core)->requests_received, 1);
    rumor_anti_entropy_destroy (&a.core);
}

//  --------------------------------------------------------------------------
//  Delta building: order, budget, truncation, fairness

//  True if b holds everything a holds of a's keyspace up to b's max.
static bool
s_no_version_skipped (node_t *a, node_t *b, int64_t now, int keys)
{
    uint64_t max = rumor_anti_entropy_version (b->core, &a->id);
    for (int i = 0; i < keys; i++) {
        char key [16];
        snprintf (key, sizeof (key), "k%02d", i);
        const Rumor__KvEntry *mine = s_get (a, NULL, key, now);
        const Rumor__KvEntry *theirs = s_get (b, a, key, now);
        if (mine && mine->version <= max
        &&  (!theirs || theirs->version < mine->version))
            return false;
    }
    return true;
}

static void
test_truncated_delta_stays_correct (void **state)
{
    (void) state;
    rumor_anti_entropy_cfg_t cfg = s_cfg (1);
    cfg.mtu_budget = 600;
    node_t a, b;
    s_node_start (&a, &cfg);
    s_node (&b, 2);
    s_member (&b, T0, &a, ALIVE, 0);
    char value [101];
    memset (value, 'v', 100);
    value [100] = 0;
    //  20 keys, then two rewritten: versions 1..22 with 4 and 8 superseded
    for (int i = 0; i < 20; i++) {
        char key [16];
        snprintf (key, sizeof (key), "k%02d", i);
        rumor_anti_entropy_set (a.core, T0, key, value, 100, 0);
    }
    rumor_anti_entropy_set (a.core, T0, "k03", "new", 3, 0);
    rumor_anti_entropy_set (a.core, T0, "k07", "new", 3, 0);
    s_discard (&a);

    int exchanges = 0;
    uint64_t last_max = 0;
    while (rumor_anti_entropy_version (b.core, &a.id) < 22) {
        assert_true (++exchanges < 20);
        int64_t at = s_tick_next (&b);
        fxs_t *fxs = s_drain (&b);
        s_deliver (&a, at, fxs, RUMOR__ENVELOPE__BODY_DIGEST, 0);
        s_fxs_destroy (&fxs);
        fxs = s_drain (&a);
        fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
        assert_non_null (fx);
        Rumor__Delta *delta = fx->env->delta;
        //  Within budget, sorted, starting right above what b had
        assert_true (fx->body_size <= cfg.mtu_budget);
        assert_true (delta->n_entries >= 1);
        for (size_t i = 1; i < delta->n_entries; i++)
            assert_true (delta->entries [i]->version
                         > delta->entries [i - 1]->version);
        assert_true (delta->entries [0]->version > last_max);
        uint64_t top = delta->entries [delta->n_entries - 1]->version;
        assert_int_equal (delta->truncated, top < 22);
        s_deliver (&b, at, fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
        s_fxs_destroy (&fxs);
        //  b claims exactly the prefix it got, never a version it lacks
        last_max = rumor_anti_entropy_version (b.core, &a.id);
        assert_int_equal (last_max, top);
        assert_true (s_no_version_skipped (&a, &b, at, 20));
    }
    assert_true (exchanges >= 3);
    assert_true (rumor_anti_entropy_stats (a.core)->deltas_truncated >= 2);
    assert_true (s_value_is (s_get (&b, &a, "k03", T0 + 10000), "new"));
    assert_true (s_no_version_skipped (&a, &b, T0 + 10000, 20));
    rumor_anti_entropy_destroy (&a.core);
    rumor_anti_entropy_destroy (&b.core);
}

static void
test_oversized_entry_still_travels (void **state)
{
    (void) state;
    //  A maximal value is larger than a small budget: it goes alone
    rumor_anti_entropy_cfg_t cfg = s_cfg (1);
    cfg.mtu_budget = 1000;
    node_t a, x = s_ghost (9);
    s_node_start (&a, &cfg);
    char *big = (char *) malloc (5000);
    memset (big, 'b', 5000);
    rumor_anti_entropy_set (a.core, T0, "big", big, 5000, 0);
    rumor_anti_entropy_set (a.core, T0, "small", "s", 1, 0);
    free (big);
    s_discard (&a);
    s_send_digest (&a, T0, &x, NULL, 0);
    fxs_t *fxs = s_drain (&a);
    fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_non_null (fx);
    assert_int_equal (fx->env->delta->n_entries, 1);
    assert_string_equal (fx->env->delta->entries [0]->key, "big");
    assert_true (fx->env->delta->truncated);
    s_fxs_destroy (&fxs);
    rumor_anti_entropy_destroy (&a.core);
}

static void
test_fair_rotation (void **state)
{
    (void) state;
    //  Budget for one origin's three entries, not two origins'
    rumor_anti_entropy_cfg_t cfg = s_cfg (1);
    cfg.mtu_budget = 460;
    node_t a, x = s_ghost (20), y = s_ghost (21), p = s_ghost (30);
    s_node_start (&a, &cfg);
    char value [101];
    memset (value, 'v', 100);
    value [100] = 0;
    Rumor__KvEntry entries [3];
    const node_t *origins [2] = { &x, &y };
    for (int o = 0; o < 2; o++) {
        s_kv (&entries [0], origins [o], "key1", value, 1);
        s_kv (&entries [1], origins [o], "key2", value, 2);
        s_kv (&entries [2], origins [o], "key3", value, 3);
        assert_int_equal (s_send_delta (&a, T0, origins [o], entries, 3,
                                        false, 0, 0), 0);
    }
    s_discard (&a);
    assert_int_equal (rumor_anti_entropy_origins (a.core), 3);

    //  The same empty digest twice: each Delta serves another origin first
    rumor_id_t served [2];
    for (int round = 0; round < 2; round++) {
        s_send_digest (&a, T0 + round * 200, &p, NULL, 0);
        fxs_t *fxs = s_drain (&a);
        fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
        assert_non_null (fx);
        Rumor__Delta *delta = fx->env->delta;
        assert_true (fx->body_size <= cfg.mtu_budget);
        assert_true (delta->truncated);
        assert_int_equal (delta->n_entries, 3);
        rumor_id_from_bin (&served [round], delta->entries [0]->origin);
        for (size_t i = 0; i < 3; i++)
            assert_true (rumor_id_eq_bin (&served [round],
                                          delta->entries [i]->origin));
        s_fxs_destroy (&fxs);
    }
    assert_false (rumor_id_eq (&served [0], &served [1]));
    rumor_anti_entropy_destroy (&a.core);
}

//  --------------------------------------------------------------------------
//  Merge

static void
test_merge_newer_wins (void **state)
{
    (void) state;
    node_t b, x = s_ghost (9);
    s_node (&b, 2);
    Rumor__KvEntry entry;
    s_kv (&entry, &x, "color", "red", 2);
    assert_int_equal (s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0), 0);
    fxs_t *fxs = s_drain (&b);
    assert_int_equal (s_count_events (fxs, "set"), 1);
    s_fxs_destroy (&fxs);

    //  Older version of the same key: ignored, no event, not a refusal
    s_kv (&entry, &x, "color", "blue", 1);
    assert_int_equal (s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0), 0);
    assert_true (s_value_is (s_get (&b, &x, "color", T0), "red"));
    assert_int_equal (rumor_anti_entropy_stats (b.core)->entries_duplicate, 1);
    fxs = s_drain (&b);
    assert_int_equal (fxs->n, 0);
    s_fxs_destroy (&fxs);

    //  Newer: applied and told
    s_kv (&entry, &x, "color", "green", 3);
    s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0);
    assert_true (s_value_is (s_get (&b, &x, "color", T0), "green"));
    fxs = s_drain (&b);
    assert_string_equal (s_find_event (fxs, "set", 0)->key, "color");
    s_fxs_destroy (&fxs);

    //  Tombstone: hidden and told as a delete
    s_kv (&entry, &x, "color", NULL, 4);
    entry.deleted = true;
    s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0);
    assert_null (s_get (&b, &x, "color", T0));
    fxs = s_drain (&b);
    assert_int_equal (s_count_events (fxs, "delete"), 1);
    assert_true (s_find_event (fxs, "delete", 0)->deleted);
    s_fxs_destroy (&fxs);
    assert_int_equal (rumor_anti_entropy_version (b.core, &x.id), 4);
    rumor_anti_entropy_destroy (&b.core);
}

static void
test_push_base_advances_max (void **state)
{
    (void) state;
    node_t a, b;
    s_node (&a, 1);
    s_node (&b, 2);
    s_member (&a, T0, &b, ALIVE, 0);
    fxs_t *push [3];
    for (int i = 0; i < 3; i++) {
        char key [16];
        snprintf (key, sizeof (key), "k%d", i + 1);
        rumor_anti_entropy_set (a.core, T0, key, "v", 1, 0);
        push [i] = s_drain (&a);
        fx_t *fx = s_find_send (push [i], RUMOR__ENVELOPE__BODY_DELTA, 0);
        assert_int_equal (fx->env->delta->hops, 0);
        assert_int_equal (fx->env->delta->base_version, (uint64_t) i);
    }
    //  Version 1 at base 0 = our max: advances
    s_deliver (&b, T0, push [0], RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 1);
    //  Version 3 at base 2 (2 was lost): stored, visible, max stays
    s_deliver (&b, T0, push [2], RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_true (s_value_is (s_get (&b, &a, "k3", T0), "v"));
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 1);
    //  The gap fills: the max catches up through the stored version 3
    s_deliver (&b, T0, push [1], RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 3);
    for (int i = 0; i < 3; i++)
        s_fxs_destroy (&push [i]);
    rumor_anti_entropy_destroy (&a.core);
    rumor_anti_entropy_destroy (&b.core);
}

static void
test_gap_not_served (void **state)
{
    (void) state;
    //  b holds a pushed entry above its max: it never offers it in a Delta,
    //  so a third node cannot claim the gap either
    node_t b, x = s_ghost (9), c = s_ghost (8);
    s_node (&b, 2);
    Rumor__KvEntry entries [2];
    s_kv (&entries [0], &x, "one", "1", 1);
    s_send_delta (&b, T0, &x, entries, 1, true, 0, 0);
    s_kv (&entries [1], &x, "three", "3", 3);
    s_send_delta (&b, T0, &x, &entries [1], 1, true, 0, 2);
    assert_int_equal (rumor_anti_entropy_version (b.core, &x.id), 1);
    s_discard (&b);
    s_send_digest (&b, T0, &c, NULL, 0);
    fxs_t *fxs = s_drain (&b);
    fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_non_null (fx);
    assert_int_equal (fx->env->delta->n_entries, 1);
    assert_int_equal (fx->env->delta->entries [0]->version, 1);
    s_fxs_destroy (&fxs);
    rumor_anti_entropy_destroy (&b.core);
}

//  --------------------------------------------------------------------------
//  Eager push

static void
test_local_write_pushed (void **state)
{
    (void) state;
    node_t a;
    s_node (&a, 1);
    node_t peers [5];
    for (int i = 0; i < 5; i++) {
        peers [i] = s_ghost (10 + i);
        s_member (&a, T0, &peers [i], ALIVE, 0);
    }
    rumor_anti_entropy_set (a.core, T0, "k", "v", 1, 0);
    assert_int_equal (rumor_anti_entropy_delete (a.core, T0, "k"), RUMOR_AE_OK);
    fxs_t *fxs = s_drain (&a);
    //  Each write, tombstones too, goes to push_fanout (3) distinct random
    //  peers and the ring successor (10, the id after ours), 4 sends, or 3
    //  when the random choice took the successor already
    size_t sends = s_count_sends (fxs, RUMOR__ENVELOPE__BODY_DELTA);
    size_t per_version [3] = { 0, 0, 0 };
    size_t to_successor [3] = { 0, 0, 0 };
    for (size_t i = 0; i < sends; i++) {
        fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, i);
        Rumor__Delta *delta = fx->env->delta;
        assert_true (delta->push);
        assert_int_equal (delta->hops, 0);
        assert_int_equal (delta->n_entries, 1);
        uint64_t version = delta->entries [0]->version;
        assert_in_range (version, 1, 2);
        assert_int_equal (delta->base_version, version - 1);
        assert_int_equal (delta->entries [0]->deleted, version == 2);
        per_version [version]++;
        to_successor [version] += rumor_id_eq (&fx->to, &peers [0].id);
        //  The pushes of one write go to distinct peers
        for (size_t j = 0; j < i; j++) {
            fx_t *other = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, j);
            if (other->env->delta->entries [0]->version == version)
                assert_false (rumor_id_eq (&fx->to, &other->to));
        }
    }
    for (int version = 1; version <= 2; version++) {
        assert_in_range (per_version [version], 3, 4);
        assert_int_equal (to_successor [version], 1);
    }
    assert_int_equal (s_count_events (fxs, "delete"), 1);
    s_fxs_destroy (&fxs);
    assert_int_equal (rumor_anti_entropy_stats (a.core)->pushes_sent, sends);
    rumor_anti_entropy_destroy (&a.core);
}

static void
test_push_forwarded_once_then_stops (void **state)
{
    (void) state;
    rumor_anti_entropy_cfg_t cfg = s_cfg (2);
    cfg.push_fanout = 2;
    cfg.push_max_hops = 2;
    node_t b, c;
    s_node_start (&b, &cfg);
    cfg = s_cfg (3);
    cfg.push_fanout = 2;
    cfg.push_max_hops = 2;
    s_node_start (&c, &cfg);
    node_t a = s_ghost (1), d = s_ghost (4), e = s_ghost (5);
    //  b knows a (the origin), c, d, e; c knows b, d, e
    const node_t *b_peers [4] = { &a, &c, &d, &e };
    for (int i = 0; i < 4; i++)
        s_member (&b, T0, b_peers [i], ALIVE, 0);
    const node_t *c_peers [3] = { &b, &d, &e };
    for (int i = 0; i < 3; i++)
        s_member (&c, T0, c_peers [i], ALIVE, 0);

    //  The origin's push (hops 0) reaches b: forwarded to 2 random peers
    //  other than the origin, and to c, b's ring successor, if neither
    //  choice was c
    Rumor__KvEntry entry;
    s_kv (&entry, &a, "fresh", "1", 1);
    assert_int_equal (s_send_delta (&b, T0, &a, &entry, 1, true, 0, 0), 0);
    fxs_t *fxs = s_drain (&b);
    size_t forwards = s_count_sends (fxs, RUMOR__ENVELOPE__BODY_DELTA);
    assert_in_range (forwards, 2, 3);
    fx_t *to_c = NULL;
    for (size_t i = 0; i < forwards; i++) {
        fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, i);
        assert_false (rumor_id_eq (&fx->to, &a.id));
        assert_true (fx->env->delta->push);
        assert_int_equal (fx->env->delta->hops, 1);
        assert_int_equal (fx->env->delta->n_entries, 1);
        if (rumor_id_eq (&fx->to, &c.id))
            to_c = fx;
    }
    assert_non_null (to_c);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->pushes_forwarded,
                      forwards);

    //  Seen already: not forwarded again
    s_send_delta (&b, T0 + 1, &d, &entry, 1, true, 0, 0);
    fxs_t *again = s_drain (&b);
    assert_int_equal (s_count_sends (again, RUMOR__ENVELOPE__BODY_DELTA), 0);
    s_fxs_destroy (&again);

    //  At hops 1 = push_max_hops - 1, the receiver stores but stops
    assert_int_equal (rumor_anti_entropy_on_message (c.core, T0 + 2,
                                                     to_c->env), 0);
    s_fxs_destroy (&fxs);
    assert_true (s_value_is (s_get (&c, &a, "fresh", T0 + 2), "1"));
    fxs = s_drain (&c);
    assert_int_equal (s_count_sends (fxs, RUMOR__ENVELOPE__BODY_DELTA), 0);
    assert_int_equal (s_count_events (fxs, "set"), 1);
    s_fxs_destroy (&fxs);
    assert_int_equal (rumor_anti_entropy_stats (c.core)->pushes_forwarded, 0);
    rumor_anti_entropy_destroy (&b.core);
    rumor_anti_entropy_destroy (&c.core);
}

//  Does node hold origin's key at version?
static bool
s_holds (node_t *node, const node_t *origin, const char *key,
         uint64_t version, int64_t now)
{
    const Rumor__KvEntry *entry = s_get (node, origin, key, now);
    return entry && entry->version == version;
}

//  Deliver every queued SEND among nodes until quiet, eager pushes too
//  unless drop_pushes (then every push is lost); counts the deliveries.
static void
s_route_sends (node_t *nodes, size_t n, int64_t now, bool drop_pushes,
               size_t *delivered)
{
    bool busy = true;
    while (busy) {
        busy = false;
        for (size_t i = 0; i < n; i++) {
            fxs_t *fxs = s_drain (&nodes [i]);
            for (size_t k = 0; k < fxs->n; k++) {
                fx_t *fx = &fxs->items [k];
                if (!fx->is_send)
                    continue;
                if (drop_pushes
                &&  fx->env->body_case == RUMOR__ENVELOPE__BODY_DELTA
                &&  fx->env->delta->push)
                    continue;
                for (size_t j = 0; j < n; j++)
                    if (rumor_id_eq (&fx->to, &nodes [j].id)) {
                        rumor_anti_entropy_on_message (nodes [j].core, now,
                                                       fx->env);
                        (*delivered)++;
                        busy = true;
                    }
            }
            s_fxs_destroy (&fxs);
        }
    }
}

//  A write pushed with fanout 1 in a cluster of 40 that knows everyone,
//  no round run: random choices alone leave nodes without it (they would
//  wait for a round); with the ring successor every node has it, and each
//  node sent at most 2 pushes (one random, one to its successor).
static size_t
s_pushed_to (bool ring, size_t *pushes)
{
    enum { N = 40 };
    node_t nodes [N];
    for (size_t i = 0; i < N; i++) {
        //  Ids out of ring order in the array: the ring is by id
        rumor_anti_entropy_cfg_t cfg = s_cfg ((i * 17) % N + 1);
        cfg.push_fanout = 1;
        cfg.push_max_hops = N + 1;
        cfg.push_ring = ring;
        s_node_start (&nodes [i], &cfg);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            if (i != j)
                s_member (&nodes [i], T0, &nodes [j], ALIVE, 0);
    for (size_t i = 0; i < N; i++)
        s_discard (&nodes [i]);
    assert_int_equal (rumor_anti_entropy_set (nodes [7].core, T0, "k", "v", 1,
                                              0), RUMOR_AE_OK);
    *pushes = 0;
    s_route_sends (nodes, N, T0, false, pushes);
    size_t holders = 0;
    for (size_t i = 0; i < N; i++) {
        holders += s_holds (&nodes [i], &nodes [7], "k", 1, T0);
        rumor_anti_entropy_destroy (&nodes [i].core);
    }
    return holders;
}

static void
test_push_ring_reaches_every_node (void **state)
{
    (void) state;
    size_t pushes;
    assert_true (s_pushed_to (false, &pushes) < 40);
    assert_int_equal (s_pushed_to (true, &pushes), 40);
    assert_in_range (pushes, 39, 2 * 40);
}

//  Node 5's successor is the next id among its peers, wrapping past the
//  highest; it moves when a closer peer arrives or the successor departs.
static void
test_push_ring_successor_follows_membership (void **state)
{
    (void) state;
    rumor_anti_entropy_cfg_t cfg = s_cfg (5);
    cfg.push_fanout = 1;
    node_t a;
    s_node_start (&a, &cfg);
    node_t ghosts [10];
    for (int n = 0; n < 10; n++)
        ghosts [n] = s_ghost ((uint64_t) n);
    s_member (&a, T0, &ghosts [3], ALIVE, 0);
    s_member (&a, T0, &ghosts [9], ALIVE, 0);
    s_member (&a, T0, &ghosts [7], ALIVE, 0);
    s_discard (&a);
    //  Each of 10 writes reaches the successor (fanout 1 picks it by
    //  chance one time in three)
    const int successor_of [4] = { 7, 6, 7, 3 };
    for (int step = 0; step < 4; step++) {
        if (step == 1)
            s_member (&a, T0, &ghosts [6], ALIVE, 0);
        if (step == 2)
            s_member (&a, T0, &ghosts [6], DEAD, 0);
        if (step == 3) {
            //  Above us only departed peers: the ring wraps to the lowest
            s_member (&a, T0, &ghosts [7], LEFT, 0);
            s_member (&a, T0, &ghosts [9], DEAD, 0);
        }
        s_discard (&a);
        for (int write = 0; write < 10; write++) {
            char value [8];
            snprintf (value, sizeof (value), "%d", write);
            rumor_anti_entropy_set (a.core, T0, "k", value, strlen (value), 0);
            fxs_t *fxs = s_drain (&a);
            size_t sends = s_count_sends (fxs, RUMOR__ENVELOPE__BODY_DELTA);
            size_t hits = 0;
            for (size_t i = 0; i < sends; i++)
                hits += rumor_id_eq (&s_find_send (
                    fxs, RUMOR__ENVELOPE__BODY_DELTA, i)->to,
                    &ghosts [successor_of [step]].id);
            assert_int_equal (hits, 1);
            s_fxs_destroy (&fxs);
        }
    }
    rumor_anti_entropy_destroy (&a.core);
}

//  --------------------------------------------------------------------------
//  TTL, tombstones, departed origins, generations

static void
test_ttl_expiry (void **state)
{
    (void) state;
    node_t a, b;
    s_node (&a, 1);
    s_node (&b, 2);
    s_member (&a, T0, &b, ALIVE, 0);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "lease", "mine", 4,
                                              1000), RUMOR_AE_OK);
    fxs_t *fxs = s_drain (&a);
    assert_int_equal (s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0)
                      ->env->delta->entries [0]->expires_at, T0 + 1000);
    s_deliver (&b, T0 + 1, fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    s_fxs_destroy (&fxs);
    s_discard (&b);

    //  Live until expires_at, and the deadline covers the expiry
    assert_non_null (s_get (&b, &a, "lease", T0 + 999));
    assert_true (rumor_anti_entropy_next_deadline (b.core) <= T0 + 1000);
    rumor_anti_entropy_on_tick (b.core, T0 + 999);
    fxs = s_drain (&b);
    assert_int_equal (s_count_events (fxs, "expire"), 0);
    s_fxs_destroy (&fxs);
    assert_null (s_get (&b, &a, "lease", T0 + 1000));

    //  Told once at expiry, then hidden from keys too
    rumor_anti_entropy_on_tick (b.core, T0 + 1000);
    fxs = s_drain (&b);
    assert_int_equal (s_count_events (fxs, "expire"), 1);
    assert_string_equal (s_find_event (fxs, "expire", 0)->key, "lease");
    s_fxs_destroy (&fxs);
    rumor_anti_entropy_on_tick (b.core, T0 + 1500);
    fxs = s_drain (&b);
    assert_int_equal (s_count_events (fxs, "expire"), 0);
    s_fxs_destroy (&fxs);
    zlistx_t *keys = zlistx_new ();
    zlistx_set_destructor (keys, s_free_string);
    assert_int_equal (rumor_anti_entropy_keys (b.core, &a.id, keys), 0);
    zlistx_destroy (&keys);

    //  The owner tells expire and turns its key into a pushed tombstone
    rumor_anti_entropy_on_tick (a.core, T0 + 1000);
    fxs = s_drain (&a);
    assert_int_equal (s_count_events (fxs, "expire"), 1);
    assert_int_equal (s_count_events (fxs, "delete"), 0);
    fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_non_null (fx);
    assert_true (fx->env->delta->entries [0]->deleted);
    assert_int_equal (fx->env->delta->entries [0]->version, 2);
    assert_int_equal (rumor_anti_entropy_version (a.core, NULL), 2);
    //  ...which replaces the hidden entry silently elsewhere
    s_deliver (&b, T0 + 1001, fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    s_fxs_destroy (&fxs);
    fxs = s_drain (&b);
    assert_int_equal (fxs->n, 0);
    s_fxs_destroy (&fxs);
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 2);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->expired, 1);
    rumor_anti_entropy_destroy (&a.core);
    rumor_anti_entropy_destroy (&b.core);
}

static void
test_tombstones_collected (void **state)
{
    (void) state;
    rumor_anti_entropy_cfg_t cfg = s_cfg (2);
    cfg.tombstone_ttl_ms = 10000;
    node_t b, x = s_ghost (9), lagging = s_ghost (8);
    s_node_start (&b, &cfg);
    Rumor__KvEntry entries [2];
    s_kv (&entries [0], &x, "gone", "old", 1);
    s_kv (&entries [1], &x, "gone", NULL, 2);
    entries [1].deleted = true;
    s_send_delta (&b, T0, &x, entries, 1, false, 0, 0);
    s_send_delta (&b, T0, &x, &entries [1], 1, false, 0, 0);
    assert_null (s_get (&b, &x, "gone", T0));
    s_discard (&b);

    //  Before its TTL the tombstone is kept and served
    rumor_anti_entropy_on_tick (b.core, T0 + 9999);
    const rumor_anti_entropy_stats_t *stats = rumor_anti_entropy_stats (b.core);
    assert_int_equal (stats->tombstones_collected, 0);
    s_send_digest (&b, T0 + 9999, &lagging, NULL, 0);
    fxs_t *fxs = s_drain (&b);
    fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_non_null (fx);
    assert_true (fx->env->delta->entries [0]->deleted);
    s_fxs_destroy (&fxs);

    //  At its TTL it is collected; the max version stays
    assert_true (rumor_anti_entropy_next_deadline (b.core) <= T0 + 10000);
    rumor_anti_entropy_on_tick (b.core, T0 + 10000);
    assert_int_equal (stats->tombstones_collected, 1);
    assert_int_equal (rumor_anti_entropy_version (b.core, &x.id), 2);
    s_send_digest (&b, T0 + 10000, &lagging, NULL, 0);
    fxs = s_drain (&b);
    assert_int_equal (s_count_sends (fxs, RUMOR__ENVELOPE__BODY_DELTA), 0);
    s_fxs_destroy (&fxs);

    //  A lagging peer's old value does not come back
    s_send_delta (&b, T0 + 10001, &lagging, entries, 1, false, 0, 0);
    assert_null (s_get (&b, &x, "gone", T0 + 10001));
    fxs = s_drain (&b);
    assert_int_equal (fxs->n, 0);
    s_fxs_destroy (&fxs);
    rumor_anti_entropy_destroy (&b.core);
}

//  b holds two keys of origin a
static void
s_hold_two_keys (node_t *b, const node_t *a, int64_t now)
{
    Rumor__KvEntry entries [2];
    s_kv (&entries [0], a, "svc", "kafka", 1);
    s_kv (&entries [1], a, "port", "9092", 2);
    assert_int_equal (s_send_delta (b, now, a, entries, 2, false, 0, 0), 0);
    s_discard (b);
}

static void
test_departed_dropped (void **state)
{
    (void) state;
    node_t b, a = s_ghost (1);
    s_node (&b, 2);
    s_member (&b, T0, &a, ALIVE, 0);
    s_hold_two_keys (&b, &a, T0);
    assert_int_equal (s_member (&b, T0 + 100, &a, DEAD, 0), 0);
    assert_int_equal (rumor_anti_entropy_peers (b.core), 0);

    //  Kept until departed_ttl_ms (60 s) has passed
    rumor_anti_entropy_on_tick (b.core, T0 + 100 + 59999);
    assert_non_null (s_get (&b, &a, "svc", T0 + 100 + 59999));
    assert_true (rumor_anti_entropy_next_deadline (b.core) <= T0 + 100 + 60000);
    rumor_anti_entropy_on_tick (b.core, T0 + 100 + 60000);
    assert_null (s_get (&b, &a, "svc", T0 + 100 + 60000));
    assert_int_equal (rumor_anti_entropy_origins (b.core), 1);
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 0);
    fxs_t *fxs = s_drain (&b);
    assert_int_equal (s_count_events (fxs, "delete"), 2);
    s_fxs_destroy (&fxs);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->origins_dropped, 1);

    //  A lagging peer cannot bring the departed keys back
    node_t lagging = s_ghost (8);
    Rumor__KvEntry entry;
    s_kv (&entry, &a, "svc", "kafka", 1);
    assert_int_equal (s_send_delta (&b, T0 + 61000, &lagging, &entry, 1,
                                    false, 0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->departed, 1);
    assert_null (s_get (&b, &a, "svc", T0 + 61000));

    //  It comes back: its keys are welcome again
    s_member (&b, T0 + 62000, &a, ALIVE, 0);
    assert_int_equal (s_send_delta (&b, T0 + 62000, &lagging, &entry, 1,
                                    false, 0, 0), 0);
    assert_non_null (s_get (&b, &a, "svc", T0 + 62000));
    rumor_anti_entropy_destroy (&b.core);
}

static void
test_departed_kept_if_back (void **state)
{
    (void) state;
    node_t b, a = s_ghost (1);
    s_node (&b, 2);
    s_member (&b, T0, &a, ALIVE, 0);
    s_hold_two_keys (&b, &a, T0);
    s_member (&b, T0 + 100, &a, LEFT, 0);
    //  Refuted before the delay: nothing is dropped
    s_member (&b, T0 + 5000, &a, ALIVE, 0);
    assert_int_equal (rumor_anti_entropy_peers (b.core), 1);
    rumor_anti_entropy_on_tick (b.core, T0 + 100 + 60000);
    rumor_anti_entropy_on_tick (b.core, T0 + 200000);
    assert_non_null (s_get (&b, &a, "svc", T0 + 200000));
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 2);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->origins_dropped, 0);
    rumor_anti_entropy_destroy (&b.core);
}

static void
test_new_generation_replaces (void **state)
{
    (void) state;
    node_t b, a = s_ghost (1);
    s_node (&b, 2);
    s_member (&b, T0, &a, ALIVE, 0);
    s_hold_two_keys (&b, &a, T0);

    //  a restarts: its member update has a newer generation
    node_t a2 = a;
    a2.generation = (uint64_t) T0 + 5000;
    s_member (&b, T0 + 5000, &a2, ALIVE, 0);
    assert_null (s_get (&b, &a, "svc", T0 + 5000));
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 0);
    fxs_t *fxs = s_drain (&b);
    assert_int_equal (s_count_events (fxs, "delete"), 2);
    s_fxs_destroy (&fxs);

    //  The old generation's entries are refused, the new one's applied
    Rumor__KvEntry entry;
    s_kv (&entry, &a, "svc", "kafka", 3);
    assert_int_equal (s_send_delta (&b, T0 + 5001, &a2, &entry, 1, false,
                                    0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->stale_generation, 1);
    s_kv (&entry, &a2, "svc", "zookeeper", 1);
    assert_int_equal (s_send_delta (&b, T0 + 5001, &a2, &entry, 1, false,
                                    0, 0), 0);
    assert_true (s_value_is (s_get (&b, &a, "svc", T0 + 5001), "zookeeper"));
    assert_int_equal (rumor_anti_entropy_version (b.core, &a.id), 1);

    //  A newer generation's entry replaces the old keys by itself too
    node_t a3 = a;
    a3.generation = (uint64_t) T0 + 9000;
    s_kv (&entry, &a3, "other", "x", 1);
    s_send_delta (&b, T0 + 9001, &a3, &entry, 1, false, 0, 0);
    assert_null (s_get (&b, &a, "svc", T0 + 9001));
    assert_non_null (s_get (&b, &a, "other", T0 + 9001));
    assert_int_equal (
        rumor_anti_entropy_stats (b.core)->generations_replaced, 2);
    rumor_anti_entropy_destroy (&b.core);
}

//  --------------------------------------------------------------------------
//  Limits and bad input

static void
test_local_limits (void **state)
{
    (void) state;
    rumor_anti_entropy_cfg_t cfg = s_cfg (1);
    cfg.max_keys = 2;
    cfg.max_value = 8;
    node_t a;
    s_node_start (&a, &cfg);
    char long_key [300];
    memset (long_key, 'k', 299);
    long_key [299] = 0;
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, NULL, "v", 1, 0),
                      RUMOR_AE_EKEY);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "", "v", 1, 0),
                      RUMOR_AE_EKEY);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, long_key, "v", 1, 0),
                      RUMOR_AE_EKEY);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "bad\xff", "v", 1, 0),
                      RUMOR_AE_EKEY);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "big", "123456789",
                                              9, 0), RUMOR_AE_EVALUE);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "ttl", "v", 1, -1),
                      RUMOR_AE_ETTL);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "ttl", "v", 1,
                                              RUMOR_AE_EXPIRY_MAX_MS + 1),
                      RUMOR_AE_ETTL);
    assert_int_equal (rumor_anti_entropy_delete (a.core, T0, "absent"),
                      RUMOR_AE_ENOKEY);
    assert_int_equal (rumor_anti_entropy_version (a.core, NULL), 0);

    //  max_keys counts tombstones: a deleted key still takes its place
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "k1", "", 0, 0), 0);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "k2", "12345678",
                                              8, 0), 0);
    assert_int_equal (rumor_anti_entropy_delete (a.core, T0, "k1"), 0);
    assert_int_equal (rumor_anti_entropy_delete (a.core, T0, "k1"),
                      RUMOR_AE_ENOKEY);
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "k3", "v", 1, 0),
                      RUMOR_AE_EFULL);
    //  Rewriting a held key is fine
    assert_int_equal (rumor_anti_entropy_set (a.core, T0, "k1", "v", 1, 0), 0);
    assert_int_equal (rumor_anti_entropy_version (a.core, NULL), 4);
    assert_string_equal (rumor_anti_entropy_strerror (RUMOR_AE_EFULL),
                         "too many keys");
    assert_string_equal (rumor_anti_entropy_strerror (RUMOR_AE_OK), "ok");
    assert_non_null (rumor_anti_entropy_strerror (-99));
    rumor_anti_entropy_destroy (&a.core);
}

static void
test_remote_limits (void **state)
{
    (void) state;
    rumor_anti_entropy_cfg_t cfg = s_cfg (2);
    cfg.max_keys = 3;
    cfg.max_value = 8;
    node_t b, x = s_ghost (9);
    s_node_start (&b, &cfg);
    Rumor__KvEntry entries [5];
    const char *keys [5] = { "a", "b", "c", "d", "e" };
    for (int i = 0; i < 5; i++)
        s_kv (&entries [i], &x, keys [i], "v", (uint64_t) i + 1);
    assert_int_equal (s_send_delta (&b, T0, &x, entries, 5, false, 0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->full, 2);
    //  The max stops where the refusals start: b never claims d and e
    assert_int_equal (rumor_anti_entropy_version (b.core, &x.id), 3);
    assert_null (s_get (&b, &x, "d", T0));

    s_kv (&entries [0], &x, "a", "123456789", 6);
    assert_int_equal (s_send_delta (&b, T0, &x, entries, 1, false, 0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->too_big, 1);
    rumor_anti_entropy_destroy (&b.core);
}

static void
test_bad_input_refused (void **state)
{
    (void) state;
    node_t b, x = s_ghost (9);
    s_node (&b, 2);
    rumor_anti_entropy_set (b.core, T0, "mine", "v", 1, 0);
    s_discard (&b);
    Rumor__KvEntry entry;

    //  Our own keys, our generation, a version above ours: forged
    s_kv (&entry, &b, "mine", "evil", 5);
    assert_int_equal (s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->forged, 1);
    //  An older generation of ours: stale
    node_t old_b = b;
    old_b.generation--;
    s_kv (&entry, &old_b, "mine", "old", 9);
    assert_int_equal (s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->stale_self, 1);
    //  Our own entry as we wrote it: a harmless duplicate
    s_kv (&entry, &b, "mine", "v", 1);
    assert_int_equal (s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0), 0);
    assert_true (s_value_is (s_get (&b, NULL, "mine", T0), "v"));

    //  A generation far in the future
    node_t future = x;
    future.generation = (uint64_t) T0 + 5 * 60 * 1000 + 1;
    s_kv (&entry, &future, "k", "v", 1);
    assert_int_equal (s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->future_generation, 1);
    //  An expiry more than ten years ahead
    s_kv (&entry, &x, "k", "v", 1);
    entry.expires_at = (uint64_t) T0 + RUMOR_AE_EXPIRY_MAX_MS + 1;
    assert_int_equal (s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->bad_expiry, 1);
    assert_int_equal (rumor_anti_entropy_origins (b.core), 1);

    //  A body that is not ours, and a message claiming to be from us
    Rumor__Ping ping = RUMOR__PING__INIT;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PING;
    body.ping = &ping;
    Rumor__Envelope *env = s_envelope (&x, &body);
    assert_int_equal (rumor_anti_entropy_on_message (b.core, T0, env), -1);
    rumor_codec_free (&env);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->bad_body, 1);
    s_kv (&entry, &x, "k", "v", 1);
    assert_int_equal (s_send_delta (&b, T0, &b, &entry, 1, false, 0, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->bad_sender, 1);

    //  A digest entry from the future is ignored, not followed
    Rumor__DigestEntry digest;
    s_digest_entry (&digest, &x, (uint64_t) T0 + 10 * 60 * 1000, 7);
    assert_int_equal (s_send_digest (&b, T0, &x, &digest, 1), 0);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->bad_digest, 1);
    fxs_t *fxs = s_drain (&b);
    assert_int_equal (s_count_sends (fxs,
                                     RUMOR__ENVELOPE__BODY_DELTA_REQUEST), 0);
    s_fxs_destroy (&fxs);

    //  An event that is not a member update, a member from the future
    Rumor__KvEntry wrong = RUMOR__KV_ENTRY__INIT;
    assert_int_equal (rumor_anti_entropy_on_event (b.core, T0, "member",
                                                   &wrong.base), -1);
    assert_int_equal (s_member (&b, T0, &future, ALIVE, 0), -1);
    assert_int_equal (rumor_anti_entropy_stats (b.core)->bad_event, 2);
    assert_int_equal (rumor_anti_entropy_on_event (b.core, T0, "verdict",
                                                   &wrong.base), 0);

    //  And the core keeps working
    s_kv (&entry, &x, "k", "fine", 1);
    assert_int_equal (s_send_delta (&b, T0, &x, &entry, 1, false, 0, 0), 0);
    assert_true (s_value_is (s_get (&b, &x, "k", T0), "fine"));
    assert_int_equal (rumor_anti_entropy_set (b.core, T0, "mine", "w", 1, 0),
                      0);
    assert_int_equal (rumor_anti_entropy_version (b.core, NULL), 2);
    rumor_anti_entropy_destroy (&b.core);
}

//  --------------------------------------------------------------------------
//  Large clusters: digests hold at most RUMOR_REPEATED_MAX origins

static void
test_digest_window (void **state)
{
    (void) state;
    node_t b, p = s_ghost (5000);
    s_node (&b, 2);
    s_member (&b, T0, &p, ALIVE, 0);
    //  b learns 1100 origins, one key each
    size_t total = 1100;
    Rumor__KvEntry *entries = (Rumor__KvEntry *) calloc (
        total, sizeof (Rumor__KvEntry));
    node_t *origins = (node_t *) calloc (total, sizeof (node_t));
    for (size_t i = 0; i < total; i++) {
        origins [i] = s_ghost (10000 + i);
        s_kv (&entries [i], &origins [i], "k", "v", 1);
    }
    s_send_delta (&b, T0, &p, entries, 1000, false, 0, 0);
    s_send_delta (&b, T0, &p, entries + 1000, total - 1000, false, 0, 0);
    assert_int_equal (rumor_anti_entropy_origins (b.core), total + 1);
    s_discard (&b);

    //  Two rounds: each Digest full to the limit, and they differ
    rumor_id_t first [2];
    for (int round = 0; round < 2; round++) {
        s_tick_next (&b);
        fxs_t *fxs = s_drain (&b);
        fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DIGEST, 0);
        assert_non_null (fx);
        assert_int_equal (fx->env->digest->n_entries, RUMOR_REPEATED_MAX);
        rumor_id_from_bin (&first [round],
                           fx->env->digest->entries [0]->origin);
        s_fxs_destroy (&fxs);
    }
    assert_false (rumor_id_eq (&first [0], &first [1]));

    //  A full-size digest may be a window: what it leaves out is not sent
    Rumor__DigestEntry *digest = (Rumor__DigestEntry *) calloc (
        RUMOR_REPEATED_MAX, sizeof (Rumor__DigestEntry));
    for (size_t i = 0; i < RUMOR_REPEATED_MAX; i++)
        s_digest_entry (&digest [i], &origins [i], origins [i].generation, 1);
    rumor_anti_entropy_set (b.core, T0, "mine", "v", 1, 0);
    s_discard (&b);
    s_send_digest (&b, T0 + 1000, &p, digest, RUMOR_REPEATED_MAX);
    fxs_t *fxs = s_drain (&b);
    assert_int_equal (s_count_sends (fxs, RUMOR__ENVELOPE__BODY_DELTA), 0);
    s_fxs_destroy (&fxs);
    //  A smaller one is complete: b's own keys and the rest are offered
    s_send_digest (&b, T0 + 1000, &p, digest, 10);
    fxs = s_drain (&b);
    fx_t *fx = s_find_send (fxs, RUMOR__ENVELOPE__BODY_DELTA, 0);
    assert_non_null (fx);
    assert_true (fx->env->delta->n_entries > 10);
    s_fxs_destroy (&fxs);
    free (digest);
    free (entries);
    free (origins);
    rumor_anti_entropy_destroy (&b.core);
}

//  --------------------------------------------------------------------------
//  Three nodes, wired by hand, converge through digest rounds alone

//  Deliver every queued SEND among nodes until quiet; pushes are lost
static void
s_route (node_t *nodes, size_t n, int64_t now, size_t *delivered)
{
    s_route_sends (nodes, n, now, true, delivered);
}

static bool
s_converged (node_t *nodes, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            uint64_t want = rumor_anti_entropy_version (nodes [j].core, NULL);
            if (rumor_anti_entropy_version (nodes [i].core, &nodes [j].id)
                != want)
                return false;
            zlistx_t *mine = zlistx_new ();
            zlistx_t *seen = zlistx_new ();
            zlistx_set_destructor (mine, s_free_string);
            zlistx_set_destructor (seen, s_free_string);
            rumor_anti_entropy_keys (nodes [j].core, NULL, mine);
            rumor_anti_entropy_keys (nodes [i].core, &nodes [j].id, seen);
            bool same = zlistx_size (mine) == zlistx_size (seen);
            for (char *key = (char *) zlistx_first (mine); key && same;
                 key = (char *) zlistx_next (mine)) {
                const Rumor__KvEntry *a = s_get (&nodes [j], NULL, key, now);
                const Rumor__KvEntry *b = s_get (&nodes [i], &nodes [j], key,
                                                 now);
                same = a && b && a->version == b->version
                    && a->value.len == b->value.len
                    && memcmp (a->value.data, b->value.data, a->value.len) == 0;
            }
            zlistx_destroy (&mine);
            zlistx_destroy (&seen);
            if (!same)
                return false;
        }
    return true;
}

static void
test_three_nodes_converge (void **state)
{
    (void) state;
    node_t nodes [3];
    for (size_t i = 0; i < 3; i++)
        s_node (&nodes [i], i + 1);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            if (i != j)
                s_member (&nodes [i], T0, &nodes [j], ALIVE, 0);
    //  100 keys spread over the three keyspaces, some rewritten or deleted
    for (int k = 0; k < 100; k++) {
        char key [16], value [16];
        snprintf (key, sizeof (key), "key-%03d", k);
        snprintf (value, sizeof (value), "value-%d", k);
        assert_int_equal (rumor_anti_entropy_set (nodes [k % 3].core, T0, key,
                                                  value, strlen (value), 0), 0);
    }
    rumor_anti_entropy_set (nodes [0].core, T0, "key-000", "again", 5, 0);
    rumor_anti_entropy_delete (nodes [1].core, T0, "key-001");
    size_t delivered = 0;
    s_route (nodes, 3, T0, &delivered);
    assert_int_equal (delivered, 0);        //  only pushes so far, all lost
    assert_false (s_converged (nodes, 3, T0));

    //  Rounds of 200 ms: converged within a few
    int64_t now = T0;
    while (!s_converged (nodes, 3, now)) {
        now += 10;
        assert_true (now < T0 + 10 * 200);
        for (size_t i = 0; i < 3; i++)
            rumor_anti_entropy_on_tick (nodes [i].core, now);
        s_route (nodes, 3, now, &delivered);
    }
    assert_true (delivered > 0);
    for (size_t i = 0; i < 3; i++) {
        assert_true (s_value_is (s_get (&nodes [i], &nodes [0], "key-000", now),
                                 "again"));
        assert_null (s_get (&nodes [i], &nodes [1], "key-001", now));
        assert_true (s_value_is (s_get (&nodes [i], &nodes [2], "key-098", now),
                                 "value-98"));
        assert_int_equal (rumor_anti_entropy_origins (nodes [i].core), 3);
    }
    for (size_t i = 0; i < 3; i++)
        rumor_anti_entropy_destroy (&nodes [i].core);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_usage),
        cmocka_unit_test (test_cfg),
        cmocka_unit_test (test_round_sends_digest),
        cmocka_unit_test (test_digest_answered_three_way),
        cmocka_unit_test (test_delta_request_answered),
        cmocka_unit_test (test_truncated_delta_stays_correct),
        cmocka_unit_test (test_oversized_entry_still_travels),
        cmocka_unit_test (test_fair_rotation),
        cmocka_unit_test (test_merge_newer_wins),
        cmocka_unit_test (test_push_base_advances_max),
        cmocka_unit_test (test_gap_not_served),
        cmocka_unit_test (test_local_write_pushed),
        cmocka_unit_test (test_push_forwarded_once_then_stops),
        cmocka_unit_test (test_push_ring_reaches_every_node),
        cmocka_unit_test (test_push_ring_successor_follows_membership),
        cmocka_unit_test (test_ttl_expiry),
        cmocka_unit_test (test_tombstones_collected),
        cmocka_unit_test (test_departed_dropped),
        cmocka_unit_test (test_departed_kept_if_back),
        cmocka_unit_test (test_new_generation_replaces),
        cmocka_unit_test (test_local_limits),
        cmocka_unit_test (test_remote_limits),
        cmocka_unit_test (test_bad_input_refused),
        cmocka_unit_test (test_digest_window),
        cmocka_unit_test (test_three_nodes_converge),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
