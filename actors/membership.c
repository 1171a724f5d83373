/*  =========================================================================
    rumor_membership - SWIM membership core

    The table is an index (id -> member) plus a dense array of the same
    members for O(1) random choice; we are always entry 0. A simulated
    cluster of N nodes holds N^2 entries, so an entry is 32 bytes in a
    slab (slab.h): who the member is (id, generation, name, endpoint) is a
    reference to an interned identity (ident.h), and what few members
    have (tags, accusers, a Join we sent) lives apart, found by id. The
    public view (rumor_member_t) and the wire form (Rumor__MemberUpdate)
    are built when asked for, pointing into the identity and the tags, so
    tables and gossip are sent without copying strings.

    The gossip queue holds at most one update per member (the member's
    current entry: a newer update replaces an older one and restarts its
    count). It is a row of buckets, bucket t holding the members sent t
    times, so "least transmitted first" is a walk from bucket 0. Each
    bucket is a list threaded through the entries themselves (no node
    allocated per queued update: while a large cluster forms, every entry
    of every node is queued).
    =========================================================================
*/

#include "membership.h"
#include "id_table.h"
#include "slab.h"
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>

//  Members told of our Leave directly (see rumor_membership_leave)
#define S_LEAVE_DIRECT_MAX  32

//  JoinReply and PushPull tables go out in chunks of at most this many
//  members: the codec refuses more than RUMOR_REPEATED_MAX items in one
//  repeated field, and half of that keeps a chunk of plain members near
//  50 KiB, friendly to socket buffers.
#define S_CHUNK_MEMBERS     512
//  ... and at most cfg chunk_bytes packed bytes (default below), so that
//  members with many long tags (64 x 510 bytes each at worst) still fit in
//  RUMOR_FRAME_MAX. Not below S_CHUNK_BYTES_MIN: one such member must fit.
#define S_CHUNK_BYTES       (RUMOR_FRAME_MAX / 2)
#define S_CHUNK_BYTES_MIN   (48 * 1024)
//  memberlist's pushPullScaleThreshold: above 32 members the push-pull
//  interval grows by one period per doubling of N, so the full-table bytes
//  each node sends per second stay about flat as the cluster grows.
#define S_PUSH_PULL_SCALE_THRESHOLD  32
//  Bounds that keep the cfg sane (a cfg past them is a programmer error
//  and rumor_membership_new returns NULL)
#define S_FANOUT_MAX        64
#define S_RETRANSMIT_MULT_MAX  64

//  One tag, borrowed from a "key=value" string or a wire Tag
typedef struct {
    const char *key;                //  key, NOT terminated at key_len
    size_t key_len;                 //  bytes in key
    const char *value;              //  NUL-terminated value
} s_tag_t;

//  What few entries have, apart from the table and found by id: tags (a
//  cluster's members may all have some, but a simulated one has none),
//  the accusers of a suspicion, a Join we sent. Freed when it holds
//  nothing any more.
typedef struct {
    rumor_id_t id;                  //  the member's id (the extras' key)
    rumor_id_t accuser;             //  latest accuser, zero if none
    rumor_id_t *accusers;           //  distinct accusers of this suspicion
                                    //  (max_accusers slots, or NULL)
    char **tags;                    //  NULL if no tags, else one block:
                                    //  "key=value" strings [n_tags], then
                                    //  wire tags [n_tags] (key/value
                                    //  owned), then pointers to them for
                                    //  the wire form
    int64_t join_sent_at;           //  join_id sent it a Join at ...
    uint32_t n_accusers;            //  used slots in accusers
    uint32_t n_tags;                //  number of tags
    bool join_sent;                 //  ... if set
} s_extra_t;

//  Flags of an entry
#define S_QUEUED    1               //  in a bucket of the gossip queue
#define S_EXTRA     2               //  has an s_extra_t

//  One entry of the table. A cluster of N nodes holds N^2 of them: 32
//  bytes, in a slab, named by its handle in the index, the dense array
//  and the gossip queue.
typedef struct {
    uint32_t ident;                 //  id, generation, name and endpoint
                                    //  (ident.h)
    uint32_t incarnation;           //  SWIM incarnation
    int64_t changed_at;             //  last change of this entry (now_ms)
    uint32_t index;                 //  position in the dense array (the
                                    //  table holds at most max_members)
    uint32_t q_prev;                //  gossip queue: entry before us in
                                    //  our bucket, or RUMOR_SLAB_NONE
    uint32_t q_next;                //  ... after us
    uint16_t transmits;             //  sends since last queued (at most
                                    //  64 * 10: see n_buckets)
    uint8_t state;                  //  Rumor__State
    uint8_t flags;                  //  S_QUEUED, S_EXTRA
} s_member_t;

//  One bucket of the gossip queue: a list through the entries
typedef struct {
    uint32_t first;                 //  handle, or RUMOR_SLAB_NONE
    uint32_t last;                  //  handle, or RUMOR_SLAB_NONE
} s_bucket_t;

//  The wire tags and their pointers, in the tags block after the strings
static Rumor__Tag *
s_tag_store (const s_extra_t *extra)
{
    //  (no block without tags: NULL + 0 is undefined behaviour)
    return extra && extra->tags? (Rumor__Tag *) (extra->tags + extra->n_tags)
                               : NULL;
}

static Rumor__Tag **
s_tag_ptrs (const s_extra_t *extra)
{
    Rumor__Tag *store = s_tag_store (extra);
    return store? (Rumor__Tag **) (store + extra->n_tags): NULL;
}

struct _rumor_membership_t {
    rumor_membership_cfg_t cfg;     //  our configuration (no borrowed
                                    //  pointers kept: they are zeroed)
    rumor_fx_t *fx;                 //  queued effects
    rumor_prng_t prng;              //  seeded choices
    rumor_membership_stats_t stats; //  counters
    rumor_ident_pool_t *idents;     //  identities of the members
    rumor_slab_t slab;              //  the entries (s_member_t)
    rumor_id_table_t index;         //  id -> entry handle
    rumor_slab_t extras;            //  what few entries have (s_extra_t)
    rumor_id_table_t extra_index;   //  id -> extra handle
    rumor_member_t view;            //  the view last asked for
    uint32_t *members;              //  dense array of handles; [0] is us
    size_t n_members;               //  entries in members
    size_t capacity;                //  slots in members
    s_member_t *me;                 //  our own entry
    int64_t reconnect_at;           //  next push-pull with a DEAD member
    char *seeds [RUMOR_MEMBERSHIP_SEEDS_MAX];  //  endpoints given to join
    size_t n_seeds;                 //  seeds remembered
    int64_t seed_retry_at;          //  next Join to the seeds, if alone
    int64_t seed_backoff;           //  current retry period
    int64_t alone_joins_at;         //  beacon Joins sent while alone:
    uint32_t alone_joins;           //  window start, and Joins in it
    size_t counts [5];              //  entries per Rumor__State
    s_bucket_t *buckets;            //  gossip queue, by transmit count
    uint32_t n_buckets;             //  highest possible retransmit limit
    size_t n_queued;                //  members in any bucket
    s_member_t **targets;           //  gossip_fanout slots
    Rumor__MemberUpdate **batch;    //  max_piggyback slots
    Rumor__MemberUpdate *pbs;       //  wire forms of the last selection
    s_member_t **picked;            //  ... and their members
    size_t max_pbs;                 //  slots in pbs and picked
    size_t cursor;                  //  iteration position
    bool started;                   //  first now seen; timers set
    int64_t now;                    //  latest now seen
    int64_t gossip_at;              //  next gossip round, when queued
    int64_t push_pull_at;           //  next push-pull
    int64_t settle_next;            //  next early push-pull period, ms;
                                    //  0 once settled (regular interval)
    int64_t reap_at;                //  earliest reap, -1 = none
    bool leaving;                   //  leave was called
};

//  What applying one update did
typedef enum {
    S_NEWS,                         //  changed the table
    S_KNOWN,                        //  nothing new: duplicate, confirmation
    S_STALE,                        //  older than what we hold (counted)
    S_REFUSED                       //  refused for another reason (counted)
} s_outcome_t;

//  --------------------------------------------------------------------------
//  Trace

static void
s_trace (rumor_membership_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_trace (rumor_membership_t *self, const char *format, ...)
{
    if (!self->cfg.trace)
        return;
    char line [512];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof (line), format, args);
    va_end (args);
    self->cfg.trace (self->cfg.trace_arg, line);
}

static const char *
s_state_name (Rumor__State state)
{
    switch (state) {
        case RUMOR__STATE__STATE_ALIVE:   return "alive";
        case RUMOR__STATE__STATE_SUSPECT: return "suspect";
        case RUMOR__STATE__STATE_DEAD:    return "dead";
        case RUMOR__STATE__STATE_LEFT:    return "left";
        default:                          return "invalid";
    }
}

//  Trace one event about a member (an id from the wire or the table)
static void
s_trace_id (rumor_membership_t *self, const char *event,
            const rumor_id_t *id, uint64_t generation, uint32_t incarnation,
            Rumor__State state)
{
    if (!self->cfg.trace)
        return;
    char hex [RUMOR_ID_HEX];
    s_trace (self, "membership: %s id=%s gen=%" PRIu64 " inc=%" PRIu32
             " state=%s", event, rumor_id_hex (id, hex), generation,
             incarnation, s_state_name (state));
}

static void
s_trace_update (rumor_membership_t *self, const char *event,
                const Rumor__MemberUpdate *up)
{
    if (!self->cfg.trace)
        return;
    rumor_id_t id;
    rumor_id_from_bin (&id, up->id);
    s_trace_id (self, event, &id, up->generation, up->incarnation, up->state);
}

//  --------------------------------------------------------------------------
//  Tags: kept sorted by key, as the wire wants, so tag sets compare
//  element by element

