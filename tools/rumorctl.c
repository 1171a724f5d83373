/*  =========================================================================
    rumorctl - drive a running rumord over its control socket

    rumorctl [--control ENDPOINT | --name NAME] [--json] [--timeout MS]
             COMMAND [ARG...]

    The endpoint is --control, else $RUMOR_CONTROL, else the default of
    rumord for --name (default: the host name), ipc:///tmp/rumord-NAME.ctl.
    Exit codes: 0 ok, 1 the node said no, 2 usage, 3 cannot reach the agent.
    Human-readable output by default; --json prints one JSON object per
    line (one per event for streams).
    =========================================================================
*/

#include <czmq.h>
#include <signal.h>
#include <inttypes.h>
#include "control.pb-c.h"
#include "agent_common.h"
#include "agent_secret.h"

#define EXIT_OK         0
#define EXIT_NO         1
#define EXIT_USAGE      2
#define EXIT_UNREACHED  3

//  How long a command waits for the agent by default (ms): an agent on
//  this host answers in well under a millisecond; a second covers a busy
//  machine or valgrind.
#define CTL_TIMEOUT     2000
//  Extra wait beyond a query's own timeout for QUERY_DONE to arrive
#define CTL_QUERY_SLACK 2000

typedef struct {
    const char *name;               //  command word
    int min_args;                   //  positional arguments, at least
    int max_args;                   //  and at most
    const char *usage;              //  arguments
    const char *help;               //  one line: what it does
} s_command_t;

static s_command_t s_commands [] = {
    { "members", 0, 0, "", "list the members this node knows, itself included" },
    { "get",     2, 2, "MEMBER KEY", "print a key's value from a member's keyspace (MEMBER may be 'self')" },
    { "set",     2, 2, "KEY VALUE [--ttl MS]", "set one of this node's keys, optionally expiring" },
    { "del",     1, 1, "KEY", "delete one of this node's keys everywhere" },
    { "keys",    0, 2, "[MEMBER] | list | install FILE | use FILE | remove FILE [--local]",
      "list the live keys of a member (default: this node); or, with a cluster "
      "secret, list every member's key fingerprints, or install, use (make "
      "primary) or remove a secret read from FILE (mode 600; - = stdin) on "
      "every member (--local: on this node only; the secret stays on this "
      "host). A member named list, install, use or remove: give its id" },
    { "say",     1, 2, "TOPIC [PAYLOAD]", "broadcast an event on a topic to every node that hears it" },
    { "listen",  0, 1, "[PATTERN] [--count N] [--respond TEXT]", "print events (member, key, heard, direct, queries) until interrupted; --respond answers queries" },
    { "whisper", 3, 3, "MEMBER TOPIC PAYLOAD", "send a direct message to one member" },
    { "query",   1, 2, "TOPIC [PAYLOAD]", "ask every node that hears TOPIC; print responses as they arrive" },
    { "join",    1, 1, "tcp://HOST:PORT", "join the cluster through an endpoint now" },
    { "leave",   0, 0, "", "leave the cluster gracefully and stop the agent" },
    { "stats",   0, 0, "", "print every counter of the node and the agent" },
    { "why",     0, 0, "", "explain why this node sees no peers (beacon, seeds, refusals)" },
    { "tags",    0, 64, "[KEY=VALUE...]", "print this node's tags, setting the given ones first (KEY= removes)" },
    { "info",    0, 0, "", "print this node's id, name, endpoint, cluster and version" },
    { NULL, 0, 0, NULL, NULL }
};

static volatile sig_atomic_t s_interrupted = 0;

typedef struct {
    zsock_t *socket;                //  DEALER to the agent
    const char *endpoint;           //  where it is
    bool json;                      //  JSON output
    int timeout;                    //  ms to wait for an answer
    bool timeout_set;               //  --timeout was given
    int64_t ttl;                    //  set --ttl
    int count;                      //  listen --count, 0 = unbounded
    const char *respond;            //  listen --respond: answer queries
    uint64_t next_id;               //  next request id
    bool local;                     //  keys --local: this node only
} s_ctl_t;


//  --------------------------------------------------------------------------
//  Output helpers

//  SIGINT/SIGTERM end a stream or a wait cleanly
static void
s_on_signal (int signum)
{
    (void) signum;
    s_interrupted = 1;
}

//  Prints the usage and every command in one line each
static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: rumorctl [--control ENDPOINT | --name NAME] [--json] [--timeout MS]\n"
"                COMMAND [ARG...]\n"
"Drive a running rumord agent. Commands:\n");
    for (s_command_t *command = s_commands; command->name; command++)
        fprintf (out, "  %s%s%s\n      %s\n", command->name,
                 *command->usage? " ": "", command->usage, command->help);
    fprintf (out,
"--timeout MS: how long to wait for the agent (default 2000); for listen,\n"
"how long to stream; for query, the query's own timeout (default 5000).\n"
"--json: one JSON object per line. Options may appear anywhere.\n"
"keys install|use|remove FILE: FILE holds a cluster secret (mode 600, as\n"
"rumord's --secret-file; - = stdin); it goes to every member unless --local.\n"
"Endpoint: --control, else $RUMOR_CONTROL, else ipc:///tmp/rumord-NAME.ctl\n"
"for --name NAME (default: the host name, as rumord).\n"
"Exit codes: 0 ok, 1 the node said no, 2 usage, 3 cannot reach the agent.\n"
"'rumorctl COMMAND --help' describes one command.\n");
}

