/*  =========================================================================
    test_app - the app core: Plumtree broadcast, topics, direct, queries

    Single-core tests feed hand-built envelopes and read the effects back
    (SEND bodies sealed with rumor_codec_seal and decoded with
    rumor_codec_decode). Network tests wire a few cores together with a
    zero-latency FIFO network on explicit time, optionally dropping
    messages, and jump the clock to the next deadline.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "app.h"

#define CLUSTER     0x5eedULL       //  cluster hash used for sealing
#define GENERATION  1000            //  every test node's generation
#define T0          1700000000000LL //  a plausible wall clock, ms
#define NET_MAX     32              //  most cores in a test network


//  --------------------------------------------------------------------------
//  Helpers: ids, cores, members

static rumor_id_t
s_id (uint64_t n)
{
    rumor_id_t id;
    rumor_id_from_u64 (&id, n);
    return id;
}

static rumor_app_cfg_t
s_cfg (uint64_t n)
{
    rumor_app_cfg_t cfg;
    rumor_app_cfg_defaults (&cfg);
    cfg.self = s_id (n);
    cfg.generation = GENERATION;
    cfg.seed = n;
    return cfg;
}

static rumor_app_t *
s_new (uint64_t n)
{
    rumor_app_cfg_t cfg = s_cfg (n);
    rumor_app_t *app = rumor_app_new (&cfg);
    assert_non_null (app);
    return app;
}

//  Tell app that member n is in the given state (generation GENERATION).
static int
s_member_gen (rumor_app_t *app, int64_t now, uint64_t n, Rumor__State state,
              uint64_t generation)
{
    rumor_id_t id = s_id (n);
    char endpoint [32];
    snprintf (endpoint, sizeof (endpoint), "tcp://10.0.0.%u:7400", (unsigned) n);
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.id = rumor_id_bin (&id);
    update.generation = generation;
    update.state = state;
    update.endpoint = endpoint;
    update.name = "node";
    return rumor_app_on_event (app, now, "member", &update.base);
}

static int
s_member (rumor_app_t *app, int64_t now, uint64_t n, Rumor__State state)
{
    return s_member_gen (app, now, n, state, GENERATION);
}

#define ALIVE   RUMOR__STATE__STATE_ALIVE
#define SUSPECT RUMOR__STATE__STATE_SUSPECT
#define DEAD    RUMOR__STATE__STATE_DEAD
#define LEFT    RUMOR__STATE__STATE_LEFT


//  --------------------------------------------------------------------------
//  Helpers: effects, decoded

typedef struct {
    bool is_send;                   //  SEND or EVENT
    rumor_id_t to;                  //  SEND: destination
    Rumor__Envelope *env;           //  SEND: sealed then decoded
    char kind [32];                 //  EVENT: kind
    char extra [64];                //  EVENT: extra
    ProtobufCMessage *detail;       //  EVENT: decoded detail
} fx_t;

typedef struct {
    fx_t *items;                    //  effects in order
    size_t size;                    //  effects held
    size_t max;                     //  allocated
} fxs_t;

static const ProtobufCMessageDescriptor *
s_detail_type (const char *kind)
{
    if (streq (kind, "event"))
        return &rumor__event__descriptor;
    if (streq (kind, "direct"))
        return &rumor__direct__descriptor;
    if (streq (kind, "response"))
        return &rumor__response__descriptor;
    return &rumor__query__descriptor;   //  query, query-done
}

//  Seal a SEND body as node `from` would, and decode it as a peer would.
static Rumor__Envelope *
s_seal_decode (const rumor_id_t *from, const rumor_id_t *to,
               const byte *body, size_t body_size)
{
    static uint64_t seq = 0;
    rumor_header_t header = { CLUSTER, *from, GENERATION, 0, ++seq, *to };
    zframe_t *frame = rumor_codec_seal (&header, NULL, 0, body, body_size);
    assert_non_null (frame);
    Rumor__Envelope *env = rumor_codec_decode (zframe_data (frame),
                                               zframe_size (frame), CLUSTER, NULL);
    assert_non_null (env);
    zframe_destroy (&frame);
    return env;
}

//  Decode one effect of node `from` into fx.
static void
s_decode (zframe_t *msg, const rumor_id_t *from, fx_t *fx)
{
    rumor_fx_view_t view;
    assert_int_equal (rumor_fx_parse (msg, &view), 0);
    memset (fx, 0, sizeof (*fx));
    fx->is_send = view.is_send;
    if (view.is_send) {
        fx->to = view.to;
        fx->env = s_seal_decode (from, &view.to, view.body, view.body_size);
    }
    else {
        snprintf (fx->kind, sizeof (fx->kind), "%s", view.kind);
        snprintf (fx->extra, sizeof (fx->extra), "%s", view.extra);
        fx->detail = rumor_codec_decode_detail (s_detail_type (view.kind),
            view.body, view.body_size);
        assert_non_null (fx->detail);
    }
}

static void
s_fxs_add (fxs_t *fxs, const fx_t *fx)
{
    if (fxs->size == fxs->max) {
        fxs->max = fxs->max? fxs->max * 2: 64;
        fxs->items = (fx_t *) realloc (fxs->items, fxs->max * sizeof (fx_t));
        assert_non_null (fxs->items);
    }
    fxs->items [fxs->size++] = *fx;
}

static void
s_fxs_free (fxs_t *fxs)
{
    for (size_t i = 0; i < fxs->size; i++) {
        rumor_codec_free (&fxs->items [i].env);
        rumor_codec_free_detail (&fxs->items [i].detail);
    }
    free (fxs->items);
    memset (fxs, 0, sizeof (*fxs));
}

//  Take every queued effect of app (node n) into fxs.
static void
s_collect (rumor_app_t *app, uint64_t n, fxs_t *fxs)
{
    rumor_id_t from = s_id (n);
    zframe_t *msg;
    while ((msg = rumor_app_next_effect (app))) {
        fx_t fx;
        s_decode (msg, &from, &fx);
        s_fxs_add (fxs, &fx);
        zframe_destroy (&msg);
    }
}

//  Number of SENDs of this body kind (to `to`, or to anyone if to is 0).
static size_t
s_sends (const fxs_t *fxs, Rumor__Envelope__BodyCase body, uint64_t to)
{
    rumor_id_t target = s_id (to);
    size_t count = 0;
    for (size_t i = 0; i < fxs->size; i++)
        if (fxs->items [i].is_send && fxs->items [i].env->body_case == body
        &&  (to == 0 || rumor_id_eq (&fxs->items [i].to, &target)))
            count++;
    return count;
}

//  The index-th SEND of this body kind, or NULL.
static fx_t *
s_send_at (const fxs_t *fxs, Rumor__Envelope__BodyCase body, size_t index)
{
    for (size_t i = 0; i < fxs->size; i++)
        if (fxs->items [i].is_send && fxs->items [i].env->body_case == body
        &&  index-- == 0)
            return &fxs->items [i];
    return NULL;
}

static size_t
s_events (const fxs_t *fxs, const char *kind)
{
    size_t count = 0;
    for (size_t i = 0; i < fxs->size; i++)
        if (!fxs->items [i].is_send && streq (fxs->items [i].kind, kind))
            count++;
    return count;
}

static fx_t *
s_event_at (const fxs_t *fxs, const char *kind, size_t index)
{
    for (size_t i = 0; i < fxs->size; i++)
        if (!fxs->items [i].is_send && streq (fxs->items [i].kind, kind)
        &&  index-- == 0)
            return &fxs->items [i];
    return NULL;
}

//  Drop every queued effect of app.
static void
s_discard (rumor_app_t *app)
{
    zframe_t *msg;
    while ((msg = rumor_app_next_effect (app)))
        zframe_destroy (&msg);
}

static const char *
s_hex (uint64_t n, char *hex)
{
    rumor_id_t id = s_id (n);
    return rumor_id_hex (&id, hex);
}


//  The peers of app among ids first..last that are eager, into ids.
static size_t
s_eager_peers (rumor_app_t *app, uint64_t first, uint64_t last, uint64_t *ids)
{
    size_t count = 0;
    for (uint64_t n = first; n <= last; n++) {
        rumor_id_t id = s_id (n);
        if (rumor_app_is_eager (app, &id))
            ids [count++] = n;
    }
    return count;
}

//  --------------------------------------------------------------------------
//  Helpers: hand-built inputs from node `from`

static int
s_give (rumor_app_t *app, int64_t now, uint64_t from, Rumor__Envelope *env)
{
    rumor_id_t sender = s_id (from);
    env->version = RUMOR_PROTOCOL_VERSION;
    env->cluster = CLUSTER;
    env->sender = rumor_id_bin (&sender);
    env->generation = GENERATION;
    return rumor_app_on_message (app, now, env);
}

static int
s_give_event (rumor_app_t *app, int64_t now, uint64_t from, uint64_t origin,
              uint64_t id, const char *topic, uint32_t hops)
{
    rumor_id_t origin_id = s_id (origin);
    Rumor__Event event = RUMOR__EVENT__INIT;
    event.origin = rumor_id_bin (&origin_id);
    event.id = id;
    event.topic = (char *) topic;
    event.payload.data = (uint8_t *) "on";
    event.payload.len = 2;
    event.hops = hops;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_EVENT;
    env.event = &event;
    return s_give (app, now, from, &env);
}

static int
s_give_query (rumor_app_t *app, int64_t now, uint64_t from, uint64_t origin,
              uint64_t id, const char *topic, uint64_t deadline)
{
    rumor_id_t origin_id = s_id (origin);
    Rumor__Query query = RUMOR__QUERY__INIT;
    query.origin = rumor_id_bin (&origin_id);
    query.id = id;
    query.topic = (char *) topic;
    query.deadline = deadline;
    query.hops = 1;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_QUERY;
    env.query = &query;
    return s_give (app, now, from, &env);
}

//  IHave (graft false) or Graft (true) with count refs origin:first...
static int
s_give_refs (rumor_app_t *app, int64_t now, uint64_t from, bool graft,
             uint64_t origin, uint64_t first, size_t count)
{
    rumor_id_t origin_id = s_id (origin);
    Rumor__EventRef *items = calloc (count + 1, sizeof (Rumor__EventRef));
    Rumor__EventRef **refs = calloc (count + 1, sizeof (Rumor__EventRef *));
    for (size_t i = 0; i < count; i++) {
        rumor__event_ref__init (&items [i]);
        items [i].origin = rumor_id_bin (&origin_id);
        items [i].id = first + i;
        refs [i] = &items [i];
    }
    Rumor__IHave ihave = RUMOR__IHAVE__INIT;
    Rumor__Graft graft_msg = RUMOR__GRAFT__INIT;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    if (graft) {
        graft_msg.n_refs = count;
        graft_msg.refs = refs;
        env.body_case = RUMOR__ENVELOPE__BODY_GRAFT;
        env.graft = &graft_msg;
    }
    else {
        ihave.n_refs = count;
        ihave.refs = refs;
        env.body_case = RUMOR__ENVELOPE__BODY_IHAVE;
        env.ihave = &ihave;
    }
    int rc = s_give (app, now, from, &env);
    free (refs);
    free (items);
    return rc;
}

static int
s_give_prune (rumor_app_t *app, int64_t now, uint64_t from)
{
    Rumor__Prune prune = RUMOR__PRUNE__INIT;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_PRUNE;
    env.prune = &prune;
    return s_give (app, now, from, &env);
}

static int
s_give_direct (rumor_app_t *app, int64_t now, uint64_t from, const char *topic)
{
    Rumor__Direct direct = RUMOR__DIRECT__INIT;
    direct.id = 1;
    direct.topic = (char *) topic;
    direct.payload.data = (uint8_t *) "hi";
    direct.payload.len = 2;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_DIRECT;
    env.direct = &direct;
    return s_give (app, now, from, &env);
}

static int
s_give_response (rumor_app_t *app, int64_t now, uint64_t from, uint64_t query_id)
{
    Rumor__Response response = RUMOR__RESPONSE__INIT;
    response.query = query_id;
    response.payload.data = (uint8_t *) "yes";
    response.payload.len = 3;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_RESPONSE;
    env.response = &response;
    return s_give (app, now, from, &env);
}


//  --------------------------------------------------------------------------
//  Helpers: a network of cores (ids 1..n, all members of each other)

typedef struct _net_t net_t;

//  Return true to drop a message from core index `from` to index `to`.
typedef bool (drop_fn) (net_t *net, size_t from, size_t to,
                        const Rumor__Envelope *env);

typedef struct {
    size_t from, to;                //  core indexes
    Rumor__Envelope *env;           //  decoded envelope
} packet_t;

struct _net_t {
    size_t n;                       //  cores
    rumor_app_t *cores [NET_MAX];   //  core i has id i + 1
    fxs_t events [NET_MAX];         //  EVENT effects per core
    size_t sent [NET_MAX][80];      //  SENDs per core per body kind
    size_t dropped;                 //  messages dropped by drop
    packet_t *queue;                //  messages in flight, FIFO
    size_t head, tail, max;         //  queue bounds
    int64_t now;                    //  virtual time
    drop_fn *drop;                  //  loss, or NULL
};

//  Core i learns the others in rotated order (i+1, i+2, ...), so each
//  core's first eager_fanout peers differ: a circulant initial graph.
static net_t *
s_net_new (size_t n, uint32_t eager_fanout)
{
    net_t *net = (net_t *) calloc (1, sizeof (net_t));
    assert_non_null (net);
    net->n = n;
    net->now = T0;
    for (size_t i = 0; i < n; i++) {
        rumor_app_cfg_t cfg = s_cfg (i + 1);
        cfg.eager_fanout = eager_fanout;
        net->cores [i] = rumor_app_new (&cfg);
        assert_non_null (net->cores [i]);
        for (size_t k = 1; k < n; k++)
            s_member (net->cores [i], net->now, (i + k) % n + 1, ALIVE);
    }
    return net;
}

static void s_net_pump (net_t *net);
static void s_net_clear_counts (net_t *net);

//  A network whose links have settled (link Grafts and Prunes delivered),
//  with its traffic counts cleared: what a broadcast then costs is its own.
static net_t *
s_net_ready (size_t n, uint32_t eager_fanout)
{
    net_t *net = s_net_new (n, eager_fanout);
    s_net_pump (net);
    s_net_clear_counts (net);
    return net;
}

static void
s_net_destroy (net_t **net_p)
{
    net_t *net = *net_p;
    for (size_t i = 0; i < net->n; i++) {
        rumor_app_destroy (&net->cores [i]);
        s_fxs_free (&net->events [i]);
    }
    for (size_t i = net->head; i < net->tail; i++)
        rumor_codec_free (&net->queue [i].env);
    free (net->queue);
    free (net);
    *net_p = NULL;
}

static size_t
s_net_index (net_t *net, const rumor_id_t *id)
{
    for (size_t i = 0; i < net->n; i++) {
        rumor_id_t candidate = s_id (i + 1);
        if (rumor_id_eq (&candidate, id))
            return i;
    }
    return SIZE_MAX;
}

static void
s_net_enqueue (net_t *net, size_t from, size_t to, Rumor__Envelope *env)
{
    if (net->tail == net->max) {
        net->max = net->max? net->max * 2: 256;
        net->queue = (packet_t *) realloc (net->queue, net->max * sizeof (packet_t));
        assert_non_null (net->queue);
    }
    net->queue [net->tail++] = (packet_t) { from, to, env };
}

//  Move every core's effects: SENDs into the queue, EVENTs into events.
static void
s_net_collect (net_t *net)
{
    for (size_t i = 0; i < net->n; i++) {
        fxs_t fxs = { NULL, 0, 0 };
        s_collect (net->cores [i], i + 1, &fxs);
        for (size_t k = 0; k < fxs.size; k++) {
            fx_t *fx = &fxs.items [k];
            if (!fx->is_send) {
                s_fxs_add (&net->events [i], fx);
                continue;
            }
            net->sent [i][fx->env->body_case]++;
            size_t to = s_net_index (net, &fx->to);
            if (to == SIZE_MAX)
                rumor_codec_free (&fx->env);
            else
                s_net_enqueue (net, i, to, fx->env);
        }
        free (fxs.items);
    }
}

//  Deliver messages until the network is quiet (zero latency, FIFO).
static void
s_net_pump (net_t *net)
{
    s_net_collect (net);
    size_t delivered = 0;
    while (net->head < net->tail) {
        //  Far more than any broadcast needs: a loop in the protocol
        if (++delivered > 100000)
            fail_msg ("message storm: dedup or forwarding is broken");
        packet_t packet = net->queue [net->head++];
        if (net->drop && net->drop (net, packet.from, packet.to, packet.env))
            net->dropped++;
        else
            rumor_app_on_message (net->cores [packet.to], net->now, packet.env);
        rumor_codec_free (&packet.env);
        s_net_collect (net);
    }
    net->head = net->tail = 0;
}

//  Run until `until`, jumping the clock from deadline to deadline.
static void
s_net_run (net_t *net, int64_t until)
{
    s_net_pump (net);
    while (true) {
        int64_t next = -1;
        for (size_t i = 0; i < net->n; i++) {
            int64_t deadline = rumor_app_next_deadline (net->cores [i]);
            if (deadline >= 0 && (next < 0 || deadline < next))
                next = deadline;
        }
        if (next < 0 || next > until)
            break;
        if (next > net->now)
            net->now = next;
        for (size_t i = 0; i < net->n; i++)
            rumor_app_on_tick (net->cores [i], net->now);
        s_net_pump (net);
    }
    net->now = until;
}

//  Sum of one stats field over all cores.
static uint64_t
s_net_sum (net_t *net, size_t offset)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < net->n; i++)
        sum += *(const uint64_t *) ((const char *) rumor_app_stats (net->cores [i])
                                    + offset);
    return sum;
}
#define NET_SUM(net, field) s_net_sum ((net), offsetof (rumor_app_stats_t, field))

//  SENDs of one body kind over all cores.
static size_t
s_net_sent (net_t *net, Rumor__Envelope__BodyCase body)
{
    size_t sum = 0;
    for (size_t i = 0; i < net->n; i++)
        sum += net->sent [i][body];
    return sum;
}

static void
s_net_clear_counts (net_t *net)
{
    memset (net->sent, 0, sizeof (net->sent));
    for (size_t i = 0; i < net->n; i++)
        s_fxs_free (&net->events [i]);
}


//  --------------------------------------------------------------------------
//  Usage example: two nodes, one says, both hear

static void
test_usage_example (void **state)
{
    (void) state;
    rumor_app_t *alice = s_new (1);
    rumor_app_t *bob = s_new (2);
    //  Peers come from membership's "member" events
    s_member (alice, T0, 2, ALIVE);
    s_member (bob, T0, 1, ALIVE);
    assert_int_equal (rumor_app_hear (alice, "lights.*"), 0);
    assert_int_equal (rumor_app_hear (bob, "lights.#"), 0);

    //  Alice says: she hears it herself, and pushes it to Bob (eager)
    assert_int_equal (rumor_app_say (alice, T0, "lights.kitchen", "on", 2), 0);
    fxs_t out = { NULL, 0, 0 };
    s_collect (alice, 1, &out);
    assert_int_equal (s_events (&out, "event"), 1);
    char hex [RUMOR_ID_HEX];
    assert_string_equal (s_event_at (&out, "event", 0)->extra, s_hex (1, hex));
    fx_t *push = s_send_at (&out, RUMOR__ENVELOPE__BODY_EVENT, 0);
    assert_non_null (push);
    rumor_id_t bob_id = s_id (2);
    assert_true (rumor_id_eq (&push->to, &bob_id));

    //  Bob gets it: delivered with the origin as extra
    assert_int_equal (rumor_app_on_message (bob, T0 + 1, push->env), 0);
    fxs_t in = { NULL, 0, 0 };
    s_collect (bob, 2, &in);
    fx_t *heard = s_event_at (&in, "event", 0);
    assert_non_null (heard);
    Rumor__Event *event = (Rumor__Event *) heard->detail;
    assert_string_equal (event->topic, "lights.kitchen");
    assert_memory_equal (event->payload.data, "on", 2);
    assert_int_equal (event->hops, 1);
    assert_string_equal (heard->extra, s_hex (1, hex));
    assert_int_equal (rumor_app_stats (bob)->delivered, 1);

    s_fxs_free (&out);
    s_fxs_free (&in);
    rumor_app_destroy (&alice);
    rumor_app_destroy (&bob);
    assert_null (alice);
}


//  --------------------------------------------------------------------------
//  Topic patterns

static void
test_topic_matches_table (void **state)
{
    (void) state;
    struct { const char *pattern, *topic; bool match; } table [] = {
        { "lights.*",        "lights.kitchen",          true  },
        { "lights.*",        "lights.kitchen.ceiling",  false },
        { "lights.*",        "lights",                  false },
        { "lights.#",        "lights",                  true  },
        { "lights.#",        "lights.kitchen",          true  },
        { "lights.#",        "lights.kitchen.ceiling",  true  },
        { "lights.#",        "lightsout",               false },
        { "#",               "anything.at.all",         true  },
        { "#",               "x",                       true  },
        { "*",               "x",                       true  },
        { "*",               "x.y",                     false },
        { "lights.kitchen",  "lights.kitchen",          true  },
        { "lights.kitchen",  "lights.hall",             false },
        { "lights.kitchen",  "lights.kitchenette",      false },
        { "*.kitchen",       "lights.kitchen",          true  },
        { "*.kitchen",       "kitchen",                 false },
        { "#.ceiling",       "ceiling",                 true  },
        { "#.ceiling",       "a.b.c.ceiling",           true  },
        { "#.ceiling",       "a.b.c.floor",             false },
        { "a.#.z",           "a.z",                     true  },
        { "a.#.z",           "a.b.c.z",                 true  },
        { "a.#.z",           "a.b.c",                   false },
        { "a.*.#",           "a",                       false },
        { "a.*.#",           "a.b",                     true  },
        { "#.#",             "a.b.c",                   true  },
        { "*.*",             "a.b",                     true  },
        { "*.*",             "a.b.c",                   false },
        //  Malformed patterns match nothing
        { "",                "a",                       false },
        { "lights.",         "lights.x",                false },
        { ".lights",         "x.lights",                false },
        { "a..b",            "a..b",                    false },
        { "*x",              "ax",                      false },
        { "x#",              "x#",                      false },
        { "li*ghts",         "lights",                  false },
    };
    for (size_t i = 0; i < sizeof (table) / sizeof (table [0]); i++) {
        bool got = rumor_app_topic_matches (table [i].pattern, table [i].topic);
        if (got != table [i].match)
            fail_msg ("pattern '%s' topic '%s': expected %d",
                      table [i].pattern, table [i].topic, table [i].match);
    }
    //  Too long: 256 bytes
    char longer [RUMOR_KEY_MAX + 2];
    memset (longer, 'a', RUMOR_KEY_MAX + 1);
    longer [RUMOR_KEY_MAX + 1] = 0;
    assert_false (rumor_app_pattern_valid (longer));
    assert_false (rumor_app_topic_matches ("#", longer));
    //  The most words a split can see: all dots, 256 empty words (the word
    //  arrays once held half that; ASan builds catch an overrun here)
    char dots [RUMOR_KEY_MAX + 1];
    memset (dots, '.', RUMOR_KEY_MAX);
    dots [RUMOR_KEY_MAX] = 0;
    assert_false (rumor_app_pattern_valid (dots));
    assert_false (rumor_app_topic_matches (dots, dots));
    assert_true (rumor_app_topic_matches ("#", dots));     //  "#": any words
    //  Many '#' stay fast (no exponential backtracking)
    char hashes [RUMOR_KEY_MAX + 1] = "";
    for (int i = 0; i < 100; i++)
        strcat (hashes, i? ".#": "#");
    strcat (hashes, ".z");
    assert_false (rumor_app_topic_matches (hashes,
        "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.y"));
}

static void
test_hear_refuses_malformed_patterns (void **state)
{
    (void) state;
    rumor_app_cfg_t cfg = s_cfg (1);
    cfg.max_patterns = 2;
    rumor_app_t *app = rumor_app_new (&cfg);
    assert_int_equal (rumor_app_hear (app, ""), -1);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_BAD_PATTERN);
    assert_int_equal (rumor_app_hear (app, "a..b"), -1);
    assert_int_equal (rumor_app_hear (app, "*x"), -1);
    assert_int_equal (rumor_app_stats (app)->refused_bad_pattern, 3);

    assert_int_equal (rumor_app_hear (app, "a.*"), 0);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_OK);
    assert_int_equal (rumor_app_hear (app, "a.*"), 0);     //  idempotent
    assert_int_equal (rumor_app_hear (app, "b.#"), 0);
    assert_int_equal (rumor_app_hear (app, "c"), -1);      //  max_patterns
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_TOO_MANY_PATTERNS);
    assert_int_equal (rumor_app_stats (app)->refused_too_many_patterns, 1);
    assert_true (rumor_app_hears (app, "b.x.y"));

    assert_int_equal (rumor_app_unhear (app, "b.#"), 0);
    assert_false (rumor_app_hears (app, "b.x.y"));
    assert_int_equal (rumor_app_unhear (app, "b.#"), -1);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_UNKNOWN_PATTERN);
    assert_int_equal (rumor_app_hear (app, "c"), 0);       //  room again
    rumor_app_destroy (&app);
}


//  --------------------------------------------------------------------------
//  say

static void
test_say_delivers_locally_only_if_heard (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    assert_int_equal (rumor_app_say (app, T0, "weather.rain", "", 0), 0);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "event"), 0);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 2), 1);
    s_fxs_free (&fxs);

    rumor_app_hear (app, "weather.#");
    assert_int_equal (rumor_app_say (app, T0, "weather.rain", "x", 1), 0);
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "event"), 1);
    Rumor__Event *event = (Rumor__Event *) s_event_at (&fxs, "event", 0)->detail;
    assert_int_equal (event->hops, 0);
    //  Ids start at generation << RUMOR_APP_ID_SHIFT and count up
    assert_int_equal (event->id, ((uint64_t) GENERATION << RUMOR_APP_ID_SHIFT) + 2);
    assert_int_equal (rumor_app_stats (app)->said, 2);
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}

static void
test_say_refuses_bad_input (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    s_discard (app);                    //  the link Graft to 2
    static uint8_t big [RUMOR_VALUE_MAX + 1];
    assert_int_equal (rumor_app_say (app, T0, "a", big, sizeof (big)), -1);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_OVERSIZED);
    assert_string_equal (rumor_app_strerror (RUMOR_APP_E_OVERSIZED), "payload too large");
    assert_int_equal (rumor_app_stats (app)->refused_oversized, 1);
    assert_int_equal (rumor_app_say (app, T0, "", "x", 1), -1);
    assert_int_equal (rumor_app_say (app, T0, "a..b", "x", 1), -1);
    assert_int_equal (rumor_app_say (app, T0, "a.*", "x", 1), -1);
    assert_int_equal (rumor_app_say (app, T0, "a.#", "x", 1), -1);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_BAD_TOPIC);
    assert_int_equal (rumor_app_stats (app)->refused_bad_topic, 4);
    assert_int_equal (rumor_app_next_effect (app), NULL);  //  nothing sent
    //  Still works
    assert_int_equal (rumor_app_say (app, T0, "a", big, RUMOR_VALUE_MAX), 0);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_OK);
    s_discard (app);
    rumor_app_destroy (&app);
}


//  --------------------------------------------------------------------------
//  Plumtree over hand-wired cores

static void
test_broadcast_delivered_once_on_each_hearer (void **state)
{
    (void) state;
    net_t *net = s_net_ready (6, 3);
    for (size_t i = 0; i < 5; i++)
        rumor_app_hear (net->cores [i], "news.#");
    rumor_app_hear (net->cores [5], "sports.#");
    assert_int_equal (rumor_app_say (net->cores [0], net->now, "news.today", "x", 1), 0);
    s_net_run (net, net->now + 1000);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal (s_events (&net->events [i], "event"), 1);
    assert_int_equal (s_events (&net->events [5], "event"), 0);
    //  Everyone got it once, the non-hearer forwarded it too
    assert_int_equal (NET_SUM (net, received), 5);
    //  The sender pushed eager_fanout copies (plus one per Graft it
    //  answered: a node no eager link reached, repaired by IHave), and
    //  announced to at most lazy_fanout peers in each of ihave_rounds
    const rumor_app_stats_t *sender = rumor_app_stats (net->cores [0]);
    assert_true (net->sent [0][RUMOR__ENVELOPE__BODY_EVENT]
                 <= 3 + sender->graft_served);
    assert_true (net->sent [0][RUMOR__ENVELOPE__BODY_IHAVE] <= 3 * 3);
    s_net_destroy (&net);
}

//  Per-node cost is O(1): total sends per broadcast over N nodes stay
//  under (eager_fanout + lazy_fanout x ihave_rounds + prunes) x N, at 8
//  and at 32 nodes.
static void
test_broadcast_sends_are_linear (void **state)
{
    (void) state;
    size_t sizes [] = { 8, 32 };
    for (size_t s = 0; s < 2; s++) {
        size_t n = sizes [s];
        net_t *net = s_net_ready (n, 3);
        for (size_t i = 0; i < n; i++)
            rumor_app_hear (net->cores [i], "#");
        rumor_app_say (net->cores [0], net->now, "first", "", 0);
        s_net_run (net, net->now + 1000);
        size_t events = s_net_sent (net, RUMOR__ENVELOPE__BODY_EVENT);
        size_t total = events + s_net_sent (net, RUMOR__ENVELOPE__BODY_IHAVE)
                     + s_net_sent (net, RUMOR__ENVELOPE__BODY_PRUNE)
                     + s_net_sent (net, RUMOR__ENVELOPE__BODY_GRAFT);
        //  At most eager_fanout pushes per node, plus one copy per Graft
        //  answered (nodes no eager link reached, found by IHave)
        size_t grafts = (size_t) NET_SUM (net, graft_served);
        assert_true (events <= 3 * n + grafts);
        assert_true (total <= (3 + 3 * 3 + 3 + 1) * n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal (s_events (&net->events [i], "event"), 1);

        //  Steady state: exactly N - 1 Event copies (a spanning tree)
        s_net_clear_counts (net);
        rumor_app_say (net->cores [n / 2], net->now, "second", "", 0);
        s_net_run (net, net->now + 1000);
        assert_int_equal (s_net_sent (net, RUMOR__ENVELOPE__BODY_EVENT), n - 1);
        assert_true (s_net_sent (net, RUMOR__ENVELOPE__BODY_IHAVE) <= 3 * 3 * n);
        assert_int_equal (s_net_sent (net, RUMOR__ENVELOPE__BODY_PRUNE), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal (s_events (&net->events [i], "event"), 1);
        s_net_destroy (&net);
    }
}

static void
test_duplicates_prune_and_tree_converges (void **state)
{
    (void) state;
    net_t *net = s_net_ready (6, 3);
    uint64_t prunes = NET_SUM (net, prune_received);  //  link settling
    rumor_app_say (net->cores [0], net->now, "one", "", 0);
    s_net_run (net, net->now + 1000);
    uint64_t duplicates = NET_SUM (net, duplicates);
    assert_true (duplicates > 0);
    assert_int_equal (s_net_sent (net, RUMOR__ENVELOPE__BODY_PRUNE), duplicates);
    assert_int_equal (NET_SUM (net, prune_received) - prunes, duplicates);

    //  The eager links now form a spanning tree, the same from both ends
    size_t links = 0;
    for (size_t i = 0; i < net->n; i++)
        for (size_t j = 0; j < net->n; j++) {
            rumor_id_t other = s_id (j + 1);
            if (i != j && rumor_app_is_eager (net->cores [i], &other)) {
                rumor_id_t me = s_id (i + 1);
                assert_true (rumor_app_is_eager (net->cores [j], &me));
                links++;
            }
        }
    assert_int_equal (links, 2 * (net->n - 1));

    //  Later broadcasts, from anywhere, cause no duplicate at all
    for (size_t origin = 1; origin < net->n; origin++) {
        rumor_app_say (net->cores [origin], net->now, "again", "", 0);
        s_net_run (net, net->now + 1000);
    }
    assert_int_equal (NET_SUM (net, duplicates), duplicates);
    assert_int_equal (NET_SUM (net, received), 6 * 5);
    s_net_destroy (&net);
}

//  The core that loses its Events (see s_drop_until_graft)
static size_t s_victim;

//  Drop every Event to the victim until the victim has sent a Graft: its
//  eager links are all lost, only IHave -> Graft can reach it.
static bool
s_drop_until_graft (net_t *net, size_t from, size_t to,
                    const Rumor__Envelope *env)
{
    (void) from;
    return to == s_victim && env->body_case == RUMOR__ENVELOPE__BODY_EVENT
        && rumor_app_stats (net->cores [s_victim])->graft_sent == 0;
}

static void
test_graft_repairs_lost_eager_link (void **state)
{
    (void) state;
    //  Every eager push to one of the sender's eager peers is lost
    net_t *net = s_net_ready (6, 1);
    for (size_t i = 0; i < 6; i++)
        rumor_app_hear (net->cores [i], "#");
    uint64_t eager [5];
    assert_true (s_eager_peers (net->cores [0], 2, 6, eager) >= 1);
    s_victim = eager [0] - 1;
    net->drop = s_drop_until_graft;

    int64_t start = net->now;
    rumor_app_say (net->cores [0], start, "t", "", 0);
    s_net_run (net, start + 2000);
    assert_true (net->dropped >= 1);
    //  Everyone has it exactly once; the victim got it by IHave -> Graft
    for (size_t i = 0; i < 6; i++)
        assert_int_equal (s_events (&net->events [i], "event"), 1);
    assert_true (rumor_app_stats (net->cores [s_victim])->graft_sent >= 1);
    assert_true (NET_SUM (net, graft_served) >= 1);
    assert_int_equal (NET_SUM (net, graft_gave_up), 0);
    //  The link it grafted is now eager on both ends
    size_t linked = 0;
    rumor_id_t victim_id = s_id (s_victim + 1);
    for (size_t i = 0; i < 6; i++) {
        rumor_id_t other = s_id (i + 1);
        if (i != s_victim && rumor_app_is_eager (net->cores [s_victim], &other)
        &&  rumor_app_is_eager (net->cores [i], &victim_id))
            linked++;
    }
    assert_true (linked >= 1);
    s_net_destroy (&net);
}

//  Drop the very first Event on the network
static bool
s_drop_first_event (net_t *net, size_t from, size_t to,
                    const Rumor__Envelope *env)
{
    (void) from;
    (void) to;
    return env->body_case == RUMOR__ENVELOPE__BODY_EVENT && net->dropped == 0;
}

static void
test_lost_eager_send_still_delivered (void **state)
{
    (void) state;
    net_t *net = s_net_ready (6, 3);
    for (size_t i = 0; i < 6; i++)
        rumor_app_hear (net->cores [i], "#");
    net->drop = s_drop_first_event;
    rumor_app_say (net->cores [0], net->now, "t", "", 0);
    s_net_run (net, net->now + 2000);
    assert_int_equal (net->dropped, 1);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal (s_events (&net->events [i], "event"), 1);
    s_net_destroy (&net);
}

static void
test_graft_timeout_tries_next_announcer (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    s_member (app, T0, 3, ALIVE);
    s_discard (app);
    assert_int_equal (rumor_app_next_deadline (app), -1);
    //  2 then 3 announce event 9:7 we never got
    assert_int_equal (s_give_refs (app, T0, 2, false, 9, 7, 1), 0);
    assert_int_equal (s_give_refs (app, T0 + 10, 3, false, 9, 7, 1), 0);
    assert_int_equal (rumor_app_next_deadline (app), T0 + 100);
    rumor_app_on_tick (app, T0 + 99);
    assert_null (rumor_app_next_effect (app));     //  not yet

    fxs_t fxs = { NULL, 0, 0 };
    rumor_app_on_tick (app, T0 + 100);
    s_collect (app, 1, &fxs);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_GRAFT, 2), 1);
    Rumor__Graft *graft = s_send_at (&fxs, RUMOR__ENVELOPE__BODY_GRAFT, 0)->env->graft;
    assert_int_equal (graft->n_refs, 1);
    assert_int_equal (graft->refs [0]->id, 7);
    rumor_id_t two = s_id (2);
    assert_true (rumor_app_is_eager (app, &two));
    s_fxs_free (&fxs);

    //  Second timeout: the next announcer
    rumor_app_on_tick (app, T0 + 200);
    s_collect (app, 1, &fxs);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_GRAFT, 3), 1);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_GRAFT, 2), 0);
    s_fxs_free (&fxs);

    //  Nobody left: give up, nothing more due
    rumor_app_on_tick (app, T0 + 300);
    assert_null (rumor_app_next_effect (app));
    assert_int_equal (rumor_app_stats (app)->graft_gave_up, 1);
    assert_int_equal (rumor_app_next_deadline (app), -1);

    //  An IHave of something that then arrives never grafts
    s_give_refs (app, T0 + 400, 2, false, 9, 8, 1);
    s_give_event (app, T0 + 450, 3, 9, 8, "x", 1);
    s_discard (app);
    rumor_app_on_tick (app, T0 + 600);
    assert_int_equal (rumor_app_stats (app)->graft_sent, 2);
    rumor_app_destroy (&app);
}

static void
test_graft_served_until_retain_ms (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    s_member (app, T0, 3, ALIVE);
    s_member (app, T0, 4, ALIVE);
    s_member (app, T0, 5, ALIVE);      //  one of the four is lazy
    uint64_t lazy = 2;
    rumor_id_t grafter = s_id (lazy);
    while (!rumor_app_is_lazy (app, &grafter))
        grafter = s_id (++lazy);
    rumor_app_say (app, T0, "t", "abc", 3);
    uint64_t id = ((uint64_t) GENERATION << RUMOR_APP_ID_SHIFT) + 1;
    s_discard (app);

    //  5 grafts it: becomes eager and gets the event with its payload
    assert_int_equal (s_give_refs (app, T0 + 100, lazy, true, 1, id, 1), 0);
    assert_true (rumor_app_is_eager (app, &grafter));
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    fx_t *sent = s_send_at (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 0);
    assert_non_null (sent);
    assert_true (rumor_id_eq (&sent->to, &grafter));
    assert_memory_equal (sent->env->event->payload.data, "abc", 3);
    assert_int_equal (sent->env->event->hops, 1);
    s_fxs_free (&fxs);

    //  After retain_ms it is gone
    s_give_refs (app, T0 + RUMOR_APP_RETAIN_DFLT, lazy, true, 1, id, 1);
    assert_null (rumor_app_next_effect (app));
    assert_int_equal (rumor_app_stats (app)->graft_served, 1);
    assert_int_equal (rumor_app_stats (app)->graft_unavailable, 1);
    rumor_app_destroy (&app);
}

static void
test_prune_makes_sender_lazy (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    rumor_id_t two = s_id (2);
    assert_true (rumor_app_is_eager (app, &two));
    s_discard (app);
    assert_int_equal (s_give_prune (app, T0, 2), 0);
    assert_true (rumor_app_is_lazy (app, &two));
    assert_int_equal (rumor_app_stats (app)->prune_received, 1);
    //  A lazy peer gets only the IHave, after the batch interval
    rumor_app_say (app, T0, "t", "", 0);
    assert_null (rumor_app_next_effect (app));
    rumor_app_on_tick (app, T0 + RUMOR_APP_IHAVE_INTERVAL_DFLT);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_IHAVE, 2), 1);
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}

static void
test_duplicate_sends_prune (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    s_member (app, T0, 3, ALIVE);
    rumor_app_hear (app, "#");
    assert_int_equal (s_give_event (app, T0, 2, 9, 1, "t", 1), 0);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "event"), 1);
    //  Forwarded to the other eager peer, not back to the sender
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 3), 1);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 2), 0);
    assert_int_equal (s_send_at (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 0)->env->event->hops, 2);
    s_fxs_free (&fxs);

    //  Same event from 3: not delivered again, 3 is pruned
    assert_int_equal (s_give_event (app, T0 + 1, 3, 9, 1, "t", 2), 0);
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "event"), 0);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_PRUNE, 3), 1);
    assert_int_equal (fxs.size, 1);
    rumor_id_t three = s_id (3);
    assert_true (rumor_app_is_lazy (app, &three));
    assert_int_equal (rumor_app_stats (app)->duplicates, 1);
    s_fxs_free (&fxs);

    //  The tree depth counters see first receipts only
    assert_int_equal (rumor_app_stats (app)->hops_total, 1);
    assert_int_equal (rumor_app_stats (app)->hops_max, 1);
    assert_int_equal (s_give_event (app, T0 + 2, 2, 9, 2, "t", 4), 0);
    assert_int_equal (s_give_event (app, T0 + 2, 2, 9, 3, "t", 2), 0);
    assert_int_equal (rumor_app_stats (app)->hops_total, 1 + 4 + 2);
    assert_int_equal (rumor_app_stats (app)->hops_max, 4);
    s_discard (app);

    //  Our own event coming back is a duplicate too
    rumor_app_say (app, T0 + 2, "t", "", 0);
    s_discard (app);
    uint64_t id = ((uint64_t) GENERATION << RUMOR_APP_ID_SHIFT) + 1;
    assert_int_equal (s_give_event (app, T0 + 3, 2, 1, id, "t", 2), 0);
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "event"), 0);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_PRUNE, 2), 1);
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}

static void
test_ihave_batched_to_lazy_fanout (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    for (uint64_t n = 2; n <= 11; n++)
        s_member (app, T0, n, ALIVE);
    assert_int_equal (rumor_app_eager_count (app), 3);
    for (int i = 0; i < 5; i++)
        rumor_app_say (app, T0 + i, "t", "", 0);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 0), 15);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_IHAVE, 0), 0);
    s_fxs_free (&fxs);
    //  One batch per interval, ihave_rounds times: three distinct lazy
    //  peers each time, all five refs in one IHave each
    for (int round = 0; round < RUMOR_APP_IHAVE_ROUNDS_DFLT; round++) {
        int64_t due = T0 + 50 * (round + 1);
        assert_int_equal (rumor_app_next_deadline (app), due);
        rumor_app_on_tick (app, due);
        s_collect (app, 1, &fxs);
        assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_IHAVE, 0), 3);
        for (size_t i = 0; i < 3; i++) {
            fx_t *ihave = s_send_at (&fxs, RUMOR__ENVELOPE__BODY_IHAVE, i);
            assert_int_equal (ihave->env->ihave->n_refs, 5);
            assert_true (rumor_app_is_lazy (app, &ihave->to));
            for (size_t j = 0; j < i; j++)
                assert_false (rumor_id_eq (&ihave->to,
                    &s_send_at (&fxs, RUMOR__ENVELOPE__BODY_IHAVE, j)->to));
        }
        s_fxs_free (&fxs);
    }
    //  Then the refs are forgotten
    assert_int_equal (rumor_app_next_deadline (app), -1);
    rumor_app_on_tick (app, T0 + 1000);
    assert_null (rumor_app_next_effect (app));
    rumor_app_destroy (&app);
}


static void
test_ihave_queue_bounded (void **state)
{
    (void) state;
    rumor_app_cfg_t cfg = s_cfg (1);
    cfg.max_refs = 2;                   //  queue holds 4 x 2 refs
    cfg.eager_fanout = 1;
    rumor_app_t *app = rumor_app_new (&cfg);
    s_member (app, T0, 2, ALIVE);
    s_member (app, T0, 3, ALIVE);       //  the one lazy peer
    for (int i = 0; i < 8; i++)
        rumor_app_say (app, T0, "t", "", 0);
    s_discard (app);
    //  The ninth finds the queue full of refs never announced: the batch
    //  goes at once (IHaves of max_refs each), and they make room
    rumor_app_say (app, T0 + 1, "t", "", 0);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_IHAVE, 3), 4);
    assert_int_equal (rumor_app_stats (app)->ihave_refs_sent, 8);
    assert_int_equal (rumor_app_stats (app)->ihave_rounds_cut, 8);
    assert_int_equal (rumor_app_stats (app)->ihave_dropped, 0);
    s_fxs_free (&fxs);
    //  Seven more fill it again, none announced yet: the next one sends
    //  the batch at once again
    for (int i = 0; i < 7; i++)
        rumor_app_say (app, T0 + 2, "t", "", 0);
    s_discard (app);
    rumor_app_say (app, T0 + 3, "t", "", 0);
    s_collect (app, 1, &fxs);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_IHAVE, 3), 4);
    assert_int_equal (rumor_app_stats (app)->ihave_refs_sent, 16);
    s_fxs_free (&fxs);
    //  The batch timer announces what is left (the last one) an interval
    //  after it came: nothing was lost unannounced
    assert_int_equal (rumor_app_next_deadline (app), T0 + 3 + 50);
    rumor_app_on_tick (app, T0 + 3 + 50);
    s_collect (app, 1, &fxs);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_IHAVE, 3), 1);
    assert_int_equal (rumor_app_stats (app)->ihave_refs_sent, 17);
    assert_int_equal (rumor_app_stats (app)->ihave_dropped, 0);
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}

static void
test_retained_bytes_bounded (void **state)
{
    (void) state;
    rumor_app_cfg_t cfg = s_cfg (1);
    cfg.retain_max_bytes = 1000;
    rumor_app_t *app = rumor_app_new (&cfg);
    s_member (app, T0, 2, ALIVE);
    static uint8_t payload [400];
    for (int i = 0; i < 4; i++)         //  4 x ~402 bytes: first two go
        rumor_app_say (app, T0, "t", payload, sizeof (payload));
    s_discard (app);
    assert_int_equal (rumor_app_stats (app)->retain_evicted, 2);
    uint64_t base = (uint64_t) GENERATION << RUMOR_APP_ID_SHIFT;
    s_give_refs (app, T0, 2, true, 1, base + 1, 4);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 2), 2);
    assert_int_equal (s_send_at (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 0)->env->event->id,
                      base + 3);
    assert_int_equal (rumor_app_stats (app)->graft_unavailable, 2);
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}


//  --------------------------------------------------------------------------
//  Membership

static void
test_eager_set_sampled_then_new_peers_lazy (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    //  The first eager_fanout peers fill the eager set
    for (uint64_t n = 2; n <= 4; n++)
        assert_int_equal (s_member (app, T0, n, ALIVE), 0);
    assert_int_equal (rumor_app_eager_count (app), 3);
    //  Later ones are sampled into it (uniformly, not in join order)
    for (uint64_t n = 5; n <= 200; n++)
        s_member (app, T0, n, ALIVE);
    assert_int_equal (rumor_app_peer_count (app), 199);
    assert_int_equal (rumor_app_eager_count (app), 3);
    uint64_t eager [3];
    assert_int_equal (s_eager_peers (app, 2, 200, eager), 3);
    assert_true (eager [2] > 4);

    //  Once a message has come over each eager link, those links stay and
    //  new peers join lazy
    for (size_t i = 0; i < 3; i++)
        s_give_event (app, T0, eager [i], 9, i + 1, "t", 1);
    s_discard (app);
    //  (sampling would take about 3 x ln (2000 / 200) = 7 of them)
    for (uint64_t n = 201; n <= 2000; n++)
        s_member (app, T0, n, ALIVE);
    uint64_t after [2000];
    assert_int_equal (s_eager_peers (app, 2, 2000, after), 3);
    assert_memory_equal (eager, after, sizeof (eager));

    //  SUSPECT is still a peer; repeated news changes nothing
    assert_int_equal (s_member (app, T0, 300, SUSPECT), 0);
    assert_int_equal (s_member (app, T0, 300, ALIVE), 0);
    assert_int_equal (rumor_app_peer_count (app), 1999);
    rumor_app_destroy (&app);
}

static void
test_dead_peer_removed_and_lazy_promoted (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    for (uint64_t n = 2; n <= 6; n++)
        s_member (app, T0, n, ALIVE);
    uint64_t eager [3];
    assert_int_equal (s_eager_peers (app, 2, 6, eager), 3);
    s_discard (app);
    rumor_id_t gone = s_id (eager [0]), left = s_id (eager [1]);
    s_member (app, T0, eager [0], DEAD);
    s_member (app, T0, eager [1], LEFT);
    assert_int_equal (rumor_app_peer_count (app), 3);
    assert_false (rumor_app_is_eager (app, &gone) || rumor_app_is_lazy (app, &gone));
    assert_false (rumor_app_is_eager (app, &left) || rumor_app_is_lazy (app, &left));
    //  The eager set is refilled from the lazy ones
    assert_int_equal (rumor_app_eager_count (app), 3);
    assert_int_equal (rumor_app_stats (app)->promoted, 2);
    //  Whisper to the dead one is refused
    assert_int_equal (rumor_app_whisper (app, T0, &gone, "x", "", 0), -1);
    //  A restart (new generation) replaces the peer; news about the
    //  older generation is then ignored
    s_member_gen (app, T0, eager [2], ALIVE, GENERATION + 5);
    s_member_gen (app, T0, eager [2], DEAD, GENERATION);
    assert_int_equal (rumor_app_peer_count (app), 3);
    rumor_app_destroy (&app);
}

static void
test_member_events_about_self_or_others_ignored (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    assert_int_equal (s_member (app, T0, 1, ALIVE), 0);
    assert_int_equal (rumor_app_peer_count (app), 0);
    Rumor__KvEntry entry = RUMOR__KV_ENTRY__INIT;
    assert_int_equal (rumor_app_on_event (app, T0, "kv", &entry.base), 0);
    assert_int_equal (rumor_app_stats (app)->ignored_events, 2);
    //  A "member" event with the wrong detail is refused
    assert_int_equal (rumor_app_on_event (app, T0, "member", &entry.base), -1);
    assert_int_equal (rumor_app_stats (app)->refused_bad_member, 1);
    rumor_app_destroy (&app);
}


//  --------------------------------------------------------------------------
//  Dedup

static void
test_dedup_window_and_bound (void **state)
{
    (void) state;
    rumor_app_cfg_t cfg = s_cfg (1);
    cfg.dedup_window_ms = 1000;
    cfg.dedup_max = 100;
    rumor_app_t *app = rumor_app_new (&cfg);
    s_member (app, T0, 2, ALIVE);
    rumor_app_hear (app, "#");
    s_give_event (app, T0, 2, 9, 1, "t", 1);
    s_give_event (app, T0 + 999, 2, 9, 1, "t", 1);
    assert_int_equal (rumor_app_stats (app)->delivered, 1);
    //  Past the window the pair is forgotten
    rumor_app_on_tick (app, T0 + 1000);
    s_give_event (app, T0 + 1000, 2, 9, 1, "t", 1);
    assert_int_equal (rumor_app_stats (app)->delivered, 2);

    //  Past dedup_max the oldest pairs go first
    for (uint64_t id = 100; id < 200; id++)
        s_give_event (app, T0 + 1001, 2, 9, id, "t", 1);
    assert_int_equal (rumor_app_stats (app)->dedup_evicted, 1);
    s_give_event (app, T0 + 1001, 2, 9, 199, "t", 1);   //  still known
    assert_int_equal (rumor_app_stats (app)->delivered, 102);
    s_give_event (app, T0 + 1001, 2, 9, 1, "t", 1);     //  evicted
    assert_int_equal (rumor_app_stats (app)->delivered, 103);
    s_discard (app);
    rumor_app_destroy (&app);
}


//  --------------------------------------------------------------------------
//  Refusals of network input

static void
test_hops_above_max_refused (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    s_member (app, T0, 3, ALIVE);
    s_discard (app);
    rumor_app_hear (app, "#");
    assert_int_equal (s_give_event (app, T0, 2, 9, 1, "t", RUMOR_APP_MAX_HOPS_DFLT + 1), -1);
    assert_int_equal (rumor_app_stats (app)->refused_hops, 1);
    assert_null (rumor_app_next_effect (app));
    //  At the limit: delivered but not forwarded further
    assert_int_equal (s_give_event (app, T0, 2, 9, 2, "t", RUMOR_APP_MAX_HOPS_DFLT), 0);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "event"), 1);
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 0), 0);
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}

static void
test_forged_self_origin_refused (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    s_discard (app);
    rumor_app_hear (app, "#");
    uint64_t base = (uint64_t) GENERATION << RUMOR_APP_ID_SHIFT;
    assert_int_equal (s_give_event (app, T0, 2, 1, base + 1, "t", 1), -1);
    assert_int_equal (s_give_query (app, T0, 2, 1, base + 5, "t", T0 + 100), -1);
    assert_int_equal (rumor_app_stats (app)->refused_forged_self, 2);
    assert_int_equal (rumor_app_stats (app)->delivered, 0);
    assert_null (rumor_app_next_effect (app));
    rumor_app_destroy (&app);
}

static void
test_too_many_refs_refused (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    size_t too_many = RUMOR_APP_MAX_REFS_DFLT + 1;
    assert_int_equal (s_give_refs (app, T0, 2, false, 9, 1, too_many), -1);
    assert_int_equal (s_give_refs (app, T0, 2, true, 9, 1, too_many), -1);
    assert_int_equal (rumor_app_stats (app)->refused_too_many_refs, 2);
    assert_int_equal (rumor_app_next_deadline (app), -1);   //  no timers
    //  At the limit it is fine
    assert_int_equal (s_give_refs (app, T0, 2, false, 9, 1, too_many - 1), 0);
    assert_int_equal (rumor_app_next_deadline (app), T0 + 100);
    rumor_app_destroy (&app);
}

static void
test_missing_timers_bounded (void **state)
{
    (void) state;
    rumor_app_cfg_t cfg = s_cfg (1);
    cfg.max_missing = 10;
    rumor_app_t *app = rumor_app_new (&cfg);
    s_member (app, T0, 2, ALIVE);
    s_discard (app);
    assert_int_equal (s_give_refs (app, T0, 2, false, 9, 1, 15), 0);
    assert_int_equal (rumor_app_stats (app)->refused_missing_full, 5);
    rumor_app_on_tick (app, T0 + 100);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    //  One Graft for all ten, to the one announcer
    assert_int_equal (s_sends (&fxs, RUMOR__ENVELOPE__BODY_GRAFT, 2), 1);
    assert_int_equal (s_send_at (&fxs, RUMOR__ENVELOPE__BODY_GRAFT, 0)->env->graft->n_refs, 10);
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}

static void
test_control_from_non_member_refused (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    assert_int_equal (s_give_refs (app, T0, 7, false, 9, 1, 1), -1);
    assert_int_equal (s_give_refs (app, T0, 7, true, 9, 1, 1), -1);
    assert_int_equal (s_give_prune (app, T0, 7), -1);
    assert_int_equal (rumor_app_stats (app)->refused_unknown_peer, 3);
    assert_int_equal (rumor_app_next_deadline (app), -1);
    //  An Event from a non-member is accepted and counted
    rumor_app_hear (app, "#");
    assert_int_equal (s_give_event (app, T0, 7, 9, 1, "t", 1), 0);
    assert_int_equal (rumor_app_stats (app)->unknown_sender, 1);
    assert_int_equal (rumor_app_stats (app)->delivered, 1);
    assert_int_equal (rumor_app_peer_count (app), 1);
    //  A body of another family is refused
    Rumor__Ping ping = RUMOR__PING__INIT;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_PING;
    env.ping = &ping;
    assert_int_equal (s_give (app, T0, 2, &env), -1);
    assert_int_equal (rumor_app_stats (app)->refused_not_app, 1);
    s_discard (app);
    rumor_app_destroy (&app);
}


//  --------------------------------------------------------------------------
//  Direct messages

static void
test_whisper_reaches_only_target (void **state)
{
    (void) state;
    net_t *net = s_net_ready (6, 3);
    rumor_id_t four = s_id (4);
    assert_int_equal (rumor_app_whisper (net->cores [0], net->now, &four,
                                         "chat", "psst", 4), 0);
    s_net_run (net, net->now + 1000);
    char hex [RUMOR_ID_HEX];
    for (size_t i = 0; i < 6; i++)
        assert_int_equal (s_events (&net->events [i], "direct"), i == 3? 1: 0);
    fx_t *got = s_event_at (&net->events [3], "direct", 0);
    assert_string_equal (got->extra, s_hex (1, hex));
    Rumor__Direct *direct = (Rumor__Direct *) got->detail;
    assert_string_equal (direct->topic, "chat");
    assert_memory_equal (direct->payload.data, "psst", 4);
    assert_int_equal (s_net_sent (net, RUMOR__ENVELOPE__BODY_DIRECT), 1);

    //  Unknown target: -1, nothing sent
    rumor_id_t stranger = s_id (77);
    assert_int_equal (rumor_app_whisper (net->cores [0], net->now, &stranger,
                                         "chat", "", 0), -1);
    assert_int_equal (rumor_app_last_error (net->cores [0]), RUMOR_APP_E_UNKNOWN_TARGET);
    assert_int_equal (rumor_app_stats (net->cores [0])->refused_unknown_target, 1);
    static uint8_t big [RUMOR_VALUE_MAX + 1];
    assert_int_equal (rumor_app_whisper (net->cores [0], net->now, &four,
                                         "chat", big, sizeof (big)), -1);
    assert_int_equal (rumor_app_last_error (net->cores [0]), RUMOR_APP_E_OVERSIZED);
    s_net_run (net, net->now + 1000);
    assert_int_equal (s_net_sent (net, RUMOR__ENVELOPE__BODY_DIRECT), 1);
    s_net_destroy (&net);
}

static void
test_direct_from_non_member_counted (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    assert_int_equal (s_give_direct (app, T0, 2, "a"), 0);
    assert_int_equal (s_give_direct (app, T0, 9, "b"), 0);
    const rumor_app_stats_t *stats = rumor_app_stats (app);
    assert_int_equal (stats->directs_received, 2);
    assert_int_equal (stats->direct_unknown_sender, 1);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    char hex [RUMOR_ID_HEX];
    assert_string_equal (s_event_at (&fxs, "direct", 1)->extra, s_hex (9, hex));
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}


//  --------------------------------------------------------------------------
//  Queries

//  Every core that got a "query" event answers it.
static void
s_net_answer_queries (net_t *net, const char *answer)
{
    for (size_t i = 0; i < net->n; i++)
        for (size_t k = 0; k < s_events (&net->events [i], "query"); k++) {
            Rumor__Query *query = (Rumor__Query *)
                s_event_at (&net->events [i], "query", k)->detail;
            rumor_id_t origin;
            rumor_id_from_bin (&origin, query->origin);
            assert_int_equal (rumor_app_respond (net->cores [i], net->now, &origin,
                              query->id, answer, strlen (answer)), 0);
        }
}

static void
test_query_completes_when_all_answered (void **state)
{
    (void) state;
    net_t *net = s_net_ready (4, 3);
    for (size_t i = 0; i < 4; i++)
        rumor_app_hear (net->cores [i], "who.#");
    int64_t start = net->now;
    int64_t id = rumor_app_query (net->cores [0], start, "who.is", "?", 1, 5000);
    assert_true (id > 0);
    assert_int_equal (rumor_app_pending_queries (net->cores [0]), 1);
    s_net_run (net, start + 10);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal (s_events (&net->events [i], "query"), 1);
        Rumor__Query *query = (Rumor__Query *) s_event_at (&net->events [i], "query", 0)->detail;
        assert_int_equal (query->id, (uint64_t) id);
        assert_int_equal (query->deadline, (uint64_t) (start + 5000));
    }
    s_net_answer_queries (net, "me");
    s_net_run (net, start + 20);

    fxs_t *asker = &net->events [0];
    assert_int_equal (s_events (asker, "response"), 4);    //  self included
    char hex [RUMOR_ID_HEX];
    bool seen [5] = { false };
    for (size_t k = 0; k < 4; k++) {
        fx_t *response = s_event_at (asker, "response", k);
        assert_int_equal (((Rumor__Response *) response->detail)->query, (uint64_t) id);
        for (uint64_t n = 1; n <= 4; n++)
            if (streq (response->extra, s_hex (n, hex)))
                seen [n] = true;
    }
    assert_true (seen [1] && seen [2] && seen [3] && seen [4]);
    assert_int_equal (s_events (asker, "query-done"), 1);
    assert_string_equal (s_event_at (asker, "query-done", 0)->extra, "complete");
    assert_int_equal (rumor_app_pending_queries (net->cores [0]), 0);

    //  The deadline passing later emits nothing more
    s_net_run (net, start + 6000);
    assert_int_equal (s_events (asker, "query-done"), 1);
    s_net_destroy (&net);
}

static void
test_query_deadline_when_one_is_silent (void **state)
{
    (void) state;
    net_t *net = s_net_ready (4, 3);
    for (size_t i = 0; i < 3; i++)          //  core 3 does not hear it
        rumor_app_hear (net->cores [i], "who.#");
    int64_t start = net->now;
    int64_t id = rumor_app_query (net->cores [0], start, "who.is", "", 0, 500);
    assert_true (id > 0);
    //  All peers are eager (4 nodes, fanout 3): only the deadline is due
    assert_int_equal (rumor_app_next_deadline (net->cores [0]), start + 500);
    s_net_run (net, start + 10);
    assert_int_equal (s_events (&net->events [3], "query"), 0);
    s_net_answer_queries (net, "me");
    s_net_run (net, start + 499);
    fxs_t *asker = &net->events [0];
    assert_int_equal (s_events (asker, "response"), 3);
    assert_int_equal (s_events (asker, "query-done"), 0);

    s_net_run (net, start + 500);
    assert_int_equal (s_events (asker, "query-done"), 1);
    fx_t *done = s_event_at (asker, "query-done", 0);
    assert_string_equal (done->extra, "deadline");
    assert_int_equal (((Rumor__Query *) done->detail)->id, (uint64_t) id);
    assert_string_equal (((Rumor__Query *) done->detail)->topic, "who.is");
    assert_int_equal (rumor_app_stats (net->cores [0])->queries_deadline, 1);

    //  A late response is counted and dropped
    assert_int_equal (s_give_response (net->cores [0], start + 600, 4, (uint64_t) id), -1);
    assert_int_equal (rumor_app_stats (net->cores [0])->refused_unknown_query, 1);
    s_net_run (net, start + 10000);
    assert_int_equal (s_events (asker, "query-done"), 1);
    s_net_destroy (&net);
}

static void
test_query_completes_when_silent_member_dies (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    s_member (app, T0, 3, ALIVE);
    int64_t id = rumor_app_query (app, T0, "q", "", 0, 1000);
    //  A member joining after the start is not waited for
    s_member (app, T0 + 1, 4, ALIVE);
    rumor_id_t self_id = s_id (1);
    assert_int_equal (rumor_app_respond (app, T0 + 2, &self_id, (uint64_t) id, "a", 1), 0);
    assert_int_equal (s_give_response (app, T0 + 3, 2, (uint64_t) id), 0);
    assert_int_equal (rumor_app_pending_queries (app), 1);
    //  3 never answers but dies: the query is complete
    s_member (app, T0 + 4, 3, DEAD);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "response"), 2);
    assert_int_equal (s_events (&fxs, "query-done"), 1);
    assert_string_equal (s_event_at (&fxs, "query-done", 0)->extra, "complete");
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}

static void
test_query_duplicate_and_unknown_responses (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    s_member (app, T0, 3, ALIVE);
    int64_t id = rumor_app_query (app, T0, "q", "", 0, 1000);
    assert_int_equal (s_give_response (app, T0, 2, (uint64_t) id), 0);
    assert_int_equal (s_give_response (app, T0, 2, (uint64_t) id), -1);
    assert_int_equal (s_give_response (app, T0, 2, (uint64_t) id + 99), -1);
    //  A stranger's response is counted but does not complete anything
    assert_int_equal (s_give_response (app, T0, 9, (uint64_t) id), 0);
    const rumor_app_stats_t *stats = rumor_app_stats (app);
    assert_int_equal (stats->refused_dup_response, 1);
    assert_int_equal (stats->refused_unknown_query, 1);
    assert_int_equal (stats->unknown_sender, 1);
    assert_int_equal (stats->responses_received, 2);
    assert_int_equal (rumor_app_pending_queries (app), 1);
    //  Respond to our own query that does not exist
    rumor_id_t self_id = s_id (1);
    assert_int_equal (rumor_app_respond (app, T0, &self_id, 12345, "", 0), -1);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_UNKNOWN_QUERY);
    s_discard (app);
    rumor_app_destroy (&app);
}

static void
test_query_timeout_clamped_or_refused (void **state)
{
    (void) state;
    rumor_app_cfg_t cfg = s_cfg (1);
    cfg.max_queries = 2;
    rumor_app_t *app = rumor_app_new (&cfg);
    assert_int_equal (rumor_app_query (app, T0, "q", "", 0, 0), -1);
    assert_int_equal (rumor_app_query (app, T0, "q", "", 0, -5), -1);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_BAD_TIMEOUT);
    assert_int_equal (rumor_app_stats (app)->refused_bad_timeout, 2);
    assert_int_equal (rumor_app_query (app, T0, "q.*", "", 0, 10), -1);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_BAD_TOPIC);
    //  A year is clamped to an hour
    assert_true (rumor_app_query (app, T0, "q", "", 0, 365LL * 86400000) > 0);
    assert_int_equal (rumor_app_stats (app)->clamped_timeout, 1);
    assert_int_equal (rumor_app_next_deadline (app), T0 + RUMOR_APP_QUERY_MAX_DFLT);
    assert_true (rumor_app_query (app, T0, "q", "", 0, 100) > 0);
    assert_int_equal (rumor_app_query (app, T0, "q", "", 0, 100), -1);
    assert_int_equal (rumor_app_last_error (app), RUMOR_APP_E_TOO_MANY_QUERIES);
    //  Alone, nobody but us is expected; we do not hear "q": deadline
    rumor_app_on_tick (app, T0 + 100);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "query-done"), 1);
    assert_string_equal (s_event_at (&fxs, "query-done", 0)->extra, "deadline");
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}

static void
test_remote_query_deadline_refused (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    s_member (app, T0, 2, ALIVE);
    rumor_app_hear (app, "#");
    int64_t skew = RUMOR_APP_CLOCK_SKEW_DFLT;
    //  Long past, and absurdly far
    assert_int_equal (s_give_query (app, T0, 2, 2, 1, "q", T0 - skew - 1), -1);
    assert_int_equal (s_give_query (app, T0, 2, 2, 2, "q",
                      T0 + RUMOR_APP_QUERY_MAX_DFLT + skew + 1), -1);
    assert_int_equal (s_give_query (app, T0, 2, 2, 3, "q", UINT64_MAX), -1);
    assert_int_equal (rumor_app_stats (app)->refused_query_deadline, 3);
    //  Within tolerance, delivered as "query" with extra ""
    assert_int_equal (s_give_query (app, T0, 2, 2, 4, "q", T0 - skew), 0);
    fxs_t fxs = { NULL, 0, 0 };
    s_collect (app, 1, &fxs);
    assert_int_equal (s_events (&fxs, "query"), 1);
    assert_string_equal (s_event_at (&fxs, "query", 0)->extra, "");
    s_fxs_free (&fxs);
    //  Answering sends a Response to the origin
    rumor_id_t two = s_id (2);
    assert_int_equal (rumor_app_respond (app, T0, &two, 4, "ok", 2), 0);
    s_collect (app, 1, &fxs);
    fx_t *sent = s_send_at (&fxs, RUMOR__ENVELOPE__BODY_RESPONSE, 0);
    assert_non_null (sent);
    assert_true (rumor_id_eq (&sent->to, &two));
    assert_int_equal (sent->env->response->query, 4);
    s_fxs_free (&fxs);
    rumor_app_destroy (&app);
}


//  --------------------------------------------------------------------------
//  Lifecycle and robustness

static void
test_cfg_refused_when_unusable (void **state)
{
    (void) state;
    rumor_app_cfg_t cfg = s_cfg (1);
    cfg.eager_fanout = 0;
    assert_null (rumor_app_new (&cfg));
    cfg = s_cfg (1);
    rumor_id_t zero = { { 0 } };
    cfg.self = zero;
    assert_null (rumor_app_new (&cfg));
    cfg = s_cfg (1);
    cfg.max_refs = RUMOR_REPEATED_MAX + 1;
    assert_null (rumor_app_new (&cfg));
    cfg = s_cfg (1);
    cfg.graft_timeout_ms = 0;
    assert_null (rumor_app_new (&cfg));
    rumor_app_t *none = NULL;
    rumor_app_destroy (&none);      //  harmless
}

static void
test_restart_ids_do_not_collide (void **state)
{
    (void) state;
    //  Node 1 says one event, restarts (new generation), says again: a
    //  peer still remembering the first (origin, id) delivers the second
    rumor_app_t *peer = s_new (2);
    s_member (peer, T0, 1, ALIVE);
    rumor_app_hear (peer, "#");
    rumor_app_cfg_t cfg = s_cfg (1);
    for (int life = 0; life < 2; life++) {
        cfg.generation = GENERATION + (uint64_t) life;
        rumor_app_t *node = rumor_app_new (&cfg);
        s_member (node, T0, 2, ALIVE);
        rumor_app_say (node, T0, "t", "", 0);
        fxs_t fxs = { NULL, 0, 0 };
        s_collect (node, 1, &fxs);
        rumor_app_on_message (peer, T0, s_send_at (&fxs, RUMOR__ENVELOPE__BODY_EVENT, 0)->env);
        s_fxs_free (&fxs);
        rumor_app_destroy (&node);
    }
    assert_int_equal (rumor_app_stats (peer)->delivered, 2);
    s_discard (peer);
    rumor_app_destroy (&peer);
}

static void
test_idle_core_has_no_deadline (void **state)
{
    (void) state;
    rumor_app_t *app = s_new (1);
    assert_int_equal (rumor_app_next_deadline (app), -1);
    rumor_app_on_tick (app, T0);             //  spurious ticks are harmless
    rumor_app_on_tick (app, T0 + 100000);
    assert_null (rumor_app_next_effect (app));
    //  No lazy peer: nothing to announce, nothing due
    s_member (app, T0, 2, ALIVE);
    rumor_app_say (app, T0, "t", "", 0);
    assert_int_equal (rumor_app_next_deadline (app), -1);
    s_discard (app);
    rumor_app_destroy (&app);
}

//  A flood of bad input leaves the cluster working
static void
test_bad_input_keeps_core_working (void **state)
{
    (void) state;
    net_t *net = s_net_ready (4, 3);
    for (size_t i = 0; i < 4; i++)
        rumor_app_hear (net->cores [i], "#");
    rumor_app_t *victim = net->cores [1];
    uint64_t base = (uint64_t) GENERATION << RUMOR_APP_ID_SHIFT;
    for (int i = 0; i < 100; i++) {
        s_give_event (victim, net->now, 3, 9, (uint64_t) i, "t", 1000);
        s_give_event (victim, net->now, 3, 2, base + 1 + (uint64_t) i, "t", 1);
        s_give_refs (victim, net->now, 99, false, 9, 1, 1);
        s_give_response (victim, net->now, 3, 5);
        s_give_query (victim, net->now, 3, 3, (uint64_t) i, "q", 0);
    }
    const rumor_app_stats_t *stats = rumor_app_stats (victim);
    assert_int_equal (stats->refused_hops, 100);
    assert_int_equal (stats->refused_forged_self, 100);
    assert_int_equal (stats->refused_unknown_peer, 100);
    assert_int_equal (stats->refused_unknown_query, 100);
    assert_int_equal (stats->refused_query_deadline, 100);
    s_net_run (net, net->now + 1000);
    rumor_app_say (victim, net->now, "still.alive", "", 0);
    s_net_run (net, net->now + 1000);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal (s_events (&net->events [i], "event"), 1);
    s_net_destroy (&net);
}


int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_usage_example),
        cmocka_unit_test (test_topic_matches_table),
        cmocka_unit_test (test_hear_refuses_malformed_patterns),
        cmocka_unit_test (test_say_delivers_locally_only_if_heard),
        cmocka_unit_test (test_say_refuses_bad_input),
        cmocka_unit_test (test_broadcast_delivered_once_on_each_hearer),
        cmocka_unit_test (test_broadcast_sends_are_linear),
        cmocka_unit_test (test_duplicates_prune_and_tree_converges),
        cmocka_unit_test (test_graft_repairs_lost_eager_link),
        cmocka_unit_test (test_lost_eager_send_still_delivered),
        cmocka_unit_test (test_graft_timeout_tries_next_announcer),
        cmocka_unit_test (test_graft_served_until_retain_ms),
        cmocka_unit_test (test_prune_makes_sender_lazy),
        cmocka_unit_test (test_duplicate_sends_prune),
        cmocka_unit_test (test_ihave_batched_to_lazy_fanout),
        cmocka_unit_test (test_ihave_queue_bounded),
        cmocka_unit_test (test_retained_bytes_bounded),
        cmocka_unit_test (test_eager_set_sampled_then_new_peers_lazy),
        cmocka_unit_test (test_dead_peer_removed_and_lazy_promoted),
        cmocka_unit_test (test_member_events_about_self_or_others_ignored),
        cmocka_unit_test (test_dedup_window_and_bound),
        cmocka_unit_test (test_hops_above_max_refused),
        cmocka_unit_test (test_forged_self_origin_refused),
        cmocka_unit_test (test_too_many_refs_refused),
        cmocka_unit_test (test_missing_timers_bounded),
        cmocka_unit_test (test_control_from_non_member_refused),
        cmocka_unit_test (test_whisper_reaches_only_target),
        cmocka_unit_test (test_direct_from_non_member_counted),
        cmocka_unit_test (test_query_completes_when_all_answered),
        cmocka_unit_test (test_query_deadline_when_one_is_silent),
        cmocka_unit_test (test_query_completes_when_silent_member_dies),
        cmocka_unit_test (test_query_duplicate_and_unknown_responses),
        cmocka_unit_test (test_query_timeout_clamped_or_refused),
        cmocka_unit_test (test_remote_query_deadline_refused),
        cmocka_unit_test (test_cfg_refused_when_unusable),
        cmocka_unit_test (test_restart_ids_do_not_collide),
        cmocka_unit_test (test_idle_core_has_no_deadline),
        cmocka_unit_test (test_bad_input_keeps_core_working),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
