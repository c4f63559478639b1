#!/bin/bash
# The boot path as ostree uses it, on Debian sid's newest kernel, C vs ours.
#
# On the host, in a cached Debian sid root with ostree, ostree-boot
# (ostree-prepare-root) and the fsverity tool: a generated tree (modes,
# owners, xattrs, symlinks, a kernel, prepare-root.conf saying
# `[composefs] enabled = verity`) is committed with
# `ostree commit --generate-composefs-metadata`, once on the root's C
# library and once on ours (the commits must be identical). A copy of that
# root goes onto a sparse 1 GiB ext4 disk with the verity feature (4 KiB
# blocks), which QEMU (TCG) boots with sid's kernel and a busybox
# initramfs (tests-c/vm/init). In the guest, chrooted into the root,
# tests-c/vm/ostree-boot.sh runs once per library (C libcomposefs 1.0.8 as
# built from upstream's source, and ours, chosen by LD_LIBRARY_PATH and
# shown by the dynamic linker): `ostree admin deploy` into a new sysroot
# whose repo has `ex-integrity` composefs and fs-verity on, then the
# deployment mounted as ostree-prepare-root does, by test-mount
# (lcfs_mount_image with the digest from the commit's metadata,
# REQUIRE_VERITY, read-only, an image_mountdir) and by ostree-prepare-root
# itself; then with an object tampered with, an object without fs-verity,
# and another commit's image swapped in. A table follows:
#   scenario | C | ours | same?
# The check fails when C and ours differ in any scenario, when an expected
# result (below) does not hold on either, on set-up failures and on
# anything left mounted.
#
# The root is cached in $LCFS_OSTREE_BOOT_CACHE (default
# /var/tmp/cfs-ostree-boot-root; LCFS_OSTREE_REFRESH=1 rebuilds it), the
# kernel by tests-c/vm/fetch-kernel.sh. Results stay in target/vm/ostree-boot.
set -uo pipefail

NAME=check-ostree-boot
if [ "$(id -u)" != 0 ]; then
    echo "$NAME: SKIP: needs root (debootstrap, chroot, mounts)"
    exit 77
fi
# Private mount namespace: no mount outlives this script.
if [ "${LCFS_OSTREE_BOOT_NS:-}" != 1 ]; then
    exec unshare --mount --propagation private env LCFS_OSTREE_BOOT_NS=1 bash "$0" "$@"
fi

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=${LCFS_SO_DIR:-$ROOT/target/release}
HERE=$ROOT/tests-c
VM=$HERE/vm
CC=${CC:-cc}
CACHE=${LCFS_OSTREE_BOOT_CACHE:-/var/tmp/cfs-ostree-boot-root}
OUT=$ROOT/target/vm/ostree-boot
TIMESTAMP=2000-01-01T00:00:00Z
PATH=$PATH:/usr/sbin:/sbin
start=$SECONDS

fail() { echo "$NAME: FAIL: $*"; exit 1; }
. "$HERE/lib/setup.sh"
need_tools qemu-system-x86_64 cpio mkfs.ext4 debugfs debootstrap setfattr flock "$CC"
BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
    echo "$NAME: SKIP: no static busybox at $BUSYBOX (apt-get install busybox-static)"
    exit 77
fi
[ -e "$SO_DIR/libcomposefs.so" ] || fail "$SO_DIR/libcomposefs.so not built (cargo build --release)"
BUILD=$("$HERE/upstream/build.sh") || fail "building upstream composefs failed"
STAGE=$("$VM/fetch-kernel.sh" sid) || fail "fetching sid's kernel failed"

# ---- the sid root (cached; its lock is held until this script exits) ----
. "$HERE/lib/debian-root.sh"
debian_root "$CACHE" ostree,composefs,libcomposefs1 "systemd-standalone-tmpfiles ostree-boot attr fsverity e2fsprogs"
for f in usr/bin/ostree usr/lib/ostree/ostree-prepare-root usr/bin/fsverity usr/bin/getfattr usr/bin/chattr; do
    [ -x "$R/$f" ] || fail "$R/$f is missing; remove $CACHE to rebuild"
