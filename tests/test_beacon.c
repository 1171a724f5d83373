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
#include <sodium.h>
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
    S_FIELD (id_conflict), S_FIELD (bad_port), S_FIELD (bad_time),
    S_FIELD (bad_endpoint), S_FIELD (unsigned_), S_FIELD (bad_mac),
    S_FIELD (replayed)
};
#define S_OUTCOMES  (sizeof (s_outcomes) / sizeof (s_outcomes [0]))

static uint64_t
s_field (const rumor_discovery_stats_t *stats, size_t offset)
{
    return *(const uint64_t *) ((const char *) stats + offset);
}

//  Assert that one datagram was read between before and after, and that
//  exactly the outcome counter at offset moved, by one.
static void
s_assert_moved (const rumor_discovery_stats_t *before,
                const rumor_discovery_stats_t *after, size_t offset)
{
    assert_int_equal (after->heard, before->heard + 1);
    for (size_t i = 0; i < S_OUTCOMES; i++)
        if (s_field (after, s_outcomes [i])
        !=  s_field (before, s_outcomes [i])
            + (s_outcomes [i] == offset? 1: 0))
            fail_msg ("outcome counter %zu moved by %" PRId64 " (expected "
                      "the one at %zu to move)", s_outcomes [i],
                      (int64_t) (s_field (after, s_outcomes [i])
                                 - s_field (before, s_outcomes [i])), offset);
}

//  Inject one datagram and assert that it was read once and that exactly
//  the outcome counter at offset moved, by one.
static void
s_expect (s_node_t *listener, int port, const void *data, size_t size,
          size_t offset)
{
    rumor_discovery_stats_t before = s_inject (listener, port, data, size);
    s_assert_moved (&before, rumor_discovery_stats (listener->discovery),
                    offset);
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
//  The interval can change while running (the supervisor slows its beacon
//  once settled): the next beacon comes at most one new interval later,
//  and an interval out of range changes nothing
static void
test_interval_changes_take_effect (void **state)
{
    (void) state;
    rumor_discovery_cfg_t cfg;
    rumor_discovery_cfg_defaults (&cfg);
    cfg.mode = RUMOR_BEACON_LOOPBACK;
    cfg.port = s_free_port ();
    cfg.interval_ms = 250;
    cfg.cluster = rumor_cluster_hash (S_CLUSTER_NAME);
    rumor_id_from_u64 (&cfg.self, 1);
    cfg.generation = S_GENERATION + 1;
    cfg.tcp_port = S_TCP_BASE + 1;
    rumor_discovery_t *discovery = rumor_discovery_new (&cfg);
    assert_non_null (discovery);
    int64_t now = 1000000;
    rumor_discovery_tick (discovery, now);
    assert_int_equal (rumor_discovery_next_deadline (discovery), now + 250);
    //  Slower: the beacon already due stays due, the next ones are slower
    assert_int_equal (rumor_discovery_set_interval (discovery, 2000, now), 0);
    assert_int_equal (rumor_discovery_next_deadline (discovery), now + 250);
    rumor_discovery_tick (discovery, now + 250);
    assert_int_equal (rumor_discovery_next_deadline (discovery), now + 2250);
    //  Faster: due within the new interval
    assert_int_equal (rumor_discovery_set_interval (discovery, 100, now + 300), 0);
    assert_int_equal (rumor_discovery_next_deadline (discovery), now + 400);
    //  Out of range: refused, nothing changed
    assert_int_equal (rumor_discovery_set_interval (
        discovery, RUMOR_DISCOVERY_INTERVAL_MIN - 1, now + 300), -1);
    assert_int_equal (rumor_discovery_next_deadline (discovery), now + 400);
    assert_int_equal (rumor_discovery_stats (discovery)->sent, 2);
    rumor_discovery_destroy (&discovery);
}

//  The supervisor's pacing: fast while alone or settling; once settled the
//  cluster shares the beacon, so what a host hears stays about
//  RUMOR_DISCOVERY_SHARE beacons per slow interval as the cluster grows
static void
test_paced_interval_is_shared_by_the_cluster (void **state)
{
    (void) state;
    const int64_t slow = RUMOR_DISCOVERY_SLOW_MS;
    //  Alone or not settled yet: the configured interval, LOCAL or LAN
    assert_int_equal (rumor_discovery_paced (250, 0, true), 250);
    assert_int_equal (rumor_discovery_paced (250, 63, false), 250);
    assert_int_equal (rumor_discovery_paced (1000, 0, false), 1000);
    //  Settled, a cluster of up to SHARE nodes: the slow interval
    assert_int_equal (rumor_discovery_paced (250, 1, true), slow);
    assert_int_equal (rumor_discovery_paced (250, RUMOR_DISCOVERY_SHARE - 1,
                                             true), slow);
    //  Larger: n nodes together send about SHARE per slow interval
    for (size_t n = 2; n <= 4096; n *= 2) {
        int64_t interval = rumor_discovery_paced (250, n - 1, true);
        double per_slow = (double) n * (double) slow / (double) interval;
        if (interval < RUMOR_DISCOVERY_SHARED_MAX_MS) {
            assert_true (per_slow <= RUMOR_DISCOVERY_SHARE);
            assert_true (n < RUMOR_DISCOVERY_SHARE
                      || per_slow > RUMOR_DISCOVERY_SHARE / 2);
        }
    }
    assert_int_equal (rumor_discovery_paced (250, 63, true), 8 * slow);
    //  Capped, however large the cluster
    assert_int_equal (rumor_discovery_paced (250, 1000000, true),
                      RUMOR_DISCOVERY_SHARED_MAX_MS);
    assert_int_equal (rumor_discovery_paced (250, SIZE_MAX, true),
                      RUMOR_DISCOVERY_SHARED_MAX_MS);
    //  A configured interval slower than both is never sped up
    assert_int_equal (rumor_discovery_paced (90000, 5, true), 90000);
    assert_int_equal (rumor_discovery_paced (90000, 5000, true), 90000);
    assert_int_equal (rumor_discovery_paced (5000, 15, true), 10000);
}


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
    assert_int_equal (zhash_size (stats), 16);
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
    s_cfg (&cfg, port, 1);
    cfg.replay_window_ms = RUMOR_DISCOVERY_REPLAY_WINDOW_MIN - 1;
    s_expect_refused (&cfg, "replay window 999 ms");
    uint8_t keys [(RUMOR_DISCOVERY_KEYS_MAX + 1) * RUMOR_DISCOVERY_KEY_SIZE];
    memset (keys, 1, sizeof (keys));
    s_cfg (&cfg, port, 1);
    cfg.keys = keys;
    cfg.n_keys = RUMOR_DISCOVERY_KEYS_MAX + 1;
    s_expect_refused (&cfg, "9 keys, at most 8");
    s_cfg (&cfg, port, 1);
    cfg.n_keys = 1;
    s_expect_refused (&cfg, "no key bytes");

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
//  Signed beacons. Most of these run on an explicit clock: discoveries in
//  OFF mode (no socket) make beacons (rumor_discovery_beacon) and judge
//  them (rumor_discovery_accept); the loopback ones use real UDP.

#define S_NOW           1750000000000LL     //  explicit clock, ms
#define S_WINDOW        RUMOR_DISCOVERY_REPLAY_WINDOW_DFLT
#define S_KEY           RUMOR_DISCOVERY_KEY_SIZE
#define S_NO_KEYS       NULL, 0             //  s_offline: no secret

//  First place of needle in data, or NULL (memmem is a GNU extension).
static uint8_t *
s_find (uint8_t *data, size_t size, const char *needle, size_t length)
{
    for (size_t i = 0; i + length <= size; i++)
        if (memcmp (data + i, needle, length) == 0)
            return data + i;
    return NULL;
}

//  Test key number which, as secret.c would derive one (any 32 bytes do)
static void
s_key (uint8_t key [S_KEY], int which)
{
    char seed [32];
    snprintf (seed, sizeof (seed), "test key %d", which);
    assert_int_equal (crypto_generichash (key, S_KEY, (uint8_t *) seed,
                                          strlen (seed), NULL, 0), 0);
}

//  Keys number which [0..n) into storage; returns storage.
static uint8_t *
s_keys (uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY], const int *which,
        size_t n)
{
    assert_true (n <= RUMOR_DISCOVERY_KEYS_MAX);
    for (size_t i = 0; i < n; i++)
        s_key (storage + i * S_KEY, which [i]);
    return storage;
}