static int
s_tag_compare (const void *a, const void *b)
{
    const s_tag_t *x = (const s_tag_t *) a;
    const s_tag_t *y = (const s_tag_t *) b;
    size_t common = x->key_len < y->key_len? x->key_len: y->key_len;
    int rc = memcmp (x->key, y->key, common);
    if (rc)
        return rc;
    return x->key_len < y->key_len? -1: x->key_len > y->key_len? 1: 0;
}

//  Parse "key=value" strings into tags (a string without '=' is a key with
//  an empty value), sorted. Returns 0, or -1 if any tag is out of the
//  protocol's bounds or a key repeats.
static int
s_parse_tags (const char *const *strings, size_t n, s_tag_t *tags)
{
    if (n > RUMOR_TAGS_MAX || (n && !strings))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *string = strings [i];
        if (!string)
            return -1;
        const char *equals = strchr (string, '=');
        tags [i].key = string;
        tags [i].key_len = equals? (size_t) (equals - string): strlen (string);
        tags [i].value = equals? equals + 1: "";
        //  The whole string valid UTF-8 makes the key valid too ('=' is
        //  ASCII, never inside a sequence): peers refuse a tag that is not
        //  (found by fuzz_membership)
        if (tags [i].key_len == 0 || tags [i].key_len > RUMOR_KEY_MAX
        ||  !rumor_codec_valid_string (tags [i].value, RUMOR_KEY_MAX)
        ||  !rumor_codec_valid_string (string, 2 * RUMOR_KEY_MAX + 1))
            return -1;
    }
    qsort (tags, n, sizeof (s_tag_t), s_tag_compare);
    for (size_t i = 1; i < n; i++)
        if (s_tag_compare (&tags [i - 1], &tags [i]) == 0)
            return -1;
    return 0;
}

//  Borrow wire tags (already bounded by the codec), sorted
static void
s_wire_tags (Rumor__Tag **wire, size_t n, s_tag_t *tags)
{
    for (size_t i = 0; i < n; i++) {
        tags [i].key = wire [i]->key;
        tags [i].key_len = strlen (wire [i]->key);
        tags [i].value = wire [i]->value;
    }
    qsort (tags, n, sizeof (s_tag_t), s_tag_compare);
}

//  --------------------------------------------------------------------------
//  Entries and what they refer to

static s_member_t *
s_member_at (const rumor_membership_t *self, uint32_t handle)
{
    return (s_member_t *) rumor_slab_at (&self->slab, handle);
}

//  The handle of an entry in the table
static uint32_t
s_handle (const rumor_membership_t *self, const s_member_t *m)
{
    return self->members [m->index];
}

//  Who an entry is: id, generation, name and endpoint
static const rumor_ident_t *
s_who (const rumor_membership_t *self, const s_member_t *m)
{
    return rumor_ident_at (self->idents, m->ident);
}

static const rumor_id_t *
s_id (const rumor_membership_t *self, const s_member_t *m)
{
    return &s_who (self, m)->id;
}

//  The id of an entry handle (the index's key)
static const rumor_id_t *
s_member_key (const void *arg, uint32_t handle)
{
    const rumor_membership_t *self = (const rumor_membership_t *) arg;
    return s_id (self, s_member_at (self, handle));
}

static s_extra_t *
s_extra_at (const rumor_membership_t *self, uint32_t handle)
{
    return (s_extra_t *) rumor_slab_at (&self->extras, handle);
}

//  The id of an extra handle (the extras' key)
static const rumor_id_t *
s_extra_key (const void *arg, uint32_t handle)
{
    return &s_extra_at ((const rumor_membership_t *) arg, handle)->id;
}

//  An entry's extra, or NULL if it has none
static s_extra_t *
s_extra (const rumor_membership_t *self, const s_member_t *m)
{
    if (!(m->flags & S_EXTRA))
        return NULL;
    uint32_t handle = rumor_id_table_lookup (&self->extra_index, s_id (self, m));
    assert (handle != RUMOR_ID_TABLE_NONE);
    return s_extra_at (self, handle);
}

//  An entry's extra, made empty if it had none
static s_extra_t *
s_extra_new (rumor_membership_t *self, s_member_t *m)
{
    s_extra_t *extra = s_extra (self, m);
    if (!extra) {
        uint32_t handle = rumor_slab_alloc (&self->extras);
        extra = s_extra_at (self, handle);
        extra->id = *s_id (self, m);
        rumor_id_table_insert (&self->extra_index, handle);
        m->flags |= S_EXTRA;
    }
    return extra;
}

static void s_member_free_tags (s_extra_t *extra);

//  Free an entry's extra, if it has one
static void
s_extra_free (rumor_membership_t *self, s_member_t *m)
{
    if (!(m->flags & S_EXTRA))
        return;
    uint32_t handle = rumor_id_table_delete (&self->extra_index, s_id (self, m));
    assert (handle != RUMOR_ID_TABLE_NONE);
    s_extra_t *extra = s_extra_at (self, handle);
    s_member_free_tags (extra);
    free (extra->accusers);
    rumor_slab_free (&self->extras, handle);
    m->flags &= (uint8_t) ~S_EXTRA;
}

//  Free an entry's extra once it holds nothing that counts
static void
s_extra_tidy (rumor_membership_t *self, s_member_t *m)
{
    const s_extra_t *extra = s_extra (self, m);
    if (extra && !extra->tags && !extra->join_sent && extra->n_accusers == 0
    &&  rumor_id_is_zero (&extra->accuser))
        s_extra_free (self, m);
}

static bool
s_tags_equal (const s_extra_t *extra, const s_tag_t *tags, size_t n)
{
    if ((extra? extra->n_tags: 0) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const Rumor__Tag *tag = &s_tag_store (extra) [i];
        if (strlen (tag->key) != tags [i].key_len
        ||  memcmp (tag->key, tags [i].key, tags [i].key_len)
        ||  strcmp (tag->value, tags [i].value))
            return false;
    }
    return true;
}

static void
s_member_free_tags (s_extra_t *extra)
{
    char **kv = extra->tags;
    Rumor__Tag *store = s_tag_store (extra);
    for (size_t i = 0; i < extra->n_tags; i++) {
        free (kv [i]);
        free (store [i].key);
        free (store [i].value);
    }
    free (kv);
    extra->tags = NULL;
    extra->n_tags = 0;
}

//  Replace an entry's tags with copies of tags (sorted)
static void
s_member_set_tags (rumor_membership_t *self, s_member_t *m,
                   const s_tag_t *tags, size_t n)
{
    s_extra_t *extra = s_extra (self, m);
    if (extra)
        s_member_free_tags (extra);
    if (n == 0) {
        s_extra_tidy (self, m);
        return;
    }
    extra = s_extra_new (self, m);
    char **kv = (char **) calloc (1, n * (sizeof (char *) + sizeof (Rumor__Tag)
                                          + sizeof (Rumor__Tag *)));
    assert (kv);
    extra->tags = kv;
    extra->n_tags = (uint32_t) n;
    Rumor__Tag *store = s_tag_store (extra);
    Rumor__Tag **ptrs = s_tag_ptrs (extra);
    for (size_t i = 0; i < n; i++) {
        size_t value_len = strlen (tags [i].value);
        kv [i] = (char *) malloc (tags [i].key_len + value_len + 2);
        assert (kv [i]);
        memcpy (kv [i], tags [i].key, tags [i].key_len);
        kv [i][tags [i].key_len] = '=';
        memcpy (kv [i] + tags [i].key_len + 1, tags [i].value, value_len + 1);
        rumor__tag__init (&store [i]);
        store [i].key = strndup (tags [i].key, tags [i].key_len);
        store [i].value = strdup (tags [i].value);
        assert (store [i].key && store [i].value);
        ptrs [i] = &store [i];
    }
}

//  --------------------------------------------------------------------------
//  Members

//  Set an entry's identity: its id stays, generation, name and endpoint
//  may change. name and endpoint may point into the entry's identity.
static void
s_member_set_ident (rumor_membership_t *self, s_member_t *m,
                    uint64_t generation, const char *name,
                    const char *endpoint)
{
    rumor_ident_set (self->idents, &m->ident, s_id (self, m), generation,
                     name, endpoint);
}

//  A new entry, not in the table yet, who is (id, generation, name,
//  endpoint), ALIVE at incarnation 0; returns its handle
static uint32_t
s_member_new (rumor_membership_t *self, const rumor_id_t *id,
              uint64_t generation, const char *name, const char *endpoint)
{
    uint32_t handle = rumor_slab_alloc (&self->slab);
    s_member_t *m = s_member_at (self, handle);
    m->ident = rumor_ident_get (self->idents, id, generation, name, endpoint);
    m->state = RUMOR__STATE__STATE_ALIVE;
    m->q_prev = m->q_next = RUMOR_SLAB_NONE;
    return handle;
}

//  Free an entry that has left the table (or the table, when destroyed)
static void
s_member_destroy (rumor_membership_t *self, uint32_t handle)
{
    s_member_t *m = s_member_at (self, handle);
    s_extra_free (self, m);
    rumor_ident_release (self->idents, m->ident);
    rumor_slab_free (&self->slab, handle);
}

//  The latest accuser of an entry, or NULL
static const rumor_id_t *
s_accuser (const rumor_membership_t *self, const s_member_t *m)
{
    const s_extra_t *extra = s_extra (self, m);
    return extra && !rumor_id_is_zero (&extra->accuser)? &extra->accuser: NULL;
}

//  Set (or with a zero id, clear) the latest accuser of an entry
static void
s_set_accuser (rumor_membership_t *self, s_member_t *m, const rumor_id_t *by)
{
    if (!rumor_id_is_zero (by))
        s_extra_new (self, m)->accuser = *by;
    else {
        s_extra_t *extra = s_extra (self, m);
        if (extra)
            memset (&extra->accuser, 0, sizeof (extra->accuser));
    }
}

