/*  =========================================================================
    rumor_id_table - an index of 32-bit values by the node id each stands for

    Every protocol core keeps one record per member (membership's entries,
    the detector's targets, anti-entropy's and app's peers) and looks them
    up by node id. A simulated cluster of N nodes holds N^2 such pairs, so
    the index costs what it stores: one 32-bit value per slot (open
    addressing, linear probing, at most 3/4 full), about 6.5 bytes per
    member. The values are the caller's: a record's handle in its slab
    (slab.h) or its position in an array. The key is never copied: the
    table asks the caller's key function for the id of a value it holds.
    (Pointer slots cost twice that; a zhashx per core cost about 100 bytes
    per member in each of the four cores. Keeping 32 bits of each id's hash
    beside its slot, to skip reading non-matching items, was measured: 5%
    faster, 3% more memory in rumor-sim; memory is what bounds the
    simulated cluster size.)

    Not ordered: callers that iterate keep their own array. While a value
    is in the table, its key function must give its id: a caller that
    moves a record (a value that is a position) deletes or updates the
    table before the old position stops giving the old id.
    =========================================================================
*/

#ifndef RUMOR_ID_TABLE_H_INCLUDED
#define RUMOR_ID_TABLE_H_INCLUDED

#include "id.h"

//  The id of a value held in the table (never NULL)
typedef const rumor_id_t *(rumor_id_table_key_fn) (const void *arg,
                                                     uint32_t value);

//  Not a value: what lookup and delete return for an id not held
#define RUMOR_ID_TABLE_NONE     UINT32_MAX

typedef struct {
    uint32_t *slots;                //  capacity slots: value + 1, 0 = empty
    size_t capacity;                //  0 or a power of two
    size_t size;                    //  values held
    rumor_id_table_key_fn *key;     //  id of a value
    const void *arg;                //  key's first argument
} rumor_id_table_t;

//  Start an empty table; key (arg, value) gives the id of a value held.
//  Allocates nothing yet.
void rumor_id_table_init (rumor_id_table_t *self, rumor_id_table_key_fn *key,
                          const void *arg);

//  Free the slots; the table is empty and reusable.
void rumor_id_table_clear (rumor_id_table_t *self);

//  The value held for this id, or RUMOR_ID_TABLE_NONE.
uint32_t rumor_id_table_lookup (const rumor_id_table_t *self,
                                const rumor_id_t *id);

//  Add a value (below RUMOR_ID_TABLE_NONE); its id must not be held yet.
void rumor_id_table_insert (rumor_id_table_t *self, uint32_t value);

//  Remove the value held for this id, if any; returns it, or
//  RUMOR_ID_TABLE_NONE.
uint32_t rumor_id_table_delete (rumor_id_table_t *self, const rumor_id_t *id);

//  Replace the value held for id (which must be held) with value, whose
//  id is the same.
void rumor_id_table_update (rumor_id_table_t *self, const rumor_id_t *id,
                            uint32_t value);

//  Number of values held.
size_t rumor_id_table_size (const rumor_id_table_t *self);

#endif
