/*  =========================================================================
    test_node_basic - three live nodes in one process, through one seed

    The essentials of rumor.h over real sockets: three nodes on
    tcp://127.0.0.1 with the beacon OFF, joined through node 0 as a seed,
    list each other alive; a key set on one is read on the others; an event
    said is heard once by each hearer; a whisper reaches only its target; a
    query gets three responses and completes; a node destroyed is seen LEFT
    (and its stop ends once its LEFT is spread). Two nodes share the one
    connection the joiner opened, and a crash of the joiner is known at
    once to the seed, which never dialled it.
    Every wait polls events or the member table until a condition holds or
    a deadline passes: nothing sleeps.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <unistd.h>
#include "rumor.h"
#include "supervisor.h"

#define NODES       3               //  nodes per test cluster
//  Deadline of every wait. Generous: under valgrind everything runs tens
//  of times slower; a healthy run takes well under a second per wait.
#define WAIT_MS     20000
//  How long "nothing else arrives" is watched for (exactly-once checks)
#define QUIET_MS    500

typedef struct {
    rumor_t *nodes [NODES];         //  node 0 is the seed
    char cluster [32];              //  unique per test: no cross-talk
} s_cluster_t;


//  --------------------------------------------------------------------------
//  Helpers

//  A node on 127.0.0.1 with the beacon off, joining through seed if any
static rumor_t *
s_node_start (const char *cluster, int index, const char *seed)
{
    char name [32];
    snprintf (name, sizeof (name), "%s-%d", cluster, index);
    rumor_t *node = rumor_new (name);
    assert_non_null (node);
    assert_int_equal (rumor_set_cluster (node, cluster), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_set_beacon (node, RUMOR_BEACON_OFF), RUMOR_OK);
    assert_int_equal (rumor_set_profile (node, RUMOR_PROFILE_LOCAL), RUMOR_OK);
    if (seed)
        assert_int_equal (rumor_join (node, seed), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    return node;
}

static size_t
s_count_state (rumor_t *node, rumor_state_t state)
{
    zlistx_t *members = rumor_members (node);
    assert_non_null (members);
    size_t count = 0;
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members))
        if (member->state == state)
            count++;
    rumor_members_destroy (&members);
    return count;
}

//  Drop node's next event, waiting at most timeout_ms: the pace of the
//  polling loops below (it returns early when anything happens).
static void
s_pace (rumor_t *node, int timeout_ms)
{
    rumor_event_t *event = rumor_recv_timeout (node, timeout_ms);
    rumor_event_destroy (&event);
}

//  True once every live node lists n members alive
static bool
s_wait_alive (s_cluster_t *cluster, size_t n)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        bool all = true;
        for (int i = 0; i < NODES; i++)
            if (cluster->nodes [i]
            &&  s_count_state (cluster->nodes [i], RUMOR_STATE_ALIVE) != n)
                all = false;
        if (all)
            return true;
        s_pace (cluster->nodes [0], 20);
    }
    return false;
}

//  The next event of this type (and member, topic when not NULL) on
//  node, dropping others, or NULL at the deadline.
static rumor_event_t *
s_wait_event (rumor_t *node, rumor_event_type_t type, const char *member,
              const char *topic, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    int64_t left;
    while ((left = deadline - zclock_mono ()) > 0) {
        rumor_event_t *event = rumor_recv_timeout (node, (int) left);
        if (event && rumor_event_type (event) == type
        && (!member || streq (rumor_event_member (event), member))
        && (!topic || streq (rumor_event_topic (event), topic)))
            return event;
        rumor_event_destroy (&event);
    }
    return NULL;
}

//  How many events of this type and topic node gets within timeout_ms
static size_t
s_count_events (rumor_t *node, rumor_event_type_t type, const char *topic,
                int timeout_ms)
{
    size_t count = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    int64_t left;
    while ((left = deadline - zclock_mono ()) > 0) {
        rumor_event_t *event = rumor_recv_timeout (node, (int) left);
        if (event && rumor_event_type (event) == type
        &&  streq (rumor_event_topic (event), topic))
            count++;
        rumor_event_destroy (&event);
    }
    return count;
}

static bool
s_payload_is (const rumor_event_t *event, const char *text)
{
    return rumor_event_size (event) == strlen (text)
        && memcmp (rumor_event_data (event), text, strlen (text)) == 0;
}

//  Three nodes joined through node 0, all listing 3 alive
static int
s_setup (void **state)
{
    static int clusters;
    s_cluster_t *cluster = (s_cluster_t *) zmalloc (sizeof (s_cluster_t));
    snprintf (cluster->cluster, sizeof (cluster->cluster), "basic%d",
              ++clusters);
    cluster->nodes [0] = s_node_start (cluster->cluster, 0, NULL);
    for (int i = 1; i < NODES; i++)
        cluster->nodes [i] = s_node_start (cluster->cluster, i,
                                           rumor_endpoint (cluster->nodes [0]));
    if (!s_wait_alive (cluster, NODES))
        return -1;
    *state = cluster;
    return 0;
}

static int
s_teardown (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    for (int i = 0; i < NODES; i++)
        rumor_destroy (&cluster->nodes [i]);
    free (cluster);
    return 0;
}


//  --------------------------------------------------------------------------
//  Tests

//  Usage: three nodes through one seed list each other alive, each knows
//  itself, and everyone's endpoint is the one its node reports
static void
test_three_nodes_list_each_other_alive (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    for (int i = 0; i < NODES; i++) {
        rumor_t *node = cluster->nodes [i];
        zlistx_t *members = rumor_members (node);
        assert_int_equal (zlistx_size (members), NODES);
        size_t selves = 0;
        for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
             member; member = (rumor_member_t *) zlistx_next (members)) {
            assert_int_equal (member->state, RUMOR_STATE_ALIVE);
            assert_true (strneq (member->endpoint, ""));
            if (member->self) {
                selves++;
                assert_string_equal (member->id, rumor_id (node));
                assert_string_equal (member->name, rumor_name (node));
                assert_string_equal (member->endpoint, rumor_endpoint (node));
            }
        }
        assert_int_equal (selves, 1);
        rumor_members_destroy (&members);
    }
    //  The detector's view comes with the table: every peer gets an RTT
    //  once it has been probed
    rumor_t *node = cluster->nodes [0];
    int64_t deadline = zclock_mono () + WAIT_MS;
    size_t measured = 0;
    while (measured < NODES - 1 && zclock_mono () < deadline) {
        zlistx_t *members = rumor_members (node);
        measured = 0;
        for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
             member; member = (rumor_member_t *) zlistx_next (members)) {
            if (member->self)
                assert_int_equal (member->rtt_ms, -1);
            else
            if (member->rtt_ms >= 0)
                measured++;
            assert_true (member->phi >= 0);
        }
        rumor_members_destroy (&members);
        s_pace (node, 20);
    }
    assert_int_equal (measured, NODES - 1);
}

//  A counter of a node's stats, 0 if absent
static long long
s_counter (rumor_t *node, const char *name)
{
    zhash_t *stats = rumor_stats (node);
    assert_non_null (stats);
    const char *value = (const char *) zhash_lookup (stats, name);
    long long count = value? atoll (value): 0;
    zhash_destroy (&stats);
    return count;
}

//  A tag set after start reaches the others: UPDATED, and in their tables.
//  The update keeps the member live at its endpoint: the supervisor hands
//  it to the detector only (anti-entropy and app have nothing to do).
static void
test_tag_change_is_seen_as_updated (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    rumor_t *tagged = cluster->nodes [1];
    rumor_t *observer = cluster->nodes [2];
    long long routine = s_counter (observer, "supervisor.member_routine");
    assert_int_equal (rumor_set_tag (tagged, "service", "kafka"), RUMOR_OK);
    rumor_event_t *event = s_wait_event (observer, RUMOR_EVENT_UPDATED,
                                         rumor_id (tagged), NULL, WAIT_MS);
    assert_non_null (event);
    rumor_event_destroy (&event);
    assert_true (s_counter (observer, "supervisor.member_routine") > routine);
    zlistx_t *members = rumor_members (observer);
    bool seen = false;
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members))
        if (streq (member->id, rumor_id (tagged))) {
            const char *value = (const char *) zhash_lookup (member->tags,
                                                             "service");
            seen = value && streq (value, "kafka");
        }
    rumor_members_destroy (&members);
    assert_true (seen);
}

static void
test_key_set_on_one_is_read_on_the_others (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    rumor_t *writer = cluster->nodes [0];
    assert_int_equal (rumor_set_str (writer, "color", "blue", 0), RUMOR_OK);
    char *mine = rumor_get_str (writer, NULL, "color");
    assert_string_equal (mine, "blue");
    free (mine);
    for (int i = 1; i < NODES; i++) {
        rumor_t *reader = cluster->nodes [i];
        rumor_event_t *event = s_wait_event (reader, RUMOR_EVENT_KEY_SET,
                                             rumor_id (writer), "color",
                                             WAIT_MS);
        assert_non_null (event);
        assert_true (s_payload_is (event, "blue"));
        assert_string_equal (rumor_event_name (event), rumor_name (writer));
        rumor_event_destroy (&event);
        //  Read by id and by name
        char *value = rumor_get_str (reader, rumor_id (writer), "color");
        assert_string_equal (value, "blue");
        free (value);
        value = rumor_get_str (reader, rumor_name (writer), "color");
        assert_string_equal (value, "blue");
        free (value);
        zlist_t *keys = rumor_keys (reader, rumor_id (writer));
        assert_int_equal (zlist_size (keys), 1);
        assert_string_equal ((char *) zlist_first (keys), "color");
        zlist_destroy (&keys);
    }
}

static void
test_event_said_is_heard_once_by_each_hearer (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    for (int i = 0; i < NODES; i++)
        assert_int_equal (rumor_hear (cluster->nodes [i], "news.*"), RUMOR_OK);
    rumor_t *sayer = cluster->nodes [0];
    assert_int_equal (rumor_say (sayer, "news.today", "hello", 5), RUMOR_OK);
    for (int i = 0; i < NODES; i++) {
        rumor_t *hearer = cluster->nodes [i];
        rumor_event_t *event = s_wait_event (hearer, RUMOR_EVENT_HEARD,
                                             rumor_id (sayer), "news.today",
                                             WAIT_MS);
        assert_non_null (event);
        assert_true (s_payload_is (event, "hello"));
        rumor_event_destroy (&event);
    }
    //  ... and never twice
    for (int i = 0; i < NODES; i++)
        assert_int_equal (s_count_events (cluster->nodes [i], RUMOR_EVENT_HEARD,
                                          "news.today", QUIET_MS), 0);
}

static void
test_whisper_reaches_only_its_target (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    rumor_t *sender = cluster->nodes [0];
    rumor_t *target = cluster->nodes [2];
    assert_int_equal (rumor_whisper (sender, rumor_name (target), "dm",
                                     "psst", 4), RUMOR_OK);
    rumor_event_t *event = s_wait_event (target, RUMOR_EVENT_DIRECT,
                                         rumor_id (sender), "dm", WAIT_MS);
    assert_non_null (event);
    assert_true (s_payload_is (event, "psst"));
    rumor_event_destroy (&event);
    assert_int_equal (s_count_events (cluster->nodes [1], RUMOR_EVENT_DIRECT,
                                      "dm", QUIET_MS), 0);
    assert_int_equal (s_count_events (sender, RUMOR_EVENT_DIRECT, "dm", 0), 0);
    //  An unknown member is refused, not aborted on
    assert_int_equal (rumor_whisper (sender, "nobody", "dm", "x", 1),
                      RUMOR_ENOTFOUND);
}

//  Answer every query any node has heard; collect the asker's responses
static void
test_query_gets_a_response_from_every_node_and_completes (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    for (int i = 0; i < NODES; i++)
        assert_int_equal (rumor_hear (cluster->nodes [i], "ask.*"), RUMOR_OK);
    rumor_t *asker = cluster->nodes [0];
    int64_t query = rumor_query (asker, "ask.time", "now?", 4, WAIT_MS);
    assert_true (query > 0);
    zhash_t *responders = zhash_new ();
    bool done = false, complete = false;
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (!done && zclock_mono () < deadline)
        for (int i = 0; i < NODES && !done; i++) {
            rumor_t *node = cluster->nodes [i];
            rumor_event_t *event = rumor_recv_timeout (node, 10);
            rumor_event_type_t type = rumor_event_type (event);
            if (type == RUMOR_EVENT_QUERY) {
                assert_int_equal (rumor_event_query (event), query);
                assert_string_equal (rumor_event_member (event), rumor_id (asker));
                const char *name = rumor_name (node);
                assert_int_equal (rumor_respond (node, event, name,
                                                 strlen (name)), RUMOR_OK);
            }
            else
            if (type == RUMOR_EVENT_RESPONSE && node == asker) {
                assert_int_equal (rumor_event_query (event), query);
                zhash_insert (responders, rumor_event_member (event), asker);
            }
            else
            if (type == RUMOR_EVENT_QUERY_DONE && node == asker) {
                done = true;
                complete = rumor_event_complete (event);
            }
            rumor_event_destroy (&event);
        }
    assert_true (done);
    assert_true (complete);
    assert_int_equal (zhash_size (responders), NODES);
    zhash_destroy (&responders);
}

static void
test_destroyed_node_is_seen_left_never_failed (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    char leaver [33];
    strcpy (leaver, rumor_id (cluster->nodes [2]));
    //  It returns once its LEFT is spread, not cut off at the bound
    assert_int_equal (rumor_stop (cluster->nodes [2]), RUMOR_OK);
    rumor_destroy (&cluster->nodes [2]);
    assert_null (cluster->nodes [2]);
    for (int i = 0; i < 2; i++) {
        rumor_t *node = cluster->nodes [i];
        bool left = false, failed = false;
        int64_t deadline = zclock_mono () + WAIT_MS;
        while (!left && zclock_mono () < deadline) {
            rumor_event_t *event = rumor_recv_timeout (node, 100);
            if (event && streq (rumor_event_member (event), leaver)) {
                left = left || rumor_event_type (event) == RUMOR_EVENT_LEFT;
                failed = failed || rumor_event_type (event) == RUMOR_EVENT_FAILED;
            }
            rumor_event_destroy (&event);
        }
        assert_true (left);
        assert_false (failed);
        assert_int_equal (s_count_state (node, RUMOR_STATE_LEFT), 1);
        assert_int_equal (s_count_state (node, RUMOR_STATE_ALIVE), 2);
    }
}

//  One connection per pair: node 1 dialled node 0 (its seed), and node 0
//  answers over that connection without dialling back. When node 1
//  crashes, node 0's ROUTER loses the connection, which tells node 0's
//  detector at once (PEERLOST), as a link of its own would have, and
//  node 0 reports node 1 FAILED.
static void
test_seed_answers_over_the_joiner_connection (void **state)
{
    (void) state;
    s_cluster_t cluster;
    memset (&cluster, 0, sizeof (cluster));
    snprintf (cluster.cluster, sizeof (cluster.cluster), "pair%d",
              (int) getpid ());
    cluster.nodes [0] = s_node_start (cluster.cluster, 0, NULL);
    cluster.nodes [1] = s_node_start (cluster.cluster, 1,
                                      rumor_endpoint (cluster.nodes [0]));
    assert_true (s_wait_alive (&cluster, 2));
    assert_int_equal (s_counter (cluster.nodes [0],
                                 "supervisor.links_opened"), 0);
    assert_true (s_counter (cluster.nodes [0], "supervisor.routed") > 0);
    assert_int_equal (s_counter (cluster.nodes [0],
                                 "supervisor.peer_lost"), 0);

    char crashed [33];
    strcpy (crashed, rumor_id (cluster.nodes [1]));
    rumor_node_crash (&cluster.nodes [1]);
    rumor_event_t *event = s_wait_event (cluster.nodes [0],
                                         RUMOR_EVENT_FAILED, crashed, NULL,
                                         WAIT_MS);
    assert_non_null (event);
    rumor_event_destroy (&event);
    assert_int_equal (s_counter (cluster.nodes [0],
                                 "supervisor.peer_lost"), 1);
    rumor_destroy (&cluster.nodes [0]);
}

//  Counters of every part come back through one call
static void
test_stats_merge_every_part (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    zhash_t *stats = rumor_stats (cluster->nodes [0]);
    assert_non_null (stats);
    const char *names [] = {
        "codec.accepted", "codec.malformed", "supervisor.dropped_full",
        "membership.stale_incarnation", "detector.probes",
        "anti_entropy.digests_sent", "app.said", "events.dropped",
        "shell.membership.dropped"
    };
    for (size_t i = 0; i < sizeof (names) / sizeof (names [0]); i++)
        assert_non_null (zhash_lookup (stats, names [i]));
    assert_true (atoll ((char *) zhash_lookup (stats, "codec.accepted")) > 0);
    zhash_destroy (&stats);
    char *why = rumor_why (cluster->nodes [1]);
    assert_non_null (strstr (why, "seeds:"));
    assert_non_null (strstr (why, rumor_endpoint (cluster->nodes [0])));
    assert_non_null (strstr (why, "beacon: off"));
    free (why);
}

//  Bad arguments return an error code; nothing aborts
static void
test_bad_arguments_return_errors (void **state)
{
    (void) state;
    assert_null (rumor_new (""));
    assert_int_equal (rumor_set_cluster (NULL, "x"), RUMOR_EINVAL);
    assert_int_equal (rumor_start (NULL), RUMOR_EINVAL);
    rumor_t *node = rumor_new ("lonely");
    assert_non_null (node);
    assert_int_equal (rumor_set_port (node, -1), RUMOR_EINVAL);
    assert_int_equal (rumor_set_port (node, 70000), RUMOR_EINVAL);
    assert_int_equal (rumor_set_beacon (node, (rumor_beacon_t) 9), RUMOR_EINVAL);
    assert_int_equal (rumor_join (node, "udp://x"), RUMOR_EINVAL);
    assert_int_equal (rumor_set_tag (node, "a=b", "c"), RUMOR_EINVAL);
    assert_int_equal (rumor_say (node, "t", "x", 1), RUMOR_ESTATE);
    assert_int_equal (rumor_hear (node, "bad..pattern"), RUMOR_EINVAL);
    assert_null (rumor_members (node));
    assert_int_equal (rumor_set_beacon (node, RUMOR_BEACON_OFF), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    assert_int_equal (rumor_set_port (node, 1), RUMOR_ESTATE);
    assert_int_equal (rumor_set (node, NULL, "x", 1, 0), RUMOR_EINVAL);
    assert_int_equal (rumor_set (node, "k", NULL, 1, 0), RUMOR_EINVAL);
    assert_int_equal (rumor_set (node, "k", "x", 1, -5), RUMOR_EINVAL);
    static char big [64 * 1024 + 1];    //  rumor.h: values up to 64 KiB
    assert_int_equal (rumor_set (node, "k", big, sizeof (big), 0), RUMOR_ETOOBIG);
    assert_int_equal (rumor_delete (node, "absent"), RUMOR_ENOTFOUND);
    assert_int_equal (rumor_say (node, "news.*", "x", 1), RUMOR_EINVAL);
    assert_int_equal (rumor_query (node, "q", "x", 1, 0), RUMOR_EINVAL);
    assert_int_equal (rumor_respond (node, NULL, "x", 1), RUMOR_EINVAL);
    assert_int_equal (rumor_unhear (node, "never.heard"), RUMOR_ENOTFOUND);
    assert_null (rumor_get (node, "nobody", "k"));
    //  A port in use, an address that is not ours: RUMOR_ENET, and the
    //  node can be set up again and started
    const char *endpoint = rumor_endpoint (node);
    int port = atoi (strrchr (endpoint, ':') + 1);
    rumor_t *twin = rumor_new ("twin");
    assert_int_equal (rumor_set_beacon (twin, RUMOR_BEACON_OFF), RUMOR_OK);
    assert_int_equal (rumor_set_bind (twin, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_set_port (twin, port), RUMOR_OK);
    assert_int_equal (rumor_start (twin), RUMOR_ENET);
    assert_int_equal (rumor_set_bind (twin, "192.0.2.1"), RUMOR_OK);
    assert_int_equal (rumor_set_port (twin, 0), RUMOR_OK);
    assert_int_equal (rumor_start (twin), RUMOR_ENET);
    assert_int_equal (rumor_set_bind (twin, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_start (twin), RUMOR_OK);
    rumor_destroy (&twin);

    assert_int_equal (rumor_stop (node), RUMOR_OK);
    assert_int_equal (rumor_stop (node), RUMOR_ESTATE);
    rumor_destroy (&node);
    rumor_destroy (&node);          //  harmless twice
}

int
main (void)
{
    //  Three nodes use ~40 sockets; raise czmq's limit before the first
    zsys_set_max_sockets (8192);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (
            test_three_nodes_list_each_other_alive, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_tag_change_is_seen_as_updated, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_key_set_on_one_is_read_on_the_others, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_event_said_is_heard_once_by_each_hearer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_whisper_reaches_only_its_target, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_query_gets_a_response_from_every_node_and_completes,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_destroyed_node_is_seen_left_never_failed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_stats_merge_every_part, s_setup, s_teardown),
        cmocka_unit_test (test_seed_answers_over_the_joiner_connection),
        cmocka_unit_test (test_bad_arguments_return_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