//  The wire form of a member, pointing into it (valid while it is
//  unchanged). Built when sent rather than kept in every entry: a cluster
//  of N nodes holds N^2 entries, and a kept copy cost 104 bytes each.
static void
s_member_pb (const rumor_membership_t *self, const s_member_t *m,
             Rumor__MemberUpdate *pb)
{
    const rumor_ident_t *who = s_who (self, m);
    const s_extra_t *extra = s_extra (self, m);
    rumor__member_update__init (pb);
    pb->id = rumor_id_bin (&who->id);
    pb->generation = who->generation;
    pb->incarnation = m->incarnation;
    pb->state = m->state;
    pb->name = (char *) who->name;
    pb->endpoint = (char *) who->endpoint;
    pb->n_tags = extra? extra->n_tags: 0;
    pb->tags = pb->n_tags? s_tag_ptrs (extra): NULL;
    bool accused = m->state == RUMOR__STATE__STATE_SUSPECT
                || m->state == RUMOR__STATE__STATE_DEAD;
    const rumor_id_t *accuser = s_accuser (self, m);
    if (accused && accuser)
        pb->accuser = rumor_id_bin (accuser);
}

//  The public view of an entry, in self->view (valid until the next call)
static const rumor_member_t *
s_view (rumor_membership_t *self, const s_member_t *m)
{
    const rumor_ident_t *who = s_who (self, m);
    const s_extra_t *extra = s_extra (self, m);
    self->view.id = who->id;
    self->view.generation = who->generation;
    self->view.incarnation = m->incarnation;
    self->view.state = (Rumor__State) m->state;
    self->view.name = who->name;
    self->view.endpoint = who->endpoint;
    self->view.n_tags = extra? extra->n_tags: 0;
    self->view.tags = self->view.n_tags? (const char *const *) extra->tags
                                       : NULL;
    self->view.changed_at = m->changed_at;
    return &self->view;
}

//  Record an accuser of the current suspicion; true if not seen before.
//  The set is bounded by max_accusers: past it, new accusers are not
//  remembered (Lifeguard needs only a few confirmations).
static bool
s_member_accuse (rumor_membership_t *self, s_member_t *m, const rumor_id_t *by)
{
    s_extra_t *extra = s_extra (self, m);
    uint32_t n_accusers = extra? extra->n_accusers: 0;
    for (size_t i = 0; i < n_accusers; i++)
        if (rumor_id_eq (&extra->accusers [i], by))
            return false;
    if (n_accusers >= self->cfg.max_accusers)
        return false;
    extra = s_extra_new (self, m);
    if (!extra->accusers) {
        //  Allocated on first suspicion: most members are never suspected
        extra->accusers = (rumor_id_t *) calloc (self->cfg.max_accusers,
                                                 sizeof (rumor_id_t));
        assert (extra->accusers);
    }
    extra->accusers [extra->n_accusers++] = *by;
    return true;
}

//  Forget the accusers of an entry's suspicion
static void
s_member_clear_accusers (rumor_membership_t *self, s_member_t *m)
{
    s_extra_t *extra = s_extra (self, m);
    if (extra)
        extra->n_accusers = 0;
}

//  --------------------------------------------------------------------------
//  The table

static s_member_t *
s_lookup (rumor_membership_t *self, const rumor_id_t *id)
{
    uint32_t handle = rumor_id_table_lookup (&self->index, id);
    return handle == RUMOR_ID_TABLE_NONE? NULL: s_member_at (self, handle);
}

//  The entry at a position of the dense array
static s_member_t *
s_member_of (const rumor_membership_t *self, size_t index)
{
    return s_member_at (self, self->members [index]);
}

static void
s_insert (rumor_membership_t *self, uint32_t handle)
{
    if (self->n_members == self->capacity) {
        self->capacity *= 2;
        self->members = (uint32_t *) realloc (self->members,
                            self->capacity * sizeof (uint32_t));
        assert (self->members);
    }
    s_member_t *m = s_member_at (self, handle);
    m->index = (uint32_t) self->n_members;
    self->members [self->n_members++] = handle;
    rumor_id_table_insert (&self->index, handle);
    self->counts [m->state]++;
}

static void s_unqueue (rumor_membership_t *self, s_member_t *m);

//  Remove and destroy a member (never us)
static void
s_remove (rumor_membership_t *self, s_member_t *m)
{
    assert (m != self->me);
    s_unqueue (self, m);
    self->counts [m->state]--;
    uint32_t handle = rumor_id_table_delete (&self->index, s_id (self, m));
    uint32_t last = self->members [--self->n_members];
    self->members [m->index] = last;
    s_member_at (self, last)->index = m->index;
    s_member_destroy (self, handle);
}

static bool
s_is_gone (Rumor__State state)
{
    return state == RUMOR__STATE__STATE_DEAD || state == RUMOR__STATE__STATE_LEFT;
}

//  Change a member's state, keeping the per-state counts and the reaping
//  schedule right
static void
s_set_state (rumor_membership_t *self, s_member_t *m, Rumor__State state,
             int64_t now)
{
    self->counts [m->state]--;
    self->counts [state]++;
    m->state = (uint8_t) state;
    if (s_is_gone (state) && m != self->me) {
        int64_t due = now + self->cfg.reap_after_ms;
        if (self->reap_at < 0 || due < self->reap_at)
            self->reap_at = due;
    }
}

static size_t
s_alive_peers (rumor_membership_t *self)
{
    size_t alive = self->counts [RUMOR__STATE__STATE_ALIVE];
    return self->me->state == RUMOR__STATE__STATE_ALIVE? alive - 1: alive;
}

//  --------------------------------------------------------------------------
//  Gossip queue

//  SWIM/memberlist: retransmit each update lambda * ceil (log10 (N + 1))
//  times. log N rounds of fanout-way gossip reach everyone with high
//  probability; the multiplier buys margin against loss.
static uint32_t
s_retransmit_limit (uint32_t mult, size_t n)
{
    return mult * (uint32_t) ceil (log10 ((double) n + 1.0));
}

static uint32_t
s_limit (rumor_membership_t *self)
{
    uint32_t limit = s_retransmit_limit (self->cfg.retransmit_mult,
                                         self->n_members);
    return limit < self->n_buckets? limit: self->n_buckets;
}

//  Take a queued entry out of its bucket
static void
s_bucket_detach (rumor_membership_t *self, s_member_t *m)
{
    s_bucket_t *bucket = &self->buckets [m->transmits];
    if (m->q_prev == RUMOR_SLAB_NONE)
        bucket->first = m->q_next;
    else
        s_member_at (self, m->q_prev)->q_next = m->q_next;
    if (m->q_next == RUMOR_SLAB_NONE)
        bucket->last = m->q_prev;
    else
        s_member_at (self, m->q_next)->q_prev = m->q_prev;
    m->q_prev = m->q_next = RUMOR_SLAB_NONE;
    m->flags &= (uint8_t) ~S_QUEUED;
}

//  Put an entry at the start (newest news) or end of its bucket
static void
s_bucket_add (rumor_membership_t *self, s_member_t *m, bool at_start)
{
    s_bucket_t *bucket = &self->buckets [m->transmits];
    uint32_t handle = s_handle (self, m);
    if (bucket->first == RUMOR_SLAB_NONE)
        bucket->first = bucket->last = handle;
    else
    if (at_start) {
        m->q_next = bucket->first;
        s_member_at (self, bucket->first)->q_prev = handle;
        bucket->first = handle;
    }
    else {
        m->q_prev = bucket->last;
        s_member_at (self, bucket->last)->q_next = handle;
        bucket->last = handle;
    }
    m->flags |= S_QUEUED;
}

//  Queue a member's current entry, replacing any older queued update about
//  it, with its count back at zero. Newest news goes first among equals.
static void
s_queue (rumor_membership_t *self, s_member_t *m)
{
    if (m->flags & S_QUEUED)
        s_bucket_detach (self, m);
    else
        self->n_queued++;
    m->transmits = 0;
    s_bucket_add (self, m, true);
}

static void
s_unqueue (rumor_membership_t *self, s_member_t *m)
{
    if (m->flags & S_QUEUED) {
        s_bucket_detach (self, m);
        self->n_queued--;
    }
}

//  Drop updates that reached the current limit (it falls when the table
//  shrinks)
static void
s_purge_queue (rumor_membership_t *self)
{
    for (uint32_t t = s_limit (self); t < self->n_buckets; t++)
        while (self->buckets [t].first != RUMOR_SLAB_NONE)
            s_unqueue (self, s_member_at (self, self->buckets [t].first));
}

//  Room for max wire forms in self->pbs
static void
s_reserve_pbs (rumor_membership_t *self, size_t max)
{
    if (max <= self->max_pbs)
        return;
    free (self->pbs);
    free (self->picked);
    self->pbs = (Rumor__MemberUpdate *) calloc (max, sizeof (Rumor__MemberUpdate));
    self->picked = (s_member_t **) calloc (max, sizeof (s_member_t *));
    assert (self->pbs && self->picked);
    self->max_pbs = max;
}

static void
s_release_pbs (rumor_membership_t *self)
{
    free (self->pbs);
    free (self->picked);
    self->pbs = NULL;
    self->picked = NULL;
    self->max_pbs = 0;
}

//  Take up to max queued updates, least transmitted first, and count one
//  transmission for each; an update that reaches the limit leaves the queue.
//  The wire forms are built in self->pbs: valid until the next selection.
static size_t
s_select (rumor_membership_t *self, Rumor__MemberUpdate **out, size_t max)
{
    s_purge_queue (self);
    if (max > self->n_queued)
        max = self->n_queued;
    s_reserve_pbs (self, max);
    size_t n = 0;
    for (uint32_t t = 0; t < self->n_buckets && n < max; t++) {
        uint32_t handle = self->buckets [t].first;
        while (handle != RUMOR_SLAB_NONE && n < max) {
            s_member_t *m = s_member_at (self, handle);
            s_member_pb (self, m, &self->pbs [n]);
            out [n] = &self->pbs [n];
            self->picked [n++] = m;
            handle = m->q_next;
        }
    }
    uint32_t limit = s_limit (self);
    for (size_t i = 0; i < n; i++) {
        s_member_t *m = self->picked [i];
        s_bucket_detach (self, m);
        m->transmits++;
        if (m->transmits < limit)
            s_bucket_add (self, m, false);
        else
            self->n_queued--;
    }
    return n;
}

