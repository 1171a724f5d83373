/*  =========================================================================
    rumor_detector - SWIM failure detection with Lifeguard (pure core)

    Decides who is alive. Probes one member per probe interval in shuffled
    round-robin order: Ping -> Ack within a timeout that adapts to the
    measured RTT, else PingReq through a few other members, else the member
    is suspected. A suspicion times out after mult * log10(N) intervals,
    shortened by independent confirmations (Lifeguard), and then the member
    is declared dead. Local health awareness (Lifeguard) slows this node's
    probing when it looks like the slow one itself. A per-peer phi-accrual
    value is kept for information; SWIM alone decides.

    The core learns who to probe only from "member" events of the membership
    core, and tells membership what it decides with "suspect" and "dead"
    events; it never keeps its own membership beyond that. Every verdict
    carries its evidence in a "verdict" event (who suspected, last RTTs,
    phi, when the suspicion started).

    Pure core: driven only by (now_ms, input); effects are pulled with
    rumor_detector_next_effect (see framework/effects.h). It does not
    gossip membership updates (the shell piggybacks them) and does not
    refute suspicion of itself (membership raises the incarnation); it only
    notes it, as Lifeguard's local health signal.

    Wiring (node shell and simulator alike):
      - on_message: every envelope whose body is Ping, Ack, PingReq or Nack
        (rumor_codec_owner () == RUMOR_OWNER_DETECTOR);
      - on_event: membership's "member" and "confirm" EVENTs, detail decoded
        as Rumor__MemberUpdate; no other kind is for us;
      - our "suspect" and "dead" EVENTs go to membership's on_event;
        "verdict" EVENTs go to the program;
      - our SENDs always carry the peer id; the endpoint is "" for a peer
        membership has not told us about (answer to a stranger's Ping):
        route those by id, to where the envelope came from;
      - peer_lost: when the connection to a peer drops (socket monitor);
      - on_tick at next_deadline; an early or extra tick is harmless.
    =========================================================================
*/

#ifndef RUMOR_DETECTOR_H_INCLUDED
#define RUMOR_DETECTOR_H_INCLUDED

#include "effects.h"
#include "ident.h"
#include "prng.h"

//  LAN profile defaults. Why each value is what it is:
//  - 500 ms probe interval: a killed process is caught by the socket fast
//    path (rumor_detector_peer_lost) anyway; the interval only bounds how
//    quickly a frozen or unreachable node is suspected, and 2 probes/s per
//    node is negligible load at any N (one probe per node per interval).
#define RUMOR_DETECTOR_PROBE_INTERVAL_DFLT      500
//  - 100 ms timeout floor: loopback/LAN RTTs are well under 1 ms, but a busy
//    or garbage-collecting peer can stall for tens of ms; below 100 ms we
//    would start indirect probes (3 extra messages) on scheduling noise.
#define RUMOR_DETECTOR_PROBE_TIMEOUT_MIN_DFLT   100
//  - 400 ms timeout ceiling: must stay below the interval so the indirect
//    probes get at least interval - max = 100 ms to come back.
#define RUMOR_DETECTOR_PROBE_TIMEOUT_MAX_DFLT   400
//  - 3 indirect checks: SWIM's k; with independent 10% loss the chance that
//    all k+1 paths fail for a live member is ~1e-4 per probe (SWIM 4.1).
#define RUMOR_DETECTOR_INDIRECT_DFLT            3
//  - suspicion multiplier 4: memberlist's LAN value; with N = 64 the
//    minimum suspicion is 4 * log10(64) * 500 ms = 3.6 s, long enough for a
//    suspect to hear of it and refute through gossip.
#define RUMOR_DETECTOR_SUSPICION_MULT_DFLT      4
//  - max/min ratio 6 (Lifeguard, memberlist's SuspicionMaxTimeoutMult): an
//    unconfirmed suspicion waits 6x longer; each independent confirmation
//    moves it toward the minimum (log-scaled).
#define RUMOR_DETECTOR_SUSPICION_MAX_MULT_DFLT  6
#define RUMOR_DETECTOR_FIRST_CONTACT_GRACE_DFLT 10000
//  - awareness max 8 (Lifeguard, memberlist's AwarenessMaxMultiplier): a
//    node that looks unhealthy itself probes up to 8x slower and waits up
//    to 8x longer, instead of accusing healthy peers.
#define RUMOR_DETECTOR_AWARENESS_MAX_DFLT       8
//  - 8 RTT samples per peer: enough to show a trend in a verdict, small
//    enough to cost 32 bytes per peer.
#define RUMOR_DETECTOR_RTT_HISTORY_DFLT         8
//  - 100 inter-arrival intervals for phi: a stable mean and deviation
//    (Hayashibara uses 1000 heartbeats; our acks are rarer, one per pass).
#define RUMOR_DETECTOR_PHI_WINDOW_DFLT          100
//  - 100 ms floor on phi's standard deviation (Akka's value): round-robin
//    probing is so regular that the measured deviation tends to zero, and
//    phi would then explode at the first late ack.
#define RUMOR_DETECTOR_PHI_MIN_STD_DFLT         100
//  - 1024 pending probes and relays: a node has 1-2 probes of its own in
//    flight, plus relays for others (~k per probe interval per member at
//    most); 1024 bounds memory against a flood of PingReqs.
#define RUMOR_DETECTOR_PENDING_MAX_DFLT         1024
//  - lost-peer suspicion 0 (off): SWIM's suspicion (3.6 s at N = 64, at
//    best) is what lets a live suspect refute. When the connection to a
//    peer dropped AND the fast probe failed AND every helper Nacked (they
//    are up, and cannot reach it either), the evidence is conclusive
//    enough to cut the suspicion to this many ms; ~200 makes a killed
//    process known dead in well under a second (DESIGN target). Off by
//    default until the simulator shows it raises no false verdicts.
#define RUMOR_DETECTOR_LOST_SUSPICION_DFLT      0

