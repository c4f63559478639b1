#!/bin/bash
# libostree's own installed test suite (Debian sid's ostree-tests, run by
# gnome-desktop-testing-runner) once on the distribution's C libcomposefs
# and once with our library bind-mounted over it. Every installed test must
# report a result; each must end the same way (PASS or SKIP) on both and
# print the same TAP result lines ("ok N name # SKIP reason", ...), so a
# sub-test that skips or fails on one library only is caught too. Tests
# that differ or fail on C are rerun once on both libraries, so one flaky
# run cannot decide; what still differs or fails fails the check.
#
# Both runs go at the same time, one test at a time each (-p 1), in two
# copies of a cached sid root: each an overlay on the same read-only root
# with its own upper layer, /tmp and /var/tmp, so the cache is never
# written and the runs cannot see each other's files. Before and after
# each run, a preloaded probe (tests-c/ostree/libprobe.c) shows that
# ostree in that copy maps the intended library (by GNU build-id) and that
# mkcomposefs reaches it.
#
# The root is cached in $LCFS_OSTREE_SUITE_CACHE (default
# /var/tmp/cfs-ostree-suite-root, separate from check-ostree's smaller root
# so that check's trees stay as they are); LCFS_OSTREE_REFRESH=1 rebuilds
# it; building needs debootstrap and the network (~2-3 min). All mounts live
# in a private mount namespace; processes the tests leave behind (gpg-agent)
# are stopped by pid before unmounting. LCFS_OSTREE_SUITE_JOBS sets the
# runner's -p (default 1); LCFS_OSTREE_SUITE_ONLY=PREFIX... runs only the
# tests whose names start so (e.g. libostree/test-basic); LCFS_KEEP_TMP=1
# copies the logs to a directory it names.
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (debootstrap, chroot, overlay and bind mounts)"
    exit 77
fi

# Private mount namespace: whatever happens, no mount outlives this script.
if [ "${LCFS_OSTREE_SUITE_NS:-}" != 1 ]; then
    exec unshare --mount --propagation private env LCFS_OSTREE_SUITE_NS=1 bash "$0" "$@"
fi

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=${LCFS_SO_DIR:-$ROOT/target/release}
CACHE=${LCFS_OSTREE_SUITE_CACHE:-/var/tmp/cfs-ostree-suite-root}
JOBS=${LCFS_OSTREE_SUITE_JOBS:-1}
read -ra ONLY <<<"${LCFS_OSTREE_SUITE_ONLY:-libostree/}"
# Without parallel, test-admin-locking skips; the others are tools the
# tests call and skip or fail without.
EXTRA="ostree-tests gnome-desktop-testing parallel libcap2-bin strace fsverity xz-utils openssl"
EXTRA="$EXTRA file e2fsprogs sudo procps"
START=$SECONDS

fail() {
    echo "FAIL: $*"
    exit 1
}
for tool in readelf cc ip; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done
OURS=$(readlink -f "$SO_DIR/libcomposefs.so") && [ -f "$OURS" ] ||
    fail "our library is not built: $SO_DIR/libcomposefs.so"

# no_mounts_under and debian_root:
# shellcheck source=lib/debian-root.sh
. "$ROOT/tests-c/lib/debian-root.sh"
debian_root "$CACHE" ostree,composefs,libcomposefs1 "$EXTRA"
TESTS_DIR=usr/share/installed-tests/libostree
[ -x "$R/usr/bin/gnome-desktop-testing-runner" ] && [ -d "$R/$TESTS_DIR" ] ||
    fail "ostree-tests or the runner is missing from $R; remove $CACHE to rebuild"
# The runner's own list of what it will run; the whole suite must be all
# the installed tests.
EXPECTED=$(chroot "$R" gnome-desktop-testing-runner --list "${ONLY[@]}" | grep -c '^libostree/')
[ "$EXPECTED" -gt 0 ] || fail "no tests match ${ONLY[*]} in $R/$TESTS_DIR"
if [ "${ONLY[*]}" = libostree/ ]; then
    n=$(find "$R/$TESTS_DIR" -maxdepth 1 -name '*.test' | wc -l)
    [ "$EXPECTED" = "$n" ] || fail "the runner lists $EXPECTED tests of the $n installed"
