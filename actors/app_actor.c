/*  =========================================================================
    app_actor - the app core in its czmq shell

    The vtable the generic shell (shell.h) drives, and the program's
    commands (actors.h): HEAR, UNHEAR, QUERY, RESPOND, and the posts SAY
    and WHISPER (shell.h: one frame, no reply). A refused command replies
    minus the core's rumor_app_error_t.
    =========================================================================
*/

#include "actors.h"
#include "app.h"

#define S_COUNTER(field) { #field, offsetof (rumor_app_stats_t, field) }
static const rumor_shell_counter_t s_counters [] = {
    S_COUNTER (said),
    S_COUNTER (asked),
    S_COUNTER (received),
    S_COUNTER (hops_total),
    S_COUNTER (hops_max),
    S_COUNTER (delivered),
    S_COUNTER (duplicates),
    S_COUNTER (eager_sent),
    S_COUNTER (ihave_sent),
    S_COUNTER (ihave_refs_sent),
    S_COUNTER (ihave_received),
    S_COUNTER (ihave_dropped),
    S_COUNTER (ihave_rounds_cut),
    S_COUNTER (graft_sent),
    S_COUNTER (graft_received),
    S_COUNTER (graft_served),
    S_COUNTER (graft_unavailable),
    S_COUNTER (graft_gave_up),
    S_COUNTER (prune_sent),
    S_COUNTER (prune_received),
    S_COUNTER (promoted),
    S_COUNTER (dedup_evicted),
    S_COUNTER (retain_evicted),
    S_COUNTER (unknown_sender),
    S_COUNTER (whispered),
    S_COUNTER (directs_received),
    S_COUNTER (direct_unknown_sender),
    S_COUNTER (responded),
    S_COUNTER (responses_received),
    S_COUNTER (queries_complete),
    S_COUNTER (queries_deadline),
    S_COUNTER (member_updates),
    S_COUNTER (ignored_events),
    S_COUNTER (refused_not_app),
    S_COUNTER (refused_hops),
    S_COUNTER (refused_forged_self),
    S_COUNTER (refused_too_many_refs),
    S_COUNTER (refused_unknown_peer),
    S_COUNTER (refused_missing_full),
    S_COUNTER (refused_query_deadline),
    S_COUNTER (refused_unknown_query),
    S_COUNTER (refused_dup_response),
    S_COUNTER (refused_bad_member),
    S_COUNTER (rate_limited),
    S_COUNTER (refused_oversized),
    S_COUNTER (refused_bad_topic),
    S_COUNTER (refused_bad_pattern),
    S_COUNTER (refused_too_many_patterns),
    S_COUNTER (refused_unknown_pattern),
    S_COUNTER (refused_unknown_target),
    S_COUNTER (refused_too_many_queries),
    S_COUNTER (refused_bad_timeout),
    S_COUNTER (clamped_timeout),
};
#undef S_COUNTER


//  --------------------------------------------------------------------------
//  Vtable

static void
s_destroy (void **self_p)
{
    rumor_app_destroy ((rumor_app_t **) self_p);
}

static int
s_on_message (void *self, int64_t now, const Rumor__Envelope *env)
{
    return rumor_app_on_message ((rumor_app_t *) self, now, env);
}

static int
s_on_event (void *self, int64_t now, const char *kind,
            const ProtobufCMessage *detail)
{
    return rumor_app_on_event ((rumor_app_t *) self, now, kind, detail);
}

static void
s_on_tick (void *self, int64_t now)
{
    rumor_app_on_tick ((rumor_app_t *) self, now);
}

static int64_t
s_next_deadline (void *self)
{
    return rumor_app_next_deadline ((rumor_app_t *) self);
}

static zframe_t *
s_next_effect (void *self)
{
    return rumor_app_next_effect ((rumor_app_t *) self);
}

static void
s_stats (void *self, zmsg_t *reply)
{
    rumor_app_t *core = (rumor_app_t *) self;
    rumor_shell_add_counters (reply, "app", rumor_app_stats (core), s_counters,
                              sizeof (s_counters) / sizeof (s_counters [0]));
    rumor_shell_add_counter (reply, "app", "peers",
                             rumor_app_peer_count (core));
    rumor_shell_add_counter (reply, "app", "eager",
                             rumor_app_eager_count (core));
    rumor_shell_add_counter (reply, "app", "pending_queries",
                             rumor_app_pending_queries (core));
}


//  --------------------------------------------------------------------------
//  API commands

//  0, or minus the reason the core refused the last call (an unknown
//  reason is RUMOR_SHELL_EUNKNOWN)
static int32_t
s_rc (rumor_app_t *core, int rc)
{
    if (rc >= 0)
        return 0;
    int32_t error = (int32_t) rumor_app_last_error (core);
    return error? -error: RUMOR_SHELL_EUNKNOWN;
}

static int32_t
s_pattern (rumor_app_t *core, zmsg_t *request, bool hear)
{
    char *pattern = rumor_shell_pop_str (request);
    int rc = hear? rumor_app_hear (core, pattern)
                 : rumor_app_unhear (core, pattern);
    free (pattern);
    return s_rc (core, rc);
}

