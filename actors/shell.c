/*  =========================================================================
    rumor_shell - one czmq actor around any pure core

    See shell.h for the pipe protocol. The loop reads the clock, feeds the
    core, and flushes what the core queued; it holds no protocol state.
    =========================================================================
*/

#include <poll.h>
#include <sys/prctl.h>
#include "shell.h"

//  --------------------------------------------------------------------------
//  Shared decoded messages

rumor_shared_t *
rumor_shared_new (Rumor__Envelope **envelope_p, ProtobufCMessage **detail_p,
                  int refs)
{
    assert (refs >= 1);
    assert ((envelope_p && *envelope_p) != (detail_p && *detail_p));
    rumor_shared_t *self = (rumor_shared_t *) zmalloc (sizeof (rumor_shared_t));
    assert (self);
    atomic_init (&self->refs, refs);
    if (envelope_p) {
        self->envelope = *envelope_p;
        *envelope_p = NULL;
    }
    if (detail_p) {
        self->detail = *detail_p;
        *detail_p = NULL;
    }
    return self;
}

void
rumor_shared_release (rumor_shared_t **self_p)
{
    assert (self_p);
    rumor_shared_t *self = *self_p;
    if (!self)
        return;
    *self_p = NULL;
    if (atomic_fetch_sub (&self->refs, 1) != 1)
        return;                     //  others still hold it
    rumor_codec_free (&self->envelope);
    rumor_codec_free_detail (&self->detail);
    free (self);
}


zframe_t *
rumor_shell_shared_frame (const char *kind, rumor_shared_t *shared)
{
    assert (shared);
    size_t kind_size = kind? strlen (kind) + 1: 0;
    zframe_t *frame = zframe_new (NULL, 1 + sizeof (shared) + kind_size);
    assert (frame);
    byte *data = zframe_data (frame);
    data [0] = kind? RUMOR_SHELL_EVENT: RUMOR_SHELL_MSG;
    memcpy (data + 1, &shared, sizeof (shared));
    if (kind)
        memcpy (data + 1 + sizeof (shared), kind, kind_size);
    return frame;
}

//  The shared message a frame of rumor_shell_shared_frame hands over, and
//  its kind (NULL for an envelope); NULL if the frame is not one.
static rumor_shared_t *
s_shared_of (zframe_t *frame, const char **kind)
{
    size_t size = zframe_size (frame);
    const byte *data = zframe_data (frame);
    *kind = NULL;
    if (size < 1 + sizeof (rumor_shared_t *))
        return NULL;
    if (data [0] == RUMOR_SHELL_EVENT) {
        *kind = (const char *) data + 1 + sizeof (rumor_shared_t *);
        if (!memchr (*kind, 0, size - 1 - sizeof (rumor_shared_t *)))
            return NULL;
    }
    else
    if (data [0] != RUMOR_SHELL_MSG)
        return NULL;
    rumor_shared_t *shared;
    memcpy (&shared, data + 1, sizeof (shared));
    return shared;
}


zframe_t *
rumor_shell_post_new (const char *actor, const char *command,
                      const rumor_shell_arg_t *args, size_t count)
{
    assert (actor && command);
    assert (count <= RUMOR_SHELL_POST_ARGS);
    size_t size = 1 + strlen (actor) + 1 + strlen (command) + 1;
    for (size_t i = 0; i < count; i++)
        size += sizeof (uint32_t) + args [i].size;
    zframe_t *frame = zframe_new (NULL, size);
    assert (frame);
    byte *at = zframe_data (frame);
    *at++ = RUMOR_SHELL_POST;
    memcpy (at, actor, strlen (actor) + 1);
    at += strlen (actor) + 1;
    memcpy (at, command, strlen (command) + 1);
    at += strlen (command) + 1;
    for (size_t i = 0; i < count; i++) {
        assert (args [i].size <= UINT32_MAX);
        uint32_t length = (uint32_t) args [i].size;
        memcpy (at, &length, sizeof (length));
        at += sizeof (length);
        if (length)
            memcpy (at, args [i].data, length);
        at += length;
    }
    return frame;
}

