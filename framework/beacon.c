/*  =========================================================================
    rumor_discovery - beacon discovery for live nodes

    The I/O shell of the beacon: a UDP socket (loopback mode) or czmq's
    zbeacon actor (LAN mode) on one side; on the other, the codec's beacon
    decoder and our own checks (MAC, own id, clock skew, replays,
    endpoint). Every datagram is counted once as heard, then once as
    accepted or under one refusal reason. See beacon.h for the modes,
    signing, replay defence, polling and timing.

    What it deliberately does not do: decide whether to join a node it
    heard (membership does, and rate-limits rejoins), remember who it heard
    beyond the last one and, with keys, each sender's last timestamp, or
    derive keys from secrets (the caller does: framework/secret.c).
    =========================================================================
*/

#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include "beacon.h"
#include "pollfd.h"

//  lo's broadcast address (a "broadcast" route of the local table): Linux
//  delivers a datagram sent there to every socket bound to it and that
//  port, and never routes it off the host. The source of such a datagram
//  is lo's address.
#define S_LOOPBACK_GROUP    "127.255.255.255"
#define S_LOOPBACK_ADDRESS  "127.0.0.1"

//  In LAN mode each tick publishes a fresh beacon, which zbeacon sends at
//  once; zbeacon repeats the last one by itself only after this many
//  intervals without a publish (the supervisor stalled). Why 3: late
//  enough never to double the beacon of a punctual tick, soon enough that
//  a stalled node still shows up on the LAN.
#define S_LAN_REPEAT_FACTOR 3

//  Longest interval accepted: a beacon an hour finds nobody in time, and
//  3 of them still fit zbeacon's int interval.
#define S_INTERVAL_MAX      (3600 * 1000)

//  One warning line per refusal reason per minute: enough to notice a
//  misconfigured neighbour, never a flood from a hostile one.
#define S_WARN_INTERVAL_MS  60000

//  The supervisor hands us its whole keyring
#ifdef RUMOR_KEYRING_MAX
_Static_assert (RUMOR_KEYRING_MAX <= RUMOR_DISCOVERY_KEYS_MAX,
                "a keyring holds more keys than the beacon takes");
#endif

//  A signed beacon ends with field 8 (mac, wire type 2: length-delimited)
//  of RUMOR_DISCOVERY_MAC_SIZE bytes: key byte, length byte, MAC.
#define S_MAC_KEY_BYTE      ((8 << 3) | 2)
#define S_MAC_TRAILER       (2 + RUMOR_DISCOVERY_MAC_SIZE)

//  Why a datagram was refused, in the order of the checks
typedef enum {
    S_OVERSIZED,
    S_MALFORMED,
    S_OTHER_VERSION,
    S_OTHER_CLUSTER,
    S_OWN,
    S_ID_CONFLICT,
    S_BAD_PORT,
    S_BAD_TIME,
    S_BAD_ENDPOINT,
    S_UNSIGNED,                     //  (checked right after decoding, but
    S_BAD_MAC,                      //  listed last so that the counters
    S_REPLAYED,                     //  keep their order)
    S_REASONS,                      //  number of reasons
    S_ACCEPTED = S_REASONS          //  not a refusal
} s_reason_t;

//  A named counter of rumor_discovery_stats_t
typedef struct {
    const char *name;               //  as in "beacon.<name>"
    size_t offset;                  //  offset in rumor_discovery_stats_t
} s_counter_t;

#define S_COUNTER(name) { #name, offsetof (rumor_discovery_stats_t, name) }
#define S_COUNTER_AS(name, field) \
    { name, offsetof (rumor_discovery_stats_t, field) }

//  The refusal counters, indexed by s_reason_t
static const s_counter_t s_reasons [S_REASONS] = {
    S_COUNTER (oversized), S_COUNTER (malformed), S_COUNTER (other_version),
    S_COUNTER (other_cluster), S_COUNTER (own), S_COUNTER (id_conflict),
    S_COUNTER (bad_port), S_COUNTER (bad_time), S_COUNTER (bad_endpoint),
    S_COUNTER_AS ("unsigned", unsigned_), S_COUNTER (bad_mac),
    S_COUNTER (replayed)
};

//  The other counters
static const s_counter_t s_totals [] = {
    S_COUNTER (sent), S_COUNTER (send_failed), S_COUNTER (heard),
    S_COUNTER (accepted)
};
#define S_TOTALS (sizeof (s_totals) / sizeof (s_totals [0]))

//  The last timestamp accepted from one sender id (with keys)
typedef struct {
    uint64_t timestamp;             //  its clock, ms
    uint64_t serial;                //  when we accepted it: our accept
                                    //  count then, for least recently
                                    //  heard (our clock may step back)
} s_sender_t;

//  One datagram as read, before any check
typedef struct {
    uint8_t data [RUMOR_BEACON_MAX + 1];    //  its first bytes
    size_t size;                    //  its real size (may exceed data)
    char source [sizeof (((rumor_heard_t *) 0)->address)];  //  sender's
                                    //  address, numeric
} s_datagram_t;

struct _rumor_discovery_t {
    rumor_discovery_cfg_t cfg;      //  our settings; strings point below
    char *iface;                    //  LAN interface name, or NULL
    char *endpoint;                 //  advertised endpoint, "" if none
    rumor_pollfd_t *handle;         //  loopback socket, or NULL
    zactor_t *beacon;               //  zbeacon (LAN mode), or NULL
    struct sockaddr_in group;       //  loopback: 127.255.255.255:port
    char address [NI_MAXHOST];      //  our address on the beacon's net
    int64_t send_at;                //  next beacon due; 0 = first tick
    int64_t now_ms;                 //  latest now_ms seen, for "ago"
    int send_errno;                 //  errno of the last failed send
    rumor_discovery_stats_t stats;  //  counters
    rumor_heard_t last;             //  last beacon accepted
    bool heard_any;                 //  last is set
    s_reason_t refused_reason;      //  last refusal's reason
    char refused_from [sizeof (((rumor_heard_t *) 0)->address)];
                                    //  last refusal's source address
    int64_t refused_ms;             //  when it was read
    bool refused_any;               //  refused_* are set
    int64_t warned_ms [S_REASONS];  //  last warning logged, per reason
    uint8_t keys [RUMOR_DISCOVERY_KEYS_MAX][RUMOR_DISCOVERY_KEY_SIZE];
                                    //  MAC keys, keys [0] signs; wiped
    size_t n_keys;                  //  keys in use, 0 = no secret
    zhashx_t *senders;              //  id hex -> s_sender_t, with keys
                                    //  only, at most ..._SENDERS_MAX
};

