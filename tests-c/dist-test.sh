#!/bin/bash
# One test of `meson test`'s default suite, the one distributions run at
# build time: offline, unprivileged, no mounts or loop devices (even as
# root), nothing downloaded. meson.build passes the build's locations:
#
#   LCFS_ROOT=SRC LCFS_BUILD_DIR=DIR LCFS_TARGET_DIR=DIR LCFS_PROFILE=release|debug \
#       tests-c/dist-test.sh rust | c tests-c/test-X.c | check check-X.sh
#
# rust   cargo test: every Rust unit test, the tools' included; tests that
#        mount skip themselves (LCFS_TEST_UNPRIVILEGED). With
#        -Dcargo_registry cargo (and the cargo metadata cbindgen runs) reads
#        the same offline configuration as the build (CARGO_HOME in the build
#        directory).
# c      compiles one C test against include/ and the built library, runs it.
# check  runs one tests-c/check-*.sh that needs nothing from outside.
# Exit 77 = skipped, with the reason as the last line.
set -euo pipefail

: "${LCFS_ROOT:?}" "${LCFS_BUILD_DIR:?}" "${LCFS_TARGET_DIR:?}" "${LCFS_PROFILE:?}"
export LCFS_TEST_UNPRIVILEGED=1
SO_DIR=$LCFS_TARGET_DIR/$LCFS_PROFILE
CC=${CC:-cc}

if [ -f "$LCFS_BUILD_DIR/cargo-home/config.toml" ]; then
    export CARGO_HOME=$LCFS_BUILD_DIR/cargo-home
fi

# Programs linked with -lcomposefs load libcomposefs.so.1, which cargo does
# not create: a private directory provides it.
libdir() {
    L=$(mktemp -d "${TMPDIR:-/tmp}/cfs-dist-test.XXXXXX")
    trap 'rm -rf "$L"' EXIT
    [ -f "$SO_DIR/libcomposefs.so" ] || { echo "$SO_DIR/libcomposefs.so was not built"; exit 1; }
    ln -s "$SO_DIR/libcomposefs.so" "$L/libcomposefs.so.1"
    ln -s "$SO_DIR/libcomposefs.so" "$L/libcomposefs.so"
}

case ${1:-} in
rust)
    # A one-off build: no incremental cache. With the release build, the dev
    # profile serves only this test build; line tables (for backtraces) are
    # enough and halve its compile time.
    export CARGO_INCREMENTAL=0
    if [ "$LCFS_PROFILE" = release ]; then
        export CARGO_PROFILE_DEV_DEBUG=line-tables-only
    fi
    exec "${CARGO:-cargo}" test --manifest-path "$LCFS_ROOT/Cargo.toml" \
        --target-dir "$LCFS_TARGET_DIR"
    ;;
c)
    libdir
    exe=$L/$(basename "$2" .c)
    "$CC" -Wall -Werror -I"$LCFS_ROOT/include" -o "$exe" "$LCFS_ROOT/$2" -L"$L" -lcomposefs -lpthread
    cd "$L"
    LD_LIBRARY_PATH=$L timeout 600 "$exe"
    ;;
check)
    if [ "$2" = check-static-lib.sh ] && [ "$LCFS_PROFILE" != release ]; then
        echo "SKIP: install.sh (which this check runs) installs the release build only"
        exit 77
    fi
    libdir
    LCFS_SO_DIR=$SO_DIR CARGO_TARGET_DIR=$LCFS_TARGET_DIR LD_LIBRARY_PATH=$L \
        bash "$LCFS_ROOT/tests-c/$2"
    ;;
*)
    sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