//  A cfg for node n with keys number which [0..n_keys); the key bytes live
//  in storage.
static void
s_keyed_cfg (rumor_discovery_cfg_t *cfg, int port, uint64_t n,
             uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY],
             const int *which, size_t n_keys)
{
    s_cfg (cfg, port, n);
    cfg->keys = n_keys? s_keys (storage, which, n_keys): NULL;
    cfg->n_keys = n_keys;
}

//  A discovery for node n that never touches the network (mode OFF), with
//  keys number which [0..n_keys) and an advertised endpoint (or NULL).
//  The key bytes are wiped after new: it must have copied them.
static rumor_discovery_t *
s_offline (uint64_t n, const int *which, size_t n_keys, const char *endpoint)
{
    rumor_discovery_cfg_t cfg;
    uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY];
    s_keyed_cfg (&cfg, RUMOR_DISCOVERY_PORT_DFLT, n, storage, which, n_keys);
    cfg.mode = RUMOR_BEACON_OFF;
    cfg.endpoint = endpoint;
    rumor_discovery_t *discovery = rumor_discovery_new (&cfg);
    if (!discovery)
        fail_msg ("rumor_discovery_new: %s", rumor_discovery_error ());
    memset (storage, 0, sizeof (storage));
    return discovery;
}

//  The same, in loopback mode on a free port (for its why report, which in
//  OFF mode only says "off"); it never ticks, so it sends nothing.
static rumor_discovery_t *
s_silent (uint64_t n, const int *which, size_t n_keys)
{
    rumor_discovery_cfg_t cfg;
    uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY];
    s_keyed_cfg (&cfg, s_free_port (), n, storage, which, n_keys);
    rumor_discovery_t *discovery = rumor_discovery_new (&cfg);
    if (!discovery)
        fail_msg ("rumor_discovery_new: %s", rumor_discovery_error ());
    memset (storage, 0, sizeof (storage));
    return discovery;
}

