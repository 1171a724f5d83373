/*  =========================================================================
    test_node_hostile - a live node under bad input keeps working

    Four nodes on tcp://127.0.0.1 find each other through the loopback
    beacon (a random beacon port per run). Node 0 then gets: random bytes,
    a truncated ZMTP greeting and a valid greeting followed by garbage on a
    raw TCP socket; garbage, truncated, empty, multipart and oversized
    frames from a ZeroMQ DEALER; garbage, empty and oversized datagrams on
    its beacon port (127.255.255.255:PORT). Each refusal shows in
    rumor_stats (codec.*, supervisor.*, beacon.*), and afterwards the
    cluster still converges a key and detects a crashed node. Run under
    ASan and valgrind: nothing leaks.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "rumor.h"
#include "supervisor.h"
#include "codec.h"
#include "id.h"

#define NODES       4               //  enough to gossip and to detect
//  Deadline of every wait: generous for valgrind, a healthy run needs
//  well under a second per wait (failure detection: a few seconds)
#define WAIT_MS     60000

typedef struct {
    rumor_t *nodes [NODES];         //  NULL once crashed
    char cluster [48];              //  unique per run
    int beacon_port;                //  loopback beacon's UDP port
    int port;                       //  node 0's TCP port
} s_cluster_t;


//  --------------------------------------------------------------------------
//  Helpers

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

static size_t
s_count_alive (rumor_t *node)
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

//  Read and drop every node's events for up to timeout_ms
static void
s_pace (s_cluster_t *cluster, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (NULL);
    for (size_t i = 0; i < NODES; i++)
        if (cluster->nodes [i])
            zpoller_add (poller, rumor_socket (cluster->nodes [i]));
    zpoller_wait (poller, timeout_ms);
    zpoller_destroy (&poller);
    for (size_t i = 0; i < NODES; i++)
        if (cluster->nodes [i]) {
            rumor_event_t *event;
            while ((event = rumor_recv_timeout (cluster->nodes [i], 0)))
                rumor_event_destroy (&event);
        }
}

//  True once node 0's counter name reaches at least min
static bool
s_wait_stat (s_cluster_t *cluster, const char *name, uint64_t min)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        if (s_stat (cluster->nodes [0], name) >= min)
            return true;
        s_pace (cluster, 20);
    }
    fprintf (stderr, "test_node_hostile: %s stayed at %llu (< %llu)\n", name,
             (unsigned long long) s_stat (cluster->nodes [0], name),
             (unsigned long long) min);
    return false;
}

static void
s_random_bytes (byte *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        data [i] = (byte) (random () & 0xff);
}

//  Connect a raw TCP socket to 127.0.0.1:port, write size bytes, close
static void
s_tcp_send (int port, const void *data, size_t size)
{
    int handle = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (handle >= 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (connect (handle, (struct sockaddr *) &address,
                               sizeof (address)), 0);
    //  The peer may cut us at any byte: errors are fine
    ssize_t rc = send (handle, data, size, MSG_NOSIGNAL);
    (void) rc;
    //  Give the node a chance to answer and cut us: read until it closes
    //  or 500 ms pass (a wait on the peer, not a sleep)
    struct timeval timeout = { 0, 500000 };
    setsockopt (handle, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof (timeout));
    byte buffer [256];
    while (recv (handle, buffer, sizeof (buffer), 0) > 0)
        ;
    close (handle);
}

//  One datagram to 127.255.255.255:port
static void
s_udp_send (int port, const void *data, size_t size)
{
    int handle = socket (AF_INET, SOCK_DGRAM, 0);
    assert_true (handle >= 0);
    int on = 1;
    assert_int_equal (setsockopt (handle, SOL_SOCKET, SO_BROADCAST, &on,
                                  sizeof (on)), 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = inet_addr ("127.255.255.255");
    assert_int_equal (sendto (handle, data, size, 0,
                              (struct sockaddr *) &address, sizeof (address)),
                      (ssize_t) size);
    close (handle);
}


//  --------------------------------------------------------------------------
//  Setup: four nodes through the loopback beacon

static rumor_t *
s_node_start (s_cluster_t *cluster, int index)
{
    char name [64];
    snprintf (name, sizeof (name), "%s-%d", cluster->cluster, index);
    rumor_t *node = rumor_new (name);
    assert_non_null (node);
    assert_int_equal (rumor_set_cluster (node, cluster->cluster), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_set_beacon (node, RUMOR_BEACON_LOOPBACK), RUMOR_OK);
    assert_int_equal (rumor_set_beacon_port (node, cluster->beacon_port),
                      RUMOR_OK);
    assert_int_equal (rumor_set_profile (node, RUMOR_PROFILE_LOCAL), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    return node;
}

static int
s_teardown (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    if (!cluster)
        return 0;
    for (size_t i = 0; i < NODES; i++)
        rumor_destroy (&cluster->nodes [i]);
    free (cluster);
    return 0;
}

static int
s_setup (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) zmalloc (sizeof (s_cluster_t));
    *state = cluster;
    snprintf (cluster->cluster, sizeof (cluster->cluster), "hostile-%d",
              (int) getpid ());
    cluster->beacon_port = 20000 + (int) (random () % 40000);
    for (int i = 0; i < NODES; i++)
        cluster->nodes [i] = s_node_start (cluster, i);
    cluster->port = atoi (strrchr (rumor_endpoint (cluster->nodes [0]), ':') + 1);
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        bool all = true;
        for (int i = 0; i < NODES; i++)
            if (s_count_alive (cluster->nodes [i]) != NODES)
                all = false;
        if (all)
            return 0;
        s_pace (cluster, 50);
    }
    s_teardown (state);
    *state = NULL;
    return -1;
}

//  After the abuse: a key set on node 0 reaches all, and a crashed node 3
//  is reported FAILED by the others
static void
s_assert_cluster_works (s_cluster_t *cluster)
{
    assert_int_equal (rumor_set_str (cluster->nodes [0], "after", "fine", 0),
                      RUMOR_OK);
    int64_t deadline = zclock_mono () + WAIT_MS;
    size_t read = 0;
    while (read < NODES && zclock_mono () < deadline) {
        read = 0;
        for (size_t i = 0; i < NODES; i++) {
            char *value = rumor_get_str (cluster->nodes [i],
                                         rumor_id (cluster->nodes [0]), "after");
            if (value && streq (value, "fine"))
                read++;
            free (value);
        }
        if (read < NODES)
            s_pace (cluster, 20);
    }
    assert_int_equal (read, NODES);

    char crashed [33];
    strcpy (crashed, rumor_id (cluster->nodes [3]));
    rumor_node_crash (&cluster->nodes [3]);
    bool failed [NODES - 1] = { false };
    size_t seen = 0;
    zpoller_t *poller = zpoller_new (NULL);
    for (size_t i = 0; i < NODES - 1; i++)
        zpoller_add (poller, rumor_socket (cluster->nodes [i]));
    deadline = zclock_mono () + WAIT_MS;
    while (seen < NODES - 1 && zclock_mono () < deadline) {
        bool any = false;
        for (size_t i = 0; i < NODES - 1; i++) {
            rumor_event_t *event = rumor_recv_timeout (cluster->nodes [i], 0);
            if (!event)
                continue;
            any = true;
            if (rumor_event_type (event) == RUMOR_EVENT_FAILED
            &&  streq (rumor_event_member (event), crashed) && !failed [i]) {
                failed [i] = true;
                seen++;
            }
            rumor_event_destroy (&event);
        }
        if (!any)
            zpoller_wait (poller, 20);
    }
    zpoller_destroy (&poller);
    assert_int_equal (seen, NODES - 1);
}


//  --------------------------------------------------------------------------
//  Tests

static void
test_raw_tcp_garbage_is_refused_and_the_node_works (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    uint64_t cut = s_stat (cluster->nodes [0], "supervisor.router_disconnects")
                 + s_stat (cluster->nodes [0],
                           "supervisor.router_handshake_failed");
    uint64_t accepted = s_stat (cluster->nodes [0],
                                "supervisor.router_accepted");
    //  Random bytes
    byte noise [4096];
    s_random_bytes (noise, sizeof (noise));
    noise [0] = 0x42;               //  not 0xFF: no ZMTP signature
    s_tcp_send (cluster->port, noise, sizeof (noise));
    //  A ZMTP 3.0 greeting cut short
    byte greeting [64] = { 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0 };
    memcpy (greeting + 12, "NULL", 4);
    s_tcp_send (cluster->port, greeting, 11);
    //  A whole greeting, then garbage instead of the handshake
    memcpy (greeting + 32 + 1, "xx", 2);
    s_random_bytes (greeting + 33, 31);
    greeting [32] = 0x04;           //  a command frame...
    greeting [33] = 0xFF;           //  ... of absurd length
    s_tcp_send (cluster->port, greeting, sizeof (greeting));
    //  Each connection was cut
    assert_true (s_wait_stat (cluster, "supervisor.router_accepted",
                             accepted + 3));
    int64_t deadline = zclock_mono () + WAIT_MS;
    uint64_t now = cut;
    while (now < cut + 3 && zclock_mono () < deadline) {
        now = s_stat (cluster->nodes [0], "supervisor.router_disconnects")
            + s_stat (cluster->nodes [0], "supervisor.router_handshake_failed");
        if (now < cut + 3)
            s_pace (cluster, 20);
    }
    assert_true (now >= cut + 3);
    s_assert_cluster_works (cluster);
}

static void
test_dealer_garbage_frames_are_refused_and_the_node_works (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    rumor_t *target = cluster->nodes [0];
    uint64_t malformed = s_stat (target, "codec.malformed");
    uint64_t refused = s_stat (target, "codec.refused");
    uint64_t bad_frames = s_stat (target, "supervisor.bad_frames");
    uint64_t disconnects = s_stat (target, "supervisor.router_disconnects");

    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert_non_null (dealer);
    zsock_set_linger (dealer, 0);
    zsock_set_identity (dealer, "0123456789abcdef");
    assert_int_equal (zsock_connect (dealer, "tcp://127.0.0.1:%d",
                                     cluster->port), 0);
    //  Random single frames of many sizes
    byte noise [8192];
    for (int i = 0; i < 20; i++) {
        size_t size = 1 + (size_t) (random () % sizeof (noise));
        s_random_bytes (noise, size);
        zframe_t *frame = zframe_new (noise, size);
        zframe_send (&frame, dealer, 0);
    }
    //  A truncated protobuf: field 1, length 100, 3 bytes present
    byte truncated [] = { 0x0A, 100, 1, 2, 3 };
    zframe_t *cut = zframe_new (truncated, sizeof (truncated));
    zframe_send (&cut, dealer, 0);
    //  An empty frame, and a multipart message
    zstr_send (dealer, "");
    zstr_sendx (dealer, "one", "two", NULL);
    //  Counted: each single frame refused by the codec, the multipart by
    //  the supervisor
    assert_true (s_wait_stat (cluster, "codec.refused", refused + 20 + 2));
    assert_true (s_stat (target, "codec.malformed") > malformed);
    assert_true (s_wait_stat (cluster, "supervisor.bad_frames", bad_frames + 1));

    //  An oversized frame: libzmq cuts the connection (ZMQ_MAXMSGSIZE)
    size_t big = RUMOR_FRAME_MAX + 1;
    byte *huge = (byte *) malloc (big);
    assert_non_null (huge);
    memset (huge, 0x55, big);
    zframe_t *frame = zframe_new (huge, big);
    free (huge);
    zframe_send (&frame, dealer, 0);
    assert_true (s_wait_stat (cluster, "supervisor.router_disconnects",
                              disconnects + 1));
    zsock_destroy (&dealer);
    s_assert_cluster_works (cluster);
}

static void
test_beacon_garbage_is_refused_and_the_node_works (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    rumor_t *target = cluster->nodes [0];
    uint64_t malformed = s_stat (target, "beacon.malformed");
    uint64_t oversized = s_stat (target, "beacon.oversized");
    byte noise [1024];
    for (int i = 0; i < 10; i++) {
        size_t size = 1 + (size_t) (random () % RUMOR_BEACON_MAX);
        s_random_bytes (noise, size);
        noise [0] = 0x0A;           //  looks like a protobuf field
        s_udp_send (cluster->beacon_port, noise, size);
    }
    s_udp_send (cluster->beacon_port, "", 0);
    s_random_bytes (noise, sizeof (noise));
    s_udp_send (cluster->beacon_port, noise, sizeof (noise));
    //  Every node on the port hears them; node 0 counts
    assert_true (s_wait_stat (cluster, "beacon.malformed", malformed + 1));
    assert_true (s_wait_stat (cluster, "beacon.oversized", oversized + 1));
    s_assert_cluster_works (cluster);
}


//  A sealed Ping from a stranger (a DEALER of our own), to node 0
static void
s_send_ping (zsock_t *dealer, s_cluster_t *cluster, const rumor_id_t *from,
             const rumor_id_t *target, uint64_t probe, uint64_t sent_at)
{
    Rumor__Ping ping = RUMOR__PING__INIT;
    ping.probe = probe;
    ping.target = rumor_id_bin (target);
    ping.sent_at = sent_at;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PING;
    body.ping = &ping;
    uint8_t packed [128];
    assert_true (rumor__envelope__get_packed_size (&body) <= sizeof (packed));
    size_t size = rumor__envelope__pack (&body, packed);
    rumor_header_t header = {
        .cluster = rumor_cluster_hash (cluster->cluster), .sender = *from,
        .generation = 1, .seq = probe, .target = *target
    };
    zframe_t *frame = rumor_codec_seal (&header, NULL, 0, packed, size);
    assert_non_null (frame);
    assert_int_equal (zframe_send (&frame, dealer, 0), 0);
}

//  The next frame on dealer within WAIT_MS, decoded, or NULL
static Rumor__Envelope *
s_recv_envelope (zsock_t *dealer, s_cluster_t *cluster)
{
    zpoller_t *poller = zpoller_new (dealer, NULL);
    void *ready = zpoller_wait (poller, WAIT_MS);
    zpoller_destroy (&poller);
    if (ready != dealer)
        return NULL;
    zframe_t *frame = zframe_recv (dealer);
    assert_non_null (frame);
    Rumor__Envelope *env = rumor_codec_decode (
        zframe_data (frame), zframe_size (frame),
        rumor_cluster_hash (cluster->cluster), NULL);
    zframe_destroy (&frame);
    return env;
}

//  A Ping is answered where it arrives (the supervisor), by id, so even a
//  stranger the node knows no endpoint for gets its Ack back through the
//  ROUTER; a Ping meant for another member is counted and not answered.
static void
test_ping_is_acked_and_a_stale_one_is_counted (void **state)
{
    s_cluster_t *cluster = (s_cluster_t *) *state;
    rumor_t *target = cluster->nodes [0];
    rumor_id_t node_id, stranger, other;
    assert_int_equal (rumor_id_from_hex (&node_id, rumor_id (target)), 0);
    rumor_id_from_name (&stranger, "a stranger");
    rumor_id_from_name (&other, "somebody else");
    uint64_t answered = s_stat (target, "supervisor.pings_answered");
    uint64_t wrong = s_stat (target, "supervisor.ping_wrong_target");

    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert_non_null (dealer);
    zsock_set_linger (dealer, 0);
    assert_int_equal (zsock_connect (dealer, "tcp://127.0.0.1:%d",
                                     cluster->port), 0);
    s_send_ping (dealer, cluster, &stranger, &node_id, 4242, 987654321);
    Rumor__Envelope *env = s_recv_envelope (dealer, cluster);
    assert_non_null (env);
    assert_int_equal (env->body_case, RUMOR__ENVELOPE__BODY_ACK);
    assert_true (rumor_id_eq_bin (&node_id, env->sender));
    assert_true (env->ack->probe == 4242);
    assert_true (env->ack->echo == 987654321);
    assert_true (rumor_id_eq_bin (&node_id, env->ack->target));
    rumor_codec_free (&env);
    assert_true (s_stat (target, "supervisor.pings_answered") > answered);

    //  Stale: meant for another id. Nothing comes back; then a good Ping
    //  (sent after it on the same connection) is answered, so the first
    //  was read and refused, not still in flight
    s_send_ping (dealer, cluster, &stranger, &other, 4243, 1);
    s_send_ping (dealer, cluster, &stranger, &node_id, 4244, 2);
    env = s_recv_envelope (dealer, cluster);
    assert_non_null (env);
    assert_int_equal (env->body_case, RUMOR__ENVELOPE__BODY_ACK);
    assert_true (env->ack->probe == 4244);
    rumor_codec_free (&env);
    assert_int_equal (s_stat (target, "supervisor.ping_wrong_target"),
                      wrong + 1);
    zsock_destroy (&dealer);
    s_assert_cluster_works (cluster);
}


int
main (void)
{
    zsys_set_max_sockets (8192);
    srandom ((unsigned) (getpid () ^ zclock_usecs ()));
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (
            test_raw_tcp_garbage_is_refused_and_the_node_works,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_dealer_garbage_frames_are_refused_and_the_node_works,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_beacon_garbage_is_refused_and_the_node_works,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_ping_is_acked_and_a_stale_one_is_counted,
            s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
