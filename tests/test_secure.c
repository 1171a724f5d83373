/*  =========================================================================
    test_secure - cluster secrets: CURVE, refusals, key rotation, live

    In-process nodes on loopback, each run on a beacon port of its own
    (random), every wait bounded by a deadline:
      - the keyring API refuses what it must (bad secrets, use before
        start, remove of the primary, a full keyring, reserved topics), and
        a program running zauth cannot start a secured node (RUMOR_ENET,
        rumor_why says why);
      - three nodes with the secret converge and exchange a key; a node
        with another secret and one without any (both also given the first
        node as a seed) are listed by nobody and list nobody, the
        refusals are counted on both sides, and their retries back off
        (failures per window stay bounded where libzmq alone would retry
        ten times a second); a secured member killed is still declared
        FAILED by the others;
      - a TCP relay on 127.0.0.1 between two nodes records every byte:
        with the secret no key name or value appears in it, without the
        secret they do (so the check can fail);
      - a rolling rotation on four nodes: install K2 cluster-wide, use K2
        node by node, remove K1 cluster-wide; no node ever reports another
        FAILED, no link between members is given up, keys set along the
        way converge, "$rumor.keys" never reaches a program that hears "#",
        a node started with only K1 afterwards is refused, and a one-step
        cluster-wide switch back (install + use) keeps the cluster whole.
    =========================================================================
*/

#define _GNU_SOURCE             //  memmem
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <unistd.h>
#include <pthread.h>
#include <poll.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "rumor.h"
#include "supervisor.h"             //  rumor_node_crash

//  Deadline of every wait: generous for ASan; a healthy run takes well
//  under a second per wait
#define WAIT_MS     30000
//  How long the backoff check watches a refused node's retries. With
//  the backoff (1 s doubling) it sees at most 3 failures per refused
//  node; without it, libzmq reconnects every 100 ms: about 60.
#define WATCH_MS    6000
#define WATCH_MAX   3

static const char *K1 = "first cluster secret, long enough";
static const char *K2 = "second cluster secret, also long";
static const char *KX = "a secret of some other cluster!!";

//  A run's own beacon port, so parallel runs never hear each other, and
//  its own loopback address (127.X.Y.1), so that counters of refused
//  handshakes count ours only: a node of another program on this host
//  that still redials a dead peer's 127.0.0.1 port, which our node may
//  get from the kernel, never reaches it
static int s_beacon_port;
static char s_address [32];
static unsigned s_runs;


//  --------------------------------------------------------------------------
//  Helpers

typedef struct {
    const char *secret;             //  NULL = none
    rumor_beacon_t beacon;          //  LOOPBACK or OFF
    const char *bind;               //  NULL = 127.0.0.1
    int port;                       //  0 = any
    const char *advertise;          //  NULL = default
    const char *seed;               //  NULL = none
    bool lan;                       //  LAN profile (default: LOCAL)
} s_opts_t;

static rumor_t *
s_node (const char *cluster, const char *name, const s_opts_t *opts)
{
    char full [96];
    snprintf (full, sizeof (full), "%s-%s", cluster, name);
    rumor_t *node = rumor_new (full);
    assert_non_null (node);
    assert_int_equal (rumor_set_cluster (node, cluster), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, opts->bind? opts->bind
                                                      : "127.0.0.1"), RUMOR_OK);
    if (opts->port)
        assert_int_equal (rumor_set_port (node, opts->port), RUMOR_OK);
    if (opts->advertise)
        assert_int_equal (rumor_set_advertise (node, opts->advertise),
                          RUMOR_OK);
    assert_int_equal (rumor_set_beacon (node, opts->beacon), RUMOR_OK);
    assert_int_equal (rumor_set_beacon_port (node, s_beacon_port), RUMOR_OK);
    assert_int_equal (rumor_set_profile (node, opts->lan? RUMOR_PROFILE_LAN
                                                        : RUMOR_PROFILE_LOCAL),
                      RUMOR_OK);
    if (opts->secret)
        assert_int_equal (rumor_set_secret (node, opts->secret), RUMOR_OK);
    if (opts->seed)
        assert_int_equal (rumor_join (node, opts->seed), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    return node;
}

static void
s_cluster_name (char *name, size_t size, const char *what)
{
    snprintf (name, size, "%s-%d-%u", what, (int) getpid (), ++s_runs);
}

//  Members of node's table, and how many are alive
static size_t
s_members (rumor_t *node, size_t *alive)
{
    zlistx_t *members = rumor_members (node);
    assert_non_null (members);
    size_t count = zlistx_size (members);
    *alive = 0;
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members))
        if (member->state == RUMOR_STATE_ALIVE)
            (*alive)++;
    rumor_members_destroy (&members);
    return count;
}

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

