/*  =========================================================================
    fuzz_anti_entropy - libFuzzer target for the anti-entropy core

    Input: records (fuzz_core.h). Frames whose body is the core's (Digest,
    Delta, DeltaRequest) reach it, as the supervisor routes them; "member"
    events make peers. Commands (type / 4 % 2): 0 set (key, NUL, ttl as 2
    bytes, value), 1 delete (key).
    Checks beyond the harness's: we always hold our own keyspace, and our
    version never goes down (a peer may have our older versions).
    =========================================================================
*/

#include "fuzz_core.h"
#include "anti_entropy.h"

//  Small, so that the full refusals are within reach
#define S_MAX_KEYS      16

static uint64_t s_version;          //  ours after the last record

static void *
s_create (void)
{
    rumor_anti_entropy_cfg_t cfg;
    rumor_anti_entropy_cfg_defaults (&cfg);
    fuzz_core_id (&cfg.self, 0);
    cfg.generation = FUZZ_GENERATION;
    cfg.seed = 1;
    cfg.max_keys = S_MAX_KEYS;
    s_version = 0;
    return rumor_anti_entropy_new (&cfg);
}

static void
s_destroy (void **core_p)
{
    rumor_anti_entropy_destroy ((rumor_anti_entropy_t **) core_p);
}

//  The supervisor hands the core only its own bodies
static int
s_on_message (void *core, int64_t now, const Rumor__Envelope *env)
{
    if (rumor_codec_owner (env) != RUMOR_OWNER_ANTI_ENTROPY)
        return 0;
    return rumor_anti_entropy_on_message ((rumor_anti_entropy_t *) core, now,
                                          env);
}

static int
s_on_event (void *core, int64_t now, const char *kind,
            const ProtobufCMessage *detail)
{
    return rumor_anti_entropy_on_event ((rumor_anti_entropy_t *) core, now,
                                        kind, detail);
}

static void
s_on_tick (void *core, int64_t now)
{
    rumor_anti_entropy_on_tick ((rumor_anti_entropy_t *) core, now);
}

static int64_t
s_next_deadline (void *core)
{
    return rumor_anti_entropy_next_deadline ((rumor_anti_entropy_t *) core);
}

static zframe_t *
s_next_effect (void *core)
{
    return rumor_anti_entropy_next_effect ((rumor_anti_entropy_t *) core);
}

static const void *
s_stats (void *core)
{
    return rumor_anti_entropy_stats ((rumor_anti_entropy_t *) core);
}

static void
s_command (void *self, int64_t now, unsigned number, const uint8_t *data,
           size_t size)
{
    rumor_anti_entropy_t *core = (rumor_anti_entropy_t *) self;
    char *key = fuzz_core_pick_string (&data, &size);
    if (number % 2 == 0) {
        //  TTL 0 .. 65535 ms, or ~ -1 .. -32768 when the top bit is set
        int64_t ttl = 0;
        if (size >= 2) {
            ttl = (int16_t) (data [0] | data [1] << 8);
            data += 2;
            size -= 2;
        }
        rumor_anti_entropy_set (core, now, key, size? data: NULL, size, ttl);
    }
    else
        rumor_anti_entropy_delete (core, now, key);
    free (key);
}

static void
s_check (void *self, int64_t now)
{
    (void) now;
    rumor_anti_entropy_t *core = (rumor_anti_entropy_t *) self;
    FUZZ_CHECK (rumor_anti_entropy_origins (core) >= 1);
    uint64_t version = rumor_anti_entropy_version (core, NULL);
    FUZZ_CHECK (version >= s_version);
    s_version = version;
}

#define S_REFUSALS(first, last) {                                           \
        offsetof (rumor_anti_entropy_stats_t, first),                       \
        offsetof (rumor_anti_entropy_stats_t, last) + sizeof (uint64_t) }
static const fuzz_range_t s_refusals [] = {
    S_REFUSALS (bad_body, bad_event)
};

static const fuzz_core_t s_core = {
    .name = "anti_entropy",
    .create = s_create,
    .destroy = s_destroy,
    .on_message = s_on_message,
    .on_event = s_on_event,
    .on_tick = s_on_tick,
    .next_deadline = s_next_deadline,
    .next_effect = s_next_effect,
    .stats = s_stats,
    .stats_size = sizeof (rumor_anti_entropy_stats_t),
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
