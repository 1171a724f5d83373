/*  =========================================================================
    rumor_id - node ids and hashes

    A node id is 16 bytes: random for an anonymous node, derived from the
    node name otherwise, so that a node restarted under the same name keeps
    its identity (its generation tells the restarts apart). Ids travel as
    protobuf bytes fields; everything here checks the length before use.
    =========================================================================
*/

#ifndef RUMOR_ID_H_INCLUDED
#define RUMOR_ID_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#define RUMOR_ID_SIZE   16              //  bytes in a node id
#define RUMOR_ID_HEX    33              //  hex form, with the terminating NUL

typedef struct {
    uint8_t bytes [RUMOR_ID_SIZE];      //  raw id
} rumor_id_t;

//  64-bit FNV-1a hash of data. Used for the cluster id on the wire and for
//  name-derived node ids. Not a MAC: never a defence against forgery.
uint64_t rumor_hash64 (const void *data, size_t size);

//  Hash of a cluster name, as carried in every Envelope and Beacon.
uint64_t rumor_cluster_hash (const char *cluster);

//  Derive a node id from a node name (same name, same id).
void rumor_id_from_name (rumor_id_t *self, const char *name);

//  Build an id from a 64-bit number (tests and the simulator).
void rumor_id_from_u64 (rumor_id_t *self, uint64_t n);

//  Copy an id out of a protobuf bytes field. Returns 0, or -1 if the field
//  is not exactly RUMOR_ID_SIZE bytes (self is then zeroed).
int rumor_id_from_bin (rumor_id_t *self, ProtobufCBinaryData bin);

//  View of an id as a protobuf bytes field; borrowed, valid while self is.
ProtobufCBinaryData rumor_id_bin (const rumor_id_t *self);

//  True if the field holds exactly one id equal to self.
bool rumor_id_eq_bin (const rumor_id_t *self, ProtobufCBinaryData bin);

bool rumor_id_eq (const rumor_id_t *a, const rumor_id_t *b);
int  rumor_id_cmp (const rumor_id_t *a, const rumor_id_t *b);
bool rumor_id_is_zero (const rumor_id_t *self);

//  Write the 32-digit lower-case hex form into hex (RUMOR_ID_HEX bytes).
//  Returns hex, for use in printf-style calls.
char *rumor_id_hex (const rumor_id_t *self, char *hex);

//  Parse a 32-digit hex id (either case). Returns 0, or -1 if malformed
//  (self is then unchanged).
int rumor_id_from_hex (rumor_id_t *self, const char *hex);

#endif
