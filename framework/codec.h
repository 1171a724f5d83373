/*  =========================================================================
    rumor_codec - the only code that packs or unpacks rumor's wire protocol

    Every frame read from the network goes through rumor_codec_decode, which
    checks it in four steps and refuses it at the first failure, bumping
    exactly one counter of rumor_codec_stats_t; the caller never sees it:
      1. size: at most RUMOR_FRAME_MAX bytes (RUMOR_BEACON_MAX for beacons);
      2. header peek: the top-level fields are walked without unpacking, so
         a frame of another major version or another cluster is counted as
         such even if the rest of it means nothing to us;
      3. wire pre-scan, before protobuf-c allocates anything: every tag,
         varint and length is bounded by the bytes left; each known field
         has the wire type its declared type needs; strings are valid UTF-8
         without NUL (protobuf-c 1.4.1 checks neither, and a NUL would cut
         a C string short); repeated fields hold at most RUMOR_REPEATED_MAX
         items (RUMOR_TAGS_MAX tags); each message holds at most
         RUMOR_REPEATED_MAX singular or unknown field occurrences; a
         singular message field outside a oneof appears once (protobuf-c
         merges duplicates by copying: k copies cost k squared);
      4. unpack with an allocator capped at RUMOR_DECODE_MEM_MAX bytes, then
         validate every field a core relies on (id lengths, string lengths,
         counts, enum values, endpoints, sender, body).
    Unknown fields are ignored (kept by protobuf-c, never read), so a newer
    minor version can talk to us.

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
#define RUMOR_PORT_MAX          65535   //  highest TCP port in a beacon

//  Memory protobuf-c may allocate to decode one frame (scratch included),
//  counting 16 bytes of malloc bookkeeping per block. Why 32 MiB: the
//  costliest legal frame we could build (2048 updates of 60 one-byte tags,
//  1 MiB) needs 19 MiB; the costliest frame the pre-scan lets through (2048
//  updates of 64 empty tags and 188 empty unknown fields) would need 56 MiB.
#define RUMOR_DECODE_MEM_MAX    (32 * 1024 * 1024)

//  Depth of nested messages the pre-scan follows. The schema nests four
//  deep (Envelope > JoinReply > MemberUpdate > Tag); protobuf-c never
//  parses inside unknown fields, so this is only a guard for later schemas.
#define RUMOR_NESTING_MAX       8

//  Why frames were refused. Each decode bumps exactly one counter: accepted
//  or the first check that failed. Beacons use the same counters; keep one
//  rumor_codec_stats_t for frames and another for beacons.
typedef struct {
    uint64_t accepted;              //  frames that passed every check
    uint64_t oversized;             //  larger than RUMOR_FRAME_MAX (beacons:
                                    //  RUMOR_BEACON_MAX), or needing more
                                    //  than RUMOR_DECODE_MEM_MAX to decode
    uint64_t malformed;             //  not a valid protobuf encoding of the
                                    //  schema: truncated, bad varint, tag 0,
                                    //  group, wrong wire type for a known
                                    //  field, string not UTF-8 or with NUL
    uint64_t bad_version;           //  protocol major differs from ours (an
                                    //  empty frame has version 0)
    uint64_t bad_cluster;           //  another cluster's frame
    uint64_t bad_sender;            //  sender id (beacons: id) missing or
                                    //  not 16 bytes
    uint64_t no_body;               //  no known body in the oneof
    uint64_t bad_field;             //  a field out of its bounds: string
                                    //  length, item count, id size, enum
                                    //  value, endpoint, port, singular
                                    //  message twice
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

//  The NUL-terminated string at *at, borrowed from the bytes before end,
//  for the pipes' one-frame formats; moves *at past its NUL. NULL (and
//  *at unmoved) if no NUL comes before end.
const char *rumor_codec_take_string (const byte **at, const byte *end);

//  Pack msg into a new frame after head_size bytes copied from head (a
//  caller's own framing, e.g. an effect's header). NULL if the encoding
//  alone would exceed RUMOR_FRAME_MAX.
zframe_t *rumor_codec_pack_after (const void *head, size_t head_size,
                                  const ProtobufCMessage *msg);

//  Build a complete frame: the header (version set here), then n piggyback
//  updates, then body (the packed body-only Envelope from a core). Returns
//  a new frame, or NULL if the result would exceed RUMOR_FRAME_MAX, or if
//  body holds anything but a body (a header field in it would silently
//  override ours, since the last occurrence of a field wins).
zframe_t *rumor_codec_seal (const rumor_header_t *header,
                            Rumor__MemberUpdate **piggyback, size_t n,
                            const uint8_t *body, size_t body_size);

//  Decode and validate one frame of `cluster` (see the steps above).
//  Returns a new envelope that the caller frees with rumor_codec_free, or
//  NULL (reason counted in stats, which may be NULL). data may be NULL
//  when size is 0.
Rumor__Envelope *rumor_codec_decode (const uint8_t *data, size_t size,
                                     uint64_t cluster,
                                     rumor_codec_stats_t *stats);

//  Free a decoded envelope and set the caller's pointer to NULL.
void rumor_codec_free (Rumor__Envelope **env_p);

//  Decode and validate a packed sub-message of the given type (an internal
//  event detail: MemberUpdate, Verdict, KvEntry, Event, Direct, Query,
//  Response), with the same size limit, pre-scan, memory cap and field
//  checks as a frame. Returns a message freed with rumor_codec_free_detail,
//  or NULL (also for any other descriptor).
ProtobufCMessage *rumor_codec_decode_detail (
    const ProtobufCMessageDescriptor *descriptor,
    const uint8_t *data, size_t size);

//  Free a decoded detail and set the caller's pointer to NULL.
void rumor_codec_free_detail (ProtobufCMessage **msg_p);

//  Pack a beacon for one UDP datagram. The version is set here. Returns a
//  new frame, or NULL if it exceeds RUMOR_BEACON_MAX or would be refused by
//  a receiver of beacon->cluster (id not 16 bytes, port 0 or over
//  RUMOR_PORT_MAX, endpoint not valid, string not UTF-8).
zframe_t *rumor_codec_pack_beacon (const Rumor__Beacon *beacon);

//  Decode and validate one beacon datagram of `cluster`: at most
//  RUMOR_BEACON_MAX bytes, our major version, our cluster, a 16-byte id, a
//  port in 1..RUMOR_PORT_MAX, an endpoint valid for
//  rumor_codec_valid_endpoint.
//  The MAC and timestamp are left to the caller. Returns a new beacon freed
//  with rumor_codec_free_beacon, or NULL (reason counted in stats, which
//  may be NULL).
Rumor__Beacon *rumor_codec_decode_beacon (const uint8_t *data, size_t size,
                                          uint64_t cluster,
                                          rumor_codec_stats_t *stats);

//  Free a decoded beacon and set the caller's pointer to NULL.
void rumor_codec_free_beacon (Rumor__Beacon **beacon_p);

//  The actor that handles this envelope's body.
rumor_owner_t rumor_codec_owner (const Rumor__Envelope *env);

//  Field checks shared with the cores' own validation. Each returns true
//  if the message is within every bound of schemas/rumor.proto.
bool rumor_codec_valid_member (const Rumor__MemberUpdate *member);
bool rumor_codec_valid_kv (const Rumor__KvEntry *entry);
bool rumor_codec_valid_string (const char *string, size_t max);
//  True if endpoint is "" (unknown) or "tcp://HOST:PORT" of at most
//  RUMOR_NAME_MAX bytes: HOST a name or IPv4 address (letters, digits,
//  '.', '-', '_') or a bracketed IPv6 address, PORT 1..RUMOR_PORT_MAX.
//  Checked on every endpoint a frame or beacon carries.
bool rumor_codec_valid_endpoint (const char *endpoint);

//  Sum of all refusal counters in stats.
uint64_t rumor_codec_refused (const rumor_codec_stats_t *stats);

#endif
