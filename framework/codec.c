/*  =========================================================================
    rumor_codec - the only code that packs or unpacks rumor's wire protocol

    Decoding runs in the order described in codec.h: size, header peek,
    wire pre-scan, capped unpack, field validation. Each step returns a
    verdict; the decode functions count exactly one verdict per call with
    s_count, so the counters always add up to the number of calls.

    The pre-scan exists because protobuf-c trusts the wire more than we do:
    it sizes repeated arrays from the frame before anyone can check a count,
    it accepts invalid UTF-8 and NUL bytes in strings, it accepts a bool of
    any wire type, and it merges duplicated sub-messages by copying. The
    pre-scan walks the bytes once, driven by the generated descriptors, and
    refuses all of that before protobuf-c allocates anything.
    =========================================================================
*/

#include "codec.h"

//  Outcome of one check; each maps to one counter of rumor_codec_stats_t.
typedef enum {
    S_ACCEPTED,
    S_OVERSIZED,
    S_MALFORMED,
    S_BAD_VERSION,
    S_BAD_CLUSTER,
    S_BAD_SENDER,
    S_NO_BODY,
    S_BAD_FIELD
} s_verdict_t;

//  Protobuf wire types (the ones protobuf-c can parse).
#define S_WIRE_VARINT   0
#define S_WIRE_FIXED64  1
#define S_WIRE_LENGTH   2
#define S_WIRE_FIXED32  5

//  Longest varint: 64 bits in 7-bit groups. Tags and lengths are 32-bit and
//  protobuf-c reads at most 5 bytes of them, so we refuse longer ones too.
#define S_VARINT_MAX    10
#define S_VARINT32_MAX  5

//  Fields per message the pre-scan can tally (Envelope has 27).
#define S_FIELDS_MAX    64

//  Bytes of malloc bookkeeping we charge per block (glibc: 8 to 16), so a
//  frame of many tiny fields cannot hide its real cost.
#define S_MALLOC_OVERHEAD  16


//  ==========================================================================
//  Reading the wire format without unpacking

typedef struct {
    const uint8_t *at;              //  next byte to read
    const uint8_t *end;             //  one past the last byte
} s_wire_t;

typedef struct {
    uint32_t number;                //  field number, >= 1
    int wire_type;                  //  S_WIRE_*
    uint64_t varint;                //  value of a varint field
    const uint8_t *data;            //  content of a fixed or length field
    size_t size;                    //  bytes in data
} s_field_t;

//  --------------------------------------------------------------------------
//  Start reading size bytes at data (data may be NULL when size is 0).
static void
s_wire_init (s_wire_t *wire, const uint8_t *data, size_t size)
{
    wire->at = data;
    wire->end = size? data + size: data;
}

//  --------------------------------------------------------------------------
//  Read a varint of at most max_bytes bytes. False if it runs past the end
//  or is longer; bits above 64 (in a 10th byte) are dropped, as protobuf-c
//  drops them.
static bool
s_wire_varint (s_wire_t *wire, int max_bytes, uint64_t *value)
{
    uint64_t result = 0;
    for (int index = 0; index < max_bytes && wire->at < wire->end; index++) {
        uint8_t byte = *wire->at++;
        result |= (uint64_t) (byte & 0x7f) << (7 * index);
        if ((byte & 0x80) == 0) {
            *value = result;
            return true;
        }
    }
    return false;
}

//  --------------------------------------------------------------------------
//  Take size content bytes for field. False if fewer are left.
static bool
s_wire_take (s_wire_t *wire, uint64_t size, s_field_t *field)
{
    if (size > (uint64_t) (wire->end - wire->at))
        return false;
    field->data = wire->at;
    field->size = (size_t) size;
    wire->at += size;
    return true;
}

//  --------------------------------------------------------------------------
//  Read the next field. Returns 1 if one was read, 0 at the end, -1 if the
//  bytes are not a valid encoding (nothing past that point is trusted).
static int
s_wire_next (s_wire_t *wire, s_field_t *field)
{
    if (wire->at == wire->end)
        return 0;
    uint64_t tag, length;
    if (!s_wire_varint (wire, S_VARINT32_MAX, &tag)
    ||  tag > UINT32_MAX || (tag >> 3) == 0)
        return -1;                  //  protobuf forbids field number 0
    field->number = (uint32_t) (tag >> 3);
    field->wire_type = (int) (tag & 7);
    field->varint = 0;
    field->data = NULL;
    field->size = 0;
    switch (field->wire_type) {
        case S_WIRE_VARINT:
            return s_wire_varint (wire, S_VARINT_MAX, &field->varint)? 1: -1;
        case S_WIRE_FIXED64:
            return s_wire_take (wire, 8, field)? 1: -1;
        case S_WIRE_FIXED32:
            return s_wire_take (wire, 4, field)? 1: -1;
        case S_WIRE_LENGTH:
            return s_wire_varint (wire, S_VARINT32_MAX, &length)
                && s_wire_take (wire, length, field)? 1: -1;
        default:
            return -1;              //  groups (3, 4): protobuf-c refuses
    }                               //  them too; 6 and 7 do not exist
}

//  --------------------------------------------------------------------------
//  Little-endian 64-bit value of a fixed64 field.
static uint64_t
s_fixed64 (const uint8_t *data)
{
    uint64_t value = 0;
    for (int index = 7; index >= 0; index--)
        value = (value << 8) | data [index];
    return value;
}


