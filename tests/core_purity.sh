#!/bin/sh
#  The protocol cores must stay pure: no sockets, threads, clocks, sleeps,
#  environment or global randomness. Fails, naming the line, if any core
#  source mentions one. Usage: core_purity.sh SOURCE_DIR
set -u
src=${1:?usage: core_purity.sh SOURCE_DIR}
cores="membership detector anti_entropy app"
pattern='zsock|zclock|zsys_|zactor|zpoller|zloop|zbeacon|zmq_|pthread|randof|zuuid_new|getenv|usleep|nanosleep|sleep *\(|[^_a-z]time *\(|gettimeofday|clock_gettime|[^_a-z]rand *\(|[^_a-z]random *\(|socket *\('
status=0
for core in $cores; do
    for file in "$src/actors/$core.c" "$src/actors/$core.h"; do
        if [ ! -f "$file" ]; then
            echo "core_purity: missing $file"
            status=1
            continue
        fi
        if grep -nE "$pattern" "$file"; then
            echo "core_purity: $file touches I/O, a clock or global randomness"
            status=1
        fi
    done
done
#  The check itself must be able to fail: prove the pattern catches a clock
if ! printf 'int64_t now = zclock_mono ();\n' | grep -qE "$pattern"; then
    echo "core_purity: the pattern no longer catches zclock_mono"
    status=1
fi
[ $status -eq 0 ] && echo "core_purity: 4 cores are pure"
exit $status
