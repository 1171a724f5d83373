/*  =========================================================================
    fuzz_seeds - write the seed corpus of fuzz_decode

    Usage: fuzz_seeds DIRECTORY [KIND]
    KIND decode (the default) writes fuzz_decode's seeds, one valid input
    of each kind, into DIRECTORY (which must exist):
      frame-NN-P.bin    a frame of cluster "fuzz" with body field NN and P
                        piggybacked updates (0 or 2), as a node sends it
      detail-NAME.bin   a packed internal event detail
      beacon.bin        a beacon of cluster "fuzz"
      effect-*.bin      a SEND and an EVENT effect frame (effects.h)
    KIND large writes instead three inputs near RUMOR_FRAME_MAX,
    which libFuzzer would take long to grow to (not committed: 2.5 MiB):
      large-padded.bin  a Prune frame padded to exactly RUMOR_FRAME_MAX
      large-members.bin a JoinReply of 1024 members, 1024 piggybacked
      large-costly.bin  2048 updates of 64 empty tags and 188 unknown
                        fields: over RUMOR_DECODE_MEM_MAX to unpack
    KIND membership, detector, anti_entropy or app writes that core
    target's seeds (records of fuzz_core.h): for each of its body kinds,
    three live peers, then a frame of that kind from one of them (with 0
    or 2 piggybacked updates), time, the frame again (frame-NN-P.bin); the
    core's API calls (commands.bin); a peer suspected, confirmed and dead
    (events.bin).
    KIND beacon writes fuzz_beacon's seeds: beacons of a peer each second,
    signed in each way fuzz_beacon offers, one replayed, one late
    (beacon-FLAGS.bin).
    KIND control writes fuzz_control's seeds: a valid Request of each
    command, every field filled (control-NAME.bin), and one without.
    The files in tests/fuzz/seeds and tests/fuzz/seeds-CORE were written
    by this program.
    =========================================================================
*/

#include "fuzz_core.h"
#include "control.pb-c.h"
#include "beacon.h"

#define GENERATION          FUZZ_GENERATION

static const char *s_directory;
static rumor_id_t s_ids [3];
static Rumor__Tag s_tag = RUMOR__TAG__INIT;
static Rumor__Tag *s_tags [1] = { &s_tag };
static Rumor__MemberUpdate s_member [2];
static Rumor__MemberUpdate *s_members [2] = { &s_member [0], &s_member [1] };
static Rumor__DigestEntry s_digest_entry = RUMOR__DIGEST_ENTRY__INIT;
static Rumor__DigestEntry *s_digest_entries [1] = { &s_digest_entry };
static Rumor__KvEntry s_kv = RUMOR__KV_ENTRY__INIT;
static Rumor__KvEntry *s_kvs [1] = { &s_kv };
static Rumor__EventRef s_ref = RUMOR__EVENT_REF__INIT;
static Rumor__EventRef *s_refs [1] = { &s_ref };
static Rumor__Event s_event = RUMOR__EVENT__INIT;
static Rumor__Direct s_direct = RUMOR__DIRECT__INIT;
static Rumor__Query s_query = RUMOR__QUERY__INIT;
static Rumor__Response s_response = RUMOR__RESPONSE__INIT;
static ProtobufCBinaryData s_suspecters [1];
static uint32_t s_rtts [2] = { 4, 300 };
static Rumor__Verdict s_verdict = RUMOR__VERDICT__INIT;

static void
s_write (const char *name, const void *data, size_t size)
{
    char path [1024];
    snprintf (path, sizeof (path), "%s/%s", s_directory, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size) {
        fprintf (stderr, "fuzz_seeds: cannot write %s\n", path);
        exit (1);
    }
    fclose (file);
}

static void
s_write_frame (const char *name, zframe_t **frame_p)
{
    assert (*frame_p);
    s_write (name, zframe_data (*frame_p), zframe_size (*frame_p));
    zframe_destroy (frame_p);
}

