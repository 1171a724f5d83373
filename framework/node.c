/*  =========================================================================
    rumor_node - the public API (rumor.h) of a node

    A rumor_t keeps the configuration until rumor_start, then starts the
    supervisor actor (supervisor.h) and talks to it over its pipe: every
    call is one request (COMMAND | seq | args) and one reply (REPLY | seq |
    rc | data), waited for with a deadline; replies to calls that timed out
    are recognised by their seq and discarded. rumor_say and rumor_whisper
    are the exception: seq 0, no reply (the throughput of direct messages
    and events), checked here as far as can be; a full pipe blocks them
    (backpressure, supervisor.c), it never drops. Events come on a separate
    PAIR pipe (zyre's inbox pattern), so a flood of events never delays a
    reply.

    Arguments are checked here, before anything is sent: a bad argument
    returns RUMOR_EINVAL (or the code rumor.h names), never aborts. The
    cores check again what they own (topics, patterns, limits) and their
    refusals are mapped to rumor.h's codes.

    Sockets: a node uses about 10 sockets plus 3 per peer (a DEALER, its
    monitor's two ends). czmq's default limit is 1024 sockets per process,
    and zsys_set_max_sockets aborts once any socket exists, so rumor_new
    does not raise it: a program that runs many nodes in one process (the
    tests) calls zsys_set_max_sockets (8192) before its first socket.
    =========================================================================
*/

#include <inttypes.h>
#include <stdatomic.h>
#include "rumor.h"
#include "supervisor.h"
#include "shell.h"
#include "codec.h"
#include "anti_entropy.h"
#include "app.h"
#include "secret.h"

//  Events the program may fall behind by, on each end of the events pipe
//  (inproc adds both): about 2 x 10000. A burst (a large cluster joining,
//  a bulk of keys) fits; a program that does not read loses the newest
//  events, counted in "events.dropped", and the node never blocks.
#define S_EVENTS_HWM        10000
//  How long a call waits for the supervisor. A live node answers in
//  microseconds; 5 s means it is wedged (RUMOR_ETIMEOUT).
#define S_CALL_TIMEOUT_MS   5000
//  rumor_stop: the supervisor bounds the leave to ~2 s, then drains.
#define S_STOP_TIMEOUT_MS   5000
//  Seeds and heard patterns kept before start
#define S_SEEDS_MAX         64
//  (one pattern of the app core's is the node's own: "$rumor.keys")
#define S_HEARS_MAX         (RUMOR_APP_MAX_PATTERNS_DFLT - 1)

struct _rumor_t {
    char *name;                     //  node name
    rumor_id_t id;                  //  derived from the name
    char hex [RUMOR_ID_HEX];        //  id in hex
    char *cluster;                  //  cluster name
    int port;                       //  TCP port, 0 = any
    char *bind;                     //  address to bind
    char *advertise;                //  advertised host, or NULL
    rumor_beacon_t beacon;          //  beacon mode
    char *iface;                    //  LAN beacon interface, or NULL
    int beacon_port;                //  beacon UDP port
    rumor_profile_t profile;        //  timing profile
    zhashx_t *tags;                 //  key -> value
    zlistx_t *seeds;                //  endpoints to join at start
    zlistx_t *hears;                //  patterns heard (applied at start)
    zsock_t *events;                //  events pipe, the program's end
    zsock_t *events_out;            //  events pipe, the supervisor's end
    zactor_t *supervisor;           //  the running node, or NULL
    char *endpoint;                 //  our endpoint while running
    uint64_t generation;            //  generation of the current run
    uint32_t seq;                   //  last request number
    rumor_keyring_t *keyring;       //  our secrets' keys; the supervisor
                                    //  thread's alone while it runs
    bool secure;                    //  running with a secret
    char *start_error;              //  why the last rumor_start failed
    rumor_limits_t limits;          //  zero = default (node_limits.c)
    zhashx_t *names;                //  member names whisper resolved
                                    //  (value 1), or NULL
};

struct _rumor_event_t {
    zframe_t *frame;                //  as it came off the events pipe
    rumor_supervisor_event_t view;  //  its fields, borrowed from frame
};


//  --------------------------------------------------------------------------
//  Errors and names

const char *
rumor_strerror (int code)
{
    switch (code) {
        case RUMOR_OK:          return "success";
        case RUMOR_EINVAL:      return "invalid argument";
        case RUMOR_ESTATE:      return "not allowed in this state of the node";
        case RUMOR_ETOOBIG:     return "key, topic, value or payload too large";
        case RUMOR_EFULL:       return "a limit is reached";
        case RUMOR_ENOTFOUND:   return "no such member, key or pattern";
        case RUMOR_ENET:        return "network setup failed";
        case RUMOR_ETIMEOUT:    return "the node did not answer in time";
        default:                return "unknown error";
    }
}

const char *
rumor_state_name (rumor_state_t state)
{
    switch (state) {
        case RUMOR_STATE_ALIVE:     return "alive";
        case RUMOR_STATE_SUSPECT:   return "suspect";
        case RUMOR_STATE_DEAD:      return "failed";
        case RUMOR_STATE_LEFT:      return "left";
        default:                    return "unknown";
    }
}

//  A refusal of the anti-entropy core as a rumor.h code
static int
s_ae_error (int rc)
{
    switch (rc) {
        case RUMOR_AE_OK:       return RUMOR_OK;
        case RUMOR_AE_EVALUE:   return RUMOR_ETOOBIG;
        case RUMOR_AE_EFULL:    return RUMOR_EFULL;
        case RUMOR_AE_ENOKEY:   return RUMOR_ENOTFOUND;
        default:                return RUMOR_EINVAL;
    }
}

//  A refusal of the app core (minus a rumor_app_error_t) as a rumor.h code
static int
s_app_error (int rc)
{
    switch (-rc) {
        case RUMOR_APP_OK:                  return RUMOR_OK;
        case RUMOR_APP_E_OVERSIZED:
        case RUMOR_APP_E_TOO_BIG:           return RUMOR_ETOOBIG;
        case RUMOR_APP_E_TOO_MANY_PATTERNS:
        case RUMOR_APP_E_TOO_MANY_QUERIES:  return RUMOR_EFULL;
        case RUMOR_APP_E_UNKNOWN_PATTERN:
        case RUMOR_APP_E_UNKNOWN_TARGET:
        case RUMOR_APP_E_UNKNOWN_QUERY:     return RUMOR_ENOTFOUND;
        default:                            return RUMOR_EINVAL;
    }
}

//  Membership's commands return 0 or -1 (refused)
static int
s_membership_error (int rc)
{
    return rc == -1? RUMOR_EINVAL: rc;
}

//  The supervisor's own codes are rumor.h's already
static int
s_same_error (int rc)
{
    return rc;
}


