#!/bin/bash
# Runs inside the test guest (see tests-c/check-kernels.sh): sets up test
# data on the verity-capable ext4 disk, then runs every scenario once per
# library (C libcomposefs 1.0.8 in /t/lib-c, ours in /t/lib-ours). Each
# scenario's transcript goes to /disk/results/<lib>/<NN-name>; its first
# line is the summary the host prints. The host compares the transcripts.
#
# Programs under /t/bin: test-mount (tests-c/test-mount.c), vm-verity
# (tests-c/vm/vm-verity.c) and upstream's tools; each uses whichever
# libcomposefs.so.1 LD_LIBRARY_PATH names.
set -u
export PATH=/gnu/bin:/bin:/sbin
R=/disk/results
W=/disk/work
B=/t/bin
rm -rf "$W"
mkdir -p "$R/c" "$R/ours" "$W"
uname -r > "$R/kver"
cd /

with() { # with LIB COMMAND...: runs COMMAND against one library
    local lib=$1
    shift
    LD_LIBRARY_PATH=/t/lib-$lib "$@"
}
mk() { with c "$B/mkcomposefs" "$@"; }

# ---- test data, made with the C library ----
S=$W/src
mkdir -p "$S/dir/sub" "$S/empty-dir" "$S/we,ird:name"
echo hello > "$S/small"
printf 'inline' > "$S/dir/inline"
head -c 100000 /dev/urandom > "$S/dir/big"
head -c 5000 /dev/urandom > "$S/we,ird:name/data"
head -c 20000 /dev/urandom > "$S/dir/sub/other"
: > "$S/empty"
ln -s small "$S/link"
ln -s /nowhere "$S/dir/dangling"
mknod "$S/cdev" c 1 3
mknod "$S/bdev" b 7 200
mkdir "$S/wh"
mknod "$S/wh/whiteout" c 0 0
mkfifo "$S/fifo"
setfattr -n user.foo -v bar "$S/small"
setfattr -n user.empty "$S/dir/big"
setfattr -n trusted.test -v secret "$S/dir"
chown 1234:5678 "$S/dir/big"
chown -h 42:43 "$S/link"
chmod 4755 "$S/dir/big"
chmod 0600 "$S/small"
chmod 1777 "$S/dir/sub"
touch -d '@1000000000.123456789' "$S/dir/big" "$S/empty"
touch -h -d '@981173106.5' "$S/link"
touch -d '@1262304000.000000001' "$S/empty-dir" "$S/dir/sub"

