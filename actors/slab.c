/*  =========================================================================
    rumor_slab - fixed-size records in chunks, named by 32-bit handles
    =========================================================================
*/

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "slab.h"

void
rumor_slab_init (rumor_slab_t *self, size_t record_size, unsigned shift)
{
    assert (self);
    assert (record_size >= sizeof (uint32_t));
    assert (shift >= 1 && shift <= 16);
    memset (self, 0, sizeof (*self));
    self->record_size = record_size;
    self->shift = shift;
    self->free_head = RUMOR_SLAB_NONE;
}

void
rumor_slab_clear (rumor_slab_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->n_chunks; i++)
        free (self->chunks [i]);
    free (self->chunks);
    rumor_slab_init (self, self->record_size, self->shift);
}

uint32_t
rumor_slab_alloc (rumor_slab_t *self)
{
    assert (self);
    uint32_t handle = self->free_head;
    if (handle != RUMOR_SLAB_NONE)
        memcpy (&self->free_head, rumor_slab_at (self, handle),
                sizeof (uint32_t));
    else {
        //  The callers' tables are bounded far below 2^32 records
        assert (self->high < RUMOR_SLAB_NONE);
        handle = self->high++;
        if ((handle >> self->shift) == self->n_chunks) {
            if (self->n_chunks == self->max_chunks) {
                self->max_chunks = self->max_chunks? self->max_chunks * 2: 4;
                self->chunks = (char **) realloc (self->chunks,
                                   self->max_chunks * sizeof (char *));
                assert (self->chunks);
            }
            self->chunks [self->n_chunks] = (char *) malloc (
                self->record_size << self->shift);
            assert (self->chunks [self->n_chunks]);
            self->n_chunks++;
        }
    }
    memset (rumor_slab_at (self, handle), 0, self->record_size);
    self->size++;
    return handle;
}

void
rumor_slab_free (rumor_slab_t *self, uint32_t handle)
{
    assert (self);
    assert (handle < self->high && self->size > 0);
    memcpy (rumor_slab_at (self, handle), &self->free_head, sizeof (uint32_t));
    self->free_head = handle;
    self->size--;
}

size_t
rumor_slab_size (const rumor_slab_t *self)
{
    assert (self);
    return self->size;
}