//  --------------------------------------------------------------------------
//  Argument checks

//  A non-empty UTF-8 string of at most max bytes, without NUL
static bool
s_valid_text (const char *text, size_t max)
{
    return text && *text && strlen (text) <= max
        && rumor_codec_valid_string (text, max);
}

//  Topics and patterns of the "$rumor" namespace are the node's own
//  ("$rumor.keys": keyring queries, answered by the supervisor)
static bool
s_reserved (const char *text)
{
    return strncmp (text, "$rumor", 6) == 0;
}

static bool
s_valid_endpoint (const char *endpoint)
{
    return s_valid_text (endpoint, RUMOR_NAME_MAX)
        && strncmp (endpoint, "tcp://", 6) == 0 && strchr (endpoint + 6, ':');
}

//  Payload checks shared by set, say, whisper, query, respond
static int
s_check_payload (const void *data, size_t size)
{
    if (!data && size)
        return RUMOR_EINVAL;
    return size > RUMOR_VALUE_MAX? RUMOR_ETOOBIG: RUMOR_OK;
}

static int
s_check_idle (rumor_t *self)
{
    if (!self)
        return RUMOR_EINVAL;
    return self->supervisor? RUMOR_ESTATE: RUMOR_OK;
}

static int
s_check_running (rumor_t *self)
{
    if (!self)
        return RUMOR_EINVAL;
    return self->supervisor? RUMOR_OK: RUMOR_ESTATE;
}

//  Replace *field with a copy of value (NULL clears)
static void
s_set_string (char **field, const char *value)
{
    free (*field);
    *field = value? strdup (value): NULL;
}


//  --------------------------------------------------------------------------
//  Calls to the supervisor

static zmsg_t *
s_request (rumor_t *self, const char *command)
{
    zmsg_t *request = zmsg_new ();
    assert (request);
    zmsg_addstr (request, command);
    if (++self->seq == 0)
        ++self->seq;                //  0 means "no reply" to the actors
    rumor_shell_add_u32 (request, self->seq);
    return request;
}

//  A request to one actor: CALL | seq | actor | COMMAND
static zmsg_t *
s_actor_request (rumor_t *self, const char *actor, const char *command)
{
    zmsg_t *request = s_request (self, "CALL");
    zmsg_addstr (request, actor);
    zmsg_addstr (request, command);
    return request;
}

//  Send the request and wait for its reply. Returns the reply positioned
//  after rc (caller destroys it), or NULL; *rc is the reply's code, or
//  RUMOR_ETIMEOUT.
static zmsg_t *
s_call (rumor_t *self, zmsg_t **request_p, int timeout_ms, int32_t *rc)
{
    //  The request's own seq: another call may have been made between
    //  building it and sending it (a member resolved for a GET)
    uint32_t seq = 0;
    zmsg_first (*request_p);
    zframe_t *frame = zmsg_next (*request_p);
    assert (frame && zframe_size (frame) == sizeof (seq));
    memcpy (&seq, zframe_data (frame), sizeof (seq));
    zsock_t *pipe = zactor_sock (self->supervisor);
    *rc = RUMOR_ETIMEOUT;
    if (zmsg_send (request_p, pipe))
        return NULL;
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        zmq_pollitem_t item = { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 };
        if (left <= 0 || zmq_poll (&item, 1, (long) left) < 0)
            return NULL;            //  timed out or interrupted
        if (!(item.revents & ZMQ_POLLIN))
            continue;
        zmsg_t *reply = zmsg_recv (pipe);
        if (!reply)
            return NULL;
        char *kind = zmsg_popstr (reply);
        bool ours = kind && streq (kind, "REPLY")
                 && rumor_shell_pop_u32 (reply, 0) == seq;
        zstr_free (&kind);
        if (ours) {
            *rc = rumor_shell_pop_i32 (reply, RUMOR_EINVAL);
            return reply;
        }
        zmsg_destroy (&reply);      //  late reply to a call that timed out
    }
}

//  A call whose reply is only its rc, mapped to a rumor.h code by map
//  (core codes overlap rumor.h's); RUMOR_ETIMEOUT if no reply came.
static int
s_call_rc (rumor_t *self, zmsg_t *request, int (*map) (int))
{
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    if (!reply)
        return RUMOR_ETIMEOUT;
    zmsg_destroy (&reply);
    return map (rc);
}

//  Resolve a member (32-hex id or node name) to an id.
static int
s_resolve (rumor_t *self, const char *member, rumor_id_t *id)
{
    if (!s_valid_text (member, RUMOR_NAME_MAX))
        return RUMOR_EINVAL;
    if (rumor_id_from_hex (id, member) == 0)
        return RUMOR_OK;
    zmsg_t *request = s_request (self, "RESOLVE");
    zmsg_addstr (request, member);
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    if (rc == RUMOR_OK && rumor_shell_pop_id (reply, id))
        rc = RUMOR_ENOTFOUND;
    zmsg_destroy (&reply);
    return rc;
}


//  --------------------------------------------------------------------------
//  Lifecycle

static void
s_free_string (void **item)
{
    free (*item);
    *item = NULL;
}

//  The program's events pipe: a PAIR pair with our own HWMs (zactor's
//  pipes use zsys_pipehwm, a process-wide setting).
static int
s_events_pipe (rumor_t *self)
{
    static atomic_uint s_pipes;     //  unique inproc endpoints
    self->events = zsock_new (ZMQ_PAIR);
    self->events_out = zsock_new (ZMQ_PAIR);
    if (!self->events || !self->events_out)
        return -1;
    zsock_set_rcvhwm (self->events, S_EVENTS_HWM);
    zsock_set_sndhwm (self->events_out, S_EVENTS_HWM);
    zsock_set_linger (self->events, 0);
    zsock_set_linger (self->events_out, 0);
    zsock_set_sndtimeo (self->events_out, 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "inproc://rumor-events-%u-%p",
              atomic_fetch_add (&s_pipes, 1), (void *) self);
    if (zsock_bind (self->events, "%s", endpoint)
    ||  zsock_connect (self->events_out, "%s", endpoint))
        return -1;
    return 0;
}

//  Host name plus a random suffix, for rumor_new (NULL)
static char *
s_default_name (void)
{
    char *host = zsys_hostname ();
    uint64_t words [2] = { (uint64_t) zclock_usecs (), (uint64_t) getpid () };
    static atomic_uint s_count;
    words [1] ^= (uint64_t) atomic_fetch_add (&s_count, 1) << 32;
    char *name = zsys_sprintf ("%.200s-%04x", host && *host? host: "rumor",
                               (unsigned) (rumor_hash64 (words, sizeof (words))
                                           & 0xffff));
    zstr_free (&host);
    return name;
}

