/*  =========================================================================
    rumor-chat - the gossip chat demo

    rumor-chat NICK [--cluster NAME] [--beacon loopback|lan|off]
               [--interface IFACE] [--beacon-port N] [--seed tcp://HOST:PORT]
               [--port N]

    Instances find each other with no configuration (loopback beacon on one
    host, the default; zbeacon on a LAN with --beacon lan). Lines read on
    stdin are said to everyone on topic "chat.say"; /who, /msg NICK text,
    /quit and /help are commands. Joins, leaves and failures are notices
    ("*** bob joined"). stdin may be a pipe: every output line is flushed.

    Nicks: the node id is derived from the node name, and a node with the
    same name would replace the other as a "restart". So the node name is
    NICK~XXXX with a random suffix, and the nick is what comes before the
    last '~'. Two members with the same nick are shown by full name
    (alice~1a2b) and /msg refuses an ambiguous nick, listing the choices.
    =========================================================================
*/

#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include "rumor.h"

#define S_TOPIC_SAY     "chat.say"  //  broadcast lines
#define S_TOPIC_MSG     "chat.msg"  //  direct messages
//  Longest nick: short enough for a readable line, far below the 255-byte
//  node name limit once the suffix is added
#define S_NICK_MAX      32
//  Longest line said: a chat line, not a file transfer (rumor takes 64 KiB)
#define S_LINE_MAX      4096
//  Default cluster: chat instances never mix with other rumor clusters
#define S_CLUSTER       "rumor-chat"

typedef struct {
    char *nick;                     //  our nick, as typed
    rumor_t *node;                  //  our node
    zhashx_t *members;              //  id -> node name, members alive
    char line [S_LINE_MAX + 1];     //  stdin bytes not yet a full line
    size_t fill;                    //  bytes used in line
    bool skipping;                  //  dropping the rest of a long line
    bool quit;                      //  /quit, EOF or a signal
} s_chat_t;


//  --------------------------------------------------------------------------
//  Output: one line at a time, flushed, so that pipes see it at once

static void
s_print (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vprintf (format, args);
    va_end (args);
    putchar ('\n');
    fflush (stdout);
}

//  Copy of size bytes of text from the network with control characters
//  replaced: a peer must not drive our terminal with escape sequences.
//  Caller frees.
static char *
s_clean (const void *data, size_t size)
{
    char *text = (char *) zmalloc (size + 1);
    assert (text);
    const unsigned char *bytes = (const unsigned char *) data;
    for (size_t i = 0; i < size; i++)
        text [i] = (bytes [i] < 0x20 || bytes [i] == 0x7f)? '?': bytes [i];
    return text;
}


//  --------------------------------------------------------------------------
//  Nicks

//  The nick of a node name: what comes before the last '~'. Caller frees.
static char *
s_nick_of (const char *name)
{
    const char *tilde = strrchr (name, '~');
    size_t size = tilde && tilde != name? (size_t) (tilde - name)
                                         : strlen (name);
    return s_clean (name, size);
}

//  How many members alive (us included) have this nick
static size_t
s_nick_count (s_chat_t *self, const char *nick)
{
    size_t count = 0;
    for (const char *name = (const char *) zhashx_first (self->members);
         name; name = (const char *) zhashx_next (self->members)) {
        char *other = s_nick_of (name);
        if (streq (other, nick))
            count++;
        free (other);
    }
    return count;
}

//  How to show a member: its nick, or its full name when the nick is
//  shared. Caller frees.
static char *
s_display (s_chat_t *self, const char *id, const char *name)
{
    if (!name || !*name)
        name = (const char *) zhashx_lookup (self->members, id);
    if (!name)
        return strdup (id);
    char *nick = s_nick_of (name);
    if (s_nick_count (self, nick) > 1) {
        free (nick);
        return s_clean (name, strlen (name));
    }
    return nick;
}

//  A nick is 1..S_NICK_MAX printable characters, no spaces, no '~'
static bool
s_nick_valid (const char *nick)
{
    size_t size = strlen (nick);
    if (size == 0 || size > S_NICK_MAX || *nick == '-' || *nick == '/')
        return false;
    for (size_t i = 0; i < size; i++)
        if ((unsigned char) nick [i] <= ' ' || nick [i] == '~'
        ||  nick [i] == 0x7f)
            return false;
    return true;
}


//  --------------------------------------------------------------------------
//  Membership notices

