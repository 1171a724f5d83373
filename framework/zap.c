/*  =========================================================================
    rumor_zap - the process's ZAP handler for secured nodes

    See zap.h. Two locks: s_life serialises starting and stopping the
    handler (held across zactor_new/zactor_destroy), s_lock guards the
    registry of domains and is the only one the handler thread takes, so
    stopping the handler can never wait on a handler blocked on a lock.
    =========================================================================
*/

#include <pthread.h>
#include <stdatomic.h>
#include "zap.h"

#define S_ZAP_ENDPOINT      "inproc://zeromq.zap.01"
//  Bytes of a CURVE client's long-term public key in a ZAP request
#define S_CURVE_KEY_SIZE    32

struct _rumor_zap_domain_t {
    char name [32];                 //  ZMQ_ZAP_DOMAIN of the node's ROUTER
    uint8_t keys [RUMOR_KEYRING_MAX][S_CURVE_KEY_SIZE];
    size_t n_keys;                  //  public keys admitted
    bool used [RUMOR_KEYRING_MAX];  //  each admitted a client since the
                                    //  last rumor_zap_forget
    uint64_t admitted;              //  requests answered 200
    uint64_t refused;               //  requests answered 400
};

static pthread_mutex_t s_life = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static zactor_t *s_handler;         //  the running handler, under s_life
static zhashx_t *s_domains;         //  name -> domain, under s_lock
static uint64_t s_orphans;          //  refusals for unknown domains
static atomic_uint s_names;         //  unique domain names


//  --------------------------------------------------------------------------
//  The handler

//  200 if the request is a CURVE client with a key of its domain
static bool
s_admit (zmsg_t *request)
{
    char *domain = zmsg_popstr (request);
    zframe_t *address = zmsg_pop (request);
    zframe_t *identity = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *key = zmsg_pop (request);
    bool admit = false;
    pthread_mutex_lock (&s_lock);
    rumor_zap_domain_t *self = domain && s_domains?
        (rumor_zap_domain_t *) zhashx_lookup (s_domains, domain): NULL;
    if (self && mechanism && streq (mechanism, "CURVE") && key
    &&  zframe_size (key) == S_CURVE_KEY_SIZE && zmsg_size (request) == 0)
        for (size_t i = 0; i < self->n_keys && !admit; i++)
            if (memcmp (self->keys [i], zframe_data (key),
                        S_CURVE_KEY_SIZE) == 0)
                admit = self->used [i] = true;
    if (self && admit)
        self->admitted++;
    else
    if (self)
        self->refused++;
    else
        s_orphans++;
    pthread_mutex_unlock (&s_lock);
    zframe_destroy (&key);
    zstr_free (&mechanism);
    zframe_destroy (&identity);
    zframe_destroy (&address);
    zstr_free (&domain);
    return admit;
}

//  One request: version, request id, domain, address, identity,
//  mechanism, credentials. The reply echoes the request id.
static void
s_handle_request (zsock_t *rep)
{
    zmsg_t *request = zmsg_recv (rep);
    if (!request)
        return;
    char *version = zmsg_popstr (request);
    char *sequence = zmsg_popstr (request);
    bool ok = version && streq (version, "1.0") && sequence
           && s_admit (request);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, sequence? sequence: "");
    zmsg_addstr (reply, ok? "200": "400");
    zmsg_addstr (reply, ok? "OK": "not a key of this cluster");
    zmsg_addstr (reply, "");        //  user id
    zmsg_addmem (reply, NULL, 0);   //  metadata
    zmsg_send (&reply, rep);
    zstr_free (&sequence);
    zstr_free (&version);
    zmsg_destroy (&request);
}

//  The actor; args is the REP socket, bound already (ownership passes)
static void
s_handler_actor (zsock_t *pipe, void *args)
{
    zsock_t *rep = (zsock_t *) args;
    zpoller_t *poller = zpoller_new (pipe, rep, NULL);
    assert (poller);
    //  Only $TERM ends it: a handler gone on Ctrl-C would leave libzmq
    //  with no one to ask, and it then admits every client
    zpoller_set_nonstop (poller, true);
    zsock_signal (pipe, 0);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == rep)
            s_handle_request (rep);
        else
        if (which == pipe) {
            zmsg_t *msg = zmsg_recv (pipe);
            char *command = msg? zmsg_popstr (msg): NULL;
            bool term = !command || streq (command, "$TERM");
            zstr_free (&command);
            zmsg_destroy (&msg);
            if (term)
                break;
        }
    }
    zpoller_destroy (&poller);
    //  Unbind first: an inproc endpoint is released at once that way, at
    //  close only once libzmq's reaper gets to it, and a zauth or node
    //  that binds it right after we stopped would find it taken
    zsock_unbind (rep, S_ZAP_ENDPOINT);
    zsock_destroy (&rep);
}

