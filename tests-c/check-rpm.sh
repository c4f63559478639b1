#!/bin/bash
# Builds packaging/rpm/composefs.spec with rpmbuild (Debian's rpm package)
# the way an RPM distribution would, and checks what each package holds:
#  - Source0 is `git archive` of this tree (HEAD plus uncommitted changes
#    to tracked files), Source1 the `cargo vendor` output for Cargo.lock
#    (downloaded once, cached in $LCFS_RPM_CACHE, default
#    /var/tmp/cfs-rpm-vendor, by Cargo.lock's hash; the last build's log
#    is kept there as last-build.log);
#  - rpmbuild -bb runs without network (its own network namespace) with
#    cargo reading only the vendored crates;
#  - composefs, composefs-libs and composefs-devel hold exactly Fedora's
#    file lists for C composefs (tools and man pages; libcomposefs.so.1*;
#    headers, libcomposefs.so and composefs.pc).
# %check (meson test) is skipped unless LCFS_RPM_CHECK=1: the Debian
# package check runs the same suite.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (a network namespace for the offline build)"
    exit 77
fi
ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
CACHE=${LCFS_RPM_CACHE:-/var/tmp/cfs-rpm-vendor}
SPEC=$ROOT/packaging/rpm/composefs.spec
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH=$HOME/.cargo/bin:$PATH
fi
if ! command -v rpmbuild >/dev/null && [ "${CI:-}" != true ]; then
    echo "SKIP: rpmbuild is not installed (Debian package rpm)"
    exit 77
fi
for tool in rpmbuild rpm cargo meson ninja git; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done
T=$(mktemp -d /var/tmp/cfs-rpm.XXXXXX)
trap 'rm -rf "$T"' EXIT
START=$SECONDS
fail=0
ok() { echo "ok: $*"; }
bad() {
    echo "FAIL: $*"
    fail=1
}

version=$(sed -n 's/^Version:[[:space:]]*//p' "$SPEC")
release=$(sed -n 's/^Release:[[:space:]]*\([0-9]*\).*/\1/p' "$SPEC")
name=composefs-$version
mkdir -p "$T"/{SOURCES,BUILD,RPMS,SRPMS,SPECS,BUILDROOT} "$CACHE"

# Source0: the tree as git has it, uncommitted edits to tracked files included.
rev=$(git -C "$ROOT" stash create 2>/dev/null || true)
git -C "$ROOT" archive --format=tar.gz --prefix="$name/" -o "$T/SOURCES/$name.tar.gz" "${rev:-HEAD}"

# Source1: the vendored crates, cached by Cargo.lock's content.
lock_sum=$(sha256sum "$ROOT/Cargo.lock" | cut -c1-16)
vendor=$CACHE/vendor-$lock_sum.tar.gz
if [ ! -f "$vendor" ]; then
    mkdir -p "$T/v"
    tar -xzf "$T/SOURCES/$name.tar.gz" -C "$T/v"
    (cd "$T/v/$name" && cargo vendor --locked vendor >"$T/vendor.log" 2>&1) ||
        { tail -n 20 "$T/vendor.log"; echo "FAIL: cargo vendor"; exit 1; }
    tar -czf "$vendor.new" -C "$T/v/$name" vendor
    mv "$vendor.new" "$vendor"
fi
cp "$vendor" "$T/SOURCES/$name-vendor.tar.gz"
echo "sources: $(du -h "$T/SOURCES/$name.tar.gz" | cut -f1) tree, $(du -h "$vendor" | cut -f1) vendored crates"

# --nodeps: this host's rpm database is empty (BuildRequires are Fedora names).
# Debian's rpm ships brp-compress (which gzips the man pages) as a /bin/sh
# script that needs bash's `read -d`; where /bin/sh is dash it compresses
# nothing, so it runs under bash, as on Fedora.
check=--without=check
[ "${LCFS_RPM_CHECK:-0}" = 1 ] && check=--with=check
t=$SECONDS
# A fresh HOME: cargo sees no crates.io cache or configuration of this host.
if unshare --net env HOME="$T" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" PATH="$PATH" \
    rpmbuild -bb --nodeps "$check" --define "_topdir $T" --define 'debug_package %{nil}' \
    --define "__brp_compress bash $(rpm --eval '%{_rpmconfigdir}')/brp-compress %{?_prefix}" \
    --define '_docdir_fmt %%{NAME}' "$SPEC" >"$T/build.log" 2>&1; then
    ok "rpmbuild -bb offline: $((SECONDS - t)) s"
    cp "$T/build.log" "$CACHE/last-build.log"
else
    cp "$T/build.log" "$CACHE/last-build.log"
    tail -n 40 "$T/build.log"
    echo "FAIL: rpmbuild -bb (log above)"
    exit 1
fi

# Expected lists: Fedora's split; man pages are those of man/ (compressed
# by rpm's brp-compress); build-id links are rpm's, not the spec's. The
# documentation directory is named as Fedora's rpm names it (_docdir_fmt
# above; Debian's rpm appends the version).
libdir=$(rpm --eval '%{_libdir}')
pages=()
for page in "$ROOT"/man/*.[1-8]; do
    [ -f "$page" ] && pages+=("$(basename "$page")")
done
want() {
    case $1 in
    composefs)
        printf '%s\n' /usr/bin/composefs-info /usr/bin/mkcomposefs /usr/sbin/mount.composefs \
            /usr/share/doc/composefs /usr/share/doc/composefs/README.md
        for p in "${pages[@]}"; do echo "/usr/share/man/man${p##*.}/$p.gz"; done
        ;;
    composefs-libs)
        printf '%s\n' "$libdir/libcomposefs.so.1" "$libdir/libcomposefs.so.1.4.0" ;;
    composefs-devel)
        printf '%s\n' /usr/include/libcomposefs /usr/include/libcomposefs/lcfs-erofs.h \
            /usr/include/libcomposefs/lcfs-mount.h /usr/include/libcomposefs/lcfs-writer.h \
            "$libdir/libcomposefs.so" "$libdir/pkgconfig/composefs.pc" ;;
    esac
}
arch=$(rpm --eval '%{_arch}')
for p in composefs composefs-libs composefs-devel; do
    f=$(ls "$T/RPMS/$arch/$p-$version-$release"*".$arch.rpm" 2>/dev/null || true)
    [ -f "$f" ] || { bad "$p was not built"; continue; }
    rpm -qlp "$f" 2>/dev/null | grep -v '^/usr/lib/\.build-id' | sort >"$T/$p.got" || true
    want "$p" | sort >"$T/$p.want"
    echo "--- $p ($(basename "$f")):"
    rpm -qlvp "$f" 2>/dev/null | grep -v '/usr/lib/\.build-id' | sed 's/^/    /' || true
    if diff -u "$T/$p.want" "$T/$p.got"; then
        ok "$p: exactly Fedora's file list ($(wc -l <"$T/$p.got") entries)"
    else
        bad "$p: file list differs (- expected, + packaged)"
    fi
done
echo "total $((SECONDS - START)) s"
exit "$fail"
