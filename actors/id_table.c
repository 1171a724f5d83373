/*  =========================================================================
    rumor_id_table - an index of 32-bit values by the node id each stands for

    Open addressing with linear probing; deletion shifts the following run
    back (no tombstones), so a table that sees members come and go for
    days keeps short probe sequences.
    =========================================================================
*/

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "id_table.h"

#define S_CAPACITY_MIN  16

static const rumor_id_t *
s_key (const rumor_id_table_t *self, uint32_t slot)
{
    return self->key (self->arg, slot - 1);
}

//  Ids are random or derived from names by a hash, but they also come from
//  the network: mix both halves so that no byte pattern lines them up
static size_t
s_home (const rumor_id_table_t *self, const rumor_id_t *id)
{
    uint64_t a, b;
    memcpy (&a, id->bytes, 8);
    memcpy (&b, id->bytes + 8, 8);
    uint64_t h = a ^ (b * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return (size_t) h & (self->capacity - 1);
}

void
rumor_id_table_init (rumor_id_table_t *self, rumor_id_table_key_fn *key,
                     const void *arg)
{
    assert (self);
    assert (key);
    memset (self, 0, sizeof (*self));
    self->key = key;
    self->arg = arg;
}

void
rumor_id_table_clear (rumor_id_table_t *self)
{
    assert (self);
    free (self->slots);
    self->slots = NULL;
    self->capacity = 0;
    self->size = 0;
}

//  Slot holding id, or the empty slot where it would go
static size_t
s_find (const rumor_id_table_t *self, const rumor_id_t *id)
{
    size_t mask = self->capacity - 1;
    size_t at = s_home (self, id);
    while (self->slots [at]
       &&  memcmp (s_key (self, self->slots [at]), id, RUMOR_ID_SIZE) != 0)
        at = (at + 1) & mask;
    return at;
}

uint32_t
rumor_id_table_lookup (const rumor_id_table_t *self, const rumor_id_t *id)
{
    assert (self && id);
    if (!self->size)
        return RUMOR_ID_TABLE_NONE;
    return self->slots [s_find (self, id)] - 1;
}

static void
s_grow (rumor_id_table_t *self)
{
    uint32_t *old = self->slots;
    size_t old_capacity = self->capacity;
    self->capacity = old_capacity? old_capacity * 2: S_CAPACITY_MIN;
    self->slots = (uint32_t *) calloc (self->capacity, sizeof (uint32_t));
    assert (self->slots);
    for (size_t i = 0; i < old_capacity; i++)
        if (old [i])
            self->slots [s_find (self, s_key (self, old [i]))] = old [i];
    free (old);
}

void
rumor_id_table_insert (rumor_id_table_t *self, uint32_t value)
{
    assert (self);
    assert (value < RUMOR_ID_TABLE_NONE);
    if ((self->size + 1) * 4 > self->capacity * 3)
        s_grow (self);
    size_t at = s_find (self, self->key (self->arg, value));
    assert (!self->slots [at]);
    self->slots [at] = value + 1;
    self->size++;
}

uint32_t
rumor_id_table_delete (rumor_id_table_t *self, const rumor_id_t *id)
{
    assert (self && id);
    if (!self->size)
        return RUMOR_ID_TABLE_NONE;
    size_t mask = self->capacity - 1;
    size_t hole = s_find (self, id);
    uint32_t slot = self->slots [hole];
    if (!slot)
        return RUMOR_ID_TABLE_NONE;
    //  Backward shift: move up each later value of the run that may live
    //  in the hole (its home is not cyclically within (hole, at])
    size_t at = hole;
    while (true) {
        at = (at + 1) & mask;
        uint32_t next = self->slots [at];
        if (!next)
            break;
        size_t home = s_home (self, s_key (self, next));
        if (((at - home) & mask) >= ((at - hole) & mask)) {
            self->slots [hole] = next;
            hole = at;
        }
    }
    self->slots [hole] = 0;
    self->size--;
    return slot - 1;
}

void
rumor_id_table_update (rumor_id_table_t *self, const rumor_id_t *id,
                       uint32_t value)
{
    assert (self && id);
    assert (value < RUMOR_ID_TABLE_NONE);
    assert (self->size);
    size_t at = s_find (self, id);
    assert (self->slots [at]);
    self->slots [at] = value + 1;
}

size_t
rumor_id_table_size (const rumor_id_table_t *self)
{
    assert (self);
    return self->size;
}