//  Whether size bytes are valid UTF-8 with no NUL
static bool
s_is_utf8 (const uint8_t *data, size_t size)
{
    size_t index = 0;
    while (index < size) {
        uint8_t byte = data [index];
        size_t extra = byte < 0x80? 0: (byte >> 5) == 6? 1: (byte >> 4) == 14? 2:
                       (byte >> 3) == 30? 3: 9;
        if (byte == 0 || extra == 9 || index + extra >= size + (extra? 0: 1))
            return false;
        for (size_t next = 1; next <= extra; next++)
            if ((data [index + next] & 0xC0) != 0x80)
                return false;
        index += extra + 1;
    }
    return true;
}

//  Prints a JSON string of size bytes (assumed UTF-8)
static void
s_json_string (const char *data, size_t size)
{
    putchar ('"');
    for (size_t index = 0; index < size; index++) {
        unsigned char c = (unsigned char) data [index];
        if (c == '"' || c == '\\')
            printf ("\\%c", c);
        else
        if (c == '\n')
            printf ("\\n");
        else
        if (c == '\t')
            printf ("\\t");
        else
        if (c < 0x20 || c == 0x7F)
            printf ("\\u%04x", c);
        else
            putchar (c);
    }
    putchar ('"');
}

static void
s_json_text (const char *text)
{
    s_json_string (text? text: "", text? strlen (text): 0);
}

//  Prints "name": value for bytes: a string if UTF-8, else "name_hex"
static void
s_json_bytes (const char *name, ProtobufCBinaryData *data)
{
    if (s_is_utf8 (data->data, data->len)) {
        printf ("\"%s\":", name);
        s_json_string ((const char *) data->data, data->len);
    }
    else {
        printf ("\"%s_hex\":\"", name);
        for (size_t index = 0; index < data->len; index++)
            printf ("%02x", data->data [index]);
        putchar ('"');
    }
}

//  Prints bytes for humans: raw if printable UTF-8, else hex
static void
s_human_bytes (ProtobufCBinaryData *data)
{
    if (s_is_utf8 (data->data, data->len))
        fwrite (data->data, 1, data->len, stdout);
    else {
        printf ("0x");
        for (size_t index = 0; index < data->len; index++)
            printf ("%02x", data->data [index]);
    }
}

//  Name of a member state
static const char *
s_state_name (Rumorctl__State state)
{
    static const char *names [] = { "invalid", "alive", "suspect", "failed", "left" };
    return state >= 0 && state <= 4? names [state]: "invalid";
}

//  Name of an event type
static const char *
s_event_name (Rumorctl__EventType type)
{
    static const char *names [] = {
        "INVALID", "JOINED", "ALIVE", "SUSPECT", "FAILED", "LEFT", "UPDATED",
        "KEY_SET", "KEY_DELETED", "KEY_EXPIRED", "HEARD", "DIRECT", "QUERY",
        "RESPONSE", "QUERY_DONE"
    };
    return type >= 0 && type <= 14? names [type]: "INVALID";
}


//  --------------------------------------------------------------------------
//  Talking to the agent

//  Sends a request; returns its id
static uint64_t
s_send (s_ctl_t *self, Rumorctl__Request *request)
{
    request->id = self->next_id++;
    size_t size = rumorctl__request__get_packed_size (request);
    zframe_t *frame = zframe_new (NULL, size);
    rumorctl__request__pack (request, zframe_data (frame));
    zframe_send (&frame, self->socket, ZFRAME_DONTWAIT);
    return request->id;
}

//  Waits for the reply to id until deadline (monotonic ms). Returns the
//  reply (caller frees) or NULL on timeout or interrupt.
static Rumorctl__Reply *
s_recv (s_ctl_t *self, uint64_t id, int64_t deadline)
{
    while (!s_interrupted) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            return NULL;
        zmq_pollitem_t item = { zsock_resolve (self->socket), 0, ZMQ_POLLIN, 0 };
        //  Short slices: Ctrl-C is noticed promptly
        int rc = zmq_poll (&item, 1, left < 100? left: 100);
        if (rc <= 0)
            continue;
        zframe_t *frame = zframe_recv (self->socket);
        if (!frame)
            continue;
        Rumorctl__Reply *reply = rumorctl__reply__unpack (
            NULL, zframe_size (frame), zframe_data (frame));
        zframe_destroy (&frame);
        if (reply && reply->id == id)
            return reply;
        if (reply)
            rumorctl__reply__free_unpacked (reply, NULL);
    }
    return NULL;
}

