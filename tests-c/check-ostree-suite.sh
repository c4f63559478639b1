#!/bin/bash
# Our Debian packages replacing Debian's C composefs in a sid root that runs
# ostree (issue 12, point 3), and libostree's own installed test suite
# (Debian sid's ostree-tests, run by gnome-desktop-testing-runner) on both
# (issue 11, point 4). Two overlay copies of one cached sid root (ostree,
# ostree-tests and Debian's composefs, libcomposefs1): "c" keeps Debian's
# packages; in "rs" `apt-get install` (offline) puts our three .debs
# (libcomposefs1, libcomposefs-dev, composefs; tests-c/lib/build-debs.sh
# builds them once per source tree) over Debian's. Checked:
#  - the upgrade: dpkg shows our versions, `dpkg -V` is clean, and
#    libcomposefs.so.1 is our library (by GNU build-id); `ostree commit
#    --generate-composefs-metadata` of the same trees (generated edge cases
#    and random trees, the host's /usr/share/doc, sid's /etc) gives the
#    same ostree.composefs.digest.v0 before the upgrade (C) and after it
#    (ours), printed as a table;
#  - the installed tools (mkcomposefs, composefs-info, mount.composefs,
#    with the same build's composefs-dump, which no package ships) pass
#    upstream 1.0.8's five tool scripts (tests-c/check-upstream-tools.sh,
#    run inside the rs copy with upstream's composefs-fuse);
#  - the suite: every installed test must report a result; each must end
#    the same way (PASS or SKIP) in both copies and print the same TAP
#    result lines ("ok N name # SKIP reason", ...), so a sub-test that
#    skips or fails on one library only is caught too. Tests that differ or
#    fail on C are rerun once on both, so one flaky run cannot decide;
#  - reinstalling Debian's 1.0.8-3 packages restores the C library: the
#    same build-id as before, `dpkg -V` clean, no libcomposefs file dpkg
#    does not know, and the commits give the C digests again.
#
# Both suite runs go at the same time, one test at a time each (-p 1), with
# the tool scripts alongside in the rs copy; each copy is an overlay on the
# same read-only root with its own upper layer, /tmp and /var/tmp, so the
# cache is never written and the runs cannot see each other's files.
# Before and after the runs, a preloaded probe (tests-c/ostree/libprobe.c)
# shows that ostree in each copy maps the intended library (by GNU
# build-id), and every commit above is checked the same way.
#
# The root is cached in $LCFS_OSTREE_SUITE_CACHE (default
# /var/tmp/cfs-ostree-suite-root, separate from check-ostree's smaller root
# so that check's trees stay as they are); LCFS_OSTREE_REFRESH=1 rebuilds
# it; building needs debootstrap and the network (~2-3 min). All mounts live
# in a private mount namespace; processes the tests leave behind (gpg-agent)
# are stopped by pid before unmounting. LCFS_OSTREE_SUITE_JOBS sets the
# runner's -p (default 1); LCFS_OSTREE_SUITE_ONLY=PREFIX... runs only the
# tests whose names start so (e.g. libostree/test-basic); LCFS_KEEP_TMP=1
# copies the logs to a directory it names.
set -uo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (debootstrap, chroot, overlay and bind mounts)"
    exit 77
fi

# Private mount namespace: whatever happens, no mount outlives this script.
if [ "${LCFS_OSTREE_SUITE_NS:-}" != 1 ]; then
    exec unshare --mount --propagation private env LCFS_OSTREE_SUITE_NS=1 bash "$0" "$@"
fi

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
CACHE=${LCFS_OSTREE_SUITE_CACHE:-/var/tmp/cfs-ostree-suite-root}
JOBS=${LCFS_OSTREE_SUITE_JOBS:-1}
read -ra ONLY <<<"${LCFS_OSTREE_SUITE_ONLY:-libostree/}"
# Without parallel, test-admin-locking skips; the others are tools the
# tests call and skip or fail without.
EXTRA="ostree-tests gnome-desktop-testing parallel libcap2-bin strace fsverity xz-utils openssl"
EXTRA="$EXTRA file e2fsprogs sudo procps"
# fsck.erofs for upstream's tool scripts (python3, fuse3, attr and capsh
# come with the above).
EXTRA="$EXTRA erofs-utils"
START=$SECONDS

