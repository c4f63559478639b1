#!/bin/bash
# Builds the cargo-fuzz targets in fuzz/ (read_image, write_roundtrip,
# parse_dump: every target `cargo fuzz list` names) and runs each briefly on its
# committed seeds (fuzz/seeds/<target>), failing on any crash, panic or
# timeout. LCFS_FUZZ_SECONDS sets the time per target (default 45); the
# targets run side by side, one per core.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`, which
# tests-c/prereqs.sh does) and a C++ compiler (libfuzzer-sys builds
# libFuzzer). Without them this check is skipped, except under CI=true,
# where it fails.
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
        echo "FAIL: $1 (CI must have it: see tests-c/prereqs.sh)"
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

# fuzz_one TARGET: runs one target for $SECS seconds; its log and exit
# status go to $tmp/TARGET.log and $tmp/TARGET.rc.
fuzz_one() {
    local target=$1
    mkdir -p "$tmp/$target"
    cargo fuzz run -s none "$target" "$tmp/$target" "seeds/$target" -- \
        -max_total_time="$SECS" -timeout=20 -print_final_stats=1 \
        >"$tmp/$target.log" 2>&1
    echo $? >"$tmp/$target.rc"
}

# Each libFuzzer run is single-threaded: run as many at once as there are
# cores, so the smoke costs its seconds once per core, not once per target.
targets=$(cargo fuzz list) || { echo "FAIL: cargo fuzz list"; exit 1; }
jobs=$(nproc)
failures=0
running=0
for target in $targets; do
    if [ -z "$(ls -A "seeds/$target" 2>/dev/null)" ]; then
        echo "FAIL: $target has no seeds in fuzz/seeds/$target"
        failures=$((failures + 1))
        continue
    fi
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    fuzz_one "$target" &
    running=$((running + 1))
done
wait

for target in $targets; do
    [ -e "$tmp/$target.log" ] || continue
    rc=$(cat "$tmp/$target.rc" 2>/dev/null) || rc=missing
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$target.log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$tmp/$target.log" | tail -n 1)
    if [ "$rc" != 0 ]; then
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
