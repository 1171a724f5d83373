/*  =========================================================================
    rumor_detector - SWIM failure detection with Lifeguard (pure core)

    State: a table of probe targets (ALIVE and SUSPECT members, as told by
    membership "member" events), a shuffled round-robin order over them, the
    probes in flight (our own, and relays we run for other requesters), and
    per target: RTT estimate and history, phi-accrual Ack intervals, and the
    suspicion timer with its accusers.

    References: SWIM (Das, Gupta, Motivala 2002) sections 3-4; Lifeguard
    (Dadgar, Phillips, Currey 2018) sections 4.1 (local health awareness),
    4.2 (local health aware suspicion); Hayashibara et al. 2004 (phi); RFC
    6298 (smoothed RTT). memberlist's state.go / suspicion.go / awareness.go
    are the reference implementation we follow where the papers are silent.

    What it does not do: gossip (membership owns the updates, the shell
    piggybacks them), refutation of suspicion of ourselves (membership
    raises our incarnation), and any decision from phi (informational).
    =========================================================================
*/

#include <math.h>
#include "detector.h"
#include "id_table.h"
#include "slab.h"

//  A running suspicion of a target (SWIM + Lifeguard). Apart from the
//  target and allocated only while it runs: a cluster of N nodes holds N^2
//  targets, and almost none is ever suspected.
typedef struct {
    int64_t suspected_at;           //  when it started
    int64_t min;                    //  Lifeguard min timeout, ms
    int64_t max;                    //  Lifeguard max timeout, ms
    uint32_t expected;              //  K: confirmations that give the min
    uint32_t confirmations;         //  C: independent accusers after the 1st
    int64_t deadline;               //  suspected_at + timeout (C, K)
    int64_t cap;                    //  deadline never later; 0 = none
                                    //  (conclusive lost-peer evidence)
    uint32_t accuser_count;         //  accusers held
    rumor_id_t accusers [RUMOR_DETECTOR_ACCUSERS_MAX];
                                    //  who suspected it, first first
} s_suspicion_t;

//  What we measured of a target and hold against it: RTTs, Ack intervals,
//  a running suspicion, its SUSPECT state. Apart from the target, in a
//  slab, and allocated only once it has any (an Ack, an RTT sample, a
//  suspicion, a SUSPECT event): a node of a 10,000-node simulated cluster
//  probes a few hundred of its targets in a run, and a cluster of N nodes
//  holds N^2 targets.
typedef struct {
    double srtt;                    //  smoothed RTT in ms (RFC 6298), or
                                    //  -1 before the first sample
    double rttvar;                  //  RTT mean deviation in ms
    uint32_t *rtts;                 //  ring of the last RTT samples, or NULL
    uint32_t rtt_next;              //  ring slot written next
    uint32_t rtt_count;             //  samples in the ring

    int64_t last_ack_at;            //  when we last heard an Ack; 0 = never
    uint32_t *intervals;            //  Ack inter-arrival times, ms, or NULL
    uint32_t interval_cap;          //  slots allocated (grows to phi_window)
    uint32_t interval_count;        //  intervals held
    uint32_t interval_next;         //  ring slot written next, once full

    s_suspicion_t *suspicion;       //  the running suspicion, or NULL
    bool suspect;                   //  membership says SUSPECT (a target
                                    //  without evidence is ALIVE)
} s_evidence_t;

//  What a target without evidence reads as: nothing measured yet
static const s_evidence_t s_no_evidence = { .srtt = -1 };

//  One probe target: a member other than us, ALIVE or SUSPECT. A cluster
//  of N nodes holds N^2 of them: 24 bytes in a slab, named by a 32-bit
//  handle in the round-robin order and in the index.
typedef struct {
    uint32_t ident;                 //  id, generation, name and endpoint,
                                    //  as membership says (ident.h)
    uint32_t incarnation;           //  member incarnation, as membership says
    int64_t known_at;               //  when we learnt of this run of it
    uint32_t evidence;              //  RTTs, phi, suspicion and SUSPECT
                                    //  state (s_evidence_t), or NONE
    uint32_t order_at;              //  index in the round-robin order
} s_target_t;

//  One probe in flight: ours (requester), or a relay we run for a
//  requester's PingReq.
typedef struct {
    uint64_t probe;                 //  our Ping.probe number
    bool relay;                     //  true: we probe for a requester
    bool lost;                      //  ours: the connection to it dropped
    rumor_id_t target;              //  who we pinged
    uint64_t generation;            //  ours: its generation when we did
    int64_t sent_at;                //  when we pinged it
    int64_t timeout_at;             //  ours: go indirect; relay: send Nack
    int64_t end_at;                 //  ours: end of interval, suspect;
                                    //  relay: stop waiting for the Ack
    bool indirect;                  //  ours: PingReqs were sent;
                                    //  relay: the Nack was sent
    rumor_id_t helpers [RUMOR_DETECTOR_INDIRECT_MAX];   //  ours: asked
    bool nacked [RUMOR_DETECTOR_INDIRECT_MAX];          //  helper nacked
    uint32_t helper_count;          //  ours: helpers asked
    uint32_t nack_count;            //  ours: Nacks received
    rumor_id_t requester;           //  relay: who asked us
    uint64_t requester_probe;       //  relay: their probe number
} s_probe_t;

//  One of our probes that failed, remembered so that its late Ack is
//  recognised (see s_probe_late). S_FAILED_MAX of them: a starved node
//  fails a few probes per interval, and an Ack later than a few intervals
//  says nothing more.
#define S_FAILED_MAX    16
typedef struct {
    uint64_t probe;                 //  our Ping.probe number; 0 = empty
    rumor_id_t target;              //  who we pinged
} s_failed_t;

struct _rumor_detector_t {
    rumor_detector_cfg_t cfg;       //  our configuration
    rumor_prng_t prng;              //  probe order and helper choice
    rumor_fx_t *fx;                 //  effects queued for the shell
    rumor_detector_stats_t stats;   //  counters
    rumor_ident_pool_t *idents;     //  identities of our targets
    rumor_slab_t target_slab;       //  the targets (s_target_t)
    rumor_slab_t evidence_slab;     //  their evidence (s_evidence_t)
    rumor_id_table_t targets;       //  id -> target handle
    uint32_t *order;                //  round-robin order over targets,
                                    //  every one of them (handles)
    size_t order_size;              //  targets in order
    size_t order_cap;               //  slots allocated in order
    size_t cursor;                  //  next index of order to probe
    s_probe_t **pending;            //  probes in flight, unordered
    size_t pending_size;            //  probes in pending
    size_t pending_cap;             //  slots allocated in pending: grows
                                    //  to pending_max (a node has a few
                                    //  in flight, and a simulation
                                    //  thousands of nodes)
    s_target_t **suspects;          //  targets with a suspicion timer
    size_t suspects_size;           //  targets in suspects
    size_t suspects_cap;            //  slots allocated in suspects
    uint64_t next_probe;            //  probe number given next
    int64_t next_probe_at;          //  next round-robin probe; -1 = idle
    int awareness;                  //  Lifeguard local health, 0..max-1
    uint32_t self_incarnation;      //  our incarnation, as membership says
    s_failed_t failed [S_FAILED_MAX];   //  our last failed probes (a ring)
    size_t failed_next;             //  slot written next
};


//  --------------------------------------------------------------------------
//  Configuration

void
rumor_detector_cfg_defaults (rumor_detector_cfg_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof (*cfg));
    cfg->probe_interval_ms = RUMOR_DETECTOR_PROBE_INTERVAL_DFLT;
    cfg->probe_timeout_min_ms = RUMOR_DETECTOR_PROBE_TIMEOUT_MIN_DFLT;
    cfg->probe_timeout_max_ms = RUMOR_DETECTOR_PROBE_TIMEOUT_MAX_DFLT;
    cfg->indirect_checks = RUMOR_DETECTOR_INDIRECT_DFLT;
    cfg->suspicion_mult = RUMOR_DETECTOR_SUSPICION_MULT_DFLT;
    cfg->suspicion_max_mult = RUMOR_DETECTOR_SUSPICION_MAX_MULT_DFLT;
    cfg->first_contact_grace_ms = RUMOR_DETECTOR_FIRST_CONTACT_GRACE_DFLT;
    cfg->awareness_max = RUMOR_DETECTOR_AWARENESS_MAX_DFLT;
    cfg->rtt_history = RUMOR_DETECTOR_RTT_HISTORY_DFLT;
    cfg->phi_window = RUMOR_DETECTOR_PHI_WINDOW_DFLT;
    cfg->phi_min_std_ms = RUMOR_DETECTOR_PHI_MIN_STD_DFLT;
    cfg->pending_max = RUMOR_DETECTOR_PENDING_MAX_DFLT;
    cfg->lost_suspicion_ms = RUMOR_DETECTOR_LOST_SUSPICION_DFLT;
}

