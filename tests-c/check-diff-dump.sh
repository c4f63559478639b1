#!/bin/bash
# Differential test on random dumpfiles (tests-c/diff/gendump.py): for each
# seed, upstream's mkcomposefs --from-file runs once on C libcomposefs 1.0.8
# and once on ours, with the seed's options. Exit status, stderr, the
# --print-digest output and the image bytes must match, and so must
# --print-digest-only. Each image C wrote is then read back on both
# libraries with composefs-dump (load, then write an image again) and
# `composefs-info dump|ls|objects`: status and output must match. The text
# of `composefs-info dump` is written again by both (round trip: status and
# image must match). Inputs C refuses must be refused by ours with the same
# message. If C itself crashes on an input the case is skipped (counted),
# but ours must not crash.
#
# Usage: check-diff-dump.sh [--seed S] [--soak N] [--first F] [--count N] [-j J]
#   default      seeds 1..1000 (the CI range), 2 workers
#   --soak N     N seeds starting at 1000000 (past the CI range)
#   --seed S     one seed, with diffs shown
# KEEP_WORK=FILE keeps the per-case result lines. Prints
# "N cases, M mismatches"; exits 1 on any mismatch.
set -u

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
. "$ROOT/tests-c/lib/setup.sh"
need_tools python3
CBUILD=$("$ROOT/tests-c/upstream/build.sh") || { echo "FAIL: building the C oracle failed"; exit 1; }
GEN=$ROOT/tests-c/diff/gendump.py

first=1 count=1000 jobs=2 verbose=0
while [ $# -gt 0 ]; do
    case $1 in
    --seed) first=$2 count=1 verbose=1; shift ;;
    --soak) first=1000000 count=$2; shift ;;
    --first) first=$2; shift ;;
    --count) count=$2; shift ;;
    -j) jobs=$2; shift ;;
    *) echo "usage: $0 [--seed S] [--soak N] [--first F] [--count N] [-j J]"; exit 2 ;;
    esac
    shift
done

WORK=$(mktemp -d -t cfs-diffdump.XXXXXX)
trap '[ -n "${KEEP_WORK:-}" ] && cp "$WORK/all" "$KEEP_WORK"; rm -rf -- "$WORK"' EXIT
mkdir -p "$WORK/ours"
# A private copy: editing the generator during a long soak changes nothing.
cp "$GEN" "$WORK/gendump.py" && GEN=$WORK/gendump.py
if [ -e "$SO_DIR/libcomposefs.so.1" ]; then
    ln -s "$SO_DIR/libcomposefs.so.1" "$WORK/ours/libcomposefs.so.1"
else
    ln -s "$SO_DIR/libcomposefs.so" "$WORK/ours/libcomposefs.so.1"
fi
C_LIB=$CBUILD/libcomposefs
R_LIB=$WORK/ours
T=$CBUILD/tools
if ! grep -qF "$R_LIB/libcomposefs.so.1" <<<"$(LD_LIBRARY_PATH=$R_LIB ldd "$T/mkcomposefs")"; then
    echo "FAIL: mkcomposefs does not pick up our library"; exit 1
fi

# One worker: seeds lo..hi, generated in batches; appends a line per case
# to $d/result ("ok", "skip ..." or "MISMATCH ...").
worker() {
    local lo=$1 hi=$2 d=$3 b s opts
    mkdir -p "$d"
    for ((b = lo; b <= hi; b += 200)); do
        local bhi=$((b + 199 > hi ? hi : b + 199))
        python3 "$GEN" "$d/in" "$b-$bhi" >"$d/cases" || { echo "MISMATCH generator failed at $b" >>"$d/result"; return; }
        while IFS=$'\t' read -r s opts; do
            one_case "$d" "$s" "$opts" >>"$d/result"
            rm -f "$d/in/$s.dump"
        done <"$d/cases"
    done
}

# show A B: the difference, only when rerunning one seed.
show() { [ $verbose = 1 ] && head -n 20 <<<"$(diff -a "$1" "$2")" >&2; return 0; }

