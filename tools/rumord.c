/*  =========================================================================
    rumord - the rumor agent: one node, driven over a control socket

    Runs one rumor node configured from GNU long options and/or a config
    file, and serves schemas/control.proto on a ZMQ_ROUTER control socket
    (default ipc:///tmp/rumord-NAME.ctl). When ready it prints two lines on
    stdout:

        rumord: endpoint tcp://127.0.0.1:41234
        rumord: control ipc:///tmp/rumord-alice.ctl

    Membership changes are logged at info on stderr. SIGTERM or SIGINT (or
    a Leave request) makes the node leave gracefully; the agent exits 0.
    Bad configuration exits 2 with one line saying what and where; a
    network failure at start (port or control endpoint in use) exits 1.

    Config file: KEY = VALUE lines, keys are the long option names (name,
    cluster, port, bind, advertise, seed, beacon, beacon-port, interface,
    profile, control, tag, log-level, secret-file), and limit.NAME for
    --limit NAME=V;
    '#' or ';' starts a comment line; seed and tag may repeat.
    Command-line options override the file.

    Beacon default: loopback (nodes on this host only). The LAN beacon
    broadcasts on a real network and must be asked for: --beacon lan.
    =========================================================================
*/

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <fcntl.h>
#include "rumor.h"
#include "control.pb-c.h"
#include "agent_common.h"
#include "agent_secret.h"
#include "control_check.h"

_Static_assert (AGENT_SECRET_MIN == RUMOR_SECRET_MIN
             && AGENT_SECRET_MAX == RUMOR_SECRET_MAX,
                "agent_secret.h and rumor.h disagree on secret sizes");

//  Cap on concurrent listen streams: each costs a filter per event
#define AGENT_LISTENERS_MAX     64
//  Cap on our own queries in flight (their responses are routed back)
#define AGENT_QUERIES_MAX       256
//  QUERY events remembered so that a client can Respond to them
#define AGENT_INBOX_MAX         256
//  Per-client send queue, in messages: beyond it events are dropped
#define AGENT_CLIENT_HWM        1000
//  Longest sleep of the main loop (ms); a signal wakes it at once (s_wake)
#define AGENT_TICK_MS           1000
//  Longest TTL or timeout accepted: 30 days in ms
#define AGENT_TIME_MAX          (30LL * 24 * 3600 * 1000)
//  Default query timeout when the request says 0
#define AGENT_QUERY_TIMEOUT     5000
//  A query stream is dropped this long after its timeout if the node
//  never sent QUERY_DONE (it always should)
#define AGENT_QUERY_SLACK       10000
//  Cap on keyring operations in flight
#define AGENT_KEYRINGS_MAX      16
//  Answers kept per keyring operation; the rest are only counted (a reply
//  must stay well under the client's frame limit)
#define AGENT_KEYRING_ANSWERS   1024

enum { S_LOG_ERROR, S_LOG_WARNING, S_LOG_INFO, S_LOG_DEBUG };

//  Configuration, from file then command line
typedef struct {
    char *name;                     //  node name (default host name)
    char *cluster;                  //  cluster name, NULL = library default
    int port;                       //  TCP port, 0 = any
    char *bind;                     //  bind address, NULL = library default
    char *advertise;                //  advertised host, NULL = default
    zlist_t *seeds;                 //  tcp:// endpoints to join
    rumor_beacon_t beacon;          //  beacon mode
    int beacon_port;                //  beacon UDP port, 0 = default
    char *interface;                //  LAN beacon interface
    rumor_profile_t profile;        //  timing profile
    char *control;                  //  control endpoint, NULL = default
    zlist_t *tags;                  //  "KEY=VALUE" strings
    int log_level;                  //  LOG_*
    char *config;                   //  config file path, or NULL
    char *secret_file;              //  secret-file path, or NULL
    char *secret;                   //  the secret until the node has it
    char *secret_source;            //  where it came from, for messages
    bool secured;                   //  the node runs with a secret
    int64_t limits [RUMOR_LIMITS];  //  --limit values, 0 = the default
} s_config_t;

//  One listen stream
typedef struct {
    zframe_t *client;               //  ROUTER identity of the client
    uint64_t id;                    //  Listen request id
    char *pattern;                  //  topic pattern, "" = none
    bool members;                   //  member events too
    bool keys;                      //  key events too
    bool direct;                    //  direct messages too
    bool queries;                   //  QUERY events too
} s_listener_t;

//  One of our queries in flight
typedef struct {
    zframe_t *client;               //  who asked
    uint64_t id;                    //  Query request id
    int64_t query;                  //  node's query id
    int64_t expires;                //  monotonic ms: drop after this
} s_query_t;

//  One keyring operation in flight: answers gathered until QUERY_DONE
typedef struct {
    zframe_t *client;               //  who asked
    uint64_t id;                    //  Keyring request id
    int64_t query;                  //  node's query id
    int64_t expires;                //  monotonic ms: reply anyway after this
    const char *op;                 //  "install", "use", ... for the log
    bool local;                     //  this node only: no query
    zlistx_t *answers;              //  Rumorctl__KeyringAnswer items
    zhash_t *seen;                  //  member ids that answered
    uint32_t answered;              //  answers counted
    uint32_t ok;                    //  of which ok
} s_keyring_t;

//  The agent
typedef struct {
    rumor_t *node;                  //  the node we run
    s_config_t *config;             //  our configuration
    zsock_t *control;               //  ROUTER on the control endpoint
    char *endpoint;                 //  control endpoint bound
    int lock_fd;                    //  ipc endpoint lock file, or -1
    char *lock_path;                //  its path, or NULL
    zlistx_t *listeners;            //  s_listener_t items
    zhash_t *heard;                 //  pattern -> count of listeners
    zlistx_t *queries;              //  s_query_t items
    zlistx_t *keyrings;             //  s_keyring_t items
    rumor_event_t *inbox [AGENT_INBOX_MAX];  //  recent QUERY events
    size_t inbox_next;              //  next inbox slot to overwrite
    zhash_t *stats;                 //  counter name -> uint64_t *
    bool leaving;                   //  a Leave request asked us to stop
} s_agent_t;

static volatile sig_atomic_t s_signalled = 0;
//  The signal handler writes a byte here to wake the main loop: any
//  thread may take the signal, and the loop sleeps up to AGENT_TICK_MS
static int s_wake [2] = { -1, -1 };
static int s_log_level = S_LOG_INFO;


//  --------------------------------------------------------------------------
//  Logging to stderr, one line per message

static void
s_log (int level, const char *format, ...)
{
    if (level > s_log_level)
        return;
    static const char *tags [] = { "E", "W", "I", "D" };
    char line [1024];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof (line), format, args);
    va_end (args);
    fprintf (stderr, "rumord: %s: %s\n", tags [level], line);
    fflush (stderr);
}

//  SIGTERM/SIGINT: wake the main loop (write is async-signal-safe)
static void
s_on_signal (int signum)
{
    (void) signum;
    s_signalled = 1;
    if (s_wake [1] >= 0) {
        int saved = errno;
        ssize_t rc = write (s_wake [1], "", 1);
        (void) rc;                  //  full: a wakeup is pending anyway
        errno = saved;
    }
}

//  The wake pipe, both ends non-blocking and closed on exec. 0 or -1.
static int
s_wake_open (void)
{
    if (pipe (s_wake))
        return -1;
    for (int end = 0; end < 2; end++) {
        fcntl (s_wake [end], F_SETFL, O_NONBLOCK);
        fcntl (s_wake [end], F_SETFD, FD_CLOEXEC);
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Configuration

//  Prints the option summary
static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: rumord [OPTION]...\n"
"Run one rumor node and serve the control protocol (rumorctl) for it.\n"
"\n"
"  --name NAME            node name (default: the host name)\n"
"  --cluster NAME         cluster name (default: rumor)\n"
"  --port PORT            TCP port to bind, 0 = any free port (default 0)\n"
"  --bind ADDRESS         address to bind (default: all)\n"
"  --advertise HOST       host or address others use to reach this node\n"
"  --seed tcp://HOST:PORT join through this node (repeatable)\n"
"  --beacon MODE          lan | loopback | off (default: loopback; lan\n"
"                         broadcasts on a real network, ask for it)\n"
"  --beacon-port PORT     beacon UDP port (default 5671)\n"
"  --interface IFACE      LAN beacon interface, e.g. eth0\n"
"  --profile PROFILE      lan | local | wan timing (default lan)\n"
"  --control ENDPOINT     control socket (default ipc:///tmp/rumord-NAME.ctl)\n"
"  --config FILE          read KEY = VALUE lines (keys: the option names)\n"
"  --tag KEY=VALUE        tag this node (repeatable)\n"
"  --log-level LEVEL      error | warning | info | debug (default info)\n"
"  --limit NAME=VALUE     a limit (repeatable; config: limit.NAME = VALUE):\n"
"                         max-message-bytes (131072..1048576, default\n"
"                         1048576), max-members (default 10000), max-keys\n"
"                         (per member, default 10000), max-value-bytes (per\n"
"                         member, default 4194304), max-events-per-sec (per\n"
"                         origin, default 250000), max-queue (per peer\n"
"                         link, default 1000). The excess is refused and\n"
"                         counted (rumorctl stats)\n"
"  --secret-file FILE     cluster secret (16..1024 bytes, file mode 600):\n"
"                         links are encrypted and authenticated, beacons\n"
"                         signed. Else $RUMOR_SECRET_FILE, or $RUMOR_SECRET\n"
"                         (the secret itself). Never on the command line.\n"
"  --help                 this help\n"
"  --version              print the version\n"
"\n"
"Prints 'rumord: endpoint ENDPOINT' and 'rumord: control ENDPOINT' when\n"
"ready. SIGTERM or SIGINT leave the cluster gracefully and exit 0.\n");
}

static void
s_set_string (char **field, const char *value)
{
    free (*field);
    *field = strdup (value);
}

//  Parses a whole decimal integer in [low, high]; -1 if it is not one
static int
s_parse_int (const char *text, long low, long high, long *result)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno || *end || value < low || value > high)
        return -1;
    *result = value;
    return 0;
}