static void
s_fixture (void)
{
    for (int i = 0; i < 3; i++)
        rumor_id_from_u64 (&s_ids [i], 100 + i);
    s_tag.key = "service";
    s_tag.value = "kafka";
    for (int i = 0; i < 2; i++) {
        rumor__member_update__init (&s_member [i]);
        s_member [i].id = rumor_id_bin (&s_ids [i]);
        s_member [i].generation = GENERATION;
        s_member [i].incarnation = 1;
        s_member [i].state = RUMOR__STATE__STATE_ALIVE + i;
        s_member [i].name = "node";
        s_member [i].endpoint = "tcp://127.0.0.1:7000";
        s_member [i].n_tags = 1;
        s_member [i].tags = s_tags;
    }
    s_member [1].accuser = rumor_id_bin (&s_ids [2]);
    s_digest_entry.origin = rumor_id_bin (&s_ids [0]);
    s_digest_entry.generation = GENERATION;
    s_digest_entry.version = 3;
    s_kv.origin = rumor_id_bin (&s_ids [0]);
    s_kv.generation = GENERATION;
    s_kv.key = "temp";
    s_kv.value.data = (uint8_t *) "21.5";
    s_kv.value.len = 4;
    s_kv.version = 3;
    s_kv.expires_at = GENERATION + 60000;
    s_ref.origin = rumor_id_bin (&s_ids [1]);
    s_ref.id = 5;
    s_ref.hops = 1;
    s_event.origin = rumor_id_bin (&s_ids [1]);
    s_event.id = 5;
    s_event.topic = "lights.kitchen";
    s_event.payload.data = (uint8_t *) "on";
    s_event.payload.len = 2;
    s_event.hops = 2;
    s_direct.id = 9;
    s_direct.topic = "chat";
    s_direct.payload = s_event.payload;
    s_query.origin = rumor_id_bin (&s_ids [1]);
    s_query.id = 3;
    s_query.topic = "load";
    s_query.deadline = GENERATION + 1000;
    s_response.query = 3;
    s_response.payload = s_event.payload;
    s_suspecters [0] = rumor_id_bin (&s_ids [2]);
    s_verdict.id = rumor_id_bin (&s_ids [1]);
    s_verdict.state = RUMOR__STATE__STATE_SUSPECT;
    s_verdict.n_suspecters = 1;
    s_verdict.suspecters = s_suspecters;
    s_verdict.n_rtts = 2;
    s_verdict.rtts = s_rtts;
    s_verdict.phi = 250;
}

