/*  =========================================================================
    control_check - the bounds rumord checks on every control request

    A request that decodes (rumorctl__request__unpack) is checked here
    before rumord acts on it; a request out of bounds gets STATUS_BAD_REQUEST
    with the reason returned here, and never changes the node. Kept apart
    from rumord.c so that fuzz_control (tests/fuzz) reaches it without the
    agent around it.
    =========================================================================
*/

#ifndef CONTROL_CHECK_H_INCLUDED
#define CONTROL_CHECK_H_INCLUDED

#include <stdint.h>
#include "control.pb-c.h"

//  Longest TTL or timeout accepted: 30 days in ms (rumord.c defines the
//  same; the compiler refuses a different redefinition)
#define AGENT_TIME_MAX          (30LL * 24 * 3600 * 1000)
//  Largest value or payload: the library's cap (RUMOR_VALUE_MAX)
#define AGENT_VALUE_MAX         65536

//  Checks a decoded request's field bounds (schemas/control.proto);
//  returns NULL, or what is wrong as "field: bounds".
const char *agent_control_check (const Rumorctl__Request *request);

#endif
