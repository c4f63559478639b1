#!/bin/bash
# Proves that a failed set-up step fails a check instead of letting it pass
# on a half-built fixture:
#  1. tests-c/lib/setup.sh itself: a failing command between setup_begin
#     and setup_end ends the script with status 1 and names the command;
#     after setup_end failures are the script's own business again;
#     need_tools skips (77) and names the missing tool.
#  2. A planted failure in a real check: check-mount-trees with a setfattr
#     that always fails (a PATH shim) must FAIL (exit 1), naming setfattr,
#     where it once printed "setfattr: command not found" and passed.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
T=$(mktemp -d -t cfs-setup-guards.XXXXXX)
trap 'rm -rf -- "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_run WANT_RC WANT_TEXT LABEL SCRIPT: runs SCRIPT (bash code that
# sources setup.sh); its status and last line must match.
expect_run() {
    local want_rc=$1 want_text=$2 label=$3 out rc
    printf '. "%s/tests-c/lib/setup.sh"\nNAME=probe\n%s\n' "$ROOT" "$4" >"$T/probe.sh"
    out=$(bash "$T/probe.sh" 2>&1)
    rc=$?
    if [ "$rc" != "$want_rc" ] || ! grep -qF -- "$want_text" <<<"${out##*$'\n'}"; then
        fail "$label: exit $rc, last line '${out##*$'\n'}' (want exit $want_rc and '$want_text')"
    else
        echo "ok: $label"
    fi
}
expect_run 1 "set-up step failed (exit 3, line 4): sh -c 'exit 3'" "a failing step ends set-up" \
    $'setup_begin\nsh -c \'exit 3\'\necho "not reached"\nsetup_end\necho passed'
expect_run 1 "set-up step failed" "a failing step inside a function" \
    $'f() { false; echo "not reached"; }\nsetup_begin\nf\nsetup_end\necho passed'
expect_run 1 "set-up step failed" "a failing step that exits 77 is a failure, not a skip" \
    $'setup_begin\nsh -c "exit 77"\nsetup_end'
expect_run 0 "passed" "set-up that works, then a tolerated failure" \
    $'setup_begin\ntrue\nif false; then :; fi\nsetup_end\nfalse\necho passed'
expect_run 77 "probe: SKIP: not installed: no-such-tool-here" "need_tools skips" \
    'need_tools sh no-such-tool-here'

# 2. The planted failure.
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root for the planted failure in check-mount-trees"
    exit 77
fi
mkdir -p "$T/shim"
printf '#!/bin/sh\necho "setfattr (planted failure): $*" >&2\nexit 1\n' >"$T/shim/setfattr"
chmod +x "$T/shim/setfattr"
start=$SECONDS
PATH=$T/shim:$PATH bash "$ROOT/tests-c/check-mount-trees.sh" >"$T/planted.log" 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q 'FAIL: set-up step failed.*: setfattr ' "$T/planted.log"; then
    echo "ok: check-mount-trees fails on a failing setfattr ($((SECONDS - start)) s): $(grep 'set-up step failed' "$T/planted.log")"
else
    fail "check-mount-trees with a failing setfattr exited $rc:"
    tail -n 20 "$T/planted.log" | sed 's/^/    /'
fi

[ "$failures" = 0 ] || exit 1
echo "set-up failures fail their checks"
