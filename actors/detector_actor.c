/*  =========================================================================
    detector_actor - the detector core in its czmq shell

    The vtable the generic shell (shell.h) drives, and the detector
    commands (actors.h): PEERLOST from the supervisor's socket monitors
    (the fast path), HEALTH for the phi and RTT shown by rumor_members.
    =========================================================================
*/

#include "actors.h"
#include "detector.h"

#define S_COUNTER(field) { #field, offsetof (rumor_detector_stats_t, field) }
static const rumor_shell_counter_t s_counters [] = {
    S_COUNTER (probes),
    S_COUNTER (fast_probes),
    S_COUNTER (probes_ok),
    S_COUNTER (probes_failed),
    S_COUNTER (first_contact_spared),
    S_COUNTER (ping_reqs_sent),
    S_COUNTER (relays),
    S_COUNTER (acks_sent),
    S_COUNTER (acks_forwarded),
    S_COUNTER (nacks_sent),
    S_COUNTER (nacks_received),
    S_COUNTER (nacks_missing),
    S_COUNTER (rtt_samples),
    S_COUNTER (suspicions),
    S_COUNTER (confirmations),
    S_COUNTER (refuted),
    S_COUNTER (deaths),
    S_COUNTER (self_suspected),
    S_COUNTER (self_refuted),
    S_COUNTER (acks_late),
    S_COUNTER (lost_cut),
    S_COUNTER (wrong_body),
    S_COUNTER (from_self),
    S_COUNTER (ping_wrong_target),
    S_COUNTER (ack_unknown_probe),
    S_COUNTER (ack_wrong_sender),
    S_COUNTER (nack_unknown_probe),
    S_COUNTER (nack_wrong_sender),
    S_COUNTER (ping_req_self_target),
    S_COUNTER (ping_req_unknown_target),
    S_COUNTER (pending_full),
    S_COUNTER (rtt_refused),
    S_COUNTER (bad_event),
    S_COUNTER (event_ignored),
    S_COUNTER (stale_member),
    S_COUNTER (confirm_unknown),
    S_COUNTER (confirm_duplicate),
    S_COUNTER (peer_lost_unknown),
    S_COUNTER (bad_sender),
};
#undef S_COUNTER


//  --------------------------------------------------------------------------
//  Vtable

static void
s_destroy (void **self_p)
{
    rumor_detector_destroy ((rumor_detector_t **) self_p);
}

static int
s_on_message (void *self, int64_t now, const Rumor__Envelope *env)
{
    return rumor_detector_on_message ((rumor_detector_t *) self, now, env);
}

static int
s_on_event (void *self, int64_t now, const char *kind,
            const ProtobufCMessage *detail)
{
    return rumor_detector_on_event ((rumor_detector_t *) self, now, kind,
                                    detail);
}

static void
s_on_tick (void *self, int64_t now)
{
    rumor_detector_on_tick ((rumor_detector_t *) self, now);
}

static int64_t
s_next_deadline (void *self)
{
    return rumor_detector_next_deadline ((rumor_detector_t *) self);
}

static zframe_t *
s_next_effect (void *self)
{
    return rumor_detector_next_effect ((rumor_detector_t *) self);
}

static void
s_stats (void *self, zmsg_t *reply)
{
    rumor_detector_t *core = (rumor_detector_t *) self;
    rumor_shell_add_counters (reply, "detector", rumor_detector_stats (core),
                              s_counters,
                              sizeof (s_counters) / sizeof (s_counters [0]));
    rumor_shell_add_counter (reply, "detector", "awareness",
                             (uint64_t) rumor_detector_awareness (core));
    rumor_shell_add_counter (reply, "detector", "targets",
                             rumor_detector_size (core));
}


//  --------------------------------------------------------------------------
//  API commands

static int
s_peer_lost (rumor_detector_t *core, int64_t now, zmsg_t *request)
{
    rumor_id_t id;
    if (rumor_shell_pop_id (request, &id))
        return -1;
    rumor_detector_peer_lost (core, now, &id);
    return 0;
}

//  Phi and RTT of every id asked, in order
static void
s_health (rumor_detector_t *core, int64_t now, zmsg_t *request,
          zmsg_t *reply)
{
    rumor_shell_add_i32 (reply, 0);
    while (zmsg_size (request)) {
        rumor_id_t id;
        double phi = 0;
        int32_t rtt = -1;
        if (rumor_shell_pop_id (request, &id) == 0) {
            phi = rumor_detector_phi (core, &id, now);
            rtt = rumor_detector_rtt (core, &id);
        }
        zmsg_addmem (reply, &phi, sizeof (phi));
        rumor_shell_add_i32 (reply, rtt);
    }
}

static bool
s_handle_command (void *self, int64_t now, const char *command,
                  zmsg_t *request, zmsg_t *reply)
{
    rumor_detector_t *core = (rumor_detector_t *) self;
    if (streq (command, "PEERLOST"))
        rumor_shell_add_i32 (reply, s_peer_lost (core, now, request));
    else
    if (streq (command, "HEALTH"))
        s_health (core, now, request, reply);
    else
        return false;
    return true;
}

static const rumor_shell_vtable_t s_vtable = {
    .name = "detector",
    .destroy = s_destroy,
    .on_message = s_on_message,
    .on_event = s_on_event,
    .on_tick = s_on_tick,
    .next_deadline = s_next_deadline,
    .next_effect = s_next_effect,
    .stats = s_stats,
    .handle_command = s_handle_command,
    .notice = NULL
};

//  The core's configuration for a profile
static void
s_cfg (rumor_detector_cfg_t *cfg, int profile)
{
    rumor_detector_cfg_defaults (cfg);
    if (profile == RUMOR_ACTOR_PROFILE_LOCAL) {
        //  One host: RTTs are ~0.1 ms and only scheduling noise (a few ms,
        //  tens under load) delays an Ack, so 50 ms is a safe floor; the
        //  ceiling stays below the 200 ms interval so indirect probes get
        //  50 ms. Probing 5 times a second costs nothing on loopback and
        //  finds a frozen process in about a second
        cfg->probe_interval_ms = 200;
        cfg->probe_timeout_min_ms = 50;
        cfg->probe_timeout_max_ms = 150;
        //  On one host a lost TCP connection that every helper confirms
        //  (Nacks) is conclusive: the process is gone, not slow. Cutting
        //  the suspicion to 200 ms then gets a kill -9 known to all in
        //  well under a second; a live but busy peer is never cut, since
        //  its connection stays up and helpers reach it
        cfg->lost_suspicion_ms = 200;
    }
    else
    if (profile == RUMOR_ACTOR_PROFILE_WAN) {
        //  Slow links: RTTs of 100-300 ms with jitter, so a 500 ms floor
        //  keeps a slow Ack from starting indirect probes, and a 1 s
        //  interval leaves 100 ms for them; suspicion multiplier 6 (as
        //  memberlist's WAN config) gives a suspect time to hear of it and
        //  refute across the slow path
        cfg->probe_interval_ms = 1000;
        cfg->probe_timeout_min_ms = 500;
        cfg->probe_timeout_max_ms = 900;
        cfg->suspicion_mult = 6;
    }
}

zactor_t *
rumor_detector_actor_new (const rumor_actor_cfg_t *actor)
{
    assert (actor);
    rumor_detector_cfg_t cfg;
    s_cfg (&cfg, actor->profile);
    cfg.self = actor->self;
    cfg.generation = actor->generation;
    cfg.seed = rumor_actor_seed (actor, 1);
    rumor_detector_t *core = rumor_detector_new (&cfg);
    return core? rumor_shell_new (&s_vtable, core): NULL;
}
