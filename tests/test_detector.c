/*  =========================================================================
    test_detector - SWIM + Lifeguard failure detector core, explicit time

    Node numbers stand for ids (rumor_id_from_u64): we are node 1 unless a
    test says otherwise; members are 2, 3, ... Every test drives the core
    with hand-made time and asserts on the effects it queues and on its
    counters. No sockets, threads or sleeps.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <cmocka.h>
#include "detector.h"

#define CLUSTER     0xC1A55E5ULL        //  any cluster hash for sealing
#define GEN         1000                //  generation of every member
#define T0          1700000000000LL     //  wall clock ms at test start
#define SELF        1                   //  our node number

static rumor_id_t
s_id (uint64_t n)
{
    rumor_id_t id;
    rumor_id_from_u64 (&id, n);
    return id;
}

//  Node number of an id made by s_id, or 0.
static uint64_t
s_num (const rumor_id_t *id)
{
    for (uint64_t n = 1; n < 256; n++) {
        rumor_id_t candidate = s_id (n);
        if (rumor_id_eq (&candidate, id))
            return n;
    }
    return 0;
}

static uint64_t
s_num_bin (ProtobufCBinaryData bin)
{
    rumor_id_t id;
    if (rumor_id_from_bin (&id, bin) == -1)
        return 0;
    return s_num (&id);
}

static rumor_detector_t *
s_new_cfg (rumor_detector_cfg_t *cfg)
{
    cfg->self = s_id (SELF);
    cfg->generation = GEN;
    cfg->seed = 42;
    rumor_detector_t *d = rumor_detector_new (cfg);
    assert_non_null (d);
    return d;
}

static rumor_detector_t *
s_new (void)
{
    rumor_detector_cfg_t cfg;
    rumor_detector_cfg_defaults (&cfg);
    return s_new_cfg (&cfg);
}

//  For tests of what a failed probe does to a member fresh from s_alive:
//  without the first-contact grace (test_first_contact_grace), which would
//  spare it
static rumor_detector_t *
s_new_no_grace (void)
{
    rumor_detector_cfg_t cfg;
    rumor_detector_cfg_defaults (&cfg);
    cfg.first_contact_grace_ms = 0;
    return s_new_cfg (&cfg);
}


//  --------------------------------------------------------------------------
//  Effects, decoded

typedef struct {
    zframe_t *msg;                   //  the effect itself
    rumor_fx_view_t view;           //  parsed view (borrows from msg)
    Rumor__Envelope *env;           //  SEND: decoded sealed body
    ProtobufCMessage *detail;       //  EVENT: decoded detail
} fx_t;

static void
s_fx_free (fx_t **fx_p)
{
    fx_t *fx = *fx_p;
    if (!fx)
        return;
    if (fx->env)
        rumor_codec_free (&fx->env);
    if (fx->detail)
        rumor_codec_free_detail (&fx->detail);
    zframe_destroy (&fx->msg);
    free (fx);
    *fx_p = NULL;
}

//  Next effect, decoded, or NULL. SEND bodies are sealed with a header and
//  decoded as a receiver would.
static fx_t *
s_fx_next (rumor_detector_t *d)
{
    zframe_t *msg = rumor_detector_next_effect (d);
    if (!msg)
        return NULL;
    fx_t *fx = (fx_t *) calloc (1, sizeof (fx_t));
    fx->msg = msg;
    assert_int_equal (rumor_fx_parse (msg, &fx->view), 0);

    if (fx->view.is_send) {
        rumor_header_t header = { .cluster = CLUSTER, .sender = s_id (SELF),
                                  .generation = GEN };
        zframe_t *sealed = rumor_codec_seal (&header, NULL, 0,
            fx->view.body, fx->view.body_size);
        assert_non_null (sealed);
        fx->env = rumor_codec_decode (zframe_data (sealed),
                                      zframe_size (sealed), CLUSTER, NULL);
        zframe_destroy (&sealed);
        assert_non_null (fx->env);
    }
    else {
        const ProtobufCMessageDescriptor *descriptor =
            streq (fx->view.kind, "verdict")
            ? &rumor__verdict__descriptor
            : &rumor__member_update__descriptor;
        fx->detail = rumor_codec_decode_detail (descriptor,
            fx->view.body, fx->view.body_size);
        assert_non_null (fx->detail);
    }
    return fx;
}

//  Expect a SEND to node `to` with this body; caller frees the result.
static fx_t *
s_expect_send (rumor_detector_t *d, uint64_t to, Rumor__Envelope__BodyCase body)
{
    fx_t *fx = s_fx_next (d);
    assert_non_null (fx);
    assert_true (fx->view.is_send);
    assert_int_equal (s_num (&fx->view.to), to);
    assert_int_equal (fx->env->body_case, body);
    return fx;
}

//  Expect a Ping to `to`; returns its probe number (and its sent_at).
static uint64_t
s_expect_ping (rumor_detector_t *d, uint64_t to, uint64_t *sent_at)
{
    fx_t *fx = s_expect_send (d, to, RUMOR__ENVELOPE__BODY_PING);
    assert_int_equal (s_num_bin (fx->env->ping->target), to);
    uint64_t probe = fx->env->ping->probe;
    if (sent_at)
        *sent_at = fx->env->ping->sent_at;
    s_fx_free (&fx);
    return probe;
}

//  Expect an EVENT of this kind; caller frees the result.
static fx_t *
s_expect_event (rumor_detector_t *d, const char *kind)
{
    fx_t *fx = s_fx_next (d);
    assert_non_null (fx);
    assert_false (fx->view.is_send);
    assert_string_equal (fx->view.kind, kind);
    return fx;
}

static void
s_expect_nothing (rumor_detector_t *d)
{
    fx_t *fx = s_fx_next (d);
    if (fx)
        fail_msg ("unexpected effect: %s %s",
                  fx->view.is_send? "SEND": "EVENT",
                  fx->view.is_send? "": fx->view.kind);
}

//  Drop every queued effect.
static void
s_drain (rumor_detector_t *d)
{
    zframe_t *msg;
    while ((msg = rumor_detector_next_effect (d)))
        zframe_destroy (&msg);
}


//  --------------------------------------------------------------------------
//  Inputs

static int
s_deliver (rumor_detector_t *d, int64_t now, uint64_t from, Rumor__Envelope *env)
{
    rumor_id_t sender = s_id (from);
    env->sender = rumor_id_bin (&sender);
    env->generation = GEN;
    return rumor_detector_on_message (d, now, env);
}

//  target 0 = empty field
static int
s_ack (rumor_detector_t *d, int64_t now, uint64_t from, uint64_t probe,
       uint64_t echo, uint64_t target)
{
    rumor_id_t target_id = s_id (target);
    Rumor__Ack ack = RUMOR__ACK__INIT;
    ack.probe = probe;
    ack.echo = echo;
    if (target)
        ack.target = rumor_id_bin (&target_id);
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_ACK;
    env.ack = &ack;
    return s_deliver (d, now, from, &env);
}

static int
s_nack (rumor_detector_t *d, int64_t now, uint64_t from, uint64_t probe,
        uint64_t target)
{
    rumor_id_t target_id = s_id (target);
    Rumor__Nack nack = RUMOR__NACK__INIT;
    nack.probe = probe;
    nack.target = rumor_id_bin (&target_id);
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_NACK;
    env.nack = &nack;
    return s_deliver (d, now, from, &env);
}

static int
s_ping (rumor_detector_t *d, int64_t now, uint64_t from, uint64_t probe,
        uint64_t target, uint64_t sent_at)
{
    rumor_id_t target_id = s_id (target);
    Rumor__Ping ping = RUMOR__PING__INIT;
    ping.probe = probe;
    if (target)
        ping.target = rumor_id_bin (&target_id);
    ping.sent_at = sent_at;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_PING;
    env.ping = &ping;
    return s_deliver (d, now, from, &env);
}

static int
s_ping_req (rumor_detector_t *d, int64_t now, uint64_t from, uint64_t probe,
            uint64_t target)
{
    rumor_id_t target_id = s_id (target);
    Rumor__PingReq ping_req = RUMOR__PING_REQ__INIT;
    ping_req.probe = probe;
    ping_req.target = rumor_id_bin (&target_id);
    ping_req.endpoint = "tcp://10.0.0.99:7400";
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_PING_REQ;
    env.ping_req = &ping_req;
    return s_deliver (d, now, from, &env);
}

//  A member event (kind "member" or "confirm") about node n; accuser 0 =
//  none.
static int
s_member_event (rumor_detector_t *d, int64_t now, const char *kind,
                uint64_t n, uint64_t generation, Rumor__State state,
                uint32_t incarnation, uint64_t accuser)
{
    rumor_id_t id = s_id (n);
    rumor_id_t accuser_id = s_id (accuser);
    char name [32], endpoint [64];
    snprintf (name, sizeof (name), "node-%d", (int) n);
    snprintf (endpoint, sizeof (endpoint), "tcp://10.0.0.%d:7400", (int) n);
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.id = rumor_id_bin (&id);
    update.generation = generation;
    update.incarnation = incarnation;
    update.state = state;
    update.name = name;
    update.endpoint = endpoint;
    if (accuser)
        update.accuser = rumor_id_bin (&accuser_id);
    return rumor_detector_on_event (d, now, kind, &update.base);
}

static int
s_member (rumor_detector_t *d, int64_t now, uint64_t n, Rumor__State state,
          uint32_t incarnation, uint64_t accuser)
{
    return s_member_event (d, now, "member", n, GEN, state, incarnation, accuser);
}

static void
s_alive (rumor_detector_t *d, uint64_t first, uint64_t last)
{
    for (uint64_t n = first; n <= last; n++)
        assert_int_equal (s_member (d, T0, n, RUMOR__STATE__STATE_ALIVE, 0, 0), 0);
}

//  Tick at the next deadline; returns the time ticked.
static int64_t
s_tick_next (rumor_detector_t *d)
{
    int64_t due = rumor_detector_next_deadline (d);
    assert_true (due >= 0);
    rumor_detector_on_tick (d, due);
    return due;
}


//  --------------------------------------------------------------------------
//  A tiny world: drive the core through time, answering its traffic

typedef struct {
    uint64_t mute;                  //  bit n: node n answers nothing
    bool nack;                      //  helpers Nack PingReqs to mute nodes
    fx_t *events [64];              //  events seen, oldest first
    int64_t event_at [64];          //  when each was seen
    size_t n_events;                //  events held
    uint64_t pinged [256];          //  nodes pinged, in order
    size_t n_pinged;                //  pings seen
} world_t;

static bool
s_muted (world_t *w, uint64_t n)
{
    return n < 64 && (w->mute & (1ULL << n));
}

//  Handle one queued effect as the rest of the cluster would, at now.
static void
s_world_handle (rumor_detector_t *d, world_t *w, fx_t *fx, int64_t now)
{
    if (!fx->view.is_send) {
        assert_true (w->n_events < 64);
        w->event_at [w->n_events] = now;
        w->events [w->n_events++] = fx;
        return;
    }
    uint64_t to = s_num (&fx->view.to);
    if (fx->env->body_case == RUMOR__ENVELOPE__BODY_PING) {
        if (w->n_pinged < 256)
            w->pinged [w->n_pinged++] = to;
        if (!s_muted (w, to))
            s_ack (d, now, to, fx->env->ping->probe, fx->env->ping->sent_at, to);
    }
    else
    if (fx->env->body_case == RUMOR__ENVELOPE__BODY_PING_REQ) {
        uint64_t target = s_num_bin (fx->env->ping_req->target);
        if (w->nack && s_muted (w, target) && !s_muted (w, to))
            s_nack (d, now, to, fx->env->ping_req->probe, target);
    }
    s_fx_free (&fx);
}

//  Handle every queued effect at now.
static void
s_world_flush (rumor_detector_t *d, world_t *w, int64_t now)
{
    fx_t *fx;
    while ((fx = s_fx_next (d)))
        s_world_handle (d, w, fx, now);
}

//  Run the core from deadline to deadline up to and including until.
static void
s_world_run (rumor_detector_t *d, world_t *w, int64_t until)
{
    for (int steps = 0; steps < 100000; steps++) {
        int64_t due = rumor_detector_next_deadline (d);
        if (due < 0 || due > until)
            return;
        rumor_detector_on_tick (d, due);
        s_world_flush (d, w, due);
    }
    fail_msg ("the core never ran out of work");
}

//  The index-th event of this kind seen, or NULL.
static fx_t *
s_world_event (world_t *w, const char *kind, size_t index)
{
    for (size_t at = 0; at < w->n_events; at++)
        if (streq (w->events [at]->view.kind, kind) && index-- == 0)
            return w->events [at];
    return NULL;
}

static size_t
s_world_count (world_t *w, const char *kind)
{
    size_t count = 0;
    while (s_world_event (w, kind, count))
        count++;
    return count;
}

static void
s_world_free (world_t *w)
{
    for (size_t at = 0; at < w->n_events; at++)
        s_fx_free (&w->events [at]);
    w->n_events = 0;
}


//  --------------------------------------------------------------------------
//  Usage: the detector learns members from membership events, probes them
//  one per interval, and a timely Ack keeps everything quiet.

static void
test_probe_answered_by_ack (void **state)
{
    (void) state;
    rumor_detector_cfg_t cfg;
    rumor_detector_cfg_defaults (&cfg);
    cfg.self = s_id (SELF);                 //  who we are
    cfg.generation = GEN;
    cfg.seed = 7;                           //  same seed, same choices
    rumor_detector_t *d = rumor_detector_new (&cfg);
    assert_non_null (d);

    //  Membership tells us node 2 is alive: it becomes a probe target
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_ALIVE, 0, 0), 0);
    assert_int_equal (rumor_detector_size (d), 1);

    //  The first probe is due within one interval (random stagger)
    int64_t due = rumor_detector_next_deadline (d);
    assert_true (due >= T0 && due < T0 + 500);
    rumor_detector_on_tick (d, due);
    uint64_t sent_at;
    uint64_t probe = s_expect_ping (d, 2, &sent_at);
    assert_int_equal (sent_at, due);

    //  Node 2 answers 3 ms later: RTT measured, probe done, nothing else
    assert_int_equal (s_ack (d, due + 3, 2, probe, sent_at, 2), 0);
    rumor_id_t two = s_id (2);
    assert_int_equal (rumor_detector_rtt (d, &two), 3);
    assert_int_equal (rumor_detector_stats (d)->probes_ok, 1);
    assert_int_equal (rumor_detector_awareness (d), 0);
    s_expect_nothing (d);

    //  Next probe one interval later
    assert_int_equal (rumor_detector_next_deadline (d), due + 500);
    rumor_detector_destroy (&d);
    assert_null (d);
    rumor_detector_destroy (&d);            //  harmless twice
}

static void
test_cfg_out_of_bounds_refused (void **state)
{
    (void) state;
    rumor_detector_cfg_t cfg;
    rumor_detector_cfg_defaults (&cfg);
    assert_int_equal (cfg.probe_interval_ms, 500);
    assert_int_equal (cfg.probe_timeout_min_ms, 100);
    assert_int_equal (cfg.probe_timeout_max_ms, 400);
    assert_int_equal (cfg.indirect_checks, 3);
    assert_int_equal (cfg.suspicion_mult, 4);
    assert_int_equal (cfg.suspicion_max_mult, 6);
    assert_int_equal (cfg.awareness_max, 8);

    rumor_detector_cfg_t bad = cfg;
    bad.probe_timeout_max_ms = 500;         //  must stay below the interval
    assert_null (rumor_detector_new (&bad));
    bad = cfg;
    bad.probe_timeout_min_ms = 401;         //  floor above the ceiling
    assert_null (rumor_detector_new (&bad));
    bad = cfg;
    bad.indirect_checks = 0;
    assert_null (rumor_detector_new (&bad));
    bad = cfg;
    bad.indirect_checks = RUMOR_DETECTOR_INDIRECT_MAX + 1;
    assert_null (rumor_detector_new (&bad));
    bad = cfg;
    bad.probe_interval_ms = 0;
    assert_null (rumor_detector_new (&bad));
    bad = cfg;
    bad.pending_max = 0;
    assert_null (rumor_detector_new (&bad));
}


//  --------------------------------------------------------------------------
//  Probing

static void
test_probe_order_visits_every_target_once_per_pass (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 8);                      //  7 targets
    world_t w = { 0 };
    s_world_run (d, &w, T0 + 14 * 500 - 1);
    assert_int_equal (w.n_pinged, 14);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t seen = 0;
        for (int slot = 0; slot < 7; slot++)
            seen |= 1ULL << w.pinged [pass * 7 + slot];
        assert_int_equal (seen, 0x1FCULL);  //  nodes 2..8, each once
    }
    //  Reshuffled between passes
    assert_memory_not_equal (w.pinged, w.pinged + 7, 7 * sizeof (uint64_t));
    s_world_free (&w);
    rumor_detector_destroy (&d);
}

static void
test_new_member_probed_within_current_pass (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 6);                      //  5 targets
    world_t w = { 0 };
    int64_t first = rumor_detector_next_deadline (d);
    s_world_run (d, &w, first + 2 * 500);   //  3 probes of the pass done
    assert_int_equal (w.n_pinged, 3);
    assert_int_equal (s_member (d, first + 1100, 7, RUMOR__STATE__STATE_ALIVE, 0, 0), 0);
    s_world_run (d, &w, first + 5 * 500);   //  6 probes: the pass is done
    assert_int_equal (w.n_pinged, 6);
    uint64_t seen = 0;
    for (int slot = 0; slot < 6; slot++)
        seen |= 1ULL << w.pinged [slot];
    assert_int_equal (seen, 0xFCULL);       //  2..7 each once, 7 included
    s_world_free (&w);
    rumor_detector_destroy (&d);
}

static void
test_removed_member_leaves_pass_intact (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 7);                      //  6 targets
    world_t w = { 0 };
    int64_t first = rumor_detector_next_deadline (d);
    s_world_run (d, &w, first + 2 * 500);   //  3 probed in this pass
    assert_int_equal (w.n_pinged, 3);
    uint64_t visited = 0;
    for (int slot = 0; slot < 3; slot++)
        visited |= 1ULL << w.pinged [slot];
    uint64_t unvisited_gone = 0;
    for (uint64_t n = 2; n <= 7 && !unvisited_gone; n++)
        if (!(visited & (1ULL << n)))
            unvisited_gone = n;
    //  One visited and one unvisited member leave mid-pass
    s_member (d, first + 1100, w.pinged [0], RUMOR__STATE__STATE_LEFT, 0, 0);
    s_member (d, first + 1100, unvisited_gone, RUMOR__STATE__STATE_LEFT, 0, 0);
    assert_int_equal (rumor_detector_size (d), 4);
    //  The pass ends with the two remaining unvisited ones, then a full
    //  pass of the 4 left
    s_world_run (d, &w, first + 8 * 500);
    assert_int_equal (w.n_pinged, 9);
    uint64_t rest = 0xFCULL & ~visited & ~(1ULL << unvisited_gone);
    assert_int_equal ((1ULL << w.pinged [3]) | (1ULL << w.pinged [4]), rest);
    assert_int_not_equal (w.pinged [3], w.pinged [4]);
    uint64_t pass = 0;
    for (int slot = 5; slot < 9; slot++)
        pass |= 1ULL << w.pinged [slot];
    assert_int_equal (pass, 0xFCULL & ~(1ULL << w.pinged [0])
                                     & ~(1ULL << unvisited_gone));
    s_world_free (&w);
    rumor_detector_destroy (&d);
}

//  Regression (found by the simulator): with every target of the pass
//  visited, removing one that is not last in the order corrupted the
//  order, and a later removal tripped an internal assertion.
static void
test_removal_after_full_pass_keeps_order (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);                      //  4 targets
    world_t w = { 0 };
    int64_t first = rumor_detector_next_deadline (d);
    s_world_run (d, &w, first + 3 * 500);   //  the whole pass is visited
    assert_int_equal (w.n_pinged, 4);
    //  Remove the first visited, then every other one: each removal must
    //  find its target where the order says it is
    s_member (d, first + 1600, w.pinged [0], RUMOR__STATE__STATE_LEFT, 0, 0);
    assert_int_equal (rumor_detector_size (d), 3);
    s_member (d, first + 1600, w.pinged [1], RUMOR__STATE__STATE_LEFT, 0, 0);
    s_member (d, first + 1600, w.pinged [2], RUMOR__STATE__STATE_LEFT, 0, 0);
    assert_int_equal (rumor_detector_size (d), 1);
    //  The one left is still probed
    s_world_run (d, &w, first + 5 * 500);
    assert_true (w.n_pinged > 4);
    assert_int_equal (w.pinged [w.n_pinged - 1], w.pinged [3]);
    s_member (d, first + 2600, w.pinged [3], RUMOR__STATE__STATE_LEFT, 0, 0);
    assert_int_equal (rumor_detector_size (d), 0);
    s_world_free (&w);
    rumor_detector_destroy (&d);
}

static void
test_ping_answered_with_ack (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    //  Ping naming us: Ack echoes the sender's clock, target = our id
    assert_int_equal (s_ping (d, T0, 2, 77, SELF, 123456), 0);
    fx_t *fx = s_expect_send (d, 2, RUMOR__ENVELOPE__BODY_ACK);
    assert_string_equal (fx->view.endpoint, "tcp://10.0.0.2:7400");
    assert_int_equal (fx->env->ack->probe, 77);
    assert_int_equal (fx->env->ack->echo, 123456);
    assert_int_equal (s_num_bin (fx->env->ack->target), SELF);
    s_fx_free (&fx);
    //  Ping by address (empty target) from a stranger, absurd clock: echoed
    assert_int_equal (s_ping (d, T0, 9, 78, 0, UINT64_MAX), 0);
    fx = s_expect_send (d, 9, RUMOR__ENVELOPE__BODY_ACK);
    assert_string_equal (fx->view.endpoint, "");    //  route by id
    assert_true (fx->env->ack->echo == UINT64_MAX);
    s_fx_free (&fx);
    assert_int_equal (rumor_detector_stats (d)->acks_sent, 2);
    rumor_detector_destroy (&d);
}

//  The pure answer the node's supervisor gives in place of the core: the
//  same Ack as on_message sends, and nothing for a Ping meant for another
static void
test_ack_of_matches_the_cores_answer (void **state)
{
    (void) state;
    rumor_id_t self = s_id (SELF), other = s_id (5);
    Rumor__Ping ping = RUMOR__PING__INIT;
    ping.probe = 77;
    ping.sent_at = 123456;
    ping.target = rumor_id_bin (&self);
    Rumor__Ack ack;
    assert_true (rumor_detector_ack_of (&self, &ping, &ack));
    assert_true (ack.probe == 77 && ack.echo == 123456);
    assert_true (rumor_id_eq_bin (&self, ack.target));
    //  By address (no target): whoever is there answers
    ping.target.len = 0;
    ping.target.data = NULL;
    assert_true (rumor_detector_ack_of (&self, &ping, &ack));
    //  Stale address: refused, ack left as it was
    ping.target = rumor_id_bin (&other);
    ack.probe = 999;
    assert_false (rumor_detector_ack_of (&self, &ping, &ack));
    assert_true (ack.probe == 999);
}

static void
test_ping_for_another_id_ignored_and_counted (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    //  A Ping meant for node 5 reached us: stale address, no Ack
    assert_int_equal (s_ping (d, T0, 2, 77, 5, T0), -1);
    s_expect_nothing (d);
    assert_int_equal (rumor_detector_stats (d)->ping_wrong_target, 1);
    rumor_detector_destroy (&d);
}

static void
test_probe_timeout_adapts_to_rtt (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    rumor_id_t two = s_id (2);
    //  Unknown RTT: the direct probe waits the max, 400 ms
    int64_t t = s_tick_next (d);
    uint64_t sent_at;
    uint64_t probe = s_expect_ping (d, 2, &sent_at);
    assert_int_equal (rumor_detector_next_deadline (d), t + 400);
    //  RTT 2 ms: srtt + 4 rttvar = 2 + 4 = 6, clamped to the 100 ms floor
    assert_int_equal (s_ack (d, t + 2, 2, probe, sent_at, 2), 0);
    assert_int_equal (rumor_detector_rtt (d, &two), 2);
    t = s_tick_next (d);
    probe = s_expect_ping (d, 2, &sent_at);
    assert_int_equal (rumor_detector_next_deadline (d), t + 100);
    //  RTT 300 ms: srtt 2*7/8 + 300/8 = 39.25, rttvar 3/4*1 + 1/4*298 = 75.25:
    //  39.25 + 301 = 341 (rounded up)
    assert_int_equal (s_ack (d, t + 300, 2, probe, sent_at, 2), 0);
    assert_int_equal (rumor_detector_rtt (d, &two), 39);
    t = s_tick_next (d);
    probe = s_expect_ping (d, 2, &sent_at);
    assert_int_equal (rumor_detector_next_deadline (d), t + 341);
    //  Another 300 ms: srtt 71.8, rttvar 119.7 -> 551, clamped to 400
    assert_int_equal (s_ack (d, t + 300, 2, probe, sent_at, 2), 0);
    t = s_tick_next (d);
    s_expect_ping (d, 2, NULL);
    assert_int_equal (rumor_detector_next_deadline (d), t + 400);
    assert_int_equal (rumor_detector_stats (d)->rtt_samples, 3);
    rumor_detector_destroy (&d);
}

static void
test_suspect_after_missed_ack (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new_no_grace ();
    s_alive (d, 2, 2);                      //  no one to ask indirectly
    int64_t t = s_tick_next (d);
    s_expect_ping (d, 2, NULL);
    rumor_detector_on_tick (d, t + 499);    //  timeout passed, no helpers
    s_expect_nothing (d);
    rumor_detector_on_tick (d, t + 500);    //  end of the probe interval
    fx_t *fx = s_expect_event (d, "suspect");
    Rumor__MemberUpdate *update = (Rumor__MemberUpdate *) fx->detail;
    assert_int_equal (s_num_bin (update->id), 2);
    assert_int_equal (update->state, RUMOR__STATE__STATE_SUSPECT);
    assert_int_equal (update->generation, GEN);
    assert_int_equal (update->incarnation, 0);
    assert_int_equal (s_num_bin (update->accuser), SELF);
    assert_string_equal (update->name, "node-2");
    assert_string_equal (update->endpoint, "tcp://10.0.0.2:7400");
    s_fx_free (&fx);
    fx = s_expect_event (d, "verdict");
    assert_int_equal (((Rumor__Verdict *) fx->detail)->state,
                      RUMOR__STATE__STATE_SUSPECT);
    s_fx_free (&fx);
    rumor_id_t two = s_id (2);
    assert_true (rumor_detector_suspects (d, &two));
    assert_int_equal (rumor_detector_stats (d)->probes_failed, 1);
    assert_int_equal (rumor_detector_stats (d)->suspicions, 1);
    //  With no helper to vouch for us, the failure counts against us too
    assert_int_equal (rumor_detector_awareness (d), 1);
    rumor_detector_destroy (&d);
}

//  A probe sent to a member's previous run that times out after the member
//  restarted (a newer generation is known) must not accuse the new run:
//  the restarted node was never asked
static void
test_probe_of_previous_generation_accuses_no_one (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    int64_t t = s_tick_next (d);
    s_expect_ping (d, 2, NULL);
    //  Node 2 restarts while the Ping to its old run is unanswered
    assert_int_equal (s_member_event (d, t + 10, "member", 2, GEN + 1,
                                      RUMOR__STATE__STATE_ALIVE, 0, 0), 0);
    rumor_detector_on_tick (d, t + 500);    //  the old probe's interval ends
    rumor_id_t two = s_id (2);
    assert_false (rumor_detector_suspects (d, &two));
    assert_int_equal (rumor_detector_stats (d)->suspicions, 0);
    //  The new run is probed as usual, and suspected if it stays silent
    s_drain (d);
    for (int ticks = 0; ticks < 100; ticks++) {
        s_tick_next (d);
        if (rumor_detector_stats (d)->suspicions > 0)
            break;
    }
    assert_true (rumor_detector_suspects (d, &two));
    rumor_detector_destroy (&d);
}

static void
test_no_ack_goes_indirect_at_timeout (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    int64_t t = s_tick_next (d);
    fx_t *fx = s_fx_next (d);
    uint64_t target = s_num (&fx->view.to);
    uint64_t probe = fx->env->ping->probe;
    s_fx_free (&fx);
    rumor_detector_on_tick (d, t + 399);
    s_expect_nothing (d);
    rumor_detector_on_tick (d, t + 400);
    uint64_t helpers = 0;
    for (int index = 0; index < 3; index++) {
        fx = s_fx_next (d);
        assert_non_null (fx);
        assert_int_equal (fx->env->body_case, RUMOR__ENVELOPE__BODY_PING_REQ);
        assert_int_equal (fx->env->ping_req->probe, probe);
        assert_int_equal (s_num_bin (fx->env->ping_req->target), target);
        char endpoint [64];
        snprintf (endpoint, sizeof (endpoint), "tcp://10.0.0.%d:7400", (int) target);
        assert_string_equal (fx->env->ping_req->endpoint, endpoint);
        helpers |= 1ULL << s_num (&fx->view.to);
        s_fx_free (&fx);
    }
    s_expect_nothing (d);
    //  The three helpers are exactly the other three members
    assert_int_equal (helpers, 0x3CULL & ~(1ULL << target));
    assert_int_equal (rumor_detector_stats (d)->ping_reqs_sent, 3);
    rumor_detector_destroy (&d);
}

//  Start a probe among members 2..5 and let it go indirect. Returns the
//  probe number; its start time and target come back too.
static uint64_t
s_probe_to_indirect (rumor_detector_t *d, int64_t *t, uint64_t *target)
{
    *t = s_tick_next (d);
    fx_t *fx = s_fx_next (d);
    *target = s_num (&fx->view.to);
    uint64_t probe = fx->env->ping->probe;
    s_fx_free (&fx);
    rumor_detector_on_tick (d, *t + 400);
    for (int index = 0; index < 3; index++) {
        fx = s_fx_next (d);
        assert_non_null (fx);
        assert_int_equal (fx->env->body_case, RUMOR__ENVELOPE__BODY_PING_REQ);
        s_fx_free (&fx);
    }
    return probe;
}

static void
test_indirect_ack_prevents_suspicion (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    int64_t t = s_tick_next (d);
    fx_t *fx = s_fx_next (d);
    uint64_t target = s_num (&fx->view.to);
    uint64_t probe = fx->env->ping->probe;
    s_fx_free (&fx);
    rumor_detector_on_tick (d, t + 400);
    fx = s_fx_next (d);
    uint64_t helper = s_num (&fx->view.to);
    s_fx_free (&fx);
    s_drain (d);
    //  The helper forwards the target's Ack (echo 0: its own clock)
    assert_int_equal (s_ack (d, t + 450, helper, probe, 0, target), 0);
    rumor_detector_on_tick (d, t + 500);
    fx = s_fx_next (d);                     //  only the next probe's Ping
    assert_non_null (fx);
    assert_int_equal (fx->env->body_case, RUMOR__ENVELOPE__BODY_PING);
    s_fx_free (&fx);
    s_expect_nothing (d);
    rumor_id_t target_id = s_id (target);
    assert_false (rumor_detector_suspects (d, &target_id));
    assert_int_equal (rumor_detector_stats (d)->probes_ok, 1);
    assert_int_equal (rumor_detector_stats (d)->probes_failed, 0);
    assert_int_equal (rumor_detector_rtt (d, &target_id), -1);  //  no sample
    assert_int_equal (rumor_detector_awareness (d), 0);
    rumor_detector_destroy (&d);
}

static void
test_nack_missing_raises_awareness_and_slows_probing (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    int64_t t;
    uint64_t target;
    uint64_t probe = s_probe_to_indirect (d, &t, &target);
    //  Only one of three helpers Nacks: someone's messages went missing,
    //  maybe ours
    uint64_t helper = target == 2? 3: 2;
    assert_int_equal (s_nack (d, t + 420, helper, probe, target), 0);
    rumor_detector_on_tick (d, t + 500);
    s_drain (d);                            //  suspect, verdict, next Ping
    assert_int_equal (rumor_detector_awareness (d), 1);
    assert_int_equal (rumor_detector_stats (d)->nacks_received, 1);
    assert_int_equal (rumor_detector_stats (d)->nacks_missing, 1);
    //  Probing slows down: the next probe, started at t + 500, has twice
    //  the timeout (800) and the one after comes two intervals later
    assert_int_equal (rumor_detector_next_deadline (d), t + 500 + 800);
    rumor_detector_on_tick (d, t + 500 + 799);
    s_expect_nothing (d);
    rumor_detector_on_tick (d, t + 500 + 800);
    s_drain (d);                            //  PingReqs
    rumor_detector_on_tick (d, t + 500 + 999);
    s_expect_nothing (d);
    assert_int_equal (rumor_detector_next_deadline (d), t + 500 + 1000);
    rumor_detector_destroy (&d);
}

static void
test_all_nacks_keep_awareness (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new_no_grace ();
    s_alive (d, 2, 5);
    int64_t t;
    uint64_t target;
    uint64_t probe = s_probe_to_indirect (d, &t, &target);
    for (uint64_t helper = 2; helper <= 5; helper++)
        if (helper != target)
            assert_int_equal (s_nack (d, t + 420, helper, probe, target), 0);
    //  A second Nack from the same helper is refused
    assert_int_equal (s_nack (d, t + 421, target == 2? 3: 2, probe, target), -1);
    assert_int_equal (rumor_detector_stats (d)->nack_wrong_sender, 1);
    rumor_detector_on_tick (d, t + 500);
    fx_t *fx = s_expect_event (d, "suspect");   //  the target is suspect
    s_fx_free (&fx);
    //  but every helper answered: we are fine, the target is not
    assert_int_equal (rumor_detector_awareness (d), 0);
    assert_int_equal (rumor_detector_stats (d)->nacks_missing, 0);
    rumor_detector_destroy (&d);
}

static void
test_successful_probe_lowers_awareness (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    //  Being suspected ourselves: Lifeguard's sign we are the slow one
    assert_int_equal (s_member (d, T0, SELF, RUMOR__STATE__STATE_SUSPECT, 0, 2), 0);
    assert_int_equal (s_member (d, T0, SELF, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    assert_int_equal (rumor_detector_awareness (d), 2);
    assert_int_equal (rumor_detector_stats (d)->self_suspected, 2);
    assert_int_equal (rumor_detector_size (d), 1);  //  never our own target
    world_t w = { 0 };
    int64_t first = rumor_detector_next_deadline (d);
    s_world_run (d, &w, first);             //  one answered probe
    assert_int_equal (rumor_detector_awareness (d), 1);
    //  Next probe 2 intervals later (awareness 1), then 1 interval
    assert_int_equal (rumor_detector_next_deadline (d), first + 1500);
    s_world_run (d, &w, first + 1500);
    assert_int_equal (rumor_detector_awareness (d), 0);
    assert_int_equal (rumor_detector_next_deadline (d), first + 2500);
    s_world_run (d, &w, first + 10000);
    assert_int_equal (rumor_detector_awareness (d), 0);    //  floor 0
    s_world_free (&w);
    rumor_detector_destroy (&d);
}

//  The target's Ack to a probe that already failed: it was alive and we
//  were too slow for our timeouts, so our own health is in doubt
//  (Lifeguard): awareness +1, once per failed probe, and only for the
//  target's own Ack
static void
test_late_ack_raises_awareness (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new_no_grace ();
    s_alive (d, 2, 5);
    int64_t t;
    uint64_t target;
    uint64_t probe = s_probe_to_indirect (d, &t, &target);
    rumor_detector_on_tick (d, t + 500);    //  no Ack, no Nack: failed
    s_drain (d);
    assert_int_equal (rumor_detector_awareness (d), 1);
    uint64_t helper = target == 2? 3: 2;
    //  From someone else, or naming another target: not a late Ack
    assert_int_equal (s_ack (d, t + 600, helper, probe, 0, target), -1);
    assert_int_equal (s_ack (d, t + 600, target, probe, 0, helper), -1);
    assert_int_equal (rumor_detector_stats (d)->ack_unknown_probe, 2);
    assert_int_equal (rumor_detector_awareness (d), 1);
    //  The target's own, late
    assert_int_equal (s_ack (d, t + 700, target, probe, 0, target), 0);
    assert_int_equal (rumor_detector_stats (d)->acks_late, 1);
    assert_int_equal (rumor_detector_awareness (d), 2);
    //  Counted once
    assert_int_equal (s_ack (d, t + 701, target, probe, 0, target), -1);
    assert_int_equal (rumor_detector_stats (d)->acks_late, 1);
    assert_int_equal (rumor_detector_awareness (d), 2);
    //  It keeps no one alive: the suspicion runs on (only a refutation
    //  by the target ends it)
    rumor_id_t target_id = s_id (target);
    assert_true (rumor_detector_suspects (d, &target_id));
    rumor_detector_destroy (&d);
}

//  The member an event of the world is about is node n
static bool
s_bin_is_num (const fx_t *event, uint64_t n)
{
    return event
        && s_num_bin (((Rumor__MemberUpdate *) event->detail)->id) == n;
}

//  A member that never answered us is not suspected on our own failed
//  probes for first_contact_grace_ms after we learnt of it (while a
//  cluster forms on a busy host, first probes fail by the hundred). It is
//  after the grace; at once if it ever answered (the grace is for first
//  contact only); and at once if every helper Nacked (they found it
//  silent themselves: the failure is not ours).
static void
test_first_contact_grace (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();         //  grace 10 s, from T0
    s_alive (d, 2, 2);                      //  no helpers: direct only
    world_t w = { .mute = 1ULL << 2 };
    s_world_run (d, &w, T0 + 9999);
    const rumor_detector_stats_t *stats = rumor_detector_stats (d);
    assert_true (stats->probes_failed >= 3);
    assert_int_equal (stats->first_contact_spared, stats->probes_failed);
    assert_int_equal (stats->suspicions, 0);
    assert_int_equal (s_world_count (&w, "suspect"), 0);
    //  Our own health still pays for each failed probe (Lifeguard)
    assert_true (rumor_detector_awareness (d) >= 1);
    //  The first probe that fails past the grace accuses it
    uint64_t failed = stats->probes_failed;
    s_world_run (d, &w, T0 + 20000);
    assert_int_equal (s_world_count (&w, "suspect"), 1);
    assert_true (w.event_at [0] >= T0 + 10000);
    assert_int_equal (stats->first_contact_spared, failed);
    s_world_free (&w);
    rumor_detector_destroy (&d);

    //  A member that answered once is accused on its first failed probe
    d = s_new ();
    s_alive (d, 2, 2);
    world_t answered = { 0 };
    int64_t first = rumor_detector_next_deadline (d);
    s_world_run (d, &answered, first);      //  one answered probe
    assert_int_equal (rumor_detector_stats (d)->probes_ok, 1);
    answered.mute = 1ULL << 2;
    s_world_run (d, &answered, first + 3000);
    assert_true (s_world_count (&answered, "suspect") == 1);
    assert_true (answered.event_at [0] < first + 3000);
    assert_int_equal (rumor_detector_stats (d)->first_contact_spared, 0);
    s_world_free (&answered);
    rumor_detector_destroy (&d);

    //  A new member that every helper finds silent is accused at once
    d = s_new ();
    s_alive (d, 2, 5);
    world_t nacked = { .mute = 1ULL << 3, .nack = true };
    s_world_run (d, &nacked, T0 + 3000);
    assert_int_equal (s_world_count (&nacked, "suspect"), 1);
    assert_true (s_bin_is_num (s_world_event (&nacked, "suspect", 0), 3));
    assert_int_equal (rumor_detector_stats (d)->first_contact_spared, 0);
    s_world_free (&nacked);
    //  ... and one they do not answer for is spared
    rumor_detector_destroy (&d);
    d = s_new ();
    s_alive (d, 2, 5);
    world_t silent = { .mute = 1ULL << 3 };
    s_world_run (d, &silent, T0 + 3000);
    assert_int_equal (s_world_count (&silent, "suspect"), 0);
    assert_int_equal (rumor_detector_stats (d)->first_contact_spared, 1);
    s_world_free (&silent);
    rumor_detector_destroy (&d);
}

//  Membership refutes a suspicion of us at once and tells us only the
//  ALIVE at our higher incarnation: that counts as being suspected
static void
test_own_refutation_raises_awareness (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 3);
    assert_int_equal (s_member (d, T0, SELF, RUMOR__STATE__STATE_ALIVE, 0, 0), 0);
    assert_int_equal (rumor_detector_awareness (d), 0);
    assert_int_equal (s_member (d, T0, SELF, RUMOR__STATE__STATE_ALIVE, 1, 0), 0);
    assert_int_equal (rumor_detector_awareness (d), 1);
    assert_int_equal (rumor_detector_stats (d)->self_refuted, 1);
    //  The same incarnation again, or an older one: nothing new
    s_member (d, T0, SELF, RUMOR__STATE__STATE_ALIVE, 1, 0);
    s_member (d, T0, SELF, RUMOR__STATE__STATE_ALIVE, 0, 0);
    assert_int_equal (rumor_detector_awareness (d), 1);
    //  Another run of ours raising its incarnation is not about us
    s_member_event (d, T0, "member", SELF, GEN - 1, RUMOR__STATE__STATE_ALIVE, 5, 0);
    assert_int_equal (rumor_detector_stats (d)->self_refuted, 1);
    assert_int_equal (s_member (d, T0, SELF, RUMOR__STATE__STATE_ALIVE, 2, 0), 0);
    assert_int_equal (rumor_detector_awareness (d), 2);
    rumor_detector_destroy (&d);
}

static void
test_awareness_capped (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    for (int index = 0; index < 20; index++)
        s_member (d, T0, SELF, RUMOR__STATE__STATE_SUSPECT, index, 2);
    assert_int_equal (rumor_detector_awareness (d), 7);    //  max - 1
    //  An older run of ourselves being suspected is not about us
    s_member_event (d, T0, "member", SELF, GEN - 1, RUMOR__STATE__STATE_SUSPECT, 0, 2);
    assert_int_equal (rumor_detector_stats (d)->self_suspected, 20);
    rumor_detector_destroy (&d);
}

static void
test_peer_lost_probes_immediately (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    //  Node 3's connection drops before any probe is due
    int64_t t = T0;
    rumor_id_t three = s_id (3);
    rumor_detector_peer_lost (d, t, &three);
    uint64_t probe = s_expect_ping (d, 3, NULL);
    s_expect_nothing (d);
    assert_int_equal (rumor_detector_stats (d)->fast_probes, 1);
    //  Floor timeout (100 ms), then indirect as usual
    assert_true (rumor_detector_next_deadline (d) <= t + 100);
    int64_t at = t + 100;
    while (rumor_detector_next_deadline (d) < at) {
        rumor_detector_on_tick (d, rumor_detector_next_deadline (d));
        s_drain (d);                        //  round-robin probes, if due
    }
    rumor_detector_on_tick (d, at);
    size_t ping_reqs = 0;
    fx_t *fx;
    while ((fx = s_fx_next (d))) {
        if (fx->env && fx->env->body_case == RUMOR__ENVELOPE__BODY_PING_REQ
        &&  fx->env->ping_req->probe == probe)
            ping_reqs++;
        s_fx_free (&fx);
    }
    assert_int_equal (ping_reqs, 3);
    rumor_id_t unknown = s_id (42);
    rumor_detector_peer_lost (d, at, &unknown);
    assert_int_equal (rumor_detector_stats (d)->peer_lost_unknown, 1);
    s_expect_nothing (d);
    rumor_detector_destroy (&d);
}

static void
test_peer_lost_hurries_probe_in_flight (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    int64_t t = s_tick_next (d);
    uint64_t probe = s_expect_ping (d, 2, NULL);
    assert_int_equal (rumor_detector_next_deadline (d), t + 400);
    rumor_id_t two = s_id (2);
    rumor_detector_peer_lost (d, t + 10, &two);
    //  Same probe, Ping sent again, timeout cut to the floor
    uint64_t sent_at;
    assert_int_equal (s_expect_ping (d, 2, &sent_at), probe);
    assert_int_equal (sent_at, t + 10);
    assert_int_equal (rumor_detector_next_deadline (d), t + 110);
    rumor_detector_destroy (&d);
}


static void
test_round_robin_skips_target_with_probe_in_flight (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    rumor_id_t two = s_id (2);
    rumor_detector_peer_lost (d, T0, &two);
    s_expect_ping (d, 2, NULL);
    //  Its turn comes while the fast probe runs (until T0 + 500): no
    //  second probe of the same node
    int ticks = 0;
    int64_t due;
    while ((due = rumor_detector_next_deadline (d)) < T0 + 500) {
        rumor_detector_on_tick (d, due);    //  its turn, and going indirect
        s_expect_nothing (d);
        ticks++;
    }
    assert_int_equal (ticks, 2);
    assert_int_equal (rumor_detector_stats (d)->probes, 1);
    rumor_detector_destroy (&d);
}


//  Node 3 is killed at T0: its connection drops, it answers nothing, and
//  the helpers (up) Nack. Returns when we declared it dead, or -1.
static int64_t
s_killed_dead_at (int64_t lost_suspicion_ms, bool helpers_nack)
{
    rumor_detector_cfg_t cfg;
    rumor_detector_cfg_defaults (&cfg);
    cfg.lost_suspicion_ms = lost_suspicion_ms;
    rumor_detector_t *d = s_new_cfg (&cfg);
    s_alive (d, 2, 5);
    world_t w = { .mute = 1ULL << 3, .nack = helpers_nack };
    rumor_id_t three = s_id (3);
    rumor_detector_peer_lost (d, T0, &three);
    s_world_flush (d, &w, T0);
    s_world_run (d, &w, T0 + 30000);
    int64_t dead_at = -1;
    for (size_t at = 0; at < w.n_events && dead_at < 0; at++)
        if (streq (w.events [at]->view.kind, "dead"))
            dead_at = w.event_at [at];
    s_world_free (&w);
    assert_int_equal (rumor_detector_stats (d)->lost_cut,
                      lost_suspicion_ms && helpers_nack? 1: 0);
    rumor_detector_destroy (&d);
    return dead_at;
}

static void
test_lost_peer_with_conclusive_evidence_dies_fast (void **state)
{
    (void) state;
    //  Off (default): the usual suspicion, min 2000 .. max 12000 at N = 5
    int64_t slow = s_killed_dead_at (0, true);
    assert_true (slow >= T0 + 500 + 2000);
    //  On: fast probe ends at T0 + 500, every helper Nacked: dead 200 later
    assert_int_equal (s_killed_dead_at (200, true), T0 + 700);
    //  Helpers silent: no conclusive evidence, and node 3 never answered
    //  us: spared for the first-contact grace (10 s), then the usual
    //  suspicion. Conclusive evidence above was not spared.
    assert_true (s_killed_dead_at (200, false) >= T0 + 10000 + 2000);
}


//  --------------------------------------------------------------------------
//  Relaying for other nodes (we are the helper)

static void
test_ping_req_relay_forwards_ack (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 3);
    //  Node 3 asks us to probe node 2 for its probe 9
    assert_int_equal (s_ping_req (d, T0 + 10, 3, 9, 2), 0);
    fx_t *fx = s_expect_send (d, 2, RUMOR__ENVELOPE__BODY_PING);
    uint64_t probe = fx->env->ping->probe;
    assert_int_equal (s_num_bin (fx->env->ping->requester), 3);
    assert_string_equal (fx->view.endpoint, "tcp://10.0.0.2:7400");
    s_fx_free (&fx);
    //  Node 2 answers us; we forward to 3 under its own probe number
    assert_int_equal (s_ack (d, T0 + 12, 2, probe, T0 + 10, 2), 0);
    fx = s_expect_send (d, 3, RUMOR__ENVELOPE__BODY_ACK);
    assert_int_equal (fx->env->ack->probe, 9);
    assert_int_equal (s_num_bin (fx->env->ack->target), 2);
    s_fx_free (&fx);
    s_expect_nothing (d);
    rumor_id_t two = s_id (2);
    assert_int_equal (rumor_detector_rtt (d, &two), 2);
    assert_int_equal (rumor_detector_stats (d)->relays, 1);
    assert_int_equal (rumor_detector_stats (d)->acks_forwarded, 1);
    //  Done: a second Ack is for an unknown probe
    assert_int_equal (s_ack (d, T0 + 13, 2, probe, T0 + 10, 2), -1);
    assert_int_equal (rumor_detector_stats (d)->ack_unknown_probe, 1);
    rumor_detector_destroy (&d);
}

static void
test_ping_req_relay_nacks_on_timeout (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 3);
    int64_t t = s_tick_next (d);            //  our own probe goes out first
    s_drain (d);
    assert_int_equal (s_ping_req (d, t, 3, 9, 2), 0);
    fx_t *fx = s_expect_send (d, 2, RUMOR__ENVELOPE__BODY_PING);
    uint64_t relay = fx->env->ping->probe;
    s_fx_free (&fx);
    //  RTT to 2 unknown: a helper waits 3/4 of the floor, then Nacks, so
    //  that its Nack reaches a requester that had only the floor left
    rumor_detector_on_tick (d, t + 74);
    s_expect_nothing (d);
    rumor_detector_on_tick (d, t + 75);
    fx = s_expect_send (d, 3, RUMOR__ENVELOPE__BODY_NACK);
    assert_int_equal (fx->env->nack->probe, 9);
    assert_int_equal (s_num_bin (fx->env->nack->target), 2);
    s_fx_free (&fx);
    assert_int_equal (rumor_detector_stats (d)->nacks_sent, 1);
    //  Nacked once only; the relay ends at our own RTO (the ceiling: RTT
    //  unknown), after which the target's Ack is not forwarded
    rumor_detector_on_tick (d, t + 200);
    s_expect_nothing (d);
    rumor_detector_on_tick (d, t + 400);
    s_drain (d);                            //  our own probe goes indirect
    assert_int_equal (rumor_detector_stats (d)->nacks_sent, 1);
    assert_int_equal (s_ack (d, t + 401, 2, relay, t, 2), -1);
    assert_int_equal (rumor_detector_stats (d)->ack_unknown_probe, 1);
    assert_int_equal (rumor_detector_stats (d)->acks_forwarded, 0);
    rumor_detector_destroy (&d);
}

//  A helper whose RTO to the target grew past the floor (a loaded host)
//  still Nacks at 3/4 of the floor, and forwards the target's Ack if it
//  comes later, within that RTO
static void
test_ping_req_slow_target_nacked_in_time_then_acked (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    //  Our own probe of 2 takes 300 ms: RTO = 300 + 4 x 150, the ceiling
    int64_t t = s_tick_next (d);
    fx_t *fx = s_expect_send (d, 2, RUMOR__ENVELOPE__BODY_PING);
    uint64_t own = fx->env->ping->probe;
    s_fx_free (&fx);
    assert_int_equal (s_ack (d, t + 300, 2, own, t, 2), 0);
    rumor_id_t two = s_id (2);
    assert_int_equal (rumor_detector_rtt (d, &two), 300);
    s_drain (d);
    s_alive (d, 3, 3);
    s_drain (d);

    int64_t at = t + 310;
    assert_int_equal (s_ping_req (d, at, 3, 9, 2), 0);
    fx = s_expect_send (d, 2, RUMOR__ENVELOPE__BODY_PING);
    uint64_t relay = fx->env->ping->probe;
    s_fx_free (&fx);
    rumor_detector_on_tick (d, at + 74);
    s_expect_nothing (d);
    rumor_detector_on_tick (d, at + 75);
    fx = s_expect_send (d, 3, RUMOR__ENVELOPE__BODY_NACK);
    assert_int_equal (fx->env->nack->probe, 9);
    s_fx_free (&fx);
    //  The target answers after the Nack: forwarded all the same
    assert_int_equal (s_ack (d, at + 250, 2, relay, at, 2), 0);
    fx = s_expect_send (d, 3, RUMOR__ENVELOPE__BODY_ACK);
    assert_int_equal (fx->env->ack->probe, 9);
    assert_int_equal (s_num_bin (fx->env->ack->target), 2);
    s_fx_free (&fx);
    s_expect_nothing (d);
    assert_int_equal (rumor_detector_stats (d)->nacks_sent, 1);
    assert_int_equal (rumor_detector_stats (d)->acks_forwarded, 1);
    rumor_detector_destroy (&d);
}

static void
test_ping_req_for_self_or_unknown_refused (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 3);
    assert_int_equal (s_ping_req (d, T0, 3, 9, SELF), -1);
    s_expect_nothing (d);
    assert_int_equal (rumor_detector_stats (d)->ping_req_self_target, 1);
    //  Unknown target: refused, but Nacked at once so the requester does
    //  not blame itself for our silence
    assert_int_equal (s_ping_req (d, T0, 3, 10, 42), -1);
    fx_t *fx = s_expect_send (d, 3, RUMOR__ENVELOPE__BODY_NACK);
    assert_int_equal (fx->env->nack->probe, 10);
    s_fx_free (&fx);
    assert_int_equal (rumor_detector_stats (d)->ping_req_unknown_target, 1);
    assert_int_equal (rumor_detector_stats (d)->relays, 0);
    rumor_detector_destroy (&d);
}

static void
test_pending_probes_are_bounded (void **state)
{
    (void) state;
    rumor_detector_cfg_t cfg;
    rumor_detector_cfg_defaults (&cfg);
    cfg.pending_max = 2;
    rumor_detector_t *d = s_new_cfg (&cfg);
    s_alive (d, 2, 3);
    assert_int_equal (s_ping_req (d, T0, 3, 1, 2), 0);
    assert_int_equal (s_ping_req (d, T0, 3, 2, 2), 0);
    assert_int_equal (s_ping_req (d, T0, 3, 3, 2), -1);
    assert_int_equal (rumor_detector_stats (d)->pending_full, 1);
    s_drain (d);
    //  Once they are done (Nacked, then no Ack within the ceiling: RTT
    //  unknown), there is room again
    rumor_detector_on_tick (d, T0 + 100);
    s_drain (d);
    assert_int_equal (s_ping_req (d, T0 + 100, 3, 4, 2), -1);
    rumor_detector_on_tick (d, T0 + 400);
    s_drain (d);
    assert_int_equal (s_ping_req (d, T0 + 400, 3, 5, 2), 0);
    rumor_detector_destroy (&d);
}


//  --------------------------------------------------------------------------
//  Suspicion

static void
test_suspicion_timeout_formula_table (void **state)
{
    (void) state;
    //  memberlist's TestSuspicion_remainingSuspicionTime, in ms
    struct {
        uint32_t confirmations, expected;
        int64_t elapsed, min, max, remaining;
    } cases [] = {
        { 0, 3,     0, 2000, 30000, 30000 },
        { 1, 3,  2000, 2000, 30000, 14000 },
        { 2, 3,  3000, 2000, 30000,  4810 },
        { 3, 3,  4000, 2000, 30000, -2000 },
        { 4, 3,  5000, 2000, 30000, -3000 },
        { 5, 3, 10000, 2000, 30000, -8000 },
        //  Our defaults at N <= 10: min 4 * 500 = 2000, max 6 * 2000
        { 0, 3,     0, 2000, 12000, 12000 },
        { 1, 3,     0, 2000, 12000,  7000 },
        { 2, 3,     0, 2000, 12000,  4075 },
        { 3, 3,     0, 2000, 12000,  2000 },
        //  No confirmations expected: the minimum at once
        { 0, 0,     0, 2000, 12000,  2000 },
        { 0, 0,  500, 2000, 12000,  1500 },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        assert_int_equal (rumor_detector_suspicion_remaining (
            cases [index].confirmations, cases [index].expected,
            cases [index].elapsed, cases [index].min, cases [index].max),
            cases [index].remaining);
}

//  Members 2..5; node 2 is suspected by node 3 at start and keeps
//  answering our own probes; `confirmations` other nodes confirm 500 ms
//  later. Expect DEAD exactly `timeout` ms after the start, not before.
static void
s_expect_dead_exactly (uint64_t confirmations, int64_t timeout)
{
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    world_t w = { .nack = true };
    int64_t start = T0 + 1000;
    s_world_run (d, &w, start);
    assert_int_equal (s_member (d, start, 2, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    s_world_run (d, &w, start + 500);
    for (uint64_t index = 0; index < confirmations; index++)
        assert_int_equal (s_member_event (d, start + 500, "confirm", 2, GEN,
                          RUMOR__STATE__STATE_SUSPECT, 0, 4 + index), 0);
    s_world_run (d, &w, start + timeout - 1);
    assert_int_equal (s_world_count (&w, "dead"), 0);
    s_world_run (d, &w, start + timeout);
    assert_int_equal (s_world_count (&w, "dead"), 1);
    assert_int_equal (s_world_count (&w, "suspect"), 0);    //  2 answers us
    Rumor__Verdict *verdict = (Rumor__Verdict *) s_world_event (&w, "verdict", 0)->detail;
    assert_int_equal (verdict->state, RUMOR__STATE__STATE_DEAD);
    assert_int_equal (verdict->suspected_at, start);
    assert_int_equal (verdict->n_suspecters, 1 + confirmations);
    assert_int_equal (s_num_bin (verdict->suspecters [0]), 3);
    assert_int_equal (rumor_detector_stats (d)->confirmations, confirmations);
    s_world_free (&w);
    rumor_detector_destroy (&d);
}

static void
test_suspicion_timeout_shrinks_with_confirmations (void **state)
{
    (void) state;
    //  N = 5: min 2000, max 12000, K = 3 expected confirmations
    s_expect_dead_exactly (0, 12000);
    s_expect_dead_exactly (1, 7000);
    s_expect_dead_exactly (2, 4075);
    s_expect_dead_exactly (3, 2000);
}

static void
test_suspicion_min_scales_with_log_n (void **state)
{
    (void) state;
    //  N = 101 (100 targets + us): min = 4 * log10 (101) * 500 = 4008 ms;
    //  max = 24048. Unconfirmed: max.
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 101);
    assert_int_equal (rumor_detector_size (d), 100);
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    world_t w = { .nack = true };
    s_world_run (d, &w, T0 + 24048 - 1);
    assert_int_equal (s_world_count (&w, "dead"), 0);
    s_world_run (d, &w, T0 + 24048);
    assert_int_equal (s_world_count (&w, "dead"), 1);
    s_world_free (&w);
    //  With few members no one can confirm (N - 2 < K): the minimum
    rumor_detector_t *small = s_new ();
    s_alive (small, 2, 3);                  //  N = 3
    assert_int_equal (s_member (small, T0, 2, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    world_t v = { 0 };
    s_world_run (small, &v, T0 + 1999);
    assert_int_equal (s_world_count (&v, "dead"), 0);
    s_world_run (small, &v, T0 + 2000);
    assert_int_equal (s_world_count (&v, "dead"), 1);
    s_world_free (&v);
    rumor_detector_destroy (&small);
    rumor_detector_destroy (&d);
}

static void
test_confirm_refused_when_not_independent (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    //  No suspicion running
    assert_int_equal (s_member_event (d, T0, "confirm", 2, GEN,
                      RUMOR__STATE__STATE_SUSPECT, 0, 3), -1);
    assert_int_equal (rumor_detector_stats (d)->confirm_unknown, 1);
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    //  The first accuser again is not a confirmation
    assert_int_equal (s_member_event (d, T0, "confirm", 2, GEN,
                      RUMOR__STATE__STATE_SUSPECT, 0, 3), -1);
    assert_int_equal (rumor_detector_stats (d)->confirm_duplicate, 1);
    //  Another incarnation is not this suspicion
    assert_int_equal (s_member_event (d, T0, "confirm", 2, GEN,
                      RUMOR__STATE__STATE_SUSPECT, 1, 4), -1);
    assert_int_equal (rumor_detector_stats (d)->confirm_unknown, 2);
    assert_int_equal (s_member_event (d, T0, "confirm", 2, GEN,
                      RUMOR__STATE__STATE_SUSPECT, 0, 4), 0);
    assert_int_equal (rumor_detector_stats (d)->confirmations, 1);
    rumor_detector_destroy (&d);
}

static void
test_member_suspect_from_another_accuser_confirms (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    //  The same news again is no confirmation
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    assert_int_equal (rumor_detector_stats (d)->confirmations, 0);
    //  A suspicion at a higher incarnation by another node is one
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_SUSPECT, 1, 4), 0);
    assert_int_equal (rumor_detector_stats (d)->confirmations, 1);
    assert_int_equal (rumor_detector_stats (d)->suspicions, 1);
    rumor_detector_destroy (&d);
}

static void
test_alive_with_higher_incarnation_cancels_suspicion (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    rumor_id_t two = s_id (2);
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    assert_true (rumor_detector_suspects (d, &two));
    //  ALIVE at the same incarnation does not refute (SUSPECT wins)
    assert_int_equal (s_member (d, T0 + 100, 2, RUMOR__STATE__STATE_ALIVE, 0, 0), 0);
    assert_true (rumor_detector_suspects (d, &two));
    //  The suspect refutes with incarnation 1
    assert_int_equal (s_member (d, T0 + 200, 2, RUMOR__STATE__STATE_ALIVE, 1, 0), 0);
    assert_false (rumor_detector_suspects (d, &two));
    assert_int_equal (rumor_detector_stats (d)->refuted, 1);
    world_t w = { .nack = true };
    s_world_run (d, &w, T0 + 60000);
    assert_int_equal (s_world_count (&w, "dead"), 0);
    //  An older incarnation now is stale
    assert_int_equal (s_member (d, T0 + 60000, 2, RUMOR__STATE__STATE_SUSPECT, 0, 4), -1);
    assert_int_equal (rumor_detector_stats (d)->stale_member, 1);
    assert_false (rumor_detector_suspects (d, &two));
    s_world_free (&w);
    rumor_detector_destroy (&d);
}

static void
test_newer_generation_cancels_suspicion (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    rumor_id_t two = s_id (2);
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_SUSPECT, 3, 3), 0);
    //  Node 2 restarted: new generation, incarnation back to 0
    assert_int_equal (s_member_event (d, T0 + 10, "member", 2, GEN + 5000,
                      RUMOR__STATE__STATE_ALIVE, 0, 0), 0);
    assert_false (rumor_detector_suspects (d, &two));
    assert_int_equal (rumor_detector_size (d), 4);
    //  News of the old run is stale
    assert_int_equal (s_member_event (d, T0 + 20, "member", 2, GEN,
                      RUMOR__STATE__STATE_DEAD, 3, 0), -1);
    assert_int_equal (rumor_detector_size (d), 4);
    rumor_detector_destroy (&d);
}

static void
test_dead_or_left_member_no_longer_probed (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 4);
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    assert_int_equal (s_member (d, T0, 2, RUMOR__STATE__STATE_DEAD, 0, 3), 0);
    assert_int_equal (s_member (d, T0, 3, RUMOR__STATE__STATE_LEFT, 1, 0), 0);
    assert_int_equal (rumor_detector_size (d), 1);
    rumor_id_t two = s_id (2);
    assert_false (rumor_detector_suspects (d, &two));
    world_t w = { 0 };
    s_world_run (d, &w, T0 + 30000);
    for (size_t index = 0; index < w.n_pinged; index++)
        assert_int_equal (w.pinged [index], 4);
    assert_int_equal (s_world_count (&w, "dead"), 0);
    s_world_free (&w);
    //  Losing the last target leaves nothing to do
    assert_int_equal (s_member (d, T0 + 30000, 4, RUMOR__STATE__STATE_LEFT, 0, 0), 0);
    rumor_detector_on_tick (d, T0 + 31000);
    assert_int_equal (rumor_detector_next_deadline (d), -1);
    rumor_detector_destroy (&d);
}

static void
test_verdict_carries_evidence (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    //  Three answered probes with RTTs 5, 7, 9 ms
    uint32_t rtts [] = { 5, 7, 9 };
    for (int index = 0; index < 3; index++) {
        int64_t t = s_tick_next (d);
        uint64_t sent_at;
        uint64_t probe = s_expect_ping (d, 2, &sent_at);
        assert_int_equal (s_ack (d, t + rtts [index], 2, probe, sent_at, 2), 0);
    }
    //  Then silence: suspect at the end of the interval
    int64_t t = s_tick_next (d);
    s_expect_ping (d, 2, NULL);
    rumor_detector_on_tick (d, t + 500);
    fx_t *fx = s_expect_event (d, "suspect");
    s_fx_free (&fx);
    fx = s_expect_event (d, "verdict");
    Rumor__Verdict *verdict = (Rumor__Verdict *) fx->detail;
    assert_int_equal (s_num_bin (verdict->id), 2);
    assert_int_equal (verdict->generation, GEN);
    assert_int_equal (verdict->state, RUMOR__STATE__STATE_SUSPECT);
    assert_int_equal (verdict->n_suspecters, 1);
    assert_int_equal (s_num_bin (verdict->suspecters [0]), SELF);
    assert_int_equal (verdict->n_rtts, 3);
    assert_int_equal (verdict->rtts [0], 9);        //  newest first
    assert_int_equal (verdict->rtts [1], 7);
    assert_int_equal (verdict->rtts [2], 5);
    assert_int_equal (verdict->suspected_at, t + 500);
    uint32_t suspect_phi = verdict->phi;
    assert_true (suspect_phi > 0);
    s_fx_free (&fx);
    s_drain (d);
    //  Node 3 joins and confirms; after the (min) suspicion: DEAD
    assert_int_equal (s_member (d, t + 600, 3, RUMOR__STATE__STATE_ALIVE, 0, 0), 0);
    assert_int_equal (s_member_event (d, t + 600, "confirm", 2, GEN,
                      RUMOR__STATE__STATE_SUSPECT, 0, 3), 0);
    world_t w = { .mute = 1ULL << 2 };
    s_world_run (d, &w, t + 500 + 12000);
    fx = s_world_event (&w, "dead", 0);
    assert_non_null (fx);
    Rumor__MemberUpdate *update = (Rumor__MemberUpdate *) fx->detail;
    assert_int_equal (s_num_bin (update->id), 2);
    assert_int_equal (update->state, RUMOR__STATE__STATE_DEAD);
    assert_int_equal (s_num_bin (update->accuser), SELF);
    fx = s_world_event (&w, "verdict", 0);
    assert_non_null (fx);
    verdict = (Rumor__Verdict *) fx->detail;
    assert_int_equal (verdict->state, RUMOR__STATE__STATE_DEAD);
    assert_int_equal (verdict->n_suspecters, 2);
    assert_int_equal (s_num_bin (verdict->suspecters [0]), SELF);
    assert_int_equal (s_num_bin (verdict->suspecters [1]), 3);
    assert_int_equal (verdict->n_rtts, 3);
    assert_int_equal (verdict->rtts [0], 9);
    assert_int_equal (verdict->suspected_at, t + 500);
    assert_true (verdict->phi > suspect_phi);   //  longer silence
    assert_int_equal (rumor_detector_stats (d)->deaths, 1);
    assert_int_equal (rumor_detector_size (d), 1);  //  2 is no target now
    s_world_free (&w);
    rumor_detector_destroy (&d);
}


//  --------------------------------------------------------------------------
//  Phi accrual

static void
test_phi_grows_with_silence (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    rumor_id_t two = s_id (2);
    assert_true (rumor_detector_phi (d, &two, T0) == 0);   //  unknown
    s_alive (d, 2, 2);
    assert_true (rumor_detector_phi (d, &two, T0) == 0);   //  no Acks yet
    world_t w = { 0 };
    int64_t first = rumor_detector_next_deadline (d);
    s_world_run (d, &w, first + 20 * 500);  //  21 Acks, 500 ms apart
    int64_t last = first + 20 * 500;
    double at_interval = rumor_detector_phi (d, &two, last + 500);
    double later = rumor_detector_phi (d, &two, last + 1000);
    double much_later = rumor_detector_phi (d, &two, last + 3000);
    double very_late = rumor_detector_phi (d, &two, last + 600000);
    //  On time: phi ~ 0.3 (half the mass is later); then it climbs
    assert_true (at_interval > 0.25 && at_interval < 0.35);
    assert_true (later > at_interval);
    assert_true (much_later > later);
    assert_true (later > 3);                //  5 std (the 100 ms floor) late
    assert_true (isfinite (very_late) && very_late > much_later);
    s_world_free (&w);
    rumor_detector_destroy (&d);
}


//  --------------------------------------------------------------------------
//  Refusals

static void
test_rtt_from_bad_echo_refused (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 2);
    rumor_id_t two = s_id (2);
    int64_t t = s_tick_next (d);
    uint64_t probe = s_expect_ping (d, 2, NULL);
    //  Echo in our future: the probe is answered, but no RTT sample
    assert_int_equal (s_ack (d, t + 5, 2, probe, t + 60000, 2), 0);
    assert_int_equal (rumor_detector_rtt (d, &two), -1);
    assert_int_equal (rumor_detector_stats (d)->rtt_refused, 1);
    assert_int_equal (rumor_detector_stats (d)->probes_ok, 1);
    //  Echo older than the probe: same
    t = s_tick_next (d);
    probe = s_expect_ping (d, 2, NULL);
    assert_int_equal (s_ack (d, t + 5, 2, probe, t - 1, 2), 0);
    assert_int_equal (rumor_detector_rtt (d, &two), -1);
    assert_int_equal (rumor_detector_stats (d)->rtt_refused, 2);
    assert_int_equal (rumor_detector_stats (d)->probes_ok, 2);
    rumor_detector_destroy (&d);
}

static void
test_bad_input_refused_and_counted_while_core_keeps_working (void **state)
{
    (void) state;
    rumor_detector_t *d = s_new ();
    s_alive (d, 2, 5);
    const rumor_detector_stats_t *stats = rumor_detector_stats (d);
    int64_t t = s_tick_next (d);
    fx_t *fx = s_fx_next (d);
    uint64_t target = s_num (&fx->view.to);
    uint64_t probe = fx->env->ping->probe;
    uint64_t sent_at = fx->env->ping->sent_at;
    s_fx_free (&fx);
    uint64_t other = target == 2? 3: 2;

    assert_int_equal (s_ack (d, t, target, probe + 1000, sent_at, target), -1);
    assert_int_equal (stats->ack_unknown_probe, 1);
    //  An Ack for the probe from someone else (not a helper: not indirect)
    assert_int_equal (s_ack (d, t, other, probe, sent_at, other), -1);
    assert_int_equal (s_ack (d, t, other, probe, sent_at, target), -1);
    //  From the target, but naming another node
    assert_int_equal (s_ack (d, t, target, probe, sent_at, other), -1);
    assert_int_equal (stats->ack_wrong_sender, 3);
    assert_int_equal (s_nack (d, t, other, probe + 1000, target), -1);
    assert_int_equal (stats->nack_unknown_probe, 1);
    assert_int_equal (s_nack (d, t, other, probe, target), -1);
    assert_int_equal (stats->nack_wrong_sender, 1);     //  not a helper
    //  From ourselves
    assert_int_equal (s_ping (d, t, SELF, 1, SELF, t), -1);
    assert_int_equal (stats->from_self, 1);
    //  Without a valid sender
    Rumor__Ping ping = RUMOR__PING__INIT;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_PING;
    env.ping = &ping;
    assert_int_equal (rumor_detector_on_message (d, t, &env), -1);
    assert_int_equal (stats->bad_sender, 1);
    //  Not a detection body
    Rumor__Digest digest = RUMOR__DIGEST__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_DIGEST;
    env.digest = &digest;
    rumor_id_t two = s_id (2);
    env.sender = rumor_id_bin (&two);
    assert_int_equal (rumor_detector_on_message (d, t, &env), -1);
    assert_int_equal (stats->wrong_body, 1);
    //  Events: unknown kind, wrong detail type, missing detail, bad member
    assert_int_equal (s_member_event (d, t, "kv", 2, GEN,
                      RUMOR__STATE__STATE_ALIVE, 0, 0), -1);
    assert_int_equal (stats->event_ignored, 1);
    Rumor__Verdict verdict = RUMOR__VERDICT__INIT;
    assert_int_equal (rumor_detector_on_event (d, t, "member", &verdict.base), -1);
    assert_int_equal (rumor_detector_on_event (d, t, "member", NULL), -1);
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.state = RUMOR__STATE__STATE_ALIVE;   //  no id
    assert_int_equal (rumor_detector_on_event (d, t, "member", &update.base), -1);
    assert_int_equal (stats->bad_event, 3);
    s_expect_nothing (d);
    assert_int_equal (rumor_detector_size (d), 4);

    //  The core still works: the real Ack is accepted, Pings answered
    assert_int_equal (s_ack (d, t + 1, target, probe, sent_at, target), 0);
    assert_int_equal (stats->probes_ok, 1);
    assert_int_equal (s_ping (d, t + 2, 4, 5, SELF, t), 0);
    fx = s_expect_send (d, 4, RUMOR__ENVELOPE__BODY_ACK);
    s_fx_free (&fx);
    world_t w = { 0 };
    s_world_run (d, &w, t + 10000);
    assert_int_equal (s_world_count (&w, "suspect"), 0);
    assert_true (w.n_pinged >= 19);
    s_world_free (&w);
    rumor_detector_destroy (&d);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_probe_answered_by_ack),
        cmocka_unit_test (test_cfg_out_of_bounds_refused),
        cmocka_unit_test (test_probe_order_visits_every_target_once_per_pass),
        cmocka_unit_test (test_new_member_probed_within_current_pass),
        cmocka_unit_test (test_removed_member_leaves_pass_intact),
        cmocka_unit_test (test_removal_after_full_pass_keeps_order),
        cmocka_unit_test (test_ping_answered_with_ack),
        cmocka_unit_test (test_ack_of_matches_the_cores_answer),
        cmocka_unit_test (test_ping_for_another_id_ignored_and_counted),
        cmocka_unit_test (test_probe_timeout_adapts_to_rtt),
        cmocka_unit_test (test_suspect_after_missed_ack),
        cmocka_unit_test (test_probe_of_previous_generation_accuses_no_one),
        cmocka_unit_test (test_no_ack_goes_indirect_at_timeout),
        cmocka_unit_test (test_indirect_ack_prevents_suspicion),
        cmocka_unit_test (test_nack_missing_raises_awareness_and_slows_probing),
        cmocka_unit_test (test_all_nacks_keep_awareness),
        cmocka_unit_test (test_late_ack_raises_awareness),
        cmocka_unit_test (test_first_contact_grace),
        cmocka_unit_test (test_own_refutation_raises_awareness),
        cmocka_unit_test (test_successful_probe_lowers_awareness),
        cmocka_unit_test (test_awareness_capped),
        cmocka_unit_test (test_peer_lost_probes_immediately),
        cmocka_unit_test (test_peer_lost_hurries_probe_in_flight),
        cmocka_unit_test (test_round_robin_skips_target_with_probe_in_flight),
        cmocka_unit_test (test_lost_peer_with_conclusive_evidence_dies_fast),
        cmocka_unit_test (test_ping_req_relay_forwards_ack),
        cmocka_unit_test (test_ping_req_relay_nacks_on_timeout),
        cmocka_unit_test (test_ping_req_slow_target_nacked_in_time_then_acked),
        cmocka_unit_test (test_ping_req_for_self_or_unknown_refused),
        cmocka_unit_test (test_pending_probes_are_bounded),
        cmocka_unit_test (test_suspicion_timeout_formula_table),
        cmocka_unit_test (test_suspicion_timeout_shrinks_with_confirmations),
        cmocka_unit_test (test_suspicion_min_scales_with_log_n),
        cmocka_unit_test (test_confirm_refused_when_not_independent),
        cmocka_unit_test (test_member_suspect_from_another_accuser_confirms),
        cmocka_unit_test (test_alive_with_higher_incarnation_cancels_suspicion),
        cmocka_unit_test (test_newer_generation_cancels_suspicion),
        cmocka_unit_test (test_dead_or_left_member_no_longer_probed),
        cmocka_unit_test (test_verdict_carries_evidence),
        cmocka_unit_test (test_phi_grows_with_silence),
        cmocka_unit_test (test_rtt_from_bad_echo_refused),
        cmocka_unit_test (test_bad_input_refused_and_counted_while_core_keeps_working),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
