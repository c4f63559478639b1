#!/bin/bash
# Builds the Debian packages (packaging/debian/) the way a Debian builder
# would, and checks them against Debian's own composefs 1.0.8-3:
#  - in a Debian unstable root holding only the Build-Depends (Debian's
#    crates in /usr/share/cargo/registry, no crates.io), `dpkg-buildpackage
#    -b` runs as an unprivileged user under fakeroot with no network (its
#    own network namespace) and builds libcomposefs1, libcomposefs-dev and
#    composefs; dh_auto_test runs `meson test` there;
#  - each package holds the same paths, types and modes as Debian's
#    1.0.8-3 package of the same name (`dpkg -c`);
#  - dpkg-gensymbols at its strictest level (-c4) finds exactly the 62
#    functions of the symbols file, and the version sorts above 1.0.8-3;
#  - lintian reports no errors.
#
# The root is cached in $LCFS_SID_BUILD_CACHE (default
# /var/tmp/cfs-sid-build; LCFS_SID_BUILD_REFRESH=1 rebuilds it); creating it
# needs debootstrap and the network (a few minutes), the build itself does
# not. All mounts live in a private mount namespace.
set -uo pipefail

# The distribution builds take about 25 minutes together, beyond CI's time
# budget until they are made leaner; they run when asked for.
if [ "${LCFS_PACKAGE_CHECKS:-0}" != 1 ]; then
    echo "SKIP: distribution package builds run only with LCFS_PACKAGE_CHECKS=1 (about 25 minutes)"
    exit 77
fi

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (debootstrap, chroot, namespaces)"
    exit 77
fi
if [ "${LCFS_DEB_NS:-}" != 1 ]; then
    exec unshare --mount --propagation private env LCFS_DEB_NS=1 bash "$0" "$@"
