/*  =========================================================================
    membership_actor - the membership core in its czmq shell

    The vtable the generic shell (shell.h) drives, and the membership API
    commands (actors.h). Membership also takes the piggybacked updates of
    every envelope: the supervisor hands it any envelope that carries some.
    =========================================================================
*/

#include "actors.h"
#include "membership.h"

#define S_COUNTER(field) { #field, offsetof (rumor_membership_stats_t, field) }
static const rumor_shell_counter_t s_counters [] = {
    S_COUNTER (updates_applied),
    S_COUNTER (duplicates),
    S_COUNTER (refuted),
    S_COUNTER (confirmations),
    S_COUNTER (reaped),
    S_COUNTER (joins_sent),
    S_COUNTER (joins_deferred),
    S_COUNTER (suspects_told),
    S_COUNTER (refutes_told),
    S_COUNTER (joins_answered),
    S_COUNTER (gossip_sent),
    S_COUNTER (push_pulls_sent),
    S_COUNTER (push_pulls_answered),
    S_COUNTER (leaves_sent),
    S_COUNTER (stale_incarnation),
    S_COUNTER (stale_generation),
    S_COUNTER (future_generation),
    S_COUNTER (unknown_member),
    S_COUNTER (stale_self),
    S_COUNTER (self_conflict),
    S_COUNTER (absurd_incarnation),
    S_COUNTER (table_full),
    S_COUNTER (oversized_batch),
    S_COUNTER (unknown_sender),
    S_COUNTER (join_self),
    S_COUNTER (join_mismatch),
    S_COUNTER (bad_input),
};
#undef S_COUNTER

//  The core, with what the shell needs to remember about it
typedef struct {
    rumor_membership_t *core;       //  the pure core
    bool left_told;                 //  "NOTICE LEFT" sent
} s_actor_t;


//  --------------------------------------------------------------------------
//  Vtable

static void
s_destroy (void **self_p)
{
    s_actor_t *self = (s_actor_t *) *self_p;
    if (self) {
        rumor_membership_destroy (&self->core);
        free (self);
        *self_p = NULL;
    }
}

//  Piggybacked updates ride on envelopes of every family; the body is ours
//  only for membership messages.
static int
s_on_message (void *self, int64_t now, const Rumor__Envelope *env)
{
    rumor_membership_t *core = ((s_actor_t *) self)->core;
    int rc = 0;
    if (env->n_piggyback)
        rc = rumor_membership_on_piggyback (core, now, env);
    if (rumor_codec_owner (env) == RUMOR_OWNER_MEMBERSHIP)
        rc |= rumor_membership_on_message (core, now, env);
    return rc;
}

static int
s_on_event (void *self, int64_t now, const char *kind,
            const ProtobufCMessage *detail)
{
    return rumor_membership_on_event (((s_actor_t *) self)->core, now, kind,
                                      detail);
}

static void
s_on_tick (void *self, int64_t now)
{
    rumor_membership_on_tick (((s_actor_t *) self)->core, now);
}

static int64_t
s_next_deadline (void *self)
{
    return rumor_membership_next_deadline (((s_actor_t *) self)->core);
}

static zframe_t *
s_next_effect (void *self)
{
    return rumor_membership_next_effect (((s_actor_t *) self)->core);
}

static void
s_stats (void *self, zmsg_t *reply)
{
    rumor_membership_t *core = ((s_actor_t *) self)->core;
    rumor_shell_add_counters (reply, "membership",
                              rumor_membership_stats (core), s_counters,
                              sizeof (s_counters) / sizeof (s_counters [0]));
    rumor_shell_add_counter (reply, "membership", "members",
                             rumor_membership_size (core));
    rumor_shell_add_counter (reply, "membership", "alive",
        rumor_membership_count (core, RUMOR__STATE__STATE_ALIVE));
    rumor_shell_add_counter (reply, "membership", "queue",
                             rumor_membership_queue_size (core));
    rumor_shell_add_counter (reply, "membership", "incarnation",
                             rumor_membership_incarnation (core));
}