fail() {
    echo "FAIL: $*"
    exit 1
}
for tool in readelf cc ip python3 dpkg-deb; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done
# Our packages (built in sid, once per source tree) and Debian's.
DEBS=${LCFS_DEBS:-$(bash "$ROOT/tests-c/lib/build-debs.sh")} && [ -f "$DEBS/done" ] || fail "building our Debian packages"
# Upstream's tool scripts and its composefs-fuse (cached builds).
UPSTREAM=$("$ROOT/tests-c/upstream/fetch.sh") && CBUILD=$("$ROOT/tests-c/upstream/build.sh") ||
    fail "could not fetch or build upstream composefs"
FUSE=$CBUILD/tools/composefs-fuse
LIBFUSE=$(ldd "$FUSE" | awk '$1 == "libfuse3.so.3" { print $3 }')
[ -f "$LIBFUSE" ] || fail "cannot find the libfuse3 of $FUSE"

# no_mounts_under and debian_root:
# shellcheck source=lib/debian-root.sh
. "$ROOT/tests-c/lib/debian-root.sh"
debian_root "$CACHE" ostree,composefs,libcomposefs1 "$EXTRA"
TESTS_DIR=usr/share/installed-tests/libostree
[ -x "$R/usr/bin/gnome-desktop-testing-runner" ] && [ -d "$R/$TESTS_DIR" ] ||
    fail "ostree-tests or the runner is missing from $R; remove $CACHE to rebuild"
# The runner's own list of what it will run; the whole suite must be all
# the installed tests.
EXPECTED=$(chroot "$R" gnome-desktop-testing-runner --list "${ONLY[@]}" | grep -c '^libostree/')
[ "$EXPECTED" -gt 0 ] || fail "no tests match ${ONLY[*]} in $R/$TESTS_DIR"
if [ "${ONLY[*]}" = libostree/ ]; then
    n=$(find "$R/$TESTS_DIR" -maxdepth 1 -name '*.test' | wc -l)
    [ "$EXPECTED" = "$n" ] || fail "the runner lists $EXPECTED tests of the $n installed"
fi
LIBDIR=usr/lib/x86_64-linux-gnu
LIB=$LIBDIR/libcomposefs.so.1
C_SO=$(readlink -f "$R/$LIB")
case $C_SO in "$R"/*) C_SO=${C_SO#"$R"/} ;; *) fail "no $LIB in the root" ;; esac
echo "root: $(chroot "$R" dpkg-query -W -f '${Package} ${Version}, ' ostree-tests libostree-1-1 libcomposefs1 composefs gnome-desktop-testing)"
PKGS="libcomposefs1 libcomposefs-dev composefs"
deb_version() { dpkg-deb -f "$(ls "$1"/libcomposefs1_*.deb)" Version; }
V_OURS=$(deb_version "$DEBS") && V_DEBIAN=$(deb_version "$DEBS/debian") || fail "no libcomposefs1 in $DEBS"
V_ROOT=$(chroot "$R" dpkg-query -W -f '${Version}' libcomposefs1)
[ "$V_ROOT" = "$V_DEBIAN" ] ||
    fail "the root has libcomposefs1 $V_ROOT, the packages to restore are $V_DEBIAN; remove $CACHE to rebuild"
echo "packages: ours $V_OURS ($DEBS), Debian's $V_DEBIAN"

build_id() {
    readelf -n "$1" | sed -n 's/.*Build ID: *//p'
}
ID_C=$(build_id "$R/$C_SO")

