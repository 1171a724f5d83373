/*  =========================================================================
    rumor - gossip framework in C on ZeroMQ

    The public API. This release holds the protocol cores and the
    simulator; the node API (rumor_new, rumor_start, set/get, say/hear,
    whisper, query) arrives with live nodes and is not in this header yet.
    =========================================================================
*/

#ifndef RUMOR_H_INCLUDED
#define RUMOR_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Library version of this header
#define RUMOR_VERSION_MAJOR 0
#define RUMOR_VERSION_MINOR 1
#define RUMOR_VERSION_PATCH 0

#define RUMOR_MAKE_VERSION(major, minor, patch) \
    ((major) * 10000 + (minor) * 100 + (patch))
#define RUMOR_VERSION \
    RUMOR_MAKE_VERSION (RUMOR_VERSION_MAJOR, RUMOR_VERSION_MINOR, RUMOR_VERSION_PATCH)

//  Version of the library actually linked, to compare with the macros
//  above: a program built against one header and run with another library
//  can tell.
void rumor_version (int *major, int *minor, int *patch);

//  Wire protocol version spoken by this library: (major << 16) | minor.
//  Nodes refuse frames of another major version.
unsigned int rumor_protocol_version (void);

#ifdef __cplusplus
}
#endif

#endif