//  What the events of a set of nodes told so far
typedef struct {
    int failed;                     //  FAILED events, any node
    const char *watch;              //  a node name, or NULL
    int watched;                    //  FAILED events about it
    int suspect;                    //  SUSPECT events, any node
    int reserved;                   //  events on "$rumor." topics seen
    int64_t query;                  //  the query whose answers we count
    int ok;                         //  its RESPONSEs starting "ok "
    int errors;                     //  ... starting "error "
    int done;                       //  its QUERY_DONEs
    bool complete;                  //  ... the last one complete
    char last [256];                //  the last answer
} s_tally_t;

//  Read every pending event of nodes (none waits), into tally
static void
s_pump (rumor_t **nodes, size_t n, s_tally_t *tally)
{
    for (size_t i = 0; i < n; i++) {
        if (!nodes [i])
            continue;
        rumor_event_t *event;
        while ((event = rumor_recv_timeout (nodes [i], 0))) {
            rumor_event_type_t type = rumor_event_type (event);
            if (type == RUMOR_EVENT_FAILED) {
                tally->failed++;
                if (tally->watch
                &&  streq (rumor_event_name (event), tally->watch))
                    tally->watched++;
                else
                    print_message ("FAILED on %s: %s (%s)\n",
                                   rumor_name (nodes [i]),
                                   rumor_event_name (event),
                                   rumor_event_evidence (event));
            }
            if (type == RUMOR_EVENT_SUSPECT)
                tally->suspect++;
            if ((type == RUMOR_EVENT_HEARD || type == RUMOR_EVENT_QUERY
            ||   type == RUMOR_EVENT_DIRECT)
            &&  strncmp (rumor_event_topic (event), "$rumor", 6) == 0)
                tally->reserved++;
            if (type == RUMOR_EVENT_RESPONSE
            &&  rumor_event_query (event) == tally->query) {
                size_t size = rumor_event_size (event);
                if (size >= sizeof (tally->last))
                    size = sizeof (tally->last) - 1;
                memcpy (tally->last, rumor_event_data (event), size);
                tally->last [size] = 0;
                if (strncmp (tally->last, "ok ", 3) == 0)
                    tally->ok++;
                else
                if (strncmp (tally->last, "error ", 6) == 0)
                    tally->errors++;
            }
            if (type == RUMOR_EVENT_QUERY_DONE
            &&  rumor_event_query (event) == tally->query) {
                tally->done++;
                tally->complete = rumor_event_complete (event);
            }
            rumor_event_destroy (&event);
        }
    }
}

//  True once every node of nodes [0..n) lists exactly n members, all alive
static bool
s_formed (rumor_t **nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t alive;
        if (s_members (nodes [i], &alive) != n || alive != n)
            return false;
    }
    return true;
}

//  Wait up to timeout_ms for an event on any of nodes (read none): the
//  waits below pump, then re-check their condition as soon as news comes
static void
s_await (rumor_t **nodes, size_t n, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (NULL);
    assert_non_null (poller);
    for (size_t i = 0; i < n; i++)
        if (nodes [i])
            zpoller_add (poller, rumor_socket (nodes [i]));
    zpoller_wait (poller, timeout_ms);
    zpoller_destroy (&poller);
}

//  Wait until nodes form; events pumped meanwhile
static bool
s_wait_formed (rumor_t **nodes, size_t n, s_tally_t *tally)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        s_pump (nodes, n, tally);
        if (s_formed (nodes, n))
            return true;
        s_await (nodes, n, 50);
    }
    return false;
}

//  Wait until every node reads key of writer as value
static bool
s_wait_key (rumor_t **nodes, size_t n, rumor_t *writer, const char *key,
            const char *value, s_tally_t *tally)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        s_pump (nodes, n, tally);
        size_t read = 0;
        for (size_t i = 0; i < n; i++) {
            char *got = rumor_get_str (nodes [i], rumor_id (writer), key);
            if (got && streq (got, value))
                read++;
            free (got);
        }
        if (read == n)
            return true;
        s_await (nodes, n, 50);
    }
    return false;
}

//  Wait until stat of node reaches at least floor. A counter moves with no
//  event to wait on, so it is read again every 50 ms until the deadline
static bool
s_wait_stat (rumor_t *node, const char *name, uint64_t floor)
{
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (zclock_mono () < deadline) {
        if (s_stat (node, name) >= floor)
            return true;
        zclock_sleep (50);
    }
    return false;
}

//  Ask the cluster through node 0 and wait for its QUERY_DONE
static void
s_keys_cluster (rumor_t **nodes, size_t n, rumor_keys_op_t op,
                const char *secret, s_tally_t *tally)
{
    tally->ok = tally->errors = tally->done = 0;
    tally->complete = false;
    tally->query = rumor_keys_cluster (nodes [0], op, secret, 5000);
    assert_true (tally->query > 0);
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (!tally->done && zclock_mono () < deadline) {
        s_pump (nodes, n, tally);
        s_await (nodes, n, 20);
    }
    assert_int_equal (tally->done, 1);
}

