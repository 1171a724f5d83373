/*  =========================================================================
    fuzz_core - the harness shared by the core fuzz targets

    fuzz_membership, fuzz_detector, fuzz_anti_entropy and fuzz_app each
    describe their core with a fuzz_core_t and hand every input to
    fuzz_core_run, which creates the core with a fixed configuration (self
    FUZZ_SELF_U64, generation FUZZ_GENERATION) and plays the input as a
    sequence of records, on a virtual clock that starts at FUZZ_START:

        advance (1 byte) | type (1 byte) | length (2 bytes, LE) | bytes

    advance moves the clock first: 0..100 is that many ms, 101..255 is
    (advance - 100) * 250 ms (up to 38.75 s, so that minute-long timers
    are reached in a few records). The core is ticked on the way exactly
    as the shell ticks it (at each deadline that falls within the advance,
    at most once per ms). Then, by type % 4:

        0  frame: rumor_codec_decode for cluster "fuzz"; if accepted, given
           to the core as the supervisor and shell give it (fuzz_core_t's
           on_message mirrors the *_actor.c adapter);
        1  event: detail for kind FUZZ_EVENT_KINDS [(type / 4) % n],
           decoded with rumor_codec_decode_detail as the supervisor does;
           if accepted, on_event;
        2  command: the core's API call number type / 4 (the core's
           command function reads its arguments from the bytes);
        3  nothing but the advance.

    length is cut to the bytes left. With FUZZ_CORE_TRACE set in the
    environment, each record, effect and counter change (by index in the
    stats struct) is printed on stderr. After every record: every effect the
    core queued is drained and checked (well-formed; a SEND's body seals
    and decodes as a frame a peer accepts, never to ourselves; an EVENT's
    detail decodes as its kind's type), every counter is checked never to
    go down, an on_message that returns -1 must have moved a refusal
    counter, and the core's own check runs. A broken check calls abort ().

    Linked with fuzz_replay.c instead of libFuzzer, a target is a replay
    program that runs each file named on its command line (README.md).
    =========================================================================
*/

#ifndef FUZZ_CORE_H_INCLUDED
#define FUZZ_CORE_H_INCLUDED

#include "codec.h"
#include "effects.h"
#include <stdio.h>
#include <stdlib.h>

//  The fixture every core target and fuzz_seeds agree on
#define FUZZ_CLUSTER_NAME   "fuzz"
#define FUZZ_GENERATION     1700000000000ULL
#define FUZZ_START          (FUZZ_GENERATION + 100)
#define FUZZ_SELF_U64       101     //  rumor_id_from_u64: our id
#define FUZZ_PEER_U64       100     //  peers are 100, 102, 103
#define FUZZ_RECORD_HEADER  4       //  advance, type, length (2)

//  Record types (type % 4)
#define FUZZ_RECORD_FRAME   0
#define FUZZ_RECORD_EVENT   1
#define FUZZ_RECORD_COMMAND 2
#define FUZZ_RECORD_TIME    3

//  Event kinds a record can carry, in the order type / 4 selects them: the
//  kinds of effects.h, so the cores also see kinds that are not theirs.
#define FUZZ_EVENT_KINDS    { "member", "confirm", "suspect", "dead",   \
                              "verdict", "kv", "event", "direct",       \
                              "query", "response", "query-done" }

//  A broken invariant is a crash for libFuzzer
#define FUZZ_CHECK(condition) do {                                          \
        if (!(condition)) {                                                 \
            fprintf (stderr, "fuzz: %s:%d: check failed: %s\n",            \
                     __FILE__, __LINE__, #condition);                       \
            abort ();                                                       \
        }                                                                   \
    } while (0)

//  A range of refusal counters in a core's stats struct: [from, to) bytes
typedef struct {
    size_t from;
    size_t to;
} fuzz_range_t;

//  What the harness needs of a core
typedef struct {
    const char *name;
    void *(*create) (void);
    void (*destroy) (void **core_p);
    int (*on_message) (void *core, int64_t now, const Rumor__Envelope *env);
    int (*on_event) (void *core, int64_t now, const char *kind,
                     const ProtobufCMessage *detail);
    void (*on_tick) (void *core, int64_t now);
    int64_t (*next_deadline) (void *core);
    zframe_t *(*next_effect) (void *core);
    //  The core's counters: a struct of uint64_t only
    const void *(*stats) (void *core);
    size_t stats_size;
    //  Counters that on_message moves when it returns -1 (refusals)
    const fuzz_range_t *refusals;
    size_t n_refusals;
    //  An API call: number picks it, data holds its arguments
    void (*command) (void *core, int64_t now, unsigned number,
                     const uint8_t *data, size_t size);
    //  The core's own invariants, after every record (may be NULL)
    void (*check) (void *core, int64_t now);
} fuzz_core_t;

//  Run one input through a new core, then destroy it.
void fuzz_core_run (const fuzz_core_t *core, const uint8_t *data, size_t size);

//  Our id, or the id of peer 0..2 (FUZZ_PEER_U64, then 102, 103).
void fuzz_core_id (rumor_id_t *id, int which);

//  An id from a command's bytes: the first 16 bytes if there are that
//  many, else ourselves or a peer by data [0] % 4 (0 = us). Advances
//  *data_p and *size_p past what it used.
void fuzz_core_pick_id (rumor_id_t *id, const uint8_t **data_p,
                        size_t *size_p);

//  A string from a command's bytes: up to the first NUL (or the end),
//  copied with a NUL; advances past it and the NUL. Caller frees.
char *fuzz_core_pick_string (const uint8_t **data_p, size_t *size_p);

//  A uint64 from up to 8 bytes (LE, missing bytes 0); advances.
uint64_t fuzz_core_pick_u64 (const uint8_t **data_p, size_t *size_p);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#endif
