/*  =========================================================================
    fuzz_seeds - write the seed corpus of fuzz_decode

    Usage: fuzz_seeds DIRECTORY [large]
    Writes one valid input of each kind into DIRECTORY (which must exist):
      frame-NN-P.bin    a frame of cluster "fuzz" with body field NN and P
                        piggybacked updates (0 or 2), as a node sends it
      detail-NAME.bin   a packed internal event detail
      beacon.bin        a beacon of cluster "fuzz"
      effect-*.bin      a SEND and an EVENT effect in fuzz_decode's framing
    With "large", it writes instead three inputs near RUMOR_FRAME_MAX,
    which libFuzzer would take long to grow to (not committed: 2.5 MiB):
      large-padded.bin  a Prune frame padded to exactly RUMOR_FRAME_MAX
      large-members.bin a JoinReply of 1024 members, 1024 piggybacked
      large-costly.bin  2048 updates of 64 empty tags and 188 unknown
                        fields: over RUMOR_DECODE_MEM_MAX to unpack
    The files in tests/fuzz/seeds/ were written by this program.
    =========================================================================
*/

#include "codec.h"
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CLUSTER_NAME   "fuzz"
#define GENERATION          1700000000000ULL

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

//  One frame of an effect in fuzz_decode's framing: a length byte, bytes.
static void
s_effect_frame (zchunk_t *chunk, const void *data, size_t size)
{
    assert (size < 256);
    uint8_t length = (uint8_t) size;
    zchunk_extend (chunk, &length, 1);
    zchunk_extend (chunk, data, size);
}

static void
s_write_effects (void)
{
    zchunk_t *chunk = zchunk_new (NULL, 0);
    uint8_t frames = 4;
    zchunk_extend (chunk, &frames, 1);
    s_effect_frame (chunk, "SEND", 4);
    s_effect_frame (chunk, s_ids [1].bytes, RUMOR_ID_SIZE);
    s_effect_frame (chunk, "tcp://127.0.0.1:7001", 21);
    zframe_t *body = s_body (RUMOR__ENVELOPE__BODY_PING);
    s_effect_frame (chunk, zframe_data (body), zframe_size (body));
    zframe_destroy (&body);
    s_write ("effect-send.bin", zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);

    chunk = zchunk_new (NULL, 0);
    zchunk_extend (chunk, &frames, 1);
    s_effect_frame (chunk, "EVENT", 5);
    s_effect_frame (chunk, "member", 7);
    zframe_t *detail = rumor_codec_pack (&s_member [0].base);
    s_effect_frame (chunk, zframe_data (detail), zframe_size (detail));
    zframe_destroy (&detail);
    s_effect_frame (chunk, "", 1);
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

int
main (int argc, char *argv [])
{
    if (argc < 2 || argc > 3 || (argc == 3 && !streq (argv [2], "large"))) {
        fprintf (stderr, "usage: fuzz_seeds DIRECTORY [large]\n");
        return 1;
    }
    s_directory = argv [1];
    s_fixture ();
    if (argc == 3) {
        s_write_large ();
        return 0;
    }
    s_write_frames ();
    s_write_details ();
    s_write_beacon ();
    s_write_effects ();
    return 0;
}