# --- Two copies of the root -------------------------------------------------
WORK=$(mktemp -d /var/tmp/cfs-ostree-suite.XXXXXX)
MOUNTS=()
# stop_leftovers: stops, by pid, every process whose root is one of the
# copies (the tests leave gpg-agent running), then waits for them to go.
in_copies() {
    local p r
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        case $r in "$WORK"/*) echo "${p#/proc/}" ;; esac
    done
}
stop_leftovers() {
    local pids i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(in_copies)
        [ -z "$pids" ] && return 0
        [ "$i" = 1 ] && echo "stopping processes left in the roots:" $(for p in $pids; do
            echo "$(cat "/proc/$p/comm" 2>/dev/null)[$p]"; done)
        # shellcheck disable=SC2086
        kill $([ "$i" -gt 5 ] && echo -KILL) $pids 2>/dev/null
        sleep 1
    done
    echo "warning: processes still running in the roots: $(in_copies | tr '\n' ' ')"
}
cleanup() {
    local i keep
    stop_leftovers
    if [ -n "${LCFS_KEEP_TMP:-}" ]; then
        # $WORK may be a tmpfs: the logs go to disk.
        keep=$(mktemp -d /var/tmp/cfs-ostree-suite-logs.XXXXXX) &&
            (cd "$WORK" && cp -a --parents ./*.log* ./*.results* ./*/out "$keep"/ 2>/dev/null)
        echo "logs kept in $keep"
    fi
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}"
    done
    MOUNTS=()
    if ! no_mounts_under "$WORK"; then
        echo "warning: mounts remain; $WORK left in place"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mnt() { # mount ARGS... TARGET: records TARGET for cleanup
    mount "$@" || fail "mount $*"
    MOUNTS+=("${!#}")
}

# The copies' writable parts go on a tmpfs when this kernel's tmpfs takes
# user.* xattrs (6.6 and later; ostree's bare-user repos need them): it is
# freed at once, where deleting the tests' files from disk takes long.
mnt -t tmpfs -o size=8g,mode=0755 cfs-ostree-suite "$WORK"
if ! python3 -c 'import os, sys; p = sys.argv[1] + "/x"; open(p, "w").close(); os.setxattr(p, "user.x", b"1")' "$WORK" 2>/dev/null; then
    umount "$WORK" && unset 'MOUNTS[${#MOUNTS[@]}-1]'
    echo "note: tmpfs has no user xattrs here; working on disk in $WORK"
fi
rm -f "$WORK/x"
# Our library as our libcomposefs1 package ships it.
dpkg-deb -x "$DEBS"/libcomposefs1_*.deb "$WORK/ours-deb" || fail "unpacking our libcomposefs1"
OURS=$(readlink -f "$WORK/ours-deb/$LIB")
ID_RS=$(build_id "$OURS")
[ -n "$ID_C" ] && [ -n "$ID_RS" ] && [ "$ID_C" != "$ID_RS" ] ||
    fail "cannot tell the libraries apart by build-id ('$ID_C' vs '$ID_RS')"
echo "C library:    /$C_SO build-id $ID_C"
echo "our library:  /${OURS#"$WORK/ours-deb/"} build-id $ID_RS (package $V_OURS)"
cc -shared -fPIC -O1 -Wall -Werror -o "$WORK/probe.so" "$ROOT/tests-c/ostree/libprobe.c" ||
    fail "compiling the probe"

# copy LIB: the overlay root $WORK/LIB/root with its own /tmp, /var/tmp,
# /dev/shm, the host's /dev and a /proc, and $WORK/LIB/out as /run/cfs-out.
copy() {
    local d=$WORK/$1
    mkdir -p "$d"/{upper,work,root,tmp,vartmp,out}
    chmod 1777 "$d/tmp" "$d/vartmp"
    mnt -t overlay "cfs-ostree-suite-$1" -o "lowerdir=$R,upperdir=$d/upper,workdir=$d/work" "$d/root"
    mnt -t proc proc "$d/root/proc"
    mnt --bind /dev "$d/root/dev"
    mnt --bind /dev/pts "$d/root/dev/pts"
    mnt -t tmpfs -o mode=1777 shm "$d/root/dev/shm"
    mnt --bind "$d/tmp" "$d/root/tmp"
    mnt --bind "$d/vartmp" "$d/root/var/tmp"
    mkdir -p "$d/root/run/cfs-out"
    mnt --bind "$d/out" "$d/root/run/cfs-out"
    cp "$WORK/probe.so" "$d/out/probe.so"
    return 0
}

