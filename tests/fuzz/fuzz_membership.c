/*  =========================================================================
    fuzz_membership - libFuzzer target for the membership core

    Input: records (fuzz_core.h). Frames reach the core as the supervisor
    and membership_actor.c hand them over: the piggybacked updates of any
    envelope, then the body if it is a membership one. Commands (type / 4
    % 5): 0 join (endpoint), 1 join_id (id, generation, endpoint), 2 leave,
    3 set_tags (NUL-separated "key=value"), 4 set_endpoint.
    Checks beyond the harness's: we are always in our table, the table
    stays within max_members, the per-state counts add up to its size, and
    our incarnation never goes down.
    =========================================================================
*/

#include "fuzz_core.h"
#include "membership.h"

//  Small, so that the table_full refusals are within reach
#define S_MAX_MEMBERS   32

static uint32_t s_incarnation;      //  ours after the last record

static void *
s_create (void)
{
    rumor_membership_cfg_t cfg;
    rumor_membership_cfg_defaults (&cfg);
    fuzz_core_id (&cfg.self, 0);
    cfg.generation = FUZZ_GENERATION;
    cfg.name = "fuzz";
    cfg.endpoint = "tcp://127.0.0.1:7101";
    const char *tags [] = { "role=fuzz" };
    cfg.tags = tags;
    cfg.n_tags = 1;
    cfg.seed = 1;
    cfg.max_members = S_MAX_MEMBERS;
    s_incarnation = 0;
    return rumor_membership_new (&cfg);
}

static void
s_destroy (void **core_p)
{
    rumor_membership_destroy ((rumor_membership_t **) core_p);
}

//  As membership_actor.c's s_on_message
static int
s_on_message (void *core, int64_t now, const Rumor__Envelope *env)
{
    int rc = 0;
    if (env->n_piggyback)
        rc = rumor_membership_on_piggyback ((rumor_membership_t *) core, now, env);
    if (rumor_codec_owner (env) == RUMOR_OWNER_MEMBERSHIP)
        rc |= rumor_membership_on_message ((rumor_membership_t *) core, now, env);
    return rc;
}

static int
s_on_event (void *core, int64_t now, const char *kind,
            const ProtobufCMessage *detail)
{
    return rumor_membership_on_event ((rumor_membership_t *) core, now, kind,
                                      detail);
}

static void
s_on_tick (void *core, int64_t now)
{
    rumor_membership_on_tick ((rumor_membership_t *) core, now);
}

static int64_t
s_next_deadline (void *core)
{
    return rumor_membership_next_deadline ((rumor_membership_t *) core);
}

static zframe_t *
s_next_effect (void *core)
{
    return rumor_membership_next_effect ((rumor_membership_t *) core);
}

static const void *
s_stats (void *core)
{
    return rumor_membership_stats ((rumor_membership_t *) core);
}

static void
s_set_tags (rumor_membership_t *core, int64_t now, const uint8_t *data,
            size_t size)
{
    char *tags [RUMOR_TAGS_MAX + 2] = { NULL };
    size_t n = 0;
    while (size && n < RUMOR_TAGS_MAX + 2)
        tags [n++] = fuzz_core_pick_string (&data, &size);
    rumor_membership_set_tags (core, now, (const char *const *) tags, n);
    for (size_t i = 0; i < n; i++)
        free (tags [i]);
}

static void
s_command (void *self, int64_t now, unsigned number, const uint8_t *data,
           size_t size)
{
    rumor_membership_t *core = (rumor_membership_t *) self;
    switch (number % 5) {
        case 0: {
            char *endpoint = fuzz_core_pick_string (&data, &size);
            rumor_membership_join (core, now, endpoint);
            free (endpoint);
            break;
        }
        case 1: {
            rumor_id_t id;
            fuzz_core_pick_id (&id, &data, &size);
            uint64_t generation = fuzz_core_pick_u64 (&data, &size);
            char *endpoint = fuzz_core_pick_string (&data, &size);
            rumor_membership_join_id (core, now, &id, generation, endpoint);
            free (endpoint);
            break;
        }
        case 2:
            rumor_membership_leave (core, now);
            break;
        case 3:
            s_set_tags (core, now, data, size);
            break;
        default: {
            char *endpoint = fuzz_core_pick_string (&data, &size);
            rumor_membership_set_endpoint (core, now, endpoint);
            free (endpoint);
            break;
        }
    }
}

static void
s_check (void *self, int64_t now)
{
    (void) now;
    rumor_membership_t *core = (rumor_membership_t *) self;
    rumor_id_t me;
    fuzz_core_id (&me, 0);
    FUZZ_CHECK (rumor_membership_lookup (core, &me));
    size_t size = rumor_membership_size (core);
    FUZZ_CHECK (size >= 1 && size <= S_MAX_MEMBERS);
    FUZZ_CHECK (rumor_membership_count (core, RUMOR__STATE__STATE_ALIVE)
              + rumor_membership_count (core, RUMOR__STATE__STATE_SUSPECT)
              + rumor_membership_count (core, RUMOR__STATE__STATE_DEAD)
              + rumor_membership_count (core, RUMOR__STATE__STATE_LEFT) == size);
    uint32_t incarnation = rumor_membership_incarnation (core);
    FUZZ_CHECK (incarnation >= s_incarnation);
    s_incarnation = incarnation;
}

#define S_REFUSALS(first, last) {                                           \
        offsetof (rumor_membership_stats_t, first),                         \
        offsetof (rumor_membership_stats_t, last) + sizeof (uint64_t) }
static const fuzz_range_t s_refusals [] = {
    S_REFUSALS (stale_incarnation, bad_input)
};

static const fuzz_core_t s_core = {
    .name = "membership",
    .create = s_create,
    .destroy = s_destroy,
    .on_message = s_on_message,
    .on_event = s_on_event,
    .on_tick = s_on_tick,
    .next_deadline = s_next_deadline,
    .next_effect = s_next_effect,
    .stats = s_stats,
    .stats_size = sizeof (rumor_membership_stats_t),
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