//  Refill the alive table from the node's member table
static void
s_members_refresh (s_chat_t *self)
{
    zlistx_t *members = rumor_members (self->node);
    if (!members)
        return;
    zhashx_purge (self->members);
    for (rumor_member_t *member = (rumor_member_t *) zlistx_first (members);
         member; member = (rumor_member_t *) zlistx_next (members))
        if (member->state == RUMOR_STATE_ALIVE
        ||  member->state == RUMOR_STATE_SUSPECT)
            zhashx_update (self->members, member->id, member->name);
    rumor_members_destroy (&members);
}

//  A member event: keep the alive table and print the notice
static void
s_on_member (s_chat_t *self, rumor_event_t *event)
{
    const char *id = rumor_event_member (event);
    const char *name = rumor_event_name (event);
    if (streq (id, rumor_id (self->node)))
        return;
    rumor_event_type_t type = rumor_event_type (event);
    if (type == RUMOR_EVENT_JOINED || type == RUMOR_EVENT_ALIVE) {
        if (*name)
            zhashx_update (self->members, id, (void *) name);
        char *who = s_display (self, id, name);
        char *nick = s_nick_of (*name? name: id);
        s_print ("*** %s %s", who,
                 type == RUMOR_EVENT_JOINED? "joined": "is back");
        if (streq (nick, self->nick))
            s_print ("*** nick %s is taken twice: use full names, e.g. "
                     "/msg %s text", nick, who);
        free (nick);
        free (who);
    }
    else
    if (type == RUMOR_EVENT_LEFT || type == RUMOR_EVENT_FAILED) {
        char *who = s_display (self, id, name);
        s_print ("*** %s %s", who,
                 type == RUMOR_EVENT_LEFT? "left": "failed");
        free (who);
        zhashx_delete (self->members, id);
    }
}


//  --------------------------------------------------------------------------
//  Commands

//  /who: the members alive or suspect, sorted, on one line
static void
s_cmd_who (s_chat_t *self)
{
    s_members_refresh (self);
    zlistx_t *names = zlistx_new ();
    zlistx_set_destructor (names, (czmq_destructor *) zstr_free);
    zlistx_set_comparator (names, (czmq_comparator *) strcmp);
    //  s_display walks the table too: iterate over a copy of its keys
    zlistx_t *ids = zhashx_keys (self->members);
    for (const char *id = (const char *) zlistx_first (ids); id;
         id = (const char *) zlistx_next (ids)) {
        char *who = s_display (self, id, NULL);
        if (streq (id, rumor_id (self->node))) {
            char *you = zsys_sprintf ("%s (you)", who);
            free (who);
            who = you;
        }
        zlistx_add_end (names, who);
    }
    zlistx_destroy (&ids);
    zlistx_sort (names);
    size_t length = 0;
    for (char *who = (char *) zlistx_first (names); who;
         who = (char *) zlistx_next (names))
        length += strlen (who) + 2;
    char *text = (char *) zmalloc (length + 1);
    for (char *who = (char *) zlistx_first (names); who;
         who = (char *) zlistx_next (names)) {
        if (*text)
            strcat (text, ", ");
        strcat (text, who);
    }
    s_print ("*** here (%zu): %s", zlistx_size (names), text);
    free (text);
    zlistx_destroy (&names);
}

//  /msg TARGET text: TARGET is a nick, or a full name when a nick is shared
static void
s_cmd_msg (s_chat_t *self, char *args)
{
    char *text = strchr (args, ' ');
    if (!*args || !text || !text [1]) {
        s_print ("*** usage: /msg NICK text");
        return;
    }
    *text++ = 0;
    s_members_refresh (self);
    const char *target = NULL;
    size_t matches = 0;
    char *choices = strdup ("");
    for (const char *name = (const char *) zhashx_first (self->members);
         name; name = (const char *) zhashx_next (self->members)) {
        char *nick = s_nick_of (name);
        if (streq (name, args) || streq (nick, args)) {
            target = (const char *) zhashx_cursor (self->members);
            matches++;
            char *more = zsys_sprintf ("%s %s", choices, name);
            free (choices);
            choices = more;
        }
        free (nick);
    }
    if (matches == 0)
        s_print ("*** no such nick: %s", args);
    else
    if (matches > 1)
        s_print ("*** %s is ambiguous, use one of:%s", args, choices);
    else {
        int rc = rumor_whisper (self->node, target, S_TOPIC_MSG, text,
                                strlen (text));
        if (rc != RUMOR_OK)
            s_print ("*** /msg %s failed: %s", args, rumor_strerror (rc));
    }
    free (choices);
}

//  /help
static void
s_cmd_help (void)
{
    s_print ("*** commands: /who  /msg NICK text  /quit  /help; "
             "other lines are said to everyone (//text says /text)");
}