int
rumor_shell_post_parse (zframe_t *frame, rumor_shell_post_t *post)
{
    assert (frame && post);
    memset (post, 0, sizeof (*post));
    const byte *at = zframe_data (frame);
    const byte *end = at + zframe_size (frame);
    if (at == end || *at++ != RUMOR_SHELL_POST)
        return -1;
    post->actor = rumor_codec_take_string (&at, end);
    post->command = post->actor? rumor_codec_take_string (&at, end): NULL;
    if (!post->command)
        return -1;
    while (at < end) {
        uint32_t length;
        if (post->count == RUMOR_SHELL_POST_ARGS
        ||  (size_t) (end - at) < sizeof (length))
            return -1;
        memcpy (&length, at, sizeof (length));
        at += sizeof (length);
        if (length > (size_t) (end - at))
            return -1;
        post->args [post->count++] = (rumor_shell_arg_t) { at, length };
        at += length;
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Frame helpers

//  Pop a frame of exactly size bytes into out; false if absent or sized
//  otherwise.
static bool
s_pop_exact (zmsg_t *msg, void *out, size_t size)
{
    zframe_t *frame = zmsg_pop (msg);
    bool ok = frame && zframe_size (frame) == size;
    if (ok)
        memcpy (out, zframe_data (frame), size);
    zframe_destroy (&frame);
    return ok;
}

uint32_t
rumor_shell_pop_u32 (zmsg_t *msg, uint32_t dflt)
{
    uint32_t value;
    return s_pop_exact (msg, &value, sizeof (value))? value: dflt;
}

uint64_t
rumor_shell_pop_u64 (zmsg_t *msg, uint64_t dflt)
{
    uint64_t value;
    return s_pop_exact (msg, &value, sizeof (value))? value: dflt;
}

int32_t
rumor_shell_pop_i32 (zmsg_t *msg, int32_t dflt)
{
    int32_t value;
    return s_pop_exact (msg, &value, sizeof (value))? value: dflt;
}

void *
rumor_shell_pop_ptr (zmsg_t *msg)
{
    void *value;
    return s_pop_exact (msg, &value, sizeof (value))? value: NULL;
}

char *
rumor_shell_pop_str (zmsg_t *msg)
{
    char *string = zmsg_popstr (msg);
    return string? string: strdup ("");
}

int
rumor_shell_pop_id (zmsg_t *msg, rumor_id_t *id)
{
    return s_pop_exact (msg, id->bytes, RUMOR_ID_SIZE)? 0: -1;
}

void
rumor_shell_add_u32 (zmsg_t *msg, uint32_t value)
{
    zmsg_addmem (msg, &value, sizeof (value));
}

void
rumor_shell_add_u64 (zmsg_t *msg, uint64_t value)
{
    zmsg_addmem (msg, &value, sizeof (value));
}

void
rumor_shell_add_i32 (zmsg_t *msg, int32_t value)
{
    zmsg_addmem (msg, &value, sizeof (value));
}

void
rumor_shell_add_counter (zmsg_t *msg, const char *prefix, const char *name,
                         uint64_t value)
{
    zmsg_addstrf (msg, "%s.%s", prefix, name);
    zmsg_addstrf (msg, "%" PRIu64, value);
}

void
rumor_shell_add_counters (zmsg_t *msg, const char *prefix, const void *stats,
                          const rumor_shell_counter_t *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t value;
        memcpy (&value, (const char *) stats + table [i].offset, sizeof (value));
        rumor_shell_add_counter (msg, prefix, table [i].name, value);
    }
}

zmsg_t *
rumor_shell_reply_new (uint32_t seq)
{
    zmsg_t *reply = zmsg_new ();
    assert (reply);
    zmsg_addstr (reply, "REPLY");
    rumor_shell_add_u32 (reply, seq);
    return reply;
}

int
rumor_shell_try_send (zmsg_t **msg_p, zsock_t *sock)
{
    assert (msg_p && *msg_p);
    //  The first frame is sent without waiting (no events asked first:
    //  see rumor_shell_try_recv); once a pipe took it, it takes the whole
    //  message (libzmq counts a pipe's room in whole messages)
    zmsg_t *msg = *msg_p;
    zframe_t *frame = zmsg_pop (msg);
    if (!frame)
        return -1;                  //  (an empty message: not sent)
    int more = zmsg_size (msg)? ZFRAME_MORE: 0;
    if (zframe_send (&frame, sock, more | ZFRAME_DONTWAIT)) {
        zmsg_prepend (msg, &frame);
        return -1;
    }
    int rc = 0;
    while (rc == 0 && (frame = zmsg_pop (msg))) {
        more = zmsg_size (msg)? ZFRAME_MORE: 0;
        rc = zframe_send (&frame, sock, more);
        zframe_destroy (&frame);    //  (when not sent: the context ends)
    }
    zmsg_destroy (msg_p);           //  sent, or lost halfway (*msg_p NULL)
    return rc;
}

zframe_t *
rumor_shell_try_recv (void *sock)
{
    assert (sock);
    //  czmq reads a frame only as the socket's timeout says: make it 0
    //  for this one read (a setsockopt is a store, no system call)
    void *handle = zsock_resolve (sock);
    int timeout = -1;
    size_t size = sizeof (timeout);
    zmq_getsockopt (handle, ZMQ_RCVTIMEO, &timeout, &size);
    int now = 0;
    zmq_setsockopt (handle, ZMQ_RCVTIMEO, &now, sizeof (now));
    zframe_t *frame = zframe_recv (sock);
    int error = zmq_errno ();
    zmq_setsockopt (handle, ZMQ_RCVTIMEO, &timeout, sizeof (timeout));
    errno = error;
    return frame;
}


//  --------------------------------------------------------------------------
//  The actor

typedef struct {
    const rumor_shell_vtable_t *vtable;     //  the core's functions
    void *core;                             //  handed over to the actor
} s_args_t;

typedef struct {
    zsock_t *pipe;                  //  to the supervisor
    int pipe_fd;                    //  its handle (ZMQ_FD), polled
    const rumor_shell_vtable_t *vtable;     //  the core's functions
    void *core;                     //  the pure core, owned
    zlistx_t *backlog;              //  zmsg_t waiting for room in the pipe
    bool terminated;                //  $TERM received
    int64_t last_tick;              //  when on_tick last ran (ms)
    uint64_t inputs;                //  messages, events, commands handled
    uint64_t ticks;                 //  on_tick calls
    uint64_t effects;               //  messages sent up (effects, replies)
    uint64_t dropped;               //  ... dropped with the backlog full
    uint64_t backlog_max;           //  highest backlog seen
    uint64_t bad_commands;          //  commands the vtable did not know
} self_t;

static void
s_msg_destructor (void **item)
{
    zmsg_destroy ((zmsg_t **) item);
}

static self_t *
s_self_new (zsock_t *pipe, const s_args_t *args)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->vtable = args->vtable;
    self->core = args->core;
    //  The node decides when we stop ($TERM), not SIGINT: we poll the
    //  pipe's handle ourselves and an interrupted poll just loops
    self->pipe_fd = zsock_fd (pipe);
    self->backlog = zlistx_new ();
    assert (self->backlog);
    zlistx_set_destructor (self->backlog, s_msg_destructor);
    self->last_tick = -1;
    //  Never block on the supervisor: see s_self_post
    zsock_set_sndtimeo (pipe, 0);
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    self->vtable->destroy (&self->core);
    zlistx_destroy (&self->backlog);
    free (self);
    *self_p = NULL;
}

