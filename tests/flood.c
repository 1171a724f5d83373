/*  =========================================================================
    rumor_flood - floods rumor nodes' ports with hostile input, for tests

        rumor_flood --mode tcp|zmtp|udp|mixed --endpoint tcp://127.0.0.1:P
                    [--endpoint ...] [--beacon-port P] [--cluster NAME]
                    [--rate N] [--duration S] [--seed N]

    Modes (each a way a hostile or broken client reaches a node):
      tcp    raw TCP: connect to a ROUTER port, write random bytes (half the
             time after a valid ZMTP greeting prefix), close; one
             connection per message
      zmtp   valid ZMTP connections (a DEALER) sending, in turn: random
             frames, a frame over 1 MiB (libzmq cuts the connection),
             multipart messages, frames with a valid rumor header of our
             cluster followed by random bytes, frames of another cluster,
             and well-formed Events from random unknown senders; the DEALER
             is closed and a new one connected every 64 messages
      udp    random datagrams (0..600 bytes) to the loopback beacon group
             127.255.255.255:PORT
      mixed  all three each round
    --rate is messages per second per mode (default 2000, 1..200000);
    --duration is bounded (default 10 s, at most 600). Endpoints are used
    in turn. Only loopback addresses are accepted, so that a test can never
    flood anything but this host. Prints what it sent on stdout at the end.
    Exit 0, or 2 on bad arguments.
    =========================================================================
*/

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <czmq.h>
#include "codec.h"
#include "id.h"
#include "prng.h"

#define S_ENDPOINTS_MAX     64
#define S_ZMTP_CYCLE        64      //  messages per DEALER before reconnect
#define S_OVERSIZE          (RUMOR_FRAME_MAX + RUMOR_FRAME_MAX / 2)
#define S_SLICE_MS          10      //  sending happens in slices this long

typedef struct {
    bool tcp, zmtp, udp;            //  modes on
    char *endpoints [S_ENDPOINTS_MAX];  //  "tcp://127.0.0.1:PORT"
    int ports [S_ENDPOINTS_MAX];    //  their ports
    size_t n_endpoints;
    int beacon_port;                //  UDP port, 0 = no udp target
    uint64_t cluster;               //  hash of the cluster to mimic
    long rate;                      //  messages per second per mode
    long duration_s;                //  how long
    rumor_prng_t prng;
    //  Running
    size_t next_tcp, next_zmtp;     //  endpoint rotation
    zsock_t *dealer;                //  current ZMTP connection
    size_t dealer_sent;             //  messages on it
    int udp_fd;
    uint8_t *oversize;              //  one oversize buffer, reused
    uint64_t sent_tcp, sent_zmtp, sent_udp, refused_connect;
} s_flood_t;

static void
s_random (s_flood_t *self, uint8_t *buffer, size_t size)
{
    for (size_t i = 0; i < size; i++)
        buffer [i] = (uint8_t) rumor_prng_next (&self->prng);
}

//  --------------------------------------------------------------------------
//  tcp: raw bytes, one connection each

static void
s_tcp_one (s_flood_t *self)
{
    int port = self->ports [self->next_tcp++ % self->n_endpoints];
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return;
    struct timeval timeout = { 0, 100000 };
    setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof (timeout));
    //  Close with a reset: no TIME_WAIT, so thousands of connections do
    //  not exhaust this host's ephemeral ports
    struct linger linger = { 1, 0 };
    setsockopt (fd, SOL_SOCKET, SO_LINGER, &linger, sizeof (linger));
    struct sockaddr_in address;
    memset (&address, 0, sizeof (address));
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) port);
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *) &address, sizeof (address)) == 0) {
        uint8_t buffer [4096];
        size_t size = 1 + rumor_prng_below (&self->prng, sizeof (buffer) - 1);
        s_random (self, buffer, size);
        //  Half the time a valid ZMTP 3 signature first, so the garbage
        //  reaches the handshake's later stages
        if (rumor_prng_below (&self->prng, 2) && size > 11) {
            static const uint8_t greeting [11] = {
                0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3 };
            memcpy (buffer, greeting, sizeof (greeting));
        }
        if (send (fd, buffer, size, MSG_NOSIGNAL) > 0)
            self->sent_tcp++;
    }
    else
        self->refused_connect++;
    close (fd);
}

//  --------------------------------------------------------------------------
//  zmtp: a DEALER with hostile frames

static void
s_dealer_cycle (s_flood_t *self)
{
    if (self->dealer && self->dealer_sent < S_ZMTP_CYCLE)
        return;
    zsock_destroy (&self->dealer);
    self->dealer = zsock_new (ZMQ_DEALER);
    assert (self->dealer);
    zsock_set_linger (self->dealer, 0);
    zsock_set_sndhwm (self->dealer, 1000);
    zsock_set_sndtimeo (self->dealer, 0);
    zsock_connect (self->dealer, "%s",
                   self->endpoints [self->next_zmtp++ % self->n_endpoints]);
    self->dealer_sent = 0;
}

