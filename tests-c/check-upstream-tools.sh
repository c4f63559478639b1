#!/bin/bash
# Upstream composefs 1.0.8's five tool test scripts (check-units,
# check-checksums, check-should-fail, check-dump-filtered,
# check-random-fuse), run with OUR tools as their tools directory: a private
# directory whose mkcomposefs, composefs-info, composefs-dump and
# mount.composefs are this tree's (target/release), with our libcomposefs.so.1
# first on LD_LIBRARY_PATH. composefs-fuse, the independent reader that
# check-random-fuse mounts our images with, is upstream's: it carries its own
# EROFS reader and links no libcomposefs (checked below).
#
# Each script gets the arguments upstream's tests/meson.build gives it. A
# script passes only if it exits 0 and did its work: fuse mounts happened
# when /dev/fuse exists, fsck.erofs ran, every asset present was verified.
#
#   check-upstream-tools.sh [--tools DIR] [TEST...]
#
# --tools DIR (or LCFS_TOOLS_DIR) takes the tools from DIR instead, e.g.
# C's own build directory to check the harness itself. LCFS_UPSTREAM_SRC
# (upstream's unpacked tree) and LCFS_FUSE (its composefs-fuse) replace the
# cached upstream build where that cannot run (check-ostree-suite runs this
# script inside a sid root on the installed tools). seed=S (upstream's
# variable) makes check-random-fuse use one tree instead of ten. Prints one line per
# script and "upstream tool scripts: N/5 passed".
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
TOOLS=${LCFS_TOOLS_DIR:-$SO_DIR}
want=()
while [ $# -gt 0 ]; do
    case $1 in
    --tools) TOOLS=$2; shift 2 ;;
    *) want+=("$1"); shift ;;
    esac
done

fail() { echo "check-upstream-tools: FAIL: $*"; exit 1; }

# Inside another root (check-ostree-suite runs this in a Debian sid root
# with our packages installed) upstream's tree and composefs-fuse are given.
if [ -n "${LCFS_UPSTREAM_SRC:-}" ] && [ -n "${LCFS_FUSE:-}" ]; then
    SRC=$LCFS_UPSTREAM_SRC
    FUSE=$LCFS_FUSE
else
    CBUILD=$("$ROOT/tests-c/upstream/build.sh") || fail "could not build upstream composefs"
    SRC=$("$ROOT/tests-c/upstream/fetch.sh") || fail "no upstream source"
    FUSE=$CBUILD/tools/composefs-fuse
fi
UT=$SRC/tests
command -v python3 >/dev/null || fail "python3 is needed (upstream gendir/dumpdir)"

WORK=$(mktemp -d /var/tmp/cfs-upstream-tools.XXXXXX)
cleanup() {
    awk -v t="$WORK" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m"; done
    rm -rf -- "$WORK"
}
trap cleanup EXIT

# --- the tools directory -----------------------------------------------------
mkdir -p "$WORK/tools" "$WORK/lib" "$WORK/tmp"
so=$SO_DIR/libcomposefs.so.1
[ -e "$so" ] || so=$SO_DIR/libcomposefs.so
[ -e "$so" ] || fail "no libcomposefs.so in $SO_DIR (cargo build --release)"
ln -s "$(readlink -f "$so")" "$WORK/lib/libcomposefs.so.1"
for t in mkcomposefs composefs-info composefs-dump mount.composefs; do
    [ -x "$TOOLS/$t" ] || fail "$TOOLS/$t is missing (cargo build --release)"
    ln -s "$(readlink -f "$TOOLS/$t")" "$WORK/tools/$t"
    # Ours call the safe core directly; a tool linking the C ABI is not ours.
    if [ "$TOOLS" = "$SO_DIR" ] && grep -q libcomposefs <<<"$(ldd "$TOOLS/$t" 2>&1)"; then
        fail "$TOOLS/$t links a libcomposefs; our tools must not go through the C ABI"
    fi
done
ln -s "$FUSE" "$WORK/tools/composefs-fuse"
# test-units.sh runs its tests inside `if`, where set -e does not apply: a
# tool failing there goes unnoticed. It gets a directory of wrappers that log
# each call's exit status, and every call must succeed.
mkdir "$WORK/logged"
for t in mkcomposefs composefs-info composefs-dump mount.composefs composefs-fuse; do
    printf '#!/bin/bash
"%s" "$@"
rc=$?
echo "%s $rc" >>"%s"
exit $rc
' \
        "$WORK/tools/$t" "$t" "$WORK/units-calls" >"$WORK/logged/$t"
    chmod +x "$WORK/logged/$t"
done
if grep -q libcomposefs <<<"$(ldd "$FUSE" 2>&1)"; then
    fail "composefs-fuse links libcomposefs; make it load ours or use another reader"
fi
export LD_LIBRARY_PATH=$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export TMPDIR=$WORK/tmp
echo "tools: $(readlink -f "$TOOLS/mkcomposefs" | xargs dirname) (composefs-fuse: $FUSE)"
echo "library: $(readlink -f "$so")"