//  The fingerprints a node lists, as one string
static char *
s_prints (rumor_t *node)
{
    zlist_t *list = rumor_keys_list (node);
    assert_non_null (list);
    char text [256] = "";
    for (char *print = (char *) zlist_first (list); print;
         print = (char *) zlist_next (list)) {
        assert_int_equal (strlen (print), 16);
        if (*text)
            strcat (text, " ");
        strcat (text, print);
    }
    zlist_destroy (&list);
    return strdup (text);
}


//  --------------------------------------------------------------------------
//  The keyring API

static void
test_keyring_api_refuses_what_it_must (void **state)
{
    (void) state;
    rumor_t *node = rumor_new ("keyring-api");
    assert_non_null (node);
    assert_int_equal (rumor_set_secret (node, "too short"), RUMOR_EINVAL);
    assert_int_equal (rumor_set_secret (node, NULL), RUMOR_EINVAL);
    char *huge = (char *) malloc (RUMOR_SECRET_MAX + 2);
    memset (huge, 'x', RUMOR_SECRET_MAX + 1);
    huge [RUMOR_SECRET_MAX + 1] = 0;
    assert_int_equal (rumor_set_secret (node, huge), RUMOR_EINVAL);
    huge [RUMOR_SECRET_MAX] = 0;
    assert_int_equal (rumor_set_secret (node, huge), RUMOR_OK);
    free (huge);
    //  set_secret replaces the keyring; install adds, once
    assert_int_equal (rumor_set_secret (node, K1), RUMOR_OK);
    assert_int_equal (rumor_keys_install (node, K2), RUMOR_OK);
    assert_int_equal (rumor_keys_install (node, K2), RUMOR_OK);
    char *prints = s_prints (node);
    //  Known answers, from an independent BLAKE2b (Python's hashlib:
    //  blake2b (secret, digest_size=16, key=b"rumor/fingerprint/v1"),
    //  first 8 bytes): a change of derivation breaks every cluster
    assert_string_equal (prints, "2430dc89092db5d2 0ac6bff58d81e1a9");
    //  use and remove need a running node
    assert_int_equal (rumor_keys_use (node, K2), RUMOR_ESTATE);
    assert_int_equal (rumor_keys_remove (node, K2), RUMOR_ESTATE);
    assert_true (rumor_keys_cluster (node, RUMOR_KEYS_LIST, NULL, 1000) < 0);
    //  The fingerprints never show the secret, and are stable
    assert_null (strstr (prints, "first"));
    rumor_t *other = rumor_new ("keyring-api-2");
    assert_int_equal (rumor_set_secret (other, K1), RUMOR_OK);
    char *first = s_prints (other);
    assert_int_equal (strncmp (prints, first, 16), 0);
    free (first);
    rumor_destroy (&other);
    //  Running: the keyring ops, with their refusals
    assert_int_equal (rumor_set_beacon (node, RUMOR_BEACON_OFF), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    char *running = s_prints (node);
    assert_string_equal (running, prints);
    free (running);
    assert_int_equal (rumor_set_secret (node, K1), RUMOR_ESTATE);
    assert_int_equal (rumor_keys_remove (node, K1), RUMOR_ESTATE);
    assert_int_equal (rumor_keys_use (node, KX), RUMOR_ENOTFOUND);
    assert_int_equal (rumor_keys_use (node, K2), RUMOR_OK);
    running = s_prints (node);
    assert_int_equal (strncmp (running, prints + 17, 16), 0);
    free (running);
    assert_int_equal (rumor_keys_remove (node, K1), RUMOR_OK);
    assert_int_equal (rumor_keys_remove (node, K1), RUMOR_ENOTFOUND);
    char secret [64];
    for (int i = 0; i < RUMOR_KEYRING_MAX - 1; i++) {
        snprintf (secret, sizeof (secret), "generated secret number %d", i);
        assert_int_equal (rumor_keys_install (node, secret), RUMOR_OK);
    }
    assert_int_equal (rumor_keys_install (node, KX), RUMOR_EFULL);
    zhash_t *stats = rumor_stats (node);
    assert_non_null (zhash_lookup (stats, "security.keys"));
    assert_string_equal ((char *) zhash_lookup (stats, "security.keys"), "8");
    zhash_destroy (&stats);
    //  The reserved namespace
    assert_int_equal (rumor_hear (node, "$rumor.keys"), RUMOR_EINVAL);
    assert_int_equal (rumor_hear (node, "$rumor.#"), RUMOR_EINVAL);
    assert_int_equal (rumor_unhear (node, "$rumor.keys"), RUMOR_EINVAL);
    assert_int_equal (rumor_say (node, "$rumor.keys", "list", 4), RUMOR_EINVAL);
    assert_true (rumor_query (node, "$rumor.keys", "list", 4, 100) < 0);
    assert_int_equal (rumor_hear (node, "#"), RUMOR_OK);
    free (prints);
    rumor_destroy (&node);

    //  A node without a secret cannot get one while it runs
    node = rumor_new ("keyring-api-plain");
    assert_int_equal (rumor_set_beacon (node, RUMOR_BEACON_OFF), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    assert_int_equal (rumor_keys_install (node, K1), RUMOR_ESTATE);
    assert_int_equal (rumor_keys_use (node, K1), RUMOR_ESTATE);
    assert_true (rumor_keys_cluster (node, RUMOR_KEYS_LIST, NULL, 1000)
                 == RUMOR_ESTATE);
    zlist_t *list = rumor_keys_list (node);
    assert_non_null (list);
    assert_int_equal (zlist_size (list), 0);
    zlist_destroy (&list);
    rumor_destroy (&node);
}

static void
test_zauth_in_the_program_refuses_a_secured_start (void **state)
{
    (void) state;
    zactor_t *auth = zactor_new (zauth, NULL);
    assert_non_null (auth);
    rumor_t *node = rumor_new ("zauth-conflict");
    assert_int_equal (rumor_set_beacon (node, RUMOR_BEACON_OFF), RUMOR_OK);
    assert_int_equal (rumor_set_bind (node, "127.0.0.1"), RUMOR_OK);
    assert_int_equal (rumor_set_secret (node, K1), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_ENET);
    char *why = rumor_why (node);
    assert_non_null (strstr (why, "zeromq.zap.01"));
    free (why);
    zactor_destroy (&auth);
    //  Without zauth, the same node starts
    assert_int_equal (rumor_start (node), RUMOR_OK);
    rumor_destroy (&node);
}


//  --------------------------------------------------------------------------
//  Members with the secret, and the others

static void
test_only_holders_of_the_secret_are_members (void **state)
{
    (void) state;
    char cluster [64];
    s_cluster_name (cluster, sizeof (cluster), "secure");
    s_opts_t opts = { .secret = K1, .beacon = RUMOR_BEACON_LOOPBACK,
                      .bind = s_address, .advertise = s_address };
    rumor_t *good [3];
    good [0] = s_node (cluster, "a", &opts);
    good [1] = s_node (cluster, "b", &opts);
    good [2] = s_node (cluster, "c", &opts);
    //  The others are also told where the first one is
    opts.seed = rumor_endpoint (good [0]);
    opts.secret = KX;
    rumor_t *wrong = s_node (cluster, "wrong", &opts);
    opts.secret = NULL;
    rumor_t *plain = s_node (cluster, "plain", &opts);
    rumor_t *all [5] = { good [0], good [1], good [2], wrong, plain };
    s_tally_t tally = { 0 };
    assert_true (s_wait_formed (good, 3, &tally));
    assert_int_equal (rumor_set_str (good [0], "greeting", "hello", 0), RUMOR_OK);
    assert_true (s_wait_key (good, 3, good [0], "greeting", "hello", &tally));

    //  Refused on both sides, and counted
    assert_true (s_wait_stat (wrong, "security.links_given_up", 1));
    assert_true (s_wait_stat (plain, "security.links_given_up", 1));
    assert_true (s_wait_stat (good [0], "security.handshakes_refused", 2));
    uint64_t beacons = 0;
    for (int i = 0; i < 3; i++)
        beacons += s_stat (good [i], "beacon.bad_mac")
                 + s_stat (good [i], "beacon.unsigned");
    assert_true (beacons > 0);
    char *why = rumor_why (wrong);
    assert_non_null (strstr (why, "every key failed"));
    free (why);

    //  Their retries back off: a bounded number of failures per window
    uint64_t wrong_before = s_stat (wrong, "security.handshake_failures");
    uint64_t plain_before = s_stat (plain, "security.handshake_failures");
    uint64_t refused_before = s_stat (good [0], "security.handshakes_refused");
    int64_t until = zclock_mono () + WATCH_MS;
    while (zclock_mono () < until) {
        s_pump (all, 5, &tally);
        s_await (all, 5, 100);
    }
    uint64_t wrong_grew = s_stat (wrong, "security.handshake_failures")
                        - wrong_before;
    uint64_t plain_grew = s_stat (plain, "security.handshake_failures")
                        - plain_before;
    uint64_t refused_grew = s_stat (good [0], "security.handshakes_refused")
                          - refused_before;
    print_message ("in %d ms: wrong failed %" PRIu64 ", plain failed %"
                   PRIu64 ", the seed refused %" PRIu64 "\n", WATCH_MS,
                   wrong_grew, plain_grew, refused_grew);
    const char *names [] = { "security.handshakes_refused",
        "security.handshake_failures", "security.links_given_up",
        "security.zap_refused", "security.zap_admitted",
        "supervisor.router_accepted", "security.backoff_dropped", NULL };
    for (int i = 0; i < 5 && refused_grew > 2 * WATCH_MAX; i++)
        for (int k = 0; names [k]; k++)
            print_message ("  %s %s = %" PRIu64 "\n", rumor_name (all [i]),
                           names [k], s_stat (all [i], names [k]));
    assert_true (wrong_grew <= WATCH_MAX);
    assert_true (plain_grew <= WATCH_MAX);
    assert_true (refused_grew <= 2 * WATCH_MAX);

    //  Nobody lists them, they list nobody
    size_t alive;
    for (int i = 0; i < 3; i++)
        assert_int_equal (s_members (good [i], &alive), 3);
    assert_int_equal (s_members (wrong, &alive), 1);
    assert_int_equal (s_members (plain, &alive), 1);
    //  A failed handshake is no lost peer for the detector
    assert_int_equal (s_stat (wrong, "supervisor.peer_lost"), 0);
    assert_int_equal (s_stat (plain, "supervisor.peer_lost"), 0);
    //  A secured member that dies is still found out (the fast path waits
    //  for its redial to be refused)
    char victim [96];
    snprintf (victim, sizeof (victim), "%s", rumor_name (good [2]));
    tally.watch = victim;
    rumor_node_crash (&good [2]);
    all [2] = NULL;
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (tally.watched < 2 && zclock_mono () < deadline) {
        s_pump (good, 2, &tally);
        s_await (good, 2, 50);
    }
    assert_int_equal (tally.watched, 2);
    assert_true (s_stat (good [0], "supervisor.peer_lost")
               + s_stat (good [1], "supervisor.peer_lost") > 0);
    for (int i = 0; i < 5; i++)
        rumor_destroy (&all [i]);
}


//  --------------------------------------------------------------------------
//  The relay: what an eavesdropper on the TCP links sees

#define RELAY_PAIRS     64

typedef struct {
    int listeners [2];              //  on 127.0.0.1:ports [i]
    struct sockaddr_in targets [2]; //  where each forwards to
    int fds [RELAY_PAIRS][2];       //  client side, target side; -1 free
    bool stop;                      //  under lock
    pthread_mutex_t lock;
    uint8_t *recording;             //  every byte, both ways, under lock
    size_t recorded;
    size_t room;
    pthread_t thread;
} s_relay_t;

static void
s_record (s_relay_t *relay, const uint8_t *data, size_t size)
{
    pthread_mutex_lock (&relay->lock);
    if (relay->recorded + size > relay->room) {
        relay->room = (relay->recorded + size) * 2;
        relay->recording = (uint8_t *) realloc (relay->recording, relay->room);
        assert_non_null (relay->recording);
    }
    memcpy (relay->recording + relay->recorded, data, size);
    relay->recorded += size;
    pthread_mutex_unlock (&relay->lock);
}

static void
s_relay_accept (s_relay_t *relay, int which)
{
    int client = accept (relay->listeners [which], NULL, NULL);
    if (client < 0)
        return;
    int target = socket (AF_INET, SOCK_STREAM, 0);
    int slot = -1;
    for (int i = 0; i < RELAY_PAIRS && slot < 0; i++)
        if (relay->fds [i][0] < 0)
            slot = i;
    if (slot < 0 || target < 0
    ||  connect (target, (struct sockaddr *) &relay->targets [which],
                 sizeof (relay->targets [which]))) {
        close (client);
        if (target >= 0)
            close (target);
        return;
    }
    relay->fds [slot][0] = client;
    relay->fds [slot][1] = target;
}

//  Move what is readable on one side to the other; false once closed
static bool
s_relay_move (s_relay_t *relay, int from, int to)
{
    uint8_t buffer [65536];
    ssize_t size = read (from, buffer, sizeof (buffer));
    if (size <= 0)
        return false;
    s_record (relay, buffer, (size_t) size);
    for (ssize_t sent = 0; sent < size; ) {
        ssize_t rc = write (to, buffer + sent, (size_t) (size - sent));
        if (rc <= 0)
            return false;
        sent += rc;
    }
    return true;
}

static void *
s_relay_run (void *args)
{
    s_relay_t *relay = (s_relay_t *) args;
    while (true) {
        pthread_mutex_lock (&relay->lock);
        bool stop = relay->stop;
        pthread_mutex_unlock (&relay->lock);
        if (stop)
            break;
        struct pollfd items [2 + 2 * RELAY_PAIRS];
        int slots [2 + 2 * RELAY_PAIRS];
        int n = 0;
        for (int i = 0; i < 2; i++) {
            items [n] = (struct pollfd) { relay->listeners [i], POLLIN, 0 };
            slots [n++] = -1 - i;
        }
        for (int i = 0; i < RELAY_PAIRS; i++)
            for (int side = 0; side < 2 && relay->fds [i][0] >= 0; side++) {
                items [n] = (struct pollfd) { relay->fds [i][side], POLLIN, 0 };
                slots [n++] = i * 2 + side;
            }
        if (poll (items, (nfds_t) n, 50) <= 0)
            continue;
        for (int k = 0; k < n; k++) {
            if (!items [k].revents)
                continue;
            if (slots [k] < 0) {
                s_relay_accept (relay, -1 - slots [k]);
                continue;
            }
            int pair = slots [k] / 2, side = slots [k] % 2;
            if (relay->fds [pair][0] < 0)
                continue;
            if (!s_relay_move (relay, relay->fds [pair][side],
                               relay->fds [pair][1 - side])) {
                close (relay->fds [pair][0]);
                close (relay->fds [pair][1]);
                relay->fds [pair][0] = relay->fds [pair][1] = -1;
            }
        }
    }
    return NULL;
}

//  A listener on 127.0.0.1:port, or -1 if the port is taken
static int
s_listen (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof (on));
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_port = htons ((uint16_t) port) };
    inet_pton (AF_INET, "127.0.0.1", &address.sin_addr);
    if (bind (fd, (struct sockaddr *) &address, sizeof (address))
    ||  listen (fd, 16)) {
        close (fd);
        return -1;
    }
    return fd;
}