# probed LIB NAME WANT CALL CMD...: runs CMD in copy LIB with the probe
# preloaded (output in $WORK/LIB/out/NAME.out) and returns its status, after
# failing the check unless every libcomposefs CMD mapped has build-id WANT
# (at least one; WANT "none": no libcomposefs at all) and, unless CALL is
# "-", CMD called the library's CALL.
probed() {
    local lib=$1 name=$2 want=$3 call=$4 d=$WORK/$1 rc
    shift 4
    rm -f "$d/out/$name.probe"
    chroot "$d/root" env -i PATH=/usr/sbin:/usr/bin LC_ALL=C.UTF-8 TMPDIR=/tmp \
        LD_PRELOAD=/run/cfs-out/probe.so LCFS_PROBE_OUT="/run/cfs-out/$name.probe" \
        "$@" >"$d/out/$name.out" 2>&1
    rc=$?
    if [ "$want" = none ]; then
        if [ -s "$d/out/$name.probe" ]; then
            echo "FAIL: '$*' in the $lib copy mapped a libcomposefs:"
            cat "$d/out/$name.probe"
            exit 1
        fi
    elif ! awk -v want="$want" '!/^call / { n++; if ($1 != want) bad = 1 } END { exit bad || !n }' \
            "$d/out/$name.probe" 2>/dev/null; then
        echo "FAIL: '$*' in the $lib copy did not run on the library $want; it mapped:"
        cat "$d/out/$name.probe" 2>/dev/null
        exit 1
    fi
    if [ "$call" != - ] && ! grep -q "^call $call\$" "$d/out/$name.probe"; then
        fail "'$*' in the $lib copy never called $call"
    fi
    return $rc
}

# prove COPY WHEN [PACKAGES]: in COPY, ostree maps exactly the library of
# PACKAGES (c: Debian's, rs: ours; by default the copy's own; it comes
# through libostree, as in the tests) and mkcomposefs writes an image: C's
# through the C library, ours without any libcomposefs, as our tools use
# the Rust core directly. Images of the same tree must be identical.
prove() {
    local lib=$1 d=$WORK/$1 want=$ID_C tool=$ID_C call=lcfs_write_to
    [ "${3:-$1}" = rs ] && want=$ID_RS tool=none call=-
    probed "$lib" "$2.ostree" "$want" - ostree --version ||
        fail "'ostree --version' failed in the $lib copy: $(tail -n 3 "$d/out/$2.ostree.out")"
    probed "$lib" "$2.mkcomposefs" "$tool" "$call" mkcomposefs /usr/share/doc/ostree "/run/cfs-out/$2.cfs" ||
        fail "mkcomposefs failed in the $lib copy: $(tail -n 3 "$d/out/$2.mkcomposefs.out")"
    if [ "$lib" = rs ] && ! cmp -s "$WORK/c/out/before.cfs" "$WORK/rs/out/$2.cfs"; then
        fail "mkcomposefs images of /usr/share/doc/ostree differ (C's in the c copy, the rs copy's $2)"
    fi
}

# --- The upgrade (issue 12, point 3) -----------------------------------------
# Trees committed before the upgrade, after it and after the downgrade; none
# of them changes with the packages.
TIMESTAMP=2000-01-01T00:00:00Z
TREES=(edge random-1 random-2 host-doc sid-etc)
trees() {
    local t=$WORK/rs/out/trees
    mkdir -p "$t"
    python3 "$ROOT/tests-c/ostree/gentree.py" edge "$t/edge" &&
        python3 "$ROOT/tests-c/ostree/gentree.py" random 1 "$t/random-1" &&
        python3 "$ROOT/tests-c/ostree/gentree.py" random 2 "$t/random-2" &&
        cp -a /usr/share/doc "$t/host-doc" && cp -a "$R/etc" "$t/sid-etc" || fail "making the trees"
}