//  One line typed by the user
static void
s_on_line (s_chat_t *self, char *line)
{
    size_t size = strlen (line);
    if (size && line [size - 1] == '\r')
        line [--size] = 0;
    if (size == 0)
        return;
    if (line [0] == '/' && line [1] != '/') {
        char *args = strchr (line, ' ');
        if (args)
            *args++ = 0;
        else
            args = line + size;
        if (streq (line, "/quit"))
            self->quit = true;
        else
        if (streq (line, "/who"))
            s_cmd_who (self);
        else
        if (streq (line, "/msg"))
            s_cmd_msg (self, args);
        else
        if (streq (line, "/help"))
            s_cmd_help ();
        else
            s_print ("*** unknown command %s (/help lists them)", line);
        return;
    }
    if (line [0] == '/')
        line++;                     //  "//text" says "/text"
    int rc = rumor_say (self->node, S_TOPIC_SAY, line, strlen (line));
    if (rc != RUMOR_OK)
        s_print ("*** not sent: %s", rumor_strerror (rc));
}

//  Read what stdin has; handle every complete line. EOF ends the chat.
static void
s_on_stdin (s_chat_t *self)
{
    char buffer [1024];
    ssize_t size = read (STDIN_FILENO, buffer, sizeof (buffer));
    if (size < 0 && errno == EINTR)
        return;
    if (size <= 0) {
        if (self->fill && !self->skipping) {
            self->line [self->fill] = 0;
            s_on_line (self, self->line);
        }
        self->quit = true;
        return;
    }
    for (ssize_t i = 0; i < size && !self->quit; i++) {
        if (buffer [i] == '\n') {
            self->line [self->fill] = 0;
            if (!self->skipping)
                s_on_line (self, self->line);
            self->fill = 0;
            self->skipping = false;
        }
        else
        if (self->fill < S_LINE_MAX)
            self->line [self->fill++] = buffer [i];
        else
        if (!self->skipping) {
            s_print ("*** line longer than %d bytes: not sent", S_LINE_MAX);
            self->skipping = true;
        }
    }
}


//  --------------------------------------------------------------------------
//  Events from the node

//  One event from the node: a line, a direct message or a member change
static void
s_on_event (s_chat_t *self, rumor_event_t *event)
{
    rumor_event_type_t type = rumor_event_type (event);
    const char *id = rumor_event_member (event);
    const char *topic = rumor_event_topic (event);
    bool heard = type == RUMOR_EVENT_HEARD && streq (topic, S_TOPIC_SAY);
    bool direct = type == RUMOR_EVENT_DIRECT && streq (topic, S_TOPIC_MSG);
    if (heard || direct) {
        if (heard && streq (id, rumor_id (self->node)))
            return;                 //  our own line: already on our screen
        char *who = s_display (self, id, rumor_event_name (event));
        char *text = s_clean (rumor_event_data (event),
                              rumor_event_size (event));
        s_print (heard? "<%s> %s": "*%s* %s", who, text);
        free (text);
        free (who);
    }
    else
    if (type != RUMOR_EVENT_HEARD && type != RUMOR_EVENT_DIRECT)
        s_on_member (self, event);
}


//  --------------------------------------------------------------------------
//  Options and main loop

//  --help and bad usage
static void
s_usage (void)
{
    fprintf (stderr,
        "usage: rumor-chat NICK [--cluster NAME]\n"
        "                  [--beacon loopback|lan|off]\n"
        "                  [--interface IFACE] [--beacon-port N]\n"
        "                  [--seed tcp://HOST:PORT]... [--port N]\n"
        "  --beacon loopback  find chats on this host only (default)\n"
        "  --beacon lan       find chats on the LAN of --interface (UDP\n"
        "                     broadcast on the real network)\n"
        "  --beacon off       seeds only\n");
}

//  A port number in min..65535, or -1 (which rumor refuses as EINVAL)
static int
s_port_arg (const char *text, int min)
{
    char *end;
    long port = strtol (text, &end, 10);
    return *text && !*end && port >= min && port <= 65535? (int) port: -1;
}

