#!/bin/bash
# Writes every upstream test dumpfile with the C mkcomposefs tool twice,
# once over our libcomposefs.so.1 and once over C libcomposefs 1.0.8, and
# requires byte-identical images and digests (several version settings),
# the upstream expected sha256 where one exists, and failure for the
# should-fail assets. Prints the first differing offset on a mismatch.
#
# The C oracle (tools + library) is the shared upstream build
# (tests-c/upstream/build.sh); failing to build it fails the check.
set -u

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)

SRC=$("$ROOT/tests-c/upstream/fetch.sh") || { echo "SKIP: no upstream source (download failed, see above)"; exit 77; }
CBUILD=$("$ROOT/tests-c/upstream/build.sh") || { echo "FAIL: building the C oracle failed"; exit 1; }
MKCFS=$CBUILD/tools/mkcomposefs
CLIB=$CBUILD/libcomposefs
ASSETS=$SRC/tests/assets

tmp=$(mktemp -d -t cfs-writer.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
# Our library under the soname the tool needs.
mkdir -p "$tmp/ours"
if [ -e "$SO_DIR/libcomposefs.so.1" ]; then
    ln -s "$SO_DIR/libcomposefs.so.1" "$tmp/ours/libcomposefs.so.1"
else
    ln -s "$SO_DIR/libcomposefs.so" "$tmp/ours/libcomposefs.so.1"
fi
if ! grep -qF "$tmp/ours/libcomposefs.so.1" <<<"$(LD_LIBRARY_PATH=$tmp/ours ldd "$MKCFS")"; then
    echo "FAIL: mkcomposefs does not pick up our library"; exit 1
fi

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# first_diff A B: offset of the first differing byte (or the EOF note).
first_diff() { head -n 1 <<<"$(cmp "$1" "$2" 2>&1)"; }

run() { # run LIBDIR ARGS... : mkcomposefs with that library
    local lib=$1; shift
    LD_LIBRARY_PATH=$lib "$MKCFS" "$@"
}

compare() { # compare NAME INPUT VERSION_ARGS...
    local name=$1 input=$2; shift 2
    local o=$tmp/ours.img c=$tmp/c.img
    rm -f "$o" "$c"
    run "$tmp/ours" "$@" --from-file "$input" "$o" 2>"$tmp/ours.err"; local ro=$?
    run "$CLIB" "$@" --from-file "$input" "$c" 2>"$tmp/c.err"; local rc=$?
    if [ $ro -ne $rc ]; then
        fail "$name [$*]: exit ours=$ro C=$rc ($(cat "$tmp/ours.err" "$tmp/c.err" | tr '\n' ' '))"
        return 1
    fi
    if [ $rc -ne 0 ]; then
        echo "ok $name [$*]: both fail"
        return 0
    fi
    if ! cmp -s "$o" "$c"; then
        fail "$name [$*]: images differ: $(first_diff "$o" "$c")"
        return 1
    fi
    local dox dc
    dox=$(run "$tmp/ours" "$@" --print-digest-only --from-file "$input")
    dc=$(run "$CLIB" "$@" --print-digest-only --from-file "$input")
    if [ "$dox" != "$dc" ] || [ -z "$dc" ]; then
        fail "$name [$*]: digest ours=$dox C=$dc"
        return 1
    fi
    local dw
    dw=$(run "$tmp/ours" "$@" --print-digest --from-file "$input" "$o")
    if [ "$dw" != "$dc" ] || ! cmp -s "$o" "$c"; then
        fail "$name [$*]: --print-digest with output differs"
        return 1
    fi
    echo "ok $name [$*]: identical ($(stat -c %s "$c") bytes, digest $dc)"
}

assets=0
for f in "$ASSETS"/*.dump "$ASSETS"/*.dump.gz; do
    [ -e "$f" ] || continue
    assets=$((assets + 1))
    base=$(basename "$f")
    input=$f
    if [[ $f == *.gz ]]; then
        input=$tmp/${base%.gz}
        zcat "$f" >"$input" || { fail "$base: cannot decompress"; continue; }
    fi
    if [[ $base == should-fail-* ]]; then
        if run "$tmp/ours" --from-file "$input" "$tmp/x.img" 2>/dev/null; then
            fail "$base: should fail with our library"
        elif run "$CLIB" --from-file "$input" "$tmp/x.img" 2>/dev/null; then
            fail "$base: C unexpectedly accepts it"
        else
            echo "ok $base: fails with both"
        fi
        continue
    fi
    # Upstream checksum test: the version file pins min and max.
    if [ -f "$f.sha256" ]; then
        vargs=()
        if [ -f "$f.version" ]; then
            v=$(cat "$f.version")
            vargs=(--min-version="$v" --max-version="$v")
        fi
        # As upstream: strict dump parsing except for three assets.
        strict=(env CFS_PARSE_STRICT=1)
        case $base in no-newline.dump|longlink.dump|honggfuzz-longlink-unterminated.dump)
            strict=(env -u CFS_PARSE_STRICT) ;;
        esac
        if LD_LIBRARY_PATH=$tmp/ours "${strict[@]}" "$MKCFS" "${vargs[@]}" --from-file "$input" "$tmp/s.img"; then
            sha=$(sha256sum "$tmp/s.img" | cut -d' ' -f1)
            if [ "$sha" != "$(cat "$f.sha256")" ]; then
                fail "$base: sha256 $sha, expected $(cat "$f.sha256")"
            else
                echo "ok $base: expected sha256"
            fi
        else
            fail "$base: our write failed"
        fi
    fi
    compare "$base" "$input"
    compare "$base" "$input" --min-version=0 --max-version=0
    compare "$base" "$input" --min-version=1 --max-version=1
    compare "$base" "$input" --min-version=0 --max-version=1
    rm -f "${tmp:?}/${base%.gz}"
done

if [ "$assets" -lt 20 ]; then
    fail "only $assets assets in $ASSETS"
fi
if [ $failures -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all writer assets identical"