//  Once the graceful leave is spread, tell the supervisor (once)
static zmsg_t *
s_notice (void *self_)
{
    s_actor_t *self = (s_actor_t *) self_;
    if (self->left_told || !rumor_membership_leave_done (self->core))
        return NULL;
    self->left_told = true;
    zmsg_t *notice = zmsg_new ();
    zmsg_addstr (notice, "NOTICE");
    zmsg_addstr (notice, "LEFT");
    return notice;
}


//  --------------------------------------------------------------------------
//  API commands

static int
s_join (rumor_membership_t *core, int64_t now, zmsg_t *request)
{
    char *endpoint = rumor_shell_pop_str (request);
    int rc = rumor_membership_join (core, now, endpoint);
    free (endpoint);
    return rc;
}

static int
s_join_id (rumor_membership_t *core, int64_t now, zmsg_t *request)
{
    rumor_id_t id;
    if (rumor_shell_pop_id (request, &id))
        return -1;
    uint64_t generation = rumor_shell_pop_u64 (request, 0);
    char *endpoint = rumor_shell_pop_str (request);
    int rc = rumor_membership_join_id (core, now, &id, generation, endpoint);
    free (endpoint);
    return rc;
}

static int
s_tags (rumor_membership_t *core, int64_t now, zmsg_t *request)
{
    size_t n = zmsg_size (request);
    char **tags = (char **) calloc (n + 1, sizeof (char *));
    assert (tags);
    for (size_t i = 0; i < n; i++)
        tags [i] = rumor_shell_pop_str (request);
    int rc = rumor_membership_set_tags (core, now,
                                        (const char *const *) tags, n);
    for (size_t i = 0; i < n; i++)
        free (tags [i]);
    free (tags);
    return rc;
}

static int
s_endpoint (rumor_membership_t *core, int64_t now, zmsg_t *request)
{
    char *endpoint = rumor_shell_pop_str (request);
    int rc = rumor_membership_set_endpoint (core, now, endpoint);
    free (endpoint);
    return rc;
}

//  One member as a packed MemberUpdate frame. Tags "key=value" are split
//  into Tag messages.
static zframe_t *
s_member_frame (const rumor_member_t *member)
{
    size_t n = member->n_tags + 1;
    Rumor__Tag *tags = (Rumor__Tag *) calloc (n, sizeof (Rumor__Tag));
    Rumor__Tag **tag_ptrs = (Rumor__Tag **) calloc (n, sizeof (Rumor__Tag *));
    char **copies = (char **) calloc (n, sizeof (char *));
    assert (tags && tag_ptrs && copies);
    for (size_t i = 0; i < member->n_tags; i++) {
        rumor__tag__init (&tags [i]);
        copies [i] = strdup (member->tags [i]);
        char *equal = strchr (copies [i], '=');
        if (equal)
            *equal++ = 0;
        tags [i].key = copies [i];
        tags [i].value = equal? equal: "";
        tag_ptrs [i] = &tags [i];
    }
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.id = rumor_id_bin (&member->id);
    update.generation = member->generation;
    update.incarnation = member->incarnation;
    update.state = member->state;
    update.name = (char *) member->name;
    update.endpoint = (char *) member->endpoint;
    update.n_tags = member->n_tags;
    update.tags = tag_ptrs;
    zframe_t *frame = rumor_codec_pack (&update.base);
    for (size_t i = 0; i < member->n_tags; i++)
        free (copies [i]);
    free (copies);
    free (tag_ptrs);
    free (tags);
    return frame;
}

static void
s_members (rumor_membership_t *core, zmsg_t *reply)
{
    rumor_shell_add_i32 (reply, 0);
    const rumor_member_t *member = rumor_membership_first (core);
    while (member) {
        zframe_t *frame = s_member_frame (member);
        if (frame)
            zmsg_append (reply, &frame);
        member = rumor_membership_next (core);
    }
}

