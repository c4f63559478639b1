#!/bin/bash
# Side-by-side benchmark of our tools against C 1.0.8's tools. Not a test
# (run-all.sh does not run it): it prints a table and whether the goals of
# issue 10 are met.
#
#   tests-c/bench/tools.sh [ROUNDS]
#
# Each case runs ROUNDS times (default 3), alternating C and ours, under
# /usr/bin/time (wall, CPU, peak RSS). Printed per case: best and median
# wall time of each, the C/ours ratio of both (higher is better for us),
# the smallest peak RSS of each in MiB and ours/C. The outputs of the two
# must be identical (checked every round), or the script fails.
#
# Cases and goals:
#   mk-f36     mkcomposefs --from-file of the f36-x86_64-silverblue dump
#              (111,896 entries), from a file in the page cache:
#              >= 4x faster than C, <= 0.5x C's peak RSS
#   store-py   mkcomposefs --digest-store of /usr/lib/python3 into an empty
#              store (as root on a fresh ext4 filesystem each run, made
#              outside the timing; BENCH_STORE_FS=dir uses a plain
#              directory instead): >= 2x
#   info-f36   composefs-info dump of the image C writes from the f36 dump,
#              output to a file: >= 3x
#
# Environment: LCFS_TOOLS_DIR (our tools; default: cargo build --release in
# this tree, target/release), LCFS_BENCH_DIR (inputs and scratch; default
# /var/tmp/cfs-bench), BENCH_PY_DIR (default /usr/lib/python3), BENCH_CASES
# (a subset of the case names, space-separated).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${1:-3}
WORK=${LCFS_BENCH_DIR:-/var/tmp/cfs-bench}/tools
PY_DIR=${BENCH_PY_DIR:-/usr/lib/python3}
[ -x /usr/bin/time ] || { echo "tools.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }
mkdir -p "$WORK"

SRC=$("$ROOT/tests-c/upstream/fetch.sh")
CBUILD=$("$ROOT/tests-c/upstream/build.sh")
C_LIB=$CBUILD/libcomposefs
C_TOOLS=$CBUILD/tools
if [ -z "${LCFS_TOOLS_DIR:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    LCFS_TOOLS_DIR=$ROOT/target/release
fi
OURS=$(cd "$LCFS_TOOLS_DIR" && pwd)

# Inputs, cached across runs.
if [ ! -s "$WORK/f36.dump" ]; then
    zcat "$SRC/tests/assets/f36-x86_64-silverblue.dump.gz" >"$WORK/f36.dump.tmp"
    mv "$WORK/f36.dump.tmp" "$WORK/f36.dump"
fi
if [ ! -s "$WORK/f36.cfs" ]; then
    LD_LIBRARY_PATH=$C_LIB "$C_TOOLS/mkcomposefs" --from-file "$WORK/f36.dump" "$WORK/f36.cfs.tmp"
    mv "$WORK/f36.cfs.tmp" "$WORK/f36.cfs"
fi
cat "$WORK/f36.dump" "$WORK/f36.cfs" >/dev/null
find "$PY_DIR" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true

# new_store / drop_store: the empty store of a store-py run. As root it is
# a freshly made ext4 filesystem each time: on a long-lived one, creating
# inodes right after thousands were deleted (the previous run's store)
# costs more with every round, which says nothing about the tools.
STORE_FS=${BENCH_STORE_FS:-$([ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && echo fresh || echo dir)}
new_store() {
    mkdir "$WORK/store"
    [ "$STORE_FS" = fresh ] || return 0
    rm -f "$WORK/store.img"
    truncate -s 1G "$WORK/store.img"
    mkfs.ext4 -q -b 4096 "$WORK/store.img"
    mount -o loop "$WORK/store.img" "$WORK/store"
    rmdir "$WORK/store/lost+found"
}
drop_store() {
    if mountpoint -q "$WORK/store" 2>/dev/null; then
        umount "$WORK/store"
    fi
    rm -rf "$WORK/store" "$WORK/store.img"
}
trap drop_store EXIT

# run SIDE CASE N: one timed run; appends "wall user+sys maxrss_kib" to
# $WORK/SIDE.CASE.times and leaves the output in $WORK/out.SIDE.CASE.
run() {
    local side=$1 case=$2 dir lib=() out=$WORK/out.$1.$2
    if [ "$side" = c ]; then
        dir=$C_TOOLS
        lib=(env LD_LIBRARY_PATH="$C_LIB")
    else
        dir=$OURS
        lib=(env -u LD_LIBRARY_PATH)
    fi
    rm -rf "$out"
    drop_store
    local cmd
    case $case in
    mk-f36) cmd=("$dir/mkcomposefs" --from-file "$WORK/f36.dump" "$out") ;;
    store-py)
        new_store
        cmd=("$dir/mkcomposefs" --digest-store="$WORK/store" "$PY_DIR" "$out") ;;
    info-f36) cmd=(sh -c 'exec "$0" dump "$1" >"$2"' "$dir/composefs-info" "$WORK/f36.cfs" "$out") ;;
    esac
    sync
    "${lib[@]}" /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "${cmd[@]}" ||
        { echo "tools.sh: $side $case failed" >&2; exit 1; }
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$WORK/time" >>"$WORK/$side.$case.times"
    if [ "$case" = store-py ]; then
        # Names, types, modes, file sizes and contents (a directory's size
        # is the filesystem's business).
        (cd "$WORK/store" && find . -printf '%P %y %m\n' -type f -printf '%P %s\n' | LC_ALL=C sort &&
            find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum) >"$out.store"
    fi
}

