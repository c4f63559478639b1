#!/bin/bash
# Proves the node-tree expectations of test-node.c and test-threads.c are
# C libcomposefs's own: each test is compiled once and run against our
# library (all checks) and against upstream C libcomposefs 1.0.8 built by
# the shared upstream build, tests-c/upstream/build.sh (with LCFS_ORACLE=1:
# only the checks shared with C).
# Both runs must pass. LCFS_VALGRIND=1 also runs ours under valgrind.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(pwd)}
SO_DIR=${LCFS_SO_DIR:-$ROOT/target/release}
HERE=$ROOT/tests-c

oracle=$("$HERE/upstream/build.sh")/libcomposefs
rc=$?
if [ $rc -ne 0 ] || [ ! -e "$oracle/libcomposefs.so.1" ]; then
    echo "check-node-oracle: FAIL: building the C oracle failed (rc $rc)"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Our library under the name the tests are linked for.
mkdir -p "$tmp/ours"
ours_so=$SO_DIR/libcomposefs.so.1
[ -e "$ours_so" ] || ours_so=$SO_DIR/libcomposefs.so
if [ ! -e "$ours_so" ]; then
    echo "check-node-oracle: FAIL: no libcomposefs.so in $SO_DIR"
    exit 1
fi
ln -s "$(readlink -f "$ours_so")" "$tmp/ours/libcomposefs.so.1"
ln -s "$(readlink -f "$ours_so")" "$tmp/ours/libcomposefs.so"

# Our headers when they exist, else upstream's (same ABI).
if [ -f "$ROOT/include/libcomposefs/lcfs-writer.h" ]; then
    inc=$ROOT/include
else
    mkdir -p "$tmp/inc"
    ln -s "$("$HERE/upstream/fetch.sh")/libcomposefs" "$tmp/inc/libcomposefs"
    inc=$tmp/inc
    echo "check-node-oracle: note: include/libcomposefs missing, compiling with upstream headers"
fi

fail=0
for t in test-node test-threads; do
    if ! cc -Wall -Werror -I"$inc" -o "$tmp/$t" "$HERE/$t.c" -L"$tmp/ours" -lcomposefs -pthread; then
        echo "check-node-oracle: FAIL: $t.c does not compile"
        fail=1
        continue
    fi
    for which in ours c; do
        if [ $which = ours ]; then dir=$tmp/ours; env=(LCFS_ORACLE=0); else dir=$oracle; env=(LCFS_ORACLE=1); fi
        loaded=$(LD_LIBRARY_PATH=$dir ldd "$tmp/$t" | awk '/libcomposefs/ {print $3}')
        want=$(readlink -f "$dir/libcomposefs.so.1")
        if [ "$(readlink -f "$loaded")" != "$want" ]; then
            echo "check-node-oracle: FAIL: $t would load $loaded, not $want"
            fail=1
            continue
        fi
        echo "== $t against $which ($want)"
        if env "${env[@]}" LD_LIBRARY_PATH="$dir" "$tmp/$t"; then
            echo "-- $t: $which passed"
        else
            echo "-- $t: $which FAILED"
            fail=1
        fi
    done
    if [ "${LCFS_VALGRIND:-0}" = 1 ]; then
        echo "== $t against ours under valgrind"
        if LD_LIBRARY_PATH=$tmp/ours valgrind -q --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite "$tmp/$t" >/dev/null; then
            echo "-- $t: valgrind clean"
        else
            echo "-- $t: valgrind FAILED"
            fail=1
        fi
    fi
done

if [ $fail -ne 0 ]; then
    echo "check-node-oracle: FAIL"
    exit 1
fi
echo "check-node-oracle: ok (ours and C agree on every shared check)"
