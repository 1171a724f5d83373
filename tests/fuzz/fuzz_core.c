/*  =========================================================================
    fuzz_core - the harness shared by the core fuzz targets

    See fuzz_core.h for the input format and the checks.
    =========================================================================
*/

#include "fuzz_core.h"

//  Clock ticks played per record at most: a 38 s advance over a 100 ms
//  timer is ~400 ticks; the cap only bounds a core that would ask for a
//  tick every ms forever (which the shell would also serve, at 1 kHz).
#define S_TICKS_MAX     2000

//  Bytes a core may SEND in one body: the seal adds a header (ids, cluster,
//  numbers: under 100 bytes) and must still fit in a frame.
#define S_HEADER_MAX    128

typedef struct {
    const fuzz_core_t *ops;
    void *core;
    int64_t now;
    int64_t last_tick;
    uint64_t cluster;
    rumor_id_t self;
    uint64_t *before;               //  counters before the current step
    uint64_t *after;                //  ... and after it
    size_t n_counters;
    bool trace;                     //  FUZZ_CORE_TRACE set: say what runs
    size_t effects;                 //  effects drained so far
} s_run_t;

void
fuzz_core_id (rumor_id_t *id, int which)
{
    static const uint64_t numbers [] = { FUZZ_SELF_U64, FUZZ_PEER_U64,
                                         FUZZ_SELF_U64 + 1, FUZZ_SELF_U64 + 2 };
    rumor_id_from_u64 (id, numbers [which & 3]);
}

void
fuzz_core_pick_id (rumor_id_t *id, const uint8_t **data_p, size_t *size_p)
{
    if (*size_p >= RUMOR_ID_SIZE) {
        memcpy (id->bytes, *data_p, RUMOR_ID_SIZE);
        *data_p += RUMOR_ID_SIZE;
        *size_p -= RUMOR_ID_SIZE;
        return;
    }
    fuzz_core_id (id, *size_p? (*data_p) [0] % 4: 0);
    if (*size_p) {
        (*data_p)++;
        (*size_p)--;
    }
}

char *
fuzz_core_pick_string (const uint8_t **data_p, size_t *size_p)
{
    const uint8_t *nul = (const uint8_t *) memchr (*data_p, 0, *size_p);
    size_t length = nul? (size_t) (nul - *data_p): *size_p;
    char *string = (char *) malloc (length + 1);
    FUZZ_CHECK (string);
    if (length)
        memcpy (string, *data_p, length);
    string [length] = 0;
    size_t used = nul? length + 1: length;
    *data_p += used;
    *size_p -= used;
    return string;
}

uint64_t
fuzz_core_pick_u64 (const uint8_t **data_p, size_t *size_p)
{
    uint64_t value = 0;
    size_t n = *size_p < 8? *size_p: 8;
    for (size_t i = 0; i < n; i++)
        value |= (uint64_t) (*data_p) [i] << (8 * i);
    *data_p += n;
    *size_p -= n;
    return value;
}

//  The detail type of an event kind, as the supervisor decodes it
static const ProtobufCMessageDescriptor *
s_detail_type (const char *kind)
{
    if (streq (kind, "member") || streq (kind, "confirm")
    ||  streq (kind, "suspect") || streq (kind, "dead"))
        return &rumor__member_update__descriptor;
    if (streq (kind, "verdict"))
        return &rumor__verdict__descriptor;
    if (streq (kind, "kv"))
        return &rumor__kv_entry__descriptor;
    if (streq (kind, "event"))
        return &rumor__event__descriptor;
    if (streq (kind, "direct"))
        return &rumor__direct__descriptor;
    if (streq (kind, "query") || streq (kind, "query-done"))
        return &rumor__query__descriptor;
    if (streq (kind, "response"))
        return &rumor__response__descriptor;
    return NULL;
}

