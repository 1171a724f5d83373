/*  =========================================================================
    control_check - the bounds rumord checks on every control request

    See control_check.h.
    =========================================================================
*/

#include <stdbool.h>
#include <string.h>
#include "control_check.h"
#include "agent_secret.h"

//  Whether text has min..max bytes (NULL counts as empty)
static bool
s_text_ok (const char *text, size_t min, size_t max)
{
    size_t length = text? strlen (text): 0;
    return length >= min && length <= max;
}

const char *
agent_control_check (const Rumorctl__Request *request)
{
    switch (request->command_case) {
        case RUMORCTL__REQUEST__COMMAND_GET:
            if (!s_text_ok (request->get->member, 0, 255))
                return "get.member: 0..255 bytes";
            if (!s_text_ok (request->get->key, 1, 255))
                return "get.key: 1..255 bytes";
            return NULL;
        case RUMORCTL__REQUEST__COMMAND_SET:
            if (!s_text_ok (request->set->key, 1, 255))
                return "set.key: 1..255 bytes";
            if (request->set->value.len > AGENT_VALUE_MAX)
                return "set.value: at most 65536 bytes";
            if (request->set->ttl_ms > (uint64_t) AGENT_TIME_MAX)
                return "set.ttl_ms: at most 30 days";
            return NULL;
        case RUMORCTL__REQUEST__COMMAND_DELETE:
            return s_text_ok (request->delete_->key, 1, 255)? NULL:
                   "delete.key: 1..255 bytes";
        case RUMORCTL__REQUEST__COMMAND_KEYS:
            return s_text_ok (request->keys->member, 0, 255)? NULL:
                   "keys.member: 0..255 bytes";
        case RUMORCTL__REQUEST__COMMAND_SAY:
            if (!s_text_ok (request->say->topic, 1, 255))
                return "say.topic: 1..255 bytes";
            return request->say->payload.len <= AGENT_VALUE_MAX? NULL:
                   "say.payload: at most 65536 bytes";
        case RUMORCTL__REQUEST__COMMAND_LISTEN:
            return s_text_ok (request->listen->pattern, 0, 255)? NULL:
                   "listen.pattern: 0..255 bytes";
        case RUMORCTL__REQUEST__COMMAND_WHISPER:
            if (!s_text_ok (request->whisper->member, 1, 255))
                return "whisper.member: 1..255 bytes";
            if (!s_text_ok (request->whisper->topic, 1, 255))
                return "whisper.topic: 1..255 bytes";
            return request->whisper->payload.len <= AGENT_VALUE_MAX? NULL:
                   "whisper.payload: at most 65536 bytes";
        case RUMORCTL__REQUEST__COMMAND_QUERY:
            if (!s_text_ok (request->query->topic, 1, 255))
                return "query.topic: 1..255 bytes";
            if (request->query->timeout_ms > (uint64_t) AGENT_TIME_MAX)
                return "query.timeout_ms: at most 30 days";
            return request->query->payload.len <= AGENT_VALUE_MAX? NULL:
                   "query.payload: at most 65536 bytes";
        case RUMORCTL__REQUEST__COMMAND_RESPOND:
            if (!s_text_ok (request->respond->member, 1, 255))
                return "respond.member: 1..255 bytes";
            return request->respond->payload.len <= AGENT_VALUE_MAX? NULL:
                   "respond.payload: at most 65536 bytes";
        case RUMORCTL__REQUEST__COMMAND_JOIN:
            return s_text_ok (request->join->endpoint, 1, 255)? NULL:
                   "join.endpoint: 1..255 bytes";
        case RUMORCTL__REQUEST__COMMAND_TAGS:
            if (request->tags->n_set > 64)
                return "tags.set: at most 64 tags";
            for (size_t index = 0; index < request->tags->n_set; index++) {
                Rumorctl__Tag *tag = request->tags->set [index];
                if (!tag || !s_text_ok (tag->key, 1, 255)
                ||  !s_text_ok (tag->value, 0, 255))
                    return "tags.set: keys 1..255 bytes, values 0..255";
            }
            return NULL;
        case RUMORCTL__REQUEST__COMMAND_KEYRING:
            if (request->keyring->op < RUMORCTL__KEYRING_OP__KEYRING_INSTALL
            ||  request->keyring->op > RUMORCTL__KEYRING_OP__KEYRING_LIST)
                return "keyring.op: install, use, remove or list";
            if (request->keyring->timeout_ms > (uint64_t) AGENT_TIME_MAX)
                return "keyring.timeout_ms: at most 30 days";
            if (request->keyring->op == RUMORCTL__KEYRING_OP__KEYRING_LIST)
                return request->keyring->secret.len == 0? NULL:
                       "keyring.secret: must be empty for list";
            return agent_secret_check ((const char *) request->keyring->secret.data,
                                       request->keyring->secret.len)?
                   "keyring.secret: 16..1024 bytes, no NUL": NULL;
        case RUMORCTL__REQUEST__COMMAND__NOT_SET:
            return "no command";
        default:
            return NULL;
    }
}