//  ==========================================================================
//  Step 2: peek at the header. Envelope and Beacon share their first two
//  fields (version, cluster), so one walk of the top level serves both.

//  --------------------------------------------------------------------------
//  Walk the top level only, for the last version and cluster. Returns
//  S_MALFORMED, S_BAD_VERSION, S_BAD_CLUSTER or S_ACCEPTED.
static s_verdict_t
s_peek_header (const uint8_t *data, size_t size, uint64_t cluster)
{
    uint32_t version = 0;           //  absent fields are zero (proto3)
    uint64_t their_cluster = 0;
    s_wire_t wire;
    s_wire_init (&wire, data, size);
    s_field_t field;
    int rc;
    while ((rc = s_wire_next (&wire, &field)) > 0) {
        //  The last occurrence wins, as in protobuf-c; a wrong wire type
        //  for either field is refused by protobuf-c too
        if (field.number == 1) {
            if (field.wire_type != S_WIRE_VARINT)
                return S_MALFORMED;
            version = (uint32_t) field.varint;
        }
        else
        if (field.number == 2) {
            if (field.wire_type != S_WIRE_FIXED64)
                return S_MALFORMED;
            their_cluster = s_fixed64 (field.data);
        }
    }
    if (rc < 0)
        return S_MALFORMED;
    if ((version >> 16) != RUMOR_PROTOCOL_MAJOR)
        return S_BAD_VERSION;
    if (their_cluster != cluster)
        return S_BAD_CLUSTER;
    return S_ACCEPTED;
}


//  ==========================================================================
//  Step 3: the wire pre-scan, driven by the generated descriptors

//  Per-message tallies
typedef struct {
    size_t items [S_FIELDS_MAX];    //  per field: items (repeated) or
                                    //  occurrences (singular message)
    size_t others;                  //  singular and unknown occurrences
} s_tally_t;

static s_verdict_t
    s_scan_message (const ProtobufCMessageDescriptor *descriptor,
                    const uint8_t *data, size_t size, int depth);

