#!/bin/bash
# Runs programs against our libcomposefs.so.1 under valgrind memcheck and
# fails on any memory error or definite leak:
#   - every tests-c/test-*.c, compiled as run-all.sh does (plus -g);
#   - upstream's tools and test-lcfs (tests-c/upstream/build.sh): mkcomposefs
#     on small assets, a big one (cs9-x86_64-developer), every should-fail
#     asset (error paths) and a directory with --digest-store and 4 threads;
#     composefs-info ls/dump on the big image, objects/missing-objects/
#     measure-file and composefs-dump on a smaller one;
#   - as root only: mount.composefs mounting a small image (lcfs_mount_image
#     through erofs and overlayfs; valgrind does not know the new mount API
#     syscalls, so this runs our mount(2) fallback), then unmounted.
#
# valgrind reports through exit status 99 (--error-exitcode), so it never
# collides with a tool's own exit 1 on the should-fail assets, whose
# expected status is checked separately. Children are traced
# (--trace-children=yes) in case a tool forks; threads need nothing special
# under valgrind (it serialises them). No suppression file is needed: every
# program frees what it allocates or, where a tool exits on an error without
# freeing, C's pointers into our nodes keep them "still reachable" or
# "possibly lost", which are not errors here.
#
# Needs valgrind (Debian package valgrind); exits 77 without it.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
CC=${CC:-cc}
NAME=check-valgrind

command -v valgrind >/dev/null || { echo "$NAME: SKIP: valgrind not installed (apt-get install valgrind)"; exit 77; }
SRC=$("$ROOT/tests-c/upstream/fetch.sh") || { echo "$NAME: FAIL: no upstream source"; exit 1; }
BUILD=$("$ROOT/tests-c/upstream/build.sh") || { echo "$NAME: FAIL: building upstream composefs failed"; exit 1; }
ASSETS=$SRC/tests/assets

T=$(mktemp -d -t cfs-valgrind.XXXXXX)
MNT=
cleanup() {
    [ -n "$MNT" ] && mountpoint -q "$MNT" && umount "$MNT"
    rm -rf -- "$T"
}
trap cleanup EXIT

# Our library under the soname the programs ask for.
mkdir -p "$T/lib" "$T/bin"
so=$SO_DIR/libcomposefs.so.1
[ -e "$so" ] || so=$SO_DIR/libcomposefs.so
ln -s "$(readlink -f "$so")" "$T/lib/libcomposefs.so.1"
export LD_LIBRARY_PATH=$T/lib
if ! grep -qF "$T/lib/libcomposefs.so.1" <<<"$(ldd "$BUILD/tools/mkcomposefs")"; then
    echo "$NAME: FAIL: mkcomposefs does not pick up our library"; exit 1
fi

VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --trace-children=yes)
failures=0 runs=0

# vg WANT LABEL CMD...: runs CMD under valgrind; the program must exit with
# WANT, and valgrind must report nothing. Its report is shown on failure.
vg() {
    local want=$1 label=$2 rc start=$SECONDS
    shift 2
    runs=$((runs + 1))
    "${VG[@]}" --log-file="$T/vg.log" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    # Lines "==PID==" are memcheck's reports; "--PID--" lines are notes
    # such as syscalls valgrind does not know (fsopen: we then fall back
    # to mount(2), which is worth running too).
    if [ "$rc" = 99 ] || grep -q '^==[0-9]*==' "$T/vg.log"; then
        echo "FAIL $label: valgrind reports errors or definite leaks"
        head -n 60 "$T/vg.log" | sed 's/^/    /'
        failures=$((failures + 1))
    elif [ "$rc" != "$want" ]; then
        echo "FAIL $label: exit $rc, expected $want"
        head -n 20 "$T/err" | sed 's/^/    /'
        failures=$((failures + 1))
    else
        echo "ok   $label ($((SECONDS - start))s)"
    fi
}

echo "== our C tests =="
for src in "$ROOT"/tests-c/test-*.c; do
    exe=$T/bin/$(basename "$src" .c)
    if ! "$CC" -g -Wall -Werror -I"$ROOT/include" -o "$exe" "$src" -L"$SO_DIR" -lcomposefs -lpthread; then
        echo "FAIL $(basename "$src"): does not compile"
        failures=$((failures + 1))
        continue
    fi
    # test-mount without arguments runs its unprivileged checks only.
    vg 0 "$(basename "$exe")" "$exe"
done

echo "== upstream tools and test-lcfs =="
MK=$BUILD/tools/mkcomposefs
INFO=$BUILD/tools/composefs-info
vg 0 test-lcfs "$BUILD/tests/test-lcfs"
for a in special.dump longlink.dump bigfile-xattr.dump honggfuzz-long-symlink.dump; do
    vg 0 "mkcomposefs $a" "$MK" --from-file "$ASSETS/$a" "$T/small.img"
done
zcat "$ASSETS/config-with-hard-link.dump.gz" >"$T/config.dump" || { echo "$NAME: FAIL: zcat"; exit 1; }
vg 0 "mkcomposefs config-with-hard-link (v0)" "$MK" --min-version=0 --max-version=0 \
    --from-file "$T/config.dump" "$T/config.img"
zcat "$ASSETS/cs9-x86_64-developer.dump.gz" >"$T/big.dump" || { echo "$NAME: FAIL: zcat"; exit 1; }
vg 0 "mkcomposefs cs9-x86_64-developer" "$MK" --print-digest --from-file "$T/big.dump" "$T/big.img"
for a in "$ASSETS"/should-fail-*.dump; do
    vg 1 "mkcomposefs $(basename "$a") (must fail)" "$MK" --from-file "$a" "$T/fail.img"
done
# A real directory: lcfs_build, fs-verity digests and object copies from
# mkcomposefs's worker threads.
vg 0 "mkcomposefs src/ --digest-store --threads=4" "$MK" --threads=4 \
    --digest-store="$T/store" "$ROOT/src" "$T/dir.img"
vg 0 "composefs-info ls" "$INFO" ls "$T/big.img"
vg 0 "composefs-info dump" "$INFO" dump "$T/big.img"
# The same reader again, on the smaller image to save time.
vg 0 "composefs-info objects" "$INFO" objects "$T/config.img"
vg 0 "composefs-info missing-objects" "$INFO" --basedir="$T/store" missing-objects "$T/config.img"
vg 0 "composefs-info measure-file" "$INFO" measure-file "$T/config.dump" "$ROOT/src/lib.rs"
vg 0 "composefs-dump" "$BUILD/tools/composefs-dump" "$T/config.img" "$T/config.redump"
vg 0 "composefs-info ls (directory image)" "$INFO" ls "$T/dir.img"

if [ "$(id -u)" = 0 ]; then
    echo "== mount (root) =="
    MNT=$T/mnt
    mkdir -p "$MNT"
    vg 0 "mount.composefs" "$BUILD/tools/mount.composefs" -o basedir="$T/store" "$T/dir.img" "$MNT"
    if mountpoint -q "$MNT"; then
        if ! cmp -s "$ROOT/src/lib.rs" "$MNT/lib.rs"; then
            echo "FAIL mount.composefs: lib.rs differs in the mounted image"
            failures=$((failures + 1))
        fi
        umount "$MNT"
    fi
else
    echo "(not root: mount.composefs not run; tests-c/check-mount.sh covers mounting)"
fi

if [ "$failures" != 0 ]; then
    echo "$NAME: $failures of $runs runs failed"
    exit 1
fi
echo "$NAME: $runs runs, no valgrind errors, no definite leaks"