//  True if cfg is within the bounds documented in detector.h.
static bool
s_cfg_valid (const rumor_detector_cfg_t *cfg)
{
    return cfg->probe_interval_ms > 0
        && cfg->probe_timeout_min_ms > 0
        && cfg->probe_timeout_min_ms <= cfg->probe_timeout_max_ms
        && cfg->probe_timeout_max_ms < cfg->probe_interval_ms
        && cfg->indirect_checks >= 1
        && cfg->indirect_checks <= RUMOR_DETECTOR_INDIRECT_MAX
        && cfg->suspicion_mult >= 1
        && cfg->suspicion_max_mult >= 1
        && cfg->awareness_max >= 1
        && cfg->rtt_history >= 1
        && cfg->rtt_history <= RUMOR_REPEATED_MAX
        && cfg->phi_window >= 2
        && cfg->phi_min_std_ms > 0
        && cfg->lost_suspicion_ms >= 0
        && cfg->first_contact_grace_ms >= 0
        && cfg->pending_max >= 1;
}


//  --------------------------------------------------------------------------
//  Targets

static s_target_t *
s_target_at (const rumor_detector_t *self, uint32_t handle)
{
    return (s_target_t *) rumor_slab_at (&self->target_slab, handle);
}

//  Who a target is: id, generation, name and endpoint
static const rumor_ident_t *
s_who (const rumor_detector_t *self, const s_target_t *target)
{
    return rumor_ident_at (self->idents, target->ident);
}

static const rumor_id_t *
s_target_id (const rumor_detector_t *self, const s_target_t *target)
{
    return &s_who (self, target)->id;
}

//  The id of a target handle (the index's key)
static const rumor_id_t *
s_target_key (const void *arg, uint32_t handle)
{
    const rumor_detector_t *self = (const rumor_detector_t *) arg;
    return s_target_id (self, s_target_at (self, handle));
}

//  What we measured of a target, or s_no_evidence; read only
static const s_evidence_t *
s_evidence (const rumor_detector_t *self, const s_target_t *target)
{
    return target->evidence == RUMOR_SLAB_NONE
         ? &s_no_evidence
         : (s_evidence_t *) rumor_slab_at (&self->evidence_slab,
                                           target->evidence);
}

//  What we measured of a target, allocated on first use to be written
static s_evidence_t *
s_evidence_new (rumor_detector_t *self, s_target_t *target)
{
    if (target->evidence == RUMOR_SLAB_NONE) {
        target->evidence = rumor_slab_alloc (&self->evidence_slab);
        *(s_evidence_t *) rumor_slab_at (&self->evidence_slab,
                                         target->evidence) = s_no_evidence;
    }
    return (s_evidence_t *) rumor_slab_at (&self->evidence_slab,
                                           target->evidence);
}

static s_suspicion_t *
s_suspicion (const rumor_detector_t *self, const s_target_t *target)
{
    return s_evidence (self, target)->suspicion;
}

//  ALIVE or SUSPECT, as membership says
static Rumor__State
s_state (const rumor_detector_t *self, const s_target_t *target)
{
    return s_evidence (self, target)->suspect? RUMOR__STATE__STATE_SUSPECT
                                             : RUMOR__STATE__STATE_ALIVE;
}

static void
s_set_state (rumor_detector_t *self, s_target_t *target, Rumor__State state)
{
    if (state == RUMOR__STATE__STATE_SUSPECT)
        s_evidence_new (self, target)->suspect = true;
    else
    if (target->evidence != RUMOR_SLAB_NONE)
        s_evidence_new (self, target)->suspect = false;
}

//  Free a target's evidence and identity, and the target; it must be out
//  of the index and the order already.
static void
s_target_destroy (rumor_detector_t *self, uint32_t handle)
{
    s_target_t *target = s_target_at (self, handle);
    if (target->evidence != RUMOR_SLAB_NONE) {
        s_evidence_t *evidence = s_evidence_new (self, target);
        free (evidence->rtts);
        free (evidence->intervals);
        free (evidence->suspicion);
        rumor_slab_free (&self->evidence_slab, target->evidence);
    }
    rumor_ident_release (self->idents, target->ident);
    rumor_slab_free (&self->target_slab, handle);
}

static s_target_t *
s_target_find (rumor_detector_t *self, const rumor_id_t *id)
{
    uint32_t handle = rumor_id_table_lookup (&self->targets, id);
    return handle == RUMOR_ID_TABLE_NONE? NULL: s_target_at (self, handle);
}

//  Forget what we measured of a previous run of this member: a restarted
//  process starts a new Ack rhythm (its RTT is likely the same host's, so
//  the RTT estimate stays).
static void
s_target_reset_phi (rumor_detector_t *self, s_target_t *target)
{
    if (target->evidence == RUMOR_SLAB_NONE)
        return;
    s_evidence_t *evidence = s_evidence_new (self, target);
    evidence->last_ack_at = 0;
    evidence->interval_count = 0;
    evidence->interval_next = 0;
}

//  Put a target (by handle) at index of the round-robin order.
static void
s_order_put (rumor_detector_t *self, size_t index, uint32_t handle)
{
    self->order [index] = handle;
    s_target_at (self, handle)->order_at = (uint32_t) index;
}

//  Insert a target in the round-robin order at a random position among
//  those not yet probed in this pass, so a new member is probed within the
//  current pass (memberlist inserts anywhere; we prefer a quick first
//  look). The target it displaces moves to the end, still unvisited: O(1)
//  however large the cluster.
static void
s_order_insert (rumor_detector_t *self, uint32_t handle)
{
    if (self->order_size == self->order_cap) {
        self->order_cap = self->order_cap? self->order_cap * 2: 16;
        self->order = (uint32_t *) realloc (self->order,
                          self->order_cap * sizeof (uint32_t));
        assert (self->order);
    }
    size_t unvisited = self->order_size - self->cursor;
    size_t at = self->cursor
              + rumor_prng_below (&self->prng, (uint32_t) unvisited + 1);
    if (at < self->order_size)
        s_order_put (self, self->order_size, self->order [at]);
    s_order_put (self, at, handle);
    self->order_size++;
}

//  Take a target out of the order in O(1), keeping the visited part
//  (before the cursor) and the unvisited part apart: a hole among the
//  visited is filled by the last visited one, whose slot takes the last
//  target overall.
static void
s_order_remove (rumor_detector_t *self, const s_target_t *target)
{
    size_t at = target->order_at;
    assert (at < self->order_size && s_target_at (self, self->order [at]) == target);
    size_t last = self->order_size - 1;
    if (at < self->cursor) {
        size_t last_visited = self->cursor - 1;
        s_order_put (self, at, self->order [last_visited]);
        //  When every target was visited, the last visited one is also the
        //  last overall: it already moved into the hole
        if (last_visited != last)
            s_order_put (self, last_visited, self->order [last]);
        self->cursor--;
    }
    else
        s_order_put (self, at, self->order [last]);
    self->order_size--;
}

//  Create a target from a member update and schedule probing if we were
//  idle. The first probe is staggered by a random part of the interval so
//  that nodes started together do not probe in lockstep.
static s_target_t *
s_target_new (rumor_detector_t *self, int64_t now,
              const Rumor__MemberUpdate *update, const rumor_id_t *id)
{
    uint32_t handle = rumor_slab_alloc (&self->target_slab);
    s_target_t *target = s_target_at (self, handle);
    target->ident = rumor_ident_get (self->idents, id, update->generation,
                                     update->name, update->endpoint);
    target->incarnation = update->incarnation;
    target->known_at = now;
    target->evidence = RUMOR_SLAB_NONE;
    s_set_state (self, target, update->state);
    rumor_id_table_insert (&self->targets, handle);
    s_order_insert (self, handle);
    if (self->next_probe_at < 0)
        self->next_probe_at = now + rumor_prng_below (&self->prng,
                              (uint32_t) self->cfg.probe_interval_ms);
    return target;
}


