/*  =========================================================================
    agent_common - what rumord and rumorctl must agree on

    The default control endpoint of a node: ipc:///tmp/rumord-NAME.ctl,
    where NAME is the node name with every character outside [A-Za-z0-9._-]
    replaced by '_'. rumord with no --name uses the host name, so rumord and
    rumorctl with no options find each other on one host.
    =========================================================================
*/

#ifndef AGENT_COMMON_H_INCLUDED
#define AGENT_COMMON_H_INCLUDED

#include <stdio.h>
#include <string.h>
#include <unistd.h>

//  Largest control frame either side accepts. A request holds at most a
//  64 KiB value plus short strings; replies with a full member table stay
//  well under this too.
#define AGENT_FRAME_MAX     (256 * 1024)

//  Writes the default control endpoint for node name into buffer
static inline void
agent_default_control (const char *name, char *buffer, size_t size)
{
    char safe [256];
    size_t length = 0;
    for (const char *c = name; *c && length < sizeof (safe) - 1; c++, length++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
                  || (*c >= '0' && *c <= '9') || *c == '.' || *c == '-'
                  || *c == '_';
        safe [length] = plain? *c: '_';
    }
    safe [length] = 0;
    snprintf (buffer, size, "ipc:///tmp/rumord-%s.ctl", safe);
}

//  Writes the default node name (the host name) into buffer
static inline void
agent_default_name (char *buffer, size_t size)
{
    if (gethostname (buffer, size) != 0 || !*buffer)
        snprintf (buffer, size, "rumord");
    buffer [size - 1] = 0;
}

#endif
