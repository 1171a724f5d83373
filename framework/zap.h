/*  =========================================================================
    rumor_zap - the process's ZAP handler for secured nodes

    libzmq asks a ZAP handler (RFC 27, a REP socket bound to
    inproc://zeromq.zap.01 on the context) whether to admit each CURVE
    client of a CURVE server socket. A process has at most one such
    handler, so rumor runs one for all its secured nodes: a zactor on
    czmq's context, started by the first node that registers and stopped
    when the last one leaves (reference counted, under a mutex).

    Each node registers a domain (a unique name it sets as its ROUTER's
    ZMQ_ZAP_DOMAIN) with the public keys of its keyring. The handler admits
    (200) a CURVE client whose public key is among its domain's keys, and
    refuses (400) and counts everything else: another key, another
    mechanism, an unknown domain, a malformed request. It never asserts on
    a request.

    If the endpoint is taken (the program runs czmq's zauth, or its own
    handler), rumor_zap_register fails and says why: a node cannot check
    its clients then, so it must not start.

    Thread-safe: every function may be called from any thread.
    =========================================================================
*/

#ifndef RUMOR_ZAP_H_INCLUDED
#define RUMOR_ZAP_H_INCLUDED

#include <czmq.h>
#include "secret.h"

typedef struct _rumor_zap_domain_t rumor_zap_domain_t;

//  Register a new domain with no keys (starting the handler if this is the
//  first). Returns NULL on failure and sets *why to a new string saying
//  why (caller frees).
rumor_zap_domain_t *rumor_zap_register (char **why);

//  Unregister (stopping the handler if this was the last). Nullifies the
//  pointer; does nothing if it is NULL.
void rumor_zap_unregister (rumor_zap_domain_t **self_p);

//  The domain's name, for ZMQ_ZAP_DOMAIN. Borrowed, valid while registered.
const char *rumor_zap_domain (rumor_zap_domain_t *self);

//  Admit exactly the public keys of keyring from now on (copied).
void rumor_zap_set_keys (rumor_zap_domain_t *self,
                         const rumor_keyring_t *keyring);

//  True if a client was admitted with this public key since the last
//  rumor_zap_forget (then a connection authenticated with it may be up).
bool rumor_zap_used (rumor_zap_domain_t *self, const uint8_t *public_key);

//  Forget which keys were used (the node just dropped every connection
//  its ROUTER had accepted).
void rumor_zap_forget (rumor_zap_domain_t *self);

//  Requests of this domain admitted and refused so far.
void rumor_zap_counts (rumor_zap_domain_t *self, uint64_t *admitted,
                       uint64_t *refused);

#endif
