#!/bin/bash
# Builds every tests-c/test-*.c with AddressSanitizer and
# UndefinedBehaviorSanitizer (-fsanitize=address,undefined) against our
# library and runs them; any sanitizer report fails the check.
#
# Our Rust library itself is not instrumented, but ASan replaces malloc and
# free process-wide, so its LeakSanitizer also sees what the library
# allocates and never frees, and the tests' own accesses to memory the
# library hands out (names, xattr values, contents, digests) are checked
# against the real allocation bounds. UBSan is made fatal
# (-fno-sanitize-recover) so a report cannot pass unnoticed.
#
# Needs a compiler with the sanitizer runtimes (gcc: libasan, libubsan,
# which Debian's gcc pulls in); exits 77 when it cannot link a trivial
# sanitized program.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
CC=${CC:-cc}
NAME=check-asan
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)

T=$(mktemp -d -t cfs-asan.XXXXXX)
trap 'rm -rf -- "$T"' EXIT

echo 'int main(void) { return 0; }' >"$T/probe.c"
if ! "$CC" "${SAN[@]}" -o "$T/probe" "$T/probe.c" 2>"$T/probe.err" || ! "$T/probe"; then
    cat "$T/probe.err"
    echo "$NAME: SKIP: $CC cannot build sanitized programs (libasan/libubsan missing)"
    exit 77
fi

export LD_LIBRARY_PATH=$SO_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Reports go to files (and are also looked for in the output).
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:exitcode=98:log_path=$T/report
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$T/report

failures=0 runs=0
for src in "$ROOT"/tests-c/test-*.c; do
    name=$(basename "$src" .c)
    exe=$T/$name
    runs=$((runs + 1))
    if ! "$CC" "${SAN[@]}" -Wall -Werror -I"$ROOT/include" -o "$exe" "$src" \
        -L"$SO_DIR" -lcomposefs -lpthread; then
        echo "FAIL $name: does not compile"
        failures=$((failures + 1))
        continue
    fi
    rm -f "$T"/report.*
    start=$SECONDS
    # test-mount without arguments runs its unprivileged checks only.
    "$exe" >"$T/out" 2>&1
    rc=$?
    # UBSan may write to stderr despite log_path when combined with ASan.
    if compgen -G "$T/report.*" >/dev/null || grep -Eq 'runtime error:|ERROR: [A-Za-z]+Sanitizer' "$T/out"; then
        echo "FAIL $name: sanitizer report (exit $rc)"
        head -q -n 60 "$T"/report.* 2>/dev/null | sed 's/^/    /'
        head -n 40 <<<"$(grep -E -A20 'runtime error:|ERROR: [A-Za-z]+Sanitizer' "$T/out")" | sed 's/^/    /'
        failures=$((failures + 1))
    elif [ "$rc" != 0 ]; then
        echo "FAIL $name: exit $rc"
        tail -n 20 "$T/out" | sed 's/^/    /'
        failures=$((failures + 1))
    else
        echo "ok   $name ($((SECONDS - start))s)"
    fi
done

if [ "$failures" != 0 ]; then
    echo "$NAME: $failures of $runs tests failed"
    exit 1
fi
echo "$NAME: $runs tests, no ASan/UBSan/LSan reports"
