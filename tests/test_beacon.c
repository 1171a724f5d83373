/*  =========================================================================
    test_beacon - beacon discovery over the loopback beacon (and the LAN
    beacon inside network namespaces)

    Real sockets, so every wait is a poll on the beacons' sockets with a
    deadline (s_pump), never a sleep. Each test picks a free random UDP
    port, so runs in parallel do not hear each other. Hostile datagrams
    come from a raw UDP socket sending to 127.255.255.255:port, to a
    listener that does not beacon itself: then every datagram it reads is
    ours, and the counters must move by exactly one.

    LAN mode broadcasts on a real interface, so it runs here only inside
    network namespaces the test creates (as root, with the shared
    netns-lan.sh), in child processes that check they are not in the
    host's namespace before beaconing; otherwise it is skipped. The same
    binary is the child: test_beacon --lan-child I PORT HOST_NETNS, or
    --loopback-child PORT for the cross-process loopback test.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "beacon.h"
#include "prng.h"

extern char **environ;

#define S_CLUSTER_NAME  "test-beacon"
#define S_GENERATION    1700000000000ULL    //  a plausible start time, ms
#define S_TCP_BASE      7000                //  node n listens on 7000 + n
#define S_INTERVAL      100                 //  ms: fast beacons for tests
#define S_WAIT          5000                //  ms: generous bound per wait
#define S_NODES_MAX     4                   //  nodes one pump drives
#define S_HEARD_MAX     8                   //  distinct ids a node records
#define S_PARENT_ID     1                   //  cross-process: the parent
#define S_CHILD_ID      99                  //  cross-process: the child
#define S_NETNS_SCRIPT  RUMOR_SOURCE_DIR "/tests/netns-lan.sh"

static uint64_t s_cluster;
static char s_exe [PATH_MAX];               //  this binary, for children

//  --------------------------------------------------------------------------
//  Helpers: nodes, clock, ports

typedef struct {
    rumor_discovery_t *discovery;
    uint64_t n;                     //  its number (id, TCP port)
    rumor_id_t id;                  //  its own id
    rumor_heard_t heard [S_HEARD_MAX];  //  last beacon per distinct id
    size_t heard_count;             //  entries in heard
} s_node_t;

static int64_t
s_now (void)
{
    return zclock_time ();
}

//  A UDP port nobody has bound on 127.255.255.255: a bind without
//  SO_REUSEADDR fails if any socket holds it.
static int
s_free_port (void)
{
    int port = 20000 + (int) ((zclock_usecs () ^ (getpid () * 7919)) % 40000);
    for (int attempt = 0; attempt < 100; attempt++, port++) {
        if (port > 60000)
            port = 20000;
        int fd = socket (AF_INET, SOCK_DGRAM, 0);
        assert_true (fd >= 0);
        struct sockaddr_in address = { .sin_family = AF_INET,
                                       .sin_port = htons ((uint16_t) port) };
        inet_pton (AF_INET, "127.255.255.255", &address.sin_addr);
        int rc = bind (fd, (struct sockaddr *) &address, sizeof (address));
        close (fd);
        if (rc == 0)
            return port;
    }
    fail_msg ("no free UDP port");
    return -1;
}

//  A loopback cfg for node n of our cluster on port.
static void
s_cfg (rumor_discovery_cfg_t *cfg, int port, uint64_t n)
{
    rumor_discovery_cfg_defaults (cfg);
    cfg->mode = RUMOR_BEACON_LOOPBACK;
    cfg->port = port;
    cfg->interval_ms = S_INTERVAL;
    cfg->cluster = s_cluster;
    rumor_id_from_u64 (&cfg->self, n);
    cfg->generation = S_GENERATION + n;
    cfg->tcp_port = S_TCP_BASE + (int) n;
}

static s_node_t *
s_node_new (const rumor_discovery_cfg_t *cfg)
{
    s_node_t *node = (s_node_t *) zmalloc (sizeof (s_node_t));
    assert_non_null (node);
    node->discovery = rumor_discovery_new (cfg);
    if (!node->discovery)
        fail_msg ("rumor_discovery_new: %s", rumor_discovery_error ());
    node->id = cfg->self;
    node->n = (uint64_t) (cfg->tcp_port - S_TCP_BASE);
    return node;
}

//  Loopback node n of our cluster on port.
static s_node_t *
s_loopback_node (int port, uint64_t n)
{
    rumor_discovery_cfg_t cfg;
    s_cfg (&cfg, port, n);
    return s_node_new (&cfg);
}

static void
s_node_destroy (s_node_t **node_p)
{
    if (*node_p) {
        rumor_discovery_destroy (&(*node_p)->discovery);
        free (*node_p);
        *node_p = NULL;
    }
}

//  What node heard from node n, or NULL.
static const rumor_heard_t *
s_heard (s_node_t *node, uint64_t n)
{
    rumor_id_t id;
    rumor_id_from_u64 (&id, n);
    for (size_t i = 0; i < node->heard_count; i++)
        if (rumor_id_eq (&node->heard [i].id, &id))
            return &node->heard [i];
    return NULL;
}

static void
s_record (s_node_t *node, const rumor_heard_t *heard)
{
    //  The promise under test: a node never reports itself
    assert_false (rumor_id_eq (&heard->id, &node->id));
    for (size_t i = 0; i < node->heard_count; i++)
        if (rumor_id_eq (&node->heard [i].id, &heard->id)) {
            node->heard [i] = *heard;
            return;
        }
    assert_true (node->heard_count < S_HEARD_MAX);
    node->heard [node->heard_count++] = *heard;
}

//  Read what waits on node, at most a burst, as the supervisor does.
static void
s_drain (s_node_t *node, int64_t now)
{
    rumor_heard_t heard;
    for (int i = 0; i < RUMOR_DISCOVERY_BURST; i++) {
        int rc = rumor_discovery_recv (node->discovery, now, &heard);
        if (rc < 0)
            break;
        if (rc == 1)
            s_record (node, &heard);
    }
}

typedef bool (s_done_fn) (s_node_t **nodes, size_t n, void *arg);

//  Drive n nodes like a supervisor (tick them if tick, poll their sockets
//  until the next beacon is due, read) until done or timeout_ms passed.
//  Returns true if done.
static bool
s_pump (s_node_t **nodes, size_t n, bool tick, int64_t timeout_ms,
        s_done_fn *done, void *arg)
{
    assert_true (n <= S_NODES_MAX);
    int64_t deadline = s_now () + timeout_ms;
    while (true) {
        int64_t now = s_now ();
        for (size_t i = 0; i < n; i++)
            s_drain (nodes [i], now);
        if (done (nodes, n, arg))
            return true;
        if (now >= deadline)
            return false;
        int64_t wake = deadline;
        zmq_pollitem_t items [S_NODES_MAX];
        for (size_t i = 0; i < n; i++) {
            if (tick)
                rumor_discovery_tick (nodes [i]->discovery, now);
            int64_t due = rumor_discovery_next_deadline (nodes [i]->discovery);
            if (tick && due >= 0 && due < wake)
                wake = due;
            assert_int_equal (rumor_discovery_pollitem (nodes [i]->discovery,
                                                        &items [i]), 0);
        }
        long timeout = (long) (wake > now? wake - now: 0);
        assert_true (zmq_poll (items, (int) n, timeout) >= 0);
    }
}

//  Done when every node heard every other node, and its own beacon.
static bool
s_all_heard (s_node_t **nodes, size_t n, void *arg)
{
    (void) arg;
    for (size_t i = 0; i < n; i++) {
        if (rumor_discovery_stats (nodes [i]->discovery)->own == 0)
            return false;
        for (size_t j = 0; j < n; j++)
            if (j != i && !s_heard (nodes [i], nodes [j]->n))
                return false;
    }
    return true;
}

//  Done when the first node has read at least *(uint64_t *) arg datagrams.
static bool
s_read_enough (s_node_t **nodes, size_t n, void *arg)
{
    (void) n;
    return rumor_discovery_stats (nodes [0]->discovery)->heard
        >= *(uint64_t *) arg;
}


//  --------------------------------------------------------------------------
//  Helpers: hostile datagrams from a raw socket

static void
s_raw_send (int port, const void *data, size_t size)
{
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    assert_true (fd >= 0);
    int on = 1;
    assert_int_equal (setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &on,
                                  sizeof (on)), 0);
    struct sockaddr_in to = { .sin_family = AF_INET,
                              .sin_port = htons ((uint16_t) port) };
    inet_pton (AF_INET, "127.255.255.255", &to.sin_addr);
    assert_int_equal (sendto (fd, data, size, 0, (struct sockaddr *) &to,
                              sizeof (to)), (ssize_t) size);
    close (fd);
}

//  A valid beacon of node n as a peer would send it now; id is its
//  storage. A test bends one field, then packs it with s_pack_raw.
static void
s_beacon (Rumor__Beacon *beacon, rumor_id_t *id, uint64_t n)
{
    rumor__beacon__init (beacon);
    beacon->version = RUMOR_PROTOCOL_VERSION;
    beacon->cluster = s_cluster;
    rumor_id_from_u64 (id, n);
    beacon->id = rumor_id_bin (id);
    beacon->generation = S_GENERATION + n;
    beacon->port = (uint32_t) (S_TCP_BASE + n);
    beacon->timestamp = (uint64_t) s_now ();
}

//  Pack with protobuf-c itself: the codec would refuse to pack most of
//  what these tests send. Returns the size, which may exceed 255.
static size_t
s_pack_raw (const Rumor__Beacon *beacon, uint8_t *buffer, size_t max)
{
    assert_true (rumor__beacon__get_packed_size (beacon) <= max);
    return rumor__beacon__pack (beacon, buffer);
}

//  Send one datagram to a listener that does not beacon itself, and wait
//  until it has read it. Returns the counters from before.
static rumor_discovery_stats_t
s_inject (s_node_t *listener, int port, const void *data, size_t size)
{
    rumor_discovery_stats_t before =
        *rumor_discovery_stats (listener->discovery);
    s_raw_send (port, data, size);
    uint64_t enough = before.heard + 1;
    assert_true (s_pump (&listener, 1, false, S_WAIT, s_read_enough,
                         &enough));
    return before;
}

#define S_FIELD(name)   offsetof (rumor_discovery_stats_t, name)

//  Every outcome counter: accepted and the refusal reasons
static const size_t s_outcomes [] = {
    S_FIELD (accepted), S_FIELD (oversized), S_FIELD (malformed),
    S_FIELD (other_version), S_FIELD (other_cluster), S_FIELD (own),
    S_FIELD (id_conflict), S_FIELD (bad_port), S_FIELD (bad_time), S_FIELD (bad_endpoint)
};
#define S_OUTCOMES  (sizeof (s_outcomes) / sizeof (s_outcomes [0]))

static uint64_t
s_field (const rumor_discovery_stats_t *stats, size_t offset)
{
    return *(const uint64_t *) ((const char *) stats + offset);
}

//  Inject one datagram and assert that it was read once and that exactly
//  the outcome counter at offset moved, by one.
static void
s_expect (s_node_t *listener, int port, const void *data, size_t size,
          size_t offset)
{
    rumor_discovery_stats_t before = s_inject (listener, port, data, size);
    const rumor_discovery_stats_t *after =
        rumor_discovery_stats (listener->discovery);
    assert_int_equal (after->heard, before.heard + 1);
    for (size_t i = 0; i < S_OUTCOMES; i++)
        assert_int_equal (s_field (after, s_outcomes [i]),
                          s_field (&before, s_outcomes [i])
                          + (s_outcomes [i] == offset? 1: 0));
}

//  Pack a bent beacon and expect it to land on the counter at offset.
static void
s_expect_beacon (s_node_t *listener, int port, const Rumor__Beacon *beacon,
                 size_t offset)
{
    uint8_t buffer [1024];
    size_t size = s_pack_raw (beacon, buffer, sizeof (buffer));
    s_expect (listener, port, buffer, size, offset);
}


//  --------------------------------------------------------------------------
//  Helpers: child processes (the same binary in another role)

static pid_t
s_spawn (char *const argv [], char *const envp [])
{
    pid_t pid;
    int rc = posix_spawnp (&pid, argv [0], NULL, NULL, argv, envp);
    if (rc)
        fail_msg ("cannot spawn %s: %s", argv [0], strerror (rc));
    return pid;
}

//  Wait for a child at most timeout_ms (on its pidfd), killing it after.
//  Returns its exit status, or -1 if it timed out or died of a signal.
static int
s_wait_child (pid_t pid, int64_t timeout_ms)
{
    int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        struct pollfd item = { .fd = pidfd, .events = POLLIN };
        if (poll (&item, 1, (int) timeout_ms) == 0) {
            fprintf (stderr, "test_beacon: child %d timed out, killed\n",
                     (int) pid);
            kill (pid, SIGKILL);
        }
        close (pidfd);
    }
    //  Without pidfds (old kernels) this blocks; children bound their time
    int status;
    if (waitpid (pid, &status, 0) != pid)
        return -1;
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

static int
s_run (char *const argv [], char *const envp [], int64_t timeout_ms)
{
    return s_wait_child (s_spawn (argv, envp), timeout_ms);
}


//  --------------------------------------------------------------------------
//  The usage example: two nodes on one host find each other

static void
test_two_loopback_nodes_hear_each_other (void **state)
{
    (void) state;
    int port = s_free_port ();
    rumor_discovery_cfg_t cfg;
    rumor_discovery_cfg_defaults (&cfg);
    cfg.mode = RUMOR_BEACON_LOOPBACK;
    cfg.port = port;
    cfg.interval_ms = S_INTERVAL;
    cfg.cluster = rumor_cluster_hash (S_CLUSTER_NAME);
    rumor_id_from_u64 (&cfg.self, 1);
    cfg.generation = S_GENERATION + 1;
    cfg.tcp_port = S_TCP_BASE + 1;
    s_node_t *alice = s_node_new (&cfg);
    //  Same port: SO_REUSEPORT lets every node of the host bind it
    s_node_t *bob = s_loopback_node (port, 2);
    assert_string_equal (rumor_discovery_address (alice->discovery),
                         "127.0.0.1");
    assert_int_equal (rumor_discovery_next_deadline (alice->discovery), 0);

    s_node_t *nodes [] = { alice, bob };
    assert_true (s_pump (nodes, 2, true, S_WAIT, s_all_heard, NULL));

    //  Alice heard Bob at his source address and TCP port
    const rumor_heard_t *heard = s_heard (alice, 2);
    rumor_id_t bob_id;
    rumor_id_from_u64 (&bob_id, 2);
    assert_true (rumor_id_eq (&heard->id, &bob_id));
    assert_int_equal (heard->generation, S_GENERATION + 2);
    assert_string_equal (heard->endpoint, "tcp://127.0.0.1:7002");
    assert_string_equal (heard->address, "127.0.0.1");
    assert_string_equal (s_heard (bob, 1)->endpoint, "tcp://127.0.0.1:7001");
    //  Each heard only the other (s_record asserts never itself), and
    //  its own beacons were refused as such, never as errors
    assert_int_equal (alice->heard_count, 1);
    assert_int_equal (bob->heard_count, 1);
    const rumor_discovery_stats_t *stats =
        rumor_discovery_stats (alice->discovery);
    assert_true (stats->sent >= 1);
    assert_int_equal (stats->send_failed, 0);
    assert_true (stats->accepted >= 1);
    assert_true (stats->own >= 1);
    assert_int_equal (rumor_discovery_refused (stats), stats->own);
    assert_int_equal (stats->heard, stats->accepted + stats->own);
    assert_true (rumor_id_eq (
        &rumor_discovery_last_heard (alice->discovery)->id, &bob_id));
    //  The next beacon is one interval after the last tick
    assert_true (rumor_discovery_next_deadline (alice->discovery) > 0);
    s_node_destroy (&alice);
    s_node_destroy (&bob);
}

static void
test_advertised_endpoint_is_reported (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *alice = s_loopback_node (port, 1);
    rumor_discovery_cfg_t cfg;
    s_cfg (&cfg, port, 2);
    cfg.endpoint = "tcp://bob.example.com:9000";
    s_node_t *bob = s_node_new (&cfg);
    s_node_t *nodes [] = { alice, bob };
    assert_true (s_pump (nodes, 2, true, S_WAIT, s_all_heard, NULL));
    assert_string_equal (s_heard (alice, 2)->endpoint,
                         "tcp://bob.example.com:9000");
    assert_string_equal (s_heard (alice, 2)->address, "127.0.0.1");
    s_node_destroy (&alice);
    s_node_destroy (&bob);
}

//  Done when nodes 0 and 1 heard each other and node 2 (another cluster)
//  was refused by both, and refused both.
static bool
s_clusters_apart (s_node_t **nodes, size_t n, void *arg)
{
    (void) n;
    (void) arg;
    return s_all_heard (nodes, 2, NULL)
        && rumor_discovery_stats (nodes [0]->discovery)->other_cluster
        && rumor_discovery_stats (nodes [1]->discovery)->other_cluster
        && rumor_discovery_stats (nodes [2]->discovery)->other_cluster >= 2;
}

static void
test_other_cluster_is_refused_and_counted (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *alice = s_loopback_node (port, 1);
    s_node_t *bob = s_loopback_node (port, 2);
    rumor_discovery_cfg_t cfg;
    s_cfg (&cfg, port, 3);
    cfg.cluster = rumor_cluster_hash ("another");
    s_node_t *carol = s_node_new (&cfg);
    s_node_t *nodes [] = { alice, bob, carol };
    assert_true (s_pump (nodes, 3, true, S_WAIT, s_clusters_apart, NULL));
    assert_null (s_heard (alice, 3));
    assert_null (s_heard (bob, 3));
    assert_int_equal (carol->heard_count, 0);
    assert_int_equal (rumor_discovery_stats (carol->discovery)->accepted, 0);
    s_node_destroy (&alice);
    s_node_destroy (&bob);
    s_node_destroy (&carol);
}

static void
test_other_version_is_refused_and_counted (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *listener = s_loopback_node (port, 1);
    Rumor__Beacon beacon;
    rumor_id_t id;
    s_beacon (&beacon, &id, 2);
    beacon.version = (RUMOR_PROTOCOL_MAJOR + 1) << 16;
    s_expect_beacon (listener, port, &beacon, S_FIELD (other_version));
    //  Another minor version of our major is welcome
    beacon.version = RUMOR_PROTOCOL_VERSION + 7;
    s_expect_beacon (listener, port, &beacon, S_FIELD (accepted));
    s_node_destroy (&listener);
}


//  --------------------------------------------------------------------------
//  Hostile datagrams

static void
test_garbage_is_refused_by_reason (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *listener = s_loopback_node (port, 1);
    uint8_t bytes [512];
    rumor_prng_t prng;
    rumor_prng_seed (&prng, 42);
    for (size_t i = 0; i < sizeof (bytes); i++)
        bytes [i] = (uint8_t) rumor_prng_below (&prng, 256);

    //  Random bytes: refused, whatever the reason
    for (int round = 0; round < 8; round++) {
        size_t size = 1 + rumor_prng_below (&prng, RUMOR_BEACON_MAX);
        rumor_discovery_stats_t before = s_inject (listener, port,
                                                   bytes + round, size);
        const rumor_discovery_stats_t *after =
            rumor_discovery_stats (listener->discovery);
        assert_int_equal (rumor_discovery_refused (after),
                          rumor_discovery_refused (&before) + 1);
        assert_int_equal (after->accepted, 0);
    }
    //  Sizes: 256 and 300 bytes are over the beacon cap, read or not
    s_expect (listener, port, bytes, RUMOR_BEACON_MAX + 1, S_FIELD (oversized));
    s_expect (listener, port, bytes, 300, S_FIELD (oversized));
    //  An empty datagram has protocol version 0
    s_expect (listener, port, bytes, 0, S_FIELD (other_version));

    //  A valid beacon cut short, at each length that breaks a field
    Rumor__Beacon beacon;
    rumor_id_t id;
    s_beacon (&beacon, &id, 2);
    uint8_t packed [RUMOR_BEACON_MAX];
    size_t size = s_pack_raw (&beacon, packed, sizeof (packed));
    s_expect (listener, port, packed, size - 1, S_FIELD (malformed));
    s_expect (listener, port, packed, 20, S_FIELD (malformed));

    //  And the listener still hears a valid beacon afterwards
    s_expect (listener, port, packed, size, S_FIELD (accepted));
    const rumor_heard_t *heard = s_heard (listener, 2);
    assert_non_null (heard);
    assert_string_equal (heard->endpoint, "tcp://127.0.0.1:7002");
    assert_int_equal (heard->generation, S_GENERATION + 2);
    s_node_destroy (&listener);
}

static void
test_bent_beacons_are_refused_by_reason (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *listener = s_loopback_node (port, 1);
    Rumor__Beacon beacon;
    rumor_id_t id;
    char endpoint [301];

    s_beacon (&beacon, &id, 2);
    beacon.port = 0;
    s_expect_beacon (listener, port, &beacon, S_FIELD (bad_port));
    beacon.port = 65536;
    s_expect_beacon (listener, port, &beacon, S_FIELD (bad_port));

    //  A 300-byte endpoint cannot fit in a 255-byte beacon
    s_beacon (&beacon, &id, 2);
    memset (endpoint, 'a', 300);
    memcpy (endpoint, "tcp://", 6);
    memcpy (endpoint + 294, ":9000", 6);
    beacon.endpoint = endpoint;
    s_expect_beacon (listener, port, &beacon, S_FIELD (oversized));

    //  Endpoints that are not tcp://host:port
    const char *bad [] = {
        "http://b:9000", "tcp://b", "tcp://:9000", "tcp://b:0", "tcp://b:65536",
        "tcp://b:9000x", "tcp://b c:9000", "tcp://*:9000", "tcp://[::1:9000",
        "tcp://b:9000\n", "ipc://x"
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        s_beacon (&beacon, &id, 2);
        beacon.endpoint = (char *) bad [i];
        s_expect_beacon (listener, port, &beacon, S_FIELD (bad_endpoint));
    }
    //  An id that is not 16 bytes
    s_beacon (&beacon, &id, 2);
    beacon.id.len = RUMOR_ID_SIZE - 1;
    s_expect_beacon (listener, port, &beacon, S_FIELD (malformed));
    //  Clocks over an hour away, and a zero timestamp
    s_beacon (&beacon, &id, 2);
    beacon.timestamp += RUMOR_DISCOVERY_MAX_SKEW_DFLT + 60000;
    s_expect_beacon (listener, port, &beacon, S_FIELD (bad_time));
    beacon.timestamp = 0;
    s_expect_beacon (listener, port, &beacon, S_FIELD (bad_time));
    //  Another cluster; our own id (our echo, or a node claiming it)
    s_beacon (&beacon, &id, 2);
    beacon.cluster = rumor_cluster_hash ("another");
    s_expect_beacon (listener, port, &beacon, S_FIELD (other_cluster));
    s_beacon (&beacon, &id, 1);
    s_expect_beacon (listener, port, &beacon, S_FIELD (own));
    beacon.generation++;            //  our id, another process
    s_expect_beacon (listener, port, &beacon, S_FIELD (id_conflict));

    //  Good ones: an IPv6 endpoint, then a plain beacon
    s_beacon (&beacon, &id, 3);
    beacon.endpoint = "tcp://[fd77::2]:9000";
    s_expect_beacon (listener, port, &beacon, S_FIELD (accepted));
    assert_string_equal (s_heard (listener, 3)->endpoint,
                         "tcp://[fd77::2]:9000");
    s_beacon (&beacon, &id, 2);
    s_expect_beacon (listener, port, &beacon, S_FIELD (accepted));
    assert_int_equal (listener->heard_count, 2);
    s_node_destroy (&listener);
}

//  The beacon size limit is exact: 255 bytes pass, 256 do not.
static void
test_beacon_size_limit_is_exact (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *listener = s_loopback_node (port, 1);
    Rumor__Beacon beacon;
    rumor_id_t id;
    char endpoint [RUMOR_BEACON_MAX];
    //  Grow the host name until the beacon is exactly 255 bytes
    size_t host = 1;
    for (; host < 200; host++) {
        s_beacon (&beacon, &id, 2);
        snprintf (endpoint, sizeof (endpoint), "tcp://%.*s:9000", (int) host,
                  "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
                  "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
                  "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
                  "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh");
        beacon.endpoint = endpoint;
        if (rumor__beacon__get_packed_size (&beacon) == RUMOR_BEACON_MAX)
            break;
    }
    assert_int_equal (rumor__beacon__get_packed_size (&beacon),
                      RUMOR_BEACON_MAX);
    s_expect_beacon (listener, port, &beacon, S_FIELD (accepted));
    assert_string_equal (s_heard (listener, 2)->endpoint, endpoint);
    //  One more byte of host name
    char longer [RUMOR_BEACON_MAX + 1];
    snprintf (longer, sizeof (longer), "tcp://h%s", endpoint + 6);
    beacon.endpoint = longer;
    assert_int_equal (rumor__beacon__get_packed_size (&beacon),
                      RUMOR_BEACON_MAX + 1);
    s_expect_beacon (listener, port, &beacon, S_FIELD (oversized));
    s_node_destroy (&listener);
}

//  A flood is read a burst at a time, and all of it is counted.
static void
test_flood_is_counted (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *listener = s_loopback_node (port, 1);
    uint8_t junk [64];
    memset (junk, 0xff, sizeof (junk));
    int count = 3 * RUMOR_DISCOVERY_BURST;
    for (int i = 0; i < count; i++)
        s_raw_send (port, junk, sizeof (junk));
    uint64_t enough = (uint64_t) count;
    assert_true (s_pump (&listener, 1, false, S_WAIT, s_read_enough,
                         &enough));
    const rumor_discovery_stats_t *stats =
        rumor_discovery_stats (listener->discovery);
    assert_int_equal (stats->heard, (uint64_t) count);
    assert_int_equal (rumor_discovery_refused (stats), (uint64_t) count);
    s_node_destroy (&listener);
}


//  --------------------------------------------------------------------------
//  Polling

static void
test_zpoller_polls_the_loopback_beacon (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *alice = s_loopback_node (port, 1);
    s_node_t *bob = s_loopback_node (port, 2);
    void *pollable = rumor_discovery_pollable (alice->discovery);
    assert_non_null (pollable);
    zpoller_t *poller = zpoller_new (pollable, NULL);
    assert_non_null (poller);
    assert_null (zpoller_wait (poller, 0));     //  nothing yet

    rumor_discovery_tick (bob->discovery, s_now ());
    assert_ptr_equal (zpoller_wait (poller, S_WAIT), pollable);
    rumor_heard_t heard;
    assert_int_equal (rumor_discovery_recv (alice->discovery, s_now (),
                                            &heard), 1);
    assert_string_equal (heard.endpoint, "tcp://127.0.0.1:7002");
    assert_int_equal (rumor_discovery_recv (alice->discovery, s_now (),
                                            &heard), -1);
    assert_null (zpoller_wait (poller, 0));     //  drained
    zpoller_destroy (&poller);
    s_node_destroy (&alice);
    s_node_destroy (&bob);
}

static void
test_fd_polls_with_poll (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *alice = s_loopback_node (port, 1);
    int fd = rumor_discovery_fd (alice->discovery);
    assert_true (fd >= 0);
    rumor_discovery_tick (alice->discovery, s_now ());
    struct pollfd item = { .fd = fd, .events = POLLIN };
    assert_int_equal (poll (&item, 1, S_WAIT), 1);
    rumor_heard_t heard;
    assert_int_equal (rumor_discovery_recv (alice->discovery, s_now (),
                                            &heard), 0);
    assert_int_equal (rumor_discovery_stats (alice->discovery)->own, 1);
    assert_int_equal (rumor_discovery_stats (alice->discovery)->sent, 1);
    //  A spurious tick sends nothing before the interval
    rumor_discovery_tick (alice->discovery, s_now ());
    assert_int_equal (rumor_discovery_stats (alice->discovery)->sent, 1);
    s_node_destroy (&alice);
}


//  --------------------------------------------------------------------------
//  The why report and the exported counters

//  Done when the first node refused one beacon of another cluster
static bool
s_refused_other_cluster (s_node_t **nodes, size_t n, void *arg)
{
    (void) arg;
    return s_all_heard (nodes, n, NULL)
        && rumor_discovery_stats (nodes [0]->discovery)->other_cluster == 1;
}

static void
test_why_explains_what_happened (void **state)
{
    (void) state;
    int port = s_free_port ();
    char port_text [16];
    snprintf (port_text, sizeof (port_text), ":%d", port);
    s_node_t *alice = s_loopback_node (port, 1);

    char *why = rumor_discovery_why (alice->discovery);
    assert_non_null (strstr (why, "loopback"));
    assert_non_null (strstr (why, port_text));
    assert_non_null (strstr (why, "sent 0"));
    assert_non_null (strstr (why, "no beacon sent yet"));
    assert_non_null (strstr (why, "no beacon heard"));
    zstr_free (&why);

    s_node_t *bob = s_loopback_node (port, 2);
    Rumor__Beacon beacon;
    rumor_id_t id;
    s_beacon (&beacon, &id, 3);
    beacon.cluster = rumor_cluster_hash ("another");
    uint8_t packed [RUMOR_BEACON_MAX];
    s_raw_send (port, packed, s_pack_raw (&beacon, packed, sizeof (packed)));
    s_node_t *nodes [] = { alice, bob };
    assert_true (s_pump (nodes, 2, true, S_WAIT, s_refused_other_cluster,
                         NULL));

    why = rumor_discovery_why (alice->discovery);
    const rumor_discovery_stats_t *stats =
        rumor_discovery_stats (alice->discovery);
    char expect [128];
    snprintf (expect, sizeof (expect), "sent %" PRIu64 " (failed 0), heard %"
              PRIu64 ", accepted %" PRIu64, stats->sent, stats->heard,
              stats->accepted);
    assert_non_null (strstr (why, expect));
    assert_non_null (strstr (why, "other_cluster 1"));
    snprintf (expect, sizeof (expect), "own %" PRIu64, stats->own);
    assert_non_null (strstr (why, expect));
    char hex [RUMOR_ID_HEX];
    rumor_id_t bob_id;
    rumor_id_from_u64 (&bob_id, 2);
    snprintf (expect, sizeof (expect), "last accepted: %s",
              rumor_id_hex (&bob_id, hex));
    assert_non_null (strstr (why, expect));
    assert_non_null (strstr (why, "tcp://127.0.0.1:7002"));
    assert_non_null (strstr (why, "another cluster"));
    assert_null (strstr (why, "no beacon heard"));
    zstr_free (&why);
    s_node_destroy (&alice);
    s_node_destroy (&bob);
}

static void
test_export_names_every_counter (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *alice = s_loopback_node (port, 1);
    rumor_discovery_tick (alice->discovery, s_now ());
    zhash_t *stats = zhash_new ();
    zhash_autofree (stats);
    rumor_discovery_export (alice->discovery, stats);
    assert_int_equal (zhash_size (stats), 13);
    assert_string_equal (zhash_lookup (stats, "beacon.sent"), "1");
    assert_string_equal (zhash_lookup (stats, "beacon.heard"), "0");
    assert_string_equal (zhash_lookup (stats, "beacon.other_cluster"), "0");
    assert_non_null (zhash_lookup (stats, "beacon.bad_endpoint"));
    zhash_destroy (&stats);
    s_node_destroy (&alice);
}


//  --------------------------------------------------------------------------
//  Configuration and modes

static void
test_off_mode_is_inert (void **state)
{
    (void) state;
    rumor_discovery_cfg_t cfg;
    s_cfg (&cfg, 5671, 1);
    cfg.mode = RUMOR_BEACON_OFF;
    rumor_discovery_t *discovery = rumor_discovery_new (&cfg);
    assert_non_null (discovery);
    assert_null (rumor_discovery_pollable (discovery));
    assert_int_equal (rumor_discovery_fd (discovery), -1);
    zmq_pollitem_t item;
    assert_int_equal (rumor_discovery_pollitem (discovery, &item), -1);
    assert_int_equal (rumor_discovery_next_deadline (discovery), -1);
    rumor_discovery_tick (discovery, s_now ());
    rumor_heard_t heard;
    assert_int_equal (rumor_discovery_recv (discovery, s_now (), &heard), -1);
    assert_int_equal (rumor_discovery_stats (discovery)->sent, 0);
    assert_string_equal (rumor_discovery_address (discovery), "");
    char *why = rumor_discovery_why (discovery);
    assert_non_null (strstr (why, "off"));
    assert_non_null (strstr (why, "seeds"));
    zstr_free (&why);
    rumor_discovery_destroy (&discovery);
    rumor_discovery_destroy (&discovery);   //  harmless twice
}

//  new refuses cfg and says why (mentioning needle).
static void
s_expect_refused (const rumor_discovery_cfg_t *cfg, const char *needle)
{
    rumor_discovery_t *discovery = rumor_discovery_new (cfg);
    assert_null (discovery);
    if (!strstr (rumor_discovery_error (), needle))
        fail_msg ("error '%s' does not mention '%s'",
                  rumor_discovery_error (), needle);
}

//  A MAC hook, which new must refuse until MACs are implemented
static int
s_mac (void *arg, const uint8_t *data, size_t size, uint8_t *mac,
       size_t *mac_size)
{
    (void) arg;
    (void) data;
    (void) size;
    (void) mac;
    *mac_size = 0;
    return 0;
}

static void
test_bad_config_is_refused (void **state)
{
    (void) state;
    rumor_discovery_cfg_t cfg;
    int port = s_free_port ();
    char endpoint [300];

    s_cfg (&cfg, 0, 1);
    s_expect_refused (&cfg, "UDP port 0");
    s_cfg (&cfg, 65536, 1);
    s_expect_refused (&cfg, "UDP port 65536");
    s_cfg (&cfg, port, 1);
    cfg.tcp_port = 0;
    s_expect_refused (&cfg, "TCP port 0");
    s_cfg (&cfg, port, 1);
    cfg.interval_ms = 1;
    s_expect_refused (&cfg, "interval");
    s_cfg (&cfg, port, 1);
    cfg.mode = (rumor_beacon_t) 7;
    s_expect_refused (&cfg, "mode");
    s_cfg (&cfg, port, 1);
    cfg.mac = s_mac;
    s_expect_refused (&cfg, "MAC");
    s_cfg (&cfg, port, 1);
    cfg.endpoint = "udp://host:1";
    s_expect_refused (&cfg, "tcp://host:port");
    s_cfg (&cfg, port, 1);
    snprintf (endpoint, sizeof (endpoint), "tcp://%0230d:1", 0);  //  valid
    cfg.endpoint = endpoint;
    s_expect_refused (&cfg, "larger than 255");
    s_cfg (&cfg, port, 1);
    cfg.mode = RUMOR_BEACON_LAN;
    cfg.iface = "";
    s_expect_refused (&cfg, "interface");

    //  And a good one clears the error
    s_cfg (&cfg, port, 1);
    rumor_discovery_t *discovery = rumor_discovery_new (&cfg);
    assert_non_null (discovery);
    assert_string_equal (rumor_discovery_error (), "");
    rumor_discovery_destroy (&discovery);
}

//  LAN mode on an interface that does not exist fails before zbeacon
//  starts: nothing is sent.
static void
test_lan_nonexistent_interface_fails (void **state)
{
    (void) state;
    rumor_discovery_cfg_t cfg;
    s_cfg (&cfg, s_free_port (), 1);
    cfg.mode = RUMOR_BEACON_LAN;
    cfg.iface = "rumornosuch0";
    s_expect_refused (&cfg, "no such network interface 'rumornosuch0'");
}

//  LAN mode on lo: czmq's zbeacon skips lo, so CONFIGURE finds no address
//  and replies an empty host name; we never publish, nothing is sent.
static void
test_lan_interface_zbeacon_cannot_use_fails (void **state)
{
    (void) state;
    if (zsys_ipv6 ()) {
        printf ("      skipped: ZSYS_IPV6 is set, and zbeacon may use lo "
                "over IPv6\n");
        skip ();
    }
    rumor_discovery_cfg_t cfg;
    s_cfg (&cfg, s_free_port (), 1);
    cfg.mode = RUMOR_BEACON_LAN;
    cfg.iface = "lo";
    s_expect_refused (&cfg, "no usable address on interface 'lo'");
}


//  --------------------------------------------------------------------------
//  Across processes

typedef struct {
    pid_t pid;                      //  the child
    int status;                     //  its exit status, -1 while running
} s_child_t;

//  Done when the parent heard the child, and the child (which exits once
//  it heard the parent) is gone.
static bool
s_child_done (s_node_t **nodes, size_t n, void *arg)
{
    (void) n;
    s_child_t *child = (s_child_t *) arg;
    int status;
    if (child->status < 0 && waitpid (child->pid, &status, WNOHANG) == child->pid)
        child->status = WIFEXITED (status)? WEXITSTATUS (status): 128;
    return child->status >= 0 && s_heard (nodes [0], S_CHILD_ID);
}

static void
test_loopback_beacons_cross_processes (void **state)
{
    (void) state;
    int port = s_free_port ();
    s_node_t *parent = s_loopback_node (port, S_PARENT_ID);
    char port_text [16];
    snprintf (port_text, sizeof (port_text), "%d", port);
    char *argv [] = { s_exe, "--loopback-child", port_text, NULL };
    s_child_t child = { s_spawn (argv, environ), -1 };
    bool done = s_pump (&parent, 1, true, 2 * S_WAIT, s_child_done, &child);
    if (child.status < 0)
        child.status = s_wait_child (child.pid, 0);
    assert_true (done);
    assert_int_equal (child.status, 0);
    assert_string_equal (s_heard (parent, S_CHILD_ID)->endpoint,
                         "tcp://127.0.0.1:7099");
    s_node_destroy (&parent);
}

//  The child's side: beacon until the parent is heard, polling the raw
//  descriptor with poll(2) this time.
static int
s_loopback_child (int port)
{
    rumor_discovery_cfg_t cfg;
    s_cfg (&cfg, port, S_CHILD_ID);
    rumor_discovery_t *discovery = rumor_discovery_new (&cfg);
    if (!discovery) {
        fprintf (stderr, "loopback child: %s\n", rumor_discovery_error ());
        return 3;
    }
    s_node_t node = { .discovery = discovery, .n = S_CHILD_ID,
                      .id = cfg.self };
    int64_t deadline = s_now () + 2 * S_WAIT;
    while (!s_heard (&node, S_PARENT_ID) && s_now () < deadline) {
        int64_t now = s_now ();
        rumor_discovery_tick (discovery, now);
        struct pollfd item = { .fd = rumor_discovery_fd (discovery),
                               .events = POLLIN };
        int64_t due = rumor_discovery_next_deadline (discovery);
        poll (&item, 1, (int) (due > now? due - now: 0));
        s_drain (&node, s_now ());
    }
    int rc = s_heard (&node, S_PARENT_ID)? 0: 1;
    if (rc) {
        char *why = rumor_discovery_why (discovery);
        fprintf (stderr, "loopback child: parent not heard\n%s", why);
        zstr_free (&why);
    }
    rumor_discovery_destroy (&discovery);
    return rc;
}


//  --------------------------------------------------------------------------
//  LAN mode, only inside network namespaces made by netns-lan.sh

#define S_LAN_SUBNET    "10.77.0."          //  netns-lan.sh's addresses
#define S_LAN_PORT      5671                //  private namespaces: default

//  Inode of the network namespace at path (a /proc/PID/ns/net), 0 if it
//  cannot be read.
static uint64_t
s_netns (const char *path)
{
    struct stat info;
    return stat (path, &info)? 0: (uint64_t) info.st_ino;
}

//  True if we run in a network namespace other than the test's (host),
//  and, where it is readable (containers may hide it), other than PID 1's.
static bool
s_in_private_netns (uint64_t host)
{
    uint64_t ours = s_netns ("/proc/self/ns/net");
    uint64_t init = s_netns ("/proc/1/ns/net");
    return ours && host && ours != host && ours != init;
}

//  Done when the node heard the other LAN child at its eth0 address.
static bool
s_lan_heard (s_node_t **nodes, size_t n, void *arg)
{
    (void) n;
    uint64_t other = *(uint64_t *) arg;
    const rumor_heard_t *heard = s_heard (nodes [0], other);
    char expect [64];
    snprintf (expect, sizeof (expect), "tcp://" S_LAN_SUBNET "%" PRIu64 ":%"
              PRIu64, other, S_TCP_BASE + other);
    return heard && streq (heard->endpoint, expect);
}

//  Never true: pump for the whole timeout.
static bool
s_never (s_node_t **nodes, size_t n, void *arg)
{
    (void) nodes;
    (void) n;
    (void) arg;
    return false;
}

//  LAN child I (1 or 2) in namespace I: zbeacon on eth0 until the other
//  child is heard, then one more second so that the other hears us too.
//  host is the test's own network namespace, where we must not beacon.
static int
s_lan_child (int index, int port, uint64_t host)
{
    if (!s_in_private_netns (host)) {
        fprintf (stderr, "lan child: refusing to beacon outside a private "
                 "network namespace\n");
        return 2;
    }
    rumor_discovery_cfg_t cfg;
    s_cfg (&cfg, port, (uint64_t) index);
    cfg.mode = RUMOR_BEACON_LAN;
    cfg.iface = "eth0";
    rumor_discovery_t *discovery = rumor_discovery_new (&cfg);
    if (!discovery) {
        fprintf (stderr, "lan child %d: %s\n", index, rumor_discovery_error ());
        return 3;
    }
    s_node_t node = { .discovery = discovery, .n = (uint64_t) index,
                      .id = cfg.self };
    s_node_t *nodes [] = { &node };
    char address [32];
    snprintf (address, sizeof (address), S_LAN_SUBNET "%d", index);
    uint64_t other = (uint64_t) (3 - index);
    bool heard = streq (rumor_discovery_address (discovery), address)
              && s_pump (nodes, 1, true, 2 * S_WAIT, s_lan_heard, &other);
    if (heard)
        s_pump (nodes, 1, true, 1000, s_never, NULL);
    char *why = rumor_discovery_why (discovery);
    fprintf (stderr, "lan child %d: %s\n%s", index, heard? "OK": "FAILED", why);
    zstr_free (&why);
    rumor_discovery_destroy (&discovery);
    return heard? 0: 1;
}

static void
test_lan_beacons_cross_namespaces (void **state)
{
    (void) state;
    const char *script = getenv ("RUMOR_NETNS_LAN");
    if (!script)
        script = S_NETNS_SCRIPT;
    if (geteuid () != 0) {
        printf ("      skipped: LAN mode is tested only inside network "
                "namespaces, which need root (CI runs as root)\n");
        skip ();
    }
    if (access (script, R_OK)) {
        printf ("      skipped: %s not found (set RUMOR_NETNS_LAN)\n", script);
        skip ();
    }
    char prefix [32], prefix_env [64], path_env [4096], ns [2][48];
    snprintf (prefix, sizeof (prefix), "rbcn%d", (int) getpid ());
    snprintf (prefix_env, sizeof (prefix_env), "NETNS_PREFIX=%s", prefix);
    snprintf (path_env, sizeof (path_env), "PATH=%s",
              getenv ("PATH")? getenv ("PATH"): "/usr/sbin:/usr/bin:/sbin:/bin");
    char *envp [] = { path_env, prefix_env, "NODES=2", NULL };
    char *setup [] = { "bash", (char *) script, "setup", NULL };
    char *teardown [] = { "bash", (char *) script, "teardown", NULL };
    if (s_run (setup, envp, 60000) != 0) {
        s_run (teardown, envp, 60000);
        printf ("      skipped: %s setup failed (iproute2, iptables?)\n",
                script);
        skip ();
    }
    char port_text [16], host [24];
    snprintf (port_text, sizeof (port_text), "%d", S_LAN_PORT);
    snprintf (host, sizeof (host), "%" PRIu64, s_netns ("/proc/self/ns/net"));
    pid_t pids [2];
    for (int i = 0; i < 2; i++) {
        snprintf (ns [i], sizeof (ns [i]), "%s-n%d", prefix, i + 1);
        char index [4];
        snprintf (index, sizeof (index), "%d", i + 1);
        char *argv [] = { "ip", "netns", "exec", ns [i], s_exe,
                          "--lan-child", index, port_text, host, NULL };
        pids [i] = s_spawn (argv, envp);
    }
    int status [2];
    for (int i = 0; i < 2; i++)
        status [i] = s_wait_child (pids [i], 4 * S_WAIT);
    s_run (teardown, envp, 60000);
    assert_int_equal (status [0], 0);
    assert_int_equal (status [1], 0);
}


//  --------------------------------------------------------------------------

int
main (int argc, char *argv [])
{
    s_cluster = rumor_cluster_hash (S_CLUSTER_NAME);
    ssize_t size = readlink ("/proc/self/exe", s_exe, sizeof (s_exe) - 1);
    if (size > 0)
        s_exe [size] = 0;
    else
        snprintf (s_exe, sizeof (s_exe), "%s", argv [0]);
    if (argc == 3 && streq (argv [1], "--loopback-child"))
        return s_loopback_child (atoi (argv [2]));
    if (argc == 5 && streq (argv [1], "--lan-child"))
        return s_lan_child (atoi (argv [2]), atoi (argv [3]),
                            strtoull (argv [4], NULL, 10));

    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_two_loopback_nodes_hear_each_other),
        cmocka_unit_test (test_advertised_endpoint_is_reported),
        cmocka_unit_test (test_other_cluster_is_refused_and_counted),
        cmocka_unit_test (test_other_version_is_refused_and_counted),
        cmocka_unit_test (test_garbage_is_refused_by_reason),
        cmocka_unit_test (test_bent_beacons_are_refused_by_reason),
        cmocka_unit_test (test_beacon_size_limit_is_exact),
        cmocka_unit_test (test_flood_is_counted),
        cmocka_unit_test (test_zpoller_polls_the_loopback_beacon),
        cmocka_unit_test (test_fd_polls_with_poll),
        cmocka_unit_test (test_why_explains_what_happened),
        cmocka_unit_test (test_export_names_every_counter),
        cmocka_unit_test (test_off_mode_is_inert),
        cmocka_unit_test (test_bad_config_is_refused),
        cmocka_unit_test (test_lan_nonexistent_interface_fails),
        cmocka_unit_test (test_lan_interface_zbeacon_cannot_use_fails),
        cmocka_unit_test (test_loopback_beacons_cross_processes),
        cmocka_unit_test (test_lan_beacons_cross_namespaces),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
