#!/bin/sh
#  rumor-sim replays: the same seed gives the same output, byte for byte,
#  except the real-time line; a converging scenario exits 0; bad usage
#  exits 2 with the usage on stderr. Usage: rumor_sim.sh PATH-TO-RUMOR-SIM
set -u
sim=${1:?usage: rumor_sim.sh PATH-TO-RUMOR-SIM}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rumor_sim.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
status=0

fail () {
    echo "rumor_sim: FAIL: $*"
    status=1
}

#  A small scenario with loss and jitter, so the PRNG has work to do
run () {
    "$sim" --nodes 20 --scenario update --seed 5 --loss 0.02 --delay 2 \
           --jitter 3 --max-time 20000 --csv "$tmp/$1.csv" > "$tmp/$1.out" 2>&1
}

run first
rc=$?
[ $rc -eq 0 ] || fail "first run exited $rc"
run second
rc=$?
[ $rc -eq 0 ] || fail "second run exited $rc"
grep -q '^real time: ' "$tmp/first.out" || fail "no real time line"
grep -q '^converged: yes$' "$tmp/first.out" || fail "not converged"
grep -v '^real time: ' "$tmp/first.out" > "$tmp/first.trimmed"
grep -v '^real time: ' "$tmp/second.out" > "$tmp/second.trimmed"
cmp -s "$tmp/first.trimmed" "$tmp/second.trimmed" \
    || fail "same seed, different output"
cmp -s "$tmp/first.csv" "$tmp/second.csv" || fail "same seed, different csv"
[ "$(wc -l < "$tmp/first.csv")" -ge 2 ] || fail "csv has no rows"

#  Another seed gives another trace (the check above can fail)
"$sim" --nodes 20 --scenario update --seed 6 --loss 0.02 --delay 2 \
       --jitter 3 --max-time 20000 > "$tmp/other.out" 2>&1
grep -v '^real time: ' "$tmp/other.out" > "$tmp/other.trimmed"
cmp -s "$tmp/first.trimmed" "$tmp/other.trimmed" \
    && fail "seeds 5 and 6 gave the same output"

#  Bad usage: exit 2, usage on stderr, nothing run
for args in "--bogus" "--nodes abc" "--nodes 0" "--loss 2" \
            "--scenario nosuch" "--seed" "extra" "--settle -1"; do
    # shellcheck disable=SC2086
    "$sim" $args > "$tmp/bad.out" 2> "$tmp/bad.err"
    rc=$?
    [ $rc -eq 2 ] || fail "'$args' exited $rc, not 2"
    grep -q '^usage: rumor-sim' "$tmp/bad.err" \
        || fail "'$args': no usage on stderr"
    [ -s "$tmp/bad.out" ] && fail "'$args' wrote to stdout"
done
"$sim" --help > "$tmp/help.out" 2>&1 || fail "--help did not exit 0"
grep -q '^usage: rumor-sim' "$tmp/help.out" || fail "--help printed no usage"

[ $status -eq 0 ] && echo "rumor_sim: replay, exit codes and usage OK"
exit $status
