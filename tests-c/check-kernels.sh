#!/bin/bash
# The mount and fs-verity paths on Debian's own kernels, C vs ours.
#
# For each kernel (default: bookworm 6.1, trixie 6.12, sid's newest, and
# bullseye 5.10 for the scenarios tests-c/vm/only lists; set
# LCFS_VM_KERNELS to a list of suites) this boots QEMU (TCG; KVM does not
# work nested here) with a busybox initramfs built here and a sparse 1 GiB
# ext4 disk with the verity feature. In the guest, tests-c/vm/guest.sh
# makes test data with upstream's mkcomposefs and runs every scenario once
# with C libcomposefs 1.0.8 and once with ours (the same programs, two
# LD_LIBRARY_PATHs), writing transcripts to the disk. Back on the host the
# transcripts are compared and a table is printed per kernel:
#   scenario | C | ours | same?
# Every difference fails the check unless it is a listed known one
# (tests-c/vm/known-differences); so do expectations on ours that do not
# hold (tests-c/vm/expect), setup failures and anything left behind.
#
# Kernels are fetched by tests-c/vm/fetch-kernel.sh (cached in
# /var/tmp/cfs-kernels). LCFS_VM_JOBS guests run at once (default 2 under
# CI=true, else 1). Needs qemu-system-x86, busybox-static, cpio,
# e2fsprogs, kmod, fsverity, attr, util-linux, a C compiler, cargo, and
# what tests-c/upstream/build.sh needs. Outside CI a missing host tool is
# a SKIP (with the package to install); under CI=true it is a failure.
# Results stay in target/vm/<suite>/ for reading.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=${LCFS_SO_DIR:-$ROOT/target/release}
HERE=$ROOT/tests-c
VM=$HERE/vm
NAME=check-kernels
CC=${CC:-cc}
KERNELS=${LCFS_VM_KERNELS:-bookworm trixie sid bullseye}
JOBS=${LCFS_VM_JOBS:-$([ "${CI:-}" = true ] && echo 2 || echo 1)}
OUT=$ROOT/target/vm
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH=$HOME/.cargo/bin:$PATH
fi
PATH=$PATH:/usr/sbin:/sbin

fail() { echo "$NAME: FAIL: $*"; exit 1; }
missing() {
    if [ "${CI:-}" = true ]; then
        fail "$1 not found (install package $2)"
    fi
    echo "$NAME: SKIP: $1 not found (apt-get install $2)"
    exit 77
}
for t in qemu-system-x86_64:qemu-system-x86 cpio:cpio mkfs.ext4:e2fsprogs debugfs:e2fsprogs \
    depmod:kmod modinfo:kmod fsverity:fsverity getfattr:attr setfattr:attr unshare:util-linux \
    "$CC":gcc cargo:cargo ldd:libc-bin; do
    command -v "${t%%:*}" >/dev/null || missing "${t%%:*}" "${t#*:}"
done
BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
    missing "a static busybox" busybox-static
fi

main() {
BUILD=$("$HERE/upstream/build.sh") || fail "building upstream composefs failed"
SRC=$("$HERE/upstream/fetch.sh") || fail "fetching upstream composefs failed"
[ -e "$SO_DIR/libcomposefs.so" ] || fail "$SO_DIR/libcomposefs.so not built (cargo build --release)"

. "$HERE/lib/scratch.sh"
scratch_dir cfs-check-kernels
start=$SECONDS

# ---- the guest's userland, common to every kernel ----
G=$T/root
mkdir -p "$G"/{bin,sbin,gnu/bin,usr/lib/x86_64-linux-gnu,usr/lib64,proc,sys,dev,tmp,t/bin,t/ctests,t/upstream,t/lib-c,t/lib-ours}
ln -s usr/lib "$G/lib"
ln -s usr/lib64 "$G/lib64"
cp "$BUSYBOX" "$G/bin/busybox"
cp "$VM/init" "$G/init"
cp "$VM/guest.sh" "$G/t/guest.sh"
chmod 755 "$G/init"

# add_libs FILE: copies the shared libraries FILE needs into the guest.
add_libs() {
    local lib
    for lib in $(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ "^/" {print $3} $1 ~ "^/" {print $1}'); do
        case $lib in
            */ld-linux*) cp -L "$lib" "$G/usr/lib64/$(basename "$lib")"
                         cp -L "$lib" "$G/usr/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
            *) cp -L "$lib" "$G/usr/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
        esac || fail "copying $lib for $1"
    done
}
# add_bin FILE DIR: copies a program and its libraries into the guest.
add_bin() {
    cp -L "$1" "$G$2/" || fail "copying $1"
    add_libs "$1"
}
# Busybox's applets serve the rest: a static program starts much faster
# than a dynamic one under TCG. These are used with GNU-only options or
# are not in busybox.
for p in bash find stat mktemp touch getfattr setfattr fsverity unshare; do
    f=$(command -v "$p") || fail "$p not found on the host"
    add_bin "$f" /gnu/bin
done

for t in mkcomposefs composefs-info composefs-dump mount.composefs; do
    add_bin "$BUILD/tools/$t" /t/bin
