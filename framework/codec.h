/*  =========================================================================
    rumor_codec - the only code that packs or unpacks rumor's wire protocol

    Every frame read from the network goes through rumor_codec_decode, which
    bounds the size before reading, unpacks, and validates every field a
    core relies on (id lengths, string lengths, counts, enum values, the
    protocol version and the cluster). A frame that fails any check is
    refused and counted in rumor_codec_stats_t; the caller never sees it.

    Outbound frames are built in two parts, relying on protobuf's rule that
    concatenated encodings of one message merge into one message:
      - a core packs an Envelope with only its body set (rumor_codec_pack);
      - the node shell seals it with the header, and any piggybacked
        membership updates, by prepending their encoding (rumor_codec_seal).
    So cores never need to know sequence numbers or incarnations, and a
    body can be sealed for many peers without packing it again.

    Internal events between cores (member changes, verdicts, key changes)
    carry packed sub-messages too, decoded with rumor_codec_decode_detail.
    =========================================================================
*/

#ifndef RUMOR_CODEC_H_INCLUDED
#define RUMOR_CODEC_H_INCLUDED

#include <czmq.h>
#include "rumor.pb-c.h"
#include "id.h"

//  Protocol version carried in Envelope.version and Beacon.version
#define RUMOR_PROTOCOL_MAJOR    1
#define RUMOR_PROTOCOL_MINOR    0
#define RUMOR_PROTOCOL_VERSION  ((RUMOR_PROTOCOL_MAJOR << 16) | RUMOR_PROTOCOL_MINOR)

//  Limits enforced on every decoded frame (see schemas/rumor.proto)
#define RUMOR_FRAME_MAX         (1024 * 1024)   //  bytes in one frame
#define RUMOR_NAME_MAX          255     //  node names, endpoints
#define RUMOR_KEY_MAX           255     //  keys, topics, tag keys/values
#define RUMOR_VALUE_MAX         65536   //  values and payloads
#define RUMOR_TAGS_MAX          64      //  tags per member
#define RUMOR_REPEATED_MAX      1024    //  items in any repeated field
#define RUMOR_BEACON_MAX        255     //  bytes in one beacon (zbeacon cap)

//  Why frames were refused. Each decode failure bumps exactly one counter.
typedef struct {
    uint64_t accepted;              //  frames that passed every check
    uint64_t oversized;             //  larger than RUMOR_FRAME_MAX
    uint64_t malformed;             //  not a valid protobuf encoding
    uint64_t bad_version;           //  protocol major differs from ours
    uint64_t bad_cluster;           //  another cluster's frame
    uint64_t bad_sender;            //  sender id missing or not 16 bytes
    uint64_t no_body;               //  no known body in the oneof
    uint64_t bad_field;             //  a field out of its bounds
} rumor_codec_stats_t;

//  Header fields the node shell adds to a core's body when sending.
typedef struct {
    uint64_t cluster;               //  rumor_cluster_hash of the cluster
    rumor_id_t sender;              //  our node id
    uint64_t generation;            //  our generation (start time, ms)
    uint32_t incarnation;           //  our current incarnation
    uint64_t seq;                   //  per-node frame counter
    rumor_id_t target;              //  id we mean to reach; zero = unknown
} rumor_header_t;

//  Which actor owns a body kind
typedef enum {
    RUMOR_OWNER_NONE = 0,
    RUMOR_OWNER_MEMBERSHIP,
    RUMOR_OWNER_DETECTOR,
    RUMOR_OWNER_ANTI_ENTROPY,
    RUMOR_OWNER_APP
} rumor_owner_t;

//  Pack any protobuf message. Returns a new frame (caller owns it), or NULL
//  if the encoding would exceed RUMOR_FRAME_MAX.
zframe_t *rumor_codec_pack (const ProtobufCMessage *msg);

//  Build a complete frame: the header (version set here), then n piggyback
//  updates, then body (the packed body-only Envelope from a core). Returns
//  a new frame, or NULL if the result would exceed RUMOR_FRAME_MAX.
zframe_t *rumor_codec_seal (const rumor_header_t *header,
                            Rumor__MemberUpdate **piggyback, size_t n,
                            const uint8_t *body, size_t body_size);

//  Decode and validate one frame of `cluster`. Returns a new envelope that
//  the caller frees with rumor_codec_free, or NULL (reason counted in stats,
//  which may be NULL).
Rumor__Envelope *rumor_codec_decode (const uint8_t *data, size_t size,
                                     uint64_t cluster,
                                     rumor_codec_stats_t *stats);

//  Free a decoded envelope and set the caller's pointer to NULL.
void rumor_codec_free (Rumor__Envelope **env_p);

//  Decode and validate a packed sub-message of the given type (an internal
//  event detail: MemberUpdate, Verdict, KvEntry, Event, Direct, Query,
//  Response). Returns a message freed with rumor_codec_free_detail, or NULL.
ProtobufCMessage *rumor_codec_decode_detail (
    const ProtobufCMessageDescriptor *descriptor,
    const uint8_t *data, size_t size);

//  Free a decoded detail and set the caller's pointer to NULL.
void rumor_codec_free_detail (ProtobufCMessage **msg_p);

//  The actor that handles this envelope's body.
rumor_owner_t rumor_codec_owner (const Rumor__Envelope *env);

//  Field checks shared with the cores' own validation. Each returns true
//  if the message is within every bound of schemas/rumor.proto.
bool rumor_codec_valid_member (const Rumor__MemberUpdate *member);
bool rumor_codec_valid_kv (const Rumor__KvEntry *entry);
bool rumor_codec_valid_string (const char *string, size_t max);

//  Sum of all refusal counters in stats.
uint64_t rumor_codec_refused (const rumor_codec_stats_t *stats);

#endif