//  A SEND: to someone else, and its body sealed is a frame a peer accepts
static void
s_check_send (s_run_t *run, const rumor_fx_view_t *view)
{
    //  A zero id with no endpoint is allowed (effects.h: a peer may have
    //  sent its all-zero id; the shell drops what it cannot route)
    FUZZ_CHECK (!rumor_id_eq (&view->to, &run->self));
    FUZZ_CHECK (rumor_codec_valid_endpoint (view->endpoint));
    FUZZ_CHECK (view->body_size <= RUMOR_FRAME_MAX - S_HEADER_MAX);
    rumor_header_t header = {
        .cluster = run->cluster, .sender = run->self,
        .generation = FUZZ_GENERATION, .incarnation = 1, .seq = 1,
        .target = view->to
    };
    zframe_t *frame = rumor_codec_seal (&header, NULL, 0,
                                        view->body,
                                        view->body_size);
    FUZZ_CHECK (frame);
    rumor_codec_stats_t stats = { 0 };
    Rumor__Envelope *env = rumor_codec_decode (
        zframe_data (frame), zframe_size (frame), run->cluster, &stats);
    if (!env)
        fprintf (stderr, "fuzz: %s sent a frame a peer refuses: "
                 "malformed=%" PRIu64 " no_body=%" PRIu64
                 " bad_field=%" PRIu64 " oversized=%" PRIu64 "\n",
                 run->ops->name, stats.malformed, stats.no_body,
                 stats.bad_field, stats.oversized);
    FUZZ_CHECK (env);
    FUZZ_CHECK (rumor_codec_owner (env) != RUMOR_OWNER_NONE);
    rumor_codec_free (&env);
    zframe_destroy (&frame);
}

//  An EVENT: a known kind whose detail decodes as the supervisor decodes it
static void
s_check_event (const rumor_fx_view_t *view)
{
    const ProtobufCMessageDescriptor *type = s_detail_type (view->kind);
    if (!type)
        fprintf (stderr, "fuzz: unknown event kind %s\n", view->kind);
    FUZZ_CHECK (type);
    ProtobufCMessage *detail = rumor_codec_decode_detail (
        type, view->body, view->body_size);
    if (!detail)
        fprintf (stderr, "fuzz: event %s detail refused\n", view->kind);
    FUZZ_CHECK (detail);
    rumor_codec_free_detail (&detail);
}

//  Every effect the core queued: well-formed, and acceptable downstream
static void
s_drain (s_run_t *run)
{
    zframe_t *effect;
    while ((effect = run->ops->next_effect (run->core))) {
        rumor_fx_view_t view;
        FUZZ_CHECK (rumor_fx_parse (effect, &view) == 0);
        run->effects++;
        if (run->trace)
            fprintf (stderr, "  %s %s\n", view.is_send? "SEND": "EVENT",
                     view.is_send? view.endpoint: view.kind);
        if (view.is_send)
            s_check_send (run, &view);
        else
            s_check_event (&view);
        zframe_destroy (&effect);
    }
}

//  Counters never go down; returns true if a refusal counter moved
static bool
s_check_counters (s_run_t *run)
{
    memcpy (run->after, run->ops->stats (run->core), run->ops->stats_size);
    for (size_t i = 0; i < run->n_counters; i++) {
        FUZZ_CHECK (run->after [i] >= run->before [i]);
        if (run->trace && run->after [i] != run->before [i])
            fprintf (stderr, "  counter %zu: %" PRIu64 "\n", i, run->after [i]);
    }
    bool refused = false;
    for (size_t r = 0; r < run->ops->n_refusals; r++)
        for (size_t at = run->ops->refusals [r].from;
             at < run->ops->refusals [r].to; at += sizeof (uint64_t))
            if (run->after [at / 8] != run->before [at / 8])
                refused = true;
    memcpy (run->before, run->after, run->ops->stats_size);
    return refused;
}

//  After any input: effects out, counters and the core's own invariants
static bool
s_step_done (s_run_t *run)
{
    s_drain (run);
    bool refused = s_check_counters (run);
    if (run->ops->check)
        run->ops->check (run->core, run->now);
    return refused;
}

