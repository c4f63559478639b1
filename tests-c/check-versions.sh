#!/bin/bash
# Version numbers each live in one place, and this check fails on drift:
#  - the library file version (libcomposefs.so.X.Y.Z) is the crate version in
#    Cargo.toml and must equal C libcomposefs 1.0.8's library version;
#  - the pkg-config version is the Version line of composefs.pc.in and must
#    equal the C release we replace;
#  - the SONAME set by build.rs must carry the crate's major version;
#  - the install paths (meson.build, install.sh) hold no version literals.
set -euo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
UP=$("$ROOT/tests-c/upstream/fetch.sh")
fail=0

crate=$(cargo pkgid --manifest-path "$ROOT/Cargo.toml")
crate=${crate##*[#@]}
pc=$(sed -n 's/^Version:[[:space:]]*//p' "$ROOT/composefs.pc.in")
# Upstream's meson.build spells out its release and library versions.
up_release=$(sed -n "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([0-9.]*\)'.*/\1/p" "$UP/meson.build")
up_release=${up_release%%$'\n'*} # the first one: the project's
up_lib=$(for part in major minor micro; do
    sed -n "s/^libcomposefs_version_$part = \([0-9]*\)$/\1/p" "$UP/meson.build"
done | paste -sd.)

check() {
    if [ "$2" = "$3" ]; then
        echo "ok: $1: $2"
    else
        echo "FAIL: $1: ours '$2', expected '$3'"
        fail=1
    fi
}
check "library version (Cargo.toml) vs C libcomposefs" "$crate" "$up_lib"
check "pkg-config version (composefs.pc.in) vs C release" "$pc" "$up_release"
soname=$(sed -n 's/.*-soname,\(libcomposefs\.so\.[0-9]*\).*/\1/p' "$ROOT/build.rs")
check "SONAME (build.rs)" "$soname" "libcomposefs.so.${crate%%.*}"

for f in meson.build install.sh; do
    if grep -nF -e "$crate" -e "$pc" "$ROOT/$f"; then
        echo "FAIL: $f repeats a version number; derive it instead"
        fail=1
    fi
done
[ "$fail" = 0 ] && echo "ok: meson.build and install.sh derive the versions"
exit "$fail"