done
cp -L "$BUILD/libcomposefs/libcomposefs.so.1" "$G/t/lib-c/" || fail "copying C libcomposefs"
add_libs "$BUILD/libcomposefs/libcomposefs.so.1"
cp -L "$SO_DIR/libcomposefs.so" "$G/t/lib-ours/libcomposefs.so.1" || fail "copying our libcomposefs"
add_libs "$SO_DIR/libcomposefs.so"
cp "$SRC/tests/test-units.sh" "$SRC/tests/test-lib.sh" "$G/t/upstream/" || fail "copying test-units.sh"

ccomp() { # SRC OUT: against our headers, linked with -lcomposefs
    "$CC" -Wall -Werror -I"$ROOT/include" -I"$HERE" -o "$2" "$1" -L"$SO_DIR" -lcomposefs ||
        fail "compiling $1"
}
ccomp "$HERE/test-mount.c" "$G/t/bin/test-mount"
ccomp "$VM/vm-verity.c" "$G/t/bin/vm-verity"
for t in test-mount test-fsverity test-misuse-mount test-misuse-fsverity; do
    ccomp "$HERE/$t.c" "$G/t/ctests/$t"
done
add_libs "$G/t/bin/test-mount"

# The Rust unit tests, as cargo test builds them; run for mount:: only.
rust_json=$(cd "$ROOT" && nice cargo test --lib --no-run --message-format=json 2>"$T/cargo.err") ||
    { cat "$T/cargo.err"; fail "cargo test --no-run failed"; }
rust_tests=$(sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' <<<"$rust_json" | tail -n 1)
[ -x "$rust_tests" ] || fail "no Rust test binary in cargo's output"
cp "$rust_tests" "$G/t/rust-tests"
add_libs "$rust_tests"

(cd "$G" && find . | cpio -o -H newc --quiet > "$T/userland.cpio") || fail "packing the userland"
echo "$NAME: userland $(du -h "$T/userland.cpio" | cut -f1), built in $((SECONDS - start)) s"

# ---- one kernel ----
# boot SUITE: fetches the kernel, boots the guest and collects its results
# in $OUT/SUITE; its log in $T/SUITE.log.
boot() {
    local suite=$1 stage dir=$OUT/$1 t0=$SECONDS
    stage=$("$VM/fetch-kernel.sh" "$suite") || { echo "fetching the $suite kernel failed"; return 1; }
    rm -rf "$dir"
    mkdir -p "$dir"
    mkdir -p "$T/$suite-extra/t"
    awk -F'\t' -v s="$suite" '!/^#/ && $1 == s {print "--skip", $2}' "$VM/rust-skips" > "$T/$suite-extra/t/rust-skips"
    awk -F'\t' -v s="$suite" '!/^#/ && $1 == s {print $2}' "$VM/only" > "$T/$suite-extra/t/only"
    { (cd "$stage" && find lib modules.load | cpio -o -H newc --quiet) &&
      (cd "$T/$suite-extra" && find t | cpio -o -H newc --quiet); } > "$T/$suite-modules.cpio" ||
        { echo "packing $suite's modules failed"; return 1; }
    cat "$T/userland.cpio" "$T/$suite-modules.cpio" > "$T/$suite.initrd"
    rm -f "$T/$suite-modules.cpio"
    truncate -s 1G "$T/$suite.disk"
    mkfs.ext4 -q -F -b 4096 -O verity "$T/$suite.disk" || { echo "mkfs.ext4 failed"; return 1; }
    echo "booting $(cat "$stage/kver")"
    # CPU seconds tell what a run costs on an idle core.
    local TIMEFORMAT="qemu: %R s elapsed, %U s user + %S s system CPU"
    time timeout "${LCFS_VM_TIMEOUT:-1500}" qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 1024 \
        -display none -no-reboot -nic none -serial "file:$dir/console.log" -monitor none \
        -kernel "$stage/vmlinuz" -initrd "$T/$suite.initrd" \
        -append "console=ttyS0 panic=-1 rdinit=/init loglevel=4" \
        -drive "file=$T/$suite.disk,if=virtio,format=raw" </dev/null
    local rc=$?
    rm -f "$T/$suite.initrd"
    [ $rc = 0 ] || echo "qemu exit $rc (124: timed out)"
    debugfs -R "rdump /results $dir" "$T/$suite.disk" >/dev/null 2>&1
    rm -f "$T/$suite.disk"
    echo "guest ran $((SECONDS - t0)) s"
    [ -f "$dir/results/done" ] || { echo "the guest did not finish; console:"; tail -n 30 "$dir/console.log"; return 1; }
}

running=0
for suite in $KERNELS; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    boot "$suite" > "$T/$suite.log" 2>&1 &
    running=$((running + 1))
done
wait

failures=0
for suite in $KERNELS; do
    echo
    "$VM/report.sh" "$suite" "$OUT/$suite" "$T/$suite.log" || failures=$((failures + 1))
done
echo
echo "$NAME: $(wc -w <<<"$KERNELS") kernels, $failures failed, $((SECONDS - start)) s"
[ "$failures" = 0 ]
}

# Parsed whole before it runs: editing this file during a run is harmless.
main