//  A limit: key "limit" with value "NAME=NUMBER", or key "limit.NAME" with
//  value "NUMBER"; checked against the library's ranges now, so that a bad
//  one is a configuration error. Returns 0 or -1.
static int
s_config_limit (s_config_t *self, const char *key, const char *value)
{
    char name [64] = "";
    const char *number = value;
    if (streq (key, "limit")) {
        const char *equals = strchr (value, '=');
        if (!equals || (size_t) (equals - value) >= sizeof (name))
            return -1;
        memcpy (name, value, (size_t) (equals - value));
        number = equals + 1;
    }
    else
    if (strlen (key + 6) < sizeof (name))
        strcpy (name, key + 6);
    int limit;
    for (limit = 0; limit < RUMOR_LIMITS; limit++)
        if (streq (name, rumor_limit_name ((rumor_limit_t) limit)))
            break;
    char *end;
    errno = 0;
    long long parsed = *number? strtoll (number, &end, 10): 0;
    if (limit == RUMOR_LIMITS || !*number || errno || *end)
        return -1;
    //  The library knows the ranges: ask a node that is never started
    rumor_t *probe = rumor_new ("rumord-limit-check");
    int rc = probe? rumor_set_limit (probe, (rumor_limit_t) limit,
                                     (int64_t) parsed): RUMOR_EINVAL;
    rumor_destroy (&probe);
    if (rc != RUMOR_OK)
        return -1;
    self->limits [limit] = (int64_t) parsed;
    return 0;
}

//  Applies one setting; prints one line naming where on error. Returns 0
//  or -1.
static int
s_config_apply (s_config_t *self, const char *key, const char *value,
                const char *where)
{
    long number;
    if (streq (key, "name")) {
        if (!*value || strlen (value) > 255)
            goto bad;
        s_set_string (&self->name, value);
    }
    else
    if (streq (key, "cluster")) {
        if (!*value || strlen (value) > 255)
            goto bad;
        s_set_string (&self->cluster, value);
    }
    else
    if (streq (key, "port")) {
        if (s_parse_int (value, 0, 65535, &number))
            goto bad;
        self->port = (int) number;
    }
    else
    if (streq (key, "beacon-port")) {
        if (s_parse_int (value, 1, 65535, &number))
            goto bad;
        self->beacon_port = (int) number;
    }
    else
    if (streq (key, "bind"))
        s_set_string (&self->bind, value);
    else
    if (streq (key, "advertise"))
        s_set_string (&self->advertise, value);
    else
    if (streq (key, "interface"))
        s_set_string (&self->interface, value);
    else
    if (streq (key, "control")) {
        if (!strstr (value, "://"))
            goto bad;
        s_set_string (&self->control, value);
    }
    else
    if (streq (key, "seed")) {
        if (strncmp (value, "tcp://", 6) || strlen (value) > 255
        ||  !strchr (value + 6, ':'))
            goto bad;
        zlist_append (self->seeds, (char *) value);    //  autofree: copied
    }
    else
    if (streq (key, "tag")) {
        const char *equals = strchr (value, '=');
        if (!equals || equals == value || strlen (value) > 511)
            goto bad;
        zlist_append (self->tags, (char *) value);     //  autofree: copied
    }
    else
    if (streq (key, "beacon")) {
        if (streq (value, "lan"))
            self->beacon = RUMOR_BEACON_LAN;
        else
        if (streq (value, "loopback"))
            self->beacon = RUMOR_BEACON_LOOPBACK;
        else
        if (streq (value, "off"))
            self->beacon = RUMOR_BEACON_OFF;
        else
            goto bad;
    }
    else
    if (streq (key, "profile")) {
        if (streq (value, "lan"))
            self->profile = RUMOR_PROFILE_LAN;
        else
        if (streq (value, "local"))
            self->profile = RUMOR_PROFILE_LOCAL;
        else
        if (streq (value, "wan"))
            self->profile = RUMOR_PROFILE_WAN;
        else
            goto bad;
    }
    else
    if (streq (key, "secret-file")) {
        if (!*value || strlen (value) > 4095)
            goto bad;
        s_set_string (&self->secret_file, value);
    }
    else
    if (streq (key, "secret")) {
        //  Never echo the value: it would be the secret
        fprintf (stderr, "rumord: %s: refused: a secret given as an option or "
                 "config value shows in ps or sits in a readable file; use "
                 "secret-file FILE (chmod 600) or $RUMOR_SECRET\n", where);
        return -1;
    }
    else
    if (streq (key, "log-level")) {
        static const char *levels [] = { "error", "warning", "info", "debug" };
        int level;
        for (level = 0; level < 4; level++)
            if (streq (value, levels [level]))
                break;
        if (level == 4)
            goto bad;
        self->log_level = level;
    }
    else
    if (streq (key, "limit") || strncmp (key, "limit.", 6) == 0) {
        if (s_config_limit (self, key, value))
            goto bad;
    }
    else {
        fprintf (stderr, "rumord: %s: unknown key '%s'\n", where, key);
        return -1;
    }
    return 0;
bad:
    fprintf (stderr, "rumord: %s: bad %s '%s'\n", where, key, value);
    return -1;
}

//  Trims blanks at both ends, in place
static char *
s_trim (char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t length = strlen (text);
    while (length && strchr (" \t\r\n", text [length - 1]))
        text [--length] = 0;
    return text;
}

//  Loads KEY = VALUE lines. Returns 0 or -1 after one error line.
static int
s_config_load (s_config_t *self, const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        fprintf (stderr, "rumord: --config %s: cannot read: %s\n",
                 path, strerror (errno));
        return -1;
    }
    char line [2048];
    int number = 0;
    int rc = 0;
    while (rc == 0 && fgets (line, sizeof (line), file)) {
        number++;
        char where [512];
        snprintf (where, sizeof (where), "%s:%d", path, number);
        char *text = s_trim (line);
        if (*text == 0 || *text == '#' || *text == ';')
            continue;
        char *equals = strchr (text, '=');
        if (!equals) {
            fprintf (stderr, "rumord: %s: expected KEY = VALUE\n", where);
            rc = -1;
            break;
        }
        *equals = 0;
        char *key = s_trim (text);
        char *value = s_trim (equals + 1);
        size_t length = strlen (value);
        if (length >= 2 && value [0] == '"' && value [length - 1] == '"') {
            value [length - 1] = 0;
            value++;
        }
        if (streq (key, "config")) {
            fprintf (stderr, "rumord: %s: unknown key 'config' (no nesting)\n",
                     where);
            rc = -1;
        }
        else
            rc = s_config_apply (self, key, value, where);
    }
    fclose (file);
    return rc;
}

//  New configuration with the agent's defaults
static s_config_t *
s_config_new (void)
{
    s_config_t *self = (s_config_t *) zmalloc (sizeof (s_config_t));
    assert (self);
    self->seeds = zlist_new ();
    zlist_autofree (self->seeds);
    self->tags = zlist_new ();
    zlist_autofree (self->tags);
    self->beacon = RUMOR_BEACON_LOOPBACK;
    self->profile = RUMOR_PROFILE_LAN;
    self->log_level = S_LOG_INFO;
    return self;
}

//  Destroys a configuration; nullifies the pointer
static void
s_config_destroy (s_config_t **self_p)
{
    s_config_t *self = *self_p;
    if (!self)
        return;
    free (self->name);
    free (self->cluster);
    free (self->bind);
    free (self->advertise);
    free (self->interface);
    free (self->control);
    free (self->secret_file);
    agent_secret_free (&self->secret);
    free (self->secret_source);
    free (self->config);
    zlist_destroy (&self->seeds);
    zlist_destroy (&self->tags);
    free (self);
    *self_p = NULL;
}

static struct option s_options [] = {
    { "name",        required_argument, 0, 0 },
    { "cluster",     required_argument, 0, 0 },
    { "port",        required_argument, 0, 0 },
    { "bind",        required_argument, 0, 0 },
    { "advertise",   required_argument, 0, 0 },
    { "seed",        required_argument, 0, 0 },
    { "beacon",      required_argument, 0, 0 },
    { "beacon-port", required_argument, 0, 0 },
    { "interface",   required_argument, 0, 0 },
    { "profile",     required_argument, 0, 0 },
    { "control",     required_argument, 0, 0 },
    { "config",      required_argument, 0, 0 },
    { "tag",         required_argument, 0, 0 },
    { "log-level",   required_argument, 0, 0 },
    { "limit",       required_argument, 0, 0 },
    { "secret-file", required_argument, 0, 0 },
    //  Only to refuse it with a clear message (and not let getopt take
    //  "--secret" as an abbreviation of --secret-file)
    { "secret",      required_argument, 0, 0 },
    { "help",        no_argument,       0, 'h' },
    { "version",     no_argument,       0, 'V' },
    { 0, 0, 0, 0 }
};

//  One getopt pass; config_only: only remember --config. Returns 0, 1 if
//  help/version was printed, -1 on error (one line printed).
static int
s_parse_pass (s_config_t *self, int argc, char **argv, bool config_only)
{
    optind = 0;                     //  glibc: full rescan
    opterr = 0;
    while (true) {
        int index = -1;
        int option = getopt_long (argc, argv, ":", s_options, &index);
        if (option == -1)
            break;
        if (option == '?') {
            //  Not past '=': a mistyped --secret=... must not be echoed
            const char *unknown = argv [optind - 1];
            const char *equals = strchr (unknown, '=');
            fprintf (stderr, "rumord: unknown option '%.*s' (see rumord --help)\n",
                     equals? (int) (equals - unknown): (int) strlen (unknown),
                     unknown);
            return -1;
        }
        if (option == ':') {
            fprintf (stderr, "rumord: option '%s' needs a value\n",
                     argv [optind - 1]);
            return -1;
        }
        if (option == 'h' || option == 'V') {
            if (config_only)
                continue;
            if (option == 'h')
                s_usage (stdout);
            else {
                int major, minor, patch;
                rumor_version (&major, &minor, &patch);
                printf ("rumord %d.%d.%d\n", major, minor, patch);
            }
            return 1;
        }
        const char *key = s_options [index].name;
        if (streq (key, "config")) {
            if (config_only)
                s_set_string (&self->config, optarg);
            continue;
        }
        if (config_only)
            continue;
        char where [64];
        snprintf (where, sizeof (where), "--%s", key);
        if (s_config_apply (self, key, optarg, where))
            return -1;
    }
    if (optind < argc) {
        fprintf (stderr, "rumord: unexpected argument '%s' (see rumord --help)\n",
                 argv [optind]);
        return -1;
    }
    return 0;
}