rumor_t *
rumor_new (const char *name)
{
    if (name && !s_valid_text (name, RUMOR_NAME_MAX))
        return NULL;
    rumor_t *self = (rumor_t *) zmalloc (sizeof (rumor_t));
    assert (self);
    self->name = name? strdup (name): s_default_name ();
    rumor_id_from_name (&self->id, self->name);
    rumor_id_hex (&self->id, self->hex);
    self->cluster = strdup ("rumor");
    self->bind = strdup ("*");
    self->beacon = RUMOR_BEACON_LAN;
    self->profile = RUMOR_PROFILE_LAN;
    self->tags = zhashx_new ();
    zhashx_set_destructor (self->tags, s_free_string);
    self->seeds = zlistx_new ();
    zlistx_set_destructor (self->seeds, s_free_string);
    self->hears = zlistx_new ();
    zlistx_set_destructor (self->hears, s_free_string);
    self->keyring = rumor_keyring_new ();
    if (!self->keyring || s_events_pipe (self)) {
        rumor_destroy (&self);
        return NULL;
    }
    return self;
}

void
rumor_destroy (rumor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rumor_t *self = *self_p;
    if (self->supervisor)
        rumor_stop (self);
    zsock_destroy (&self->events_out);
    zsock_destroy (&self->events);
    zhashx_destroy (&self->tags);
    zlistx_destroy (&self->seeds);
    zlistx_destroy (&self->hears);
    zhashx_destroy (&self->names);
    rumor_keyring_destroy (&self->keyring);
    free (self->start_error);
    free (self->name);
    free (self->cluster);
    free (self->bind);
    free (self->advertise);
    free (self->iface);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

void
rumor_node_crash (rumor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    //  No STOP: the supervisor closes every socket at $TERM, LINGER 0
    rumor_supervisor_actor_destroy (&(*self_p)->supervisor);
    rumor_destroy (self_p);
}

int
rumor_set_cluster (rumor_t *self, const char *cluster)
{
    int rc = s_check_idle (self);
    if (rc == RUMOR_OK && !s_valid_text (cluster, RUMOR_NAME_MAX))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        s_set_string (&self->cluster, cluster);
    return rc;
}

int
rumor_set_port (rumor_t *self, int port)
{
    int rc = s_check_idle (self);
    if (rc == RUMOR_OK && (port < 0 || port > RUMOR_PORT_MAX))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        self->port = port;
    return rc;
}

int
rumor_set_bind (rumor_t *self, const char *address)
{
    int rc = s_check_idle (self);
    if (rc == RUMOR_OK && !s_valid_text (address, RUMOR_NAME_MAX - 16))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        s_set_string (&self->bind, address);
    return rc;
}

int
rumor_set_advertise (rumor_t *self, const char *host)
{
    int rc = s_check_idle (self);
    //  Room for "tcp://" and ":65535" within an endpoint
    if (rc == RUMOR_OK && !s_valid_text (host, RUMOR_NAME_MAX - 16))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        s_set_string (&self->advertise, host);
    return rc;
}

int
rumor_set_beacon (rumor_t *self, rumor_beacon_t mode)
{
    int rc = s_check_idle (self);
    if (rc == RUMOR_OK && mode != RUMOR_BEACON_LAN
    &&  mode != RUMOR_BEACON_LOOPBACK && mode != RUMOR_BEACON_OFF)
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        self->beacon = mode;
    return rc;
}

int
rumor_set_interface (rumor_t *self, const char *iface)
{
    int rc = s_check_idle (self);
    if (rc == RUMOR_OK && !s_valid_text (iface, RUMOR_NAME_MAX))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        s_set_string (&self->iface, iface);
    return rc;
}

int
rumor_set_beacon_port (rumor_t *self, int port)
{
    int rc = s_check_idle (self);
    if (rc == RUMOR_OK && (port <= 0 || port > RUMOR_PORT_MAX))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        self->beacon_port = port;
    return rc;
}

int
rumor_set_profile (rumor_t *self, rumor_profile_t profile)
{
    int rc = s_check_idle (self);
    if (rc == RUMOR_OK && profile != RUMOR_PROFILE_LAN
    &&  profile != RUMOR_PROFILE_LOCAL && profile != RUMOR_PROFILE_WAN)
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        self->profile = profile;
    return rc;
}


//  --------------------------------------------------------------------------
//  Tags

static int
s_compare_strings (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

//  Our tags as "key=value" strings sorted by key; caller frees each and
//  the array.
static char **
s_tag_strings (rumor_t *self, size_t *n)
{
    *n = zhashx_size (self->tags);
    char **tags = (char **) calloc (*n + 1, sizeof (char *));
    assert (tags);
    size_t i = 0;
    for (const char *value = (const char *) zhashx_first (self->tags); value;
         value = (const char *) zhashx_next (self->tags))
        tags [i++] = zsys_sprintf ("%s=%s",
                                   (const char *) zhashx_cursor (self->tags),
                                   value);
    qsort (tags, *n, sizeof (char *), s_compare_strings);
    return tags;
}

static void
s_tag_strings_free (char **tags, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (tags [i]);
    free (tags);
}

//  Send our whole tag set to membership
static int
s_push_tags (rumor_t *self)
{
    size_t n;
    char **tags = s_tag_strings (self, &n);
    zmsg_t *request = s_actor_request (self, "membership", "TAGS");
    for (size_t i = 0; i < n; i++)
        zmsg_addstr (request, tags [i]);
    s_tag_strings_free (tags, n);
    int rc = s_call_rc (self, request, s_same_error);
    return rc == -1? RUMOR_ESTATE: rc;      //  refused after leave
}

int
rumor_set_tag (rumor_t *self, const char *key, const char *value)
{
    if (!self || !s_valid_text (key, RUMOR_KEY_MAX) || strchr (key, '=')
    || (value && strlen (value) > RUMOR_KEY_MAX)
    || (value && !rumor_codec_valid_string (value, RUMOR_KEY_MAX)))
        return RUMOR_EINVAL;
    char *old = (char *) zhashx_lookup (self->tags, key);
    if (value && !old && zhashx_size (self->tags) >= RUMOR_TAGS_MAX)
        return RUMOR_EFULL;
    if (!value && !old)
        return RUMOR_ENOTFOUND;
    old = old? strdup (old): NULL;
    if (value)
        zhashx_update (self->tags, key, strdup (value));
    else
        zhashx_delete (self->tags, key);
    int rc = self->supervisor? s_push_tags (self): RUMOR_OK;
    if (rc != RUMOR_OK) {           //  put the old tag back
        if (old)
            zhashx_update (self->tags, key, old);
        else
            zhashx_delete (self->tags, key);
        old = NULL;
    }
    free (old);
    return rc;
}


//  --------------------------------------------------------------------------
//  Start, join, stop

static bool
s_list_has (zlistx_t *list, const char *string)
{
    for (const char *item = (const char *) zlistx_first (list); item;
         item = (const char *) zlistx_next (list))
        if (streq (item, string))
            return true;
    return false;
}

int
rumor_join (rumor_t *self, const char *endpoint)
{
    if (!self || !s_valid_endpoint (endpoint))
        return RUMOR_EINVAL;
    if (self->supervisor) {
        zmsg_t *request = s_request (self, "JOIN");
        zmsg_addstr (request, endpoint);
        return s_call_rc (self, request, s_membership_error);
    }
    if (s_list_has (self->seeds, endpoint))
        return RUMOR_OK;
    if (zlistx_size (self->seeds) >= S_SEEDS_MAX)
        return RUMOR_EFULL;
    zlistx_add_end (self->seeds, strdup (endpoint));
    return RUMOR_OK;
}

//  Patterns heard before start (or in a previous run) to the new app actor
static void
s_apply_hears (rumor_t *self)
{
    for (const char *pattern = (const char *) zlistx_first (self->hears);
         pattern; pattern = (const char *) zlistx_next (self->hears)) {
        zmsg_t *request = s_actor_request (self, "app", "HEAR");
        zmsg_addstr (request, pattern);
        zmsg_send (&request, zactor_sock (self->supervisor));
    }
}

//  A start time above any earlier run of this node: a new generation
static uint64_t
s_next_generation (rumor_t *self)
{
    uint64_t now = (uint64_t) zclock_time ();
    return now > self->generation? now: self->generation + 1;
}

static rumor_supervisor_cfg_t
s_supervisor_cfg (rumor_t *self, char **tags, size_t n_tags, char **seeds)
{
    uint64_t words [2] = { self->generation, (uint64_t) zclock_usecs () };
    rumor_supervisor_cfg_t cfg = {
        .name = self->name, .id = self->id, .generation = self->generation,
        .seed = rumor_hash64 (words, sizeof (words)),
        .cluster = self->cluster, .port = self->port, .bind = self->bind,
        .advertise = self->advertise, .beacon = self->beacon,
        .iface = self->iface, .beacon_port = self->beacon_port,
        .profile = self->profile,
        .tags = (const char *const *) tags, .n_tags = n_tags,
        .seeds = (const char *const *) seeds,
        .n_seeds = zlistx_size (self->seeds), .events = self->events_out,
        .limits = self->limits, .keyring = self->keyring
    };
    return cfg;
}

int
rumor_start (rumor_t *self)
{
    int rc = s_check_idle (self);
    if (rc != RUMOR_OK)
        return rc;
    self->generation = s_next_generation (self);
    size_t n_tags;
    char **tags = s_tag_strings (self, &n_tags);
    char **seeds = (char **) calloc (zlistx_size (self->seeds) + 1,
                                     sizeof (char *));
    assert (seeds);
    size_t n = 0;
    for (char *seed = (char *) zlistx_first (self->seeds); seed;
         seed = (char *) zlistx_next (self->seeds))
        seeds [n++] = seed;
    rumor_supervisor_cfg_t cfg = s_supervisor_cfg (self, tags, n_tags, seeds);
    self->supervisor = rumor_supervisor_new (&cfg);
    s_tag_strings_free (tags, n_tags);
    free (seeds);
    if (!self->supervisor)
        return RUMOR_ENET;
    self->secure = rumor_keyring_size (self->keyring) > 0;
    int32_t status;
    zmsg_t *request = s_request (self, "START");
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &status);
    s_set_string (&self->start_error, NULL);
    if (status == RUMOR_OK) {
        s_set_string (&self->endpoint, NULL);
        self->endpoint = rumor_shell_pop_str (reply);
        s_apply_hears (self);
    }
    else {
        self->start_error = reply? rumor_shell_pop_str (reply): NULL;
        rumor_supervisor_actor_destroy (&self->supervisor);
        status = status == RUMOR_ETIMEOUT? status: RUMOR_ENET;
    }
    zmsg_destroy (&reply);
    return status;
}

int
rumor_stop (rumor_t *self)
{
    int rc = s_check_running (self);
    if (rc != RUMOR_OK)
        return rc;
    int32_t status;
    zmsg_t *request = s_request (self, "STOP");
    zmsg_t *reply = s_call (self, &request, S_STOP_TIMEOUT_MS, &status);
    zmsg_destroy (&reply);
    rumor_supervisor_actor_destroy (&self->supervisor);
    s_set_string (&self->endpoint, NULL);
    return status == RUMOR_ETIMEOUT? status: RUMOR_OK;
}

const char *
rumor_id (rumor_t *self)
{
    return self? self->hex: NULL;
}

const char *
rumor_name (rumor_t *self)
{
    return self? self->name: NULL;
}

const char *
rumor_endpoint (rumor_t *self)
{
    return self? self->endpoint: NULL;
}


//  --------------------------------------------------------------------------
//  Security: the secret and the keyring (secret.h). Before start the node
//  holds the keyring; while it runs the supervisor does, and every change
//  goes through it (KEYS), which re-keys its sockets.

int
rumor_set_secret (rumor_t *self, const char *secret)
{
    int rc = s_check_idle (self);
    rumor_key_t key;
    if (rc == RUMOR_OK)
        rc = rumor_key_derive (&key, secret);
    if (rc == RUMOR_OK) {
        rumor_keyring_clear (self->keyring);
        rc = rumor_keyring_install (self->keyring, &key);
    }
    rumor_key_wipe (&key);
    return rc;
}

//  KEYS op arg to the supervisor; a running, secured node only
static int
s_keys_call (rumor_t *self, const char *op, const void *arg, size_t size)
{
    if (!self->secure)
        return RUMOR_ESTATE;
    zmsg_t *request = s_request (self, "KEYS");
    zmsg_addstr (request, op);
    zmsg_addmem (request, arg, size);
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    zmsg_destroy (&reply);
    return rc;
}

int
rumor_keys_install (rumor_t *self, const char *secret)
{
    if (!self)
        return RUMOR_EINVAL;
    rumor_key_t key;
    int rc = rumor_key_derive (&key, secret);
    if (rc == RUMOR_OK)
        rc = self->supervisor? s_keys_call (self, "INSTALL", &key, sizeof (key))
                             : rumor_keyring_install (self->keyring, &key);
    rumor_key_wipe (&key);
    return rc;
}

//  USE or REMOVE of secret: its fingerprint is all the supervisor needs
static int
s_keys_by_print (rumor_t *self, const char *op, const char *secret)
{
    int rc = s_check_running (self);
    rumor_key_t key;
    if (rc == RUMOR_OK)
        rc = rumor_key_derive (&key, secret);
    if (rc == RUMOR_OK)
        rc = s_keys_call (self, op, key.fingerprint, RUMOR_FINGERPRINT_SIZE);
    rumor_key_wipe (&key);
    return rc;
}

int
rumor_keys_use (rumor_t *self, const char *secret)
{
    return s_keys_by_print (self, "USE", secret);
}

int
rumor_keys_remove (rumor_t *self, const char *secret)
{
    return s_keys_by_print (self, "REMOVE", secret);
}

//  "fp1 fp2 ..." as a new list
static zlist_t *
s_prints_list (const char *prints)
{
    zlist_t *list = zlist_new ();
    zlist_autofree (list);
    char *copy = strdup (prints? prints: "");
    for (char *word = strtok (copy, " "); word; word = strtok (NULL, " "))
        zlist_append (list, word);
    free (copy);
    return list;
}

zlist_t *
rumor_keys_list (rumor_t *self)
{
    if (!self)
        return NULL;
    if (!self->supervisor) {
        char *prints = rumor_keyring_fingerprints (self->keyring);
        zlist_t *list = s_prints_list (prints);
        free (prints);
        return list;
    }
    if (!self->secure)
        return s_prints_list ("");
    zmsg_t *request = s_request (self, "KEYS");
    zmsg_addstr (request, "LIST");
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    char *prints = reply && rc == RUMOR_OK? zmsg_popstr (reply): NULL;
    zlist_t *list = prints? s_prints_list (prints): NULL;
    free (prints);
    zmsg_destroy (&reply);
    return list;
}

//  The payload of a "$rumor.keys" query (see the supervisor's
//  s_keys_request); a new frame, or NULL (with *rc set)
static zframe_t *
s_keys_payload (rumor_keys_op_t op, const char *secret, int *rc)
{
    *rc = RUMOR_OK;
    if (op == RUMOR_KEYS_LIST)
        return secret? (*rc = RUMOR_EINVAL, NULL): zframe_new ("list", 4);
    if (op != RUMOR_KEYS_INSTALL && op != RUMOR_KEYS_USE
    &&  op != RUMOR_KEYS_REMOVE) {
        *rc = RUMOR_EINVAL;
        return NULL;
    }
    rumor_key_t key;
    *rc = rumor_key_derive (&key, secret);
    zframe_t *payload = NULL;
    if (*rc == RUMOR_OK && op == RUMOR_KEYS_INSTALL) {
        //  The secret itself: the others derive their keys from it
        size_t size = strlen (secret);
        payload = zframe_new (NULL, 8 + size);
        memcpy (zframe_data (payload), "install ", 8);
        memcpy (zframe_data (payload) + 8, secret, size);
    }
    else
    if (*rc == RUMOR_OK) {
        char *text = zsys_sprintf ("%s %s", op == RUMOR_KEYS_USE? "use"
                                                                : "remove",
                                   key.hex);
        payload = zframe_new (text, strlen (text));
        free (text);
    }
    rumor_key_wipe (&key);
    return payload;
}

int64_t
rumor_keys_cluster (rumor_t *self, rumor_keys_op_t op, const char *secret,
                    int64_t timeout_ms)
{
    int rc = s_check_running (self);
    if (rc == RUMOR_OK && !self->secure)
        rc = RUMOR_ESTATE;
    if (rc == RUMOR_OK && timeout_ms <= 0)
        rc = RUMOR_EINVAL;
    zframe_t *payload = rc == RUMOR_OK? s_keys_payload (op, secret, &rc): NULL;
    if (rc != RUMOR_OK)
        return rc;
    zmsg_t *request = s_actor_request (self, "app", "QUERY");
    zmsg_addstr (request, "$rumor.keys");
    zmsg_addmem (request, zframe_data (payload), zframe_size (payload));
    rumor_shell_add_u64 (request, (uint64_t) timeout_ms);
    memset (zframe_data (payload), 0, zframe_size (payload));
    zframe_destroy (&payload);
    int32_t status;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &status);
    uint64_t id = reply && status == RUMOR_OK? rumor_shell_pop_u64 (reply, 0): 0;
    bool replied = reply != NULL;
    zmsg_destroy (&reply);
    if (!replied)
        return RUMOR_ETIMEOUT;
    if (status != RUMOR_OK)
        return s_app_error (status);
    return id > 0 && id <= INT64_MAX? (int64_t) id: RUMOR_EINVAL;
}


