#!/bin/bash
# Builds this tree's Debian packages (packaging/debian/) once per source
# tree, for the checks that use them (check-debian-packages: contents,
# symbols, lintian; check-ostree-suite: installed over Debian's in a sid
# root running ostree). Each check calls it and so stays self-contained;
# the build happens once per run, the second caller gets the cached result.
#
#   tests-c/lib/build-debs.sh      # as root; prints the output directory
#
# The build is the one a Debian builder does: in a sid root holding only
# the Build-Depends (Debian's crates in /usr/share/cargo/registry) plus
# lintian, `dpkg-buildpackage -b` runs as an unprivileged user under
# fakeroot in a network namespace with only loopback, so cargo can only
# read Debian's registry; dh_auto_test runs `meson test`.
#
# Output directory ($LCFS_DEBS_CACHE, default /var/tmp/cfs-debs, then KEY/):
#   *.deb *.changes *.buildinfo  our packages (with -dbgsym ones)
#   composefs-dump               the same build's composefs-dump, which no
#                                package ships (upstream's tool scripts use it)
#   debian/*.deb                 Debian's composefs, libcomposefs1 and
#                                libcomposefs-dev $DEBIAN_VERSION (the
#                                packages ours replace), from the archive
#   source.tar                   the source that was built
#   build.log                    dpkg-buildpackage's output; build.secs
#   root                         the build root's path (for lintian and
#                                dpkg-gensymbols, which must be sid's)
# KEY is the SHA-256 of source.tar (every tracked or new, not ignored, file
# of the working tree, in git's order, owned by root and dated as the newest
# debian/changelog entry) and of how the build root was made: any edit
# rebuilds, nothing stale is reused, and clones of one commit share a build.
# LCFS_DEB_BUILD_OPTIONS is passed to the build as DEB_BUILD_OPTIONS.
# LCFS_DEBS=DIR makes the checks use DIR (an earlier output directory)
# instead of calling this script: for working on the checks themselves.
# A failed build leaves no output directory (its log is kept in
# $CACHE/failed.log) and exits 1.
#
# The build root is cached in $LCFS_SID_BUILD_CACHE (default
# /var/tmp/cfs-sid-build; LCFS_SID_BUILD_REFRESH=1 rebuilds it); building it
# takes debootstrap (~30 s) and apt (~70 s) with the network. One build at a
# time: the root's lock is held throughout.
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "build-debs: needs root (debootstrap, chroot, namespaces)" >&2
    exit 1
fi
if [ "${LCFS_BUILD_DEBS_NS:-}" != 1 ]; then
    exec unshare --mount --propagation private env LCFS_BUILD_DEBS_NS=1 bash "$0" "$@"
fi

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CACHE=${LCFS_SID_BUILD_CACHE:-/var/tmp/cfs-sid-build}
OUT_CACHE=${LCFS_DEBS_CACHE:-/var/tmp/cfs-debs}
DEBIAN_VERSION=1.0.8-3
# Build-Depends of packaging/debian/control, plus lintian.
PKGS="build-essential debhelper meson ninja-build rustc cargo pkgconf fakeroot lintian fsverity
 librust-libc-dev librust-rustix-dev librust-sha2-0.10-dev librust-thiserror-dev
 librust-cbindgen-dev librust-pkg-config-dev"
STAMP="debootstrap --variant=minbase sid; apt-get install $(echo $PKGS); user builder; debs $DEBIAN_VERSION"
fail() {
    echo "build-debs: FAIL: $*" >&2
    exit 1
}
say() { echo "build-debs: $*" >&2; }

# no_mounts_under, apt_in_root:
# shellcheck source=debian-root.sh
. "$ROOT/tests-c/lib/debian-root.sh"

