/*  =========================================================================
    test_id_table - the id index the protocol cores keep their members in

    Every core finds a member's record by id in this table, so a lost or
    phantom entry would be a member forgotten or resurrected. Deletion
    shifts entries back instead of leaving tombstones: the random test
    below checks, after each operation, every id against a plain array.
    =========================================================================
*/

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>
#include "id_table.h"
#include "prng.h"

//  An item as the cores hold them: the id somewhere inside
typedef struct {
    uint64_t before;                //  something ahead of the id
    rumor_id_t id;                  //  the key
    bool held;                      //  in the table (reference model)
} s_item_t;

static void
test_usage (void **state)
{
    (void) state;
    rumor_id_table_t table;
    rumor_id_table_init (&table, offsetof (s_item_t, id));
    s_item_t alice = { 0 }, bob = { 0 }, carol = { 0 };
    rumor_id_from_name (&alice.id, "alice");
    rumor_id_from_name (&bob.id, "bob");
    rumor_id_from_name (&carol.id, "carol");
    //  Empty: nothing found, nothing to delete
    assert_null (rumor_id_table_lookup (&table, &alice.id));
    assert_null (rumor_id_table_delete (&table, &alice.id));
    rumor_id_table_insert (&table, &alice);
    rumor_id_table_insert (&table, &bob);
    assert_int_equal (rumor_id_table_size (&table), 2);
    //  Found by an equal id, not only by the item's own bytes
    rumor_id_t key;
    rumor_id_from_name (&key, "bob");
    assert_ptr_equal (rumor_id_table_lookup (&table, &key), &bob);
    assert_null (rumor_id_table_lookup (&table, &carol.id));
    assert_ptr_equal (rumor_id_table_delete (&table, &alice.id), &alice);
    assert_null (rumor_id_table_lookup (&table, &alice.id));
    assert_ptr_equal (rumor_id_table_lookup (&table, &bob.id), &bob);
    assert_int_equal (rumor_id_table_size (&table), 1);
    //  Cleared, it is empty and usable again
    rumor_id_table_clear (&table);
    assert_int_equal (rumor_id_table_size (&table), 0);
    assert_null (rumor_id_table_lookup (&table, &bob.id));
    rumor_id_table_insert (&table, &carol);
    assert_ptr_equal (rumor_id_table_lookup (&table, &carol.id), &carol);
    rumor_id_table_clear (&table);
}

//  Every held item is found, every other id is not, and the count agrees
static void
s_check (rumor_id_table_t *table, s_item_t *items, size_t n)
{
    size_t held = 0;
    for (size_t i = 0; i < n; i++) {
        void *found = rumor_id_table_lookup (table, &items [i].id);
        if (items [i].held) {
            assert_ptr_equal (found, &items [i]);
            held++;
        }
        else
            assert_null (found);
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
    rumor_id_table_init (&table, offsetof (s_item_t, id));
    size_t inserted = 0, deleted = 0;
    for (size_t op = 0; op < OPS; op++) {
        //  Grow to about 3/4 of the ids, then hover there
        s_item_t *item = &items [rumor_prng_below (&prng, ITEMS)];
        if (!item->held) {
            rumor_id_table_insert (&table, item);
            item->held = true;
            inserted++;
        }
        else
        if (rumor_prng_below (&prng, 4) == 0) {
            assert_ptr_equal (rumor_id_table_delete (&table, &item->id), item);
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
            assert_ptr_equal (rumor_id_table_delete (&table, &items [i].id),
                              &items [i]);
            items [i].held = false;
            s_check (&table, items, ITEMS);
        }
    assert_int_equal (rumor_id_table_size (&table), 0);
    rumor_id_table_clear (&table);
    free (items);
}

//  A member record's name and endpoint: one block, and a rename may pass
//  strings that live in the block it replaces
static void
test_string_pair (void **state)
{
    (void) state;
    char *endpoint;
    char *block = rumor_string_pair ("node-1", "tcp://127.0.0.1:5670",
                                     &endpoint);
    assert_string_equal (block, "node-1");
    assert_string_equal (endpoint, "tcp://127.0.0.1:5670");
    //  From the old block's own strings, swapped, then freed
    char *swapped_endpoint;
    char *swapped = rumor_string_pair (endpoint, block, &swapped_endpoint);
    free (block);
    assert_string_equal (swapped, "tcp://127.0.0.1:5670");
    assert_string_equal (swapped_endpoint, "node-1");
    free (swapped);
    //  NULL is an empty string, as for a member not yet known by name
    block = rumor_string_pair (NULL, NULL, &endpoint);
    assert_string_equal (block, "");
    assert_string_equal (endpoint, "");
    assert_ptr_equal (endpoint, block + 1);
    free (block);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_usage),
        cmocka_unit_test (test_random_against_model),
        cmocka_unit_test (test_string_pair),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