//  --------------------------------------------------------------------------
//  Probes in flight

static s_probe_t *
s_probe_find (rumor_detector_t *self, uint64_t probe)
{
    for (size_t index = 0; index < self->pending_size; index++)
        if (self->pending [index]->probe == probe)
            return self->pending [index];
    return NULL;
}

//  Our own (not relay) probe in flight to this target, if any.
static s_probe_t *
s_probe_of (rumor_detector_t *self, const rumor_id_t *target)
{
    for (size_t index = 0; index < self->pending_size; index++) {
        s_probe_t *probe = self->pending [index];
        if (!probe->relay && rumor_id_eq (&probe->target, target))
            return probe;
    }
    return NULL;
}

//  New probe record, or NULL (counted) when pending_max are in flight.
static s_probe_t *
s_probe_new (rumor_detector_t *self, const rumor_id_t *target, int64_t now)
{
    if (self->pending_size >= self->cfg.pending_max) {
        self->stats.pending_full++;
        return NULL;
    }
    s_probe_t *probe = (s_probe_t *) zmalloc (sizeof (s_probe_t));
    assert (probe);
    probe->probe = self->next_probe++;
    probe->target = *target;
    probe->sent_at = now;
    if (self->pending_size == self->pending_cap) {
        self->pending_cap = self->pending_cap * 2 < self->cfg.pending_max
                          ? self->pending_cap * 2: self->cfg.pending_max;
        self->pending = (s_probe_t **) realloc (self->pending,
                            self->pending_cap * sizeof (s_probe_t *));
        assert (self->pending);
    }
    self->pending [self->pending_size++] = probe;
    return probe;
}

//  Remove the probe at index (swap with the last: order does not matter).
static void
s_probe_remove_at (rumor_detector_t *self, size_t index)
{
    assert (index < self->pending_size);
    free (self->pending [index]);
    self->pending [index] = self->pending [--self->pending_size];
}

static void
s_probe_remove (rumor_detector_t *self, s_probe_t *probe)
{
    for (size_t index = 0; index < self->pending_size; index++)
        if (self->pending [index] == probe) {
            s_probe_remove_at (self, index);
            return;
        }
}

//  Drop our own probes of a target that is no longer one (dead or left).
//  Relays we run for others stay: they end in an Ack or a Nack as usual.
static void
s_probe_drop_target (rumor_detector_t *self, const rumor_id_t *target)
{
    size_t index = 0;
    while (index < self->pending_size) {
        s_probe_t *probe = self->pending [index];
        if (!probe->relay && rumor_id_eq (&probe->target, target))
            s_probe_remove_at (self, index);
        else
            index++;
    }
}


//  --------------------------------------------------------------------------
//  Sending. Bodies are stack envelopes with only the body set (effects.h).

//  Endpoint we know for a peer, or "" (the shell then routes by id).
static const char *
s_endpoint_of (rumor_detector_t *self, const rumor_id_t *id)
{
    s_target_t *target = s_target_find (self, id);
    return target? s_who (self, target)->endpoint: "";
}

static void
s_send (rumor_detector_t *self, const rumor_id_t *to, const char *endpoint,
        Rumor__Envelope *body)
{
    //  Our bodies are a few dozen bytes: they always fit in a frame
    int rc = rumor_fx_send (self->fx, to, endpoint, body);
    assert (rc == 0);
}

static void
s_send_ping (rumor_detector_t *self, const s_probe_t *probe,
             const char *endpoint)
{
    Rumor__Ping ping = RUMOR__PING__INIT;
    ping.probe = probe->probe;
    ping.target = rumor_id_bin (&probe->target);
    ping.sent_at = (uint64_t) probe->sent_at;
    if (probe->relay)
        ping.requester = rumor_id_bin (&probe->requester);
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PING;
    body.ping = &ping;
    s_send (self, &probe->target, endpoint, &body);
}

static void
s_send_ack_body (rumor_detector_t *self, const rumor_id_t *to, Rumor__Ack *ack)
{
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_ACK;
    body.ack = ack;
    s_send (self, to, s_endpoint_of (self, to), &body);
}

static void
s_send_ack (rumor_detector_t *self, const rumor_id_t *to, uint64_t probe,
            uint64_t echo, const rumor_id_t *target)
{
    Rumor__Ack ack = RUMOR__ACK__INIT;
    ack.probe = probe;
    ack.echo = echo;
    ack.target = rumor_id_bin (target);
    s_send_ack_body (self, to, &ack);
}

static void
s_send_nack (rumor_detector_t *self, const rumor_id_t *to, uint64_t probe,
             const rumor_id_t *target)
{
    Rumor__Nack nack = RUMOR__NACK__INIT;
    nack.probe = probe;
    nack.target = rumor_id_bin (target);
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_NACK;
    body.nack = &nack;
    s_send (self, to, s_endpoint_of (self, to), &body);
    self->stats.nacks_sent++;
}

static void
s_send_ping_req (rumor_detector_t *self, const rumor_id_t *helper,
                 const s_probe_t *probe, const char *target_endpoint)
{
    Rumor__PingReq ping_req = RUMOR__PING_REQ__INIT;
    ping_req.probe = probe->probe;
    ping_req.target = rumor_id_bin (&probe->target);
    ping_req.endpoint = (char *) target_endpoint;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PING_REQ;
    body.ping_req = &ping_req;
    s_send (self, helper, s_endpoint_of (self, helper), &body);
    self->stats.ping_reqs_sent++;
}


//  --------------------------------------------------------------------------
//  RTT (RFC 6298) and the adaptive probe timeout

//  Take one RTT sample. The first sets srtt = R, rttvar = R/2; then
//  rttvar = 3/4 rttvar + 1/4 |srtt - R| and srtt = 7/8 srtt + 1/8 R, TCP's
//  gains, which follow a change in a few samples yet ignore one outlier.
static void
s_rtt_sample (rumor_detector_t *self, s_target_t *target, int64_t rtt)
{
    s_evidence_t *evidence = s_evidence_new (self, target);
    double sample = (double) rtt;
    if (evidence->srtt < 0) {
        evidence->srtt = sample;
        evidence->rttvar = sample / 2;
    }
    else {
        evidence->rttvar = 0.75 * evidence->rttvar
                         + 0.25 * fabs (evidence->srtt - sample);
        evidence->srtt = 0.875 * evidence->srtt + 0.125 * sample;
    }
    if (!evidence->rtts) {
        evidence->rtts = (uint32_t *) calloc (self->cfg.rtt_history,
                                              sizeof (uint32_t));
        assert (evidence->rtts);
    }
    evidence->rtts [evidence->rtt_next] = rtt > UINT32_MAX? UINT32_MAX: (uint32_t) rtt;
    evidence->rtt_next = (evidence->rtt_next + 1) % self->cfg.rtt_history;
    if (evidence->rtt_count < self->cfg.rtt_history)
        evidence->rtt_count++;
    self->stats.rtt_samples++;
}

static int64_t
s_clamp (int64_t value, int64_t low, int64_t high)
{
    return value < low? low: value > high? high: value;
}

//  Direct probe timeout before awareness scaling: clamp (srtt + 4 rttvar,
//  floor, max), TCP's RTO, which waits out all but rare delays. While the
//  RTT is unknown we wait the max: a first probe is better slow than a
//  false start of indirect probing.
static int64_t
s_probe_timeout (rumor_detector_t *self, const s_target_t *target)
{
    const s_evidence_t *evidence = target? s_evidence (self, target): &s_no_evidence;
    if (evidence->srtt < 0)
        return self->cfg.probe_timeout_max_ms;
    double rto = ceil (evidence->srtt + 4 * evidence->rttvar);
    return s_clamp ((int64_t) rto, self->cfg.probe_timeout_min_ms,
                    self->cfg.probe_timeout_max_ms);
}

