#!/bin/bash
# libostree as a real client. In a minimal Debian unstable root (which
# ships ostree and composefs linked against libcomposefs.so.1), every tree
# is committed with `ostree commit --generate-composefs-metadata` once on
# the distribution's C library and once with our library bind-mounted over
# it; the ostree.composefs.digest.v0 values, the commit checksums (fixed
# timestamp) and the `ostree checkout --composefs` images must be
# identical. The distribution's mkcomposefs writes images of each tree on
# both libraries (byte-identical required), and its composefs-info reads
# every image, from either writer, on both libraries with identical output
# (dump, objects, missing-objects against the repo).
#
# A preloaded probe (tests-c/ostree/libprobe.c) reports the build-id of the
# libcomposefs each program mapped and the library calls it made, so no
# run can pass on the wrong library or without reaching it.
#
# Trees: the root's own /usr and the build machine's /usr/share/doc (real
# systems), generated edge cases and random trees (tests-c/ostree/gentree.py).
# C 1.0.8 aborts when ostree commits a symlink whose target needs a block
# of its own (the longlinks tree); there our images must carry every target
# to the C reader and to the kernel.
#
# The root is cached in $LCFS_OSTREE_CACHE (default /var/tmp/cfs-ostree-root;
# LCFS_OSTREE_REFRESH=1 rebuilds it); building it needs debootstrap and the
# network (~40-60 s). All mounts live in a private mount namespace and are
# also undone on exit. LCFS_TRACE=1 traces with timestamps.
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (debootstrap, chroot and bind mounts)"
    exit 77
fi

# Private mount namespace: whatever happens, no mount outlives this script.
if [ "${LCFS_OSTREE_NS:-}" != 1 ]; then
    exec unshare --mount --propagation private env LCFS_OSTREE_NS=1 bash "$0" "$@"
fi

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=${LCFS_SO_DIR:-$ROOT/target/release}
CACHE=${LCFS_OSTREE_CACHE:-/var/tmp/cfs-ostree-root}
PKGS=ostree,composefs,libcomposefs1
TIMESTAMP=2000-01-01T00:00:00Z
START=$SECONDS
[ -n "${LCFS_TRACE:-}" ] && { PS4='+ $SECONDS '; set -x; }

fail() {
    echo "FAIL: $*"
    exit 1
}
. "$ROOT/tests-c/lib/setup.sh"
need_tools debootstrap readelf python3 cc chroot findmnt flock
OURS=$(readlink -f "$SO_DIR/libcomposefs.so") && [ -f "$OURS" ] ||
    fail "our library is not built: $SO_DIR/libcomposefs.so"

# --- The Debian unstable root (cached, one builder at a time) ---------------
# shellcheck source=lib/debian-root.sh
. "$ROOT/tests-c/lib/debian-root.sh"
debian_root "$CACHE" "$PKGS"
for f in usr/bin/ostree usr/bin/mkcomposefs usr/bin/composefs-info; do
    [ -x "$R/$f" ] || fail "$R/$f is missing; remove $CACHE to rebuild"
done
C_SO=$(readlink -f "$R/usr/lib/x86_64-linux-gnu/libcomposefs.so.1")
case $C_SO in "$R"/*) ;; *) fail "no libcomposefs.so.1 in the root" ;; esac
echo "root: $(chroot "$R" dpkg-query -W -f '${Package} ${Version}, ' ostree libcomposefs1 composefs libc6)"

build_id() {
    readelf -n "$1" | sed -n 's/.*Build ID: *//p'
}
ID_C=$(build_id "$C_SO")
ID_RS=$(build_id "$OURS")
[ -n "$ID_C" ] && [ -n "$ID_RS" ] && [ "$ID_C" != "$ID_RS" ] ||
    fail "cannot tell the libraries apart by build-id ('$ID_C' vs '$ID_RS')"
echo "C library:    ${C_SO#"$R"} build-id $ID_C"
echo "our library:  $OURS build-id $ID_RS"

# --- Work area and mounts ---------------------------------------------------
WORK=$(mktemp -d /var/tmp/cfs-ostree-work.XXXXXX)
MOUNTS=()
cleanup() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}"
    done
    MOUNTS=()
    if no_mounts_under "$WORK" && no_mounts_under "$R"; then
        rm -rf "$WORK"
    else
        echo "warning: mounts remain; $WORK left in place"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mnt() { # mount ARGS... TARGET: records TARGET for cleanup
    mount "$@" || fail "mount $*"
    MOUNTS+=("${!#}")
}
bind_ro() {
    mnt --bind "$1" "$2"
    mount -o remount,bind,ro "$2" || fail "remount ro $2"
}