//  --------------------------------------------------------------------------
//  Length of the UTF-8 sequence at data [0..size), or 0 if it is not valid
//  UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF) or
//  is a NUL, which would cut the C string protobuf-c gives us short.
static size_t
s_utf8_sequence (const uint8_t *data, size_t size)
{
    uint8_t lead = data [0];
    if (lead < 0x80)
        return lead? 1: 0;
    size_t length = lead >= 0xf0? 4: lead >= 0xe0? 3: lead >= 0xc0? 2: 0;
    if (length == 0 || lead > 0xf4 || length > size)
        return 0;                   //  stray continuation, or cut short
    uint32_t point = lead & (0x7f >> length);
    for (size_t index = 1; index < length; index++) {
        if ((data [index] & 0xc0) != 0x80)
            return 0;
        point = (point << 6) | (data [index] & 0x3f);
    }
    static const uint32_t lowest [5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (point < lowest [length] || point > 0x10ffff
    || (point >= 0xd800 && point <= 0xdfff))
        return 0;
    return length;
}

//  --------------------------------------------------------------------------
//  True if data is UTF-8 without NUL, as a proto3 string must be for us.
static bool
s_valid_utf8 (const uint8_t *data, size_t size)
{
    while (size > 0) {
        size_t length = s_utf8_sequence (data, size);
        if (length == 0)
            return false;
        data += length;
        size -= length;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  The wire type a field of this type is sent with (unpacked).
static int
s_wire_type (ProtobufCType type)
{
    switch (type) {
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_FLOAT:
            return S_WIRE_FIXED32;
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
            return S_WIRE_FIXED64;
        case PROTOBUF_C_TYPE_STRING:
        case PROTOBUF_C_TYPE_BYTES:
        case PROTOBUF_C_TYPE_MESSAGE:
            return S_WIRE_LENGTH;
        default:
            return S_WIRE_VARINT;
    }
}

//  --------------------------------------------------------------------------
//  Number of items in a packed repeated field, or -1 if malformed.
static int64_t
s_packed_items (ProtobufCType type, const uint8_t *data, size_t size)
{
    int wire_type = s_wire_type (type);
    if (wire_type == S_WIRE_FIXED32)
        return size % 4? -1: (int64_t) size / 4;
    if (wire_type == S_WIRE_FIXED64)
        return size % 8? -1: (int64_t) size / 8;
    s_wire_t wire;
    s_wire_init (&wire, data, size);
    int64_t items = 0;
    uint64_t value;
    while (wire.at < wire.end) {
        if (!s_wire_varint (&wire, S_VARINT_MAX, &value))
            return -1;
        items++;
    }
    return items;
}

//  --------------------------------------------------------------------------
//  Most items a repeated field may hold. Tags have their own, lower bound,
//  checked here too so that a frame of empty tags costs us nothing.
static size_t
s_repeated_max (const ProtobufCMessageDescriptor *descriptor,
                const ProtobufCFieldDescriptor *field)
{
    if (descriptor == &rumor__member_update__descriptor
    &&  streq (field->name, "tags"))
        return RUMOR_TAGS_MAX;
    return RUMOR_REPEATED_MAX;
}

//  --------------------------------------------------------------------------
//  Check the content of one field occurrence of the right wire type.
static s_verdict_t
s_scan_content (const ProtobufCFieldDescriptor *field,
                const s_field_t *wire_field, int depth)
{
    if (field->type == PROTOBUF_C_TYPE_STRING)
        return s_valid_utf8 (wire_field->data, wire_field->size)?
               S_ACCEPTED: S_MALFORMED;
    if (field->type == PROTOBUF_C_TYPE_MESSAGE)
        return s_scan_message ((const ProtobufCMessageDescriptor *)
                               field->descriptor,
                               wire_field->data, wire_field->size, depth + 1);
    return S_ACCEPTED;
}

//  --------------------------------------------------------------------------
//  One occurrence of a repeated field: packed (many items) or one item.
static s_verdict_t
s_scan_repeated (const ProtobufCMessageDescriptor *descriptor,
                 const ProtobufCFieldDescriptor *field,
                 const s_field_t *wire_field, size_t *items, int depth)
{
    bool packable = s_wire_type (field->type) != S_WIRE_LENGTH;
    if (packable && wire_field->wire_type == S_WIRE_LENGTH) {
        int64_t packed = s_packed_items (field->type, wire_field->data,
                                         wire_field->size);
        if (packed < 0)
            return S_MALFORMED;
        *items += (size_t) packed;
        return *items > s_repeated_max (descriptor, field)?
               S_BAD_FIELD: S_ACCEPTED;
    }
    if (wire_field->wire_type != s_wire_type (field->type))
        return S_MALFORMED;
    if (++*items > s_repeated_max (descriptor, field))
        return S_BAD_FIELD;
    return s_scan_content (field, wire_field, depth);
}

//  --------------------------------------------------------------------------
//  One occurrence of a singular field.
static s_verdict_t
s_scan_singular (const ProtobufCFieldDescriptor *field,
                 const s_field_t *wire_field, s_tally_t *tally,
                 size_t *occurrences, int depth)
{
    //  protobuf-c reads a bool of any wire type; we do not
    if (wire_field->wire_type != s_wire_type (field->type))
        return S_MALFORMED;
    //  A second copy of a sub-message is merged into the first by copying
    //  its repeated fields: k copies would cost k squared. Our encoders
    //  never send one twice. Oneof members are replaced, not merged.
    if (field->type == PROTOBUF_C_TYPE_MESSAGE
    &&  !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    &&  ++*occurrences > 1)
        return S_BAD_FIELD;
    if (++tally->others > RUMOR_REPEATED_MAX)
        return S_BAD_FIELD;
    return s_scan_content (field, wire_field, depth);
}

//  --------------------------------------------------------------------------
//  Walk one message's fields, and the messages inside it.
static s_verdict_t
s_scan_message (const ProtobufCMessageDescriptor *descriptor,
                const uint8_t *data, size_t size, int depth)
{
    if (depth > RUMOR_NESTING_MAX)
        return S_MALFORMED;         //  unreachable with today's schema
    assert (descriptor->n_fields <= S_FIELDS_MAX);
    s_tally_t tally;
    memset (&tally, 0, sizeof (tally));
    s_wire_t wire;
    s_wire_init (&wire, data, size);
    s_field_t wire_field;
    int rc;
    while ((rc = s_wire_next (&wire, &wire_field)) > 0) {
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field (descriptor,
                                                     wire_field.number);
        s_verdict_t verdict = S_ACCEPTED;
        if (!field) {
            //  Unknown: ignored, but protobuf-c keeps a copy of each
            if (++tally.others > RUMOR_REPEATED_MAX)
                verdict = S_BAD_FIELD;
        }
        else {
            size_t *items = &tally.items [field - descriptor->fields];
            if (field->label == PROTOBUF_C_LABEL_REPEATED)
                verdict = s_scan_repeated (descriptor, field, &wire_field,
                                           items, depth);
            else
                verdict = s_scan_singular (field, &wire_field, &tally,
                                           items, depth);
        }
        if (verdict != S_ACCEPTED)
            return verdict;
    }
    return rc == 0? S_ACCEPTED: S_MALFORMED;
}


//  ==========================================================================
//  Step 4a: unpack with a memory budget

typedef struct {
    size_t spent;                   //  bytes handed out, with overhead
    bool exhausted;                 //  a request was refused
} s_budget_t;

//  --------------------------------------------------------------------------
//  Allocate from the budget. Blocks are plain malloc blocks, so whatever
//  protobuf-c returns can later be freed with the default allocator.
static void *
s_budget_alloc (void *data, size_t size)
{
    s_budget_t *budget = (s_budget_t *) data;
    //  Freed blocks are not given back: this bounds all a decode allocates,
    //  protobuf-c's scratch space included, not only what it keeps.
    //  Invariant: spent <= RUMOR_DECODE_MEM_MAX, so left never wraps.
    size_t left = RUMOR_DECODE_MEM_MAX - budget->spent;
    if (left < S_MALLOC_OVERHEAD || size > left - S_MALLOC_OVERHEAD) {
        budget->exhausted = true;
        return NULL;
    }
    budget->spent += size + S_MALLOC_OVERHEAD;
    return malloc (size);
}

//  --------------------------------------------------------------------------
//  Blocks are plain malloc blocks.
static void
s_budget_free (void *data, void *pointer)
{
    (void) data;
    free (pointer);
}

//  --------------------------------------------------------------------------
//  Unpack a pre-scanned message. Returns it, or NULL with *verdict set to
//  S_OVERSIZED (over the memory budget) or S_MALFORMED.
static ProtobufCMessage *
s_unpack (const ProtobufCMessageDescriptor *descriptor,
          const uint8_t *data, size_t size, s_verdict_t *verdict)
{
    s_budget_t budget = { 0, false };
    ProtobufCAllocator allocator = { s_budget_alloc, s_budget_free, &budget };
    //  protobuf-c reads nothing when size is 0, but wants a pointer
    static const uint8_t empty [1] = { 0 };
    ProtobufCMessage *msg = protobuf_c_message_unpack (
        descriptor, &allocator, size, size? data: empty);
    if (!msg)
        *verdict = budget.exhausted? S_OVERSIZED: S_MALFORMED;
    return msg;
}

//  --------------------------------------------------------------------------
//  Steps 1 to 4a for any message: size, optional header peek, pre-scan,
//  unpack. Returns the message, or NULL with *verdict set.
static ProtobufCMessage *
s_decode (const ProtobufCMessageDescriptor *descriptor,
          const uint8_t *data, size_t size, size_t max_size,
          const uint64_t *cluster, s_verdict_t *verdict)
{
    assert (data || size == 0);
    *verdict = S_ACCEPTED;
    //  Bound the size before reading anything
    if (size > max_size)
        *verdict = S_OVERSIZED;
    else
    if (cluster)
        *verdict = s_peek_header (data, size, *cluster);
    if (*verdict == S_ACCEPTED)
        *verdict = s_scan_message (descriptor, data, size, 1);
    if (*verdict != S_ACCEPTED)
        return NULL;
    return s_unpack (descriptor, data, size, verdict);
}


//  ==========================================================================
//  Step 4b: field validation. Each check names the bound it enforces.

//  --------------------------------------------------------------------------
//  True if string is at most max bytes long, and valid UTF-8.
bool
rumor_codec_valid_string (const char *string, size_t max)
{
    //  protobuf-c gives "" for an absent string. The pre-scan refused
    //  invalid UTF-8 in what we decode, but the cores also check API input
    //  here (keys, topics, names, tags, endpoints): a string that is not
    //  UTF-8 would go out in frames every peer refuses (found by fuzz_app)
    if (!string)
        return false;
    size_t length = strnlen (string, max + 1);
    return length <= max && s_valid_utf8 ((const uint8_t *) string, length);
}

//  --------------------------------------------------------------------------
//  Host part of an endpoint: a name or IPv4 address (ASCII letters,
//  digits, '.', '-', '_'), or an IPv6 address in brackets.
static bool
s_valid_host (const char *host, size_t size)
{
    if (size == 0)
        return false;
    bool bracketed = host [0] == '[';
    if (bracketed && (size < 3 || host [size - 1] != ']'))
        return false;
    for (size_t i = bracketed; i < size - bracketed; i++) {
        char c = host [i];
        bool digit = c >= '0' && c <= '9';
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool ok = bracketed? digit || (c >= 'a' && c <= 'f')
                           || (c >= 'A' && c <= 'F') || c == ':' || c == '.'
                           : digit || letter || c == '.' || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  Port part of an endpoint: 1 to RUMOR_PORT_MAX in decimal.
static bool
s_valid_port (const char *port)
{
    size_t size = strlen (port);
    if (size == 0 || size > 5 || port [0] == '0')
        return false;
    uint32_t value = 0;
    for (size_t i = 0; i < size; i++) {
        if (port [i] < '0' || port [i] > '9')
            return false;
        value = value * 10 + (uint32_t) (port [i] - '0');
    }
    return value <= RUMOR_PORT_MAX;
}

//  --------------------------------------------------------------------------
//  True if endpoint is empty or tcp://HOST:PORT (see codec.h).
bool
rumor_codec_valid_endpoint (const char *endpoint)
{
    if (!rumor_codec_valid_string (endpoint, RUMOR_NAME_MAX))
        return false;
    if (endpoint [0] == 0)
        return true;                //  unknown, or "where it came from"
    //  Peers are reached over TCP only: an ipc:// or inproc:// endpoint
    //  from the network would make a node connect to its own local sockets
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    return colon && s_valid_host (host, (size_t) (colon - host))
        && s_valid_port (colon + 1);
}

//  --------------------------------------------------------------------------
//  True if bin holds exactly one id.
static bool
s_valid_id (ProtobufCBinaryData bin)
{
    return bin.len == RUMOR_ID_SIZE && bin.data;
}

//  --------------------------------------------------------------------------
//  True if bin holds one id, or nothing (an optional id).
static bool
s_valid_id_or_empty (ProtobufCBinaryData bin)
{
    return bin.len == 0 || s_valid_id (bin);
}

//  --------------------------------------------------------------------------
//  True if state is one a member can be in.
static bool
s_valid_state (Rumor__State state)
{
    //  An enum is an int on the wire: negative and unknown values arrive
    return state >= RUMOR__STATE__STATE_ALIVE && state <= RUMOR__STATE__STATE_LEFT;
}

//  --------------------------------------------------------------------------
//  True if a member's tags are within RUMOR_TAGS_MAX, with keys of
//  1..RUMOR_KEY_MAX bytes and values of 0..RUMOR_KEY_MAX.
static bool
s_valid_tags (Rumor__Tag **tags, size_t n)
{
    if (n > RUMOR_TAGS_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!tags [i]
        ||  !rumor_codec_valid_string (tags [i]->key, RUMOR_KEY_MAX)
        ||  !tags [i]->key [0]
        ||  !rumor_codec_valid_string (tags [i]->value, RUMOR_KEY_MAX))
            return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  True if member has a 16-byte id, a state, a name and endpoint within
//  their bounds, valid tags and an optional 16-byte accuser.
bool
rumor_codec_valid_member (const Rumor__MemberUpdate *member)
{
    return member
        && s_valid_id (member->id)
        && s_valid_state (member->state)
        && rumor_codec_valid_string (member->name, RUMOR_NAME_MAX)
        && rumor_codec_valid_endpoint (member->endpoint)
        && s_valid_tags (member->tags, member->n_tags)
        && s_valid_id_or_empty (member->accuser);
}

//  --------------------------------------------------------------------------
//  True if a list of members is within RUMOR_REPEATED_MAX, all valid.
static bool
s_valid_members (Rumor__MemberUpdate **members, size_t n)
{
    if (n > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!rumor_codec_valid_member (members [i]))
            return false;
    return true;
}

//  --------------------------------------------------------------------------
//  True if entry has a 16-byte origin, a key of 1..RUMOR_KEY_MAX bytes,
//  a value within RUMOR_VALUE_MAX, a version >= 1, and no value if deleted.
bool
rumor_codec_valid_kv (const Rumor__KvEntry *entry)
{
    return entry
        && s_valid_id (entry->origin)
        && rumor_codec_valid_string (entry->key, RUMOR_KEY_MAX)
        && entry->key [0]
        && entry->value.len <= RUMOR_VALUE_MAX
        && entry->version >= 1
        //  A tombstone carries no value
        && (!entry->deleted || entry->value.len == 0);
}

//  --------------------------------------------------------------------------
//  True if digest entries are within RUMOR_REPEATED_MAX, with 16-byte
//  origins.
static bool
s_valid_digest (Rumor__DigestEntry **entries, size_t n)
{
    if (n > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!entries [i] || !s_valid_id (entries [i]->origin))
            return false;
    return true;
}

//  --------------------------------------------------------------------------
//  True if event refs are within RUMOR_REPEATED_MAX, with 16-byte origins.
static bool
s_valid_refs (Rumor__EventRef **refs, size_t n)
{
    if (n > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!refs [i] || !s_valid_id (refs [i]->origin))
            return false;
    return true;
}

//  --------------------------------------------------------------------------
//  True if event has a 16-byte origin, a topic of 1..RUMOR_KEY_MAX bytes
//  and a payload within RUMOR_VALUE_MAX.
static bool
s_valid_event (const Rumor__Event *event)
{
    return event
        && s_valid_id (event->origin)
        && rumor_codec_valid_string (event->topic, RUMOR_KEY_MAX)
        && event->topic [0]
        && event->payload.len <= RUMOR_VALUE_MAX;
}

//  --------------------------------------------------------------------------
//  True if query has a 16-byte origin, a topic within RUMOR_KEY_MAX and a
//  payload within RUMOR_VALUE_MAX.
static bool
s_valid_query (const Rumor__Query *query)
{
    return query
        && s_valid_id (query->origin)
        && rumor_codec_valid_string (query->topic, RUMOR_KEY_MAX)
        && query->payload.len <= RUMOR_VALUE_MAX;
}

//  --------------------------------------------------------------------------
//  True if a direct message's topic and payload are within bounds.
static bool
s_valid_direct (const Rumor__Direct *direct)
{
    return direct
        && rumor_codec_valid_string (direct->topic, RUMOR_KEY_MAX)
        && direct->payload.len <= RUMOR_VALUE_MAX;
}

//  --------------------------------------------------------------------------
//  True if a response's payload is within RUMOR_VALUE_MAX.
static bool
s_valid_response (const Rumor__Response *response)
{
    return response && response->payload.len <= RUMOR_VALUE_MAX;
}

//  --------------------------------------------------------------------------
//  True if verdict has a 16-byte id, a state, and lists within
//  RUMOR_REPEATED_MAX of 16-byte suspecter ids and RTTs.
static bool
s_valid_verdict (const Rumor__Verdict *verdict)
{
    if (!verdict || !s_valid_id (verdict->id) || !s_valid_state (verdict->state)
    ||  verdict->n_suspecters > RUMOR_REPEATED_MAX
    ||  verdict->n_rtts > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < verdict->n_suspecters; i++)
        if (!s_valid_id (verdict->suspecters [i]))
            return false;
    return true;
}

//  --------------------------------------------------------------------------
//  True if delta entries are within RUMOR_REPEATED_MAX, all valid.
static bool
s_valid_kvs (Rumor__KvEntry **entries, size_t n)
{
    if (n > RUMOR_REPEATED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!rumor_codec_valid_kv (entries [i]))
            return false;
    return true;
}

//  --------------------------------------------------------------------------
//  Membership bodies
static bool
s_valid_membership_body (const Rumor__Envelope *env)
{
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_JOIN:
            return env->join && rumor_codec_valid_member (env->join->self);
        case RUMOR__ENVELOPE__BODY_JOIN_REPLY:
            return env->join_reply
                && s_valid_members (env->join_reply->members,
                                    env->join_reply->n_members);
        case RUMOR__ENVELOPE__BODY_LEAVE:
            return env->leave != NULL;
        case RUMOR__ENVELOPE__BODY_UPDATES:
            return env->updates
                && s_valid_members (env->updates->updates,
                                    env->updates->n_updates);
        case RUMOR__ENVELOPE__BODY_PUSH_PULL:
            return env->push_pull
                && s_valid_members (env->push_pull->members,
                                    env->push_pull->n_members);
        default:
            return false;
    }
}

//  --------------------------------------------------------------------------
//  Detection bodies
static bool
s_valid_detection_body (const Rumor__Envelope *env)
{
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_PING:
            return env->ping && s_valid_id_or_empty (env->ping->target)
                && s_valid_id_or_empty (env->ping->requester);
        case RUMOR__ENVELOPE__BODY_ACK:
            return env->ack && s_valid_id_or_empty (env->ack->target);
        case RUMOR__ENVELOPE__BODY_PING_REQ:
            return env->ping_req && s_valid_id (env->ping_req->target)
                && rumor_codec_valid_endpoint (env->ping_req->endpoint);
        case RUMOR__ENVELOPE__BODY_NACK:
            return env->nack && s_valid_id_or_empty (env->nack->target);
        default:
            return false;
    }
}

//  --------------------------------------------------------------------------
//  Anti-entropy bodies
static bool
s_valid_anti_entropy_body (const Rumor__Envelope *env)
{
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_DIGEST:
            return env->digest
                && s_valid_digest (env->digest->entries, env->digest->n_entries);
        case RUMOR__ENVELOPE__BODY_DELTA:
            return env->delta
                && s_valid_kvs (env->delta->entries, env->delta->n_entries);
        case RUMOR__ENVELOPE__BODY_DELTA_REQUEST:
            return env->delta_request
                && s_valid_digest (env->delta_request->entries,
                                   env->delta_request->n_entries);
        default:
            return false;
    }
}

//  --------------------------------------------------------------------------
//  Application bodies
static bool
s_valid_app_body (const Rumor__Envelope *env)
{
    switch (env->body_case) {
        case RUMOR__ENVELOPE__BODY_EVENT:
            return s_valid_event (env->event);
        case RUMOR__ENVELOPE__BODY_IHAVE:
            return env->ihave && s_valid_refs (env->ihave->refs, env->ihave->n_refs);
        case RUMOR__ENVELOPE__BODY_GRAFT:
            return env->graft && s_valid_refs (env->graft->refs, env->graft->n_refs);
        case RUMOR__ENVELOPE__BODY_PRUNE:
            return env->prune != NULL;
        case RUMOR__ENVELOPE__BODY_DIRECT:
            return s_valid_direct (env->direct);
        case RUMOR__ENVELOPE__BODY_QUERY:
            return s_valid_query (env->query);
        case RUMOR__ENVELOPE__BODY_RESPONSE:
            return s_valid_response (env->response);
        default:
            return false;
    }
}

//  --------------------------------------------------------------------------
//  The actor that handles this envelope's body.
rumor_owner_t
rumor_codec_owner (const Rumor__Envelope *env)
{
    assert (env);
    //  Field numbers are grouped by family in rumor.proto: 16 per family
    int kind = (int) env->body_case;
    if (kind >= 16 && kind < 32)
        return RUMOR_OWNER_MEMBERSHIP;
    if (kind >= 32 && kind < 48)
        return RUMOR_OWNER_DETECTOR;
    if (kind >= 48 && kind < 64)
        return RUMOR_OWNER_ANTI_ENTROPY;
    if (kind >= 64 && kind < 80)
        return RUMOR_OWNER_APP;
    return RUMOR_OWNER_NONE;
}

//  --------------------------------------------------------------------------
//  True if the body is valid for its kind.
static bool
s_valid_body (const Rumor__Envelope *env)
{
    switch (rumor_codec_owner (env)) {
        case RUMOR_OWNER_MEMBERSHIP:   return s_valid_membership_body (env);
        case RUMOR_OWNER_DETECTOR:     return s_valid_detection_body (env);
        case RUMOR_OWNER_ANTI_ENTROPY: return s_valid_anti_entropy_body (env);
        case RUMOR_OWNER_APP:          return s_valid_app_body (env);
        default:                       return false;
    }
}

//  --------------------------------------------------------------------------
//  Everything after unpacking, in counter order.
static s_verdict_t
s_check_envelope (const Rumor__Envelope *env, uint64_t cluster)
{
    //  Already peeked on the wire; checked again on what cores will read
    if ((env->version >> 16) != RUMOR_PROTOCOL_MAJOR)
        return S_BAD_VERSION;
    if (env->cluster != cluster)
        return S_BAD_CLUSTER;
    if (!s_valid_id (env->sender))
        return S_BAD_SENDER;
    if (rumor_codec_owner (env) == RUMOR_OWNER_NONE)
        return S_NO_BODY;
    if (!s_valid_id_or_empty (env->target)
    ||  !s_valid_body (env)
    ||  !s_valid_members (env->piggyback, env->n_piggyback))
        return S_BAD_FIELD;
    return S_ACCEPTED;
}

//  --------------------------------------------------------------------------
//  Everything after unpacking a beacon, in counter order.
static s_verdict_t
s_check_beacon (const Rumor__Beacon *beacon, uint64_t cluster)
{
    if ((beacon->version >> 16) != RUMOR_PROTOCOL_MAJOR)
        return S_BAD_VERSION;
    if (beacon->cluster != cluster)
        return S_BAD_CLUSTER;
    if (!s_valid_id (beacon->id))
        return S_BAD_SENDER;
    if (beacon->port == 0 || beacon->port > RUMOR_PORT_MAX
    ||  !rumor_codec_valid_endpoint (beacon->endpoint))
        return S_BAD_FIELD;
    return S_ACCEPTED;
}


//  ==========================================================================
//  Counting

//  --------------------------------------------------------------------------
//  Count one verdict (stats may be NULL).
static void
s_count (rumor_codec_stats_t *stats, s_verdict_t verdict)
{
    if (!stats)
        return;
    switch (verdict) {
        case S_ACCEPTED:    stats->accepted++;      break;
        case S_OVERSIZED:   stats->oversized++;     break;
        case S_MALFORMED:   stats->malformed++;     break;
        case S_BAD_VERSION: stats->bad_version++;   break;
        case S_BAD_CLUSTER: stats->bad_cluster++;   break;
        case S_BAD_SENDER:  stats->bad_sender++;    break;
        case S_NO_BODY:     stats->no_body++;       break;
        case S_BAD_FIELD:   stats->bad_field++;     break;
    }
}

//  --------------------------------------------------------------------------
//  Sum of all refusal counters in stats.
uint64_t
rumor_codec_refused (const rumor_codec_stats_t *stats)
{
    assert (stats);
    return stats->oversized + stats->malformed + stats->bad_version
         + stats->bad_cluster + stats->bad_sender + stats->no_body
         + stats->bad_field;
}


//  ==========================================================================
//  Decoding

//  --------------------------------------------------------------------------
//  Decode and validate one frame of cluster (see codec.h).
Rumor__Envelope *
rumor_codec_decode (const uint8_t *data, size_t size, uint64_t cluster,
                    rumor_codec_stats_t *stats)
{
    s_verdict_t verdict;
    Rumor__Envelope *env = (Rumor__Envelope *) s_decode (
        &rumor__envelope__descriptor, data, size, RUMOR_FRAME_MAX,
        &cluster, &verdict);
    if (env)
        verdict = s_check_envelope (env, cluster);
    s_count (stats, verdict);
    if (env && verdict != S_ACCEPTED)
        rumor_codec_free (&env);
    return env;
}

//  --------------------------------------------------------------------------
//  Free a decoded envelope and set the caller's pointer to NULL.
void
rumor_codec_free (Rumor__Envelope **env_p)
{
    assert (env_p);
    if (*env_p) {
        rumor__envelope__free_unpacked (*env_p, NULL);
        *env_p = NULL;
    }
}

//  Validators of the detail types, one per descriptor
typedef bool (s_detail_fn) (const ProtobufCMessage *msg);

//  --------------------------------------------------------------------------
//  Detail validator: MemberUpdate.
static bool
s_detail_member (const ProtobufCMessage *msg)
{
    return rumor_codec_valid_member ((const Rumor__MemberUpdate *) msg);
}

//  --------------------------------------------------------------------------
//  Detail validator: KvEntry.
static bool
s_detail_kv (const ProtobufCMessage *msg)
{
    return rumor_codec_valid_kv ((const Rumor__KvEntry *) msg);
}

//  --------------------------------------------------------------------------
//  Detail validator: Verdict.
static bool
s_detail_verdict (const ProtobufCMessage *msg)
{
    return s_valid_verdict ((const Rumor__Verdict *) msg);
}

//  --------------------------------------------------------------------------
//  Detail validator: Event.
static bool
s_detail_event (const ProtobufCMessage *msg)
{
    return s_valid_event ((const Rumor__Event *) msg);
}

//  --------------------------------------------------------------------------
//  Detail validator: Query.
static bool
s_detail_query (const ProtobufCMessage *msg)
{
    return s_valid_query ((const Rumor__Query *) msg);
}

//  --------------------------------------------------------------------------
//  Detail validator: Direct.
static bool
s_detail_direct (const ProtobufCMessage *msg)
{
    return s_valid_direct ((const Rumor__Direct *) msg);
}

//  --------------------------------------------------------------------------
//  Detail validator: Response.
static bool
s_detail_response (const ProtobufCMessage *msg)
{
    return s_valid_response ((const Rumor__Response *) msg);
}

//  --------------------------------------------------------------------------
//  The validator for a detail type, or NULL if it is not one.
static s_detail_fn *
s_detail_validator (const ProtobufCMessageDescriptor *descriptor)
{
    static const struct {
        const ProtobufCMessageDescriptor *descriptor;
        s_detail_fn *valid;
    } details [] = {
        { &rumor__member_update__descriptor, s_detail_member },
        { &rumor__kv_entry__descriptor,      s_detail_kv },
        { &rumor__verdict__descriptor,       s_detail_verdict },
        { &rumor__event__descriptor,         s_detail_event },
        { &rumor__query__descriptor,         s_detail_query },
        { &rumor__direct__descriptor,        s_detail_direct },
        { &rumor__response__descriptor,      s_detail_response }
    };
    for (size_t i = 0; i < sizeof (details) / sizeof (details [0]); i++)
        if (details [i].descriptor == descriptor)
            return details [i].valid;
    return NULL;
}

//  --------------------------------------------------------------------------
//  Decode and validate an internal event detail of the given type.
ProtobufCMessage *
rumor_codec_decode_detail (const ProtobufCMessageDescriptor *descriptor,
                           const uint8_t *data, size_t size)
{
    assert (descriptor);
    s_detail_fn *valid = s_detail_validator (descriptor);
    if (!valid)
        return NULL;                //  not a detail type
    s_verdict_t verdict;
    ProtobufCMessage *msg = s_decode (descriptor, data, size, RUMOR_FRAME_MAX,
                                      NULL, &verdict);
    if (msg && !valid (msg))
        rumor_codec_free_detail (&msg);
    return msg;
}

//  --------------------------------------------------------------------------
//  Free a decoded detail and set the caller's pointer to NULL.
void
rumor_codec_free_detail (ProtobufCMessage **msg_p)
{
    assert (msg_p);
    if (*msg_p) {
        protobuf_c_message_free_unpacked (*msg_p, NULL);
        *msg_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Decode and validate one beacon datagram of cluster.
Rumor__Beacon *
rumor_codec_decode_beacon (const uint8_t *data, size_t size, uint64_t cluster,
                           rumor_codec_stats_t *stats)
{
    s_verdict_t verdict;
    Rumor__Beacon *beacon = (Rumor__Beacon *) s_decode (
        &rumor__beacon__descriptor, data, size, RUMOR_BEACON_MAX,
        &cluster, &verdict);
    if (beacon)
        verdict = s_check_beacon (beacon, cluster);
    s_count (stats, verdict);
    if (beacon && verdict != S_ACCEPTED)
        rumor_codec_free_beacon (&beacon);
    return beacon;
}

//  --------------------------------------------------------------------------
//  Free a decoded beacon and set the caller's pointer to NULL.
void
rumor_codec_free_beacon (Rumor__Beacon **beacon_p)
{
    assert (beacon_p);
    if (*beacon_p) {
        rumor__beacon__free_unpacked (*beacon_p, NULL);
        *beacon_p = NULL;
    }
}


//  ==========================================================================
//  Packing

//  --------------------------------------------------------------------------
//  Pack any message into a new frame, or NULL if over RUMOR_FRAME_MAX.
const char *
rumor_codec_take_string (const byte **at, const byte *end)
{
    assert (at && *at && end);
    const byte *nul = *at < end? (const byte *) memchr (*at, 0,
                                                (size_t) (end - *at)): NULL;
    if (!nul)
        return NULL;
    const char *string = (const char *) *at;
    *at = nul + 1;
    return string;
}

zframe_t *
rumor_codec_pack (const ProtobufCMessage *msg)
{
    return rumor_codec_pack_after (NULL, 0, msg);
}

zframe_t *
rumor_codec_pack_after (const void *head, size_t head_size,
                        const ProtobufCMessage *msg)
{
    assert (msg);
    assert (head || head_size == 0);
    size_t size = protobuf_c_message_get_packed_size (msg);
    if (size > RUMOR_FRAME_MAX)
        return NULL;
    zframe_t *frame = zframe_new (NULL, head_size + size);
    assert (frame);
    if (head_size)
        memcpy (zframe_data (frame), head, head_size);
    protobuf_c_message_pack (msg, zframe_data (frame) + head_size);
    return frame;
}

//  --------------------------------------------------------------------------
//  True if body holds only members of Envelope's body oneof, so that sealing
//  it cannot override a header field.
static bool
s_body_only (const uint8_t *body, size_t body_size)
{
    s_wire_t wire;
    s_wire_init (&wire, body, body_size);
    s_field_t field;
    int rc;
    while ((rc = s_wire_next (&wire, &field)) > 0) {
        const ProtobufCFieldDescriptor *descriptor =
            protobuf_c_message_descriptor_get_field (
                &rumor__envelope__descriptor, field.number);
        if (!descriptor || !(descriptor->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            return false;
    }
    return rc == 0;
}

//  --------------------------------------------------------------------------
//  Header, piggyback and a core's body in one frame (see codec.h).
zframe_t *
rumor_codec_seal (const rumor_header_t *header,
                  Rumor__MemberUpdate **piggyback, size_t n,
                  const uint8_t *body, size_t body_size)
{
    assert (header);
    assert (body || body_size == 0);
    assert (piggyback || n == 0);
    if (body_size > RUMOR_FRAME_MAX || !s_body_only (body, body_size))
        return NULL;
    Rumor__Envelope head = RUMOR__ENVELOPE__INIT;
    head.version = RUMOR_PROTOCOL_VERSION;
    head.cluster = header->cluster;
    head.sender = rumor_id_bin (&header->sender);
    head.generation = header->generation;
    head.incarnation = header->incarnation;
    head.seq = header->seq;
    if (!rumor_id_is_zero (&header->target))
        head.target = rumor_id_bin (&header->target);
    head.n_piggyback = n;
    head.piggyback = piggyback;

    size_t head_size = rumor__envelope__get_packed_size (&head);
    if (head_size > RUMOR_FRAME_MAX - body_size)
        return NULL;
    zframe_t *frame = zframe_new (NULL, head_size + body_size);
    assert (frame);
    rumor__envelope__pack (&head, zframe_data (frame));
    if (body_size)
        memcpy (zframe_data (frame) + head_size, body, body_size);
    return frame;
}

//  --------------------------------------------------------------------------
//  Pack a beacon, or NULL if a receiver would refuse it.
zframe_t *
rumor_codec_pack_beacon (const Rumor__Beacon *beacon)
{
    assert (beacon);
    Rumor__Beacon copy = *beacon;
    copy.version = RUMOR_PROTOCOL_VERSION;
    size_t size = rumor__beacon__get_packed_size (&copy);
    if (size > RUMOR_BEACON_MAX)
        return NULL;
    uint8_t buffer [RUMOR_BEACON_MAX];
    rumor__beacon__pack (&copy, buffer);
    //  Send nothing a receiver would refuse: decode it as one would
    Rumor__Beacon *check = rumor_codec_decode_beacon (buffer, size,
                                                      copy.cluster, NULL);
    if (!check)
        return NULL;
    rumor_codec_free_beacon (&check);
    return zframe_new (buffer, size);
}
