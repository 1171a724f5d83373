#!/bin/sh
#  Replays every seed and regression input of each fuzz target through its
#  plain replay program (see replay.cmake). Usage:
#      replay.sh FUZZ_DIR NAME=PROGRAM...
#  Inputs of NAME: FUZZ_DIR/seeds-NAME (FUZZ_DIR/seeds for decode) and
#  FUZZ_DIR/regressions/NAME. Exits 1 if a program fails (a check aborted,
#  or nothing to replay), naming the target.
set -u
dir=$1
shift
failed=0
for pair in "$@"; do
    name=${pair%%=*}
    program=${pair#*=}
    seeds=$dir/seeds-$name
    [ "$name" = decode ] && seeds=$dir/seeds
    inputs=$(find "$seeds" "$dir/regressions/$name" -type f 2>/dev/null | sort)
    if [ -z "$inputs" ]; then
        echo "fuzz_regressions: $name has no inputs"
        failed=1
        continue
    fi
    #  Names are ours (no spaces): word splitting is what we want
    # shellcheck disable=SC2086
    if ! "$program" $inputs; then
        echo "fuzz_regressions: $name FAILED on one of: $inputs"
        failed=1
    fi
done
exit $failed
