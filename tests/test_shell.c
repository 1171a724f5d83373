/*  =========================================================================
    test_shell - the generic actor shell over a fake core, over inproc

    The shell (actors/shell.h) is the only I/O a core gets in a live node:
    it feeds decoded messages, events and commands to the core with the
    wall clock, ticks it at its deadline, and flushes its effects up the
    pipe without ever blocking. A small fake core records what it is given
    and emits effects on demand, so each test checks one promise of the
    shell. Waits poll the actor's pipe with a deadline; nothing sleeps.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "shell.h"
#include "effects.h"

#define WAIT_MS     5000            //  deadline of every wait (valgrind)

//  --------------------------------------------------------------------------
//  A fake core

//  What the fake core saw, kept by the test (it outlives the core)
typedef struct {
    int messages;                   //  on_message calls
    int events;                     //  on_event calls
    int ticks;                      //  on_tick calls with work due
    bool destroyed;                 //  destroy was called
    int echoes;                     //  ECHO commands handled (atomic: the
                                    //  actor thread writes, the test reads)
} fake_record_t;

typedef struct {
    rumor_fx_t *fx;                 //  queued effects
    int64_t deadline;               //  next tick wanted, -1 none
    bool noticed;                   //  NOTICE sent
    fake_record_t *record;          //  the test's record
} fake_t;

static fake_t *
fake_new (fake_record_t *record)
{
    fake_t *self = (fake_t *) zmalloc (sizeof (fake_t));
    self->fx = rumor_fx_new ();
    self->deadline = -1;
    self->record = record;
    return self;
}

static void
fake_destroy (void **self_p)
{
    fake_t *self = (fake_t *) *self_p;
    if (self) {
        self->record->destroyed = true;
        rumor_fx_destroy (&self->fx);
        free (self);
        *self_p = NULL;
    }
}

//  Answer every message with a Ping back to its sender
static int
fake_on_message (void *core, int64_t now, const Rumor__Envelope *env)
{
    (void) now;
    fake_t *self = (fake_t *) core;
    self->record->messages++;
    rumor_id_t sender;
    rumor_id_from_bin (&sender, env->sender);
    Rumor__Ping ping = RUMOR__PING__INIT;
    ping.probe = env->seq;
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PING;
    body.ping = &ping;
    return rumor_fx_send (self->fx, &sender, "", &body);
}

//  Echo every event back as an EVENT "seen", extra = the kind
static int
fake_on_event (void *core, int64_t now, const char *kind,
               const ProtobufCMessage *detail)
{
    (void) now;
    fake_t *self = (fake_t *) core;
    self->record->events++;
    return rumor_fx_event (self->fx, "seen", detail, kind);
}

//  At the deadline: an EVENT "tick" carrying a MemberUpdate
static void
fake_on_tick (void *core, int64_t now)
{
    fake_t *self = (fake_t *) core;
    if (self->deadline < 0 || now < self->deadline)
        return;
    self->deadline = -1;
    self->record->ticks++;
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.generation = (uint64_t) now;
    rumor_fx_event (self->fx, "tick", &update.base, NULL);
}

static int64_t
fake_next_deadline (void *core)
{
    return ((fake_t *) core)->deadline;
}

static zframe_t *
fake_next_effect (void *core)
{
    return rumor_fx_pop (((fake_t *) core)->fx);
}

static void
fake_stats (void *core, zmsg_t *reply)
{
    fake_t *self = (fake_t *) core;
    rumor_shell_add_counter (reply, "fake", "messages",
                             (uint64_t) self->record->messages);
}

//  ARM ms: tick in ms; ECHO text: reply text; FLOOD n: n EVENT effects
static bool
fake_handle_command (void *core, int64_t now, const char *command,
                     zmsg_t *request, zmsg_t *reply)
{
    fake_t *self = (fake_t *) core;
    if (streq (command, "ARM"))
        self->deadline = now + rumor_shell_pop_u32 (request, 0);
    else
    if (streq (command, "ECHO")) {
        __atomic_add_fetch (&self->record->echoes, 1, __ATOMIC_SEQ_CST);
        char *text = rumor_shell_pop_str (request);
        rumor_shell_add_i32 (reply, 0);
        zmsg_addstr (reply, text);
        free (text);
        return true;
    }
    else
    if (streq (command, "FLOOD")) {
        uint32_t n = rumor_shell_pop_u32 (request, 0);
        Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
        for (uint32_t i = 0; i < n; i++)
            rumor_fx_event (self->fx, "flood", &update.base, NULL);
    }
    else
        return false;
    rumor_shell_add_i32 (reply, 0);
    return true;
}

//  Once two messages were handled, one notice
static zmsg_t *
fake_notice (void *core)
{
    fake_t *self = (fake_t *) core;
    if (self->noticed || self->record->messages < 2)
        return NULL;
    self->noticed = true;
    zmsg_t *notice = zmsg_new ();
    zmsg_addstr (notice, "NOTICE");
    zmsg_addstr (notice, "TWO");
    return notice;
}

static const rumor_shell_vtable_t fake_vtable = {
    .name = "fake",
    .destroy = fake_destroy,
    .on_message = fake_on_message,
    .on_event = fake_on_event,
    .on_tick = fake_on_tick,
    .next_deadline = fake_next_deadline,
    .next_effect = fake_next_effect,
    .stats = fake_stats,
    .handle_command = fake_handle_command,
    .notice = fake_notice
};


//  --------------------------------------------------------------------------
//  Helpers

//  Hand shared to the actor as the supervisor does
static void
s_share (zactor_t *actor, const char *kind, rumor_shared_t *shared)
{
    zframe_t *frame = rumor_shell_shared_frame (kind, shared);
    assert_int_equal (zframe_send (&frame, zactor_sock (actor), 0), 0);
}

//  Next message from the actor, or NULL at the deadline
static zmsg_t *
s_recv (zactor_t *actor, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (actor, NULL);
    zmsg_t *msg = zpoller_wait (poller, timeout_ms)? zmsg_recv (actor): NULL;
    zpoller_destroy (&poller);
    return msg;
}

//  A decoded envelope from sender n with a Ping body, shared refs times
static rumor_shared_t *
s_envelope (uint64_t n, uint64_t seq, int refs)
{
    rumor_header_t header = { .cluster = 42, .generation = 1, .seq = seq };
    rumor_id_from_u64 (&header.sender, n);
    Rumor__Ping ping = RUMOR__PING__INIT;
    ping.target = rumor_id_bin (&header.sender);
    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = RUMOR__ENVELOPE__BODY_PING;
    body.ping = &ping;
    zframe_t *packed = rumor_codec_pack (&body.base);
    zframe_t *frame = rumor_codec_seal (&header, NULL, 0, zframe_data (packed),
                                        zframe_size (packed));
    Rumor__Envelope *env = rumor_codec_decode (zframe_data (frame),
                                               zframe_size (frame), 42, NULL);
    assert_non_null (env);
    zframe_destroy (&packed);
    zframe_destroy (&frame);
    return rumor_shared_new (&env, NULL, refs);
}

static void
s_send_command (zactor_t *actor, const char *command, uint32_t seq,
                const char *text, uint32_t number)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, command);
    rumor_shell_add_u32 (msg, seq);
    if (text)
        zmsg_addstr (msg, text);
    else
        rumor_shell_add_u32 (msg, number);
    zmsg_send (&msg, actor);
}

//  Wait for REPLY seq, dropping anything else; returns it after rc.
static zmsg_t *
s_reply (zactor_t *actor, uint32_t seq, int32_t *rc)
{
    zmsg_t *msg;
    while ((msg = s_recv (actor, WAIT_MS))) {
        if (zframe_streq (zmsg_first (msg), "REPLY")) {
            zframe_t *kind = zmsg_pop (msg);
            zframe_destroy (&kind);
            if (rumor_shell_pop_u32 (msg, 0) == seq) {
                *rc = rumor_shell_pop_i32 (msg, -999);
                return msg;
            }
        }
        zmsg_destroy (&msg);
    }
    return NULL;
}


//  --------------------------------------------------------------------------
//  Tests

//  Usage: a decoded message goes to the core; the SEND it queues comes up
//  the pipe as an effect; $TERM destroys the core
static void
test_message_reaches_core_and_effects_come_back (void **state)
{
    (void) state;
    fake_record_t record = { 0 };
    zactor_t *actor = rumor_shell_new (&fake_vtable, fake_new (&record));
    assert_non_null (actor);
    rumor_shared_t *shared = s_envelope (7, 99, 1);
    s_share (actor, NULL, shared);

    zmsg_t *effect = s_recv (actor, WAIT_MS);
    assert_non_null (effect);
    rumor_fx_view_t view;
    assert_int_equal (zmsg_size (effect), 1);     //  an effect is one frame
    assert_int_equal (rumor_fx_parse (zmsg_first (effect), &view), 0);
    assert_true (view.is_send);
    rumor_id_t seven;
    rumor_id_from_u64 (&seven, 7);
    assert_true (rumor_id_eq (&view.to, &seven));
    zmsg_destroy (&effect);

    zactor_destroy (&actor);
    assert_int_equal (record.messages, 1);
    assert_true (record.destroyed);
}

static void
test_core_is_ticked_at_its_deadline (void **state)
{
    (void) state;
    fake_record_t record = { 0 };
    zactor_t *actor = rumor_shell_new (&fake_vtable, fake_new (&record));
    int64_t start = zclock_time ();
    s_send_command (actor, "ARM", 1, NULL, 50);
    int32_t rc;
    zmsg_t *reply = s_reply (actor, 1, &rc);
    assert_non_null (reply);
    assert_int_equal (rc, 0);
    zmsg_destroy (&reply);

    zmsg_t *effect = s_recv (actor, WAIT_MS);
    int64_t elapsed = zclock_time () - start;
    assert_non_null (effect);
    rumor_fx_view_t view;
    assert_int_equal (zmsg_size (effect), 1);     //  an effect is one frame
    assert_int_equal (rumor_fx_parse (zmsg_first (effect), &view), 0);
    assert_string_equal (view.kind, "tick");
    assert_true (elapsed >= 50);    //  not before the deadline
    zmsg_destroy (&effect);
    zactor_destroy (&actor);
    assert_int_equal (record.ticks, 1);
}

static void
test_events_reach_core_with_their_kind (void **state)
{
    (void) state;
    fake_record_t record = { 0 };
    zactor_t *actor = rumor_shell_new (&fake_vtable, fake_new (&record));
    Rumor__MemberUpdate update = RUMOR__MEMBER_UPDATE__INIT;
    update.generation = 1234;
    zframe_t *packed = rumor_codec_pack (&update.base);
    ProtobufCMessage *detail = protobuf_c_message_unpack (
        &rumor__member_update__descriptor, NULL, zframe_size (packed),
        zframe_data (packed));
    zframe_destroy (&packed);
    rumor_shared_t *shared = rumor_shared_new (NULL, &detail, 1);
    s_share (actor, "member", shared);

    zmsg_t *effect = s_recv (actor, WAIT_MS);
    assert_non_null (effect);
    rumor_fx_view_t view;
    assert_int_equal (zmsg_size (effect), 1);     //  an effect is one frame
    assert_int_equal (rumor_fx_parse (zmsg_first (effect), &view), 0);
    assert_false (view.is_send);
    assert_string_equal (view.kind, "seen");
    assert_string_equal (view.extra, "member");
    zmsg_destroy (&effect);
    zactor_destroy (&actor);
    assert_int_equal (record.events, 1);
}

static void
test_commands_are_answered_by_seq (void **state)
{
    (void) state;
    fake_record_t record = { 0 };
    zactor_t *actor = rumor_shell_new (&fake_vtable, fake_new (&record));
    //  seq 0: no reply, even for an unknown command
    s_send_command (actor, "NOPE", 0, "x", 0);
    s_send_command (actor, "NOPE", 6, "x", 0);
    s_send_command (actor, "ECHO", 5, "hi", 0);
    zmsg_t *msg = s_recv (actor, WAIT_MS);
    assert_non_null (msg);
    char *kind = zmsg_popstr (msg);
    assert_string_equal (kind, "REPLY");
    free (kind);
    assert_int_equal (rumor_shell_pop_u32 (msg, 0), 6);
    assert_int_equal (rumor_shell_pop_i32 (msg, 0), RUMOR_SHELL_EUNKNOWN);
    zmsg_destroy (&msg);

    int32_t rc;
    zmsg_t *reply = s_reply (actor, 5, &rc);
    assert_non_null (reply);
    assert_int_equal (rc, 0);
    char *text = zmsg_popstr (reply);
    assert_string_equal (text, "hi");
    free (text);
    zmsg_destroy (&reply);

    s_send_command (actor, "STATS", 7, NULL, 0);
    reply = s_reply (actor, 7, &rc);
    assert_non_null (reply);
    zhash_t *stats = zhash_new ();
    zhash_autofree (stats);
    char *name;
    while ((name = zmsg_popstr (reply))) {
        char *value = zmsg_popstr (reply);
        zhash_insert (stats, name, value);
        free (name);
        free (value);
    }
    assert_string_equal ((char *) zhash_lookup (stats, "fake.messages"), "0");
    assert_string_equal (
        (char *) zhash_lookup (stats, "shell.fake.bad_commands"), "2");
    zhash_destroy (&stats);
    zmsg_destroy (&reply);
    zactor_destroy (&actor);
}

//  Each holder releases once; the message is freed with the last (ASan
//  and valgrind check the freeing)
static void
test_shared_message_is_released_by_the_shell (void **state)
{
    (void) state;
    fake_record_t record = { 0 };
    zactor_t *actor = rumor_shell_new (&fake_vtable, fake_new (&record));
    rumor_shared_t *shared = s_envelope (3, 1, 2);
    s_share (actor, NULL, shared);
    s_send_command (actor, "ECHO", 1, "sync", 0);
    int32_t rc;
    zmsg_t *reply = s_reply (actor, 1, &rc);   //  after MSG was handled
    assert_non_null (reply);
    zmsg_destroy (&reply);
    assert_int_equal (atomic_load (&shared->refs), 1);
    rumor_shared_release (&shared);
    assert_null (shared);
    zactor_destroy (&actor);
}

//  The notice hook runs after inputs, and its notice comes up once
static void
test_notice_comes_up_once (void **state)
{
    (void) state;
    fake_record_t record = { 0 };
    zactor_t *actor = rumor_shell_new (&fake_vtable, fake_new (&record));
    for (int i = 0; i < 3; i++)
        s_share (actor, NULL, s_envelope (3, (uint64_t) i, 1));
    s_send_command (actor, "ECHO", 9, "end", 0);
    int notices = 0;
    zmsg_t *msg;
    while ((msg = s_recv (actor, WAIT_MS))) {
        bool end = zframe_streq (zmsg_first (msg), "REPLY");
        if (zframe_streq (zmsg_first (msg), "NOTICE")) {
            notices++;
            assert_true (zframe_streq (zmsg_next (msg), "TWO"));
        }
        zmsg_destroy (&msg);
        if (end)
            break;
    }
    assert_int_equal (notices, 1);
    zactor_destroy (&actor);
}

//  True if msg is an EVENT effect (one frame, effects.h)
static bool
s_is_event (zmsg_t *msg)
{
    rumor_fx_view_t view;
    return zmsg_size (msg) == 1
        && rumor_fx_parse (zmsg_first (msg), &view) == 0 && !view.is_send;
}

//  A supervisor that stops reading never blocks the shell: effects wait in
//  a bounded backlog, the rest are dropped and counted, and every effect is
//  either delivered or counted
static void
test_full_pipe_never_blocks_and_drops_are_counted (void **state)
{
    (void) state;
    fake_record_t record = { 0 };
    zactor_t *actor = rumor_shell_new (&fake_vtable, fake_new (&record));
    uint32_t flood = 3 * RUMOR_SHELL_BACKLOG_MAX;
    s_send_command (actor, "FLOOD", 1, NULL, flood);
    //  Read nothing until the shell has flushed the flood: commands run in
    //  order, so once the ECHO after it is handled, the flood met a full
    //  pipe whatever the machine's speed
    s_send_command (actor, "ECHO", 3, "after", 0);
    int64_t deadline = zclock_mono () + WAIT_MS;
    while (__atomic_load_n (&record.echoes, __ATOMIC_SEQ_CST) == 0
    &&     zclock_mono () < deadline)
        zclock_sleep (1);           //  poll the shared record until deadline
    assert_int_equal (__atomic_load_n (&record.echoes, __ATOMIC_SEQ_CST), 1);
    //  The shell still answers while we read nothing
    s_send_command (actor, "STATS", 2, NULL, 0);
    size_t delivered = 0;
    uint64_t dropped = 0;
    bool stats = false;
    zmsg_t *msg;
    while (!stats && (msg = s_recv (actor, WAIT_MS))) {
        if (s_is_event (msg))
            delivered++;
        else
        if (zframe_streq (zmsg_first (msg), "REPLY")) {
            zframe_t *kind = zmsg_pop (msg);
            zframe_destroy (&kind);
            kind = zmsg_first (msg);
            uint32_t seq;
            memcpy (&seq, zframe_data (kind), sizeof (seq));
            char *name;
            while (seq == 2 && (name = zmsg_popstr (msg))) {
                char *value = zmsg_popstr (msg);
                if (streq (name, "shell.fake.dropped"))
                    dropped = strtoull (value, NULL, 10);
                free (name);
                free (value);
            }
            stats = seq == 2;
        }
        zmsg_destroy (&msg);
    }
    assert_true (stats);
    assert_true (dropped > 0);
    //  Effects left in the backlog when STATS was answered still come
    while ((msg = s_recv (actor, 200))) {
        if (s_is_event (msg))
            delivered++;
        zmsg_destroy (&msg);
    }
    assert_int_equal (delivered + dropped, flood);
    zactor_destroy (&actor);
}

//  The pipe primitives every hop uses: a read that finds nothing returns
//  at once and leaves the socket's own timeout as it was; a send to a
//  full pipe returns -1 and leaves the message whole; a multi-frame
//  message arrives whole and in order.
static void
test_try_recv_and_try_send_never_block (void **state)
{
    (void) state;
    zsock_t *writer = zsock_new_pair ("@inproc://test-shell-try");
    zsock_t *reader = zsock_new_pair (">inproc://test-shell-try");
    assert_non_null (writer);
    assert_non_null (reader);
    zsock_set_sndtimeo (writer, 0);
    //  A read that waited would wait the test's whole ctest timeout
    zsock_set_rcvtimeo (reader, 600000);
    assert_null (rumor_shell_try_recv (reader));
    assert_int_equal (errno, EAGAIN);
    assert_int_equal (zsock_rcvtimeo (reader), 600000);
    //  Fill the pipe (both ends' high-water marks), counting what went
    size_t sent = 0;
    zmsg_t *msg = NULL;
    while (true) {
        msg = zmsg_new ();
        zmsg_addstr (msg, "first");
        zmsg_addmem (msg, &sent, sizeof (sent));
        if (rumor_shell_try_send (&msg, writer))
            break;
        assert_null (msg);
        sent++;
        assert_true (sent < 100000);
    }
    //  The refused message is whole
    assert_non_null (msg);
    assert_int_equal (zmsg_size (msg), 2);
    assert_true (zframe_streq (zmsg_first (msg), "first"));
    zmsg_destroy (&msg);
    //  Everything sent arrives, each message whole and in order
    for (size_t index = 0; index < sent; index++) {
        zframe_t *frame = rumor_shell_try_recv (reader);
        assert_non_null (frame);
        assert_true (zframe_streq (frame, "first"));
        assert_true (zframe_more (frame));
        zframe_destroy (&frame);
        frame = zframe_recv (reader);
        assert_non_null (frame);
        assert_false (zframe_more (frame));
        size_t seq;
        assert_int_equal (zframe_size (frame), sizeof (seq));
        memcpy (&seq, zframe_data (frame), sizeof (seq));
        assert_int_equal (seq, index);
        zframe_destroy (&frame);
    }
    assert_null (rumor_shell_try_recv (reader));
    zsock_destroy (&reader);
    zsock_destroy (&writer);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_message_reaches_core_and_effects_come_back),
        cmocka_unit_test (test_core_is_ticked_at_its_deadline),
        cmocka_unit_test (test_events_reach_core_with_their_kind),
        cmocka_unit_test (test_commands_are_answered_by_seq),
        cmocka_unit_test (test_shared_message_is_released_by_the_shell),
        cmocka_unit_test (test_notice_comes_up_once),
        cmocka_unit_test (test_full_pipe_never_blocks_and_drops_are_counted),
        cmocka_unit_test (test_try_recv_and_try_send_never_block),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
