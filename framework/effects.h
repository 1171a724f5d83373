/*  =========================================================================
    rumor_fx - the outputs of a pure core

    A core never touches a socket: it queues effects, and its shell (the
    actor in a live node, or the simulated network) drains them in order
    with rumor_fx_pop. An effect is one zframe_t, so that it crosses an
    inproc pipe as one ZeroMQ message (one allocation and one send, not one
    per field: the effects of a busy node are most of its pipe traffic).
    Its first byte says what it is, which no string frame of the pipes
    starts with:

    SEND (RUMOR_FX_SEND): a message for one peer
        0x01 | to: 16-byte id, all zero when only the endpoint is known
             | endpoint: "tcp://host:port" and a NUL ("" when the id is
               enough)
             | body: packed Envelope with only its body set (see codec.h),
               to the end of the frame
    EVENT (RUMOR_FX_EVENT): something other actors or the program should
    learn
        0x02 | kind and a NUL | extra and a NUL
             | detail: packed protobuf sub-message, to the end of the frame

    The event kinds, who emits them and who consumes them, are the contract
    between the cores (the simulator and the live node route them alike):

    kind        detail        extra          from          to
    ----------  ------------  -------------  ------------  ------------------
    member      MemberUpdate  ""             membership    detector, anti-
                                                           entropy, app,
                                                           program: a member
                                                           is new or changed
                                                           state/incarnation/
                                                           endpoint/tags
    confirm     MemberUpdate  ""             membership    detector: another
                                                           node also suspects
                                                           a suspect member
                                                           (Lifeguard)
    suspect     MemberUpdate  ""             detector      membership: local
                                                           suspicion, accuser
                                                           = self
    dead        MemberUpdate  ""             detector      membership: the
                                                           suspicion timed out
    verdict     Verdict       ""             detector      program: evidence
                                                           behind a SUSPECT
                                                           or DEAD
    kv          KvEntry       set|delete|    anti-entropy  program: a key
                              expire                       changed
    event       Event         sender hex     app           program: an event
                                                           matched a hear
    direct      Direct        sender hex     app           program
    query       Query         ""             app           program: answer
                                                           with respond
    response    Response      responder hex  app           program
    query-done  Query         "complete" or  app           program: the query
                              "deadline"                   finished
    =========================================================================
*/

#ifndef RUMOR_EFFECTS_H_INCLUDED
#define RUMOR_EFFECTS_H_INCLUDED

#include "codec.h"

//  First byte of an effect frame
#define RUMOR_FX_SEND   0x01
#define RUMOR_FX_EVENT  0x02

typedef struct _rumor_fx_t rumor_fx_t;

//  Create an empty effect queue.
rumor_fx_t *rumor_fx_new (void);

//  Destroy the queue and every effect still in it; nullifies the pointer.
void rumor_fx_destroy (rumor_fx_t **self_p);

//  Queue a SEND of body to a peer, by id (to may be NULL) and/or endpoint
//  (may be NULL). body is an Envelope with only its body set; it is packed
//  here. Returns 0, or -1 if it does not fit in a frame (nothing queued).
int rumor_fx_send (rumor_fx_t *self, const rumor_id_t *to,
                   const char *endpoint, const Rumor__Envelope *body);

//  Queue an EVENT of the given kind; detail is packed here; extra may be
//  NULL (sent as ""). Returns 0, or -1 if detail does not fit in a frame.
int rumor_fx_event (rumor_fx_t *self, const char *kind,
                    const ProtobufCMessage *detail, const char *extra);

//  Take the oldest effect, or NULL if none. Caller owns it.
zframe_t *rumor_fx_pop (rumor_fx_t *self);

//  Number of queued effects.
size_t rumor_fx_size (rumor_fx_t *self);

//  Parsed view of an effect, for shells and tests. Pointers borrow from
//  the frame.
typedef struct {
    bool is_send;                   //  SEND (true) or EVENT (false)
    rumor_id_t to;                  //  SEND: destination, zero if by endpoint
    const char *endpoint;           //  SEND: endpoint, "" if none
    const char *kind;               //  EVENT: kind
    const char *extra;              //  EVENT: extra string
    const byte *body;               //  SEND: body; EVENT: packed detail
    size_t body_size;               //  ... its size (may be 0)
} rumor_fx_view_t;

//  Parse an effect into view, and keep frame alive while using the view.
//  Returns 0, or -1 if frame is not a well-formed effect: an unknown first
//  byte, a SEND shorter than its id, a string without its NUL, or an EVENT
//  with an empty kind. The body is not decoded here. A SEND to a zero id
//  with an empty endpoint is well-formed (a peer may have sent its
//  all-zero id): the shell drops what it cannot route.
int rumor_fx_parse (zframe_t *frame, rumor_fx_view_t *view);

//  The same, of size bytes at data (a frame read straight off a socket).
int rumor_fx_parse_data (const byte *data, size_t size,
                         rumor_fx_view_t *view);

#endif
