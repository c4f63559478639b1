#!/bin/bash
# Builds libcomposefs and the tools with cargo and installs the shared and
# static libraries, headers, composefs.pc, mkcomposefs, composefs-info,
# mount.composefs and the man pages. Needs only cargo, a C toolchain
# (binutils for the static library) and coreutils.
#
#   ./install.sh [--prefix DIR] [--libdir DIR] [--includedir DIR] [--bindir DIR]
#                [--sbindir DIR] [--mandir DIR] [--destdir DIR]
#
# --prefix      installation prefix (default /usr/local)
# --libdir      library directory: lib, lib64, lib/x86_64-linux-gnu, ...;
#               relative to the prefix unless absolute (default lib)
# --includedir  header directory, same rules (default include)
# --bindir      mkcomposefs, composefs-info (default bin)
# --sbindir     mount.composefs (default sbin)
# --mandir      man pages, in manN/ below it (default share/man)
# --destdir     staging root prepended to every path (for packaging);
#               DESTDIR in the environment works too
# --no-build    install what `cargo build --release` already produced
set -euo pipefail

usage() { sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

prefix=/usr/local libdir=lib includedir=include bindir=bin sbindir=sbin mandir=share/man
destdir=${DESTDIR:-} build=1
while [ $# -gt 0 ]; do
    opt=$1 val=
    case $opt in
    --*=*) val=${opt#*=} opt=${opt%%=*} ;;
    --prefix | --libdir | --includedir | --bindir | --sbindir | --mandir | --destdir)
        [ $# -ge 2 ] || { echo "install.sh: $opt needs a value" >&2; exit 2; }
        val=$2
        shift ;;
    esac
    case $opt in
    --prefix) prefix=$val ;;
    --libdir) libdir=$val ;;
    --includedir) includedir=$val ;;
    --bindir) bindir=$val ;;
    --sbindir) sbindir=$val ;;
    --mandir) mandir=$val ;;
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
case $bindir in /*) ;; *) bindir=$prefix/$bindir ;; esac
case $sbindir in /*) ;; *) sbindir=$prefix/$sbindir ;; esac
case $mandir in /*) ;; *) mandir=$prefix/$mandir ;; esac

ROOT=$(cd "$(dirname "$0")" && pwd)
CARGO=${CARGO:-cargo}
cd "$ROOT"

# The library's file version is the crate version (the first version line
# of Cargo.toml, in [package]; read directly, as cargo pkgid may need the
# network to resolve dependencies); SONAME uses the major.
version=$(sed -n '/^version = "/ { s/^version = "\(.*\)"$/\1/p; q; }' "$ROOT/Cargo.toml")
[ -n "$version" ] || { echo "install.sh: no version in Cargo.toml" >&2; exit 1; }
major=${version%%.*}
target_dir=${CARGO_TARGET_DIR:-$ROOT/target}

if [ "$build" = 1 ]; then
    "$CARGO" build --release --manifest-path "$ROOT/Cargo.toml"
fi
out=$target_dir/release
so=$out/libcomposefs.so
for f in "$so" "$out/libcomposefs.a" "$out/mkcomposefs" "$out/composefs-info" "$out/mount-composefs"; do
    [ -f "$f" ] || { echo "install.sh: $f missing (run without --no-build)" >&2; exit 1; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

lib=libcomposefs.so.$version
echo "installing $lib into $destdir$libdir"
install -d "$destdir$libdir" "$destdir$libdir/pkgconfig" "$destdir$includedir/libcomposefs" \
    "$destdir$bindir" "$destdir$sbindir"
install -m 0755 "$so" "$destdir$libdir/$lib"
# Only the API is global in the installed archive (see build-aux/).
"$ROOT/build-aux/static-archive.sh" "$out/libcomposefs.a" "$ROOT/symbols.txt" "$T/libcomposefs.a"
install -m 0644 "$T/libcomposefs.a" "$destdir$libdir/libcomposefs.a"
ln -sfn "$lib" "$destdir$libdir/libcomposefs.so.$major"
ln -sfn "libcomposefs.so.$major" "$destdir$libdir/libcomposefs.so"
install -m 0644 "$ROOT"/include/libcomposefs/lcfs-*.h "$destdir$includedir/libcomposefs/"
sed -e "s|@prefix@|$prefix|" -e "s|@libdir@|$libdir|" -e "s|@includedir@|$includedir|" \
    "$ROOT/composefs.pc.in" >"$destdir$libdir/pkgconfig/composefs.pc"
chmod 0644 "$destdir$libdir/pkgconfig/composefs.pc"
install -m 0755 "$out/mkcomposefs" "$out/composefs-info" "$destdir$bindir/"
# cargo builds the mount helper as mount-composefs; mount(8) runs it by this name.
install -m 0755 "$out/mount-composefs" "$destdir$sbindir/mount.composefs"
# Pages not (yet) in man/ are skipped; composefs-dump itself is not
# installed (as with C composefs), its format page is.
for page in mkcomposefs.1 composefs-info.1 mount.composefs.8 composefs-dump.5; do
    [ -f "$ROOT/man/$page" ] || continue
    install -d "$destdir$mandir/man${page##*.}"
    install -m 0644 "$ROOT/man/$page" "$destdir$mandir/man${page##*.}/$page"
done

# Refresh the loader cache for a live install into the system.
if [ -z "$destdir" ] && [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then
    ldconfig
fi
echo "installed: $libdir/$lib, $libdir/libcomposefs.a, $includedir/libcomposefs/, $libdir/pkgconfig/composefs.pc,"
echo "           $bindir/{mkcomposefs,composefs-info}, $sbindir/mount.composefs, man pages in $mandir"