//  Send msg up, or keep it in the backlog if the pipe is full. Effects
//  past RUMOR_SHELL_BACKLOG_MAX are dropped and counted; replies and
//  notices never are (there is one per command, at the node's pace).
static void
s_self_post (self_t *self, zmsg_t *msg, bool droppable)
{
    if (zlistx_size (self->backlog) == 0
    &&  rumor_shell_try_send (&msg, self->pipe) == 0) {
        self->effects++;
        return;
    }
    if (!msg || (droppable
              && zlistx_size (self->backlog) >= RUMOR_SHELL_BACKLOG_MAX)) {
        self->dropped++;
        zmsg_destroy (&msg);
        return;
    }
    zlistx_add_end (self->backlog, msg);
    if (zlistx_size (self->backlog) > self->backlog_max)
        self->backlog_max = zlistx_size (self->backlog);
}

//  Send an effect up: one frame, sent as is when nothing waits before it,
//  else kept in the backlog as a one-frame message (effects are dropped
//  past its bound, s_self_post).
static void
s_self_post_effect (self_t *self, zframe_t *effect)
{
    if (zlistx_size (self->backlog) == 0
    &&  zframe_send (&effect, self->pipe, ZFRAME_DONTWAIT) == 0) {
        self->effects++;
        return;
    }
    zmsg_t *msg = zmsg_new ();
    assert (msg);
    zmsg_append (msg, &effect);
    s_self_post (self, msg, true);
}

//  Send what waits in the backlog, oldest first, while the pipe has room.
static void
s_self_drain_backlog (self_t *self)
{
    zmsg_t *msg;
    while ((msg = (zmsg_t *) zlistx_first (self->backlog))) {
        zlistx_detach_cur (self->backlog);
        if (rumor_shell_try_send (&msg, self->pipe) == 0) {
            self->effects++;
            continue;
        }
        if (msg)
            zlistx_add_start (self->backlog, msg);
        else
            self->dropped++;
        break;
    }
}