//  Hard limits on the configuration (programmer limits, checked by _new)
#define RUMOR_DETECTOR_INDIRECT_MAX     16      //  helpers per probe
#define RUMOR_DETECTOR_ACCUSERS_MAX     32      //  accusers kept per suspicion

typedef struct {
    rumor_id_t self;                //  our node id
    uint64_t generation;            //  our generation (start time, ms)
    uint64_t seed;                  //  seeds the probe order and helpers
    int64_t probe_interval_ms;      //  one probe per interval (x awareness+1)
    int64_t probe_timeout_min_ms;   //  adaptive timeout floor
    int64_t probe_timeout_max_ms;   //  adaptive timeout ceiling, and the
                                    //  timeout while a peer's RTT is unknown;
                                    //  must be < probe_interval_ms
    uint32_t indirect_checks;       //  helpers asked per failed direct probe
                                    //  (1..RUMOR_DETECTOR_INDIRECT_MAX)
    uint32_t suspicion_mult;        //  min suspicion = mult*log10(N)*interval
    uint32_t suspicion_max_mult;    //  max suspicion = max_mult * min
    uint32_t awareness_max;         //  awareness ranges 0..max-1 (>= 1)
    uint32_t rtt_history;           //  RTT samples kept per peer (>= 1)
    uint32_t phi_window;            //  ack intervals kept per peer (>= 2)
    int64_t phi_min_std_ms;         //  floor on phi's standard deviation
    uint32_t pending_max;           //  probes + relays in flight, at most
    int64_t lost_suspicion_ms;      //  suspicion after conclusive evidence
                                    //  on a lost peer; 0 = off (>= 0)
    int64_t first_contact_grace_ms; //  10000: a member that never answered
                                    //  us is not suspected on our failed
                                    //  probe for this long after we learnt
                                    //  of it, unless every helper asked
                                    //  Nacked (first_contact_spared); 0 =
                                    //  off (>= 0)
    rumor_ident_pool_t *idents;     //  where targets' identities are kept:
                                    //  one pool for the cores of one
                                    //  thread (rumor-sim), or NULL for
                                    //  our own (ident.h)
} rumor_detector_cfg_t;

