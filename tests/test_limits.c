/*  =========================================================================
    test_limits - every user-facing limit refuses the excess, counts it,
    and leaves what is under it working

    The cores are driven with explicit time; network input is made the way
    a peer makes it (a body packed, sealed with rumor_codec_seal, decoded
    with rumor_codec_decode). The node API part checks names, defaults,
    ranges and the before-start rule, and that a node started with limits
    applies them (rumor_set over max-keys and max-value-bytes, the stats
    counters).
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <inttypes.h>
#include <unistd.h>
#include "rumor.h"
#include "rumor_limits.h"
#include "anti_entropy.h"
#include "app.h"

#define T0          1700000000000LL     //  virtual wall clock, ms
#define CLUSTER     0x11a175c0ffeeULL   //  any cluster hash

//  --------------------------------------------------------------------------
//  Network input as a peer makes it

//  Pack body (an Envelope with only its body set), seal it from sender and
//  decode it as the receiver's supervisor does. Caller frees the result.
static Rumor__Envelope *
s_wire (const rumor_id_t *sender, uint64_t generation,
        const Rumor__Envelope *body)
{
    size_t size = rumor__envelope__get_packed_size (body);
    uint8_t *packed = (uint8_t *) malloc (size + 1);
    assert_non_null (packed);
    rumor__envelope__pack (body, packed);
    rumor_header_t header;
    memset (&header, 0, sizeof (header));
    header.cluster = CLUSTER;
    header.sender = *sender;
    header.generation = generation;
    header.seq = 1;
    zframe_t *frame = rumor_codec_seal (&header, NULL, 0, packed, size);
    free (packed);
    assert_non_null (frame);
    rumor_codec_stats_t stats;
    memset (&stats, 0, sizeof (stats));
    Rumor__Envelope *env = rumor_codec_decode (zframe_data (frame),
        zframe_size (frame), CLUSTER, &stats);
    zframe_destroy (&frame);
    assert_non_null (env);
    return env;
}

static void
s_drain (zframe_t *(*next) (void *), void *core)
{
    zframe_t *msg;
    while ((msg = next (core)))
        zframe_destroy (&msg);
}

static zframe_t *
s_ae_next (void *core)
{
    return rumor_anti_entropy_next_effect ((rumor_anti_entropy_t *) core);
}

static zframe_t *
s_app_next (void *core)
{
    return rumor_app_next_effect ((rumor_app_t *) core);
}


//  --------------------------------------------------------------------------
//  Anti-entropy: max-keys and max-value-bytes

static rumor_anti_entropy_t *
s_ae_new (uint64_t n, size_t max_keys, size_t max_value_bytes)
{
    rumor_anti_entropy_cfg_t cfg;
    rumor_anti_entropy_cfg_defaults (&cfg);
    rumor_id_from_u64 (&cfg.self, n);
    cfg.generation = (uint64_t) T0 - 1000 * n;
    cfg.seed = n;
    cfg.max_keys = max_keys;
    cfg.max_value_bytes = max_value_bytes;
    rumor_anti_entropy_t *core = rumor_anti_entropy_new (&cfg);
    assert_non_null (core);
    return core;
}

//  Tell core that member n is alive (a gossip peer, and an origin it
//  accepts keys of)
static void
s_ae_member (rumor_anti_entropy_t *core, uint64_t n)
{
    rumor_id_t id;
    rumor_id_from_u64 (&id, n);
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.id = rumor_id_bin (&id);
    update.generation = (uint64_t) T0 - 1000 * n;
    update.state = RUMOR__STATE__STATE_ALIVE;
    update.name = "node";
    update.endpoint = "tcp://127.0.0.1:7400";
    assert_int_equal (rumor_anti_entropy_on_event (core, T0, "member",
                                                   &update.base), 0);
}

//  A Delta (an answer, not a push) from member n carrying its entries
//  versions first..last: key "k<version>", value of size bytes each
static int
s_ae_delta (rumor_anti_entropy_t *core, int64_t now, uint64_t n,
            uint64_t first, uint64_t last, size_t size)
{
    rumor_id_t origin;
    rumor_id_from_u64 (&origin, n);
    size_t count = (size_t) (last - first + 1);
    Rumor__KvEntry *entries = (Rumor__KvEntry *) calloc (
        count, sizeof (Rumor__KvEntry));
    Rumor__KvEntry **list = (Rumor__KvEntry **) calloc (
        count, sizeof (Rumor__KvEntry *));
    char (*keys) [24] = calloc (count, 24);
    uint8_t *value = (uint8_t *) calloc (1, size + 1);
    assert_true (entries && list && keys && value);
    for (size_t i = 0; i < count; i++) {
        rumor__kv_entry__init (&entries [i]);
        entries [i].origin = rumor_id_bin (&origin);
        entries [i].generation = (uint64_t) T0 - 1000 * n;
        snprintf (keys [i], 24, "k%" PRIu64, first + i);
        entries [i].key = keys [i];
        entries [i].value.data = value;
        entries [i].value.len = size;
        entries [i].version = first + i;
        list [i] = &entries [i];
    }
    Rumor__Delta delta = RUMOR__DELTA__INIT;
    delta.entries = list;
    delta.n_entries = count;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_DELTA;
    body.delta = &delta;
    Rumor__Envelope *env = s_wire (&origin, (uint64_t) T0 - 1000 * n, &body);
    int rc = rumor_anti_entropy_on_message (core, now, env);
    rumor_codec_free (&env);
    free (entries);
    free (list);
    free (keys);
    free (value);
    return rc;
}

static size_t
s_ae_keys (rumor_anti_entropy_t *core, uint64_t n)
{
    rumor_id_t origin;
    rumor_id_from_u64 (&origin, n);
    zlistx_t *keys = zlistx_new ();
    zlistx_set_destructor (keys, (zlistx_destructor_fn *) zstr_free);
    size_t count = rumor_anti_entropy_keys (core, n? &origin: NULL, keys);
    zlistx_destroy (&keys);
    return count;
}

static void
test_keys_local (void **state)
{
    (void) state;
    rumor_anti_entropy_t *core = s_ae_new (1, 3, 1 << 20);
    assert_int_equal (rumor_anti_entropy_set (core, T0, "a", "1", 1, 0), 0);
    assert_int_equal (rumor_anti_entropy_set (core, T0, "b", "1", 1, 0), 0);
    assert_int_equal (rumor_anti_entropy_set (core, T0, "c", "1", 1, 0), 0);
    //  A fourth key is refused; rewriting and deleting a held one works
    assert_int_equal (rumor_anti_entropy_set (core, T0, "d", "1", 1, 0),
                      RUMOR_AE_EFULL);
    assert_int_equal (rumor_anti_entropy_stats (core)->full, 1);
    assert_int_equal (rumor_anti_entropy_set (core, T0, "a", "22", 2, 0), 0);
    assert_int_equal (rumor_anti_entropy_delete (core, T0, "b"), 0);
    assert_int_equal (s_ae_keys (core, 0), 2);
    rumor_anti_entropy_destroy (&core);
}

static void
test_keys_remote (void **state)
{
    (void) state;
    rumor_anti_entropy_t *core = s_ae_new (1, 3, 1 << 20);
    s_ae_member (core, 2);
    s_ae_member (core, 3);
    //  Member 2 sends five keys: three are held, two refused and counted
    assert_int_equal (s_ae_delta (core, T0, 2, 1, 5, 10), -1);
    assert_int_equal (s_ae_keys (core, 2), 3);
    assert_int_equal (rumor_anti_entropy_stats (core)->full, 2);
    //  ... which costs member 3 nothing
    assert_int_equal (s_ae_delta (core, T0, 3, 1, 3, 10), 0);
    assert_int_equal (s_ae_keys (core, 3), 3);
    assert_int_equal (rumor_anti_entropy_peers (core), 2);
    s_drain (s_ae_next, core);
    rumor_anti_entropy_destroy (&core);
}

static void
test_value_bytes_local (void **state)
{
    (void) state;
    rumor_anti_entropy_t *core = s_ae_new (1, 100, 1000);
    char value [1001];
    memset (value, 'x', sizeof (value));
    assert_int_equal (rumor_anti_entropy_set (core, T0, "a", value, 600, 0), 0);
    //  600 + 600 > 1000: refused and counted; under it still works
    assert_int_equal (rumor_anti_entropy_set (core, T0, "b", value, 600, 0),
                      RUMOR_AE_EFULL);
    assert_int_equal (rumor_anti_entropy_stats (core)->value_bytes_full, 1);
    assert_int_equal (rumor_anti_entropy_set (core, T0, "b", value, 400, 0), 0);
    //  A single value over the whole budget
    assert_int_equal (rumor_anti_entropy_set (core, T0, "c", value, 1001, 0),
                      RUMOR_AE_EFULL);
    //  Shrinking a value makes room; a replaced value counts once
    assert_int_equal (rumor_anti_entropy_set (core, T0, "a", value, 100, 0), 0);
    assert_int_equal (rumor_anti_entropy_set (core, T0, "b", value, 900, 0), 0);
    assert_int_equal (rumor_anti_entropy_set (core, T0, "c", value, 1, 0),
                      RUMOR_AE_EFULL);
    //  A delete (a tombstone, no value) always fits, and frees its bytes
    assert_int_equal (rumor_anti_entropy_delete (core, T0, "b"), 0);
    assert_int_equal (rumor_anti_entropy_set (core, T0, "c", value, 900, 0), 0);
    assert_int_equal (rumor_anti_entropy_stats (core)->value_bytes_full, 3);
    rumor_anti_entropy_destroy (&core);
}

static void
test_value_bytes_remote (void **state)
{
    (void) state;
    rumor_anti_entropy_t *core = s_ae_new (1, 100, 1000);
    s_ae_member (core, 2);
    s_ae_member (core, 3);
    //  Member 2 sends 4 x 300 bytes: three fit (900), the fourth is refused
    assert_int_equal (s_ae_delta (core, T0, 2, 1, 4, 300), -1);
    assert_int_equal (s_ae_keys (core, 2), 3);
    assert_int_equal (rumor_anti_entropy_stats (core)->value_bytes_full, 1);
    //  Later writes of member 2 that fit are still applied (other keys)...
    assert_int_equal (s_ae_delta (core, T0, 2, 5, 5, 50), 0);
    assert_int_equal (s_ae_keys (core, 2), 4);
    //  ... and member 3 has its own budget
    assert_int_equal (s_ae_delta (core, T0, 3, 1, 3, 300), 0);
    assert_int_equal (s_ae_keys (core, 3), 3);
    s_drain (s_ae_next, core);
    rumor_anti_entropy_destroy (&core);
}


//  --------------------------------------------------------------------------
//  App: max-events-per-sec

static rumor_app_t *
s_app_new (int64_t rate)
{
    rumor_app_cfg_t cfg;
    rumor_app_cfg_defaults (&cfg);
    rumor_id_from_u64 (&cfg.self, 1);
    cfg.generation = 1000;
    cfg.seed = 1;
    cfg.rate_per_sec = rate;
    rumor_app_t *core = rumor_app_new (&cfg);
    assert_non_null (core);
    assert_int_equal (rumor_app_hear (core, "#"), 0);
    return core;
}

static void
s_app_member (rumor_app_t *core, uint64_t n)
{
    rumor_id_t id;
    rumor_id_from_u64 (&id, n);
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.id = rumor_id_bin (&id);
    update.generation = 1000 + n;
    update.state = RUMOR__STATE__STATE_ALIVE;
    update.name = "node";
    update.endpoint = "tcp://127.0.0.1:7400";
    assert_int_equal (rumor_app_on_event (core, T0, "member", &update.base), 0);
}

//  Event number id said by origin n, arriving from origin n itself
static int
s_app_event (rumor_app_t *core, int64_t now, uint64_t n, uint64_t id)
{
    rumor_id_t origin;
    rumor_id_from_u64 (&origin, n);
    Rumor__Event event = RUMOR__EVENT__INIT;
    event.origin = rumor_id_bin (&origin);
    event.id = id;
    event.topic = "flood.test";
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_EVENT;
    body.event = &event;
    Rumor__Envelope *env = s_wire (&origin, 1000 + n, &body);
    int rc = rumor_app_on_message (core, now, env);
    rumor_codec_free (&env);
    return rc;
}

static int
s_app_direct (rumor_app_t *core, int64_t now, uint64_t n, uint64_t id)
{
    rumor_id_t sender;
    rumor_id_from_u64 (&sender, n);
    Rumor__Direct direct = RUMOR__DIRECT__INIT;
    direct.id = id;
    direct.topic = "hello";
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_DIRECT;
    body.direct = &direct;
    Rumor__Envelope *env = s_wire (&sender, 1000 + n, &body);
    int rc = rumor_app_on_message (core, now, env);
    rumor_codec_free (&env);
    return rc;
}

static void
test_rate_events (void **state)
{
    (void) state;
    rumor_app_t *core = s_app_new (10);
    s_app_member (core, 2);
    s_app_member (core, 3);
    //  A burst of one second's worth is accepted, then refused and counted
    for (uint64_t id = 1; id <= 10; id++)
        assert_int_equal (s_app_event (core, T0, 2, id), 0);
    assert_int_equal (s_app_event (core, T0, 2, 11), -1);
    assert_int_equal (s_app_event (core, T0 + 50, 2, 12), -1);
    assert_int_equal (rumor_app_stats (core)->rate_limited, 2);
    assert_int_equal (rumor_app_stats (core)->delivered, 10);
    //  Another origin is not affected
    assert_int_equal (s_app_event (core, T0 + 50, 3, 1), 0);
    //  10 per second: one more after 100 ms, and not two
    assert_int_equal (s_app_event (core, T0 + 100, 2, 11), 0);
    assert_int_equal (s_app_event (core, T0 + 100, 2, 12), -1);
    //  A refused event was not marked seen: it is accepted later (a Graft
    //  fetches it again in a live node), and only once
    assert_int_equal (s_app_event (core, T0 + 250, 2, 12), 0);
    assert_int_equal (s_app_event (core, T0 + 250, 2, 12), 0);
    assert_int_equal (rumor_app_stats (core)->duplicates, 1);
    assert_int_equal (rumor_app_stats (core)->delivered, 13);
    //  After a quiet second the full burst is back, not more
    int accepted = 0;
    for (uint64_t id = 100; id < 120; id++)
        accepted += s_app_event (core, T0 + 5000, 2, id) == 0;
    assert_int_equal (accepted, 10);
    s_drain (s_app_next, core);
    rumor_app_destroy (&core);
}

static void
test_rate_directs (void **state)
{
    (void) state;
    rumor_app_t *core = s_app_new (5);
    s_app_member (core, 2);
    //  Directs share the origin's bucket with its events
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal (s_app_event (core, T0, 2, id), 0);
    assert_int_equal (s_app_direct (core, T0, 2, 1), 0);
    assert_int_equal (s_app_direct (core, T0, 2, 2), 0);
    assert_int_equal (s_app_direct (core, T0, 2, 3), -1);
    assert_int_equal (rumor_app_stats (core)->rate_limited, 1);
    assert_int_equal (rumor_app_stats (core)->directs_received, 2);
    //  Strangers (not members) share one bucket: one flooding stranger
    //  cannot take a member's budget
    for (uint64_t id = 1; id <= 5; id++)
        assert_int_equal (s_app_direct (core, T0, 50 + id, id), 0);
    assert_int_equal (s_app_direct (core, T0, 99, 1), -1);
    assert_int_equal (s_app_direct (core, T0 + 200, 2, 4), 0);
    assert_int_equal (rumor_app_stats (core)->rate_limited, 2);
    s_drain (s_app_next, core);
    rumor_app_destroy (&core);
}

static void
test_rate_default_is_not_a_throttle (void **state)
{
    (void) state;
    //  The default must pass the benchmark loads: 50,000 events/s from one
    //  sender, 200,000 directs/s between two nodes (1 ms steps here)
    rumor_app_cfg_t cfg;
    rumor_app_cfg_defaults (&cfg);
    assert_true (cfg.rate_per_sec >= 200000);
    assert_int_equal (cfg.rate_per_sec, RUMOR_LIMIT_EVENTS_PER_SEC_DFLT);
    rumor_app_t *core = s_app_new (cfg.rate_per_sec);
    s_app_member (core, 2);
    uint64_t id = 0;
    for (int64_t ms = 0; ms < 100; ms++)
        for (int i = 0; i < 200; i++)
            assert_int_equal (s_app_direct (core, T0 + ms, 2, ++id), 0);
    assert_int_equal (rumor_app_stats (core)->rate_limited, 0);
    s_drain (s_app_next, core);
    rumor_app_destroy (&core);
}


//  --------------------------------------------------------------------------
//  Node API

static void
test_api (void **state)
{
    (void) state;
    rumor_t *node = rumor_new ("limits-api");
    assert_non_null (node);
    const char *names [RUMOR_LIMITS] = {
        "max-message-bytes", "max-members", "max-keys", "max-value-bytes",
        "max-events-per-sec", "max-queue"
    };
    int64_t defaults [RUMOR_LIMITS] = {
        1024 * 1024, 10000, 10000, 4 * 1024 * 1024, 250000, 1000
    };
    for (int limit = 0; limit < RUMOR_LIMITS; limit++) {
        assert_string_equal (rumor_limit_name ((rumor_limit_t) limit),
                             names [limit]);
        assert_int_equal (rumor_limit (node, (rumor_limit_t) limit),
                          defaults [limit]);
        //  Zero and negative are out of every range
        assert_int_equal (rumor_set_limit (node, (rumor_limit_t) limit, 0),
                          RUMOR_EINVAL);
        assert_int_equal (rumor_set_limit (node, (rumor_limit_t) limit, -1),
                          RUMOR_EINVAL);
    }
    assert_null (rumor_limit_name ((rumor_limit_t) RUMOR_LIMITS));
    assert_null (rumor_limit_name ((rumor_limit_t) -1));
    assert_int_equal (rumor_limit (node, (rumor_limit_t) 99), RUMOR_EINVAL);
    assert_int_equal (rumor_set_limit (node, (rumor_limit_t) 99, 5),
                      RUMOR_EINVAL);
    assert_int_equal (rumor_set_limit (NULL, RUMOR_LIMIT_KEYS, 5),
                      RUMOR_EINVAL);
    //  Ranges
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_MESSAGE_BYTES,
                                       2 * 1024 * 1024), RUMOR_EINVAL);
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_MESSAGE_BYTES,
                                       64 * 1024), RUMOR_EINVAL);
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_MESSAGE_BYTES,
                                       256 * 1024), RUMOR_OK);
    assert_int_equal (rumor_limit (node, RUMOR_LIMIT_MESSAGE_BYTES), 256 * 1024);
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_MEMBERS, 1),
                      RUMOR_EINVAL);
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_QUEUE, 15),
                      RUMOR_EINVAL);
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_QUEUE, 16), RUMOR_OK);
    rumor_destroy (&node);
}

//  A counter of a running node, 0 if absent
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

//  Wait (bounded) until counter name of node reaches at least min
static bool
s_stat_reaches (rumor_t *node, const char *name, uint64_t min)
{
    int64_t deadline = zclock_mono () + 10000;
    while (zclock_mono () < deadline) {
        if (s_stat (node, name) >= min)
            return true;
        zclock_sleep (20);
    }
    return false;
}

//  Send one frame of size garbage bytes to endpoint on a new connection
static zsock_t *
s_send_garbage (const char *endpoint, size_t size)
{
    zsock_t *dealer = zsock_new_dealer (endpoint);
    assert_non_null (dealer);
    zsock_set_linger (dealer, 0);
    zframe_t *frame = zframe_new (NULL, size);
    memset (zframe_data (frame), 0xA5, size);
    assert_int_equal (zframe_send (&frame, dealer, 0), 0);
    return dealer;
}

//  max-message-bytes: a frame under it reaches the codec (refused there as
//  garbage), a frame over it is cut by libzmq with its connection
static void
test_node_message_bytes (void **state)
{
    (void) state;
    rumor_t *node = rumor_new ("limits-frame");
    assert_non_null (node);
    rumor_set_beacon (node, RUMOR_BEACON_OFF);
    rumor_set_bind (node, "127.0.0.1");
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_MESSAGE_BYTES,
                                       128 * 1024), RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    zsock_t *under = s_send_garbage (rumor_endpoint (node), 100 * 1024);
    assert_true (s_stat_reaches (node, "codec.malformed", 1));
    assert_int_equal (s_stat (node, "supervisor.router_disconnects"), 0);
    zsock_t *over = s_send_garbage (rumor_endpoint (node), 200 * 1024);
    assert_true (s_stat_reaches (node, "supervisor.router_disconnects", 1));
    //  Nothing of it reached the codec
    assert_int_equal (s_stat (node, "codec.malformed"), 1);
    zsock_destroy (&under);
    zsock_destroy (&over);
    rumor_destroy (&node);
}

static size_t
s_member_count (rumor_t *node)
{
    zlistx_t *members = rumor_members (node);
    assert_non_null (members);
    size_t count = zlistx_size (members);
    rumor_members_destroy (&members);
    return count;
}

static bool
s_members_reach (rumor_t *node, size_t count)
{
    int64_t deadline = zclock_mono () + 15000;
    while (zclock_mono () < deadline) {
        if (s_member_count (node) >= count)
            return true;
        zclock_sleep (50);
    }
    return false;
}

static rumor_t *
s_seeded (const char *name, const char *cluster, const char *seed)
{
    rumor_t *node = rumor_new (name);
    assert_non_null (node);
    rumor_set_cluster (node, cluster);
    rumor_set_beacon (node, RUMOR_BEACON_OFF);
    rumor_set_bind (node, "127.0.0.1");
    rumor_set_profile (node, RUMOR_PROFILE_LOCAL);
    if (seed)
        assert_int_equal (rumor_join (node, seed), RUMOR_OK);
    return node;
}

//  max-members: a node that holds 2 members (itself included) refuses the
//  third and counts it, while the others, with the default, hold all 3
static void
test_node_members (void **state)
{
    (void) state;
    char cluster [64];
    snprintf (cluster, sizeof (cluster), "limits-%d", (int) getpid ());
    rumor_t *a = s_seeded ("limits-a", cluster, NULL);
    assert_int_equal (rumor_set_limit (a, RUMOR_LIMIT_MEMBERS, 2), RUMOR_OK);
    assert_int_equal (rumor_start (a), RUMOR_OK);
    rumor_t *b = s_seeded ("limits-b", cluster, rumor_endpoint (a));
    assert_int_equal (rumor_start (b), RUMOR_OK);
    rumor_t *c = s_seeded ("limits-c", cluster, rumor_endpoint (b));
    assert_int_equal (rumor_start (c), RUMOR_OK);
    assert_true (s_members_reach (b, 3));
    assert_true (s_members_reach (c, 3));
    assert_true (s_stat_reaches (a, "membership.table_full", 1));
    assert_int_equal (s_member_count (a), 2);
    rumor_destroy (&c);
    rumor_destroy (&b);
    rumor_destroy (&a);
}

//  A node started with limits applies them, and only before start
static void
test_node_applies (void **state)
{
    (void) state;
    rumor_t *node = rumor_new ("limits-node");
    assert_non_null (node);
    rumor_set_beacon (node, RUMOR_BEACON_OFF);
    rumor_set_bind (node, "127.0.0.1");
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_KEYS, 2), RUMOR_OK);
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_VALUE_BYTES, 2048),
                      RUMOR_OK);
    assert_int_equal (rumor_start (node), RUMOR_OK);
    assert_int_equal (rumor_set_limit (node, RUMOR_LIMIT_KEYS, 3),
                      RUMOR_ESTATE);
    assert_int_equal (rumor_limit (node, RUMOR_LIMIT_KEYS), 2);
    char value [2048];
    memset (value, 'v', sizeof (value));
    assert_int_equal (rumor_set (node, "a", value, 1500, 0), RUMOR_OK);
    assert_int_equal (rumor_set (node, "b", value, 1000, 0), RUMOR_EFULL);
    assert_int_equal (rumor_set (node, "b", value, 500, 0), RUMOR_OK);
    assert_int_equal (rumor_set (node, "c", "x", 1, 0), RUMOR_EFULL);
    zhash_t *stats = rumor_stats (node);
    assert_non_null (stats);
    const char *full = (const char *) zhash_lookup (stats,
        "anti_entropy.value_bytes_full");
    assert_non_null (full);
    assert_string_equal (full, "1");
    assert_non_null (zhash_lookup (stats, "app.rate_limited"));
    zhash_destroy (&stats);
    rumor_destroy (&node);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_keys_local),
        cmocka_unit_test (test_keys_remote),
        cmocka_unit_test (test_value_bytes_local),
        cmocka_unit_test (test_value_bytes_remote),
        cmocka_unit_test (test_rate_events),
        cmocka_unit_test (test_rate_directs),
        cmocka_unit_test (test_rate_default_is_not_a_throttle),
        cmocka_unit_test (test_api),
        cmocka_unit_test (test_node_applies),
        cmocka_unit_test (test_node_message_bytes),
        cmocka_unit_test (test_node_members),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