//  --------------------------------------------------------------------------
//  Choosing peers

typedef bool (s_eligible_fn) (rumor_membership_t *self, s_member_t *m);

//  Gossip goes to alive and suspect members (a suspect may still refute),
//  and to members dead for less than gossip_to_dead_ms, so that one
//  wrongly declared dead hears it and refutes.
static bool
s_gossip_eligible (rumor_membership_t *self, s_member_t *m)
{
    switch (m->state) {
        case RUMOR__STATE__STATE_ALIVE:
        case RUMOR__STATE__STATE_SUSPECT:
            return true;
        case RUMOR__STATE__STATE_DEAD:
            return self->now - m->changed_at < self->cfg.gossip_to_dead_ms;
        default:
            return false;
    }
}

static bool
s_alive_eligible (rumor_membership_t *self, s_member_t *m)
{
    (void) self;
    return m->state == RUMOR__STATE__STATE_ALIVE;
}

static bool
s_dead_eligible (rumor_membership_t *self, s_member_t *m)
{
    (void) self;
    return m->state == RUMOR__STATE__STATE_DEAD;
}

static bool
s_contains (s_member_t **set, size_t n, s_member_t *m)
{
    for (size_t i = 0; i < n; i++)
        if (set [i] == m)
            return true;
    return false;
}

//  Choose up to k distinct eligible peers (never us) in random order. In a
//  big table a few random probes find them in O(k); a small table, or one
//  where few qualify, is shuffled whole.
static size_t
s_pick (rumor_membership_t *self, s_member_t **out, size_t k,
        s_eligible_fn *eligible)
{
    size_t peers = self->n_members - 1;
    size_t found = 0;
    if (k == 0 || peers == 0)
        return 0;
    if (peers > 4 * k) {
        for (size_t tries = 0; tries < 8 * k && found < k; tries++) {
            uint32_t slot = 1 + rumor_prng_below (&self->prng, (uint32_t) peers);
            s_member_t *m = s_member_of (self, slot);
            if (eligible (self, m) && !s_contains (out, found, m))
                out [found++] = m;
        }
        if (found == k)
            return found;
    }
    //  Rare in a big table: the candidates array is not kept (it would
    //  cost a slot per member in each of thousands of simulated nodes)
    s_member_t **scratch = (s_member_t **) malloc (
        self->n_members * sizeof (s_member_t *));
    assert (scratch);
    size_t candidates = 0;
    for (size_t i = 1; i < self->n_members; i++)
        if (eligible (self, s_member_of (self, i)))
            scratch [candidates++] = s_member_of (self, i);
    rumor_prng_shuffle (&self->prng, scratch, candidates,
                        sizeof (s_member_t *));
    found = candidates < k? candidates: k;
    memcpy (out, scratch, found * sizeof (s_member_t *));
    free (scratch);
    return found;
}

//  --------------------------------------------------------------------------
//  Effects

static const char *
s_endpoint_or_null (const char *endpoint)
{
    return endpoint && *endpoint? endpoint: NULL;
}

static void
s_emit (rumor_membership_t *self, const char *kind, s_member_t *m)
{
    Rumor__MemberUpdate pb;
    s_member_pb (self, m, &pb);
    rumor_fx_event (self->fx, kind, &pb.base, NULL);
}

static void
s_send (rumor_membership_t *self, const rumor_id_t *to, const char *endpoint,
        const Rumor__Envelope *env)
{
    endpoint = s_endpoint_or_null (endpoint);
    if (to || endpoint)
        rumor_fx_send (self->fx, to, endpoint, env);
}

typedef enum {
    S_TABLE_JOIN_REPLY,             //  answer to Join
    S_TABLE_PUSH,                   //  PushPull we start
    S_TABLE_PULL                    //  PushPull answering one
} s_table_kind_t;

static void
s_send_chunk (rumor_membership_t *self, const rumor_id_t *to,
              const char *endpoint, s_table_kind_t kind, bool first,
              Rumor__MemberUpdate **chunk, size_t n)
{
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    Rumor__JoinReply join_reply = RUMOR__JOIN_REPLY__INIT;
    Rumor__PushPull push_pull = RUMOR__PUSH_PULL__INIT;
    if (kind == S_TABLE_JOIN_REPLY) {
        join_reply.members = chunk;
        join_reply.n_members = n;
        env.body_case = RUMOR__ENVELOPE__BODY_JOIN_REPLY;
        env.join_reply = &join_reply;
    }
    else {
        push_pull.members = chunk;
        push_pull.n_members = n;
        //  Only the first chunk of a PushPull we start asks for an answer:
        //  the others are marked reply, "merge, do not answer", so a big
        //  table costs one answer, not one per chunk
        push_pull.reply = kind == S_TABLE_PULL || !first;
        env.body_case = RUMOR__ENVELOPE__BODY_PUSH_PULL;
        env.push_pull = &push_pull;
    }
    s_send (self, to, endpoint, &env);
}

//  Send our whole table (us first), cut in chunks the codec accepts
static void
s_send_table (rumor_membership_t *self, const rumor_id_t *to,
              const char *endpoint, s_table_kind_t kind)
{
    Rumor__MemberUpdate *chunk [S_CHUNK_MEMBERS];
    //  The chunk's wire forms (52 KB: heap, not an actor thread's stack)
    Rumor__MemberUpdate *pbs = (Rumor__MemberUpdate *) malloc (
        S_CHUNK_MEMBERS * sizeof (Rumor__MemberUpdate));
    assert (pbs);
    size_t n = 0;
    size_t bytes = 0;
    bool first = true;
    for (size_t i = 0; i < self->n_members; i++) {
        Rumor__MemberUpdate pb;
        s_member_pb (self, s_member_of (self, i), &pb);
        //  + 8: the field tag and length prefix around each member
        size_t size = rumor__member_update__get_packed_size (&pb) + 8;
        if (n == S_CHUNK_MEMBERS
        ||  (n > 0 && bytes + size > self->cfg.chunk_bytes)) {
            s_send_chunk (self, to, endpoint, kind, first, chunk, n);
            first = false;
            n = 0;
            bytes = 0;
        }
        pbs [n] = pb;
        chunk [n] = &pbs [n];
        n++;
        bytes += size;
    }
    s_send_chunk (self, to, endpoint, kind, first, chunk, n);
    free (pbs);
}

//  --------------------------------------------------------------------------
//  Applying updates: SWIM precedence, the one transition function

static int
s_rank (Rumor__State state)
{
    //  At equal incarnation DEAD/LEFT > SUSPECT > ALIVE
    return state == RUMOR__STATE__STATE_ALIVE? 0:
           state == RUMOR__STATE__STATE_SUSPECT? 1: 2;
}

//  Within one generation: > 0 if (inc, state) beats what we hold, 0 if
//  equal, < 0 if older
static int
s_precedence (uint32_t inc, Rumor__State state, const s_member_t *m)
{
    if (inc != m->incarnation)
        return inc > m->incarnation? 1: -1;
    return s_rank (state) - s_rank (m->state);
}

//  A generation is a start time: one far in our future is refused
static bool
s_is_future (rumor_membership_t *self, int64_t now, uint64_t generation)
{
    uint64_t horizon = (uint64_t) (now > 0? now: 0)
                     + (uint64_t) self->cfg.generation_tolerance_ms;
    return generation > horizon;
}

//  Take the update's generation, and its name, endpoint and tags as far
//  as it speaks for them
static void
s_take_fields (rumor_membership_t *self, s_member_t *m,
               const Rumor__MemberUpdate *up, bool all)
{
    //  Only the member's own ALIVE announcement (or a new generation)
    //  speaks for its name, endpoint and tags: suspect/dead/left updates
    //  from others may carry none
    const rumor_ident_t *who = s_who (self, m);
    s_member_set_ident (self, m, up->generation,
                        all || *up->name? up->name: who->name,
                        all || *up->endpoint? up->endpoint: who->endpoint);
    if (all || up->n_tags) {
        s_tag_t tags [RUMOR_TAGS_MAX];
        s_wire_tags (up->tags, up->n_tags, tags);
        if (!s_tags_equal (s_extra (self, m), tags, up->n_tags))
            s_member_set_tags (self, m, tags, up->n_tags);
    }
}

//  Move a member to the update's state: the single transition. restart:
//  the update is of a newer generation (or the member is new), which
//  replaces everything. queue: gossip the new entry.
static void
s_transition (rumor_membership_t *self, int64_t now, s_member_t *m,
              const Rumor__MemberUpdate *up, bool restart, bool queue)
{
    bool new_suspicion = up->state == RUMOR__STATE__STATE_SUSPECT
        && (restart || m->state != RUMOR__STATE__STATE_SUSPECT
                    || m->incarnation != up->incarnation);
    if (restart) {
        s_extra_t *extra = s_extra (self, m);
        if (extra)
            extra->join_sent = false;
    }
    m->incarnation = up->incarnation;
    s_set_state (self, m, up->state, now);
    //  A restart takes the new generation here (and the fields with it);
    //  otherwise the generation is the one held
    if (restart || up->state == RUMOR__STATE__STATE_ALIVE)
        s_take_fields (self, m, up, up->state == RUMOR__STATE__STATE_ALIVE);

    rumor_id_t accuser;
    if (rumor_id_from_bin (&accuser, up->accuser) == -1
    ||  up->state == RUMOR__STATE__STATE_ALIVE
    ||  up->state == RUMOR__STATE__STATE_LEFT)
        memset (&accuser, 0, sizeof (accuser));
    s_set_accuser (self, m, &accuser);
    if (up->state != RUMOR__STATE__STATE_SUSPECT || new_suspicion)
        s_member_clear_accusers (self, m);
    if (new_suspicion && !rumor_id_is_zero (&accuser))
        s_member_accuse (self, m, &accuser);
    s_extra_tidy (self, m);

    m->changed_at = now;
    s_emit (self, "member", m);
    if (queue)
        s_queue (self, m);
    self->stats.updates_applied++;
    s_trace_update (self, "member", up);
}

