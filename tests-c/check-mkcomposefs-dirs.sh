#!/bin/bash
# Upstream's mkcomposefs building images from directories (lcfs_build, then
# lcfs_node_set_from_content from its own threads, then lcfs_write_to), run
# once over our libcomposefs.so.1 and once over C's, for every option it
# offers that changes the result: the flag grid (--use-epoch, --skip-xattrs,
# --user-xattrs, --skip-devices; all 16 subsets, the refused one included),
# format versions, --threads, --print-digest(-only) and --digest-store.
# Exit status, stdout (digests), stderr, the image and the digest store
# (file list, modes, sizes, contents) must be byte-identical.
#
# Trees: upstream's tests/gendir (plain, --privileged, --unreadable, the
# last also as user nobody), a tree of special cases (hard links, whiteouts,
# overlay xattrs, fifos, sockets, inline-size boundaries, long names, a path
# deeper than PATH_MAX) and real trees of this machine.
set -uo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=$(cd "${LCFS_SO_DIR:-$ROOT/target/release}" && pwd)
. "$ROOT/tests-c/lib/setup.sh"
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (device nodes, trusted xattrs, runs as user nobody)"
    exit 77
fi
need_tools python3 setfattr setpriv mknod mkfifo truncate
SRC=$("$ROOT/tests-c/upstream/fetch.sh") || { echo "SKIP: no upstream source (download failed, see above)"; exit 77; }
setup_begin
CBUILD=$("$ROOT/tests-c/upstream/build.sh") || { echo "FAIL: building the C oracle failed"; exit 1; }

WORK=$(mktemp -d /tmp/lcfs-mkcfs-dirs.XXXXXX)
trap 'chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf -- "$WORK"' EXIT
chmod 755 "$WORK"

# Private copies (not symlinks), so that user nobody can run them too.
mkdir -p "$WORK/ours" "$WORK/c" "$WORK/out"
chmod 777 "$WORK/out"
so=$SO_DIR/libcomposefs.so.1
[ -e "$so" ] || so=$SO_DIR/libcomposefs.so
cp "$so" "$WORK/ours/libcomposefs.so.1"
cp "$CBUILD/libcomposefs/libcomposefs.so.1" "$WORK/c/libcomposefs.so.1"
cp "$CBUILD/tools/mkcomposefs" "$WORK/mkcomposefs"
chmod -R a+rX "$WORK/ours" "$WORK/c" "$WORK/mkcomposefs"
if ! grep -qF "$WORK/ours/libcomposefs.so.1" <<<"$(LD_LIBRARY_PATH=$WORK/ours ldd "$WORK/mkcomposefs")"; then
    echo "FAIL: mkcomposefs does not pick up our library"
    exit 1
fi
setup_end

cases=0
identical=0
failures=0
bothfail=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# One run with library LIB (ours|c) as USER (root|nobody); results go to
# $WORK/res.LIB.{rc,out,err,img,store}. Output paths are the same for both
# libraries so that messages naming them compare equal.
run_one() { # LIB USER TREE ARGS...
    local lib=$1 user=$2 tree=$3
    shift 3
    local img=$WORK/out/image store=$WORK/out/store pre=()
    rm -rf "$img" "$store"
    local args=()
    for a in "$@"; do args+=("${a//@STORE@/$store}"); done
    if [ "$user" = nobody ]; then
        pre=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    fi
    local dest=("$img")
    case " $* " in *" --print-digest-only "*) dest=() ;; esac
    "${pre[@]}" env LD_LIBRARY_PATH="$WORK/$lib" "$WORK/mkcomposefs" "${args[@]}" "$tree" "${dest[@]}" \
        >"$WORK/res.$lib.out" 2>"$WORK/res.$lib.err"
    echo $? >"$WORK/res.$lib.rc"
    rm -rf "$WORK/res.$lib.img" "$WORK/res.$lib.store"
    [ -e "$img" ] && mv "$img" "$WORK/res.$lib.img"
    if [ -d "$store" ]; then
        # Layout, modes, sizes and a hash of every stored object.
        (cd "$store" && find . -printf '%P %y %m %s\n' | LC_ALL=C sort &&
            find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum) >"$WORK/res.$lib.store"
    fi
}

compare() { # LABEL USER TREE ARGS...
    local label=$1 user=$2 tree=$3
    shift 3
    cases=$((cases + 1))
    run_one c "$user" "$tree" "$@"
    run_one ours "$user" "$tree" "$@"
    local what
    for what in rc out err; do
        if ! cmp -s "$WORK/res.c.$what" "$WORK/res.ours.$what"; then
            fail "$label [$*]: $what differs: C=$(head -c 300 "$WORK/res.c.$what" | tr '\n' ' ') ours=$(head -c 300 "$WORK/res.ours.$what" | tr '\n' ' ')"
            return
        fi
    done
    for what in img store; do
        if [ -e "$WORK/res.c.$what" ] || [ -e "$WORK/res.ours.$what" ]; then
            if ! cmp "$WORK/res.c.$what" "$WORK/res.ours.$what" >"$WORK/cmp" 2>&1; then
                fail "$label [$*]: $what differs: $(head -1 "$WORK/cmp")"
                return
            fi
        fi
    done
    # A success really produced something worth comparing.
    if [ "$(cat "$WORK/res.c.rc")" = 0 ]; then
        case " $* " in
        *" --print-digest-only "*) ;;
        *) [ -s "$WORK/res.c.img" ] || { fail "$label [$*]: no image written"; return; } ;;
        esac
        case " $* " in
        *" --print-digest"*) grep -qxE '[0-9a-f]{64}' "$WORK/res.c.out" || { fail "$label [$*]: no digest printed"; return; } ;;
        esac
        case " $* " in
        *" --digest-store="*) [ -s "$WORK/res.c.store" ] || { fail "$label [$*]: empty digest store"; return; } ;;
        esac
    fi
    identical=$((identical + 1))
    if [ "$(cat "$WORK/res.c.rc")" != 0 ]; then
        bothfail=$((bothfail + 1))
        # Names from gendir are random bytes; keep the log printable.
        echo "ok $label [$*]: both fail alike: $(head -1 "$WORK/res.c.err" | LC_ALL=C tr -c '[:print:]\n' '?')"
    fi
}

