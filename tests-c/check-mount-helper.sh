#!/bin/bash
# Our mount.composefs against C 1.0.8's (over C's library), run directly
# and as mount(8)'s helper for `mount -t composefs`: for every case the
# exit status, stderr and, when something got mounted, the visible tree
# and the overlay's mount options must be identical.
#
# mount(8) only looks for helpers in /sbin (and /sbin/fs.d, /sbin/fs), so
# the helper runs happen in a private mount namespace where a read-only
# overlay puts the tool under test into /usr/sbin; nothing outside sees
# it, and every mount made there ends with the namespace.
#
# Needs root (exit 77 otherwise), unshare (util-linux), upstream's build.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
TOOLS=$(cd "${LCFS_TOOLS_DIR:-$ROOT/target/release}" && pwd)
NAME=check-mount-helper

if [ "$(id -u)" != 0 ]; then
    echo "$NAME: SKIP: needs root (mounts)"
    exit 77
fi
if ! command -v unshare >/dev/null; then
    echo "$NAME: FAIL: unshare not found (util-linux)"
    exit 1
fi
BUILD=$("$ROOT/tests-c/upstream/build.sh") || { echo "$NAME: FAIL: building upstream composefs failed"; exit 1; }
C_MOUNT=$BUILD/tools/mount.composefs
C_MKCFS=$BUILD/tools/mkcomposefs
OURS=$TOOLS/mount.composefs
for b in "$C_MOUNT" "$C_MKCFS" "$OURS"; do
    [ -x "$b" ] || { echo "$NAME: FAIL: $b missing"; exit 1; }
done

. "$ROOT/tests-c/lib/scratch.sh"
scratch_dir cfs-mount-helper

failures=0
checks=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A small tree with a file big enough to live in the object store.
mkdir -p "$T/src/dir" "$T/mnt" "$T/upper" "$T/work" "$T/c-sbin" "$T/ours-sbin"
head -c 20000 /dev/urandom >"$T/src/dir/big"
echo small >"$T/src/small"
ln -s dir/big "$T/src/link"
if ! "$C_MKCFS" --digest-store="$T/objs" "$T/src" "$T/img.cfs" 2>"$T/err"; then
    echo "$NAME: FAIL: mkcomposefs: $(cat "$T/err")"
    exit 1
fi
ln -s "$C_MOUNT" "$T/c-sbin/mount.composefs"
ln -s "$OURS" "$T/ours-sbin/mount.composefs"
mounts_before=$(wc -l </proc/self/mountinfo)

# The runner, sourced by both ways of calling: runs one case, then writes
# the status, stderr, and the mounted tree with the overlay's options.
cat >"$T/run-case.sh" <<'EOF'
# run_case OUT MODE ARGS...: MODE "direct" runs $HELPER, "helper" mount(8).
run_case() {
    local out=$1 mode=$2
    shift 2
    if [ "$mode" = direct ]; then
        (exec -a mount.composefs "$HELPER" "$@") >"$out.stdout" 2>"$out.stderr"
    else
        mount "$@" >"$out.stdout" 2>"$out.stderr"
    fi
    echo "status $?" >"$out.result"
    if awk -v m="$MNT" '$5 == m {f=1} END {exit !f}' /proc/self/mountinfo; then
        # Options minus the private scratch path of the image mount.
        awk -v m="$MNT" '$5 == m {print $9, $NF}' /proc/self/mountinfo |
            sed 's#/tmp/\.composefs\.[^,:]*#SCRATCH#g' >>"$out.result"
        (cd "$MNT" && find . -printf '%p %M %s %l\n' | sort) >>"$out.result"
        # Lookups that fail (no such object directory) must fail alike.
        { cksum <"$MNT/dir/big" || echo "read failed"; } >>"$out.result" 2>&1
        umount "$MNT" || echo "umount failed" >>"$out.result"
    fi
}
EOF

# compare LABEL ARGS...: runs ARGS directly with both tools.
compare() {
    local label=$1 tag
    shift
    checks=$((checks + 1))
    for tag in c ours; do
        # Overlayfs leaves state in upper and work dirs: start afresh.
        rm -rf "$T/upper" "$T/work" && mkdir "$T/upper" "$T/work"
        HELPER=$T/$tag-sbin/mount.composefs MNT=$T/mnt bash -c \
            '. "$0/run-case.sh"; cd "$0" && run_case "$0/$1" direct "${@:2}"' "$T" "$tag" "$@"
    done
    for f in result stdout stderr; do
        if ! cmp -s "$T/c.$f" "$T/ours.$f"; then
            fail "$label (direct): $f differs: C: $(cat "$T/c.$f") / ours: $(cat "$T/ours.$f")"
            return
        fi
    done
}