//  --------------------------------------------------------------------------
//  Key/value state

int
rumor_set (rumor_t *self, const char *key, const void *value, size_t size,
           int64_t ttl_ms)
{
    int rc = s_check_running (self);
    if (rc == RUMOR_OK && (!key || ttl_ms < 0))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK && strlen (key) > RUMOR_KEY_MAX)
        rc = RUMOR_ETOOBIG;
    if (rc == RUMOR_OK && !s_valid_text (key, RUMOR_KEY_MAX))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        rc = s_check_payload (value, size);
    if (rc != RUMOR_OK)
        return rc;
    zmsg_t *request = s_actor_request (self, "anti_entropy", "SET");
    zmsg_addstr (request, key);
    zmsg_addmem (request, value, size);
    rumor_shell_add_u64 (request, (uint64_t) ttl_ms);
    return s_call_rc (self, request, s_ae_error);
}

int
rumor_set_str (rumor_t *self, const char *key, const char *value,
               int64_t ttl_ms)
{
    if (!value)
        return RUMOR_EINVAL;
    return rumor_set (self, key, value, strlen (value), ttl_ms);
}

int
rumor_delete (rumor_t *self, const char *key)
{
    int rc = s_check_running (self);
    if (rc == RUMOR_OK && !s_valid_text (key, RUMOR_KEY_MAX))
        rc = RUMOR_EINVAL;
    if (rc != RUMOR_OK)
        return rc;
    zmsg_t *request = s_actor_request (self, "anti_entropy", "DELETE");
    zmsg_addstr (request, key);
    return s_call_rc (self, request, s_ae_error);
}