//  One request, one reply. Returns the reply or NULL after printing why
//  (*exit_code set).
static Rumorctl__Reply *
s_call (s_ctl_t *self, Rumorctl__Request *request, int *exit_code)
{
    uint64_t id = s_send (self, request);
    Rumorctl__Reply *reply = s_recv (self, id, zclock_mono () + self->timeout);
    if (!reply) {
        fprintf (stderr, "rumorctl: no answer from agent at %s within %d ms\n",
                 self->endpoint, self->timeout);
        *exit_code = EXIT_UNREACHED;
        return NULL;
    }
    if (reply->status != RUMORCTL__STATUS__STATUS_OK) {
        if (self->json) {
            printf ("{\"ok\":false,\"status\":%d,\"error\":", reply->status);
            s_json_text (reply->error);
            printf ("}\n");
        }
        else
            fprintf (stderr, "rumorctl: %s\n", reply->error);
        rumorctl__reply__free_unpacked (reply, NULL);
        *exit_code = EXIT_NO;
        return NULL;
    }
    return reply;
}


//  --------------------------------------------------------------------------
//  Printing replies

//  Prints the member table, one member per line
static void
s_print_members (s_ctl_t *self, Rumorctl__MemberList *list)
{
    for (size_t index = 0; index < list->n_members; index++) {
        Rumorctl__Member *member = list->members [index];
        if (self->json) {
            printf ("{\"id\":\"%s\",\"name\":", member->id);
            s_json_text (member->name);
            printf (",\"endpoint\":");
            s_json_text (member->endpoint);
            printf (",\"state\":\"%s\",\"incarnation\":%u,\"generation\":%" PRIu64
                    ",\"phi\":%.3f,\"rtt_ms\":%d,\"self\":%s,\"tags\":{",
                    s_state_name (member->state), member->incarnation,
                    member->generation, member->phi, member->rtt_ms,
                    member->self? "true": "false");
            for (size_t tag = 0; tag < member->n_tags; tag++) {
                printf (tag? ",": "");
                s_json_text (member->tags [tag]->key);
                putchar (':');
                s_json_text (member->tags [tag]->value);
            }
            printf ("}}\n");
        }
        else {
            printf ("%-20s %-8s %-24s %s%s", member->name,
                    s_state_name (member->state), member->endpoint, member->id,
                    member->self? " (self)": "");
            for (size_t tag = 0; tag < member->n_tags; tag++)
                printf (" %s=%s", member->tags [tag]->key, member->tags [tag]->value);
            putchar ('\n');
        }
    }
}

//  Prints one streamed event (one JSON object per line)
static void
s_print_event (s_ctl_t *self, Rumorctl__Event *event)
{
    if (self->json) {
        printf ("{\"event\":\"%s\",\"member\":\"%s\",\"name\":",
                s_event_name (event->type), event->member);
        s_json_text (event->name);
        printf (",\"endpoint\":");
        s_json_text (event->endpoint);
        printf (",\"topic\":");
        s_json_text (event->topic);
        putchar (',');
        s_json_bytes ("data", &event->data);
        printf (",\"query_id\":%" PRId64 ",\"complete\":%s,\"evidence\":",
                event->query_id, event->complete? "true": "false");
        s_json_text (event->evidence);
        printf (",\"at_us\":%" PRId64 "}\n", event->at_us);
    }
    else {
        const char *who = *event->name? event->name: event->member;
        switch (event->type) {
            case RUMORCTL__EVENT_TYPE__EVENT_HEARD:
            case RUMORCTL__EVENT_TYPE__EVENT_DIRECT:
            case RUMORCTL__EVENT_TYPE__EVENT_QUERY:
            case RUMORCTL__EVENT_TYPE__EVENT_RESPONSE:
                printf ("%s%s%s from %s: ", s_event_name (event->type),
                        *event->topic? " ": "", event->topic, who);
                s_human_bytes (&event->data);
                if (event->type == RUMORCTL__EVENT_TYPE__EVENT_QUERY)
                    printf (" (query %" PRId64 ")", event->query_id);
                break;
            case RUMORCTL__EVENT_TYPE__EVENT_KEY_SET:
                printf ("KEY_SET %s %s = ", who, event->topic);
                s_human_bytes (&event->data);
                break;
            case RUMORCTL__EVENT_TYPE__EVENT_KEY_DELETED:
            case RUMORCTL__EVENT_TYPE__EVENT_KEY_EXPIRED:
                printf ("%s %s %s", s_event_name (event->type), who, event->topic);
                break;
            case RUMORCTL__EVENT_TYPE__EVENT_QUERY_DONE:
                printf ("QUERY_DONE %s", event->complete? "complete": "timeout");
                break;
            default:
                printf ("%s %s %s %s", s_event_name (event->type), who,
                        event->member, event->endpoint);
                if (*event->evidence)
                    printf (" (%s)", event->evidence);
                break;
        }
        putchar ('\n');
    }
    fflush (stdout);
}