//  Why the last rumor_discovery_new of this thread failed. Thread-local:
//  each node's supervisor creates its discovery in its own thread.
static _Thread_local char s_error [512];

//  zsys_set_interface is process-global and zbeacon reads it during
//  CONFIGURE: this lock keeps two nodes starting at once from swapping
//  interfaces.
static pthread_mutex_t s_iface_lock = PTHREAD_MUTEX_INITIALIZER;


//  --------------------------------------------------------------------------
//  Small helpers

static uint64_t *
s_counter (rumor_discovery_stats_t *stats, const s_counter_t *counter)
{
    return (uint64_t *) ((char *) stats + counter->offset);
}

static uint64_t
s_count (const rumor_discovery_stats_t *stats, const s_counter_t *counter)
{
    return *(const uint64_t *) ((const char *) stats + counter->offset);
}

//  Record why new failed; returns -1 for the caller to return.
static int
s_fail (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (s_error, sizeof (s_error), format, args);
    va_end (args);
    return -1;
}

//  The interfaces zbeacon can use (czmq's ziflist: IPv4, up, broadcast,
//  not lo), as "eth0 10.0.0.5 (broadcast 10.0.0.255), ..." or "none".
//  Returns a new string.
static char *
s_interfaces (void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    ziflist_t *iflist = ziflist_new ();
    assert (iflist);
    const char *name = ziflist_first (iflist);
    if (!name)
        fprintf (out, "none");
    while (name) {
        fprintf (out, "%s %s (broadcast %s)", name, ziflist_address (iflist),
                 ziflist_broadcast (iflist));
        name = ziflist_next (iflist);
        if (name)
            fprintf (out, ", ");
    }
    ziflist_destroy (&iflist);
    fclose (out);
    return text;
}


//  --------------------------------------------------------------------------
//  Endpoints: the codec's rule (rumor_codec_valid_endpoint) everywhere, so
//  that what we report, membership accepts.

//  The endpoint of a beacon without one: "tcp://source:port", IPv6 source
//  in brackets. Returns false if source is empty, or the result does not
//  fit or is not a valid endpoint (an IPv6 source with a %scope is not).
static bool
s_source_endpoint (const char *source, uint32_t port, char *endpoint,
                   size_t size)
{
    if (!*source)
        return false;
    const char *format = strchr (source, ':')? "tcp://[%s]:%u": "tcp://%s:%u";
    int length = snprintf (endpoint, size, format, source, (unsigned) port);
    return length > 0 && (size_t) length < size
        && rumor_codec_valid_endpoint (endpoint);
}


//  --------------------------------------------------------------------------
//  Configuration

void
rumor_discovery_cfg_defaults (rumor_discovery_cfg_t *cfg)
{
    assert (cfg);
    memset (cfg, 0, sizeof (*cfg));
    cfg->mode = RUMOR_BEACON_OFF;
    cfg->port = RUMOR_DISCOVERY_PORT_DFLT;
    cfg->interval_ms = RUMOR_DISCOVERY_INTERVAL_DFLT;
    cfg->max_skew_ms = RUMOR_DISCOVERY_MAX_SKEW_DFLT;
    cfg->replay_window_ms = RUMOR_DISCOVERY_REPLAY_WINDOW_DFLT;
}

//  Our beacon, stamped timestamp. NULL only if the cfg makes it invalid or
//  over RUMOR_BEACON_MAX bytes, which new rules out.
static zframe_t *
s_pack (rumor_discovery_t *self, uint64_t timestamp)
{
    Rumor__Beacon beacon = RUMOR__BEACON__INIT;
    beacon.cluster = self->cfg.cluster;
    beacon.id = rumor_id_bin (&self->cfg.self);
    beacon.generation = self->cfg.generation;
    beacon.port = (uint32_t) self->cfg.tcp_port;
    beacon.endpoint = self->endpoint;
    beacon.timestamp = timestamp;
    return rumor_codec_pack_beacon (&beacon);
}

//  The MAC of a beacon's signed part under key.
static void
s_mac (const uint8_t *key, const uint8_t *data, size_t size,
       uint8_t mac [RUMOR_DISCOVERY_MAC_SIZE])
{
    int rc = crypto_generichash (mac, RUMOR_DISCOVERY_MAC_SIZE, data, size,
                                 key, RUMOR_DISCOVERY_KEY_SIZE);
    assert (rc == 0);               //  sizes are within BLAKE2b's bounds
}

//  Append the mac field, signed with key, to a packed beacon (see "Signed
//  beacons" in beacon.h). Returns a new frame, or NULL if it would exceed
//  RUMOR_BEACON_MAX bytes. The frame given is left alone.
static zframe_t *
s_sign (const uint8_t *key, zframe_t *unsigned_beacon)
{
    size_t size = zframe_size (unsigned_beacon);
    if (size + S_MAC_TRAILER > RUMOR_BEACON_MAX)
        return NULL;
    zframe_t *frame = zframe_new (NULL, size + S_MAC_TRAILER);
    assert (frame);
    uint8_t *data = zframe_data (frame);
    memcpy (data, zframe_data (unsigned_beacon), size);
    data [size] = S_MAC_KEY_BYTE;
    data [size + 1] = RUMOR_DISCOVERY_MAC_SIZE;
    s_mac (key, data, size, data + size + 2);
    return frame;
}

