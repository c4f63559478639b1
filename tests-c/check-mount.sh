#!/bin/bash
# Mounts real composefs images with our lcfs_mount_image/lcfs_mount_fd and,
# as the oracle, with upstream C libcomposefs 1.0.8, through the same
# tests-c/test-mount.c program. Images come from upstream mkcomposefs.
# Every scenario runs against both libraries: the transcripts (results,
# errno, mount options, the mounted tree) must be identical, and ours must
# also match explicit expectations (the tree equals the source, etc.).
# After each run: no new mount, loop device or /tmp/.composefs.* directory.
#
# Needs root and the tools need_tools lists (exit 77 otherwise; a failure
# under CI=true). Any failed set-up step fails the check.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=${LCFS_SO_DIR:-$ROOT/target/release}
HERE=$ROOT/tests-c
NAME=check-mount

if [ "$(id -u)" != 0 ]; then
    echo "$NAME: SKIP: needs root (mounts and loop devices)"
    exit 77
fi
. "$ROOT/tests-c/lib/setup.sh"
need_tools meson ninja cc getfattr setfattr mknod mkfifo unshare losetup umount

SRC=$("$HERE/upstream/fetch.sh") || { echo "$NAME: FAIL: fetching upstream failed"; exit 1; }
BUILD=$("$HERE/upstream/build.sh") || { echo "$NAME: FAIL: building upstream composefs failed"; exit 1; }
CLIB=$BUILD/libcomposefs
MKCOMPOSEFS=$BUILD/tools/mkcomposefs

. "$ROOT/tests-c/lib/scratch.sh"
scratch_dir cfs-check-mount

setup_begin
ours_libdir "$T/ours"
OURS=$T/ours

inc=$SRC
[ -f "$ROOT/include/libcomposefs/lcfs-mount.h" ] && inc=$ROOT/include
if ! cc -Wall -Werror -I"$inc" "$HERE/test-mount.c" -L"$OURS" -lcomposefs -o "$T/test-mount"; then
    echo "$NAME: FAIL: compiling test-mount.c"
    exit 1
fi