# The work area (repo, images, generated trees) goes on a tmpfs when this
# kernel's tmpfs takes user.* xattrs (6.6 and later): freeing it is then
# instant, where deleting ~400 MB of repo files from disk can take a minute.
mnt -t tmpfs -o size=4g,mode=0755 cfs-ostree-work "$WORK"
if ! python3 -c 'import os, sys; p = sys.argv[1] + "/x"; open(p, "w").close(); os.setxattr(p, "user.x", b"1")' "$WORK" 2>/dev/null; then
    umount "$WORK" && unset 'MOUNTS[${#MOUNTS[@]}-1]'
    echo "note: tmpfs has no user xattrs here; working on disk in $WORK"
fi
rm -f "$WORK/x"
mnt -t proc proc "$R/proc"
mnt --bind /dev "$R/dev"
mnt --bind "$WORK" "$R/mnt"
mkdir -p "$WORK"/{trees,out/c,out/rs,read/c,read/rs,probe,tmp}

cc -shared -fPIC -O1 -Wall -Werror -o "$WORK/probe.so" "$ROOT/tests-c/ostree/libprobe.c" ||
    fail "compiling the probe"

# Trees. Real ones are read-only bind mounts: sid's /usr is taken before our
# library is mounted over the C one, so both runs see the same bytes.
TREES=()
real_tree() { # NAME SOURCE
    [ -d "$2" ] || return 0
    mkdir -p "$WORK/trees/$1"
    bind_ro "$2" "$R/mnt/trees/$1"
    TREES+=("$1")
}
real_tree sid-usr "$R/usr"
real_tree host-doc /usr/share/doc
gen() { # NAME ARGS...
    python3 "$ROOT/tests-c/ostree/gentree.py" "${@:2}" "$WORK/trees/$1" || fail "gentree $*"
    TREES+=("$1")
}
gen edge edge
gen random-1 random 1
gen random-2 random 2
gen longlinks longlinks