# commit_all STAGE WANT: in the rs copy, commits every tree as branch
# STAGE/TREE on library WANT (build-id) and writes "TREE DIGEST" lines to
# $WORK/STAGE.digests (the ostree.composefs.digest.v0 metadata, as hex).
commit_all() {
    local stage=$1 want=$2 t
    for t in "${TREES[@]}"; do
        probed rs "$stage-$t.commit" "$want" lcfs_write_to ostree --repo=/run/cfs-out/repo commit \
            --generate-composefs-metadata --no-bindings --timestamp=$TIMESTAMP -b "$stage/$t" \
            "/run/cfs-out/trees/$t" || fail "ostree commit of $t ($stage): $(tail -n 3 "$WORK/rs/out/$stage-$t.commit.out")"
        probed rs "$stage-$t.show" "$want" - ostree --repo=/run/cfs-out/repo show \
            --print-metadata-key=ostree.composefs.digest.v0 "$stage/$t" ||
            fail "no composefs digest in the $stage commit of $t"
        echo "$t $(grep -o '0x[0-9a-f][0-9a-f]' "$WORK/rs/out/$stage-$t.show.out" | sed 's/^0x//' | tr -d '\n')"
    done >"$WORK/$stage.digests"
}

# apt_local DIR: in the rs copy, apt-get installs every .deb of $WORK/rs/out/DIR,
# without network (downgrades allowed: Debian's after ours).
apt_local() {
    local f debs=()
    for f in "$WORK/rs/out/$1"/*.deb; do debs+=("/run/cfs-out/$1/${f##*/}"); done
    unshare --net chroot "$WORK/rs/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --allow-downgrades "${debs[@]}" \
        >"$WORK/rs/out/apt-$1.log" 2>&1 || {
        tail -n 20 "$WORK/rs/out/apt-$1.log"
        fail "apt-get install of $1 in the rs copy"
    }
}

# installed VERSION ID WHAT: in the rs copy, the three packages are at
# VERSION, dpkg -V finds nothing changed, libcomposefs.so.1 has build-id ID
# and every libcomposefs file in the libdir belongs to a package.
installed() {
    local d=$WORK/rs/root p v so id f
    for p in $PKGS; do
        v=$(chroot "$d" dpkg-query -W -f '${Version}' "$p" 2>/dev/null)
        [ "$v" = "$1" ] || fail "$3: $p is at '$v', not $1"
    done
    # shellcheck disable=SC2086
    v=$(chroot "$d" dpkg -V $PKGS 2>&1) && [ -z "$v" ] || fail "$3: dpkg -V: $v"
    so=$(chroot "$d" readlink -f "/$LIB")
    id=$(build_id "$d$so")
    [ "$id" = "$2" ] || fail "$3: /$LIB is $so with build-id '$id', not $2"
    for f in "$d/$LIBDIR"/libcomposefs*; do
        chroot "$d" dpkg -S "/${f#"$d"/}" >/dev/null 2>&1 || fail "$3: no package owns /${f#"$d"/}"
    done
    echo "ok: $3: $PKGS at $1, dpkg -V clean, $so build-id $id"
}