//  Everything the core queued goes up, then its notice if any.
static void
s_self_flush (self_t *self)
{
    s_self_drain_backlog (self);
    zframe_t *effect;
    while ((effect = self->vtable->next_effect (self->core)))
        s_self_post_effect (self, effect);
    if (self->vtable->notice) {
        zmsg_t *notice = self->vtable->notice (self->core);
        if (notice)
            s_self_post (self, notice, false);
    }
}

//  Tick the core if its deadline is due, at most once per millisecond (a
//  core that keeps asking for the same ms waits for the next one).
static void
s_self_tick (self_t *self)
{
    int64_t now = zclock_time ();
    int64_t deadline = self->vtable->next_deadline (self->core);
    if (deadline < 0 || deadline > now || self->last_tick == now)
        return;
    self->vtable->on_tick (self->core, now);
    self->last_tick = now;
    self->ticks++;
}

//  How long to wait for the pipe: until the core's deadline, at least
//  1 ms if it already ticked this ms, at most 1 ms while a backlog waits.
static int
s_self_timeout (self_t *self)
{
    int64_t now = zclock_time ();
    int64_t deadline = self->vtable->next_deadline (self->core);
    int64_t wait = -1;
    if (deadline >= 0)
        wait = deadline > now? deadline - now: 0;
    if (wait == 0 && self->last_tick == now)
        wait = 1;
    if (zlistx_size (self->backlog) && (wait < 0 || wait > 1))
        wait = 1;
    return wait > INT_MAX? INT_MAX: (int) wait;
}

static void
s_self_stats (self_t *self, uint32_t seq)
{
    zmsg_t *reply = rumor_shell_reply_new (seq);
    rumor_shell_add_i32 (reply, 0);
    self->vtable->stats (self->core, reply);
    char prefix [64];
    snprintf (prefix, sizeof (prefix), "shell.%s", self->vtable->name);
    rumor_shell_add_counter (reply, prefix, "inputs", self->inputs);
    rumor_shell_add_counter (reply, prefix, "ticks", self->ticks);
    rumor_shell_add_counter (reply, prefix, "effects", self->effects);
    rumor_shell_add_counter (reply, prefix, "dropped", self->dropped);
    rumor_shell_add_counter (reply, prefix, "backlog_max", self->backlog_max);
    rumor_shell_add_counter (reply, prefix, "bad_commands", self->bad_commands);
    s_self_post (self, reply, false);
}

static void
s_self_command (self_t *self, const char *command, zmsg_t *request)
{
    uint32_t seq = rumor_shell_pop_u32 (request, 0);
    if (streq (command, "STATS")) {
        s_self_stats (self, seq);
        return;
    }
    zmsg_t *reply = rumor_shell_reply_new (seq);
    if (!self->vtable->handle_command (self->core, zclock_time (), command,
                                       request, reply)) {
        zsys_warning ("rumor %s: unknown command=%s", self->vtable->name,
                      command);
        self->bad_commands++;
        rumor_shell_add_i32 (reply, RUMOR_SHELL_EUNKNOWN);
    }
    if (seq)
        s_self_post (self, reply, false);
    else
        zmsg_destroy (&reply);
}

//  A decoded envelope or another core's event, for the core
static void
s_self_handle_shared (self_t *self, rumor_shared_t *shared, const char *kind)
{
    if (kind && shared->detail)
        self->vtable->on_event (self->core, zclock_time (), kind,
                                shared->detail);
    else
    if (!kind && shared->envelope)
        self->vtable->on_message (self->core, zclock_time (),
                                  shared->envelope);
    rumor_shared_release (&shared);
}

//  A multi-frame command, its first frame read already
static void
s_self_handle_request (self_t *self, zframe_t **first_p)
{
    zmsg_t *request = zmsg_new ();
    assert (request);
    zmsg_append (request, first_p);
    while (zsock_rcvmore (self->pipe)) {
        zframe_t *frame = zframe_recv (self->pipe);
        if (frame)
            zmsg_append (request, &frame);
    }
    char *command = zmsg_popstr (request);
    if (!command)
        ;                           //  empty message: nothing to do
    else
    if (streq (command, "$TERM"))
        self->terminated = true;
    else
        s_self_command (self, command, request);
    zstr_free (&command);
    zmsg_destroy (&request);
}

//  A post for the core; counted as a bad command if it does not take it
static void
s_self_handle_post (self_t *self, zframe_t *frame)
{
    rumor_shell_post_t post;
    if (rumor_shell_post_parse (frame, &post)
    ||  !self->vtable->handle_post
    ||  !self->vtable->handle_post (self->core, zclock_time (), post.command,
                                    post.args, post.count)) {
        zsys_warning ("rumor %s: refused post", self->vtable->name);
        self->bad_commands++;
    }
}