# --- The build root (cached; the lock is held until exit) ---------------------
mkdir -p "$CACHE" "$OUT_CACHE"
exec 9>"$CACHE/lock"
flock 9
R=$CACHE/root
if [ "${LCFS_SID_BUILD_REFRESH:-0}" = 1 ] || [ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$STAMP" ]; then
    command -v debootstrap >/dev/null || fail "debootstrap is not installed"
    no_mounts_under "$CACHE" || fail "something is mounted under $CACHE"
    rm -rf "$CACHE/stamp" "$CACHE/root.new" "$R"
    say "building the Debian unstable build root"
    t=$SECONDS
    debootstrap --variant=minbase sid "$CACHE/root.new" "${LCFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
        >"$CACHE/root.log" 2>&1 ||
        { tail -n 20 "$CACHE/root.log" >&2; fail "debootstrap failed (log: $CACHE/root.log)"; }
    cp /etc/resolv.conf "$CACHE/root.new/etc/resolv.conf"
    # shellcheck disable=SC2086 # the package list
    { apt_in_root "$CACHE/root.new" $PKGS &&
        chroot "$CACHE/root.new" useradd --create-home --uid 4242 builder &&
        mkdir -p "$CACHE/root.new/var/cache/debian-debs" &&
        chroot "$CACHE/root.new" sh -c "cd /var/cache/debian-debs &&
            apt-get -o Acquire::Check-Valid-Until=false download composefs=$DEBIAN_VERSION \
                libcomposefs1=$DEBIAN_VERSION libcomposefs-dev=$DEBIAN_VERSION"; } \
        >>"$CACHE/root.log" 2>&1 ||
        { tail -n 20 "$CACHE/root.log" >&2; fail "installing the build root's packages (log: $CACHE/root.log)"; }
    mv "$CACHE/root.new" "$R"
    echo "$STAMP" >"$CACHE/stamp"
    say "build root ready in $((SECONDS - t)) s"
fi

# --- The source, as a distribution gets it; the cache key ---------------------
SRC_TAR=$CACHE/source.tar
# Every file gets the date of the newest changelog entry, as in a release
# tarball (a checkout's times are those of the clone; 1970 would be an
# "ancient file" to lintian).
read -r date < <(sed -n 's/^ -- .*>  //p' "$ROOT/packaging/debian/changelog")
mtime=$(date -d "$date" +%s) || fail "no date in packaging/debian/changelog"
# Tracked and new (not ignored) files of the working tree that exist.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - --mtime=@"$mtime" --owner=0 --group=0 --numeric-owner -cf -) >"$SRC_TAR" ||
    fail "packing the source tree"
KEY=$( (sha256sum <"$SRC_TAR" && echo "$STAMP" && echo "${LCFS_DEB_BUILD_OPTIONS:-}") | sha256sum | cut -c1-16)
OUT=$OUT_CACHE/$KEY
if [ -f "$OUT/done" ]; then
    say "cached: $OUT (built in $(cat "$OUT/build.secs") s)"
    echo "$OUT"
    exit 0
fi

# --- Build: unprivileged, fakeroot, no network --------------------------------
W=$R/build
no_mounts_under "$R" || fail "something is mounted under $R"
rm -rf "$W" "$OUT"
mkdir -p "$W/src"
trap 'umount "$R/dev" "$R/proc" 2>/dev/null; rm -rf "$W"' EXIT
tar -xf "$SRC_TAR" -C "$W/src" || fail "unpacking the source"
cp -r "$W/src/packaging/debian" "$W/src/debian"
chown -R 4242:4242 "$W"
mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev" || fail "mounting /proc, /dev"
say "dpkg-buildpackage -b (offline, uid 4242, fakeroot) of source $KEY"
t=$SECONDS
unshare --net chroot --userspec=4242:4242 "$R" env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 \
    HOME=/home/builder DEB_BUILD_OPTIONS="${LCFS_DEB_BUILD_OPTIONS:-}" \
    sh -c 'cd /build/src || exit 1
        # Only the loopback interface may exist.
        if [ -n "$(awk "NR > 2 && \$1 != \"lo:\"" /proc/net/dev)" ]; then echo "network visible"; exit 1; fi
        dpkg-buildpackage -b -us -uc -rfakeroot' >"$W/build.log" 2>&1
rc=$?
secs=$((SECONDS - t))
if [ "$rc" != 0 ]; then
    cp "$W/build.log" "$CACHE/failed.log"
    grep -E -A12 '^---- |^failures:|^Summary of Failures' "$W/build.log" | tail -n 80 >&2
    tail -n 30 "$W/build.log" >&2
    fail "dpkg-buildpackage -b failed (exit $rc, $secs s; log: $CACHE/failed.log)"
fi

# --- The output directory -----------------------------------------------------
mkdir -p "$OUT.new/debian" || fail "creating $OUT.new"
dump=$(ls "$W"/src/obj-*/composefs-dump 2>/dev/null)
cp "$W"/*.deb "$W"/*.changes "$W"/*.buildinfo "$W/build.log" "$SRC_TAR" "$dump" "$OUT.new/" &&
    cp "$R"/var/cache/debian-debs/*.deb "$OUT.new/debian/" || fail "copying the packages"
echo "$secs" >"$OUT.new/build.secs"
echo "$R" >"$OUT.new/root"
touch "$OUT.new/done"
rm -rf "$OUT" && mv "$OUT.new" "$OUT" || fail "moving $OUT.new into place"
# Older trees' packages: keep the newest few.
for old in $(ls -dt "$OUT_CACHE"/*/ | tail -n +5); do
    rm -rf "$old"
done
say "built in $secs s: $OUT"
echo "$OUT"