# tool_scripts: upstream's five tool scripts on the installed tools, in the
# rs copy (sid's glibc: the packaged binaries cannot run on the host).
# composefs-fuse is upstream's host build, with its libfuse3 beside it.
tool_scripts() {
    local d=$WORK/rs
    mkdir -p "$d/out/tools" "$d/out/fuse" "$d/root/run/cfs-src" "$d/root/run/cfs-upstream"
    ln -s /usr/bin/mkcomposefs /usr/bin/composefs-info /usr/sbin/mount.composefs \
        /run/cfs-out/composefs-dump "$d/out/tools/" &&
        cp "$DEBS/composefs-dump" "$d/out/composefs-dump" &&
        cp "$FUSE" "$d/out/fuse/composefs-fuse" && cp "$LIBFUSE" "$d/out/fuse/libfuse3.so.3" ||
        fail "preparing the tools directory"
    mnt -o bind,ro "$ROOT" "$d/root/run/cfs-src"
    mnt -o bind,ro "$UPSTREAM" "$d/root/run/cfs-upstream"
    # Upstream's scripts use fuse only where /etc/mtab exists.
    [ -e "$d/root/etc/mtab" ] || [ -L "$d/root/etc/mtab" ] || ln -s ../proc/self/mounts "$d/root/etc/mtab"
    for t in mkcomposefs composefs-info mount.composefs; do
        grep -q libcomposefs <<<"$(chroot "$d/root" ldd "$(readlink "$d/out/tools/$t")" 2>&1)" &&
            fail "the installed $t links a libcomposefs; our tools must not go through the C ABI"
    done
    chroot "$d/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 HOME=/root TMPDIR=/var/tmp \
        LCFS_ROOT=/run/cfs-src LCFS_SO_DIR=/$LIBDIR LCFS_TOOLS_DIR=/run/cfs-out/tools \
        LCFS_UPSTREAM_SRC=/run/cfs-upstream LCFS_FUSE=/run/cfs-out/fuse/composefs-fuse \
        LD_LIBRARY_PATH=/run/cfs-out/fuse bash /run/cfs-src/tests-c/check-upstream-tools.sh \
        >"$WORK/tools.log" 2>&1
    echo "exit $?" >>"$WORK/tools.log"
}