//  Time passes to target, ticking the core at each deadline on the way as
//  the shell does: never twice in one ms
static void
s_advance (s_run_t *run, int64_t target)
{
    for (int ticks = 0; ticks < S_TICKS_MAX; ticks++) {
        int64_t deadline = run->ops->next_deadline (run->core);
        if (deadline < 0 || deadline > target)
            break;
        int64_t at = deadline > run->now? deadline: run->now;
        if (at == run->last_tick)
            at++;
        if (at > target)
            break;
        run->now = at;
        run->ops->on_tick (run->core, run->now);
        run->last_tick = run->now;
        s_step_done (run);
    }
    run->now = target;
}

static int64_t
s_advance_ms (uint8_t code)
{
    return code <= 100? code: (int64_t) (code - 100) * 250;
}

static void
s_frame (s_run_t *run, const uint8_t *data, size_t size)
{
    rumor_codec_stats_t stats = { 0 };
    Rumor__Envelope *env = rumor_codec_decode (data, size, run->cluster,
                                               &stats);
    if (!env)
        return;
    int rc = run->ops->on_message (run->core, run->now, env);
    if (run->trace)
        fprintf (stderr, "frame body %d: rc %d\n", (int) env->body_case, rc);
    rumor_codec_free (&env);
    bool refused = s_step_done (run);
    //  A refusal is never silent: -1 means some reason was counted
    if (rc != 0 && !refused)
        fprintf (stderr, "fuzz: %s refused a message without counting why\n",
                 run->ops->name);
    FUZZ_CHECK (rc == 0 || refused);
}

static void
s_event (s_run_t *run, unsigned index, const uint8_t *data, size_t size)
{
    static const char *kinds [] = FUZZ_EVENT_KINDS;
    const char *kind = kinds [index % (sizeof (kinds) / sizeof (kinds [0]))];
    ProtobufCMessage *detail = rumor_codec_decode_detail (
        s_detail_type (kind), data, size);
    if (!detail)
        return;                     //  the supervisor counts bad_events
    run->ops->on_event (run->core, run->now, kind, detail);
    rumor_codec_free_detail (&detail);
    s_step_done (run);
}

void
fuzz_core_run (const fuzz_core_t *ops, const uint8_t *data, size_t size)
{
    s_run_t run = { .ops = ops, .now = FUZZ_START, .last_tick = -1 };
    run.cluster = rumor_cluster_hash (FUZZ_CLUSTER_NAME);
    run.trace = getenv ("FUZZ_CORE_TRACE") != NULL;
    fuzz_core_id (&run.self, 0);
    FUZZ_CHECK (ops->stats_size % sizeof (uint64_t) == 0);
    run.n_counters = ops->stats_size / sizeof (uint64_t);
    run.before = (uint64_t *) calloc (run.n_counters, sizeof (uint64_t));
    run.after = (uint64_t *) calloc (run.n_counters, sizeof (uint64_t));
    FUZZ_CHECK (run.before && run.after);
    run.core = ops->create ();
    FUZZ_CHECK (run.core);
    memcpy (run.before, ops->stats (run.core), ops->stats_size);
    //  The shell's first tick, before any input
    ops->on_tick (run.core, run.now);
    run.last_tick = run.now;
    s_step_done (&run);

    size_t at = 0;
    while (size - at >= FUZZ_RECORD_HEADER) {
        uint8_t advance = data [at];
        uint8_t type = data [at + 1];
        size_t length = data [at + 2] | (size_t) data [at + 3] << 8;
        at += FUZZ_RECORD_HEADER;
        if (length > size - at)
            length = size - at;
        const uint8_t *bytes = data + at;
        at += length;
        if (run.trace)
            fprintf (stderr, "record: +%" PRId64 " ms, type %d, %zu bytes\n",
                     s_advance_ms (advance), type, length);
        s_advance (&run, run.now + s_advance_ms (advance));
        switch (type % 4) {
            case FUZZ_RECORD_FRAME:
                s_frame (&run, bytes, length);
                break;
            case FUZZ_RECORD_EVENT:
                s_event (&run, type / 4, bytes, length);
                break;
            case FUZZ_RECORD_COMMAND:
                ops->command (run.core, run.now, type / 4, bytes, length);
                s_step_done (&run);
                break;
            default:
                break;
        }
    }
    ops->destroy (&run.core);
    FUZZ_CHECK (run.core == NULL);
    free (run.before);
    free (run.after);
}
