#!/bin/bash
# Upstream's own tools end to end on the running kernel, over our library
# and, as the oracle, over C's: mkcomposefs --digest-store builds an image
# of a tree, mount.composefs mounts it, and upstream's tests/dumpdir must
# list the mounted tree exactly as it lists the source (names, modes,
# owners, devices, mtimes, sizes, content hashes through the object
# directories, symlink targets, xattrs as overlayfs shows them). This is
# upstream's tests/integration.sh, on gendir trees and real trees.
# Then mount.composefs's options, each run with both libraries: the
# transcripts (exit status, messages, mount options, what is visible)
# must be identical. After every run: no new mount, loop device or
# /tmp/.composefs.* directory.
#
# Needs root and the tools need_tools lists (exit 77 otherwise). Any failed
# set-up step (building the trees, setting their xattrs) fails the check.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
NAME=check-mount-trees

. "$ROOT/tests-c/lib/setup.sh"
if [ "$(id -u)" != 0 ]; then
    echo "$NAME: SKIP: needs root (mounts)"
    exit 77
fi
need_tools python3 setfattr mknod mkfifo truncate unshare losetup umount
SRC=$("$ROOT/tests-c/upstream/fetch.sh") || { echo "$NAME: SKIP: no upstream source (download failed, see above)"; exit 77; }
setup_begin
BUILD=$("$ROOT/tests-c/upstream/build.sh") || { echo "$NAME: FAIL: building upstream composefs failed"; exit 1; }
MKCFS=$BUILD/tools/mkcomposefs
MOUNTCFS=$BUILD/tools/mount.composefs
DUMPDIR=$SRC/tests/dumpdir

. "$ROOT/tests-c/lib/scratch.sh"
scratch_dir cfs-mount-trees

ours_libdir "$T/ours"
LIBS=("ours:$T/ours" "c:$BUILD/libcomposefs")
if ! grep -qF "$T/ours/libcomposefs.so.1" <<<"$(LD_LIBRARY_PATH=$T/ours ldd "$MOUNTCFS")"; then
    echo "$NAME: FAIL: mount.composefs does not pick up our library"
    exit 1
fi

failures=0
checks=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# What a run may leave behind: mounts under $T or of erofs, loop devices on
# our files, scratch image mount directories.
state() {
    awk -v t="$T" '$5 ~ "^"t || $5 ~ "^/tmp/.composefs." || $9 == "erofs" {print $5, $9}' /proc/self/mountinfo | sort
    losetup -a | grep -F "$T" | sort
    ls -a /tmp | grep '^\.composefs\.' || true
}
is_mounted() { awk -v m="$1" '$5 == m {f=1} END {exit !f}' /proc/self/mountinfo; }
MNT=$T/mnt
mkdir -p "$MNT"
setup_end
umnt() { if is_mounted "$MNT"; then umount "$MNT"; fi; }

# The source as the mount must show it: no link counts (images built from
# a directory do not keep hard links), and whiteouts (char 0:0) as
# composefs stores them, which overlayfs shows one escape level down:
# empty regular files with overlay.whiteout, parents marked opaque=x.
src_dump() {
    python3 "$DUMPDIR" --no-nlink --whiteout "$1" | sed 's/trusted\.overlay\.overlay\./trusted.overlay./g'
}

