#!/bin/bash
# The misuse tables (tests-c/test-misuse*.c) against both libraries:
#   - with C libcomposefs 1.0.8 in oracle mode (LCFS_MISUSE_C=1: rows where
#     we are stricter than C are skipped), every remaining row must give
#     the same return value and errno there, which proves the errno we
#     chose is C's;
#   - with ours, every row must pass (run-all.sh also runs them);
#   - every one of the 62 functions in symbols.txt must have at least one
#     row. Prints the number of rows per function.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
CC=${CC:-cc}
NAME=check-misuse-c

BUILD=$("$ROOT/tests-c/upstream/build.sh") || { echo "$NAME: FAIL: building upstream composefs failed"; exit 1; }
CLIB=$BUILD/libcomposefs

T=$(mktemp -d -t cfs-misuse.XXXXXX)
trap 'rm -rf -- "$T"' EXIT
failures=0

for src in "$ROOT"/tests-c/test-misuse*.c; do
    name=$(basename "$src" .c)
    exe=$T/$name
    if ! "$CC" -Wall -Werror -I"$ROOT/include" -o "$exe" "$src" -L"$SO_DIR" -lcomposefs; then
        echo "FAIL $name: does not compile"
        failures=$((failures + 1))
        continue
    fi
    if LD_LIBRARY_PATH=$CLIB LCFS_MISUSE_C=1 "$exe" >"$T/$name.c.out" 2>&1; then
        echo "ok   $name against C: $(tail -n 1 "$T/$name.c.out")"
    else
        echo "FAIL $name against C (the table disagrees with C or C crashed):"
        grep -v '^ok' "$T/$name.c.out" | sed 's/^/    /'
        failures=$((failures + 1))
    fi
    if LD_LIBRARY_PATH=$SO_DIR "$exe" >"$T/$name.ours.out" 2>&1; then
        echo "ok   $name against ours: $(tail -n 1 "$T/$name.ours.out")"
    else
        echo "FAIL $name against ours:"
        grep -v '^ok' "$T/$name.ours.out" | sed 's/^/    /'
        failures=$((failures + 1))
    fi
done

# Rows per function, from our run (every row prints "ok   lcfs_xxx(...").
cat "$T"/*.ours.out | sed -n 's/^\(ok  \|FAIL\) *\(lcfs_[a-z0-9_]*\)(.*/\2/p' | sort | uniq -c >"$T/counts"
echo "rows per function:"
missing=0
while read -r fn; do
    n=$(awk -v f="$fn" '$2 == f {print $1}' "$T/counts")
    printf '  %-40s %s\n' "$fn" "${n:-0}"
    if [ -z "$n" ]; then
        missing=$((missing + 1))
    fi
done < <(grep -v '^#' "$ROOT/symbols.txt" | grep .)
total=$(awk '{s += $1} END {print s}' "$T/counts")
echo "  total rows: $total"
if [ "$missing" != 0 ]; then
    echo "FAIL: $missing function(s) without a misuse row"
    failures=$((failures + 1))
fi

if [ "$failures" != 0 ]; then
    echo "$NAME: $failures failure(s)"
    exit 1
fi
echo "$NAME: all misuse rows agree with C where C defines the result"
