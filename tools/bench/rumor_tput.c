/*  =========================================================================
    rumor-tput - message throughput of live rumor nodes on loopback

    Two measurements, each with real nodes (librumor, beacon off, bound to
    127.0.0.1, joined by endpoint), one process per node:

      direct  node A whispers SIZE-byte messages to node B as fast as
              rumor_whisper returns, for COUNT messages or SECONDS; B
              counts what it receives. Reported: messages received per
              second at B (not sent).
      group   NODES nodes all hear "bench.#"; node 0 says SIZE-byte events
              on "bench.tput" as fast as rumor_say returns; every other
              node counts what it hears. Reported: events per second
              delivered at the slowest receiver.

    A rate is received / (time of the last receipt - time of the first
    send), both read from CLOCK_MONOTONIC, which every process of a host
    shares. With payloads of 16 bytes or more each carries its send time,
    and every receiver reports the median and 99th percentile of
    send-to-receipt latency: under a flood that is the queues' depth (the
    sender's API queue included), not the network's. A receiver is done
    once nothing arrived for IDLE ms. Losses
    (sent but never received) and the counters that explain them (queue
    full, events the program fell behind on, rate limits) are printed.

    The parent process forks every node before touching czmq (czmq is not
    fork-safe) and talks to them over pipes, one line per message:
      child -> parent   "up ID ENDPOINT", "ready", "sent OK ERR T0 T1",
                        "recv COUNT T_FIRST T_LAST MEDIAN_MS P99_MS",
                        "stat NAME VALUE"...,
                        "done"
      parent -> child   "go", "stop"
    Exit status: 0 measured, 1 a node failed or nothing arrived (with
    --require-all: or any message sent did not arrive), 2 usage.
    =========================================================================
*/

#include "rumor.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_NODES_MAX     64
#define S_LINE_MAX      512
//  Bounds on the setup phases, so a broken build fails instead of hanging
#define S_UP_MS         10000
#define S_READY_MS      30000

typedef enum { S_DIRECT, S_GROUP } s_mode_t;

typedef struct {
    s_mode_t mode;                  //  direct or group
    int nodes;                      //  nodes (direct: 2)
    size_t size;                    //  payload bytes
    long count;                     //  messages to send at most
    double seconds;                 //  sending time at most
    int idle_ms;                    //  receiver done after this silence
    int64_t rate_limit;             //  RUMOR_LIMIT_EVENTS_PER_SEC, 0 = dflt
    int64_t queue;                  //  RUMOR_LIMIT_QUEUE, 0 = default
    int profile;                    //  rumor_profile_t
    bool all_stats;                 //  every node prints all its counters
    bool require_all;               //  fail unless everything arrived
    char cluster [64];              //  unique per run
} s_options_t;

//  One child process as the parent sees it
typedef struct {
    pid_t pid;                      //  its process id
    int to_child;                   //  pipe we write commands to
    int from_child;                 //  pipe we read its lines from
    char buffer [S_LINE_MAX * 8];   //  partial lines read
    size_t buffered;                //  bytes in buffer
    char id [64];                   //  its node id (hex)
    char endpoint [128];            //  its endpoint
    long sent_ok, sent_err;         //  sender: calls that succeeded/failed
    double t0, t1;                  //  sender: first and last call
    long received;                  //  receiver: messages counted
    double lat_median, lat_p99;     //  receiver: send-to-receipt, ms
    double cpu;                     //  CPU seconds of the measured phase
    double t_first, t_last;         //  receiver: first and last receipt
    char stats [S_LINE_MAX * 4];    //  counters worth printing
} s_child_t;

static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

//  CPU seconds used by this process, every thread of it
static double
s_cpu (void)
{
    struct timespec used;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &used);
    return used.tv_sec + used.tv_nsec / 1e9;
}

//  --------------------------------------------------------------------------
//  Child side: one node

//  Write one line to the parent; a failed write means the parent is gone.
static void
s_tell (int fd, const char *format, ...)
{
    char line [S_LINE_MAX];
    va_list args;
    va_start (args, format);
    int size = vsnprintf (line, sizeof (line) - 1, format, args);
    va_end (args);
    if (size < 0)
        return;
    if ((size_t) size > sizeof (line) - 2)
        size = (int) sizeof (line) - 2;
    line [size++] = '\n';
    if (write (fd, line, (size_t) size) != size)
        _exit (1);
}