//  Our beacon stamped timestamp, signed if we have keys. NULL only if the
//  cfg or keys make it invalid or too large, which new and set_keys rule
//  out.
static zframe_t *
s_beacon (rumor_discovery_t *self, const uint8_t *key, uint64_t timestamp)
{
    zframe_t *frame = s_pack (self, timestamp);
    if (frame && key) {
        zframe_t *signed_beacon = s_sign (key, frame);
        zframe_destroy (&frame);
        frame = signed_beacon;
    }
    return frame;
}

//  Returns 0 if our largest beacon, signed with key if not NULL, fits in
//  RUMOR_BEACON_MAX bytes, else -1 (s_error).
static int
s_check_size (rumor_discovery_t *self, const uint8_t *key)
{
    //  The largest beacon we will send: the longest timestamp varint
    zframe_t *largest = s_beacon (self, key, UINT64_MAX);
    if (!largest)
        return s_fail ("beacon: advertised endpoint '%s' makes the beacon "
                       "larger than %d bytes%s", self->endpoint,
                       RUMOR_BEACON_MAX, key? " with its MAC (a secret "
                       "takes 34 bytes)": "");
    zframe_destroy (&largest);
    return 0;
}

//  Returns 0 if keys and n_keys make sense, else -1 (s_error).
static int
s_check_keys (const uint8_t *keys, size_t n_keys)
{
    if (n_keys > RUMOR_DISCOVERY_KEYS_MAX)
        return s_fail ("beacon: %zu keys, at most %d", n_keys,
                       RUMOR_DISCOVERY_KEYS_MAX);
    if (n_keys && !keys)
        return s_fail ("beacon: %zu keys but no key bytes", n_keys);
    return 0;
}

//  Wipe our keys and put n_keys of keys in their place.
static void
s_set_keys (rumor_discovery_t *self, const uint8_t *keys, size_t n_keys)
{
    sodium_memzero (self->keys, sizeof (self->keys));
    if (n_keys)
        memcpy (self->keys, keys, n_keys * RUMOR_DISCOVERY_KEY_SIZE);
    self->n_keys = n_keys;
}

//  Returns 0 if the settings in self->cfg make sense, else -1 (s_error).
static int
s_check_cfg (rumor_discovery_t *self)
{
    const rumor_discovery_cfg_t *cfg = &self->cfg;
    if (cfg->mode != RUMOR_BEACON_LAN && cfg->mode != RUMOR_BEACON_LOOPBACK
    &&  cfg->mode != RUMOR_BEACON_OFF)
        return s_fail ("beacon: unknown mode %d", (int) cfg->mode);
    if (cfg->port < 1 || cfg->port > RUMOR_PORT_MAX)
        return s_fail ("beacon: UDP port %d is not in 1..65535", cfg->port);
    if (cfg->tcp_port < 1 || cfg->tcp_port > RUMOR_PORT_MAX)
        return s_fail ("beacon: TCP port %d is not in 1..65535",
                       cfg->tcp_port);
    if (cfg->interval_ms < RUMOR_DISCOVERY_INTERVAL_MIN
    ||  cfg->interval_ms > S_INTERVAL_MAX)
        return s_fail ("beacon: interval %" PRId64 " ms is not in %d..%d",
                       cfg->interval_ms, RUMOR_DISCOVERY_INTERVAL_MIN,
                       S_INTERVAL_MAX);
    if (cfg->max_skew_ms < 0)
        return s_fail ("beacon: negative max_skew_ms");
    if (cfg->replay_window_ms < RUMOR_DISCOVERY_REPLAY_WINDOW_MIN)
        return s_fail ("beacon: replay window %" PRId64 " ms is under %d ms",
                       cfg->replay_window_ms,
                       RUMOR_DISCOVERY_REPLAY_WINDOW_MIN);
    if (s_check_keys (cfg->keys, cfg->n_keys))
        return -1;
    if (cfg->iface && (!*cfg->iface || strlen (cfg->iface) >= IF_NAMESIZE))
        return s_fail ("beacon: bad interface name '%s'", cfg->iface);
    if (*self->endpoint && !rumor_codec_valid_endpoint (self->endpoint))
        return s_fail ("beacon: advertised endpoint '%s' is not "
                       "tcp://host:port", self->endpoint);
    return s_check_size (self, cfg->n_keys? cfg->keys: NULL);
}


//  --------------------------------------------------------------------------
//  Opening the socket of each mode

static int
s_loopback_open (rumor_discovery_t *self)
{
    self->handle = rumor_pollfd_new (-1);
    assert (self->handle);
    self->group.sin_family = AF_INET;
    self->group.sin_port = htons ((uint16_t) self->cfg.port);
    inet_pton (AF_INET, S_LOOPBACK_GROUP, &self->group.sin_addr);

    int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return s_fail ("loopback beacon: socket: %s", strerror (errno));
    self->handle->fd = fd;
    int on = 1;
    if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof (on))
    ||  setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof (on))
    ||  setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof (on)))
        return s_fail ("loopback beacon: setsockopt: %s", strerror (errno));
    if (bind (fd, (struct sockaddr *) &self->group, sizeof (self->group)))
        return s_fail ("loopback beacon: cannot bind %s:%d: %s (is lo up? "
                       "is the port held by another user's socket?)",
                       S_LOOPBACK_GROUP, self->cfg.port, strerror (errno));
    snprintf (self->address, sizeof (self->address), S_LOOPBACK_ADDRESS);
    return 0;
}