# same CASE: the outputs of the last C and ours runs must be identical.
same() {
    local f
    for f in "$WORK/out.c.$1" "$WORK/out.c.$1.store"; do
        [ -e "$f" ] || continue
        cmp -s "$f" "${f/out.c./out.ours.}" || { echo "tools.sh: $1: ours and C's outputs differ ($f)" >&2; exit 1; }
    done
}

CASES=(${BENCH_CASES:-mk-f36 store-py info-f36})
rm -f "$WORK"/*.times
for ((r = 1; r <= ROUNDS; r++)); do
    for c in "${CASES[@]}"; do
        run c "$c"
        run ours "$c"
        same "$c"
    done
done
drop_store
rm -rf "$WORK"/out.*

# stat FILE: best and median wall, best CPU, smallest peak RSS (KiB).
stats() {
    sort -n "$1" | awk '{ w[NR] = $1; if (NR == 1 || $2 < c) c = $2; if (NR == 1 || $3 < m) m = $3 }
        END { printf "%s %s %s %s\n", w[1], w[int((NR + 1) / 2)], c, m }'
}

printf '%-9s %8s %8s %8s %8s %7s %7s %8s %8s %7s  %s\n' case C-best ours-best C-med ours-med ratio ratio-m C-MiB ours-MiB mem goal
status=0
for c in "${CASES[@]}"; do
    read -r cb cm cc crss <<<"$(stats "$WORK/c.$c.times")"
    read -r ob om oc orss <<<"$(stats "$WORK/ours.$c.times")"
    case $c in
    mk-f36) want=4 wantmem=0.5 ;;
    store-py) want=2 wantmem= ;;
    info-f36) want=3 wantmem= ;;
    esac
    line=$(awk -v cb="$cb" -v ob="$ob" -v cm="$cm" -v om="$om" -v cr="$crss" -v ors="$orss" \
        -v want="$want" -v wm="$wantmem" -v name="$c" 'BEGIN {
        r = (ob > 0 ? cb / ob : 999); rm = (om > 0 ? cm / om : 999); mem = ors / cr
        ok = (r >= want) && (wm == "" || mem <= wm)
        goal = ">=" want "x" (wm == "" ? "" : ", mem <=" wm)
        printf "%-9s %7.2fs %7.2fs %7.2fs %7.2fs %6.2fx %6.2fx %8.1f %8.1f %6.2fx  %s %s\n",
            name, cb, ob, cm, om, r, rm, cr / 1024, ors / 1024, mem, goal, ok ? "met" : "MISSED"
    }')
    echo "$line"
    [[ $line == *MISSED* ]] && status=3
done
echo "(ratio = C time / our time on the best of $ROUNDS runs, ratio-m on the medians; mem = our peak RSS / C's)"
exit $status
