#!/bin/bash
# Side-by-side benchmarks of our libcomposefs.so.1 against C libcomposefs
# 1.0.8. Not a test (run-all.sh does not run it): it prints a table.
#
#   tests-c/bench/run.sh [ROUNDS]
#
# One driver binary (bench-lcfs.c) runs every case once per library via
# LD_LIBRARY_PATH, ROUNDS times (default 3) alternating C and ours, each
# run doing several repetitions. The table gives the best and the median
# wall-clock time over all repetitions, the C/ours ratio of both (higher
# is better for us), the same ratio on best CPU time (steadier on a busy
# machine, but it hides multithreading), and the peak extra memory (see
# bench-lcfs.c; smallest over the rounds, in MiB).
#
# Cases:
#   f36-write   lcfs_write_to (with digest_out) of the f36-x86_64-silverblue
#               tree (111,896 entries), loaded from the image C writes
#   f36-load    lcfs_load_node_from_fd of that image
#   fsverity    lcfs_compute_fsverity_from_fd of a 1 GiB file (page cache)
#   py-build    lcfs_build + lcfs_write_to of /usr/lib/python3 (page cache)
#   py-build-d  the same with LCFS_BUILD_COMPUTE_DIGEST
#
# Environment: LCFS_SO_DIR (our library; default: cargo build --release in
# this tree), LCFS_BENCH_DIR (inputs and binaries; default
# /var/tmp/cfs-bench), BENCH_PY_DIR (default /usr/lib/python3).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${1:-3}
WORK=${LCFS_BENCH_DIR:-/var/tmp/cfs-bench}
PY_DIR=${BENCH_PY_DIR:-/usr/lib/python3}
mkdir -p "$WORK"

SRC=$("$ROOT/tests-c/upstream/fetch.sh")
CBUILD=$("$ROOT/tests-c/upstream/build.sh")
C_LIB=$CBUILD/libcomposefs

if [ -z "${LCFS_SO_DIR:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    LCFS_SO_DIR=$ROOT/target/release
fi
OURS=$WORK/ours
mkdir -p "$OURS"
ln -sfn "$(cd "$LCFS_SO_DIR" && pwd)/libcomposefs.so" "$OURS/libcomposefs.so.1"

DRIVER=$WORK/bench-lcfs
cc -O2 -Wall -Werror -I"$ROOT/include" -o "$DRIVER" "$ROOT/tests-c/bench/bench-lcfs.c" \
    -L"$C_LIB" -lcomposefs

# Inputs, cached across runs.
if [ ! -s "$WORK/f36.cfs" ]; then
    zcat "$SRC/tests/assets/f36-x86_64-silverblue.dump.gz" >"$WORK/f36.dump"
    LD_LIBRARY_PATH=$C_LIB "$CBUILD/tools/mkcomposefs" --from-file "$WORK/f36.dump" "$WORK/f36.cfs.tmp"
    mv "$WORK/f36.cfs.tmp" "$WORK/f36.cfs"
    rm -f "$WORK/f36.dump"
fi
BIG=$WORK/fsverity-1g.dat
if [ "$(stat -c %s "$BIG" 2>/dev/null || echo 0)" != 1073741824 ]; then
    head -c 1073741824 /dev/urandom >"$BIG.tmp"
    mv "$BIG.tmp" "$BIG"
fi
# Warm the page cache so every case measures CPU work, not the disk.
cat "$WORK/f36.cfs" "$BIG" >/dev/null
find "$PY_DIR" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true

RAW=$WORK/results.txt
[ "${BENCH_REPORT_ONLY:-0}" = 1 ] || : >"$RAW"
run_case() { # name mode args... (last arg: repetitions)
    local name=$1 lib tag
    shift
    for tag in c ours; do
        if [ $tag = c ]; then lib=$C_LIB; else lib=$OURS; fi
        LD_LIBRARY_PATH=$lib "$DRIVER" "$@" | sed "s/^RESULT [a-z]* /$name $tag /" >>"$RAW"
    done
}
[ "${BENCH_REPORT_ONLY:-0}" = 1 ] || for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS" >&2
    run_case f36-write write "$WORK/f36.cfs" 5
    run_case f36-load load "$WORK/f36.cfs" 5
    run_case fsverity fsverity "$BIG" 3
    run_case py-build build "$PY_DIR" 0 5
    run_case py-build-d build "$PY_DIR" 8 5
done

# Outputs must not differ: same image digest from both libraries.
bad=$(awk '{ d[$1" "$2] = $4 } END { for (k in d) { split(k, a, " ");
        if (a[2] == "c" && d[a[1]" ours"] != d[k]) print a[1] } }' "$RAW")
[ -z "$bad" ] || { echo "DIGEST MISMATCH in: $bad" >&2; exit 1; }

awk -v cores="$(nproc)" '
function add(list, key,   n, v, i) {
    n = split(list, v, ",")
    for (i = 1; i <= n; i++) vals[key, ++cnt[key]] = v[i]
}
function sorted(key,   i, j, t, n) {
    n = cnt[key]
    for (i = 1; i <= n; i++) s[i] = vals[key, i]
    for (i = 2; i <= n; i++) { t = s[i]; for (j = i - 1; j >= 1 && s[j] > t; j--) s[j + 1] = s[j]; s[j + 1] = t }
    return n
}
function best(key) { sorted(key); return s[1] }
function median(key,   n) { n = sorted(key); return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2 }
{
    name = $1; tag = $2
    if (!(name in seen)) { seen[name] = 1; order[++nn] = name }
    sub(/^mem_kb=/, "", $3); sub(/^t=/, "", $5); sub(/^cpu=/, "", $6)
    if (!((name, tag) in mem) || $3 < mem[name, tag]) mem[name, tag] = $3
    add($5, name SUBSEP tag SUBSEP "t")
    add($6, name SUBSEP tag SUBSEP "c")
}
END {
    goal["f36-write"] = "3.0"; goal["f36-load"] = "2.0"; goal["fsverity"] = "1.3"
    goal["py-build"] = "1.0"; goal["py-build-d"] = "1.8"
    printf "%-11s %9s %9s %9s %9s %7s %7s %7s %5s %8s %8s\n", "case", "C best", "C med", "ours best", "ours med",
        "x best", "x med", "x cpu", "goal", "C MiB", "ours MiB"
    for (i = 1; i <= nn; i++) {
        n = order[i]
        cb = best(n SUBSEP "c" SUBSEP "t"); cm = median(n SUBSEP "c" SUBSEP "t")
        ob = best(n SUBSEP "ours" SUBSEP "t"); om = median(n SUBSEP "ours" SUBSEP "t")
        cc = best(n SUBSEP "c" SUBSEP "c"); oc = best(n SUBSEP "ours" SUBSEP "c")
        printf "%-11s %9.4f %9.4f %9.4f %9.4f %7.2f %7.2f %7.2f %5s %8.1f %8.1f\n", n, cb, cm, ob, om,
            cb / ob, cm / om, cc / oc, goal[n], mem[n, "c"] / 1024, mem[n, "ours"] / 1024
        if (n == "fsverity") fsv = sprintf("fsverity: ours %.2f GB/s best, %.2f GB/s median (C %.2f / %.2f)",
            1.073741824 / ob, 1.073741824 / om, 1.073741824 / cb, 1.073741824 / cm)
    }
    print fsv
    printf "times in seconds; x = C/ours (higher is better); %d cores\n", cores
}' "$RAW"
echo "load average: $(cut -d" " -f1-3 /proc/loadavg) (other work on the machine makes figures noisy)"