//  Prints a success marker in JSON mode; silent otherwise
static void
s_print_ok (s_ctl_t *self)
{
    if (self->json)
        printf ("{\"ok\":true}\n");
}

//  Prints a successful reply of a plain command
static void
s_print_reply (s_ctl_t *self, Rumorctl__Reply *reply)
{
    switch (reply->result_case) {
        case RUMORCTL__REPLY__RESULT_MEMBERS:
            s_print_members (self, reply->members);
            break;
        case RUMORCTL__REPLY__RESULT_VALUE:
            if (self->json) {
                putchar ('{');
                s_json_bytes ("value", &reply->value->value);
                printf ("}\n");
            }
            else {
                fwrite (reply->value->value.data, 1, reply->value->value.len, stdout);
                putchar ('\n');
            }
            break;
        case RUMORCTL__REPLY__RESULT_KEYS:
            if (self->json) {
                printf ("{\"keys\":[");
                for (size_t index = 0; index < reply->keys->n_keys; index++) {
                    printf (index? ",": "");
                    s_json_text (reply->keys->keys [index]);
                }
                printf ("]}\n");
            }
            else
                for (size_t index = 0; index < reply->keys->n_keys; index++)
                    printf ("%s\n", reply->keys->keys [index]);
            break;
        case RUMORCTL__REPLY__RESULT_STATS:
            if (self->json)
                printf ("{");
            for (size_t index = 0; index < reply->stats->n_counters; index++) {
                Rumorctl__Counter *counter = reply->stats->counters [index];
                if (self->json) {
                    printf (index? ",": "");
                    s_json_text (counter->name);
                    printf (":%" PRIu64, counter->value);
                }
                else
                    printf ("%s %" PRIu64 "\n", counter->name, counter->value);
            }
            if (self->json)
                printf ("}\n");
            break;
        case RUMORCTL__REPLY__RESULT_WHY:
            if (self->json) {
                printf ("{\"why\":");
                s_json_text (reply->why);
                printf ("}\n");
            }
            else {
                size_t length = strlen (reply->why);
                printf ("%s%s", reply->why,
                        length && reply->why [length - 1] == '\n'? "": "\n");
            }
            break;
        case RUMORCTL__REPLY__RESULT_TAGS:
            if (self->json)
                printf ("{");
            for (size_t index = 0; index < reply->tags->n_tags; index++) {
                Rumorctl__Tag *tag = reply->tags->tags [index];
                if (self->json) {
                    printf (index? ",": "");
                    s_json_text (tag->key);
                    putchar (':');
                    s_json_text (tag->value);
                }
                else
                    printf ("%s=%s\n", tag->key, tag->value);
            }
            if (self->json)
                printf ("}\n");
            break;
        case RUMORCTL__REPLY__RESULT_INFO:
            if (self->json) {
                printf ("{\"id\":\"%s\",\"name\":", reply->info->id);
                s_json_text (reply->info->name);
                printf (",\"endpoint\":");
                s_json_text (reply->info->endpoint);
                printf (",\"cluster\":");
                s_json_text (reply->info->cluster);
                printf (",\"version\":");
                s_json_text (reply->info->version);
                printf (",\"fingerprint\":");
                s_json_text (reply->info->fingerprint);
                printf ("}\n");
            }
            else {
                printf ("id %s\nname %s\nendpoint %s\ncluster %s\nversion %s\n",
                        reply->info->id, reply->info->name, reply->info->endpoint,
                        reply->info->cluster, reply->info->version);
                if (*reply->info->fingerprint)
                    printf ("fingerprint %s\n", reply->info->fingerprint);
            }
            break;
        default:
            s_print_ok (self);
            break;
    }
}


//  --------------------------------------------------------------------------
//  Streams

//  Answers a QUERY event with --respond's payload (the reply is not
//  awaited: the stream goes on)
static void
s_respond (s_ctl_t *self, Rumorctl__Event *event)
{
    Rumorctl__Respond respond = RUMORCTL__RESPOND__INIT;
    respond.member = event->member;
    respond.query_id = event->query_id;
    respond.payload.data = (uint8_t *) self->respond;
    respond.payload.len = strlen (self->respond);
    Rumorctl__Request request = RUMORCTL__REQUEST__INIT;
    request.command_case = RUMORCTL__REQUEST__COMMAND_RESPOND;
    request.respond = &respond;
    s_send (self, &request);
}

//  Follows a stream of events for request id until done, count, timeout
//  (deadline, monotonic ms; -1 none) or interrupt. Returns an exit code.
static int
s_stream (s_ctl_t *self, uint64_t id, int64_t deadline, bool until_done)
{
    int seen = 0;
    while (!s_interrupted) {
        int64_t until = deadline >= 0? deadline: zclock_mono () + 3600 * 1000;
        Rumorctl__Reply *reply = s_recv (self, id, until);
        if (!reply)
            return until_done && !s_interrupted? EXIT_UNREACHED: EXIT_OK;
        bool done = false;
        if (reply->result_case == RUMORCTL__REPLY__RESULT_EVENT) {
            s_print_event (self, reply->event);
            if (self->respond
            &&  reply->event->type == RUMORCTL__EVENT_TYPE__EVENT_QUERY)
                s_respond (self, reply->event);
            seen++;
            done = (until_done && reply->event->type
                    == RUMORCTL__EVENT_TYPE__EVENT_QUERY_DONE)
                || (self->count && seen >= self->count);
        }
        rumorctl__reply__free_unpacked (reply, NULL);
        if (done)
            return EXIT_OK;
    }
    return EXIT_OK;
}

