#!/bin/bash
# Runs in the test guest, chrooted into the Debian sid root on the verity
# disk (see tests-c/check-ostree-boot.sh): the boot path as ostree uses
# it, once per library (C libcomposefs 1.0.8 in /t/lib-c, ours in
# /t/lib-ours). For each: a fresh sysroot whose repo wants composefs and
# fs-verity, `ostree admin deploy` of the commit the host made, then the
# deployment mounted as ostree-prepare-root mounts it, by test-mount
# (lcfs_mount_image with the commit's digest and REQUIRE_VERITY) and by
# ostree-prepare-root itself; then the same after tampering. Each
# scenario's transcript goes to /results/<lib>/<NN-name>, its first line
# being the summary the host prints; the host compares C with ours.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
R=/results
OS=debian
REF=boot
cd /
mkdir -p "$R/c" "$R/ours"
uname -r > "$R/kver"

with() { # with LIB COMMAND...: runs COMMAND against one library
    local lib=$1
    shift
    LD_LIBRARY_PATH=/t/lib-$lib "$@"
}
# Which libcomposefs the dynamic linker picks for PROGRAM under LIB.
libpath() {
    local p
    p=$(with "$1" env LD_TRACE_LOADED_OBJECTS=1 "$2" | awk '$1 == "libcomposefs.so.1" {print $3}')
    if [ "$p" = "/t/lib-$1/libcomposefs.so.1" ]; then
        echo "libcomposefs: the one under test"
    else
        echo "= WRONG libcomposefs: '$p'"
    fi
}
hexdigest() { grep -o '0x[0-9a-f][0-9a-f]' | sed 's/^0x//' | tr -d '\n'; }
errtext() { sed 's/.*: //'; }

# One line per entry but the top-level etc, var and sysroot (which
# ostree-prepare-root mounts over): name, type, mode, owner, size (regular
# files) or link target; then content hashes and xattrs. Not mtimes:
# ostree keeps none (a checkout's symlinks and empty files get the
# current time); mtimes() shows the mount's.
listing() {
    (cd "$1" && {
        find . -mindepth 1 \( -path ./etc -o -path ./var -o -path ./sysroot \) -prune -o \
            -type f -printf '%P %y %m %U %G %s\n' -o -printf '%P %y %m %U %G %l\n'
        find . \( -path ./etc -o -path ./var -o -path ./sysroot \) -prune -o -type f -exec sha256sum {} + 2>&1
        getfattr -R -h -d -m - -e hex . 2>/dev/null | awk '/^# file: / {f = substr($0, 9); next} NF {print f, $0}' |
            grep -Ev '^(etc|var|sysroot)(/| )'
    } | sort)
}
same_tree() { # DIR: compares DIR with the checkout
    if listing "$1" > /work/listing && cmp -s /work/listing /work/checkout-listing; then
        echo "= tree equals the checkout"
        echo "($(wc -l < /work/listing) lines)"
    else
        echo "= TREE DIFFERS from the checkout:"
        diff /work/checkout-listing /work/listing
    fi
}
mtimes() { echo "mtimes: $(find "$1" -xdev -printf '%T@\n' | sort -u | paste -sd' ')"; }
# The file system type, source and super options of the mount at $1
# (after the optional fields, which end at "-").
mount_of() { awk -v m="$1" '$5 == m {for (i = 7; $i != "-"; i++); print $(i+1), $(i+2), $(i+3)}' /proc/self/mountinfo; }
is_mounted() { awk -v m="$1" '$5 == m {f=1} END {exit !f}' /proc/self/mountinfo; }
umnt() { while is_mounted "$1"; do umount "$1" || break; done; }
state() {
    awk '$5 !~ "^/(proc|sys|dev|dev/.*|tmp|run)$" && $5 != "/" {for (i = 7; $i != "-"; i++); print $5, $(i+1)}' /proc/self/mountinfo | sort
    losetup -a 2>/dev/null | sort
}
# Reads a file of the mounted tree: its hash, or the error (EIO when the
# kernel refuses the object).
readfile() {
    local h
    if h=$(sha256sum 2>&1 < "$1/$2"); then echo "= ${2##*/}: read, sha256 ${h:0:12}"; else echo "= ${2##*/}: $(errtext <<<"$h")"; fi
}

