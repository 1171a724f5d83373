/*  =========================================================================
    rumor_prng - seeded pseudo-random numbers for the pure cores
    =========================================================================
*/

#include "prng.h"
#include <assert.h>
#include <string.h>

static uint64_t
s_splitmix (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
rumor_prng_seed (rumor_prng_t *self, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        self->s [i] = s_splitmix (&seed);
}

uint64_t
rumor_prng_next (rumor_prng_t *self)
{
    uint64_t *s = self->s;
    uint64_t result = s_rotl (s [1] * 5, 7) * 9;
    uint64_t t = s [1] << 17;
    s [2] ^= s [0];
    s [3] ^= s [1];
    s [1] ^= s [2];
    s [0] ^= s [3];
    s [2] ^= t;
    s [3] = s_rotl (s [3], 45);
    return result;
}

uint32_t
rumor_prng_below (rumor_prng_t *self, uint32_t n)
{
    assert (n > 0);
    //  Lemire's multiply-shift: unbiased enough for protocol choices
    return (uint32_t) (((rumor_prng_next (self) >> 32) * (uint64_t) n) >> 32);
}

double
rumor_prng_unit (rumor_prng_t *self)
{
    return (double) (rumor_prng_next (self) >> 11) * 0x1.0p-53;
}

void
rumor_prng_shuffle (rumor_prng_t *self, void *items, size_t n,
                    size_t item_size)
{
    unsigned char *base = (unsigned char *) items;
    unsigned char tmp [64];
    assert (item_size <= sizeof (tmp));
    for (size_t i = n; i > 1; i--) {
        size_t j = rumor_prng_below (self, (uint32_t) i);
        memcpy (tmp, base + (i - 1) * item_size, item_size);
        memcpy (base + (i - 1) * item_size, base + j * item_size, item_size);
        memcpy (base + j * item_size, tmp, item_size);
    }
}