//  Start the handler; under s_life. 0, or -1 with *why set.
static int
s_handler_start (char **why)
{
    zsock_t *rep = zsock_new (ZMQ_REP);
    if (!rep) {
        *why = strdup ("cannot create the ZAP handler's socket");
        return -1;
    }
    zsock_set_linger (rep, 0);
    if (zsock_bind (rep, S_ZAP_ENDPOINT)) {
        *why = zsys_sprintf ("the ZAP endpoint %s is taken (%s): does this "
                             "program run zauth or its own ZAP handler? A "
                             "node with a secret needs rumor's own",
                             S_ZAP_ENDPOINT, zmq_strerror (zmq_errno ()));
        zsock_destroy (&rep);
        return -1;
    }
    s_handler = zactor_new (s_handler_actor, rep);
    if (!s_handler) {
        zsock_destroy (&rep);
        *why = strdup ("cannot start the ZAP handler");
        return -1;
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Registry

rumor_zap_domain_t *
rumor_zap_register (char **why)
{
    assert (why);
    *why = NULL;
    pthread_mutex_lock (&s_life);
    if (!s_handler && s_handler_start (why)) {
        pthread_mutex_unlock (&s_life);
        return NULL;
    }
    rumor_zap_domain_t *self = (rumor_zap_domain_t *) zmalloc (sizeof (*self));
    assert (self);
    snprintf (self->name, sizeof (self->name), "rumor-%u",
              atomic_fetch_add (&s_names, 1));
    pthread_mutex_lock (&s_lock);
    if (!s_domains)
        s_domains = zhashx_new ();
    zhashx_insert (s_domains, self->name, self);
    pthread_mutex_unlock (&s_lock);
    pthread_mutex_unlock (&s_life);
    return self;
}

void
rumor_zap_unregister (rumor_zap_domain_t **self_p)
{
    assert (self_p);
    rumor_zap_domain_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&s_life);
    pthread_mutex_lock (&s_lock);
    zhashx_delete (s_domains, self->name);
    bool last = zhashx_size (s_domains) == 0;
    if (last)
        zhashx_destroy (&s_domains);
    pthread_mutex_unlock (&s_lock);
    if (last)
        zactor_destroy (&s_handler);
    pthread_mutex_unlock (&s_life);
    memset (self->keys, 0, sizeof (self->keys));
    free (self);
    *self_p = NULL;
}

const char *
rumor_zap_domain (rumor_zap_domain_t *self)
{
    assert (self);
    return self->name;
}

void
rumor_zap_set_keys (rumor_zap_domain_t *self, const rumor_keyring_t *keyring)
{
    assert (self);
    assert (keyring);
    pthread_mutex_lock (&s_lock);
    uint8_t keys [RUMOR_KEYRING_MAX][S_CURVE_KEY_SIZE];
    bool used [RUMOR_KEYRING_MAX] = { false };
    size_t n = 0;
    for (; n < rumor_keyring_size (keyring) && n < RUMOR_KEYRING_MAX; n++) {
        memcpy (keys [n], rumor_keyring_at (keyring, n)->public_key,
                S_CURVE_KEY_SIZE);
        for (size_t old = 0; old < self->n_keys; old++)
            if (memcmp (self->keys [old], keys [n], S_CURVE_KEY_SIZE) == 0)
                used [n] = self->used [old];
    }
    memcpy (self->keys, keys, sizeof (keys));
    memcpy (self->used, used, sizeof (used));
    self->n_keys = n;
    pthread_mutex_unlock (&s_lock);
}

bool
rumor_zap_used (rumor_zap_domain_t *self, const uint8_t *public_key)
{
    assert (self);
    bool used = false;
    pthread_mutex_lock (&s_lock);
    for (size_t i = 0; i < self->n_keys; i++)
        if (memcmp (self->keys [i], public_key, S_CURVE_KEY_SIZE) == 0)
            used = self->used [i];
    pthread_mutex_unlock (&s_lock);
    return used;
}

void
rumor_zap_forget (rumor_zap_domain_t *self)
{
    assert (self);
    pthread_mutex_lock (&s_lock);
    memset (self->used, 0, sizeof (self->used));
    pthread_mutex_unlock (&s_lock);
}

void
rumor_zap_counts (rumor_zap_domain_t *self, uint64_t *admitted,
                  uint64_t *refused)
{
    assert (self);
    pthread_mutex_lock (&s_lock);
    *admitted = self->admitted;
    *refused = self->refused;
    pthread_mutex_unlock (&s_lock);
}