//  Same suspicion heard again: a new accuser is a Lifeguard confirmation,
//  told to the detector (unless it is our own detector, which knows) and
//  gossiped on so others count it too
static s_outcome_t
s_confirm (rumor_membership_t *self, s_member_t *m,
           const Rumor__MemberUpdate *up)
{
    rumor_id_t accuser;
    if (up->state != RUMOR__STATE__STATE_SUSPECT
    ||  rumor_id_from_bin (&accuser, up->accuser) == -1
    ||  !s_member_accuse (self, m, &accuser)) {
        self->stats.duplicates++;
        return S_KNOWN;
    }
    s_set_accuser (self, m, &accuser);
    if (!rumor_id_eq (&accuser, &self->cfg.self)) {
        s_emit (self, "confirm", m);
        self->stats.confirmations++;
        s_trace_update (self, "confirm", up);
    }
    s_queue (self, m);
    return S_KNOWN;
}

//  Send one member's entry as it stands to one member, now, as a
//  MemberUpdates of one: for news that cannot wait for gossip
static void
s_send_entry (rumor_membership_t *self, const s_member_t *about,
              const s_member_t *to)
{
    Rumor__MemberUpdate up;
    s_member_pb (self, about, &up);
    Rumor__MemberUpdate *one = &up;
    Rumor__MemberUpdates updates = RUMOR__MEMBER_UPDATES__INIT;
    updates.updates = &one;
    updates.n_updates = 1;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_UPDATES;
    env.updates = &updates;
    s_send (self, s_id (self, to), s_who (self, to)->endpoint, &env);
}

//  Lifeguard's buddy system, without waiting for a probe: the member our
//  own detector suspects hears it from us at once. By gossip it would
//  hear after some log3 N rounds, time taken from its suspicion timeout;
//  a node starved while a cluster forms needed most of that timeout to
//  refute, and too often ran out of it (false deaths).
static void
s_tell_suspect (rumor_membership_t *self, const s_member_t *m)
{
    if (m == self->me || m->state != RUMOR__STATE__STATE_SUSPECT)
        return;
    s_send_entry (self, m, m);
    self->stats.suspects_told++;
}

//  The accuser of a suspicion of us (or a death) hears our refutation at
//  once: it heard the suspicion first, so its timeout ends first
static void
s_tell_accuser (rumor_membership_t *self, const Rumor__MemberUpdate *up)
{
    rumor_id_t accuser;
    if (up->state == RUMOR__STATE__STATE_ALIVE
    ||  rumor_id_from_bin (&accuser, up->accuser) == -1)
        return;
    s_member_t *m = s_lookup (self, &accuser);
    if (!m || m == self->me || !s_gossip_eligible (self, m))
        return;
    s_send_entry (self, self->me, m);
    self->stats.refutes_told++;
}

//  Raise our incarnation above inc and gossip ourselves ALIVE
static void
s_refute (rumor_membership_t *self, int64_t now, uint32_t inc)
{
    s_member_t *me = self->me;
    me->incarnation = inc + 1;
    s_set_state (self, me, RUMOR__STATE__STATE_ALIVE, now);
    me->changed_at = now;
    s_emit (self, "member", me);
    s_queue (self, me);
    self->stats.refuted++;
    s_trace_id (self, "refute", s_id (self, me), s_who (self, me)->generation,
                me->incarnation, me->state);
}

//  An update about our own id
static s_outcome_t
s_apply_self (rumor_membership_t *self, int64_t now,
              const Rumor__MemberUpdate *up)
{
    uint64_t generation = s_who (self, self->me)->generation;
    uint32_t mine = self->me->incarnation;
    if (up->generation < generation) {
        //  Gossip about our previous run: old news, refused
        self->stats.stale_self++;
        return S_REFUSED;
    }
    if (up->generation > generation) {
        //  Someone started later with our id. Not ours to fight over:
        //  count it, keep going, and do not flap by answering
        self->stats.self_conflict++;
        s_trace_update (self, "SELF-CONFLICT", up);
        return S_REFUSED;
    }
    if (self->leaving) {
        //  We are going: nothing about us is worth refuting now
        self->stats.duplicates++;
        return S_KNOWN;
    }
    if (up->incarnation < mine) {
        self->stats.stale_incarnation++;
        return S_STALE;
    }
    if (up->state == RUMOR__STATE__STATE_ALIVE && up->incarnation == mine) {
        self->stats.duplicates++;
        return S_KNOWN;
    }
    //  SUSPECT/DEAD/LEFT at or above our incarnation, or ALIVE above it:
    //  only we speak for ourselves, so refute
    if (up->incarnation == UINT32_MAX) {
        self->stats.absurd_incarnation++;
        return S_REFUSED;
    }
    s_refute (self, now, up->incarnation);
    s_tell_accuser (self, up);
    return S_NEWS;
}

//  An update about a member we do not know
static s_outcome_t
s_apply_new (rumor_membership_t *self, int64_t now, const rumor_id_t *id,
             const Rumor__MemberUpdate *up, bool queue)
{
    if (up->state != RUMOR__STATE__STATE_ALIVE) {
        //  Like memberlist: only the member's own ALIVE brings it in; a
        //  suspicion or death of a stranger tells us nothing useful
        self->stats.unknown_member++;
        return S_REFUSED;
    }
    if (self->n_members >= self->cfg.max_members) {
        self->stats.table_full++;
        s_trace_update (self, "TABLE-FULL", up);
        return S_REFUSED;
    }
    //  A first peer: settle with early push-pulls (settle_interval_ms),
    //  or start the regular ones a period from now, not at once (we just
    //  got or gave a full table)
    if (s_alive_peers (self) == 0 && self->settle_next == 0
    &&  self->cfg.settle_interval_ms > 0 && self->push_pull_at > now)
        self->settle_next = self->cfg.settle_interval_ms;
    if (self->settle_next > 0)
        self->push_pull_at = now + self->settle_next;
    else
    if (s_alive_peers (self) == 0 && self->push_pull_at <= now)
        self->push_pull_at = now + self->cfg.push_pull_interval_ms;
    //  Made with the identity the transition gives it (the update is
    //  ALIVE: it speaks for its name and endpoint)
    uint32_t handle = s_member_new (self, id, up->generation, up->name,
                                    up->endpoint);
    s_insert (self, handle);
    s_transition (self, now, s_member_at (self, handle), up, true, queue);
    return S_NEWS;
}

//  Apply one update. queue_new: gossip members we learn of (false for a
//  JoinReply: its members are known to the responder's cluster already).
static s_outcome_t
s_apply (rumor_membership_t *self, int64_t now, const Rumor__MemberUpdate *up,
         bool queue_new)
{
    rumor_id_t id;
    if (!rumor_codec_valid_member (up) || rumor_id_from_bin (&id, up->id)) {
        self->stats.bad_input++;
        return S_REFUSED;
    }
    if (s_is_future (self, now, up->generation)) {
        self->stats.future_generation++;
        s_trace_update (self, "FUTURE-GENERATION", up);
        return S_REFUSED;
    }
    if (rumor_id_eq (&id, &self->cfg.self))
        return s_apply_self (self, now, up);
    s_member_t *m = s_lookup (self, &id);
    if (!m)
        return s_apply_new (self, now, &id, up, queue_new);
    if (up->generation < s_who (self, m)->generation) {
        self->stats.stale_generation++;
        return S_REFUSED;
    }
    if (up->generation > s_who (self, m)->generation) {
        //  A restarted node replaces its old entry
        s_transition (self, now, m, up, true, true);
        return S_NEWS;
    }
    int order = s_precedence (up->incarnation, up->state, m);
    if (order < 0) {
        self->stats.stale_incarnation++;
        return S_STALE;
    }
    if (order == 0)
        return s_confirm (self, m, up);
    s_transition (self, now, m, up, false, true);
    return S_NEWS;
}