done
echo "$NAME: root: $(chroot "$R" dpkg-query -W -f '${Package} ${Version}, ' ostree ostree-boot libcomposefs1)"
echo "$NAME: kernel: $(cat "$STAGE/kver")"

# Scratch next to the cache: the disk's root is a hard-linked copy of the
# cached one (nothing in it is written in place; new files replace).
T=$(mktemp -d "$(dirname "$CACHE")/cfs-ostree-boot.XXXXXX") || fail "mktemp"
cleanup() {
    umount "$T/root/proc" 2>/dev/null
    if [ -n "${LCFS_KEEP_TMP:-}" ]; then echo "$NAME: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

setup_begin
G=$T/root
# Hard links where the cache's file system allows, else a copy.
cp -al "$R" "$G" 2>/dev/null || { rm -rf "$G" && cp -a "$R" "$G"; }
rm -rf "$G"/var/lib/apt/lists "$G"/var/cache/apt "$G"/usr/share/{doc,man,locale,info}
mkdir -p "$G"/t/{bin,lib-c,lib-ours} "$G/sysroots" "$G/results"
cp "$VM/ostree-boot.sh" "$G/t/ostree-boot.sh"
cp -L "$BUILD/libcomposefs/libcomposefs.so.1" "$G/t/lib-c/libcomposefs.so.1"
cp -L "$SO_DIR/libcomposefs.so" "$G/t/lib-ours/libcomposefs.so.1"
"$CC" -Wall -Werror -I"$ROOT/include" -I"$HERE" -o "$G/t/bin/test-mount" "$HERE/test-mount.c" \
    -L"$SO_DIR" -lcomposefs
# The guest's ostree-prepare-root reads its configuration from the root it
# runs in, as from an initramfs (a new file: not one linked to the cache).
rm -f "$G/usr/lib/ostree/prepare-root.conf"
printf '[composefs]\nenabled = verity\n' > "$G/usr/lib/ostree/prepare-root.conf"

# The tree to commit: what a deployment needs (usr/etc, a kernel under
# usr/lib/modules, prepare-root.conf) and what the mount must reproduce.
S=$G/t/tree
KV=6.0.0-test
mkdir -p "$S"/usr/{bin,etc,lib/data,lib/ostree,lib/modules/$KV,share/xdir,share/sticky} "$S"/{boot,var,sysroot}
printf 'ID=test\nNAME="composefs boot test"\n' > "$S/usr/etc/os-release"
cp "$S/usr/etc/os-release" "$S/usr/lib/os-release"
echo boottest > "$S/usr/etc/hostname"
cp "$G/usr/lib/ostree/prepare-root.conf" "$S/usr/lib/ostree/prepare-root.conf"
head -c 300000 /dev/urandom > "$S/usr/lib/modules/$KV/vmlinuz"
head -c 50000 /dev/urandom > "$S/usr/lib/modules/$KV/initramfs.img"
printf '#!/bin/sh\necho hello\n' > "$S/usr/bin/tool"
chmod 0755 "$S/usr/bin/tool"
head -c 100000 /dev/urandom > "$S/usr/lib/big"
head -c 20000 /dev/urandom > "$S/usr/lib/data/other"
cp "$S/usr/lib/big" "$S/usr/lib/big-copy"
echo hello > "$S/usr/lib/small"
: > "$S/usr/share/empty"
head -c 5000 /dev/urandom > "$S/usr/share/we,ird:name"
cp /bin/true "$S/usr/bin/suid"
ln -s ../lib/big "$S/usr/share/link"
ln -s /nowhere "$S/usr/share/dangling"
setfattr -n user.origin -v boot-test "$S/usr/lib/big"
setfattr -n trusted.test -v secret "$S/usr/share/xdir"
chown 1234:5678 "$S/usr/lib/data/other" "$S/usr/bin/suid"
chown -h 42:43 "$S/usr/share/dangling"
chown 42:43 "$S/usr/share/xdir"
chmod 4755 "$S/usr/bin/suid"
chmod 0600 "$S/usr/lib/small"
chmod 0640 "$S/usr/lib/data/other"
chmod 1777 "$S/usr/share/sticky"
chmod 0700 "$S/usr/share/xdir"
# Another commit: the tree and one more file (its image is swapped in).
cp -a "$S" "$G/t/tree-evil"
echo evil > "$G/t/tree-evil/usr/bin/evil"

mount -t proc proc "$G/proc"
inroot() { # LIB CMD...: runs CMD in the root on the root's C library or ours
    local lib=$1 path=
    shift
    [ "$lib" = ours ] && path=/t/lib-ours
    chroot "$G" env -i PATH=/usr/sbin:/usr/bin LD_LIBRARY_PATH=$path "$@"
}
inroot c ostree --repo=/src-repo init --mode=archive
setup_end
for lib in c ours; do
    want=/usr/lib/x86_64-linux-gnu/libcomposefs.so.1
    [ $lib = ours ] && want=/t/lib-ours/libcomposefs.so.1
    got=$(inroot $lib env LD_TRACE_LOADED_OBJECTS=1 /usr/bin/ostree | awk '$1 == "libcomposefs.so.1" {print $3}')
    [ "$got" = "$want" ] || fail "ostree in the root maps '$got' for the $lib library, not $want"
done
commit() { # LIB BRANCH TREE
    inroot "$1" ostree --repo=/src-repo commit --generate-composefs-metadata --no-bindings \
        --timestamp=$TIMESTAMP -b "$2" "$3" >/dev/null || fail "ostree commit of $3 on the $1 library"
    inroot "$1" ostree --repo=/src-repo show --print-metadata-key=ostree.composefs.digest.v0 "$2" |
        grep -o '0x[0-9a-f][0-9a-f]' | sed 's/^0x//' | tr -d '\n'
}
dc=$(commit c boot /t/tree)
do=$(commit ours boot-ours /t/tree)
commit c evil /t/tree-evil >/dev/null
cc_=$(inroot c ostree --repo=/src-repo rev-parse boot)
co_=$(inroot c ostree --repo=/src-repo rev-parse boot-ours)
umount "$G/proc"
[ ${#dc} = 64 ] || fail "no composefs digest in the commit"
rm -rf "$G/t/tree-evil"
echo "$NAME: commit: C $cc_ digest $dc"
echo "$NAME: commit: ours $co_ digest $do"
[ "$cc_" = "$co_" ] && [ "$dc" = "$do" ] || fail "the commits differ between the libraries"

# ---- the disk and the initramfs ----
setup_begin
truncate -s 1G "$T/disk"
mkfs.ext4 -q -F -b 4096 -O verity -d "$G" "$T/disk"
rm -rf "$G"
I=$T/initrd
mkdir -p "$I"/{bin,sbin,gnu/bin,usr/lib/x86_64-linux-gnu,usr/lib64,proc,sys,dev,tmp,t}
ln -s usr/lib "$I/lib"
ln -s usr/lib64 "$I/lib64"
cp "$BUSYBOX" "$I/bin/busybox"
cp "$VM/init" "$I/init"
cp "$VM/ostree-boot-guest.sh" "$I/t/guest.sh"
chmod 755 "$I/init" "$I/t/guest.sh"
cp /bin/bash "$I/gnu/bin/bash"
for lib in $(ldd /bin/bash | awk '$2 == "=>" && $3 ~ "^/" {print $3} $1 ~ "^/" {print $1}'); do
    cp -L "$lib" "$I/usr/lib/x86_64-linux-gnu/"
    case $lib in */ld-linux*) cp -L "$lib" "$I/usr/lib64/" ;; esac
done
(cd "$I" && find . | cpio -o -H newc --quiet) > "$T/initrd.cpio"
(cd "$STAGE" && find lib modules.load | cpio -o -H newc --quiet) >> "$T/initrd.cpio"
setup_end
echo "$NAME: disk and initramfs ready at $((SECONDS - start)) s"

# ---- the guest ----
rm -rf "$OUT"
mkdir -p "$OUT"
t0=$SECONDS
TIMEFORMAT="$NAME: qemu: %R s elapsed, %U s user + %S s system CPU"
time timeout "${LCFS_VM_TIMEOUT:-900}" qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1024 \
    -display none -no-reboot -nic none -serial "file:$OUT/console.log" -monitor none \
    -kernel "$STAGE/vmlinuz" -initrd "$T/initrd.cpio" \
    -append "console=ttyS0 panic=-1 rdinit=/init loglevel=4" \
    -drive "file=$T/disk,if=virtio,format=raw" </dev/null
rc=$?
[ $rc = 0 ] || echo "$NAME: qemu exit $rc (124: timed out)"
debugfs -R "rdump /results $OUT" "$T/disk" >/dev/null 2>&1
echo "$NAME: guest ran $((SECONDS - t0)) s"
RES=$OUT/results
[ -f "$RES/done" ] || { tail -n 30 "$OUT/console.log"; fail "the guest did not finish"; }

# ---- the table ----
bad=0
problem() { echo "  FAIL: $*"; bad=$((bad + 1)); }
grep -q 'SETUP FAILED' "$RES/guest.log" && problem "set-up: $(grep 'SETUP FAILED' "$RES/guest.log" | tr '\n' ' ')"
grep -q '^guest.sh exit 0$' "$RES/guest.log" || problem "guest: $(tail -n 3 "$RES/guest.log" | tr '\n' ' ')"
# What every scenario must show, on both libraries (scenario, regex).
EXPECT="1-deploy	^deploy exit 0; \.ostree\.cfs: commit's digest; objects with verity: ([0-9]+)/\1$
2-mount-digest-require-verity	^mount: ok; tree equals the checkout$
3-ostree-prepare-root	^prepare-root exit 0; tree equals the checkout$
4-tampered-object	^mount: ok; other: Input/output error; big: read, sha256
5-tampered-object-prepare-root	^prepare-root exit 0; other: Input/output error; big: read, sha256
6-object-without-verity	^mount: ok; other: Input/output error$
7-swapped-image	^mount: errno 84; prepare-root exit 0; the swapped tree is mounted$"
echo "== $(cat "$RES/kver" 2>/dev/null): ostree boot path"
printf '  %-32s | %-48s | %-48s | %s\n' scenario C ours same?
n=0
while IFS=$'\t' read -r name re; do
    n=$((n + 1))
    c=$RES/c/$name o=$RES/ours/$name
    [ -f "$c" ] && [ -f "$o" ] || { problem "$name: no transcript"; continue; }
    if cmp -s "$c" "$o"; then same=yes; else same=NO; fi
    printf '  %-32s | %-48s | %-48s | %s\n' "$name" "$(head -n 1 "$c")" "$(head -n 1 "$o")" "$same"
    if [ "$same" = NO ]; then
        problem "$name: ours and C differ:"
        diff -u "$c" "$o" | tail -n +3 | sed 's/^/      /'
    fi
    for f in "$c" "$o"; do
        grep -Eq -- "$re" <<<"$(head -n 1 "$f")" || problem "$name: $(basename "$(dirname "$f")") does not show /$re/"
        grep -q '^nothing left behind$' "$f" || problem "$name: $(basename "$(dirname "$f")") $(grep '^left behind' "$f")"
    done
done <<<"$EXPECT"
echo "  transcripts: $RES/{c,ours}/; commit $cc_, composefs digest $dc"
echo "$NAME: $n scenarios, $bad problems, $((SECONDS - start)) s"
[ "$bad" = 0 ]
