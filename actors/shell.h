/*  =========================================================================
    rumor_shell - one czmq actor around any pure core

    Each of the four actors of a node (membership, detector, anti-entropy,
    app) is this same loop around a different core, described by a small
    vtable. The loop is all the I/O a core needs:
      - a zpoller over the actor's pipe, with the core's next deadline as
        the poll timeout;
      - each input (a decoded message, an event from another core, an API
        command) calls the core with now = zclock_time () (wall clock ms:
        TTLs and generations are absolute);
      - after every input or tick, every effect the core queued goes up the
        pipe to the supervisor, unchanged (see framework/effects.h).
    The shell decodes nothing and knows no protocol: the supervisor decoded
    each frame once and passes a shared pointer; the core decides.

    Nothing here ever blocks on the supervisor: a pipe that is full keeps
    effects in a bounded backlog, flushed as soon as the pipe drains; past
    the bound they are dropped and counted ("shell.<core>.dropped"), like
    frames on a full socket. Replies and notices are never dropped: there
    is one per command, at the pace of the node's calls.

    Pipe protocol (supervisor -> actor):

        rumor_shell_shared_frame (NULL, shared), sent as one frame:
            A decoded envelope (rumor_shared_t with .envelope set) for
            on_message. The actor releases its reference.
        rumor_shell_shared_frame (kind, shared), sent as one frame:
            An event of another core (rumor_shared_t with .detail set) for
            on_event. The actor releases its reference.
        (Those two are most of a busy node's pipe traffic: one frame each,
        whose first byte no string starts with. Every other command is a
        multi-frame zmsg:)
        zsock_send (actor, "s4", "STATS", seq);
            Replies "REPLY" seq rc=0, then name/value string pairs: the
            core's counters ("<core>.<counter>") and the shell's
            ("shell.<core>.effects", "shell.<core>.dropped", ...).
        zsock_send (actor, "s4...", COMMAND, seq, args...);
            A core API command (see actors.h). seq 0 asks for no reply;
            otherwise the reply is "REPLY" seq rc [data frames...], rc an
            int32 frame (0 or the core's own negative code; an unknown
            command gets RUMOR_SHELL_EUNKNOWN).
        zstr_send (actor, "$TERM");
            Ends the actor; the core is destroyed.

    Actor -> supervisor:
        SEND or EVENT effect                one frame (effects.h), whose
                                            first byte is no string's
        "REPLY" | seq | rc | data...        answer to a command
        "NOTICE" | what                     a notice from the core's vtable
                                            (membership: "LEFT" once the
                                            graceful leave is spread)

    Numbers in frames (seq, rc, ids, generations) are raw host-order
    integers as zsock_send's '4' and '8' pictures make them: the pipe never
    leaves the process.
    =========================================================================
*/

#ifndef RUMOR_SHELL_H_INCLUDED
#define RUMOR_SHELL_H_INCLUDED

#include <stdatomic.h>
#include <czmq.h>
#include "codec.h"

//  rc of a command the core's vtable does not know
#define RUMOR_SHELL_EUNKNOWN    -100

//  Effects (and replies) kept while the supervisor's side of the pipe is
//  full. Why 4096: the pipe itself holds two HWMs (2 x 1000 messages); a
//  backlog twice that absorbs a burst such as a full JoinReply fan-out or
//  a Delta round to every peer, and bounds memory when the supervisor is
//  stuck (each effect is at most one frame, usually well under 1 KiB).
#define RUMOR_SHELL_BACKLOG_MAX 4096

//  --------------------------------------------------------------------------
//  A decoded message shared read-only between threads

//  The supervisor decodes a frame once and hands the same envelope to the
//  owner actor and, when it carries piggybacked updates, to membership; an
//  event detail is decoded once and handed to every consumer. Each holder
//  calls rumor_shared_release once; the last one frees the message.
typedef struct {
    atomic_int refs;                //  holders left; the last one frees
    Rumor__Envelope *envelope;      //  a decoded frame, or NULL
    ProtobufCMessage *detail;       //  a decoded event detail, or NULL
} rumor_shared_t;

//  Share a decoded envelope or detail (exactly one non-NULL) among refs
//  holders (>= 1). Takes ownership and nullifies the caller's pointer.
rumor_shared_t *rumor_shared_new (Rumor__Envelope **envelope_p,
                                  ProtobufCMessage **detail_p, int refs);

//  Drop one reference; frees the message with the last. Nullifies the
//  caller's pointer; does nothing if it is NULL.
void rumor_shared_release (rumor_shared_t **self_p);

//  First byte of a frame that hands a shared message to an actor
#define RUMOR_SHELL_MSG         0x03    //  envelope, for on_message
#define RUMOR_SHELL_EVENT       0x04    //  event detail, for on_event

//  A new frame handing shared to an actor (one reference travels with
//  it): a decoded envelope when kind is NULL, else an event of that kind.
zframe_t *rumor_shell_shared_frame (const char *kind, rumor_shared_t *shared);

//  --------------------------------------------------------------------------
//  A post: a command for an actor that asks for no reply, as one frame
//  (the program's say and whisper, most of a busy program's traffic):
//      0x05 | actor NUL | command NUL | then each argument: size (uint32)
//      and its bytes
//  The program makes it, the supervisor forwards the same frame to the
//  actor, whose core reads the arguments in place (vtable handle_post).

#define RUMOR_SHELL_POST        0x05
#define RUMOR_SHELL_POST_ARGS   8       //  most arguments a post carries

