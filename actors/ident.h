/*  =========================================================================
    rumor_ident - interned member identities: id, generation, name, endpoint

    Each core keeps, for every member it holds, who that member is: its
    id, its generation (start time), its name and its endpoint. A
    simulated cluster of N nodes holds 4 N^2 such records (four cores per
    node) but only about N distinct identities, and copies of them were
    most of what a member cost. A pool interns identities as immutable,
    counted entries: equal contents give the same entry, named by a 32-bit
    handle, and a core keeps one reference per record instead of a copy.

    rumor-sim gives one pool to every core of every node (they all run in
    one thread); a core given none makes its own (a live node runs each
    core in its own thread, and a pool is not thread-safe). Sharing one
    changes nothing a core does: an entry is found by its contents only,
    nothing in a pool depends on time or randomness, and no core can tell
    who else holds an entry. A change of identity (a restart, a new
    endpoint) is a new entry; holders of the old one keep what they were
    told until they are told otherwise, exactly as with private copies.
    =========================================================================
*/

#ifndef RUMOR_IDENT_H_INCLUDED
#define RUMOR_IDENT_H_INCLUDED

#include "id.h"
#include "id_table.h"
#include "slab.h"

//  Not a handle
#define RUMOR_IDENT_NONE    UINT32_MAX

typedef struct {
    rumor_id_t id;                  //  member id
    uint64_t generation;            //  member generation
    const char *endpoint;           //  endpoint, "" if unknown (in this
                                    //  entry's allocation, after name)
    uint32_t refs;                  //  references held (the pool's)
    uint32_t next;                  //  next entry with the same id, or
                                    //  RUMOR_IDENT_NONE (the pool's)
    char name [];                   //  name, "" if unknown
} rumor_ident_t;

//  A pool; its fields are private, shown for rumor_ident_at only.
typedef struct {
    rumor_slab_t entries;           //  handle -> rumor_ident_t *
    rumor_id_table_t by_id;         //  id -> first entry with that id
    size_t links;                   //  holders of the pool
} rumor_ident_pool_t;

//  A new empty pool, held once.
rumor_ident_pool_t *rumor_ident_pool_new (void);

//  Hold the pool once more (a core that is given one); returns it.
rumor_ident_pool_t *rumor_ident_pool_link (rumor_ident_pool_t *self);

//  Let go of the pool; the last holder frees it with every entry left.
//  Nullifies the pointer.
void rumor_ident_pool_destroy (rumor_ident_pool_t **self_p);

//  Entries in the pool.
size_t rumor_ident_pool_size (const rumor_ident_pool_t *self);

//  A new reference to the entry with these contents (NULL name or
//  endpoint counts as ""), made now if there is none. The strings may be
//  of any length (the cores' inputs are bounded by the codec).
uint32_t rumor_ident_get (rumor_ident_pool_t *self, const rumor_id_t *id,
                          uint64_t generation, const char *name,
                          const char *endpoint);

//  Drop one reference to an entry (RUMOR_IDENT_NONE: nothing); the last
//  one frees it.
void rumor_ident_release (rumor_ident_pool_t *self, uint32_t handle);

//  Make *handle_p (a reference, or RUMOR_IDENT_NONE) a reference to the
//  entry with these contents; nothing changes if it is one already.
//  name and endpoint may point into the entry *handle_p held.
void rumor_ident_set (rumor_ident_pool_t *self, uint32_t *handle_p,
                      const rumor_id_t *id, uint64_t generation,
                      const char *name, const char *endpoint);

//  The entry of a handle held.
static inline const rumor_ident_t *
rumor_ident_at (const rumor_ident_pool_t *self, uint32_t handle)
{
    return *(rumor_ident_t *const *) rumor_slab_at (&self->entries, handle);
}

#endif
