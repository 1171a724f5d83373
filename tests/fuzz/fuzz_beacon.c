/*  =========================================================================
    fuzz_beacon - libFuzzer target for beacon validation

    Two discoveries in OFF mode (no socket) of cluster "fuzz", self
    FUZZ_SELF_U64: one without keys, one with keys K1 and K2. The input is
    a sequence of datagram records, as fuzz_core.h's:

        advance (1 byte) | flags (1 byte) | length (2 bytes, LE) | bytes

    advance moves the clock as in fuzz_core.h. flags % 4 signs the bytes
    before they are sent (0 as they are, 1 with K1, 2 with K2, 3 with K3,
    a key neither has) by appending the mac field as beacon.h describes,
    so that signed beacons reach the checks behind the MAC; (flags / 4) %
    4 picks the source address ("127.0.0.1", none, "::1", "fe80::1%lo").
    Each datagram goes to both through rumor_discovery_accept. Checks:
      - every call counts the datagram as heard and moves exactly one of
        accepted or a refusal counter (heard = accepted + refused);
      - an accepted beacon is another node's, with a valid endpoint, a
        timestamp within the skew allowed, heard at now;
      - without keys, nothing carrying a MAC is accepted;
      - with keys, what is accepted ends with a MAC of the rest under K1
        or K2 (no forgery), is within the replay window, and the same
        datagram again at once is refused as replayed.
    A broken check calls abort (), which libFuzzer reports as a crash.
    FUZZ_CORE_TRACE in the environment prints the counts before each one.
    =========================================================================
*/

#include "fuzz_core.h"
#include "beacon.h"
#include <sodium.h>

//  The mac field's tag and length (field 8, 32 bytes), then the MAC
#define S_TRAILER       (2 + RUMOR_DISCOVERY_MAC_SIZE)

static uint8_t s_keys [3][RUMOR_DISCOVERY_KEY_SIZE];

//  Keys K1, K2 (the keyed discovery's) and K3 (nobody's)
static void
s_keys_init (void)
{
    for (int key = 0; key < 3; key++)
        memset (s_keys [key], 'A' + key, RUMOR_DISCOVERY_KEY_SIZE);
}

static rumor_discovery_t *
s_discovery_new (size_t n_keys)
{
    rumor_discovery_cfg_t cfg;
    rumor_discovery_cfg_defaults (&cfg);
    cfg.cluster = rumor_cluster_hash (FUZZ_CLUSTER_NAME);
    fuzz_core_id (&cfg.self, 0);
    cfg.generation = FUZZ_GENERATION;
    cfg.tcp_port = 7101;
    cfg.keys = n_keys? &s_keys [0][0]: NULL;
    cfg.n_keys = n_keys;
    rumor_discovery_t *self = rumor_discovery_new (&cfg);
    if (!self)
        fprintf (stderr, "fuzz_beacon: %s\n", rumor_discovery_error ());
    FUZZ_CHECK (self);
    return self;
}

//  data [0..size) then the mac field signed with key, into out (which has
//  room for size + S_TRAILER bytes)
static void
s_sign (const uint8_t *key, const uint8_t *data, size_t size, uint8_t *out)
{
    if (size)
        memcpy (out, data, size);
    out [size] = 8 << 3 | 2;
    out [size + 1] = RUMOR_DISCOVERY_MAC_SIZE;
    crypto_generichash (out + size + 2, RUMOR_DISCOVERY_MAC_SIZE, data, size,
                        key, RUMOR_DISCOVERY_KEY_SIZE);
}

//  True if data ends with a mac field that signs the rest under key
static bool
s_signed_by (const uint8_t *key, const uint8_t *data, size_t size)
{
    if (size < S_TRAILER)
        return false;
    size_t unsigned_size = size - S_TRAILER;
    uint8_t expected [RUMOR_BEACON_MAX + S_TRAILER];
    FUZZ_CHECK (unsigned_size <= RUMOR_BEACON_MAX);
    s_sign (key, data, unsigned_size, expected);
    return memcmp (expected, data, size) == 0;
}

static uint64_t
s_abs_diff (uint64_t a, uint64_t b)
{
    return a > b? a - b: b - a;
}