# tree LABEL DIR [MKCOMPOSEFS OPTIONS...]
tree() {
    local label=$1 dir=$2 tag lib before bad=$failures
    shift 2
    if ! src_dump "$dir" >"$T/src.dump"; then
        fail "$label: dumpdir failed on the source"
        return
    fi
    case " $* " in
    # Every mtime is 0 in the image (the names in these trees have no spaces).
    *" --use-epoch "*) awk '{ $6 = 0; print }' "$T/src.dump" >"$T/src.dump.e" && mv "$T/src.dump.e" "$T/src.dump" ;;
    esac
    for l in "${LIBS[@]}"; do
        tag=${l%%:*} lib=${l#*:}
        checks=$((checks + 1))
        before=$(state)
        rm -rf "$T/objs" "$T/img.cfs"
        if ! LD_LIBRARY_PATH=$lib "$MKCFS" "$@" --digest-store="$T/objs" "$dir" "$T/img.cfs" 2>"$T/err"; then
            fail "$label ($tag): mkcomposefs: $(cat "$T/err")"
            continue
        fi
        if ! LD_LIBRARY_PATH=$lib "$MOUNTCFS" -o basedir="$T/objs" "$T/img.cfs" "$MNT" 2>"$T/err"; then
            fail "$label ($tag): mount.composefs: $(cat "$T/err")"
            continue
        fi
        python3 "$DUMPDIR" --no-nlink "$MNT" >"$T/mnt.dump.$tag" 2>&1 || fail "$label ($tag): dumpdir failed on the mount"
        umnt
        if ! cmp -s "$T/src.dump" "$T/mnt.dump.$tag"; then
            fail "$label ($tag): mounted tree differs from the source:"
            head -n 6 <<<"$(diff "$T/src.dump" "$T/mnt.dump.$tag")" | sed 's/^/    /'
            continue
        fi
        [ "$before" == "$(state)" ] || fail "$label ($tag): leftovers after unmount"
    done
    checks=$((checks + 1))
    cmp -s "$T/mnt.dump.ours" "$T/mnt.dump.c" || fail "$label: mounted trees differ between the libraries"
    [ "$failures" = "$bad" ] && echo "  $label [$*]: $(wc -l <"$T/src.dump") entries, mounted tree equals the source"
}

setup_begin
python3 "$SRC/tests/gendir" --seed 1 --privileged "$T/g-priv" >/dev/null
python3 "$SRC/tests/gendir" --seed 3 "$T/g-plain" >/dev/null
S=$T/special
mkdir -p "$S/hl/sub" "$S/wh/inner" "$S/empty-dir"
printf 'linked\n' >"$S/hl/a"
ln "$S/hl/a" "$S/hl/b"
ln "$S/hl/a" "$S/hl/sub/c"
head -c 100000 /dev/urandom >"$S/hl/big"
ln "$S/hl/big" "$S/big-link"
mknod "$S/wh/gone" c 0 0
mknod "$S/wh/inner/gone2" c 0 0
mknod "$S/null" c 1 3
mknod "$S/loopdev" b 7 99
mkfifo "$S/fifo"
: >"$S/empty"
head -c 4096 /dev/urandom >"$S/page"
truncate -s 10M "$S/sparse"
ln -s "$(head -c 1000 /dev/zero | tr '\0' x)" "$S/longlink"
touch "$S/$(head -c 255 /dev/zero | tr '\0' n)"
setfattr -n user.a -v 1 "$S/hl/a"
setfattr -n user.empty "$S/page"
setfattr -n trusted.t -v secret "$S/hl"
setfattr -n security.s -v label "$S/page"
setfattr -n trusted.overlay.redirect -v /elsewhere "$S/empty-dir"
chown 1234:5678 "$S/hl/big"
chmod 4750 "$S/hl/big"
chmod 1777 "$S/wh"
touch -h -d '2001-02-03 04:05:06.123456789' "$S/longlink" "$S/hl/a"
setup_end

echo "$NAME: trees through mkcomposefs + mount.composefs (integration.sh), both libraries:"
tree gendir-privileged "$T/g-priv"
tree gendir-plain "$T/g-plain"
tree special "$S"
tree special-epoch "$S" --use-epoch
tree /usr/bin /usr/bin
tree /usr/include/linux /usr/include/linux

