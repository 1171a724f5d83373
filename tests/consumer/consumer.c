//  A program outside the rumor tree: built against an installed librumor
//  by tests/install_consumer.sh, with pkg-config and with find_package.
#include <rumor.h>
#include <stdio.h>

int
main (void)
{
    int major, minor, patch;
    rumor_version (&major, &minor, &patch);
    printf ("rumor %d.%d.%d protocol %u\n", major, minor, patch,
            rumor_protocol_version () >> 16);
    //  The library we run with must be the one whose header we built with
    if (RUMOR_MAKE_VERSION (major, minor, patch) != RUMOR_VERSION)
        return 1;
    return rumor_protocol_version () == 0;
}