//  A helper Nacks after 3/4 of the floor at the latest. The requester
//  only waits what is left of its interval, at least interval - max, which
//  both profiles make the floor, and a late Nack counts as missing: it
//  raises the requester's awareness (Lifeguard) for the helper's delay,
//  not its own, and keeps a new member that crashed from being accused
//  (first-contact grace). A helper that waited the whole floor Nacked one
//  round trip too late, every time: a crash 5 s after forming was found
//  7.9 s after it instead of 5.4 s (rumor-sim, 100 nodes, median of 5).
//  The same held for a helper whose RTO to the target had grown past the
//  floor (a loaded host). The Nack only says that the helper is alive;
//  the helper still waits its own RTO for the target's Ack, and forwards
//  it if it comes.
static int64_t
s_relay_nack_after (rumor_detector_t *self)
{
    return self->cfg.probe_timeout_min_ms * 3 / 4;
}

//  Lifeguard local health: intervals and timeouts stretch by awareness + 1.
static int64_t
s_scaled (rumor_detector_t *self, int64_t ms)
{
    return ms * (self->awareness + 1);
}

static void
s_awareness_add (rumor_detector_t *self, int delta)
{
    int top = (int) self->cfg.awareness_max - 1;
    int value = self->awareness + delta;
    self->awareness = value < 0? 0: value > top? top: value;
}


//  --------------------------------------------------------------------------
//  Phi accrual (Hayashibara et al.), over Ack inter-arrival times

//  Record that we heard from the target now. The interval ring grows by
//  doubling up to phi_window, so a member probed rarely costs little.
static void
s_phi_heard (rumor_detector_t *self, s_target_t *target, int64_t now)
{
    s_evidence_t *evidence = s_evidence_new (self, target);
    int64_t last = evidence->last_ack_at;
    evidence->last_ack_at = now;
    if (last <= 0 || now <= last)
        return;                 //  first Ack, or two in one ms: no interval
    uint32_t interval = now - last > UINT32_MAX? UINT32_MAX: (uint32_t) (now - last);
    if (evidence->interval_count == evidence->interval_cap
    &&  evidence->interval_cap < self->cfg.phi_window) {
        uint32_t cap = evidence->interval_cap? evidence->interval_cap * 2: 4;
        evidence->interval_cap = cap < self->cfg.phi_window? cap: self->cfg.phi_window;
        evidence->intervals = (uint32_t *) realloc (evidence->intervals,
                                  evidence->interval_cap * sizeof (uint32_t));
        assert (evidence->intervals);
    }
    if (evidence->interval_count < evidence->interval_cap)
        evidence->intervals [evidence->interval_count++] = interval;
    else {
        evidence->intervals [evidence->interval_next] = interval;
        evidence->interval_next = (evidence->interval_next + 1) % evidence->interval_cap;
    }
}

//  phi = -log10 (P (a live peer is still silent after t)), with the
//  inter-arrival times taken as normal (mean, std) and the normal tail
//  approximated by the logistic curve Akka uses (error < 1e-4):
//      P = e / (1 + e), e = exp (-y (1.5976 + 0.070566 y^2)), y = (t-mean)/std
//  computed in the log domain so that a long silence gives a large finite
//  phi rather than infinity.
static double
s_phi_of (rumor_detector_t *self, const s_target_t *target, int64_t now)
{
    const s_evidence_t *evidence = target? s_evidence (self, target): &s_no_evidence;
    if (evidence->interval_count == 0)
        return 0;
    double sum = 0, sum2 = 0;
    for (uint32_t index = 0; index < evidence->interval_count; index++)
        sum += evidence->intervals [index];
    double mean = sum / evidence->interval_count;
    for (uint32_t index = 0; index < evidence->interval_count; index++)
        sum2 += (evidence->intervals [index] - mean) * (evidence->intervals [index] - mean);
    double std = sqrt (sum2 / evidence->interval_count);
    if (std < (double) self->cfg.phi_min_std_ms)
        std = (double) self->cfg.phi_min_std_ms;
    double silence = now > evidence->last_ack_at? (double) (now - evidence->last_ack_at): 0;
    double y = (silence - mean) / std;
    double exponent = y * (1.5976 + 0.070566 * y * y);
    if (exponent > 0)           //  -log10 (e / (1 + e)), with e = exp (-x)
        return exponent / log (10) + log10 (1 + exp (-exponent));
    double e = exp (-exponent);
    return -log10 (e / (1 + e));
}


//  --------------------------------------------------------------------------
//  Suspicion (Lifeguard 4.2, memberlist's suspicion.go)

//  The suspicion timeout, memberlist's remainingSuspicionTime. Each
//  independent confirmation is evidence the member is really down, so the
//  timeout falls from max toward min, on a log scale: the first
//  confirmations count most, and K of them give the min. Suspicions are
//  measured from their start, so we return what is left after elapsed.
static int64_t
s_remaining_suspicion_time (uint32_t confirmations, uint32_t expected,
                            int64_t elapsed, int64_t min, int64_t max)
{
    int64_t timeout = min;
    if (expected >= 1) {
        double fraction = log ((double) confirmations + 1)
                        / log ((double) expected + 1);
        double raw = (double) max - fraction * (double) (max - min);
        timeout = (int64_t) floor (raw);
        if (timeout < min)
            timeout = min;
    }
    return timeout - elapsed;
}

int64_t
rumor_detector_suspicion_remaining (uint32_t confirmations, uint32_t expected,
                                    int64_t elapsed_ms, int64_t min_ms,
                                    int64_t max_ms)
{
    return s_remaining_suspicion_time (confirmations, expected, elapsed_ms,
                                       min_ms, max_ms);
}

static bool
s_accused_by (const s_suspicion_t *suspicion, const rumor_id_t *accuser)
{
    for (uint32_t index = 0; index < suspicion->accuser_count; index++)
        if (rumor_id_eq (&suspicion->accusers [index], accuser))
            return true;
    return false;
}

static void
s_accuser_add (s_suspicion_t *suspicion, const rumor_id_t *accuser)
{
    if (suspicion->accuser_count < RUMOR_DETECTOR_ACCUSERS_MAX)
        suspicion->accusers [suspicion->accuser_count++] = *accuser;
}

//  The shortest suspicion timeout: mult * max (1, log10 N) * interval, the
//  time gossip needs to reach everyone (log N rounds), scaled so the
//  suspect has time to hear of it and refute.
static int64_t
s_suspicion_min (rumor_detector_t *self)
{
    double members = (double) self->order_size + 1;
    double scale = fmax (1.0, log10 (members));
    return (int64_t) floor (self->cfg.suspicion_mult * scale
                            * (double) self->cfg.probe_interval_ms);
}

//  Start a suspicion timer, from max down to min (s_suspicion_min) as
//  confirmations come. K = indirect_checks: as many confirmations as a
//  failed probe has helpers; memberlist sets K = 0 when fewer than K other
//  nodes exist to confirm (N - 2: not us, not it).
static void
s_suspicion_start (rumor_detector_t *self, s_target_t *target,
                   const rumor_id_t *accuser, int64_t now)
{
    double members = (double) self->order_size + 1;
    int64_t min = s_suspicion_min (self);
    uint32_t expected = self->cfg.indirect_checks;
    if (members - 2 < expected)
        expected = 0;
    assert (!s_suspicion (self, target));
    s_suspicion_t *suspicion = (s_suspicion_t *) zmalloc (sizeof (s_suspicion_t));
    assert (suspicion);
    s_evidence_new (self, target)->suspicion = suspicion;
    suspicion->suspected_at = now;
    suspicion->min = min;
    suspicion->max = min * self->cfg.suspicion_max_mult;
    suspicion->expected = expected;
    if (accuser)
        s_accuser_add (suspicion, accuser);
    suspicion->deadline = now + s_remaining_suspicion_time (0,
        expected, 0, min, suspicion->max);
    if (self->suspects_size == self->suspects_cap) {
        self->suspects_cap = self->suspects_cap? self->suspects_cap * 2: 8;
        self->suspects = (s_target_t **) realloc (self->suspects,
                             self->suspects_cap * sizeof (s_target_t *));
        assert (self->suspects);
    }
    self->suspects [self->suspects_size++] = target;
    self->stats.suspicions++;
}