//  Counters. Work done first, then one counter per refusal reason.
typedef struct {
    uint64_t probes;                //  probes started (round-robin + fast)
    uint64_t fast_probes;           //  of which out of turn (peer_lost)
    uint64_t probes_ok;             //  probes answered (direct or indirect)
    uint64_t probes_failed;         //  probes not answered in time
    uint64_t first_contact_spared;  //  of which raised no suspicion: the
                                    //  member never answered us and is
                                    //  new (first_contact_grace_ms)
    uint64_t ping_reqs_sent;        //  PingReqs sent as requester
    uint64_t relays;                //  PingReqs served as helper
    uint64_t acks_sent;             //  Acks we answered Pings with
    uint64_t acks_forwarded;        //  Acks relayed to a requester
    uint64_t nacks_sent;            //  Nacks sent as helper
    uint64_t nacks_received;        //  Nacks counted as requester
    uint64_t nacks_missing;         //  failed probes that got fewer Nacks
                                    //  than helpers asked (awareness +1)
    uint64_t rtt_samples;           //  RTT samples taken
    uint64_t suspicions;            //  suspicion timers started
    uint64_t confirmations;         //  independent accusers counted
    uint64_t refuted;               //  suspicions cancelled by a higher
                                    //  incarnation ALIVE or a restart
    uint64_t deaths;                //  dead verdicts emitted
    uint64_t self_suspected;        //  SUSPECT events about ourselves
    uint64_t self_refuted;          //  our own incarnation rose: membership
                                    //  refuted a suspicion of us (awareness
                                    //  +1; a tag change also raises it)
    uint64_t acks_late;             //  Acks from a target whose probe had
                                    //  already failed: our timeouts were
                                    //  too short for now (awareness +1)
    uint64_t lost_cut;              //  suspicions cut by lost_suspicion_ms

    uint64_t wrong_body;            //  refused: not a detection body
    uint64_t from_self;             //  refused: envelope sender is us
    uint64_t ping_wrong_target;     //  refused: Ping meant for another id
                                    //  (stale address)
    uint64_t ack_unknown_probe;     //  refused: no such probe (or done)
    uint64_t ack_wrong_sender;      //  refused: Ack not from the probe's
                                    //  target nor from one of its helpers
    uint64_t nack_unknown_probe;    //  refused: no such probe (or done)
    uint64_t nack_wrong_sender;     //  refused: not a helper of the probe,
                                    //  or that helper already nacked
    uint64_t ping_req_self_target;  //  refused: asked to probe ourselves
    uint64_t ping_req_unknown_target;   //  refused: target not a member
                                        //  we know (we Nack at once)
    uint64_t pending_full;          //  refused: pending_max in flight
    uint64_t rtt_refused;           //  Ack accepted, but its echo was in
                                    //  our future or before the probe: no
                                    //  RTT sample
    uint64_t bad_event;             //  refused: event detail missing, of
                                    //  the wrong type, or without an id
    uint64_t event_ignored;         //  refused: event kind not for us
    uint64_t stale_member;          //  refused: member event older than
                                    //  what we know (SWIM precedence)
    uint64_t confirm_unknown;       //  refused: confirm with no suspicion
                                    //  running at that incarnation
    uint64_t confirm_duplicate;     //  refused: accuser already counted
    uint64_t peer_lost_unknown;     //  peer_lost for an id not a target
    uint64_t bad_sender;            //  refused: envelope sender not an id
} rumor_detector_stats_t;

typedef struct _rumor_detector_t rumor_detector_t;

//  Fill cfg with the LAN profile defaults; self, generation and seed are
//  zeroed and must be set by the caller.
void rumor_detector_cfg_defaults (rumor_detector_cfg_t *cfg);

//  Create a detector. Returns NULL if cfg is out of bounds (zero interval,
//  timeouts not floor <= max < interval, indirect_checks out of 1..16,
//  zero multipliers, windows or pending_max).
rumor_detector_t *rumor_detector_new (const rumor_detector_cfg_t *cfg);

//  Destroy the detector and every queued effect; nullifies the pointer.
void rumor_detector_destroy (rumor_detector_t **self_p);