fi
LIB=usr/lib/x86_64-linux-gnu/libcomposefs.so.1
C_SO=$(readlink -f "$R/$LIB")
case $C_SO in "$R"/*) C_SO=${C_SO#"$R"/} ;; *) fail "no $LIB in the root" ;; esac
echo "root: $(chroot "$R" dpkg-query -W -f '${Package} ${Version}, ' ostree-tests libostree-1-1 libcomposefs1 gnome-desktop-testing)"

build_id() {
    readelf -n "$1" | sed -n 's/.*Build ID: *//p'
}
ID_C=$(build_id "$R/$C_SO")
ID_RS=$(build_id "$OURS")
[ -n "$ID_C" ] && [ -n "$ID_RS" ] && [ "$ID_C" != "$ID_RS" ] ||
    fail "cannot tell the libraries apart by build-id ('$ID_C' vs '$ID_RS')"
echo "C library:    /$C_SO build-id $ID_C"
echo "our library:  $OURS build-id $ID_RS"

# --- Two copies of the root -------------------------------------------------
WORK=$(mktemp -d /var/tmp/cfs-ostree-suite.XXXXXX)
MOUNTS=()
# stop_leftovers: stops, by pid, every process whose root is one of the
# copies (the tests leave gpg-agent running), then waits for them to go.
in_copies() {
    local p r
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        case $r in "$WORK"/*) echo "${p#/proc/}" ;; esac
    done
}
stop_leftovers() {
    local pids i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(in_copies)
        [ -z "$pids" ] && return 0
        [ "$i" = 1 ] && echo "stopping processes left in the roots:" $(for p in $pids; do
            echo "$(cat "/proc/$p/comm" 2>/dev/null)[$p]"; done)
        # shellcheck disable=SC2086
        kill $([ "$i" -gt 5 ] && echo -KILL) $pids 2>/dev/null
        sleep 1
    done
    echo "warning: processes still running in the roots: $(in_copies | tr '\n' ' ')"
}
cleanup() {
    local i keep
    stop_leftovers
    if [ -n "${LCFS_KEEP_TMP:-}" ]; then
        # $WORK may be a tmpfs: the logs go to disk.
        keep=$(mktemp -d /var/tmp/cfs-ostree-suite-logs.XXXXXX) &&
            (cd "$WORK" && cp -a --parents ./*.log* ./*.results* ./*/out "$keep"/ 2>/dev/null)
        echo "logs kept in $keep"
    fi
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}"
    done
    MOUNTS=()
    if ! no_mounts_under "$WORK"; then
        echo "warning: mounts remain; $WORK left in place"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mnt() { # mount ARGS... TARGET: records TARGET for cleanup
    mount "$@" || fail "mount $*"
    MOUNTS+=("${!#}")
}

# The copies' writable parts go on a tmpfs when this kernel's tmpfs takes
# user.* xattrs (6.6 and later; ostree's bare-user repos need them): it is
# freed at once, where deleting the tests' files from disk takes long.
mnt -t tmpfs -o size=8g,mode=0755 cfs-ostree-suite "$WORK"
if ! python3 -c 'import os, sys; p = sys.argv[1] + "/x"; open(p, "w").close(); os.setxattr(p, "user.x", b"1")' "$WORK" 2>/dev/null; then
    umount "$WORK" && unset 'MOUNTS[${#MOUNTS[@]}-1]'
    echo "note: tmpfs has no user xattrs here; working on disk in $WORK"
fi
rm -f "$WORK/x"
cc -shared -fPIC -O1 -Wall -Werror -o "$WORK/probe.so" "$ROOT/tests-c/ostree/libprobe.c" ||
    fail "compiling the probe"

# copy LIB: the overlay root $WORK/LIB/root with its own /tmp, /var/tmp,
# /dev/shm, the host's /dev and a /proc; for LIB=rs our library is bound
# over the C one.
copy() {
    local d=$WORK/$1
    mkdir -p "$d"/{upper,work,root,tmp,vartmp,out}
    chmod 1777 "$d/tmp" "$d/vartmp"
    mnt -t overlay "cfs-ostree-suite-$1" -o "lowerdir=$R,upperdir=$d/upper,workdir=$d/work" "$d/root"
    mnt -t proc proc "$d/root/proc"
    mnt --bind /dev "$d/root/dev"
    mnt --bind /dev/pts "$d/root/dev/pts"
    mnt -t tmpfs -o mode=1777 shm "$d/root/dev/shm"
    mnt --bind "$d/tmp" "$d/root/tmp"
    mnt --bind "$d/vartmp" "$d/root/var/tmp"
    mkdir -p "$d/root/run/cfs-out"
    mnt --bind "$d/out" "$d/root/run/cfs-out"
    cp "$WORK/probe.so" "$d/out/probe.so"
    [ "$1" = rs ] && mnt --bind "$OURS" "$d/root/$C_SO"
    return 0
}

