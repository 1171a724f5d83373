/*  =========================================================================
    anti_entropy_actor - the anti-entropy core in its czmq shell

    The vtable the generic shell (shell.h) drives, and the key/value
    commands (actors.h): SET, DELETE, GET, KEYS.
    =========================================================================
*/

#include "actors.h"
#include "anti_entropy.h"

#define S_COUNTER(field) { #field, offsetof (rumor_anti_entropy_stats_t, field) }
static const rumor_shell_counter_t s_counters [] = {
    S_COUNTER (rounds),
    S_COUNTER (digests_sent),
    S_COUNTER (digests_received),
    S_COUNTER (deltas_sent),
    S_COUNTER (deltas_received),
    S_COUNTER (requests_sent),
    S_COUNTER (requests_received),
    S_COUNTER (deltas_truncated),
    S_COUNTER (pushes_sent),
    S_COUNTER (pushes_forwarded),
    S_COUNTER (entries_sent),
    S_COUNTER (entries_applied),
    S_COUNTER (entries_duplicate),
    S_COUNTER (expired),
    S_COUNTER (tombstones_collected),
    S_COUNTER (origins_dropped),
    S_COUNTER (generations_replaced),
    S_COUNTER (bad_body),
    S_COUNTER (bad_sender),
    S_COUNTER (bad_entry),
    S_COUNTER (forged),
    S_COUNTER (stale_self),
    S_COUNTER (stale_generation),
    S_COUNTER (future_generation),
    S_COUNTER (bad_expiry),
    S_COUNTER (too_big),
    S_COUNTER (full),
    S_COUNTER (value_bytes_full),
    S_COUNTER (departed),
    S_COUNTER (bad_digest),
    S_COUNTER (bad_event),
};
#undef S_COUNTER


//  --------------------------------------------------------------------------
//  Vtable

static void
s_destroy (void **self_p)
{
    rumor_anti_entropy_destroy ((rumor_anti_entropy_t **) self_p);
}

static int
s_on_message (void *self, int64_t now, const Rumor__Envelope *env)
{
    return rumor_anti_entropy_on_message ((rumor_anti_entropy_t *) self, now,
                                          env);
}

static int
s_on_event (void *self, int64_t now, const char *kind,
            const ProtobufCMessage *detail)
{
    return rumor_anti_entropy_on_event ((rumor_anti_entropy_t *) self, now,
                                        kind, detail);
}

static void
s_on_tick (void *self, int64_t now)
{
    rumor_anti_entropy_on_tick ((rumor_anti_entropy_t *) self, now);
}

static int64_t
s_next_deadline (void *self)
{
    return rumor_anti_entropy_next_deadline ((rumor_anti_entropy_t *) self);
}

static zframe_t *
s_next_effect (void *self)
{
    return rumor_anti_entropy_next_effect ((rumor_anti_entropy_t *) self);
}

static void
s_stats (void *self, zmsg_t *reply)
{
    rumor_anti_entropy_t *core = (rumor_anti_entropy_t *) self;
    rumor_shell_add_counters (reply, "anti_entropy",
                              rumor_anti_entropy_stats (core), s_counters,
                              sizeof (s_counters) / sizeof (s_counters [0]));
    rumor_shell_add_counter (reply, "anti_entropy", "origins",
                             rumor_anti_entropy_origins (core));
    rumor_shell_add_counter (reply, "anti_entropy", "peers",
                             rumor_anti_entropy_peers (core));
    rumor_shell_add_counter (reply, "anti_entropy", "version",
                             rumor_anti_entropy_version (core, NULL));
}


//  --------------------------------------------------------------------------
//  API commands

static int
s_set (rumor_anti_entropy_t *core, int64_t now, zmsg_t *request)
{
    char *key = rumor_shell_pop_str (request);
    zframe_t *value = zmsg_pop (request);
    int64_t ttl = (int64_t) rumor_shell_pop_u64 (request, 0);
    int rc = rumor_anti_entropy_set (core, now, key,
                                     value? zframe_data (value): NULL,
                                     value? zframe_size (value): 0, ttl);
    zframe_destroy (&value);
    free (key);
    return rc;
}

static int
s_delete (rumor_anti_entropy_t *core, int64_t now, zmsg_t *request)
{
    char *key = rumor_shell_pop_str (request);
    int rc = rumor_anti_entropy_delete (core, now, key);
    free (key);
    return rc;
}