//  The origin frame of GET/KEYS: a 16-byte id, or empty for ours.
static int
s_add_origin (rumor_t *self, zmsg_t *request, const char *member)
{
    if (!member) {
        zmsg_addmem (request, NULL, 0);
        return RUMOR_OK;
    }
    rumor_id_t id;
    int rc = s_resolve (self, member, &id);
    if (rc == RUMOR_OK)
        zmsg_addmem (request, id.bytes, RUMOR_ID_SIZE);
    return rc;
}

zframe_t *
rumor_get (rumor_t *self, const char *member, const char *key)
{
    if (s_check_running (self) != RUMOR_OK || !s_valid_text (key, RUMOR_KEY_MAX))
        return NULL;
    zmsg_t *request = s_actor_request (self, "anti_entropy", "GET");
    if (s_add_origin (self, request, member) != RUMOR_OK) {
        zmsg_destroy (&request);
        return NULL;
    }
    zmsg_addstr (request, key);
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    zframe_t *value = rc == RUMOR_OK? zmsg_pop (reply): NULL;
    zmsg_destroy (&reply);
    return value;
}

char *
rumor_get_str (rumor_t *self, const char *member, const char *key)
{
    zframe_t *value = rumor_get (self, member, key);
    char *string = value? zframe_strdup (value): NULL;
    zframe_destroy (&value);
    return string;
}