//  Relay 127.0.0.1:ports[i] to hosts[i]:ports[i]; ports chosen here
static void
s_relay_start (s_relay_t *relay, int *ports, const char **hosts)
{
    memset (relay, 0, sizeof (*relay));
    pthread_mutex_init (&relay->lock, NULL);
    for (int i = 0; i < RELAY_PAIRS; i++)
        relay->fds [i][0] = relay->fds [i][1] = -1;
    for (int i = 0; i < 2; i++) {
        do {
            ports [i] = 20000 + (int) (random () % 40000);
            relay->listeners [i] = s_listen (ports [i]);
        } while (relay->listeners [i] < 0);
        relay->targets [i].sin_family = AF_INET;
        relay->targets [i].sin_port = htons ((uint16_t) ports [i]);
        inet_pton (AF_INET, hosts [i], &relay->targets [i].sin_addr);
    }
    assert_int_equal (pthread_create (&relay->thread, NULL, s_relay_run,
                                      relay), 0);
}

static void
s_relay_stop (s_relay_t *relay)
{
    pthread_mutex_lock (&relay->lock);
    relay->stop = true;
    pthread_mutex_unlock (&relay->lock);
    pthread_join (relay->thread, NULL);
    for (int i = 0; i < RELAY_PAIRS; i++)
        if (relay->fds [i][0] >= 0) {
            close (relay->fds [i][0]);
            close (relay->fds [i][1]);
        }
    close (relay->listeners [0]);
    close (relay->listeners [1]);
    pthread_mutex_destroy (&relay->lock);
}