# The 16 subsets of the flag options, one per line.
FLAGOPTS=(--use-epoch --skip-xattrs --user-xattrs --skip-devices)
flag_grid() {
    local m i set
    for m in $(seq 0 15); do
        set=""
        for i in 0 1 2 3; do
            if [ $((m >> i & 1)) = 1 ]; then set+=" ${FLAGOPTS[$i]}"; fi
        done
        echo "$set"
    done
}

grid() { # LABEL USER TREE [EXTRA...]: every flag subset, with --print-digest
    local label=$1 user=$2 tree=$3 set
    shift 3
    while read -r set; do
        # shellcheck disable=SC2086 # the set is a word list
        compare "$label" "$user" "$tree" --print-digest $set "$@"
    done < <(flag_grid)
}

extras() { # LABEL TREE: the options besides the flag grid
    local label=$1 tree=$2
    compare "$label" root "$tree"
    compare "$label" root "$tree" --print-digest-only
    compare "$label" root "$tree" --print-digest-only --use-epoch --skip-devices
    compare "$label" root "$tree" --print-digest --max-version=0
    compare "$label" root "$tree" --print-digest --min-version=0 --max-version=1
    compare "$label" root "$tree" --print-digest --min-version=1 --max-version=1
    compare "$label" root "$tree" --print-digest --min-version=1
    compare "$label" root "$tree" --print-digest --min-version=2 --max-version=2
    compare "$label" root "$tree" --print-digest --threads=1
    compare "$label" root "$tree" --print-digest --threads=7 --user-xattrs
    compare "$label" root "$tree" --print-digest --digest-store=@STORE@
    compare "$label" root "$tree" --print-digest --digest-store=@STORE@ --use-epoch --skip-xattrs --threads=1
}

gen() { python3 "$SRC/tests/gendir" --seed "$@" >/dev/null; }
setup_begin
gen 1 --privileged "$WORK/g-priv"
gen 3 "$WORK/g-plain"
gen 5 --unreadable "$WORK/g-unread"
chmod 755 "$WORK/g-unread"

# Special cases gendir does not make.
S=$WORK/special
mkdir -p "$S/d/empty" "$S/wh" "$S/hl"
printf 'shared content of a hard link\n' >"$S/hl/a"
ln "$S/hl/a" "$S/hl/b"
ln "$S/hl/a" "$S/d/c"
head -c 64 /dev/urandom >"$S/inline64"
head -c 65 /dev/urandom >"$S/ext65"
: >"$S/empty"
truncate -s 20M "$S/sparse"; printf tail >>"$S/sparse"
mknod "$S/wh/whiteout" c 0 0
mknod "$S/wh/char" c 1 3
mknod "$S/blk" b 7 0
mkfifo "$S/fifo"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$S/sock"
setfattr -n trusted.overlay.opaque -v y "$S/d"
setfattr -n trusted.overlay.redirect -v /x "$S/hl/a"
setfattr -n user.overlay.opaque -v y "$S/wh"
setfattr -n user.empty "$S/inline64"
setfattr -n security.test -v abc "$S/ext65"
ln -s "$(head -c 1000 /dev/zero | tr '\0' x)" "$S/longlink"
ln -s /nonexistent "$S/dangling"
touch "$S/$(head -c 255 /dev/zero | tr '\0' n)"
touch -h -d '2001-02-03 04:05:06.123456789' "$S/dangling" "$S/inline64"

# A directory nested deeper than PATH_MAX: lcfs_build walks it relative to
# each directory, mkcomposefs's content pass opens full paths and fails.
D=$WORK/deep
mkdir "$D"
(cd "$D" && for _ in $(seq 40); do
    n=$(head -c 200 /dev/zero | tr '\0' d)
    mkdir "$n" && cd "$n" || exit 1
done && echo deep >file)
setup_end

# Directory sources, every flag subset.
grid gendir-privileged root "$WORK/g-priv"
extras gendir-privileged "$WORK/g-priv"
grid gendir-plain root "$WORK/g-plain"
grid special root "$S"
extras special "$S"
grid /etc root /etc
# Unreadable files and directories: readable to root, refused to nobody.
for set in "" "--use-epoch --skip-devices" "--skip-xattrs" "--user-xattrs"; do
    # shellcheck disable=SC2086
    compare gendir-unreadable root "$WORK/g-unread" --print-digest $set
    # shellcheck disable=SC2086
    compare gendir-unreadable-as-nobody nobody "$WORK/g-unread" --print-digest $set
done
compare gendir-unreadable-as-nobody nobody "$WORK/g-unread" --print-digest-only --threads=1
compare deep root "$D" --print-digest
compare deep root "$D" --print-digest --use-epoch
for t in /usr/include/linux /usr/lib/python3 /usr/share/doc; do
    [ -d "$t" ] || continue
    compare "$t" root "$t" --print-digest
    compare "$t" root "$t" --print-digest --use-epoch --skip-xattrs --skip-devices
done
compare nonexistent root "$WORK/does-not-exist" --print-digest
compare a-file root "$S/inline64" --print-digest

echo "mkcomposefs directory differential: $cases cases, $identical identical ($bothfail of them failing alike), $failures failures"
[ "$failures" -eq 0 ]
