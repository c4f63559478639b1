#!/bin/bash
# Proves that include/libcomposefs/*.h are drop-in replacements for the
# headers of C libcomposefs 1.0.8:
#  1. after preprocessing, each header holds exactly upstream's declarations
#     and macros (order, layout and comments aside);
#  2. upstream's own programs (tools/*.c, tests/test-lcfs.c) compile with
#     -Wall -Werror against our headers, with only upstream's private headers
#     available from its tree (gcc -H confirms which public headers were read);
#  3. a file may include ours and upstream's in either order without errors.
# Exit 0 = pass, 1 = fail.
set -euo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
CC=${CC:-cc}
. "$ROOT/tests-c/lib/setup.sh"
need_tools pkg-config
pkg-config --exists fuse3 || { echo "SKIP: fuse3 headers missing (libfuse3-dev), cannot build cfs-fuse.c"; exit 77; }
UP=$("$ROOT/tests-c/upstream/fetch.sh")
OURS=$ROOT/include
PUBLIC=(lcfs-writer.h lcfs-mount.h lcfs-erofs.h)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0

# 1. Declaration-level comparison.
mkdir -p "$T/up/libcomposefs"
for h in "${PUBLIC[@]}"; do
    cp "$UP/libcomposefs/$h" "$T/up/libcomposefs/"
done
for h in "${PUBLIC[@]}"; do
    for side in ours up; do
        dir=$OURS
        [ "$side" = up ] && dir=$T/up
        printf '#include <libcomposefs/%s>\n' "$h" |
            "$CC" -E -P -dD -I"$dir" -x c - -o "$T/$side-$h.i"
    done
    echo "$h: comparing with upstream"
    if ! python3 "$ROOT/tests-c/abi/compare-decls.py" "$T/ours-$h.i" "$T/up-$h.i"; then
        echo "FAIL: $h differs from upstream"
        fail=1
    fi
done

# 2. Build upstream's programs. Their private headers (never ours to ship)
# are copied into a sandbox without the three public ones, so the public
# headers can only come from our include/ directory.
P=$T/priv
mkdir -p "$P/libcomposefs"
for f in "$UP"/libcomposefs/*.h; do
    case " ${PUBLIC[*]} " in *" $(basename "$f") "*) continue ;; esac
    cp "$f" "$P/libcomposefs/"
done
probe() { printf '%s\n' "$@" | "$CC" -x c -fsyntax-only - >/dev/null 2>&1; }
# config.h with the same results meson's configure step records on this host.
{
    echo '#define HAVE_OPENSSL 1'
    probe '#include <endian.h>' && echo '#define HAVE_ENDIAN_H 1'
    probe '#include <stdlib.h>' 'void *f(void *p) { return reallocarray(p, 1, 1); }' &&
        echo '#define HAVE_REALLOCARRAY 1'
    probe '#include <sys/mount.h>' '#include <linux/mount.h>' 'int x = MOUNT_ATTR_IDMAP;' &&
        echo '#define HAVE_MOUNT_ATTR_IDMAP 1'
    probe '#include <sys/mount.h>' 'int x = FSCONFIG_CMD_CREATE;' &&
        echo '#define HAVE_FSCONFIG_CMD_CREATE_SYS_MOUNT_H 1'
    probe '#include <sys/mount.h>' '#include <linux/mount.h>' 'int x = FSCONFIG_CMD_CREATE;' &&
        echo '#define HAVE_FSCONFIG_CMD_CREATE_LINUX_MOUNT_H 1'
    # As meson does when -fvisibility=hidden works: exercises our
    # "#ifndef LCFS_EXTERN" override.
    echo '#define LCFS_EXTERN __attribute__((visibility("default"))) extern'
} >"$P/config.h"

sources=("$UP"/tools/mkcomposefs.c "$UP"/tools/composefs-info.c
    "$UP"/tools/composefs-dump.c "$UP"/tools/mountcomposefs.c
    "$UP"/tests/test-lcfs.c)
read -r -a fuse_cflags <<<"$(pkg-config --cflags fuse3)"
sources+=("$UP"/tools/cfs-fuse.c)
for src in "${sources[@]}"; do
    name=${src#"$UP"/}
    log=$T/$(basename "$src").log
    if ! "$CC" -std=gnu11 -Wall -Werror -fsyntax-only -H \
        -I"$OURS" -I"$OURS/libcomposefs" -I"$P" -I"$P/libcomposefs" \
        "${fuse_cflags[@]}" "$src" 2>"$log"; then
        echo "FAIL: $name does not compile against our headers:"
        head -n 30 <<<"$(grep -v '^\.' "$log")"
        fail=1
        continue
    fi
    # -H lists every header read, one per line, prefixed by dots.
    used=$(grep -E '^\.+ .*/lcfs-(writer|mount|erofs)\.h$' "$log" | sed 's/^\.* //' | sort -u)
    if [ -z "$used" ]; then
        echo "FAIL: $name read none of the public headers?"
        fail=1
    elif grep -qv "^$OURS/libcomposefs/" <<<"$used"; then
        echo "FAIL: $name read a public header not from $OURS:"
        echo "$used"
        fail=1
    else
        echo "ok: $name compiles against $(echo "$used" | xargs -n1 basename | tr '\n' ' ')(all ours)"
    fi
done

# 3. Both headers in one translation unit, in both orders. (gnu11: like
# upstream's, our header needs POSIX types such as ssize_t.)
for h in "${PUBLIC[@]}"; do
    for order in ours-first upstream-first; do
        a="$OURS/libcomposefs/$h" b="$UP/libcomposefs/$h"
        [ "$order" = upstream-first ] && { a="$UP/libcomposefs/$h"; b="$OURS/libcomposefs/$h"; }
        printf '#include "%s"\n#include "%s"\nint lcfs_headers_together;\n' "$a" "$b" >"$T/both.c"
        if ! "$CC" -std=gnu11 -Wall -Werror -c "$T/both.c" -o "$T/both.o"; then
            echo "FAIL: $h together with upstream's ($order) does not compile"
            fail=1
        fi
    done
done
[ "$fail" = 0 ] && echo "ok: each header coexists with upstream's in either order"

exit "$fail"