# compare_helper LABEL MOUNT-ARGS...: `mount -t composefs` with each tool
# installed as /sbin/mount.composefs in a private namespace.
compare_helper() {
    local label=$1 tag
    shift
    checks=$((checks + 1))
    for tag in c ours; do
        MNT=$T/mnt unshare -m --propagation private bash -c '
            mount -t overlay overlay -o "lowerdir=$0/$1-sbin:/usr/sbin" /usr/sbin || exit 99
            [ "$(readlink -f /sbin/mount.composefs)" = "$(readlink -f "$0/$1-sbin/mount.composefs")" ] || exit 98
            . "$0/run-case.sh"; cd "$0" && run_case "$0/$1" helper "${@:2}"' "$T" "$tag" "$@"
        local rc=$?
        if [ $rc != 0 ]; then
            fail "$label (mount -t, $tag): namespace set-up failed ($rc)"
            return
        fi
    done
    for f in result stdout stderr; do
        if ! cmp -s "$T/c.$f" "$T/ours.$f"; then
            fail "$label (mount -t): $f differs: C: $(cat "$T/c.$f") / ours: $(cat "$T/ours.$f")"
            return
        fi
    done
}

# Directly: mounts that work, then every way to get it wrong.
compare "plain" -o basedir=objs img.cfs mnt
compare "ro, -t, options after operands" img.cfs mnt -t composefs -o basedir=objs,ro
compare "two basedirs" -o basedir=/nonexistent:objs img.cfs mnt
compare "escaped comma" -o 'basedir=obj\,s' img.cfs mnt
compare "upper and work" -o basedir=objs,upperdir=upper,workdir=work img.cfs mnt
compare "rw after ro" -o basedir=objs,ro,rw img.cfs mnt
compare "tryverity" -o basedir=objs,tryverity img.cfs mnt
compare "last -o wins" -o bogus -o basedir=objs img.cfs mnt
compare "no arguments"
compare "-h" -h
compare "only image" img.cfs
compare "wrong type" -t ext4 -o basedir=objs img.cfs mnt
compare "missing -o value" img.cfs mnt -o
compare "unknown flag" -v -o basedir=objs img.cfs mnt
compare "long option" --verbose img.cfs mnt
compare "unknown option" -o basedir=objs,noatime img.cfs mnt
compare "empty option list" -o '' img.cfs mnt
compare "trailing comma" -o basedir=objs, img.cfs mnt
compare "no basedir" -o ro img.cfs mnt
compare "basedir without value" -o basedir img.cfs mnt
compare "empty basedir" -o basedir= img.cfs mnt
compare "basedir a::b" -o basedir=objs::objs img.cfs mnt
compare "basedir :a" -o basedir=:objs img.cfs mnt
compare "upper without work" -o basedir=objs,upperdir=upper img.cfs mnt
compare "digest without value" -o basedir=objs,digest img.cfs mnt
compare "bad digest" -o basedir=objs,digest=xyz img.cfs mnt
compare "digest, no fs-verity" -o basedir=objs,digest=0000000000000000000000000000000000000000000000000000000000000000 img.cfs mnt
compare "verity" -o basedir=objs,verity img.cfs mnt
compare "idmap missing" -o basedir=objs,idmap=/nonexistent img.cfs mnt
compare "missing image" -o basedir=objs nonexistent.cfs mnt
compare "not an image" -o basedir=objs run-case.sh mnt
compare "missing mountpoint" -o basedir=objs img.cfs nonexistent

# As mount(8)'s helper: mount adds "rw"/"ro" to -o and passes its own
# flags (-v, -n, ...) on.
compare_helper "plain" -t composefs -o basedir=objs img.cfs mnt
compare_helper "ro" -r -t composefs -o basedir=objs img.cfs mnt
compare_helper "two basedirs" -t composefs -o basedir=objs:/nonexistent img.cfs mnt
compare_helper "noatime" -t composefs -o basedir=objs,noatime img.cfs mnt
compare_helper "verbose" -v -t composefs -o basedir=objs img.cfs mnt
compare_helper "no basedir" -t composefs img.cfs mnt
compare_helper "missing image" -t composefs -o basedir=objs nonexistent.cfs mnt

if [ "$(wc -l </proc/self/mountinfo)" != "$mounts_before" ]; then
    fail "mounts left behind: $(awk -v t="$T" '$5 ~ "^"t {print $5}' /proc/self/mountinfo)"
fi
if [ $failures != 0 ]; then
    echo "$NAME: FAIL: $failures of $checks cases differ"
    exit 1
fi
echo "$NAME: PASS: $checks cases identical to C (direct and through mount -t composefs)"