//  Start zbeacon on the interface and return the address it configured
//  (a new string, "" if none), holding the interface lock around
//  zsys_set_interface and CONFIGURE.
static char *
s_lan_configure (rumor_discovery_t *self)
{
    pthread_mutex_lock (&s_iface_lock);
    if (self->iface)
        zsys_set_interface (self->iface);
    self->beacon = zactor_new (zbeacon, NULL);
    assert (self->beacon);
    zsock_send (self->beacon, "si", "CONFIGURE", self->cfg.port);
    char *hostname = zstr_recv (self->beacon);
    pthread_mutex_unlock (&s_iface_lock);
    return hostname? hostname: strdup ("");
}

static int
s_lan_open (rumor_discovery_t *self)
{
    //  "*" is czmq's wildcard (INADDR_ANY, sent to 255.255.255.255)
    if (self->iface && !streq (self->iface, "*")
    &&  if_nametoindex (self->iface) == 0) {
        char *usable = s_interfaces ();
        s_fail ("LAN beacon: no such network interface '%s' (interfaces "
                "czmq can beacon on: %s)", self->iface, usable);
        free (usable);
        return -1;
    }
    char *hostname = s_lan_configure (self);
    int rc = 0;
    if (*hostname) {
        snprintf (self->address, sizeof (self->address), "%s", hostname);
        zsock_send (self->beacon, "sb", "SUBSCRIBE", "", (size_t) 0);
    }
    else {
        char *usable = s_interfaces ();
        rc = s_fail ("LAN beacon: czmq found no usable address on interface "
                     "'%s' (it skips lo, interfaces that are down and those "
                     "without broadcast; interfaces czmq can beacon on: %s)",
                     *zsys_interface ()? zsys_interface (): "(default)",
                     usable);
        free (usable);
    }
    zstr_free (&hostname);
    return rc;
}


//  --------------------------------------------------------------------------
//  Lifecycle

static void
s_sender_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

rumor_discovery_t *
rumor_discovery_new (const rumor_discovery_cfg_t *cfg)
{
    assert (cfg);
    s_error [0] = 0;
    rumor_discovery_t *self =
        (rumor_discovery_t *) zmalloc (sizeof (rumor_discovery_t));
    assert (self);
    self->cfg = *cfg;
    self->iface = cfg->iface? strdup (cfg->iface): NULL;
    self->endpoint = strdup (cfg->endpoint? cfg->endpoint: "");
    assert (self->endpoint);
    self->cfg.iface = self->iface;
    self->cfg.endpoint = self->endpoint;
    self->cfg.keys = NULL;          //  copied below, never kept
    self->cfg.n_keys = 0;
    for (int reason = 0; reason < S_REASONS; reason++)
        self->warned_ms [reason] = INT64_MIN;
    self->senders = zhashx_new ();
    assert (self->senders);
    zhashx_set_destructor (self->senders, s_sender_free);

    int rc = sodium_init () < 0? s_fail ("beacon: libsodium cannot start"): 0;
    if (rc == 0) {
        self->cfg.keys = cfg->keys; //  for s_check_cfg only
        self->cfg.n_keys = cfg->n_keys;
        rc = s_check_cfg (self);
        self->cfg.keys = NULL;
        self->cfg.n_keys = 0;
    }
    if (rc == 0)
        s_set_keys (self, cfg->keys, cfg->n_keys);
    if (rc == 0 && cfg->mode == RUMOR_BEACON_LOOPBACK)
        rc = s_loopback_open (self);
    else
    if (rc == 0 && cfg->mode == RUMOR_BEACON_LAN)
        rc = s_lan_open (self);
    if (rc)
        rumor_discovery_destroy (&self);
    return self;
}

const char *
rumor_discovery_error (void)
{
    return s_error;
}

