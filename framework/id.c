/*  =========================================================================
    rumor_id - node ids and hashes
    =========================================================================
*/

#include "id.h"
#include <string.h>
#include <stdio.h>

#define FNV_OFFSET  14695981039346656037ULL
#define FNV_PRIME   1099511628211ULL

static uint64_t
s_fnv1a (uint64_t hash, const void *data, size_t size)
{
    const uint8_t *byte = (const uint8_t *) data;
    for (size_t i = 0; i < size; i++) {
        hash ^= byte [i];
        hash *= FNV_PRIME;
    }
    return hash;
}

//  splitmix64's finaliser: spreads FNV's weak low bits over the whole word.
static uint64_t
s_mix (uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t
rumor_hash64 (const void *data, size_t size)
{
    return s_mix (s_fnv1a (FNV_OFFSET, data, size));
}

uint64_t
rumor_cluster_hash (const char *cluster)
{
    return rumor_hash64 (cluster, strlen (cluster));
}

static void
s_put_u64 (uint8_t *dest, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        dest [i] = (uint8_t) (value >> (56 - 8 * i));
}

void
rumor_id_from_name (rumor_id_t *self, const char *name)
{
    size_t size = strlen (name);
    uint64_t high = s_mix (s_fnv1a (FNV_OFFSET, name, size));
    //  Second half: the same hash with another start, so the halves differ
    uint64_t low = s_mix (s_fnv1a (FNV_OFFSET ^ 0x5bd1e995ULL, name, size));
    s_put_u64 (self->bytes, high);
    s_put_u64 (self->bytes + 8, low);
}

void
rumor_id_from_u64 (rumor_id_t *self, uint64_t n)
{
    memset (self->bytes, 0, RUMOR_ID_SIZE);
    s_put_u64 (self->bytes + 8, n);
}

int
rumor_id_from_bin (rumor_id_t *self, ProtobufCBinaryData bin)
{
    if (bin.len != RUMOR_ID_SIZE || !bin.data) {
        memset (self->bytes, 0, RUMOR_ID_SIZE);
        return -1;
    }
    memcpy (self->bytes, bin.data, RUMOR_ID_SIZE);
    return 0;
}

ProtobufCBinaryData
rumor_id_bin (const rumor_id_t *self)
{
    ProtobufCBinaryData bin = { RUMOR_ID_SIZE, (uint8_t *) self->bytes };
    return bin;
}

bool
rumor_id_eq_bin (const rumor_id_t *self, ProtobufCBinaryData bin)
{
    return bin.len == RUMOR_ID_SIZE && bin.data
        && memcmp (self->bytes, bin.data, RUMOR_ID_SIZE) == 0;
}

bool
rumor_id_eq (const rumor_id_t *a, const rumor_id_t *b)
{
    return memcmp (a->bytes, b->bytes, RUMOR_ID_SIZE) == 0;
}

int
rumor_id_cmp (const rumor_id_t *a, const rumor_id_t *b)
{
    return memcmp (a->bytes, b->bytes, RUMOR_ID_SIZE);
}

bool
rumor_id_is_zero (const rumor_id_t *self)
{
    for (int i = 0; i < RUMOR_ID_SIZE; i++)
        if (self->bytes [i])
            return false;
    return true;
}

char *
rumor_id_hex (const rumor_id_t *self, char *hex)
{
    static const char digits [] = "0123456789abcdef";
    for (int i = 0; i < RUMOR_ID_SIZE; i++) {
        hex [2 * i] = digits [self->bytes [i] >> 4];
        hex [2 * i + 1] = digits [self->bytes [i] & 15];
    }
    hex [2 * RUMOR_ID_SIZE] = 0;
    return hex;
}

static int
s_hex_digit (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
rumor_id_from_hex (rumor_id_t *self, const char *hex)
{
    //  Parse into a copy, so that a malformed hex leaves self untouched
    rumor_id_t parsed;
    if (!hex || strlen (hex) != 2 * RUMOR_ID_SIZE)
        return -1;
    for (int i = 0; i < RUMOR_ID_SIZE; i++) {
        int high = s_hex_digit (hex [2 * i]);
        int low = s_hex_digit (hex [2 * i + 1]);
        if (high < 0 || low < 0)
            return -1;
        parsed.bytes [i] = (uint8_t) (high << 4 | low);
    }
    *self = parsed;
    return 0;
}