//  Loads the secret: secret-file (option or config), else
//  $RUMOR_SECRET_FILE, else $RUMOR_SECRET (the secret itself). No secret
//  is fine. Returns 0 or -1 after one error line (never quoting it).
static int
s_secret_load (s_config_t *self)
{
    //  Copied, then scrubbed from the environment: children must not
    //  inherit it, and /proc/PID/environ shows the original block
    char *env_secret = getenv ("RUMOR_SECRET");
    char *from_env = env_secret && *env_secret? strdup (env_secret): NULL;
    if (env_secret) {
        agent_wipe (env_secret, strlen (env_secret));
        unsetenv ("RUMOR_SECRET");
    }
    const char *file = self->secret_file;
    const char *source = "--secret-file";
    const char *env_file = getenv ("RUMOR_SECRET_FILE");
    int rc = 0;
    if (!file && env_file && *env_file) {
        file = env_file;
        source = "$RUMOR_SECRET_FILE";
        if (from_env) {
            fprintf (stderr, "rumord: both $RUMOR_SECRET_FILE and "
                     "$RUMOR_SECRET are set: keep one\n");
            rc = -1;
        }
    }
    if (rc == 0 && file) {
        char error [4096 + 256];
        self->secret = agent_secret_read (file, error, sizeof (error));
        if (!self->secret) {
            fprintf (stderr, "rumord: %s\n", error);
            rc = -1;
        }
        else
            self->secret_source = zsys_sprintf ("%s %s", source, file);
    }
    else
    if (rc == 0 && from_env) {
        const char *problem = agent_secret_check (from_env, strlen (from_env));
        if (problem) {
            fprintf (stderr, "rumord: $RUMOR_SECRET %s\n", problem);
            rc = -1;
        }
        else {
            self->secret = from_env;
            from_env = NULL;
            self->secret_source = strdup ("$RUMOR_SECRET");
        }
    }
    agent_secret_free (&from_env);
    return rc;
}

//  Builds the configuration: file first, then options. Returns 0, 1 if
//  help/version printed, -1 on error.
static int
s_config_parse (s_config_t *self, int argc, char **argv)
{
    int rc = s_parse_pass (self, argc, argv, true);
    if (rc == 0 && self->config)
        rc = s_config_load (self, self->config);
    if (rc == 0)
        rc = s_parse_pass (self, argc, argv, false);
    if (rc == 0 && !self->name) {
        char name [256];
        agent_default_name (name, sizeof (name));
        self->name = strdup (name);
    }
    if (rc == 0 && !self->control) {
        char endpoint [512];
        agent_default_control (self->name, endpoint, sizeof (endpoint));
        self->control = strdup (endpoint);
    }
    if (rc == 0)
        rc = s_secret_load (self);
    return rc;
}


//  --------------------------------------------------------------------------
//  Agent setup

//  Adds delta to one of the agent's own counters
static void
s_counter_add (s_agent_t *self, const char *name, uint64_t delta)
{
    uint64_t *counter = (uint64_t *) zhash_lookup (self->stats, name);
    if (!counter) {
        counter = (uint64_t *) zmalloc (sizeof (uint64_t));
        assert (counter);
        zhash_insert (self->stats, name, counter);
        zhash_freefn (self->stats, name, free);
    }
    *counter += delta;
}

//  zlistx destructor of a listener
static void
s_listener_destroy (void **item)
{
    s_listener_t *listener = (s_listener_t *) *item;
    if (listener) {
        zframe_destroy (&listener->client);
        free (listener->pattern);
        free (listener);
        *item = NULL;
    }
}

//  zlistx destructor of a query stream
static void
s_query_destroy (void **item)
{
    s_query_t *query = (s_query_t *) *item;
    if (query) {
        zframe_destroy (&query->client);
        free (query);
        *item = NULL;
    }
}

//  zlistx destructor of a keyring operation
static void
s_keyring_destroy (void **item)
{
    s_keyring_t *keyring = (s_keyring_t *) *item;
    if (keyring) {
        zframe_destroy (&keyring->client);
        zlistx_destroy (&keyring->answers);
        zhash_destroy (&keyring->seen);
        free (keyring);
        *item = NULL;
    }
}

//  Takes an exclusive lock beside an ipc endpoint's path: ZeroMQ would
//  silently steal the path from a running agent otherwise.
static int
s_lock_ipc (s_agent_t *self, const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6))
        return 0;
    self->lock_path = zsys_sprintf ("%s.lock", endpoint + 6);
    self->lock_fd = open (self->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd == -1) {
        fprintf (stderr, "rumord: --control %s: cannot open lock %s: %s\n",
                 endpoint, self->lock_path, strerror (errno));
        return -1;
    }
    if (flock (self->lock_fd, LOCK_EX | LOCK_NB)) {
        fprintf (stderr, "rumord: --control %s: endpoint in use by another "
                 "rumord\n", endpoint);
        close (self->lock_fd);
        self->lock_fd = -1;
        free (self->lock_path);
        self->lock_path = NULL;
        return -1;
    }
    return 0;
}