# ---- mount.composefs options, ours vs C ----
setup_begin
python3 "$SRC/tests/gendir" --seed 4 --privileged "$T/opt-src" >/dev/null
LD_LIBRARY_PATH=$BUILD/libcomposefs "$MKCFS" --digest-store="$T/o-objs" "$T/opt-src" "$T/o.cfs"
src_dump "$T/opt-src" >"$T/o-src.dump"
# The objects split over two directories, each holding half.
cp -a "$T/o-objs" "$T/o-objs1"
mkdir -p "$T/o-objs2"
n=0
for d in "$T/o-objs1"/*/; do
    n=$((n + 1))
    if [ $((n % 2)) = 0 ]; then mv "$d" "$T/o-objs2/"; fi
done

userns_holder
setup_end

mount_opts() {
    awk -v m="$MNT" '$5 == m {print $6; for (i = 7; $i != "-"; i++); print $(i+1), $(i+2), $(i+3)}' /proc/self/mountinfo |
        sed -e 's#/tmp/\.composefs\.[A-Za-z0-9]*#/tmp/.composefs.X#g' -e "s#$T#T#g" -e 's/,relatime//' -e 's/relatime,//'
}
# mcfs OPTIONS [IMAGE]: mount.composefs with $LIB, printing the result.
mcfs() {
    LD_LIBRARY_PATH=$LIB "$MOUNTCFS" -o "$1" "${2:-$T/o.cfs}" "$MNT" 2>&1 | sed "s#$T#T#g"
    echo "exit ${PIPESTATUS[0]}"
    mount_opts
}
same_as_src() {
    if cmp -s "$T/o-src.dump" <(python3 "$DUMPDIR" --no-nlink "$MNT" 2>&1); then echo "tree equals the source"; else echo "tree differs"; fi
}
o_basic() { mcfs "basedir=$T/o-objs"; same_as_src; }
o_two() { mcfs "basedir=$T/o-objs1:$T/o-objs2"; same_as_src; }
o_ro() { mcfs "basedir=$T/o-objs,ro"; touch "$MNT/x" 2>&1 | sed 's/.*: //'; }
o_rw() { mcfs "basedir=$T/o-objs,rw"; }
o_upper() {
    rm -rf "$T/up" "$T/wk"
    mkdir -p "$T/up" "$T/wk"
    mcfs "basedir=$T/o-objs,upperdir=$T/up,workdir=$T/wk"
    echo written >"$MNT/new-file" && echo "write ok"
    umnt
    cat "$T/up/new-file"
}
o_verity() { mcfs "basedir=$T/o-objs,verity"; }
o_tryverity() { mcfs "basedir=$T/o-objs,tryverity"; }
o_digest() { mcfs "basedir=$T/o-objs,digest=$(printf 'a%.0s' $(seq 64))"; }
o_digest_bad() { mcfs "basedir=$T/o-objs,digest=xyz"; }
o_idmap() {
    mcfs "basedir=$T/o-objs,idmap=/proc/$SLEEPER/ns/user"
    stat -c '%u %g' "$MNT"
    umnt
    mcfs "basedir=$T/o-objs,idmap=/dev/null"
}
o_errors() {
    mcfs "basedir=$T/o-objs,upperdir=$T/up"
    mcfs "basedir=$T/o-objs,workdir=$T/wk"
    mcfs "basedir=$T/no-objs"
    mcfs "basedir=$T/o-objs" "$T/opt-src/no-such.cfs"
    mcfs "basedir=$T/o-objs" "$DUMPDIR"
}

echo "$NAME: mount.composefs options (ours vs C):"
for s in basic two ro rw upper verity tryverity digest digest_bad idmap errors; do
    for l in "${LIBS[@]}"; do
        tag=${l%%:*}
        before=$(state)
        LIB=${l#*:} "o_$s" >"$T/o.$s.$tag" 2>&1
        umnt
        checks=$((checks + 1))
        [ "$before" == "$(state)" ] || fail "option $s ($tag): leftovers"
    done
    checks=$((checks + 1))
    if ! cmp -s "$T/o.$s.ours" "$T/o.$s.c"; then
        fail "option $s: ours and C differ:"
        diff -u "$T/o.$s.c" "$T/o.$s.ours" | sed 's/^/    /'
    fi
    echo "  $s: $(head -n 3 <<<"$(grep -v '^$' "$T/o.$s.ours")" | tr '\n' ' ' | cut -c1-200)"
done

# Explicit expectations on our transcripts, beyond equality with C.
expect() { checks=$((checks + 1)); grep -q -- "$2" "$T/o.$1.ours" || fail "option $1: no '$2' in: $(tr '\n' ' ' <"$T/o.$1.ours")"; }
expect basic "tree equals the source"
expect basic "lowerdir+=/tmp/.composefs.X,datadir+=T/o-objs"
expect two "tree equals the source"
expect two "datadir+=T/o-objs1,datadir+=T/o-objs2"
expect ro "Read-only file system"
expect upper "write ok"
expect upper "^written$"
expect verity "verity=require"
expect tryverity "verity=require"
expect digest "exit 1"
expect digest_bad "exit 1"
expect idmap "^100000 100000$"

echo "$NAME: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
