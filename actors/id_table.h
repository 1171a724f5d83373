/*  =========================================================================
    rumor_id_table - an index of items by the node id they contain

    Every protocol core keeps one record per member (membership's entries,
    the detector's targets, anti-entropy's and app's peers) and looks them
    up by node id. A zhashx per core cost about 100 bytes per member in
    each of the four cores (a chained item, a copy of the key, its malloc
    headers): a simulated cluster of N nodes holds N^2 such pairs. This
    table stores only a pointer per slot (open addressing, linear probing,
    at most 3/4 full): the key is the id already held in the item, at
    key_offset. Nothing is allocated per item. (Keeping 32 bits of each
    id's hash beside its slot, to skip reading non-matching items, was
    measured: 5% faster, 3% more memory in rumor-sim; memory is what
    bounds the simulated cluster size.)

    Not ordered: callers that iterate keep their own array. The table owns
    only its slots, never the items.
    =========================================================================
*/

#ifndef RUMOR_ID_TABLE_H_INCLUDED
#define RUMOR_ID_TABLE_H_INCLUDED

#include "id.h"

typedef struct {
    void **slots;                   //  capacity slots, NULL = empty
    size_t capacity;                //  0 or a power of two
    size_t size;                    //  items held
    size_t key_offset;              //  offset of the rumor_id_t in an item
} rumor_id_table_t;

//  Start an empty table of items whose id is at key_offset
//  (offsetof (item_type, id_field)). Allocates nothing yet.
void rumor_id_table_init (rumor_id_table_t *self, size_t key_offset);

//  Free the slots (never the items); the table is empty and reusable.
void rumor_id_table_clear (rumor_id_table_t *self);

//  The item with this id, or NULL.
void *rumor_id_table_lookup (const rumor_id_table_t *self, const rumor_id_t *id);

//  Add an item; its id must not be in the table already.
void rumor_id_table_insert (rumor_id_table_t *self, void *item);

//  Remove the item with this id, if any; returns it, or NULL.
void *rumor_id_table_delete (rumor_id_table_t *self, const rumor_id_t *id);

//  Number of items held.
size_t rumor_id_table_size (const rumor_id_table_t *self);

//  The cores' member records keep a name and an endpoint in one block (a
//  cluster of N nodes holds N^2 records: one allocation less each counts).
//  Returns "first\0second\0" (NULL counts as ""), sets *second_p to the
//  second string in it; free the block only. first and second may point
//  into a block that the caller frees once this returned.
char *rumor_string_pair (const char *first, const char *second,
                         char **second_p);

#endif