zlist_t *
rumor_keys (rumor_t *self, const char *member)
{
    if (s_check_running (self) != RUMOR_OK)
        return NULL;
    zmsg_t *request = s_actor_request (self, "anti_entropy", "KEYS");
    if (s_add_origin (self, request, member) != RUMOR_OK) {
        zmsg_destroy (&request);
        return NULL;
    }
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    zlist_t *keys = NULL;
    if (rc == RUMOR_OK) {
        keys = zlist_new ();
        zlist_autofree (keys);
        char *key;
        while ((key = zmsg_popstr (reply))) {
            zlist_append (keys, key);
            free (key);
        }
    }
    zmsg_destroy (&reply);
    return keys;
}


//  --------------------------------------------------------------------------
//  Events, direct messages, queries

int
rumor_hear (rumor_t *self, const char *pattern)
{
    if (!self || !pattern || !rumor_app_pattern_valid (pattern)
    ||  s_reserved (pattern))
        return RUMOR_EINVAL;
    bool known = s_list_has (self->hears, pattern);
    if (!known && zlistx_size (self->hears) >= S_HEARS_MAX)
        return RUMOR_EFULL;
    int rc = RUMOR_OK;
    if (self->supervisor) {
        zmsg_t *request = s_actor_request (self, "app", "HEAR");
        zmsg_addstr (request, pattern);
        rc = s_call_rc (self, request, s_app_error);
    }
    if (rc == RUMOR_OK && !known)
        zlistx_add_end (self->hears, strdup (pattern));
    return rc;
}

int
rumor_unhear (rumor_t *self, const char *pattern)
{
    if (!self || !pattern || !rumor_app_pattern_valid (pattern)
    ||  s_reserved (pattern))
        return RUMOR_EINVAL;
    int rc = RUMOR_OK;
    if (self->supervisor) {
        zmsg_t *request = s_actor_request (self, "app", "UNHEAR");
        zmsg_addstr (request, pattern);
        rc = s_call_rc (self, request, s_app_error);
    }
    else
    if (!s_list_has (self->hears, pattern))
        rc = RUMOR_ENOTFOUND;
    for (char *item = (char *) zlistx_first (self->hears); item;
         item = (char *) zlistx_next (self->hears))
        if (streq (item, pattern)) {
            zlistx_delete (self->hears, zlistx_cursor (self->hears));
            break;
        }
    return rc;
}

//  Checks shared by say, whisper and query
static int
s_check_message (rumor_t *self, const char *topic, const void *payload,
                 size_t size)
{
    int rc = s_check_running (self);
    if (rc == RUMOR_OK && !topic)
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK && strlen (topic) > RUMOR_KEY_MAX)
        rc = RUMOR_ETOOBIG;
    if (rc == RUMOR_OK && (!rumor_codec_valid_string (topic, RUMOR_KEY_MAX)
                       ||  s_reserved (topic)))
        rc = RUMOR_EINVAL;
    return rc == RUMOR_OK? s_check_payload (payload, size): rc;
}

//  Queue a post (shell.h: one frame, no reply) for the app actor on the
//  supervisor's pipe. A full pipe blocks the caller (backpressure: the
//  supervisor stops reading it while the app actor lags), at most
//  S_CALL_TIMEOUT_MS: past that the node is wedged (RUMOR_ETIMEOUT, the
//  message is not queued).
static int
s_post (rumor_t *self, const char *command, const rumor_shell_arg_t *args,
        size_t count)
{
    zsock_t *pipe = zactor_sock (self->supervisor);
    zframe_t *post = rumor_shell_post_new ("app", command, args, count);
    //  Sent at once while the pipe has room; the events of a socket are
    //  asked only when it is full (rumor_shell_try_recv says why)
    int64_t deadline = zclock_mono () + S_CALL_TIMEOUT_MS;
    while (zframe_send (&post, pipe, ZFRAME_DONTWAIT)) {
        int64_t left = deadline - zclock_mono ();
        zmq_pollitem_t item = { zsock_resolve (pipe), 0, ZMQ_POLLOUT, 0 };
        if (left <= 0 || zmq_poll (&item, 1, (long) left) < 0) {
            zframe_destroy (&post);
            return RUMOR_ETIMEOUT;
        }
    }
    return RUMOR_OK;                //  (a frame sent is destroyed)
}

//  A topic to say on: a well-formed pattern without wildcard words (the
//  app core's own rule, checked here since say gets no reply)
static bool
s_topic_concrete (const char *topic)
{
    if (!rumor_app_pattern_valid (topic))
        return false;
    for (const char *word = topic; word; ) {
        const char *dot = strchr (word, '.');
        size_t length = dot? (size_t) (dot - word): strlen (word);
        if (length == 1 && (*word == '*' || *word == '#'))
            return false;
        word = dot? dot + 1: NULL;
    }
    return true;
}

int
rumor_say (rumor_t *self, const char *topic, const void *payload, size_t size)
{
    int rc = s_check_message (self, topic, payload, size);
    if (rc == RUMOR_OK && !s_topic_concrete (topic))
        rc = RUMOR_EINVAL;
    if (rc != RUMOR_OK)
        return rc;
    rumor_shell_arg_t args [] = {
        { topic, strlen (topic) + 1 }, { payload, size }
    };
    return s_post (self, "SAY", args, 2);
}

//  Names whisper resolved, kept so that only the first whisper to a name
//  waits for the supervisor. Ids derive from names (id.h), so a name once
//  known resolves to the same id for ever; a member that is gone since is
//  the app core's to count (app.refused_unknown_target). Why 4096: far
//  more names than a program whispers to; past it the cache restarts.
#define S_NAMES_MAX         4096