static bool
s_recorded (s_relay_t *relay, const char *text)
{
    return memmem (relay->recording, relay->recorded, text, strlen (text))
        != NULL;
}

//  Two nodes whose every byte crosses the relay: each binds 127.0.0.2 or
//  .3 and advertises 127.0.0.1, where the relay listens on its port. B
//  joins A as a seed (beacon off); keys go both ways; returns what the
//  relay saw of the four strings (a bit each).
static int
s_relay_run_pair (const char *secret, size_t *recorded, bool *curve)
{
    s_relay_t relay;
    int ports [2];
    const char *hosts [2] = { "127.0.0.2", "127.0.0.3" };
    s_relay_start (&relay, ports, hosts);
    char cluster [64];
    s_cluster_name (cluster, sizeof (cluster), "relay");
    s_opts_t opts = { .secret = secret, .beacon = RUMOR_BEACON_OFF,
                      .bind = hosts [0], .port = ports [0],
                      .advertise = "127.0.0.1" };
    rumor_t *a = s_node (cluster, "a", &opts);
    assert_int_equal (rumor_set_str (a, "relay-key-alpha", "value-alpha-7f3e",
                                     0), RUMOR_OK);
    char seed [64];
    snprintf (seed, sizeof (seed), "tcp://127.0.0.1:%d", ports [0]);
    opts.bind = hosts [1];
    opts.port = ports [1];
    opts.seed = seed;
    rumor_t *b = s_node (cluster, "b", &opts);
    rumor_t *both [2] = { a, b };
    s_tally_t tally = { 0 };
    assert_true (s_wait_formed (both, 2, &tally));
    assert_int_equal (rumor_set_str (b, "relay-key-beta", "value-beta-91c2", 0),
                      RUMOR_OK);
    assert_true (s_wait_key (both, 2, a, "relay-key-alpha", "value-alpha-7f3e",
                             &tally));
    assert_true (s_wait_key (both, 2, b, "relay-key-beta", "value-beta-91c2",
                             &tally));
    rumor_destroy (&b);
    rumor_destroy (&a);
    s_relay_stop (&relay);
    int seen = (s_recorded (&relay, "relay-key-alpha")? 1: 0)
             | (s_recorded (&relay, "value-alpha-7f3e")? 2: 0)
             | (s_recorded (&relay, "relay-key-beta")? 4: 0)
             | (s_recorded (&relay, "value-beta-91c2")? 8: 0);
    *recorded = relay.recorded;
    *curve = s_recorded (&relay, "CURVE");
    free (relay.recording);
    return seen;
}

