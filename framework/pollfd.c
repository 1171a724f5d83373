/*  =========================================================================
    rumor_pollfd - a file handle that czmq's zpoller can safely take
    =========================================================================
*/

#include "pollfd.h"
#include <stdlib.h>
#include <unistd.h>

rumor_pollfd_t *
rumor_pollfd_new (int fd)
{
    rumor_pollfd_t *self = (rumor_pollfd_t *) calloc (1, sizeof (*self));
    if (self)
        self->fd = fd;
    return self;
}

void
rumor_pollfd_destroy (rumor_pollfd_t **self_p)
{
    if (self_p && *self_p) {
        if ((*self_p)->fd >= 0)
            close ((*self_p)->fd);
        free (*self_p);
        *self_p = NULL;
    }
}
