/*  =========================================================================
    rumor_prng - seeded pseudo-random numbers for the pure cores

    xoshiro256** seeded through splitmix64. Each core owns one, seeded from
    its config, so a core's choices replay exactly for a given seed. Never
    used for anything secret.
    =========================================================================
*/

#ifndef RUMOR_PRNG_H_INCLUDED
#define RUMOR_PRNG_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s [4];                 //  xoshiro256 state
} rumor_prng_t;

//  Seed the generator; any seed, zero included, gives a valid state.
void     rumor_prng_seed (rumor_prng_t *self, uint64_t seed);
//  Next 64 random bits.
uint64_t rumor_prng_next (rumor_prng_t *self);
//  Uniform integer in [0, n); n must be > 0.
uint32_t rumor_prng_below (rumor_prng_t *self, uint32_t n);
//  Uniform double in [0, 1).
double   rumor_prng_unit (rumor_prng_t *self);
//  Fisher-Yates shuffle of an array of n items of item_size bytes.
void     rumor_prng_shuffle (rumor_prng_t *self, void *items, size_t n,
                             size_t item_size);

#endif
