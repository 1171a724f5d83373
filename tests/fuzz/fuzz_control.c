/*  =========================================================================
    fuzz_control - libFuzzer target for rumord's control requests

    Each input is one control frame, taken as rumord takes it: unpacked
    with rumorctl__request__unpack, then checked by agent_control_check
    (tools/control_check.c). Checks:
      - a request that passes holds nothing out of control.proto's bounds,
        found by walking every field of it through the protobuf
        descriptors (so a command added later without its checks is
        caught too): strings at most 255 bytes, bytes at most 64 KiB,
        repeated fields at most 64 items, *_ms numbers at most 30 days,
        enum values known, a command set;
      - packing a decoded request again gives one that decodes (unless it
        kept unknown fields: see below), with the same verdict.
    A broken check calls abort (), which libFuzzer reports as a crash.
    =========================================================================
*/

#include "control_check.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(condition) do {                                          \
        if (!(condition)) {                                                 \
            fprintf (stderr, "fuzz_control: %s:%d: check failed: %s\n",    \
                     __FILE__, __LINE__, #condition);                       \
            abort ();                                                       \
        }                                                                   \
    } while (0)

//  control.proto's bounds, independent of control_check.c's code
#define S_STRING_MAX    255
#define S_BYTES_MAX     65536
#define S_REPEATED_MAX  64

//  The address of field's value (or of its array) inside msg
static const void *
s_member (const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    return (const char *) msg + field->offset;
}

static bool
s_is_ms (const ProtobufCFieldDescriptor *field)
{
    size_t length = strlen (field->name);
    return length > 3 && strcmp (field->name + length - 3, "_ms") == 0;
}

static void s_walk (const ProtobufCMessage *msg);

//  One value of a field (element index of a repeated one)
static void
s_value (const ProtobufCFieldDescriptor *field, const void *at)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_STRING: {
            const char *string = *(char * const *) at;
            FUZZ_CHECK (!string || strlen (string) <= S_STRING_MAX);
            break;
        }
        case PROTOBUF_C_TYPE_BYTES:
            FUZZ_CHECK (((const ProtobufCBinaryData *) at)->len <= S_BYTES_MAX);
            break;
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *sub = *(ProtobufCMessage * const *) at;
            FUZZ_CHECK (sub);
            s_walk (sub);
            break;
        }
        case PROTOBUF_C_TYPE_ENUM:
            FUZZ_CHECK (protobuf_c_enum_descriptor_get_value (
                (const ProtobufCEnumDescriptor *) field->descriptor,
                *(const int *) at));
            break;
        case PROTOBUF_C_TYPE_UINT64:
            if (s_is_ms (field))
                FUZZ_CHECK (*(const uint64_t *) at <= (uint64_t) AGENT_TIME_MAX);
            break;
        default:
            break;
    }
}

//  Every field of msg within control.proto's bounds
static void
s_walk (const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *descriptor = msg->descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields [i];
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            //  Only the member the oneof holds is there
            uint32_t which = *(const uint32_t *) ((const char *) msg
                                                  + field->quantifier_offset);
            if (which == field->id)
                s_value (field, s_member (msg, field));
            continue;
        }
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) ((const char *) msg
                                          + field->quantifier_offset);
            FUZZ_CHECK (n <= S_REPEATED_MAX);
            const char *array = *(char * const *) s_member (msg, field);
            size_t size = field->type == PROTOBUF_C_TYPE_STRING
                       || field->type == PROTOBUF_C_TYPE_MESSAGE?
                          sizeof (void *): 0;
            //  Only strings and messages repeat in control.proto
            FUZZ_CHECK (size);
            for (size_t item = 0; item < n; item++)
                s_value (field, array + item * size);
            continue;
        }
        s_value (field, s_member (msg, field));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    Rumorctl__Request *request = rumorctl__request__unpack (NULL, size, data);
    if (!request)
        return 0;
    const char *problem = agent_control_check (request);
    if (!problem) {
        FUZZ_CHECK (request->command_case != RUMORCTL__REQUEST__COMMAND__NOT_SET);
        s_walk (&request->base);
    }
    //  Packed again: decodes, and gets the same verdict
    size_t packed_size = rumorctl__request__get_packed_size (request);
    uint8_t *packed = (uint8_t *) malloc (packed_size? packed_size: 1);
    FUZZ_CHECK (packed);
    FUZZ_CHECK (rumorctl__request__pack (request, packed) == packed_size);
    Rumorctl__Request *again = rumorctl__request__unpack (NULL, packed_size,
                                                          packed);
    //  protobuf-c 1.4.1 unpacks a tag of field number 0 written as a
    //  non-minimal varint (81 00) as an unknown field, and packs it again
    //  as 01, which it then refuses: harmless to rumord, which never packs
    //  a request (regressions/control/field-zero*.bin; also inside a
    //  command's message)
    if (again) {
        const char *problem_again = agent_control_check (again);
        FUZZ_CHECK ((problem == NULL) == (problem_again == NULL));
        FUZZ_CHECK (!problem || strcmp (problem, problem_again) == 0);
        rumorctl__request__free_unpacked (again, NULL);
    }
    free (packed);
    rumorctl__request__free_unpacked (request, NULL);
    return 0;
}