failures=0
checks=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect() { # description, got, want
    checks=$((checks + 1))
    [ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
}

# ---- the source tree and its images ----
S=$T/src
mkdir -p "$S/dir/sub" "$S/empty-dir" "$S/we,ird:name"
echo hello > "$S/small"
printf 'inline' > "$S/dir/inline"
head -c 100000 /dev/urandom > "$S/dir/big"
head -c 5000 /dev/urandom > "$S/we,ird:name/data"
: > "$S/empty"
ln -s small "$S/link"
ln -s /nowhere "$S/dir/dangling"
ln "$S/dir/big" "$S/dir/big-hardlink"
mknod "$S/cdev" c 1 3
mknod "$S/bdev" b 7 200
mkfifo "$S/fifo"
setfattr -n user.foo -v bar "$S/small"
setfattr -n user.empty "$S/dir/big"
setfattr -n trusted.test -v secret "$S/dir"
chown 1234:5678 "$S/dir/big"
chmod 4755 "$S/dir/big"
chmod 0600 "$S/small"
chmod 1777 "$S/dir/sub"
touch -h -d '2001-02-03 04:05:06' "$S/link" "$S/small"
touch -d '2010-01-01 00:00:00' "$S/empty-dir"

IMG=$T/img.cfs
OBJ=$T/objs
LD_LIBRARY_PATH=$CLIB "$MKCOMPOSEFS" --digest-store="$OBJ" "$S" "$IMG" || { echo "$NAME: FAIL: mkcomposefs"; exit 1; }
# The same objects split across two directories.
OBJ1=$T/objs1
OBJ2=$T/objs2
cp -a "$OBJ" "$OBJ1"
mkdir -p "$OBJ2"
n=0
for d in "$OBJ1"/*/; do
    n=$((n + 1))
    if [ $((n % 2)) -eq 0 ]; then mv "$d" "$OBJ2/"; fi
done
ACLIMG=$T/acl.cfs
mkdir -p "$T/aclsrc"
echo x > "$T/aclsrc/f"
setfattr -n system.posix_acl_access -v 0sAgAAAAEABgD/////AgAGANIEAAAEAAQA/////xAABgD/////IAAEAP////8= "$T/aclsrc/f"
LD_LIBRARY_PATH=$CLIB "$MKCOMPOSEFS" --digest-store="$OBJ" "$T/aclsrc" "$ACLIMG"
setup_end

# One line per entry: type/mode, owner, size (not for dirs), device,
# mtime, link target or content hash, xattrs. (No link counts: images
# from a directory do not keep hardlinks.)
listing() {
    (cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | while IFS= read -r p; do
        if [ -d "$p" ] && [ ! -L "$p" ]; then
            stat -c '%n %f %u %g %Y' -- "$p"
        else
            stat -c '%n %f %u %g %s %t:%T %Y' -- "$p"
        fi
        if [ -L "$p" ]; then
            readlink -- "$p"
        elif [ -f "$p" ]; then
            sha256sum < "$p" 2>&1 || echo "read failed"
        fi
        getfattr -h -d -m - -e hex -- "$p" 2>/dev/null | grep -v '^#' | grep .
    done)
}
SRC_LISTING=$(listing "$S")
same_tree() {
    listing "$MNT" > "$T/listing"
    cmp -s "$T/listing" <(echo "$SRC_LISTING") && echo "tree equals the source" || diff <(echo "$SRC_LISTING") "$T/listing"
}

# What a test run may change: our mounts, loop devices on our files,
# scratch image mount directories.
state() {
    awk -v t="$T" '$5 ~ "^"t || $5 ~ "^/tmp/.composefs." || $9 == "erofs" {print $5, $9, $10}' /proc/self/mountinfo | sort
    losetup -a | grep -F "$T" | sort
    ls -a /tmp | grep '^\.composefs\.' || true
}

MNT=$T/mnt
mkdir -p "$MNT"
# Mount options of the mount at $MNT, scratch names normalised.
mount_opts() {
    awk -v m="$MNT" '$5 == m {print $6; for (i = 7; $i != "-"; i++); print $(i+1), $(i+2), $(i+3)}' /proc/self/mountinfo |
        sed -e 's#/tmp/\.composefs\.[A-Za-z0-9]*#/tmp/.composefs.X#g' -e "s#$T#T#g" -e 's/,relatime//' -e 's/relatime,//'
}
is_mounted() { awk -v m="$1" '$5 == m {f=1} END {exit !f}' /proc/self/mountinfo; }

# run LIB [test-mount args...]: mounts (or fails), prints the result; the
# caller inspects $MNT and calls umnt.
run() {
    local lib=$1
    shift
    LD_LIBRARY_PATH=$lib "$T/test-mount" "$@"
}
umnt() { is_mounted "$MNT" && umount "$MNT"; }

# scenario NAME FUNCTION: runs FUNCTION with LIB=ours and LIB=C; each
# transcript goes to a file; they must be equal; state must not change.
scenario() {
    local name=$1 fn=$2 lib tag before after
    for tag in ours c; do
        lib=$OURS
        [ $tag = c ] && lib=$CLIB
        before=$(state)
        LIB=$lib TAG=$tag "$fn" > "$T/$name.$tag" 2>&1
        umnt
        after=$(state)
        checks=$((checks + 1))
        [ "$before" == "$after" ] || fail "$name ($tag): leftovers: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]')"
    done
    checks=$((checks + 1))
    if ! cmp -s "$T/$name.ours" "$T/$name.c"; then
        fail "$name: ours and C differ:"
        diff -u "$T/$name.c" "$T/$name.ours" | sed 's/^/    /'
    fi
    echo "  $name: $(head -1 "$T/$name.ours")"
}

s_basic() {
    run "$LIB" "$IMG" "$MNT" "$OBJ"
    mount_opts
    same_tree
}
s_fd() {
    run "$LIB" -f "$IMG" "$MNT" "$OBJ"
    same_tree
}
s_two_objdirs() {
    run "$LIB" "$IMG" "$MNT" "$OBJ1" "$OBJ2"
    mount_opts
    same_tree
    umnt
    # With only the first directory some content is missing.
    run "$LIB" "$IMG" "$MNT" "$OBJ1"
    cat "$MNT/dir/big" "$MNT/we,ird:name/data" > /dev/null 2>&1 || echo "content missing without objs2"
}
s_upper() {
    rm -rf "$T/upper" "$T/work"
    mkdir -p "$T/upper" "$T/work"
    run "$LIB" -u "$T/upper" -w "$T/work" "$IMG" "$MNT" "$OBJ"
    mount_opts
    echo new > "$MNT/new" && echo appended >> "$MNT/dir/big" && rm "$MNT/small" && echo "writes ok"
    umnt
    cat "$T/upper/new"
    cmp <(cat "$S/dir/big"; echo appended) "$T/upper/dir/big" && echo "copied up"
    (cd "$T/upper" && stat -c '%n %F %t:%T' small)
}
s_readonly() {
    run "$LIB" -r "$IMG" "$MNT" "$OBJ"
    mount_opts
    touch "$MNT/x" 2>&1 | sed 's/.*: //'
}
s_imgdir() {
    rm -rf "$T/imgdir"
    mkdir "$T/imgdir"
    run "$LIB" -m "$T/imgdir" "$IMG" "$MNT" "$OBJ"
    mount_opts
    [ -d "$T/imgdir" ] && ! is_mounted "$T/imgdir" && echo "image_mountdir kept, unmounted"
    umnt
    run "$LIB" -m "$T/no-such-dir" "$IMG" "$MNT" "$OBJ"
}
s_acl() {
    run "$LIB" "$ACLIMG" "$MNT" "$OBJ"
    getfacl -n "$MNT/f" 2>/dev/null | grep -v '^#' || getfattr -d -m - -e hex "$MNT/f" | grep -v '^#'
}
s_idmap() {
    run "$LIB" -i "/proc/$SLEEPER/ns/user" "$IMG" "$MNT" "$OBJ"
    (cd "$MNT" && stat -c '%n %u %g' small dir dir/big cdev)
    sha256sum < "$MNT/dir/big"
    umnt
    # Not a user namespace: the kernel's errno.
    run "$LIB" -i /dev/null "$IMG" "$MNT" "$OBJ"
}
s_require_verity() {
    run "$LIB" -V "$IMG" "$MNT" "$OBJ"
    mount_opts
    cat "$MNT/small"
    cat "$MNT/dir/big" 2>&1 >/dev/null | sed 's/.*: //'
}
s_try_verity() {
    run "$LIB" -t "$IMG" "$MNT" "$OBJ"
    mount_opts
    cat "$MNT/dir/big" 2>&1 >/dev/null | sed 's/.*: //'
}
s_errors() {
    local d
    d=$(printf 'ab%.0s' $(seq 32))
    run "$LIB" -d "$d" "$IMG" "$MNT" "$OBJ"         # no fs-verity here: ENOVERITY
    run "$LIB" -f -d "$d" "$IMG" "$MNT" "$OBJ"
    run "$LIB" -d "x$d" "$IMG" "$MNT" "$OBJ"        # malformed: EINVAL
    run "$LIB" -x 0x20 "$IMG" "$MNT" "$OBJ"         # unknown flag: EINVAL
    run "$LIB" -u "$T" "$IMG" "$MNT" "$OBJ"         # upper without work: EINVAL
    run "$LIB" -w "$T" "$IMG" "$MNT" "$OBJ"         # work without upper: EINVAL
    run "$LIB" "$IMG" "$MNT"                        # no objdirs: EINVAL
    run "$LIB" "$IMG" "$T/no-such-mnt" "$OBJ"       # overlay fails after the image mount
    run "$LIB" "$IMG" "$MNT" "$T/no-such-objs"
    run "$LIB" "$S/small" "$MNT" "$OBJ"             # not an image
    run "$LIB" "$T/no-such.cfs" "$MNT" "$OBJ"
    # Composefs header intact, EROFS superblock magic zeroed: the kernel refuses.
    { head -c 1024 "$IMG"; head -c 4 /dev/zero; tail -c +1029 "$IMG"; } > "$T/bad-super.cfs"
    run "$LIB" "$T/bad-super.cfs" "$MNT" "$OBJ"
}

userns_holder

# The unprivileged checks of test-mount.c itself, against both libraries.
for lib in "$OURS" "$CLIB"; do
    checks=$((checks + 1))
    out=$(LD_LIBRARY_PATH=$lib "$T/test-mount" 2>&1) || fail "test-mount self checks with $lib: $out"
done
echo "$NAME: self checks: $out"

echo "$NAME: scenarios (ours vs upstream C):"
scenario basic s_basic
scenario fd s_fd
scenario two-objdirs s_two_objdirs
scenario upper s_upper
scenario readonly s_readonly
scenario imgdir s_imgdir
scenario acl s_acl
scenario idmap s_idmap
scenario require-verity s_require_verity
scenario try-verity s_try_verity
scenario errors s_errors

# Explicit expectations on our transcripts.
t() { cat "$T/$1.ours"; }
expect "basic result" "$(t basic | sed -n 1p)" ok
expect "basic options" "$(t basic | sed -n 2,3p | tr '\n' ' ')" \
    "rw overlay composefs ro,lowerdir+=/tmp/.composefs.X,datadir+=T/objs,redirect_dir=on,metacopy=on "
expect "basic tree" "$(t basic | sed -n 4p)" "tree equals the source"
expect "fd tree" "$(t fd | tr '\n' ' ')" "ok tree equals the source "
expect "two objdirs" "$(t two-objdirs | tr '\n' ' ')" \
    "ok rw overlay composefs ro,lowerdir+=/tmp/.composefs.X,datadir+=T/objs1,datadir+=T/objs2,redirect_dir=on,metacopy=on tree equals the source ok content missing without objs2 "
expect "upper" "$(t upper | tr '\n' ' ')" \
    "ok rw overlay composefs rw,lowerdir+=/tmp/.composefs.X,datadir+=T/objs,upperdir=T/upper,workdir=T/work,redirect_dir=on,uuid=on,metacopy=on writes ok new copied up small character special file 0:0 "
expect "readonly" "$(t readonly | tr '\n' ' ')" \
    "ok ro overlay composefs ro,lowerdir+=/tmp/.composefs.X,datadir+=T/objs,redirect_dir=on,metacopy=on Read-only file system "
expect "image_mountdir" "$(t imgdir | tr '\n' ' ')" \
    "ok rw overlay composefs ro,lowerdir+=T/imgdir,datadir+=T/objs,redirect_dir=on,metacopy=on image_mountdir kept, unmounted errno 2 "
expect "acl image keeps its ACL" "$(t acl | grep -c 'posix_acl_access\|user:1234:rw-')" 1
expect "idmap" "$(t idmap | sed -n '1,5p' | tr '\n' ' ')" \
    "ok small 100000 100000 dir 100000 100000 dir/big 101234 105678 cdev 100000 100000 "
expect "idmap content" "$(t idmap | sed -n 6p)" "$(sha256sum < "$S/dir/big")"
expect "require verity" "$(t require-verity | tr '\n' ' ')" \
    "ok rw overlay composefs ro,lowerdir+=/tmp/.composefs.X,datadir+=T/objs,redirect_dir=on,metacopy=on,verity=require hello Input/output error "
expect "try verity" "$(t try-verity | tr '\n' ' ')" \
    "ok rw overlay composefs ro,lowerdir+=/tmp/.composefs.X,datadir+=T/objs,redirect_dir=on,metacopy=on,verity=require Input/output error "
expect "errors" "$(t errors | tr '\n' ' ')" \
    "errno 25 errno 25 errno 22 errno 22 errno 22 errno 22 errno 22 errno 2 errno 2 errno 22 errno 2 errno 22 "

echo "$NAME: $checks checks, $failures failures"
[ $failures -eq 0 ]