//  Pack a body of field number kind, as a core does.
static zframe_t *
s_body (int kind)
{
    Rumor__Join join = RUMOR__JOIN__INIT;
    join.self = &s_member [0];
    Rumor__JoinReply join_reply = RUMOR__JOIN_REPLY__INIT;
    join_reply.n_members = 2;
    join_reply.members = s_members;
    Rumor__Leave leave = RUMOR__LEAVE__INIT;
    leave.incarnation = 2;
    Rumor__MemberUpdates updates = RUMOR__MEMBER_UPDATES__INIT;
    updates.n_updates = 2;
    updates.updates = s_members;
    Rumor__PushPull push_pull = RUMOR__PUSH_PULL__INIT;
    push_pull.n_members = 2;
    push_pull.members = s_members;
    push_pull.reply = true;
    Rumor__Ping ping = RUMOR__PING__INIT;
    ping.probe = 7;
    ping.target = rumor_id_bin (&s_ids [1]);
    ping.sent_at = GENERATION;
    ping.requester = rumor_id_bin (&s_ids [2]);
    Rumor__Ack ack = RUMOR__ACK__INIT;
    ack.probe = 7;
    ack.echo = GENERATION;
    ack.target = rumor_id_bin (&s_ids [1]);
    Rumor__PingReq ping_req = RUMOR__PING_REQ__INIT;
    ping_req.probe = 8;
    ping_req.target = rumor_id_bin (&s_ids [1]);
    ping_req.endpoint = "tcp://127.0.0.1:7001";
    Rumor__Nack nack = RUMOR__NACK__INIT;
    nack.probe = 8;
    nack.target = rumor_id_bin (&s_ids [1]);
    Rumor__Digest digest = RUMOR__DIGEST__INIT;
    digest.n_entries = 1;
    digest.entries = s_digest_entries;
    Rumor__Delta delta = RUMOR__DELTA__INIT;
    delta.n_entries = 1;
    delta.entries = s_kvs;
    delta.push = true;
    delta.hops = 1;
    delta.base_version = 2;
    Rumor__DeltaRequest delta_request = RUMOR__DELTA_REQUEST__INIT;
    delta_request.n_entries = 1;
    delta_request.entries = s_digest_entries;
    Rumor__IHave ihave = RUMOR__IHAVE__INIT;
    ihave.n_refs = 1;
    ihave.refs = s_refs;
    Rumor__Graft graft = RUMOR__GRAFT__INIT;
    graft.n_refs = 1;
    graft.refs = s_refs;
    Rumor__Prune prune = RUMOR__PRUNE__INIT;

    Rumor__Envelope body = RUMOR__ENVELOPE__INIT;
    body.body_case = (Rumor__Envelope__BodyCase) kind;
    switch (kind) {
        case RUMOR__ENVELOPE__BODY_JOIN:          body.join = &join; break;
        case RUMOR__ENVELOPE__BODY_JOIN_REPLY:    body.join_reply = &join_reply; break;
        case RUMOR__ENVELOPE__BODY_LEAVE:         body.leave = &leave; break;
        case RUMOR__ENVELOPE__BODY_UPDATES:       body.updates = &updates; break;
        case RUMOR__ENVELOPE__BODY_PUSH_PULL:     body.push_pull = &push_pull; break;
        case RUMOR__ENVELOPE__BODY_PING:          body.ping = &ping; break;
        case RUMOR__ENVELOPE__BODY_ACK:           body.ack = &ack; break;
        case RUMOR__ENVELOPE__BODY_PING_REQ:      body.ping_req = &ping_req; break;
        case RUMOR__ENVELOPE__BODY_NACK:          body.nack = &nack; break;
        case RUMOR__ENVELOPE__BODY_DIGEST:        body.digest = &digest; break;
        case RUMOR__ENVELOPE__BODY_DELTA:         body.delta = &delta; break;
        case RUMOR__ENVELOPE__BODY_DELTA_REQUEST: body.delta_request = &delta_request; break;
        case RUMOR__ENVELOPE__BODY_EVENT:         body.event = &s_event; break;
        case RUMOR__ENVELOPE__BODY_IHAVE:         body.ihave = &ihave; break;
        case RUMOR__ENVELOPE__BODY_GRAFT:         body.graft = &graft; break;
        case RUMOR__ENVELOPE__BODY_PRUNE:         body.prune = &prune; break;
        case RUMOR__ENVELOPE__BODY_DIRECT:        body.direct = &s_direct; break;
        case RUMOR__ENVELOPE__BODY_QUERY:         body.query = &s_query; break;
        case RUMOR__ENVELOPE__BODY_RESPONSE:      body.response = &s_response; break;
        default:                                  assert (false);
    }
    return rumor_codec_pack (&body.base);
}

static void
s_write_frames (void)
{
    const int kinds [] = { 16, 17, 18, 19, 20, 32, 33, 34, 35, 48, 49, 50,
                           64, 65, 66, 67, 68, 69, 70 };
    rumor_header_t header;
    memset (&header, 0, sizeof (header));
    header.cluster = rumor_cluster_hash (FUZZ_CLUSTER_NAME);
    rumor_id_from_name (&header.sender, "seed");
    header.generation = GENERATION;
    header.incarnation = 1;
    header.seq = 1;
    for (size_t k = 0; k < sizeof (kinds) / sizeof (kinds [0]); k++) {
        zframe_t *body = s_body (kinds [k]);
        for (size_t piggyback = 0; piggyback <= 2; piggyback += 2) {
            //  With piggyback, also a target: every header field is set
            rumor_id_t none = { { 0 } };
            header.target = piggyback? s_ids [1]: none;
            zframe_t *frame = rumor_codec_seal (
                &header, s_members, piggyback,
                zframe_data (body), zframe_size (body));
            char name [64];
            snprintf (name, sizeof (name), "frame-%02d-%zu.bin", kinds [k], piggyback);
            s_write_frame (name, &frame);
        }
        zframe_destroy (&body);
    }
}