//  Input: a decoded, codec-validated envelope whose body is Ping, Ack,
//  PingReq or Nack (env->sender is the sender). Returns 0 if accepted,
//  -1 if refused (reason counted in stats). Keeps no pointer into env.
int rumor_detector_on_message (rumor_detector_t *self, int64_t now_ms,
                               const Rumor__Envelope *env);

//  The answer to a Ping, as rumor_detector_on_message gives it: an Ack
//  from self that echoes the probe number and the sender's clock. False,
//  with ack untouched, if the Ping names another member as its target (it
//  was sent to a stale address). Pure and stateless, so that a node can
//  answer Pings where they arrive instead of in the detector's thread: a
//  Ping is answered by two thread hops fewer, and an Ack never waits for
//  a busy detector. ack->target borrows self.
bool rumor_detector_ack_of (const rumor_id_t *self, const Rumor__Ping *ping,
                            Rumor__Ack *ack);

//  Input: an event from the membership core: kind "member" or "confirm",
//  detail a Rumor__MemberUpdate. Returns 0 if accepted, -1 if refused
//  (counted). Events about ourselves are accepted but never targets.
int rumor_detector_on_event (rumor_detector_t *self, int64_t now_ms,
                             const char *kind, const ProtobufCMessage *detail);

//  Input: time passes. Starts due probes, goes indirect, suspects, and
//  times out suspicions. Does nothing if nothing is due.
void rumor_detector_on_tick (rumor_detector_t *self, int64_t now_ms);

//  Input: the connection to a peer dropped (socket monitor). Probes it at
//  once, out of turn, with the floor timeout, then indirectly as usual. If
//  a direct probe to it is already in flight and not yet indirect, its Ping
//  is sent again and its timeout cut to the floor instead. Unknown ids are
//  counted in peer_lost_unknown and otherwise ignored.
void rumor_detector_peer_lost (rumor_detector_t *self, int64_t now_ms,
                               const rumor_id_t *id);

//  Output: next time on_tick has work, or -1 if none.
int64_t rumor_detector_next_deadline (rumor_detector_t *self);

//  Output: next effect (SEND or EVENT, see effects.h), or NULL. Caller
//  owns the message and must destroy it.
zframe_t *rumor_detector_next_effect (rumor_detector_t *self);

//  Counters; borrowed, valid while self is.
const rumor_detector_stats_t *rumor_detector_stats (rumor_detector_t *self);

//  Phi-accrual suspicion level of a peer at now_ms (Hayashibara): how
//  unlikely the current silence is given past Ack intervals; phi = 1 means
//  a 10% chance that a live peer is this late, 3 means 0.1%. Returns 0 for
//  an unknown peer or one with fewer than one Ack interval measured.
double rumor_detector_phi (rumor_detector_t *self, const rumor_id_t *id,
                           int64_t now_ms);

//  Smoothed RTT to a peer in ms (rounded), or -1 if unknown / unmeasured.
int rumor_detector_rtt (rumor_detector_t *self, const rumor_id_t *id);

//  Local health awareness: 0 (healthy) .. awareness_max - 1. Probe interval
//  and timeouts are multiplied by awareness + 1.
int rumor_detector_awareness (rumor_detector_t *self);

//  Number of probe targets (ALIVE and SUSPECT members other than us).
size_t rumor_detector_size (rumor_detector_t *self);

//  True if a suspicion timer runs for this peer.
bool rumor_detector_suspects (rumor_detector_t *self, const rumor_id_t *id);

//  Lifeguard's suspicion timeout (memberlist's remainingSuspicionTime), as
//  a pure function: with `confirmations` independent confirmations out of
//  `expected`, the suspicion lasts
//      max(min, max - (max - min) * log(C + 1) / log(K + 1))
//  ms from its start (min if expected is 0); returns what is left of it
//  after elapsed_ms (may be negative).
int64_t rumor_detector_suspicion_remaining (uint32_t confirmations,
                                            uint32_t expected,
                                            int64_t elapsed_ms,
                                            int64_t min_ms, int64_t max_ms);

#endif