//  listen: stream events until --count, --timeout or Ctrl-C
static int
s_do_listen (s_ctl_t *self, int argc, char **argv)
{
    Rumorctl__Listen listen = RUMORCTL__LISTEN__INIT;
    listen.pattern = argc > 0? argv [0]: (char *) "";
    listen.members = true;
    listen.keys = true;
    listen.direct = true;
    listen.queries = argc > 0;
    Rumorctl__Request request = RUMORCTL__REQUEST__INIT;
    request.command_case = RUMORCTL__REQUEST__COMMAND_LISTEN;
    request.listen = &listen;
    int code = EXIT_OK;
    Rumorctl__Reply *reply = s_call (self, &request, &code);
    if (!reply)
        return code;
    uint64_t id = reply->id;
    rumorctl__reply__free_unpacked (reply, NULL);
    int64_t deadline = self->timeout_set? zclock_mono () + self->timeout: -1;
    code = s_stream (self, id, deadline, false);
    //  Polite: stop the stream now (the agent would also notice we left)
    Rumorctl__Unlisten unlisten = RUMORCTL__UNLISTEN__INIT;
    unlisten.listen_id = id;
    request.command_case = RUMORCTL__REQUEST__COMMAND_UNLISTEN;
    request.unlisten = &unlisten;
    s_send (self, &request);
    return code;
}

//  query: print responses as they arrive, then QUERY_DONE
static int
s_do_query (s_ctl_t *self, int argc, char **argv)
{
    Rumorctl__Query query = RUMORCTL__QUERY__INIT;
    query.topic = argv [0];
    if (argc > 1) {
        query.payload.data = (uint8_t *) argv [1];
        query.payload.len = strlen (argv [1]);
    }
    int wait = self->timeout_set? self->timeout: 5000;
    query.timeout_ms = (uint64_t) wait;
    Rumorctl__Request request = RUMORCTL__REQUEST__INIT;
    request.command_case = RUMORCTL__REQUEST__COMMAND_QUERY;
    request.query = &query;
    //  The start is acknowledged at once; only the stream takes the timeout
    int saved = self->timeout;
    self->timeout = CTL_TIMEOUT;
    int code = EXIT_OK;
    Rumorctl__Reply *reply = s_call (self, &request, &code);
    self->timeout = saved;
    if (!reply)
        return code;
    uint64_t id = reply->id;
    rumorctl__reply__free_unpacked (reply, NULL);
    return s_stream (self, id, zclock_mono () + wait + CTL_QUERY_SLACK, true);
}


//  --------------------------------------------------------------------------
//  Keyring: the cluster's secrets (keys list | install FILE | use FILE |
//  remove FILE)

//  qsort order of answers: by name, then id
static int
s_answer_compare (const void *one, const void *two)
{
    const Rumorctl__KeyringAnswer *a = *(const Rumorctl__KeyringAnswer * const *) one;
    const Rumorctl__KeyringAnswer *b = *(const Rumorctl__KeyringAnswer * const *) two;
    int order = strcmp (a->name, b->name);
    return order? order: strcmp (a->member, b->member);
}

//  Prints one member's answer
static void
s_print_answer (s_ctl_t *self, Rumorctl__KeyringAnswer *answer)
{
    if (self->json) {
        printf ("{\"member\":");
        s_json_text (answer->member);
        printf (",\"name\":");
        s_json_text (answer->name);
        printf (",\"ok\":%s", answer->ok? "true": "false");
        if (answer->ok) {
            printf (",\"fingerprints\":[");
            for (size_t index = 0; index < answer->n_fingerprints; index++) {
                printf (index? ",": "");
                s_json_text (answer->fingerprints [index]);
            }
            printf ("]}\n");
        }
        else {
            printf (",\"error\":");
            s_json_text (answer->error);
            printf ("}\n");
        }
        return;
    }
    printf ("%-20s %-5s", *answer->name? answer->name: answer->member,
            answer->ok? "ok": "error");
    if (answer->ok)
        for (size_t index = 0; index < answer->n_fingerprints; index++)
            printf (" %s%s", answer->fingerprints [index],
                    index == 0? " (primary)": "");
    else
        printf (" %s", answer->error);
    putchar ('\n');
}