static void
s_write_details (void)
{
    const struct {
        const char *name;
        const ProtobufCMessage *msg;
    } details [] = {
        { "member", &s_member [1].base }, { "verdict", &s_verdict.base },
        { "kv", &s_kv.base }, { "event", &s_event.base },
        { "direct", &s_direct.base }, { "query", &s_query.base },
        { "response", &s_response.base }
    };
    for (size_t i = 0; i < sizeof (details) / sizeof (details [0]); i++) {
        char name [64];
        snprintf (name, sizeof (name), "detail-%s.bin", details [i].name);
        zframe_t *frame = rumor_codec_pack (details [i].msg);
        s_write_frame (name, &frame);
    }
}

static void
s_write_beacon (void)
{
    Rumor__Beacon beacon = RUMOR__BEACON__INIT;
    beacon.cluster = rumor_cluster_hash (FUZZ_CLUSTER_NAME);
    beacon.id = rumor_id_bin (&s_ids [0]);
    beacon.generation = GENERATION;
    beacon.port = 7000;
    beacon.endpoint = "tcp://10.0.0.5:7000";
    beacon.timestamp = GENERATION + 1;
    beacon.mac.data = (uint8_t *) "0123456789abcdef0123456789abcdef";
    beacon.mac.len = 32;
    zframe_t *frame = rumor_codec_pack_beacon (&beacon);
    s_write_frame ("beacon.bin", &frame);
}

//  A SEND and an EVENT effect frame as a core queues them (effects.h)
static void
s_write_effects (void)
{
    zchunk_t *chunk = zchunk_new (NULL, 0);
    uint8_t type = RUMOR_FX_SEND;
    zchunk_extend (chunk, &type, 1);
    zchunk_extend (chunk, s_ids [1].bytes, RUMOR_ID_SIZE);
    zchunk_extend (chunk, "tcp://127.0.0.1:7001", 21);
    zframe_t *body = s_body (RUMOR__ENVELOPE__BODY_PING);
    zchunk_extend (chunk, zframe_data (body), zframe_size (body));
    zframe_destroy (&body);
    s_write ("effect-send.bin", zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);

    chunk = zchunk_new (NULL, 0);
    type = RUMOR_FX_EVENT;
    zchunk_extend (chunk, &type, 1);
    zchunk_extend (chunk, "member", 7);
    zchunk_extend (chunk, "", 1);
    zframe_t *detail = rumor_codec_pack (&s_member [0].base);
    zchunk_extend (chunk, zframe_data (detail), zframe_size (detail));
    zframe_destroy (&detail);
    s_write ("effect-event.bin", zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);
}

//  Append a protobuf varint.
static void
s_varint (zchunk_t *chunk, uint64_t value)
{
    do {
        uint8_t byte = (value & 0x7f) | (value > 0x7f? 0x80: 0);
        zchunk_extend (chunk, &byte, 1);
        value >>= 7;
    } while (value);
}

//  Append a length-delimited field.
static void
s_field (zchunk_t *chunk, uint32_t number, const void *data, size_t size)
{
    s_varint (chunk, ((uint64_t) number << 3) | 2);
    s_varint (chunk, size);
    zchunk_extend (chunk, data, size);
}

//  A sealed header without body, with n piggybacked copies of member.
static zchunk_t *
s_large_header (Rumor__MemberUpdate *member, size_t n)
{
    Rumor__MemberUpdate **piggyback = (Rumor__MemberUpdate **)
        calloc (n + 1, sizeof (Rumor__MemberUpdate *));
    for (size_t i = 0; i < n; i++)
        piggyback [i] = member;
    rumor_header_t header;
    memset (&header, 0, sizeof (header));
    header.cluster = rumor_cluster_hash (FUZZ_CLUSTER_NAME);
    rumor_id_from_name (&header.sender, "seed");
    header.seq = 1;
    zframe_t *frame = rumor_codec_seal (&header, piggyback, n, NULL, 0);
    zchunk_t *chunk = zchunk_new (zframe_data (frame), zframe_size (frame));
    zframe_destroy (&frame);
    free (piggyback);
    return chunk;
}