static bool
s_handle_command (void *self, int64_t now, const char *command,
                  zmsg_t *request, zmsg_t *reply)
{
    rumor_membership_t *core = ((s_actor_t *) self)->core;
    int rc = 0;
    if (streq (command, "JOIN"))
        rc = s_join (core, now, request);
    else
    if (streq (command, "JOINID"))
        rc = s_join_id (core, now, request);
    else
    if (streq (command, "LEAVE"))
        rumor_membership_leave (core, now);
    else
    if (streq (command, "TAGS"))
        rc = s_tags (core, now, request);
    else
    if (streq (command, "ENDPOINT"))
        rc = s_endpoint (core, now, request);
    else
    if (streq (command, "MEMBERS")) {
        s_members (core, reply);
        return true;
    }
    else
        return false;
    rumor_shell_add_i32 (reply, rc);
    return true;
}

static const rumor_shell_vtable_t s_vtable = {
    .name = "membership",
    .destroy = s_destroy,
    .on_message = s_on_message,
    .on_event = s_on_event,
    .on_tick = s_on_tick,
    .next_deadline = s_next_deadline,
    .next_effect = s_next_effect,
    .stats = s_stats,
    .handle_command = s_handle_command,
    .notice = s_notice
};

//  The core's configuration for a profile
static void
s_cfg (rumor_membership_cfg_t *cfg, int profile)
{
    rumor_membership_cfg_defaults (cfg);
    if (profile == RUMOR_ACTOR_PROFILE_LOCAL) {
        //  One host: a message costs a little local CPU and arrives in
        //  well under 1 ms, so rounds twice as often halve the spread
        //  latency for nothing; a push-pull every 5 s repairs a missed
        //  update within seconds (tests, demos); rejoin a dead member
        //  heard by beacon after 2 s instead of 5
        cfg->gossip_interval_ms = 100;
        cfg->push_pull_interval_ms = 5000;
        cfg->rejoin_interval_ms = 2000;
    }
    else
    if (profile == RUMOR_ACTOR_PROFILE_WAN) {
        //  Slow links (RTT 100-300 ms): a 500 ms round batches more news
        //  per message and never sends faster than answers come back;
        //  full syncs cost real bandwidth, so once a minute; a dead member
        //  gets a minute to refute (as memberlist's WAN GossipToTheDead)
        cfg->gossip_interval_ms = 500;
        cfg->push_pull_interval_ms = 60000;
        cfg->gossip_to_dead_ms = 60000;
        cfg->rejoin_interval_ms = 10000;
    }
}

void
rumor_membership_actor_limits (int profile, rumor_membership_limits_t *limits)
{
    assert (limits);
    rumor_membership_cfg_t cfg;
    s_cfg (&cfg, profile);
    limits->max_members = cfg.max_members;
    limits->reap_after_ms = cfg.reap_after_ms;
    limits->gossip_interval_ms = cfg.gossip_interval_ms;
}

zactor_t *
rumor_membership_actor_new (const rumor_actor_cfg_t *actor)
{
    assert (actor);
    rumor_membership_cfg_t cfg;
    s_cfg (&cfg, actor->profile);
    cfg.self = actor->self;
    cfg.generation = actor->generation;
    cfg.name = actor->name;
    cfg.endpoint = actor->endpoint;
    cfg.tags = actor->tags;
    cfg.n_tags = actor->n_tags;
    cfg.seed = rumor_actor_seed (actor, 0);
    rumor_limits_t limits;
    rumor_limits_resolve (actor->limits, &limits);
    cfg.max_members = (size_t) limits.members;
    cfg.chunk_bytes = (size_t) limits.message_bytes / 2;
    rumor_membership_t *core = rumor_membership_new (&cfg);
    if (!core)
        return NULL;
    s_actor_t *self = (s_actor_t *) zmalloc (sizeof (s_actor_t));
    assert (self);
    self->core = core;
    return rumor_shell_new (&s_vtable, self);
}
