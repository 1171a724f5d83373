/*  =========================================================================
    test_id_table - where the protocol cores keep their members: the id
    index (id_table.h), the record slab (slab.h) and interned identities
    (ident.h)

    Every core finds a member's record by id in the index, so a lost or
    phantom entry would be a member forgotten or resurrected. Deletion
    shifts entries back instead of leaving tombstones: the random tests
    below check, after each operation, every id against a plain array. A
    slab handle must name the same record until it is freed, and an
    identity must keep its contents for as long as anyone holds it, however
    many others come and go under the same id.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "id_table.h"
#include "ident.h"
#include "prng.h"
#include "slab.h"

//  Items as the cores hold them: a value (here the item's position in an
//  array) stands for the id the caller finds from it
typedef struct {
    uint64_t before;                //  something ahead of the id
    rumor_id_t id;                  //  the key
    bool held;                      //  in the table (reference model)
} s_item_t;

static const rumor_id_t *
s_item_key (const void *arg, uint32_t value)
{
    return &((const s_item_t *) arg) [value].id;
}

static void
test_usage (void **state)
{
    (void) state;
    s_item_t items [3] = { { 0 } };
    rumor_id_from_name (&items [0].id, "alice");
    rumor_id_from_name (&items [1].id, "bob");
    rumor_id_from_name (&items [2].id, "carol");
    rumor_id_table_t table;
    rumor_id_table_init (&table, s_item_key, items);
    //  Empty: nothing found, nothing to delete
    assert_int_equal (rumor_id_table_lookup (&table, &items [0].id),
                      RUMOR_ID_TABLE_NONE);
    assert_int_equal (rumor_id_table_delete (&table, &items [0].id),
                      RUMOR_ID_TABLE_NONE);
    rumor_id_table_insert (&table, 0);
    rumor_id_table_insert (&table, 1);
    assert_int_equal (rumor_id_table_size (&table), 2);
    //  Found by an equal id, not only by the item's own bytes
    rumor_id_t key;
    rumor_id_from_name (&key, "bob");
    assert_int_equal (rumor_id_table_lookup (&table, &key), 1);
    assert_int_equal (rumor_id_table_lookup (&table, &items [2].id),
                      RUMOR_ID_TABLE_NONE);
    assert_int_equal (rumor_id_table_delete (&table, &items [0].id), 0);
    assert_int_equal (rumor_id_table_lookup (&table, &items [0].id),
                      RUMOR_ID_TABLE_NONE);
    assert_int_equal (rumor_id_table_lookup (&table, &items [1].id), 1);
    assert_int_equal (rumor_id_table_size (&table), 1);
    //  A record that moves (bob to slot 0) is updated in place, while the
    //  old slot still gives its id
    items [0] = items [1];
    rumor_id_table_update (&table, &items [1].id, 0);
    assert_int_equal (rumor_id_table_lookup (&table, &key), 0);
    assert_int_equal (rumor_id_table_size (&table), 1);
    //  Cleared, it is empty and usable again
    rumor_id_table_clear (&table);
    assert_int_equal (rumor_id_table_size (&table), 0);
    assert_int_equal (rumor_id_table_lookup (&table, &key),
                      RUMOR_ID_TABLE_NONE);
    rumor_id_table_insert (&table, 2);
    assert_int_equal (rumor_id_table_lookup (&table, &items [2].id), 2);
    rumor_id_table_clear (&table);
}

//  Every held item is found, every other id is not, and the count agrees
static void
s_check (rumor_id_table_t *table, s_item_t *items, size_t n)
{
    size_t held = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t found = rumor_id_table_lookup (table, &items [i].id);
        if (items [i].held) {
            assert_int_equal (found, i);
            held++;
        }
        else
            assert_int_equal (found, RUMOR_ID_TABLE_NONE);
    }
    assert_int_equal (rumor_id_table_size (table), held);
}

//  Random inserts and deletes through growth and long probe runs: a small
//  id space, so that the table is often near full before it grows and
//  deletions land in the middle of runs
static void
test_random_against_model (void **state)
{
    (void) state;
    enum { ITEMS = 200, OPS = 4000 };
    s_item_t *items = (s_item_t *) calloc (ITEMS, sizeof (s_item_t));
    assert_non_null (items);
    for (size_t i = 0; i < ITEMS; i++)
        rumor_id_from_u64 (&items [i].id, i * 7919);
    rumor_prng_t prng;
    rumor_prng_seed (&prng, 42);
    rumor_id_table_t table;
    rumor_id_table_init (&table, s_item_key, items);
    size_t inserted = 0, deleted = 0;
    for (size_t op = 0; op < OPS; op++) {
        //  Grow to about 3/4 of the ids, then hover there
        uint32_t at = rumor_prng_below (&prng, ITEMS);
        s_item_t *item = &items [at];
        if (!item->held) {
            rumor_id_table_insert (&table, at);
            item->held = true;
            inserted++;
        }
        else
        if (rumor_prng_below (&prng, 4) == 0) {
            assert_int_equal (rumor_id_table_delete (&table, &item->id), at);
            item->held = false;
            deleted++;
        }
        s_check (&table, items, ITEMS);
    }
    //  Both paths ran many times
    assert_true (inserted > 500);
    assert_true (deleted > 300);
    //  Empty it completely, in another order
    for (size_t i = ITEMS; i-- > 0;)
        if (items [i].held) {
            assert_int_equal (rumor_id_table_delete (&table, &items [i].id), i);
            items [i].held = false;
            s_check (&table, items, ITEMS);
        }
    assert_int_equal (rumor_id_table_size (&table), 0);
    rumor_id_table_clear (&table);
    free (items);
}

//  Slab: handles name their records until freed, freed records come back
//  zeroed, across chunks
static void
test_slab (void **state)
{
    (void) state;
    enum { RECORDS = 100 };
    rumor_slab_t slab;
    rumor_slab_init (&slab, sizeof (uint64_t) * 3, 2);     //  4 per chunk
    uint32_t handles [RECORDS];
    for (size_t i = 0; i < RECORDS; i++) {
        handles [i] = rumor_slab_alloc (&slab);
        uint64_t *record = (uint64_t *) rumor_slab_at (&slab, handles [i]);
        assert_int_equal (record [0] | record [1] | record [2], 0);
        record [0] = record [2] = i;
    }
    assert_int_equal (rumor_slab_size (&slab), RECORDS);
    //  Free every third; the others keep their contents
    for (size_t i = 0; i < RECORDS; i += 3)
        rumor_slab_free (&slab, handles [i]);
    for (size_t i = 0; i < RECORDS; i++)
        if (i % 3) {
            uint64_t *record = (uint64_t *) rumor_slab_at (&slab, handles [i]);
            assert_int_equal (record [0], i);
            assert_int_equal (record [2], i);
        }
    //  Freed records are reused, zeroed, before any new one
    size_t freed = (RECORDS + 2) / 3;
    assert_int_equal (rumor_slab_size (&slab), RECORDS - freed);
    for (size_t i = 0; i < freed; i++) {
        uint32_t handle = rumor_slab_alloc (&slab);
        assert_true (handle < RECORDS);
        assert_int_equal (handle % 3, 0);
        uint64_t *record = (uint64_t *) rumor_slab_at (&slab, handle);
        assert_int_equal (record [0] | record [1] | record [2], 0);
    }
    assert_int_equal (rumor_slab_alloc (&slab), RECORDS);
    rumor_slab_clear (&slab);
    assert_int_equal (rumor_slab_size (&slab), 0);
    assert_int_equal (rumor_slab_alloc (&slab), 0);
    rumor_slab_clear (&slab);
}

static void
s_assert_ident (rumor_ident_pool_t *pool, uint32_t handle,
                const rumor_id_t *id, uint64_t generation, const char *name,
                const char *endpoint)
{
    const rumor_ident_t *who = rumor_ident_at (pool, handle);
    assert_true (rumor_id_eq (&who->id, id));
    assert_int_equal (who->generation, generation);
    assert_string_equal (who->name, name);
    assert_string_equal (who->endpoint, endpoint);
}

//  Identities: equal contents, one entry; any difference, another; each
//  lives while held
static void
test_ident (void **state)
{
    (void) state;
    rumor_ident_pool_t *pool = rumor_ident_pool_new ();
    rumor_id_t alice, bob;
    rumor_id_from_name (&alice, "alice");
    rumor_id_from_name (&bob, "bob");
    uint32_t a1 = rumor_ident_get (pool, &alice, 7, "alice", "tcp://a:1");
    uint32_t a2 = rumor_ident_get (pool, &alice, 7, "alice", "tcp://a:1");
    assert_int_equal (a1, a2);
    assert_int_equal (rumor_ident_pool_size (pool), 1);
    //  NULL strings are empty ones
    uint32_t b1 = rumor_ident_get (pool, &bob, 1, NULL, NULL);
    uint32_t b2 = rumor_ident_get (pool, &bob, 1, "", "");
    assert_int_equal (b1, b2);
    s_assert_ident (pool, b1, &bob, 1, "", "");
    //  Same id, other generation or endpoint: other entries, one chain
    uint32_t a3 = rumor_ident_get (pool, &alice, 8, "alice", "tcp://a:1");
    uint32_t a4 = rumor_ident_get (pool, &alice, 7, "alice", "tcp://a:2");
    assert_int_not_equal (a3, a1);
    assert_int_not_equal (a4, a1);
    assert_int_not_equal (a4, a3);
    assert_int_equal (rumor_ident_pool_size (pool), 4);
    //  The first of the chain goes while the others are held
    rumor_ident_release (pool, a1);
    s_assert_ident (pool, a2, &alice, 7, "alice", "tcp://a:1");
    rumor_ident_release (pool, a2);
    assert_int_equal (rumor_ident_pool_size (pool), 3);
    s_assert_ident (pool, a3, &alice, 8, "alice", "tcp://a:1");
    s_assert_ident (pool, a4, &alice, 7, "alice", "tcp://a:2");
    assert_int_equal (rumor_ident_get (pool, &alice, 7, "alice", "tcp://a:2"),
                      a4);
    rumor_ident_release (pool, a4);
    //  Set: a no-op when equal, else a move that may take strings from
    //  the entry it leaves
    uint32_t held = a3;
    rumor_ident_set (pool, &held, &alice, 8, "alice", "tcp://a:1");
    assert_int_equal (held, a3);
    const rumor_ident_t *who = rumor_ident_at (pool, held);
    rumor_ident_set (pool, &held, &alice, 9, who->name, who->endpoint);
    s_assert_ident (pool, held, &alice, 9, "alice", "tcp://a:1");
    uint32_t none = RUMOR_IDENT_NONE;
    rumor_ident_set (pool, &none, &bob, 1, "", "");
    assert_int_equal (none, b1);
    rumor_ident_release (pool, RUMOR_IDENT_NONE);
    //  Left: a4 (held once more since the get above), alice 9, bob 1
    rumor_ident_release (pool, a4);
    assert_int_equal (rumor_ident_pool_size (pool), 2);
    //  A second holder keeps the pool, and the last frees what is left
    rumor_ident_pool_t *other = rumor_ident_pool_link (pool);
    rumor_ident_pool_destroy (&pool);
    assert_null (pool);
    s_assert_ident (other, held, &alice, 9, "alice", "tcp://a:1");
    rumor_ident_pool_destroy (&other);
}

//  Many holders, random gets and releases under few ids: every reference
//  keeps what it was given
static void
test_ident_random (void **state)
{
    (void) state;
    enum { REFS = 300, OPS = 6000 };
    static const char *endpoints [] = { "tcp://h:1", "tcp://h:2", "" };
    rumor_ident_pool_t *pool = rumor_ident_pool_new ();
    rumor_prng_t prng;
    rumor_prng_seed (&prng, 7);
    uint32_t handles [REFS];
    uint64_t generations [REFS];
    uint32_t ids [REFS];
    const char *held_endpoint [REFS];
    for (size_t i = 0; i < REFS; i++)
        handles [i] = RUMOR_IDENT_NONE;
    for (size_t op = 0; op < OPS; op++) {
        size_t i = rumor_prng_below (&prng, REFS);
        if (handles [i] != RUMOR_IDENT_NONE && rumor_prng_below (&prng, 3) == 0) {
            rumor_ident_release (pool, handles [i]);
            handles [i] = RUMOR_IDENT_NONE;
            continue;
        }
        ids [i] = rumor_prng_below (&prng, 5);
        generations [i] = rumor_prng_below (&prng, 3);
        held_endpoint [i] = endpoints [rumor_prng_below (&prng, 3)];
        rumor_id_t id;
        rumor_id_from_u64 (&id, ids [i]);
        rumor_ident_set (pool, &handles [i], &id, generations [i], "n",
                         held_endpoint [i]);
        for (size_t j = 0; j < REFS; j++)
            if (handles [j] != RUMOR_IDENT_NONE) {
                rumor_id_from_u64 (&id, ids [j]);
                s_assert_ident (pool, handles [j], &id, generations [j], "n",
                                held_endpoint [j]);
            }
        //  At most 5 ids x 3 generations x 3 endpoints entries
        assert_true (rumor_ident_pool_size (pool) <= 45);
    }
    for (size_t i = 0; i < REFS; i++)
        rumor_ident_release (pool, handles [i]);
    assert_int_equal (rumor_ident_pool_size (pool), 0);
    rumor_ident_pool_destroy (&pool);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_usage),
        cmocka_unit_test (test_random_against_model),
        cmocka_unit_test (test_slab),
        cmocka_unit_test (test_ident),
        cmocka_unit_test (test_ident_random),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
