/*  =========================================================================
    rumor_node_limits - rumor_set_limit, rumor_limit, rumor_limit_name

    The table of the user-facing limits (framework/rumor_limits.h has what each
    one bounds and why its default): name, default, range, and where the
    node keeps its value. node.c owns the node; it lends us its limits
    through rumor_node_limits.
    =========================================================================
*/

#include "rumor.h"
#include "rumor_limits.h"

//  node.c: the node's limits (zero = default) and whether it runs
rumor_limits_t *rumor_node_limits (rumor_t *self, bool *running);

typedef struct {
    const char *name;               //  rumord's --limit NAME
    int64_t dflt;                   //  default
    int64_t min;                    //  smallest accepted
    int64_t max;                    //  largest accepted
    size_t offset;                  //  the field in rumor_limits_t
} s_limit_t;

#define S_LIMIT(NAME, name, field) \
    { name, RUMOR_LIMIT_##NAME##_DFLT, RUMOR_LIMIT_##NAME##_MIN, \
      RUMOR_LIMIT_##NAME##_MAX, offsetof (rumor_limits_t, field) }
//  In rumor_limit_t order
static const s_limit_t s_limits [RUMOR_LIMITS] = {
    S_LIMIT (MESSAGE_BYTES, "max-message-bytes", message_bytes),
    S_LIMIT (MEMBERS, "max-members", members),
    S_LIMIT (KEYS, "max-keys", keys),
    S_LIMIT (VALUE_BYTES, "max-value-bytes", value_bytes),
    S_LIMIT (EVENTS_PER_SEC, "max-events-per-sec", events_per_sec),
    S_LIMIT (QUEUE, "max-queue", queue)
};
#undef S_LIMIT

static bool
s_known (rumor_limit_t limit)
{
    return (int) limit >= 0 && (int) limit < RUMOR_LIMITS;
}

static int64_t *
s_field (rumor_limits_t *limits, rumor_limit_t limit)
{
    return (int64_t *) ((char *) limits + s_limits [limit].offset);
}

const char *
rumor_limit_name (rumor_limit_t limit)
{
    return s_known (limit)? s_limits [limit].name: NULL;
}

int
rumor_set_limit (rumor_t *self, rumor_limit_t limit, int64_t value)
{
    if (!self || !s_known (limit)
    ||  value < s_limits [limit].min || value > s_limits [limit].max)
        return RUMOR_EINVAL;
    bool running;
    rumor_limits_t *limits = rumor_node_limits (self, &running);
    if (running)
        return RUMOR_ESTATE;
    *s_field (limits, limit) = value;
    return RUMOR_OK;
}

int64_t
rumor_limit (rumor_t *self, rumor_limit_t limit)
{
    if (!self || !s_known (limit))
        return RUMOR_EINVAL;
    bool running;
    int64_t value = *s_field (rumor_node_limits (self, &running), limit);
    return value > 0? value: s_limits [limit].dflt;
}
