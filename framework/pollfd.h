/*  =========================================================================
    rumor_pollfd - a file handle that czmq's zpoller can safely take

    zpoller_add takes a file handle as a pointer to it, and zpoller_wait
    resolves each reader with zsock_resolve, which first probes the pointer
    with zmq_getsockopt. libzmq 4.3.4 then reads its socket tag about 1 KB
    past the pointer: past a lone int that read may leave the allocation,
    and crash when it reaches an unmapped page. A rumor_pollfd_t heads a
    zeroed block large enough that the probe reads only our zeros, which
    never match libzmq's tag. Pass the rumor_pollfd_t itself to zpoller_add.
    =========================================================================
*/

#ifndef RUMOR_POLLFD_H_INCLUDED
#define RUMOR_POLLFD_H_INCLUDED

#include <stdint.h>

#define RUMOR_POLLFD_BLOCK  4096

typedef struct {
    int fd;                         //  the handle, or -1; must come first
    uint8_t zeros [RUMOR_POLLFD_BLOCK - sizeof (int)];
} rumor_pollfd_t;

//  A pollable holder of fd (which may be -1 and set later). NULL only
//  out of memory.
rumor_pollfd_t *rumor_pollfd_new (int fd);
//  Close the handle, if any, and free the holder. Nullifies the pointer.
void rumor_pollfd_destroy (rumor_pollfd_t **self_p);

#endif
