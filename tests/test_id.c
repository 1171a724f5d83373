/*  =========================================================================
    test_id - node ids, hashes, the seeded PRNG and the effect queue

    The pinned values below are part of the protocol or of replayability:
    the cluster hash travels in every frame (a changed hash splits old and
    new nodes into two clusters), a name-derived id must survive upgrades,
    and a simulation seed must replay the same run. They were checked
    against an independent Python implementation of FNV-1a + splitmix64
    and xoshiro256**.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "codec.h"
#include "effects.h"
#include "prng.h"

//  --------------------------------------------------------------------------
//  Ids and hashes

static void
test_usage (void **state)
{
    (void) state;
    //  A node named "alice" has the same id in every run and on every host
    rumor_id_t alice;
    rumor_id_from_name (&alice, "alice");
    char hex [RUMOR_ID_HEX];
    assert_string_equal (rumor_id_hex (&alice, hex),
                         "c5d1556d66774a5c1341b8304e79395a");
    //  The hex form parses back into the same id
    rumor_id_t parsed;
    assert_int_equal (rumor_id_from_hex (&parsed, hex), 0);
    assert_true (rumor_id_eq (&alice, &parsed));
    //  Ids travel as protobuf bytes fields, checked for length on the way in
    ProtobufCBinaryData bin = rumor_id_bin (&alice);
    assert_int_equal (bin.len, RUMOR_ID_SIZE);
    rumor_id_t copy;
    assert_int_equal (rumor_id_from_bin (&copy, bin), 0);
    assert_true (rumor_id_eq_bin (&copy, bin));
    //  Every frame carries the hash of the cluster name
    assert_int_equal (rumor_cluster_hash ("office"), 0x85e8493cffe082a1ULL);
}

static void
test_hash_pinned_values (void **state)
{
    (void) state;
    assert_int_equal (rumor_hash64 ("", 0), 0xf52a15e9a9b5e89bULL);
    assert_int_equal (rumor_cluster_hash (""), 0xf52a15e9a9b5e89bULL);
    assert_int_equal (rumor_cluster_hash ("test"), 0xe787463043d21b69ULL);
    assert_int_equal (rumor_hash64 ("office", 6), rumor_cluster_hash ("office"));
    //  Binary data, NUL bytes included, hashes all its bytes
    assert_int_not_equal (rumor_hash64 ("a\0b", 3), rumor_hash64 ("a", 1));
}

//  The finaliser spreads FNV's weak low bits: names that differ in one
//  letter differ in about half the bits of their hash.
static void
test_hash_spreads_bits (void **state)
{
    (void) state;
    char name [16];
    uint64_t total = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf (name, sizeof (name), "node-%04d", i);
        uint64_t a = rumor_cluster_hash (name);
        name [5] = (char) (name [5] + 1);
        uint64_t b = rumor_cluster_hash (name);
        total += (uint64_t) __builtin_popcountll (a ^ b);
    }
    //  Mean of 1000 binomial(64, 1/2) is 32 +- 0.13
    assert_in_range (total, 31000, 33000);
}

static void
test_id_from_name (void **state)
{
    (void) state;
    rumor_id_t a, b;
    rumor_id_from_name (&a, "alice");
    rumor_id_from_name (&b, "alice");
    assert_true (rumor_id_eq (&a, &b));
    //  The two halves are hashed with different starts
    assert_memory_not_equal (a.bytes, a.bytes + 8, 8);
    //  A thousand names give a thousand ids
    rumor_id_t ids [1000];
    char name [16];
    for (int i = 0; i < 1000; i++) {
        snprintf (name, sizeof (name), "n%d", i);
        rumor_id_from_name (&ids [i], name);
        for (int j = 0; j < i; j++)
            assert_false (rumor_id_eq (&ids [i], &ids [j]));
    }
    rumor_id_from_name (&a, "");
    assert_false (rumor_id_is_zero (&a));
}

static void
test_id_from_u64 (void **state)
{
    (void) state;
    rumor_id_t id;
    rumor_id_from_u64 (&id, 0x0102030405060708ULL);
    char hex [RUMOR_ID_HEX];
    assert_string_equal (rumor_id_hex (&id, hex),
                         "00000000000000000102030405060708");
    rumor_id_from_u64 (&id, 0);
    assert_true (rumor_id_is_zero (&id));
    //  Ordered like the numbers (big-endian), handy in simulator traces
    rumor_id_t low, high;
    rumor_id_from_u64 (&low, 255);
    rumor_id_from_u64 (&high, 256);
    assert_true (rumor_id_cmp (&low, &high) < 0);
    assert_true (rumor_id_cmp (&high, &low) > 0);
    assert_int_equal (rumor_id_cmp (&low, &low), 0);
}

static void
test_id_from_bin_checks_length (void **state)
{
    (void) state;
    uint8_t bytes [RUMOR_ID_SIZE + 1];
    memset (bytes, 0x77, sizeof (bytes));
    rumor_id_t id;
    ProtobufCBinaryData bin = { RUMOR_ID_SIZE, bytes };
    assert_int_equal (rumor_id_from_bin (&id, bin), 0);
    assert_memory_equal (id.bytes, bytes, RUMOR_ID_SIZE);
    assert_true (rumor_id_eq_bin (&id, bin));
    size_t bad_sizes [] = { 0, 1, RUMOR_ID_SIZE - 1, RUMOR_ID_SIZE + 1 };
    for (size_t i = 0; i < 4; i++) {
        bin.len = bad_sizes [i];
        memset (id.bytes, 0x55, RUMOR_ID_SIZE);
        assert_int_equal (rumor_id_from_bin (&id, bin), -1);
        assert_true (rumor_id_is_zero (&id));
        rumor_id_t other;
        rumor_id_from_u64 (&other, 1);
        assert_false (rumor_id_eq_bin (&other, bin));
    }
    //  Right length but no data (a malformed protobuf struct)
    ProtobufCBinaryData empty = { RUMOR_ID_SIZE, NULL };
    assert_int_equal (rumor_id_from_bin (&id, empty), -1);
    assert_false (rumor_id_eq_bin (&id, empty));
}

static void
test_id_hex_round_trip (void **state)
{
    (void) state;
    for (uint64_t n = 1; n < 1000000000000ULL; n *= 7) {
        rumor_id_t id, back;
        rumor_id_from_u64 (&id, n);
        id.bytes [0] = (uint8_t) n;
        char hex [RUMOR_ID_HEX];
        rumor_id_hex (&id, hex);
        assert_int_equal (strlen (hex), 2 * RUMOR_ID_SIZE);
        assert_int_equal (rumor_id_from_hex (&back, hex), 0);
        assert_true (rumor_id_eq (&id, &back));
    }
    rumor_id_t upper;
    assert_int_equal (rumor_id_from_hex (&upper, "C5D1556D66774A5C1341B8304E79395A"), 0);
    rumor_id_t alice;
    rumor_id_from_name (&alice, "alice");
    assert_true (rumor_id_eq (&upper, &alice));
}

static void
test_id_hex_refuses_malformed (void **state)
{
    (void) state;
    const char *bad [] = {
        "", "c5", "c5d1556d66774a5c1341b8304e79395",       //  short
        "c5d1556d66774a5c1341b8304e79395a0",                //  long
        "g5d1556d66774a5c1341b8304e79395a",                 //  not hex
        "c5d1556d66774a5c1341b8304e79395 ",
        "c5d1556d66774a5c1341b8304e7939-a",
        "0xd1556d66774a5c1341b8304e79395a"
    };
    rumor_id_t alice, id;
    rumor_id_from_name (&alice, "alice");
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        id = alice;
        assert_int_equal (rumor_id_from_hex (&id, bad [i]), -1);
        //  A refused id leaves the old one untouched
        assert_true (rumor_id_eq (&id, &alice));
    }
    assert_int_equal (rumor_id_from_hex (&id, NULL), -1);
}


//  --------------------------------------------------------------------------
//  PRNG

static void
test_prng_pinned_sequence (void **state)
{
    (void) state;
    rumor_prng_t prng;
    rumor_prng_seed (&prng, 42);
    assert_int_equal (rumor_prng_next (&prng), 0x15780b2e0c2ec716ULL);
    assert_int_equal (rumor_prng_next (&prng), 0x6104d9866d113a7eULL);
    assert_int_equal (rumor_prng_next (&prng), 0xae17533239e499a1ULL);
    //  Seed 0 is as good as any
    rumor_prng_seed (&prng, 0);
    assert_int_equal (rumor_prng_next (&prng), 0x99ec5f36cb75f2b4ULL);
}

static void
test_prng_same_seed_same_run (void **state)
{
    (void) state;
    rumor_prng_t a, b, c;
    rumor_prng_seed (&a, 7);
    rumor_prng_seed (&b, 7);
    rumor_prng_seed (&c, 8);
    int same_as_c = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t value = rumor_prng_next (&a);
        assert_int_equal (value, rumor_prng_next (&b));
        same_as_c += value == rumor_prng_next (&c);
    }
    assert_int_equal (same_as_c, 0);
    //  Reseeding restarts the run
    rumor_prng_seed (&a, 7);
    rumor_prng_seed (&b, 7);
    assert_int_equal (rumor_prng_below (&a, 1000), rumor_prng_below (&b, 1000));
}

static void
test_prng_below_range (void **state)
{
    (void) state;
    rumor_prng_t prng;
    rumor_prng_seed (&prng, 1);
    const uint32_t bounds [] = { 1, 2, 3, 7, 100, 1u << 31, UINT32_MAX };
    for (size_t b = 0; b < sizeof (bounds) / sizeof (bounds [0]); b++) {
        uint32_t highest = 0;
        for (int i = 0; i < 10000; i++) {
            uint32_t value = rumor_prng_below (&prng, bounds [b]);
            assert_true (value < bounds [b]);
            highest = value > highest? value: highest;
        }
        //  The top of the range is reached too (or nearly, for huge n)
        assert_true (highest >= bounds [b] - 1 - bounds [b] / 1000);
    }
}

static void
test_prng_below_uniform (void **state)
{
    (void) state;
    rumor_prng_t prng;
    rumor_prng_seed (&prng, 2);
    uint32_t buckets [10] = { 0 };
    for (int i = 0; i < 100000; i++)
        buckets [rumor_prng_below (&prng, 10)]++;
    //  Each bucket: 10000 +- 95 (one sigma); 5 sigmas of slack
    for (int i = 0; i < 10; i++)
        assert_in_range (buckets [i], 9525, 10475);
}

static void
test_prng_unit_range (void **state)
{
    (void) state;
    rumor_prng_t prng;
    rumor_prng_seed (&prng, 3);
    double sum = 0, lowest = 1, highest = 0;
    for (int i = 0; i < 100000; i++) {
        double value = rumor_prng_unit (&prng);
        assert_true (value >= 0.0 && value < 1.0);
        sum += value;
        lowest = value < lowest? value: lowest;
        highest = value > highest? value: highest;
    }
    //  Mean 0.5 +- 0.0009 (one sigma)
    assert_true (sum / 100000 > 0.495 && sum / 100000 < 0.505);
    assert_true (lowest < 0.001 && highest > 0.999);
}

static void
test_prng_shuffle (void **state)
{
    (void) state;
    rumor_prng_t prng;
    rumor_prng_seed (&prng, 4);
    //  A shuffle is a permutation
    int items [100];
    for (int i = 0; i < 100; i++)
        items [i] = i;
    rumor_prng_shuffle (&prng, items, 100, sizeof (int));
    bool seen [100] = { false };
    int moved = 0;
    for (int i = 0; i < 100; i++) {
        assert_false (seen [items [i]]);
        seen [items [i]] = true;
        moved += items [i] != i;
    }
    assert_true (moved > 80);
    //  ... every one of the 6 orders of 3 items, about equally often
    int orders [6] = { 0 };
    for (int run = 0; run < 60000; run++) {
        char abc [3] = { 0, 1, 2 };
        rumor_prng_shuffle (&prng, abc, 3, 1);
        int order = abc [0] * 2 + (abc [1] > abc [2]);
        orders [order]++;
    }
    for (int i = 0; i < 6; i++)
        assert_in_range (orders [i], 9500, 10500);
    //  Nothing to shuffle; largest items
    rumor_prng_shuffle (&prng, items, 0, sizeof (int));
    rumor_prng_shuffle (&prng, items, 1, sizeof (int));
    rumor_id_t ids [2];
    rumor_id_from_u64 (&ids [0], 1);
    rumor_id_from_u64 (&ids [1], 2);
    uint8_t wide [2][64];
    memset (wide [0], 1, 64);
    memset (wide [1], 2, 64);
    for (int i = 0; i < 10; i++)
        rumor_prng_shuffle (&prng, wide, 2, 64);
    assert_true (wide [0][63] + wide [1][0] == 3);
    //  Same seed, same shuffle
    rumor_prng_t a, b;
    rumor_prng_seed (&a, 9);
    rumor_prng_seed (&b, 9);
    int x [50], y [50];
    for (int i = 0; i < 50; i++)
        x [i] = y [i] = i;
    rumor_prng_shuffle (&a, x, 50, sizeof (int));
    rumor_prng_shuffle (&b, y, 50, sizeof (int));
    assert_memory_equal (x, y, sizeof (x));
}


//  --------------------------------------------------------------------------
//  Effect queue

static void
test_fx_send_round_trip (void **state)
{
    (void) state;
    rumor_fx_t *fx = rumor_fx_new ();
    rumor_id_t to, self;
    rumor_id_from_u64 (&to, 2);
    rumor_id_from_u64 (&self, 1);
    Rumor__Ping ping = RUMOR__PING__INIT;
    ping.probe = 77;
    ping.target = rumor_id_bin (&to);
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PING;
    body.ping = &ping;
    assert_int_equal (rumor_fx_send (fx, &to, "tcp://127.0.0.1:7002", &body), 0);
    assert_int_equal (rumor_fx_size (fx), 1);

    zframe_t *msg = rumor_fx_pop (fx);
    assert_non_null (msg);
    assert_int_equal (rumor_fx_size (fx), 0);
    rumor_fx_view_t view;
    assert_int_equal (rumor_fx_parse (msg, &view), 0);
    assert_true (view.is_send);
    assert_true (rumor_id_eq (&view.to, &to));
    assert_string_equal (view.endpoint, "tcp://127.0.0.1:7002");
    //  The shell seals the body and the peer decodes it
    rumor_header_t header;
    memset (&header, 0, sizeof (header));
    header.cluster = rumor_cluster_hash ("fx");
    header.sender = self;
    zframe_t *frame = rumor_codec_seal (&header, NULL, 0,
                                        view.body,
                                        view.body_size);
    Rumor__Envelope *env = rumor_codec_decode (
        zframe_data (frame), zframe_size (frame), header.cluster, NULL);
    assert_non_null (env);
    assert_int_equal (env->body_case, RUMOR__ENVELOPE__BODY_PING);
    assert_int_equal (env->ping->probe, 77);
    assert_true (rumor_id_eq_bin (&self, env->sender));
    rumor_codec_free (&env);
    zframe_destroy (&frame);
    zframe_destroy (&msg);
    assert_null (rumor_fx_pop (fx));
    rumor_fx_destroy (&fx);
    assert_null (fx);
    rumor_fx_destroy (&fx);
}

static void
test_fx_send_by_id_or_endpoint (void **state)
{
    (void) state;
    rumor_fx_t *fx = rumor_fx_new ();
    rumor_id_t to;
    rumor_id_from_u64 (&to, 2);
    Rumor__Prune prune = RUMOR__PRUNE__INIT;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PRUNE;
    body.prune = &prune;
    assert_int_equal (rumor_fx_send (fx, NULL, "tcp://seed:7000", &body), 0);
    assert_int_equal (rumor_fx_send (fx, &to, NULL, &body), 0);
    rumor_fx_view_t view;
    zframe_t *msg = rumor_fx_pop (fx);
    assert_int_equal (rumor_fx_parse (msg, &view), 0);
    assert_true (rumor_id_is_zero (&view.to));
    assert_string_equal (view.endpoint, "tcp://seed:7000");
    zframe_destroy (&msg);
    msg = rumor_fx_pop (fx);
    assert_int_equal (rumor_fx_parse (msg, &view), 0);
    assert_true (rumor_id_eq (&view.to, &to));
    assert_string_equal (view.endpoint, "");
    zframe_destroy (&msg);
    rumor_fx_destroy (&fx);
}

static void
test_fx_event_round_trip (void **state)
{
    (void) state;
    rumor_fx_t *fx = rumor_fx_new ();
    rumor_id_t id;
    rumor_id_from_u64 (&id, 5);
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.id = rumor_id_bin (&id);
    update.state = RUMOR__STATE__STATE_SUSPECT;
    update.incarnation = 3;
    update.name = "eve";
    assert_int_equal (rumor_fx_event (fx, "member", &update.base, NULL), 0);
    assert_int_equal (rumor_fx_event (fx, "kv", &update.base, "set"), 0);
    assert_int_equal (rumor_fx_size (fx), 2);

    zframe_t *msg = rumor_fx_pop (fx);
    rumor_fx_view_t view;
    assert_int_equal (rumor_fx_parse (msg, &view), 0);
    assert_false (view.is_send);
    assert_string_equal (view.kind, "member");
    assert_string_equal (view.extra, "");
    ProtobufCMessage *detail = rumor_codec_decode_detail (
        &rumor__member_update__descriptor,
        view.body, view.body_size);
    assert_non_null (detail);
    Rumor__MemberUpdate *decoded = (Rumor__MemberUpdate *) detail;
    assert_int_equal (decoded->state, RUMOR__STATE__STATE_SUSPECT);
    assert_int_equal (decoded->incarnation, 3);
    assert_string_equal (decoded->name, "eve");
    rumor_codec_free_detail (&detail);
    zframe_destroy (&msg);

    //  Effects come out in the order they went in
    msg = rumor_fx_pop (fx);
    assert_int_equal (rumor_fx_parse (msg, &view), 0);
    assert_string_equal (view.kind, "kv");
    assert_string_equal (view.extra, "set");
    zframe_destroy (&msg);
    rumor_fx_destroy (&fx);
}

//  A body that cannot fit in a frame is refused, and nothing is queued.
static void
test_fx_refuses_oversized (void **state)
{
    (void) state;
    rumor_fx_t *fx = rumor_fx_new ();
    rumor_id_t to;
    rumor_id_from_u64 (&to, 2);
    uint8_t *big = (uint8_t *) calloc (1, RUMOR_FRAME_MAX + 1);
    Rumor__Direct direct = RUMOR__DIRECT__INIT;
    direct.payload.data = big;
    direct.payload.len = RUMOR_FRAME_MAX + 1;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_DIRECT;
    body.direct = &direct;
    assert_int_equal (rumor_fx_send (fx, &to, NULL, &body), -1);
    assert_int_equal (rumor_fx_event (fx, "direct", &direct.base, NULL), -1);
    assert_int_equal (rumor_fx_size (fx), 0);
    free (big);
    rumor_fx_destroy (&fx);
}

//  Destroying a queue frees the effects still in it (valgrind checks).
static void
test_fx_destroy_with_pending (void **state)
{
    (void) state;
    rumor_fx_t *fx = rumor_fx_new ();
    Rumor__Response response = RUMOR__RESPONSE__INIT;
    for (int i = 0; i < 10; i++)
        assert_int_equal (rumor_fx_event (fx, "response", &response.base, "x"), 0);
    assert_int_equal (rumor_fx_size (fx), 10);
    rumor_fx_destroy (&fx);
}

//  Build an effect frame from parts: "<send" and "<event" add the type
//  byte, "#n" n zero bytes, "@" an id (16 bytes of 0x42), "!" a string
//  without its NUL; any other string is added with its NUL.
static zframe_t *
s_fx_frame (const char *first, ...)
{
    zchunk_t *chunk = zchunk_new (NULL, 0);
    va_list args;
    va_start (args, first);
    for (const char *part = first; part; part = va_arg (args, const char *)) {
        uint8_t bytes [RUMOR_NAME_MAX + 2] = { 0 };
        if (streq (part, "<send") || streq (part, "<event")) {
            bytes [0] = streq (part, "<send")? RUMOR_FX_SEND: RUMOR_FX_EVENT;
            zchunk_extend (chunk, bytes, 1);
        }
        else
        if (part [0] == '#')
            zchunk_extend (chunk, bytes, (size_t) atoi (part + 1));
        else
        if (streq (part, "@")) {
            memset (bytes, 0x42, RUMOR_ID_SIZE);
            zchunk_extend (chunk, bytes, RUMOR_ID_SIZE);
        }
        else
        if (part [0] == '!')
            zchunk_extend (chunk, part + 1, strlen (part + 1));
        else
            zchunk_extend (chunk, part, strlen (part) + 1);
    }
    va_end (args);
    zframe_t *frame = zframe_new (zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);
    return frame;
}

static void
test_fx_parse_refuses_malformed (void **state)
{
    (void) state;
    //  Well-formed, as references
    zframe_t *good [] = {
        s_fx_frame ("<send", "@", "tcp://a:1", NULL),       //  empty body
        s_fx_frame ("<send", "#16", "tcp://a:1", "#3", NULL),
        s_fx_frame ("<send", "@", "", "#3", NULL),
        s_fx_frame ("<event", "member", "", "#3", NULL),
        s_fx_frame ("<event", "kv", "set", NULL),
        s_fx_frame ("<send", "#16", "", NULL),      //  well-formed, unroutable
    };
    //  Each refused
    zframe_t *bad [] = {
        zframe_new (NULL, 0),                               //  no bytes
        s_fx_frame ("<send", NULL),                         //  no id
        s_fx_frame ("<send", "#15", NULL),                  //  short id
        s_fx_frame ("<send", "@", NULL),                    //  no endpoint
        s_fx_frame ("<send", "@", "!tcp://a:1", NULL),      //  no NUL
        s_fx_frame ("!S", "@", "tcp://a:1", NULL),          //  unknown type
        s_fx_frame ("!SEND", "@", "tcp://a:1", NULL),
        s_fx_frame ("#1", "@", "tcp://a:1", NULL),
        s_fx_frame ("<event", "", "", "#3", NULL),          //  empty kind
        s_fx_frame ("<event", "!member", NULL),             //  no NUL
        s_fx_frame ("<event", "member", NULL),              //  no extra
        s_fx_frame ("<event", "member", "!x", NULL),
        s_fx_frame ("<event", NULL),
    };
    rumor_fx_view_t view;
    for (size_t i = 0; i < sizeof (good) / sizeof (good [0]); i++) {
        if (rumor_fx_parse (good [i], &view) != 0)
            fail_msg ("well-formed effect %zu refused", i);
        //  The body is what follows the header, to the end
        assert_true (view.body + view.body_size
                     == zframe_data (good [i]) + zframe_size (good [i]));
        zframe_destroy (&good [i]);
    }
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        if (rumor_fx_parse (bad [i], &view) != -1)
            fail_msg ("malformed effect %zu accepted", i);
        zframe_destroy (&bad [i]);
    }
}

//  An endpoint or event string longer than any the wire allows is
//  refused, and nothing is queued.
static void
test_fx_refuses_long_strings (void **state)
{
    (void) state;
    rumor_fx_t *fx = rumor_fx_new ();
    char long_text [RUMOR_NAME_MAX + 2];
    memset (long_text, 'e', sizeof (long_text) - 1);
    long_text [sizeof (long_text) - 1] = 0;
    Rumor__Prune prune = RUMOR__PRUNE__INIT;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PRUNE;
    body.prune = &prune;
    assert_int_equal (rumor_fx_send (fx, NULL, long_text, &body), -1);
    assert_int_equal (rumor_fx_event (fx, "kv", &prune.base, long_text), -1);
    assert_int_equal (rumor_fx_size (fx), 0);
    //  The longest one the wire allows goes through
    long_text [RUMOR_NAME_MAX] = 0;
    assert_int_equal (rumor_fx_send (fx, NULL, long_text, &body), 0);
    zframe_t *frame = rumor_fx_pop (fx);
    rumor_fx_view_t view;
    assert_int_equal (rumor_fx_parse (frame, &view), 0);
    assert_string_equal (view.endpoint, long_text);
    zframe_destroy (&frame);
    rumor_fx_destroy (&fx);
}


//  --------------------------------------------------------------------------

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_usage),
        cmocka_unit_test (test_hash_pinned_values),
        cmocka_unit_test (test_hash_spreads_bits),
        cmocka_unit_test (test_id_from_name),
        cmocka_unit_test (test_id_from_u64),
        cmocka_unit_test (test_id_from_bin_checks_length),
        cmocka_unit_test (test_id_hex_round_trip),
        cmocka_unit_test (test_id_hex_refuses_malformed),
        cmocka_unit_test (test_prng_pinned_sequence),
        cmocka_unit_test (test_prng_same_seed_same_run),
        cmocka_unit_test (test_prng_below_range),
        cmocka_unit_test (test_prng_below_uniform),
        cmocka_unit_test (test_prng_unit_range),
        cmocka_unit_test (test_prng_shuffle),
        cmocka_unit_test (test_fx_send_round_trip),
        cmocka_unit_test (test_fx_send_by_id_or_endpoint),
        cmocka_unit_test (test_fx_event_round_trip),
        cmocka_unit_test (test_fx_refuses_oversized),
        cmocka_unit_test (test_fx_destroy_with_pending),
        cmocka_unit_test (test_fx_parse_refuses_malformed),
        cmocka_unit_test (test_fx_refuses_long_strings),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
