/*  =========================================================================
    test_simnet - the simulated network itself

    The machinery the cluster tests and rumor-sim stand on: one seed gives
    one trace, loss happens at the configured rate, partitions drop cross
    traffic, delays stay within base + jitter, a crashed node stops, a
    frozen node's frames wait, a restart brings a new generation, frames
    travel sealed and are decoded once. Raw frames injected through
    simnet_inject test the wire without any core; small clusters test the
    wiring with the real cores.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "simnet.h"

//  --------------------------------------------------------------------------
//  Helpers

static simnet_t *
s_net (size_t size, uint64_t seed, double loss, int64_t delay, int64_t jitter)
{
    simnet_cfg_t cfg;
    simnet_cfg_defaults (&cfg);
    cfg.size = size;
    cfg.seed = seed;
    cfg.loss = loss;
    cfg.delay_ms = delay;
    cfg.jitter_ms = jitter;
    simnet_t *net = simnet_new (&cfg);
    assert_non_null (net);
    return net;
}

static bool
s_all_alive (simnet_t *net, void *arg)
{
    size_t n = *(size_t *) arg;
    return simnet_up_count (net) == n && simnet_converged (net);
}

//  Start n nodes through node 0 and wait until every one lists all alive.
static void
s_form (simnet_t *net, size_t n)
{
    assert_int_equal (simnet_start_cluster (net, n, 10), 0);
    simnet_run_for (net, 10 * (int64_t) n);
    assert_true (simnet_run_until_cond (net, s_all_alive, &n, 100, 60000) >= 0);
}

//  Counts frame fates, and checks delays
typedef struct {
    size_t fates [5];               //  records per simnet_fate_t
    size_t cross;                   //  delivered between groups 0-1 and 2-3
    int64_t min_delay;              //  smallest delivery delay seen
    int64_t max_delay;              //  largest delivery delay seen
    size_t from_node;               //  frames sent by `watched`
    size_t watched;                 //  node whose sends are counted
} s_tally_t;

static void
s_tally (void *arg, simnet_t *net, const simnet_trace_t *record)
{
    (void) net;
    s_tally_t *tally = (s_tally_t *) arg;
    tally->fates [record->fate]++;
    if (record->fate == SIMNET_SENT && record->from == tally->watched)
        tally->from_node++;
    if (record->fate != SIMNET_DELIVERED)
        return;
    if ((record->from < 2) != (record->to < 2))
        tally->cross++;
    int64_t delay = record->at - record->sent_at;
    if (tally->min_delay < 0 || delay < tally->min_delay)
        tally->min_delay = delay;
    if (delay > tally->max_delay)
        tally->max_delay = delay;
}

static void
s_tally_reset (s_tally_t *tally, size_t watched)
{
    memset (tally, 0, sizeof (*tally));
    tally->min_delay = -1;
    tally->watched = watched;
}

//  Run a 10-node cluster with loss and jitter for 20 s; return its hash.
static uint64_t
s_run_hash (uint64_t seed)
{
    simnet_t *net = s_net (10, seed, 0.05, 2, 5);
    simnet_start_cluster (net, 10, 7);
    simnet_run_for (net, 5000);
    simnet_set (net, 3, "k", "v", 0);
    simnet_say (net, 5, "news.flash", "hello");
    simnet_run_for (net, 15000);
    uint64_t hash = simnet_trace_hash (net);
    assert_true (simnet_stats (net)->msgs_sent > 1000);
    simnet_destroy (&net);
    return hash;
}

//  --------------------------------------------------------------------------
//  Usage: a cluster of three, a key, a crash

static void
test_usage (void **state)
{
    (void) state;
    simnet_cfg_t cfg;
    simnet_cfg_defaults (&cfg);
    cfg.size = 3;
    cfg.seed = 42;
    simnet_t *net = simnet_new (&cfg);
    assert_int_equal (simnet_now (net), SIMNET_EPOCH_MS);

    //  Node 0 starts alone, 1 and 2 join through it
    simnet_start_cluster (net, 3, 0);
    simnet_run_for (net, 2000);
    assert_int_equal (simnet_count_all_alive (net), 3);
    assert_true (simnet_lists (net, 2, 1, RUMOR__STATE__STATE_ALIVE));

    //  A key set on node 1 reaches everyone
    size_t watch = simnet_watch_key (net, 1, "color", "blue");
    assert_int_equal (simnet_set (net, 1, "color", "blue", 0), 0);
    simnet_run_for (net, 1000);
    assert_int_equal (simnet_key_seen_count (net, watch), 3);
    assert_true (simnet_has_key (net, 0, 1, "color", "blue"));

    //  A crashed node is declared dead by the others
    simnet_crash (net, 2);
    assert_int_equal (simnet_node_state (net, 2), SIMNET_DOWN);
    simnet_run_for (net, 30000);
    assert_true (simnet_lists (net, 0, 2, RUMOR__STATE__STATE_DEAD));
    assert_true (simnet_lists (net, 1, 2, RUMOR__STATE__STATE_DEAD));
    assert_int_equal (simnet_stats (net)->false_dead, 0);
    simnet_destroy (&net);
    assert_null (net);
}

//  --------------------------------------------------------------------------
//  Determinism

static void
test_same_seed_same_trace (void **state)
{
    (void) state;
    uint64_t first = s_run_hash (7);
    uint64_t second = s_run_hash (7);
    uint64_t other = s_run_hash (8);
    assert_true (first == second);
    assert_true (first != other);
}

static void
test_time_jumps_to_next_item (void **state)
{
    (void) state;
    simnet_t *net = s_net (2, 1, 0, 250, 0);
    assert_false (simnet_step (net));        //  nothing scheduled at all
    simnet_inject (net, 0, 1, "x", 1);
    assert_true (simnet_step (net));
    assert_int_equal (simnet_now (net), SIMNET_EPOCH_MS + 250);
    assert_false (simnet_step (net));
    //  run_until sets the clock even when nothing happens
    simnet_run_until (net, SIMNET_EPOCH_MS + 1000);
    assert_int_equal (simnet_now (net), SIMNET_EPOCH_MS + 1000);
    simnet_destroy (&net);
}

//  --------------------------------------------------------------------------
//  Faults on the wire

static void
test_loss_rate_close_to_configured (void **state)
{
    (void) state;
    simnet_t *net = s_net (2, 3, 0.2, 1, 0);
    s_tally_t tally;
    s_tally_reset (&tally, 0);
    simnet_on_trace (net, s_tally, &tally);
    for (int i = 0; i < 20000; i++)
        simnet_inject (net, 0, 1, "frame", 5);
    simnet_run_for (net, 10);
    const simnet_stats_t *stats = simnet_stats (net);
    assert_int_equal (stats->msgs_sent, 20000);
    //  20% of 20,000 = 4,000; the standard deviation is about 57
    assert_in_range (stats->lost, 3700, 4300);
    assert_int_equal (tally.fates [SIMNET_LOST], stats->lost);
    //  The rest reached node 1, which is not running: dropped on arrival
    assert_int_equal (tally.fates [SIMNET_DROPPED], 20000 - stats->lost);
    assert_int_equal (simnet_node_stats (net, 1)->to_down, 20000 - stats->lost);
    simnet_destroy (&net);
}

static void
test_tcp_like_loss_delays_instead_of_dropping (void **state)
{
    (void) state;
    simnet_cfg_t cfg;
    simnet_cfg_defaults (&cfg);
    cfg.size = 2;
    cfg.loss = 0.2;
    cfg.rto_ms = 200;
    simnet_t *net = simnet_new (&cfg);
    assert_non_null (net);
    s_tally_t tally;
    s_tally_reset (&tally, 0);
    simnet_on_trace (net, s_tally, &tally);
    for (int i = 0; i < 10000; i++)
        simnet_inject (net, 0, 1, "frame", 5);
    simnet_run_for (net, 100000);
    //  Every frame arrives (node 1 is down: dropped there, not lost)
    assert_int_equal (tally.fates [SIMNET_LOST], 0);
    assert_int_equal (tally.fates [SIMNET_DROPPED], 10000);
    //  20% of them needed a retransmission or more: 2,500 on average
    const simnet_stats_t *stats = simnet_stats (net);
    assert_in_range (stats->lost, 2200, 2800);
    simnet_destroy (&net);
}

static void
test_delays_within_base_and_jitter (void **state)
{
    (void) state;
    simnet_t *net = s_net (4, 5, 0, 30, 20);
    s_tally_t tally;
    s_tally_reset (&tally, 0);
    simnet_on_trace (net, s_tally, &tally);
    s_form (net, 4);
    simnet_run_for (net, 5000);
    assert_true (tally.fates [SIMNET_DELIVERED] > 100);
    assert_true (tally.min_delay >= 30);
    assert_true (tally.max_delay <= 50);
    //  Jitter is used, not just allowed: both ends are nearly reached
    assert_true (tally.min_delay <= 32);
    assert_true (tally.max_delay >= 48);
    simnet_destroy (&net);
}

static void
test_partition_drops_cross_traffic (void **state)
{
    (void) state;
    simnet_t *net = s_net (4, 9, 0, 1, 0);
    s_form (net, 4);
    s_tally_t tally;
    s_tally_reset (&tally, 0);
    simnet_on_trace (net, s_tally, &tally);
    int groups [4] = { 0, 0, 1, 1 };
    simnet_partition (net, groups);
    simnet_run_for (net, 20000);
    //  The cores kept trying (probes of the other side), and every such
    //  frame was dropped; traffic within each side went on
    assert_int_equal (tally.cross, 0);
    assert_true (tally.fates [SIMNET_PARTITIONED] > 10);
    assert_true (tally.fates [SIMNET_DELIVERED] > 100);
    assert_true (simnet_lists (net, 0, 2, RUMOR__STATE__STATE_DEAD));
    assert_true (simnet_lists (net, 3, 1, RUMOR__STATE__STATE_DEAD));
    assert_true (simnet_lists (net, 0, 1, RUMOR__STATE__STATE_ALIVE));

    //  Healed, frames cross again
    simnet_heal (net);
    s_tally_reset (&tally, 0);
    simnet_inject (net, 0, 3, "x", 1);
    simnet_run_for (net, 5);
    assert_true (tally.cross > 0);
    simnet_destroy (&net);
}

static void
test_inject_is_decoded_and_refused_if_garbage (void **state)
{
    (void) state;
    simnet_t *net = s_net (2, 1, 0, 1, 0);
    s_form (net, 2);
    uint64_t received = simnet_node_stats (net, 1)->msgs_received;
    simnet_inject (net, 0, 1, "\xff\xff\xff garbage", 12);
    simnet_run_for (net, 5);
    assert_int_equal (simnet_node_stats (net, 1)->refused, 1);
    assert_true (simnet_node_stats (net, 1)->msgs_received > received);
    assert_int_equal (rumor_codec_refused (simnet_codec_stats (net, 1)), 1);
    //  The node lives on
    simnet_run_for (net, 2000);
    assert_int_equal (simnet_count_all_alive (net), 2);
    simnet_destroy (&net);
}

//  --------------------------------------------------------------------------
//  Node faults

static void
test_crash_stops_node (void **state)
{
    (void) state;
    simnet_t *net = s_net (5, 11, 0, 1, 0);
    s_form (net, 5);
    s_tally_t tally;
    s_tally_reset (&tally, 4);
    simnet_on_trace (net, s_tally, &tally);
    simnet_crash (net, 4);
    assert_int_equal (simnet_node_state (net, 4), SIMNET_DOWN);
    assert_null (simnet_membership (net, 4));
    simnet_run_for (net, 10000);
    //  Nothing leaves a crashed node; what is sent to it is dropped
    assert_int_equal (tally.from_node, 0);
    assert_true (simnet_node_stats (net, 4)->to_down > 0);
    assert_true (tally.fates [SIMNET_DROPPED] > 0);
    assert_int_equal (simnet_up_count (net), 4);
    simnet_destroy (&net);
}

static void
test_freeze_holds_frames_until_unfreeze (void **state)
{
    (void) state;
    simnet_t *net = s_net (3, 13, 0, 1, 0);
    s_form (net, 3);
    s_tally_t tally;
    s_tally_reset (&tally, 2);
    simnet_on_trace (net, s_tally, &tally);
    simnet_freeze (net, 2);
    assert_int_equal (simnet_node_state (net, 2), SIMNET_FROZEN);
    uint64_t received = simnet_node_stats (net, 2)->msgs_received;
    simnet_run_for (net, 1500);
    //  Frozen: sends nothing, handles nothing, but frames wait for it
    assert_int_equal (tally.from_node, 0);
    assert_int_equal (simnet_node_stats (net, 2)->msgs_received, received);
    assert_int_equal (simnet_node_stats (net, 2)->to_down, 0);
    simnet_unfreeze (net, 2);
    simnet_run_for (net, 1);
    assert_true (simnet_node_stats (net, 2)->msgs_received > received);
    assert_true (tally.from_node > 0);
    simnet_destroy (&net);
}

static void
test_restart_brings_new_generation (void **state)
{
    (void) state;
    simnet_t *net = s_net (3, 17, 0, 1, 0);
    s_form (net, 3);
    uint64_t generation = simnet_node_generation (net, 1);
    assert_int_equal (simnet_restart (net, 1, 0), -1);     //  not down
    simnet_crash (net, 1);
    simnet_run_for (net, 1000);
    assert_int_equal (simnet_restart (net, 1, 0), 0);
    assert_int_equal (simnet_node_state (net, 1), SIMNET_UP);
    assert_true (simnet_node_generation (net, 1) > generation);
    assert_int_equal (simnet_node_generation (net, 1),
                      (uint64_t) simnet_now (net));
    //  Same id; the others come to list the new generation alive
    size_t n = 3;
    assert_true (simnet_run_until_cond (net, s_all_alive, &n, 100, 30000) >= 0);
    assert_true (simnet_lists (net, 0, 1, RUMOR__STATE__STATE_ALIVE));
    simnet_destroy (&net);
}

static void
test_leave_stops_node_and_others_list_it_left (void **state)
{
    (void) state;
    simnet_t *net = s_net (4, 19, 0, 1, 0);
    s_form (net, 4);
    simnet_leave (net, 3);
    simnet_run_for (net, 6000);     //  past the leave bound
    assert_int_equal (simnet_node_state (net, 3), SIMNET_LEFT);
    assert_true (simnet_lists (net, 0, 3, RUMOR__STATE__STATE_LEFT));
    assert_true (simnet_lists (net, 1, 3, RUMOR__STATE__STATE_LEFT));
    assert_true (simnet_lists (net, 2, 3, RUMOR__STATE__STATE_LEFT));
    assert_int_equal (simnet_stats (net)->false_dead, 0);
    simnet_destroy (&net);
}

static void
test_staggered_start_and_endpoints (void **state)
{
    (void) state;
    simnet_t *net = s_net (300, 23, 0, 1, 0);
    assert_string_equal (simnet_node_endpoint (net, 0), "tcp://10.0.0.1:7400");
    assert_string_equal (simnet_node_endpoint (net, 299),
                         "tcp://10.0.1.44:7400");
    assert_int_equal (simnet_node_of (net, simnet_node_id (net, 299)), 299);
    rumor_id_t stranger;
    rumor_id_from_name (&stranger, "stranger");
    assert_int_equal (simnet_node_of (net, &stranger), -1);
    //  Node 1 starts 500 ms after node 0, through node 0's endpoint
    assert_int_equal (simnet_start (net, 0, simnet_now (net), -1), 0);
    assert_int_equal (simnet_start (net, 1, simnet_now (net) + 500, 0), 0);
    assert_int_equal (simnet_start (net, 1, simnet_now (net) + 500, 0), -1);
    simnet_run_for (net, 499);
    assert_int_equal (simnet_node_state (net, 1), SIMNET_IDLE);
    simnet_run_for (net, 1);
    assert_int_equal (simnet_node_state (net, 1), SIMNET_UP);
    assert_int_equal (simnet_node_generation (net, 1),
                      (uint64_t) SIMNET_EPOCH_MS + 500);
    simnet_run_for (net, 1000);
    assert_true (simnet_lists (net, 0, 1, RUMOR__STATE__STATE_ALIVE));
    assert_true (simnet_lists (net, 1, 0, RUMOR__STATE__STATE_ALIVE));
    assert_int_equal (simnet_stats (net)->unroutable, 0);
    simnet_destroy (&net);
}

//  --------------------------------------------------------------------------
//  Wiring: frames are sealed with the sender's header and piggyback

typedef struct {
    simnet_t *net;                  //  the network
    size_t frames;                  //  delivered frames checked
    size_t bad_header;              //  header not the sender's
    size_t piggybacked;             //  frames with piggybacked updates
    size_t detector_frames;         //  ... detector frames among all
} s_headers_t;

static void
s_check_header (void *arg, simnet_t *net, const simnet_trace_t *record)
{
    s_headers_t *check = (s_headers_t *) arg;
    if (record->fate != SIMNET_DELIVERED)
        return;
    Rumor__Envelope *env = rumor_codec_decode (
        record->data, record->size, rumor_cluster_hash ("sim"), NULL);
    assert_non_null (env);
    check->frames++;
    if (!rumor_id_eq_bin (simnet_node_id (net, record->from), env->sender)
    ||  env->generation != simnet_node_generation (net, record->from)
    ||  env->seq == 0
    ||  (env->target.len
         && !rumor_id_eq_bin (simnet_node_id (net, record->to), env->target)))
        check->bad_header++;
    if (rumor_codec_owner (env) == RUMOR_OWNER_DETECTOR)
        check->detector_frames++;
    if (env->n_piggyback)
        check->piggybacked++;
    rumor_codec_free (&env);
}

static void
test_frames_carry_sender_header (void **state)
{
    (void) state;
    simnet_t *net = s_net (5, 29, 0, 1, 0);
    s_headers_t check = { net, 0, 0, 0, 0 };
    simnet_on_trace (net, s_check_header, &check);
    s_form (net, 5);
    simnet_run_for (net, 3000);
    assert_true (check.frames > 100);
    assert_int_equal (check.bad_header, 0);
    assert_true (check.detector_frames > 10);
    assert_true (check.piggybacked > 0);
    simnet_destroy (&net);
}

//  --------------------------------------------------------------------------
//  Events reach the hook; the program answers queries

typedef struct {
    size_t members;                 //  "member" events
    size_t kv;                      //  "kv" events
    size_t heard;                   //  "event" events
} s_events_t;

static void
s_count_event (void *arg, simnet_t *net, size_t node, const char *kind,
               const ProtobufCMessage *detail, const char *extra)
{
    (void) net;
    (void) node;
    (void) extra;
    assert_non_null (detail);
    s_events_t *events = (s_events_t *) arg;
    if (streq (kind, "member"))
        events->members++;
    else
    if (streq (kind, "kv"))
        events->kv++;
    else
    if (streq (kind, "event"))
        events->heard++;
}

static void
test_events_reach_hook_and_queries_complete (void **state)
{
    (void) state;
    simnet_t *net = s_net (4, 31, 0, 1, 0);
    s_events_t events = { 0, 0, 0 };
    simnet_on_event (net, s_count_event, &events);
    s_form (net, 4);
    //  Each node hears of the 3 others (and of itself)
    assert_true (events.members >= 12);
    simnet_set (net, 0, "a", "1", 0);
    simnet_say (net, 1, "chat.room", "hi");
    assert_int_equal (simnet_query (net, 2, "who", "?", 2000), 0);
    simnet_run_for (net, 3000);
    assert_int_equal (events.kv, 4);
    assert_int_equal (events.heard, 4);
    for (size_t node = 0; node < 4; node++)
        assert_int_equal (simnet_node_stats (net, node)->heard, 1);
    assert_non_null (simnet_query_done (net, 2));
    assert_string_equal (simnet_query_done (net, 2), "complete");
    assert_int_equal (simnet_query_responses (net, 2), 4);
    simnet_destroy (&net);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_usage),
        cmocka_unit_test (test_same_seed_same_trace),
        cmocka_unit_test (test_time_jumps_to_next_item),
        cmocka_unit_test (test_loss_rate_close_to_configured),
        cmocka_unit_test (test_tcp_like_loss_delays_instead_of_dropping),
        cmocka_unit_test (test_delays_within_base_and_jitter),
        cmocka_unit_test (test_partition_drops_cross_traffic),
        cmocka_unit_test (test_inject_is_decoded_and_refused_if_garbage),
        cmocka_unit_test (test_crash_stops_node),
        cmocka_unit_test (test_freeze_holds_frames_until_unfreeze),
        cmocka_unit_test (test_restart_brings_new_generation),
        cmocka_unit_test (test_leave_stops_node_and_others_list_it_left),
        cmocka_unit_test (test_staggered_start_and_endpoints),
        cmocka_unit_test (test_frames_carry_sender_header),
        cmocka_unit_test (test_events_reach_hook_and_queries_complete),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