//  Count an independent accuser of a running suspicion; returns false if
//  it was already counted. Moves the deadline toward the minimum.
static bool
s_suspicion_confirm (rumor_detector_t *self, s_target_t *target,
                     const rumor_id_t *accuser)
{
    s_suspicion_t *suspicion = s_suspicion (self, target);
    if (s_accused_by (suspicion, accuser))
        return false;
    s_accuser_add (suspicion, accuser);
    suspicion->confirmations++;
    suspicion->deadline = suspicion->suspected_at
        + s_remaining_suspicion_time (suspicion->confirmations,
                                      suspicion->expected, 0,
                                      suspicion->min, suspicion->max);
    if (suspicion->cap && suspicion->deadline > suspicion->cap)
        suspicion->deadline = suspicion->cap;
    self->stats.confirmations++;
    return true;
}

//  Conclusive evidence that a lost peer is gone (see lost_suspicion_ms in
//  detector.h): end the suspicion soon, whatever confirmations come.
static void
s_suspicion_cut (rumor_detector_t *self, s_target_t *target, int64_t now)
{
    s_suspicion_t *suspicion = s_suspicion (self, target);
    suspicion->cap = now + self->cfg.lost_suspicion_ms;
    if (suspicion->deadline > suspicion->cap)
        suspicion->deadline = suspicion->cap;
    self->stats.lost_cut++;
}

static void
s_suspicion_cancel (rumor_detector_t *self, s_target_t *target)
{
    if (!s_suspicion (self, target))
        return;
    s_evidence_t *evidence = s_evidence_new (self, target);
    free (evidence->suspicion);
    evidence->suspicion = NULL;
    for (size_t index = 0; index < self->suspects_size; index++)
        if (self->suspects [index] == target) {
            self->suspects [index] = self->suspects [--self->suspects_size];
            break;
        }
}

//  Stop probing a target and forget it (dead, left, or declared dead).
static void
s_target_remove (rumor_detector_t *self, s_target_t *target)
{
    s_suspicion_cancel (self, target);
    s_probe_drop_target (self, s_target_id (self, target));
    s_order_remove (self, target);
    uint32_t handle = rumor_id_table_delete (&self->targets,
                                             s_target_id (self, target));
    s_target_destroy (self, handle);
}


//  --------------------------------------------------------------------------
//  Events to membership and to the program

//  "suspect" or "dead" about a target, accuser = us.
static void
s_emit_member (rumor_detector_t *self, const char *kind,
               const s_target_t *target, Rumor__State state)
{
    const rumor_ident_t *who = s_who (self, target);
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.id = rumor_id_bin (&who->id);
    update.generation = who->generation;
    update.incarnation = target->incarnation;
    update.state = state;
    update.name = (char *) who->name;
    update.endpoint = (char *) who->endpoint;
    update.accuser = rumor_id_bin (&self->cfg.self);
    int rc = rumor_fx_event (self->fx, kind, &update.base, NULL);
    assert (rc == 0);
}

//  "verdict": the evidence behind our SUSPECT or DEAD.
static void
s_emit_verdict (rumor_detector_t *self, const s_target_t *target,
                Rumor__State state, int64_t now)
{
    //  Both callers run a suspicion; without one there is no evidence
    const s_suspicion_t *suspicion = s_suspicion (self, target);
    const s_evidence_t *evidence = s_evidence (self, target);
    const rumor_ident_t *who = s_who (self, target);
    uint32_t accusers = suspicion? suspicion->accuser_count: 0;
    ProtobufCBinaryData suspecters [RUMOR_DETECTOR_ACCUSERS_MAX];
    for (uint32_t index = 0; index < accusers; index++)
        suspecters [index] = rumor_id_bin (&suspicion->accusers [index]);
    uint32_t *rtts = (uint32_t *) calloc (self->cfg.rtt_history, sizeof (uint32_t));
    assert (rtts);
    for (uint32_t index = 0; index < evidence->rtt_count; index++) {
        uint32_t slot = (evidence->rtt_next + self->cfg.rtt_history - 1 - index)
                      % self->cfg.rtt_history;
        rtts [index] = evidence->rtts [slot];   //  newest first
    }
    double phi = s_phi_of (self, target, now) * 100;
    Rumor__Verdict verdict = RUMOR__VERDICT__INIT;
    verdict.id = rumor_id_bin (&who->id);
    verdict.generation = who->generation;
    verdict.incarnation = target->incarnation;
    verdict.state = state;
    verdict.n_suspecters = accusers;
    verdict.suspecters = suspecters;
    verdict.n_rtts = evidence->rtt_count;
    verdict.rtts = rtts;
    verdict.phi = phi >= (double) UINT32_MAX? UINT32_MAX: (uint32_t) phi;
    verdict.suspected_at = suspicion? (uint64_t) suspicion->suspected_at: 0;
    int rc = rumor_fx_event (self->fx, "verdict", &verdict.base, NULL);
    assert (rc == 0);
    free (rtts);
}


//  --------------------------------------------------------------------------
//  Probe life cycle (SWIM 3.1 with Lifeguard 4.1)

//  Start a direct probe of target: Ping now, go indirect at timeout, suspect
//  at the end of the (awareness-scaled) probe interval. Returns the probe,
//  or NULL if too many are in flight (counted).
static s_probe_t *
s_probe_start (rumor_detector_t *self, s_target_t *target, int64_t now,
               int64_t timeout)
{
    const rumor_ident_t *who = s_who (self, target);
    s_probe_t *probe = s_probe_new (self, &who->id, now);
    if (!probe)
        return NULL;
    probe->generation = who->generation;
    probe->timeout_at = now + timeout;
    probe->end_at = now + s_scaled (self, self->cfg.probe_interval_ms);
    s_send_ping (self, probe, who->endpoint);
    self->stats.probes++;
    return probe;
}

//  Pick up to k random ALIVE targets other than exclude into helpers, by
//  reservoir sampling over the round-robin order (SWIM picks the k members
//  at random; memberlist's kRandomNodes skips non-alive ones, which are
//  poor witnesses). Returns how many were picked.
static uint32_t
s_pick_helpers (rumor_detector_t *self, const rumor_id_t *exclude,
                rumor_id_t *helpers, uint32_t k)
{
    uint32_t picked = 0, seen = 0;
    for (size_t index = 0; index < self->order_size; index++) {
        s_target_t *candidate = s_target_at (self, self->order [index]);
        if (s_state (self, candidate) != RUMOR__STATE__STATE_ALIVE
        ||  rumor_id_eq (s_target_id (self, candidate), exclude))
            continue;
        seen++;
        if (picked < k)
            helpers [picked++] = *s_target_id (self, candidate);
        else {
            uint32_t slot = rumor_prng_below (&self->prng, seen);
            if (slot < k)
                helpers [slot] = *s_target_id (self, candidate);
        }
    }
    return picked;
}

//  The direct probe timed out: ask helpers to probe the target for us.
static void
s_probe_go_indirect (rumor_detector_t *self, s_probe_t *probe)
{
    probe->indirect = true;
    probe->helper_count = s_pick_helpers (self, &probe->target, probe->helpers,
                                          self->cfg.indirect_checks);
    const char *endpoint = s_endpoint_of (self, &probe->target);
    for (uint32_t index = 0; index < probe->helper_count; index++)
        s_send_ping_req (self, &probe->helpers [index], probe, endpoint);
}

//  A member that never answered us, learnt of less than first_contact_
//  grace_ms ago, is not suspected on our own failed probe when the
//  failure may be ours: no helper to ask, or not every helper Nacked
//  (see s_probe_fail). Others' suspicions still count. While a cluster
//  forms every node is new to every other, links are still being set up,
//  and on a busy host first probes fail by the hundred: 128 agents
//  starting together on 2 cores raised 28,000 suspicions and 2,300 false
//  deaths, and took 19 s to form instead of 8. (A grace of the shortest
//  suspicion timeout, 1.7 s there, still let 1,500 false deaths through.)
//  A new member that crashes while its helpers are healthy is accused as
//  before: they Nack.
static bool
s_first_contact (rumor_detector_t *self, const s_target_t *target,
                 int64_t now)
{
    return s_evidence (self, target)->last_ack_at == 0
        && now - target->known_at < self->cfg.first_contact_grace_ms;
}