# ---- common set-up: the checkout the mounts must equal ----
mkdir -p /work /mnt/cfs
SRCREPO=/src-repo
COMMIT=$(ostree --repo=$SRCREPO rev-parse $REF) || echo "SETUP FAILED: rev-parse"
DIGEST=$(ostree --repo=$SRCREPO show --print-metadata-key=ostree.composefs.digest.v0 $REF | hexdigest)
[ ${#DIGEST} = 64 ] || echo "SETUP FAILED: no composefs digest in the commit"
# From a bare repo, as a deployment is checked out (hard links to the
# objects).
ostree --repo=/work/bare init --mode=bare && ostree --repo=/work/bare pull-local $SRCREPO $REF >/dev/null &&
    ostree --repo=/work/bare checkout $REF /work/checkout || echo "SETUP FAILED: checkout"
listing /work/checkout > /work/checkout-listing
{
    echo "commit $COMMIT"
    echo "composefs digest $DIGEST"
    echo "checkout: $(wc -l < /work/checkout-listing) lines"
} > "$R/setup"
cp /work/checkout-listing "$R/checkout-listing"
# The file whose object is tampered with, and its object's path.
VICTIM=usr/lib/data/other
vsum=$(ostree --repo=$SRCREPO ls -C $REF /$VICTIM | awk '{print $5}')
VOBJ=ostree/repo/objects/${vsum:0:2}/${vsum:2}.file
[ ${#vsum} = 64 ] || echo "SETUP FAILED: no checksum for $VICTIM"

# ---- per library ----
s_deploy() {
    rm -rf "$SR"
    mkdir -p "$SR"
    ostree admin init-fs "$SR" && echo "init-fs ok"
    ostree --repo="$SR/ostree/repo" config set ex-integrity.composefs true
    ostree --repo="$SR/ostree/repo" config set ex-integrity.fsverity yes
    ostree admin os-init --sysroot="$SR" $OS
    with "$LIB" ostree --repo="$SR/ostree/repo" pull-local $SRCREPO $REF 2>&1 | grep -v '^[0-9]* metadata'
    libpath "$LIB" /usr/bin/ostree
    with "$LIB" ostree admin deploy --sysroot="$SR" --os=$OS --karg=rw $REF 2>&1
    echo "= deploy exit $?"
    local entry
    entry=$(ls "$SR"/boot/loader/entries/*.conf 2>/dev/null)
    echo "boot entries: $(basename "$entry")"
    local karg
    karg=$(sed -n 's/^options .*\(ostree=[^ ]*\).*/\1/p' "$entry")
    DEPLOY=$(readlink -f "$SR/${karg#ostree=}")
    echo "deployment: ${DEPLOY#"$SR"/ostree/deploy/}" | sed "s/$COMMIT/COMMIT/"
    echo "= .ostree.cfs: $(fsverity measure "$DEPLOY/.ostree.cfs" 2>&1 | awk '{print $1}' | sed "s/sha256:$DIGEST/commit's digest/")"
    local objs verity
    objs=$(find "$SR/ostree/repo/objects" -type f -name '*.file' | wc -l)
    verity=$(find "$SR/ostree/repo/objects" -type f -name '*.file' -exec fsverity measure {} + 2>/dev/null | wc -l)
    find "$SR/ostree/repo/objects" -type f -name '*.file' -exec fsverity measure {} + 2>&1 >/dev/null | sed "s#$SR/##"
    echo "= objects with verity: $verity/$objs"
    echo "$karg" > "/work/karg-$LIB"
}
# ostree-prepare-root's lcfs_mount_image call, signed mode: the image in
# the deployment, the sysroot's objects, read-only, REQUIRE_VERITY and
# the digest from the commit's metadata.
cfs_mount() { # DIGEST
    mkdir -p /run/cfs-lower
    (cd "$DEPLOY" && with "$LIB" /t/bin/test-mount -r -V -d "$1" -m /run/cfs-lower .ostree.cfs /mnt/cfs "$SR/ostree/repo/objects")
}
s_mount() {
    local d
    d=$(with "$LIB" ostree --repo="$SR/ostree/repo" show --print-metadata-key=ostree.composefs.digest.v0 $REF | hexdigest)
    [ "$d" = "$DIGEST" ] && echo "digest from the commit metadata"
    libpath "$LIB" /t/bin/test-mount
    echo "= mount: $(cfs_mount "$d")"
    mount_of /mnt/cfs | sed -e 's#/run/cfs-lower#L#g' -e "s#$SR#SR#g" -e 's/,relatime//' -e 's/relatime,//'
    same_tree /mnt/cfs
    mtimes /mnt/cfs
}
# ostree-prepare-root itself, in a mount namespace of its own: the
# sysroot at /sysroot, the boot entry's ostree= argument as the kernel
# command line, prepare-root.conf saying enabled = verity: REQUIRE_VERITY
# without a digest. (With enabled = signed it would check the commit's
# ed25519 signature and pass the commit's digest, as test-mount does here,
# but Debian's build answers "ed25519 signature validation requested, but
# support not compiled in".)
prepare_root() { # CHECK: shell text, run in that namespace on the result
    mkdir -p /sysroot
    SR=$SR LIB=$LIB unshare -m --propagation private bash -c "$(declare -f mount_of)"'
        mount --bind "$SR" /sysroot && mount -t tmpfs run /run || exit 1
        LD_LIBRARY_PATH=/t/lib-$LIB /usr/lib/ostree/ostree-prepare-root /sysroot "$(cat /work/karg-$LIB) rw" 2>&1
        rc=$?
        echo "= prepare-root exit $rc"
        [ $rc = 0 ] || exit 0
        echo "/sysroot: $(mount_of /sysroot | sed "s#$SR#SR#g")"
        [ -e /run/ostree-booted ] && echo "/run/ostree-booted written"
        '"$1"
}
s_prepare_root() {
    libpath "$LIB" /usr/lib/ostree/ostree-prepare-root
    # Functions are passed by their text: the namespace runs a new bash.
    prepare_root "$(declare -f listing same_tree readfile errtext)
        same_tree /sysroot
        cmp /sysroot/etc/os-release /sysroot/usr/etc/os-release && echo \"etc: the deployment's\"
        [ -d /sysroot/sysroot/ostree/repo ] && echo \"sysroot: the physical root\""
}
# The victim's object replaced by other bytes of the same size, with
# fs-verity of their own (what an attacker with write access can do).
tamper_object() {
    head -c "$(stat -c %s "$SR/$VOBJ")" /dev/zero | tr '\0' x > /work/evil &&
        chmod --reference="$SR/$VOBJ" /work/evil && chown --reference="$SR/$VOBJ" /work/evil &&
        fsverity enable /work/evil && rm -f "$SR/$VOBJ" && mv /work/evil "$SR/$VOBJ" &&
        echo "object replaced: $(fsverity measure "$SR/$VOBJ" | cut -c 1-20)..."
}
s_tampered_object() {
    tamper_object
    echo "= mount: $(cfs_mount "$DIGEST")"
    readfile /mnt/cfs "$VICTIM"
    readfile /mnt/cfs usr/lib/big
}
s_tampered_prepare_root() {
    prepare_root "$(declare -f readfile errtext)
        readfile /sysroot $VICTIM
        readfile /sysroot usr/lib/big"
}
s_object_without_verity() {
    # The victim's true bytes, but in a file without fs-verity.
    rm -f "$SR/$VOBJ"
    cp -p /work/checkout/$VICTIM "$SR/$VOBJ" && echo "object restored without fs-verity"
    echo "= mount: $(cfs_mount "$DIGEST")"
    readfile /mnt/cfs "$VICTIM"
}
s_swapped_image() {
    # Another commit's image (one more file), with fs-verity, in place
    # of the deployment's.
    with c ostree --repo="$SR/ostree/repo" pull-local $SRCREPO evil | grep -v '^[0-9]* metadata'
    # The repo's fs-verity setting gives the new image fs-verity.
    with c ostree --repo="$SR/ostree/repo" checkout --composefs evil /work/evil.cfs &&
        fsverity measure /work/evil.cfs >/dev/null &&
        chattr -i "$DEPLOY" && rm -f "$DEPLOY/.ostree.cfs" && mv /work/evil.cfs "$DEPLOY/.ostree.cfs" &&
        chattr +i "$DEPLOY" && echo "image swapped (the deployment is immutable: chattr -i, +i)"
    echo "= mount: $(cfs_mount "$DIGEST" 2>&1)"
    is_mounted /mnt/cfs && ls /mnt/cfs/usr/bin
    prepare_root 'ls /sysroot/usr/bin; [ -e /sysroot/usr/bin/evil ] && echo "= the swapped tree is mounted"'
}

# scenario NAME FUNCTION: runs FUNCTION (LIB is set), unmounts /mnt/cfs
# and notes any other mount or loop device it left behind.
scenario() {
    local name=$1 fn=$2 out before after
    out=$R/$LIB/$name
    before=$(state)
    "$fn" > "$out.raw" 2>&1 < /dev/null
    # Its "= " lines, joined, are the summary line on top.
    { awk '/^= / {printf "%s%s", (n++ ? "; " : ""), substr($0, 3)} END {print ""}' "$out.raw"; grep -v '^= ' "$out.raw"; } > "$out"
    rm -f "$out.raw"
    umnt /mnt/cfs
    after=$(state)
    if [ "$before" == "$after" ]; then
        echo "nothing left behind" >> "$out"
    else
        echo "left behind: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')" >> "$out"
    fi
    echo "$LIB $name done at ${SECONDS}s" > /dev/console
}
for LIB in c ours; do
    SR=/sysroots/$LIB DEPLOY=
    scenario 1-deploy s_deploy
    scenario 2-mount-digest-require-verity s_mount
    scenario 3-ostree-prepare-root s_prepare_root
    scenario 4-tampered-object s_tampered_object
    scenario 5-tampered-object-prepare-root s_tampered_prepare_root
    scenario 6-object-without-verity s_object_without_verity
    scenario 7-swapped-image s_swapped_image
done
echo "ostree-boot: all scenarios ran"
