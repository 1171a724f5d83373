/*  =========================================================================
    fuzz_detector - libFuzzer target for the detector core

    Input: records (fuzz_core.h). Frames whose body is the detector's
    (Ping, Ack, PingReq, Nack) reach the core, as the supervisor routes
    them; events are what membership would tell it ("member", "confirm").
    Commands: peer_lost (an id), as the supervisor's socket monitor does.
    Checks beyond the harness's: awareness stays in 0..awareness_max - 1,
    we are never a probe target nor suspected, phi and RTT are sane.
    =========================================================================
*/

#include "fuzz_core.h"
#include "detector.h"

static void *
s_create (void)
{
    rumor_detector_cfg_t cfg;
    rumor_detector_cfg_defaults (&cfg);
    fuzz_core_id (&cfg.self, 0);
    cfg.generation = FUZZ_GENERATION;
    cfg.seed = 1;
    //  The local profile's fast path, so that its code runs too
    cfg.lost_suspicion_ms = 200;
    return rumor_detector_new (&cfg);
}

static void
s_destroy (void **core_p)
{
    rumor_detector_destroy ((rumor_detector_t **) core_p);
}

//  The supervisor hands the detector only its own bodies
static int
s_on_message (void *core, int64_t now, const Rumor__Envelope *env)
{
    if (rumor_codec_owner (env) != RUMOR_OWNER_DETECTOR)
        return 0;
    return rumor_detector_on_message ((rumor_detector_t *) core, now, env);
}

static int
s_on_event (void *core, int64_t now, const char *kind,
            const ProtobufCMessage *detail)
{
    return rumor_detector_on_event ((rumor_detector_t *) core, now, kind,
                                    detail);
}

static void
s_on_tick (void *core, int64_t now)
{
    rumor_detector_on_tick ((rumor_detector_t *) core, now);
}

static int64_t
s_next_deadline (void *core)
{
    return rumor_detector_next_deadline ((rumor_detector_t *) core);
}

static zframe_t *
s_next_effect (void *core)
{
    return rumor_detector_next_effect ((rumor_detector_t *) core);
}

static const void *
s_stats (void *core)
{
    return rumor_detector_stats ((rumor_detector_t *) core);
}

static void
s_command (void *core, int64_t now, unsigned number, const uint8_t *data,
           size_t size)
{
    (void) number;
    rumor_id_t id;
    fuzz_core_pick_id (&id, &data, &size);
    rumor_detector_peer_lost ((rumor_detector_t *) core, now, &id);
}

static void
s_check (void *self, int64_t now)
{
    rumor_detector_t *core = (rumor_detector_t *) self;
    int awareness = rumor_detector_awareness (core);
    FUZZ_CHECK (awareness >= 0
             && awareness < RUMOR_DETECTOR_AWARENESS_MAX_DFLT);
    rumor_id_t me;
    fuzz_core_id (&me, 0);
    FUZZ_CHECK (!rumor_detector_suspects (core, &me));
    FUZZ_CHECK (rumor_detector_rtt (core, &me) == -1);
    for (int peer = 1; peer < 4; peer++) {
        rumor_id_t id;
        fuzz_core_id (&id, peer);
        double phi = rumor_detector_phi (core, &id, now);
        FUZZ_CHECK (phi >= 0 && phi == phi);
        FUZZ_CHECK (rumor_detector_rtt (core, &id) >= -1);
    }
}

#define S_REFUSALS(first, last) {                                           \
        offsetof (rumor_detector_stats_t, first),                           \
        offsetof (rumor_detector_stats_t, last) + sizeof (uint64_t) }
static const fuzz_range_t s_refusals [] = {
    S_REFUSALS (wrong_body, bad_sender)
};

static const fuzz_core_t s_core = {
    .name = "detector",
    .create = s_create,
    .destroy = s_destroy,
    .on_message = s_on_message,
    .on_event = s_on_event,
    .on_tick = s_on_tick,
    .next_deadline = s_next_deadline,
    .next_effect = s_next_effect,
    .stats = s_stats,
    .stats_size = sizeof (rumor_detector_stats_t),
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
