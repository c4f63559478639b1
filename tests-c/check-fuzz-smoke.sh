#!/bin/bash
# Builds the cargo-fuzz targets in fuzz/ (read_image, write_roundtrip,
# parse_dump: every target `cargo fuzz list` names) and runs each briefly on its
# committed seeds (fuzz/seeds/<target>), failing on any crash, panic or
# timeout. LCFS_FUZZ_SECONDS sets the time per target (default 45).
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`, which .ci/run
# does) and a C++ compiler (libfuzzer-sys builds libFuzzer). Without them
# this check is skipped, except under CI=true, where it fails.
#
# The targets are built without a sanitizer (-s none): the code they reach
# is safe Rust, and only the sanitizers need nightly rustc flags
# (-Zsanitizer), so the stable toolchain builds them as it is, without
# RUSTC_BOOTSTRAP. Overflow checks and debug assertions are on (cargo-fuzz's
# default), so an arithmetic overflow is a crash too.
set -u

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SECS=${LCFS_FUZZ_SECONDS:-45}
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH=$HOME/.cargo/bin:$PATH
fi

missing() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL: $1 (CI must have it: see .ci/run)"
        exit 1
    fi
    echo "$1"
    exit 77
}
cargo fuzz --version >/dev/null 2>&1 ||
    missing "cargo-fuzz is not installed (cargo install cargo-fuzz --locked)"
command -v "${CXX:-c++}" >/dev/null || missing "no C++ compiler for libFuzzer"

cd "$ROOT/fuzz" || exit 1
tmp=$(mktemp -d -t cfs-fuzz.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT

start=$SECONDS
if ! cargo fuzz build -s none; then
    echo "FAIL: building the fuzz targets"
    exit 1
fi
echo "built in $((SECONDS - start)) s"

failures=0
for target in $(cargo fuzz list); do
    seeds=seeds/$target
    if [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
        echo "FAIL: $target has no seeds in fuzz/$seeds"
        failures=$((failures + 1))
        continue
    fi
    mkdir -p "$tmp/$target"
    # New inputs go to the first (scratch) directory; the seeds stay as
    # they are. A crash writes fuzz/artifacts/$target/ and is printed.
    cargo fuzz run -s none "$target" "$tmp/$target" "$seeds" -- \
        -max_total_time="$SECS" -timeout=20 -print_final_stats=1 \
        >"$tmp/$target.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$target.log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$tmp/$target.log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        # libFuzzer's own crash status is 77, which must not read as a skip.
        echo "FAIL: $target (exit $rc)"
        grep -v '^#' "$tmp/$target.log" | tail -n 60
        failures=$((failures + 1))
    else
        echo "ok $target: ${runs:-?} runs, ${speed:-?} exec/s, no crash"
    fi
done

if [ "$failures" -ne 0 ]; then
    echo "$failures fuzz target(s) failed"
    exit 1
fi
echo "fuzz smoke passed in $((SECONDS - start)) s"