//  Wait for one command line from the parent; false on EOF or error.
static bool
s_hear_parent (int fd, const char *expected)
{
    char line [64];
    size_t used = 0;
    while (used < sizeof (line) - 1) {
        ssize_t got = read (fd, line + used, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        if (line [used] == '\n') {
            line [used] = 0;
            return streq (line, expected);
        }
        used++;
    }
    return false;
}

static rumor_t *
s_node_new (const s_options_t *options, int index, const char *seed)
{
    char name [80];
    snprintf (name, sizeof (name), "%s-%d", options->cluster, index);
    rumor_t *node = rumor_new (name);
    if (!node)
        return NULL;
    int rc = rumor_set_cluster (node, options->cluster);
    if (!rc) rc = rumor_set_bind (node, "127.0.0.1");
    if (!rc) rc = rumor_set_beacon (node, RUMOR_BEACON_OFF);
    if (!rc) rc = rumor_set_profile (node, (rumor_profile_t) options->profile);
#ifdef RUMOR_LIMITS
    if (!rc && options->rate_limit)
        rc = rumor_set_limit (node, RUMOR_LIMIT_EVENTS_PER_SEC,
                              options->rate_limit);
    if (!rc && options->queue)
        rc = rumor_set_limit (node, RUMOR_LIMIT_QUEUE, options->queue);
#else
    //  A library without settable limits: its built-in ones apply
    if (!rc && (options->rate_limit || options->queue))
        rc = RUMOR_EINVAL;
#endif
    if (!rc && options->mode == S_GROUP)
        rc = rumor_hear (node, "bench.#");
    if (!rc && seed)
        rc = rumor_join (node, seed);
    if (!rc)
        rc = rumor_start (node);
    if (rc) {
        fprintf (stderr, "rumor-tput: node %d: %s\n", index,
                 rumor_strerror (rc));
        rumor_destroy (&node);
    }
    return node;
}

//  Wait until the node has seen every other node join.
static bool
s_wait_members (rumor_t *node, int others)
{
    double deadline = s_now () + S_READY_MS / 1000.0;
    int joined = 0;
    while (joined < others && s_now () < deadline) {
        rumor_event_t *event = rumor_recv_timeout (node, 100);
        if (event && rumor_event_type (event) == RUMOR_EVENT_JOINED)
            joined++;
        rumor_event_destroy (&event);
    }
    return joined >= others;
}

//  Payload bytes: a counter (each payload differs, as real traffic would),
//  then the send time in ns of CLOCK_MONOTONIC (one clock for every
//  process on the host), when the payload has room for both
#define S_STAMP_AT      8
#define S_STAMPED(size) ((size) >= S_STAMP_AT + sizeof (int64_t))

static int64_t
s_now_ns (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
}

//  Send as fast as the API takes calls; tell the parent what happened.
static void
s_send (const s_options_t *options, rumor_t *node, const char *target,
        int out)
{
    uint8_t *payload = (uint8_t *) calloc (1, options->size);
    assert (payload);
    long ok = 0, failed = 0;
    double t0 = s_now ();
    double until = t0 + options->seconds;
    for (long sent = 0; sent < options->count; sent++) {
        memcpy (payload, &sent, options->size < sizeof (sent)?
                options->size: sizeof (sent));
        if (S_STAMPED (options->size)) {
            int64_t stamp = s_now_ns ();    //  vDSO: tens of ns a call
            memcpy (payload + S_STAMP_AT, &stamp, sizeof (stamp));
        }
        int rc = options->mode == S_DIRECT
               ? rumor_whisper (node, target, "bench.tput", payload,
                                options->size)
               : rumor_say (node, "bench.tput", payload, options->size);
        if (rc == RUMOR_OK)
            ok++;
        else
            failed++;
        //  Reading the clock every call would cost more than it tells
        if ((sent & 1023) == 1023 && s_now () >= until)
            break;
    }
    double t1 = s_now ();
    free (payload);
    s_tell (out, "sent %ld %ld %.9f %.9f", ok, failed, t0, t1);
}

static int
s_compare_ns (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y? -1: x > y;
}

//  Median and 99th percentile of count latencies (ns), in ms; sorts them
static void
s_percentiles (int64_t *latencies, size_t count, double *median, double *p99)
{
    *median = *p99 = 0;
    if (!count)
        return;
    qsort (latencies, count, sizeof (int64_t), s_compare_ns);
    *median = latencies [count / 2] / 1e6;
    *p99 = latencies [(count * 99) / 100] / 1e6;
}

//  Count messages until IDLE ms of silence after the first one (or a hard
//  deadline), with each one's latency; tell the parent.
static void
s_receive (const s_options_t *options, rumor_t *node, int out)
{
    rumor_event_type_t wanted = options->mode == S_DIRECT
                              ? RUMOR_EVENT_DIRECT: RUMOR_EVENT_HEARD;
    size_t latency_max = options->count < 4000000? (size_t) options->count
                                                 : 4000000;
    int64_t *latencies = S_STAMPED (options->size)
        ? (int64_t *) malloc (latency_max * sizeof (int64_t)): NULL;
    size_t latency_count = 0;
    long received = 0;
    double t_first = 0, t_last = 0;
    double deadline = s_now () + options->seconds + 60;
    while (s_now () < deadline) {
        rumor_event_t *event = rumor_recv_timeout (node, options->idle_ms);
        if (!event) {
            if (received)
                break;              //  silence after traffic: done
            continue;
        }
        if (rumor_event_type (event) == wanted
        &&  streq (rumor_event_topic (event), "bench.tput")
        &&  rumor_event_size (event) == options->size) {
            t_last = s_now ();
            if (!received)
                t_first = t_last;
            received++;
            int64_t stamp;
            if (latencies && latency_count < latency_max) {
                memcpy (&stamp, (const uint8_t *) rumor_event_data (event)
                                + S_STAMP_AT, sizeof (stamp));
                latencies [latency_count++] = s_now_ns () - stamp;
            }
        }
        rumor_event_destroy (&event);
    }
    double median, p99;
    s_percentiles (latencies, latency_count, &median, &p99);
    free (latencies);
    s_tell (out, "recv %ld %.9f %.9f %.3f %.3f", received, t_first, t_last,
            median, p99);
}

//  --stats: every non-zero counter of the node, to stderr
static void
s_print_stats (rumor_t *node, int index)
{
    zhash_t *stats = rumor_stats (node);
    if (!stats)
        return;
    zlist_t *names = zhash_keys (stats);
    zlist_sort (names, NULL);
    for (const char *name = (const char *) zlist_first (names); name;
         name = (const char *) zlist_next (names)) {
        const char *value = (const char *) zhash_lookup (stats, name);
        if (value && strcmp (value, "0"))
            fprintf (stderr, "node %d: %s = %s\n", index, name, value);
    }
    zlist_destroy (&names);
    zhash_destroy (&stats);
}

//  Counters that explain a loss or a slow rate: any non-zero counter whose
//  name says it dropped, refused or cut something (the set grows with the
//  library, so match words rather than a fixed list)
static void
s_tell_stats (rumor_t *node, int out)
{
    static const char *words [] = {
        "drop", "full", "limited", "disconnect", "refused", NULL
    };
    zhash_t *stats = rumor_stats (node);
    if (!stats)
        return;
    zlist_t *names = zhash_keys (stats);
    zlist_sort (names, NULL);
    for (const char *name = (const char *) zlist_first (names); name;
         name = (const char *) zlist_next (names)) {
        const char *value = (const char *) zhash_lookup (stats, name);
        if (!value || streq (value, "0"))
            continue;
        for (int i = 0; words [i]; i++)
            if (strstr (name, words [i])) {
                s_tell (out, "stat %s %s", name, value);
                break;
            }
    }
    zlist_destroy (&names);
    zhash_destroy (&stats);
}

static int
s_child (const s_options_t *options, int index, bool sender,
         const char *seed, const char *target, int in, int out)
{
    rumor_t *node = s_node_new (options, index, seed);
    if (!node)
        return 1;
    s_tell (out, "up %s %s", rumor_id (node), rumor_endpoint (node));
    if (!s_wait_members (node, options->nodes - 1)) {
        fprintf (stderr, "rumor-tput: node %d did not see all %d others\n",
                 index, options->nodes - 1);
        rumor_destroy (&node);
        return 1;
    }
    s_tell (out, "ready");
    if (!s_hear_parent (in, "go")) {
        rumor_destroy (&node);
        return 1;
    }
    double cpu = s_cpu ();
    if (sender)
        s_send (options, node, target, out);
    else
        s_receive (options, node, out);
    s_tell (out, "cpu %.6f", s_cpu () - cpu);
    s_tell_stats (node, out);
    if (options->all_stats)
        s_print_stats (node, index);
    s_tell (out, "done");
    //  Stay up until every node is done: a node leaving early would look
    //  like a failure to the others
    s_hear_parent (in, "stop");
    rumor_destroy (&node);
    return 0;
}

//  --------------------------------------------------------------------------
//  Parent side: start nodes, collect their lines, report

//  Fork a node. The child never returns.
static bool
s_spawn (s_child_t *child, const s_options_t *options, int index,
         bool sender, const char *seed, const char *target)
{
    int down [2], up [2];
    if (pipe (down) || pipe (up))
        return false;
    fflush (stdout);
    pid_t pid = fork ();
    if (pid < 0)
        return false;
    if (pid == 0) {
        close (down [1]);
        close (up [0]);
        //  exit, not _exit: czmq's and the sanitizers' exit handlers run
        //  (stdout was flushed before the fork, so nothing prints twice)
        exit (s_child (options, index, sender, seed, target,
                       down [0], up [1]));
    }
    close (down [0]);
    close (up [1]);
    memset (child, 0, sizeof (*child));
    child->pid = pid;
    child->to_child = down [1];
    child->from_child = up [0];
    return true;
}

static void
s_command (s_child_t *child, const char *command)
{
    size_t size = strlen (command);
    //  A child that died shows as EOF on its pipe; ignore the error here
    if (write (child->to_child, command, size) != (ssize_t) size)
        return;
}

//  Handle one line from a child. Returns true when it is the awaited word.
static bool
s_parse_line (s_child_t *child, char *line, const char *awaited)
{
    char word [16] = "";
    sscanf (line, "%15s", word);
    if (streq (word, "up"))
        sscanf (line, "up %63s %127s", child->id, child->endpoint);
    else
    if (streq (word, "sent"))
        sscanf (line, "sent %ld %ld %lf %lf", &child->sent_ok,
                &child->sent_err, &child->t0, &child->t1);
    else
    if (streq (word, "recv"))
        sscanf (line, "recv %ld %lf %lf %lf %lf", &child->received,
                &child->t_first, &child->t_last, &child->lat_median,
                &child->lat_p99);
    else
    if (streq (word, "cpu"))
        sscanf (line, "cpu %lf", &child->cpu);
    else
    if (streq (word, "stat")) {
        size_t used = strlen (child->stats);
        snprintf (child->stats + used, sizeof (child->stats) - used,
                  " %s", line + 5);
    }
    return streq (word, awaited);
}

//  Read lines from a child until the awaited word, EOF or the deadline.
static bool
s_await (s_child_t *child, const char *awaited, int timeout_ms)
{
    double deadline = s_now () + timeout_ms / 1000.0;
    while (true) {
        char *newline;
        while ((newline = memchr (child->buffer, '\n', child->buffered))) {
            *newline = 0;
            bool found = s_parse_line (child, child->buffer, awaited);
            size_t used = (size_t) (newline - child->buffer) + 1;
            memmove (child->buffer, newline + 1, child->buffered - used);
            child->buffered -= used;
            if (found)
                return true;
        }
        int left = (int) ((deadline - s_now ()) * 1000);
        if (left <= 0 || child->buffered == sizeof (child->buffer))
            return false;
        struct pollfd item = { child->from_child, POLLIN, 0 };
        int rc = poll (&item, 1, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return false;
        ssize_t got = read (child->from_child, child->buffer + child->buffered,
                            sizeof (child->buffer) - child->buffered);
        if (got <= 0)
            return false;           //  the child exited
        child->buffered += (size_t) got;
    }
}

//  Stop every child: "stop", then wait for it; kill it (by pid) if it
//  does not exit within a bound.
static void
s_reap (s_child_t *children, int count)
{
    for (int i = 0; i < count; i++)
        s_command (&children [i], "stop\n");
    double deadline = s_now () + 10;
    for (int i = 0; i < count; i++) {
        int status;
        while (waitpid (children [i].pid, &status, WNOHANG) == 0) {
            if (s_now () > deadline) {
                kill (children [i].pid, SIGKILL);
                waitpid (children [i].pid, &status, 0);
                break;
            }
            usleep (10000);
        }
        close (children [i].to_child);
        close (children [i].from_child);
    }
}

static void
s_report (const s_options_t *options, s_child_t *children, int count,
          int sender)
{
    s_child_t *from = &children [sender];
    double api_rate = from->t1 > from->t0
                    ? from->sent_ok / (from->t1 - from->t0): 0;
    printf ("mode: %s, %d nodes (one process each), %zu-byte payloads, "
            "profile %d\n", options->mode == S_DIRECT? "direct": "group",
            options->nodes, options->size, options->profile);
    printf ("sent: %ld ok, %ld refused, in %.3f s: %.0f calls/s\n",
            from->sent_ok, from->sent_err, from->t1 - from->t0, api_rate);
    if (*from->stats)
        printf ("sender counters:%s\n", from->stats);
    double slowest = -1;
    double worst_median = 0, worst_p99 = 0;
    long fewest = -1;
    double cpu = 0;
    for (int i = 0; i < count; i++)
        cpu += children [i].cpu;
    for (int i = 0; i < count; i++) {
        if (i == sender)
            continue;
        s_child_t *child = &children [i];
        double span = child->t_last - from->t0;
        double rate = child->received && span > 0
                    ? child->received / span: 0;
        printf ("receiver %d: %ld received (%.2f%% of sent), %.0f "
                "messages/s, latency median %.1f ms, p99 %.1f ms%s%s\n",
                i, child->received,
                from->sent_ok? 100.0 * child->received / from->sent_ok: 0,
                rate, child->lat_median, child->lat_p99,
                *child->stats? ", counters:": "", child->stats);
        if (child->lat_p99 > worst_p99) {
            worst_p99 = child->lat_p99;
            worst_median = child->lat_median;
        }
        if (slowest < 0 || rate < slowest)
            slowest = rate;
        if (fewest < 0 || child->received < fewest)
            fewest = child->received;
    }
    //  CPU of every node's process over the run, per message sent: what
    //  the machine's cores can carry at most, whatever else runs on it
    if (from->sent_ok)
        printf ("cpu: %.2f s over all processes, %.1f us per message sent\n",
                cpu, cpu * 1e6 / from->sent_ok);
    if (S_STAMPED (options->size))
        printf ("latency (the receiver with the worst p99): median %.1f ms, "
                "p99 %.1f ms\n", worst_median, worst_p99);
    printf ("%s: %.0f messages/s received%s\n",
            options->mode == S_DIRECT? "result": "result (slowest receiver)",
            slowest, fewest > 0? "": " (NOTHING ARRIVED)");
}

static int
s_run (const s_options_t *options)
{
    s_child_t children [S_NODES_MAX];
    int started = 0;
    bool ok = true;
    //  Node 0 first: the seed. Direct: node 0 is B (receiver), node 1 is A
    //  (sender). Group: node 0 says, the others hear.
    int sender = options->mode == S_DIRECT? 1: 0;
    ok = s_spawn (&children [0], options, 0, sender == 0, NULL, NULL);
    if (ok)
        started = 1;
    ok = ok && s_await (&children [0], "up", S_UP_MS);
    for (int i = 1; ok && i < options->nodes; i++) {
        ok = s_spawn (&children [i], options, i, sender == i,
                      children [0].endpoint, children [0].id);
        if (ok)
            started++;
        ok = ok && s_await (&children [i], "up", S_UP_MS);
    }
    for (int i = 0; ok && i < options->nodes; i++)
        ok = s_await (&children [i], "ready", S_READY_MS);
    if (!ok)
        fprintf (stderr, "rumor-tput: the nodes did not come up\n");
    //  Receivers first, so none misses the start
    for (int i = 0; ok && i < options->nodes; i++)
        if (i != sender)
            s_command (&children [i], "go\n");
    if (ok)
        s_command (&children [sender], "go\n");
    int bound = (int) (options->seconds * 1000) + 90000;
    for (int i = 0; ok && i < options->nodes; i++)
        ok = s_await (&children [i], "done", bound);
    if (ok)
        s_report (options, children, options->nodes, sender);
    else
        fprintf (stderr, "rumor-tput: a node failed during the run\n");
    s_reap (children, started);
    bool arrived = true;
    for (int i = 0; ok && i < options->nodes; i++)
        if (i != sender
        && (children [i].received == 0
        || (options->require_all
            && children [i].received != children [sender].sent_ok))) {
            fprintf (stderr, "rumor-tput: node %d received %ld of %ld\n", i,
                     children [i].received, children [sender].sent_ok);
            arrived = false;
        }
    return ok && arrived? 0: 1;
}

//  --------------------------------------------------------------------------
//  Options

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: rumor-tput direct|group [options]\n"
        "  direct             node A whispers to node B (2 processes)\n"
        "  group              node 0 says to NODES nodes hearing the topic\n"
        "  --nodes N          group size, the sayer included (default 8)\n"
        "  --size B           payload bytes (default 64)\n"
        "  --count N          messages to send at most (default 2000000)\n"
        "  --seconds S        sending time at most (default 5)\n"
        "  --idle MS          receiver done after MS ms of silence "
        "(default 2000)\n"
        "  --rate-limit N     max-events-per-sec of every node (default: "
        "the library's)\n"
        "  --queue N          max-queue of every node (default: the "
        "library's)\n"
        "  --profile P        0 lan (default), 1 local, 2 wan\n"
        "  --stats            every node prints its non-zero counters to "
        "stderr\n"
        "  --require-all      exit 1 unless every receiver got every "
        "message sent\n"
        "  --help             this text\n"
        "Exit status: 0 measured, 1 a node failed or nothing arrived, "
        "2 usage.\n");
}

