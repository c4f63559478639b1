#!/bin/bash
# Obtains upstream composefs 1.0.8 from Debian's source package and prints
# the path of the unpacked tree. Cached: later runs reuse the download.
# Uses temporary apt lists, so the system's apt configuration is untouched.
set -euo pipefail

VERSION=1.0.8
SHA256=2b2b11f9a25744c82e9e12b098eefd0ab42d56ae6322634c15f966b3a64926ef
CACHE=${LCFS_UPSTREAM_CACHE:-/var/tmp/cfs-upstream}
TARBALL=$CACHE/dl/composefs_$VERSION.orig.tar.gz
SRC=$CACHE/src/composefs-$VERSION

if [ ! -f "$SRC/.unpacked" ]; then
    mkdir -p "$CACHE/lists/partial" "$CACHE/dl" "$CACHE/src"
    if [ ! -f "$TARBALL" ] || ! echo "$SHA256  $TARBALL" | sha256sum -c --quiet - 2>/dev/null; then
        echo 'deb-src http://deb.debian.org/debian sid main' > "$CACHE/sources.list"
        # sid's Release file may be past its Valid-Until when this machine's
        # clock runs ahead of the mirror's last update; the signature is
        # still checked.
        apt_opts=(-o "Dir::Etc::sourcelist=$CACHE/sources.list" -o Dir::Etc::sourceparts=/dev/null
                  -o "Dir::State::Lists=$CACHE/lists" -o Acquire::Check-Valid-Until=false)
        apt-get "${apt_opts[@]}" update >&2
        (cd "$CACHE/dl" && apt-get "${apt_opts[@]}" source --download-only composefs >&2)
    fi
    echo "$SHA256  $TARBALL" | sha256sum -c --quiet - >&2
    rm -rf "$SRC"
    tar -xzf "$TARBALL" -C "$CACHE/src"
    touch "$SRC/.unpacked"
fi
echo "$SRC"