static int
s_whisper_target (rumor_t *self, const char *member, rumor_id_t *to)
{
    if (!s_valid_text (member, RUMOR_NAME_MAX))
        return RUMOR_EINVAL;
    if (rumor_id_from_hex (to, member) == 0)
        return RUMOR_OK;
    if (streq (member, self->name)) {
        *to = self->id;
        return RUMOR_OK;
    }
    if (self->names && zhashx_lookup (self->names, member)) {
        rumor_id_from_name (to, member);
        return RUMOR_OK;
    }
    int rc = s_resolve (self, member, to);
    if (rc == RUMOR_OK) {
        if (!self->names)
            self->names = zhashx_new ();
        else
        if (zhashx_size (self->names) >= S_NAMES_MAX)
            zhashx_purge (self->names);
        //  The resolved id is the name's own (ids derive from names); a
        //  table entry only says the name is known
        rumor_id_t derived;
        rumor_id_from_name (&derived, member);
        if (rumor_id_eq (&derived, to))
            zhashx_insert (self->names, member, (void *) 1);
    }
    return rc;
}

int
rumor_whisper (rumor_t *self, const char *member, const char *topic,
               const void *payload, size_t size)
{
    int rc = s_check_message (self, topic, payload, size);
    rumor_id_t to;
    if (rc == RUMOR_OK)
        rc = s_whisper_target (self, member, &to);
    if (rc != RUMOR_OK)
        return rc;
    rumor_shell_arg_t args [] = {
        { to.bytes, RUMOR_ID_SIZE }, { topic, strlen (topic) + 1 },
        { payload, size }
    };
    return s_post (self, "WHISPER", args, 3);
}

int64_t
rumor_query (rumor_t *self, const char *topic, const void *payload,
             size_t size, int64_t timeout_ms)
{
    int rc = s_check_message (self, topic, payload, size);
    if (rc == RUMOR_OK && timeout_ms <= 0)
        rc = RUMOR_EINVAL;
    if (rc != RUMOR_OK)
        return rc;
    zmsg_t *request = s_actor_request (self, "app", "QUERY");
    zmsg_addstr (request, topic);
    zmsg_addmem (request, payload, size);
    rumor_shell_add_u64 (request, (uint64_t) timeout_ms);
    int32_t status;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &status);
    uint64_t id = reply && status == RUMOR_OK? rumor_shell_pop_u64 (reply, 0): 0;
    bool replied = reply != NULL;
    zmsg_destroy (&reply);
    if (!replied)
        return RUMOR_ETIMEOUT;
    if (status != RUMOR_OK)
        return s_app_error (status);
    return id > 0 && id <= INT64_MAX? (int64_t) id: RUMOR_EINVAL;
}

int
rumor_respond (rumor_t *self, const rumor_event_t *query, const void *payload,
               size_t size)
{
    int rc = s_check_running (self);
    if (rc == RUMOR_OK && (!query || query->view.type != RUMOR_EVENT_QUERY))
        rc = RUMOR_EINVAL;
    if (rc == RUMOR_OK)
        rc = s_check_payload (payload, size);
    rumor_id_t origin;
    if (rc == RUMOR_OK && rumor_id_from_hex (&origin, query->view.member))
        rc = RUMOR_EINVAL;
    if (rc != RUMOR_OK)
        return rc;
    zmsg_t *request = s_actor_request (self, "app", "RESPOND");
    zmsg_addmem (request, origin.bytes, RUMOR_ID_SIZE);
    rumor_shell_add_u64 (request, query->view.query);
    zmsg_addmem (request, payload, size);
    return s_call_rc (self, request, s_app_error);
}


//  --------------------------------------------------------------------------
//  Members and statistics

static void
s_member_destroy (void **item)
{
    rumor_member_t *member = (rumor_member_t *) *item;
    if (member) {
        free (member->name);
        free (member->endpoint);
        zhash_destroy (&member->tags);
        free (member);
        *item = NULL;
    }
}

//  One member from a packed MemberUpdate frame, or NULL if it does not
//  decode (it came from our own membership actor, so it always should).
static rumor_member_t *
s_member_new (rumor_t *self, zframe_t *frame)
{
    ProtobufCMessage *detail = rumor_codec_decode_detail (
        &rumor__member_update__descriptor, zframe_data (frame),
        zframe_size (frame));
    if (!detail)
        return NULL;
    const Rumor__MemberUpdate *update = (const Rumor__MemberUpdate *) detail;
    rumor_member_t *member = (rumor_member_t *) zmalloc (sizeof (rumor_member_t));
    assert (member);
    rumor_id_t id;
    rumor_id_from_bin (&id, update->id);
    rumor_id_hex (&id, member->id);
    member->name = strdup (update->name);
    member->endpoint = strdup (update->endpoint);
    member->state = (rumor_state_t) update->state;
    member->incarnation = update->incarnation;
    member->generation = update->generation;
    member->tags = zhash_new ();
    zhash_autofree (member->tags);
    for (size_t i = 0; i < update->n_tags; i++)
        zhash_update (member->tags, update->tags [i]->key,
                      update->tags [i]->value);
    member->rtt_ms = -1;
    member->self = rumor_id_eq (&id, &self->id);
    rumor_codec_free_detail (&detail);
    return member;
}

//  Phi and RTT of every member but us, from the detector
static void
s_members_health (rumor_t *self, zlistx_t *members)
{
    zmsg_t *request = s_actor_request (self, "detector", "HEALTH");
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members)) {
        rumor_id_t id;
        rumor_id_from_hex (&id, member->id);
        zmsg_addmem (request, id.bytes, RUMOR_ID_SIZE);
    }
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
    for (; member && reply && rc == RUMOR_OK;
         member = (rumor_member_t *) zlistx_next (members)) {
        zframe_t *phi = zmsg_pop (reply);
        if (phi && zframe_size (phi) == sizeof (double) && !member->self)
            memcpy (&member->phi, zframe_data (phi), sizeof (double));
        zframe_destroy (&phi);
        int32_t rtt = rumor_shell_pop_i32 (reply, -1);
        member->rtt_ms = member->self? -1: rtt;
    }
    zmsg_destroy (&reply);
}

zlistx_t *
rumor_members (rumor_t *self)
{
    if (s_check_running (self) != RUMOR_OK)
        return NULL;
    zmsg_t *request = s_actor_request (self, "membership", "MEMBERS");
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    if (rc != RUMOR_OK) {
        zmsg_destroy (&reply);
        return NULL;
    }
    zlistx_t *members = zlistx_new ();
    zlistx_set_destructor (members, s_member_destroy);
    zframe_t *frame;
    while ((frame = zmsg_pop (reply))) {
        rumor_member_t *member = s_member_new (self, frame);
        if (member)
            zlistx_add_end (members, member);
        zframe_destroy (&frame);
    }
    zmsg_destroy (&reply);
    s_members_health (self, members);
    return members;
}

void
rumor_members_destroy (zlistx_t **members_p)
{
    if (members_p)
        zlistx_destroy (members_p);
}