# one_case DIR SEED OPTS: prints one result line.
one_case() {
    local d=$1 s=$2 opts=$3 in=$1/in/$2.dump rc rr m=()
    # shellcheck disable=SC2086 # options are single words
    LD_LIBRARY_PATH=$C_LIB "$T/mkcomposefs" --from-file --print-digest $opts "$in" "$d/c.img" >"$d/c.out" 2>"$d/c.err"
    rc=$?
    # shellcheck disable=SC2086
    LD_LIBRARY_PATH=$R_LIB "$T/mkcomposefs" --from-file --print-digest $opts "$in" "$d/r.img" >"$d/r.out" 2>"$d/r.err"
    rr=$?
    if [ $verbose = 1 ]; then
        echo "seed $s options [$opts]: C exit $rc, ours exit $rr" >&2
        cat "$d/c.err" >&2
    fi
    if [ $rr -ge 128 ]; then
        echo "MISMATCH seed $s: our mkcomposefs crashed (exit $rr, C exit $rc)"
        return
    fi
    if [ $rc -ge 128 ]; then
        echo "skip seed $s: C crashed (exit $rc: $(head -c 200 "$d/c.err" | tr '\n' ' '))"
        return
    fi
    if [ $rc != $rr ]; then
        echo "MISMATCH seed $s: mkcomposefs exit C=$rc ours=$rr ($(head -c 300 <<<"$(cat "$d/c.err" "$d/r.err")" | tr '\n' ' '))"
        return
    fi
    cmp -s "$d/c.err" "$d/r.err" || { show "$d/c.err" "$d/r.err"; m+=("stderr"); }
    cmp -s "$d/c.out" "$d/r.out" || { show "$d/c.out" "$d/r.out"; m+=("digest"); }
    if [ $rc != 0 ]; then
        if [ ${#m[@]} = 0 ]; then echo "ok refused seed $s: $(head -1 "$d/c.err" | cut -c1-80)"; else echo "MISMATCH seed $s (refused): ${m[*]}"; fi
        return
    fi
    local at
    if ! at=$(cmp "$d/c.img" "$d/r.img" 2>&1); then m+=("image: $at"); fi
    # shellcheck disable=SC2086
    LD_LIBRARY_PATH=$C_LIB "$T/mkcomposefs" --from-file --print-digest-only $opts "$in" >"$d/c.do" 2>&1
    rc=$?
    # shellcheck disable=SC2086
    LD_LIBRARY_PATH=$R_LIB "$T/mkcomposefs" --from-file --print-digest-only $opts "$in" >"$d/r.do" 2>&1
    rr=$?
    if [ $rc != $rr ] || ! cmp -s "$d/c.do" "$d/r.do" || ! cmp -s "$d/c.do" "$d/c.out"; then
        m+=("print-digest-only")
    fi
    # Read the C image with both libraries.
    LD_LIBRARY_PATH=$C_LIB "$T/composefs-dump" "$d/c.img" "$d/c.dump" 2>"$d/c.err"
    rc=$?
    LD_LIBRARY_PATH=$R_LIB "$T/composefs-dump" "$d/c.img" "$d/r.dump" 2>"$d/r.err"
    rr=$?
    if [ $rc != $rr ]; then
        m+=("composefs-dump exit C=$rc ours=$rr")
    elif [ $rc = 0 ] && ! cmp -s "$d/c.dump" "$d/r.dump"; then
        show "$d/c.dump" "$d/r.dump"
        m+=("composefs-dump")
    fi
    local cmd
    for cmd in dump ls objects; do
        LD_LIBRARY_PATH=$C_LIB "$T/composefs-info" $cmd "$d/c.img" >"$d/c.info" 2>&1
        rc=$?
        LD_LIBRARY_PATH=$R_LIB "$T/composefs-info" $cmd "$d/c.img" >"$d/r.info" 2>&1
        rr=$?
        if [ $rc != $rr ] || ! cmp -s "$d/c.info" "$d/r.info"; then
            show "$d/c.info" "$d/r.info"
            m+=("composefs-info $cmd")
        fi
        if [ $cmd = dump ] && [ $rc = 0 ]; then mv "$d/c.info" "$d/c.txt"; fi
    done
    # Round trip: the text C's reader gave back, written again by both.
    if [ -e "$d/c.txt" ]; then
        # shellcheck disable=SC2086
        LD_LIBRARY_PATH=$C_LIB "$T/mkcomposefs" --from-file $opts "$d/c.txt" "$d/c2.img" 2>"$d/c.err"
        rc=$?
        # shellcheck disable=SC2086
        LD_LIBRARY_PATH=$R_LIB "$T/mkcomposefs" --from-file $opts "$d/c.txt" "$d/r2.img" 2>"$d/r.err"
        rr=$?
        if [ $rc != $rr ] || ! cmp -s "$d/c.err" "$d/r.err"; then
            m+=("round trip: exit C=$rc ours=$rr")
        elif [ $rc = 0 ] && ! at=$(cmp "$d/c2.img" "$d/r2.img" 2>&1); then
            m+=("round trip image: $at")
        fi
    fi
    rm -f "$d"/c.img "$d"/r.img "$d"/c2.img "$d"/r2.img "$d"/c.dump "$d"/r.dump "$d"/c.txt
    if [ ${#m[@]} = 0 ]; then echo "ok written"; else echo "MISMATCH seed $s: ${m[*]}"; fi
}

start=$SECONDS
last=$((first + count - 1))
per=$(((count + jobs - 1) / jobs))
pids=()
for ((j = 0; j < jobs; j++)); do
    lo=$((first + j * per))
    hi=$((lo + per - 1 > last ? last : lo + per - 1))
    [ $lo -le $last ] || break
    worker $lo $hi "$WORK/w$j" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done

cat "$WORK"/w*/result >"$WORK/all"
grep -E '^(MISMATCH|skip)' "$WORK/all"
n=$(wc -l <"$WORK/all")
bad=$(grep -c '^MISMATCH' "$WORK/all")
echo "seeds $first..$last: $(grep -c '^ok written' "$WORK/all") written, $(grep -c "^ok refused" "$WORK/all") refused by both, $(grep -c '^skip' "$WORK/all") skipped (C crashed), $((SECONDS - start))s"
echo "$n cases, $bad mismatches"
[ "$n" = "$count" ] || { echo "FAIL: expected $count cases"; exit 1; }
# Every case refused or skipped would compare no image at all.
[ "$count" -lt 10 ] || grep -q '^ok written' "$WORK/all" || { echo "FAIL: no case wrote an image"; exit 1; }
[ "$bad" = 0 ]
