/*  =========================================================================
    rumor_secret - keys derived from cluster secrets, and a node's keyring

    A cluster secret (RUMOR_SECRET_MIN..RUMOR_SECRET_MAX bytes of text) is
    never used as is and never kept: rumor_key_derive turns it into the
    material a node needs, each part by keyed BLAKE2b (crypto_generichash)
    of the secret under its own domain-separation key, so that no part
    tells anything about another:

      curve seed   -> crypto_box_seed_keypair: ONE keypair per secret, used
                      as the CURVE server key of every ROUTER and as the
                      client key of every DEALER (whoever holds the secret
                      holds the keypair; the ZAP handler admits a client
                      whose public key is in the keyring)
      beacon key   32 bytes, the MAC key of signed beacons (beacon.h)
      fingerprint  8 bytes, shown as 16 hex digits: names a key in logs,
                   rumor_keys_list and the "$rumor.keys" protocol

    Why one keypair for both roles: every member must be able to connect
    to every other, and the only thing they share is the secret.

    The keyring holds up to RUMOR_KEYRING_MAX keys, the primary first: the
    primary is the ROUTER's server key, new links try the keys in keyring
    order, and any key is admitted. Key material is wiped (sodium_memzero)
    when a key is removed and when the keyring is destroyed.

    Not thread-safe: one thread at a time (the node before start and after
    stop, its supervisor while it runs).
    =========================================================================
*/

#ifndef RUMOR_SECRET_H_INCLUDED
#define RUMOR_SECRET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rumor.h"

#define RUMOR_KEY_SIZE              32      //  CURVE key and beacon key
#define RUMOR_FINGERPRINT_SIZE      8       //  bytes of a fingerprint
#define RUMOR_FINGERPRINT_HEX       (2 * RUMOR_FINGERPRINT_SIZE + 1)

//  The material derived from one secret
typedef struct {
    uint8_t public_key [RUMOR_KEY_SIZE];    //  CURVE public key
    uint8_t secret_key [RUMOR_KEY_SIZE];    //  CURVE secret key
    uint8_t beacon_key [RUMOR_KEY_SIZE];    //  beacon MAC key
    uint8_t fingerprint [RUMOR_FINGERPRINT_SIZE];
    char hex [RUMOR_FINGERPRINT_HEX];       //  fingerprint in hex
} rumor_key_t;

typedef struct _rumor_keyring_t rumor_keyring_t;

//  True if secret is an acceptable cluster secret: RUMOR_SECRET_MIN to
//  RUMOR_SECRET_MAX bytes (a C string: no NUL inside).
bool rumor_secret_valid (const char *secret);

//  Derive key from secret. Returns 0, RUMOR_EINVAL if the secret is not
//  valid, or RUMOR_ESTATE if libsodium cannot be initialised.
int rumor_key_derive (rumor_key_t *key, const char *secret);

//  Wipe a key (sodium_memzero).
void rumor_key_wipe (rumor_key_t *key);

//  Parse 16 hex digits into a fingerprint; 0 or -1.
int rumor_fingerprint_from_hex (uint8_t *fingerprint, const char *hex);

//  Create an empty keyring; NULL if libsodium cannot be initialised.
rumor_keyring_t *rumor_keyring_new (void);

//  Wipe and free. Nullifies the pointer; does nothing if it is NULL.
void rumor_keyring_destroy (rumor_keyring_t **self_p);

//  Remove every key (wiped).
void rumor_keyring_clear (rumor_keyring_t *self);

//  Add a key (copied) at the end; the first key becomes the primary. A key
//  already installed is left in place (0). Returns 0 or RUMOR_EFULL.
int rumor_keyring_install (rumor_keyring_t *self, const rumor_key_t *key);

//  Make the key of this fingerprint the primary (the others keep their
//  order). Returns 0 or RUMOR_ENOTFOUND.
int rumor_keyring_use (rumor_keyring_t *self, const uint8_t *fingerprint);

//  Remove the key of this fingerprint (wiped). Returns 0, RUMOR_ENOTFOUND,
//  or RUMOR_ESTATE if it is the primary.
int rumor_keyring_remove (rumor_keyring_t *self, const uint8_t *fingerprint);

//  Number of keys
size_t rumor_keyring_size (const rumor_keyring_t *self);

//  The key at index (0 = the primary), or NULL past the end. Borrowed,
//  valid until the keyring changes.
const rumor_key_t *rumor_keyring_at (const rumor_keyring_t *self,
                                     size_t index);

//  Index of the key of this fingerprint, or -1.
int rumor_keyring_find (const rumor_keyring_t *self,
                        const uint8_t *fingerprint);

//  The fingerprints, primary first, separated by single spaces ("" when
//  empty), as a new string; caller frees.
char *rumor_keyring_fingerprints (const rumor_keyring_t *self);

#endif