//  Offer one datagram from 127.0.0.1 to listener at now_ms and assert that
//  exactly the outcome counter at offset moved. Returns accept's verdict.
static int
s_offer (rumor_discovery_t *listener, int64_t now_ms, const void *data,
         size_t size, size_t offset)
{
    rumor_discovery_stats_t before = *rumor_discovery_stats (listener);
    rumor_heard_t heard;
    int rc = rumor_discovery_accept (listener, now_ms, data, size,
                                     "127.0.0.1", &heard);
    s_assert_moved (&before, rumor_discovery_stats (listener), offset);
    assert_int_equal (rc, offset == S_FIELD (accepted)? 1: 0);
    return rc;
}

static void
s_offer_frame (rumor_discovery_t *listener, int64_t now_ms, zframe_t *frame,
               size_t offset)
{
    s_offer (listener, now_ms, zframe_data (frame), zframe_size (frame),
             offset);
}

//  Offer sender's beacon stamped timestamp to listener at now_ms.
static void
s_offer_beacon (rumor_discovery_t *listener, int64_t now_ms,
                rumor_discovery_t *sender, int64_t timestamp, size_t offset)
{
    zframe_t *frame = rumor_discovery_beacon (sender, (uint64_t) timestamp);
    s_offer_frame (listener, now_ms, frame, offset);
    zframe_destroy (&frame);
}

//  Sign a beacon as beacon.h specifies it, independently of beacon.c: the
//  beacon packed without mac, then field 8 (0x42, length 32) holding the
//  keyed BLAKE2b-256 of those bytes under key number which. Returns the
//  size.
static size_t
s_sign_raw (const Rumor__Beacon *beacon, int which, uint8_t *buffer,
            size_t max)
{
    Rumor__Beacon copy = *beacon;
    copy.mac.len = 0;
    copy.mac.data = NULL;
    size_t size = s_pack_raw (&copy, buffer, max - 34);
    uint8_t key [S_KEY];
    s_key (key, which);
    buffer [size] = 0x42;
    buffer [size + 1] = RUMOR_DISCOVERY_MAC_SIZE;
    assert_int_equal (crypto_generichash (buffer + size + 2,
                                          RUMOR_DISCOVERY_MAC_SIZE, buffer,
                                          size, key, S_KEY), 0);
    return size + 34;
}

//  Done when the two nodes with key 1 (0, 1) heard each other and refused
//  the one with key 2 (2) as bad_mac and the one without keys (3) as
//  unsigned; node 2 refused both kinds too; node 3 refused signed beacons.
static bool
s_secured_apart (s_node_t **nodes, size_t n, void *arg)
{
    (void) arg;
    (void) n;
    if (!s_all_heard (nodes, 2, NULL))
        return false;
    for (size_t i = 0; i < 3; i++) {
        const rumor_discovery_stats_t *stats =
            rumor_discovery_stats (nodes [i]->discovery);
        if (stats->bad_mac == 0 || stats->unsigned_ == 0 || stats->own == 0)
            return false;
    }
    const rumor_discovery_stats_t *stats =
        rumor_discovery_stats (nodes [3]->discovery);
    return stats->bad_mac > 0 && stats->own > 0;
}

//  Over real sockets: the same key finds each other; another key, or none,
//  is refused both ways, each under its own counter.
static void
test_signed_beacons_over_loopback (void **state)
{
    (void) state;
    int port = s_free_port ();
    rumor_discovery_cfg_t cfg;
    uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY];
    int one [] = { 1 }, two [] = { 2 };
    s_keyed_cfg (&cfg, port, 1, storage, one, 1);
    s_node_t *alice = s_node_new (&cfg);
    s_keyed_cfg (&cfg, port, 2, storage, one, 1);
    s_node_t *bob = s_node_new (&cfg);
    s_keyed_cfg (&cfg, port, 3, storage, two, 1);
    s_node_t *carol = s_node_new (&cfg);
    s_node_t *dave = s_loopback_node (port, 4);
    s_node_t *nodes [] = { alice, bob, carol, dave };
    assert_true (s_pump (nodes, 4, true, S_WAIT, s_secured_apart, NULL));
    assert_int_equal (alice->heard_count, 1);
    assert_int_equal (bob->heard_count, 1);
    assert_int_equal (carol->heard_count, 0);
    assert_int_equal (dave->heard_count, 0);
    assert_string_equal (s_heard (alice, 2)->endpoint, "tcp://127.0.0.1:7002");
    //  Nothing legitimate was taken for a replay or a bad clock
    for (size_t i = 0; i < 4; i++) {
        const rumor_discovery_stats_t *stats =
            rumor_discovery_stats (nodes [i]->discovery);
        assert_int_equal (stats->replayed, 0);
        assert_int_equal (stats->bad_time, 0);
        assert_int_equal (stats->send_failed, 0);
    }
    //  Dave, without keys, took nothing for unsigned
    assert_int_equal (rumor_discovery_stats (dave->discovery)->unsigned_, 0);
    for (size_t i = 0; i < 4; i++)
        s_node_destroy (&nodes [i]);
}