static void
s_query (rumor_app_t *core, int64_t now, zmsg_t *request, zmsg_t *reply)
{
    char *topic = rumor_shell_pop_str (request);
    zframe_t *payload = zmsg_pop (request);
    int64_t timeout = (int64_t) rumor_shell_pop_u64 (request, 0);
    int64_t id = rumor_app_query (core, now, topic,
                                  payload? zframe_data (payload): NULL,
                                  payload? zframe_size (payload): 0, timeout);
    zframe_destroy (&payload);
    free (topic);
    rumor_shell_add_i32 (reply, s_rc (core, id < 0? -1: 0));
    rumor_shell_add_u64 (reply, id > 0? (uint64_t) id: 0);
}

static int32_t
s_respond (rumor_app_t *core, int64_t now, zmsg_t *request)
{
    rumor_id_t origin;
    if (rumor_shell_pop_id (request, &origin))
        return -(int32_t) RUMOR_APP_E_UNKNOWN_QUERY;
    uint64_t query = rumor_shell_pop_u64 (request, 0);
    zframe_t *payload = zmsg_pop (request);
    int rc = rumor_app_respond (core, now, &origin, query,
                                payload? zframe_data (payload): NULL,
                                payload? zframe_size (payload): 0);
    zframe_destroy (&payload);
    return s_rc (core, rc);
}

static bool
s_handle_command (void *self, int64_t now, const char *command,
                  zmsg_t *request, zmsg_t *reply)
{
    rumor_app_t *core = (rumor_app_t *) self;
    if (streq (command, "HEAR") || streq (command, "UNHEAR"))
        rumor_shell_add_i32 (reply, s_pattern (core, request,
                                               streq (command, "HEAR")));
    else
    if (streq (command, "QUERY"))
        s_query (core, now, request, reply);
    else
    if (streq (command, "RESPOND"))
        rumor_shell_add_i32 (reply, s_respond (core, now, request));
    else
        return false;
    return true;
}

//  A string argument of a post: its bytes end with their NUL
static const char *
s_arg_string (const rumor_shell_arg_t *arg)
{
    const char *text = (const char *) arg->data;
    return arg->size && text [arg->size - 1] == 0
        && strlen (text) == arg->size - 1? text: NULL;
}

//  SAY topic payload, WHISPER to topic payload (node.c, rumor_say and
//  rumor_whisper); the core counts what it refuses
static bool
s_handle_post (void *self, int64_t now, const char *command,
               const rumor_shell_arg_t *args, size_t count)
{
    rumor_app_t *core = (rumor_app_t *) self;
    if (streq (command, "SAY") && count == 2 && s_arg_string (&args [0])) {
        rumor_app_say (core, now, s_arg_string (&args [0]), args [1].data,
                       args [1].size);
        return true;
    }
    rumor_id_t to;
    if (streq (command, "WHISPER") && count == 3
    &&  args [0].size == RUMOR_ID_SIZE && s_arg_string (&args [1])) {
        memcpy (to.bytes, args [0].data, RUMOR_ID_SIZE);
        rumor_app_whisper (core, now, &to, s_arg_string (&args [1]),
                           args [2].data, args [2].size);
        return true;
    }
    return false;
}

static const rumor_shell_vtable_t s_vtable = {
    .name = "app",
    .destroy = s_destroy,
    .on_message = s_on_message,
    .on_event = s_on_event,
    .on_tick = s_on_tick,
    .next_deadline = s_next_deadline,
    .next_effect = s_next_effect,
    .stats = s_stats,
    .handle_command = s_handle_command,
    .handle_post = s_handle_post,
    .notice = NULL
};

//  The core's configuration for a profile
static void
s_cfg (rumor_app_cfg_t *cfg, int profile)
{
    rumor_app_cfg_defaults (cfg);
    if (profile == RUMOR_ACTOR_PROFILE_LOCAL) {
        //  One host: an eager copy arrives within a few ms, so an IHave
        //  still unanswered after 50 ms means a lost link; announcing every
        //  20 ms repairs it sooner at local CPU cost only
        cfg->ihave_interval_ms = 20;
        cfg->graft_timeout_ms = 50;
    }
    else
    if (profile == RUMOR_ACTOR_PROFILE_WAN) {
        //  Slow links (RTT up to ~300 ms): grafting before 500 ms would
        //  fetch events already on their way, and batching IHaves over
        //  200 ms saves messages on links that cost more
        cfg->ihave_interval_ms = 200;
        cfg->graft_timeout_ms = 500;
    }
}

zactor_t *
rumor_app_actor_new (const rumor_actor_cfg_t *actor)
{
    assert (actor);
    rumor_app_cfg_t cfg;
    s_cfg (&cfg, actor->profile);
    cfg.self = actor->self;
    cfg.generation = actor->generation;
    cfg.seed = rumor_actor_seed (actor, 3);
    rumor_limits_t limits;
    rumor_limits_resolve (actor->limits, &limits);
    cfg.rate_per_sec = limits.events_per_sec;
    rumor_app_t *core = rumor_app_new (&cfg);
    return core? rumor_shell_new (&s_vtable, core): NULL;
}
