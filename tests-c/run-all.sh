#!/bin/bash
# The project's single test command; run from anywhere:
#
#   tests-c/run-all.sh
#
# Runs, in order: tests-c/prereqs.sh (installs the missing prerequisites
# listed in tests-c/prereqs/, cargo-fuzz and the rustfmt/clippy components);
# cargo fmt --check; cargo clippy (all targets,
# warnings are errors); cargo test; cargo build --release; then every
# tests-c/test-*.c (compiled with -Wall -Werror against include/ and
# target/release, run with LD_LIBRARY_PATH) and every tests-c/check-*.sh.
# Each prints one line: PASS, FAIL or SKIP and its name. Exit status 77
# means skipped and must come with a reason on the test's last output line;
# any other non-zero status is a failure. Under CI=true a skip is a failure
# too, unless the test is in CI_MAY_SKIP below. The last line is
# "N passed, N failed, N skipped"; the exit status is non-zero if anything
# failed.
#
# Logs: target/test-logs/<name>.log. LCFS_VERBOSE=1 (default under CI=true)
# prints every log; otherwise only failing logs are shown (tail).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH=$HOME/.cargo/bin:$PATH
fi
CC=${CC:-cc}
VERBOSE=${LCFS_VERBOSE:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}
LOGS=$ROOT/target/test-logs
BIN=$ROOT/target/test-bin
rm -rf "$LOGS" "$BIN"
mkdir -p "$LOGS" "$BIN" || exit 1
export LCFS_ROOT=$ROOT
export LCFS_SO_DIR=$ROOT/target/release
# The tests must see this tree's library, never an installed one.
export LD_LIBRARY_PATH=$LCFS_SO_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# Tests allowed to skip under CI=true, each with the reason it may. CI runs
# as root on Debian 12 with the network, where every test can run; adding a
# name here needs a comment saying why.
CI_MAY_SKIP=()

passed=0 failed=0 skipped=0
failures=()

# ci_may_skip NAME: true if NAME may skip under CI=true.
ci_may_skip() {
    local n
    for n in "${CI_MAY_SKIP[@]}"; do
        [ "$n" = "$1" ] && return 0
    done
    return 1
}

# run NAME COMMAND...: runs one test, logs it and records its outcome.
run() {
    local name=$1 log start rc secs reason=
    shift
    log=$LOGS/${name//\//_}.log
    start=$SECONDS
    "$@" >"$log" 2>&1 </dev/null
    rc=$?
    secs=$((SECONDS - start))
    if [ "$rc" = 0 ]; then
        echo "PASS $name (${secs}s)"
        passed=$((passed + 1))
    elif [ "$rc" = 77 ] && reason=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1) && [ -n "$reason" ] &&
        { [ "${CI:-}" != true ] || ci_may_skip "$name"; }; then
        echo "SKIP $name: $reason"
        skipped=$((skipped + 1))
    else
        if [ "$rc" = 77 ] && [ -n "$reason" ]; then
            echo "(skipped under CI=true, where it must run: $reason)" >>"$log"
            echo "FAIL $name (skipped under CI=true: $reason)"
        else
            [ "$rc" = 77 ] && echo "(exit 77 without a reason counts as failure)" >>"$log"
            echo "FAIL $name (exit $rc, ${secs}s)"
        fi
        failed=$((failed + 1))
        failures+=("$name")
        if [ "$VERBOSE" != 1 ]; then
            tail -n 60 "$log" | sed 's/^/    /'
        fi
    fi
    if [ "$VERBOSE" = 1 ]; then
        sed 's/^/    /' "$log"
    fi
    return 0
}

run prereqs bash tests-c/prereqs.sh
run cargo-fmt cargo fmt --check
run cargo-clippy cargo clippy --all-targets -- -D warnings
run cargo-test cargo test
# Programs linked with -lcomposefs ask the loader for the SONAME,
# libcomposefs.so.1, which cargo does not create next to its output.
build_release() {
    cargo build --release || return 1
    ln -sfn libcomposefs.so "$LCFS_SO_DIR/libcomposefs.so.1"
}
run cargo-build-release build_release

# c_test SRC: compiles one C test against this tree's headers and library,
# then runs it (with a generous time limit, so a hang cannot stall CI).
c_test() {
    local src=$1 exe
    exe=$BIN/$(basename "$src" .c)
    if [ ! -f "$LCFS_SO_DIR/libcomposefs.so" ]; then
        echo "libcomposefs.so was not built"
        return 1
    fi
    echo "+ $CC -Wall -Werror -Iinclude -o $exe $src -L$LCFS_SO_DIR -lcomposefs"
    "$CC" -Wall -Werror -Iinclude -o "$exe" "$src" -L"$LCFS_SO_DIR" -lcomposefs || return 1
    timeout 600 "$exe"
}

shopt -s nullglob
for src in tests-c/test-*.c; do
    run "$(basename "$src" .c)" c_test "$src"
done
for check in tests-c/check-*.sh; do
    run "$(basename "$check" .sh)" timeout 1800 bash "$check"
done

echo "logs: $LOGS"
[ "$failed" = 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