//  One datagram into one discovery: the counting, and what is accepted
static int
s_accept (rumor_discovery_t *self, int64_t now, const uint8_t *data,
          size_t size, const char *source, rumor_heard_t *heard)
{
    const rumor_discovery_stats_t *stats = rumor_discovery_stats (self);
    uint64_t heard_before = stats->heard;
    uint64_t accepted_before = stats->accepted;
    uint64_t refused_before = rumor_discovery_refused (stats);
    int rc = rumor_discovery_accept (self, now, data, size, source, heard);
    FUZZ_CHECK (rc == 0 || rc == 1);
    FUZZ_CHECK (stats->heard == heard_before + 1);
    FUZZ_CHECK (stats->accepted == accepted_before + (rc == 1));
    FUZZ_CHECK (rumor_discovery_refused (stats) == refused_before + (rc == 0));
    FUZZ_CHECK (stats->heard == stats->accepted + rumor_discovery_refused (stats));
    if (rc == 1) {
        rumor_id_t me;
        fuzz_core_id (&me, 0);
        FUZZ_CHECK (!rumor_id_eq (&heard->id, &me));
        FUZZ_CHECK (heard->endpoint [0]);
        FUZZ_CHECK (rumor_codec_valid_endpoint (heard->endpoint));
        FUZZ_CHECK (heard->heard_ms == now);
        FUZZ_CHECK (s_abs_diff (heard->timestamp, (uint64_t) now)
                    <= RUMOR_DISCOVERY_MAX_SKEW_DFLT);
    }
    return rc;
}

static void
s_datagram (rumor_discovery_t *plain, rumor_discovery_t *keyed, int64_t now,
            const uint8_t *data, size_t size, const char *source)
{
    rumor_heard_t heard;
    if (getenv ("FUZZ_CORE_TRACE"))
        fprintf (stderr, "datagram %zu bytes: plain %" PRIu64 "/%" PRIu64
                 ", keyed %" PRIu64 "/%" PRIu64 " accepted/heard so far\n",
                 size, rumor_discovery_stats (plain)->accepted,
                 rumor_discovery_stats (plain)->heard,
                 rumor_discovery_stats (keyed)->accepted,
                 rumor_discovery_stats (keyed)->heard);
    if (s_accept (plain, now, data, size, source, &heard)) {
        Rumor__Beacon *beacon = rumor_codec_decode_beacon (
            data, size, rumor_cluster_hash (FUZZ_CLUSTER_NAME), NULL);
        FUZZ_CHECK (beacon);
        FUZZ_CHECK (beacon->mac.len == 0);
        rumor_codec_free_beacon (&beacon);
    }
    if (s_accept (keyed, now, data, size, source, &heard)) {
        FUZZ_CHECK (s_signed_by (s_keys [0], data, size)
                 || s_signed_by (s_keys [1], data, size));
        FUZZ_CHECK (s_abs_diff (heard.timestamp, (uint64_t) now)
                    <= RUMOR_DISCOVERY_REPLAY_WINDOW_DFLT);
        uint64_t replayed = rumor_discovery_stats (keyed)->replayed;
        FUZZ_CHECK (s_accept (keyed, now, data, size, source, &heard) == 0);
        FUZZ_CHECK (rumor_discovery_stats (keyed)->replayed == replayed + 1);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool initialized = false;
    if (!initialized) {
        //  Refusals are logged once a minute per reason: not worth the time
        zsys_set_logstream (NULL);
        s_keys_init ();
        initialized = true;
    }
    static const char *sources [] = { "127.0.0.1", NULL, "::1", "fe80::1%lo" };
    rumor_discovery_t *plain = s_discovery_new (0);
    rumor_discovery_t *keyed = s_discovery_new (2);
    int64_t now = FUZZ_START;
    size_t at = 0;
    while (size - at >= FUZZ_RECORD_HEADER) {
        uint8_t advance = data [at];
        uint8_t flags = data [at + 1];
        size_t length = data [at + 2] | (size_t) data [at + 3] << 8;
        at += FUZZ_RECORD_HEADER;
        if (length > size - at)
            length = size - at;
        now += advance <= 100? advance: (int64_t) (advance - 100) * 250;
        const char *source = sources [(flags / 4) % 4];
        if (flags % 4 == 0 || length > RUMOR_BEACON_MAX)
            s_datagram (plain, keyed, now, data + at, length, source);
        else {
            uint8_t datagram [RUMOR_BEACON_MAX + S_TRAILER];
            s_sign (s_keys [flags % 4 - 1], data + at, length, datagram);
            s_datagram (plain, keyed, now, datagram, length + S_TRAILER, source);
        }
        at += length;
    }
    rumor_discovery_destroy (&plain);
    rumor_discovery_destroy (&keyed);
    return 0;
}