static bool
s_number (const char *text, double min, double max, double *value)
{
    char *end = NULL;
    errno = 0;
    *value = strtod (text, &end);
    return !errno && end != text && !*end && *value >= min && *value <= max;
}

static int
s_parse (int argc, char *argv [], s_options_t *options)
{
    static const struct option longs [] = {
        { "nodes",      required_argument, NULL, 'n' },
        { "size",       required_argument, NULL, 'b' },
        { "count",      required_argument, NULL, 'c' },
        { "seconds",    required_argument, NULL, 's' },
        { "idle",       required_argument, NULL, 'i' },
        { "rate-limit", required_argument, NULL, 'r' },
        { "queue",      required_argument, NULL, 'q' },
        { "profile",    required_argument, NULL, 'p' },
        { "stats",      no_argument,       NULL, 'S' },
        { "require-all", no_argument,      NULL, 'A' },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    options->nodes = 8;
    options->size = 64;
    options->count = 2000000;
    options->seconds = 5;
    options->idle_ms = 2000;
    opterr = 0;
    int option;
    while ((option = getopt_long (argc, argv, "", longs, NULL)) != -1) {
        if (option == 'h') {
            s_usage (stdout);
            return 1;
        }
        //  Flags first: they have no value to parse
        if (option == 'S' || option == 'A') {
            if (option == 'S')
                options->all_stats = true;
            else
                options->require_all = true;
            continue;
        }
        double value = 0;
        bool good = option != '?' && s_number (optarg, 0, 1e12, &value);
        switch (good? option: 0) {
            case 'n': good = value >= 2 && value <= S_NODES_MAX;
                      options->nodes = (int) value; break;
            case 'b': good = value >= 1 && value <= 65536;
                      options->size = (size_t) value; break;
            case 'c': good = value >= 1; options->count = (long) value; break;
            case 's': good = value > 0 && value <= 3600;
                      options->seconds = value; break;
            case 'i': good = value >= 10 && value <= 60000;
                      options->idle_ms = (int) value; break;
            case 'r': good = value >= 1; options->rate_limit = (int64_t) value;
                      break;
            case 'q': good = value >= 1; options->queue = (int64_t) value;
                      break;
            case 'p': good = value <= 2; options->profile = (int) value; break;
            default: good = false;
        }
        if (!good) {
            fprintf (stderr, "rumor-tput: bad option or value: %s\n",
                     argv [optind - 1]);
            s_usage (stderr);
            return 2;
        }
    }
    if (optind != argc - 1
    || (strcmp (argv [optind], "direct") && strcmp (argv [optind], "group"))) {
        s_usage (stderr);
        return 2;
    }
    options->mode = streq (argv [optind], "direct")? S_DIRECT: S_GROUP;
    if (options->mode == S_DIRECT)
        options->nodes = 2;
    //  A cluster name of our own: parallel runs never hear each other
    snprintf (options->cluster, sizeof (options->cluster), "tput%ld",
              (long) getpid ());
    return 0;
}

int
main (int argc, char *argv [])
{
    s_options_t options;
    memset (&options, 0, sizeof (options));
    int rc = s_parse (argc, argv, &options);
    if (rc)
        return rc == 1? 0: rc;
    //  A child that dies must not kill us through a broken pipe
    signal (SIGPIPE, SIG_IGN);
    return s_run (&options);
}