//  The wire form is exactly what beacon.h says, and protobuf-c reads it.
static void
test_signed_beacon_wire_format (void **state)
{
    (void) state;
    int one [] = { 1 };
    rumor_discovery_t *sender = s_offline (2, one, 1, NULL);
    rumor_discovery_t *plain = s_offline (2, S_NO_KEYS, NULL);
    zframe_t *frame = rumor_discovery_beacon (sender, (uint64_t) S_NOW);
    zframe_t *unsigned_frame = rumor_discovery_beacon (plain, (uint64_t) S_NOW);
    assert_int_equal (zframe_size (frame), zframe_size (unsigned_frame) + 34);
    assert_memory_equal (zframe_data (frame), zframe_data (unsigned_frame),
                         zframe_size (unsigned_frame));

    //  An independent signer makes the same bytes
    Rumor__Beacon beacon;
    rumor_id_t id;
    s_beacon (&beacon, &id, 2);
    beacon.timestamp = (uint64_t) S_NOW;
    uint8_t buffer [RUMOR_BEACON_MAX];
    size_t size = s_sign_raw (&beacon, 1, buffer, sizeof (buffer));
    assert_int_equal (size, zframe_size (frame));
    assert_memory_equal (buffer, zframe_data (frame), size);

    //  It unpacks with its MAC in the mac field, which protobuf-c packs
    //  last: packing that beacon again gives the same bytes
    Rumor__Beacon *decoded = rumor__beacon__unpack (NULL, size, buffer);
    assert_non_null (decoded);
    assert_int_equal (decoded->mac.len, RUMOR_DISCOVERY_MAC_SIZE);
    assert_memory_equal (decoded->mac.data, buffer + size - 32, 32);
    uint8_t again [RUMOR_BEACON_MAX];
    assert_int_equal (rumor__beacon__pack (decoded, again), size);
    assert_memory_equal (again, buffer, size);
    rumor__beacon__free_unpacked (decoded, NULL);
    zframe_destroy (&frame);
    zframe_destroy (&unsigned_frame);
    rumor_discovery_destroy (&sender);
    rumor_discovery_destroy (&plain);
}

