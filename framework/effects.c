/*  =========================================================================
    rumor_fx - the outputs of a pure core
    =========================================================================
*/

#include "effects.h"

//  The fixed part of a SEND: type byte and destination id
#define S_SEND_HEAD     (1 + RUMOR_ID_SIZE)
//  Longest endpoint or event kind/extra string an effect carries: the
//  cores take endpoints from the wire or the program (bounded there to
//  RUMOR_NAME_MAX) and name kinds themselves; extra is at most a hex id
//  or a short word. A longer one is refused like an oversized body.
#define S_STRING_MAX    RUMOR_NAME_MAX

struct _rumor_fx_t {
    zlistx_t *queue;                //  zframe_t effects, oldest first
};

static void
s_frame_destroy (void **item)
{
    zframe_destroy ((zframe_t **) item);
}

rumor_fx_t *
rumor_fx_new (void)
{
    rumor_fx_t *self = (rumor_fx_t *) zmalloc (sizeof (rumor_fx_t));
    assert (self);
    self->queue = zlistx_new ();
    assert (self->queue);
    zlistx_set_destructor (self->queue, s_frame_destroy);
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

//  Append string and its NUL at head [*used]; false if it does not fit.
static bool
s_put_string (byte *head, size_t *used, size_t max, const char *string)
{
    size_t size = strlen (string) + 1;
    if (size > S_STRING_MAX + 1 || *used + size > max)
        return false;
    memcpy (head + *used, string, size);
    *used += size;
    return true;
}

int
rumor_fx_send (rumor_fx_t *self, const rumor_id_t *to,
               const char *endpoint, const Rumor__Envelope *body)
{
    assert (self);
    assert (body);
    assert (to || endpoint);
    byte head [S_SEND_HEAD + S_STRING_MAX + 1];
    head [0] = RUMOR_FX_SEND;
    if (to)
        memcpy (head + 1, to->bytes, RUMOR_ID_SIZE);
    else
        memset (head + 1, 0, RUMOR_ID_SIZE);
    size_t used = S_SEND_HEAD;
    if (!s_put_string (head, &used, sizeof (head), endpoint? endpoint: ""))
        return -1;
    zframe_t *frame = rumor_codec_pack_after (head, used, &body->base);
    if (!frame)
        return -1;
    zlistx_add_end (self->queue, frame);
    return 0;
}

int
rumor_fx_event (rumor_fx_t *self, const char *kind,
                const ProtobufCMessage *detail, const char *extra)
{
    assert (self);
    assert (kind);
    assert (detail);
    byte head [1 + 2 * (S_STRING_MAX + 1)];
    head [0] = RUMOR_FX_EVENT;
    size_t used = 1;
    if (!s_put_string (head, &used, sizeof (head), kind)
    ||  !s_put_string (head, &used, sizeof (head), extra? extra: ""))
        return -1;
    zframe_t *frame = rumor_codec_pack_after (head, used, detail);
    if (!frame)
        return -1;
    zlistx_add_end (self->queue, frame);
    return 0;
}

zframe_t *
rumor_fx_pop (rumor_fx_t *self)
{
    assert (self);
    //  Detach so the list's destructor does not free what we return
    zframe_t *frame = (zframe_t *) zlistx_first (self->queue);
    if (frame)
        zlistx_detach_cur (self->queue);
    return frame;
}

size_t
rumor_fx_size (rumor_fx_t *self)
{
    assert (self);
    return zlistx_size (self->queue);
}

int
rumor_fx_parse_data (const byte *data, size_t size, rumor_fx_view_t *view)
{
    assert (view);
    memset (view, 0, sizeof (*view));
    if (size == 0 || !data)
        return -1;
    const byte *at = data + 1;
    const byte *end = data + size;
    if (data [0] == RUMOR_FX_SEND) {
        if (size < S_SEND_HEAD)
            return -1;
        view->is_send = true;
        memcpy (view->to.bytes, data + 1, RUMOR_ID_SIZE);
        at = data + S_SEND_HEAD;
        view->endpoint = rumor_codec_take_string (&at, end);
        if (!view->endpoint)
            return -1;
    }
    else
    if (data [0] == RUMOR_FX_EVENT) {
        view->kind = rumor_codec_take_string (&at, end);
        view->extra = view->kind? rumor_codec_take_string (&at, end): NULL;
        if (!view->extra || !view->kind [0])
            return -1;
    }
    else
        return -1;
    view->body = at;
    view->body_size = (size_t) (end - at);
    return 0;
}

int
rumor_fx_parse (zframe_t *frame, rumor_fx_view_t *view)
{
    assert (frame);
    return rumor_fx_parse_data (zframe_data (frame), zframe_size (frame),
                                view);
}