static void
s_write_large (void)
{
    //  Padded with an unknown field (2-byte tag, 3-byte length)
    zchunk_t *chunk = s_large_header (NULL, 0);
    zframe_t *body = s_body (RUMOR__ENVELOPE__BODY_PRUNE);
    zchunk_extend (chunk, zframe_data (body), zframe_size (body));
    zframe_destroy (&body);
    size_t padding = RUMOR_FRAME_MAX - zchunk_size (chunk) - 5;
    uint8_t *zeros = (uint8_t *) calloc (1, padding);
    s_field (chunk, 1000, zeros, padding);
    free (zeros);
    s_write ("large-padded.bin", zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);

    chunk = s_large_header (&s_member [1], RUMOR_REPEATED_MAX);
    zchunk_t *members = zchunk_new (NULL, 0);
    zframe_t *member = rumor_codec_pack (&s_member [0].base);
    for (int i = 0; i < RUMOR_REPEATED_MAX; i++)
        s_field (members, 1, zframe_data (member), zframe_size (member));
    zframe_destroy (&member);
    s_field (chunk, RUMOR__ENVELOPE__BODY_JOIN_REPLY,
             zchunk_data (members), zchunk_size (members));
    s_write ("large-members.bin", zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&members);
    zchunk_destroy (&chunk);

    zchunk_t *costly = zchunk_new (NULL, 0);
    for (int i = 0; i < RUMOR_TAGS_MAX; i++)
        s_field (costly, 7, "", 0);
    for (int i = 0; i < 188; i++) {
        const uint8_t unknown [2] = { 15 << 3, 0 };
        zchunk_extend (costly, unknown, 2);
    }
    chunk = s_large_header (NULL, 0);
    members = zchunk_new (NULL, 0);
    for (int i = 0; i < RUMOR_REPEATED_MAX; i++) {
        s_field (chunk, 8, zchunk_data (costly), zchunk_size (costly));
        s_field (members, 1, zchunk_data (costly), zchunk_size (costly));
    }
    s_field (chunk, RUMOR__ENVELOPE__BODY_JOIN_REPLY,
             zchunk_data (members), zchunk_size (members));
    assert (zchunk_size (chunk) <= RUMOR_FRAME_MAX);
    s_write ("large-costly.bin", zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&members);
    zchunk_destroy (&costly);
    zchunk_destroy (&chunk);
}

//  --------------------------------------------------------------------------
//  Core seeds: records of fuzz_core.h

//  Append one record
static void
s_record (zchunk_t *chunk, uint8_t advance, uint8_t type, const void *data,
          size_t size)
{
    assert (size <= 0xffff);
    uint8_t header [FUZZ_RECORD_HEADER] = {
        advance, type, (uint8_t) (size & 0xff), (uint8_t) (size >> 8) };
    zchunk_extend (chunk, header, sizeof (header));
    if (size)
        zchunk_extend (chunk, data, size);
}

//  A "member" event record: peer i (0, 2 or 3 of the fixture) ALIVE
static void
s_record_member (zchunk_t *chunk, uint64_t number, Rumor__State state)
{
    rumor_id_t id;
    rumor_id_from_u64 (&id, number);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d",
              7000 + (int) number);
    Rumor__MemberUpdate member = RUMOR__MEMBER_UPDATE__INIT;
    member.id = rumor_id_bin (&id);
    member.generation = GENERATION;
    member.incarnation = 1;
    member.state = state;
    member.name = "peer";
    member.endpoint = endpoint;
    zframe_t *detail = rumor_codec_pack (&member.base);
    //  Event kind 0 of FUZZ_EVENT_KINDS is "member"
    s_record (chunk, 1, FUZZ_RECORD_EVENT, zframe_data (detail),
              zframe_size (detail));
    zframe_destroy (&detail);
}