//  Configure the node from argv. Returns 0, or -1 after printing why.
static int
s_configure (s_chat_t *self, int argc, char *argv [])
{
    rumor_beacon_t beacon = RUMOR_BEACON_LOOPBACK;
    const char *iface = NULL;
    for (int i = 2; i < argc; i++) {
        const char *option = argv [i];
        const char *value = i + 1 < argc? argv [i + 1]: NULL;
        if (!value) {
            fprintf (stderr, "rumor-chat: %s needs a value\n", option);
            return -1;
        }
        i++;
        int rc = RUMOR_OK;
        if (streq (option, "--cluster"))
            rc = rumor_set_cluster (self->node, value);
        else
        if (streq (option, "--beacon")) {
            if (streq (value, "loopback"))
                beacon = RUMOR_BEACON_LOOPBACK;
            else
            if (streq (value, "lan"))
                beacon = RUMOR_BEACON_LAN;
            else
            if (streq (value, "off"))
                beacon = RUMOR_BEACON_OFF;
            else
                rc = RUMOR_EINVAL;
        }
        else
        if (streq (option, "--interface"))
            rc = rumor_set_interface (self->node, iface = value);
        else
        if (streq (option, "--beacon-port"))
            rc = rumor_set_beacon_port (self->node, s_port_arg (value, 1));
        else
        if (streq (option, "--port"))
            rc = rumor_set_port (self->node, s_port_arg (value, 0));
        else
        if (streq (option, "--seed"))
            rc = rumor_join (self->node, value);
        else {
            fprintf (stderr, "rumor-chat: unknown option %s\n", option);
            return -1;
        }
        if (rc != RUMOR_OK) {
            fprintf (stderr, "rumor-chat: bad %s '%s': %s\n", option, value,
                     rumor_strerror (rc));
            return -1;
        }
    }
    rumor_set_beacon (self->node, beacon);
    //  On one host, listen on loopback only: nothing is exposed and the
    //  faster timers of the LOCAL profile suit a host's own loopback
    if (beacon == RUMOR_BEACON_LOOPBACK) {
        rumor_set_bind (self->node, "127.0.0.1");
        rumor_set_profile (self->node, RUMOR_PROFILE_LOCAL);
    }
    if (beacon == RUMOR_BEACON_LAN && !iface)
        fprintf (stderr, "rumor-chat: --beacon lan without --interface: "
                 "broadcasting on czmq's default interface\n");
    return 0;
}

//  Poll stdin and the node's events until /quit, EOF or a signal
static void
s_run (s_chat_t *self)
{
    while (!self->quit && !zsys_interrupted) {
        zmq_pollitem_t items [2] = {
            { zsock_resolve (rumor_socket (self->node)), 0, ZMQ_POLLIN, 0 },
            { NULL, STDIN_FILENO, ZMQ_POLLIN, 0 }
        };
        int rc = zmq_poll (items, 2, -1);
        if (rc < 0) {
            if (errno == EINTR)
                continue;           //  zsys_interrupted says if it was ^C
            break;
        }
        if (items [0].revents & ZMQ_POLLIN) {
            rumor_event_t *event = rumor_recv_timeout (self->node, 0);
            if (event)
                s_on_event (self, event);
            rumor_event_destroy (&event);
        }
        if ((items [1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            s_on_stdin (self);
    }
}

int
main (int argc, char *argv [])
{
    if (argc < 2 || streq (argv [1], "--help") || streq (argv [1], "-h")) {
        s_usage ();
        return argc < 2? 2: 0;
    }
    if (!s_nick_valid (argv [1])) {
        fprintf (stderr, "rumor-chat: bad nick '%s' (1..%d characters, no "
                 "spaces or '~', not starting with - or /)\n", argv [1],
                 S_NICK_MAX);
        return 2;
    }
    s_chat_t self = { .nick = argv [1] };
    //  The random suffix keeps two equal nicks from sharing a node id
    zuuid_t *uuid = zuuid_new ();
    char *name = zsys_sprintf ("%s~%.4s", self.nick,
                               zuuid_str_canonical (uuid));
    zuuid_destroy (&uuid);
    self.node = rumor_new (name);
    free (name);
    if (!self.node || rumor_set_cluster (self.node, S_CLUSTER) != RUMOR_OK) {
        fprintf (stderr, "rumor-chat: cannot create the node\n");
        rumor_destroy (&self.node);
        return 1;
    }
    int rc = s_configure (&self, argc, argv);
    if (rc == 0)
        rc = rumor_start (self.node);
    if (rc != 0) {
        if (rc != -1)
            fprintf (stderr, "rumor-chat: cannot start: %s\n",
                     rumor_strerror (rc));
        rumor_destroy (&self.node);
        return rc == -1? 2: 1;
    }
    self.members = zhashx_new ();
    zhashx_set_duplicator (self.members, (czmq_duplicator *) strdup);
    zhashx_set_destructor (self.members, (czmq_destructor *) zstr_free);
    rumor_hear (self.node, S_TOPIC_SAY);
    zhashx_update (self.members, rumor_id (self.node),
                   (void *) rumor_name (self.node));
    s_print ("*** %s on %s as %s; /help for commands", self.nick,
             rumor_endpoint (self.node), rumor_name (self.node));
    s_run (&self);
    s_print ("*** leaving");
    rumor_destroy (&self.node);     //  leaves gracefully: others see "left"
    zhashx_destroy (&self.members);
    return 0;
}
