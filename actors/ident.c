/*  =========================================================================
    rumor_ident - interned member identities: id, generation, name, endpoint

    The index holds the first entry of each id; entries of one id (a
    member's restarts, or the same run told with another endpoint) chain
    through next. Such chains are short: each holder keeps one entry per
    id, and they agree as soon as their news has spread.
    =========================================================================
*/

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"

static rumor_ident_t *
s_entry (const rumor_ident_pool_t *self, uint32_t handle)
{
    return *(rumor_ident_t **) rumor_slab_at (&self->entries, handle);
}

static const rumor_id_t *
s_key (const void *arg, uint32_t handle)
{
    return &s_entry ((const rumor_ident_pool_t *) arg, handle)->id;
}

rumor_ident_pool_t *
rumor_ident_pool_new (void)
{
    rumor_ident_pool_t *self = (rumor_ident_pool_t *) calloc (1, sizeof (*self));
    assert (self);
    rumor_slab_init (&self->entries, sizeof (rumor_ident_t *), 8);
    rumor_id_table_init (&self->by_id, s_key, self);
    self->links = 1;
    return self;
}

rumor_ident_pool_t *
rumor_ident_pool_link (rumor_ident_pool_t *self)
{
    assert (self);
    self->links++;
    return self;
}

void
rumor_ident_pool_destroy (rumor_ident_pool_t **self_p)
{
    assert (self_p);
    rumor_ident_pool_t *self = *self_p;
    *self_p = NULL;
    if (!self || --self->links > 0)
        return;
    //  Entries still held: walk each id's chain from the index's slots
    for (size_t i = 0; i < self->by_id.capacity; i++) {
        uint32_t handle = self->by_id.slots [i]? self->by_id.slots [i] - 1
                                              : RUMOR_IDENT_NONE;
        while (handle != RUMOR_IDENT_NONE) {
            rumor_ident_t *entry = s_entry (self, handle);
            handle = entry->next;
            free (entry);
        }
    }
    rumor_id_table_clear (&self->by_id);
    rumor_slab_clear (&self->entries);
    free (self);
}

size_t
rumor_ident_pool_size (const rumor_ident_pool_t *self)
{
    assert (self);
    return rumor_slab_size (&self->entries);
}

static bool
s_matches (const rumor_ident_t *entry, uint64_t generation, const char *name,
           const char *endpoint)
{
    return entry->generation == generation
        && strcmp (entry->name, name) == 0
        && strcmp (entry->endpoint, endpoint) == 0;
}

static uint32_t
s_new_entry (rumor_ident_pool_t *self, const rumor_id_t *id,
             uint64_t generation, const char *name, const char *endpoint)
{
    size_t name_size = strlen (name) + 1;
    size_t endpoint_size = strlen (endpoint) + 1;
    rumor_ident_t *entry = (rumor_ident_t *) malloc (
        sizeof (rumor_ident_t) + name_size + endpoint_size);
    assert (entry);
    entry->id = *id;
    entry->generation = generation;
    entry->refs = 1;
    entry->next = RUMOR_IDENT_NONE;
    memcpy (entry->name, name, name_size);
    memcpy (entry->name + name_size, endpoint, endpoint_size);
    entry->endpoint = entry->name + name_size;
    uint32_t handle = rumor_slab_alloc (&self->entries);
    *(rumor_ident_t **) rumor_slab_at (&self->entries, handle) = entry;
    return handle;
}

uint32_t
rumor_ident_get (rumor_ident_pool_t *self, const rumor_id_t *id,
                 uint64_t generation, const char *name, const char *endpoint)
{
    assert (self);
    assert (id);
    name = name? name: "";
    endpoint = endpoint? endpoint: "";
    uint32_t handle = rumor_id_table_lookup (&self->by_id, id);
    uint32_t last = RUMOR_IDENT_NONE;
    while (handle != RUMOR_IDENT_NONE) {
        rumor_ident_t *entry = s_entry (self, handle);
        if (s_matches (entry, generation, name, endpoint)) {
            //  Held by at most every core of every node: far below 2^32
            assert (entry->refs < UINT32_MAX);
            entry->refs++;
            return handle;
        }
        last = handle;
        handle = entry->next;
    }
    handle = s_new_entry (self, id, generation, name, endpoint);
    if (last == RUMOR_IDENT_NONE)
        rumor_id_table_insert (&self->by_id, handle);
    else
        s_entry (self, last)->next = handle;
    return handle;
}

void
rumor_ident_release (rumor_ident_pool_t *self, uint32_t handle)
{
    assert (self);
    if (handle == RUMOR_IDENT_NONE)
        return;
    rumor_ident_t *entry = s_entry (self, handle);
    assert (entry->refs > 0);
    if (--entry->refs > 0)
        return;
    uint32_t first = rumor_id_table_lookup (&self->by_id, &entry->id);
    assert (first != RUMOR_IDENT_NONE);
    if (first == handle) {
        //  The index names it: hand its slot to the next of its id
        if (entry->next == RUMOR_IDENT_NONE)
            rumor_id_table_delete (&self->by_id, &entry->id);
        else
            rumor_id_table_update (&self->by_id, &entry->id, entry->next);
    }
    else {
        rumor_ident_t *before = s_entry (self, first);
        while (before->next != handle)
            before = s_entry (self, before->next);
        before->next = entry->next;
    }
    free (entry);
    rumor_slab_free (&self->entries, handle);
}

void
rumor_ident_set (rumor_ident_pool_t *self, uint32_t *handle_p,
                 const rumor_id_t *id, uint64_t generation, const char *name,
                 const char *endpoint)
{
    assert (self);
    assert (handle_p);
    uint32_t old = *handle_p;
    if (old != RUMOR_IDENT_NONE) {
        const rumor_ident_t *entry = s_entry (self, old);
        if (rumor_id_eq (&entry->id, id)
        &&  s_matches (entry, generation, name? name: "",
                       endpoint? endpoint: ""))
            return;
    }
    //  The new reference first: name and endpoint may live in the old one
    *handle_p = rumor_ident_get (self, id, generation, name, endpoint);
    rumor_ident_release (self, old);
}
