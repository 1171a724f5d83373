/*  =========================================================================
    rumor_supervisor - the actor that owns a node's network endpoint

    One per running node (framework/node.c starts it at rumor_start). It
    owns every socket that touches the network and routes everything else:
      - a ROUTER bound to tcp://BIND:PORT (ZMQ_MAXMSGSIZE and HWMs from
        cfg's limits, rumor_limits.h; ROUTER_HANDOVER so that a restarted
        node takes its routing id over): every inbound frame is decoded
        ONCE by the codec (refusals counted), then handed as a shared
        pointer to the actor that owns its body, and to membership as
        well when it carries piggybacked updates;
      - one DEALER per peer (routing id = our 16-byte id and a link
        number; SNDTIMEO 0: a full queue drops and counts, never blocks,
        except app frames, which wait in a bounded queue per link, see
        "Backpressure"; LINGER 0), opened on the first SEND to it and closed when membership has forgotten the peer
        (DEAD/LEFT for reap_after_ms); at most max_members of them. Each
        has a zmq_socket_monitor: ZMQ_EVENT_DISCONNECTED of an established
        connection sends PEERLOST to the detector (the fast path; with a
        secret, only once the redial 10-20 ms later is refused, since a
        peer that re-keys drops its connections too); a failed handshake
        never does (see "Security"). A SEND to an id with
        no endpoint known (an Ack to a stranger's Ping) goes back through
        the ROUTER to that routing id, so DEALERs are read as well;
      - one connection per pair of nodes where it can: a peer that
        connected to us and to which we have no DEALER of our own gets
        our membership, detector and anti-entropy frames back over its
        connection (the ROUTER, by the routing id its last frame came
        with; "routed"), and a DEALER is opened only when that fails (not
        connected, or its pipe is full). App frames always take a DEALER
        (they wait in order, see "Backpressure"). The ROUTER's monitor
        names the socket of a connection that drops, and the frames that
        came in on it (ZMQ_SRCFD) name the peer: a peer reached that way
        gets PEERLOST as a DEALER's disconnect would give it (not with a
        secret, as above);
      - the beacon (framework/beacon.h): accepted beacons become JOINID
        commands to membership;
      - the four actors (actors/actors.h): their SEND effects are sealed
        (cluster, id, generation, incarnation tracked from membership's
        "member" events about us, seq, target) and sent; their EVENT
        effects are routed per the table of framework/effects.h, and the
        program-visible ones become events on the events pipe.
    Piggybacking membership updates on other actors' traffic is NOT done
    (the membership core lives in another thread; membership gossips on
    its own rounds instead). Inbound piggyback is applied.

    Security (secret.h, zap.h), with a keyring: the ROUTER is a CURVE
    server with the primary's secret key and a ZAP domain of its own (the
    process's ZAP handler admits a client whose public key is in the
    keyring, and counts the rest); every DEALER is a CURVE client with the
    keypair of one key, the primary first for a new link. A failed
    handshake (ZMQ_EVENT_HANDSHAKE_FAILED_*) reopens the link with the
    next key; once every key failed in a row (twice over for a link that
    worked before) the link is closed and its endpoint backs off (1 s
    doubling to 60 s, sends meanwhile dropped and counted). A node without
    a secret gives up the same way at its first refusal (mechanism
    mismatch), so neither side retries in a loop: the server never dials,
    and a client tries a refusing endpoint at most once a minute. USE
    rebinds the ROUTER on its port with the new primary (zmq_unbind drops
    every accepted connection; peers reconnect and try their keys);
    REMOVE closes our links made with that key, and rebinds only if the
    ROUTER still serves it or the ZAP handler admitted it since the last
    bind. The beacon signs with the primary, verifies with any key. The
    app core hears "$rumor.keys"; such queries are answered here, never
    shown to the program, and other messages on "$rumor." topics are
    dropped ("security.reserved_dropped").

    Nothing blocks: sends to actors that are full wait in a bounded
    backlog (decoded frames are dropped and counted instead, but for the
    app actor's), events the program does not read are dropped and counted
    ("events.dropped").

    Backpressure, for the app traffic only (rumor_say, rumor_whisper and
    what peers send the app core), so that nothing is dropped between the
    program and the wire: an app frame whose DEALER is full waits in the
    link's queue (max-queue frames, "supervisor.app_queued"), flushed as
    the DEALER drains; while a link's queue is full the app actor is not
    read (its shell then stops reading its pipe, shell.c); while the app
    actor's backlog is half full the node's pipe is not read, so the
    program blocks in rumor_say (node.c), and neither is the ROUTER unless
    we hold the app actor back ourselves (two nodes relaying events to
    each other would wait for each other), so peers' frames wait in TCP;
    past the backlog's bound they are dropped ("supervisor.dropped_actor").
    A link that moves nothing for 1 s (4 s while connected)
    drops its queue and counts it ("supervisor.app_dropped"). Outbound
    membership and detector frames never wait (dropped when the DEALER is
    full, "supervisor.dropped_full"); inbound, they wait in TCP with the
    app's while the ROUTER is not read (the cost: under saturation, late
    probes, "detector.probes_failed").

    Pipe protocol (node -> supervisor). Every command is COMMAND | seq
    (uint32, raw) | arguments, answered by "REPLY" | seq | rc (int32, raw,
    0 or a RUMOR_E* code of rumor.h) | data; a CALL with seq 0 is not
    answered. A post (shell.h: one frame, actor, command and arguments,
    no reply: rumor_say, rumor_whisper) goes to its actor as it came;
    refusals are counted, by the actor or as "supervisor.posts_refused":

        START                   bind, start actors and beacon, join seeds
                                -> rc, endpoint (or, if rc is not 0, why)
        STOP                    graceful leave, bounded (~2 s), then the
                                node may destroy the actor -> rc
        JOIN endpoint           join now (also recorded as a seed for
                                rumor_why and retries) -> membership's rc
                                (0 or -1)
        CALL actor COMMAND args forward COMMAND | seq | args to "membership",
                                "detector", "anti_entropy" or "app"; the
                                actor's reply comes back as is (actors.h)
        RESOLVE member          32-hex id or node name -> rc, 16-byte id
        STATS                   -> rc, then name/value string pairs
                                ("supervisor.*", "codec.*", "events.*",
                                "security.*", "beacon.*")
        WHY                     -> rc, a multi-line report string
        KEYS op [arg]           the keyring (secured nodes only, else
                                RUMOR_ESTATE): "INSTALL" + a packed
                                rumor_key_t, "USE"/"REMOVE" + an 8-byte
                                fingerprint, "LIST" -> rc, fingerprints
                                ("a1b2... c3d4...", primary first)
        $TERM                   end (zactor_destroy): every socket closes
                                at once, LINGER 0; without a STOP first
                                this is a crash as others see it (no
                                Leave): rumor_node_crash below

    Events pipe (supervisor -> program), one frame per event, made by
    rumor_supervisor_event_pack and read by rumor_supervisor_event_parse:
        type (uint32, rumor_event_type_t) | query (uint64) | complete
        (uint8 0/1) | data size (uint32) | data | member (hex) NUL | name
        NUL | endpoint NUL | topic NUL | evidence NUL
    =========================================================================
*/