# --- the five scripts, with meson.build's arguments ---------------------------
assets=$UT/assets
checksum_assets="honggfuzz-write-inode-data.dump config.dump.gz config-with-hard-link.dump.gz special.dump longlink.dump bigfile.dump bigfile-xattr.dump special_v1.dump honggfuzz-long-symlink.dump honggfuzz-longlink-unterminated.dump honggfuzz-bigfile-with-acl.dump no-newline.dump honggfuzz-chardev-nonzero-size.dump cs9-x86_64-developer.dump.gz cs9-x86_64-minimal.dump.gz f36-x86_64-silverblue.dump.gz"
should_fail=()
for f in should-fail-long-link should-fail-empty-xattr-key should-fail-long-xattr-key \
    should-fail-long-xattr-value should-fail-honggfuzz-long-xattr should-fail-too-big \
    should-fail-no-ftype should-fail-empty-name should-fail-empty-link-name should-fail-dot-name \
    should-fail-dotdot-name should-fail-dir-hardlink should-fail-self-hardlink should-fail-big-inline; do
    should_fail+=("$assets/$f.dump")
done
T=$WORK/tools
# run_script NAME: runs one script as meson.build would (with a time limit,
# so that a hang cannot stall the run; upstream's own is 300 s).
run_script() {
    case $1 in
    check-units) timeout 900 bash "$UT/test-units.sh" "$WORK/logged" ;;
    check-checksums) timeout 900 bash "$UT/test-checksums.sh" "$T" "$assets" "$checksum_assets" ;;
    check-should-fail) timeout 900 bash "$UT/test-should-fail.sh" "$T" "${should_fail[@]}" ;;
    check-dump-filtered) timeout 900 bash "$UT/test-dump-filtered.sh" "$T" "$assets" ;;
    check-random-fuse) timeout 1500 bash "$UT/test-random-fuse.sh" "$T" ;;
    *) return 99 ;;
    esac
}
ORDER=(check-units check-checksums check-should-fail check-dump-filtered check-random-fuse)
[ ${#want[@]} -gt 0 ] && ORDER=("${want[@]}")

# did_work NAME LOG: the script's coverage, beyond its exit status.
did_work() {
    local name=$1 log=$2 opts
    opts=$(grep -m1 '^Test options:' "$log")
    if [ -n "$opts" ]; then
        [[ $opts == *has_fsck=y* ]] || { echo "fsck.erofs checks not run (install erofs-utils)"; return 1; }
        if [ -e /dev/fuse ] && [[ $opts != *has_fuse=y* ]]; then
            echo "fuse parts not run although /dev/fuse exists (fusermount, capsh?)"; return 1
        fi
    fi
    case $name in
    check-checksums)
        local a present=0 done=0
        for a in $checksum_assets; do
            [ -f "$assets/$a" ] || continue
            present=$((present + 1))
            grep -q "^ok $a " "$log" && done=$((done + 1))
        done
        echo "$done/$present assets present verified"
        [ "$done" = "$present" ] && [ "$present" -gt 0 ] ;;
    check-should-fail)
        local n
        n=$(grep -c '^ok ' "$log")
        echo "$n/${#should_fail[@]} should-fail assets refused"
        [ "$n" = "${#should_fail[@]}" ] ;;
    check-units)
        local n
        local calls failed
        n=$(grep -c '^Test .*: OK$' "$log")
        calls=$(wc -l <"$WORK/units-calls" 2>/dev/null || echo 0)
        failed=$(grep -cv ' 0$' "$WORK/units-calls" 2>/dev/null)
        echo "$n/4 unit tests OK, $calls tool calls, $failed failed"
        [ "$n" = 4 ] && [ "$calls" -ge 3 ] && [ "$failed" = 0 ] && ! grep -q "assertion failed" "$log" || {
            grep -v ' 0$' "$WORK/units-calls" 2>/dev/null | sed 's/^/failed call: /'
            return 1
        } ;;
    check-random-fuse)
        local n
        n=$(grep -c 'Mounting composefs image using fuse' "$log")
        echo "$n random trees mounted through composefs-fuse"
        [ -e /dev/fuse ] || return 0
        # Upstream's script makes one tree when $seed is set, else ten.
        [ "$n" = "$([ -n "${seed:-}" ] && echo 1 || echo 10)" ] ;;
    check-dump-filtered)
        grep -qx ok "$log" ;;
    esac
}

passed=0
for name in "${ORDER[@]}"; do
    log=$WORK/$name.log
    start=$SECONDS
    run_script "$name" >"$log" 2>&1 </dev/null
    rc=$?
    [ $rc = 99 ] && fail "unknown test '$name'"
    secs=$((SECONDS - start))
    work=$(did_work "$name" "$log")
    worked=$?
    if [ $rc = 0 ] && [ $worked = 0 ]; then
        echo "  $name OK (${secs}s) $work"
        passed=$((passed + 1))
    else
        echo "  $name FAIL (exit $rc, ${secs}s) $work"
        tail -n 15 "$log" | sed 's/^/      | /'
    fi
done
echo "upstream tool scripts: $passed/${#ORDER[@]} passed"
[ "$passed" = "${#ORDER[@]}" ]