//  No Ack by the end of the interval: suspect the target. Lifeguard: if
//  helpers were asked and not all of them sent a Nack, the messages that
//  went missing are as likely ours as the target's, so our own health is
//  in doubt (awareness +1). With no helpers to ask we have no such
//  evidence and, like memberlist, count the failed probe itself against us.
static void
s_probe_fail (rumor_detector_t *self, s_probe_t *probe, int64_t now)
{
    self->stats.probes_failed++;
    self->failed [self->failed_next] = (s_failed_t) {
        .probe = probe->probe, .target = probe->target
    };
    self->failed_next = (self->failed_next + 1) % S_FAILED_MAX;
    if (probe->helper_count == 0 || probe->nack_count < probe->helper_count) {
        s_awareness_add (self, 1);
        if (probe->helper_count > 0)
            self->stats.nacks_missing++;
    }
    s_target_t *target = s_target_find (self, &probe->target);
    if (!target)
        return;                 //  gone while we probed it
    if (s_who (self, target)->generation != probe->generation)
        return;                 //  we probed its previous run, dead by now:
                                //  that says nothing about the restarted one
    //  Every helper Nacked: each reached its own verdict in time, so the
    //  failure is not a sign of our own starvation; with the link to the
    //  target lost too, the evidence is conclusive
    bool helpers_sure = probe->helper_count > 0
                     && probe->nack_count == probe->helper_count;
    bool conclusive = probe->lost && helpers_sure;
    if (!s_suspicion (self, target) && !helpers_sure
    &&  s_first_contact (self, target, now)) {
        self->stats.first_contact_spared++;
        return;
    }
    bool accused = true;
    if (!s_suspicion (self, target))
        s_suspicion_start (self, target, &self->cfg.self, now);
    else
        accused = s_suspicion_confirm (self, target, &self->cfg.self);
    if (conclusive && self->cfg.lost_suspicion_ms > 0)
        s_suspicion_cut (self, target, now);
    if (!accused)
        return;                 //  we already accused it: nothing new
    s_emit_member (self, "suspect", target, RUMOR__STATE__STATE_SUSPECT);
    s_emit_verdict (self, target, RUMOR__STATE__STATE_SUSPECT, now);
}

//  The target answered (directly or through a helper).
static void
s_probe_succeed (rumor_detector_t *self, s_target_t *target, int64_t now)
{
    self->stats.probes_ok++;
    s_awareness_add (self, -1);
    if (target)
        s_phi_heard (self, target, now);
}

//  The next round-robin probe. Each pass visits every target once in a
//  fresh random order (SWIM 4.3: bounded time to first detection, unlike
//  purely random picks); a target with a probe still in flight is skipped.
static void
s_probe_next (rumor_detector_t *self, int64_t now)
{
    for (size_t tries = 0; tries < self->order_size; tries++) {
        if (self->cursor >= self->order_size) {
            rumor_prng_shuffle (&self->prng, self->order, self->order_size,
                                sizeof (uint32_t));
            for (size_t index = 0; index < self->order_size; index++)
                s_target_at (self, self->order [index])->order_at = (uint32_t) index;
            self->cursor = 0;
        }
        s_target_t *target = s_target_at (self, self->order [self->cursor++]);
        if (s_probe_of (self, s_target_id (self, target)))
            continue;
        s_probe_start (self, target, now,
                       s_scaled (self, s_probe_timeout (self, target)));
        break;
    }
    self->next_probe_at = self->order_size
                        ? now + s_scaled (self, self->cfg.probe_interval_ms)
                        : -1;
}

//  Handle the probe at index if it is due; returns true if it was removed.
static bool
s_probe_tick (rumor_detector_t *self, size_t index, int64_t now)
{
    s_probe_t *probe = self->pending [index];
    if (probe->relay) {
        if (!probe->indirect && now >= probe->timeout_at) {
            s_send_nack (self, &probe->requester, probe->requester_probe,
                         &probe->target);
            probe->indirect = true;
        }
        if (now < probe->end_at)
            return false;
    }
    else {
        if (now < probe->end_at) {
            if (!probe->indirect && now >= probe->timeout_at)
                s_probe_go_indirect (self, probe);
            return false;
        }
        s_probe_fail (self, probe, now);
    }
    s_probe_remove_at (self, index);
    return true;
}


//  --------------------------------------------------------------------------
//  Messages

//  Ping: answer if it is meant for us (or for whoever is at this address).
//  The echo is the sender's own clock, so any value is fine to echo.
bool
rumor_detector_ack_of (const rumor_id_t *self, const Rumor__Ping *ping,
                       Rumor__Ack *ack)
{
    assert (self && ping && ack);
    if (ping->target.len && !rumor_id_eq_bin (self, ping->target))
        return false;
    rumor__ack__init (ack);
    ack->probe = ping->probe;
    ack->echo = ping->sent_at;
    ack->target = rumor_id_bin (self);
    return true;
}

static int
s_handle_ping (rumor_detector_t *self, const rumor_id_t *sender,
               const Rumor__Ping *ping)
{
    Rumor__Ack ack;
    if (!rumor_detector_ack_of (&self->cfg.self, ping, &ack)) {
        self->stats.ping_wrong_target++;    //  stale address: not us now
        return -1;
    }
    s_send_ack_body (self, sender, &ack);
    self->stats.acks_sent++;
    return 0;
}

//  A direct Ack of our probe: take an RTT sample from the echo, unless the
//  echo is in our future or older than the probe (then it is not the time
//  we sent, and any RTT from it would be a lie).
static void
s_ack_direct (rumor_detector_t *self, s_probe_t *probe, s_target_t *target,
              uint64_t echo, int64_t now)
{
    if (echo > (uint64_t) now || echo < (uint64_t) probe->sent_at)
        self->stats.rtt_refused++;
    else
    if (target)
        s_rtt_sample (self, target, now - (int64_t) echo);
}

static int
s_helper_index (const s_probe_t *probe, const rumor_id_t *helper)
{
    for (uint32_t index = 0; index < probe->helper_count; index++)
        if (rumor_id_eq (&probe->helpers [index], helper))
            return (int) index;
    return -1;
}

//  Ack to a relay we run: forward it to the requester under its probe
//  number. The echo is our clock, meaningless to the requester, so we
//  forward 0 and keep the RTT sample for ourselves.
static int
s_ack_relay (rumor_detector_t *self, s_probe_t *probe,
             const rumor_id_t *sender, const Rumor__Ack *ack, int64_t now)
{
    if (!rumor_id_eq (sender, &probe->target)) {
        self->stats.ack_wrong_sender++;
        return -1;
    }
    s_target_t *target = s_target_find (self, &probe->target);
    s_ack_direct (self, probe, target, ack->echo, now);
    if (target)
        s_phi_heard (self, target, now);
    s_send_ack (self, &probe->requester, probe->requester_probe, 0,
                &probe->target);
    self->stats.acks_forwarded++;
    s_probe_remove (self, probe);
    return 0;
}

//  The target's own Ack to one of our probes that already failed: it was
//  alive, and we (or the path) were too slow for our timeouts. Lifeguard
//  counts failed probes against our own health, and refuted suspicions of
//  us; a late Ack is the same evidence, seen first hand: awareness +1,
//  which stretches our probe interval and timeouts until probes succeed
//  again. Without it a starved node's successes and failures cancel out
//  and it keeps accusing at full speed (128 agents on 2 cores: 106,000
//  late Acks while awareness stayed near 1). Each failed probe counts
//  once; an Ack naming another target, or from anyone else, is not one.
static bool
s_probe_late (rumor_detector_t *self, const rumor_id_t *sender,
              const Rumor__Ack *ack)
{
    bool names_sender = !ack->target.len
                     || rumor_id_eq_bin (sender, ack->target);
    if (ack->probe == 0 || !names_sender)
        return false;
    for (size_t index = 0; index < S_FAILED_MAX; index++) {
        s_failed_t *failed = &self->failed [index];
        if (failed->probe == ack->probe
        &&  rumor_id_eq (&failed->target, sender)) {
            failed->probe = 0;
            self->stats.acks_late++;
            s_awareness_add (self, 1);
            return true;
        }
    }
    return false;
}