fi

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
CACHE=${LCFS_SID_BUILD_CACHE:-/var/tmp/cfs-sid-build}
MIRROR=${LCFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_VERSION=1.0.8-3
# Build-Depends of packaging/debian/control, plus lintian.
PKGS="build-essential debhelper meson ninja-build rustc cargo pkgconf fakeroot lintian fsverity
 librust-libc-dev librust-rustix-dev librust-sha2-0.10-dev librust-thiserror-dev
 librust-cbindgen-dev librust-pkg-config-dev"
STAMP="debootstrap --variant=minbase sid; apt-get install $(echo $PKGS); user builder; debs $DEBIAN_VERSION"
START=$SECONDS
fail=0
die() {
    echo "FAIL: $*"
    exit 1
}
ok() { echo "ok: $*"; }
bad() {
    echo "FAIL: $*"
    fail=1
}
command -v debootstrap >/dev/null || die "debootstrap is not installed"

# in_root CMD...: runs CMD in the root as root, with the network.
in_root() {
    chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

# --- The Debian unstable build root (cached, one user at a time) -------------
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock 9
R=$CACHE/root
if [ "${LCFS_SID_BUILD_REFRESH:-0}" = 1 ] || [ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$STAMP" ]; then
    if [[ $'\n'$(findmnt -rn -o TARGET) == *$'\n'"$CACHE/"* ]]; then
        die "something is mounted under $CACHE"
    fi
    rm -rf "$CACHE/stamp" "$CACHE/root.new" "$R"
    echo "building the Debian unstable build root"
    t=$SECONDS
    debootstrap --variant=minbase sid "$CACHE/root.new" "$MIRROR" >"$CACHE/root.log" 2>&1 ||
        { tail -n 20 "$CACHE/root.log"; die "debootstrap failed (log: $CACHE/root.log)"; }
    R=$CACHE/root.new
    mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev" || die "mounting /proc, /dev"
    cp /etc/resolv.conf "$R/etc/resolv.conf"
    # shellcheck disable=SC2086 # the package list
    { in_root apt-get -o Acquire::Check-Valid-Until=false update &&
        in_root apt-get install -y --no-install-recommends $PKGS &&
        in_root useradd --create-home --uid 4242 builder &&
        mkdir -p "$R/var/cache/debian-debs" &&
        (cd "$R/var/cache/debian-debs" && in_root sh -c \
            "cd /var/cache/debian-debs && apt-get download composefs=$DEBIAN_VERSION libcomposefs1=$DEBIAN_VERSION libcomposefs-dev=$DEBIAN_VERSION") &&
        in_root apt-get clean; } >>"$CACHE/root.log" 2>&1 ||
        { tail -n 20 "$CACHE/root.log"; die "installing the build root's packages (log: $CACHE/root.log)"; }
    umount "$R/dev" "$R/proc"
    R=$CACHE/root
    mv "$CACHE/root.new" "$R"
    echo "$STAMP" >"$CACHE/stamp"
    echo "build root ready in $((SECONDS - t)) s"
fi
echo "root: $(in_root dpkg-query -W -f '${Package} ${Version}, ' rustc cargo debhelper meson \
    librust-rustix-dev librust-sha2-0.10-dev librust-thiserror-dev librust-libc-dev)"

# --- The source tree, as a distribution gets it -------------------------------
W=$R/build
rm -rf "$W"
mkdir -p "$W/src"
trap 'umount -R "$R/proc" "$R/dev" 2>/dev/null; rm -rf "$W"' EXIT
mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev" || die "mounting /proc, /dev"
# Tracked and new (not ignored) files of the working tree, plus debian/.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf -) | tar -xf - -C "$W/src" || die "copying the source tree"
cp -r "$ROOT/packaging/debian" "$W/src/debian"
chown -R 4242:4242 "$W"

# --- Build: unprivileged, fakeroot, no network ----------------------------------
t=$SECONDS
unshare --net chroot --userspec=4242:4242 "$R" env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 \
    HOME=/home/builder DEB_BUILD_OPTIONS="${LCFS_DEB_BUILD_OPTIONS:-}" \
    sh -c 'cd /build/src || exit 1
        # Only the loopback interface may exist.
        if [ -n "$(awk "NR > 2 && \$1 != \"lo:\"" /proc/net/dev)" ]; then echo "network visible"; exit 1; fi
        dpkg-buildpackage -b -us -uc -rfakeroot' >"$W/build.log" 2>&1
rc=$?
build_secs=$((SECONDS - t))
cp "$W/build.log" "$CACHE/last-build.log"
if [ "$rc" != 0 ]; then
    grep -E -A12 '^---- |^failures:|^Summary of Failures' "$W/build.log" | tail -n 80
    tail -n 30 "$W/build.log"
    die "dpkg-buildpackage -b failed (exit $rc, ${build_secs} s; log: $CACHE/last-build.log)"
fi
ok "dpkg-buildpackage -b as uid 4242 under fakeroot without network: ${build_secs} s"
grep -E '^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout): ' "$W/build.log" | tr -s ' ' | paste -sd ' ' |
    sed 's/^/meson test (dh_auto_test): /'
grep -q 'dh_auto_test' "$W/build.log" || echo "note: dh_auto_test did not run (DEB_BUILD_OPTIONS=${LCFS_DEB_BUILD_OPTIONS:-})"

# --- Package contents against Debian's ---------------------------------------------
version=$(cd "$W/src" && dpkg-parsechangelog -S Version)
if dpkg --compare-versions "$version" gt "$DEBIAN_VERSION"; then
    ok "version $version sorts above $DEBIAN_VERSION"
else
    bad "version $version does not sort above $DEBIAN_VERSION"
fi
# listing DEB: "MODE PATH[ -> TARGET]" of every entry but the changelog's
# name (Debian's own changelog.Debian.gz is in both).
listing() {
    dpkg-deb -c "$1" | awk '{ l = $1 " " $6; for (i = 7; i <= NF; i++) l = l " " $i; print l }' | sort -k2
}
for p in libcomposefs1 libcomposefs-dev composefs; do
    ours=$(ls "$W/${p}_${version}_"*.deb 2>/dev/null)
    theirs=$(ls "$R/var/cache/debian-debs/${p}_${DEBIAN_VERSION}_"*.deb 2>/dev/null)
    [ -f "$ours" ] || { bad "$p was not built"; continue; }
    [ -f "$theirs" ] || { bad "Debian's $p $DEBIAN_VERSION is missing from the root"; continue; }
    listing "$ours" >"$W/$p.ours"
    listing "$theirs" >"$W/$p.debian"
    echo "--- $p: Debian $DEBIAN_VERSION | ours $version"
    diff -y -W 150 "$W/$p.debian" "$W/$p.ours"
    if cmp -s "$W/$p.debian" "$W/$p.ours"; then
        ok "$p: same $(wc -l <"$W/$p.ours") entries, types and modes as Debian's"
    else
        bad "$p: contents differ from Debian's"
    fi
done

# --- Symbols ---------------------------------------------------------------------------
so=$(head -n 1 <<<"$(ls "$W"/src/debian/libcomposefs1/usr/lib/*/libcomposefs.so.1.* 2>/dev/null)")
if [ -f "$so" ] &&
    in_root sh -c "cd /build/src && dpkg-gensymbols -c4 -plibcomposefs1 -Pdebian/libcomposefs1 \
        -v$version -O/build/gensymbols.out" >"$W/gensymbols.log" 2>&1; then
    n=$(grep -c '@Base' "$W/gensymbols.out")
    [ "$n" = 62 ] && ok "dpkg-gensymbols -c4: exactly the $n symbols of debian/libcomposefs1.symbols" ||
        bad "dpkg-gensymbols found $n symbols"
    cat "$W/gensymbols.log"
else
    cat "$W/gensymbols.log"
    bad "dpkg-gensymbols -c4 reports differences from the symbols file"
fi

# --- lintian ----------------------------------------------------------------------------------
changes=$(ls "$W"/composefs_"${version}"_*.changes 2>/dev/null)
if [ -f "$changes" ]; then
    in_root su builder -c "lintian --fail-on error ${changes#"$R"}" >"$W/lintian.log" 2>&1
    rc=$?
    echo "lintian: $(grep -c '^E:' "$W/lintian.log") errors, $(grep -c '^W:' "$W/lintian.log") warnings"
    sed 's/^/    /' "$W/lintian.log"
    [ "$rc" = 0 ] && ok "lintian: no errors" || bad "lintian exit $rc"
else
    bad "no .changes file"
fi

echo "total $((SECONDS - START)) s"
exit "$fail"
