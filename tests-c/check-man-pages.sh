#!/bin/bash
# Renders each of our man pages (man/mkcomposefs.1, man/composefs-info.1,
# man/mount.composefs.8, man/composefs-dump.5) with man-db's
# `man --warnings=w -l`, every groff warning on (groff underneath; Debian packages man-db and
# groff-base) and fails on a missing page, any warning groff or man prints,
# a page that renders to nearly nothing, or a page whose NAME line does not
# name its program. Exit 77 (skip) only if man itself is not installed.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
PAGES=(mkcomposefs.1 composefs-info.1 mount.composefs.8 composefs-dump.5)

if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
    echo "SKIP: man or groff missing (apt-get install man-db groff-base)"
    exit 77
fi

WORK=$(mktemp -d -t cfs-man.XXXXXX)
trap 'rm -rf -- "$WORK"' EXIT
# A fixed width and locale, so the result does not depend on the terminal.
export MANWIDTH=80 LC_ALL=C.UTF-8 MAN_KEEP_FORMATTING=
unset MANPAGER PAGER

bad=0
for p in "${PAGES[@]}"; do
    f=$ROOT/man/$p
    name=${p%.*}
    if [ ! -f "$f" ]; then
        echo "FAIL $p: man/$p is missing"
        bad=$((bad + 1))
        continue
    fi
    # --warnings=w turns on every groff warning (man-db's default is only "mac").
    # Warnings go to stderr.
    man --warnings=w -E UTF-8 -l "$f" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    lines=$(wc -l <"$WORK/out")
    if [ $rc != 0 ] || [ -s "$WORK/err" ]; then
        echo "FAIL $p: man exit $rc, warnings:"
        sed 's/^/    /' "$WORK/err"
        bad=$((bad + 1))
    elif [ "$lines" -lt 10 ]; then
        echo "FAIL $p: renders to only $lines lines"
        bad=$((bad + 1))
    elif ! grep -q "^ *$name " <<<"$(sed -n '/^NAME/,/^[A-Z]/p' "$WORK/out")"; then
        echo "FAIL $p: its NAME section does not name $name"
        bad=$((bad + 1))
    else
        echo "ok $p: $lines lines, no warnings"
    fi
done
echo "man pages: $((${#PAGES[@]} - bad))/${#PAGES[@]} render without warnings"
[ $bad = 0 ]