//  Binds the control socket. Returns 0 or -1 after one error line.
static int
s_control_bind (s_agent_t *self)
{
    const char *endpoint = self->config->control;
    if (s_lock_ipc (self, endpoint))
        return -1;
    self->control = zsock_new (ZMQ_ROUTER);
    assert (self->control);
    zsock_set_maxmsgsize (self->control, AGENT_FRAME_MAX);
    zsock_set_sndhwm (self->control, AGENT_CLIENT_HWM);
    zsock_set_rcvhwm (self->control, AGENT_CLIENT_HWM);
    zsock_set_router_mandatory (self->control, 1);
    zsock_set_linger (self->control, 0);
    //  With a secret the control socket can rotate the cluster's keys: an
    //  ipc socket file only its owner may connect to (the bind is done in
    //  this thread, nothing else creates files meanwhile)
    bool private_socket = self->config->secret != NULL;
    mode_t saved = private_socket? umask (077): 0;
    int bound = zsock_bind (self->control, "%s", endpoint);
    if (private_socket)
        umask (saved);
    if (bound == -1) {
        fprintf (stderr, "rumord: --control %s: cannot bind: %s\n",
                 endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    self->endpoint = zsock_last_endpoint (self->control);
    return 0;
}

//  Configures and starts the node. Returns 0 or -1 after one error line.
static int
s_node_start (s_agent_t *self)
{
    s_config_t *config = self->config;
    self->node = rumor_new (config->name);
    if (!self->node) {
        fprintf (stderr, "rumord: --name '%s': invalid node name\n", config->name);
        return -1;
    }
    int rc = RUMOR_OK;
    const char *what = "";
    if (config->cluster && rc == RUMOR_OK)
        rc = rumor_set_cluster (self->node, config->cluster), what = "--cluster";
    if (rc == RUMOR_OK)
        rc = rumor_set_port (self->node, config->port), what = "--port";
    if (config->bind && rc == RUMOR_OK)
        rc = rumor_set_bind (self->node, config->bind), what = "--bind";
    if (config->advertise && rc == RUMOR_OK)
        rc = rumor_set_advertise (self->node, config->advertise),
        what = "--advertise";
    if (rc == RUMOR_OK)
        rc = rumor_set_beacon (self->node, config->beacon), what = "--beacon";
    if (config->beacon_port && rc == RUMOR_OK)
        rc = rumor_set_beacon_port (self->node, config->beacon_port),
        what = "--beacon-port";
    if (config->interface && rc == RUMOR_OK)
        rc = rumor_set_interface (self->node, config->interface),
        what = "--interface";
    if (rc == RUMOR_OK)
        rc = rumor_set_profile (self->node, config->profile), what = "--profile";
    if (config->secret && rc == RUMOR_OK) {
        rc = rumor_set_secret (self->node, config->secret),
        what = config->secret_source;
        //  The node keeps what it derived; our copy goes now
        agent_secret_free (&config->secret);
        config->secured = rc == RUMOR_OK;
    }
    for (char *tag = (char *) zlist_first (config->tags);
         tag && rc == RUMOR_OK; tag = (char *) zlist_next (config->tags)) {
        char *copy = strdup (tag);
        char *equals = strchr (copy, '=');
        *equals = 0;
        rc = rumor_set_tag (self->node, copy, equals + 1), what = "--tag";
        free (copy);
    }
    for (char *seed = (char *) zlist_first (config->seeds);
         seed && rc == RUMOR_OK; seed = (char *) zlist_next (config->seeds))
        rc = rumor_join (self->node, seed), what = "--seed";
    for (int limit = 0; limit < RUMOR_LIMITS && rc == RUMOR_OK; limit++)
        if (config->limits [limit])
            rc = rumor_set_limit (self->node, (rumor_limit_t) limit,
                                  config->limits [limit]), what = "--limit";
    if (rc != RUMOR_OK) {
        fprintf (stderr, "rumord: %s: refused: %s\n", what, rumor_strerror (rc));
        return -1;
    }
    rc = rumor_start (self->node);
    if (rc != RUMOR_OK) {
        fprintf (stderr, "rumord: cannot start node (--port %d%s%s): %s\n",
                 config->port, config->interface? " --interface ": "",
                 config->interface? config->interface: "", rumor_strerror (rc));
        return -1;
    }
    return 0;
}

//  New agent for config (borrowed); binds nothing yet
static s_agent_t *
s_agent_new (s_config_t *config)
{
    s_agent_t *self = (s_agent_t *) zmalloc (sizeof (s_agent_t));
    assert (self);
    self->config = config;
    self->lock_fd = -1;
    self->listeners = zlistx_new ();
    zlistx_set_destructor (self->listeners, s_listener_destroy);
    self->heard = zhash_new ();
    self->queries = zlistx_new ();
    zlistx_set_destructor (self->queries, s_query_destroy);
    self->keyrings = zlistx_new ();
    zlistx_set_destructor (self->keyrings, s_keyring_destroy);
    self->stats = zhash_new ();
    return self;
}

//  Leaves gracefully, closes the control socket, removes the
//  ipc socket file and its lock; nullifies the pointer
static void
s_agent_destroy (s_agent_t **self_p)
{
    s_agent_t *self = *self_p;
    if (!self)
        return;
    rumor_destroy (&self->node);        //  leaves gracefully
    zsock_destroy (&self->control);
    if (self->lock_path) {
        //  The ipc socket file goes with the lock: nothing else owns it
        if (self->endpoint && !strncmp (self->endpoint, "ipc://", 6))
            unlink (self->endpoint + 6);
        unlink (self->lock_path);
        free (self->lock_path);
    }
    if (self->lock_fd != -1)
        close (self->lock_fd);
    free (self->endpoint);
    zlistx_destroy (&self->listeners);
    zhash_destroy (&self->heard);
    zlistx_destroy (&self->queries);
    zlistx_destroy (&self->keyrings);
    for (size_t index = 0; index < AGENT_INBOX_MAX; index++)
        rumor_event_destroy (&self->inbox [index]);
    zhash_destroy (&self->stats);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Sending to clients

//  Forgets every stream of a client that has gone
static void
s_client_gone (s_agent_t *self, zframe_t *client)
{
    zframe_t *gone = zframe_dup (client);
    s_listener_t *listener = (s_listener_t *) zlistx_first (self->listeners);
    while (listener) {
        s_listener_t *next = (s_listener_t *) zlistx_next (self->listeners);
        if (zframe_eq (listener->client, gone)) {
            void *handle = zlistx_find (self->listeners, listener);
            if (*listener->pattern) {
                int *count = (int *) zhash_lookup (self->heard, listener->pattern);
                if (count && --*count == 0) {
                    rumor_unhear (self->node, listener->pattern);
                    zhash_delete (self->heard, listener->pattern);
                }
            }
            zlistx_delete (self->listeners, handle);
        }
        listener = next;
    }
    s_query_t *query = (s_query_t *) zlistx_first (self->queries);
    while (query) {
        s_query_t *next = (s_query_t *) zlistx_next (self->queries);
        if (zframe_eq (query->client, gone))
            zlistx_delete (self->queries, zlistx_find (self->queries, query));
        query = next;
    }
    zframe_destroy (&gone);
    s_counter_add (self, "control.clients_gone", 1);
}

//  Sends reply to client without blocking. Returns 0, or -1 if dropped
//  (queue full) or the client is gone (its streams are then forgotten).
static int
s_send (s_agent_t *self, zframe_t *client, Rumorctl__Reply *reply)
{
    size_t size = rumorctl__reply__get_packed_size (reply);
    uint8_t *buffer = (uint8_t *) malloc (size? size: 1);
    assert (buffer);
    rumorctl__reply__pack (reply, buffer);
    void *socket = zsock_resolve (self->control);
    int rc = zmq_send (socket, zframe_data (client), zframe_size (client),
                       ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc != -1)
        rc = zmq_send (socket, buffer, size, ZMQ_DONTWAIT);
    free (buffer);
    if (rc == -1) {
        if (zmq_errno () == EHOSTUNREACH)
            s_client_gone (self, client);
        else
            s_counter_add (self, "control.replies_dropped", 1);
        return -1;
    }
    return 0;
}

//  Control status for a library error code
static Rumorctl__Status
s_status (int rc)
{
    switch (rc) {
        case RUMOR_OK:          return RUMORCTL__STATUS__STATUS_OK;
        case RUMOR_EINVAL:      return RUMORCTL__STATUS__STATUS_INVALID;
        case RUMOR_ESTATE:      return RUMORCTL__STATUS__STATUS_STATE;
        case RUMOR_ETOOBIG:     return RUMORCTL__STATUS__STATUS_TOO_BIG;
        case RUMOR_EFULL:       return RUMORCTL__STATUS__STATUS_FULL;
        case RUMOR_ENOTFOUND:   return RUMORCTL__STATUS__STATUS_NOT_FOUND;
        case RUMOR_ENET:        return RUMORCTL__STATUS__STATUS_NETWORK;
        case RUMOR_ETIMEOUT:    return RUMORCTL__STATUS__STATUS_TIMEOUT;
        default:                return RUMORCTL__STATUS__STATUS_INTERNAL;
    }
}

//  Sends an error reply
static void
s_send_error (s_agent_t *self, zframe_t *client, uint64_t id,
              Rumorctl__Status status, const char *format, ...)
{
    char text [512];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.status = status;
    reply.error = text;
    if (status == RUMORCTL__STATUS__STATUS_BAD_REQUEST)
        s_counter_add (self, "control.refused", 1);
    else
        s_counter_add (self, "control.said_no", 1);
    s_send (self, client, &reply);
}

//  Sends "done" or the library's error for rc
static void
s_send_rc (s_agent_t *self, zframe_t *client, uint64_t id, int rc,
           const char *what)
{
    if (rc != RUMOR_OK) {
        s_send_error (self, client, id, s_status (rc), "%s: %s", what,
                      rumor_strerror (rc));
        return;
    }
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_DONE;
    reply.done = true;
    s_send (self, client, &reply);
}


//  --------------------------------------------------------------------------
//  Topic patterns: words separated by '.', '*' one word, '#' zero or more

static bool
s_match_words (const char *pattern, const char *topic)
{
    if (!*pattern)
        return !*topic;
    const char *pattern_end = strchr (pattern, '.');
    size_t pattern_word = pattern_end? (size_t) (pattern_end - pattern): strlen (pattern);
    const char *pattern_rest = pattern_end? pattern_end + 1: pattern + pattern_word;
    if (pattern_word == 1 && *pattern == '#') {
        if (!*pattern_rest)
            return true;
        //  '#' eats zero or more words
        const char *cursor = topic;
        while (true) {
            if (s_match_words (pattern_rest, cursor))
                return true;
            const char *dot = strchr (cursor, '.');
            if (!dot)
                return false;
            cursor = dot + 1;
        }
    }
    if (!*topic)
        return false;
    const char *topic_end = strchr (topic, '.');
    size_t topic_word = topic_end? (size_t) (topic_end - topic): strlen (topic);
    const char *topic_rest = topic_end? topic_end + 1: topic + topic_word;
    if (!(pattern_word == 1 && *pattern == '*')
    && (pattern_word != topic_word || memcmp (pattern, topic, topic_word)))
        return false;
    //  Both ended, or both continue
    if (!pattern_end && !topic_end)
        return true;
    if (!pattern_end)
        return false;
    if (!topic_end)
        return streq (pattern_rest, "#");
    return s_match_words (pattern_rest, topic_rest);
}

//  Empty pattern matches nothing, except where a caller treats it as all
static bool
s_match (const char *pattern, const char *topic)
{
    return *pattern && s_match_words (pattern, topic);
}


//  --------------------------------------------------------------------------
//  Keyring operations: one query on "$rumor.keys" that every member's
//  supervisor answers; the answers are gathered into one Reply

//  Name of a keyring op, for the log
static const char *
s_keyring_op_name (Rumorctl__KeyringOp op)
{
    static const char *names [] = { "invalid", "install", "use", "remove", "list" };
    return op >= 0 && op <= 4? names [op]: "invalid";
}

//  zlistx destructor of a member's answer
static void
s_answer_destroy (void **item)
{
    Rumorctl__KeyringAnswer *answer = (Rumorctl__KeyringAnswer *) *item;
    if (answer) {
        free (answer->member);
        free (answer->name);
        for (size_t index = 0; index < answer->n_fingerprints; index++)
            free (answer->fingerprints [index]);
        free (answer->fingerprints);
        //  __init left protobuf-c's static "" where nothing was set
        if (answer->error != protobuf_c_empty_string)
            free (answer->error);
        free (answer);
        *item = NULL;
    }
}

//  Whether text is exactly 16 lowercase or uppercase hex digits
static bool
s_is_fingerprint (const char *text, size_t length)
{
    if (length != 16)
        return false;
    for (size_t index = 0; index < length; index++)
        if (!isxdigit ((unsigned char) text [index]))
            return false;
    return true;
}

//  Fills answer from a member's payload, "ok FP..." (the keyring after
//  the operation, primary first) or "error REASON". It comes from the
//  network: anything else is recorded as malformed, never trusted.
static void
s_answer_parse (Rumorctl__KeyringAnswer *answer, const void *data, size_t size)
{
    char text [512];
    bool printable = size < sizeof (text);
    for (size_t index = 0; printable && index < size; index++) {
        unsigned char c = ((const unsigned char *) data) [index];
        printable = c >= 0x20 && c < 0x7F;
    }
    if (printable) {
        memcpy (text, data, size);
        text [size] = 0;
        if (strncmp (text, "error ", 6) == 0 && text [6]) {
            answer->error = strdup (text + 6);
            return;
        }
        if (streq (text, "ok") || strncmp (text, "ok ", 3) == 0) {
            char *fingerprints [RUMOR_KEYRING_MAX];
            size_t count = 0;
            bool good = true;
            char *saveptr = NULL;
            for (char *word = strtok_r (text + 2, " ", &saveptr); word && good;
                 word = strtok_r (NULL, " ", &saveptr)) {
                good = count < RUMOR_KEYRING_MAX
                    && s_is_fingerprint (word, strlen (word));
                if (good)
                    fingerprints [count++] = word;
            }
            if (good && count > 0) {
                answer->ok = true;
                answer->fingerprints = (char **) calloc (count, sizeof (char *));
                assert (answer->fingerprints);
                for (size_t index = 0; index < count; index++)
                    answer->fingerprints [index] = strdup (fingerprints [index]);
                answer->n_fingerprints = count;
                return;
            }
        }
    }
    answer->error = zsys_sprintf ("malformed answer (%zu bytes)", size);
}

//  Counts a RESPONSE to a keyring operation, keeping the first answer of
//  each member
static void
s_keyring_answer (s_keyring_t *keyring, rumor_event_t *event)
{
    const char *member = rumor_event_member (event);
    if (zhash_lookup (keyring->seen, member))
        return;
    zhash_insert (keyring->seen, member, (void *) 1);
    Rumorctl__KeyringAnswer *answer = (Rumorctl__KeyringAnswer *)
        zmalloc (sizeof (Rumorctl__KeyringAnswer));
    assert (answer);
    rumorctl__keyring_answer__init (answer);
    answer->member = strdup (member);
    answer->name = strdup (rumor_event_name (event));
    s_answer_parse (answer, rumor_event_data (event), rumor_event_size (event));
    keyring->answered++;
    keyring->ok += answer->ok? 1: 0;
    if (zlistx_size (keyring->answers) < AGENT_KEYRING_ANSWERS)
        zlistx_add_end (keyring->answers, answer);
    else {
        void *item = answer;
        s_answer_destroy (&item);
    }
}

//  Counts the live members (alive or suspect, this node included), and
//  appends "NAME STATE" to missing for each member that has not left and
//  did not answer (a failed one is not live, but the operator must know it
//  missed the operation)
static uint32_t
s_keyring_census (s_agent_t *self, s_keyring_t *keyring, zlist_t *missing)
{
    zlistx_t *members = rumor_members (self->node);
    uint32_t live = 0;
    for (rumor_member_t *member = members? (rumor_member_t *) zlistx_first (members): NULL;
         member; member = (rumor_member_t *) zlistx_next (members)) {
        if (member->state == RUMOR_STATE_ALIVE || member->state == RUMOR_STATE_SUSPECT)
            live++;
        if (member->state != RUMOR_STATE_LEFT
        &&  !zhash_lookup (keyring->seen, member->id)
        &&  zlist_size (missing) < AGENT_KEYRING_ANSWERS) {
            char line [300];
            snprintf (line, sizeof (line), "%s %s", member->name,
                      rumor_state_name (member->state));
            zlist_append (missing, line);
        }
    }
    rumor_members_destroy (&members);
    return live;
}

//  Sends the gathered answers of a keyring operation
static void
s_keyring_reply (s_agent_t *self, s_keyring_t *keyring, bool complete)
{
    size_t count = zlistx_size (keyring->answers);
    Rumorctl__KeyringAnswer **answers = (Rumorctl__KeyringAnswer **)
        calloc (count + 1, sizeof (void *));
    assert (answers);
    size_t index = 0;
    for (void *answer = zlistx_first (keyring->answers); answer;
         answer = zlistx_next (keyring->answers))
        answers [index++] = (Rumorctl__KeyringAnswer *) answer;
    Rumorctl__KeyringResult result = RUMORCTL__KEYRING_RESULT__INIT;
    result.n_answers = count;
    result.answers = answers;
    result.complete = complete;
    result.answered = keyring->answered;
    result.ok = keyring->ok;
    zlist_t *missing = zlist_new ();
    zlist_autofree (missing);
    result.live = keyring->local? 1: s_keyring_census (self, keyring, missing);
    char **names = (char **) calloc (zlist_size (missing) + 1, sizeof (char *));
    assert (names);
    for (char *name = (char *) zlist_first (missing); name;
         name = (char *) zlist_next (missing))
        names [result.n_missing++] = name;
    result.missing = names;
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = keyring->id;
    reply.result_case = RUMORCTL__REPLY__RESULT_KEYRING;
    reply.keyring = &result;
    s_send (self, keyring->client, &reply);
    uint32_t total = result.live > keyring->answered? result.live: keyring->answered;
    s_log (keyring->ok == total && complete? S_LOG_INFO: S_LOG_WARNING,
           "keyring %s%s: %u/%u nodes ok%s", keyring->op,
           keyring->local? " (this node only)": "", keyring->ok, total,
           complete? "": " (not every live member answered in time)");
    s_counter_add (self, keyring->ok == total && complete?
                   "control.keyring.ok": "control.keyring.incomplete", 1);
    free (answers);
    free (names);
    zlist_destroy (&missing);
}

//  Takes a RESPONSE or QUERY_DONE if it belongs to a keyring operation.
//  Returns true if it did.
static bool
s_keyring_event (s_agent_t *self, rumor_event_t *event)
{
    int64_t id = rumor_event_query (event);
    for (s_keyring_t *keyring = (s_keyring_t *) zlistx_first (self->keyrings);
         keyring; keyring = (s_keyring_t *) zlistx_next (self->keyrings)) {
        if (keyring->query != id)
            continue;
        if (rumor_event_type (event) == RUMOR_EVENT_RESPONSE)
            s_keyring_answer (keyring, event);
        else {
            void *handle = zlistx_cursor (self->keyrings);
            s_keyring_reply (self, keyring, rumor_event_complete (event));
            zlistx_delete (self->keyrings, handle);
        }
        return true;
    }
    return false;
}

//  Replies with what was gathered for operations whose node never said
//  done (it always should)
static void
s_expire_keyrings (s_agent_t *self)
{
    int64_t now = zclock_mono ();
    s_keyring_t *keyring = (s_keyring_t *) zlistx_first (self->keyrings);
    while (keyring) {
        s_keyring_t *next = (s_keyring_t *) zlistx_next (self->keyrings);
        if (keyring->expires < now) {
            s_keyring_reply (self, keyring, false);
            zlistx_delete (self->keyrings, zlistx_find (self->keyrings, keyring));
        }
        keyring = next;
    }
}

//  New keyring operation for (client, id)
static s_keyring_t *
s_keyring_new (zframe_t *client, uint64_t id, const char *op)
{
    s_keyring_t *keyring = (s_keyring_t *) zmalloc (sizeof (s_keyring_t));
    assert (keyring);
    keyring->client = zframe_dup (client);
    keyring->id = id;
    keyring->op = op;
    keyring->answers = zlistx_new ();
    zlistx_set_destructor (keyring->answers, s_answer_destroy);
    keyring->seen = zhash_new ();
    return keyring;
}

//  Keyring with local set: the operation on this node's keyring only (the
//  secret never leaves this host), replied to at once in the same form
static void
s_keyring_local (s_agent_t *self, zframe_t *client, uint64_t id,
                 Rumorctl__KeyringOp op, const char *secret)
{
    int rc = op == RUMORCTL__KEYRING_OP__KEYRING_INSTALL?
             rumor_keys_install (self->node, secret):
             op == RUMORCTL__KEYRING_OP__KEYRING_USE?
             rumor_keys_use (self->node, secret):
             op == RUMORCTL__KEYRING_OP__KEYRING_REMOVE?
             rumor_keys_remove (self->node, secret): RUMOR_OK;
    s_keyring_t *keyring = s_keyring_new (client, id, s_keyring_op_name (op));
    keyring->local = true;
    Rumorctl__KeyringAnswer *answer = (Rumorctl__KeyringAnswer *)
        zmalloc (sizeof (Rumorctl__KeyringAnswer));
    assert (answer);
    rumorctl__keyring_answer__init (answer);
    answer->member = strdup (rumor_id (self->node));
    answer->name = strdup (rumor_name (self->node));
    zlist_t *keys = rumor_keys_list (self->node);
    size_t count = keys? zlist_size (keys): 0;
    answer->ok = rc == RUMOR_OK && count > 0;
    if (answer->ok) {
        answer->fingerprints = (char **) calloc (count, sizeof (char *));
        assert (answer->fingerprints);
        for (char *key = (char *) zlist_first (keys); key;
             key = (char *) zlist_next (keys))
            answer->fingerprints [answer->n_fingerprints++] = strdup (key);
    }
    else
        answer->error = strdup (rc == RUMOR_OK? "no keys": rumor_strerror (rc));
    zlist_destroy (&keys);
    keyring->answered = 1;
    keyring->ok = answer->ok? 1: 0;
    zlistx_add_end (keyring->answers, answer);
    s_keyring_reply (self, keyring, true);
    void *item = keyring;
    s_keyring_destroy (&item);
}

//  Keyring: starts the cluster-wide operation; the Reply comes when every
//  live member answered or at the timeout
static void
s_do_keyring (s_agent_t *self, zframe_t *client, uint64_t id,
              Rumorctl__Keyring *request)
{
    const char *op = s_keyring_op_name (request->op);
    if (request->local && !self->config->secured) {
        s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_STATE,
                      "keys %s: this agent has no cluster secret: start it "
                      "with --secret-file", op);
        return;
    }
    if (zlistx_size (self->keyrings) >= AGENT_KEYRINGS_MAX) {
        s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_FULL,
                      "keys %s: at most %d keyring operations in flight", op,
                      AGENT_KEYRINGS_MAX);
        return;
    }
    //  The library takes a C string; this copy is wiped at once
    char *secret = NULL;
    if (request->op != RUMORCTL__KEYRING_OP__KEYRING_LIST) {
        secret = (char *) zmalloc (request->secret.len + 1);
        assert (secret);
        memcpy (secret, request->secret.data, request->secret.len);
    }
    if (request->local) {
        s_keyring_local (self, client, id, request->op, secret);
        agent_secret_free (&secret);
        return;
    }
    int64_t timeout = request->timeout_ms? (int64_t) request->timeout_ms:
                      AGENT_QUERY_TIMEOUT;
    int64_t started = rumor_keys_cluster (self->node, (rumor_keys_op_t) request->op,
                                          secret, timeout);
    agent_secret_free (&secret);
    if (started < 0) {
        s_send_error (self, client, id, s_status ((int) started), "keys %s: %s%s",
                      op, rumor_strerror ((int) started),
                      started == RUMOR_ESTATE && !self->config->secured?
                      " (this agent has no cluster secret: start it with "
                      "--secret-file)": "");
        return;
    }
    s_keyring_t *keyring = s_keyring_new (client, id, op);
    keyring->query = started;
    keyring->expires = zclock_mono () + timeout + AGENT_QUERY_SLACK;
    zlistx_add_end (self->keyrings, keyring);
    s_log (S_LOG_INFO, "keyring %s asked by a client (query %" PRId64 ")",
           op, started);
}


//  --------------------------------------------------------------------------
//  Events from the node to clients

//  The wall clock in microseconds since the Unix epoch: when the agent got
//  an event (Event.at_us), comparable across the processes of one host
static int64_t
s_wall_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

//  Logs member events at info, the rest at debug
static void
s_log_event (rumor_event_t *event)
{
    rumor_event_type_t type = rumor_event_type (event);
    if (type >= RUMOR_EVENT_JOINED && type <= RUMOR_EVENT_UPDATED)
        s_log (type == RUMOR_EVENT_UPDATED? S_LOG_DEBUG: S_LOG_INFO,
               "member %s %s %s %s", rumor_event_type_name (event),
               rumor_event_name (event), rumor_event_member (event),
               rumor_event_endpoint (event));
    else
        s_log (S_LOG_DEBUG, "event %s %s %s", rumor_event_type_name (event),
               rumor_event_member (event), rumor_event_topic (event));
}

//  Whether listener wants this event
static bool
s_listener_wants (s_listener_t *listener, rumor_event_t *event)
{
    rumor_event_type_t type = rumor_event_type (event);
    const char *topic = rumor_event_topic (event);
    if (type >= RUMOR_EVENT_JOINED && type <= RUMOR_EVENT_UPDATED)
        return listener->members;
    if (type >= RUMOR_EVENT_KEY_SET && type <= RUMOR_EVENT_KEY_EXPIRED)
        return listener->keys;
    if (type == RUMOR_EVENT_HEARD)
        return s_match (listener->pattern, topic);
    if (type == RUMOR_EVENT_DIRECT)
        return listener->direct
            && (!*listener->pattern || s_match (listener->pattern, topic));
    if (type == RUMOR_EVENT_QUERY)
        return listener->queries && s_match (listener->pattern, topic);
    return false;
}

//  Sends event to client as a stream Reply of request id
static void
s_event_send (s_agent_t *self, zframe_t *client, uint64_t id,
              rumor_event_t *event, int64_t at_us)
{
    Rumorctl__Event message = RUMORCTL__EVENT__INIT;
    message.type = (Rumorctl__EventType) rumor_event_type (event);
    message.member = (char *) rumor_event_member (event);
    message.name = (char *) rumor_event_name (event);
    message.endpoint = (char *) rumor_event_endpoint (event);
    message.topic = (char *) rumor_event_topic (event);
    message.data.data = (uint8_t *) rumor_event_data (event);
    message.data.len = rumor_event_size (event);
    message.query_id = rumor_event_query (event);
    message.complete = rumor_event_complete (event);
    message.evidence = (char *) rumor_event_evidence (event);
    message.at_us = at_us;
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_EVENT;
    reply.event = &message;
    if (s_send (self, client, &reply) == 0)
        s_counter_add (self, "control.events_sent", 1);
    else
        s_counter_add (self, "control.events_dropped", 1);
}

//  Routes a RESPONSE or QUERY_DONE to the client whose query it is
static void
s_route_response (s_agent_t *self, rumor_event_t *event, int64_t at_us)
{
    int64_t id = rumor_event_query (event);
    for (s_query_t *query = (s_query_t *) zlistx_first (self->queries);
         query; query = (s_query_t *) zlistx_next (self->queries)) {
        if (query->query != id)
            continue;
        void *handle = zlistx_cursor (self->queries);
        zframe_t *client = zframe_dup (query->client);
        uint64_t request = query->id;
        if (rumor_event_type (event) == RUMOR_EVENT_QUERY_DONE)
            zlistx_delete (self->queries, handle);
        s_event_send (self, client, request, event, at_us);
        zframe_destroy (&client);
        return;
    }
}

//  Fans event out to matching listeners (a copy of the list of targets
//  first: a send may forget a gone client's listeners)
static void
s_route_listeners (s_agent_t *self, rumor_event_t *event, int64_t at_us)
{
    zlistx_t *targets = zlistx_new ();
    for (s_listener_t *listener = (s_listener_t *) zlistx_first (self->listeners);
         listener; listener = (s_listener_t *) zlistx_next (self->listeners))
        if (s_listener_wants (listener, event)) {
            s_listener_t *copy = (s_listener_t *) zmalloc (sizeof (s_listener_t));
            assert (copy);
            copy->client = zframe_dup (listener->client);
            copy->id = listener->id;
            copy->pattern = strdup ("");
            zlistx_add_end (targets, copy);
        }
    zlistx_set_destructor (targets, s_listener_destroy);
    for (s_listener_t *target = (s_listener_t *) zlistx_first (targets);
         target; target = (s_listener_t *) zlistx_next (targets))
        s_event_send (self, target->client, target->id, event, at_us);
    zlistx_destroy (&targets);
}

//  Routes one node event; takes ownership of it
static void
s_handle_event (s_agent_t *self, rumor_event_t **event_p)
{
    rumor_event_t *event = *event_p;
    int64_t at_us = s_wall_us ();
    s_log_event (event);
    rumor_event_type_t type = rumor_event_type (event);
    if (type == RUMOR_EVENT_RESPONSE || type == RUMOR_EVENT_QUERY_DONE) {
        if (!s_keyring_event (self, event))
            s_route_response (self, event, at_us);
        rumor_event_destroy (event_p);
        return;
    }
    s_route_listeners (self, event, at_us);
    if (type == RUMOR_EVENT_QUERY) {
        //  Kept so that a client can Respond to it
        rumor_event_destroy (&self->inbox [self->inbox_next]);
        self->inbox [self->inbox_next] = event;
        self->inbox_next = (self->inbox_next + 1) % AGENT_INBOX_MAX;
        *event_p = NULL;
    }
    else
        rumor_event_destroy (event_p);
}

//  Drops query streams whose node never said done
static void
s_expire_queries (s_agent_t *self)
{
    int64_t now = zclock_mono ();
    s_query_t *query = (s_query_t *) zlistx_first (self->queries);
    while (query) {
        s_query_t *next = (s_query_t *) zlistx_next (self->queries);
        if (query->expires < now)
            zlistx_delete (self->queries, zlistx_find (self->queries, query));
        query = next;
    }
}


//  --------------------------------------------------------------------------
//  Request validation

//  agent_control_check (control_check.c) checks every request's bounds:
//  fuzz_control reaches it there without the agent.


//  --------------------------------------------------------------------------
//  Request handlers

static const char *
s_member_arg (const char *member)
{
    return (!member || !*member || streq (member, "self"))? NULL: member;
}

//  zlistx destructor for plain malloc'd blocks
static void
s_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

//  qsort order of tags by key
static int
s_tag_compare (const void *one, const void *two)
{
    const Rumorctl__Tag *a = *(const Rumorctl__Tag * const *) one;
    const Rumorctl__Tag *b = *(const Rumorctl__Tag * const *) two;
    return strcmp (a->key, b->key);
}

//  Members: the member table, tags sorted by key
static void
s_do_members (s_agent_t *self, zframe_t *client, uint64_t id)
{
    zlistx_t *members = rumor_members (self->node);
    if (!members) {
        s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_STATE,
                      "members: node not running");
        return;
    }
    size_t count = zlistx_size (members);
    Rumorctl__Member *items = (Rumorctl__Member *) calloc (count + 1, sizeof (Rumorctl__Member));
    Rumorctl__Member **pointers = (Rumorctl__Member **) calloc (count + 1, sizeof (void *));
    assert (items && pointers);
    zlistx_t *all_tags = zlistx_new ();
    zlistx_set_destructor (all_tags, s_free_item);
    size_t index = 0;
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members), index++) {
        Rumorctl__Member *item = &items [index];
        rumorctl__member__init (item);
        item->id = member->id;
        item->name = member->name;
        item->endpoint = member->endpoint;
        item->state = (Rumorctl__State) member->state;
        item->incarnation = member->incarnation;
        item->generation = member->generation;
        item->phi = member->phi;
        item->rtt_ms = member->rtt_ms;
        item->self = member->self;
        size_t tags = member->tags? zhash_size (member->tags): 0;
        if (tags) {
            //  One block: pointers, then the tags
            void *block = calloc (1, tags * (sizeof (void *) + sizeof (Rumorctl__Tag)));
            assert (block);
            zlistx_add_end (all_tags, block);
            item->tags = (Rumorctl__Tag **) block;
            Rumorctl__Tag *tag = (Rumorctl__Tag *) ((char *) block + tags * sizeof (void *));
            for (char *value = (char *) zhash_first (member->tags); value;
                 value = (char *) zhash_next (member->tags), tag++) {
                rumorctl__tag__init (tag);
                tag->key = (char *) zhash_cursor (member->tags);
                tag->value = value;
                item->tags [item->n_tags++] = tag;
            }
            qsort (item->tags, item->n_tags, sizeof (void *), s_tag_compare);
        }
        pointers [index] = item;
    }
    Rumorctl__MemberList list = RUMORCTL__MEMBER_LIST__INIT;
    list.n_members = count;
    list.members = pointers;
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_MEMBERS;
    reply.members = &list;
    s_send (self, client, &reply);
    zlistx_destroy (&all_tags);
    free (items);
    free (pointers);
    rumor_members_destroy (&members);
}

