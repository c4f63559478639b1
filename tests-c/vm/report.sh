#!/bin/bash
# Prints one kernel's table for tests-c/check-kernels.sh and judges it:
#
#   report.sh SUITE RESULTS_DIR BOOT_LOG
#
# RESULTS_DIR holds results/ as the guest wrote it: c/ and ours/ with one
# transcript per scenario, guest.log, kver, rust-mount-tests. A scenario is
# "yes" when both transcripts are equal, "known" when they differ only in
# lines a row of known-differences allows, and "NO" otherwise. Exit 1 when
# a scenario differs, an expectation on ours (file expect) fails, the set-up
# failed, something was left behind, or the Rust tests failed.
set -uo pipefail

SUITE=$1 DIR=$2 LOG=$3
VM=$(cd "$(dirname "$0")" && pwd)
RES=$DIR/results
bad=0
problem() { echo "  FAIL: $*"; bad=$((bad + 1)); }

echo "== $SUITE: $(cat "$RES/kver" 2>/dev/null || echo "kernel unknown")"
sed 's/^/  /' "$LOG"
if [ ! -f "$RES/done" ]; then
    echo "  FAIL: no results"
    exit 1
fi
grep -q 'SETUP FAILED' "$RES/guest.log" && problem "set-up: $(grep 'SETUP FAILED' "$RES/guest.log" | tr '\n' ' ')"
grep -q '^guest.sh exit 0$' "$RES/guest.log" || problem "guest.sh: $(tail -n 1 "$RES/guest.log")"

# rows FILE: the rows of FILE for this suite ("*" or a list with SUITE),
# without comments: scenario <TAB> suites <TAB> regex [<TAB> reason].
rows() {
    awk -F'\t' -v s="$SUITE" '!/^#/ && NF >= 3 && ($2 == "*" || (" " $2 " ") ~ (" " s " "))' "$1"
}
known_re() {
    rows "$VM/known-differences" | awk -F'\t' -v n="$1" '$1 == n {print $3}' | paste -sd'|'
}

only=$(awk -F'\t' -v s="$SUITE" '!/^#/ && $1 == s' "$VM/only")
summary() { head -n 1 "$1" | cut -c 1-38; }
printf '  %-30s | %-38s | %-38s | %s\n' scenario C ours same?
n=0
for c in "$RES"/c/*; do
    name=$(basename "$c")
    name=${name#[0-9][0-9]-}
    o=$RES/ours/$(basename "$c")
    n=$((n + 1))
    if cmp -s "$c" "$o"; then
        same=yes
    else
        re=$(known_re "$name")
        if [ -n "$re" ] && cmp -s <(grep -Ev "$re" "$c") <(grep -Ev "$re" "$o"); then
            same=known
        else
            same=NO
        fi
    fi
    printf '  %-30s | %-38s | %-38s | %s\n' "$name" "$(summary "$c")" "$(summary "$o")" "$same"
    if [ "$same" = NO ]; then
        problem "$name: ours and C differ:"
        diff -u "$c" "$o" | tail -n +3 | sed 's/^/      /'
    elif [ "$same" = known ]; then
        diff -u "$c" "$o" | tail -n +3 | grep '^[-+]' | sed 's/^/      /'
    fi
    grep -q '^left behind' "$o" && problem "$name: ours $(grep '^left behind' "$o")"
done
[ "$n" -gt 0 ] || problem "no scenarios ran"

while IFS=$'\t' read -r name _ re reason; do
    f=$(head -n 1 <<<"$(ls "$RES"/ours/[0-9][0-9]-"$name" 2>/dev/null)")
    if [ -z "$f" ] && [ -n "$only" ]; then
        continue
    elif [ -z "$f" ]; then
        problem "expectation for missing scenario $name"
    elif ! grep -Eq -- "$re" "$f"; then
        problem "$name: ours does not show /$re/ ($reason)"
    fi
done < <(rows "$VM/expect")

if [ -n "$only" ]; then
    echo "  $SUITE: $n scenarios (only those in tests-c/vm/only), $bad problems"
    [ "$bad" = 0 ]
    exit
fi
while IFS= read -r line; do
    t=${line%%:*}
    printf '  %-30s | %-38s | %-38s | %s\n' "$t (tests-c)" "-" "$(cut -d: -f2- <<<"$line" | cut -c 2-39)" "-"
    grep -q "^$t: exit 0:" <<<"$line" || problem "$t: $line"
done < <(grep -v '^ ' "$RES/c-tests" 2>/dev/null)
[ -s "$RES/c-tests" ] || problem "our C tests did not run"
grep -m 40 '^ ' "$RES/c-tests"

rust=$(grep '^test result:' "$RES/rust-mount-tests" 2>/dev/null)
printf '  %-30s | %-38s | %-38s | %s\n' "rust mount:: tests" "-" "${rust:-did not run}" "-"
grep -q '^exit 0$' "$RES/rust-mount-tests" 2>/dev/null || {
    problem "Rust mount:: tests:"
    grep -m 20 -E 'FAILED|panicked|failures:' "$RES/rust-mount-tests" | sed 's/^/      /'
}
echo "  $SUITE: $n scenarios, $bad problems"
[ "$bad" = 0 ]
