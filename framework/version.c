/*  =========================================================================
    rumor_version - what the linked library is
    =========================================================================
*/

#include "rumor.h"
#include "codec.h"

void
rumor_version (int *major, int *minor, int *patch)
{
    if (major)
        *major = RUMOR_VERSION_MAJOR;
    if (minor)
        *minor = RUMOR_VERSION_MINOR;
    if (patch)
        *patch = RUMOR_VERSION_PATCH;
}

unsigned int
rumor_protocol_version (void)
{
    return RUMOR_PROTOCOL_VERSION;
}
