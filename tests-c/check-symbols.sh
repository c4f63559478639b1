#!/bin/bash
# Proves the shared library's dynamic interface matches C libcomposefs 1.0.8:
# SONAME libcomposefs.so.1; exactly the functions listed in symbols.txt are
# exported, each as a global default-visibility FUNC in .text with no symbol
# version (as C's library has none); no other global or weak symbol is
# defined (a leaked Rust or libc symbol could interpose on an application's).
set -euo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO=${LCFS_SO_DIR:-$ROOT/target/release}/libcomposefs.so
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0

[ -f "$SO" ] || { echo "FAIL: $SO not built"; exit 1; }

soname=$(objdump -p "$SO" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" = libcomposefs.so.1 ]; then
    echo "ok: SONAME $soname"
else
    echo "FAIL: SONAME is '$soname', want libcomposefs.so.1"
    fail=1
fi

grep -v -e '^#' -e '^[[:space:]]*$' "$ROOT/symbols.txt" | sort >"$T/want"
want_n=$(wc -l <"$T/want")
if [ "$want_n" != 62 ]; then
    echo "FAIL: symbols.txt lists $want_n names, want 62"
    fail=1
fi

# Every defined dynamic symbol that other objects could bind to.
readelf --dyn-syms -W "$SO" |
    awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK" || $5 == "GNU_UNIQUE") { print $8, $4, $5, $6 }' |
    sort >"$T/defined"
awk '{ print $1 }' "$T/defined" >"$T/names"
if diff -u "$T/want" "$T/names" >"$T/diff"; then
    echo "ok: exactly the $want_n names of symbols.txt are defined and exported"
else
    echo "FAIL: exported names differ from symbols.txt (- missing, + extra):"
    grep -E '^[-+][^-+]' "$T/diff" || true
    fail=1
fi
bad=$(awk '$2 != "FUNC" || $3 != "GLOBAL" || $4 != "DEFAULT"' "$T/defined")
if [ -n "$bad" ]; then
    echo "FAIL: exports that are not global default-visibility functions:"
    echo "$bad"
    fail=1
else
    echo "ok: all are GLOBAL DEFAULT FUNC"
fi

# objdump -T columns: address, flags, type, section, size, version, name.
notext=$(objdump -T "$SO" | awk '$NF ~ /^lcfs_/ && ($3 != "DF" || $4 != ".text" || $6 != "Base") { print }')
if [ -n "$notext" ]; then
    echo "FAIL: lcfs_ exports not plain unversioned functions in .text:"
    echo "$notext"
    fail=1
else
    echo "ok: every lcfs_ export is an unversioned function in .text"
fi
exit "$fail"