//  Get: a value, or NOT_FOUND
static void
s_do_get (s_agent_t *self, zframe_t *client, uint64_t id, Rumorctl__Get *get)
{
    zframe_t *value = rumor_get (self->node, s_member_arg (get->member), get->key);
    if (!value) {
        s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_NOT_FOUND,
                      "get: no key '%s' for member '%s'", get->key,
                      s_member_arg (get->member)? get->member: "self");
        return;
    }
    Rumorctl__Value message = RUMORCTL__VALUE__INIT;
    message.value.data = zframe_data (value);
    message.value.len = zframe_size (value);
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_VALUE;
    reply.value = &message;
    s_send (self, client, &reply);
    zframe_destroy (&value);
}

//  Sends a list of strings as KeyList
static void
s_send_strings (s_agent_t *self, zframe_t *client, uint64_t id, zlist_t *list)
{
    size_t count = zlist_size (list);
    char **strings = (char **) calloc (count + 1, sizeof (char *));
    assert (strings);
    size_t index = 0;
    for (char *text = (char *) zlist_first (list); text;
         text = (char *) zlist_next (list))
        strings [index++] = text;
    Rumorctl__KeyList message = RUMORCTL__KEY_LIST__INIT;
    message.n_keys = count;
    message.keys = strings;
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_KEYS;
    reply.keys = &message;
    s_send (self, client, &reply);
    free (strings);
}