//  Prints every answer and the summary; returns the exit code: 0 only if
//  every live member answered and applied the operation
static int
s_print_keyring (s_ctl_t *self, const char *op, Rumorctl__KeyringResult *result,
                 int timeout)
{
    qsort (result->answers, result->n_answers, sizeof (void *), s_answer_compare);
    for (size_t index = 0; index < result->n_answers; index++)
        s_print_answer (self, result->answers [index]);
    uint32_t total = result->live > result->answered? result->live: result->answered;
    bool all_ok = result->complete && total > 0 && result->ok == total;
    if (self->json) {
        printf ("{\"summary\":\"%s\",\"ok\":%u,\"total\":%u,\"answered\":%u,"
                "\"live\":%u,\"complete\":%s,\"missing\":[", op, result->ok,
                total, result->answered, result->live,
                result->complete? "true": "false");
        for (size_t index = 0; index < result->n_missing; index++) {
            printf (index? ",": "");
            s_json_text (result->missing [index]);
        }
        printf ("]}\n");
    }
    else {
        printf ("%u/%u nodes ok", result->ok, total);
        if (!result->complete)
            printf (" (not every live member answered within %d ms)", timeout);
        if (result->n_answers < result->answered)
            printf (" (%zu answers shown)", result->n_answers);
        putchar ('\n');
        //  "NAME STATE" each: a failed member is not counted, yet it
        //  missed the operation
        for (size_t index = 0; index < result->n_missing; index++)
            printf ("did not answer: %s\n", result->missing [index]);
    }
    return all_ok? EXIT_OK: EXIT_NO;
}

//  keys list | install FILE | use FILE | remove FILE: one request that the
//  agent answers once every member did (or at the timeout)
static int
s_do_keyring (s_ctl_t *self, int argc, char **argv)
{
    const char *op_name = argv [0];
    Rumorctl__Keyring keyring = RUMORCTL__KEYRING__INIT;
    keyring.op = streq (op_name, "install")? RUMORCTL__KEYRING_OP__KEYRING_INSTALL:
                 streq (op_name, "use")? RUMORCTL__KEYRING_OP__KEYRING_USE:
                 streq (op_name, "remove")? RUMORCTL__KEYRING_OP__KEYRING_REMOVE:
                 RUMORCTL__KEYRING_OP__KEYRING_LIST;
    bool list = keyring.op == RUMORCTL__KEYRING_OP__KEYRING_LIST;
    if (argc != (list? 1: 2)) {
        fprintf (stderr, "rumorctl: usage: rumorctl keys %s\n",
                 list? "list": streq (op_name, "install")? "install FILE":
                 streq (op_name, "use")? "use FILE": "remove FILE");
        return EXIT_USAGE;
    }
    char *secret = NULL;
    if (!list) {
        char error [1024];
        secret = agent_secret_read (argv [1], error, sizeof (error));
        if (!secret) {
            fprintf (stderr, "rumorctl: %s\n", error);
            return EXIT_USAGE;
        }
        keyring.secret.data = (uint8_t *) secret;
        keyring.secret.len = strlen (secret);
    }
    int wait = self->timeout_set? self->timeout: 5000;
    keyring.timeout_ms = (uint64_t) wait;
    keyring.local = self->local;
    Rumorctl__Request request = RUMORCTL__REQUEST__INIT;
    request.command_case = RUMORCTL__REQUEST__COMMAND_KEYRING;
    request.keyring = &keyring;
    //  The agent replies once the operation is over: its timeout and more
    int saved = self->timeout;
    self->timeout = wait + CTL_QUERY_SLACK;
    int code = EXIT_OK;
    Rumorctl__Reply *reply = s_call (self, &request, &code);
    self->timeout = saved;
    agent_secret_free (&secret);
    if (!reply)
        return code;
    if (reply->result_case == RUMORCTL__REPLY__RESULT_KEYRING)
        code = s_print_keyring (self, op_name, reply->keyring, wait);
    else {
        fprintf (stderr, "rumorctl: keys %s: unexpected reply\n", op_name);
        code = EXIT_NO;
    }
    rumorctl__reply__free_unpacked (reply, NULL);
    return code;
}

//  Whether word names a keyring operation of the keys command
static bool
s_keyring_word (const char *word)
{
    return streq (word, "list") || streq (word, "install")
        || streq (word, "use") || streq (word, "remove");
}


//  --------------------------------------------------------------------------
//  Commands

//  Points data at text (no copy)
static void
s_bytes (ProtobufCBinaryData *data, const char *text)
{
    data->data = (uint8_t *) text;
    data->len = strlen (text);
}

