/*  =========================================================================
    rumor_slab - fixed-size records in chunks, named by 32-bit handles

    The cores keep one record per member, and a simulated cluster of N
    nodes holds N^2 of them: a record's malloc rounding, the pointer to it
    in an array and the pointer to it in an index would cost more than the
    record. A slab hands out records of one size from chunks of 2^shift
    records, named by a 32-bit handle that an index (id_table.h) or an
    array can hold in 4 bytes. A record never moves while it is allocated,
    so pointers to it stay valid until it is freed; freed records are
    reused (last freed first), and chunks are kept until the slab is
    cleared, so a slab holds its high-water mark of records.
    =========================================================================
*/

#ifndef RUMOR_SLAB_H_INCLUDED
#define RUMOR_SLAB_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  Not a handle
#define RUMOR_SLAB_NONE     UINT32_MAX

typedef struct {
    char **chunks;                  //  chunk pointers
    size_t n_chunks;                //  chunks allocated
    size_t max_chunks;              //  room in chunks
    size_t record_size;             //  bytes per record (>= 4)
    unsigned shift;                 //  2^shift records per chunk
    uint32_t high;                  //  handles ever handed out
    uint32_t free_head;             //  last freed record, or NONE; each
                                    //  free record holds the next one in
                                    //  its first 4 bytes
    size_t size;                    //  records allocated
} rumor_slab_t;

//  Start an empty slab of records of record_size bytes (at least 4), in
//  chunks of 2^shift records (1..16). Allocates nothing yet.
void rumor_slab_init (rumor_slab_t *self, size_t record_size, unsigned shift);

//  Free every chunk; every handle is then invalid, the slab empty.
void rumor_slab_clear (rumor_slab_t *self);

//  A new zeroed record; returns its handle.
uint32_t rumor_slab_alloc (rumor_slab_t *self);

//  Give a record back; its handle is invalid from now on.
void rumor_slab_free (rumor_slab_t *self, uint32_t handle);

//  Records allocated.
size_t rumor_slab_size (const rumor_slab_t *self);

//  The record of an allocated handle.
static inline void *
rumor_slab_at (const rumor_slab_t *self, uint32_t handle)
{
    return self->chunks [handle >> self->shift]
         + (size_t) (handle & ((1u << self->shift) - 1)) * self->record_size;
}

#endif
