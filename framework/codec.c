/*  =========================================================================
    rumor_codec - the only code that packs or unpacks rumor's wire protocol
    =========================================================================
*/

#include "codec.h"

//  --------------------------------------------------------------------------
//  Packing

zframe_t *
rumor_codec_pack (const ProtobufCMessage *msg)
{
    assert (msg);
    size_t size = protobuf_c_message_get_packed_size (msg);
    if (size > RUMOR_FRAME_MAX)
        return NULL;
    zframe_t *frame = zframe_new (NULL, size);
    assert (frame);
    protobuf_c_message_pack (msg, zframe_data (frame));
    return frame;
}

zframe_t *
rumor_codec_seal (const rumor_header_t *header,
                  Rumor__MemberUpdate **piggyback, size_t n,
                  const uint8_t *body, size_t body_size)
{
    assert (header);
    Rumor__Envelope head = RUMOR__ENVELOPE__INIT;
    head.version = RUMOR_PROTOCOL_VERSION;
    head.cluster = header->cluster;
    head.sender = rumor_id_bin (&header->sender);
    head.generation = header->generation;
    head.incarnation = header->incarnation;
    head.seq = header->seq;
    if (!rumor_id_is_zero (&header->target))
        head.target = rumor_id_bin (&header->target);
    head.n_piggyback = n;
    head.piggyback = piggyback;

    size_t head_size = rumor__envelope__get_packed_size (&head);
    if (head_size + body_size > RUMOR_FRAME_MAX)
        return NULL;
    zframe_t *frame = zframe_new (NULL, head_size + body_size);
    assert (frame);
    rumor__envelope__pack (&head, zframe_data (frame));
    if (body_size)
        memcpy (zframe_data (frame) + head_size, body, body_size);
    return frame;
}

//  --------------------------------------------------------------------------
//  Field validation. Each check names the bound it enforces.

bool
rumor_codec_valid_string (const char *string, size_t max)
{
    //  protobuf-c gives "" for an absent string and rejects invalid UTF-8
    return string && strnlen (string, max + 1) <= max;
}

static bool
s_valid_id (ProtobufCBinaryData bin)
{
    return bin.len == RUMOR_ID_SIZE && bin.data;
}

static bool
s_valid_id_or_empty (ProtobufCBinaryData bin)
{
    return bin.len == 0 || s_valid_id (bin);
}

static bool
s_valid_state (Rumor__State state)
{
    return state >= RUMOR__STATE__STATE_ALIVE && state <= RUMOR__STATE__STATE_LEFT;
}

static bool
s_valid_tags (Rumor__Tag **tags, size_t n)
{
    if (n > RUMOR_TAGS_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!tags [i]
        ||  !rumor_codec_valid_string (tags [i]->key, RUMOR_KEY_MAX)
        ||  !tags [i]->key [0]
        ||  !rumor_codec_valid_string (tags [i]->value, RUMOR_KEY_MAX))
            return false;
    }
    return true;
}

bool
rumor_codec_valid_member (const Rumor__MemberUpdate *member)
{
    return member
        && s_valid_id (member->id)
        && s_valid_state (member->state)
        && rumor_codec_valid_string (member->name, RUMOR_NAME_MAX)
        && rumor_codec_valid_string (member->endpoint, RUMOR_NAME_MAX)
        && s_valid_tags (member->tags, member->n_tags)
        && s_valid_id_or_empty (member->accuser);
}

static bool
s_valid_members (Rumor__MemberUpdate **members, size_t n)
{
    if (n > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!rumor_codec_valid_member (members [i]))
            return false;
    return true;
}

bool
rumor_codec_valid_kv (const Rumor__KvEntry *entry)
{
    return entry
        && s_valid_id (entry->origin)
        && rumor_codec_valid_string (entry->key, RUMOR_KEY_MAX)
        && entry->key [0]
        && entry->value.len <= RUMOR_VALUE_MAX
        && entry->version >= 1
        //  A tombstone carries no value
        && (!entry->deleted || entry->value.len == 0);
}

static bool
s_valid_digest (Rumor__DigestEntry **entries, size_t n)
{
    if (n > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!entries [i] || !s_valid_id (entries [i]->origin))
            return false;
    return true;
}

static bool
s_valid_refs (Rumor__EventRef **refs, size_t n)
{
    if (n > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!refs [i] || !s_valid_id (refs [i]->origin))
            return false;
    return true;
}

static bool
s_valid_event (const Rumor__Event *event)
{
    return event
        && s_valid_id (event->origin)
        && rumor_codec_valid_string (event->topic, RUMOR_KEY_MAX)
        && event->topic [0]
        && event->payload.len <= RUMOR_VALUE_MAX;
}

