/*  =========================================================================
    fuzz_app - libFuzzer target for the app core (Plumtree, directs,
    queries)

    Input: records (fuzz_core.h). Frames whose body is the app's (Event,
    IHave, Graft, Prune, Direct, Query, Response) reach the core, as the
    supervisor routes them; "member" events make peers. Commands (type / 4
    % 6), strings NUL-separated: 0 hear (pattern), 1 unhear (pattern), 2
    say (topic, payload), 3 whisper (id, topic, payload), 4 query (timeout
    as 2 bytes, topic, payload), 5 respond (origin id, query id, payload).
    Checks beyond the harness's: the eager peers are peers, and pending
    queries stay within max_queries.
    =========================================================================
*/

#include "fuzz_core.h"
#include "app.h"

//  Small, so that the bounds are within reach
#define S_MAX_QUERIES   8
#define S_MAX_PATTERNS  8

static void *
s_create (void)
{
    rumor_app_cfg_t cfg;
    rumor_app_cfg_defaults (&cfg);
    fuzz_core_id (&cfg.self, 0);
    cfg.generation = FUZZ_GENERATION;
    cfg.seed = 1;
    cfg.max_queries = S_MAX_QUERIES;
    cfg.max_patterns = S_MAX_PATTERNS;
    cfg.max_missing = 64;
    cfg.dedup_max = 256;
    cfg.retain_max_bytes = 64 * 1024;
    rumor_app_t *core = rumor_app_new (&cfg);
    //  Deliveries to the program need a pattern heard
    if (core)
        rumor_app_hear (core, "#");
    return core;
}

static void
s_destroy (void **core_p)
{
    rumor_app_destroy ((rumor_app_t **) core_p);
}

//  The supervisor hands the core only its own bodies
static int
s_on_message (void *core, int64_t now, const Rumor__Envelope *env)
{
    if (rumor_codec_owner (env) != RUMOR_OWNER_APP)
        return 0;
    return rumor_app_on_message ((rumor_app_t *) core, now, env);
}

static int
s_on_event (void *core, int64_t now, const char *kind,
            const ProtobufCMessage *detail)
{
    return rumor_app_on_event ((rumor_app_t *) core, now, kind, detail);
}

static void
s_on_tick (void *core, int64_t now)
{
    rumor_app_on_tick ((rumor_app_t *) core, now);
}

static int64_t
s_next_deadline (void *core)
{
    return rumor_app_next_deadline ((rumor_app_t *) core);
}

static zframe_t *
s_next_effect (void *core)
{
    return rumor_app_next_effect ((rumor_app_t *) core);
}

static const void *
s_stats (void *core)
{
    return rumor_app_stats ((rumor_app_t *) core);
}

//  A query id: 8 raw bytes, or the fixture generation's first ids + a byte
static uint64_t
s_query_id (const uint8_t **data_p, size_t *size_p)
{
    if (*size_p >= 8)
        return fuzz_core_pick_u64 (data_p, size_p);
    uint64_t offset = *size_p? (*data_p) [0]: 0;
    if (*size_p) {
        (*data_p)++;
        (*size_p)--;
    }
    return (FUZZ_GENERATION << RUMOR_APP_ID_SHIFT) + offset;
}

static void
s_command (void *self, int64_t now, unsigned number, const uint8_t *data,
           size_t size)
{
    rumor_app_t *core = (rumor_app_t *) self;
    number %= 6;
    rumor_id_t id;
    if (number == 3 || number == 5)
        fuzz_core_pick_id (&id, &data, &size);
    int64_t timeout = 0;
    if (number == 4 && size >= 2) {
        timeout = (int16_t) (data [0] | data [1] << 8);
        data += 2;
        size -= 2;
    }
    uint64_t query_id = number == 5? s_query_id (&data, &size): 0;
    char *text = number == 5? strdup (""): fuzz_core_pick_string (&data, &size);
    FUZZ_CHECK (text);
    switch (number) {
        case 0: rumor_app_hear (core, text); break;
        case 1: rumor_app_unhear (core, text); break;
        case 2: rumor_app_say (core, now, text, data, size); break;
        case 3: rumor_app_whisper (core, now, &id, text, data, size); break;
        case 4: rumor_app_query (core, now, text, data, size, timeout); break;
        default: rumor_app_respond (core, now, &id, query_id, data, size);
    }
    free (text);
}

static void
s_check (void *self, int64_t now)
{
    (void) now;
    rumor_app_t *core = (rumor_app_t *) self;
    FUZZ_CHECK (rumor_app_eager_count (core) <= rumor_app_peer_count (core));
    FUZZ_CHECK (rumor_app_pending_queries (core) <= S_MAX_QUERIES);
    rumor_id_t me;
    fuzz_core_id (&me, 0);
    FUZZ_CHECK (!rumor_app_is_eager (core, &me) && !rumor_app_is_lazy (core, &me));
    for (int peer = 1; peer < 4; peer++) {
        rumor_id_t id;
        fuzz_core_id (&id, peer);
        FUZZ_CHECK (!(rumor_app_is_eager (core, &id)
                   && rumor_app_is_lazy (core, &id)));
    }
}

#define S_REFUSALS(first, last) {                                           \
        offsetof (rumor_app_stats_t, first),                                \
        offsetof (rumor_app_stats_t, last) + sizeof (uint64_t) }
static const fuzz_range_t s_refusals [] = {
    S_REFUSALS (refused_not_app, refused_bad_member)
};

static const fuzz_core_t s_core = {
    .name = "app",
    .create = s_create,
    .destroy = s_destroy,
    .on_message = s_on_message,
    .on_event = s_on_event,
    .on_tick = s_on_tick,
    .next_deadline = s_next_deadline,
    .next_effect = s_next_effect,
    .stats = s_stats,
    .stats_size = sizeof (rumor_app_stats_t),
    .refusals = s_refusals,
    .n_refusals = sizeof (s_refusals) / sizeof (s_refusals [0]),
    .command = s_command,
    .check = s_check
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_core_run (&s_core, data, size);
    return 0;
}