//  The origin frame: 16 bytes, or empty for ours. Returns 0, or -1.
static int
s_pop_origin (zmsg_t *request, rumor_id_t *origin, bool *ours)
{
    zframe_t *frame = zmsg_pop (request);
    int rc = -1;
    *ours = frame && zframe_size (frame) == 0;
    if (frame && zframe_size (frame) == RUMOR_ID_SIZE) {
        memcpy (origin->bytes, zframe_data (frame), RUMOR_ID_SIZE);
        rc = 0;
    }
    zframe_destroy (&frame);
    return *ours? 0: rc;
}

static void
s_get (rumor_anti_entropy_t *core, int64_t now, zmsg_t *request,
       zmsg_t *reply)
{
    rumor_id_t origin;
    bool ours;
    const Rumor__KvEntry *entry = NULL;
    if (s_pop_origin (request, &origin, &ours) == 0) {
        char *key = rumor_shell_pop_str (request);
        entry = rumor_anti_entropy_get (core, ours? NULL: &origin, key, now);
        free (key);
    }
    rumor_shell_add_i32 (reply, entry? 0: RUMOR_AE_ENOKEY);
    if (entry)
        zmsg_addmem (reply, entry->value.data, entry->value.len);
}

static void
s_keys_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_keys (rumor_anti_entropy_t *core, zmsg_t *request, zmsg_t *reply)
{
    rumor_id_t origin;
    bool ours;
    if (s_pop_origin (request, &origin, &ours)) {
        rumor_shell_add_i32 (reply, RUMOR_AE_ENOKEY);
        return;
    }
    zlistx_t *keys = zlistx_new ();
    assert (keys);
    zlistx_set_destructor (keys, s_keys_free);
    rumor_anti_entropy_keys (core, ours? NULL: &origin, keys);
    rumor_shell_add_i32 (reply, 0);
    for (const char *key = (const char *) zlistx_first (keys); key;
         key = (const char *) zlistx_next (keys))
        zmsg_addstr (reply, key);
    zlistx_destroy (&keys);
}

static bool
s_handle_command (void *self, int64_t now, const char *command,
                  zmsg_t *request, zmsg_t *reply)
{
    rumor_anti_entropy_t *core = (rumor_anti_entropy_t *) self;
    if (streq (command, "SET"))
        rumor_shell_add_i32 (reply, s_set (core, now, request));
    else
    if (streq (command, "DELETE"))
        rumor_shell_add_i32 (reply, s_delete (core, now, request));
    else
    if (streq (command, "GET"))
        s_get (core, now, request, reply);
    else
    if (streq (command, "KEYS"))
        s_keys (core, request, reply);
    else
        return false;
    return true;
}

static const rumor_shell_vtable_t s_vtable = {
    .name = "anti_entropy",
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
s_cfg (rumor_anti_entropy_cfg_t *cfg, int profile)
{
    rumor_anti_entropy_cfg_defaults (cfg);
    if (profile == RUMOR_ACTOR_PROFILE_LOCAL
    ||  profile == RUMOR_ACTOR_PROFILE_LAN)
        //  Eager pushes carry nearly every write to every node at once;
        //  rounds only repair what a push missed. A Digest holds a version
        //  per member, so rounds cost bytes in proportion to N at every
        //  node, all the time: one a second keeps an idle cluster cheap
        //  (benchmarks: 100 ms rounds were most of an idle node's traffic
        //  at N = 64) and still repairs a missed write within a second or
        //  two. Which is why the push must reach everyone: the core's
        //  fanout 3 plus the ring successor (push_ring) does. Random
        //  choices alone miss a node with chance about e^-fanout (at 5,
        //  about one write in three at N = 64 waited up to half a second
        //  for a round); the ring hands each write on to the node after
        //  every receiver, with 20% fewer sends than fanout 5
        //  (docs/BENCHMARKS.md)
        cfg->gossip_interval_ms = 1000;
    else
    if (profile == RUMOR_ACTOR_PROFILE_WAN)
        //  Slow links: a Digest exchange takes an RTT or two (up to
        //  ~600 ms); rounds faster than that only pile up answers
        cfg->gossip_interval_ms = 1000;
}

zactor_t *
rumor_anti_entropy_actor_new (const rumor_actor_cfg_t *actor)
{
    assert (actor);
    rumor_anti_entropy_cfg_t cfg;
    s_cfg (&cfg, actor->profile);
    cfg.self = actor->self;
    cfg.generation = actor->generation;
    cfg.seed = rumor_actor_seed (actor, 2);
    rumor_limits_t limits;
    rumor_limits_resolve (actor->limits, &limits);
    cfg.max_keys = (size_t) limits.keys;
    cfg.max_value_bytes = (size_t) limits.value_bytes;
    rumor_anti_entropy_t *core = rumor_anti_entropy_new (&cfg);
    return core? rumor_shell_new (&s_vtable, core): NULL;
}