//  Keys: a member's live keys
static void
s_do_keys (s_agent_t *self, zframe_t *client, uint64_t id, Rumorctl__Keys *keys)
{
    zlist_t *list = rumor_keys (self->node, s_member_arg (keys->member));
    if (!list) {
        s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_NOT_FOUND,
                      "keys: no member '%s'", keys->member);
        return;
    }
    s_send_strings (self, client, id, list);
    zlist_destroy (&list);
}

//  qsort order of counters by name
static int
s_counter_compare (const void *one, const void *two)
{
    const Rumorctl__Counter *a = *(const Rumorctl__Counter * const *) one;
    const Rumorctl__Counter *b = *(const Rumorctl__Counter * const *) two;
    return strcmp (a->name, b->name);
}

//  Stats: the node's counters and ours, sorted by name
static void
s_do_stats (s_agent_t *self, zframe_t *client, uint64_t id)
{
    zhash_t *stats = rumor_stats (self->node);
    size_t count = (stats? zhash_size (stats): 0) + zhash_size (self->stats);
    Rumorctl__Counter *items = (Rumorctl__Counter *) calloc (count + 1, sizeof (Rumorctl__Counter));
    Rumorctl__Counter **pointers = (Rumorctl__Counter **) calloc (count + 1, sizeof (void *));
    assert (items && pointers);
    size_t index = 0;
    if (stats)
        for (char *value = (char *) zhash_first (stats); value;
             value = (char *) zhash_next (stats), index++) {
            rumorctl__counter__init (&items [index]);
            items [index].name = (char *) zhash_cursor (stats);
            items [index].value = strtoull (value, NULL, 10);
            pointers [index] = &items [index];
        }
    for (uint64_t *value = (uint64_t *) zhash_first (self->stats); value;
         value = (uint64_t *) zhash_next (self->stats), index++) {
        rumorctl__counter__init (&items [index]);
        items [index].name = (char *) zhash_cursor (self->stats);
        items [index].value = *value;
        pointers [index] = &items [index];
    }
    qsort (pointers, index, sizeof (void *), s_counter_compare);
    Rumorctl__CounterList list = RUMORCTL__COUNTER_LIST__INIT;
    list.n_counters = index;
    list.counters = pointers;
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_STATS;
    reply.stats = &list;
    s_send (self, client, &reply);
    free (items);
    free (pointers);
    zhash_destroy (&stats);
}

