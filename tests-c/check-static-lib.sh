#!/bin/bash
# Proves the installed static library works and cannot clash in a C program:
#  - libcomposefs.a (as install.sh installs it) defines exactly the 62
#    functions of symbols.txt as global symbols, all GLOBAL DEFAULT FUNC;
#    every other defined symbol is local (rustc's own archive, for contrast,
#    defines thousands of global names: std's, compiler_builtins' __divti3,
#    sqrt, fmod, ..., rust_eh_personality);
#  - the README example links fully statically with
#    `cc -static example.c $(pkg-config --static --cflags --libs composefs)`
#    and runs;
#  - a program that itself defines every global name of rustc's archive
#    (each a trap instruction) links with libcomposefs.a and runs
#    correctly, while the same program linked with rustc's archive fails
#    with duplicate definitions (so the clash test can fail).
set -euo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
CC=${CC:-cc}
RAW=${LCFS_SO_DIR:-$ROOT/target/release}/libcomposefs.a
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

[ -f "$RAW" ] || { echo "FAIL: $RAW not built (cargo build --release)"; exit 1; }
command -v readelf >/dev/null || { echo "FAIL: readelf (binutils) missing"; exit 1; }
multiarch=$("$CC" -print-multiarch 2>/dev/null || true)
libsub=lib/${multiarch:-64}
[ -n "$multiarch" ] || libsub=lib64
"$ROOT/install.sh" --no-build --prefix /usr --libdir "$libsub" --destdir "$T/i" >"$T/log" 2>&1 ||
    { cat "$T/log"; echo "FAIL: install.sh"; exit 1; }
A=$T/i/usr/$libsub/libcomposefs.a
[ -f "$A" ] || { echo "FAIL: install.sh installed no libcomposefs.a"; exit 1; }

# defined_globals ARCHIVE: "BIND VIS TYPE NAME" of every non-local defined
# symbol of every member. readelf, not nm: a host's bfd LTO plugin may
# choke on rustc's objects.
defined_globals() {
    readelf -sW "$1" | awk '$1 ~ /^[0-9]+:$/ && $5 != "LOCAL" && $7 != "UND" && NF >= 8 {
        print $5, $6, $4, $8 }'
}

# 1. Only the API is global.
defined_globals "$A" | sort -k4 >"$T/ours"
grep -v -e '^#' -e '^[[:space:]]*$' "$ROOT/symbols.txt" | sort >"$T/want"
awk '{ print $4 }' "$T/ours" >"$T/names"
if diff -u "$T/want" "$T/names"; then
    ok "libcomposefs.a defines exactly the $(wc -l <"$T/want") names of symbols.txt as global symbols"
else
    bad "libcomposefs.a's global symbols differ from symbols.txt (- missing, + extra)"
fi
odd=$(awk '$1 != "GLOBAL" || $2 != "DEFAULT" || $3 != "FUNC"' "$T/ours")
[ -z "$odd" ] && ok "all are GLOBAL DEFAULT FUNC" || { bad "not plain global functions:"; echo "$odd"; }
members=$(ar t "$A" 2>/dev/null | wc -l) || members=?
[ "$members" = 1 ] && ok "one member object" || bad "$members members in libcomposefs.a, want 1"

defined_globals "$RAW" | awk '{ print $4 }' | sort -u >"$T/raw"
unprefixed=$(grep -cv -e '^lcfs_' -e '^_ZN' -e '^_R' "$T/raw" || true)
echo "for contrast, rustc's archive: $(wc -l <"$T/raw") global names, $unprefixed neither lcfs_ nor" \
    "Rust-mangled, e.g. $(grep -v -e '^lcfs_' -e '^_ZN' -e '^_R' -e '^anon\.' "$T/raw" | shuf -n 5 --random-source="$RAW" | tr '\n' ' ')"
[ "$unprefixed" -gt 0 ] || bad "rustc's archive has no unprefixed globals: the contrast below proves nothing"

# 2. Fully static link of the README example with pkg-config's flags.
export PKG_CONFIG_SYSROOT_DIR=$T/i
export PKG_CONFIG_LIBDIR=$T/i/usr/$libsub/pkgconfig
export PKG_CONFIG_PATH=$PKG_CONFIG_LIBDIR
flags=$(pkg-config --static --cflags --libs composefs)
echo "pkg-config --static --cflags --libs composefs: $flags"
[[ $flags == *-lcomposefs*-lc* ]] || bad "--static gives no Libs.private"
cp "$ROOT/tests-c/example/example.c" "$T/example.c"
expect='1 entry: hello.txt -> 6a/b1c2d3, user.origin=demo'
# shellcheck disable=SC2086 # word splitting of pkg-config output is the point
if (cd "$T" && "$CC" -static -o example example.c $flags) >"$T/log" 2>&1; then
    # glibc warns about getaddrinfo/getpwuid_r in static programs (std has them).
    grep -v -e 'statically linked applications requires' -e 'in function' "$T/log" || true
    out=$("$T/example")
    if [ "$out" = "$expect" ] && [[ $(readelf -lW "$T/example") != *INTERP* ]]; then
        ok "static example (no program interpreter) runs: $out"
    else
        bad "static example printed '$out' (want '$expect') or is dynamic"
    fi
else
    cat "$T/log"
    bad "the example does not link statically with pkg-config --static's flags"
fi

# 3. Clash test: every global name of rustc's archive, defined by the
# program too (quoted for GAS: legacy-mangled names hold '$' and '.').
grep -v '^lcfs_' "$T/raw" | awk '{ printf ".globl \"%s\"\n.type \"%s\", @function\n\"%s\":\n\tud2\n", $1, $1, $1 }' \
    >"$T/clash.s"
"$CC" -c -o "$T/clash.o" "$T/clash.s" || { echo "FAIL: assembling the clash object"; exit 1; }
"$CC" -c -I"$ROOT/include" -o "$T/example.o" "$T/example.c"
libs=$(pkg-config --static --libs-only-l composefs | sed 's/-lcomposefs//')
# shellcheck disable=SC2086
if "$CC" -o "$T/clash" "$T/example.o" "$T/clash.o" "$A" $libs >"$T/log" 2>&1 &&
    [ "$("$T/clash")" = "$expect" ]; then
    ok "a program defining all $(grep -vc '^lcfs_' "$T/raw") of them links with libcomposefs.a and runs"
else
    cat "$T/log"
    bad "libcomposefs.a clashes with a program's own symbols"
fi
# shellcheck disable=SC2086
if "$CC" -o "$T/clash-raw" "$T/example.o" "$T/clash.o" "$RAW" $libs >"$T/log" 2>&1; then
    bad "the same program links with rustc's archive: the clash test cannot fail"
elif grep -q 'multiple definition' "$T/log"; then
    ok "with rustc's archive it fails: $(grep -c 'multiple definition' "$T/log") multiple definitions"
else
    cat "$T/log"
    bad "linking with rustc's archive failed for another reason"
fi
exit "$fail"