# suite LIB RUN [TEST...]: runs the runner in copy LIB (the chosen tests, or
# the named ones) with per-test logs in $WORK/LIB/out/logs-RUN, and writes
# "NAME RESULT TAP-HASH TAP-COUNT" lines to $WORK/LIB.results: the runner's
# verdict and, from the test's own TAP output, a hash and count of its
# "ok"/"not ok" lines and plan, kept in $WORK/LIB/out/tap-RUN/. A test
# whose plan is "1..0" skipped itself as a whole: the runner calls that a
# pass (it counts only exit status 77 as a skip), here it is SKIP.
suite() {
    local lib=$1 d=$WORK/$1 log=$WORK/$1.log run=$2 name result f tap
    shift 2
    [ $# = 0 ] && set -- "${ONLY[@]}"
    mkdir -p "$d/out/logs-$run" "$d/out/tap-$run"
    # Each run gets its own network namespace: tests start HTTP servers on
    # fixed ports (test-commit-sign: 18081), which would collide.
    unshare --net sh -c 'ip link set lo up && exec "$@"' sh \
        chroot "$d/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root USER=root LOGNAME=root \
        LANG=C.UTF-8 TMPDIR=/tmp OSTREE_TEST_SUDO=1 \
        timeout 3000 nice -n 10 gnome-desktop-testing-runner -p "$JOBS" -t 600 \
        -L "/run/cfs-out/logs-$run" "$@" >"$log" 2>&1
    echo "runner exit $?" >>"$log"
    # The runner repeats failing tests' lines in its summary.
    sed -n 's/^\(PASS\|FAIL\|SKIP\|ERROR\|TIMEOUT\): \(libostree\/[^ ]*\.test\).*/\2 \1/p' "$log" |
        sort -u | while read -r name result; do
            f=$d/out/logs-$run/${name//\//_}.txt
            tap=$d/out/tap-$run/${name//\//_}
            grep -E '^(not )?ok( |$)|^1\.\.[0-9]' "$f" >"$tap" 2>/dev/null
            [ "$result" = PASS ] && grep -q '^1\.\.0\b' "$tap" && result=SKIP
            echo "$name $result $(sha256sum <"$tap" | cut -c1-16) $(grep -cE '^(not )?ok' "$tap")"
        done | sort >"$WORK/$lib.results"
}

copy c
prove c before
copy rs
mkdir -p "$WORK/rs/out/debs" "$WORK/rs/out/debian-debs"
for p in $PKGS; do
    cp "$DEBS/${p}_$V_OURS"_*.deb "$WORK/rs/out/debs/" && cp "$DEBS/debian/${p}_$V_DEBIAN"_*.deb "$WORK/rs/out/debian-debs/" ||
        fail "copying the $p packages"
done
trees
probed rs init "$ID_C" - ostree --repo=/run/cfs-out/repo init --mode=bare-user || fail "ostree init"
t=$SECONDS
commit_all c-before "$ID_C"
apt_local debs
installed "$V_OURS" "$ID_RS" "our packages installed over Debian's"
commit_all ours "$ID_RS"
prove rs before
echo "upgrade and $((2 * ${#TREES[@]})) commits: $((SECONDS - t)) s"

# --- The two runs, and the tool scripts beside them ---------------------------
t=$SECONDS
declare -A PID SECS
for lib in c rs; do
    (s=$SECONDS; suite $lib 1; echo $((SECONDS - s)) >"$WORK/$lib.secs") &
    PID[$lib]=$!
done
# The runs mostly wait (about 2.5 CPU-minutes each); the scripts fit beside them.
(s=$SECONDS; tool_scripts; echo $((SECONDS - s)) >"$WORK/tools.secs") &
PID[tools]=$!
for lib in c rs tools; do
    wait "${PID[$lib]}"
    SECS[$lib]=$(cat "$WORK/$lib.secs" 2>/dev/null || echo '?')
done
echo "both runs done in $((SECONDS - t)) s (C: ${SECS[c]} s, ours: ${SECS[rs]} s, -p $JOBS each;" \
    "tool scripts: ${SECS[tools]} s)"
for lib in c rs; do
    prove $lib after
done

# --- Comparison -------------------------------------------------------------
counts() { # FILE: "N pass, N fail, N skip; N TAP results"
    awk '{ n[$2]++; t += $4 }
        END { printf "%d pass, %d fail, %d skip; %d TAP results", n["PASS"],
            n["FAIL"] + n["ERROR"] + n["TIMEOUT"], n["SKIP"], t }' "$1"
}
both() { # NAME C-RESULT C-TAP RS-RESULT RS-TAP per test, either side "none" if missing
    join -a 1 -a 2 -e none -o 0,1.2,1.3,2.2,2.3 "$WORK/c.results" "$WORK/rs.results"
}
# A test is good when both libraries give the same verdict and TAP lines and
# the verdict is a pass or skip.
BAD='$2 != $4 || $3 != $5 || ($2 != "PASS" && $2 != "SKIP")'
for lib in c rs; do
    tail -n 2 "$WORK/$lib.log" | sed "s/^/  $lib: /"
    n=$(wc -l <"$WORK/$lib.results")
    [ "$n" = "$EXPECTED" ] || {
        tail -n 30 "$WORK/$lib.log"
        fail "the $lib run reported $n results for $EXPECTED installed tests"
    }
done
echo "C:    $(counts "$WORK/c.results")"
echo "ours: $(counts "$WORK/rs.results")"

# Tests that differ, or that did not pass or skip on C, get a second run on
# both libraries (one after the other; they are few).
again=$(both | awk "$BAD { print \$1 }")
if [ -n "$again" ]; then
    echo "rerunning on both libraries: $(echo $again)"
    for lib in c rs; do
        mv "$WORK/$lib.results" "$WORK/$lib.results.1"
        mv "$WORK/$lib.log" "$WORK/$lib.log.1"
        # shellcheck disable=SC2086
        suite $lib 2 $again
        join -v 1 "$WORK/$lib.results.1" <(echo "$again" | sort) | cat - "$WORK/$lib.results" |
            sort >"$WORK/$lib.results.2"
        mv "$WORK/$lib.results.2" "$WORK/$lib.results"
    done
    echo "after the reruns: C $(counts "$WORK/c.results"); ours $(counts "$WORK/rs.results")"
fi

# last LIB NAME KIND: the test's newest file of KIND (logs or tap).
last() {
    local f=$WORK/$1/out/$3-2/${2//\//_}
    [ "$3" = logs ] && f=$f.txt
    [ -f "$f" ] || f=${f/"/$3-2/"/"/$3-1/"}
    echo "$f"
}
failures=0
while read -r name c ctap rs rstap; do
    if [ "$c" != "$rs" ]; then
        echo "  DIFF: $name: C $c, ours $rs"
    elif [ "$ctap" != "$rstap" ]; then
        echo "  DIFF: $name: both $c, but their TAP results differ (C <, ours >):"
        head -n 10 <<<"$(diff "$(last c "$name" tap)" "$(last rs "$name" tap)" | grep '^[<>]')" | sed 's/^/    /'
    else
        echo "  C run broken: $name: $c on both libraries"
    fi
    failures=$((failures + 1))
    for lib in c rs; do
        tail -n 12 "$(last $lib "$name" logs)" | cut -c1-200 | sed "s/^/    $lib| /"
    done
done < <(both | awk "$BAD")
echo "skipped on both: $(awk '$2 == "SKIP" { printf "%s ", $1 }' "$WORK/c.results")"
echo "$EXPECTED tests on each library"
if [ "$failures" -ne 0 ]; then
    echo "FAIL: $failures tests did not pass or skip alike on both libraries"
    suite_ok=0
else
    echo "ok: libostree's $EXPECTED installed tests give the same results on both libraries"
    suite_ok=1
fi

# --- The tool scripts ---------------------------------------------------------
sed 's/^/  /' "$WORK/tools.log"
tools_ok=0
grep -qx 'exit 0' "$WORK/tools.log" && grep -q '^upstream tool scripts: 5/5 passed$' "$WORK/tools.log" &&
    tools_ok=1
[ "$tools_ok" = 1 ] && echo "ok: the installed tools pass upstream's 5 tool scripts" ||
    echo "FAIL: the installed tools did not pass upstream's tool scripts"

# --- Back to Debian's packages (after any rerun, which needs ours) ------------
apt_local debian-debs
installed "$V_DEBIAN" "$ID_C" "Debian's packages reinstalled"
commit_all c-after "$ID_C"
prove rs restored c

# --- The digests before, during and after -------------------------------------
printf '\n%-9s %7s  %-64s  %-64s  %s\n' tree entries "ostree.composefs.digest.v0 with C (Debian's)" \
    "with ours (after the upgrade)" "C again"
digests_ok=1
for t in "${TREES[@]}"; do
    dc=$(awk -v t="$t" '$1 == t { print $2 }' "$WORK/c-before.digests")
    dr=$(awk -v t="$t" '$1 == t { print $2 }' "$WORK/ours.digests")
    da=$(awk -v t="$t" '$1 == t { print $2 }' "$WORK/c-after.digests")
    [ ${#dc} = 64 ] && [ "$dr" = "$dc" ] || digests_ok=0
    [ "$da" = "$dc" ] && a=same || { a="DIFF: $da"; digests_ok=0; }
    printf '%-9s %7s  %-64s  %-64s  %s\n' "$t" "$(find "$WORK/rs/out/trees/$t" | wc -l)" "$dc" "$dr" "$a"
done
[ "$digests_ok" = 1 ] && echo "ok: ${#TREES[@]} trees commit to the same composefs digests on C, ours and C again" ||
    echo "FAIL: composefs digests changed with the packages"

echo "$((SECONDS - START)) s in all"
if [ "$suite_ok$tools_ok$digests_ok" != 111 ]; then
    exit 1
fi
echo "PASS: our packages replace Debian's and back; libostree's $EXPECTED installed tests, upstream's tool scripts and ostree's composefs digests agree"