//  Why: the node's report
static void
s_do_why (s_agent_t *self, zframe_t *client, uint64_t id)
{
    char *why = rumor_why (self->node);
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_WHY;
    reply.why = why? why: (char *) "";
    s_send (self, client, &reply);
    free (why);
}

//  Tags: set the given ones, then send all of ours
static void
s_do_tags (s_agent_t *self, zframe_t *client, uint64_t id, Rumorctl__Tags *tags)
{
    for (size_t index = 0; index < tags->n_set; index++) {
        Rumorctl__Tag *tag = tags->set [index];
        int rc = rumor_set_tag (self->node, tag->key,
                                *tag->value? tag->value: NULL);
        if (rc != RUMOR_OK && !(rc == RUMOR_ENOTFOUND && !*tag->value)) {
            s_send_error (self, client, id, s_status (rc), "tags: %s: %s",
                          tag->key, rumor_strerror (rc));
            return;
        }
    }
    zlistx_t *members = rumor_members (self->node);
    zhash_t *own = NULL;
    for (rumor_member_t *member = members? (rumor_member_t *) zlistx_first (members): NULL;
         member; member = (rumor_member_t *) zlistx_next (members))
        if (member->self)
            own = member->tags;
    size_t count = own? zhash_size (own): 0;
    Rumorctl__Tag *items = (Rumorctl__Tag *) calloc (count + 1, sizeof (Rumorctl__Tag));
    Rumorctl__Tag **pointers = (Rumorctl__Tag **) calloc (count + 1, sizeof (void *));
    assert (items && pointers);
    zlist_t *keys = own? zhash_keys (own): zlist_new ();
    zlist_sort (keys, (zlist_compare_fn *) strcmp);
    size_t index = 0;
    for (char *key = (char *) zlist_first (keys); key;
         key = (char *) zlist_next (keys), index++) {
        rumorctl__tag__init (&items [index]);
        items [index].key = key;
        items [index].value = (char *) zhash_lookup (own, key);
        pointers [index] = &items [index];
    }
    Rumorctl__TagList list = RUMORCTL__TAG_LIST__INIT;
    list.n_tags = index;
    list.tags = pointers;
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_TAGS;
    reply.tags = &list;
    s_send (self, client, &reply);
    zlist_destroy (&keys);
    free (items);
    free (pointers);
    rumor_members_destroy (&members);
}

//  Writes the fingerprint of the node's primary key ("" without a secret)
static void
s_fingerprint (s_agent_t *self, char *buffer, size_t size)
{
    zlist_t *keys = self->config->secured? rumor_keys_list (self->node): NULL;
    char *primary = keys? (char *) zlist_first (keys): NULL;
    snprintf (buffer, size, "%s", primary? primary: "");
    zlist_destroy (&keys);
}

//  Info: who this agent is
static void
s_do_info (s_agent_t *self, zframe_t *client, uint64_t id)
{
    int major, minor, patch;
    rumor_version (&major, &minor, &patch);
    char version [32];
    snprintf (version, sizeof (version), "%d.%d.%d", major, minor, patch);
    Rumorctl__AgentInfo info = RUMORCTL__AGENT_INFO__INIT;
    info.id = (char *) rumor_id (self->node);
    info.name = (char *) rumor_name (self->node);
    info.endpoint = (char *) rumor_endpoint (self->node);
    info.cluster = self->config->cluster? self->config->cluster: (char *) "rumor";
    info.version = version;
    char fingerprint [32];
    s_fingerprint (self, fingerprint, sizeof (fingerprint));
    info.fingerprint = fingerprint;
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_INFO;
    reply.info = &info;
    s_send (self, client, &reply);
}

//  Removes the listener of (client, id), releasing its pattern. Returns
//  true if there was one.
static bool
s_listener_remove (s_agent_t *self, zframe_t *client, uint64_t id)
{
    for (s_listener_t *listener = (s_listener_t *) zlistx_first (self->listeners);
         listener; listener = (s_listener_t *) zlistx_next (self->listeners)) {
        if (listener->id != id || !zframe_eq (listener->client, client))
            continue;
        if (*listener->pattern) {
            int *count = (int *) zhash_lookup (self->heard, listener->pattern);
            if (count && --*count == 0) {
                rumor_unhear (self->node, listener->pattern);
                zhash_delete (self->heard, listener->pattern);
            }
        }
        zlistx_delete (self->listeners, zlistx_cursor (self->listeners));
        return true;
    }
    return false;
}

//  Listen: register (or replace) a stream, hearing its pattern
static void
s_do_listen (s_agent_t *self, zframe_t *client, uint64_t id,
             Rumorctl__Listen *listen)
{
    s_listener_remove (self, client, id);
    if (zlistx_size (self->listeners) >= AGENT_LISTENERS_MAX) {
        s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_FULL,
                      "listen: at most %d listeners", AGENT_LISTENERS_MAX);
        return;
    }
    const char *pattern = listen->pattern? listen->pattern: "";
    if (*pattern) {
        int *count = (int *) zhash_lookup (self->heard, pattern);
        if (!count) {
            int rc = rumor_hear (self->node, pattern);
            if (rc != RUMOR_OK) {
                s_send_error (self, client, id, s_status (rc),
                              "listen: pattern '%s': %s", pattern,
                              rumor_strerror (rc));
                return;
            }
            count = (int *) zmalloc (sizeof (int));
            assert (count);
            zhash_insert (self->heard, pattern, count);
            zhash_freefn (self->heard, pattern, free);
        }
        ++*count;
    }
    s_listener_t *listener = (s_listener_t *) zmalloc (sizeof (s_listener_t));
    assert (listener);
    listener->client = zframe_dup (client);
    listener->id = id;
    listener->pattern = strdup (pattern);
    listener->members = listen->members;
    listener->keys = listen->keys;
    listener->direct = listen->direct;
    listener->queries = listen->queries;
    zlistx_add_end (self->listeners, listener);
    s_counter_add (self, "control.listens", 1);
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_LISTENING;
    reply.listening = true;
    s_send (self, client, &reply);
}

//  Query: start it and route its responses to the client
static void
s_do_query (s_agent_t *self, zframe_t *client, uint64_t id, Rumorctl__Query *query)
{
    if (zlistx_size (self->queries) >= AGENT_QUERIES_MAX) {
        s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_FULL,
                      "query: at most %d queries in flight", AGENT_QUERIES_MAX);
        return;
    }
    int64_t timeout = query->timeout_ms? (int64_t) query->timeout_ms:
                      AGENT_QUERY_TIMEOUT;
    int64_t started = rumor_query (self->node, query->topic, query->payload.data,
                                   query->payload.len, timeout);
    if (started < 0) {
        s_send_error (self, client, id, s_status ((int) started),
                      "query: %s", rumor_strerror ((int) started));
        return;
    }
    s_query_t *pending = (s_query_t *) zmalloc (sizeof (s_query_t));
    assert (pending);
    pending->client = zframe_dup (client);
    pending->id = id;
    pending->query = started;
    pending->expires = zclock_mono () + timeout + AGENT_QUERY_SLACK;
    zlistx_add_end (self->queries, pending);
    Rumorctl__Reply reply = RUMORCTL__REPLY__INIT;
    reply.id = id;
    reply.result_case = RUMORCTL__REPLY__RESULT_QUERY_STARTED;
    reply.query_started = started;
    s_send (self, client, &reply);
}