//  Runs a one-shot command. Returns an exit code.
static int
s_run (s_ctl_t *self, const char *name, int argc, char **argv)
{
    if (streq (name, "listen"))
        return s_do_listen (self, argc, argv);
    if (streq (name, "query"))
        return s_do_query (self, argc, argv);
    if (streq (name, "keys") && argc > 0 && s_keyring_word (argv [0]))
        return s_do_keyring (self, argc, argv);
    if (self->local) {
        fprintf (stderr, "rumorctl: --local applies to keys list, install, "
                 "use and remove only\n");
        return EXIT_USAGE;
    }
    if (streq (name, "keys") && argc > 1) {
        fprintf (stderr, "rumorctl: keys: '%s' is not list, install, use or "
                 "remove\n", argv [0]);
        return EXIT_USAGE;
    }

    Rumorctl__Request request = RUMORCTL__REQUEST__INIT;
    Rumorctl__Members members = RUMORCTL__MEMBERS__INIT;
    Rumorctl__Get get = RUMORCTL__GET__INIT;
    Rumorctl__Set set = RUMORCTL__SET__INIT;
    Rumorctl__Delete delete = RUMORCTL__DELETE__INIT;
    Rumorctl__Keys keys = RUMORCTL__KEYS__INIT;
    Rumorctl__Say say = RUMORCTL__SAY__INIT;
    Rumorctl__Whisper whisper = RUMORCTL__WHISPER__INIT;
    Rumorctl__Join join = RUMORCTL__JOIN__INIT;
    Rumorctl__Leave leave = RUMORCTL__LEAVE__INIT;
    Rumorctl__Stats stats = RUMORCTL__STATS__INIT;
    Rumorctl__Why why = RUMORCTL__WHY__INIT;
    Rumorctl__Tags tags = RUMORCTL__TAGS__INIT;
    Rumorctl__Info info = RUMORCTL__INFO__INIT;
    Rumorctl__Tag tag_items [64];
    Rumorctl__Tag *tag_pointers [64];

    if (streq (name, "members")) {
        request.command_case = RUMORCTL__REQUEST__COMMAND_MEMBERS;
        request.members = &members;
    }
    else
    if (streq (name, "get")) {
        get.member = argv [0];
        get.key = argv [1];
        request.command_case = RUMORCTL__REQUEST__COMMAND_GET;
        request.get = &get;
    }
    else
    if (streq (name, "set")) {
        set.key = argv [0];
        s_bytes (&set.value, argv [1]);
        set.ttl_ms = (uint64_t) self->ttl;
        request.command_case = RUMORCTL__REQUEST__COMMAND_SET;
        request.set = &set;
    }
    else
    if (streq (name, "del")) {
        delete.key = argv [0];
        request.command_case = RUMORCTL__REQUEST__COMMAND_DELETE;
        request.delete_ = &delete;
    }
    else
    if (streq (name, "keys")) {
        keys.member = argc > 0? argv [0]: (char *) "";
        request.command_case = RUMORCTL__REQUEST__COMMAND_KEYS;
        request.keys = &keys;
    }
    else
    if (streq (name, "say")) {
        say.topic = argv [0];
        s_bytes (&say.payload, argc > 1? argv [1]: "");
        request.command_case = RUMORCTL__REQUEST__COMMAND_SAY;
        request.say = &say;
    }
    else
    if (streq (name, "whisper")) {
        whisper.member = argv [0];
        whisper.topic = argv [1];
        s_bytes (&whisper.payload, argv [2]);
        request.command_case = RUMORCTL__REQUEST__COMMAND_WHISPER;
        request.whisper = &whisper;
    }
    else
    if (streq (name, "join")) {
        join.endpoint = argv [0];
        request.command_case = RUMORCTL__REQUEST__COMMAND_JOIN;
        request.join = &join;
    }
    else
    if (streq (name, "leave")) {
        request.command_case = RUMORCTL__REQUEST__COMMAND_LEAVE;
        request.leave = &leave;
    }
    else
    if (streq (name, "stats")) {
        request.command_case = RUMORCTL__REQUEST__COMMAND_STATS;
        request.stats = &stats;
    }
    else
    if (streq (name, "why")) {
        request.command_case = RUMORCTL__REQUEST__COMMAND_WHY;
        request.why = &why;
    }
    else
    if (streq (name, "info")) {
        request.command_case = RUMORCTL__REQUEST__COMMAND_INFO;
        request.info = &info;
    }
    else
    if (streq (name, "tags")) {
        for (int index = 0; index < argc; index++) {
            char *equals = strchr (argv [index], '=');
            if (!equals || equals == argv [index]) {
                fprintf (stderr, "rumorctl: tags: expected KEY=VALUE, got '%s'\n",
                         argv [index]);
                return EXIT_USAGE;
            }
            *equals = 0;
            rumorctl__tag__init (&tag_items [index]);
            tag_items [index].key = argv [index];
            tag_items [index].value = equals + 1;
            tag_pointers [index] = &tag_items [index];
        }
        tags.n_set = (size_t) argc;
        tags.set = tag_pointers;
        request.command_case = RUMORCTL__REQUEST__COMMAND_TAGS;
        request.tags = &tags;
    }
    int code = EXIT_OK;
    Rumorctl__Reply *reply = s_call (self, &request, &code);
    if (!reply)
        return code;
    s_print_reply (self, reply);
    rumorctl__reply__free_unpacked (reply, NULL);
    return EXIT_OK;
}

//  Parses a whole number in [low, high] or returns false
static bool
s_number (const char *text, long long low, long long high, long long *result)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    if (errno || *end || value < low || value > high)
        return false;
    *result = value;
    return true;
}

