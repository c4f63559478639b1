#!/bin/bash
# Every man page in man/ must render without a single warning from groff
# (man --warnings) or, where installed, mandoc -Tlint.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
NAME=check-man

if ! command -v man >/dev/null; then
    echo "$NAME: FAIL: man not found (package man-db)"
    exit 1
fi
shopt -s nullglob
pages=("$ROOT"/man/*.[1-8])
if [ ${#pages[@]} = 0 ]; then
    echo "$NAME: FAIL: no man pages in $ROOT/man"
    exit 1
fi
failures=0
for p in "${pages[@]}"; do
    out=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
    rc=$?
    if [ $rc != 0 ] || [ -n "$out" ]; then
        echo "FAIL: $(basename "$p"): man exit $rc: $out"
        failures=$((failures + 1))
    fi
    if command -v mandoc >/dev/null; then
        out=$(mandoc -Tlint -W warning "$p" 2>&1)
        if [ -n "$out" ]; then
            echo "FAIL: $(basename "$p"): mandoc: $out"
            failures=$((failures + 1))
        fi
    fi
done
if [ $failures != 0 ]; then
    echo "$NAME: FAIL: $failures problems in ${#pages[@]} pages"
    exit 1
fi
echo "$NAME: PASS: ${#pages[@]} pages render without warnings"
