#!/bin/bash
# Builds upstream C libcomposefs 1.0.8 (the reference implementation we test
# against) and prints the directory holding its libcomposefs.so.1.
# The build is cached outside the repository; later runs only print the path.
# Exit 77 when the build tools are missing, so callers can skip.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${LCFS_UPSTREAM_CACHE:-/var/tmp/cfs-upstream}
OUT=$CACHE/build-c
LIBDIR=$OUT/libcomposefs

if [ -e "$LIBDIR/libcomposefs.so.1" ] && [ -f "$OUT/.built" ]; then
    echo "$LIBDIR"
    exit 0
fi

for tool in meson ninja pkg-config cc; do
    if ! command -v "$tool" >/dev/null; then
        echo "build-c-lib: $tool not installed (need meson ninja-build pkg-config libssl-dev)" >&2
        exit 77
    fi
done
if ! pkg-config --exists libcrypto; then
    echo "build-c-lib: libcrypto not found by pkg-config (need libssl-dev)" >&2
    exit 77
fi

SRC=$("$HERE/../upstream/fetch.sh")
mkdir -p "$CACHE"
# One builder at a time; others wait and then reuse the result.
exec 9>"$CACHE/build-c.lock"
flock 9
if [ ! -f "$OUT/.built" ]; then
    rm -rf "$OUT"
    # fuse and man pages are not needed for the library and may be absent.
    meson setup -Dfuse=disabled -Dman=disabled "$OUT" "$SRC" >&2
    ninja -C "$OUT" libcomposefs/libcomposefs.so.1.4.0 >&2
    touch "$OUT/.built"
fi
echo "$LIBDIR"