//  Apply a batch; -1 if any update was refused or stale
static int
s_merge (rumor_membership_t *self, int64_t now,
         Rumor__MemberUpdate **updates, size_t n, bool queue_new)
{
    if (n > self->cfg.max_members) {
        //  More entries than we would ever hold: absurd, refuse it whole
        self->stats.oversized_batch++;
        return -1;
    }
    if (n && !updates) {
        self->stats.bad_input++;
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        s_outcome_t outcome = s_apply (self, now, updates [i], queue_new);
        if (outcome == S_STALE || outcome == S_REFUSED)
            rc = -1;
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Message handlers: validate, apply, emit

static void
s_touch (rumor_membership_t *self, int64_t now)
{
    if (now > self->now)
        self->now = now;
    if (!self->started) {
        self->started = true;
        //  First push-pull at a random point of the first period, so that
        //  nodes started together do not sync in lockstep
        int64_t period = self->cfg.push_pull_interval_ms;
        self->push_pull_at = now + period / 2
            + rumor_prng_below (&self->prng, (uint32_t) (period / 2 + 1));
        self->reconnect_at = now + self->cfg.reconnect_interval_ms;
    }
}

//  Join: add the joiner, gossip it, answer with our table
static int
s_handle_join (rumor_membership_t *self, int64_t now, const Rumor__Envelope *env)
{
    const Rumor__MemberUpdate *up = env->join? env->join->self: NULL;
    if (!up || up->state != RUMOR__STATE__STATE_ALIVE) {
        self->stats.bad_input++;
        return -1;
    }
    if (rumor_id_eq_bin (&self->cfg.self, up->id)) {
        //  Our own id: our own Join looped back, or an impostor
        self->stats.join_self++;
        return -1;
    }
    rumor_id_t joiner;
    if (rumor_id_from_bin (&joiner, up->id) == -1
    ||  !rumor_id_eq_bin (&joiner, env->sender)) {
        self->stats.join_mismatch++;
        return -1;
    }
    //  A stale joiner (we hold it DEAD at its incarnation) still gets our
    //  table: seeing its own death there, it refutes
    if (s_apply (self, now, up, true) == S_REFUSED)
        return -1;
    s_send_table (self, &joiner, up->endpoint, S_TABLE_JOIN_REPLY);
    self->stats.joins_answered++;
    return 0;
}

static int
s_handle_join_reply (rumor_membership_t *self, int64_t now,
                     const Rumor__Envelope *env)
{
    if (!env->join_reply) {
        self->stats.bad_input++;
        return -1;
    }
    int rc = s_merge (self, now, env->join_reply->members,
                      env->join_reply->n_members, false);
    //  Announce ourselves to the table we just learned, as memberlist's
    //  setAlive does: the seed's gossip alone dies out while the cluster
    //  is small and fast-growing (its retransmit limit follows log N), and
    //  members that joined just before us would miss us until push-pull
    if (!self->leaving)
        s_queue (self, self->me);
    return rc;
}

//  Leave: the sender spreads its LEFT; we take it as a LEFT update
static int
s_handle_leave (rumor_membership_t *self, int64_t now, const Rumor__Envelope *env)
{
    rumor_id_t sender;
    if (!env->leave || rumor_id_from_bin (&sender, env->sender) == -1) {
        self->stats.bad_input++;
        return -1;
    }
    if (!s_lookup (self, &sender)) {
        self->stats.unknown_sender++;
        return -1;
    }
    Rumor__MemberUpdate up = RUMOR__MEMBER_UPDATE__INIT;
    up.id = env->sender;
    up.generation = env->generation;
    up.incarnation = env->leave->incarnation;
    up.state = RUMOR__STATE__STATE_LEFT;
    s_outcome_t outcome = s_apply (self, now, &up, true);
    return outcome == S_NEWS || outcome == S_KNOWN? 0: -1;
}

static int
s_handle_updates (rumor_membership_t *self, int64_t now,
                  const Rumor__Envelope *env)
{
    if (!env->updates) {
        self->stats.bad_input++;
        return -1;
    }
    return s_merge (self, now, env->updates->updates,
                    env->updates->n_updates, true);
}

//  PushPull: merge the sender's table, and answer with ours unless this
//  is itself an answer
static int
s_handle_push_pull (rumor_membership_t *self, int64_t now,
                    const Rumor__Envelope *env)
{
    const Rumor__PushPull *push_pull = env->push_pull;
    rumor_id_t sender;
    if (!push_pull || rumor_id_from_bin (&sender, env->sender) == -1) {
        self->stats.bad_input++;
        return -1;
    }
    if (push_pull->n_members > self->cfg.max_members) {
        self->stats.oversized_batch++;
        return -1;
    }
    int rc = s_merge (self, now, push_pull->members, push_pull->n_members, true);
    if (!push_pull->reply && !rumor_id_eq (&sender, &self->cfg.self)) {
        s_member_t *peer = s_lookup (self, &sender);
        s_send_table (self, &sender, peer? s_who (self, peer)->endpoint: NULL, S_TABLE_PULL);
        self->stats.push_pulls_answered++;
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Rounds

static void
s_gossip_round (rumor_membership_t *self, int64_t now)
{
    self->gossip_at = now + self->cfg.gossip_interval_ms;
    size_t n = s_pick (self, self->targets, self->cfg.gossip_fanout,
                       s_gossip_eligible);
    for (size_t i = 0; i < n; i++) {
        size_t k = s_select (self, self->batch, self->cfg.max_piggyback);
        if (k == 0)
            break;
        Rumor__MemberUpdates updates = RUMOR__MEMBER_UPDATES__INIT;
        updates.updates = self->batch;
        updates.n_updates = k;
        Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
        env.body_case = RUMOR__ENVELOPE__BODY_UPDATES;
        env.updates = &updates;
        s_member_t *target = self->targets [i];
        s_send (self, s_id (self, target), s_who (self, target)->endpoint, &env);
        self->stats.gossip_sent++;
    }
    //  A round's batch may be max_piggyback wire forms (28 KB by default):
    //  not kept between rounds by each of thousands of simulated nodes
    s_release_pbs (self);
}

//  memberlist's pushPullScale: one more period per doubling past 32
static int64_t
s_push_pull_interval (rumor_membership_t *self)
{
    int64_t interval = self->cfg.push_pull_interval_ms;
    if (self->n_members <= S_PUSH_PULL_SCALE_THRESHOLD)
        return interval;
    double multiplier = ceil (log2 ((double) self->n_members)
                              - log2 ((double) S_PUSH_PULL_SCALE_THRESHOLD)) + 1.0;
    return (int64_t) multiplier * interval;
}

static void
s_push_pull_round (rumor_membership_t *self, int64_t now)
{
    int64_t interval = s_push_pull_interval (self);
    if (self->settle_next > 0) {
        //  Settling: double the early period until it reaches the regular
        self->settle_next *= 2;
        if (self->settle_next >= interval)
            self->settle_next = 0;
        else
            interval = self->settle_next;
    }
    self->push_pull_at = now + interval;
    s_member_t *peer;
    if (self->leaving || s_pick (self, &peer, 1, s_alive_eligible) == 0)
        return;
    s_send_table (self, s_id (self, peer), s_who (self, peer)->endpoint, S_TABLE_PUSH);
    self->stats.push_pulls_sent++;
}

//  Remove DEAD/LEFT entries older than reap_after_ms; others keep their
//  own timers, so no event
static void
s_reap (rumor_membership_t *self, int64_t now)
{
    self->reap_at = -1;
    //  Downwards: s_remove moves the last entry, already seen, into the gap
    for (size_t i = self->n_members; i-- > 1;) {
        s_member_t *m = s_member_of (self, i);
        if (!s_is_gone (m->state))
            continue;
        int64_t due = m->changed_at + self->cfg.reap_after_ms;
        if (due <= now) {
            s_trace_id (self, "reap", s_id (self, m), s_who (self, m)->generation,
                        m->incarnation, m->state);
            s_remove (self, m);
            self->stats.reaped++;
        }
        else
        if (self->reap_at < 0 || due < self->reap_at)
            self->reap_at = due;
    }
}

//  --------------------------------------------------------------------------
//  Lifecycle

void
rumor_membership_cfg_defaults (rumor_membership_cfg_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof (*cfg));
    cfg->gossip_interval_ms = RUMOR_MEMBERSHIP_GOSSIP_INTERVAL_DFLT;
    cfg->gossip_fanout = RUMOR_MEMBERSHIP_GOSSIP_FANOUT_DFLT;
    cfg->retransmit_mult = RUMOR_MEMBERSHIP_RETRANSMIT_MULT_DFLT;
    cfg->push_pull_interval_ms = RUMOR_MEMBERSHIP_PUSH_PULL_INTERVAL_DFLT;
    cfg->reap_after_ms = RUMOR_MEMBERSHIP_REAP_AFTER_DFLT;
    cfg->gossip_to_dead_ms = RUMOR_MEMBERSHIP_GOSSIP_TO_DEAD_DFLT;
    cfg->max_members = RUMOR_MEMBERSHIP_MAX_MEMBERS_DFLT;
    cfg->max_piggyback = RUMOR_MEMBERSHIP_MAX_PIGGYBACK_DFLT;
    cfg->generation_tolerance_ms = RUMOR_MEMBERSHIP_GENERATION_TOLERANCE_DFLT;
    cfg->max_accusers = RUMOR_MEMBERSHIP_MAX_ACCUSERS_DFLT;
    cfg->rejoin_interval_ms = RUMOR_MEMBERSHIP_REJOIN_INTERVAL_DFLT;
    cfg->beacon_join_spread = true;
    cfg->settle_interval_ms = RUMOR_MEMBERSHIP_SETTLE_INTERVAL_DFLT;
    cfg->reconnect_interval_ms = RUMOR_MEMBERSHIP_RECONNECT_INTERVAL_DFLT;
    cfg->seed_retry_ms = RUMOR_MEMBERSHIP_SEED_RETRY_DFLT;
    cfg->seed_retry_max_ms = RUMOR_MEMBERSHIP_SEED_RETRY_MAX_DFLT;
    cfg->chunk_bytes = S_CHUNK_BYTES;
}

static bool
s_valid_cfg (const rumor_membership_cfg_t *cfg)
{
    return cfg->gossip_interval_ms > 0
        && cfg->gossip_fanout >= 1 && cfg->gossip_fanout <= S_FANOUT_MAX
        && cfg->retransmit_mult >= 1
        && cfg->retransmit_mult <= S_RETRANSMIT_MULT_MAX
        && cfg->push_pull_interval_ms > 0
        && cfg->push_pull_interval_ms <= INT32_MAX
        && cfg->reap_after_ms >= 0
        && cfg->gossip_to_dead_ms >= 0
        && cfg->max_members >= 1 && cfg->max_members <= UINT32_MAX
        && cfg->max_piggyback >= 1 && cfg->max_piggyback <= RUMOR_REPEATED_MAX
        && cfg->generation_tolerance_ms >= 0
        && cfg->max_accusers >= 1 && cfg->max_accusers <= RUMOR_REPEATED_MAX
        && cfg->rejoin_interval_ms >= 0
        && cfg->settle_interval_ms >= 0
        && cfg->reconnect_interval_ms > 0
        && cfg->seed_retry_ms > 0
        && cfg->seed_retry_max_ms >= cfg->seed_retry_ms
        && cfg->chunk_bytes >= S_CHUNK_BYTES_MIN
        && cfg->chunk_bytes <= S_CHUNK_BYTES
        && (!cfg->name || rumor_codec_valid_string (cfg->name, RUMOR_NAME_MAX))
        && (!cfg->endpoint
            || rumor_codec_valid_string (cfg->endpoint, RUMOR_NAME_MAX));
}

rumor_membership_t *
rumor_membership_new (const rumor_membership_cfg_t *cfg)
{
    assert (cfg);
    s_tag_t tags [RUMOR_TAGS_MAX];
    if (!s_valid_cfg (cfg) || s_parse_tags (cfg->tags, cfg->n_tags, tags))
        return NULL;

    rumor_membership_t *self = (rumor_membership_t *) zmalloc (sizeof (*self));
    assert (self);
    self->cfg = *cfg;
    self->cfg.name = NULL;
    self->cfg.endpoint = NULL;
    self->cfg.tags = NULL;
    self->cfg.n_tags = 0;
    self->fx = rumor_fx_new ();
    rumor_prng_seed (&self->prng, cfg->seed);

    self->idents = cfg->idents? rumor_ident_pool_link (cfg->idents)
                              : rumor_ident_pool_new ();
    self->cfg.idents = NULL;        //  ours is self->idents
    rumor_slab_init (&self->slab, sizeof (s_member_t), 8);
    rumor_id_table_init (&self->index, s_member_key, self);
    rumor_slab_init (&self->extras, sizeof (s_extra_t), 4);
    rumor_id_table_init (&self->extra_index, s_extra_key, self);

    self->capacity = 16;
    self->members = (uint32_t *) calloc (self->capacity, sizeof (uint32_t));
    self->targets = (s_member_t **) calloc (cfg->gossip_fanout, sizeof (s_member_t *));
    self->batch = (Rumor__MemberUpdate **) calloc (cfg->max_piggyback,
                                                   sizeof (Rumor__MemberUpdate *));
    assert (self->members && self->targets && self->batch);

    self->n_buckets = s_retransmit_limit (cfg->retransmit_mult, cfg->max_members);
    self->buckets = (s_bucket_t *) malloc (self->n_buckets * sizeof (s_bucket_t));
    assert (self->buckets);
    for (uint32_t t = 0; t < self->n_buckets; t++)
        self->buckets [t].first = self->buckets [t].last = RUMOR_SLAB_NONE;
    self->reap_at = -1;

    uint32_t handle = s_member_new (self, &cfg->self, cfg->generation,
                                    cfg->name, cfg->endpoint);
    self->me = s_member_at (self, handle);
    s_member_set_tags (self, self->me, tags, cfg->n_tags);
    s_insert (self, handle);
    return self;
}

void
rumor_membership_destroy (rumor_membership_t **self_p)
{
    assert (self_p);
    rumor_membership_t *self = *self_p;
    if (!self)
        return;
    free (self->buckets);
    for (size_t i = 0; i < self->n_members; i++)
        s_member_destroy (self, self->members [i]);
    for (size_t i = 0; i < self->n_seeds; i++)
        free (self->seeds [i]);
    rumor_id_table_clear (&self->index);
    rumor_id_table_clear (&self->extra_index);
    rumor_slab_clear (&self->extras);
    rumor_slab_clear (&self->slab);
    rumor_ident_pool_destroy (&self->idents);
    free (self->members);
    free (self->targets);
    free (self->batch);
    s_release_pbs (self);
    rumor_fx_destroy (&self->fx);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Inputs

int
rumor_membership_on_message (rumor_membership_t *self, int64_t now_ms,
                             const Rumor__Envelope *env)
{
    assert (self);
    assert (env);
    s_touch (self, now_ms);
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_JOIN:
            return s_handle_join (self, now_ms, env);
        case RUMOR__ENVELOPE__BODY_JOIN_REPLY:
            return s_handle_join_reply (self, now_ms, env);
        case RUMOR__ENVELOPE__BODY_LEAVE:
            return s_handle_leave (self, now_ms, env);
        case RUMOR__ENVELOPE__BODY_UPDATES:
            return s_handle_updates (self, now_ms, env);
        case RUMOR__ENVELOPE__BODY_PUSH_PULL:
            return s_handle_push_pull (self, now_ms, env);
        default:
            //  Not a membership body: the shell routed it wrong
            self->stats.bad_input++;
            return -1;
    }
}

int
rumor_membership_on_piggyback (rumor_membership_t *self, int64_t now_ms,
                               const Rumor__Envelope *env)
{
    assert (self);
    assert (env);
    s_touch (self, now_ms);
    int rc = s_merge (self, now_ms, env->piggyback, env->n_piggyback, true);
    //  A frame from a member proves it alive at the header's incarnation:
    //  a refutation that needs no gossip
    rumor_id_t sender;
    if (rumor_id_from_bin (&sender, env->sender) == 0) {
        s_member_t *m = s_lookup (self, &sender);
        if (m && m != self->me && s_who (self, m)->generation == env->generation
        &&  env->incarnation > m->incarnation
        &&  (m->state == RUMOR__STATE__STATE_SUSPECT
             || m->state == RUMOR__STATE__STATE_DEAD)) {
            Rumor__MemberUpdate up;
            s_member_pb (self, m, &up);
            up.state = RUMOR__STATE__STATE_ALIVE;
            up.incarnation = env->incarnation;
            up.accuser.len = 0;
            up.accuser.data = NULL;
            s_apply (self, now_ms, &up, true);
        }
    }
    return rc;
}

int
rumor_membership_on_event (rumor_membership_t *self, int64_t now_ms,
                           const char *kind, const ProtobufCMessage *detail)
{
    assert (self);
    s_touch (self, now_ms);
    Rumor__State state;
    if (kind && streq (kind, "suspect"))
        state = RUMOR__STATE__STATE_SUSPECT;
    else
    if (kind && streq (kind, "dead"))
        state = RUMOR__STATE__STATE_DEAD;
    else {
        self->stats.bad_input++;
        return -1;
    }
    const Rumor__MemberUpdate *up = (const Rumor__MemberUpdate *) detail;
    if (!detail || detail->descriptor != &rumor__member_update__descriptor
    ||  up->state != state) {
        self->stats.bad_input++;
        return -1;
    }
    s_outcome_t outcome = s_apply (self, now_ms, up, true);
    if (outcome != S_NEWS && outcome != S_KNOWN)
        return -1;
    rumor_id_t id;
    s_member_t *m = rumor_id_from_bin (&id, up->id) == 0? s_lookup (self, &id)
                                                         : NULL;
    if (m && state == RUMOR__STATE__STATE_SUSPECT)
        s_tell_suspect (self, m);
    return 0;
}

static void
s_send_join (rumor_membership_t *self, const rumor_id_t *to,
             const char *endpoint)
{
    Rumor__Join join = RUMOR__JOIN__INIT;
    Rumor__MemberUpdate me;
    s_member_pb (self, self->me, &me);
    join.self = &me;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_JOIN;
    env.join = &join;
    s_send (self, to, endpoint, &env);
    self->stats.joins_sent++;
}

//  Remember a seed endpoint (once) and restart the retry backoff
static void
s_remember_seed (rumor_membership_t *self, int64_t now, const char *endpoint)
{
    self->seed_backoff = self->cfg.seed_retry_ms;
    self->seed_retry_at = now + self->seed_backoff;
    for (size_t i = 0; i < self->n_seeds; i++)
        if (streq (self->seeds [i], endpoint))
            return;
    if (self->n_seeds == RUMOR_MEMBERSHIP_SEEDS_MAX)
        return;                     //  enough seeds to find the cluster
    self->seeds [self->n_seeds] = strdup (endpoint);
    assert (self->seeds [self->n_seeds]);
    self->n_seeds++;
}

//  Alone (no live peer) with seeds to try, and the backoff has run out
static bool
s_seed_retry_due (rumor_membership_t *self, int64_t now)
{
    return self->n_seeds && !self->leaving && s_alive_peers (self) == 0
        && now >= self->seed_retry_at;
}

//  Join every seed again, and back off: a lost Join, a seed that started
//  after us, or a partition that left us alone must not keep us alone
static void
s_seed_retry (rumor_membership_t *self, int64_t now)
{
    for (size_t i = 0; i < self->n_seeds; i++)
        s_send_join (self, NULL, self->seeds [i]);
    self->seed_backoff *= 2;
    if (self->seed_backoff > self->cfg.seed_retry_max_ms)
        self->seed_backoff = self->cfg.seed_retry_max_ms;
    self->seed_retry_at = now + self->seed_backoff;
}

void
rumor_membership_on_tick (rumor_membership_t *self, int64_t now_ms)
{
    assert (self);
    s_touch (self, now_ms);
    if (self->reap_at >= 0 && now_ms >= self->reap_at)
        s_reap (self, now_ms);
    if (self->n_queued && now_ms >= self->gossip_at)
        s_gossip_round (self, now_ms);
    if (now_ms >= self->push_pull_at)
        s_push_pull_round (self, now_ms);
    if (s_seed_retry_due (self, now_ms))
        s_seed_retry (self, now_ms);
    if (self->started && now_ms >= self->reconnect_at) {
        //  Serf's reconnect: a partition's other side is all DEAD to us,
        //  and push-pull only goes to ALIVE members
        self->reconnect_at = now_ms + self->cfg.reconnect_interval_ms;
        s_member_t *peer;
        if (!self->leaving && s_pick (self, &peer, 1, s_dead_eligible) == 1)
            s_send_table (self, s_id (self, peer), s_who (self, peer)->endpoint, S_TABLE_PUSH);
    }
}

static int64_t
s_earlier (int64_t a, int64_t b)
{
    return a < 0? b: b < 0? a: a < b? a: b;
}

int64_t
rumor_membership_next_deadline (rumor_membership_t *self)
{
    assert (self);
    int64_t deadline = self->reap_at;
    if (self->n_queued)
        deadline = s_earlier (deadline, self->gossip_at);
    if (self->started && !self->leaving && s_alive_peers (self))
        deadline = s_earlier (deadline, self->push_pull_at);
    if (self->started && !self->leaving
    &&  self->counts [RUMOR__STATE__STATE_DEAD])
        deadline = s_earlier (deadline, self->reconnect_at);
    if (self->n_seeds && !self->leaving && s_alive_peers (self) == 0)
        deadline = s_earlier (deadline, self->seed_retry_at);
    return deadline;
}

zframe_t *
rumor_membership_next_effect (rumor_membership_t *self)
{
    assert (self);
    return rumor_fx_pop (self->fx);
}

const rumor_membership_stats_t *
rumor_membership_stats (rumor_membership_t *self)
{
    assert (self);
    return &self->stats;
}

//  --------------------------------------------------------------------------
//  API commands

//  An endpoint peers will accept: the codec refuses any frame carrying an
//  endpoint that is not "tcp://HOST:PORT" (found by fuzz_membership: a
//  join or our own endpoint set to anything else cut us off)
static bool
s_valid_endpoint (const char *endpoint)
{
    return endpoint && *endpoint && rumor_codec_valid_endpoint (endpoint);
}


int
rumor_membership_join (rumor_membership_t *self, int64_t now_ms,
                       const char *endpoint)
{
    assert (self);
    s_touch (self, now_ms);
    if (self->leaving || !s_valid_endpoint (endpoint)) {
        self->stats.bad_input++;
        return -1;
    }
    s_remember_seed (self, now_ms, endpoint);
    s_send_join (self, NULL, endpoint);
    return 0;
}

int
rumor_membership_join_id (rumor_membership_t *self, int64_t now_ms,
                          const rumor_id_t *id, uint64_t generation,
                          const char *endpoint)
{
    assert (self);
    assert (id);
    s_touch (self, now_ms);
    if (self->leaving || !s_valid_endpoint (endpoint)) {
        self->stats.bad_input++;
        return -1;
    }
    if (rumor_id_eq (id, &self->cfg.self)) {
        if (generation > self->cfg.generation)
            self->stats.self_conflict++;
        else
        if (generation < self->cfg.generation)
            self->stats.stale_self++;
        else
            return 0;               //  our own beacon, heard back
        return -1;
    }
    if (s_is_future (self, now_ms, generation)) {
        self->stats.future_generation++;
        return -1;
    }
    s_member_t *m = s_lookup (self, id);
    if (m) {
        if (generation < s_who (self, m)->generation) {
            self->stats.stale_generation++;
            return -1;
        }
        //  Known and not dead at that generation: nothing to do. A member
        //  we hold DEAD but still hear is rejoined, which lets it refute
        if (generation == s_who (self, m)->generation
        &&  m->state != RUMOR__STATE__STATE_DEAD)
            return 0;
        const s_extra_t *sent = s_extra (self, m);
        if (sent && sent->join_sent
        &&  now_ms - sent->join_sent_at < self->cfg.rejoin_interval_ms)
            return 0;
        s_extra_t *extra = s_extra_new (self, m);
        extra->join_sent = true;
        extra->join_sent_at = now_ms;
    }
    else
    if (self->cfg.beacon_join_spread && s_alive_peers (self) == 0) {
        //  New to us, and we are alone: a few Joins, then wait for an
        //  answer (RUMOR_MEMBERSHIP_ALONE_JOINS)
        //  (a clock that went back starts a window too, never a long wait)
        if (now_ms < self->alone_joins_at
        ||  now_ms - self->alone_joins_at >= RUMOR_MEMBERSHIP_ALONE_JOIN_WAIT) {
            self->alone_joins_at = now_ms;
            self->alone_joins = 0;
        }
        if (self->alone_joins >= RUMOR_MEMBERSHIP_ALONE_JOINS) {
            self->stats.joins_deferred++;
            return 0;
        }
        self->alone_joins++;
    }
    else
    if (self->cfg.beacon_join_spread) {
        //  New to us: in a small cluster we join it, in a larger one maybe
        //  (see the cfg)
        size_t peers = s_alive_peers (self);
        if (peers + 1 > RUMOR_MEMBERSHIP_JOIN_SHARE && peers < UINT32_MAX
        &&  rumor_prng_below (&self->prng, (uint32_t) peers + 1)
            >= RUMOR_MEMBERSHIP_JOIN_SHARE) {
            self->stats.joins_deferred++;
            return 0;
        }
    }
    s_send_join (self, id, endpoint);
    return 0;
}

void
rumor_membership_leave (rumor_membership_t *self, int64_t now_ms)
{
    assert (self);
    s_touch (self, now_ms);
    if (self->leaving)
        return;
    self->leaving = true;
    s_member_t *me = self->me;
    if (me->incarnation < UINT32_MAX)
        me->incarnation++;
    s_set_state (self, me, RUMOR__STATE__STATE_LEFT, now_ms);
    me->changed_at = now_ms;
    s_emit (self, "member", me);
    s_queue (self, me);
    s_trace_id (self, "leave", s_id (self, me), s_who (self, me)->generation,
                me->incarnation, me->state);

    Rumor__Leave leave = RUMOR__LEAVE__INIT;
    leave.incarnation = me->incarnation;
    Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
    env.body_case = RUMOR__ENVELOPE__BODY_LEAVE;
    env.leave = &leave;
    //  Tell up to S_LEAVE_DIRECT_MAX members at once rather than a gossip
    //  fanout: a member that has a connection to us sees it drop when we
    //  stop, and may declare us dead (conclusive lost-peer evidence) before
    //  gossip brings it our Leave. Told directly, it knows first. Past that
    //  many the rest learn it by gossip, as before
    size_t sent = 0;
    for (size_t i = 1; i < self->n_members && sent < S_LEAVE_DIRECT_MAX; i++) {
        s_member_t *m = s_member_of (self, i);
        if (!s_gossip_eligible (self, m))
            continue;
        s_send (self, s_id (self, m), s_who (self, m)->endpoint, &env);
        self->stats.leaves_sent++;
        sent++;
    }
}

bool
rumor_membership_leave_done (rumor_membership_t *self)
{
    assert (self);
    if (!self->leaving)
        return false;
    if (!(self->me->flags & S_QUEUED))
        return true;
    //  Still queued: done anyway if there is no one left to tell
    for (size_t i = 1; i < self->n_members; i++)
        if (s_gossip_eligible (self, s_member_of (self, i)))
            return false;
    return true;
}

//  Our entry changed: raise our incarnation and gossip it. -1 if we cannot
//  raise it any more.
static int
s_announce_self (rumor_membership_t *self, int64_t now)
{
    s_member_t *me = self->me;
    if (me->incarnation == UINT32_MAX) {
        self->stats.absurd_incarnation++;
        return -1;
    }
    me->incarnation++;
    me->changed_at = now;
    s_emit (self, "member", me);
    s_queue (self, me);
    return 0;
}

int
rumor_membership_set_tags (rumor_membership_t *self, int64_t now_ms,
                           const char *const *tags, size_t n)
{
    assert (self);
    s_touch (self, now_ms);
    s_tag_t parsed [RUMOR_TAGS_MAX];
    if (self->leaving || s_parse_tags (tags, n, parsed)
    ||  self->me->incarnation == UINT32_MAX) {
        self->stats.bad_input++;
        return -1;
    }
    s_member_set_tags (self, self->me, parsed, n);
    return s_announce_self (self, now_ms);
}

int
rumor_membership_set_endpoint (rumor_membership_t *self, int64_t now_ms,
                               const char *endpoint)
{
    assert (self);
    s_touch (self, now_ms);
    if (self->leaving || !s_valid_endpoint (endpoint)
    ||  self->me->incarnation == UINT32_MAX) {
        self->stats.bad_input++;
        return -1;
    }
    const rumor_ident_t *me = s_who (self, self->me);
    s_member_set_ident (self, self->me, me->generation, me->name, endpoint);
    return s_announce_self (self, now_ms);
}

uint32_t
rumor_membership_incarnation (rumor_membership_t *self)
{
    assert (self);
    return self->me->incarnation;
}

//  --------------------------------------------------------------------------
//  Views

const rumor_member_t *
rumor_membership_lookup (rumor_membership_t *self, const rumor_id_t *id)
{
    assert (self);
    assert (id);
    s_member_t *m = s_lookup (self, id);
    return m? s_view (self, m): NULL;
}

size_t
rumor_membership_size (rumor_membership_t *self)
{
    assert (self);
    return self->n_members;
}

size_t
rumor_membership_count (rumor_membership_t *self, Rumor__State state)
{
    assert (self);
    if (state < RUMOR__STATE__STATE_ALIVE || state > RUMOR__STATE__STATE_LEFT)
        return 0;
    return self->counts [state];
}

const rumor_member_t *
rumor_membership_first (rumor_membership_t *self)
{
    assert (self);
    self->cursor = 0;
    return rumor_membership_next (self);
}

const rumor_member_t *
rumor_membership_next (rumor_membership_t *self)
{
    assert (self);
    if (self->cursor >= self->n_members)
        return NULL;
    return s_view (self, s_member_of (self, self->cursor++));
}

//  --------------------------------------------------------------------------
//  Piggyback

size_t
rumor_membership_piggyback (rumor_membership_t *self,
                            Rumor__MemberUpdate **out, size_t max)
{
    assert (self);
    assert (out || max == 0);
    return s_select (self, out, max);
}

size_t
rumor_membership_queue_size (rumor_membership_t *self)
{
    assert (self);
    return self->n_queued;
}

uint32_t
rumor_membership_retransmit_limit (rumor_membership_t *self)
{
    assert (self);
    return s_limit (self);
}
