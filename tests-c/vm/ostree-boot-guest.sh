#!/bin/bash
# /t/guest.sh of the ostree boot guest (tests-c/check-ostree-boot.sh):
# tests-c/vm/init has mounted the verity disk, which holds a Debian sid
# root, at /disk. This gives that root the kernel's file systems and runs
# tests-c/vm/ostree-boot.sh chrooted into it; results go to /disk/results.
set -u
export PATH=/gnu/bin:/bin:/sbin
D=/disk
mount -t proc proc $D/proc &&
    mount -t sysfs sys $D/sys &&
    mount -t devtmpfs dev $D/dev &&
    mount -t tmpfs tmp $D/tmp &&
    mount -t tmpfs run $D/run || echo "SETUP FAILED: mounts in the root"
chroot $D /bin/bash /t/ostree-boot.sh
rc=$?
for m in run tmp dev sys proc; do
    umount $D/$m || umount -l $D/$m
done
exit $rc
