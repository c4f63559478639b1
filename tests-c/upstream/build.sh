#!/bin/bash
# Builds upstream composefs 1.0.8 (library, tools incl. composefs-fuse, and
# its C test program) out of tree and prints the build directory.
#
# The build lives outside the repository, in $LCFS_UPSTREAM_BUILD (default
# ${LCFS_UPSTREAM_CACHE:-/var/tmp/cfs-upstream}/build). It is cached: when
# every artefact the harness needs is present and was configured from the
# same source tree, nothing is run. Set LCFS_UPSTREAM_REBUILD=1 to force a
# fresh configure and build.
#
# Users of the output:
#   <build>/libcomposefs/libcomposefs.so.1  the C library, our oracle
#   <build>/tools/{mkcomposefs,composefs-info,composefs-dump,composefs-fuse,mount.composefs}
#   <build>/tests/test-lcfs
# All build logs go to stderr; stdout carries only the build directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${LCFS_UPSTREAM_CACHE:-/var/tmp/cfs-upstream}
BUILD=${LCFS_UPSTREAM_BUILD:-$CACHE/build}
# Options that make the build deterministic in what it contains: fuse is
# required (check-random-fuse needs composefs-fuse), man pages are not.
MESON_OPTS=(-Dfuse=enabled -Dman=disabled --buildtype=debugoptimized)

ARTEFACTS=(
    libcomposefs/libcomposefs.so.1
    tools/mkcomposefs
    tools/composefs-info
    tools/composefs-dump
    tools/composefs-fuse
    tools/mount.composefs
    tests/test-lcfs
)

die() { echo "build.sh: $*" >&2; exit 1; }

for tool in meson ninja pkg-config; do
    command -v "$tool" >/dev/null || die "'$tool' not found (apt-get install meson ninja-build pkg-config)"
done
for pc in libcrypto fuse3; do
    pkg-config --exists "$pc" || die "pkg-config cannot find '$pc' (apt-get install libssl-dev libfuse3-dev)"
done

SRC=$("$here/fetch.sh")
[ -f "$SRC/meson.build" ] || die "fetch.sh gave '$SRC', which holds no meson.build"

# What the build was configured from; a change forces a fresh configure.
stamp_want="src=$SRC opts=${MESON_OPTS[*]}"

complete() {
    [ -f "$BUILD/.harness-stamp" ] && [ "$(cat "$BUILD/.harness-stamp")" = "$stamp_want" ] || return 1
    local a
    for a in "${ARTEFACTS[@]}"; do
        [ -e "$BUILD/$a" ] || return 1
    done
}

mkdir -p "$(dirname "$BUILD")"
# Several scripts may ask for the build at once; only one builds.
exec 9>"$BUILD.lock"
flock 9

if [ "${LCFS_UPSTREAM_REBUILD:-0}" = 1 ] || ! complete; then
    echo "build.sh: building upstream composefs from $SRC into $BUILD" >&2
    if [ "${LCFS_UPSTREAM_REBUILD:-0}" = 1 ] || [ ! -f "$BUILD/.harness-stamp" ] ||
        [ "$(cat "$BUILD/.harness-stamp")" != "$stamp_want" ]; then
        rm -rf "$BUILD"
    fi
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "${MESON_OPTS[@]}" "$BUILD" "$SRC" >&2
    fi
    # No -j: ninja's default is fine on this shared machine.
    meson compile -C "$BUILD" >&2
    echo "$stamp_want" > "$BUILD/.harness-stamp"
    complete || die "build finished but an expected artefact is missing in $BUILD"
fi

echo "$BUILD"