//  Ack: ends a relay (forward it) or one of our probes. Ours accept the
//  target's own Ack (from it, naming it or no one) and, once we went
//  indirect, an Ack forwarded by one of the helpers we asked, naming the
//  target. Anything else is refused: a stale or forged Ack must not keep
//  a dead member alive.
static int
s_handle_ack (rumor_detector_t *self, int64_t now, const rumor_id_t *sender,
              const Rumor__Ack *ack)
{
    s_probe_t *probe = s_probe_find (self, ack->probe);
    if (!probe) {
        if (s_probe_late (self, sender, ack))
            return 0;
        self->stats.ack_unknown_probe++;    //  never ours, or already done
        return -1;
    }
    if (probe->relay)
        return s_ack_relay (self, probe, sender, ack, now);
    bool names_target = !ack->target.len
                     || rumor_id_eq_bin (&probe->target, ack->target);
    bool direct = rumor_id_eq (sender, &probe->target) && names_target;
    bool forwarded = probe->indirect && ack->target.len && names_target
                  && s_helper_index (probe, sender) >= 0;
    if (!direct && !forwarded) {
        self->stats.ack_wrong_sender++;
        return -1;
    }
    s_target_t *target = s_target_find (self, &probe->target);
    if (direct)
        s_ack_direct (self, probe, target, ack->echo, now);
    s_probe_succeed (self, target, now);
    s_probe_remove (self, probe);
    return 0;
}

static int
s_handle_nack (rumor_detector_t *self, const rumor_id_t *sender,
               const Rumor__Nack *nack)
{
    s_probe_t *probe = s_probe_find (self, nack->probe);
    if (!probe || probe->relay) {
        self->stats.nack_unknown_probe++;
        return -1;
    }
    int helper = s_helper_index (probe, sender);
    if (helper < 0 || probe->nacked [helper]
    ||  (nack->target.len && !rumor_id_eq_bin (&probe->target, nack->target))) {
        self->stats.nack_wrong_sender++;
        return -1;
    }
    probe->nacked [helper] = true;
    probe->nack_count++;
    self->stats.nacks_received++;
    return 0;
}

//  PingReq: probe the target for the requester. A target we do not know
//  (not a member, or already dead here) gets an immediate Nack, so that
//  the requester does not take our silence as a sign of its own ill
//  health.
static int
s_handle_ping_req (rumor_detector_t *self, int64_t now,
                   const rumor_id_t *sender, const Rumor__PingReq *ping_req)
{
    rumor_id_t target_id;
    if (rumor_id_from_bin (&target_id, ping_req->target) == -1) {
        self->stats.ping_req_unknown_target++;  //  the codec checks; belt
        return -1;
    }
    if (rumor_id_eq (&target_id, &self->cfg.self)) {
        self->stats.ping_req_self_target++;
        return -1;
    }
    s_target_t *target = s_target_find (self, &target_id);
    if (!target) {
        self->stats.ping_req_unknown_target++;
        s_send_nack (self, sender, ping_req->probe, &target_id);
        return -1;
    }
    s_probe_t *probe = s_probe_new (self, &target_id, now);
    if (!probe)
        return -1;
    probe->relay = true;
    probe->requester = *sender;
    probe->requester_probe = ping_req->probe;
    probe->timeout_at = now + s_relay_nack_after (self);
    //  Its own RTO to the target (the ceiling while unknown), at least
    //  the floor: longer than the Nack
    probe->end_at = now + s_probe_timeout (self, target);
    //  Our endpoint for it is kept current by membership; the requester's
    //  is only a fallback
    const char *known = s_who (self, target)->endpoint;
    const char *endpoint = known [0]? known: ping_req->endpoint;
    s_send_ping (self, probe, endpoint);
    self->stats.relays++;
    return 0;
}


//  --------------------------------------------------------------------------
//  Member events

//  An ALIVE or SUSPECT member other than us: add or refresh the target. A
//  newer generation (restart) or an ALIVE at a higher incarnation (a
//  refutation) cancels a running suspicion; a SUSPECT starts one, or
//  counts its accuser as a confirmation.
static int
s_member_live (rumor_detector_t *self, int64_t now,
               const Rumor__MemberUpdate *update, const rumor_id_t *id)
{
    s_target_t *target = s_target_find (self, id);
    if (!target)
        target = s_target_new (self, now, update, id);
    else {
        uint64_t generation = s_who (self, target)->generation;
        bool newer_generation = update->generation > generation;
        if (!newer_generation
        &&  (update->generation < generation
        ||   update->incarnation < target->incarnation)) {
            self->stats.stale_member++;
            return -1;
        }
        bool refuted = update->state == RUMOR__STATE__STATE_ALIVE
                    && update->incarnation > target->incarnation;
        if (s_suspicion (self, target) && (newer_generation || refuted)) {
            s_suspicion_cancel (self, target);
            self->stats.refuted++;
        }
        if (newer_generation) {
            s_target_reset_phi (self, target);
            target->known_at = now;
        }
        rumor_ident_set (self->idents, &target->ident, id, update->generation,
                         update->name, update->endpoint);
        target->incarnation = update->incarnation;
        s_set_state (self, target, update->state);
    }
    if (update->state == RUMOR__STATE__STATE_SUSPECT) {
        rumor_id_t accuser;
        bool known = rumor_id_from_bin (&accuser, update->accuser) == 0;
        if (!s_suspicion (self, target))
            s_suspicion_start (self, target, known? &accuser: NULL, now);
        else
        if (known)
            s_suspicion_confirm (self, target, &accuser);
    }
    return 0;
}

//  A DEAD or LEFT member: stop probing it and forget its suspicion.
static int
s_member_gone (rumor_detector_t *self, const Rumor__MemberUpdate *update,
               const rumor_id_t *id)
{
    s_target_t *target = s_target_find (self, id);
    if (!target)
        return 0;               //  not probing it: nothing to do
    if (update->generation < s_who (self, target)->generation) {
        self->stats.stale_member++;     //  an older run died, not this one
        return -1;
    }
    s_target_remove (self, target);
    return 0;
}

//  A member event about ourselves: never a target. Being suspected is
//  Lifeguard's strongest sign that we are the slow one (others could not
//  reach us in time): awareness +1.
static int
s_member_self (rumor_detector_t *self, const Rumor__MemberUpdate *update)
{
    if (update->generation != self->cfg.generation)
        return 0;
    if (update->state == RUMOR__STATE__STATE_SUSPECT) {
        self->stats.self_suspected++;
        s_awareness_add (self, 1);
    }
    //  Membership refutes a suspicion of us by raising our incarnation at
    //  once, and tells us only the ALIVE that results: that is the
    //  refutation Lifeguard counts (a tag change raises it too, rarely)
    if (update->incarnation > self->self_incarnation) {
        self->self_incarnation = update->incarnation;
        self->stats.self_refuted++;
        s_awareness_add (self, 1);
    }
    return 0;
}

static int
s_handle_member (rumor_detector_t *self, int64_t now,
                 const Rumor__MemberUpdate *update, const rumor_id_t *id)
{
    if (rumor_id_eq (id, &self->cfg.self))
        return s_member_self (self, update);
    if (update->state == RUMOR__STATE__STATE_ALIVE
    ||  update->state == RUMOR__STATE__STATE_SUSPECT)
        return s_member_live (self, now, update, id);
    return s_member_gone (self, update, id);
}

//  "confirm": another node also suspects a member at the incarnation we
//  suspect it at; an independent confirmation shortens the suspicion.
static int
s_handle_confirm (rumor_detector_t *self, const Rumor__MemberUpdate *update,
                  const rumor_id_t *id)
{
    s_target_t *target = s_target_find (self, id);
    rumor_id_t accuser;
    if (!target || !s_suspicion (self, target)
    ||  update->generation != s_who (self, target)->generation
    ||  update->incarnation != target->incarnation
    ||  rumor_id_from_bin (&accuser, update->accuser) == -1) {
        self->stats.confirm_unknown++;
        return -1;
    }
    if (!s_suspicion_confirm (self, target, &accuser)) {
        self->stats.confirm_duplicate++;
        return -1;
    }
    return 0;
}

