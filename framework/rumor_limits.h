/*  =========================================================================
    rumor_limits - the user-facing limits of a node, inside the library

    rumor.h exposes them as rumor_set_limit (node, RUMOR_LIMIT_*, value);
    this header carries them from the node (framework/node.c) through the
    supervisor to the actors, which apply each to the part that owns it:

      message_bytes     ZMQ_MAXMSGSIZE of the ROUTER and every DEALER (a
                        larger frame cuts that connection in libzmq,
                        counted as supervisor.router_disconnects) and the
                        size membership cuts its table chunks to (half of
                        it), so that our own frames fit our peers' limit
      members           membership's table cap, the supervisor's peers and
                        routes (membership.table_full, supervisor.peers_full)
      keys              entries per origin, tombstones included
                        (anti_entropy.full; a local set: RUMOR_EFULL)
      value_bytes       bytes of values held per origin
                        (anti_entropy.value_bytes_full; local: RUMOR_EFULL)
      events_per_sec    events + queries + direct messages accepted per
                        second from one origin, token bucket with one
                        second of burst (app.rate_limited)
      queue             messages queued per peer link (DEALER HWMs,
                        supervisor.dropped_full); the ROUTER's inbound queue
                        holds 10 times this, and the supervisor's backlog of
                        control messages to each actor 4 times
                        (supervisor.dropped_control; decoded frames meeting
                        a full actor pipe: supervisor.dropped_actor). The
                        actors' own backlog toward the supervisor stays
                        RUMOR_SHELL_BACKLOG_MAX (shell.<core>.dropped)

    A field of zero means "the default" everywhere, so a cfg built without
    limits gets the defaults. Nodes of one cluster should use the same
    values: a node with a lower limit refuses what others accept.
    =========================================================================
*/

#ifndef RUMOR_LIMITS_H_INCLUDED
#define RUMOR_LIMITS_H_INCLUDED

#include <stdint.h>

typedef struct {
    int64_t message_bytes;          //  bytes in one frame
    int64_t members;                //  members in the table, us included
    int64_t keys;                   //  entries per origin (live + tombstones)
    int64_t value_bytes;            //  bytes of values per origin
    int64_t events_per_sec;         //  per origin, burst of one second
    int64_t queue;                  //  messages per peer link
} rumor_limits_t;

//  Defaults, each sane AND above what the benchmarks need, and the ranges
//  rumor_set_limit accepts.
//  1 MiB: the wire protocol's frame limit (RUMOR_FRAME_MAX); not above it.
//  Not below 128 KiB: a maximal value (64 KiB) in a Delta, a maximal event
//  and a membership chunk holding one member with 64 long tags must fit.
#define RUMOR_LIMIT_MESSAGE_BYTES_DFLT  (1024 * 1024)
#define RUMOR_LIMIT_MESSAGE_BYTES_MIN   (128 * 1024)
#define RUMOR_LIMIT_MESSAGE_BYTES_MAX   (1024 * 1024)
//  10,000 members: the design's largest cluster; a member costs about a
//  kilobyte across the node, so the table stays around 10 MiB at worst.
#define RUMOR_LIMIT_MEMBERS_DFLT        10000
#define RUMOR_LIMIT_MEMBERS_MIN         2
#define RUMOR_LIMIT_MEMBERS_MAX         1000000
//  10,000 entries per origin: service discovery and configuration use
//  tens; the bound is what one node can make every other node hold.
#define RUMOR_LIMIT_KEYS_DFLT           10000
#define RUMOR_LIMIT_KEYS_MIN            1
#define RUMOR_LIMIT_KEYS_MAX            10000000
//  4 MiB of values per origin: 64 maximal values, or 10,000 keys of 400
//  bytes. With the default members that bounds a node's keyspace copy by
//  members x 4 MiB, and a single node by what it may publish.
#define RUMOR_LIMIT_VALUE_BYTES_DFLT    (4 * 1024 * 1024)
#define RUMOR_LIMIT_VALUE_BYTES_MIN     1024
#define RUMOR_LIMIT_VALUE_BYTES_MAX     (INT64_C (1) << 40)
//  250,000 per second per origin (burst: one second's worth): above the
//  benchmark targets (one sender saying 50,000 events/s, two nodes
//  exchanging 200,000 direct messages/s), and still a ceiling on what one
//  member can make every node deliver and forward.
#define RUMOR_LIMIT_EVENTS_PER_SEC_DFLT 250000
#define RUMOR_LIMIT_EVENTS_PER_SEC_MIN  1
#define RUMOR_LIMIT_EVENTS_PER_SEC_MAX  100000000
//  1000 messages per peer link: several seconds of our traffic to one
//  peer; a peer that falls this far behind is dead or stalled, and what
//  follows is dropped and counted (SWIM tolerates the loss).
#define RUMOR_LIMIT_QUEUE_DFLT          1000
#define RUMOR_LIMIT_QUEUE_MIN           16
#define RUMOR_LIMIT_QUEUE_MAX           1000000

//  out = in with every zero (or NULL in) replaced by the default.
static inline void
rumor_limits_resolve (const rumor_limits_t *in, rumor_limits_t *out)
{
    rumor_limits_t zero = { 0, 0, 0, 0, 0, 0 };
    if (!in)
        in = &zero;
#define S_LIMIT_OR(field, dflt) out->field = in->field > 0? in->field: (dflt)
    S_LIMIT_OR (message_bytes, RUMOR_LIMIT_MESSAGE_BYTES_DFLT);
    S_LIMIT_OR (members, RUMOR_LIMIT_MEMBERS_DFLT);
    S_LIMIT_OR (keys, RUMOR_LIMIT_KEYS_DFLT);
    S_LIMIT_OR (value_bytes, RUMOR_LIMIT_VALUE_BYTES_DFLT);
    S_LIMIT_OR (events_per_sec, RUMOR_LIMIT_EVENTS_PER_SEC_DFLT);
    S_LIMIT_OR (queue, RUMOR_LIMIT_QUEUE_DFLT);
#undef S_LIMIT_OR
}

#endif
