/*  =========================================================================
    rumor_secret - keys derived from cluster secrets, and a node's keyring

    See secret.h. Each derived part is crypto_generichash (BLAKE2b) of the
    secret keyed with its own domain-separation string; the domains carry a
    version, so that a future derivation can never collide with this one.
    =========================================================================
*/

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "secret.h"

//  Domain-separation keys (crypto_generichash needs 16..64 key bytes)
static const char s_domain_curve [] = "rumor/curve-seed/v1";
static const char s_domain_beacon [] = "rumor/beacon-mac/v1";
static const char s_domain_fingerprint [] = "rumor/fingerprint/v1";

struct _rumor_keyring_t {
    rumor_key_t keys [RUMOR_KEYRING_MAX];   //  primary first
    size_t size;                            //  keys in use
};

static int
s_sodium_ready (void)
{
    //  Thread-safe and idempotent (1 when already initialised)
    return sodium_init () < 0? -1: 0;
}

bool
rumor_secret_valid (const char *secret)
{
    if (!secret)
        return false;
    size_t size = strnlen (secret, RUMOR_SECRET_MAX + 1);
    return size >= RUMOR_SECRET_MIN && size <= RUMOR_SECRET_MAX;
}

//  out = BLAKE2b (secret) keyed by domain
static void
s_derive (uint8_t *out, size_t size, const char *domain, const char *secret)
{
    int rc = crypto_generichash (out, size, (const uint8_t *) secret,
                                 strlen (secret), (const uint8_t *) domain,
                                 strlen (domain));
    assert (rc == 0);               //  sizes are constants in range
}

int
rumor_key_derive (rumor_key_t *key, const char *secret)
{
    assert (key);
    if (!rumor_secret_valid (secret))
        return RUMOR_EINVAL;
    if (s_sodium_ready ())
        return RUMOR_ESTATE;
    uint8_t seed [crypto_box_SEEDBYTES];
    s_derive (seed, sizeof (seed), s_domain_curve, secret);
    int rc = crypto_box_seed_keypair (key->public_key, key->secret_key, seed);
    assert (rc == 0);
    sodium_memzero (seed, sizeof (seed));
    s_derive (key->beacon_key, RUMOR_KEY_SIZE, s_domain_beacon, secret);
    //  BLAKE2b's shortest output is 16 bytes: keep the first 8
    uint8_t print [crypto_generichash_BYTES_MIN];
    s_derive (print, sizeof (print), s_domain_fingerprint, secret);
    memcpy (key->fingerprint, print, RUMOR_FINGERPRINT_SIZE);
    sodium_bin2hex (key->hex, sizeof (key->hex), key->fingerprint,
                    RUMOR_FINGERPRINT_SIZE);
    return 0;
}

void
rumor_key_wipe (rumor_key_t *key)
{
    if (key)
        sodium_memzero (key, sizeof (rumor_key_t));
}

int
rumor_fingerprint_from_hex (uint8_t *fingerprint, const char *hex)
{
    assert (fingerprint);
    size_t size = 0;
    if (!hex || strlen (hex) != 2 * RUMOR_FINGERPRINT_SIZE
    ||  sodium_hex2bin (fingerprint, RUMOR_FINGERPRINT_SIZE, hex,
                        strlen (hex), NULL, &size, NULL) != 0
    ||  size != RUMOR_FINGERPRINT_SIZE)
        return -1;
    return 0;
}


//  --------------------------------------------------------------------------
//  Keyring

rumor_keyring_t *
rumor_keyring_new (void)
{
    if (s_sodium_ready ())
        return NULL;
    rumor_keyring_t *self = (rumor_keyring_t *) calloc (1, sizeof (*self));
    assert (self);
    return self;
}

void
rumor_keyring_destroy (rumor_keyring_t **self_p)
{
    assert (self_p);
    if (!*self_p)
        return;
    sodium_memzero (*self_p, sizeof (rumor_keyring_t));
    free (*self_p);
    *self_p = NULL;
}

void
rumor_keyring_clear (rumor_keyring_t *self)
{
    assert (self);
    sodium_memzero (self->keys, sizeof (self->keys));
    self->size = 0;
}

int
rumor_keyring_find (const rumor_keyring_t *self, const uint8_t *fingerprint)
{
    assert (self);
    assert (fingerprint);
    for (size_t index = 0; index < self->size; index++)
        if (memcmp (self->keys [index].fingerprint, fingerprint,
                    RUMOR_FINGERPRINT_SIZE) == 0)
            return (int) index;
    return -1;
}

int
rumor_keyring_install (rumor_keyring_t *self, const rumor_key_t *key)
{
    assert (self);
    assert (key);
    if (rumor_keyring_find (self, key->fingerprint) >= 0)
        return 0;
    if (self->size >= RUMOR_KEYRING_MAX)
        return RUMOR_EFULL;
    self->keys [self->size++] = *key;
    return 0;
}

int
rumor_keyring_use (rumor_keyring_t *self, const uint8_t *fingerprint)
{
    int index = rumor_keyring_find (self, fingerprint);
    if (index < 0)
        return RUMOR_ENOTFOUND;
    rumor_key_t key = self->keys [index];
    memmove (&self->keys [1], &self->keys [0], (size_t) index * sizeof (key));
    self->keys [0] = key;
    sodium_memzero (&key, sizeof (key));
    return 0;
}

int
rumor_keyring_remove (rumor_keyring_t *self, const uint8_t *fingerprint)
{
    int index = rumor_keyring_find (self, fingerprint);
    if (index < 0)
        return RUMOR_ENOTFOUND;
    if (index == 0)
        return RUMOR_ESTATE;
    size_t after = self->size - (size_t) index - 1;
    memmove (&self->keys [index], &self->keys [index + 1],
             after * sizeof (rumor_key_t));
    self->size--;
    sodium_memzero (&self->keys [self->size], sizeof (rumor_key_t));
    return 0;
}

size_t
rumor_keyring_size (const rumor_keyring_t *self)
{
    assert (self);
    return self->size;
}

const rumor_key_t *
rumor_keyring_at (const rumor_keyring_t *self, size_t index)
{
    assert (self);
    return index < self->size? &self->keys [index]: NULL;
}

char *
rumor_keyring_fingerprints (const rumor_keyring_t *self)
{
    assert (self);
    char *text = (char *) calloc (1, RUMOR_KEYRING_MAX * RUMOR_FINGERPRINT_HEX + 1);
    assert (text);
    for (size_t index = 0; index < self->size; index++) {
        if (index)
            strcat (text, " ");
        strcat (text, self->keys [index].hex);
    }
    return text;
}