IMG=$W/img.cfs
mk --digest-store="$W/objs" "$S" "$IMG" || echo "SETUP FAILED: mkcomposefs"
# Objects split over two directories (moved, so they keep fs-verity).
mk --digest-store="$W/objs1" "$S" "$W/img1.cfs"
mkdir -p "$W/objs2"
n=0
for d in "$W/objs1"/*/; do
    n=$((n + 1))
    [ $((n % 2)) -eq 0 ] && mv "$d" "$W/objs2/"
done
# A copy of the image with fs-verity, and its digest.
cp "$IMG" "$W/imgv.cfs"
fsverity enable "$W/imgv.cfs" || echo "SETUP FAILED: fsverity enable"
DIGEST=$(fsverity measure "$W/imgv.cfs" | awk '{print $1}' | sed 's/^sha256://')
# Stores where dir/big's object lacks fs-verity, or was replaced by other
# content of the same size (with fs-verity of its own).
big_obj=$(fsverity digest --compact "$S/dir/big" 2>/dev/null || fsverity digest "$S/dir/big" | awk '{print $1}' | sed 's/^sha256://')
big_obj=${big_obj:0:2}/${big_obj:2}
mk --digest-store="$W/objs-nov" "$S" "$W/img-nov.cfs"
cp "$W/objs-nov/$big_obj" "$W/plain" && rm -f "$W/objs-nov/$big_obj" && mv "$W/plain" "$W/objs-nov/$big_obj"
mk --digest-store="$W/objs-bad" "$S" "$W/img-bad.cfs"
head -c 100000 /dev/zero > "$W/bad" && fsverity enable "$W/bad" && rm -f "$W/objs-bad/$big_obj" && mv "$W/bad" "$W/objs-bad/$big_obj"
{
    echo "big object: $big_obj"
    fsverity measure "$W/objs/$big_obj" "$W/objs-bad/$big_obj" 2>&1
    fsverity measure "$W/objs-nov/$big_obj" 2>&1
    echo "image digest: $DIGEST"
} > "$R/setup"

# One line per entry: name, type, mode, owner, size (not for directories),
# mtime with nanoseconds, link target; then device numbers, content
# hashes and xattrs, each sorted. Few processes: TCG makes each costly.
listing() {
    (cd "$1" && {
        find . -mindepth 1 ! -type d -printf '%P %y %m %U %G %s %T@ %l\n'
        find . -mindepth 1 -type d -printf '%P %y %m %U %G %T@\n'
        find . \( -type b -o -type c \) -exec stat -c '%n dev %t:%T' {} +
        find . -type f -exec sha256sum {} + 2>&1
        getfattr -R -h -d -m - -e hex . 2>/dev/null | awk '/^# file: / {f = substr($0, 9); next} NF {print f, $0}'
    } | LC_ALL=C sort | grep -Ev '^(\./)?wh(/| )|  \./wh/')
}
# How the whiteout (wh/whiteout, left out of listing) and its directory
# look: in the image it is escaped, and kernels show it differently.
whiteout_view() {
    stat -c 'whiteout: %F %t:%T' "$1/wh/whiteout"
    getfattr -h -d -m - -e hex "$1/wh" "$1/wh/whiteout" 2>/dev/null | sed "s#$1/##" | grep -v '^$' | sed 's/^/whiteout: /'
}
SRC_LISTING=$(listing "$S")
echo "$SRC_LISTING" > "$R/src-listing"
MNT=$W/mnt
mkdir -p "$MNT"
same_tree() {
    listing "${1:-$MNT}" > "$W/listing"
    if cmp -s "$W/listing" <(echo "$SRC_LISTING"); then
        echo "tree equals the source"
    else
        echo "tree differs:"
        diff <(echo "$SRC_LISTING") "$W/listing"
    fi
    whiteout_view "${1:-$MNT}"
}
is_mounted() { awk -v m="$1" '$5 == m {f=1} END {exit !f}' /proc/self/mountinfo; }
umnt() { while is_mounted "$MNT"; do umount "$MNT" || break; done; }
# Options and source of the mount at $MNT, scratch names normalised.
mount_opts() {
    awk -v m="$MNT" '$5 == m {print $6; for (i = 7; $i != "-"; i++); print $(i+1), $(i+2), $(i+3)}' /proc/self/mountinfo |
        sed -e 's#/tmp/\.composefs\.[A-Za-z0-9]*#/tmp/.composefs.X#g' -e "s#$W#W#g" -e 's/,relatime//' -e 's/relatime,//'
}
# How the image is held while mounted: a loop device or the file itself.
image_path() {
    if [ -n "$(losetup -a 2>/dev/null | grep -F "$W")" ]; then echo "image on a loop device"; else echo "image file-backed"; fi
}
state() {
    awk '$5 != "/" && $5 !~ "^/(proc|sys|dev|tmp|run|disk)$" {print $5, $9}' /proc/self/mountinfo | sort
    losetup -a 2>/dev/null | sort
    ls -a /tmp | grep '^\.composefs\.' || true
}
tm() { with "$LIB" "$B/test-mount" "$@"; }
errtext() { sed 's/.*: //'; }

s_image() { # our library writes the same image through C's mkcomposefs
    with "$LIB" "$B/mkcomposefs" --digest-store="$W/objs-$LIB" "$S" "$W/img-$LIB.cfs" && echo "made"
    cmp "$IMG" "$W/img-$LIB.cfs" && echo "identical to the C library's image"
    (cd "$W/objs-$LIB" && find . -type f | LC_ALL=C sort | while read -r f; do fsverity measure "$f" 2>&1 | awk '{print $1}'; done) | sha256sum
}
s_basic() { tm "$IMG" "$MNT" "$W/objs"; image_path; mount_opts; same_tree; }
s_fd() { tm -f "$IMG" "$MNT" "$W/objs"; image_path; same_tree; }
s_two_objdirs() {
    tm "$W/img1.cfs" "$MNT" "$W/objs1" "$W/objs2"
    mount_opts
    same_tree
    umnt
    tm "$W/img1.cfs" "$MNT" "$W/objs1"
    cat "$MNT/dir/big" "$MNT/we,ird:name/data" "$MNT/dir/sub/other" > /dev/null 2>&1 || echo "content missing without objs2"
}
s_relative() { (cd "$W" && with "$LIB" "$B/test-mount" img.cfs mnt objs) && same_tree; }
s_upper() {
    rm -rf "$W/upper" "$W/work"
    mkdir -p "$W/upper" "$W/work"
    tm -u "$W/upper" -w "$W/work" "$IMG" "$MNT" "$W/objs"
    mount_opts
    echo new > "$MNT/new" && echo appended >> "$MNT/dir/big" && rm "$MNT/small" && echo "writes ok"
    umnt
    cat "$W/upper/new"
    cmp <(cat "$S/dir/big"; echo appended) "$W/upper/dir/big" && echo "copied up"
    (cd "$W/upper" && stat -c '%n %F %t:%T' small)
}
s_readonly() { tm -r "$IMG" "$MNT" "$W/objs"; mount_opts; touch "$MNT/x" 2>&1 | errtext; }
s_imgdir() {
    rm -rf "$W/imgdir"
    mkdir "$W/imgdir"
    tm -m "$W/imgdir" "$IMG" "$MNT" "$W/objs"
    mount_opts
    [ -d "$W/imgdir" ] && ! is_mounted "$W/imgdir" && echo "image_mountdir kept, unmounted"
    umnt
    tm -m "$W/no-such-dir" "$IMG" "$MNT" "$W/objs"
}
s_idmap() {
    unshare -U sleep 600 &
    local ns=$!
    sleep 0.5
    echo "0 100000 65536" > "/proc/$ns/uid_map"
    echo "0 100000 65536" > "/proc/$ns/gid_map"
    tm -i "/proc/$ns/ns/user" "$IMG" "$MNT" "$W/objs"
    is_mounted "$MNT" && (cd "$MNT" && stat -c '%n %u %g' small dir dir/big cdev)
    umnt
    # The tool's option, with its message.
    with "$LIB" "$B/mount.composefs" -o "basedir=$W/objs,idmap=/proc/$ns/ns/user" "$IMG" "$MNT" 2>&1
    echo "mount.composefs exit $?"
    is_mounted "$MNT" && (cd "$MNT" && stat -c '%n %u %g' dir/big)
    umnt
    kill "$ns"
    wait "$ns" 2>/dev/null
    # Not a user namespace: the kernel's errno.
    tm -i /dev/null "$IMG" "$MNT" "$W/objs"
}
s_tool() {
    with "$LIB" "$B/mount.composefs" -o "basedir=$W/objs,digest=$DIGEST,ro" "$W/imgv.cfs" "$MNT" 2>&1
    echo "exit $?"
    mount_opts
    same_tree
}
s_digest_ok() { tm -d "$DIGEST" "$W/imgv.cfs" "$MNT" "$W/objs"; same_tree; }
s_digest_fd() { tm -f -d "$DIGEST" "$W/imgv.cfs" "$MNT" "$W/objs"; same_tree; }
s_digest_upper() { tm -d "${DIGEST^^}" "$W/imgv.cfs" "$MNT" "$W/objs"; }
s_digest_wrong() {
    tm -d "$(printf 'ab%.0s' $(seq 32))" "$W/imgv.cfs" "$MNT" "$W/objs"
    tm -f -d "${DIGEST:0:63}0" "$W/imgv.cfs" "$MNT" "$W/objs"
    with "$LIB" "$B/mount.composefs" -o "basedir=$W/objs,digest=$(printf 'a%.0s' $(seq 64))" "$W/imgv.cfs" "$MNT" 2>&1
}
s_digest_noverity() {
    tm -d "$DIGEST" "$IMG" "$MNT" "$W/objs"
    with "$LIB" "$B/mount.composefs" -o "basedir=$W/objs,digest=$DIGEST" "$IMG" "$MNT" 2>&1
}
s_digest_malformed() {
    tm -d "x${DIGEST:1}" "$W/imgv.cfs" "$MNT" "$W/objs"
    tm -d "${DIGEST:1}" "$W/imgv.cfs" "$MNT" "$W/objs"
}
s_digest_long() {
    tm -d "${DIGEST}00" "$W/imgv.cfs" "$MNT" "$W/objs"; umnt
    tm -d "${DIGEST}ff" "$W/imgv.cfs" "$MNT" "$W/objs"; umnt
    tm -d "${DIGEST}${DIGEST}" "$W/imgv.cfs" "$MNT" "$W/objs"; umnt
    tm -d "${DIGEST}${DIGEST}00" "$W/imgv.cfs" "$MNT" "$W/objs"
}
s_digest_empty() { tm -d "" "$W/imgv.cfs" "$MNT" "$W/objs"; same_tree; }
verity_case() { # FLAG STORE IMAGE
    tm "$1" "$3" "$MNT" "$W/$2"
    mount_opts
    if is_mounted "$MNT"; then
        cat "$MNT/small"
        sha256sum < "$MNT/dir/big" 2>&1 | errtext
        sha256sum < "$MNT/dir/sub/other" 2>&1 | errtext
    fi
}
s_require_good() { verity_case -V objs "$IMG"; }
s_require_noverity() { verity_case -V objs-nov "$W/img-nov.cfs"; }
s_require_tampered() { verity_case -V objs-bad "$W/img-bad.cfs"; }
s_try_good() { verity_case -t objs "$IMG"; }
s_try_noverity() { verity_case -t objs-nov "$W/img-nov.cfs"; }
s_try_tampered() { verity_case -t objs-bad "$W/img-bad.cfs"; }
s_none_tampered() { verity_case -x0 objs-bad "$W/img-bad.cfs"; }
s_errors() {
    tm -x 0x20 "$IMG" "$MNT" "$W/objs"
    tm -u "$W" "$IMG" "$MNT" "$W/objs"
    tm "$IMG" "$MNT"
    tm "$IMG" "$W/no-such-mnt" "$W/objs"
    tm "$IMG" "$MNT" "$W/no-such-objs"
    tm "$S/small" "$MNT" "$W/objs"
    tm "$W/no-such.cfs" "$MNT" "$W/objs"
    { head -c 1024 "$IMG"; head -c 4 /dev/zero; tail -c +1029 "$IMG"; } > "$W/bad-super.cfs"
    tm "$W/bad-super.cfs" "$MNT" "$W/objs"
}
# fs-verity functions on fresh files: agree with the fsverity tool.
vf() { with "$LIB" "$B/vm-verity" "$@"; }
kernel_digest() { fsverity measure "$1" 2>&1 | awk '{print $1}'; }
# A deterministic file of N bytes (the same for both libraries).
pattern() { awk -v n="$1" 'BEGIN {for (i = 0; i + 64 <= n; i += 64) printf "%063d\n", i; if (n > i) printf "%s", substr(sprintf("%063d\n", i), 1, n - i)}'; }
s_verity_fns() {
    local d=$W/vf-$LIB
    rm -rf "$d"
    mkdir -p "$d"
    echo "hello world" > "$d/ro"
    pattern 70000 > "$d/rw"
    : > "$d/empty"
    printf 'sha512 data' > "$d/s512"
    pattern 5000 > "$d/plain"
    echo "enable ro: $(vf enable "$d/ro" ro)"
    echo "enable ro again: $(vf enable "$d/ro" ro)"
    echo "enable rw: $(vf enable "$d/rw" rw)"
    echo "enable empty: $(vf enable "$d/empty" ro)"
    echo "enable dir: $(vf enable "$d" dir)"
    fsverity enable --hash-alg=sha512 "$d/s512" 2>&1 || echo "fsverity enable sha512 failed"
    local f k
    for f in ro rw empty s512 plain; do
        k=$(fsverity measure "$d/$f" 2>&1 | awk '{print $1}')
        echo "$f: fsverity $k"
        echo "$f: measure $(vf measure "$d/$f")"
        echo "$f: get $(vf get "$d/$f")"
        echo "$f: info $(with "$LIB" "$B/composefs-info" measure-file "$d/$f" 2>&1 | sed "s#$d#D#")"
        echo "$f: info exit $(with "$LIB" "$B/composefs-info" measure-file "$d/$f" >/dev/null 2>&1; echo $?)"
        case $k in
            sha256:*) [ "$(vf measure "$d/$f")" = "res 0 digest ${k#sha256:}" ] && echo "$f: measure agrees with fsverity" ;;
        esac
    done
}
s_test_mount_self() { (cd /tmp && with "$LIB" "$B/test-mount"); echo "exit $?"; }
s_upstream_units() {
    mkdir -p "$W/tmp"
    PATH=/gnu/bin:/bin:/sbin TMPDIR=$W/tmp LD_LIBRARY_PATH=/t/lib-$LIB bash /t/upstream/test-units.sh "$B" 2>&1 |
        sed -e 's#/lcfs-test\.[A-Za-z0-9]*/#/lcfs-test.X/#g' -e 's#\(test_[a-z_]*\)\.[A-Za-z0-9]*/#\1.X/#g' -e 's/ [A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]* / DATE /'
    echo "exit ${PIPESTATUS[0]}"
}