typedef struct {
    const void *data;               //  bytes, borrowed
    size_t size;                    //  their count
} rumor_shell_arg_t;

typedef struct {
    const char *actor;              //  "app"...
    const char *command;            //  "SAY"...
    rumor_shell_arg_t args [RUMOR_SHELL_POST_ARGS];
    size_t count;                   //  arguments in args
} rumor_shell_post_t;

//  A new post frame of count (<= RUMOR_SHELL_POST_ARGS) arguments.
zframe_t *rumor_shell_post_new (const char *actor, const char *command,
                                const rumor_shell_arg_t *args, size_t count);

//  Read a post frame into post, borrowing from the frame. Returns 0, or -1
//  if it is not one (another first byte, a name without its NUL, an
//  argument past the end, more than RUMOR_SHELL_POST_ARGS of them).
int rumor_shell_post_parse (zframe_t *frame, rumor_shell_post_t *post);

//  --------------------------------------------------------------------------
//  The vtable of a core

typedef struct {
    const char *name;               //  "membership": counter prefix, logs
    void (*destroy) (void **core_p);
    int (*on_message) (void *core, int64_t now_ms,
                       const Rumor__Envelope *env);
    int (*on_event) (void *core, int64_t now_ms, const char *kind,
                     const ProtobufCMessage *detail);
    void (*on_tick) (void *core, int64_t now_ms);
    int64_t (*next_deadline) (void *core);
    zframe_t *(*next_effect) (void *core);
    //  Append the core's counters to reply as name/value string frames.
    void (*stats) (void *core, zmsg_t *reply);
    //  An API command: append rc (int32 frame) and any data to reply,
    //  which already holds "REPLY" and seq. request holds the arguments
    //  after seq. Return false if the command is unknown (nothing added).
    bool (*handle_command) (void *core, int64_t now_ms, const char *command,
                            zmsg_t *request, zmsg_t *reply);
    //  Optional: a post (no reply). Return false if the command is
    //  unknown or its arguments are not what it takes.
    bool (*handle_post) (void *core, int64_t now_ms, const char *command,
                         const rumor_shell_arg_t *args, size_t count);
    //  Optional: after every input or tick, a notice for the supervisor
    //  (e.g. "NOTICE" "LEFT"), or NULL. Caller owns it.
    zmsg_t *(*notice) (void *core);
} rumor_shell_vtable_t;

//  Start an actor running core under vtable. The actor owns the core from
//  now on and destroys it at $TERM (also when this call fails). Returns
//  NULL if the actor could not be created (no sockets left).
zactor_t *rumor_shell_new (const rumor_shell_vtable_t *vtable, void *core);

//  --------------------------------------------------------------------------
//  Frame helpers for pipe messages (shared by the actors, the supervisor
//  and the node). Each pops the next frame; on a missing or wrong-sized
//  frame it returns the default given and counts nothing: pipe messages
//  come from our own code.

uint32_t rumor_shell_pop_u32 (zmsg_t *msg, uint32_t dflt);
uint64_t rumor_shell_pop_u64 (zmsg_t *msg, uint64_t dflt);
int32_t  rumor_shell_pop_i32 (zmsg_t *msg, int32_t dflt);
void    *rumor_shell_pop_ptr (zmsg_t *msg);
//  A string frame as a new string ("" if missing); caller frees.
char    *rumor_shell_pop_str (zmsg_t *msg);
//  A 16-byte id frame; returns 0, or -1 if missing or not 16 bytes.
int      rumor_shell_pop_id (zmsg_t *msg, rumor_id_t *id);

//  Append numbers as raw frames ('4', '8' and 'i32' pictures).
void rumor_shell_add_u32 (zmsg_t *msg, uint32_t value);
void rumor_shell_add_u64 (zmsg_t *msg, uint64_t value);
void rumor_shell_add_i32 (zmsg_t *msg, int32_t value);
//  Append one counter as a name/value pair of strings.
void rumor_shell_add_counter (zmsg_t *msg, const char *prefix,
                              const char *name, uint64_t value);

//  A table of uint64_t counters inside a stats struct, for
//  rumor_shell_add_counters: { "stale_incarnation", offsetof (..., ...) }.
typedef struct {
    const char *name;               //  counter name after the prefix
    size_t offset;                  //  offsetof the uint64_t in the struct
} rumor_shell_counter_t;

//  Append every counter of the table read from stats, as name/value pairs.
void rumor_shell_add_counters (zmsg_t *msg, const char *prefix,
                               const void *stats,
                               const rumor_shell_counter_t *table, size_t n);

//  A new reply "REPLY" | seq, for handlers to complete.
zmsg_t *rumor_shell_reply_new (uint32_t seq);

//  Send msg on sock without ever blocking: returns 0 if sent, -1 if the
//  socket cannot take it now (msg is then left to the caller, untouched)
//  or, with *msg_p NULL, if it was lost halfway (the context ends).
int rumor_shell_try_send (zmsg_t **msg_p, zsock_t *sock);

//  The next frame sock holds, or NULL if it holds none now (errno EAGAIN);
//  never blocks. Cheaper than asking zsock_events first: libzmq answers
//  ZMQ_EVENTS with two system calls (it looks for commands: getpid and a
//  poll) each time, while a receive that finds a frame makes none. Only
//  a read that finds nothing pays them, once per burst. The rest of a
//  multi-frame message is read as usual (zframe_recv): it came whole.
zframe_t *rumor_shell_try_recv (void *sock);

#endif
