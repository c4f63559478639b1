#!/bin/bash
# Regenerates the committed read_image seed images from the dumps here
# (our own small trees, plus one generated with many entries), written by
# upstream's mkcomposefs over this tree's library. Needs the release build
# (target/release/libcomposefs.so.1) and the shared upstream build.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CBUILD=$("$ROOT/tests-c/upstream/build.sh")
OUT=$HERE/read_image
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

# Several directory blocks and a file tail close to the inline limit.
{
    echo "/ 4096 40755 3 0 0 0 1.0 - - -"
    echo "/many 4096 40755 2 0 0 0 1.0 - - -"
    for i in $(seq 0 149); do
        printf '/many/entry-%03d-%s 0 100644 1 %d 0 0 1.0 - - -\n' "$i" "$(head -c $((i % 40)) /dev/zero | tr '\0' x)" "$i"
    done
    printf '/tail 4000 100644 1 0 0 0 1.0 - %s -\n' "$(head -c 4000 /dev/zero | tr '\0' A)"
} | LC_ALL=C sort >"$tmp/blocks.dump"

rm -f "$OUT"/*.img
mkdir -p "$OUT"
for dump in "$HERE"/dumps/*.dump "$tmp/blocks.dump"; do
    name=$(basename "$dump" .dump)
    for v in 0 1; do
        LD_LIBRARY_PATH=$ROOT/target/release "$CBUILD/tools/mkcomposefs" \
            --min-version=$v --max-version=$v --from-file "$dump" "$OUT/$name-v$v.img"
    done
done
du -cb "$OUT"/*.img | tail -n 1
