#!/bin/bash
#  test_agent_secure.sh - cluster secrets and live key rotation with real
#  rumord processes on the loopback beacon
#
#  Usage: test_agent_secure.sh RUMORD RUMORCTL
#  Env:   CTL_TIMEOUT  rumorctl --timeout in ms for plain commands
#                      (default 10000: a query that every live member answers
#                      ends at once; the margin is for busy machines)
#         KEEP_TMP     if set, keep the temp directory (logs) for a look
#
#  Proves, against live agents:
#   - a secret file that is group/world readable or writable, not a
#     regular file, too short, missing, or a secret given as an option or
#     config value is refused (exit 2, one line naming the file and what to
#     do) without ever echoing the secret;
#   - --secret-file, config "secret-file", $RUMOR_SECRET_FILE and
#     $RUMOR_SECRET all work and give the same key fingerprint;
#   - 5 agents sharing secret K1 form one cluster; an agent with a wrong
#     secret and one with none (same cluster name, same beacon port) are
#     never listed, even when they join by endpoint, and the refusals are
#     counted; no secret shows in ps, /proc/PID/environ, logs or
#     rumorctl output; the control socket is private to its owner;
#   - live rotation: keys install K2, keys use K2, keys remove K1, each
#     answered ok by all 5; a watcher on a node sees no member FAILED or
#     LEFT throughout; a key set after the rotation reaches all 5; removing
#     the primary or using an uninstalled secret is refused; a new agent
#     with only K1 is refused and one with K2 joins;
#   - an out-of-band rotation K2 -> K3 with keys ... --local on each node
#     (the new secret never crosses the network) keeps the cluster whole;
#   - hostile keyring requests on the control socket get BAD_REQUEST;
#   - keys list with a member stopped (SIGSTOP) names it as not having
#     answered, and exits 1 while it is still counted live.
#  Every wait polls until a condition holds or a deadline passes; every
#  process started here is killed by PID and the temp directory removed on
#  exit.

set -u
RUMORD=${1:?usage: test_agent_secure.sh RUMORD RUMORCTL}
RUMORCTL=${2:?usage: test_agent_secure.sh RUMORD RUMORCTL}
CTL_T=${CTL_TIMEOUT:-10000}
PY=/usr/bin/python3

TMP=$(mktemp -d /tmp/test_agent_secure.XXXXXX)
chmod 700 "$TMP"
TAG=s$$
#  A beacon port of our own: parallel tests must not hear each other
BPORT=$(( 20000 + (RANDOM * 32768 + RANDOM + $$) % 40000 ))
#  ... and a loopback address of our own (127.X.Y.1), so that the refused
#  handshakes counted are ours only, never those of another program's node
#  redialing a dead peer on 127.0.0.1
ADDR=127.$(( 20 + RANDOM % 200 )).$(( 1 + RANDOM % 250 )).1
PIDS=""
FAILED=0