//  Respond: answer a recent QUERY event
static void
s_do_respond (s_agent_t *self, zframe_t *client, uint64_t id,
              Rumorctl__Respond *respond)
{
    for (size_t index = 0; index < AGENT_INBOX_MAX; index++) {
        rumor_event_t *query = self->inbox [index];
        if (query && rumor_event_query (query) == respond->query_id
        &&  (streq (rumor_event_member (query), respond->member)
         ||  streq (rumor_event_name (query), respond->member))) {
            int rc = rumor_respond (self->node, query, respond->payload.data,
                                    respond->payload.len);
            s_send_rc (self, client, id, rc, "respond");
            return;
        }
    }
    s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_NOT_FOUND,
                  "respond: no recent query %" PRId64 " from '%s'",
                  respond->query_id, respond->member);
}

//  Executes one valid request
static void
s_dispatch (s_agent_t *self, zframe_t *client, Rumorctl__Request *request)
{
    uint64_t id = request->id;
    int rc;
    switch (request->command_case) {
        case RUMORCTL__REQUEST__COMMAND_MEMBERS:
            s_do_members (self, client, id);
            break;
        case RUMORCTL__REQUEST__COMMAND_GET:
            s_do_get (self, client, id, request->get);
            break;
        case RUMORCTL__REQUEST__COMMAND_SET:
            rc = rumor_set (self->node, request->set->key, request->set->value.data,
                            request->set->value.len, (int64_t) request->set->ttl_ms);
            s_send_rc (self, client, id, rc, "set");
            break;
        case RUMORCTL__REQUEST__COMMAND_DELETE:
            rc = rumor_delete (self->node, request->delete_->key);
            s_send_rc (self, client, id, rc, "delete");
            break;
        case RUMORCTL__REQUEST__COMMAND_KEYS:
            s_do_keys (self, client, id, request->keys);
            break;
        case RUMORCTL__REQUEST__COMMAND_SAY:
            rc = rumor_say (self->node, request->say->topic,
                            request->say->payload.data, request->say->payload.len);
            s_send_rc (self, client, id, rc, "say");
            break;
        case RUMORCTL__REQUEST__COMMAND_LISTEN:
            s_do_listen (self, client, id, request->listen);
            break;
        case RUMORCTL__REQUEST__COMMAND_UNLISTEN:
            rc = s_listener_remove (self, client, request->unlisten->listen_id)?
                 RUMOR_OK: RUMOR_ENOTFOUND;
            s_send_rc (self, client, id, rc, "unlisten");
            break;
        case RUMORCTL__REQUEST__COMMAND_WHISPER:
            rc = rumor_whisper (self->node, request->whisper->member,
                                request->whisper->topic,
                                request->whisper->payload.data,
                                request->whisper->payload.len);
            s_send_rc (self, client, id, rc, "whisper");
            break;
        case RUMORCTL__REQUEST__COMMAND_QUERY:
            s_do_query (self, client, id, request->query);
            break;
        case RUMORCTL__REQUEST__COMMAND_RESPOND:
            s_do_respond (self, client, id, request->respond);
            break;
        case RUMORCTL__REQUEST__COMMAND_JOIN:
            rc = rumor_join (self->node, request->join->endpoint);
            s_send_rc (self, client, id, rc, "join");
            break;
        case RUMORCTL__REQUEST__COMMAND_LEAVE:
            s_log (S_LOG_INFO, "leave requested by a client");
            s_send_rc (self, client, id, RUMOR_OK, "leave");
            self->leaving = true;
            break;
        case RUMORCTL__REQUEST__COMMAND_STATS:
            s_do_stats (self, client, id);
            break;
        case RUMORCTL__REQUEST__COMMAND_WHY:
            s_do_why (self, client, id);
            break;
        case RUMORCTL__REQUEST__COMMAND_TAGS:
            s_do_tags (self, client, id, request->tags);
            break;
        case RUMORCTL__REQUEST__COMMAND_INFO:
            s_do_info (self, client, id);
            break;
        case RUMORCTL__REQUEST__COMMAND_KEYRING:
            s_do_keyring (self, client, id, request->keyring);
            break;
        default:
            s_send_error (self, client, id, RUMORCTL__STATUS__STATUS_BAD_REQUEST,
                          "unknown command %d", (int) request->command_case);
            s_counter_add (self, "control.refused.unknown_command", 1);
            break;
    }
}

//  Reads one message from the control socket and answers it
static void
s_handle_control (s_agent_t *self)
{
    zmsg_t *msg = zmsg_recv (self->control);
    if (!msg)
        return;
    s_counter_add (self, "control.requests", 1);
    zframe_t *client = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    if (!client || !body || zmsg_size (msg) > 0) {
        s_counter_add (self, "control.refused.frames", 1);
        if (client)
            s_send_error (self, client, 0, RUMORCTL__STATUS__STATUS_BAD_REQUEST,
                          "one frame per request");
    }
    else {
        Rumorctl__Request *request = rumorctl__request__unpack (
            NULL, zframe_size (body), zframe_data (body));
        const char *problem = request? agent_control_check (request): NULL;
        if (!request) {
            s_counter_add (self, "control.refused.decode", 1);
            s_send_error (self, client, 0, RUMORCTL__STATUS__STATUS_BAD_REQUEST,
                          "request does not decode");
        }
        else
        if (problem) {
            s_counter_add (self, "control.refused.bounds", 1);
            s_send_error (self, client, request->id,
                          RUMORCTL__STATUS__STATUS_BAD_REQUEST, "%s", problem);
        }
        else
            s_dispatch (self, client, request);
        //  A Keyring request carries a secret: no copy outlives it
        if (request && request->command_case == RUMORCTL__REQUEST__COMMAND_KEYRING
        &&  request->keyring && request->keyring->secret.data)
            agent_wipe (request->keyring->secret.data, request->keyring->secret.len);
        if (request)
            rumorctl__request__free_unpacked (request, NULL);
        agent_wipe (zframe_data (body), zframe_size (body));
    }
    zframe_destroy (&client);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}


//  --------------------------------------------------------------------------
//  Main

//  How long the loop may sleep: until the first pending query or keyring
//  operation expires, and at most AGENT_TICK_MS (a signal stops a wait
//  early anyway). An idle agent wakes once a second.
static int
s_agent_wait (s_agent_t *self)
{
    int64_t next = INT64_MAX;
    for (s_query_t *query = (s_query_t *) zlistx_first (self->queries);
         query; query = (s_query_t *) zlistx_next (self->queries))
        if (query->expires < next)
            next = query->expires;
    for (s_keyring_t *keyring = (s_keyring_t *) zlistx_first (self->keyrings);
         keyring; keyring = (s_keyring_t *) zlistx_next (self->keyrings))
        if (keyring->expires < next)
            next = keyring->expires;
    int64_t wait = next - zclock_mono () + 1;
    if (wait > AGENT_TICK_MS)
        wait = AGENT_TICK_MS;
    return wait < 0? 0: (int) wait;
}

//  Serves the control socket and node events until a signal
//  or a Leave request
static void
s_agent_run (s_agent_t *self)
{
    //  zmq_poll, not zpoller: the wake pipe is a bare file handle
    zmq_pollitem_t items [] = {
        { zsock_resolve (self->control), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (rumor_socket (self->node)), 0, ZMQ_POLLIN, 0 },
        { NULL, s_wake [0], ZMQ_POLLIN, 0 }
    };
    int count = s_wake [0] >= 0? 3: 2;
    while (!s_signalled && !self->leaving) {
        //  Interrupted, revents may hold the previous call's: look again
        //  (a signal ends the loop). Any other error: the context is gone
        if (zmq_poll (items, count, s_agent_wait (self)) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;
        }
        if (items [2].revents & ZMQ_POLLIN) {
            char drain [16];
            while (read (s_wake [0], drain, sizeof (drain)) > 0)
                ;
        }
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_control (self);
        if (items [1].revents & ZMQ_POLLIN) {
            rumor_event_t *event = rumor_recv_timeout (self->node, 0);
            if (event)
                s_handle_event (self, &event);
            rumor_event_destroy (&event);
        }
        s_expire_queries (self);
        s_expire_keyrings (self);
    }
}

int
main (int argc, char **argv)
{
    //  Our own handlers: czmq's would stop the node's actors before the
    //  graceful leave could run
    zsys_handler_set (NULL);
    if (s_wake_open ())
        fprintf (stderr, "rumord: W: no wake pipe (%s): signals are noticed "
                 "within %d ms\n", strerror (errno), AGENT_TICK_MS);
    struct sigaction action;
    memset (&action, 0, sizeof (action));
    action.sa_handler = s_on_signal;
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
    signal (SIGPIPE, SIG_IGN);

    s_config_t *config = s_config_new ();
    int rc = s_config_parse (config, argc, argv);
    if (rc != 0) {
        s_config_destroy (&config);
        return rc == 1? 0: 2;
    }
    s_log_level = config->log_level;
    s_agent_t *agent = s_agent_new (config);
    if (s_control_bind (agent) || s_node_start (agent)) {
        s_agent_destroy (&agent);
        s_config_destroy (&config);
        return 1;
    }
    if (config->secured) {
        char fingerprint [32];
        s_fingerprint (agent, fingerprint, sizeof (fingerprint));
        printf ("rumord: secret set, key fingerprint %s\n", fingerprint);
    }
    else
        s_log (S_LOG_INFO, "no cluster secret: links are neither encrypted "
               "nor authenticated (see --secret-file)");
    if (config->secured && strncmp (agent->endpoint, "ipc://", 6))
        s_log (S_LOG_WARNING, "control %s has no access control: whoever can "
               "connect can rotate the cluster's keys (an ipc:// endpoint is "
               "private to its owner)", agent->endpoint);
    printf ("rumord: endpoint %s\n", rumor_endpoint (agent->node));
    printf ("rumord: control %s\n", agent->endpoint);
    fflush (stdout);
    s_log (S_LOG_INFO, "node %s (%s) in cluster %s", rumor_name (agent->node),
           rumor_id (agent->node), config->cluster? config->cluster: "rumor");
    s_agent_run (agent);
    s_log (S_LOG_INFO, "leaving");
    s_agent_destroy (&agent);
    s_config_destroy (&config);
    return 0;
}
