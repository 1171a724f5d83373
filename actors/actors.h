/*  =========================================================================
    rumor actors - the four cores of a node, each in its czmq shell

    Each constructor builds its core's configuration from the timing
    profile (the why of every value is beside it, in each *_actor.c),
    creates the core and starts it in the generic shell (shell.h), which
    owns it from then on; NULL if the core refuses its configuration or
    no actor can be started. The supervisor is the only client: it sends
    decoded messages ("MSG"), other cores' events ("EVENT"), "STATS" and
    the commands below, and reads effects, replies and notices back
    (shell.h has the generic part of the protocol).

    Every command is COMMAND | seq (uint32, '4') | arguments; seq 0 asks
    for no reply. A reply is "REPLY" | seq | rc (int32) | data frames.
    Ids are 16-byte frames (empty = ourselves where allowed), numbers raw
    host-order frames ('4', '8'; rc is a raw int32).

    @interface
    //  Membership actor
    zsock_send (membership, "s4s", "JOIN", seq, endpoint);
        //  Join through a seed endpoint. Reply: rc 0, or -1 (bad endpoint,
        //  leaving).
    zsock_send (membership, "s4b8s", "JOINID", seq, id, 16, generation,
                endpoint);
        //  Join a member heard by beacon. Reply: rc 0 or -1.
    zsock_send (membership, "s4", "LEAVE", seq);
        //  Leave gracefully. Reply: rc 0. When the LEFT update is spread,
        //  the actor sends "NOTICE" "LEFT" once.
    zsock_send (membership, "s4s...", "TAGS", seq, "key=value"...);
        //  Replace our tags (zero or more string frames). Reply: rc 0/-1.
    zsock_send (membership, "s4s", "ENDPOINT", seq, endpoint);
        //  Replace our endpoint. Reply: rc 0/-1.
    zsock_send (membership, "s4", "MEMBERS", seq);
        //  Reply: rc 0, then one frame per member, ourselves first: a
        //  packed Rumor__MemberUpdate (decode with rumor_codec_decode_detail).

    //  Detector actor
    zsock_send (detector, "s4b", "PEERLOST", seq, id, 16);
        //  The connection to a peer dropped (socket monitor): probe it now.
        //  Reply: rc 0, or -1 if id is not 16 bytes.
    zsock_send (detector, "s4b...", "HEALTH", seq, id, 16, ...);
        //  Reply: rc 0, then per id asked: phi (8-byte double) and RTT in
        //  ms (int32, -1 unknown).

    //  Anti-entropy actor
    zsock_send (anti_entropy, "s4sf8", "SET", seq, key, value, ttl_ms);
        //  Reply: rc, a rumor_ae_result_t (0 or negative).
    zsock_send (anti_entropy, "s4s", "DELETE", seq, key);
        //  Reply: rc, a rumor_ae_result_t.
    zsock_send (anti_entropy, "s4bs", "GET", seq, origin, size, key);
        //  origin: 16 bytes, or empty for ours. Reply: rc 0 and the value
        //  frame, or rc RUMOR_AE_ENOKEY.
    zsock_send (anti_entropy, "s4b", "KEYS", seq, origin, size);
        //  Reply: rc 0, then one string frame per live key, sorted.

    //  App actor (rc: 0, or minus a rumor_app_error_t)
    zsock_send (app, "s4s", "HEAR", seq, pattern);
    zsock_send (app, "s4s", "UNHEAR", seq, pattern);
    zsock_send (app, "s4sf", "SAY", seq, topic, payload);
    zsock_send (app, "s4bsf", "WHISPER", seq, id, 16, topic, payload);
    zsock_send (app, "s4sf8", "QUERY", seq, topic, payload, timeout_ms);
        //  Reply: rc, then the query id (uint64, 0 on error).
    zsock_send (app, "s4b8f", "RESPOND", seq, origin, 16, query_id,
                payload);
    @end

    Every actor also answers "STATS" (shell.h): its core's counters named
    "<core>.<counter>" plus a few gauges ("detector.awareness",
    "anti_entropy.origins", "app.peers", ...).
    =========================================================================
*/

#ifndef RUMOR_ACTORS_H_INCLUDED
#define RUMOR_ACTORS_H_INCLUDED

#include "shell.h"
#include "rumor_limits.h"

//  Timing profiles, the values of rumor_profile_t (rumor.h). Each actor
//  file applies the profile to its own core's defaults, with the why.
#define RUMOR_ACTOR_PROFILE_LAN     0   //  the cores' defaults
#define RUMOR_ACTOR_PROFILE_LOCAL   1   //  one host: faster timers
#define RUMOR_ACTOR_PROFILE_WAN     2   //  slow links: longer timeouts

//  What every actor needs to build its core. This header includes no core
//  header, so that the supervisor (which includes rumor.h, whose
//  rumor_member_t is not membership's) can start the actors.
typedef struct {
    rumor_id_t self;                //  our node id
    uint64_t generation;            //  our start, ms since epoch
    uint64_t seed;                  //  node seed; each core derives its own
    const char *name;               //  our node name (membership copies it)
    const char *endpoint;           //  our advertised endpoint (copied)
    const char *const *tags;        //  our tags, "key=value" (copied)
    size_t n_tags;                  //  number of tags
    int profile;                    //  RUMOR_ACTOR_PROFILE_*
    const rumor_limits_t *limits;   //  user-facing limits (rumor_limits.h); NULL
                                    //  or a zero field = the default
} rumor_actor_cfg_t;

//  Start an actor: build its core from the profile's configuration and run
//  it in the generic shell. NULL if the core refuses the configuration or
//  no actor can be started.
zactor_t *rumor_membership_actor_new (const rumor_actor_cfg_t *cfg);
zactor_t *rumor_detector_actor_new (const rumor_actor_cfg_t *cfg);
zactor_t *rumor_anti_entropy_actor_new (const rumor_actor_cfg_t *cfg);
zactor_t *rumor_app_actor_new (const rumor_actor_cfg_t *cfg);

//  Membership settings the supervisor mirrors for a profile
typedef struct {
    size_t max_members;             //  table cap: bounds the peers (DEALERs)
    int64_t reap_after_ms;          //  DEAD/LEFT entries are forgotten after
                                    //  this: their DEALERs close then
    int64_t gossip_interval_ms;     //  membership's round
} rumor_membership_limits_t;

void rumor_membership_actor_limits (int profile,
                                    rumor_membership_limits_t *limits);

//  Per-core PRNG seed: distinct per node seed, generation and core.
static inline uint64_t
rumor_actor_seed (const rumor_actor_cfg_t *cfg, int core)
{
    uint64_t words [3] = { cfg->seed, cfg->generation, (uint64_t) core };
    return rumor_hash64 (words, sizeof (words));
}

#endif
