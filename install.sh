#!/bin/bash
# Builds libcomposefs with cargo and installs the shared library, its
# headers and composefs.pc. Needs only cargo, a C toolchain and coreutils.
#
#   ./install.sh [--prefix DIR] [--libdir DIR] [--includedir DIR] [--destdir DIR]
#
# --prefix      installation prefix (default /usr/local)
# --libdir      library directory: lib, lib64, lib/x86_64-linux-gnu, ...;
#               relative to the prefix unless absolute (default lib)
# --includedir  header directory, same rules (default include)
# --destdir     staging root prepended to every path (for packaging);
#               DESTDIR in the environment works too
# --no-build    install what `cargo build --release` already produced
set -euo pipefail

usage() { sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

prefix=/usr/local libdir=lib includedir=include destdir=${DESTDIR:-} build=1
while [ $# -gt 0 ]; do
    opt=$1 val=
    case $opt in
    --*=*) val=${opt#*=} opt=${opt%%=*} ;;
    --prefix | --libdir | --includedir | --destdir)
        [ $# -ge 2 ] || { echo "install.sh: $opt needs a value" >&2; exit 2; }
        val=$2
        shift ;;
    esac
    case $opt in
    --prefix) prefix=$val ;;
    --libdir) libdir=$val ;;
    --includedir) includedir=$val ;;
    --destdir) destdir=$val ;;
    --no-build) build=0 ;;
    -h | --help) usage 0 ;;
    *) echo "install.sh: unknown option $opt" >&2; usage ;;
    esac
    shift
done

case $prefix in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 2 ;; esac
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
case $includedir in /*) ;; *) includedir=$prefix/$includedir ;; esac

ROOT=$(cd "$(dirname "$0")" && pwd)
CARGO=${CARGO:-cargo}
cd "$ROOT"

# The library's file version is the crate version (cargo pkgid prints
# ...#composefs@X.Y.Z, or ...#X.Y.Z on older cargo); SONAME uses the major.
version=$("$CARGO" pkgid --manifest-path "$ROOT/Cargo.toml")
version=${version##*[#@]}
major=${version%%.*}
target_dir=${CARGO_TARGET_DIR:-$ROOT/target}

if [ "$build" = 1 ]; then
    "$CARGO" build --release --lib --manifest-path "$ROOT/Cargo.toml"
fi
so=$target_dir/release/libcomposefs.so
[ -f "$so" ] || { echo "install.sh: $so missing (run without --no-build)" >&2; exit 1; }

lib=libcomposefs.so.$version
echo "installing $lib into $destdir$libdir"
install -d "$destdir$libdir" "$destdir$libdir/pkgconfig" "$destdir$includedir/libcomposefs"
install -m 0755 "$so" "$destdir$libdir/$lib"
ln -sfn "$lib" "$destdir$libdir/libcomposefs.so.$major"
ln -sfn "libcomposefs.so.$major" "$destdir$libdir/libcomposefs.so"
install -m 0644 "$ROOT"/include/libcomposefs/lcfs-*.h "$destdir$includedir/libcomposefs/"
sed -e "s|@prefix@|$prefix|" -e "s|@libdir@|$libdir|" -e "s|@includedir@|$includedir|" \
    "$ROOT/composefs.pc.in" >"$destdir$libdir/pkgconfig/composefs.pc"
chmod 0644 "$destdir$libdir/pkgconfig/composefs.pc"

# Refresh the loader cache for a live install into the system.
if [ -z "$destdir" ] && [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then
    ldconfig
fi
echo "installed: $libdir/$lib, $includedir/libcomposefs/, $libdir/pkgconfig/composefs.pc"