#ifndef RUMOR_SUPERVISOR_H_INCLUDED
#define RUMOR_SUPERVISOR_H_INCLUDED

#include <czmq.h>
#include "rumor.h"
#include "id.h"
#include "rumor_limits.h"
#include "secret.h"

//  One event for the program, as it crosses the events pipe; strings are
//  never NULL once parsed ("" when not applicable)
typedef struct {
    rumor_event_type_t type;        //  what happened
    const char *member;             //  member hex
    const char *name;               //  its name
    const char *endpoint;           //  its endpoint
    const char *topic;              //  topic or key
    const void *data;               //  payload or value
    size_t size;                    //  its size
    uint64_t query;                 //  query id
    bool complete;                  //  QUERY_DONE: every member answered
    const char *evidence;           //  SUSPECT/FAILED: why
} rumor_supervisor_event_t;

//  The event as one frame for the events pipe (NULL strings go as "").
zframe_t *rumor_supervisor_event_pack (const rumor_supervisor_event_t *event);

//  Read a frame of rumor_supervisor_event_pack into event, whose strings
//  and data then borrow from the frame. Returns 0, or -1 if the frame is
//  not one (too short, a size past its end, a string without its NUL, or
//  bytes left over).
int rumor_supervisor_event_parse (zframe_t *frame,
                                  rumor_supervisor_event_t *event);

typedef struct {
    const char *name;               //  our node name
    rumor_id_t id;                  //  our node id
    uint64_t generation;            //  our start time, ms since epoch
    uint64_t seed;                  //  seeds the cores' PRNGs
    const char *cluster;            //  cluster name
    int port;                       //  TCP port, 0 = any free port
    const char *bind;               //  address to bind, "*" = all
    const char *advertise;          //  host others reach us at, NULL =
                                    //  the beacon's address or 127.0.0.1
    rumor_beacon_t beacon;          //  LAN, LOOPBACK or OFF
    const char *iface;              //  LAN beacon interface, NULL = czmq's
    int beacon_port;                //  UDP port of the beacon, 0 = default
    rumor_profile_t profile;        //  timing profile
    const char *const *tags;        //  our tags, "key=value"
    size_t n_tags;                  //  number of tags
    const char *const *seeds;       //  endpoints to join at start
    size_t n_seeds;                 //  number of seeds
    zsock_t *events;                //  PAIR to the program: the supervisor
                                    //  thread alone sends on it while it
                                    //  runs (borrowed)
    rumor_limits_t limits;          //  user-facing limits (rumor_limits.h); a
                                    //  zero field is the default
    rumor_keyring_t *keyring;       //  the node's keyring (secret.h), NULL
                                    //  or empty = no secret. Borrowed, NOT
                                    //  copied: the supervisor thread alone
                                    //  uses and changes it while it runs
} rumor_supervisor_cfg_t;

//  Start a supervisor (nothing bound yet: send START). Everything in cfg
//  is copied. Returns NULL if no actor can be started.
zactor_t *rumor_supervisor_new (const rumor_supervisor_cfg_t *cfg);

//  Destroy an actor without ever blocking forever on a full pipe: waits
//  (bounded) until its pipe can take $TERM. For the supervisor and the
//  actors it owns.
void rumor_supervisor_actor_destroy (zactor_t **actor_p);

//  Test hook: destroy a node abruptly, as if its process died: no Leave,
//  sockets closed at once (LINGER 0). Others must detect it as FAILED.
//  Nullifies the pointer; does nothing if it is NULL.
void rumor_node_crash (rumor_t **self_p);

#endif