//  A frame with a valid header of cluster from a random sender, then rest
//  (random bytes, or a well-formed Event body)
static zframe_t *
s_sealed (s_flood_t *self, uint64_t cluster, bool event)
{
    rumor_header_t header;
    memset (&header, 0, sizeof (header));
    header.cluster = cluster;
    rumor_id_from_u64 (&header.sender, rumor_prng_next (&self->prng) | 1);
    header.generation = (uint64_t) zclock_time () - 1000;
    header.seq = rumor_prng_next (&self->prng) >> 16;
    uint8_t body [512];
    size_t size = 0;
    if (event) {
        uint8_t payload [64];
        s_random (self, payload, sizeof (payload));
        Rumor__Event msg = RUMOR__EVENT__INIT;
        msg.origin = rumor_id_bin (&header.sender);
        msg.id = rumor_prng_next (&self->prng) >> 8;
        msg.topic = "flood.noise";
        msg.payload.data = payload;
        msg.payload.len = sizeof (payload);
        Rumor__Envelope env = RUMOR__ENVELOPE__INIT;
        env.body_case = RUMOR__ENVELOPE__BODY_EVENT;
        env.event = &msg;
        size = rumor__envelope__pack (&env, body);
        return rumor_codec_seal (&header, NULL, 0, body, size);
    }
    zframe_t *head = rumor_codec_seal (&header, NULL, 0, NULL, 0);
    if (!head)
        return NULL;
    size = 1 + rumor_prng_below (&self->prng, sizeof (body) - 1);
    s_random (self, body, size);
    zframe_t *frame = zframe_new (NULL, zframe_size (head) + size);
    memcpy (zframe_data (frame), zframe_data (head), zframe_size (head));
    memcpy (zframe_data (frame) + zframe_size (head), body, size);
    zframe_destroy (&head);
    return frame;
}

static void
s_zmtp_one (s_flood_t *self)
{
    s_dealer_cycle (self);
    zmsg_t *msg = zmsg_new ();
    uint8_t buffer [2048];
    size_t size;
    //  One frame over the limit per connection, last: libzmq cuts the
    //  connection on it (what is queued behind it would be lost), and
    //  sending more would only burn CPU on copies
    bool last = self->dealer_sent == S_ZMTP_CYCLE - 1;
    switch (last? 0: 1 + rumor_prng_below (&self->prng, 7)) {
        case 0:                     //  over the frame limit
            zmsg_addmem (msg, self->oversize, S_OVERSIZE);
            break;
        case 1:                     //  multipart
            zmsg_addmem (msg, buffer, 8);
            zmsg_addmem (msg, buffer, 8);
            zmsg_addmem (msg, buffer, 8);
            break;
        case 2:
        case 3: {                   //  our cluster, random body
            zframe_t *frame = s_sealed (self, self->cluster, false);
            if (frame)
                zmsg_append (msg, &frame);
            break;
        }
        case 4: {                   //  another cluster
            zframe_t *frame = s_sealed (self, self->cluster ^ 1, true);
            if (frame)
                zmsg_append (msg, &frame);
            break;
        }
        case 5: {                   //  a well-formed Event of a stranger
            zframe_t *frame = s_sealed (self, self->cluster, true);
            if (frame)
                zmsg_append (msg, &frame);
            break;
        }
        default:                    //  random bytes
            size = rumor_prng_below (&self->prng, sizeof (buffer));
            s_random (self, buffer, size);
            zmsg_addmem (msg, buffer, size);
    }
    if (zmsg_size (msg) && zmsg_send (&msg, self->dealer) == 0)
        self->sent_zmtp++;
    zmsg_destroy (&msg);
    self->dealer_sent++;
}

//  --------------------------------------------------------------------------
//  udp: garbage to the loopback beacon group

static void
s_udp_one (s_flood_t *self)
{
    if (self->udp_fd < 0)
        return;
    uint8_t buffer [600];
    size_t size = rumor_prng_below (&self->prng, sizeof (buffer) + 1);
    s_random (self, buffer, size);
    struct sockaddr_in group;
    memset (&group, 0, sizeof (group));
    group.sin_family = AF_INET;
    group.sin_port = htons ((uint16_t) self->beacon_port);
    inet_pton (AF_INET, "127.255.255.255", &group.sin_addr);
    if (sendto (self->udp_fd, buffer, size, 0, (struct sockaddr *) &group,
                sizeof (group)) >= 0)
        self->sent_udp++;
}

//  --------------------------------------------------------------------------
//  Arguments and the loop