# prove LIB WHEN: in copy LIB, ostree maps exactly the intended library (it
# comes through libostree, as in the tests) and mkcomposefs calls it.
prove() {
    local lib=$1 d=$WORK/$1 want report cmd
    [ "$lib" = c ] && want=$ID_C || want=$ID_RS
    for cmd in "ostree --version" "mkcomposefs /usr/share/doc/ostree /run/cfs-out/probe.cfs"; do
        report=$d/out/$2.${cmd%% *}
        # shellcheck disable=SC2086
        chroot "$d/root" env -i PATH=/usr/sbin:/usr/bin LD_PRELOAD=/run/cfs-out/probe.so \
            LCFS_PROBE_OUT="/run/cfs-out/${report##*/}" $cmd >"$report.out" 2>&1 ||
            fail "'$cmd' failed in the $lib copy: $(tail -n 3 "$report.out")"
        # Every mapped libcomposefs (lines other than "call ...") is $want.
        if ! awk -v want="$want" '!/^call / { n++; if ($1 != want) bad = 1 } END { exit bad || !n }' \
                "$report" 2>/dev/null; then
            echo "FAIL: '$cmd' in the $lib copy did not run on the $lib library; it mapped:"
            cat "$report" 2>/dev/null
            exit 1
        fi
        case $cmd in mkcomposefs*)
            grep -q '^call lcfs_write_to$' "$report" || fail "'$cmd' in the $lib copy never called lcfs_write_to"
        esac
    done
}