//  Every way a signed beacon can be wrong is refused under its counter.
static void
test_signed_beacon_refusals (void **state)
{
    (void) state;
    int one [] = { 1 }, two [] = { 2 };
    rumor_discovery_t *listener = s_offline (1, one, 1, NULL);
    rumor_discovery_t *sender = s_offline (2, one, 1, "tcp://10.0.0.2:9000");
    rumor_discovery_t *stranger = s_offline (3, two, 1, NULL);
    rumor_discovery_t *plain = s_offline (4, S_NO_KEYS, NULL);

    //  Accepted, once: the same datagram again, or an older or equal
    //  timestamp of the same sender, is a replay
    zframe_t *frame = rumor_discovery_beacon (sender, (uint64_t) S_NOW);
    s_offer_frame (listener, S_NOW, frame, S_FIELD (accepted));
    const rumor_heard_t *heard = rumor_discovery_last_heard (listener);
    assert_string_equal (heard->endpoint, "tcp://10.0.0.2:9000");
    assert_int_equal (heard->timestamp, S_NOW);
    s_offer_frame (listener, S_NOW, frame, S_FIELD (replayed));
    s_offer_frame (listener, S_NOW + 5000, frame, S_FIELD (replayed));
    zframe_destroy (&frame);
    s_offer_beacon (listener, S_NOW, sender, S_NOW - 1, S_FIELD (replayed));
    s_offer_beacon (listener, S_NOW, sender, S_NOW, S_FIELD (replayed));
    s_offer_beacon (listener, S_NOW, sender, S_NOW + 1, S_FIELD (accepted));

    //  Another key; no key
    s_offer_beacon (listener, S_NOW, stranger, S_NOW, S_FIELD (bad_mac));
    s_offer_beacon (listener, S_NOW, plain, S_NOW, S_FIELD (unsigned_));

    //  Tampered: the endpoint's host 10.0.0.2 made 10.0.0.3 (still a valid
    //  endpoint), then every byte in turn: never accepted
    frame = rumor_discovery_beacon (sender, (uint64_t) S_NOW + 2);
    uint8_t *data = zframe_data (frame);
    size_t size = zframe_size (frame);
    uint8_t *host = s_find (data, size, "10.0.0.2", 8);
    assert_non_null (host);
    host [7] = '3';
    s_offer (listener, S_NOW, data, size, S_FIELD (bad_mac));
    host [7] = '2';
    uint64_t accepted = rumor_discovery_stats (listener)->accepted;
    rumor_heard_t ignored;
    for (size_t i = 0; i < size; i++) {
        data [i] ^= 0x01;
        assert_int_equal (rumor_discovery_accept (listener, S_NOW, data, size,
                                                  "127.0.0.1", &ignored), 0);
        data [i] ^= 0x01;
    }
    assert_int_equal (rumor_discovery_stats (listener)->accepted, accepted);
    //  ... and the untouched datagram is fine: the flips were what failed
    s_offer_frame (listener, S_NOW, frame, S_FIELD (accepted));
    zframe_destroy (&frame);

    //  The MAC stripped: an unsigned beacon. A 31-byte MAC; a field after
    //  the MAC (so it does not end the datagram): bad MACs
    frame = rumor_discovery_beacon (sender, (uint64_t) S_NOW + 3);
    data = zframe_data (frame);
    size = zframe_size (frame);
    s_offer (listener, S_NOW, data, size - 34, S_FIELD (unsigned_));
    uint8_t bent [RUMOR_BEACON_MAX];
    memcpy (bent, data, size - 1);
    bent [size - 33] = 31;
    s_offer (listener, S_NOW, bent, size - 1, S_FIELD (bad_mac));
    memcpy (bent, data, size);
    bent [size] = 0x48;             //  field 9, varint 1
    bent [size + 1] = 0x01;
    s_offer (listener, S_NOW, bent, size + 2, S_FIELD (bad_mac));
    //  Right MAC in the last 34 bytes, but they are not the mac field: a
    //  key holder's datagram U + mac field (junk) + field 15 whose content
    //  is 0x42 0x20 MAC (U + mac field + field 15 header)
    size_t unsigned_size = size - 34;
    memcpy (bent, data, unsigned_size);
    size_t at = unsigned_size;
    bent [at++] = 0x42;
    bent [at++] = 32;
    memset (bent + at, 0x77, 32);
    at += 32;
    bent [at++] = (15 << 3) | 2;
    bent [at++] = 34;
    bent [at++] = 0x42;
    bent [at++] = 32;
    uint8_t key [S_KEY];
    s_key (key, 1);
    crypto_generichash (bent + at, 32, bent, at - 2, key, S_KEY);
    at += 32;
    s_offer (listener, S_NOW, bent, at, S_FIELD (bad_mac));
    s_offer_frame (listener, S_NOW, frame, S_FIELD (accepted));
    zframe_destroy (&frame);

    //  Timestamps beyond the replay window, either way, are refused though
    //  well within max_skew_ms; at the window's edge they pass
    s_offer_beacon (listener, S_NOW + 4 + S_WINDOW + 1, sender, S_NOW + 4,
                    S_FIELD (bad_time));
    s_offer_beacon (listener, S_NOW + 5, sender, S_NOW + 5 + S_WINDOW + 1,
                    S_FIELD (bad_time));
    s_offer_beacon (listener, S_NOW + 6 + S_WINDOW, sender, S_NOW + 6,
                    S_FIELD (accepted));

    //  Our own beacon; our id at another generation, with our key
    s_offer_beacon (listener, S_NOW, listener, S_NOW, S_FIELD (own));
    rumor_discovery_cfg_t cfg;
    uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY];
    s_keyed_cfg (&cfg, RUMOR_DISCOVERY_PORT_DFLT, 1, storage, one, 1);
    cfg.mode = RUMOR_BEACON_OFF;
    cfg.generation++;
    rumor_discovery_t *twin = rumor_discovery_new (&cfg);
    assert_non_null (twin);
    s_offer_beacon (listener, S_NOW, twin, S_NOW, S_FIELD (id_conflict));
    //  A forged id conflict (another key) is only a bad MAC
    assert_int_equal (rumor_discovery_set_keys (twin, s_keys (storage, two, 1),
                                                1), 0);
    s_offer_beacon (listener, S_NOW, twin, S_NOW, S_FIELD (bad_mac));

    //  A node without keys refuses signed beacons, and does no replay
    //  defence (anyone could forge an unsigned beacon anyway)
    rumor_discovery_t *open = s_offline (5, S_NO_KEYS, NULL);
    s_offer_beacon (open, S_NOW, sender, S_NOW + 10, S_FIELD (bad_mac));
    frame = rumor_discovery_beacon (plain, (uint64_t) S_NOW);
    s_offer_frame (open, S_NOW, frame, S_FIELD (accepted));
    s_offer_frame (open, S_NOW, frame, S_FIELD (accepted));
    zframe_destroy (&frame);
    //  heard = accepted + refused, on both
    const rumor_discovery_stats_t *stats = rumor_discovery_stats (listener);
    assert_int_equal (stats->heard,
                      stats->accepted + rumor_discovery_refused (stats));
    stats = rumor_discovery_stats (open);
    assert_int_equal (stats->heard,
                      stats->accepted + rumor_discovery_refused (stats));

    rumor_discovery_destroy (&twin);
    rumor_discovery_destroy (&open);
    rumor_discovery_destroy (&listener);
    rumor_discovery_destroy (&sender);
    rumor_discovery_destroy (&stranger);
    rumor_discovery_destroy (&plain);
}

