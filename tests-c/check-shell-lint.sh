#!/bin/bash
# Fails when a shell script here pipes into a reader that may exit before
# its writer is done (grep -q, grep -m, head, sed ...q, awk ...exit): under
# `set -o pipefail` that pipeline fails at random on SIGPIPE. The linter is
# tests-c/lint/early-exit-pipes.py; it first has to catch the planted
# examples in tests-c/lint/planted-*.txt, so a broken linter cannot pass for a clean tree.
set -euo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
LINT=$ROOT/tests-c/lint/early-exit-pipes.py
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

# Each planted bad pipeline (a line not indented and not a comment) must be
# reported; no planted good line may be.
BAD=$ROOT/tests-c/lint/planted-bad.txt GOOD=$ROOT/tests-c/lint/planted-good.txt
want=$(grep -vc '^[ #]' "$BAD")
got=$(python3 "$LINT" "$BAD" | grep -c "^$BAD:" || true)
if [ "$got" != "$want" ]; then
    echo "FAIL: the linter caught $got of $want planted pipelines:"
    python3 "$LINT" "$BAD" || true
    exit 1
fi
if ! python3 "$LINT" "$GOOD"; then
    echo "FAIL: the linter flags safe lines"
    exit 1
fi
echo "ok: the linter catches all $want planted pipelines and no safe line"

# Every shell script of the project (the tree may have no git: CI clones).
mapfile -t files < <(cd "$ROOT" && find . \( -path ./target -o -path ./fuzz/target -o -path ./.git \) -prune -o \
    -type f \( -name '*.sh' -o -path ./.ci/run \) -print | sort)
[ "${#files[@]}" -gt 10 ] || { echo "FAIL: found only ${#files[@]} shell scripts"; exit 1; }
cd "$ROOT"
if ! python3 "$LINT" "${files[@]}"; then
    echo "FAIL: see above"
    exit 1
fi
echo "ok: ${#files[@]} scripts, no early-exiting reader after a pipe"