# suite LIB RUN [TEST...]: runs the runner in copy LIB (the chosen tests, or
# the named ones) with per-test logs in $WORK/LIB/out/logs-RUN, and writes
# "NAME RESULT TAP-HASH TAP-COUNT" lines to $WORK/LIB.results: the runner's
# verdict and, from the test's own TAP output, a hash and count of its
# "ok"/"not ok" lines and plan, kept in $WORK/LIB/out/tap-RUN/. A test
# whose plan is "1..0" skipped itself as a whole: the runner calls that a
# pass (it counts only exit status 77 as a skip), here it is SKIP.
suite() {
    local lib=$1 d=$WORK/$1 log=$WORK/$1.log run=$2 name result f tap
    shift 2
    [ $# = 0 ] && set -- "${ONLY[@]}"
    mkdir -p "$d/out/logs-$run" "$d/out/tap-$run"
    # Each run gets its own network namespace: tests start HTTP servers on
    # fixed ports (test-commit-sign: 18081), which would collide.
    unshare --net sh -c 'ip link set lo up && exec "$@"' sh \
        chroot "$d/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root USER=root LOGNAME=root \
        LANG=C.UTF-8 TMPDIR=/tmp OSTREE_TEST_SUDO=1 \
        timeout 3000 nice -n 10 gnome-desktop-testing-runner -p "$JOBS" -t 600 \
        -L "/run/cfs-out/logs-$run" "$@" >"$log" 2>&1
    echo "runner exit $?" >>"$log"
    # The runner repeats failing tests' lines in its summary.
    sed -n 's/^\(PASS\|FAIL\|SKIP\|ERROR\|TIMEOUT\): \(libostree\/[^ ]*\.test\).*/\2 \1/p' "$log" |
        sort -u | while read -r name result; do
            f=$d/out/logs-$run/${name//\//_}.txt
            tap=$d/out/tap-$run/${name//\//_}
            grep -E '^(not )?ok( |$)|^1\.\.[0-9]' "$f" >"$tap" 2>/dev/null
            [ "$result" = PASS ] && grep -q '^1\.\.0\b' "$tap" && result=SKIP
            echo "$name $result $(sha256sum <"$tap" | cut -c1-16) $(grep -cE '^(not )?ok' "$tap")"
        done | sort >"$WORK/$lib.results"
}

for lib in c rs; do
    copy $lib
    prove $lib before
done

# --- The two runs -----------------------------------------------------------
t=$SECONDS
declare -A PID SECS
for lib in c rs; do
    (s=$SECONDS; suite $lib 1; echo $((SECONDS - s)) >"$WORK/$lib.secs") &
    PID[$lib]=$!
done
for lib in c rs; do
    wait "${PID[$lib]}"
    SECS[$lib]=$(cat "$WORK/$lib.secs" 2>/dev/null || echo '?')
done
echo "both runs done in $((SECONDS - t)) s (C: ${SECS[c]} s, ours: ${SECS[rs]} s, -p $JOBS each)"
for lib in c rs; do
    prove $lib after
done

# --- Comparison -------------------------------------------------------------
counts() { # FILE: "N pass, N fail, N skip; N TAP results"
    awk '{ n[$2]++; t += $4 }
        END { printf "%d pass, %d fail, %d skip; %d TAP results", n["PASS"],
            n["FAIL"] + n["ERROR"] + n["TIMEOUT"], n["SKIP"], t }' "$1"
}
both() { # NAME C-RESULT C-TAP RS-RESULT RS-TAP per test, either side "none" if missing
    join -a 1 -a 2 -e none -o 0,1.2,1.3,2.2,2.3 "$WORK/c.results" "$WORK/rs.results"
}
# A test is good when both libraries give the same verdict and TAP lines and
# the verdict is a pass or skip.
BAD='$2 != $4 || $3 != $5 || ($2 != "PASS" && $2 != "SKIP")'
for lib in c rs; do
    tail -n 2 "$WORK/$lib.log" | sed "s/^/  $lib: /"
    n=$(wc -l <"$WORK/$lib.results")
    [ "$n" = "$EXPECTED" ] || {
        tail -n 30 "$WORK/$lib.log"
        fail "the $lib run reported $n results for $EXPECTED installed tests"
    }
done
echo "C:    $(counts "$WORK/c.results")"
echo "ours: $(counts "$WORK/rs.results")"

# Tests that differ, or that did not pass or skip on C, get a second run on
# both libraries (one after the other; they are few).
again=$(both | awk "$BAD { print \$1 }")
if [ -n "$again" ]; then
    echo "rerunning on both libraries: $(echo $again)"
    for lib in c rs; do
        mv "$WORK/$lib.results" "$WORK/$lib.results.1"
        mv "$WORK/$lib.log" "$WORK/$lib.log.1"
        # shellcheck disable=SC2086
        suite $lib 2 $again
        join -v 1 "$WORK/$lib.results.1" <(echo "$again" | sort) | cat - "$WORK/$lib.results" |
            sort >"$WORK/$lib.results.2"
        mv "$WORK/$lib.results.2" "$WORK/$lib.results"
    done
    echo "after the reruns: C $(counts "$WORK/c.results"); ours $(counts "$WORK/rs.results")"
fi

# last LIB NAME KIND: the test's newest file of KIND (logs or tap).
last() {
    local f=$WORK/$1/out/$3-2/${2//\//_}
    [ "$3" = logs ] && f=$f.txt
    [ -f "$f" ] || f=${f/"/$3-2/"/"/$3-1/"}
    echo "$f"
}
failures=0
while read -r name c ctap rs rstap; do
    if [ "$c" != "$rs" ]; then
        echo "  DIFF: $name: C $c, ours $rs"
    elif [ "$ctap" != "$rstap" ]; then
        echo "  DIFF: $name: both $c, but their TAP results differ (C <, ours >):"
        head -n 10 <<<"$(diff "$(last c "$name" tap)" "$(last rs "$name" tap)" | grep '^[<>]')" | sed 's/^/    /'
    else
        echo "  C run broken: $name: $c on both libraries"
    fi
    failures=$((failures + 1))
    for lib in c rs; do
        tail -n 12 "$(last $lib "$name" logs)" | cut -c1-200 | sed "s/^/    $lib| /"
    done
done < <(both | awk "$BAD")
echo "skipped on both: $(awk '$2 == "SKIP" { printf "%s ", $1 }' "$WORK/c.results")"
echo "$EXPECTED tests on each library, $((SECONDS - START)) s in all"
if [ "$failures" -ne 0 ]; then
    echo "FAIL: $failures tests did not pass or skip alike on both libraries"
    exit 1
fi
echo "PASS: libostree's $EXPECTED installed tests give the same results on both libraries"
