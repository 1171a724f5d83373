/*  =========================================================================
    fuzz_decode - libFuzzer target for everything that reads foreign bytes

    Each input is tried as:
      - a frame (rumor_codec_decode), for cluster FUZZ_CLUSTER_NAME: exactly
        one counter moves, and an accepted envelope packs again into a frame
        that is accepted again;
      - every internal event detail type (rumor_codec_decode_detail): an
        accepted detail packs again into one that is accepted again;
      - a beacon (rumor_codec_decode_beacon): one counter moves, and an
        accepted beacon packs again (rumor_codec_pack_beacon);
      - a core's body, sealed by rumor_codec_seal: a sealed frame decodes
        with exactly one counter moved;
      - an effect frame (rumor_fx_parse_data): a parsed view points inside
        the input, and a SEND's body seals as a core's body would.

    Linked with fuzz_replay.c instead of libFuzzer, it is a plain program
    that runs each file named on its command line through the same checks
    (the test suite's fuzz_regressions, and valgrind). See README.md.
    =========================================================================
*/

#include "codec.h"
#include "effects.h"
#include <stdio.h>
#include <stdlib.h>

//  The cluster the seed corpus is made for (fuzz_seeds.c): the decoder
//  reaches the body checks only for frames of its own cluster
#define FUZZ_CLUSTER_NAME   "fuzz"

//  A broken invariant is a crash for libFuzzer
#define FUZZ_CHECK(condition) do {                                          \
        if (!(condition)) {                                                 \
            fprintf (stderr, "fuzz_decode: %s:%d: check failed: %s\n",     \
                     __FILE__, __LINE__, #condition);                       \
            abort ();                                                       \
        }                                                                   \
    } while (0)

static uint64_t
s_total (const rumor_codec_stats_t *stats)
{
    return stats->accepted + rumor_codec_refused (stats);
}

//  Decode data as a frame; check the counters and the stability of what
//  is accepted.
static void
s_fuzz_frame (const uint8_t *data, size_t size, uint64_t cluster)
{
    rumor_codec_stats_t stats = { 0 };
    Rumor__Envelope *env = rumor_codec_decode (data, size, cluster, &stats);
    FUZZ_CHECK (s_total (&stats) == 1);
    FUZZ_CHECK ((env != NULL) == (stats.accepted == 1));
    if (!env)
        return;
    FUZZ_CHECK (env->sender.len == RUMOR_ID_SIZE);
    FUZZ_CHECK (rumor_codec_owner (env) != RUMOR_OWNER_NONE);
    zframe_t *again = rumor_codec_pack (&env->base);
    FUZZ_CHECK (again);
    Rumor__Envelope *env2 = rumor_codec_decode (
        zframe_data (again), zframe_size (again), cluster, &stats);
    FUZZ_CHECK (env2 && stats.accepted == 2);
    FUZZ_CHECK (env2->body_case == env->body_case);
    rumor_codec_free (&env2);
    zframe_destroy (&again);
    rumor_codec_free (&env);
}

static void
s_fuzz_details (const uint8_t *data, size_t size)
{
    const ProtobufCMessageDescriptor *descriptors [] = {
        &rumor__member_update__descriptor, &rumor__verdict__descriptor,
        &rumor__kv_entry__descriptor, &rumor__event__descriptor,
        &rumor__direct__descriptor, &rumor__query__descriptor,
        &rumor__response__descriptor,
        //  Not details: always refused
        &rumor__envelope__descriptor, &rumor__beacon__descriptor
    };
    for (size_t i = 0; i < sizeof (descriptors) / sizeof (descriptors [0]); i++) {
        ProtobufCMessage *msg = rumor_codec_decode_detail (descriptors [i],
                                                           data, size);
        if (!msg)
            continue;
        FUZZ_CHECK (i < 7);
        zframe_t *again = rumor_codec_pack (msg);
        FUZZ_CHECK (again);
        ProtobufCMessage *msg2 = rumor_codec_decode_detail (
            descriptors [i], zframe_data (again), zframe_size (again));
        FUZZ_CHECK (msg2);
        rumor_codec_free_detail (&msg2);
        zframe_destroy (&again);
        rumor_codec_free_detail (&msg);
    }
}

static void
s_fuzz_beacon (const uint8_t *data, size_t size, uint64_t cluster)
{
    rumor_codec_stats_t stats = { 0 };
    Rumor__Beacon *beacon = rumor_codec_decode_beacon (data, size, cluster,
                                                       &stats);
    FUZZ_CHECK (s_total (&stats) == 1);
    FUZZ_CHECK ((beacon != NULL) == (stats.accepted == 1));
    if (!beacon)
        return;
    FUZZ_CHECK (size <= RUMOR_BEACON_MAX);
    FUZZ_CHECK (beacon->port >= 1 && beacon->port <= RUMOR_PORT_MAX);
    //  Packing again never grows it: duplicates go, encodings are minimal
    zframe_t *again = rumor_codec_pack_beacon (beacon);
    FUZZ_CHECK (again);
    FUZZ_CHECK (zframe_size (again) <= size);
    zframe_destroy (&again);
    rumor_codec_free_beacon (&beacon);
}

//  Seal data as a core's body: refused unless it holds only a body; what
//  is sealed decodes with exactly one counter moved.
static void
s_fuzz_seal (const uint8_t *data, size_t size, uint64_t cluster)
{
    rumor_header_t header;
    memset (&header, 0, sizeof (header));
    header.cluster = cluster;
    rumor_id_from_u64 (&header.sender, 1);
    header.seq = 1;
    zframe_t *frame = rumor_codec_seal (&header, NULL, 0, data, size);
    if (frame) {
        rumor_codec_stats_t stats = { 0 };
        Rumor__Envelope *env = rumor_codec_decode (
            zframe_data (frame), zframe_size (frame), cluster, &stats);
        FUZZ_CHECK (s_total (&stats) == 1);
        FUZZ_CHECK (stats.bad_version + stats.bad_cluster + stats.bad_sender == 0);
        rumor_codec_free (&env);
        zframe_destroy (&frame);
    }
}

//  A borrowed string lies inside the effect's bytes, NUL included.
static bool
s_inside (const uint8_t *data, size_t size, const char *string)
{
    const char *start = (const char *) data;
    return string >= start && string < start + size
        && memchr (string, 0, (size_t) (start + size - string)) != NULL;
}

//  The input as an effect frame (rumor_fx_parse_data): a parsed view
//  points inside it, and a SEND's body seals as a core's body would.
static void
s_fuzz_effect (const uint8_t *data, size_t size, uint64_t cluster)
{
    rumor_fx_view_t view;
    if (rumor_fx_parse_data (data, size, &view))
        return;
    FUZZ_CHECK (view.body >= data && view.body + view.body_size == data + size);
    if (view.is_send) {
        FUZZ_CHECK (s_inside (data, size, view.endpoint));
        s_fuzz_seal (view.body, view.body_size, cluster);
    }
    else {
        FUZZ_CHECK (s_inside (data, size, view.kind) && view.kind [0]);
        FUZZ_CHECK (s_inside (data, size, view.extra));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    uint64_t cluster = rumor_cluster_hash (FUZZ_CLUSTER_NAME);
    s_fuzz_frame (data, size, cluster);
    s_fuzz_details (data, size);
    s_fuzz_beacon (data, size, cluster);
    s_fuzz_seal (data, size, cluster);
    s_fuzz_effect (data, size, cluster);
    return 0;
}