//  Parses options anywhere on the line; collects positional arguments.
//  Returns -1 to go on, or an exit code.
static int
s_parse (s_ctl_t *self, int argc, char **argv, const char **endpoint,
         const char **name, char **positional, int *count, bool *help)
{
    for (int index = 1; index < argc; index++) {
        char *arg = argv [index];
        bool takes = streq (arg, "--control") || streq (arg, "--name")
                  || streq (arg, "--timeout") || streq (arg, "--ttl")
                  || streq (arg, "--count") || streq (arg, "--respond");
        if (takes && index + 1 >= argc) {
            fprintf (stderr, "rumorctl: %s needs a value (see rumorctl --help)\n", arg);
            return EXIT_USAGE;
        }
        long long number = 0;
        if (streq (arg, "--control"))
            *endpoint = argv [++index];
        else
        if (streq (arg, "--name"))
            *name = argv [++index];
        else
        if (streq (arg, "--respond"))
            self->respond = argv [++index];
        else
        if (streq (arg, "--json"))
            self->json = true;
        else
        if (streq (arg, "--local"))
            self->local = true;
        else
        if (streq (arg, "--help") || streq (arg, "-h"))
            *help = true;
        else
        if (streq (arg, "--timeout") || streq (arg, "--ttl") || streq (arg, "--count")) {
            if (!s_number (argv [++index], streq (arg, "--ttl")? 0: 1,
                           30LL * 24 * 3600 * 1000, &number)) {
                fprintf (stderr, "rumorctl: %s: bad number '%s'\n", arg, argv [index]);
                return EXIT_USAGE;
            }
            if (streq (arg, "--timeout")) {
                self->timeout = (int) (number > INT32_MAX? INT32_MAX: number);
                self->timeout_set = true;
            }
            else
            if (streq (arg, "--ttl"))
                self->ttl = number;
            else
                self->count = (int) (number > INT32_MAX? INT32_MAX: number);
        }
        else
        if (strncmp (arg, "--", 2) == 0 && arg [2]) {
            fprintf (stderr, "rumorctl: unknown option '%s' (see rumorctl --help)\n", arg);
            return EXIT_USAGE;
        }
        else
            positional [(*count)++] = arg;
    }
    return -1;
}

int
main (int argc, char **argv)
{
    zsys_handler_set (NULL);
    struct sigaction action;
    memset (&action, 0, sizeof (action));
    action.sa_handler = s_on_signal;
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
    signal (SIGPIPE, SIG_IGN);

    s_ctl_t ctl = { NULL, NULL, false, CTL_TIMEOUT, false, 0, 0, NULL, 1, false };
    const char *endpoint = NULL;
    const char *name = NULL;
    char **positional = (char **) calloc ((size_t) argc + 1, sizeof (char *));
    assert (positional);
    int count = 0;
    bool help = false;
    int code = s_parse (&ctl, argc, argv, &endpoint, &name, positional,
                        &count, &help);
    s_command_t *command = NULL;
    if (code == -1 && count > 0) {
        for (command = s_commands; command->name; command++)
            if (streq (command->name, positional [0]))
                break;
        if (!command->name) {
            fprintf (stderr, "rumorctl: unknown command '%s' (see rumorctl --help)\n",
                     positional [0]);
            code = EXIT_USAGE;
        }
    }
    if (code == -1 && help) {
        if (command)
            printf ("rumorctl %s%s%s\n  %s\n", command->name,
                    *command->usage? " ": "", command->usage, command->help);
        else
            s_usage (stdout);
        code = EXIT_OK;
    }
    else
    if (code == -1 && !command) {
        s_usage (stderr);
        code = EXIT_USAGE;
    }
    else
    if (code == -1 && (count - 1 < command->min_args || count - 1 > command->max_args)) {
        fprintf (stderr, "rumorctl: usage: rumorctl %s %s\n", command->name,
                 command->usage);
        code = EXIT_USAGE;
    }
    if (code != -1) {
        free (positional);
        return code;
    }
    char buffer [512];
    if (!endpoint)
        endpoint = getenv ("RUMOR_CONTROL");
    if (!endpoint || !*endpoint) {
        char host [256];
        if (!name) {
            agent_default_name (host, sizeof (host));
            name = host;
        }
        agent_default_control (name, buffer, sizeof (buffer));
        endpoint = buffer;
    }
    ctl.endpoint = endpoint;
    ctl.socket = zsock_new (ZMQ_DEALER);
    assert (ctl.socket);
    zsock_set_linger (ctl.socket, 0);
    zsock_set_maxmsgsize (ctl.socket, AGENT_FRAME_MAX * 4);
    if (zsock_connect (ctl.socket, "%s", endpoint) == -1) {
        fprintf (stderr, "rumorctl: --control %s: bad endpoint\n", endpoint);
        code = EXIT_USAGE;
    }
    else
        code = s_run (&ctl, command->name, count - 1, positional + 1);
    fflush (stdout);
    zsock_destroy (&ctl.socket);
    free (positional);
    return code;
}
