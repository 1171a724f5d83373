/*  =========================================================================
    rumor_fx - the outputs of a pure core
    =========================================================================
*/

#include "effects.h"

struct _rumor_fx_t {
    zlistx_t *queue;                //  zmsg_t effects, oldest first
};

//  Add a string frame with its NUL, so a view can borrow it in place.
static void
s_add_string (zmsg_t *msg, const char *string)
{
    zmsg_addmem (msg, string, strlen (string) + 1);
}

static void
s_msg_destroy (void **item)
{
    zmsg_destroy ((zmsg_t **) item);
}

rumor_fx_t *
rumor_fx_new (void)
{
    rumor_fx_t *self = (rumor_fx_t *) zmalloc (sizeof (rumor_fx_t));
    assert (self);
    self->queue = zlistx_new ();
    assert (self->queue);
    zlistx_set_destructor (self->queue, s_msg_destroy);
    return self;
}

void
rumor_fx_destroy (rumor_fx_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rumor_fx_t *self = *self_p;
        zlistx_destroy (&self->queue);
        free (self);
        *self_p = NULL;
    }
}

int
rumor_fx_send (rumor_fx_t *self, const rumor_id_t *to,
               const char *endpoint, const Rumor__Envelope *body)
{
    assert (self);
    assert (body);
    assert (to || endpoint);
    zframe_t *packed = rumor_codec_pack (&body->base);
    if (!packed)
        return -1;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "SEND");
    if (to)
        zmsg_addmem (msg, to->bytes, RUMOR_ID_SIZE);
    else
        zmsg_addmem (msg, NULL, 0);
    s_add_string (msg, endpoint? endpoint: "");
    zmsg_append (msg, &packed);
    zlistx_add_end (self->queue, msg);
    return 0;
}

int
rumor_fx_event (rumor_fx_t *self, const char *kind,
                const ProtobufCMessage *detail, const char *extra)
{
    assert (self);
    assert (kind);
    assert (detail);
    zframe_t *packed = rumor_codec_pack (detail);
    if (!packed)
        return -1;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "EVENT");
    s_add_string (msg, kind);
    zmsg_append (msg, &packed);
    s_add_string (msg, extra? extra: "");
    zlistx_add_end (self->queue, msg);
    return 0;
}

zmsg_t *
rumor_fx_pop (rumor_fx_t *self)
{
    assert (self);
    //  Detach so the list's destructor does not free what we return
    zmsg_t *msg = (zmsg_t *) zlistx_first (self->queue);
    if (msg)
        zlistx_detach_cur (self->queue);
    return msg;
}

size_t
rumor_fx_size (rumor_fx_t *self)
{
    assert (self);
    return zlistx_size (self->queue);
}

static bool
s_frame_is (zframe_t *frame, const char *string)
{
    return frame && zframe_streq (frame, string);
}

//  A string frame, as a NUL-terminated string borrowed from the frame.
//  Effects are built by rumor_fx_send/event, which add the NUL; anything
//  else is refused.
static const char *
s_frame_string (zframe_t *frame)
{
    size_t size = zframe_size (frame);
    if (size == 0 || zframe_data (frame) [size - 1] != 0)
        return NULL;
    return (const char *) zframe_data (frame);
}

int
rumor_fx_parse (zmsg_t *msg, rumor_fx_view_t *view)
{
    assert (msg);
    assert (view);
    memset (view, 0, sizeof (*view));
    if (zmsg_size (msg) != 4)
        return -1;
    zframe_t *head = zmsg_first (msg);
    zframe_t *second = zmsg_next (msg);
    zframe_t *third = zmsg_next (msg);
    zframe_t *fourth = zmsg_next (msg);
    if (s_frame_is (head, "SEND")) {
        view->is_send = true;
        if (zframe_size (second) == RUMOR_ID_SIZE)
            memcpy (view->to.bytes, zframe_data (second), RUMOR_ID_SIZE);
        else
        if (zframe_size (second) != 0)
            return -1;
        view->endpoint = s_frame_string (third);
        view->payload = fourth;
        return view->endpoint? 0: -1;
    }
    if (s_frame_is (head, "EVENT")) {
        view->kind = s_frame_string (second);
        view->payload = third;
        view->extra = s_frame_string (fourth);
        return view->kind && view->kind [0] && view->extra? 0: -1;
    }
    return -1;
}
