/*  =========================================================================
    fuzz_replay - main () of the replay programs

    Linked into every target built with -DRUMOR_FUZZ_REPLAY: runs each file
    named on the command line through LLVMFuzzerTestOneInput, without
    libFuzzer, with the same checks (a broken one aborts). The replay
    programs run the seeds and regression inputs in the normal test suite
    (fuzz_regressions) and under valgrind (README.md).
    =========================================================================
*/

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Inputs are cut here: every target refuses anything bigger on size alone
//  (a frame is at most 1 MiB; records, beacons and requests are smaller)
#define S_INPUT_MAX     (1024 * 1024 + 2)

int
main (int argc, char *argv [])
{
    int replayed = 0;
    for (int arg = 1; arg < argc; arg++) {
        //  A running fuzzer may have removed it: skip, and say so
        FILE *file = fopen (argv [arg], "rb");
        if (!file) {
            fprintf (stderr, "%s: cannot read %s\n", argv [0], argv [arg]);
            continue;
        }
        uint8_t *data = (uint8_t *) malloc (S_INPUT_MAX);
        size_t size = data? fread (data, 1, S_INPUT_MAX, file): 0;
        fclose (file);
        //  An exact-size copy, so that an overread is an invalid read
        uint8_t *exact = (uint8_t *) malloc (size? size: 1);
        if (!data || !exact) {
            fprintf (stderr, "%s: out of memory\n", argv [0]);
            return 1;
        }
        memcpy (exact, data, size);
        free (data);
        LLVMFuzzerTestOneInput (exact, size);
        free (exact);
        replayed++;
    }
    printf ("%s: replayed %d inputs\n", argv [0], replayed);
    return replayed? 0: 1;
}