void
rumor_discovery_destroy (rumor_discovery_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rumor_discovery_t *self = *self_p;
        rumor_pollfd_destroy (&self->handle);
        zactor_destroy (&self->beacon);
        sodium_memzero (self->keys, sizeof (self->keys));
        zhashx_destroy (&self->senders);
        free (self->iface);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Polling

void *
rumor_discovery_pollable (rumor_discovery_t *self)
{
    assert (self);
    if (self->beacon)
        return self->beacon;
    return self->handle;            //  a rumor_pollfd_t, or NULL when OFF
}

int
rumor_discovery_fd (rumor_discovery_t *self)
{
    assert (self);
    return self->handle? self->handle->fd: -1;
}

int
rumor_discovery_pollitem (rumor_discovery_t *self, zmq_pollitem_t *item)
{
    assert (self);
    assert (item);
    memset (item, 0, sizeof (*item));
    if (self->beacon)
        item->socket = zsock_resolve (self->beacon);
    else
    if (self->handle)
        item->fd = self->handle->fd;
    else
        return -1;
    item->events = ZMQ_POLLIN;
    return 0;
}


//  --------------------------------------------------------------------------
//  Receiving

//  Keep the latest clock reading, for the "ago" of the why report.
static void
s_note_time (rumor_discovery_t *self, int64_t now_ms)
{
    if (now_ms > self->now_ms)
        self->now_ms = now_ms;
}

//  Read one datagram from the loopback socket. Returns 0, or -1 if none.
static int
s_loopback_read (rumor_discovery_t *self, s_datagram_t *datagram)
{
    struct sockaddr_storage from;
    socklen_t from_size = sizeof (from);
    //  MSG_TRUNC: the real size is returned even when it exceeds data, so
    //  an oversized datagram is told from a beacon
    ssize_t size = recvfrom (self->handle->fd, datagram->data,
                             sizeof (datagram->data), MSG_TRUNC | MSG_DONTWAIT,
                             (struct sockaddr *) &from, &from_size);
    if (size < 0)
        return -1;                  //  EAGAIN: nothing (or a socket error)
    datagram->size = (size_t) size;
    if (getnameinfo ((struct sockaddr *) &from, from_size, datagram->source,
                     sizeof (datagram->source), NULL, 0, NI_NUMERICHOST))
        datagram->source [0] = 0;   //  no endpoint can be derived from it
    return 0;
}

//  Read one beacon forwarded by zbeacon. Returns 0, or -1 if none.
static int
s_lan_read (rumor_discovery_t *self, s_datagram_t *datagram)
{
    if (!(zsock_events (self->beacon) & ZMQ_POLLIN))
        return -1;
    zmsg_t *msg = zmsg_recv (self->beacon);
    if (!msg)
        return -1;                  //  interrupted
    //  zbeacon's own protocol (an internal API): [source address][payload].
    //  It reads at most 255 bytes, so a longer datagram arrives cut short
    //  and is refused as malformed, not oversized.
    char *source = zmsg_popstr (msg);
    zframe_t *payload = zmsg_pop (msg);
    assert (source && payload);
    snprintf (datagram->source, sizeof (datagram->source), "%s", source);
    datagram->size = zframe_size (payload);
    memcpy (datagram->data, zframe_data (payload),
            datagram->size < sizeof (datagram->data)?
            datagram->size: sizeof (datagram->data));
    zstr_free (&source);
    zframe_destroy (&payload);
    zmsg_destroy (&msg);
    return 0;
}

//  The codec refused a beacon for a field out of bounds: its port or its
//  endpoint. The pre-scan passed, so the bytes are a well-formed beacon of
//  at most RUMOR_BEACON_MAX bytes: unpack them only to tell which.
static s_reason_t
s_field_reason (const uint8_t *data, size_t size)
{
    Rumor__Beacon *beacon = rumor__beacon__unpack (NULL, size, data);
    s_reason_t reason = S_BAD_ENDPOINT;
    if (beacon && (beacon->port == 0 || beacon->port > RUMOR_PORT_MAX))
        reason = S_BAD_PORT;
    if (beacon)
        rumor__beacon__free_unpacked (beacon, NULL);
    return reason;
}

//  Map the codec's verdict on a refused beacon to our reason.
static s_reason_t
s_codec_reason (const rumor_codec_stats_t *verdict, const uint8_t *data,
                size_t size)
{
    if (verdict->oversized)
        return S_OVERSIZED;
    if (verdict->bad_version)
        return S_OTHER_VERSION;
    if (verdict->bad_cluster)
        return S_OTHER_CLUSTER;
    if (verdict->bad_field)
        return s_field_reason (data, size);
    return S_MALFORMED;             //  malformed, or an id not 16 bytes
}

//  True if a sender's clock reading is within max_skew_ms of ours, and
//  with keys within replay_window_ms.
static bool
s_timely (rumor_discovery_t *self, int64_t now_ms, uint64_t timestamp)
{
    if (timestamp > (uint64_t) INT64_MAX)
        return false;
    int64_t limit = self->cfg.max_skew_ms;
    if (self->n_keys && self->cfg.replay_window_ms < limit)
        limit = self->cfg.replay_window_ms;
    //  Both within int64_t; a difference over INT64_MAX is absurd anyway
    int64_t skew;
    if (__builtin_sub_overflow ((int64_t) timestamp, now_ms, &skew)
    ||  skew == INT64_MIN)
        return false;
    return skew <= limit && -skew <= limit;
}

//  The MAC check, on a beacon the codec accepted from data: S_ACCEPTED if
//  it is signed by one of our keys, or if neither it nor we use one.
static s_reason_t
s_verify (rumor_discovery_t *self, const uint8_t *data, size_t size,
          const Rumor__Beacon *beacon)
{
    if (self->n_keys == 0)          //  we cannot check a MAC: refuse it
        return beacon->mac.len? S_BAD_MAC: S_ACCEPTED;
    if (beacon->mac.len == 0)
        return S_UNSIGNED;
    //  The mac field must be the datagram's last bytes, so that the MAC
    //  covers every other byte (the decoded value must be those bytes:
    //  else the trailer is the tail of some other field)
    if (beacon->mac.len != RUMOR_DISCOVERY_MAC_SIZE || size < S_MAC_TRAILER)
        return S_BAD_MAC;
    const uint8_t *trailer = data + size - S_MAC_TRAILER;
    if (trailer [0] != S_MAC_KEY_BYTE
    ||  trailer [1] != RUMOR_DISCOVERY_MAC_SIZE
    ||  memcmp (trailer + 2, beacon->mac.data, RUMOR_DISCOVERY_MAC_SIZE))
        return S_BAD_MAC;
    uint8_t mac [RUMOR_DISCOVERY_MAC_SIZE];
    bool verified = false;
    for (size_t index = 0; index < self->n_keys && !verified; index++) {
        s_mac (self->keys [index], data, size - S_MAC_TRAILER, mac);
        verified = crypto_verify_32 (mac, trailer + 2) == 0;
    }
    return verified? S_ACCEPTED: S_BAD_MAC;
}

//  The sender record of id, or NULL.
static s_sender_t *
s_sender (rumor_discovery_t *self, const rumor_id_t *id)
{
    char hex [RUMOR_ID_HEX];
    return (s_sender_t *) zhashx_lookup (self->senders, rumor_id_hex (id, hex));
}

//  True if, with keys, we already accepted a beacon of id with this
//  timestamp or a later one.
static bool
s_replayed (rumor_discovery_t *self, const rumor_id_t *id, uint64_t timestamp)
{
    if (self->n_keys == 0)
        return false;
    s_sender_t *sender = s_sender (self, id);
    return sender && timestamp <= sender->timestamp;
}

//  Forget the least recently heard sender.
static void
s_evict_sender (rumor_discovery_t *self)
{
    char oldest [RUMOR_ID_HEX] = "";
    uint64_t serial = UINT64_MAX;
    for (s_sender_t *sender = (s_sender_t *) zhashx_first (self->senders);
         sender; sender = (s_sender_t *) zhashx_next (self->senders))
        if (sender->serial < serial) {
            serial = sender->serial;
            snprintf (oldest, sizeof (oldest), "%s",
                      (const char *) zhashx_cursor (self->senders));
        }
    zhashx_delete (self->senders, oldest);
}

//  With keys, remember the timestamp of a beacon of id we accepted.
static void
s_remember (rumor_discovery_t *self, const rumor_id_t *id, uint64_t timestamp)
{
    if (self->n_keys == 0)
        return;
    s_sender_t *sender = s_sender (self, id);
    if (!sender) {
        if (zhashx_size (self->senders) >= RUMOR_DISCOVERY_SENDERS_MAX)
            s_evict_sender (self);
        sender = (s_sender_t *) zmalloc (sizeof (s_sender_t));
        assert (sender);
        char hex [RUMOR_ID_HEX];
        int rc = zhashx_insert (self->senders, rumor_id_hex (id, hex), sender);
        assert (rc == 0);
    }
    sender->timestamp = timestamp;
    sender->serial = self->stats.accepted;
}

//  Our checks on a beacon the codec accepted from data; fills heard if
//  accepted.
static s_reason_t
s_check_beacon (rumor_discovery_t *self, int64_t now_ms, const uint8_t *data,
                size_t size, const Rumor__Beacon *beacon, const char *source,
                rumor_heard_t *heard)
{
    //  First the MAC: what is not authentic moves nothing else
    s_reason_t reason = s_verify (self, data, size, beacon);
    if (reason != S_ACCEPTED)
        return reason;
    if (rumor_id_eq_bin (&self->cfg.self, beacon->id))
        return beacon->generation == self->cfg.generation?
            S_OWN:                  //  ours, back from the broadcast
            S_ID_CONFLICT;          //  another process under our name
    if (!s_timely (self, now_ms, beacon->timestamp))
        return S_BAD_TIME;
    rumor_heard_t found;
    memset (&found, 0, sizeof (found));
    rumor_id_from_bin (&found.id, beacon->id);
    if (s_replayed (self, &found.id, beacon->timestamp))
        return S_REPLAYED;
    if (*beacon->endpoint)          //  the codec checked it
        snprintf (found.endpoint, sizeof (found.endpoint), "%s",
                  beacon->endpoint);
    else
    if (!s_source_endpoint (source, beacon->port, found.endpoint,
                            sizeof (found.endpoint)))
        return S_BAD_ENDPOINT;
    found.generation = beacon->generation;
    snprintf (found.address, sizeof (found.address), "%s", source);
    found.timestamp = beacon->timestamp;
    found.heard_ms = now_ms;
    *heard = found;
    return S_ACCEPTED;
}

//  Every check on one datagram, in order; fills heard if accepted.
static s_reason_t
s_check (rumor_discovery_t *self, int64_t now_ms, const uint8_t *data,
         size_t size, const char *source, rumor_heard_t *heard)
{
    if (size > RUMOR_BEACON_MAX)
        return S_OVERSIZED;         //  and only its first bytes were read
    rumor_codec_stats_t verdict;
    memset (&verdict, 0, sizeof (verdict));
    Rumor__Beacon *beacon = rumor_codec_decode_beacon (
        data, size, self->cfg.cluster, &verdict);
    if (!beacon)
        return s_codec_reason (&verdict, data, size);
    s_reason_t reason = s_check_beacon (self, now_ms, data, size, beacon,
                                        source, heard);
    rumor_codec_free_beacon (&beacon);
    return reason;
}

//  Count a refusal, remember it for the why report, and warn at most once
//  a minute per reason.
static void
s_refuse (rumor_discovery_t *self, int64_t now_ms, s_reason_t reason,
          const char *source)
{
    uint64_t *counter = s_counter (&self->stats, &s_reasons [reason]);
    (*counter)++;
    self->refused_reason = reason;
    snprintf (self->refused_from, sizeof (self->refused_from), "%s", source);
    self->refused_ms = now_ms;
    self->refused_any = true;
    if (reason == S_OWN)
        return;                     //  every beacon comes back: not news
    if (self->warned_ms [reason] != INT64_MIN
    &&  now_ms - self->warned_ms [reason] < S_WARN_INTERVAL_MS)
        return;
    self->warned_ms [reason] = now_ms;
    zsys_warning ("beacon: REFUSED reason=%s from=%s udp_port=%d count=%"
                  PRIu64, s_reasons [reason].name, *source? source: "?",
                  self->cfg.port, *counter);
}

int
rumor_discovery_accept (rumor_discovery_t *self, int64_t now_ms,
                        const void *data, size_t size,
                        const char *source_address, rumor_heard_t *heard)
{
    assert (self);
    assert (data || size == 0);
    assert (heard);
    s_note_time (self, now_ms);
    const char *source = source_address? source_address: "";
    self->stats.heard++;
    s_reason_t reason = s_check (self, now_ms, (const uint8_t *) data, size,
                                 source, heard);
    if (reason != S_ACCEPTED) {
        s_refuse (self, now_ms, reason, source);
        return 0;
    }
    self->stats.accepted++;
    s_remember (self, &heard->id, heard->timestamp);
    self->last = *heard;
    self->heard_any = true;
    return 1;
}

int
rumor_discovery_recv (rumor_discovery_t *self, int64_t now_ms,
                      rumor_heard_t *heard)
{
    assert (self);
    assert (heard);
    s_note_time (self, now_ms);
    s_datagram_t datagram;
    int rc = -1;
    if (self->handle)
        rc = s_loopback_read (self, &datagram);
    else
    if (self->beacon)
        rc = s_lan_read (self, &datagram);
    if (rc < 0)
        return -1;
    //  data holds only the first RUMOR_BEACON_MAX + 1 bytes, but the real
    //  size is passed: accept refuses it as oversized before reading it
    return rumor_discovery_accept (self, now_ms, datagram.data, datagram.size,
                                   datagram.source, heard);
}

//  Replace the keys; see beacon.h.
int
rumor_discovery_set_keys (rumor_discovery_t *self, const uint8_t *keys,
                          size_t n_keys)
{
    assert (self);
    s_error [0] = 0;
    if (s_check_keys (keys, n_keys)
    ||  s_check_size (self, n_keys? keys: NULL))
        return -1;
    s_set_keys (self, keys, n_keys);
    return 0;
}


//  --------------------------------------------------------------------------
//  Sending

zframe_t *
rumor_discovery_beacon (rumor_discovery_t *self, uint64_t timestamp)
{
    assert (self);
    zframe_t *frame = s_beacon (self, self->n_keys? self->keys [0]: NULL,
                                timestamp);
    assert (frame);                 //  new and set_keys packed the largest
    return frame;
}

static void
s_send (rumor_discovery_t *self, int64_t now_ms)
{
    zframe_t *frame = rumor_discovery_beacon (
        self, now_ms > 0? (uint64_t) now_ms: 0);
    if (self->beacon) {
        zsock_send (self->beacon, "sbi", "PUBLISH", zframe_data (frame),
                    zframe_size (frame),
                    (int) (self->cfg.interval_ms * S_LAN_REPEAT_FACTOR));
        self->stats.sent++;
    }
    else
    if (sendto (self->handle->fd, zframe_data (frame), zframe_size (frame),
                0, (struct sockaddr *) &self->group, sizeof (self->group))
        < 0) {
        self->stats.send_failed++;
        self->send_errno = errno;
    }
    else
        self->stats.sent++;
    zframe_destroy (&frame);
}

int64_t
rumor_discovery_next_deadline (rumor_discovery_t *self)
{
    assert (self);
    return self->cfg.mode == RUMOR_BEACON_OFF? -1: self->send_at;
}

void
rumor_discovery_tick (rumor_discovery_t *self, int64_t now_ms)
{
    assert (self);
    s_note_time (self, now_ms);
    if (self->cfg.mode == RUMOR_BEACON_OFF || now_ms < self->send_at)
        return;
    s_send (self, now_ms);
    self->send_at = now_ms + self->cfg.interval_ms;
}

int
rumor_discovery_set_interval (rumor_discovery_t *self, int64_t interval_ms,
                              int64_t now_ms)
{
    assert (self);
    if (interval_ms < RUMOR_DISCOVERY_INTERVAL_MIN
    ||  interval_ms > S_INTERVAL_MAX)
        return -1;
    self->cfg.interval_ms = interval_ms;
    if (self->send_at > now_ms + interval_ms)
        self->send_at = now_ms + interval_ms;
    return 0;
}

int64_t
rumor_discovery_paced (int64_t fast_ms, size_t live_peers, bool settled)
{
    if (!settled || live_peers == 0)
        return fast_ms;
    int64_t slow = fast_ms > RUMOR_DISCOVERY_SLOW_MS?
                   fast_ms: RUMOR_DISCOVERY_SLOW_MS;
    int64_t cap = slow > RUMOR_DISCOVERY_SHARED_MAX_MS?
                  slow: RUMOR_DISCOVERY_SHARED_MAX_MS;
    //  ceil ((live_peers + 1) / SHARE), computed without overflow
    size_t shares = live_peers / RUMOR_DISCOVERY_SHARE + 1;
    if (shares > (size_t) (cap / slow))
        return cap;
    return slow * (int64_t) shares;
}


//  --------------------------------------------------------------------------
//  Counters and accessors

const rumor_discovery_stats_t *
rumor_discovery_stats (rumor_discovery_t *self)
{
    assert (self);
    return &self->stats;
}

uint64_t
rumor_discovery_refused (const rumor_discovery_stats_t *stats)
{
    assert (stats);
    uint64_t sum = 0;
    for (int reason = 0; reason < S_REASONS; reason++)
        sum += s_count (stats, &s_reasons [reason]);
    return sum;
}

static void
s_export (zhash_t *hash, const s_counter_t *counter,
          const rumor_discovery_stats_t *stats)
{
    char key [64];
    char value [24];
    snprintf (key, sizeof (key), "beacon.%s", counter->name);
    snprintf (value, sizeof (value), "%" PRIu64, s_count (stats, counter));
    zhash_update (hash, key, value);
}

void
rumor_discovery_export (rumor_discovery_t *self, zhash_t *stats)
{
    assert (self);
    assert (stats);
    for (size_t index = 0; index < S_TOTALS; index++)
        s_export (stats, &s_totals [index], &self->stats);
    for (int reason = 0; reason < S_REASONS; reason++)
        s_export (stats, &s_reasons [reason], &self->stats);
}

const rumor_heard_t *
rumor_discovery_last_heard (rumor_discovery_t *self)
{
    assert (self);
    return self->heard_any? &self->last: NULL;
}

const char *
rumor_discovery_address (rumor_discovery_t *self)
{
    assert (self);
    return self->address;
}


//  --------------------------------------------------------------------------
//  The why report

static void
s_why_setup (rumor_discovery_t *self, FILE *out)
{
    const rumor_discovery_cfg_t *cfg = &self->cfg;
    if (cfg->mode == RUMOR_BEACON_LOOPBACK)
        fprintf (out, "beacon: loopback, UDP %s:%d (this host only), "
                 "interface lo, address %s\n", S_LOOPBACK_GROUP, cfg->port,
                 self->address);
    else {
        char *usable = s_interfaces ();
        fprintf (out, "beacon: LAN (zbeacon), UDP port %d, interface %s, "
                 "address %s\n", cfg->port,
                 self->iface? self->iface: "(czmq default)", self->address);
        fprintf (out, "  interfaces czmq can beacon on: %s\n", usable);
        free (usable);
    }
    char hex [RUMOR_ID_HEX];
    fprintf (out, "  we announce id %s, generation %" PRIu64 ", TCP port %d, "
             "endpoint %s, every %" PRId64 " ms\n",
             rumor_id_hex (&cfg->self, hex), cfg->generation, cfg->tcp_port,
             *self->endpoint? self->endpoint: "(the source address)",
             cfg->interval_ms);
    if (self->n_keys)
        fprintf (out, "  beacons signed (keyed BLAKE2b), %zu key%s (the "
                 "first signs), replay window %" PRId64 " ms, %zu senders "
                 "tracked\n", self->n_keys, self->n_keys == 1? "": "s",
                 cfg->replay_window_ms, zhashx_size (self->senders));
    else
        fprintf (out, "  beacons unsigned (no secret)\n");
}

static void
s_why_counts (rumor_discovery_t *self, FILE *out)
{
    const rumor_discovery_stats_t *stats = &self->stats;
    fprintf (out, "  sent %" PRIu64 " (failed %" PRIu64 "), heard %" PRIu64
             ", accepted %" PRIu64 ", refused %" PRIu64 ":",
             stats->sent, stats->send_failed, stats->heard, stats->accepted,
             rumor_discovery_refused (stats));
    for (int reason = 0; reason < S_REASONS; reason++)
        fprintf (out, " %s %" PRIu64, s_reasons [reason].name,
                 s_count (stats, &s_reasons [reason]));
    fprintf (out, "\n");
}

static void
s_why_last (rumor_discovery_t *self, FILE *out)
{
    if (self->heard_any) {
        char hex [RUMOR_ID_HEX];
        fprintf (out, "  last accepted: %s generation %" PRIu64 " at %s "
                 "(from %s), %" PRId64 " ms ago\n",
                 rumor_id_hex (&self->last.id, hex), self->last.generation,
                 self->last.endpoint, self->last.address,
                 self->now_ms - self->last.heard_ms);
    }
    if (self->refused_any)
        fprintf (out, "  last refused: %s from %s, %" PRId64 " ms ago\n",
                 s_reasons [self->refused_reason].name,
                 *self->refused_from? self->refused_from: "?",
                 self->now_ms - self->refused_ms);
}

//  Hints about signed beacons: whoever we refuse for their MAC cannot
//  join us, nor we them.
static void
s_why_security_hints (rumor_discovery_t *self, FILE *out)
{
    const rumor_discovery_stats_t *stats = &self->stats;
    if (stats->unsigned_)
        fprintf (out, "  hint: unsigned beacons were refused: a node of this "
                 "cluster runs without the secret (rumor_set_secret, rumord "
                 "--secret-file); it cannot join us\n");
    if (stats->bad_mac && self->n_keys)
        fprintf (out, "  hint: beacons no key of ours verifies were refused: "
                 "a node with another secret is beaconing (or beacons are "
                 "tampered with); in a key rotation, install the new key on "
                 "every node before any node uses it\n");
    if (stats->bad_mac && !self->n_keys)
        fprintf (out, "  hint: signed beacons were refused: other nodes have "
                 "a secret and this one has none, so it cannot check them "
                 "(nor would they accept it): give it the cluster's secret\n");
    if (stats->replayed)
        fprintf (out, "  hint: beacons no newer than one already accepted "
                 "from the same node were refused: copies of earlier beacons "
                 "(replayed), or a node whose clock stepped back; harmless\n");
}

static void
s_why_hints (rumor_discovery_t *self, FILE *out)
{
    const rumor_discovery_stats_t *stats = &self->stats;
    bool lan = self->cfg.mode == RUMOR_BEACON_LAN;
    if (stats->sent == 0 && stats->send_failed == 0)
        fprintf (out, "  hint: no beacon sent yet\n");
    if (stats->send_failed)
        fprintf (out, "  hint: sending fails (%s): is %s up?\n",
                 strerror (self->send_errno), lan? "the interface": "lo");
    if (stats->heard == stats->own)
        fprintf (out, "  hint: no beacon heard%s: is another node on the "
                 "same beacon port (%d) and cluster?%s\n",
                 stats->own? " but our own": "", self->cfg.port,
                 lan? " Is UDP broadcast blocked (firewall, Wi-Fi client "
                      "isolation), or are the nodes on other subnets? "
                      "Nodes on one host need the loopback beacon "
                      "(czmq skips lo).": "");
    if (stats->other_cluster)
        fprintf (out, "  hint: beacons of another cluster were heard: check "
                 "the cluster name of every node\n");
    if (stats->id_conflict)
        fprintf (out, "  hint: another node beacons with our id (at another "
                 "generation): are two nodes running under one name?\n");
    if (stats->other_version)
        fprintf (out, "  hint: nodes of another protocol major version beacon "
                 "on this port: they cannot join us\n");
    if (stats->bad_time && self->n_keys)
        fprintf (out, "  hint: beacons stamped over %" PRId64 " s from our "
                 "clock (the replay window of signed beacons) were refused: "
                 "some clocks differ from ours (synchronise them: NTP), or "
                 "old beacons are being replayed\n",
                 (self->cfg.replay_window_ms < self->cfg.max_skew_ms?
                  self->cfg.replay_window_ms: self->cfg.max_skew_ms) / 1000);
    else
    if (stats->bad_time)
        fprintf (out, "  hint: some clocks differ from ours by over %" PRId64
                 " s: synchronise them (NTP)\n",
                 self->cfg.max_skew_ms / 1000);
    s_why_security_hints (self, out);
    if (stats->oversized + stats->malformed + stats->bad_port
        + stats->bad_endpoint)
        fprintf (out, "  hint: datagrams that are not valid rumor beacons "
                 "arrive on UDP port %d: is another program using it?\n",
                 self->cfg.port);
    if (stats->accepted)
        fprintf (out, "  hint: beacons work; if members are still missing, "
                 "check TCP: the advertised endpoints and firewalls\n");
}

char *
rumor_discovery_why (rumor_discovery_t *self)
{
    assert (self);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    assert (out);
    if (self->cfg.mode == RUMOR_BEACON_OFF)
        fprintf (out, "beacon: off: this node finds others only through "
                 "seeds (rumor_join)\n");
    else {
        s_why_setup (self, out);
        s_why_counts (self, out);
        s_why_last (self, out);
        s_why_hints (self, out);
    }
    fclose (out);
    return text;
}
