#!/bin/bash
# Checks the Debian packages (packaging/debian/) against Debian's own
# composefs 1.0.8-3. tests-c/lib/build-debs.sh builds them (or gives its
# cached build of the same source), the way a Debian builder would: in a
# sid root holding only the Build-Depends (Debian's crates in
# /usr/share/cargo/registry, no crates.io), `dpkg-buildpackage -b` as an
# unprivileged user under fakeroot with no network. Checked here:
#  - the build succeeded and dh_auto_test ran `meson test` with no failure
#    (its counts are printed);
#  - each of libcomposefs1, libcomposefs-dev and composefs holds the same
#    paths, types and modes as Debian's 1.0.8-3 package of the same name
#    (`dpkg -c`, printed side by side);
#  - dpkg-gensymbols at its strictest level (-c4) on the built
#    libcomposefs1 finds exactly the 62 functions of the symbols file
#    (dh_makeshlibs already ran it at -c4 during the build), and the
#    version sorts above 1.0.8-3;
#  - lintian (sid's) reports no errors.
# Installing the packages over Debian's in a root running ostree is
# check-ostree-suite's part. All mounts live in a private mount namespace.
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (debootstrap, chroot, namespaces)"
    exit 77
fi
if [ "${LCFS_DEB_NS:-}" != 1 ]; then
    exec unshare --mount --propagation private env LCFS_DEB_NS=1 bash "$0" "$@"
fi

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
DEBIAN_VERSION=1.0.8-3
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

# --- The packages (built once per source tree, see tests-c/lib/build-debs.sh) --
DEBS=${LCFS_DEBS:-$(bash "$ROOT/tests-c/lib/build-debs.sh")} && [ -f "$DEBS/done" ] || die "building the packages"
R=$(cat "$DEBS/root")
echo "packages: $DEBS"
# The build root must stay as it is while lintian and dpkg-gensymbols run in it.
exec 9>"$(dirname "$R")/lock"
flock -s 9
echo "root: $(chroot "$R" dpkg-query -W -f '${Package} ${Version}, ' rustc cargo debhelper meson \
    librust-rustix-dev librust-sha2-0.10-dev librust-thiserror-dev librust-libc-dev lintian)"

# in_root CMD...: runs CMD in the build root as root, without network.
W=$R/check.$$
in_root() {
    unshare --net chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"
}
trap 'umount "$R/proc" 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/src" && tar -xf "$DEBS/source.tar" -C "$W/src" && cp -r "$W/src/packaging/debian" "$W/src/debian" &&
    cp "$DEBS"/*.deb "$DEBS"/*.changes "$DEBS"/*.buildinfo "$W/" && mount -t proc proc "$R/proc" ||
    die "preparing $W"
chmod -R a+rX "$W"

ok "dpkg-buildpackage -b as uid 4242 under fakeroot without network: $(cat "$DEBS/build.secs") s"
LOG=$DEBS/build.log
# meson's summary, as dh_auto_test printed it.
summary=$(grep -E '^ *(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout): ' "$LOG" | tr -s ' ' | paste -sd ' ')
rust=$(grep -E '^test result: ' "$LOG")
echo "meson test (dh_auto_test, uid 4242, no network): $summary; cargo test: ${rust:-no result}"
if grep -q 'dh_auto_test' "$LOG" && [[ $summary == *"Ok: "* ]] && [[ $summary == *"Fail: 0"* ]] &&
    [[ $rust == "test result: ok. "* ]]; then
    ok "dh_auto_test ran meson test"
else
    bad "dh_auto_test did not run meson test, or it failed"
fi

# --- Package contents against Debian's ---------------------------------------------
version=$(in_root sh -c "cd /${W#"$R"/}/src && dpkg-parsechangelog -S Version")
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
    theirs=$(ls "$DEBS/debian/${p}_${DEBIAN_VERSION}_"*.deb 2>/dev/null)
    [ -f "$ours" ] || { bad "$p was not built"; continue; }
    [ -f "$theirs" ] || { bad "Debian's $p $DEBIAN_VERSION was not downloaded"; continue; }
    listing "$ours" >"$W/$p.ours"
    listing "$theirs" >"$W/$p.debian"
    echo "--- $p: Debian $DEBIAN_VERSION | ours $version"
    diff -y -W 180 "$W/$p.debian" "$W/$p.ours"
    if cmp -s "$W/$p.debian" "$W/$p.ours"; then
        ok "$p: same $(wc -l <"$W/$p.ours") entries, types and modes as Debian's"
    else
        bad "$p: contents differ from Debian's"
    fi
done

# --- Symbols ---------------------------------------------------------------------------
# From the built package itself: its files unpacked beside the source's
# debian/ (control, changelog, symbols file), as dh_makeshlibs sees them.
in_root sh -c "cd /${W#"$R"/}/src && dpkg-deb -R ../libcomposefs1_${version}_*.deb debian/libcomposefs1 &&
    dpkg-gensymbols -c4 -plibcomposefs1 -Pdebian/libcomposefs1 -v$version -O../gensymbols.out" \
    >"$W/gensymbols.log" 2>&1
rc=$?
sed 's/^/    /' "$W/gensymbols.log"
n=$(grep -c '@Base' "$W/gensymbols.out" 2>/dev/null)
if [ "$rc" = 0 ] && [ "$n" = 62 ]; then
    ok "dpkg-gensymbols -c4: exactly the $n symbols of debian/libcomposefs1.symbols"
    sed 's/^/    /' "$W/gensymbols.out"
else
    bad "dpkg-gensymbols -c4: exit $rc, ${n:-no} symbols (differences above)"
fi

# --- lintian ----------------------------------------------------------------------------------
changes=$(ls "$W"/composefs_"${version}"_*.changes 2>/dev/null)
if [ -f "$changes" ]; then
    t=$SECONDS
    in_root su builder -c "lintian --fail-on error ${changes#"$R"}" >"$W/lintian.log" 2>&1
    rc=$?
    echo "lintian: $(grep -c '^E:' "$W/lintian.log") errors, $(grep -c '^W:' "$W/lintian.log") warnings ($((SECONDS - t)) s)"
    sed 's/^/    /' "$W/lintian.log"
    [ "$rc" = 0 ] && ok "lintian: no errors" || bad "lintian exit $rc"
else
    bad "no .changes file"
fi

echo "total $((SECONDS - START)) s"
exit "$fail"