//  A datagram captured off the loopback broadcast and sent again is
//  refused: at once as replayed, later as stale.
static void
test_captured_beacon_replay_is_refused (void **state)
{
    (void) state;
    int port = s_free_port ();
    rumor_discovery_cfg_t cfg;
    uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY];
    int one [] = { 1 };
    s_keyed_cfg (&cfg, port, 1, storage, one, 1);
    s_node_t *listener = s_node_new (&cfg);
    s_keyed_cfg (&cfg, port, 2, storage, one, 1);
    s_node_t *sender = s_node_new (&cfg);

    //  The eavesdropper: a socket bound like the beacons (same address and
    //  port, SO_REUSEPORT), which hears every beacon of the host
    int spy = socket (AF_INET, SOCK_DGRAM, 0);
    assert_true (spy >= 0);
    int on = 1;
    assert_int_equal (setsockopt (spy, SOL_SOCKET, SO_REUSEADDR, &on,
                                  sizeof (on)), 0);
    assert_int_equal (setsockopt (spy, SOL_SOCKET, SO_REUSEPORT, &on,
                                  sizeof (on)), 0);
    struct sockaddr_in group = { .sin_family = AF_INET,
                                 .sin_port = htons ((uint16_t) port) };
    inet_pton (AF_INET, "127.255.255.255", &group.sin_addr);
    assert_int_equal (bind (spy, (struct sockaddr *) &group, sizeof (group)),
                      0);

    //  One beacon: the listener accepts it, the spy captures it
    int64_t sent_ms = s_now ();
    rumor_discovery_tick (sender->discovery, sent_ms);
    uint64_t enough = 1;
    assert_true (s_pump (&listener, 1, false, S_WAIT, s_read_enough,
                         &enough));
    assert_int_equal (rumor_discovery_stats (listener->discovery)->accepted, 1);
    struct pollfd item = { .fd = spy, .events = POLLIN };
    assert_int_equal (poll (&item, 1, S_WAIT), 1);
    uint8_t captured [RUMOR_BEACON_MAX + 1];
    ssize_t size = recv (spy, captured, sizeof (captured), MSG_DONTWAIT);
    assert_true (size > 34 && size <= RUMOR_BEACON_MAX);
    close (spy);

    //  Sent again at once: replayed; much later: stale
    s_expect (listener, port, captured, (size_t) size, S_FIELD (replayed));
    s_offer (listener->discovery, sent_ms + S_WINDOW + 1000, captured,
             (size_t) size, S_FIELD (bad_time));
    //  While the sender's next beacon is welcome
    rumor_discovery_tick (sender->discovery, sent_ms + S_INTERVAL);
    enough = rumor_discovery_stats (listener->discovery)->heard + 1;
    assert_true (s_pump (&listener, 1, false, S_WAIT, s_read_enough,
                         &enough));
    assert_int_equal (rumor_discovery_stats (listener->discovery)->accepted, 2);
    s_node_destroy (&listener);
    s_node_destroy (&sender);
}

//  Rotation: a node with keys [K2, K1] hears both K1 and K2 signers; once
//  K1 is removed, K1-signed beacons are refused.
static void
test_key_rotation (void **state)
{
    (void) state;
    int one [] = { 1 }, two [] = { 2 }, both [] = { 2, 1 };
    uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY];
    rumor_discovery_t *listener = s_silent (1, both, 2);
    rumor_discovery_t *old = s_offline (2, one, 1, NULL);
    rumor_discovery_t *new = s_offline (3, two, 1, NULL);
    s_offer_beacon (listener, S_NOW, old, S_NOW, S_FIELD (accepted));
    s_offer_beacon (listener, S_NOW, new, S_NOW, S_FIELD (accepted));
    char *why = rumor_discovery_why (listener);
    assert_non_null (strstr (why, "2 keys"));
    zstr_free (&why);

    //  K1 removed
    assert_int_equal (rumor_discovery_set_keys (listener,
                                                s_keys (storage, two, 1), 1), 0);
    memset (storage, 0, sizeof (storage));
    s_offer_beacon (listener, S_NOW, old, S_NOW + 1, S_FIELD (bad_mac));
    s_offer_beacon (listener, S_NOW, new, S_NOW + 1, S_FIELD (accepted));
    //  The replay table survives a key change
    s_offer_beacon (listener, S_NOW, new, S_NOW, S_FIELD (replayed));
    //  The old signer moves to K2 (still verifying K1): heard again
    assert_int_equal (rumor_discovery_set_keys (old,
                                                s_keys (storage, both, 2), 2), 0);
    s_offer_beacon (listener, S_NOW, old, S_NOW + 2, S_FIELD (accepted));

    //  Too many keys, or none given: refused, nothing changes
    uint8_t many [(RUMOR_DISCOVERY_KEYS_MAX + 1) * S_KEY];
    memset (many, 7, sizeof (many));
    assert_int_equal (rumor_discovery_set_keys (listener, many,
                                                RUMOR_DISCOVERY_KEYS_MAX + 1),
                      -1);
    assert_non_null (strstr (rumor_discovery_error (), "at most 8"));
    assert_int_equal (rumor_discovery_set_keys (listener, NULL, 1), -1);
    s_offer_beacon (listener, S_NOW, new, S_NOW + 3, S_FIELD (accepted));
    //  Eight keys are fine, the last one verifies
    int eight [] = { 10, 11, 12, 13, 14, 15, 16, 2 };
    assert_int_equal (rumor_discovery_set_keys (listener,
                                                s_keys (storage, eight, 8), 8),
                      0);
    s_offer_beacon (listener, S_NOW, new, S_NOW + 4, S_FIELD (accepted));
    //  No keys: signed beacons are refused, unsigned ones heard
    assert_int_equal (rumor_discovery_set_keys (listener, NULL, 0), 0);
    s_offer_beacon (listener, S_NOW, new, S_NOW + 5, S_FIELD (bad_mac));
    rumor_discovery_t *plain = s_offline (4, S_NO_KEYS, NULL);
    s_offer_beacon (listener, S_NOW, plain, S_NOW, S_FIELD (accepted));
    rumor_discovery_destroy (&plain);
    rumor_discovery_destroy (&listener);
    rumor_discovery_destroy (&old);
    rumor_discovery_destroy (&new);
}