//  A frame record: body kind from peer 100 to us, with piggyback updates
static void
s_record_frame (zchunk_t *chunk, int kind, size_t piggyback)
{
    rumor_header_t header;
    memset (&header, 0, sizeof (header));
    header.cluster = rumor_cluster_hash (FUZZ_CLUSTER_NAME);
    rumor_id_from_u64 (&header.sender, FUZZ_PEER_U64);
    rumor_id_from_u64 (&header.target, FUZZ_SELF_U64);
    header.generation = GENERATION;
    header.incarnation = 1;
    header.seq = 1;
    zframe_t *body = s_body (kind);
    zframe_t *frame = rumor_codec_seal (&header, s_members, piggyback,
                                        zframe_data (body), zframe_size (body));
    assert (frame);
    s_record (chunk, 5, FUZZ_RECORD_FRAME, zframe_data (frame),
              zframe_size (frame));
    zframe_destroy (&frame);
    zframe_destroy (&body);
}

//  A command record: number, then NUL-separated arguments
static void
s_record_command (zchunk_t *chunk, unsigned number, const void *data,
                  size_t size)
{
    s_record (chunk, 10, (uint8_t) (number << 2 | FUZZ_RECORD_COMMAND),
              data, size);
}

//  The prefix of every core seed: three live peers
static zchunk_t *
s_core_prefix (void)
{
    zchunk_t *chunk = zchunk_new (NULL, 0);
    s_record_member (chunk, FUZZ_PEER_U64, RUMOR__STATE__STATE_ALIVE);
    s_record_member (chunk, FUZZ_SELF_U64 + 1, RUMOR__STATE__STATE_ALIVE);
    s_record_member (chunk, FUZZ_SELF_U64 + 2, RUMOR__STATE__STATE_ALIVE);
    return chunk;
}

//  Time passes: a few seconds, then half a minute, so timers fire
static void
s_record_time (zchunk_t *chunk)
{
    s_record (chunk, 100, FUZZ_RECORD_TIME, NULL, 0);
    s_record (chunk, 104, FUZZ_RECORD_TIME, NULL, 0);
    s_record (chunk, 220, FUZZ_RECORD_TIME, NULL, 0);
}

static void
s_write_chunk (const char *name, zchunk_t **chunk_p)
{
    s_write (name, zchunk_data (*chunk_p), zchunk_size (*chunk_p));
    zchunk_destroy (chunk_p);
}

//  The core's own API calls, then time
static void
s_core_commands (const char *core, zchunk_t *chunk)
{
    if (streq (core, "membership")) {
        s_record_command (chunk, 0, "tcp://127.0.0.1:7200", 21);
        s_record_command (chunk, 3, "role=a\0zone=b", 13);
        s_record_command (chunk, 4, "tcp://127.0.0.1:7300", 21);
        s_record_time (chunk);
        s_record_command (chunk, 2, NULL, 0);
    }
    else
    if (streq (core, "detector")) {
        uint8_t peer = 1;
        s_record_command (chunk, 0, &peer, 1);
    }
    else
    if (streq (core, "anti_entropy")) {
        s_record_command (chunk, 0, "temp\0\x10\x27" "21.5", 11);
        s_record_command (chunk, 0, "light\0\0\0on", 10);
        s_record_command (chunk, 1, "light", 5);
    }
    else {
        s_record_command (chunk, 2, "lights.kitchen\0on", 17);
        s_record_command (chunk, 4, "\xe8\x03load\0now", 10);
        s_record_command (chunk, 3, "\x01" "chat\0hello", 11);
        s_record_command (chunk, 5, "\x01\x05" "fine", 6);
        s_record_command (chunk, 0, "lights.*", 8);
        s_record_command (chunk, 1, "lights.*", 8);
    }
    s_record_time (chunk);
}