# inroot LIB CALL LOG CMD...: runs CMD in the root and checks, from the
# probe's report, that it mapped exactly the library LIB (c or rs) and, unless
# CALL is "-", called that library function. Output goes to LOG (a path
# under $WORK); returns CMD's status.
RUNS=0
inroot() {
    local lib=$1 call=$2 log=/mnt${3#"$WORK"} want rc
    shift 3
    RUNS=$((RUNS + 1))
    local report=$WORK/probe/$RUNS
    [ "$lib" = c ] && want=$ID_C || want=$ID_RS
    # From /mnt: ostree checkout --composefs makes its temporary file in the
    # working directory and links it into place, which must be one mount.
    chroot "$R" env -i PATH=/usr/sbin:/usr/bin LC_ALL=C TMPDIR=/mnt/tmp \
        LD_PRELOAD=/mnt/probe.so LCFS_PROBE_OUT="/mnt/probe/$RUNS" \
        sh -c 'cd /mnt && exec "$@" >"$0" 2>&1' "$log" "$@"
    rc=$?
    if ! grep -q "^$want " "$report" 2>/dev/null || [ -n "$(grep -v '^call ' "$report" | grep -v "^$want ")" ]; then
        echo "FAIL: '$*' did not run on the $lib library; it mapped:"
        cat "$report" 2>/dev/null
        exit 1
    fi
    if [ "$call" != - ] && ! grep -q "^call $call\$" "$report"; then
        echo "FAIL: '$*' never called $call"
        exit 1
    fi
    CALLS=$((CALLS + $(grep -c '^call ' "$report")))
    return $rc
}
CALLS=0

hexdigest() { # the GVariant "[byte 0x12, ...]" ostree prints, as hex
    grep -o '0x[0-9a-f][0-9a-f]' "$1" | sed 's/^0x//' | tr -d '\n'
}

# write_all LIB: commits every tree (branch LIB/TREE of the one repo, so
# file contents are stored once), checks its composefs image out and has
# mkcomposefs write images of it, all on library LIB.
write_all() {
    local lib=$1 t o=$WORK/out/$1
    for t in "${TREES[@]}"; do
        if inroot "$lib" lcfs_write_to "$o/$t.commit" ostree --repo=/mnt/repo commit \
                --generate-composefs-metadata --no-bindings --timestamp=$TIMESTAMP -b "$lib/$t" \
                "/mnt/trees/$t"; then
            inroot "$lib" - "$o/$t.show" ostree --repo=/mnt/repo show \
                --print-metadata-key=ostree.composefs.digest.v0 "$lib/$t" ||
                fail "no composefs digest in the $lib commit of $t"
            hexdigest "$o/$t.show" >"$o/$t.digest"
            inroot "$lib" lcfs_write_to "$o/$t.checkout" ostree --repo=/mnt/repo checkout \
                --composefs "$lib/$t" "/mnt/out/$lib/$t.ostree.cfs" ||
                fail "ostree checkout --composefs of $t ($lib)"
        else
            echo failed >"$o/$t.digest"
        fi
        inroot "$lib" lcfs_write_to "$o/$t.mk.log" mkcomposefs "/mnt/trees/$t" "/mnt/out/$lib/$t.mk.cfs" ||
            fail "mkcomposefs $t ($lib): $(tail -n 3 "$o/$t.mk.log")"
        inroot "$lib" lcfs_write_to "$o/$t.mk1.log" mkcomposefs --min-version=1 --user-xattrs \
            --use-epoch "/mnt/trees/$t" "/mnt/out/$lib/$t.mk1.cfs" ||
            fail "mkcomposefs --min-version=1 $t ($lib): $(tail -n 3 "$o/$t.mk1.log")"
    done
}

# read_all LIB: composefs-info on every image either library wrote.
read_all() {
    local lib=$1 img name cmd
    for img in "$WORK"/out/c/*.cfs "$WORK"/out/rs/*.cfs; do
        name=$(basename "$(dirname "$img")").$(basename "$img" .cfs)
        for cmd in dump objects; do
            inroot "$lib" lcfs_load_node_from_fd_ext "$WORK/read/$lib/$name.$cmd" \
                composefs-info "$cmd" "/mnt/${img#"$WORK"/}" ||
                echo "exit $?" >>"$WORK/read/$lib/$name.$cmd"
        done
        case $img in *.ostree.cfs)
            inroot "$lib" lcfs_load_node_from_fd_ext "$WORK/read/$lib/$name.missing" composefs-info \
                --basedir=/mnt/repo/objects missing-objects "/mnt/${img#"$WORK"/}" ||
                echo "exit $?" >>"$WORK/read/$lib/$name.missing"
        esac
    done
}

t=$SECONDS
inroot c - "$WORK/out/init.log" ostree --repo=/mnt/repo init --mode=bare-user || fail "ostree init"
write_all c
mnt --bind "$OURS" "$C_SO"
write_all rs
read_all rs
umount "$C_SO" && unset 'MOUNTS[${#MOUNTS[@]}-1]'
read_all c
echo "ran $RUNS programs in the root in $((SECONDS - t)) s, each on the library it was meant to ($CALLS calls seen)"

# --- Comparisons ------------------------------------------------------------
failures=0
bad() {
    echo "  DIFF: $*"
    failures=$((failures + 1))
}
same_files() { # LABEL FILE...: all files identical
    local label=$1 first=$2 f
    shift 2
    for f in "$@"; do
        cmp -s "$first" "$f" || {
            bad "$label: ${first#"$WORK"/} vs ${f#"$WORK"/}"
            head -n 6 <<<"$(diff "$first" "$f")" | cut -c1-200 | sed 's/^/    /'
        }
    done
}

# symlinks TREE: "path target" for every symlink of a source tree.
symlinks() {
    (cd "$WORK/trees/$1" && find . -type l -printf '/%P %l\n' | sort)
}
# dump_symlinks FILE: the same from a composefs-info dump (no escapes in
# these trees' link names and targets).
dump_symlinks() {
    awk '$3 ~ /^120/ { print $1, $9 }' "$1" | sort
}

printf '\n%-10s %8s  %-64s  %s\n' tree entries "ostree.composefs.digest.v0 (C, then ours)" result
for t in "${TREES[@]}"; do
    n=$(find "$R/mnt/trees/$t" | wc -l)
    dc=$(cat "$WORK/out/c/$t.digest")
    dr=$(cat "$WORK/out/rs/$t.digest")
    result=same
    if [ "$dc" = failed ] && grep -q 'Assertion' "$WORK/out/c/$t.commit"; then
        # C 1.0.8 aborts on a symlink whose target needs a data block when
        # the node's size is unset (as ostree leaves it). Ours must write
        # an image that the C reader loads with every target intact.
        result="C aborted: $(grep -m 1 -o 'Assertion.*' "$WORK/out/c/$t.commit")"
        if [ "$dr" = failed ]; then
            bad "$t: our commit failed too: $(tail -n 2 "$WORK/out/rs/$t.commit")"
        else
            if ! cmp -s <(symlinks "$t") <(dump_symlinks "$WORK/read/c/rs.$t.ostree.dump"); then
                bad "$t: the C reader does not see our ostree image's symlinks as committed"
                head -n 4 <<<"$(diff <(symlinks "$t") <(dump_symlinks "$WORK/read/c/rs.$t.ostree.dump"))" |
                    cut -c1-120 | sed 's/^/    /'
            fi
            # The kernel, a third reader, must agree.
            mkdir -p "$WORK/kernel"
            mnt -t erofs -o loop,ro "$WORK/out/rs/$t.ostree.cfs" "$WORK/kernel"
            (cd "$WORK/kernel" && find . -type l -printf '/%P %l\n' | sort) >"$WORK/kernel.links"
            umount "$WORK/kernel" && unset 'MOUNTS[${#MOUNTS[@]}-1]'
            cmp -s <(symlinks "$t") "$WORK/kernel.links" ||
                bad "$t: the kernel does not see our ostree image's symlinks as committed"
            result="$result; ours: $(wc -l <"$WORK/kernel.links") symlinks intact for the C reader and the kernel"
        fi
    elif [ "$dc" = failed ] || [ "$dr" = failed ]; then
        bad "$t: commit failed (C: $dc, ours: $dr)"
        tail -n 3 "$WORK/out/c/$t.commit" "$WORK/out/rs/$t.commit" | sed 's/^/    /'
        result=DIFFERENT
    elif ! [[ $dc =~ ^[0-9a-f]{64}$ ]] || [ "$dc" != "$dr" ]; then
        bad "$t: composefs digest C $dc, ours $dr"
        result=DIFFERENT
    else
        same_files "$t commit checksum" "$WORK/out/c/$t.commit" "$WORK/out/rs/$t.commit"
        same_files "$t ostree image" "$WORK/out/c/$t.ostree.cfs" "$WORK/out/rs/$t.ostree.cfs"
        # The digest is the image's fs-verity digest.
        if command -v fsverity >/dev/null; then
            v=$(fsverity digest --compact "$WORK/out/rs/$t.ostree.cfs")
            [ "$v" = "$dr" ] || bad "$t: fs-verity digest of the checked-out image is $v"
        fi
    fi
    printf '%-10s %8s  %-64s  %s\n' "$t" "$n" "$dc" "$result"
    printf '%-10s %8s  %-64s\n' "" "" "$dr"
    for kind in mk mk1; do
        same_files "$t mkcomposefs image ($kind)" "$WORK/out/c/$t.$kind.cfs" "$WORK/out/rs/$t.$kind.cfs"
    done
done

# Every image, from either writer, reads the same on either library.
reads=0
for f in "$WORK"/read/c/c.*; do
    base=${f##*/c.}
    files=("$f" "$WORK/read/c/rs.$base" "$WORK/read/rs/c.$base" "$WORK/read/rs/rs.$base")
    # The longlinks ostree image exists only on our side when C aborted.
    case $base in *.ostree.*) [ -f "$WORK/out/c/${base%%.ostree.*}.ostree.cfs" ] || continue ;; esac
    same_files "composefs-info $base" "${files[@]}"
    grep -q '^exit ' "$f" && bad "composefs-info $base failed: $(grep '^exit ' "$f")"
    case $base in *.missing) [ -s "$f" ] && bad "objects missing from the repo: $(head -n 2 "$f")" ;; esac
    reads=$((reads + 1))
done
# Our ostree images for trees C could not commit: both readers agree.
for f in "$WORK"/read/rs/rs.*.ostree.*; do
    base=${f##*/rs.}
    [ -f "$WORK/out/c/${base%%.ostree.*}.ostree.cfs" ] && continue
    same_files "composefs-info $base (ours only)" "$f" "$WORK/read/c/rs.$base"
    grep -q '^exit ' "$f" && bad "composefs-info $base failed on our image: $(grep '^exit ' "$f")"
    reads=$((reads + 1))
done

echo
echo "${#TREES[@]} trees, $reads composefs-info outputs compared 4 ways (2 writers x 2 readers), $((SECONDS - START)) s in all"
if [ "$failures" -ne 0 ]; then
    echo "FAIL: $failures differences"
    exit 1
fi
echo "PASS: ostree, mkcomposefs and composefs-info give identical results on both libraries"
