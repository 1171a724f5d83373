/*  =========================================================================
    test_pipeline - rumor_say/rumor_whisper queue without waiting, and lose
    nothing on the way to the wire

    say and whisper return once the message is queued (rumor.h). What the
    program relies on: a burst far larger than every queue between it and
    the peer (max-queue set to its minimum, 16) arrives whole and in order,
    because full queues block the caller instead of dropping; an error
    found after the call returned is counted in rumor_stats; a peer that
    died does not block its sender for ever, nor hold back the others.
    Real nodes on tcp://127.0.0.1, beacon off; the receiver reads its
    events in a thread of its own, as a program would. Every wait has a
    deadline; nothing sleeps.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>
#include <inttypes.h>
#include "rumor.h"
#include "supervisor.h"

//  Deadline of every wait (generous: ASan and valgrind are slow)
#define WAIT_MS     30000
//  Messages in a burst: hundreds of times max-queue
#define BURST       20000
//  The smallest max-queue (rumor_limits.h): queues fill at once
#define QUEUE       16

//  A node on 127.0.0.1, beacon off, max-queue QUEUE, joining seed if any
static rumor_t *
s_node_start (const char *cluster, const char *name, const char *seed)
{
    rumor_t *node = rumor_new (name);
    assert_non_null (node);
    assert_int_equal (rumor_set_cluster (node, cluster), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_set_beacon (node, RUMOR_BEACON_OFF), RUMOR_OK);
    assert_int_equal (rumor_set_profile (node, RUMOR_PROFILE_LOCAL), RUMOR_OK);
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_QUEUE, QUEUE),
                      RUMOR_OK);
    if (seed)
        assert_int_equal (rumor_join (node, seed), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    return node;
}

static void
s_cluster_name (char *cluster, size_t size, const char *test)
{
    snprintf (cluster, size, "%s-%d-%" PRId64, test, (int) getpid (),
              zclock_usecs () % 100000);
}

static size_t
s_alive (rumor_t *node)
{
    zlistx_t *members = rumor_members (node);
    assert_non_null (members);
    size_t count = 0;
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members))
        if (member->state == RUMOR_STATE_ALIVE)
            count++;
    rumor_members_destroy (&members);
    return count;
}

//  True once every node lists n members alive
static bool
s_wait_alive (rumor_t **nodes, int count, size_t n)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        bool all = true;
        for (int i = 0; i < count; i++)
            if (s_alive (nodes [i]) != n)
                all = false;
        if (all)
            return true;
        rumor_event_t *event = rumor_recv_timeout (nodes [0], 20);
        rumor_event_destroy (&event);   //  paces the loop
    }
    return false;
}

//  A counter of rumor_stats, 0 if absent
static uint64_t
s_stat (rumor_t *node, const char *name)
{
    zhash_t *stats = rumor_stats (node);
    assert_non_null (stats);
    const char *value = (const char *) zhash_lookup (stats, name);
    uint64_t number = value? strtoull (value, NULL, 10): 0;
    zhash_destroy (&stats);
    return number;
}

//  The receiving program: counts events of one type and topic, checking
//  that payload i is the number i (in order), until it has expect of them
//  or the deadline passes.
typedef struct {
    rumor_t *node;                  //  used by the thread alone meanwhile
    rumor_event_type_t type;        //  what to count
    const char *topic;              //  on this topic
    uint32_t expect;                //  how many
    uint32_t received;              //  result: how many arrived
    uint32_t out_of_order;          //  result: payloads not in sequence
} s_receiver_t;

static void *
s_receiver (void *args)
{
    s_receiver_t *self = (s_receiver_t *) args;
    int64_t deadline = zclock_mono () + WAIT_MS;
    int64_t left;
    while (self->received < self->expect
       && (left = deadline - zclock_mono ()) > 0) {
        rumor_event_t *event = rumor_recv_timeout (self->node, (int) left);
        if (event && rumor_event_type (event) == self->type
        &&  streq (rumor_event_topic (event), self->topic)) {
            uint32_t number = 0;
            if (rumor_event_size (event) == sizeof (number))
                memcpy (&number, rumor_event_data (event), sizeof (number));
            if (number != self->received)
                self->out_of_order++;
            self->received++;
        }
        rumor_event_destroy (&event);
    }
    return NULL;
}

//  A whispered burst arrives whole and in order, through queues of 16
static void
test_whisper_burst_arrives_whole_and_in_order (void **state)
{
    (void) state;
    char cluster [64];
    s_cluster_name (cluster, sizeof (cluster), "pipe-whisper");
    rumor_t *nodes [2];
    nodes [0] = s_node_start (cluster, "sender", NULL);
    nodes [1] = s_node_start (cluster, "receiver", rumor_endpoint (nodes [0]));
    assert_true (s_wait_alive (nodes, 2, 2));

    s_receiver_t receiver = { nodes [1], RUMOR_EVENT_DIRECT, "burst", BURST,
                              0, 0 };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_receiver, &receiver), 0);
    uint32_t refused = 0;
    for (uint32_t i = 0; i < BURST; i++)
        if (rumor_whisper (nodes [0], "receiver", "burst", &i, sizeof (i)))
            refused++;
    pthread_join (thread, NULL);
    assert_int_equal (refused, 0);
    assert_int_equal (receiver.received, BURST);
    assert_int_equal (receiver.out_of_order, 0);
    //  The queues were full (else this test proves nothing), and nothing
    //  was dropped at the link
    assert_true (s_stat (nodes [0], "supervisor.app_queued")
               + s_stat (nodes [0], "supervisor.pipe_paused") > 0);
    assert_int_equal (s_stat (nodes [0], "supervisor.app_dropped"), 0);
    assert_int_equal (s_stat (nodes [1], "supervisor.dropped_actor"), 0);
    rumor_destroy (&nodes [1]);
    rumor_destroy (&nodes [0]);
}

//  Events said in a burst are heard whole and in order by another node
static void
test_say_burst_is_heard_whole_and_in_order (void **state)
{
    (void) state;
    char cluster [64];
    s_cluster_name (cluster, sizeof (cluster), "pipe-say");
    rumor_t *nodes [2];
    nodes [0] = s_node_start (cluster, "sayer", NULL);
    nodes [1] = s_node_start (cluster, "hearer", rumor_endpoint (nodes [0]));
    assert_int_equal (rumor_hear (nodes [1], "bench.#"), RUMOR_OK);
    assert_true (s_wait_alive (nodes, 2, 2));

    s_receiver_t receiver = { nodes [1], RUMOR_EVENT_HEARD, "bench.say",
                              BURST / 4, 0, 0 };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_receiver, &receiver), 0);
    uint32_t refused = 0;
    for (uint32_t i = 0; i < BURST / 4; i++)
        if (rumor_say (nodes [0], "bench.say", &i, sizeof (i)))
            refused++;
    pthread_join (thread, NULL);
    assert_int_equal (refused, 0);
    assert_int_equal (receiver.received, BURST / 4);
    assert_int_equal (receiver.out_of_order, 0);
    assert_int_equal (s_stat (nodes [0], "supervisor.app_dropped"), 0);
    rumor_destroy (&nodes [1]);
    rumor_destroy (&nodes [0]);
}

//  What say and whisper can check, they refuse at once; what only the
//  node finds later is counted
static void
test_errors_are_refused_or_counted (void **state)
{
    (void) state;
    char cluster [64];
    s_cluster_name (cluster, sizeof (cluster), "pipe-errors");
    rumor_t *node = s_node_start (cluster, "alone", NULL);
    assert_int_equal (rumor_say (node, "a.*", "x", 1), RUMOR_EINVAL);
    assert_int_equal (rumor_say (node, "a..b", "x", 1), RUMOR_EINVAL);
    assert_int_equal (rumor_say (node, "$rumor.keys", "x", 1), RUMOR_EINVAL);
    assert_int_equal (rumor_whisper (node, "nobody", "t", "x", 1),
                      RUMOR_ENOTFOUND);
    assert_int_equal (rumor_whisper (node, "", "t", "x", 1), RUMOR_EINVAL);
    //  A member id nobody has: queued, then refused by the node, counted
    const char *stranger = "0123456789abcdef0123456789abcdef";
    assert_int_equal (rumor_whisper (node, stranger, "t", "x", 1), RUMOR_OK);
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (s_stat (node, "app.refused_unknown_target") == 0
       &&  zclock_mono () < deadline) {
        rumor_event_t *event = rumor_recv_timeout (node, 10);
        rumor_event_destroy (&event);   //  paces the loop
    }
    assert_int_equal (s_stat (node, "app.refused_unknown_target"), 1);
    //  Messages said before are handled before a later call (one pipe)
    assert_int_equal (rumor_hear (node, "self.#"), RUMOR_OK);
    assert_int_equal (rumor_say (node, "self.x", "y", 1), RUMOR_OK);
    rumor_event_t *event = NULL;
    deadline = zclock_mono () + WAIT_MS;
    while (!event && zclock_mono () < deadline) {
        event = rumor_recv_timeout (node, 100);
        if (event && rumor_event_type (event) != RUMOR_EVENT_HEARD)
            rumor_event_destroy (&event);
    }
    assert_non_null (event);
    assert_string_equal (rumor_event_topic (event), "self.x");
    rumor_event_destroy (&event);
    rumor_destroy (&node);
    //  Stopped: refused at once
    node = rumor_new ("stopped");
    assert_int_equal (rumor_say (node, "t", "x", 1), RUMOR_ESTATE);
    assert_int_equal (rumor_whisper (node, stranger, "t", "x", 1),
                      RUMOR_ESTATE);
    rumor_destroy (&node);
}

//  A burst to a peer that died does not hold its sender for ever: the
//  calls return, the loss is counted, and the sender still reaches others
static void
test_dead_peer_does_not_block_the_sender (void **state)
{
    (void) state;
    char cluster [64];
    s_cluster_name (cluster, sizeof (cluster), "pipe-dead");
    rumor_t *nodes [3];
    nodes [0] = s_node_start (cluster, "sender", NULL);
    nodes [1] = s_node_start (cluster, "victim", rumor_endpoint (nodes [0]));
    nodes [2] = s_node_start (cluster, "other", rumor_endpoint (nodes [0]));
    assert_true (s_wait_alive (nodes, 3, 3));
    char victim [33];
    snprintf (victim, sizeof (victim), "%s", rumor_id (nodes [1]));
    //  The victim dies without a word (its sockets close, LINGER 0): the
    //  sender's link to it fills and moves no more
    rumor_node_crash (&nodes [1]);
    uint32_t ok = 0;
    for (uint32_t i = 0; i < BURST / 4; i++)
        if (rumor_whisper (nodes [0], victim, "lost", &i, sizeof (i)) == RUMOR_OK)
            ok++;
    assert_int_equal (ok, BURST / 4);
    //  Every message is accounted for: sent before the link broke, dropped
    //  at the link, or refused once the victim was known dead
    uint64_t whispered = s_stat (nodes [0], "app.whispered");
    uint64_t refused = s_stat (nodes [0], "app.refused_unknown_target");
    assert_true (whispered + refused >= BURST / 4);
    //  The sender still reaches the living
    s_receiver_t receiver = { nodes [2], RUMOR_EVENT_DIRECT, "alive", 100,
                              0, 0 };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_receiver, &receiver), 0);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal (rumor_whisper (nodes [0], "other", "alive", &i,
                                         sizeof (i)), RUMOR_OK);
    pthread_join (thread, NULL);
    assert_int_equal (receiver.received, 100);
    rumor_destroy (&nodes [2]);
    rumor_destroy (&nodes [0]);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_whisper_burst_arrives_whole_and_in_order),
        cmocka_unit_test (test_say_burst_is_heard_whole_and_in_order),
        cmocka_unit_test (test_errors_are_refused_or_counted),
        cmocka_unit_test (test_dead_peer_does_not_block_the_sender),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