static bool
s_valid_query (const Rumor__Query *query)
{
    return query
        && s_valid_id (query->origin)
        && rumor_codec_valid_string (query->topic, RUMOR_KEY_MAX)
        && query->payload.len <= RUMOR_VALUE_MAX;
}

static bool
s_valid_verdict (const Rumor__Verdict *verdict)
{
    if (!verdict || !s_valid_id (verdict->id) || !s_valid_state (verdict->state)
    ||  verdict->n_suspecters > RUMOR_REPEATED_MAX
    ||  verdict->n_rtts > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < verdict->n_suspecters; i++)
        if (!s_valid_id (verdict->suspecters [i]))
            return false;
    return true;
}

static bool
s_valid_kvs (Rumor__KvEntry **entries, size_t n)
{
    if (n > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!rumor_codec_valid_kv (entries [i]))
            return false;
    return true;
}

//  Membership bodies
static bool
s_valid_membership_body (const Rumor__Envelope *env)
{
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_JOIN:
            return env->join && rumor_codec_valid_member (env->join->self);
        case RUMOR__ENVELOPE__BODY_JOIN_REPLY:
            return env->join_reply
                && s_valid_members (env->join_reply->members,
                                    env->join_reply->n_members);
        case RUMOR__ENVELOPE__BODY_LEAVE:
            return env->leave != NULL;
        case RUMOR__ENVELOPE__BODY_UPDATES:
            return env->updates
                && s_valid_members (env->updates->updates,
                                    env->updates->n_updates);
        case RUMOR__ENVELOPE__BODY_PUSH_PULL:
            return env->push_pull
                && s_valid_members (env->push_pull->members,
                                    env->push_pull->n_members);
        default:
            return false;
    }
}

//  Detection bodies
static bool
s_valid_detection_body (const Rumor__Envelope *env)
{
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_PING:
            return env->ping && s_valid_id_or_empty (env->ping->target)
                && s_valid_id_or_empty (env->ping->requester);
        case RUMOR__ENVELOPE__BODY_ACK:
            return env->ack && s_valid_id_or_empty (env->ack->target);
        case RUMOR__ENVELOPE__BODY_PING_REQ:
            return env->ping_req && s_valid_id (env->ping_req->target)
                && rumor_codec_valid_string (env->ping_req->endpoint,
                                             RUMOR_NAME_MAX);
        case RUMOR__ENVELOPE__BODY_NACK:
            return env->nack && s_valid_id_or_empty (env->nack->target);
        default:
            return false;
    }
}

//  Anti-entropy bodies
static bool
s_valid_anti_entropy_body (const Rumor__Envelope *env)
{
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_DIGEST:
            return env->digest
                && s_valid_digest (env->digest->entries, env->digest->n_entries);
        case RUMOR__ENVELOPE__BODY_DELTA:
            return env->delta
                && s_valid_kvs (env->delta->entries, env->delta->n_entries);
        case RUMOR__ENVELOPE__BODY_DELTA_REQUEST:
            return env->delta_request
                && s_valid_digest (env->delta_request->entries,
                                   env->delta_request->n_entries);
        default:
            return false;
    }
}

//  Application bodies
static bool
s_valid_app_body (const Rumor__Envelope *env)
{
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_EVENT:
            return s_valid_event (env->event);
        case RUMOR__ENVELOPE__BODY_IHAVE:
            return env->ihave && s_valid_refs (env->ihave->refs, env->ihave->n_refs);
        case RUMOR__ENVELOPE__BODY_GRAFT:
            return env->graft && s_valid_refs (env->graft->refs, env->graft->n_refs);
        case RUMOR__ENVELOPE__BODY_PRUNE:
            return env->prune != NULL;
        case RUMOR__ENVELOPE__BODY_DIRECT:
            return env->direct
                && rumor_codec_valid_string (env->direct->topic, RUMOR_KEY_MAX)
                && env->direct->payload.len <= RUMOR_VALUE_MAX;
        case RUMOR__ENVELOPE__BODY_QUERY:
            return s_valid_query (env->query);
        case RUMOR__ENVELOPE__BODY_RESPONSE:
            return env->response
                && env->response->payload.len <= RUMOR_VALUE_MAX;
        default:
            return false;
    }
}