cleanup () {
    #  Quiet: bash reports every job killed here
    exec 2> /dev/null
    for pid in $PIDS; do
        kill -KILL "$pid"
    done
    wait
    if [ -n "${KEEP_TMP:-}" ]; then
        echo "# kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass () { echo "ok   - $*"; }
fail () { echo "FAIL - $*"; FAILED=1; }

#  expect RC DESCRIPTION COMMAND...: runs the command, checks its exit code
expect () {
    local want=$1 what=$2
    shift 2
    "$@" > "$TMP/out" 2> "$TMP/err" < /dev/null
    local got=$?
    if [ "$got" = "$want" ]; then
        pass "$what (exit $got)"
    else
        fail "$what: exit $got, wanted $want; stdout: $(head -c 600 "$TMP/out"); stderr: $(head -c 300 "$TMP/err")"
    fi
}

#  expect_line PATTERN DESCRIPTION: last command's stderr is one line
#  matching PATTERN
expect_line () {
    local lines
    lines=$(wc -l < "$TMP/err")
    if [ "$lines" = 1 ] && grep -q -- "$1" "$TMP/err"; then
        pass "$2: $(cat "$TMP/err")"
    else
        fail "$2: wanted one line matching '$1', got $lines: $(head -c 400 "$TMP/err")"
    fi
}

#  out_has PATTERN DESCRIPTION: last command's stdout matches
out_has () {
    if grep -q -- "$1" "$TMP/out"; then
        pass "$2"
    else
        fail "$2: '$1' not in: $(head -c 600 "$TMP/out")"
    fi
}

#  out_count N PATTERN DESCRIPTION: last command's stdout has N such lines
out_count () {
    local got
    got=$(grep -c -- "$2" "$TMP/out")
    if [ "$got" = "$1" ]; then
        pass "$3"
    else
        fail "$3: $got lines match '$2', wanted $1: $(head -c 800 "$TMP/out")"
    fi
}

#  wait_for SECONDS DESCRIPTION COMMAND...: polls until the command succeeds
wait_for () {
    local seconds=$1 what=$2
    shift 2
    local deadline=$(( $(date +%s) + seconds ))
    while [ "$(date +%s)" -le "$deadline" ]; do
        if "$@" > /dev/null 2>&1; then
            pass "$what"
            return 0
        fi
        sleep 0.2
    done
    fail "$what (not within ${seconds}s)"
    return 1
}

ctl () { "$RUMORCTL" --timeout "$CTL_T" "$@"; }

#  secret FILE: writes a fresh random secret (48 hex digits) into FILE,
#  mode 600, and prints it
secret () {
    local text
    text=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    ( umask 077; printf '%s\n' "$text" > "$1" )
    printf '%s' "$text"
}

#  start NAME ENV ARGS...: starts an agent on our cluster and beacon port,
#  ENV "-" or one VAR=VALUE put in its environment (never on its command
#  line); waits for its ready lines; sets EP_NAME, CTL_NAME, PID_NAME and
#  FP_NAME (the key fingerprint it printed, "" without a secret)
start () {
    local name=$1 envspec=$2
    shift 2
    (
        if [ "$envspec" != - ]; then
            export "${envspec?}"
        fi
        exec "$RUMORD" --name "$TAG-$name" --cluster "$TAG" \
            --bind "$ADDR" --advertise "$ADDR" \
            --profile local --beacon loopback --beacon-port "$BPORT" \
            --control "ipc://$TMP/$name.ctl" "$@"
    ) > "$TMP/$name.out" 2> "$TMP/$name.log" < /dev/null &
    local pid=$!
    PIDS="$PIDS $pid"
    eval "PID_$name=$pid"
    local deadline=$(( $(date +%s) + 60 ))
    while ! grep -q '^rumord: control ' "$TMP/$name.out" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
            fail "rumord $name did not start: $(cat "$TMP/$name.log")"
            return 1
        fi
        sleep 0.1
    done
    eval "EP_$name=\$(sed -n 's/^rumord: endpoint //p' \"\$TMP/\$name.out\")"
    eval "CTL_$name=\$(sed -n 's/^rumord: control //p' \"\$TMP/\$name.out\")"
    eval "FP_$name=\$(sed -n 's/^rumord: secret set, key fingerprint //p' \"\$TMP/\$name.out\")"
    pass "rumord $name ready: $(tr '\n' ' ' < "$TMP/$name.out")"
}

#  alive_count CONTROL N: the agent lists exactly N alive members
alive_count () {
    [ "$(ctl --control "$1" members 2>/dev/null | grep -c ' alive ')" = "$2" ]
}

#  live_count CONTROL N: the agent lists exactly N live members (alive or
#  suspect: on a loaded machine a member may be suspected for a moment and
#  refute it; what must never happen is FAILED)
live_count () {
    [ "$(ctl --control "$1" members 2>/dev/null | grep -c -e ' alive ' -e ' suspect ')" = "$2" ]
}

#  stat_of CONTROL COUNTER: prints the counter's value (0 if absent)
stat_of () {
    local value
    value=$(ctl --control "$1" stats 2>/dev/null | sed -n "s/^$2 //p")
    echo "${value:-0}"
}

#  stat_above CONTROL COUNTER N: the counter is above N
stat_above () {
    [ "$(stat_of "$1" "$2")" -gt "$3" ]
}

#  lists_none CONTROL NAME...: the agent's member table has none of NAMEs
lists_none () {
    local control=$1 members
    shift
    members=$(ctl --control "$control" members) || return 1
    for name in "$@"; do
        if printf '%s\n' "$members" | grep -q "^$TAG-$name "; then
            return 1
        fi
    done
    return 0
}

#  ---------------------------------------------------------------------
echo "# secret files that are not private, and secrets on the command line"

K1=$(secret "$TMP/k1")
K2=$(secret "$TMP/k2")
KX=$(secret "$TMP/kx")
K3=$(secret "$TMP/k3")
cp "$TMP/k1" "$TMP/k1-open"
chmod 644 "$TMP/k1-open"
expect 2 "world-readable secret file refused" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" --secret-file "$TMP/k1-open"
expect_line "secret file $TMP/k1-open: readable or writable by group or others (mode 644).*chmod 600 $TMP/k1-open" \
    "world-readable secret file: message names the file and chmod 600"
grep -q "$K1" "$TMP/err" && fail "the refusal echoed the secret" \
    || pass "the refusal does not echo the secret"
chmod 620 "$TMP/k1-open"
expect 2 "group-writable secret file refused" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" --secret-file "$TMP/k1-open"
expect_line "mode 620" "group-writable secret file: message"
chmod 640 "$TMP/k1-open"
expect 2 "group-readable secret file (from \$RUMOR_SECRET_FILE) refused" \
    env RUMOR_SECRET_FILE="$TMP/k1-open" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl"
expect_line "chmod 600" "group-readable secret file: message"
mkdir -m 700 "$TMP/dir"
expect 2 "a directory as secret file refused" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" --secret-file "$TMP/dir"
expect_line "secret file $TMP/dir: not a regular file" "directory: message"
mkfifo -m 600 "$TMP/fifo"
expect 2 "a FIFO as secret file refused (and no hang)" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" --secret-file "$TMP/fifo"
expect_line "not a regular file" "FIFO: message"
expect 2 "missing secret file refused" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" --secret-file "$TMP/nothing"
expect_line "secret file $TMP/nothing: cannot open" "missing file: message"
( umask 077; printf 'too-short\n' > "$TMP/short" )
expect 2 "a 9-byte secret refused" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" --secret-file "$TMP/short"
expect_line "shorter than 16 bytes" "short secret: message"
( umask 077; head -c 1025 /dev/zero | tr '\0' 'a' > "$TMP/long" )
expect 2 "a 1025-byte secret refused" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" --secret-file "$TMP/long"
expect_line "longer than 1024 bytes" "long secret: message"
expect 2 "--secret VALUE refused" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" --secret "$K1"
expect_line "secret-file FILE" "--secret: message points to secret-file"
grep -q "$K1" "$TMP/err" && fail "--secret refusal echoed the secret" \
    || pass "--secret refusal does not echo the secret"
expect 2 "--secret=VALUE refused" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" "--secret=$K1"
grep -q "$K1" "$TMP/err" && fail "--secret= refusal echoed the secret" \
    || pass "--secret= refusal does not echo the secret"
expect 2 "a mistyped --secrte=VALUE is not echoed" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl" "--secrte=$K1"
grep -q "$K1" "$TMP/err" && fail "unknown option echoed its value" \
    || pass "unknown option message stops at '='"
printf 'beacon = off\nsecret = %s\n' "$K1" > "$TMP/secret.conf"
expect 2 "secret = VALUE in a config file refused" "$RUMORD" \
    --control "ipc://$TMP/x.ctl" --config "$TMP/secret.conf"
expect_line "secret.conf:2: refused" "config secret: message"
grep -q "$K1" "$TMP/err" && fail "config refusal echoed the secret" \
    || pass "config refusal does not echo the secret"
expect 2 "both \$RUMOR_SECRET_FILE and \$RUMOR_SECRET refused" \
    env RUMOR_SECRET_FILE="$TMP/k1" RUMOR_SECRET="$K1" "$RUMORD" --beacon off \
    --control "ipc://$TMP/x.ctl"
expect_line "keep one" "both variables: message"
expect 2 "a short \$RUMOR_SECRET refused" env RUMOR_SECRET=short "$RUMORD" \
    --beacon off --control "ipc://$TMP/x.ctl"
expect_line "RUMOR_SECRET is shorter than 16 bytes" "short \$RUMOR_SECRET: message"
expect 0 "rumord --help documents --secret-file" "$RUMORD" --help
out_has "secret-file FILE" "--help lists --secret-file"

#  ---------------------------------------------------------------------
echo "# five agents with K1 (every way to give it), one wrong, one without"

printf 'secret-file = %s\n' "$TMP/k1" > "$TMP/n2.conf"
start n1 - --secret-file "$TMP/k1" || exit 1
start n2 - --config "$TMP/n2.conf" || exit 1
start n3 "RUMOR_SECRET_FILE=$TMP/k1" || exit 1
start n4 "RUMOR_SECRET=$K1" || exit 1
start n5 - --secret-file "$TMP/k1" || exit 1
ALL="n1 n2 n3 n4 n5"
if [ -n "$FP_n1" ] && echo "$FP_n1" | grep -qx '[0-9a-f]\{16\}'; then
    pass "n1 printed its key fingerprint $FP_n1"
else
    fail "n1 printed no fingerprint: $(cat "$TMP/n1.out")"
fi
[ "$FP_n2$FP_n3$FP_n4$FP_n5" = "$FP_n1$FP_n1$FP_n1$FP_n1" ] \
    && pass "config secret-file, \$RUMOR_SECRET_FILE and \$RUMOR_SECRET give K1's fingerprint" \
    || fail "fingerprints differ: $FP_n1 $FP_n2 $FP_n3 $FP_n4 $FP_n5"
for n in $ALL; do
    eval "control=\$CTL_$n"
    wait_for 60 "$n sees 5 alive" alive_count "$control" 5
done

#  The watcher: member events seen by n3 from now to the end
#  (--timeout: how long it streams, past the end of this test)
"$RUMORCTL" --timeout 600000 --control "$CTL_n3" listen > "$TMP/watch.out" 2>&1 &
WATCH=$!
PIDS="$PIDS $WATCH"
wait_for 10 "watcher registered on n3" stat_above "$CTL_n3" control.listens 0
expect 0 "a key set to prove the watcher hears" ctl --control "$CTL_n1" set probe 1
wait_for 20 "watcher heard n1's key" grep -q "KEY_SET $TAG-n1 probe" "$TMP/watch.out"

BAD_MAC0=$(stat_of "$CTL_n1" beacon.bad_mac)
UNSIGNED0=$(stat_of "$CTL_n1" beacon.unsigned)
REFUSED0=$(stat_of "$CTL_n1" security.handshakes_refused)
start wrong - --secret-file "$TMP/kx" || exit 1
start none - || exit 1
[ "$FP_wrong" != "$FP_n1" ] && [ -n "$FP_wrong" ] \
    && pass "the wrong secret has another fingerprint ($FP_wrong)" \
    || fail "wrong fingerprint '$FP_wrong' vs '$FP_n1'"
[ -z "$FP_none" ] && pass "no fingerprint without a secret" \
    || fail "fingerprint without a secret: $FP_none"
#  Evidence that n1 heard them and refused, rather than a quiet beacon
wait_for 30 "n1 refused the wrong secret's beacons (beacon.bad_mac)" \
    stat_above "$CTL_n1" beacon.bad_mac "$BAD_MAC0"
wait_for 30 "n1 refused the unsigned beacons (beacon.unsigned)" \
    stat_above "$CTL_n1" beacon.unsigned "$UNSIGNED0"
#  Past the beacon: both try n1's endpoint directly
ctl --control "$CTL_wrong" join "$EP_n1" > /dev/null 2>&1
ctl --control "$CTL_none" join "$EP_n1" > /dev/null 2>&1
ctl --control "$CTL_wrong" join "$EP_n2" > /dev/null 2>&1
wait_for 30 "the wrong secret's handshakes fail (security.handshake_failures on wrong)" \
    stat_above "$CTL_wrong" security.handshake_failures 0
wait_for 30 "n1 refused their handshakes (security.handshakes_refused)" \
    stat_above "$CTL_n1" security.handshakes_refused "$REFUSED0"
for n in $ALL; do
    eval "control=\$CTL_$n"
    if lists_none "$control" wrong none && live_count "$control" 5; then
        pass "$n lists 5 live and neither wrong nor none"
    else
        fail "$n: $(ctl --control "$control" members)"
    fi
done
alive_count "$CTL_wrong" 1 && pass "wrong sees only itself" \
    || fail "wrong sees: $(ctl --control "$CTL_wrong" members)"
alive_count "$CTL_none" 1 && pass "none sees only itself" \
    || fail "none sees: $(ctl --control "$CTL_none" members)"

#  ---------------------------------------------------------------------
echo "# the secret shows nowhere"

ps -eo args > "$TMP/ps"
grep -q -e "$K1" -e "$KX" "$TMP/ps" && fail "ps shows a secret" \
    || pass "ps shows no secret ($(grep -c "$TAG-" "$TMP/ps") agents listed)"
if tr '\0' '\n' < "/proc/$PID_n4/environ" | grep -q "$K1"; then
    fail "n4's /proc environ still holds \$RUMOR_SECRET"
else
    pass "n4 scrubbed \$RUMOR_SECRET from its environment"
fi
grep -l -e "$K1" -e "$KX" "$TMP"/*.log "$TMP"/*.out > "$TMP/leaks" 2>/dev/null
[ -s "$TMP/leaks" ] && fail "a log holds a secret: $(cat "$TMP/leaks")" \
    || pass "no agent output or log holds a secret"
expect 0 "info" ctl --control "$CTL_n1" info
out_has "^fingerprint $FP_n1\$" "info shows the fingerprint"
grep -q "$K1" "$TMP/out" && fail "info shows the secret" || pass "info shows no secret"
expect 0 "info --json" ctl --control "$CTL_none" --json info
out_has '"fingerprint":""' "info --json: empty fingerprint without a secret"
MODE=$(stat -c %a "$TMP/n1.ctl")
case "$MODE" in
    *00) pass "n1's control socket is private to its owner (mode $MODE)" ;;
    *)   fail "n1's control socket mode $MODE lets others connect" ;;
esac

#  ---------------------------------------------------------------------
echo "# keys list, and refusals before any change"

expect 0 "keys list" ctl --control "$CTL_n1" keys list
out_count 5 "^$TAG-n[1-5] *ok *$FP_n1 (primary)\$" "keys list: 5 nodes with K1 only"
out_has "^5/5 nodes ok\$" "keys list: summary 5/5"
expect 0 "keys list --json" ctl --control "$CTL_n2" --json keys list
out_count 5 "\"ok\":true,\"fingerprints\":\[\"$FP_n1\"\]}" "keys list --json: 5 objects"
out_has '"summary":"list","ok":5,"total":5,"answered":5,"live":5,"complete":true' \
    "keys list --json: summary"
expect 1 "keys list without a secret" ctl --control "$CTL_none" keys list
expect_line "no cluster secret" "keys list without a secret: says why"
expect 2 "keys install from a world-readable file" ctl --control "$CTL_n1" \
    keys install "$TMP/k1-open"
expect_line "chmod 600" "rumorctl refuses a world-readable file too"
expect 2 "keys install with no file" ctl --control "$CTL_n1" keys install
expect 1 "keys use of a secret not installed" ctl --control "$CTL_n1" keys use "$TMP/k2"
out_count 5 "^$TAG-n[1-5] *error " "keys use K2 before install: 5 errors"
out_has "^0/5 nodes ok\$" "keys use K2 before install: 0/5"
expect 1 "keys remove of the primary" ctl --control "$CTL_n1" keys remove "$TMP/k1"
out_count 5 "^$TAG-n[1-5] *error " "keys remove K1 while primary: 5 errors"
for n in $ALL; do
    eval "control=\$CTL_$n"
    live_count "$control" 5 || fail "$n lost members after refusals"
done

#  ---------------------------------------------------------------------
echo "# live rotation K1 -> K2"

"$RUMORCTL" --timeout 10000 --control "$CTL_n1" keys install - < "$TMP/k2" \
    > "$TMP/out" 2> "$TMP/err"
rc=$?
[ $rc = 0 ] && pass "keys install K2 from stdin (exit 0)" \
    || fail "keys install K2: exit $rc: $(cat "$TMP/out" "$TMP/err")"
out_has "^5/5 nodes ok\$" "keys install: 5/5"
FP_K2=$(sed -n "s/^$TAG-n1 *ok *$FP_n1 (primary) \([0-9a-f]\{16\}\)\$/\1/p" "$TMP/out")
[ -n "$FP_K2" ] && [ "$FP_K2" != "$FP_n1" ] && pass "K2's fingerprint $FP_K2" \
    || fail "no K2 fingerprint in: $(cat "$TMP/out")"
out_count 5 "^$TAG-n[1-5] *ok *$FP_n1 (primary) $FP_K2\$" \
    "keys install: 5 nodes with K1 primary and K2"
expect 0 "keys install K2 again (idempotent)" ctl --control "$CTL_n4" keys install "$TMP/k2"
out_has "^5/5 nodes ok\$" "keys install again: 5/5"

expect 0 "keys use K2" ctl --control "$CTL_n2" keys use "$TMP/k2"
out_count 5 "^$TAG-n[1-5] *ok *$FP_K2 (primary) $FP_n1\$" \
    "keys use: 5 nodes with K2 primary"
out_has "^5/5 nodes ok\$" "keys use: 5/5"
for n in $ALL; do
    eval "control=\$CTL_$n"
    wait_for 20 "$n sees 5 alive after use K2" alive_count "$control" 5
done

expect 0 "keys remove K1" ctl --control "$CTL_n5" keys remove "$TMP/k1"
out_count 5 "^$TAG-n[1-5] *ok *$FP_K2 (primary)\$" "keys remove: 5 nodes with K2 only"
out_has "^5/5 nodes ok\$" "keys remove: 5/5"
expect 1 "keys remove K2, the primary, refused" ctl --control "$CTL_n1" keys remove "$TMP/k2"
out_has "^0/5 nodes ok\$" "keys remove of the primary: 0/5"
expect 0 "info after rotation" ctl --control "$CTL_n3" info
out_has "^fingerprint $FP_K2\$" "info shows K2's fingerprint"

expect 0 "a key set after the rotation" ctl --control "$CTL_n2" set after rotation
for n in $ALL; do
    eval "control=\$CTL_$n"
    wait_for 20 "$n reads the key set after the rotation" \
        sh -c "'$RUMORCTL' --timeout $CTL_T --control '$control' get '$TAG-n2' after | grep -qx rotation"
done
expect 0 "another key set after the rotation" ctl --control "$CTL_n4" set after2 still-ok
wait_for 20 "n1 reads n4's key too" \
    sh -c "'$RUMORCTL' --timeout $CTL_T --control '$CTL_n1' get '$TAG-n4' after2 | grep -qx still-ok"
for n in $ALL; do
    eval "control=\$CTL_$n"
    live_count "$control" 5 && pass "$n still lists 5 live" \
        || fail "$n after rotation: $(ctl --control "$control" members)"
done

#  ---------------------------------------------------------------------
echo "# newcomers after the rotation: K1 refused, K2 joins"

BAD_MAC0=$(stat_of "$CTL_n1" beacon.bad_mac)
start late1 - --secret-file "$TMP/k1" || exit 1
start late2 - --secret-file "$TMP/k2" || exit 1
[ "$FP_late2" = "$FP_K2" ] && pass "late2's fingerprint is K2's" \
    || fail "late2 fingerprint $FP_late2, K2 $FP_K2"
wait_for 60 "late2 sees 6 alive" alive_count "$CTL_late2" 6
wait_for 60 "n1 sees 6 alive (late2 joined)" alive_count "$CTL_n1" 6
wait_for 30 "n1 refused late1's K1 beacons" \
    stat_above "$CTL_n1" beacon.bad_mac "$BAD_MAC0"
ctl --control "$CTL_late1" join "$EP_n1" > /dev/null 2>&1
wait_for 30 "late1's handshakes fail (security.handshake_failures)" \
    stat_above "$CTL_late1" security.handshake_failures 0
expect 0 "why on late1" ctl --control "$CTL_late1" why
out_has "security: CURVE, keys $FP_n1 (primary first).* [1-9][0-9]* failed as client" \
    "late1's why shows its key and the failed handshakes"
for n in $ALL late2; do
    eval "control=\$CTL_$n"
    lists_none "$control" late1 wrong none \
        && pass "$n lists neither late1 nor wrong nor none" \
        || fail "$n: $(ctl --control "$control" members)"
done
alive_count "$CTL_late1" 1 && pass "late1 sees only itself" \
    || fail "late1 sees: $(ctl --control "$CTL_late1" members)"

#  ---------------------------------------------------------------------
echo "# out-of-band rotation K2 -> K3, node by node with --local"

LIVE="n1 n2 n3 n4 n5 late2"
expect 0 "keys install --local K3 on n1" ctl --control "$CTL_n1" \
    keys install "$TMP/k3" --local
out_has "^1/1 nodes ok\$" "install --local: 1/1"
FP_K3=$(sed -n "s/^$TAG-n1 *ok *$FP_K2 (primary) \([0-9a-f]\{16\}\)\$/\1/p" "$TMP/out")
[ -n "$FP_K3" ] && [ "$FP_K3" != "$FP_K2" ] && pass "only n1 answered, K3's fingerprint $FP_K3" \
    || fail "install --local: $(cat "$TMP/out")"
expect 0 "keys list after one local install" ctl --control "$CTL_n2" keys list
out_count 1 "^$TAG-n1 *ok *$FP_K2 (primary) $FP_K3\$" "n1 holds K3"
out_count 5 "^$TAG-[a-z0-9]* *ok *$FP_K2 (primary)\$" "the 5 others do not"
for n in n2 n3 n4 n5 late2; do
    eval "control=\$CTL_$n"
    expect 0 "keys install --local K3 on $n" ctl --control "$control" \
        keys install "$TMP/k3" --local
done
for n in $LIVE; do
    eval "control=\$CTL_$n"
    expect 0 "keys use --local K3 on $n" ctl --control "$control" \
        keys use "$TMP/k3" --local
    out_has "^$TAG-$n *ok *$FP_K3 (primary) $FP_K2\$" "$n: K3 primary"
done
for n in $LIVE; do
    eval "control=\$CTL_$n"
    expect 0 "keys remove --local K2 on $n" ctl --control "$control" \
        keys remove "$TMP/k2" --local
done
#  A node's links re-key right after its remove, and a link whose
#  handshake failed backs off (100 ms for a member, doubling; its sends
#  meanwhile are dropped and counted, security.backoff_dropped), so a
#  list may miss an answer (docs/SECURITY.md). Within seconds it must
#  not: each try waits 3 s for the answers, not the whole deadline.
wait_for 10 "keys list after the out-of-band rotation answers 6/6" \
    sh -c "'$RUMORCTL' --timeout 3000 --control '$CTL_late2' keys list | grep -qx '6/6 nodes ok'"
expect 0 "keys list after the out-of-band rotation" ctl --control "$CTL_late2" keys list
out_count 6 "^$TAG-[a-z0-9]* *ok *$FP_K3 (primary)\$" "6 nodes hold K3 only"
out_has "^6/6 nodes ok\$" "keys list: 6/6"
expect 1 "keys use --local of a secret not installed" ctl --control "$CTL_n1" \
    keys use "$TMP/k2" --local
out_has "^$TAG-n1 *error " "use --local K2 after removal: error"
expect 2 "--local on another command" ctl --control "$CTL_n1" members --local
expect 0 "a key set after the out-of-band rotation" ctl --control "$CTL_late2" set oob done
for n in $LIVE; do
    eval "control=\$CTL_$n"
    wait_for 20 "$n reads late2's key" \
        sh -c "'$RUMORCTL' --timeout $CTL_T --control '$control' get '$TAG-late2' oob | grep -qx done"
    live_count "$control" 6 && pass "$n lists 6 live" \
        || fail "$n: $(ctl --control "$control" members)"
done

#  ---------------------------------------------------------------------
echo "# what the watcher saw"

#  Still running: it watched the whole time
if kill -INT "$WATCH" 2>/dev/null; then
    pass "the watcher ran throughout"
else
    fail "the watcher stopped early: $(tail -3 "$TMP/watch.out")"
fi
wait "$WATCH"
grep -q -e '^FAILED ' -e '^LEFT ' "$TMP/watch.out" \
    && fail "the watcher saw a member fail or leave: $(grep -e '^FAILED ' -e '^LEFT ' "$TMP/watch.out")" \
    || pass "the watcher saw no member FAILED or LEFT during the rotation"
grep -q -e "^JOINED $TAG-wrong" -e "^JOINED $TAG-none" -e "^JOINED $TAG-late1" \
    "$TMP/watch.out" && fail "the watcher saw a refused node join" \
    || pass "the watcher never saw wrong, none or late1 join"
grep -q "^JOINED $TAG-late2" "$TMP/watch.out" \
    && pass "the watcher saw late2 join" \
    || fail "no JOINED late2 in: $(head -c 800 "$TMP/watch.out")"
echo "# watcher: $(grep -c '^SUSPECT ' "$TMP/watch.out") SUSPECT events (not failures)"

#  ---------------------------------------------------------------------
echo "# hostile keyring requests"

cat > "$TMP/hostile.py" <<'EOF'
import sys, zmq
def varint(n):
    out = b""
    while True:
        byte = n & 0x7f
        n >>= 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out
def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload
def keyring(op, secret=b"", timeout=None):
    body = b"\x08" + varint(op) if op else b""
    if secret:
        body += field(2, secret)
    if timeout is not None:
        body += b"\x18" + varint(timeout)
    return field(27, body)
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVTIMEO, int(sys.argv[2]))
s.connect(sys.argv[1])
cases = [keyring(0, b"x" * 20),                 # no op
         keyring(9, b"x" * 20),                 # unknown op
         keyring(1, b"short"),                  # secret too short
         keyring(1),                            # install without a secret
         keyring(2, b"x" * 1025),               # too long
         keyring(3, b"abc\0defghijklmnopq"),    # NUL inside
         keyring(4, b"x" * 20),                 # list with a secret
         keyring(4, b"", 31 * 24 * 3600 * 1000)]  # timeout over 30 days
bad = 0
for number, body in enumerate(cases):
    s.send(b"\x08" + varint(number + 1) + body)
    try:
        reply = s.recv()
    except zmq.Again:
        continue
    if reply.startswith(b"\x08" + varint(number + 1) + b"\x10\x08"):
        bad += 1
print(bad, len(cases))
EOF
RESULT=$("$PY" "$TMP/hostile.py" "$CTL_n1" "$CTL_T")
[ "$RESULT" = "8 8" ] && pass "8 malformed keyring requests got BAD_REQUEST" \
    || fail "malformed keyring requests: $RESULT BAD_REQUEST"
expect 0 "keys list after hostile requests" ctl --control "$CTL_n1" keys list
out_has "^6/6 nodes ok\$" "keys list: 6/6 (late2 included)"

#  ---------------------------------------------------------------------
echo "# a member that does not answer is named"

#  Whether n1 still counts late2 as live when the query ends (exit 1, not
#  every live member answered) or has declared it failed meanwhile (exit 0:
#  not live) depends on timing: both are right, and either way late2 must
#  be named as not having answered
kill -STOP "$PID_late2"
"$RUMORCTL" --timeout 1500 --control "$CTL_n1" keys list > "$TMP/out" 2> "$TMP/err"
rc=$?
kill -CONT "$PID_late2"
out_count 5 "^$TAG-n[1-5] *ok " "the 5 others answered"
out_has "^did not answer: $TAG-late2 \(alive\|suspect\|failed\)\$" \
    "the stopped member is named as not having answered"
if grep -q "^did not answer: $TAG-late2 failed\$" "$TMP/out"; then
    [ $rc = 0 ] && out_has "^5/5 nodes ok\$" "late2 failed meanwhile: 5/5 live ok, exit 0" \
        || fail "late2 failed, exit $rc: $(cat "$TMP/out")"
else
    [ $rc = 1 ] && out_has "^5/6 nodes ok (not every live member answered within 1500 ms)\$" \
        "late2 still live: 5/6, exit 1, the summary says so" \
        || fail "late2 live, exit $rc: $(cat "$TMP/out")"
fi
wait_for 30 "n1 sees late2 alive again" \
    sh -c "'$RUMORCTL' --timeout $CTL_T --control '$CTL_n1' members | grep -q '^$TAG-late2 .* alive '"

#  ---------------------------------------------------------------------
echo "# clean exit"

kill -TERM "$PID_n1"
wait "$PID_n1"; rc=$?
[ $rc = 0 ] && pass "n1 exits 0 on SIGTERM" || fail "n1 exit $rc: $(tail -5 "$TMP/n1.log")"
wait_for 20 "n2 sees n1 left" sh -c "'$RUMORCTL' --timeout $CTL_T --control '$CTL_n2' members | grep -q '^$TAG-n1 .* left '"
grep -l -e "$K1" -e "$K2" -e "$K3" -e "$KX" "$TMP"/*.log "$TMP"/*.out > "$TMP/leaks" 2>/dev/null
[ -s "$TMP/leaks" ] && fail "a log holds a secret at the end: $(cat "$TMP/leaks")" \
    || pass "no agent output or log holds a secret at the end"

if [ $FAILED = 0 ]; then
    echo "# all passed"
    exit 0
fi
echo "# FAILED"
exit 1