static void
test_an_eavesdropper_sees_no_key_or_value (void **state)
{
    (void) state;
    size_t recorded;
    bool curve;
    int seen = s_relay_run_pair (K1, &recorded, &curve);
    print_message ("with the secret: %zu bytes recorded, strings seen %x\n",
                   recorded, seen);
    assert_true (recorded > 1000);
    assert_true (curve);            //  the handshake did cross the relay
    assert_int_equal (seen, 0);
    //  The same run in clear shows them: the check above can fail
    seen = s_relay_run_pair (NULL, &recorded, &curve);
    print_message ("without: %zu bytes recorded, strings seen %x\n",
                   recorded, seen);
    assert_false (curve);
    assert_int_equal (seen, 15);
}


//  --------------------------------------------------------------------------
//  Rolling rotation

#define ROTATION    4

static void
test_rolling_rotation_keeps_the_cluster_whole (void **state)
{
    (void) state;
    char cluster [64];
    s_cluster_name (cluster, sizeof (cluster), "rotate");
    //  The default (LAN) profile: LOCAL's 50 ms probe timeouts declare
    //  nodes dead on a machine starved of CPU, secret or not; this test
    //  is about what re-keying does
    s_opts_t opts = { .secret = K1, .beacon = RUMOR_BEACON_LOOPBACK,
                      .bind = s_address, .advertise = s_address,
                      .lan = true };
    rumor_t *nodes [ROTATION];
    char name [16];
    for (int i = 0; i < ROTATION; i++) {
        snprintf (name, sizeof (name), "n%d", i);
        nodes [i] = s_node (cluster, name, &opts);
    }
    //  A program that hears everything must never see "$rumor.keys"
    for (int i = 0; i < ROTATION; i++)
        assert_int_equal (rumor_hear (nodes [i], "#"), RUMOR_OK);
    s_tally_t tally = { 0 };
    assert_true (s_wait_formed (nodes, ROTATION, &tally));
    rumor_t *probe = rumor_new ("fingerprints");
    assert_int_equal (rumor_set_secret (probe, K1), RUMOR_OK);
    assert_int_equal (rumor_keys_install (probe, K2), RUMOR_OK);
    char *both = s_prints (probe);
    char first [17], second [17];
    snprintf (first, sizeof (first), "%s", both);
    snprintf (second, sizeof (second), "%s", both + 17);
    rumor_destroy (&probe);

    //  1. Install K2 everywhere
    s_keys_cluster (nodes, ROTATION, RUMOR_KEYS_INSTALL, K2, &tally);
    assert_int_equal (tally.ok, ROTATION);
    assert_true (tally.complete);
    char expected [64];
    snprintf (expected, sizeof (expected), "ok %s", both);
    assert_string_equal (tally.last, expected);
    for (int i = 0; i < ROTATION; i++) {
        char *prints = s_prints (nodes [i]);
        assert_string_equal (prints, both);
        free (prints);
    }
    //  2. Use K2, node by node; the cluster keeps working at every step
    for (int i = 0; i < ROTATION; i++) {
        assert_int_equal (rumor_keys_use (nodes [i], K2), RUMOR_OK);
        char key [32];
        snprintf (key, sizeof (key), "after-use-%d", i);
        assert_int_equal (rumor_set_str (nodes [i], key, "yes", 0), RUMOR_OK);
        assert_true (s_wait_key (nodes, ROTATION, nodes [i], key, "yes",
                                 &tally));
        assert_true (s_wait_formed (nodes, ROTATION, &tally));
        print_message ("n%d uses K2: %d suspect event(s) so far\n", i,
                       tally.suspect);
    }
    //  3. Remove K1 everywhere; then the primary cannot be removed
    s_keys_cluster (nodes, ROTATION, RUMOR_KEYS_REMOVE, K1, &tally);
    print_message ("remove: ok %d errors %d complete %d last '%s'\n",
                   tally.ok, tally.errors, tally.complete, tally.last);
    const char *names [] = { "security.keys", "app.responded",
        "app.received", "supervisor.dropped_full", "supervisor.unroutable",
        "security.key_retries", "security.backoff_dropped",
        "security.handshake_failures", "security.links_given_up",
        "supervisor.links", "security.rebinds", NULL };
    for (int i = 0; i < ROTATION && tally.ok != ROTATION; i++)
        for (int k = 0; names [k]; k++)
            print_message ("  n%d %s = %" PRIu64 "\n", i, names [k],
                           s_stat (nodes [i], names [k]));
    assert_int_equal (tally.ok, ROTATION);
    assert_true (tally.complete);
    snprintf (expected, sizeof (expected), "ok %s", second);
    assert_string_equal (tally.last, expected);
    s_keys_cluster (nodes, ROTATION, RUMOR_KEYS_REMOVE, K2, &tally);
    assert_int_equal (tally.errors, ROTATION);
    assert_string_equal (tally.last, "error it is the primary key");
    s_keys_cluster (nodes, ROTATION, RUMOR_KEYS_LIST, NULL, &tally);
    assert_int_equal (tally.ok, ROTATION);
    assert_string_equal (tally.last, expected);
    //  A key set after the rotation converges
    assert_int_equal (rumor_set_str (nodes [ROTATION - 1], "rotated", "done", 0),
                      RUMOR_OK);
    assert_true (s_wait_key (nodes, ROTATION, nodes [ROTATION - 1], "rotated",
                             "done", &tally));

    //  No link between members was ever given up along the way
    for (int i = 0; i < ROTATION; i++)
        assert_int_equal (s_stat (nodes [i], "security.links_given_up"), 0);

    //  4. A node with only K1 is refused now
    uint64_t refused = s_stat (nodes [0], "security.handshakes_refused");
    opts.seed = rumor_endpoint (nodes [0]);
    rumor_t *old = s_node (cluster, "old", &opts);
    assert_true (s_wait_stat (old, "security.links_given_up", 1));
    assert_true (s_wait_stat (nodes [0], "security.handshakes_refused",
                              refused + 1));
    size_t alive;
    assert_int_equal (s_members (old, &alive), 1);
    s_pump (nodes, ROTATION, &tally);
    assert_true (s_formed (nodes, ROTATION));
    rumor_destroy (&old);
    //  Each node rebound once (its USE); REMOVE did not need to, since no
    //  connection could still hold K1; peers did retry their keys
    uint64_t retries = 0;
    for (int i = 0; i < ROTATION; i++) {
        assert_int_equal (s_stat (nodes [i], "security.rebinds"), 1);
        retries += s_stat (nodes [i], "security.key_retries");
    }
    assert_true (retries > 0);

    //  5. Back to K1 in one step for all: install, then use, cluster-wide
    s_keys_cluster (nodes, ROTATION, RUMOR_KEYS_INSTALL, K1, &tally);
    assert_int_equal (tally.ok, ROTATION);
    s_keys_cluster (nodes, ROTATION, RUMOR_KEYS_USE, K1, &tally);
    assert_int_equal (tally.ok, ROTATION);
    assert_true (tally.complete);
    snprintf (expected, sizeof (expected), "ok %s %s", first, second);
    assert_string_equal (tally.last, expected);
    assert_int_equal (rumor_set_str (nodes [1], "back", "to-k1", 0), RUMOR_OK);
    assert_true (s_wait_key (nodes, ROTATION, nodes [1], "back", "to-k1",
                             &tally));
    assert_true (s_wait_formed (nodes, ROTATION, &tally));
    for (int i = 0; i < ROTATION; i++)
        assert_true (s_wait_stat (nodes [i], "security.rebinds", 2));
    print_message ("rotation: %d suspect event(s), %d failed\n",
                   tally.suspect, tally.failed);
    assert_int_equal (tally.failed, 0);
    assert_int_equal (tally.reserved, 0);
    free (both);
    for (int i = 0; i < ROTATION; i++)
        rumor_destroy (&nodes [i]);
}

int
main (void)
{
    zsys_set_max_sockets (8192);
    srandom ((unsigned) (getpid () ^ zclock_usecs ()));
    s_beacon_port = 20000 + (int) (random () % 40000);
    snprintf (s_address, sizeof (s_address), "127.%d.%d.1",
              1 + (int) (random () % 254), 1 + (int) (random () % 254));
    printf ("test_secure: beacon port %d, address %s\n", s_beacon_port,
            s_address);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_keyring_api_refuses_what_it_must),
        cmocka_unit_test (test_only_holders_of_the_secret_are_members),
        cmocka_unit_test (test_an_eavesdropper_sees_no_key_or_value),
        cmocka_unit_test (test_rolling_rotation_keeps_the_cluster_whole),
        //  Last: zauth's endpoint is freed by libzmq's reaper some time
        //  after zauth is destroyed, so a secured node started right
        //  after it may still find the ZAP endpoint taken
        cmocka_unit_test (test_zauth_in_the_program_refuses_a_secured_start),
    };
    //  TEST_FILTER=pattern runs only the matching tests
    if (getenv ("TEST_FILTER"))
        cmocka_set_test_filter (getenv ("TEST_FILTER"));
    return cmocka_run_group_tests (tests, NULL, NULL);
}
