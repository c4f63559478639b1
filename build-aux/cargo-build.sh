#!/bin/sh
# meson's build step: runs cargo once for the library and the tools, then
# copies what meson installs into the meson build directory.
#
#   build-aux/cargo-build.sh SRCDIR OUTDIR TARGET_DIR PROFILE VERSION REGISTRY
#
# PROFILE is release or debug (cargo's dev profile); VERSION is the crate's
# (the shared library's file name carries it). REGISTRY, when not
# empty, is a directory of unpacked crates (Debian's /usr/share/cargo/registry
# or `cargo vendor` output): cargo then builds offline from it alone.
# CARGO may name the cargo program.
set -eu

[ $# = 6 ] || { echo "usage: $0 SRCDIR OUTDIR TARGET_DIR PROFILE VERSION REGISTRY" >&2; exit 2; }
src=$1 out=$2 target=$3 profile=$4 version=$5 registry=$6
CARGO=${CARGO:-cargo}

set -- --manifest-path "$src/Cargo.toml" --target-dir "$target"
[ "$profile" = release ] && set -- "$@" --release
if [ -n "$registry" ]; then
    [ -d "$registry" ] || { echo "$0: cargo_registry $registry is not a directory" >&2; exit 1; }
    # Source replacement: every crates.io dependency comes from REGISTRY.
    # It lives in a CARGO_HOME of its own, so that cargo run by tests (cbindgen
    # runs cargo metadata; see tests-c/dist-test.sh) finds it as well.
    mkdir -p "$out/cargo-home"
    cat >"$out/cargo-home/config.toml" <<EOF
[source.crates-io]
replace-with = "composefs-local"

[source.composefs-local]
directory = "$registry"

[net]
offline = true
EOF
    export CARGO_HOME=$out/cargo-home
fi

"$CARGO" build "$@"

dir=$target/$profile
cp -f "$dir/libcomposefs.so" "$out/libcomposefs.so.$version"
"$src/build-aux/static-archive.sh" "$dir/libcomposefs.a" "$src/symbols.txt" "$out/libcomposefs.a"
for tool in mkcomposefs composefs-info composefs-dump; do
    cp -f "$dir/$tool" "$out/$tool"
done
# The installed name of the mount helper; cargo cannot build it under it.
cp -f "$dir/mount-composefs" "$out/mount.composefs"
