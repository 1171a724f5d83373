/*  =========================================================================
    test_membership - the SWIM membership core, driven by hand

    Every test sets its own time explicitly (wall clock ms, as in the live
    node), feeds envelopes that went through the real codec (pack, seal,
    decode), and asserts on the effects and counters the core produces.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "membership.h"

#define T0          1700000000000LL //  a plausible now, ms since epoch
#define GEN         (T0 - 60000)    //  generation of every test node
#define CLUSTER     0xC1u           //  cluster hash used on every frame
#define FX_MAX      512             //  effects collected at once

//  --------------------------------------------------------------------------
//  Helpers: nodes are numbered; node n has id n, "node-n", tcp://n

static rumor_id_t
s_id (uint64_t n)
{
    rumor_id_t id;
    rumor_id_from_u64 (&id, n);
    return id;
}

static const char *
s_endpoint (uint64_t n)
{
    static char endpoints [64][32];
    snprintf (endpoints [n % 64], 32, "tcp://10.0.0.%u:7400", (unsigned) n);
    return endpoints [n % 64];
}

//  True if id is node n's
static bool
s_is (const rumor_id_t *id, uint64_t n)
{
    rumor_id_t expected = s_id (n);
    return rumor_id_eq (id, &expected);
}

static bool
s_bin_is (ProtobufCBinaryData bin, uint64_t n)
{
    rumor_id_t expected = s_id (n);
    return rumor_id_eq_bin (&expected, bin);
}

static rumor_membership_cfg_t
s_cfg (uint64_t n)
{
    rumor_membership_cfg_t cfg;
    rumor_membership_cfg_defaults (&cfg);
    cfg.self = s_id (n);
    cfg.generation = GEN;
    cfg.name = "node";
    cfg.endpoint = s_endpoint (n);
    cfg.seed = n;
    //  Most tests watch the regular push-pull; settling has its own test
    cfg.settle_interval_ms = 0;
    return cfg;
}

static rumor_membership_t *
s_core (uint64_t n)
{
    rumor_membership_cfg_t cfg = s_cfg (n);
    rumor_membership_t *core = rumor_membership_new (&cfg);
    assert_non_null (core);
    return core;
}

//  A MemberUpdate on the stack, with storage for its fields
typedef struct {
    Rumor__MemberUpdate pb;
    rumor_id_t id;
    rumor_id_t accuser;
} s_update_t;

static Rumor__MemberUpdate *
s_update (s_update_t *u, uint64_t n, uint64_t generation, uint32_t inc,
          Rumor__State state, uint64_t accuser)
{
    rumor__member_update__init (&u->pb);
    u->id = s_id (n);
    u->pb.id = rumor_id_bin (&u->id);
    u->pb.generation = generation;
    u->pb.incarnation = inc;
    u->pb.state = state;
    u->pb.name = (char *) "node";
    u->pb.endpoint = (char *) s_endpoint (n);
    if (accuser) {
        u->accuser = s_id (accuser);
        u->pb.accuser = rumor_id_bin (&u->accuser);
    }
    return &u->pb;
}

//  Seal a body-only envelope as node `from` would send it and decode it
//  with the real codec. Caller frees with rumor_codec_free.
static Rumor__Envelope *
s_wire (uint64_t from, uint64_t generation, uint32_t inc,
        const uint8_t *body, size_t size,
        Rumor__MemberUpdate **piggyback, size_t n_piggyback)
{
    rumor_header_t header = { CLUSTER, s_id (from), generation, inc, 1, {{0}} };
    zframe_t *frame = rumor_codec_seal (&header, piggyback, n_piggyback,
                                        body, size);
    assert_non_null (frame);
    Rumor__Envelope *env = rumor_codec_decode (zframe_data (frame),
                                               zframe_size (frame), CLUSTER, NULL);
    zframe_destroy (&frame);
    assert_non_null (env);
    return env;
}

//  Deliver a body from node `from` (gen GEN, inc 0) to core, as the shell
//  does: piggyback first, then the body. Returns on_message's result.
static int
s_deliver_from (rumor_membership_t *core, int64_t now, uint64_t from,
                uint64_t generation, const Rumor__Envelope *body)
{
    zframe_t *packed = rumor_codec_pack (&body->base);
    Rumor__Envelope *env = s_wire (from, generation, 0, zframe_data (packed),
                                   zframe_size (packed), NULL, 0);
    zframe_destroy (&packed);
    rumor_membership_on_piggyback (core, now, env);
    int rc = rumor_membership_on_message (core, now, env);
    rumor_codec_free (&env);
    return rc;
}

//  Gossip a batch of updates to core from node `from`
static int
s_gossip (rumor_membership_t *core, int64_t now, uint64_t from,
          Rumor__MemberUpdate **updates, size_t n)
{
    Rumor__MemberUpdates batch = RUMOR__MEMBER_UPDATES__INIT;
    batch.updates = updates;
    batch.n_updates = n;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_UPDATES;
    body.updates = &batch;
    return s_deliver_from (core, now, from, GEN, &body);
}

static int
s_gossip_one (rumor_membership_t *core, int64_t now, uint64_t from,
              Rumor__MemberUpdate *update)
{
    return s_gossip (core, now, from, &update, 1);
}

//  Make core know node n as ALIVE at inc 0 (and drain what it says)
static void s_drain (rumor_membership_t *core);

static void
s_add_alive (rumor_membership_t *core, int64_t now, uint64_t n)
{
    s_update_t u;
    assert_int_equal (s_gossip_one (core, now, 99,
                      s_update (&u, n, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0)), 0);
}

//  Everything a core produced, decoded
typedef struct {
    size_t n_sends;
    Rumor__Envelope *sends [FX_MAX];        //  decoded, header sealed
    rumor_id_t to [FX_MAX];                 //  zero when by endpoint
    char endpoint [FX_MAX][256];
    size_t n_events;
    char kinds [FX_MAX][16];
    Rumor__MemberUpdate *events [FX_MAX];
} s_fx_t;

static s_fx_t *
s_collect (rumor_membership_t *core, uint64_t self_n)
{
    s_fx_t *fx = (s_fx_t *) calloc (1, sizeof (s_fx_t));
    assert_non_null (fx);
    zframe_t *msg;
    while ((msg = rumor_membership_next_effect (core))) {
        rumor_fx_view_t view;
        assert_int_equal (rumor_fx_parse (msg, &view), 0);
        if (view.is_send) {
            assert_true (fx->n_sends < FX_MAX);
            Rumor__Envelope *env = s_wire (self_n, GEN,
                rumor_membership_incarnation (core),
                view.body, view.body_size, NULL, 0);
            fx->to [fx->n_sends] = view.to;
            snprintf (fx->endpoint [fx->n_sends], 256, "%s", view.endpoint);
            fx->sends [fx->n_sends++] = env;
        }
        else {
            assert_true (fx->n_events < FX_MAX);
            ProtobufCMessage *detail = rumor_codec_decode_detail (
                &rumor__member_update__descriptor,
                view.body, view.body_size);
            assert_non_null (detail);
            snprintf (fx->kinds [fx->n_events], 16, "%s", view.kind);
            fx->events [fx->n_events++] = (Rumor__MemberUpdate *) detail;
        }
        zframe_destroy (&msg);
    }
    return fx;
}

static void
s_fx_free (s_fx_t **fx_p)
{
    s_fx_t *fx = *fx_p;
    for (size_t i = 0; i < fx->n_sends; i++)
        rumor_codec_free (&fx->sends [i]);
    for (size_t i = 0; i < fx->n_events; i++)
        rumor_codec_free_detail ((ProtobufCMessage **) &fx->events [i]);
    free (fx);
    *fx_p = NULL;
}

static void
s_drain (rumor_membership_t *core)
{
    zframe_t *msg;
    while ((msg = rumor_membership_next_effect (core)))
        zframe_destroy (&msg);
}

//  The event of this kind about node n, or NULL
static Rumor__MemberUpdate *
s_event (s_fx_t *fx, const char *kind, uint64_t n)
{
    rumor_id_t id = s_id (n);
    for (size_t i = 0; i < fx->n_events; i++)
        if (streq (fx->kinds [i], kind) && rumor_id_eq_bin (&id, fx->events [i]->id))
            return fx->events [i];
    return NULL;
}

static size_t
s_count_events (s_fx_t *fx, const char *kind)
{
    size_t count = 0;
    for (size_t i = 0; i < fx->n_events; i++)
        if (streq (fx->kinds [i], kind))
            count++;
    return count;
}

static size_t
s_count_sends (s_fx_t *fx, Rumor__Envelope__BodyCase body)
{
    size_t count = 0;
    for (size_t i = 0; i < fx->n_sends; i++)
        if (fx->sends [i]->body_case == body)
            count++;
    return count;
}

//  Index of the first send with this body, or -1
static int
s_find_send (s_fx_t *fx, Rumor__Envelope__BodyCase body)
{
    for (size_t i = 0; i < fx->n_sends; i++)
        if (fx->sends [i]->body_case == body)
            return (int) i;
    return -1;
}

static bool
s_has_member (Rumor__MemberUpdate **members, size_t n, uint64_t id_n,
              Rumor__State state, uint32_t inc)
{
    rumor_id_t id = s_id (id_n);
    for (size_t i = 0; i < n; i++)
        if (rumor_id_eq_bin (&id, members [i]->id))
            return members [i]->state == state && members [i]->incarnation == inc;
    return false;
}

static Rumor__State
s_state_of (rumor_membership_t *core, uint64_t n)
{
    rumor_id_t id = s_id (n);
    const rumor_member_t *m = rumor_membership_lookup (core, &id);
    return m? m->state: RUMOR__STATE__STATE_INVALID;
}

static uint32_t
s_inc_of (rumor_membership_t *core, uint64_t n)
{
    rumor_id_t id = s_id (n);
    const rumor_member_t *m = rumor_membership_lookup (core, &id);
    assert_non_null (m);
    return m->incarnation;
}

//  --------------------------------------------------------------------------
//  Usage: two nodes join through a seed endpoint and list each other

static void
test_usage_join (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    rumor_membership_t *b = s_core (2);

    //  a knows only b's address: Join goes out with no id
    assert_int_equal (rumor_membership_join (a, T0, s_endpoint (2)), 0);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 1);
    assert_true (rumor_id_is_zero (&fx->to [0]));
    assert_string_equal (fx->endpoint [0], s_endpoint (2));
    assert_int_equal (fx->sends [0]->body_case, RUMOR__ENVELOPE__BODY_JOIN);

    //  b adds a, tells its program, answers with its table
    assert_int_equal (rumor_membership_on_message (b, T0 + 1, fx->sends [0]), 0);
    s_fx_free (&fx);
    fx = s_collect (b, 2);
    assert_non_null (s_event (fx, "member", 1));
    int reply = s_find_send (fx, RUMOR__ENVELOPE__BODY_JOIN_REPLY);
    assert_true (reply >= 0);
    assert_true (s_is (&fx->to [reply], 1));
    assert_int_equal (rumor_membership_count (b, RUMOR__STATE__STATE_ALIVE), 2);

    //  a merges the reply and lists b
    assert_int_equal (rumor_membership_on_message (a, T0 + 2, fx->sends [reply]), 0);
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_count (a, RUMOR__STATE__STATE_ALIVE), 2);
    rumor_id_t id_b = s_id (2);
    const rumor_member_t *member = rumor_membership_lookup (a, &id_b);
    assert_non_null (member);
    assert_string_equal (member->endpoint, s_endpoint (2));
    assert_int_equal (member->changed_at, T0 + 2);

    rumor_membership_destroy (&a);
    rumor_membership_destroy (&b);
    assert_null (a);
}

//  --------------------------------------------------------------------------
//  Join

static void
test_join_adds_joiner_queues_it_and_replies (void **state)
{
    (void) state;
    rumor_membership_t *b = s_core (2);
    s_add_alive (b, T0, 3);
    s_drain (b);
    while (rumor_membership_queue_size (b)) {
        Rumor__MemberUpdate *out [4];
        rumor_membership_piggyback (b, out, 4);
    }
    s_update_t u;
    Rumor__Join join = RUMOR__JOIN__INIT;
    join.self = s_update (&u, 1, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0);
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_JOIN;
    body.join = &join;
    assert_int_equal (s_deliver_from (b, T0 + 10, 1, GEN, &body), 0);

    s_fx_t *fx = s_collect (b, 2);
    Rumor__MemberUpdate *event = s_event (fx, "member", 1);
    assert_non_null (event);
    assert_int_equal (event->state, RUMOR__STATE__STATE_ALIVE);
    int reply = s_find_send (fx, RUMOR__ENVELOPE__BODY_JOIN_REPLY);
    assert_true (reply >= 0);
    Rumor__JoinReply *table = fx->sends [reply]->join_reply;
    assert_int_equal (table->n_members, 3);
    assert_true (s_has_member (table->members, 3, 1, RUMOR__STATE__STATE_ALIVE, 0));
    assert_true (s_has_member (table->members, 3, 2, RUMOR__STATE__STATE_ALIVE, 0));
    assert_true (s_has_member (table->members, 3, 3, RUMOR__STATE__STATE_ALIVE, 0));
    s_fx_free (&fx);
    //  The joiner's arrival is queued for gossip
    assert_int_equal (rumor_membership_queue_size (b), 1);
    assert_int_equal (rumor_membership_stats (b)->joins_answered, 1);
    rumor_membership_destroy (&b);
}

static void
test_join_reply_members_are_not_regossiped (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_update_t u2, u3;
    Rumor__MemberUpdate *members [2] = {
        s_update (&u2, 2, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0),
        s_update (&u3, 3, GEN, 4, RUMOR__STATE__STATE_ALIVE, 0) };
    Rumor__JoinReply table = RUMOR__JOIN_REPLY__INIT;
    table.members = members;
    table.n_members = 2;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_JOIN_REPLY;
    body.join_reply = &table;
    assert_int_equal (s_deliver_from (a, T0, 2, GEN, &body), 0);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (s_count_events (fx, "member"), 2);
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_count (a, RUMOR__STATE__STATE_ALIVE), 3);
    assert_int_equal (s_inc_of (a, 3), 4);
    //  The responder's cluster knows them already: nothing to gossip but
    //  ourselves, announced to the members we just learned
    assert_int_equal (rumor_membership_queue_size (a), 1);
    Rumor__MemberUpdate *out [2];
    assert_int_equal (rumor_membership_piggyback (a, out, 2), 1);
    assert_true (s_bin_is (out [0]->id, 1));
    assert_int_equal (out [0]->state, RUMOR__STATE__STATE_ALIVE);
    rumor_membership_destroy (&a);
}

static void
test_join_id_skips_known_and_rejoins_dead (void **state)
{
    (void) state;
    //  Every newcomer joined here; the spread has its own test below
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.beacon_join_spread = false;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    assert_non_null (a);
    s_add_alive (a, T0, 2);
    s_drain (a);
    rumor_id_t id2 = s_id (2);
    rumor_id_t id3 = s_id (3);

    //  Known alive at that generation: nothing sent
    assert_int_equal (rumor_membership_join_id (a, T0, &id2, GEN, s_endpoint (2)), 0);
    assert_null (rumor_membership_next_effect (a));

    //  Unknown: Join by id and endpoint
    assert_int_equal (rumor_membership_join_id (a, T0, &id3, GEN, s_endpoint (3)), 0);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 1);
    assert_true (rumor_id_eq (&fx->to [0], &id3));
    assert_int_equal (fx->sends [0]->body_case, RUMOR__ENVELOPE__BODY_JOIN);
    assert_true (s_bin_is (fx->sends [0]->join->self->id, 1));
    s_fx_free (&fx);

    //  A member we hold DEAD but hear again is rejoined, at most once per
    //  rejoin interval
    s_update_t u;
    s_gossip_one (a, T0 + 1, 9, s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_DEAD, 9));
    s_drain (a);
    assert_int_equal (rumor_membership_join_id (a, T0 + 2, &id2, GEN, s_endpoint (2)), 0);
    fx = s_collect (a, 1);
    assert_int_equal (s_count_sends (fx, RUMOR__ENVELOPE__BODY_JOIN), 1);
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_join_id (a, T0 + 3, &id2, GEN, s_endpoint (2)), 0);
    assert_null (rumor_membership_next_effect (a));
    assert_int_equal (rumor_membership_join_id (a,
        T0 + 2 + RUMOR_MEMBERSHIP_REJOIN_INTERVAL_DFLT, &id2, GEN, s_endpoint (2)), 0);
    fx = s_collect (a, 1);
    assert_int_equal (s_count_sends (fx, RUMOR__ENVELOPE__BODY_JOIN), 1);
    s_fx_free (&fx);

    //  Our own beacon heard back: nothing
    rumor_id_t id1 = s_id (1);
    assert_int_equal (rumor_membership_join_id (a, T0, &id1, GEN, s_endpoint (1)), 0);
    assert_null (rumor_membership_next_effect (a));
    rumor_membership_destroy (&a);
}

//  Count the Joins a core sends to n members new to it, heard by beacon
static size_t
s_beacon_joins (rumor_membership_t *core, int64_t now, uint64_t first,
                size_t n)
{
    size_t joins = 0;
    for (uint64_t index = first; index < first + n; index++) {
        rumor_id_t id = s_id (index);
        assert_int_equal (rumor_membership_join_id (core, now, &id, GEN,
                                                    s_endpoint (index)), 0);
        s_fx_t *fx = s_collect (core, 1);
        joins += s_count_sends (fx, RUMOR__ENVELOPE__BODY_JOIN);
        s_fx_free (&fx);
    }
    return joins;
}

//  Alone, a node joins ALONE_JOINS of the members its beacons reveal, then
//  waits ALONE_JOIN_WAIT ms for an answer before it joins more: each Join
//  is answered with a whole table, and alone it hears every beacon.
static void
test_join_id_alone_waits_for_an_answer (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    const int64_t wait = RUMOR_MEMBERSHIP_ALONE_JOIN_WAIT;
    assert_int_equal (s_beacon_joins (a, T0, 100, 10),
                      RUMOR_MEMBERSHIP_ALONE_JOINS);
    assert_int_equal (rumor_membership_stats (a)->joins_deferred,
                      10 - RUMOR_MEMBERSHIP_ALONE_JOINS);
    //  No answer yet: more beacons, no more Joins until the wait is over
    assert_int_equal (s_beacon_joins (a, T0 + wait - 1, 200, 10), 0);
    assert_int_equal (s_beacon_joins (a, T0 + wait, 300, 10),
                      RUMOR_MEMBERSHIP_ALONE_JOINS);
    //  A time before the window (a clock stepped back) opens a new one
    assert_int_equal (s_beacon_joins (a, T0 - 1000, 350, 10),
                      RUMOR_MEMBERSHIP_ALONE_JOINS);
    //  An answer (a live peer): no longer alone, a small cluster joins
    //  every newcomer again
    s_add_alive (a, T0 + wait, 2);
    s_drain (a);
    assert_int_equal (s_beacon_joins (a, T0 + wait, 400, 10), 10);
    //  Alone again (the peer died): the limit is back
    s_update_t u;
    s_gossip_one (a, T0 + 3 * wait, 9,
                  s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_DEAD, 9));
    s_drain (a);
    assert_int_equal (s_beacon_joins (a, T0 + 3 * wait, 500, 10),
                      RUMOR_MEMBERSHIP_ALONE_JOINS);
    rumor_membership_destroy (&a);
}

//  In a cluster of up to RUMOR_MEMBERSHIP_JOIN_SHARE nodes, a node joins
//  every member its beacons reveal (nobody waits for gossip). In a larger
//  cluster of n live peers each joins a newcomer with chance SHARE/(n+1),
//  so the cluster sends about SHARE Joins (each answered by a whole table)
//  per beacon instead of n: 64 nodes starting together no longer trade
//  64^2 tables.
static void
test_join_id_spread_over_the_cluster (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);

    //  Seven live peers: a cluster of SHARE, every newcomer is joined
    for (uint64_t peer = 2; peer <= RUMOR_MEMBERSHIP_JOIN_SHARE; peer++)
        s_add_alive (a, T0, peer);
    s_drain (a);
    assert_int_equal (s_beacon_joins (a, T0, 200, 100), 100);
    assert_int_equal (rumor_membership_stats (a)->joins_deferred, 0);

    //  39 live peers: SHARE chances in 40 per newcomer, 1,000 newcomers
    for (uint64_t peer = RUMOR_MEMBERSHIP_JOIN_SHARE + 1; peer <= 40; peer++)
        s_add_alive (a, T0, peer);
    s_drain (a);
    size_t joins = s_beacon_joins (a, T0, 1000, 1000);
    assert_in_range (joins, 140, 260);
    assert_int_equal (rumor_membership_stats (a)->joins_deferred,
                      1000 - joins);
    //  A newcomer deferred now is offered again at its next beacon
    size_t again = 0;
    for (int beacon = 0; beacon < 100; beacon++)
        again += s_beacon_joins (a, T0 + beacon, 5000, 1);
    assert_in_range (again, 1, 99);
    rumor_membership_destroy (&a);
}

static void
test_joiner_we_hold_dead_gets_table_and_refutes (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    rumor_membership_t *b = s_core (2);
    //  b declared a dead (a partition, say) at a's incarnation 0
    s_add_alive (b, T0, 1);
    s_update_t u;
    s_gossip_one (b, T0, 3, s_update (&u, 1, GEN, 0, RUMOR__STATE__STATE_DEAD, 3));
    s_drain (b);

    //  a, alive after all, joins b again (heard b's beacon)
    rumor_id_t id2 = s_id (2);
    assert_int_equal (rumor_membership_join_id (a, T0 + 10, &id2, GEN, s_endpoint (2)), 0);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (rumor_membership_on_message (b, T0 + 11, fx->sends [0]), 0);
    s_fx_free (&fx);
    //  b keeps its verdict but still answers, so a sees its own death ...
    assert_int_equal (s_state_of (b, 1), RUMOR__STATE__STATE_DEAD);
    fx = s_collect (b, 2);
    int reply = s_find_send (fx, RUMOR__ENVELOPE__BODY_JOIN_REPLY);
    assert_true (reply >= 0);
    rumor_membership_on_message (a, T0 + 12, fx->sends [reply]);
    s_fx_free (&fx);
    //  ... and refutes it with a higher incarnation, which b accepts
    assert_int_equal (rumor_membership_incarnation (a), 1);
    Rumor__MemberUpdate *out [4];
    assert_int_equal (rumor_membership_piggyback (a, out, 4), 1);
    assert_int_equal (s_gossip (b, T0 + 13, 1, out, 1), 0);
    assert_int_equal (s_state_of (b, 1), RUMOR__STATE__STATE_ALIVE);
    assert_int_equal (s_inc_of (b, 1), 1);
    rumor_membership_destroy (&a);
    rumor_membership_destroy (&b);
}

//  --------------------------------------------------------------------------
//  SWIM precedence

static void
test_precedence_within_generation (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_drain (a);
    s_update_t u;

    //  Same incarnation: SUSPECT beats ALIVE
    assert_int_equal (s_gossip_one (a, T0 + 1, 3,
        s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 3)), 0);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_SUSPECT);
    //  ... and ALIVE at the same incarnation does not undo it
    assert_int_equal (s_gossip_one (a, T0 + 2, 3,
        s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0)), -1);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_SUSPECT);
    assert_int_equal (rumor_membership_stats (a)->stale_incarnation, 1);
    //  A higher incarnation ALIVE (a refutation) wins
    assert_int_equal (s_gossip_one (a, T0 + 3, 2,
        s_update (&u, 2, GEN, 1, RUMOR__STATE__STATE_ALIVE, 0)), 0);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_ALIVE);
    //  DEAD beats SUSPECT and ALIVE at the same incarnation
    assert_int_equal (s_gossip_one (a, T0 + 4, 3,
        s_update (&u, 2, GEN, 1, RUMOR__STATE__STATE_DEAD, 3)), 0);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_DEAD);
    assert_int_equal (s_gossip_one (a, T0 + 5, 3,
        s_update (&u, 2, GEN, 1, RUMOR__STATE__STATE_SUSPECT, 3)), -1);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_DEAD);
    //  An older incarnation never wins
    assert_int_equal (s_gossip_one (a, T0 + 6, 3,
        s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0)), -1);
    assert_int_equal (rumor_membership_stats (a)->stale_incarnation, 3);
    assert_int_equal (s_inc_of (a, 2), 1);
    assert_int_equal (rumor_membership_stats (a)->updates_applied, 4);
    rumor_membership_destroy (&a);
}

static void
test_restarted_node_replaces_old_entry (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_update_t u;
    s_gossip_one (a, T0 + 1, 3, s_update (&u, 2, GEN, 7, RUMOR__STATE__STATE_DEAD, 3));
    s_drain (a);

    //  Same id, later start: the new run replaces the old entry
    uint64_t restart = GEN + 5000;
    assert_int_equal (s_gossip_one (a, T0 + 2, 2,
        s_update (&u, 2, restart, 0, RUMOR__STATE__STATE_ALIVE, 0)), 0);
    s_fx_t *fx = s_collect (a, 1);
    Rumor__MemberUpdate *event = s_event (fx, "member", 2);
    assert_non_null (event);
    assert_int_equal (event->generation, restart);
    assert_int_equal (event->incarnation, 0);
    assert_int_equal (event->state, RUMOR__STATE__STATE_ALIVE);
    s_fx_free (&fx);
    rumor_id_t id2 = s_id (2);
    const rumor_member_t *m = rumor_membership_lookup (a, &id2);
    assert_int_equal (m->generation, restart);
    assert_int_equal (m->state, RUMOR__STATE__STATE_ALIVE);

    //  Gossip about the old run is stale now, whatever its incarnation
    assert_int_equal (s_gossip_one (a, T0 + 3, 3,
        s_update (&u, 2, GEN, 9, RUMOR__STATE__STATE_DEAD, 3)), -1);
    assert_int_equal (rumor_membership_stats (a)->stale_generation, 1);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_ALIVE);
    assert_null (rumor_membership_next_effect (a));
    rumor_membership_destroy (&a);
}

//  --------------------------------------------------------------------------
//  Updates about ourselves

static void
test_refute_suspicion_of_self (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_update_t u;
    assert_int_equal (s_gossip_one (a, T0, 2,
        s_update (&u, 1, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 2)), 0);
    assert_int_equal (rumor_membership_incarnation (a), 1);
    assert_int_equal (s_state_of (a, 1), RUMOR__STATE__STATE_ALIVE);
    s_fx_t *fx = s_collect (a, 1);
    Rumor__MemberUpdate *event = s_event (fx, "member", 1);
    assert_non_null (event);
    assert_int_equal (event->incarnation, 1);
    assert_int_equal (event->state, RUMOR__STATE__STATE_ALIVE);
    s_fx_free (&fx);
    //  The refutation is gossiped
    Rumor__MemberUpdate *out [4];
    assert_int_equal (rumor_membership_piggyback (a, out, 4), 1);
    assert_true (s_bin_is (out [0]->id, 1));
    assert_int_equal (out [0]->state, RUMOR__STATE__STATE_ALIVE);
    assert_int_equal (out [0]->incarnation, 1);
    assert_int_equal (rumor_membership_stats (a)->refuted, 1);
    rumor_membership_destroy (&a);
}

static void
test_refute_death_of_self_above_its_incarnation (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_update_t u;
    assert_int_equal (s_gossip_one (a, T0, 2,
        s_update (&u, 1, GEN, 5, RUMOR__STATE__STATE_DEAD, 2)), 0);
    assert_int_equal (rumor_membership_incarnation (a), 6);
    //  Older news about us is stale, not refuted again
    assert_int_equal (s_gossip_one (a, T0 + 1, 2,
        s_update (&u, 1, GEN, 4, RUMOR__STATE__STATE_SUSPECT, 2)), -1);
    assert_int_equal (rumor_membership_incarnation (a), 6);
    assert_int_equal (rumor_membership_stats (a)->refuted, 1);
    //  Nothing can be raised above UINT32_MAX: refused, not wrapped
    assert_int_equal (s_gossip_one (a, T0 + 2, 2,
        s_update (&u, 1, GEN, UINT32_MAX, RUMOR__STATE__STATE_DEAD, 2)), -1);
    assert_int_equal (rumor_membership_stats (a)->absurd_incarnation, 1);
    assert_int_equal (rumor_membership_incarnation (a), 6);
    rumor_membership_destroy (&a);
}

static void
test_refute_left_of_self_when_not_leaving (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_update_t u;
    assert_int_equal (s_gossip_one (a, T0, 2,
        s_update (&u, 1, GEN, 0, RUMOR__STATE__STATE_LEFT, 0)), 0);
    assert_int_equal (rumor_membership_incarnation (a), 1);
    assert_int_equal (s_state_of (a, 1), RUMOR__STATE__STATE_ALIVE);
    rumor_membership_destroy (&a);
}

static void
test_no_refutation_while_leaving (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    rumor_membership_leave (a, T0);
    uint32_t inc = rumor_membership_incarnation (a);
    s_update_t u;
    s_gossip_one (a, T0 + 1, 2, s_update (&u, 1, GEN, inc, RUMOR__STATE__STATE_DEAD, 2));
    assert_int_equal (rumor_membership_incarnation (a), inc);
    assert_int_equal (s_state_of (a, 1), RUMOR__STATE__STATE_LEFT);
    assert_int_equal (rumor_membership_stats (a)->refuted, 0);
    rumor_membership_destroy (&a);
}

static void
test_self_from_other_generations (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_update_t u;
    //  Our previous run: stale
    assert_int_equal (s_gossip_one (a, T0, 2,
        s_update (&u, 1, GEN - 1000, 9, RUMOR__STATE__STATE_DEAD, 2)), -1);
    assert_int_equal (rumor_membership_stats (a)->stale_self, 1);
    //  A later run with our id: a conflict, counted, no flapping
    for (int i = 0; i < 3; i++)
        assert_int_equal (s_gossip_one (a, T0 + i, 2,
            s_update (&u, 1, GEN + 1000, 0, RUMOR__STATE__STATE_ALIVE, 0)), -1);
    assert_int_equal (rumor_membership_stats (a)->self_conflict, 3);
    assert_int_equal (rumor_membership_incarnation (a), 0);
    assert_int_equal (s_state_of (a, 1), RUMOR__STATE__STATE_ALIVE);
    assert_null (rumor_membership_next_effect (a));
    assert_int_equal (rumor_membership_queue_size (a), 0);
    //  ... and its Join is refused
    Rumor__Join join = RUMOR__JOIN__INIT;
    join.self = s_update (&u, 1, GEN + 1000, 0, RUMOR__STATE__STATE_ALIVE, 0);
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_JOIN;
    body.join = &join;
    assert_int_equal (s_deliver_from (a, T0, 1, GEN + 1000, &body), -1);
    assert_int_equal (rumor_membership_stats (a)->join_self, 1);
    assert_null (rumor_membership_next_effect (a));
    //  Still working
    s_add_alive (a, T0 + 10, 2);
    assert_int_equal (rumor_membership_count (a, RUMOR__STATE__STATE_ALIVE), 2);
    rumor_membership_destroy (&a);
}

//  --------------------------------------------------------------------------
//  Events

static void
test_member_event_on_every_change (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_update_t u;
    s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0);
    s_gossip_one (a, T0, 2, &u.pb);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (s_count_events (fx, "member"), 1);
    s_fx_free (&fx);

    //  The same update again: no event, counted as a duplicate
    assert_int_equal (s_gossip_one (a, T0 + 1, 2, &u.pb), 0);
    assert_null (rumor_membership_next_effect (a));
    assert_int_equal (rumor_membership_stats (a)->duplicates, 1);

    //  New tags and endpoint at a higher incarnation
    Rumor__Tag tag = RUMOR__TAG__INIT;
    tag.key = (char *) "service";
    tag.value = (char *) "kafka";
    Rumor__Tag *tags [1] = { &tag };
    u.pb.incarnation = 1;
    u.pb.endpoint = (char *) "tcp://10.9.9.9:7400";
    u.pb.tags = tags;
    u.pb.n_tags = 1;
    assert_int_equal (s_gossip_one (a, T0 + 2, 2, &u.pb), 0);
    fx = s_collect (a, 1);
    Rumor__MemberUpdate *event = s_event (fx, "member", 2);
    assert_non_null (event);
    assert_string_equal (event->endpoint, "tcp://10.9.9.9:7400");
    assert_int_equal (event->n_tags, 1);
    assert_string_equal (event->tags [0]->key, "service");
    s_fx_free (&fx);
    rumor_id_t id2 = s_id (2);
    const rumor_member_t *m = rumor_membership_lookup (a, &id2);
    assert_int_equal (m->n_tags, 1);
    assert_string_equal (m->tags [0], "service=kafka");
    assert_string_equal (m->endpoint, "tcp://10.9.9.9:7400");

    //  A DEAD without fields keeps what we know of the member
    s_update_t dead;
    s_update (&dead, 2, GEN, 1, RUMOR__STATE__STATE_DEAD, 3);
    dead.pb.endpoint = (char *) "";
    dead.pb.name = (char *) "";
    s_gossip_one (a, T0 + 3, 3, &dead.pb);
    fx = s_collect (a, 1);
    event = s_event (fx, "member", 2);
    assert_non_null (event);
    assert_int_equal (event->state, RUMOR__STATE__STATE_DEAD);
    assert_string_equal (event->endpoint, "tcp://10.9.9.9:7400");
    assert_true (s_bin_is (event->accuser, 3));
    s_fx_free (&fx);
    m = rumor_membership_lookup (a, &id2);
    assert_string_equal (m->tags [0], "service=kafka");
    rumor_membership_destroy (&a);
}

static void
test_confirm_on_new_accuser (void **state)
{
    (void) state;
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.max_accusers = 3;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    s_add_alive (a, T0, 2);
    s_drain (a);
    s_update_t u;

    //  First suspicion: a member event, no confirmation
    s_gossip_one (a, T0 + 1, 3, s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 3));
    s_fx_t *fx = s_collect (a, 1);
    assert_non_null (s_event (fx, "member", 2));
    assert_int_equal (s_count_events (fx, "confirm"), 0);
    s_fx_free (&fx);
    Rumor__MemberUpdate *out [4];
    rumor_membership_piggyback (a, out, 4);
    rumor_membership_piggyback (a, out, 4);

    //  Another accuser at the same incarnation: confirm, and re-gossip
    //  with its count reset
    assert_int_equal (s_gossip_one (a, T0 + 2, 4,
        s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 4)), 0);
    fx = s_collect (a, 1);
    Rumor__MemberUpdate *confirm = s_event (fx, "confirm", 2);
    assert_non_null (confirm);
    assert_true (s_bin_is (confirm->accuser, 4));
    assert_int_equal (s_count_events (fx, "member"), 0);
    s_fx_free (&fx);
    uint32_t limit = rumor_membership_retransmit_limit (a);
    for (uint32_t i = 0; i < limit; i++) {
        assert_int_equal (rumor_membership_piggyback (a, out, 4), 1);
        assert_true (s_bin_is (out [0]->accuser, 4));
    }
    assert_int_equal (rumor_membership_piggyback (a, out, 4), 0);

    //  The same accuser again: nothing
    s_gossip_one (a, T0 + 3, 4, s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 4));
    assert_null (rumor_membership_next_effect (a));
    //  Our own detector agreeing: gossiped on, but no confirm to itself;
    //  the suspect hears it from us at once (s_tell_suspect)
    s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 1);
    assert_int_equal (rumor_membership_on_event (a, T0 + 4, "suspect", &u.pb.base), 0);
    fx = s_collect (a, 1);
    assert_int_equal (fx->n_events, 0);
    assert_int_equal (fx->n_sends, 1);
    assert_true (s_is (&fx->to [0], 2));
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_queue_size (a), 1);
    //  The accuser set is bounded (3 here): a fourth is not remembered
    s_gossip_one (a, T0 + 5, 5, s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 5));
    assert_null (rumor_membership_next_effect (a));
    assert_int_equal (rumor_membership_stats (a)->confirmations, 1);
    rumor_membership_destroy (&a);
}

//  Lifeguard's buddy system, sent at once: the member our detector
//  suspects hears it from us directly, and its refutation goes straight
//  back to the accuser named in it, before either waits for gossip
static void
test_suspicion_and_refutation_told_directly (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_add_alive (a, T0, 3);
    s_drain (a);
    //  Our detector suspects 2: one MemberUpdates to 2, with the suspicion
    s_update_t u;
    s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 1);
    assert_int_equal (rumor_membership_on_event (a, T0 + 1, "suspect", &u.pb.base), 0);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 1);
    assert_true (s_is (&fx->to [0], 2));
    assert_int_equal (fx->sends [0]->body_case, RUMOR__ENVELOPE__BODY_UPDATES);
    Rumor__MemberUpdates *told = fx->sends [0]->updates;
    assert_int_equal (told->n_updates, 1);
    assert_true (s_has_member (told->updates, 1, 2, RUMOR__STATE__STATE_SUSPECT, 0));
    assert_true (s_bin_is (told->updates [0]->accuser, 1));
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_stats (a)->suspects_told, 1);
    //  A suspicion gossiped by another node is not ours to tell
    assert_int_equal (s_gossip_one (a, T0 + 2, 2,
        s_update (&u, 3, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 2)), 0);
    fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 0);
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_stats (a)->suspects_told, 1);
    rumor_membership_destroy (&a);

    //  Node 2 hears (through 3) that 1 suspects it: it refutes, and tells
    //  node 1 its new incarnation directly
    rumor_membership_t *b = s_core (2);
    s_add_alive (b, T0, 1);
    s_add_alive (b, T0, 3);
    s_drain (b);
    assert_int_equal (s_gossip_one (b, T0 + 3, 3,
        s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 1)), 0);
    assert_int_equal (rumor_membership_incarnation (b), 1);
    fx = s_collect (b, 2);
    assert_int_equal (fx->n_sends, 1);
    assert_true (s_is (&fx->to [0], 1));
    told = fx->sends [0]->updates;
    assert_non_null (told);
    assert_true (s_has_member (told->updates, told->n_updates, 2,
                               RUMOR__STATE__STATE_ALIVE, 1));
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_stats (b)->refutes_told, 1);
    //  An accuser it does not know is told by gossip only
    assert_int_equal (s_gossip_one (b, T0 + 4, 3,
        s_update (&u, 2, GEN, 1, RUMOR__STATE__STATE_SUSPECT, 7)), 0);
    assert_int_equal (rumor_membership_incarnation (b), 2);
    fx = s_collect (b, 2);
    assert_int_equal (fx->n_sends, 0);
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_stats (b)->refutes_told, 1);
    rumor_membership_destroy (&b);
}

static void
test_detector_events_are_applied_and_gossiped (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_drain (a);
    Rumor__MemberUpdate *out [4];
    while (rumor_membership_piggyback (a, out, 4))
        ;
    s_update_t u;
    s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 1);
    assert_int_equal (rumor_membership_on_event (a, T0 + 1, "suspect", &u.pb.base), 0);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_SUSPECT);
    assert_int_equal (rumor_membership_piggyback (a, out, 4), 1);
    assert_int_equal (out [0]->state, RUMOR__STATE__STATE_SUSPECT);
    assert_true (s_bin_is (out [0]->accuser, 1));
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (s_event (fx, "member", 2)->state, RUMOR__STATE__STATE_SUSPECT);
    s_fx_free (&fx);

    s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_DEAD, 1);
    assert_int_equal (rumor_membership_on_event (a, T0 + 2, "dead", &u.pb.base), 0);
    fx = s_collect (a, 1);
    assert_int_equal (s_event (fx, "member", 2)->state, RUMOR__STATE__STATE_DEAD);
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_count (a, RUMOR__STATE__STATE_DEAD), 1);

    //  Not ours, or not matching its kind: refused
    assert_int_equal (rumor_membership_on_event (a, T0 + 3, "kv", &u.pb.base), -1);
    assert_int_equal (rumor_membership_on_event (a, T0 + 3, "suspect", &u.pb.base), -1);
    assert_int_equal (rumor_membership_stats (a)->bad_input, 2);
    rumor_membership_destroy (&a);
}

//  --------------------------------------------------------------------------
//  Gossip queue and rounds

static void
test_gossip_round_to_fanout_members (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    for (uint64_t n = 2; n <= 11; n++)
        s_add_alive (a, T0, n);
    s_drain (a);
    //  Ten updates queued; a round sends a batch to 3 distinct members
    assert_int_equal (rumor_membership_queue_size (a), 10);
    assert_true (rumor_membership_next_deadline (a) <= T0);
    rumor_membership_on_tick (a, T0);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 3);
    for (size_t i = 0; i < fx->n_sends; i++) {
        assert_int_equal (fx->sends [i]->body_case, RUMOR__ENVELOPE__BODY_UPDATES);
        assert_int_equal (fx->sends [i]->updates->n_updates, 10);
        assert_false (s_is (&fx->to [i], 1));
        for (size_t j = 0; j < i; j++)
            assert_false (rumor_id_eq (&fx->to [i], &fx->to [j]));
        assert_true (strlen (fx->endpoint [i]) > 0);
    }
    s_fx_free (&fx);
    //  The next round is one interval away; an early tick does nothing
    assert_int_equal (rumor_membership_next_deadline (a), T0 + 200);
    rumor_membership_on_tick (a, T0 + 199);
    assert_null (rumor_membership_next_effect (a));
    rumor_membership_on_tick (a, T0 + 200);
    fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 3);
    s_fx_free (&fx);
    rumor_membership_destroy (&a);
}

static void
test_gossip_batch_is_bounded_and_least_sent_first (void **state)
{
    (void) state;
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.max_piggyback = 2;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    s_add_alive (a, T0, 2);
    s_add_alive (a, T0, 3);
    s_drain (a);
    Rumor__MemberUpdate *out [4];
    //  3 newest first among never-sent, then 2
    assert_int_equal (rumor_membership_piggyback (a, out, 1), 1);
    assert_true (s_bin_is (out [0]->id, 3));
    //  2 was never sent: it beats 3, sent once
    assert_int_equal (rumor_membership_piggyback (a, out, 1), 1);
    assert_true (s_bin_is (out [0]->id, 2));
    //  A new update goes before both
    s_add_alive (a, T0, 4);
    s_drain (a);
    assert_int_equal (rumor_membership_piggyback (a, out, 1), 1);
    assert_true (s_bin_is (out [0]->id, 4));
    //  A gossip round carries at most max_piggyback updates
    rumor_membership_on_tick (a, T0 + 1);
    s_fx_t *fx = s_collect (a, 1);
    assert_true (fx->n_sends > 0);
    for (size_t i = 0; i < fx->n_sends; i++)
        assert_true (fx->sends [i]->updates->n_updates <= 2);
    s_fx_free (&fx);
    rumor_membership_destroy (&a);
}

static void
test_update_dropped_after_retransmit_limit (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_drain (a);
    //  N = 2: 4 * ceil (log10 (3)) = 4 transmissions
    assert_int_equal (rumor_membership_retransmit_limit (a), 4);
    Rumor__MemberUpdate *out [4];
    for (int i = 0; i < 4; i++)
        assert_int_equal (rumor_membership_piggyback (a, out, 4), 1);
    assert_int_equal (rumor_membership_piggyback (a, out, 4), 0);
    assert_int_equal (rumor_membership_queue_size (a), 0);
    //  Nothing queued: no gossip deadline (push-pull only)
    int64_t deadline = rumor_membership_next_deadline (a);
    assert_true (deadline > T0 + 1000);
    rumor_membership_destroy (&a);
}

static void
test_newer_update_replaces_queued_one (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_drain (a);
    Rumor__MemberUpdate *out [4];
    for (int i = 0; i < 3; i++)
        rumor_membership_piggyback (a, out, 4);
    s_update_t u;
    s_gossip_one (a, T0 + 1, 3, s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 3));
    s_drain (a);
    //  One entry per member, the newest, with its count back at zero
    assert_int_equal (rumor_membership_queue_size (a), 1);
    for (int i = 0; i < 4; i++) {
        assert_int_equal (rumor_membership_piggyback (a, out, 4), 1);
        assert_int_equal (out [0]->state, RUMOR__STATE__STATE_SUSPECT);
    }
    assert_int_equal (rumor_membership_piggyback (a, out, 4), 0);
    rumor_membership_destroy (&a);
}

static void
test_gossip_reaches_recently_dead_only (void **state)
{
    (void) state;
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.gossip_to_dead_ms = 1000;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    s_add_alive (a, T0, 2);
    s_update_t u;
    s_gossip_one (a, T0, 3, s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_DEAD, 3));
    s_drain (a);
    //  Dead for 500 ms: still told, so it can refute
    rumor_membership_on_tick (a, T0 + 500);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 1);
    assert_true (s_is (&fx->to [0], 2));
    s_fx_free (&fx);
    //  Dead for 1000 ms: no longer
    rumor_membership_on_tick (a, T0 + 1000);
    fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 0);
    s_fx_free (&fx);
    rumor_membership_destroy (&a);
}

static void
test_choices_replay_with_the_seed (void **state)
{
    (void) state;
    rumor_id_t first [2][8];
    for (int run = 0; run < 2; run++) {
        rumor_membership_t *a = s_core (1);
        for (uint64_t n = 2; n <= 40; n++)
            s_add_alive (a, T0, n);
        s_drain (a);
        for (int round = 0; round < 2; round++) {
            rumor_membership_on_tick (a, T0 + 200 * round);
            s_fx_t *fx = s_collect (a, 1);
            assert_int_equal (fx->n_sends, 3);
            for (int i = 0; i < 3; i++)
                first [run][round * 3 + i] = fx->to [i];
            s_fx_free (&fx);
        }
        rumor_membership_destroy (&a);
    }
    for (int i = 0; i < 6; i++)
        assert_true (rumor_id_eq (&first [0][i], &first [1][i]));
    //  Rounds pick again at random: not always the same three
    bool same = true;
    for (int i = 0; i < 3; i++)
        same = same && rumor_id_eq (&first [0][i], &first [0][3 + i]);
    assert_false (same);
}

//  --------------------------------------------------------------------------
//  Push-pull

//  After its first peer a node push-pulls early, at settle_interval_ms,
//  doubling up to the regular interval: members that joined together and
//  missed each other's gossip catch up in seconds
static void
test_settling_push_pulls_back_off_to_regular (void **state)
{
    (void) state;
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.settle_interval_ms = 500;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    assert_non_null (a);
    rumor_membership_on_tick (a, T0);
    s_add_alive (a, T0, 2);
    s_drain (a);
    Rumor__MemberUpdate *out [4];
    while (rumor_membership_piggyback (a, out, 4))
        ;
    int64_t expected [] = { 500, 1000, 2000, 4000, 8000, 16000 };
    int64_t at = T0;
    for (size_t i = 0; i < sizeof (expected) / sizeof (expected [0]); i++) {
        int64_t deadline = rumor_membership_next_deadline (a);
        assert_int_equal (deadline - at, expected [i]);
        rumor_membership_on_tick (a, deadline);
        s_fx_t *fx = s_collect (a, 1);
        assert_int_equal (s_find_send (fx, RUMOR__ENVELOPE__BODY_PUSH_PULL), 0);
        s_fx_free (&fx);
        at = deadline;
    }
    //  32 s would pass the regular 30 s interval: back to it
    assert_int_equal (rumor_membership_next_deadline (a) - at, 30000);
    rumor_membership_destroy (&a);
}

//  A node alone with seeds joins them again, backing off, until it has a
//  live peer: a lost Join must not leave it alone for ever
static void
test_seeds_retried_with_backoff_while_alone (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    assert_int_equal (rumor_membership_join (a, T0, "tcp://10.0.0.9:7400"), 0);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (s_count_sends (fx, RUMOR__ENVELOPE__BODY_JOIN), 1);
    s_fx_free (&fx);
    //  The Join was lost: retried after 1 s, then 2 s, 4 s
    int64_t at = T0;
    int64_t periods [] = { 1000, 2000, 4000 };
    for (int i = 0; i < 3; i++) {
        int64_t deadline = rumor_membership_next_deadline (a);
        assert_int_equal (deadline - at, periods [i]);
        rumor_membership_on_tick (a, deadline);
        fx = s_collect (a, 1);
        assert_int_equal (s_count_sends (fx, RUMOR__ENVELOPE__BODY_JOIN), 1);
        assert_string_equal (fx->endpoint [s_find_send (fx, RUMOR__ENVELOPE__BODY_JOIN)],
                             "tcp://10.0.0.9:7400");
        s_fx_free (&fx);
        at = deadline;
    }
    //  A live peer: no more retries
    s_add_alive (a, at, 2);
    s_drain (a);
    rumor_membership_on_tick (a, at + 60000);
    fx = s_collect (a, 1);
    assert_int_equal (s_count_sends (fx, RUMOR__ENVELOPE__BODY_JOIN), 0);
    s_fx_free (&fx);
    rumor_membership_destroy (&a);
}

//  After a partition the other side is DEAD to us: every
//  reconnect_interval_ms we push-pull with one DEAD member (Serf's
//  reconnect), since regular push-pull only goes to ALIVE ones
static void
test_reconnect_push_pulls_with_a_dead_member (void **state)
{
    (void) state;
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.gossip_to_dead_ms = 0;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    assert_non_null (a);
    rumor_membership_on_tick (a, T0);
    s_add_alive (a, T0, 2);
    s_update_t u;
    s_gossip_one (a, T0, 2, s_update (&u, 3, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0));
    s_gossip_one (a, T0, 2, s_update (&u, 3, GEN, 0, RUMOR__STATE__STATE_DEAD, 2));
    s_drain (a);
    assert_int_equal (s_state_of (a, 3), RUMOR__STATE__STATE_DEAD);
    Rumor__MemberUpdate *out [8];
    while (rumor_membership_piggyback (a, out, 8))
        ;
    rumor_membership_on_tick (a, T0 + 9999);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (s_count_sends (fx, RUMOR__ENVELOPE__BODY_PUSH_PULL), 0);
    s_fx_free (&fx);
    rumor_membership_on_tick (a, T0 + 10000);
    fx = s_collect (a, 1);
    int at = s_find_send (fx, RUMOR__ENVELOPE__BODY_PUSH_PULL);
    assert_true (at >= 0);
    assert_true (s_is (&fx->to [at], 3));
    s_fx_free (&fx);
    rumor_membership_destroy (&a);
}

//  Any frame from a member we hold SUSPECT, whose header carries a higher
//  incarnation, proves it alive: the refutation needs no gossip
static void
test_frame_header_refutes_suspicion (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_update_t u;
    s_gossip_one (a, T0, 3, s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 3));
    s_drain (a);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_SUSPECT);
    //  A frame from 2 at incarnation 0: no proof of anything new
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_UPDATES;
    Rumor__MemberUpdates none = RUMOR__MEMBER_UPDATES__INIT;
    body.updates = &none;
    zframe_t *packed = rumor_codec_pack (&body.base);
    Rumor__Envelope *env = s_wire (2, GEN, 0, zframe_data (packed),
                                   zframe_size (packed), NULL, 0);
    rumor_membership_on_piggyback (a, T0 + 10, env);
    rumor_codec_free (&env);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_SUSPECT);
    //  At incarnation 1 (it refuted): ALIVE at once, and told
    env = s_wire (2, GEN, 1, zframe_data (packed), zframe_size (packed), NULL, 0);
    rumor_membership_on_piggyback (a, T0 + 20, env);
    rumor_codec_free (&env);
    zframe_destroy (&packed);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_ALIVE);
    assert_int_equal (s_inc_of (a, 2), 1);
    s_fx_t *fx = s_collect (a, 1);
    assert_non_null (s_event (fx, "member", 2));
    s_fx_free (&fx);
    rumor_membership_destroy (&a);
}

static void
test_push_pull_exchanges_tables (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    rumor_membership_t *b = s_core (2);
    s_add_alive (a, T0, 2);
    s_add_alive (a, T0, 3);
    s_drain (a);
    Rumor__MemberUpdate *out [4];
    while (rumor_membership_piggyback (a, out, 4))
        ;
    //  Within 1.5 periods a starts one push-pull, to an alive member
    int64_t deadline = rumor_membership_next_deadline (a);
    assert_true (deadline > T0 && deadline <= T0 + 45000);
    rumor_membership_on_tick (a, deadline);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (fx->n_sends, 1);
    Rumor__PushPull *push = fx->sends [0]->push_pull;
    assert_non_null (push);
    assert_false (push->reply);
    assert_int_equal (push->n_members, 3);
    assert_true (rumor_membership_next_deadline (a) >= deadline + 30000);

    //  b merges it and answers with its table, marked as a reply
    assert_int_equal (rumor_membership_on_message (b, deadline, fx->sends [0]), 0);
    s_fx_free (&fx);
    assert_int_equal (rumor_membership_count (b, RUMOR__STATE__STATE_ALIVE), 3);
    fx = s_collect (b, 2);
    int answer = s_find_send (fx, RUMOR__ENVELOPE__BODY_PUSH_PULL);
    assert_true (answer >= 0);
    assert_true (fx->sends [answer]->push_pull->reply);
    assert_true (s_is (&fx->to [answer], 1));
    assert_int_equal (rumor_membership_stats (b)->push_pulls_answered, 1);
    //  An answer is merged, not answered
    assert_int_equal (rumor_membership_on_message (a, deadline + 1, fx->sends [answer]), 0);
    s_fx_free (&fx);
    fx = s_collect (a, 1);
    assert_int_equal (s_count_sends (fx, RUMOR__ENVELOPE__BODY_PUSH_PULL), 0);
    s_fx_free (&fx);
    rumor_membership_destroy (&a);
    rumor_membership_destroy (&b);
}

static void
test_push_pull_heals_a_dead_member (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 3);
    s_update_t u;
    s_gossip_one (a, T0, 4, s_update (&u, 3, GEN, 1, RUMOR__STATE__STATE_DEAD, 4));
    s_drain (a);
    assert_int_equal (s_state_of (a, 3), RUMOR__STATE__STATE_DEAD);

    //  The other side of a partition saw 3 refute (inc 2)
    s_update_t u2, u3;
    Rumor__MemberUpdate *members [2] = {
        s_update (&u2, 2, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0),
        s_update (&u3, 3, GEN, 2, RUMOR__STATE__STATE_ALIVE, 0) };
    Rumor__PushPull table = RUMOR__PUSH_PULL__INIT;
    table.members = members;
    table.n_members = 2;
    table.reply = true;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PUSH_PULL;
    body.push_pull = &table;
    assert_int_equal (s_deliver_from (a, T0 + 10, 2, GEN, &body), 0);
    assert_int_equal (s_state_of (a, 3), RUMOR__STATE__STATE_ALIVE);
    assert_int_equal (s_inc_of (a, 3), 2);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (s_event (fx, "member", 3)->state, RUMOR__STATE__STATE_ALIVE);
    s_fx_free (&fx);
    //  Push-pull news are gossiped on, so the rest of our side heals
    assert_int_equal (rumor_membership_queue_size (a), 2);
    rumor_membership_destroy (&a);
}

static void
test_big_tables_go_in_chunks (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    for (uint64_t n = 2; n <= 1200; n++)
        s_add_alive (a, T0, n);
    s_drain (a);
    Rumor__MemberUpdate *out [16];
    while (rumor_membership_piggyback (a, out, 16))
        ;
    rumor_membership_on_tick (a, rumor_membership_next_deadline (a));
    s_fx_t *fx = s_collect (a, 1);
    //  1200 members: 512 + 512 + 176; only the first asks for an answer
    assert_int_equal (fx->n_sends, 3);
    size_t total = 0;
    for (size_t i = 0; i < fx->n_sends; i++) {
        total += fx->sends [i]->push_pull->n_members;
        assert_int_equal (fx->sends [i]->push_pull->reply, i > 0);
        assert_true (rumor_id_eq (&fx->to [i], &fx->to [0]));
    }
    assert_int_equal (total, 1200);
    s_fx_free (&fx);
    rumor_membership_destroy (&a);
}

//  --------------------------------------------------------------------------
//  Reaping, leaving, our own entry

static void
test_reap_dead_and_left_after_delay (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_add_alive (a, T0, 3);
    s_add_alive (a, T0, 4);
    s_update_t u;
    s_gossip_one (a, T0 + 100, 4, s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_DEAD, 4));
    s_gossip_one (a, T0 + 200, 3, s_update (&u, 3, GEN, 1, RUMOR__STATE__STATE_LEFT, 0));
    s_drain (a);
    assert_int_equal (rumor_membership_size (a), 4);
    int64_t reap = T0 + 100 + RUMOR_MEMBERSHIP_REAP_AFTER_DFLT;
    assert_true (rumor_membership_next_deadline (a) <= reap);
    rumor_membership_on_tick (a, reap - 1);
    assert_int_equal (rumor_membership_size (a), 4);
    rumor_membership_on_tick (a, reap);
    assert_int_equal (rumor_membership_size (a), 3);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_INVALID);
    rumor_membership_on_tick (a, reap + 100);
    assert_int_equal (rumor_membership_size (a), 2);
    assert_int_equal (rumor_membership_stats (a)->reaped, 2);
    //  Quietly: others keep their own timers
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (fx->n_events, 0);
    s_fx_free (&fx);
    //  Iteration sees us first, then the survivor
    const rumor_member_t *m = rumor_membership_first (a);
    assert_true (s_is (&m->id, 1));
    m = rumor_membership_next (a);
    assert_true (s_is (&m->id, 4));
    assert_null (rumor_membership_next (a));
    rumor_membership_destroy (&a);
}

static void
test_leave_gracefully (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    for (uint64_t n = 2; n <= 6; n++)
        s_add_alive (a, T0, n);
    s_drain (a);
    Rumor__MemberUpdate *out [16];
    while (rumor_membership_piggyback (a, out, 16))
        ;
    assert_false (rumor_membership_leave_done (a));
    rumor_membership_leave (a, T0 + 10);
    assert_int_equal (rumor_membership_incarnation (a), 1);
    assert_int_equal (s_state_of (a, 1), RUMOR__STATE__STATE_LEFT);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (s_event (fx, "member", 1)->state, RUMOR__STATE__STATE_LEFT);
    //  Every member is told directly (5 <= S_LEAVE_DIRECT_MAX), not only
    //  a gossip fanout: none may declare us dead before it knows we left
    assert_int_equal (s_count_sends (fx, RUMOR__ENVELOPE__BODY_LEAVE), 5);
    assert_int_equal (fx->sends [0]->leave->incarnation, 1);
    assert_int_equal (fx->sends [0]->incarnation, 1);
    s_fx_free (&fx);
    //  Gossip carries the LEFT until its retransmits are done
    assert_false (rumor_membership_leave_done (a));
    int64_t now = T0 + 10;
    int rounds = 0;
    while (!rumor_membership_leave_done (a) && rounds < 20) {
        rumor_membership_on_tick (a, now);
        fx = s_collect (a, 1);
        for (size_t i = 0; i < fx->n_sends; i++)
            assert_true (s_has_member (fx->sends [i]->updates->updates,
                         fx->sends [i]->updates->n_updates, 1,
                         RUMOR__STATE__STATE_LEFT, 1));
        s_fx_free (&fx);
        now += 200;
        rounds++;
    }
    assert_true (rumor_membership_leave_done (a));
    //  Limit 4 (N = 6) at 3 per round: 2 rounds
    assert_int_equal (rounds, 2);
    //  A leaver joins no more and starts no push-pull
    assert_int_equal (rumor_membership_join (a, now, s_endpoint (9)), -1);
    rumor_membership_on_tick (a, now + 100000);
    assert_null (rumor_membership_next_effect (a));
    rumor_membership_destroy (&a);
}

static void
test_leave_alone_is_done_at_once (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    rumor_membership_leave (a, T0);
    assert_true (rumor_membership_leave_done (a));
    rumor_membership_destroy (&a);
}

static void
test_leave_received (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_add_alive (a, T0, 2);
    s_drain (a);
    Rumor__Leave leave = RUMOR__LEAVE__INIT;
    leave.incarnation = 1;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_LEAVE;
    body.leave = &leave;
    assert_int_equal (s_deliver_from (a, T0 + 1, 2, GEN, &body), 0);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_LEFT);
    assert_int_equal (s_inc_of (a, 2), 1);
    s_fx_t *fx = s_collect (a, 1);
    assert_int_equal (s_event (fx, "member", 2)->state, RUMOR__STATE__STATE_LEFT);
    s_fx_free (&fx);
    //  From a stranger: refused
    assert_int_equal (s_deliver_from (a, T0 + 2, 7, GEN, &body), -1);
    assert_int_equal (rumor_membership_stats (a)->unknown_sender, 1);
    assert_int_equal (rumor_membership_size (a), 2);
    rumor_membership_destroy (&a);
}

static void
test_set_tags_and_endpoint (void **state)
{
    (void) state;
    const char *tags [] = { "service=kafka", "port=9092" };
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.tags = tags;
    cfg.n_tags = 2;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    rumor_id_t id1 = s_id (1);
    const rumor_member_t *me = rumor_membership_lookup (a, &id1);
    assert_int_equal (me->n_tags, 2);
    assert_string_equal (me->tags [0], "port=9092");     //  sorted by key

    const char *more [] = { "service=redis", "zone=b", "role" };
    assert_int_equal (rumor_membership_set_tags (a, T0, more, 3), 0);
    assert_int_equal (rumor_membership_incarnation (a), 1);
    s_fx_t *fx = s_collect (a, 1);
    Rumor__MemberUpdate *event = s_event (fx, "member", 1);
    assert_int_equal (event->n_tags, 3);
    assert_string_equal (event->tags [0]->key, "role");
    assert_string_equal (event->tags [0]->value, "");
    s_fx_free (&fx);
    me = rumor_membership_lookup (a, &id1);
    assert_string_equal (me->tags [1], "service=redis");

    //  A node that keeps its identity on a new address
    assert_int_equal (rumor_membership_set_endpoint (a, T0 + 1, "tcp://10.1.1.1:9"), 0);
    assert_int_equal (rumor_membership_incarnation (a), 2);
    Rumor__MemberUpdate *out [4];
    assert_int_equal (rumor_membership_piggyback (a, out, 4), 1);
    assert_string_equal (out [0]->endpoint, "tcp://10.1.1.1:9");
    assert_int_equal (out [0]->incarnation, 2);
    s_drain (a);

    //  Bad tags: refused, nothing changes
    const char *duplicate [] = { "a=1", "a=2" };
    const char *empty_key [] = { "=x" };
    assert_int_equal (rumor_membership_set_tags (a, T0 + 2, duplicate, 2), -1);
    assert_int_equal (rumor_membership_set_tags (a, T0 + 2, empty_key, 1), -1);
    assert_int_equal (rumor_membership_set_endpoint (a, T0 + 2, ""), -1);
    assert_int_equal (rumor_membership_incarnation (a), 2);
    assert_int_equal (rumor_membership_stats (a)->bad_input, 3);
    rumor_membership_destroy (&a);

    //  ... and a bad cfg makes no core
    cfg.tags = duplicate;
    assert_null (rumor_membership_new (&cfg));
    cfg = s_cfg (1);
    cfg.gossip_fanout = 0;
    assert_null (rumor_membership_new (&cfg));
}

//  --------------------------------------------------------------------------
//  Bad input: refused, counted, and the core keeps working

static void
test_bad_input_is_refused_and_counted (void **state)
{
    (void) state;
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.max_members = 4;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    s_add_alive (a, T0, 2);
    s_drain (a);
    s_update_t u;

    //  Suspicion of a stranger
    assert_int_equal (s_gossip_one (a, T0, 3,
        s_update (&u, 8, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 3)), -1);
    assert_int_equal (rumor_membership_stats (a)->unknown_member, 1);
    //  A generation further than an hour ahead of now
    assert_int_equal (s_gossip_one (a, T0, 3,
        s_update (&u, 8, T0 + 2 * 3600 * 1000, 0, RUMOR__STATE__STATE_ALIVE, 0)), -1);
    assert_int_equal (rumor_membership_stats (a)->future_generation, 1);
    //  ... though a little ahead is a clock skew, and fine
    assert_int_equal (s_gossip_one (a, T0, 3,
        s_update (&u, 9, T0 + 60000, 0, RUMOR__STATE__STATE_ALIVE, 0)), 0);
    //  More entries in one message than we would ever hold
    s_update_t many [6];
    Rumor__MemberUpdate *batch [6];
    for (int i = 0; i < 6; i++)
        batch [i] = s_update (&many [i], 100 + i, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0);
    assert_int_equal (s_gossip (a, T0, 3, batch, 6), -1);
    assert_int_equal (rumor_membership_stats (a)->oversized_batch, 1);
    //  New members past max_members (4, ourselves included)
    assert_int_equal (s_gossip (a, T0, 3, batch, 3), -1);
    assert_int_equal (rumor_membership_size (a), 4);
    assert_int_equal (rumor_membership_stats (a)->table_full, 2);
    //  A Join whose entry is not its sender
    Rumor__Join join = RUMOR__JOIN__INIT;
    join.self = s_update (&u, 5, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0);
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_JOIN;
    body.join = &join;
    assert_int_equal (s_deliver_from (a, T0, 6, GEN, &body), -1);
    assert_int_equal (rumor_membership_stats (a)->join_mismatch, 1);
    //  A body that is not ours
    Rumor__Ping ping = RUMOR__PING__INIT;
    Rumor__Envelope wrong = RUMOR__ENVELOPE__INIT;
    wrong.body_case = RUMOR__ENVELOPE__BODY_PING;
    wrong.ping = &ping;
    assert_int_equal (s_deliver_from (a, T0, 2, GEN, &wrong), -1);
    assert_int_equal (rumor_membership_stats (a)->bad_input, 1);
    s_drain (a);
    assert_int_equal (rumor_membership_size (a), 4);

    //  A valid update still applies after all that
    assert_int_equal (s_gossip_one (a, T0 + 1, 3,
        s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_SUSPECT, 3)), 0);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_SUSPECT);
    rumor_membership_destroy (&a);
}

static void
test_piggyback_is_applied_from_any_envelope (void **state)
{
    (void) state;
    rumor_membership_t *a = s_core (1);
    s_update_t u;
    Rumor__MemberUpdate *piggyback [1] = {
        s_update (&u, 2, GEN, 0, RUMOR__STATE__STATE_ALIVE, 0) };
    //  A detector Ping with membership riding along
    Rumor__Ping ping = RUMOR__PING__INIT;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PING;
    body.ping = &ping;
    zframe_t *packed = rumor_codec_pack (&body.base);
    Rumor__Envelope *env = s_wire (2, GEN, 0, zframe_data (packed),
                                   zframe_size (packed), piggyback, 1);
    zframe_destroy (&packed);
    assert_int_equal (rumor_membership_on_piggyback (a, T0, env), 0);
    rumor_codec_free (&env);
    assert_int_equal (s_state_of (a, 2), RUMOR__STATE__STATE_ALIVE);
    rumor_membership_destroy (&a);
}

static void
s_trace_count (void *arg, const char *line)
{
    size_t *count = (size_t *) arg;
    assert_memory_equal (line, "membership: ", 12);
    (*count)++;
}

static void
test_trace_callback (void **state)
{
    (void) state;
    size_t lines = 0;
    rumor_membership_cfg_t cfg = s_cfg (1);
    cfg.trace = s_trace_count;
    cfg.trace_arg = &lines;
    rumor_membership_t *a = rumor_membership_new (&cfg);
    s_add_alive (a, T0, 2);
    assert_true (lines >= 1);
    rumor_membership_destroy (&a);
}

//  --------------------------------------------------------------------------
//  Three cores wired by hand: join, gossip, converge

#define NODES 3

typedef struct {
    rumor_membership_t *cores [NODES];
    size_t sent;                    //  frames delivered
} s_net_t;

static int
s_node_of (s_net_t *net, const rumor_fx_view_t *view)
{
    for (int i = 0; i < NODES; i++) {
        rumor_id_t id = s_id ((uint64_t) i + 1);
        if (rumor_id_eq (&view->to, &id) || streq (view->endpoint, s_endpoint (i + 1)))
            return i;
    }
    (void) net;
    return -1;
}

//  Drain every core's effects, sealing each SEND with its sender's header
//  and piggyback, decoding it, and delivering it to its destination
static void
s_net_flush (s_net_t *net, int64_t now)
{
    bool busy = true;
    while (busy) {
        busy = false;
        for (int i = 0; i < NODES; i++) {
            rumor_membership_t *core = net->cores [i];
            zframe_t *msg;
            while ((msg = rumor_membership_next_effect (core))) {
                busy = true;
                rumor_fx_view_t view;
                assert_int_equal (rumor_fx_parse (msg, &view), 0);
                int to = view.is_send? s_node_of (net, &view): -1;
                if (to >= 0) {
                    Rumor__MemberUpdate *piggyback [4];
                    size_t n = rumor_membership_piggyback (core, piggyback, 4);
                    rumor_header_t header = { CLUSTER, s_id ((uint64_t) i + 1), GEN,
                        rumor_membership_incarnation (core), net->sent, {{0}} };
                    zframe_t *frame = rumor_codec_seal (&header, piggyback, n,
                        view.body, view.body_size);
                    Rumor__Envelope *env = rumor_codec_decode (zframe_data (frame),
                        zframe_size (frame), CLUSTER, NULL);
                    assert_non_null (env);
                    rumor_membership_on_piggyback (net->cores [to], now, env);
                    rumor_membership_on_message (net->cores [to], now, env);
                    rumor_codec_free (&env);
                    zframe_destroy (&frame);
                    net->sent++;
                }
                zframe_destroy (&msg);
            }
        }
    }
}

static int64_t
s_net_deadline (s_net_t *net)
{
    int64_t deadline = -1;
    for (int i = 0; i < NODES; i++) {
        int64_t next = rumor_membership_next_deadline (net->cores [i]);
        if (next >= 0 && (deadline < 0 || next < deadline))
            deadline = next;
    }
    return deadline;
}

static bool
s_net_converged (s_net_t *net, size_t alive)
{
    for (int i = 0; i < NODES; i++)
        if (rumor_membership_count (net->cores [i], RUMOR__STATE__STATE_ALIVE) != alive)
            return false;
    return true;
}

static void
test_three_cores_converge (void **state)
{
    (void) state;
    s_net_t net = { { NULL }, 0 };
    for (int i = 0; i < NODES; i++)
        net.cores [i] = s_core ((uint64_t) i + 1);

    //  2 and 3 join through 1's endpoint
    int64_t now = T0;
    rumor_membership_join (net.cores [1], now, s_endpoint (1));
    s_net_flush (&net, now);
    now += 5;
    rumor_membership_join (net.cores [2], now, s_endpoint (1));
    s_net_flush (&net, now);
    //  2 learns of 3 by gossip from 1 (directly or piggybacked)
    while (!s_net_converged (&net, 3) && now < T0 + 2000) {
        int64_t next = s_net_deadline (&net);
        assert_true (next >= 0);
        now = next > now? next: now + 1;
        for (int i = 0; i < NODES; i++)
            rumor_membership_on_tick (net.cores [i], now);
        s_net_flush (&net, now);
    }
    assert_true (s_net_converged (&net, 3));
    assert_true (now < T0 + 1000);

    //  1 leaves: the others see it LEFT
    rumor_membership_leave (net.cores [0], now);
    s_net_flush (&net, now);
    for (int i = 1; i < NODES; i++) {
        assert_int_equal (s_state_of (net.cores [i], 1), RUMOR__STATE__STATE_LEFT);
        assert_int_equal (rumor_membership_count (net.cores [i], RUMOR__STATE__STATE_ALIVE), 2);
    }
    for (int i = 0; i < NODES; i++)
        rumor_membership_destroy (&net.cores [i]);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_usage_join),
        cmocka_unit_test (test_join_adds_joiner_queues_it_and_replies),
        cmocka_unit_test (test_join_reply_members_are_not_regossiped),
        cmocka_unit_test (test_join_id_skips_known_and_rejoins_dead),
        cmocka_unit_test (test_join_id_alone_waits_for_an_answer),
        cmocka_unit_test (test_join_id_spread_over_the_cluster),
        cmocka_unit_test (test_joiner_we_hold_dead_gets_table_and_refutes),
        cmocka_unit_test (test_precedence_within_generation),
        cmocka_unit_test (test_restarted_node_replaces_old_entry),
        cmocka_unit_test (test_refute_suspicion_of_self),
        cmocka_unit_test (test_refute_death_of_self_above_its_incarnation),
        cmocka_unit_test (test_refute_left_of_self_when_not_leaving),
        cmocka_unit_test (test_no_refutation_while_leaving),
        cmocka_unit_test (test_self_from_other_generations),
        cmocka_unit_test (test_member_event_on_every_change),
        cmocka_unit_test (test_confirm_on_new_accuser),
        cmocka_unit_test (test_suspicion_and_refutation_told_directly),
        cmocka_unit_test (test_detector_events_are_applied_and_gossiped),
        cmocka_unit_test (test_gossip_round_to_fanout_members),
        cmocka_unit_test (test_gossip_batch_is_bounded_and_least_sent_first),
        cmocka_unit_test (test_update_dropped_after_retransmit_limit),
        cmocka_unit_test (test_newer_update_replaces_queued_one),
        cmocka_unit_test (test_gossip_reaches_recently_dead_only),
        cmocka_unit_test (test_choices_replay_with_the_seed),
        cmocka_unit_test (test_settling_push_pulls_back_off_to_regular),
        cmocka_unit_test (test_push_pull_exchanges_tables),
        cmocka_unit_test (test_seeds_retried_with_backoff_while_alone),
        cmocka_unit_test (test_reconnect_push_pulls_with_a_dead_member),
        cmocka_unit_test (test_frame_header_refutes_suspicion),
        cmocka_unit_test (test_push_pull_heals_a_dead_member),
        cmocka_unit_test (test_big_tables_go_in_chunks),
        cmocka_unit_test (test_reap_dead_and_left_after_delay),
        cmocka_unit_test (test_leave_gracefully),
        cmocka_unit_test (test_leave_alone_is_done_at_once),
        cmocka_unit_test (test_leave_received),
        cmocka_unit_test (test_set_tags_and_endpoint),
        cmocka_unit_test (test_bad_input_is_refused_and_counted),
        cmocka_unit_test (test_piggyback_is_applied_from_any_envelope),
        cmocka_unit_test (test_trace_callback),
        cmocka_unit_test (test_three_cores_converge),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
