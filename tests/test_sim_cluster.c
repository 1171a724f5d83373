/*  =========================================================================
    test_sim_cluster - acceptance tests on a simulated cluster of 100 nodes

    Each test runs the four real cores of every node over the simulated
    network (tests/simnet.h) and asserts what a user relies on, within a
    bound of virtual time: a cluster forms through one seed, a key reaches
    everyone, a crashed node is declared dead by all and a live one by
    none even with 10% loss, a partition is seen and heals into one view
    with every key, a restarted node is accepted and its new keys win, an
    event is heard exactly once by every node, a query answered by all
    completes.

    RUMOR_SIM_NODES=n runs every test with n nodes instead of 100 (a quick
    smoke run under valgrind).
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "simnet.h"

//  Cluster size of the acceptance tests
#define S_NODES_DFLT    100
//  Time to form the cluster where forming is not what a test checks: a
//  bound on the setup, not a claim
#define S_FORM_MS       120000
//  Join: nodes start this far apart, all through node 0
#define S_STAGGER_MS    10
//  Most nodes RUMOR_SIM_NODES may ask for
#define S_NODES_MAX     10000

static size_t s_nodes = S_NODES_DFLT;

//  Each test's network is destroyed by s_teardown, even after a failure
#define S_TEST(test)    cmocka_unit_test_teardown (test, s_teardown)

//  --------------------------------------------------------------------------
//  Helpers

//  A network of s_nodes idle nodes. It belongs to the test's state, so
//  that s_teardown destroys it even when an assertion fails midway.
static simnet_t *
s_net_cfg (void **state, simnet_cfg_t *cfg)
{
    cfg->size = s_nodes;
    simnet_t *net = simnet_new (cfg);
    assert_non_null (net);
    *state = net;
    return net;
}

static simnet_t *
s_net (void **state, uint64_t seed, double loss)
{
    simnet_cfg_t cfg;
    simnet_cfg_defaults (&cfg);
    cfg.seed = seed;
    cfg.loss = loss;
    return s_net_cfg (state, &cfg);
}

static int
s_teardown (void **state)
{
    simnet_t *net = (simnet_t *) *state;
    simnet_destroy (&net);
    *state = NULL;
    return 0;
}

static bool
s_all_alive (simnet_t *net, void *arg)
{
    (void) arg;
    return simnet_up_count (net) == s_nodes && simnet_converged (net);
}

//  Start every node through node 0 and wait for one view.
static void
s_form (simnet_t *net)
{
    assert_int_equal (simnet_start_cluster (net, s_nodes, S_STAGGER_MS), 0);
    assert_true (simnet_run_until_cond (net, s_all_alive, NULL, 200,
                                        S_FORM_MS) >= 0);
}

//  Virtual ms since `since`
static int64_t
s_elapsed (simnet_t *net, int64_t since)
{
    return simnet_now (net) - since;
}

//  Every running node but `except` lists `member` in `state`
typedef struct {
    size_t member;
    Rumor__State state;
} s_listing_t;

static bool
s_all_list (simnet_t *net, void *arg)
{
    s_listing_t *listing = (s_listing_t *) arg;
    return simnet_count_listing (net, listing->member, listing->state)
        == simnet_up_count (net) - (simnet_node_state (net, listing->member)
                                    == SIMNET_UP);
}

//  Each half lists every node of the other half DEAD
static bool
s_halves_see_split (simnet_t *net, void *arg)
{
    (void) arg;
    size_t split = s_nodes / 2;
    for (size_t node = 0; node < s_nodes; node++)
        for (size_t other = 0; other < s_nodes; other++)
            if ((node < split) != (other < split)
            &&  !simnet_lists (net, node, other, RUMOR__STATE__STATE_DEAD))
                return false;
    return true;
}

//  Every watched key seen by every running node
typedef struct {
    size_t watches [4];
    size_t count;
} s_watches_t;

static bool
s_keys_everywhere (simnet_t *net, void *arg)
{
    s_watches_t *watches = (s_watches_t *) arg;
    for (size_t i = 0; i < watches->count; i++)
        if (simnet_key_all_seen_at (net, watches->watches [i]) < 0)
            return false;
    return true;
}

static bool
s_one_view_with_keys (simnet_t *net, void *arg)
{
    return s_all_alive (net, NULL) && s_keys_everywhere (net, arg);
}

//  --------------------------------------------------------------------------
//  Membership

static void
test_nodes_join_through_one_seed (void **state)
{
    simnet_t *net = s_net (state, 1, 0);
    int64_t started = simnet_now (net);
    assert_int_equal (simnet_start_cluster (net, s_nodes, S_STAGGER_MS), 0);
    int64_t last_start = started + (int64_t) (s_nodes - 1) * S_STAGGER_MS;
    //  Within 5 s (25 gossip rounds) of the last start, every node lists
    //  every node alive
    int64_t converged = simnet_run_until_cond (net, s_all_alive, NULL, 50,
                                               last_start + 5000 - started);
    assert_true (converged >= 0);
    assert_int_equal (simnet_stats (net)->false_dead, 0);
    assert_int_equal (simnet_stats (net)->unroutable, 0);
}

//  Counts "member" events that declare a node other than `victim` DEAD
typedef struct {
    size_t victim;                  //  the node that is allowed to die
    size_t false_dead;              //  DEAD verdicts about anyone else
    size_t victim_dead;             //  DEAD verdicts about the victim
} s_verdicts_t;

static void
s_on_member (void *arg, simnet_t *net, size_t node, const char *kind,
             const ProtobufCMessage *detail, const char *extra)
{
    (void) node;
    (void) extra;
    if (!streq (kind, "member"))
        return;
    s_verdicts_t *verdicts = (s_verdicts_t *) arg;
    const Rumor__MemberUpdate *update = (const Rumor__MemberUpdate *) detail;
    if (update->state != RUMOR__STATE__STATE_DEAD)
        return;
    if (rumor_id_eq_bin (simnet_node_id (net, verdicts->victim), update->id))
        verdicts->victim_dead++;
    else
        verdicts->false_dead++;
}

static void
test_crashed_node_declared_dead_by_all_under_loss (void **state)
{
    simnet_t *net = s_net (state, 2, 0);
    s_verdicts_t verdicts = { s_nodes - 1, 0, 0 };
    simnet_on_event (net, s_on_member, &verdicts);
    s_form (net);
    simnet_set_loss (net, 0.10);
    simnet_run_for (net, 10000);

    //  The victim stops answering; every other node declares it dead
    //  within 30 s (suspicion lasts 4 to 24 s at N = 100)
    simnet_crash (net, verdicts.victim);
    int64_t crashed = simnet_now (net);
    s_listing_t listing = { verdicts.victim, RUMOR__STATE__STATE_DEAD };
    assert_true (simnet_run_until_cond (net, s_all_list, &listing, 200,
                                        30000) >= 0);
    assert_true (s_elapsed (net, crashed) <= 30000);
    assert_true (verdicts.victim_dead >= s_nodes - 1);

    //  A minute more of 10% loss: no live node is ever declared dead, by
    //  any node, during the whole run
    simnet_run_for (net, 60000);
    assert_int_equal (verdicts.false_dead, 0);
    assert_int_equal (simnet_stats (net)->false_dead, 0);
    assert_true (simnet_stats (net)->lost > 1000);
}

//  Split in halves, each side writes, heal: the body of both partition
//  tests
static void
s_partition_and_heal (simnet_t *net)
{
    s_form (net);
    size_t split = s_nodes / 2;
    size_t last = s_nodes - 1;
    s_watches_t watches = { { 0 }, 0 };
    watches.watches [watches.count++] =
        simnet_watch_key (net, 0, "before", "a");
    watches.watches [watches.count++] =
        simnet_watch_key (net, last, "before", "b");
    simnet_set (net, 0, "before", "a", 0);
    simnet_set (net, last, "before", "b", 0);

    //  Each side declares the other dead within 30 s
    simnet_split (net, split);
    assert_true (simnet_run_until_cond (net, s_halves_see_split, NULL, 200,
                                        30000) >= 0);
    //  ... and each side goes on writing
    watches.watches [watches.count++] =
        simnet_watch_key (net, 1, "during", "a");
    watches.watches [watches.count++] =
        simnet_watch_key (net, last - 1, "during", "b");
    simnet_set (net, 1, "during", "a", 0);
    simnet_set (net, last - 1, "during", "b", 0);
    simnet_run_for (net, 2000);
    assert_true (simnet_key_seen_at (net, watches.watches [2], 0) >= 0);
    assert_true (simnet_key_seen_at (net, watches.watches [2], last) < 0);

    //  Healed: within 30 s one view, all alive everywhere, every key
    //  everywhere
    simnet_heal (net);
    assert_true (simnet_run_until_cond (net, s_one_view_with_keys, &watches,
                                        200, 30000) >= 0);
    for (size_t node = 0; node < s_nodes; node++) {
        assert_true (simnet_has_key (net, node, 0, "before", "a"));
        assert_true (simnet_has_key (net, node, last - 1, "during", "b"));
    }
}

//  Seeds only, no beacons: DESIGN's push-pull must heal the partition
static void
test_partition_seen_then_healed_with_every_key (void **state)
{
    simnet_t *net = s_net (state, 3, 0);
    s_partition_and_heal (net);
}

//  On a LAN: beacons cross again once healed, and each side rejoins the
//  other (rumor_membership_join_id), as the live node does with zbeacon
static void
test_partition_healed_on_a_lan_with_beacons (void **state)
{
    simnet_cfg_t cfg;
    simnet_cfg_defaults (&cfg);
    cfg.seed = 9;
    cfg.beacon_ms = 1000;           //  the LAN profile's beacon interval
    simnet_t *net = s_net_cfg (state, &cfg);
    s_partition_and_heal (net);
}

static bool
s_new_value_everywhere (simnet_t *net, void *arg)
{
    size_t origin = *(size_t *) arg;
    for (size_t node = 0; node < s_nodes; node++)
        if (!simnet_has_key (net, node, origin, "config", "new"))
            return false;
    return s_all_alive (net, NULL);
}

static void
test_restarted_node_accepted_and_new_keys_win (void **state)
{
    simnet_t *net = s_net (state, 4, 0);
    s_form (net);
    size_t node = s_nodes / 3;
    size_t watch = simnet_watch_key (net, node, "config", "old");
    simnet_set (net, node, "config", "old", 0);
    simnet_run_for (net, 2000);
    assert_int_equal (simnet_key_seen_count (net, watch), s_nodes);

    //  Crashed, declared dead, restarted: a newer generation
    uint64_t generation = simnet_node_generation (net, node);
    simnet_crash (net, node);
    s_listing_t listing = { node, RUMOR__STATE__STATE_DEAD };
    assert_true (simnet_run_until_cond (net, s_all_list, &listing, 200,
                                        30000) >= 0);
    assert_int_equal (simnet_restart (net, node, 0), 0);
    assert_true (simnet_node_generation (net, node) > generation);
    simnet_set (net, node, "config", "new", 0);

    //  Within 10 s every node lists the new generation alive and holds
    //  the new value, the old one gone
    int64_t restarted = simnet_now (net);
    assert_true (simnet_run_until_cond (net, s_new_value_everywhere, &node,
                                        200, 10000) >= 0);
    assert_true (s_elapsed (net, restarted) <= 10000);
}

static void
test_quick_restart_replaces_old_generation (void **state)
{
    simnet_t *net = s_net (state, 5, 0);
    s_form (net);
    size_t node = s_nodes / 2;
    simnet_set (net, node, "config", "old", 0);
    simnet_run_for (net, 2000);
    //  Back within a second: nobody has declared it dead yet
    simnet_crash (net, node);
    simnet_run_for (net, 1000);
    assert_int_equal (simnet_restart (net, node, 0), 0);
    simnet_set (net, node, "config", "new", 0);
    assert_true (simnet_run_until_cond (net, s_new_value_everywhere, &node,
                                        200, 10000) >= 0);
}

//  --------------------------------------------------------------------------
//  Keys, events, queries

static void
test_key_set_on_one_node_reaches_all (void **state)
{
    simnet_t *net = s_net (state, 6, 0);
    s_form (net);
    size_t watch = simnet_watch_key (net, 7, "temp", "21.5");
    int64_t set_at = simnet_now (net);
    assert_int_equal (simnet_set (net, 7, "temp", "21.5", 0), 0);
    //  Within 2 s (10 rounds; log3(100) + 3 is about 7)
    simnet_run_for (net, 2000);
    assert_int_equal (simnet_key_seen_count (net, watch), s_nodes);
    assert_true (simnet_key_all_seen_at (net, watch) - set_at <= 2000);
    for (size_t node = 0; node < s_nodes; node++)
        assert_true (simnet_has_key (net, node, 7, "temp", "21.5"));
}

//  Deliveries of one event, per node
typedef struct {
    size_t origin;                  //  the node that said it
    size_t *heard;                  //  per node: deliveries of its events
    size_t other;                   //  deliveries of any other event
} s_heard_t;

static void
s_on_event (void *arg, simnet_t *net, size_t node, const char *kind,
            const ProtobufCMessage *detail, const char *extra)
{
    (void) extra;
    if (!streq (kind, "event"))
        return;
    s_heard_t *heard = (s_heard_t *) arg;
    const Rumor__Event *event = (const Rumor__Event *) detail;
    if (rumor_id_eq_bin (simnet_node_id (net, heard->origin), event->origin)
    &&  streq (event->topic, "alerts.fire"))
        heard->heard [node]++;
    else
        heard->other++;
}

static void
test_event_heard_exactly_once_by_every_node (void **state)
{
    simnet_t *net = s_net (state, 7, 0);
    static size_t per_node [S_NODES_MAX];
    memset (per_node, 0, sizeof (per_node));
    s_heard_t heard = { 11, per_node, 0 };
    simnet_on_event (net, s_on_event, &heard);
    s_form (net);
    assert_int_equal (simnet_say (net, heard.origin, "alerts.fire",
                                  "kitchen"), 0);
    simnet_run_for (net, 2000);
    //  Every node, the speaker included, heard it once and only once
    for (size_t node = 0; node < s_nodes; node++)
        assert_int_equal (heard.heard [node], 1);
    assert_int_equal (heard.other, 0);
    //  ... and still once after the lazy repair has had time to run
    simnet_run_for (net, 10000);
    for (size_t node = 0; node < s_nodes; node++)
        assert_int_equal (heard.heard [node], 1);
}

static bool
s_query_done (simnet_t *net, void *arg)
{
    return simnet_query_done (net, *(size_t *) arg) != NULL;
}

static void
test_query_answered_by_all_completes (void **state)
{
    simnet_t *net = s_net (state, 8, 0);
    s_form (net);
    size_t asker = 3;
    int64_t asked = simnet_now (net);
    assert_int_equal (simnet_query (net, asker, "health", "ok?", 10000), 0);
    //  Every node answers (the simulator's program does): complete long
    //  before the 10 s deadline
    assert_true (simnet_run_until_cond (net, s_query_done, &asker, 10,
                                        10000) >= 0);
    assert_string_equal (simnet_query_done (net, asker), "complete");
    assert_int_equal (simnet_query_responses (net, asker), s_nodes);
    assert_true (s_elapsed (net, asked) < 2000);
}

int
main (void)
{
    const char *nodes = getenv ("RUMOR_SIM_NODES");
    if (nodes && atoi (nodes) >= 4 && atoi (nodes) <= S_NODES_MAX)
        s_nodes = (size_t) atoi (nodes);
    const struct CMUnitTest tests [] = {
        S_TEST (test_nodes_join_through_one_seed),
        S_TEST (test_key_set_on_one_node_reaches_all),
        S_TEST (test_crashed_node_declared_dead_by_all_under_loss),
        S_TEST (test_partition_seen_then_healed_with_every_key),
        S_TEST (test_restarted_node_accepted_and_new_keys_win),
        S_TEST (test_quick_restart_replaces_old_generation),
        S_TEST (test_event_heard_exactly_once_by_every_node),
        S_TEST (test_query_answered_by_all_completes),
        S_TEST (test_partition_healed_on_a_lan_with_beacons),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