//  One input from the pipe, read already
static void
s_self_handle_input (self_t *self, zframe_t *frame)
{
    self->inputs++;
    bool single = !zframe_more (frame);
    const char *kind;
    rumor_shared_t *shared = single? s_shared_of (frame, &kind): NULL;
    if (shared)
        s_self_handle_shared (self, shared, kind);
    else
    if (single && zframe_size (frame)
    &&  zframe_data (frame) [0] == RUMOR_SHELL_POST)
        s_self_handle_post (self, frame);
    else
        s_self_handle_request (self, &frame);
    zframe_destroy (&frame);
}

//  The app core's pipe is not read while its backlog holds this many
//  messages: the supervisor is behind us (a peer's link is full), and
//  reading more would only grow the backlog until effects are dropped.
//  Its inputs (the program's messages, peers' events) wait in the pipe
//  instead, which in turn stops the supervisor from reading the program
//  (supervisor.c: backpressure up to rumor_say). The remaining room takes
//  the effects of the input being handled and of ticks. The other cores
//  keep never waiting: their inputs are protocol traffic, worth nothing
//  late, and their effects are dropped and counted as before.
#define S_PAUSE_BACKLOG     (RUMOR_SHELL_BACKLOG_MAX / 2)

static bool
s_self_paused (self_t *self)
{
    return zlistx_size (self->backlog) >= S_PAUSE_BACKLOG
        && streq (self->vtable->name, "app");
}

//  Wait for the supervisor to read (room in the pipe) or for the core's
//  deadline, whichever first; nothing is read.
static void
s_self_wait_room (self_t *self)
{
    zmq_pollitem_t item = { zsock_resolve (self->pipe), 0, ZMQ_POLLOUT, 0 };
    zmq_poll (&item, 1, s_self_timeout (self));
}

//  Inputs handled in a row before the core ticks: under load the pipe
//  holds many, and a poll and a tick per input cost more than the input.
//  Each input's effects still go up before the next input is read, so
//  effects, replies and notices keep their order. Small enough that
//  timers run on time.
#define S_BURST             32

//  Handle what the pipe holds, up to S_BURST inputs, without waiting.
//  Returns how many: fewer than S_BURST (and not paused or terminated)
//  means the last read found nothing.
static int
s_self_handle_burst (self_t *self)
{
    int count = 0;
    while (count < S_BURST && !self->terminated && !s_self_paused (self)) {
        zframe_t *frame = rumor_shell_try_recv (self->pipe);
        if (!frame)
            break;
        if (count++)
            s_self_flush (self);
        s_self_handle_input (self, frame);
    }
    return count;
}

//  Sleep until the pipe's handle fires or the core's deadline. Only right
//  after a read found nothing: libzmq then signals the handle on the next
//  input. A send may take that signal (it processes libzmq's commands),
//  so after every flush the pipe is read again before we sleep.
static void
s_self_wait_input (self_t *self)
{
    struct pollfd item = { .fd = self->pipe_fd, .events = POLLIN };
    poll (&item, 1, s_self_timeout (self));
}

static void
s_shell_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const s_args_t *) args);
    //  Named for top -H, perf and gdb: "rm-membership", "rm-app", ...
    char thread [16];
    snprintf (thread, sizeof (thread), "rm-%s", self->vtable->name);
    prctl (PR_SET_NAME, thread, 0, 0, 0);
    //  A first tick: cores arm their timers once they see the time
    int64_t now = zclock_time ();
    self->vtable->on_tick (self->core, now);
    self->last_tick = now;
    zsock_signal (pipe, 0);
    s_self_flush (self);
    while (!self->terminated) {
        if (s_self_paused (self)) {
            s_self_wait_room (self);
            s_self_tick (self);
            s_self_flush (self);
            continue;
        }
        //  Read first: what came while we worked costs no wait
        if (s_self_handle_burst (self) == 0 && !self->terminated
        &&  !s_self_paused (self))
            s_self_wait_input (self);
        if (!self->terminated) {
            s_self_tick (self);
            s_self_flush (self);
        }
    }
    s_self_destroy (&self);
}

zactor_t *
rumor_shell_new (const rumor_shell_vtable_t *vtable, void *core)
{
    assert (vtable);
    assert (core);
    s_args_t args = { vtable, core };
    //  zactor_new returns once the actor copied args and signalled
    zactor_t *actor = zactor_new (s_shell_actor, &args);
    if (!actor) {
        vtable->destroy (&core);
        return NULL;
    }
    zsock_set_sndtimeo (zactor_sock (actor), 0);
    return actor;
}