//  Core seeds: for each body kind of the core, the prefix, a frame of it
//  (with and without piggyback), then time; and one seed of API calls.
static void
s_write_core (const char *core, rumor_owner_t owner)
{
    //  Broadcasts from a peer, ids in its generation's range
    s_event.origin = rumor_id_bin (&s_ids [0]);
    s_event.id = (GENERATION << 16) + 5;
    s_ref.origin = s_event.origin;
    s_ref.id = s_event.id;
    s_query.origin = s_event.origin;
    s_query.id = (GENERATION << 16) + 6;
    s_response.query = (GENERATION << 16) + 1;
    const int kinds [] = { 16, 17, 18, 19, 20, 32, 33, 34, 35, 48, 49, 50,
                           64, 65, 66, 67, 68, 69, 70 };
    for (size_t k = 0; k < sizeof (kinds) / sizeof (kinds [0]); k++) {
        Rumor__Envelope probe = RUMOR__ENVELOPE__INIT;
        probe.body_case = (Rumor__Envelope__BodyCase) kinds [k];
        if (rumor_codec_owner (&probe) != owner)
            continue;
        for (size_t piggyback = 0; piggyback <= 2; piggyback += 2) {
            zchunk_t *chunk = s_core_prefix ();
            s_record_frame (chunk, kinds [k], piggyback);
            s_record_time (chunk);
            s_record_frame (chunk, kinds [k], piggyback);
            char name [64];
            snprintf (name, sizeof (name), "frame-%02d-%zu.bin", kinds [k],
                      piggyback);
            s_write_chunk (name, &chunk);
        }
    }
    zchunk_t *chunk = s_core_prefix ();
    s_core_commands (core, chunk);
    s_write_chunk ("commands.bin", &chunk);
    //  A peer suspected, confirmed, then dead (events 1..3 of the kinds)
    chunk = s_core_prefix ();
    zframe_t *detail = rumor_codec_pack (&s_member [1].base);
    for (uint8_t kind = 1; kind <= 3; kind++)
        s_record (chunk, 50, (uint8_t) (kind << 2 | FUZZ_RECORD_EVENT),
                  zframe_data (detail), zframe_size (detail));
    zframe_destroy (&detail);
    s_record_time (chunk);
    s_write_chunk ("events.bin", &chunk);
}

//  --------------------------------------------------------------------------
//  Beacon seeds: datagram records of fuzz_beacon.c

//  A beacon of peer 100 stamped at, with endpoint (may be "")
static zframe_t *
s_peer_beacon (uint64_t at, const char *endpoint)
{
    Rumor__Beacon beacon = RUMOR__BEACON__INIT;
    beacon.cluster = rumor_cluster_hash (FUZZ_CLUSTER_NAME);
    beacon.id = rumor_id_bin (&s_ids [0]);
    beacon.generation = GENERATION;
    beacon.port = 7000;
    beacon.endpoint = (char *) endpoint;
    beacon.timestamp = at;
    zframe_t *frame = rumor_codec_pack_beacon (&beacon);
    assert (frame);
    return frame;
}

//  Each second a beacon, signed as flags say: unsigned, K1, K2, K3; then
//  one without endpoint (from the source address), one replayed, one late
static void
s_write_beacons (void)
{
    const uint8_t flags [] = { 0, 1, 2, 3, 1 | 4, 2 | 8, 1 | 12 };
    for (size_t i = 0; i < sizeof (flags) / sizeof (flags [0]); i++) {
        zchunk_t *chunk = zchunk_new (NULL, 0);
        for (uint64_t second = 1; second <= 3; second++) {
            zframe_t *frame = s_peer_beacon (FUZZ_START + second * 1000,
                                             i < 4? "tcp://10.0.0.5:7000": "");
            //  advance 104: 1000 ms
            s_record (chunk, 104, flags [i], zframe_data (frame),
                      zframe_size (frame));
            if (second == 2)        //  the same again: a replay
                s_record (chunk, 0, flags [i], zframe_data (frame),
                          zframe_size (frame));
            zframe_destroy (&frame);
        }
        //  Two minutes later, a beacon stamped then: outside the window
        zframe_t *frame = s_peer_beacon (FUZZ_START + 4000, "tcp://10.0.0.5:7000");
        s_record (chunk, 255, flags [i], zframe_data (frame), zframe_size (frame));
        zframe_destroy (&frame);
        char name [64];
        snprintf (name, sizeof (name), "beacon-%u.bin", flags [i]);
        s_write_chunk (name, &chunk);
    }
}

//  --------------------------------------------------------------------------
//  Control seeds: one valid Request of each command

