/*  =========================================================================
    test_node - sixteen live nodes in one process over tcp://127.0.0.1

    The live-node checks at cluster scale, run twice: once with the
    nodes finding each other through the loopback beacon (on a beacon port
    chosen at random per run, so parallel runs never mix), once through one
    seed with the beacon off. In each: every node lists 16 alive; a pair of
    nodes shares one TCP connection (a few races aside); a key set
    on one is read on all; an event said on one is heard exactly once by
    each hearer; a whisper reaches only its target; a query gets 16
    responses and finishes complete before its timeout; a node crashed
    (sockets closed, no Leave) is reported FAILED by all others; a node
    destroyed gracefully is reported LEFT, never FAILED; the crashed node
    restarted under its name is accepted as a new generation. Last, two
    clusters with different names on one beacon port never mix.

    The tests of one group run in order on one cluster (building 16 nodes
    costs seconds): the destructive ones come last. Every wait polls events
    or the member table until a condition holds or a deadline passes.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <cmocka.h>
#include "rumor.h"
#include "supervisor.h"

#define NODES       16              //  nodes per cluster, as the issue asks
//  Deadline of every wait. Generous for valgrind/ASan runs; a healthy run
//  takes a few hundred ms per wait (failure detection: a few seconds).
#define WAIT_MS     60000
//  How long "nothing else arrives" is watched for (exactly-once checks)
#define QUIET_MS    700
//  Nodes per cluster in the two-cluster test: enough to gossip
#define SMALL       3

typedef struct {
    rumor_t *nodes [NODES];         //  NULL once destroyed or crashed
    size_t size;                    //  nodes in use
    char cluster [48];              //  unique per run and group
    rumor_beacon_t mode;            //  loopback or off
    int beacon_port;                //  loopback beacon's UDP port
    char seed [64];                 //  node 0's endpoint (mode off)
} s_cluster_t;

//  The beacon port of this run: random, high, so parallel runs do not mix
static int s_beacon_port;


//  --------------------------------------------------------------------------
//  Helpers

static void
s_node_name (const s_cluster_t *cluster, size_t index, char *name,
             size_t size)
{
    snprintf (name, size, "%s-%zu", cluster->cluster, index);
}

//  Start node index of cluster (node 0 is the seed when the beacon is off)
static rumor_t *
s_node_start (s_cluster_t *cluster, size_t index)
{
    char name [64];
    s_node_name (cluster, index, name, sizeof (name));
    rumor_t *node = rumor_new (name);
    assert_non_null (node);
    assert_int_equal (rumor_set_cluster (node, cluster->cluster), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_set_beacon (node, cluster->mode), RUMOR_OK);
    assert_int_equal (rumor_set_beacon_port (node, cluster->beacon_port),
                      RUMOR_OK);
    assert_int_equal (rumor_set_profile (node, RUMOR_PROFILE_LOCAL), RUMOR_OK);
    if (cluster->mode == RUMOR_BEACON_OFF && index > 0)
        assert_int_equal (rumor_join (node, cluster->seed), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    if (cluster->mode == RUMOR_BEACON_OFF && index == 0)
        snprintf (cluster->seed, sizeof (cluster->seed), "%s",
                  rumor_endpoint (node));
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

static size_t
s_count_members (rumor_t *node)
{
    zlistx_t *members = rumor_members (node);
    assert_non_null (members);
    size_t count = zlistx_size (members);
    rumor_members_destroy (&members);
    return count;
}

//  State of member id in node's table (0 if absent), and its generation
static int
s_member_state (rumor_t *node, const char *id, uint64_t *generation)
{
    zlistx_t *members = rumor_members (node);
    assert_non_null (members);
    int state = 0;
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members))
        if (streq (member->id, id)) {
            state = (int) member->state;
            if (generation)
                *generation = member->generation;
        }
    rumor_members_destroy (&members);
    return state;
}

//  A counter of node's stats, 0 if absent
static uint64_t
s_stat (rumor_t *node, const char *name)
{
    zhash_t *stats = rumor_stats (node);
    assert_non_null (stats);
    const char *value = (const char *) zhash_lookup (stats, name);
    uint64_t result = value? strtoull (value, NULL, 10): 0;
    zhash_destroy (&stats);
    return result;
}

//  Read and drop every node's events for up to timeout_ms (returns early
//  when any arrives): the pace of the polling loops below, and it keeps
//  the event pipes from filling
static void
s_pace (s_cluster_t *cluster, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (NULL);
    for (size_t i = 0; i < cluster->size; i++)
        if (cluster->nodes [i])
            zpoller_add (poller, rumor_socket (cluster->nodes [i]));
    zpoller_wait (poller, timeout_ms);
    zpoller_destroy (&poller);
    for (size_t i = 0; i < cluster->size; i++)
        if (cluster->nodes [i]) {
            rumor_event_t *event;
            while ((event = rumor_recv_timeout (cluster->nodes [i], 0)))
                rumor_event_destroy (&event);
        }
}

//  True once every live node lists n members alive
static bool
s_wait_alive (s_cluster_t *cluster, size_t n)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        bool all = true;
        for (size_t i = 0; i < cluster->size && all; i++)
            if (cluster->nodes [i]
            &&  s_count_state (cluster->nodes [i], RUMOR_STATE_ALIVE) != n)
                all = false;
        if (all)
            return true;
        s_pace (cluster, 50);
    }
    return false;
}

//  Called on each event of node index; returns true when the wait is over
typedef bool (s_handler_fn) (void *ctx, s_cluster_t *cluster, size_t index,
                             rumor_event_t *event);

//  Deliver every node's events to handler until it returns true (returns
//  true) or timeout_ms passes (returns false)
static bool
s_collect (s_cluster_t *cluster, int timeout_ms, s_handler_fn *handler,
           void *ctx)
{
    zpoller_t *poller = zpoller_new (NULL);
    for (size_t i = 0; i < cluster->size; i++)
        if (cluster->nodes [i])
            zpoller_add (poller, rumor_socket (cluster->nodes [i]));
    int64_t deadline = zclock_mono () + timeout_ms;
    bool done = false;
    int64_t left;
    while (!done && (left = deadline - zclock_mono ()) > 0) {
        bool any = false;
        for (size_t i = 0; i < cluster->size && !done; i++) {
            if (!cluster->nodes [i])
                continue;
            rumor_event_t *event = rumor_recv_timeout (cluster->nodes [i], 0);
            if (event) {
                any = true;
                done = handler (ctx, cluster, i, event);
                rumor_event_destroy (&event);
            }
        }
        if (!any && !done)
            zpoller_wait (poller, (int) (left < 50? left: 50));
    }
    zpoller_destroy (&poller);
    return done;
}

//  Counting events of one type (and topic, member when set) per node
typedef struct {
    rumor_event_type_t type;        //  event type counted
    const char *topic;              //  its topic, or NULL for any
    const char *member;             //  its member, or NULL for any
    size_t counts [NODES];          //  per node
    size_t expected;                //  nodes that must see one
    rumor_event_type_t forbidden;   //  a type that must never come for
                                    //  member (0 = none)
    size_t forbidden_seen;          //  how often it came
} s_counter_t;

static bool
s_count_handler (void *ctx, s_cluster_t *cluster, size_t index,
                 rumor_event_t *event)
{
    (void) cluster;
    s_counter_t *counter = (s_counter_t *) ctx;
    bool member_ok = !counter->member
                  || streq (rumor_event_member (event), counter->member);
    if (counter->forbidden && member_ok
    &&  rumor_event_type (event) == counter->forbidden)
        counter->forbidden_seen++;
    if (rumor_event_type (event) == counter->type && member_ok
    && (!counter->topic || streq (rumor_event_topic (event), counter->topic)))
        counter->counts [index]++;
    size_t reached = 0;
    for (size_t i = 0; i < NODES; i++)
        if (counter->counts [i] > 0)
            reached++;
    return reached >= counter->expected;
}

static size_t
s_live (s_cluster_t *cluster)
{
    size_t live = 0;
    for (size_t i = 0; i < cluster->size; i++)
        if (cluster->nodes [i])
            live++;
    return live;
}

//  Never returns true: watch for timeout_ms, counting
static bool
s_count_only (void *ctx, s_cluster_t *cluster, size_t index,
              rumor_event_t *event)
{
    s_count_handler (ctx, cluster, index, event);
    return false;
}


//  --------------------------------------------------------------------------
//  Group setups: 16 nodes, through the beacon or through one seed

static int s_teardown (void **state);

static int
s_cluster_up (void **state, rumor_beacon_t mode, const char *tag)
{
    s_cluster_t *cluster = (s_cluster_t *) zmalloc (sizeof (s_cluster_t));
    snprintf (cluster->cluster, sizeof (cluster->cluster), "node-%s-%d",
              tag, (int) getpid ());
    cluster->mode = mode;
    cluster->beacon_port = s_beacon_port;
    cluster->size = NODES;
    *state = cluster;
    for (size_t i = 0; i < NODES; i++)
        cluster->nodes [i] = s_node_start (cluster, i);
    if (s_wait_alive (cluster, NODES))
        return 0;
    //  cmocka skips the group teardown when its setup fails
    s_teardown (state);
    *state = NULL;
    return -1;
}

static int
s_setup_beacon (void **state)
{
    return s_cluster_up (state, RUMOR_BEACON_LOOPBACK, "beacon");
}

static int
s_setup_seed (void **state)
{
    return s_cluster_up (state, RUMOR_BEACON_OFF, "seed");
}

static int
s_teardown (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    if (!cluster)
        return 0;
    for (size_t i = 0; i < cluster->size; i++)
        rumor_destroy (&cluster->nodes [i]);
    free (cluster);
    return 0;
}


//  --------------------------------------------------------------------------
//  Tests, in order on one cluster

//  Resources: a pair of nodes that talk shares one TCP connection, the
//  one the first of them to speak opened; the other answers back over it
//  instead of dialling a second (each costs both a handshake, a socket
//  monitor and buffers). Both may dial at the same moment, so a few
//  pairs have two.
static void
test_pairs_share_one_connection (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    uint64_t opened = 0, routed = 0;
    for (size_t i = 0; i < NODES; i++) {
        opened += s_stat (cluster->nodes [i], "supervisor.links_opened");
        routed += s_stat (cluster->nodes [i], "supervisor.routed");
    }
    printf ("test_node: %d nodes opened %d connections (%d pairs), "
            "sent %d frames back over the peer's\n", NODES, (int) opened,
            NODES * (NODES - 1) / 2, (int) routed);
    //  When every node dialled each peer it talked to, the 16 opened
    //  158-236 in all here
    uint64_t pairs = NODES * (NODES - 1) / 2;
    assert_true (routed > 0);
    assert_true (opened <= pairs + pairs / 4);
}

//  Usage: every node lists the 16, all alive, itself once
static void
test_every_node_lists_sixteen_alive (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    for (size_t i = 0; i < NODES; i++) {
        zlistx_t *members = rumor_members (cluster->nodes [i]);
        assert_int_equal (zlistx_size (members), NODES);
        size_t selves = 0;
        for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
             member; member = (rumor_member_t *) zlistx_next (members)) {
            assert_int_equal (member->state, RUMOR_STATE_ALIVE);
            assert_true (strneq (member->endpoint, ""));
            if (member->self) {
                selves++;
                assert_string_equal (member->id, rumor_id (cluster->nodes [i]));
            }
        }
        assert_int_equal (selves, 1);
        rumor_members_destroy (&members);
    }
}

static void
test_key_set_on_one_is_read_on_all (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    rumor_t *writer = cluster->nodes [3];
    assert_int_equal (rumor_set_str (writer, "color", "blue", 0), RUMOR_OK);
    int64_t deadline = zclock_mono () + WAIT_MS;
    size_t read = 0;
    while (read < NODES && zclock_mono () < deadline) {
        read = 0;
        for (size_t i = 0; i < NODES; i++) {
            char *value = rumor_get_str (cluster->nodes [i], rumor_id (writer),
                                         "color");
            if (value && streq (value, "blue"))
                read++;
            free (value);
        }
        if (read < NODES)
            s_pace (cluster, 20);
    }
    assert_int_equal (read, NODES);
}

static void
test_event_said_is_heard_exactly_once_by_each_hearer (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    for (size_t i = 0; i < NODES; i++)
        assert_int_equal (rumor_hear (cluster->nodes [i], "news.*"), RUMOR_OK);
    rumor_t *sayer = cluster->nodes [5];
    assert_int_equal (rumor_say (sayer, "news.today", "hello", 5), RUMOR_OK);
    s_counter_t counter = { .type = RUMOR_EVENT_HEARD, .topic = "news.today",
                            .member = rumor_id (sayer), .expected = NODES };
    assert_true (s_collect (cluster, WAIT_MS, s_count_handler, &counter));
    //  ... and never twice
    s_collect (cluster, QUIET_MS, s_count_only, &counter);
    for (size_t i = 0; i < NODES; i++)
        assert_int_equal (counter.counts [i], 1);
}

static void
test_whisper_reaches_only_its_target (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    rumor_t *sender = cluster->nodes [1];
    size_t target = 9;
    assert_int_equal (rumor_whisper (sender, rumor_name (cluster->nodes [target]),
                                     "dm", "psst", 4), RUMOR_OK);
    s_counter_t counter = { .type = RUMOR_EVENT_DIRECT, .topic = "dm",
                            .member = rumor_id (sender), .expected = 1 };
    assert_true (s_collect (cluster, WAIT_MS, s_count_handler, &counter));
    s_collect (cluster, QUIET_MS, s_count_only, &counter);
    for (size_t i = 0; i < NODES; i++)
        assert_int_equal (counter.counts [i], i == target? 1: 0);
}

typedef struct {
    int64_t query;                  //  our query's id
    rumor_t *asker;                 //  who asked
    zhash_t *responders;            //  ids that answered
    bool done;                      //  QUERY_DONE came
    bool complete;                  //  ... complete
    size_t dones;                   //  QUERY_DONE events (must be 1)
} s_query_t;

static bool
s_query_handler (void *ctx, s_cluster_t *cluster, size_t index,
                 rumor_event_t *event)
{
    s_query_t *query = (s_query_t *) ctx;
    rumor_t *node = cluster->nodes [index];
    rumor_event_type_t type = rumor_event_type (event);
    if (type == RUMOR_EVENT_QUERY && rumor_event_query (event) == query->query) {
        const char *name = rumor_name (node);
        assert_int_equal (rumor_respond (node, event, name, strlen (name)),
                          RUMOR_OK);
    }
    else
    if (type == RUMOR_EVENT_RESPONSE && node == query->asker
    &&  rumor_event_query (event) == query->query)
        zhash_insert (query->responders, rumor_event_member (event), node);
    else
    if (type == RUMOR_EVENT_QUERY_DONE && node == query->asker
    &&  rumor_event_query (event) == query->query) {
        query->done = true;
        query->dones++;
        query->complete = rumor_event_complete (event);
    }
    return query->done;
}

static void
test_query_gets_sixteen_responses_before_its_timeout (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    for (size_t i = 0; i < NODES; i++)
        assert_int_equal (rumor_hear (cluster->nodes [i], "ask.*"), RUMOR_OK);
    s_query_t query = { .asker = cluster->nodes [0],
                        .responders = zhash_new () };
    int64_t started = zclock_mono ();
    query.query = rumor_query (query.asker, "ask.name", "who?", 4, WAIT_MS);
    assert_true (query.query > 0);
    assert_true (s_collect (cluster, WAIT_MS, s_query_handler, &query));
    int64_t took = zclock_mono () - started;
    assert_true (query.complete);
    assert_true (took < WAIT_MS);
    assert_int_equal (zhash_size (query.responders), NODES);
    //  One QUERY_DONE only, no late answers
    s_collect (cluster, QUIET_MS, s_query_handler, &query);
    assert_int_equal (query.dones, 1);
    assert_int_equal (zhash_size (query.responders), NODES);
    zhash_destroy (&query.responders);
}

//  Node 15's sockets close at once, without a Leave: every other node
//  reports it FAILED, and lists it so
static void
test_crashed_node_is_reported_failed_by_all (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    char crashed [33];
    strcpy (crashed, rumor_id (cluster->nodes [15]));
    rumor_node_crash (&cluster->nodes [15]);
    assert_null (cluster->nodes [15]);
    s_counter_t counter = { .type = RUMOR_EVENT_FAILED, .member = crashed,
                            .expected = NODES - 1 };
    assert_true (s_collect (cluster, WAIT_MS, s_count_handler, &counter));
    for (size_t i = 0; i < NODES - 1; i++)
        assert_int_equal (s_member_state (cluster->nodes [i], crashed, NULL),
                          RUMOR_STATE_DEAD);
}

//  Node 14 is destroyed: LEFT everywhere, never FAILED
static void
test_graceful_leave_is_reported_left_never_failed (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    char leaver [33];
    strcpy (leaver, rumor_id (cluster->nodes [14]));
    rumor_destroy (&cluster->nodes [14]);
    s_counter_t counter = { .type = RUMOR_EVENT_LEFT, .member = leaver,
                            .expected = s_live (cluster),
                            .forbidden = RUMOR_EVENT_FAILED };
    assert_true (s_collect (cluster, WAIT_MS, s_count_handler, &counter));
    //  Long enough for a wrong suspicion to have run out
    s_collect (cluster, 3000, s_count_only, &counter);
    assert_int_equal (counter.forbidden_seen, 0);
    for (size_t i = 0; i < cluster->size; i++)
        if (cluster->nodes [i])
            assert_int_equal (s_member_state (cluster->nodes [i], leaver, NULL),
                              RUMOR_STATE_LEFT);
}

//  The crashed node 15 comes back under its name: same id, a higher
//  generation, ALIVE on every other node
static void
test_restarted_node_is_accepted_as_a_new_generation (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    assert_null (cluster->nodes [15]);
    uint64_t old_generation = 0;
    char name [64];
    s_node_name (cluster, 15, name, sizeof (name));
    //  The generation others remember (the crash test left it DEAD)
    rumor_t *observer = cluster->nodes [0];
    zlistx_t *members = rumor_members (observer);
    char id [33] = "";
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members))
        if (streq (member->name, name)) {
            strcpy (id, member->id);
            old_generation = member->generation;
        }
    rumor_members_destroy (&members);
    assert_true (strneq (id, ""));
    assert_true (old_generation > 0);

    cluster->nodes [15] = s_node_start (cluster, 15);
    assert_string_equal (rumor_id (cluster->nodes [15]), id);
    int64_t deadline = zclock_mono () + WAIT_MS;
    size_t accepted = 0;
    size_t others = s_live (cluster) - 1;
    while (accepted < others && zclock_mono () < deadline) {
        accepted = 0;
        for (size_t i = 0; i < 15; i++) {
            uint64_t generation = 0;
            if (cluster->nodes [i]
            &&  s_member_state (cluster->nodes [i], id, &generation)
                == RUMOR_STATE_ALIVE
            &&  generation > old_generation)
                accepted++;
        }
        if (accepted < others)
            s_pace (cluster, 50);
    }
    assert_int_equal (accepted, others);
    //  ... and the new run sees them all back
    deadline = zclock_mono () + WAIT_MS;
    while (s_count_state (cluster->nodes [15], RUMOR_STATE_ALIVE) != others + 1
    &&     zclock_mono () < deadline)
        s_pace (cluster, 50);
    assert_int_equal (s_count_state (cluster->nodes [15], RUMOR_STATE_ALIVE),
                      others + 1);
}


//  --------------------------------------------------------------------------
//  Two clusters on one beacon port

static void
test_two_clusters_on_one_beacon_port_never_mix (void **state)
{
    (void) state;
    s_cluster_t clusters [2];
    memset (clusters, 0, sizeof (clusters));
    for (int c = 0; c < 2; c++) {
        snprintf (clusters [c].cluster, sizeof (clusters [c].cluster),
                  "node-%s-%d", c? "blue": "red", (int) getpid ());
        clusters [c].mode = RUMOR_BEACON_LOOPBACK;
        clusters [c].beacon_port = s_beacon_port;
        clusters [c].size = SMALL;
        for (size_t i = 0; i < SMALL; i++)
            clusters [c].nodes [i] = s_node_start (&clusters [c], i);
    }
    bool formed = s_wait_alive (&clusters [0], SMALL)
               && s_wait_alive (&clusters [1], SMALL);
    //  Every node has heard the other cluster's beacons, and refused them
    int64_t deadline = zclock_mono () + WAIT_MS;
    bool heard = false;
    while (formed && !heard && zclock_mono () < deadline) {
        heard = true;
        for (int c = 0; c < 2; c++)
            for (size_t i = 0; i < SMALL; i++)
                if (s_stat (clusters [c].nodes [i], "beacon.other_cluster") == 0)
                    heard = false;
        if (!heard)
            s_pace (&clusters [0], 50);
    }
    //  Let a few more beacons pass: the refusals keep growing, the tables
    //  stay at SMALL
    uint64_t before = heard? s_stat (clusters [0].nodes [0],
                                     "beacon.other_cluster"): 0;
    deadline = zclock_mono () + WAIT_MS;
    while (heard && zclock_mono () < deadline
    &&     s_stat (clusters [0].nodes [0], "beacon.other_cluster") <= before)
        s_pace (&clusters [1], 50);
    uint64_t after = s_stat (clusters [0].nodes [0], "beacon.other_cluster");
    size_t sizes [2][SMALL];
    for (int c = 0; c < 2; c++)
        for (size_t i = 0; i < SMALL; i++)
            sizes [c][i] = s_count_members (clusters [c].nodes [i]);
    for (int c = 0; c < 2; c++)
        for (size_t i = 0; i < SMALL; i++)
            rumor_destroy (&clusters [c].nodes [i]);
    assert_true (formed);
    assert_true (heard);
    assert_true (after > before);
    for (int c = 0; c < 2; c++)
        for (size_t i = 0; i < SMALL; i++)
            assert_int_equal (sizes [c][i], SMALL);
}


//  --------------------------------------------------------------------------
//  Ctrl-C: rumor_recv returns NULL once the program is interrupted
//
//  KNOWN BUG (fails until framework/node.c is fixed): rumor_recv_timeout
//  polls the events socket with zmq_poll and relies on EINTR alone. When
//  SIGINT lands while the program is not inside that poll (handling the
//  previous event: czmq's handler only sets zsys_interrupted), or on one
//  of the node's actor threads, the next rumor_recv blocks forever: the
//  README program then never leaves. Seen as a hung "bob" in
//  tests/readme_program.sh. This test sets zsys_interrupted as czmq's
//  handler does, then calls rumor_recv; a watchdog thread kicks the main
//  thread out of the poll (SIGUSR1, no SA_RESTART) after WATCHDOG_MS so
//  the test fails instead of hanging.

//  How long rumor_recv may block once interrupted before the watchdog
//  kicks it: a correct rumor_recv returns at once
#define WATCHDOG_MS 3000

typedef struct {
    pthread_t main;                 //  thread blocked in rumor_recv
    pthread_mutex_t lock;           //  guards returned
    pthread_cond_t cond;            //  signalled when rumor_recv returned
    bool returned;                  //  rumor_recv came back
    bool kicked;                    //  the watchdog had to kick
} s_watchdog_t;

static void
s_ignore (int signum)
{
    (void) signum;
}

static void *
s_watchdog (void *args)
{
    s_watchdog_t *watchdog = (s_watchdog_t *) args;
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += WATCHDOG_MS / 1000;
    pthread_mutex_lock (&watchdog->lock);
    while (!watchdog->returned) {
        if (pthread_cond_timedwait (&watchdog->cond, &watchdog->lock,
                                    &until) != 0) {
            //  Kick until it returns (a kick may land outside the poll)
            watchdog->kicked = true;
            pthread_kill (watchdog->main, SIGUSR1);
            clock_gettime (CLOCK_REALTIME, &until);
            until.tv_sec += 1;
        }
    }
    pthread_mutex_unlock (&watchdog->lock);
    return NULL;
}

//  One node alone in a cluster of its own (beacon off), started and
//  drained of what its start produced
static rumor_t *
s_lone_start (s_cluster_t *lone, const char *name)
{
    memset (lone, 0, sizeof (*lone));
    snprintf (lone->cluster, sizeof (lone->cluster), "node-%s-%d", name,
              (int) getpid ());
    lone->mode = RUMOR_BEACON_OFF;
    lone->beacon_port = s_beacon_port;
    lone->size = 1;
    lone->nodes [0] = s_node_start (lone, 0);
    s_pace (lone, 200);
    return lone->nodes [0];
}

static void
test_recv_returns_null_once_interrupted (void **state)
{
    (void) state;
    s_cluster_t lone;
    s_lone_start (&lone, "lone");

    struct sigaction action, old_action;
    memset (&action, 0, sizeof (action));
    action.sa_handler = s_ignore;   //  no SA_RESTART: the poll gets EINTR
    sigaction (SIGUSR1, &action, &old_action);
    s_watchdog_t watchdog = { .main = pthread_self (), .returned = false };
    pthread_mutex_init (&watchdog.lock, NULL);
    pthread_cond_init (&watchdog.cond, NULL);
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_watchdog, &watchdog), 0);

    //  SIGINT arrived while the program was busy between two calls
    zsys_interrupted = 1;
    int64_t started = zclock_mono ();
    rumor_event_t *event = rumor_recv (lone.nodes [0]);
    int64_t took = zclock_mono () - started;
    pthread_mutex_lock (&watchdog.lock);
    watchdog.returned = true;
    pthread_cond_signal (&watchdog.cond);
    pthread_mutex_unlock (&watchdog.lock);
    pthread_join (thread, NULL);
    sigaction (SIGUSR1, &old_action, NULL);
    pthread_mutex_destroy (&watchdog.lock);
    pthread_cond_destroy (&watchdog.cond);
    zsys_interrupted = 0;
    bool kicked = watchdog.kicked;
    rumor_event_destroy (&event);
    rumor_destroy (&lone.nodes [0]);

    printf ("test_node: rumor_recv returned after %d ms once interrupted%s\n",
            (int) took, kicked? " (only when the watchdog kicked it)": "");
    assert_false (kicked);
    assert_true (took < WATCHDOG_MS);
}

//  Interrupted with an event queued: rumor_recv still returns NULL (a
//  loop over rumor_recv ends on Ctrl-C even while events keep coming),
//  and the event is handed out once the flag is cleared.
static void
test_recv_null_when_interrupted_with_events_queued (void **state)
{
    (void) state;
    s_cluster_t lone;
    rumor_t *node = s_lone_start (&lone, "queued");
    //  Alone, a query ends at once: QUERY_DONE is queued for us
    assert_true (rumor_query (node, "ask.lone", "?", 1, 50) > 0);
    zmq_pollitem_t item = { zsock_resolve (rumor_socket (node)), 0,
                            ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&item, 1, 10000), 1);
    zsys_interrupted = 1;
    rumor_event_t *event = rumor_recv (node);
    zsys_interrupted = 0;
    assert_null (event);
    event = rumor_recv_timeout (node, 10000);
    assert_non_null (event);
    assert_int_equal (rumor_event_type (event), RUMOR_EVENT_QUERY_DONE);
    rumor_event_destroy (&event);
    rumor_destroy (&lone.nodes [0]);
}


int
main (void)
{
    //  16 nodes use ~16 x (ROUTER + 15 DEALERs + monitors + pipes): raise
    //  czmq's limit before the first socket
    zsys_set_max_sockets (16384);
    //  A random high beacon port per run, so parallel runs never mix
    srandom ((unsigned) (getpid () ^ zclock_usecs ()));
    s_beacon_port = 20000 + (int) (random () % 40000);
    printf ("test_node: beacon port %d\n", s_beacon_port);

    const struct CMUnitTest cluster_tests [] = {
        cmocka_unit_test (test_every_node_lists_sixteen_alive),
        cmocka_unit_test (test_pairs_share_one_connection),
        cmocka_unit_test (test_key_set_on_one_is_read_on_all),
        cmocka_unit_test (test_event_said_is_heard_exactly_once_by_each_hearer),
        cmocka_unit_test (test_whisper_reaches_only_its_target),
        cmocka_unit_test (test_query_gets_sixteen_responses_before_its_timeout),
        cmocka_unit_test (test_crashed_node_is_reported_failed_by_all),
        cmocka_unit_test (test_graceful_leave_is_reported_left_never_failed),
        cmocka_unit_test (test_restarted_node_is_accepted_as_a_new_generation),
    };
    const struct CMUnitTest mixing_tests [] = {
        cmocka_unit_test (test_two_clusters_on_one_beacon_port_never_mix),
    };
    const struct CMUnitTest interrupt_tests [] = {
        cmocka_unit_test (test_recv_returns_null_once_interrupted),
        cmocka_unit_test (test_recv_null_when_interrupted_with_events_queued),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name ("beacon", cluster_tests,
                                           s_setup_beacon, s_teardown);
    failed += cmocka_run_group_tests_name ("seed", cluster_tests,
                                           s_setup_seed, s_teardown);
    failed += cmocka_run_group_tests_name ("mixing", mixing_tests, NULL, NULL);
    //  Last: it plays with czmq's process-wide zsys_interrupted
    failed += cmocka_run_group_tests_name ("interrupt", interrupt_tests,
                                           NULL, NULL);
    return failed;
}