//  The worst case still fits zbeacon's 255 bytes: the largest id fields
//  and timestamp, and the longest endpoint new accepts with a secret.
static void
test_signed_beacon_size_worst_case (void **state)
{
    (void) state;
    int one [] = { 1 };
    uint8_t storage [RUMOR_DISCOVERY_KEYS_MAX * S_KEY];
    rumor_discovery_t *listener = s_offline (1, one, 1, NULL);
    rumor_discovery_cfg_t cfg;
    char endpoint [RUMOR_NAME_MAX + 1];
    size_t longest = 0;
    rumor_discovery_t *largest = NULL;
    //  tcp://hhh...h:65535, one more h each round, until new refuses it
    for (size_t host = 1; host < 250; host++) {
        s_keyed_cfg (&cfg, RUMOR_DISCOVERY_PORT_DFLT, 2, storage, one, 1);
        cfg.mode = RUMOR_BEACON_OFF;
        cfg.generation = UINT64_MAX;
        cfg.tcp_port = RUMOR_PORT_MAX;
        snprintf (endpoint, sizeof (endpoint), "tcp://%0*d:65535", (int) host,
                  0);
        cfg.endpoint = endpoint;
        rumor_discovery_t *discovery = rumor_discovery_new (&cfg);
        if (!discovery) {
            assert_non_null (strstr (rumor_discovery_error (),
                                     "larger than 255 bytes with its MAC"));
            //  Without keys that endpoint still fits, but keys cannot be
            //  added: set_keys refuses, and beacons stay unsigned
            cfg.keys = NULL;
            cfg.n_keys = 0;
            discovery = rumor_discovery_new (&cfg);
            assert_non_null (discovery);
            assert_int_equal (rumor_discovery_set_keys (
                discovery, s_keys (storage, one, 1), 1), -1);
            assert_non_null (strstr (rumor_discovery_error (), "with its MAC"));
            zframe_t *frame = rumor_discovery_beacon (discovery, 1);
            Rumor__Beacon *beacon = rumor__beacon__unpack (
                NULL, zframe_size (frame), zframe_data (frame));
            assert_non_null (beacon);
            assert_int_equal (beacon->mac.len, 0);
            rumor__beacon__free_unpacked (beacon, NULL);
            zframe_destroy (&frame);
            rumor_discovery_destroy (&discovery);
            break;
        }
        rumor_discovery_destroy (&largest);
        largest = discovery;
        longest = strlen (endpoint);
    }
    assert_non_null (largest);
    //  The largest is exactly the cap: the check is not too strict either
    zframe_t *frame = rumor_discovery_beacon (largest, UINT64_MAX);
    assert_int_equal (zframe_size (frame), RUMOR_BEACON_MAX);
    zframe_destroy (&frame);
    printf ("      longest advertised endpoint with a secret: %zu bytes\n",
            longest);
    //  And it is heard
    s_offer_beacon (listener, S_NOW, largest, S_NOW, S_FIELD (accepted));
    assert_int_equal (strlen (rumor_discovery_last_heard (listener)->endpoint),
                      longest);
    rumor_discovery_destroy (&largest);
    rumor_discovery_destroy (&listener);
}

//  The replay table holds RUMOR_DISCOVERY_SENDERS_MAX ids and forgets the
//  least recently heard one first.
static void
test_replay_table_evicts_least_recently_heard (void **state)
{
    (void) state;
    int one [] = { 1 };
    rumor_discovery_t *listener = s_silent (1, one, 1);
    uint64_t first = 10;            //  ids first .. first + max
    uint64_t max = RUMOR_DISCOVERY_SENDERS_MAX;
    Rumor__Beacon beacon;
    rumor_id_t id;
    uint8_t buffer [RUMOR_BEACON_MAX];
    for (uint64_t n = first; n < first + max; n++) {
        s_beacon (&beacon, &id, n);
        beacon.timestamp = (uint64_t) S_NOW;
        size_t size = s_sign_raw (&beacon, 1, buffer, sizeof (buffer));
        rumor_heard_t heard;
        assert_int_equal (rumor_discovery_accept (listener, S_NOW, buffer,
                                                  size, "127.0.0.1", &heard),
                          1);
    }
    //  Refresh the first id; then one id more evicts the second
    s_beacon (&beacon, &id, first);
    beacon.timestamp = (uint64_t) S_NOW + 1;
    s_offer (listener, S_NOW, buffer,
             s_sign_raw (&beacon, 1, buffer, sizeof (buffer)),
             S_FIELD (accepted));
    s_beacon (&beacon, &id, first + max);
    beacon.timestamp = (uint64_t) S_NOW;
    s_offer (listener, S_NOW, buffer,
             s_sign_raw (&beacon, 1, buffer, sizeof (buffer)),
             S_FIELD (accepted));
    char *why = rumor_discovery_why (listener);
    assert_non_null (strstr (why, "4096 senders tracked"));
    zstr_free (&why);
    //  Replays: the refreshed first id and the third are remembered; the
    //  evicted second is not (inside the window it gets through: the bound
    //  beacon.h explains)
    s_beacon (&beacon, &id, first);
    beacon.timestamp = (uint64_t) S_NOW + 1;
    s_offer (listener, S_NOW, buffer,
             s_sign_raw (&beacon, 1, buffer, sizeof (buffer)),
             S_FIELD (replayed));
    s_beacon (&beacon, &id, first + 2);
    beacon.timestamp = (uint64_t) S_NOW;
    s_offer (listener, S_NOW, buffer,
             s_sign_raw (&beacon, 1, buffer, sizeof (buffer)),
             S_FIELD (replayed));
    s_beacon (&beacon, &id, first + 1);
    beacon.timestamp = (uint64_t) S_NOW;
    s_offer (listener, S_NOW, buffer,
             s_sign_raw (&beacon, 1, buffer, sizeof (buffer)),
             S_FIELD (accepted));
    rumor_discovery_destroy (&listener);
}