//  Add the name/value pairs of a STATS reply to stats
static void
s_stats_merge (zhash_t *stats, zmsg_t *reply)
{
    char *name;
    while ((name = zmsg_popstr (reply))) {
        char *value = zmsg_popstr (reply);
        if (value)
            zhash_update (stats, name, value);
        free (value);
        free (name);
    }
}

zhash_t *
rumor_stats (rumor_t *self)
{
    if (!self)
        return NULL;
    zhash_t *stats = zhash_new ();
    zhash_autofree (stats);
    if (!self->supervisor)
        return stats;
    const char *actors [] = { "membership", "detector", "anti_entropy", "app" };
    for (int i = -1; i < 4; i++) {
        zmsg_t *request = i < 0? s_request (self, "STATS")
                               : s_actor_request (self, actors [i], "STATS");
        int32_t rc;
        zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
        if (rc == RUMOR_OK)
            s_stats_merge (stats, reply);
        zmsg_destroy (&reply);
    }
    return stats;
}

char *
rumor_why (rumor_t *self)
{
    if (!self)
        return NULL;
    if (!self->supervisor && self->start_error && *self->start_error)
        return zsys_sprintf ("node %s (id %s) is not running: the last "
                             "rumor_start failed: %s\n", self->name,
                             self->hex, self->start_error);
    if (!self->supervisor)
        return zsys_sprintf ("node %s (id %s) is not running: call "
                             "rumor_start\n", self->name, self->hex);
    zmsg_t *request = s_request (self, "WHY");
    int32_t rc;
    zmsg_t *reply = s_call (self, &request, S_CALL_TIMEOUT_MS, &rc);
    char *text = rc == RUMOR_OK? zmsg_popstr (reply): NULL;
    zmsg_destroy (&reply);
    return text? text: zsys_sprintf ("node %s: %s\n", self->name,
                                     rumor_strerror (rc));
}


//  --------------------------------------------------------------------------
//  Events to the program

static rumor_event_t *
s_event_new (zframe_t **frame_p)
{
    rumor_event_t *self = (rumor_event_t *) zmalloc (sizeof (rumor_event_t));
    assert (self);
    self->frame = *frame_p;
    *frame_p = NULL;
    if (rumor_supervisor_event_parse (self->frame, &self->view)) {
        rumor_event_destroy (&self);
        return NULL;
    }
    return self;
}

//  Wait up to timeout_ms (-1 = for ever) for an event. czmq's signal
//  handler only sets zsys_interrupted, and the signal may land on another
//  thread or between two polls: so poll in short slices and look at the
//  flag between them, and "NULL if interrupted" holds whenever Ctrl-C
//  comes.
#define S_RECV_SLICE_MS     100

static bool
s_event_ready (rumor_t *self, int timeout_ms)
{
    zmq_pollitem_t item = { zsock_resolve (self->events), 0, ZMQ_POLLIN, 0 };
    int64_t deadline = timeout_ms < 0? -1: zclock_mono () + timeout_ms;
    while (!zsys_interrupted) {
        int64_t left = deadline < 0? S_RECV_SLICE_MS: deadline - zclock_mono ();
        if (left < 0)
            left = 0;
        int slice = left < S_RECV_SLICE_MS? (int) left: S_RECV_SLICE_MS;
        int rc = zmq_poll (&item, 1, slice);
        if (rc > 0)
            return true;
        if (rc < 0 || (deadline >= 0 && zclock_mono () >= deadline))
            return false;           //  interrupted, or the time is up
    }
    return false;
}

rumor_event_t *
rumor_recv_timeout (rumor_t *self, int timeout_ms)
{
    if (!self || timeout_ms < -1)
        return NULL;
    //  A stopped node sends nothing more: hand out what is queued only
    if (!self->supervisor)
        timeout_ms = 0;
    //  Interrupted: NULL even while events are queued (rumor.h), or a
    //  busy cluster would keep a program's receive loop from ending
    if (zsys_interrupted)
        return NULL;
    //  What is queued already costs no poll (rumor_shell_try_recv)
    zframe_t *frame = rumor_shell_try_recv (self->events);
    if (!frame && timeout_ms != 0 && s_event_ready (self, timeout_ms))
        frame = zframe_recv (self->events);
    if (!frame)
        return NULL;                //  timeout or interrupted
    rumor_event_t *event = s_event_new (&frame);
    zframe_destroy (&frame);
    return event;
}

rumor_event_t *
rumor_recv (rumor_t *self)
{
    return rumor_recv_timeout (self, -1);
}

zsock_t *
rumor_socket (rumor_t *self)
{
    return self? self->events: NULL;
}

void
rumor_event_destroy (rumor_event_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rumor_event_t *self = *self_p;
    zframe_destroy (&self->frame);
    free (self);
    *self_p = NULL;
}

rumor_event_type_t
rumor_event_type (const rumor_event_t *self)
{
    return self? self->view.type: (rumor_event_type_t) 0;
}

const char *
rumor_event_type_name (const rumor_event_t *self)
{
    static const char *names [] = {
        "", "JOINED", "ALIVE", "SUSPECT", "FAILED", "LEFT", "UPDATED",
        "KEY_SET", "KEY_DELETED", "KEY_EXPIRED", "HEARD", "DIRECT", "QUERY",
        "RESPONSE", "QUERY_DONE"
    };
    if (!self || self->view.type < RUMOR_EVENT_JOINED
    ||  self->view.type > RUMOR_EVENT_QUERY_DONE)
        return "";
    return names [self->view.type];
}

const char *
rumor_event_member (const rumor_event_t *self)
{
    return self? self->view.member: "";
}

const char *
rumor_event_name (const rumor_event_t *self)
{
    return self? self->view.name: "";
}

const char *
rumor_event_endpoint (const rumor_event_t *self)
{
    return self? self->view.endpoint: "";
}

const char *
rumor_event_topic (const rumor_event_t *self)
{
    return self? self->view.topic: "";
}

const void *
rumor_event_data (const rumor_event_t *self)
{
    return self? self->view.data: NULL;
}

size_t
rumor_event_size (const rumor_event_t *self)
{
    return self? self->view.size: 0;
}

int64_t
rumor_event_query (const rumor_event_t *self)
{
    return self? (int64_t) self->view.query: 0;
}

bool
rumor_event_complete (const rumor_event_t *self)
{
    return self && self->view.complete;
}

const char *
rumor_event_evidence (const rumor_event_t *self)
{
    return self? self->view.evidence: "";
}


//  --------------------------------------------------------------------------
//  For framework/node_limits.c: the node's limits, and whether it runs

rumor_limits_t *rumor_node_limits (rumor_t *self, bool *running);

rumor_limits_t *
rumor_node_limits (rumor_t *self, bool *running)
{
    *running = self->supervisor != NULL;
    return &self->limits;
}