//  Suspicion timed out with no refutation: the member is dead. Tell
//  membership, give the program the evidence, and stop probing it.
static void
s_suspicion_expire (rumor_detector_t *self, s_target_t *target, int64_t now)
{
    s_emit_member (self, "dead", target, RUMOR__STATE__STATE_DEAD);
    s_emit_verdict (self, target, RUMOR__STATE__STATE_DEAD, now);
    self->stats.deaths++;
    s_target_remove (self, target);
}


//  --------------------------------------------------------------------------
//  Public API

rumor_detector_t *
rumor_detector_new (const rumor_detector_cfg_t *cfg)
{
    assert (cfg);
    if (!s_cfg_valid (cfg))
        return NULL;
    rumor_detector_t *self = (rumor_detector_t *) zmalloc (sizeof (rumor_detector_t));
    assert (self);
    self->cfg = *cfg;
    rumor_prng_seed (&self->prng, cfg->seed);
    self->fx = rumor_fx_new ();
    self->idents = cfg->idents? rumor_ident_pool_link (cfg->idents)
                              : rumor_ident_pool_new ();
    self->cfg.idents = NULL;        //  ours is self->idents
    rumor_slab_init (&self->target_slab, sizeof (s_target_t), 8);
    rumor_slab_init (&self->evidence_slab, sizeof (s_evidence_t), 4);
    rumor_id_table_init (&self->targets, s_target_key, self);
    self->pending_cap = cfg->pending_max < 8? cfg->pending_max: 8;
    self->pending = (s_probe_t **) calloc (self->pending_cap, sizeof (s_probe_t *));
    assert (self->pending);
    //  Random first probe number: a late Ack meant for a previous run of
    //  this node (same id) must not match a probe of this one
    self->next_probe = (rumor_prng_next (&self->prng) >> 2) + 1;
    self->next_probe_at = -1;
    return self;
}

void
rumor_detector_destroy (rumor_detector_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rumor_detector_t *self = *self_p;
        while (self->pending_size)
            s_probe_remove_at (self, 0);
        free (self->pending);
        for (size_t index = 0; index < self->order_size; index++)
            s_target_destroy (self, self->order [index]);
        free (self->order);
        free (self->suspects);
        rumor_id_table_clear (&self->targets);
        rumor_slab_clear (&self->target_slab);
        rumor_slab_clear (&self->evidence_slab);
        rumor_ident_pool_destroy (&self->idents);
        rumor_fx_destroy (&self->fx);
        free (self);
        *self_p = NULL;
    }
}

int
rumor_detector_on_message (rumor_detector_t *self, int64_t now_ms,
                           const Rumor__Envelope *env)
{
    assert (self);
    assert (env);
    rumor_id_t sender;
    if (rumor_id_from_bin (&sender, env->sender) == -1) {
        self->stats.bad_sender++;
        return -1;
    }
    if (rumor_id_eq (&sender, &self->cfg.self)) {
        self->stats.from_self++;
        return -1;
    }
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_PING:
            return env->ping? s_handle_ping (self, &sender, env->ping): -1;
        case RUMOR__ENVELOPE__BODY_ACK:
            return env->ack? s_handle_ack (self, now_ms, &sender, env->ack): -1;
        case RUMOR__ENVELOPE__BODY_PING_REQ:
            return env->ping_req
                 ? s_handle_ping_req (self, now_ms, &sender, env->ping_req): -1;
        case RUMOR__ENVELOPE__BODY_NACK:
            return env->nack? s_handle_nack (self, &sender, env->nack): -1;
        default:
            self->stats.wrong_body++;
            return -1;
    }
}

int
rumor_detector_on_event (rumor_detector_t *self, int64_t now_ms,
                         const char *kind, const ProtobufCMessage *detail)
{
    assert (self);
    assert (kind);
    bool member = streq (kind, "member");
    if (!member && !streq (kind, "confirm")) {
        self->stats.event_ignored++;
        return -1;
    }
    const Rumor__MemberUpdate *update = (const Rumor__MemberUpdate *) detail;
    rumor_id_t id;
    if (!detail || detail->descriptor != &rumor__member_update__descriptor
    ||  !rumor_codec_valid_member (update)
    ||  rumor_id_from_bin (&id, update->id) == -1) {
        self->stats.bad_event++;
        return -1;
    }
    return member? s_handle_member (self, now_ms, update, &id)
                 : s_handle_confirm (self, update, &id);
}

void
rumor_detector_on_tick (rumor_detector_t *self, int64_t now_ms)
{
    assert (self);
    //  Close due probes first, so awareness is current for the next one
    size_t index = 0;
    while (index < self->pending_size)
        if (!s_probe_tick (self, index, now_ms))
            index++;
    index = 0;
    while (index < self->suspects_size) {
        s_target_t *target = self->suspects [index];
        if (now_ms >= s_suspicion (self, target)->deadline)
            s_suspicion_expire (self, target, now_ms);  //  swaps it out
        else
            index++;
    }
    if (self->next_probe_at >= 0 && now_ms >= self->next_probe_at)
        s_probe_next (self, now_ms);
}

void
rumor_detector_peer_lost (rumor_detector_t *self, int64_t now_ms,
                          const rumor_id_t *id)
{
    assert (self);
    assert (id);
    s_target_t *target = s_target_find (self, id);
    if (!target) {
        self->stats.peer_lost_unknown++;
        return;
    }
    self->stats.fast_probes++;
    s_probe_t *probe = s_probe_of (self, id);
    if (!probe) {
        probe = s_probe_start (self, target, now_ms,
                               self->cfg.probe_timeout_min_ms);
        if (probe)
            probe->lost = true;
        return;
    }
    probe->lost = true;
    if (probe->indirect)
        return;                 //  already asking helpers: nothing faster
    //  The Ping may have died with the connection: send it again, and go
    //  indirect at the floor timeout
    probe->sent_at = now_ms;
    if (probe->timeout_at > now_ms + self->cfg.probe_timeout_min_ms)
        probe->timeout_at = now_ms + self->cfg.probe_timeout_min_ms;
    s_send_ping (self, probe, s_who (self, target)->endpoint);
}

int64_t
rumor_detector_next_deadline (rumor_detector_t *self)
{
    assert (self);
    int64_t next = self->next_probe_at;
    for (size_t index = 0; index < self->pending_size; index++) {
        s_probe_t *probe = self->pending [index];
        int64_t due = !probe->indirect? probe->timeout_at: probe->end_at;
        if (next < 0 || due < next)
            next = due;
    }
    for (size_t index = 0; index < self->suspects_size; index++) {
        int64_t due = s_suspicion (self, self->suspects [index])->deadline;
        if (next < 0 || due < next)
            next = due;
    }
    return next;
}

zframe_t *
rumor_detector_next_effect (rumor_detector_t *self)
{
    assert (self);
    return rumor_fx_pop (self->fx);
}

const rumor_detector_stats_t *
rumor_detector_stats (rumor_detector_t *self)
{
    assert (self);
    return &self->stats;
}

double
rumor_detector_phi (rumor_detector_t *self, const rumor_id_t *id, int64_t now_ms)
{
    assert (self);
    assert (id);
    return s_phi_of (self, s_target_find (self, id), now_ms);
}

int
rumor_detector_rtt (rumor_detector_t *self, const rumor_id_t *id)
{
    assert (self);
    assert (id);
    s_target_t *target = s_target_find (self, id);
    if (!target || s_evidence (self, target)->srtt < 0)
        return -1;
    return (int) lround (s_evidence (self, target)->srtt);
}

int
rumor_detector_awareness (rumor_detector_t *self)
{
    assert (self);
    return self->awareness;
}

size_t
rumor_detector_size (rumor_detector_t *self)
{
    assert (self);
    return self->order_size;
}

bool
rumor_detector_suspects (rumor_detector_t *self, const rumor_id_t *id)
{
    assert (self);
    assert (id);
    s_target_t *target = s_target_find (self, id);
    return target && s_suspicion (self, target);
}