//  Fill every field of a new msg of descriptor with a valid value: strings
//  "x" (a key, topic, member name), bytes of a valid secret, numbers 1000,
//  enums their first non-zero value, one item in repeated fields.
static ProtobufCMessage *
s_filled (const ProtobufCMessageDescriptor *descriptor)
{
    ProtobufCMessage *msg = (ProtobufCMessage *) calloc (1, descriptor->sizeof_message);
    assert (msg);
    descriptor->message_init (msg);
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields [i];
        void *at = (char *) msg + field->offset;
        void *value = NULL;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            //  One item: an array of one pointer (strings and messages)
            void **array = (void **) calloc (1, sizeof (void *));
            assert (array);
            *(size_t *) ((char *) msg + field->quantifier_offset) = 1;
            *(void ***) at = array;
            at = array;
        }
        switch (field->type) {
            case PROTOBUF_C_TYPE_STRING:
                *(char **) at = (char *) "x";
                break;
            case PROTOBUF_C_TYPE_BYTES:
                ((ProtobufCBinaryData *) at)->data = (uint8_t *) "0123456789abcdef";
                ((ProtobufCBinaryData *) at)->len = 16;
                break;
            case PROTOBUF_C_TYPE_UINT64:
            case PROTOBUF_C_TYPE_INT64:
                *(uint64_t *) at = 1000;
                break;
            case PROTOBUF_C_TYPE_ENUM:
                *(int *) at = 1;
                break;
            case PROTOBUF_C_TYPE_BOOL:
                *(protobuf_c_boolean *) at = 1;
                break;
            case PROTOBUF_C_TYPE_MESSAGE:
                value = s_filled ((const ProtobufCMessageDescriptor *) field->descriptor);
                *(void **) at = value;
                break;
            default:
                break;
        }
    }
    return msg;
}

//  One seed per command: Request{id, command} with every field filled;
//  control-none.bin has no command (refused)
static void
s_write_control (void)
{
    const ProtobufCMessageDescriptor *request = &rumorctl__request__descriptor;
    for (unsigned i = 0; i < request->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &request->fields [i];
        if (!(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        Rumorctl__Request msg = RUMORCTL__REQUEST__INIT;
        msg.id = 7;
        *(uint32_t *) ((char *) &msg + field->quantifier_offset) = field->id;
        ProtobufCMessage *command = s_filled (
            (const ProtobufCMessageDescriptor *) field->descriptor);
        *(ProtobufCMessage **) ((char *) &msg + field->offset) = command;
        zframe_t *frame = rumor_codec_pack (&msg.base);
        char name [64];
        snprintf (name, sizeof (name), "control-%s.bin", field->name);
        s_write_frame (name, &frame);
        //  The filler's allocations are left to the exit: a seed maker
    }
    Rumorctl__Request none = RUMORCTL__REQUEST__INIT;
    none.id = 8;
    zframe_t *frame = rumor_codec_pack (&none.base);
    s_write_frame ("control-none.bin", &frame);
}

int
main (int argc, char *argv [])
{
    const char *kinds =
        "decode|large|membership|detector|anti_entropy|app|beacon|control";
    if (argc < 2 || argc > 3) {
        fprintf (stderr, "usage: fuzz_seeds DIRECTORY [%s]\n", kinds);
        return 1;
    }
    s_directory = argv [1];
    const char *kind = argc == 3? argv [2]: "decode";
    s_fixture ();
    if (streq (kind, "decode")) {
        s_write_frames ();
        s_write_details ();
        s_write_beacon ();
        s_write_effects ();
    }
    else
    if (streq (kind, "large"))
        s_write_large ();
    else
    if (streq (kind, "membership"))
        s_write_core (kind, RUMOR_OWNER_MEMBERSHIP);
    else
    if (streq (kind, "detector"))
        s_write_core (kind, RUMOR_OWNER_DETECTOR);
    else
    if (streq (kind, "anti_entropy"))
        s_write_core (kind, RUMOR_OWNER_ANTI_ENTROPY);
    else
    if (streq (kind, "app"))
        s_write_core (kind, RUMOR_OWNER_APP);
    else
    if (streq (kind, "beacon"))
        s_write_beacons ();
    else
    if (streq (kind, "control"))
        s_write_control ();
    else {
        fprintf (stderr, "usage: fuzz_seeds DIRECTORY [%s]\n", kinds);
        return 1;
    }
    return 0;
}