//  The why report and the counters tell what happened, never the keys.
static void
test_signed_why_and_export (void **state)
{
    (void) state;
    int one [] = { 1 }, two [] = { 2 };
    rumor_discovery_t *listener = s_silent (1, one, 1);
    rumor_discovery_t *sender = s_offline (2, one, 1, NULL);
    rumor_discovery_t *stranger = s_offline (3, two, 1, NULL);
    rumor_discovery_t *plain = s_silent (4, S_NO_KEYS);
    s_offer_beacon (listener, S_NOW, sender, S_NOW, S_FIELD (accepted));
    s_offer_beacon (listener, S_NOW, sender, S_NOW, S_FIELD (replayed));
    s_offer_beacon (listener, S_NOW, stranger, S_NOW, S_FIELD (bad_mac));
    s_offer_beacon (listener, S_NOW, plain, S_NOW, S_FIELD (unsigned_));
    s_offer_beacon (listener, S_NOW, sender, S_NOW - S_WINDOW - 1,
                    S_FIELD (bad_time));

    char *why = rumor_discovery_why (listener);
    assert_non_null (strstr (why, "beacons signed"));
    assert_non_null (strstr (why, "1 key "));
    assert_non_null (strstr (why, "unsigned 1 bad_mac 1 replayed 1"));
    assert_non_null (strstr (why, "runs without the secret"));
    assert_non_null (strstr (why, "another secret"));
    assert_non_null (strstr (why, "replayed"));
    assert_non_null (strstr (why, "replay window"));
    assert_non_null (strstr (why, "last refused: bad_time"));
    //  No key in it, in hex or raw
    uint8_t key [S_KEY];
    s_key (key, 1);
    char hex [2 * S_KEY + 1];
    sodium_bin2hex (hex, sizeof (hex), key, 8);
    assert_null (strstr (why, hex));
    assert_null (s_find ((uint8_t *) why, strlen (why), (char *) key, 8));
    zstr_free (&why);

    zhash_t *stats = zhash_new ();
    zhash_autofree (stats);
    rumor_discovery_export (listener, stats);
    assert_string_equal (zhash_lookup (stats, "beacon.unsigned"), "1");
    assert_string_equal (zhash_lookup (stats, "beacon.bad_mac"), "1");
    assert_string_equal (zhash_lookup (stats, "beacon.replayed"), "1");
    assert_string_equal (zhash_lookup (stats, "beacon.bad_time"), "1");
    assert_string_equal (zhash_lookup (stats, "beacon.accepted"), "1");
    zhash_destroy (&stats);

    //  A node without a secret, hearing signed beacons, is told why
    s_offer_beacon (plain, S_NOW, sender, S_NOW + 1, S_FIELD (bad_mac));
    why = rumor_discovery_why (plain);
    assert_non_null (strstr (why, "beacons unsigned (no secret)"));
    assert_non_null (strstr (why, "this one has none"));
    assert_null (strstr (why, "another secret"));
    zstr_free (&why);
    rumor_discovery_destroy (&listener);
    rumor_discovery_destroy (&sender);
    rumor_discovery_destroy (&stranger);
    rumor_discovery_destroy (&plain);
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
        cmocka_unit_test (test_interval_changes_take_effect),
        cmocka_unit_test (test_paced_interval_is_shared_by_the_cluster),
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
        cmocka_unit_test (test_signed_beacons_over_loopback),
        cmocka_unit_test (test_signed_beacon_wire_format),
        cmocka_unit_test (test_signed_beacon_refusals),
        cmocka_unit_test (test_captured_beacon_replay_is_refused),
        cmocka_unit_test (test_key_rotation),
        cmocka_unit_test (test_signed_beacon_size_worst_case),
        cmocka_unit_test (test_replay_table_evicts_least_recently_heard),
        cmocka_unit_test (test_signed_why_and_export),
        cmocka_unit_test (test_loopback_beacons_cross_processes),
        cmocka_unit_test (test_lan_beacons_cross_namespaces),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