scenario() { # NAME FUNCTION: runs FUNCTION with each library
    local name=$1 fn=$2 lib before after out
    for lib in c ours; do
        out=$R/$lib/$name
        before=$(state)
        LIB=$lib "$fn" > "$out" 2>&1 < /dev/null
        umnt
        after=$(state)
        if [ "$before" == "$after" ]; then
            echo "nothing left behind" >> "$out"
        else
            echo "left behind: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')" >> "$out"
        fi
    done
    echo "scenario $name done at ${SECONDS}s" | tee /dev/console
}

# /t/only, when present, names the only scenarios this kernel runs (a
# kernel that cannot read composefs images still shows its mount errors).
ONLY=$(cat /t/only 2>/dev/null)
n=0
run() {
    n=$((n + 1))
    [ -z "$ONLY" ] || grep -qxF "$1" <<<"$ONLY" || return 0
    scenario "$(printf '%02d' $n)-$1" "$2"
}
run mkcomposefs-image s_image
run mount-basic s_basic
run mount-fd s_fd
run two-objdirs s_two_objdirs
run relative-paths s_relative
run upper-workdir s_upper
run readonly s_readonly
run image-mountdir s_imgdir
run idmap s_idmap
run mount.composefs-digest s_tool
run digest-correct s_digest_ok
run digest-correct-fd s_digest_fd
run digest-upper-case s_digest_upper
run digest-wrong s_digest_wrong
run digest-image-without-verity s_digest_noverity
run digest-malformed s_digest_malformed
run digest-over-long s_digest_long
run digest-empty s_digest_empty
run require-verity-good s_require_good
run require-verity-no-verity s_require_noverity
run require-verity-tampered s_require_tampered
run try-verity-good s_try_good
run try-verity-no-verity s_try_noverity
run try-verity-tampered s_try_tampered
run no-verity-flag-tampered s_none_tampered
run errors s_errors
run fsverity-functions s_verity_fns
run test-mount-self-checks s_test_mount_self
run upstream-test-units s_upstream_units

if [ -n "$ONLY" ]; then
    echo "guest: only $ONLY"
    exit 0
fi
# Ours only: our C tests and the Rust mount:: unit tests (with --skip
# for tests this kernel cannot pass, from /t/rust-skips).
for t in /t/ctests/*; do
    (cd /tmp && with ours "$t") > "$W/ctest.out" 2>&1
    rc=$?
    echo "$(basename "$t"): exit $rc: $(tail -n 1 "$W/ctest.out")" >> "$R/c-tests"
    [ $rc = 0 ] || sed 's/^/    /' "$W/ctest.out" >> "$R/c-tests"
done
# Their scratch files go to /tmp, here put on the ext4 disk: tmpfs has no
# O_DIRECT before 6.6 and 6.12 cannot back EROFS with a tmpfs file.
mkdir -p "$W/rust-tmp"
mount --bind "$W/rust-tmp" /tmp
(cd /tmp && /t/rust-tests --test-threads=1 $(cat /t/rust-skips) mount:: > "$R/rust-mount-tests" 2>&1)
echo "exit $?" >> "$R/rust-mount-tests"
umount /tmp
echo "guest: all scenarios ran"