rumor_owner_t
rumor_codec_owner (const Rumor__Envelope *env)
{
    int kind = (int) env->body_case;
    if (kind >= 16 && kind < 32)
        return RUMOR_OWNER_MEMBERSHIP;
    if (kind >= 32 && kind < 48)
        return RUMOR_OWNER_DETECTOR;
    if (kind >= 48 && kind < 64)
        return RUMOR_OWNER_ANTI_ENTROPY;
    if (kind >= 64 && kind < 80)
        return RUMOR_OWNER_APP;
    return RUMOR_OWNER_NONE;
}

static bool
s_valid_body (const Rumor__Envelope *env)
{
    switch (rumor_codec_owner (env)) {
        case RUMOR_OWNER_MEMBERSHIP:   return s_valid_membership_body (env);
        case RUMOR_OWNER_DETECTOR:     return s_valid_detection_body (env);
        case RUMOR_OWNER_ANTI_ENTROPY: return s_valid_anti_entropy_body (env);
        case RUMOR_OWNER_APP:          return s_valid_app_body (env);
        default:                       return false;
    }
}

//  --------------------------------------------------------------------------
//  Decoding

#define BUMP(stats, field)  do { if (stats) (stats)->field++; } while (0)

Rumor__Envelope *
rumor_codec_decode (const uint8_t *data, size_t size, uint64_t cluster,
                    rumor_codec_stats_t *stats)
{
    //  Bound the size before protobuf-c allocates anything for it
    if (size > RUMOR_FRAME_MAX) {
        BUMP (stats, oversized);
        return NULL;
    }
    Rumor__Envelope *env = rumor__envelope__unpack (NULL, size, data);
    if (!env) {
        BUMP (stats, malformed);
        return NULL;
    }
    if ((env->version >> 16) != RUMOR_PROTOCOL_MAJOR)
        BUMP (stats, bad_version);
    else
    if (env->cluster != cluster)
        BUMP (stats, bad_cluster);
    else
    if (!s_valid_id (env->sender) || !s_valid_id_or_empty (env->target))
        BUMP (stats, bad_sender);
    else
    if (rumor_codec_owner (env) == RUMOR_OWNER_NONE)
        BUMP (stats, no_body);
    else
    if (!s_valid_body (env)
    ||  !s_valid_members (env->piggyback, env->n_piggyback))
        BUMP (stats, bad_field);
    else {
        BUMP (stats, accepted);
        return env;
    }
    rumor__envelope__free_unpacked (env, NULL);
    return NULL;
}

void
rumor_codec_free (Rumor__Envelope **env_p)
{
    assert (env_p);
    if (*env_p) {
        rumor__envelope__free_unpacked (*env_p, NULL);
        *env_p = NULL;
    }
}

static bool
s_valid_detail (const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (d == &rumor__member_update__descriptor)
        return rumor_codec_valid_member ((const Rumor__MemberUpdate *) msg);
    if (d == &rumor__kv_entry__descriptor)
        return rumor_codec_valid_kv ((const Rumor__KvEntry *) msg);
    if (d == &rumor__verdict__descriptor)
        return s_valid_verdict ((const Rumor__Verdict *) msg);
    if (d == &rumor__event__descriptor)
        return s_valid_event ((const Rumor__Event *) msg);
    if (d == &rumor__query__descriptor)
        return s_valid_query ((const Rumor__Query *) msg);
    if (d == &rumor__direct__descriptor) {
        const Rumor__Direct *direct = (const Rumor__Direct *) msg;
        return rumor_codec_valid_string (direct->topic, RUMOR_KEY_MAX)
            && direct->payload.len <= RUMOR_VALUE_MAX;
    }
    if (d == &rumor__response__descriptor)
        return ((const Rumor__Response *) msg)->payload.len <= RUMOR_VALUE_MAX;
    return false;                   //  not a detail type
}

ProtobufCMessage *
rumor_codec_decode_detail (const ProtobufCMessageDescriptor *descriptor,
                           const uint8_t *data, size_t size)
{
    assert (descriptor);
    if (size > RUMOR_FRAME_MAX)
        return NULL;
    ProtobufCMessage *msg = protobuf_c_message_unpack (descriptor, NULL, size, data);
    if (msg && !s_valid_detail (msg)) {
        protobuf_c_message_free_unpacked (msg, NULL);
        msg = NULL;
    }
    return msg;
}

void
rumor_codec_free_detail (ProtobufCMessage **msg_p)
{
    assert (msg_p);
    if (*msg_p) {
        protobuf_c_message_free_unpacked (*msg_p, NULL);
        *msg_p = NULL;
    }
}

uint64_t
rumor_codec_refused (const rumor_codec_stats_t *stats)
{
    return stats->oversized + stats->malformed + stats->bad_version
         + stats->bad_cluster + stats->bad_sender + stats->no_body
         + stats->bad_field;
}
