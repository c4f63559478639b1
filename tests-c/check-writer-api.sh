#!/bin/bash
# Runs tests-c/writer-cases.c (fixed API cases plus random trees) over our
# libcomposefs.so.1 and over C libcomposefs 1.0.8, and requires identical
# transcripts: return codes, errno, version updates, image bytes and
# digests, and what the caller's tree looks like afterwards.
# Uses the same C oracle build as check-writer-assets.sh.
set -u

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
N_RANDOM=${WRITER_CASES_RANDOM:-300}

SRC=$("$ROOT/tests-c/upstream/fetch.sh") || { echo "SKIP: no upstream source (download failed, see above)"; exit 77; }
CBUILD=$("$ROOT/tests-c/upstream/build.sh") || { echo "FAIL: building the C oracle failed"; exit 1; }

tmp=$(mktemp -d -t cfs-writer-api.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
mkdir -p "$tmp/ours"
if [ -e "$SO_DIR/libcomposefs.so.1" ]; then
    ln -s "$SO_DIR/libcomposefs.so.1" "$tmp/ours/libcomposefs.so.1"
else
    ln -s "$SO_DIR/libcomposefs.so" "$tmp/ours/libcomposefs.so.1"
fi

cc -Wall -Werror -O1 -I"$SRC/libcomposefs" -o "$tmp/cases" "$ROOT/tests-c/writer-cases.c" \
    -L"$CBUILD/libcomposefs" -lcomposefs || { echo "FAIL: cannot build writer-cases"; exit 1; }

# Each case runs in a child; the parent reports a crashed child as a CRASH
# line and itself must finish.
LD_LIBRARY_PATH=$CBUILD/libcomposefs "$tmp/cases" "$N_RANDOM" >"$tmp/c.txt" ||
    { echo "FAIL: writer-cases on C exited $?"; exit 1; }
LD_LIBRARY_PATH=$tmp/ours "$tmp/cases" "$N_RANDOM" >"$tmp/ours.txt" ||
    { echo "FAIL: writer-cases on ours exited $?"; tail -n 5 "$tmp/ours.txt"; exit 1; }
if [ "$(grep -c 'rc=0' "$tmp/c.txt")" -lt $((N_RANDOM / 2)) ]; then
    echo "FAIL: C's transcript has fewer than $((N_RANDOM / 2)) successful writes; nothing to compare"
    exit 1
fi

# C asserts (crashes) on a few inputs; ours must not crash anywhere, and
# C's crash lines are the only ones allowed to differ.
if grep -q CRASH "$tmp/ours.txt"; then
    echo "FAIL: our library crashed:"; grep CRASH "$tmp/ours.txt"; exit 1
fi
bad=0
while IFS= read -r line; do
    case $line in *CRASH*) continue ;; esac
    if ! grep -qxF -- "$line" "$tmp/ours.txt"; then
        echo "FAIL: C line not matched: $line"
        bad=$((bad + 1))
    fi
done <"$tmp/c.txt"
if [ "$(grep -vc CRASH "$tmp/c.txt")" -gt "$(wc -l <"$tmp/ours.txt")" ] || [ $bad -ne 0 ]; then
    head -n 40 <<<"$(diff "$tmp/c.txt" "$tmp/ours.txt")"
    exit 1
fi
echo "ok: $(wc -l <"$tmp/c.txt") transcript lines identical ($(grep -c 'rc=0' "$tmp/c.txt") successful writes, $(grep -c CRASH "$tmp/c.txt") C crashes skipped)"
