#!/bin/sh
# Turns the archive rustc makes for crate-type staticlib into the installed
# libcomposefs.a:
#
#   build-aux/static-archive.sh RUST_ARCHIVE SYMBOLS_TXT OUTPUT
#
# rustc's archive holds every object of std, core, compiler_builtins and
# our crates, with thousands of global names: std's Rust symbols (which
# clash with a second Rust static library in the same program), and
# compiler_builtins' libgcc and libm names (__divti3, sqrt, fmod, ...),
# which a static link can pick over the program's own. So the objects are
# linked into one relocatable object (kept from the 62 API functions, the
# rest garbage-collected), every defined symbol but those in SYMBOLS_TXT
# is made local, and the archive holds that one object. Undefined
# references (libc, the unwinder) stay global: composefs.pc's Libs.private
# names the libraries that satisfy them.
#
# LD, OBJCOPY and AR may name other tools (cross builds).
set -eu

[ $# = 3 ] || { echo "usage: $0 RUST_ARCHIVE SYMBOLS_TXT OUTPUT" >&2; exit 2; }
in=$1 symbols=$2 out=$3
LD=${LD:-ld}
OBJCOPY=${OBJCOPY:-objcopy}
AR=${AR:-ar}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cfs-static.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

grep -v -e '^#' -e '^[[:space:]]*$' "$symbols" >"$tmp/keep"
roots=$(sed 's/^/-u /' "$tmp/keep")
# shellcheck disable=SC2086 # one -u NAME pair per API function
"$LD" -r --gc-sections $roots --whole-archive "$in" -o "$tmp/composefs.o"
"$OBJCOPY" --keep-global-symbols="$tmp/keep" "$tmp/composefs.o"
rm -f "$out.new"
# A host whose bfd-plugins directory holds an LTO plugin that cannot read
# this object (LLVMgold from an older LLVM aborts) gets no plugin.
if ! "$AR" rcs "$out.new" "$tmp/composefs.o" 2>"$tmp/ar.err"; then
    rm -f "$out.new"
    "$AR" --plugin /dev/null rcs "$out.new" "$tmp/composefs.o" ||
        { cat "$tmp/ar.err" >&2; exit 1; }
fi
mv -f "$out.new" "$out"
