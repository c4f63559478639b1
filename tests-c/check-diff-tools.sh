#!/bin/bash
# Differential test of the tools: C 1.0.8's mkcomposefs, composefs-info,
# composefs-dump and mount.composefs against ours (target/release), on the
# same inputs: exit status, stdout bytes, stderr bytes, output image and
# digest store must be identical, except for the intended differences
# listed (with reasons) in tests-c/diff/difftools.py. Groups: random
# dumpfiles, every composefs-info subcommand and composefs-dump on the
# images, random trees with option combinations, option spellings, bad
# input (see the header of difftools.py).
#
#   check-diff-tools.sh [--soak N] [--only GROUPS] [--case TEXT] [-v]
#                       [--ours DIR] [--self-test]
#   default       the CI set: a few hundred cases
#   --soak N      N times as many random dumpfiles, trees and corruptions
#                 (run it under nice; LCFS_TOOLS_SOAK=N does the same)
#   --ours DIR    take "our" tools from DIR
#   --self-test   C's tools on both sides: everything must be identical
# Prints "tools differential: N cases, N identical, N intended
# differences, N mismatches"; exits 1 on any mismatch.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
fail() { echo "check-diff-tools: FAIL: $*"; exit 1; }

CBUILD=$("$ROOT/tests-c/upstream/build.sh") || fail "building the C oracle failed"
SRC=$("$ROOT/tests-c/upstream/fetch.sh") || fail "no upstream source"
command -v python3 >/dev/null || fail "python3 is needed"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (runs cases as user nobody, makes device nodes)"; exit 77; }

ours=$SO_DIR ours_lib= scale=${LCFS_TOOLS_SOAK:-1} first=1
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --soak) scale=$2; shift ;;
    --ours) ours=$2; shift ;;
    --self-test) ours=$CBUILD/tools ours_lib=$CBUILD/libcomposefs ;;
    --first) first=$2; shift ;;
    --only | --case) extra+=("$1" "$2"); shift ;;
    -v) extra+=(-v) ;;
    *) echo "usage: $0 [--soak N] [--only GROUPS] [--case TEXT] [-v] [--ours DIR] [--self-test]"; exit 2 ;;
    esac
    shift
done
[ "$scale" -gt 1 ] && [ "$first" = 1 ] && first=1000000
for t in mkcomposefs composefs-info composefs-dump mount.composefs; do
    [ -x "$ours/$t" ] || fail "$ours/$t is missing (cargo build --release)"
done

WORK=$(mktemp -d /var/tmp/cfs-diff-tools.XXXXXX)
cleanup() {
    awk -v t="$WORK" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m"; done
    chmod -R u+rwx "$WORK" 2>/dev/null
    rm -rf -- "$WORK"
}
trap cleanup EXIT
chmod 755 "$WORK"

echo "C tools: $CBUILD/tools; ours: $ours; scale $scale, first seed $first"
python3 "$ROOT/tests-c/diff/difftools.py" --c "$CBUILD/tools" --clib "$CBUILD/libcomposefs" \
    --ours "$ours" ${ours_lib:+--ours-lib "$ours_lib"} --src "$SRC" --work "$WORK/w" \
    --scale "$scale" --first "$first" "${extra[@]}"