static int
s_usage (void)
{
    fprintf (stderr, "usage: rumor_flood --mode tcp|zmtp|udp|mixed "
             "--endpoint tcp://127.0.0.1:PORT ... [--beacon-port PORT] "
             "[--cluster NAME] [--rate N] [--duration S] [--seed N]\n");
    return 2;
}

static int
s_add_endpoint (s_flood_t *self, const char *endpoint)
{
    int port;
    char extra;
    if (self->n_endpoints == S_ENDPOINTS_MAX
    ||  sscanf (endpoint, "tcp://127.0.0.1:%d%c", &port, &extra) != 1
    ||  port < 1 || port > 65535)
        return -1;
    self->endpoints [self->n_endpoints] = strdup (endpoint);
    self->ports [self->n_endpoints++] = port;
    return 0;
}

static int
s_parse (s_flood_t *self, int argc, char *argv [])
{
    static struct option options [] = {
        { "mode", required_argument, 0, 'm' },
        { "endpoint", required_argument, 0, 'e' },
        { "beacon-port", required_argument, 0, 'b' },
        { "cluster", required_argument, 0, 'c' },
        { "rate", required_argument, 0, 'r' },
        { "duration", required_argument, 0, 'd' },
        { "seed", required_argument, 0, 's' },
        { 0, 0, 0, 0 }
    };
    int option;
    char *end;
    while ((option = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (option) {
            case 'm':
                self->tcp = streq (optarg, "tcp") || streq (optarg, "mixed");
                self->zmtp = streq (optarg, "zmtp") || streq (optarg, "mixed");
                self->udp = streq (optarg, "udp") || streq (optarg, "mixed");
                if (!self->tcp && !self->zmtp && !self->udp)
                    return -1;
                break;
            case 'e':
                if (s_add_endpoint (self, optarg))
                    return -1;
                break;
            case 'b':
                self->beacon_port = (int) strtol (optarg, &end, 10);
                if (*end || self->beacon_port < 1 || self->beacon_port > 65535)
                    return -1;
                break;
            case 'c':
                self->cluster = rumor_cluster_hash (optarg);
                break;
            case 'r':
                self->rate = strtol (optarg, &end, 10);
                if (*end || self->rate < 1 || self->rate > 200000)
                    return -1;
                break;
            case 'd':
                self->duration_s = strtol (optarg, &end, 10);
                if (*end || self->duration_s < 1 || self->duration_s > 600)
                    return -1;
                break;
            case 's':
                rumor_prng_seed (&self->prng, strtoull (optarg, NULL, 10));
                break;
            default:
                return -1;
        }
    }
    if ((self->tcp || self->zmtp) && self->n_endpoints == 0)
        return -1;
    if (self->udp && !self->beacon_port)
        return -1;
    return optind == argc? 0: -1;
}

int
main (int argc, char *argv [])
{
    s_flood_t self;
    memset (&self, 0, sizeof (self));
    self.cluster = rumor_cluster_hash ("rumor");
    self.rate = 2000;
    self.duration_s = 10;
    rumor_prng_seed (&self.prng, (uint64_t) getpid ());
    if (s_parse (&self, argc, argv))
        return s_usage ();
    zsys_init ();
    zsys_handler_set (NULL);
    self.udp_fd = -1;
    if (self.udp) {
        self.udp_fd = socket (AF_INET, SOCK_DGRAM, 0);
        int on = 1;
        setsockopt (self.udp_fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof (on));
    }
    self.oversize = (uint8_t *) calloc (1, S_OVERSIZE);
    assert (self.oversize);
    int64_t start = zclock_mono ();
    int64_t end = start + self.duration_s * 1000;
    //  Send what the rate allows up to now, in slices
    uint64_t due_total = 0, done = 0;
    while (zclock_mono () < end) {
        due_total = (uint64_t) ((zclock_mono () - start) * self.rate / 1000);
        while (done < due_total) {
            if (self.tcp)
                s_tcp_one (&self);
            if (self.zmtp)
                s_zmtp_one (&self);
            if (self.udp)
                s_udp_one (&self);
            done++;
            if (zclock_mono () >= end)
                break;
        }
        zclock_sleep (S_SLICE_MS);
    }
    printf ("rumor_flood: sent tcp=%" PRIu64 " zmtp=%" PRIu64 " udp=%" PRIu64
            " refused_connect=%" PRIu64 "\n", self.sent_tcp, self.sent_zmtp,
            self.sent_udp, self.refused_connect);
    zsock_destroy (&self.dealer);
    if (self.udp_fd >= 0)
        close (self.udp_fd);
    free (self.oversize);
    for (size_t i = 0; i < self.n_endpoints; i++)
        free (self.endpoints [i]);
    return 0;
}
