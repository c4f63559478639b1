#!/bin/bash
# Proves the installation works for consumers:
#  - install.sh lays out, under a staging DESTDIR, the real file
#    libcomposefs.so.X.Y.Z (SONAME libcomposefs.so.1), the .so.1 and .so
#    symlinks, libcomposefs.a, the three headers, composefs.pc, the tools
#    mkcomposefs and composefs-info (bindir) and mount.composefs (sbindir)
#    and the man pages present in man/ (mandir/manN), for the default
#    prefix, a multiarch libdir and absolute directories, and nothing else;
#  - pkg-config resolves composefs from there (PKG_CONFIG_SYSROOT_DIR), and
#    so does the Rust pkg-config crate;
#  - the README's C example is identical to tests-c/example/example.c, which
#    builds with `cc example.c $(pkg-config --cflags --libs composefs)` and
#    runs against the staged library;
#  - meson install produces exactly the same tree as install.sh.
set -euo pipefail

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/tests-c/lib/setup.sh"
need_tools cargo pkg-config meson ninja objdump
CC=${CC:-cc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

version=$(cargo pkgid --manifest-path "$ROOT/Cargo.toml")
version=${version##*[#@]}
major=${version%%.*}
pc_version=$(sed -n 's/^Version:[[:space:]]*//p' "$ROOT/composefs.pc.in")
multiarch=$("$CC" -print-multiarch 2>/dev/null || true)
libsub=lib/${multiarch:-64}
[ -n "$multiarch" ] || libsub=lib64

# The man pages this tree has (others are not installed yet).
pages=()
for page in mkcomposefs.1 composefs-info.1 mount.composefs.8 composefs-dump.5; do
    [ -f "$ROOT/man/$page" ] && pages+=("$page")
done
echo "man pages in man/: ${pages[*]:-none}"

# check_tree DESTDIR PREFIX LIBDIR INCLUDEDIR BINDIR SBINDIR MANDIR: the
# staged tree is exactly what an installation with these directories must
# contain.
check_tree() {
    local d=$1 prefix=$2 libdir=$3 inc=$4 bindir=$5 sbindir=$6 mandir=$7 l h p
    l=$d$libdir
    (cd "$d" && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\.||' | sort) >"$T/got"
    {
        printf '%s\n' "$libdir/libcomposefs.so" "$libdir/libcomposefs.so.$major" \
            "$libdir/libcomposefs.so.$version" "$libdir/libcomposefs.a" \
            "$libdir/pkgconfig/composefs.pc" \
            "$inc/libcomposefs/lcfs-erofs.h" "$inc/libcomposefs/lcfs-mount.h" \
            "$inc/libcomposefs/lcfs-writer.h" "$bindir/mkcomposefs" "$bindir/composefs-info" \
            "$sbindir/mount.composefs"
        for p in "${pages[@]}"; do echo "$mandir/man${p##*.}/$p"; done
    } | sort >"$T/want"
    diff -u "$T/want" "$T/got" || { bad "$d: unexpected file list"; return; }
    for p in "$bindir/mkcomposefs" "$bindir/composefs-info" "$sbindir/mount.composefs"; do
        if [ -f "$d$p" ] && [ ! -L "$d$p" ] && [ "$(stat -c %a "$d$p")" = 755 ] &&
            [[ $(file -b "$d$p") == ELF*executable* ]]; then
            :
        else
            bad "$p is not a real 0755 ELF executable"
        fi
    done
    for p in "${pages[@]}"; do
        cmp -s "$ROOT/man/$p" "$d$mandir/man${p##*.}/$p" || bad "$mandir/man${p##*.}/$p differs from man/$p"
    done
    [ "$(stat -c %a "$l/libcomposefs.a")" = 644 ] || bad "libcomposefs.a mode is not 0644"
    if [ -f "$l/libcomposefs.so.$version" ] && [ ! -L "$l/libcomposefs.so.$version" ] &&
        [ "$(readlink "$l/libcomposefs.so.$major")" = "libcomposefs.so.$version" ] &&
        [ "$(readlink "$l/libcomposefs.so")" = "libcomposefs.so.$major" ]; then
        ok "$libdir: libcomposefs.so -> .so.$major -> .so.$version (real file)"
    else
        bad "$libdir: wrong library file/symlinks"; ls -l "$l"
    fi
    if grep -q "SONAME *libcomposefs.so.$major\$" <<<"$(objdump -p "$l/libcomposefs.so.$version")"; then
        ok "installed library has SONAME libcomposefs.so.$major"
    else
        bad "installed library lacks SONAME libcomposefs.so.$major"
    fi
    for h in lcfs-writer.h lcfs-mount.h lcfs-erofs.h; do
        cmp -s "$ROOT/include/libcomposefs/$h" "$d$inc/libcomposefs/$h" ||
            bad "$inc/libcomposefs/$h differs from include/"
    done
    printf '%s\n' "prefix=$prefix" "libdir=$libdir" "includedir=$inc" "" "Name: composefs" \
        "Description: Build, inspect and mount composefs images" "Version: $pc_version" \
        'Libs: -L${libdir} -lcomposefs' \
        "# libcomposefs.a needs what rustc's --print native-static-libs lists, less" \
        '# -lgcc_s: the compiler driver adds the unwinder (libgcc_eh under -static).' \
        'Libs.private: -lutil -lrt -lpthread -lm -ldl -lc' 'Cflags: -I${includedir}' >"$T/pc"
    if diff -u "$T/pc" "$l/pkgconfig/composefs.pc"; then
        ok "composefs.pc names $libdir and $inc"
    else
        bad "composefs.pc content"
    fi
}

# 1. Three layouts.
"$ROOT/install.sh" --prefix /usr --libdir "$libsub" --destdir "$T/a" >"$T/log" 2>&1 ||
    { cat "$T/log"; bad "install.sh --prefix /usr --libdir $libsub"; exit 1; }
check_tree "$T/a" /usr "/usr/$libsub" /usr/include /usr/bin /usr/sbin /usr/share/man
DESTDIR=$T/b "$ROOT/install.sh" --no-build >"$T/log" 2>&1 ||
    { cat "$T/log"; bad "install.sh with defaults"; exit 1; }
check_tree "$T/b" /usr/local /usr/local/lib /usr/local/include /usr/local/bin /usr/local/sbin \
    /usr/local/share/man
"$ROOT/install.sh" --no-build --prefix=/opt/cfs --libdir=/opt/cfs/lib64 --bindir=/opt/b \
    --sbindir=/opt/s --mandir=man --destdir="$T/c" >"$T/log" 2>&1 ||
    { cat "$T/log"; bad "install.sh with absolute directories"; exit 1; }
check_tree "$T/c" /opt/cfs /opt/cfs/lib64 /opt/cfs/include /opt/b /opt/s /opt/cfs/man

# 2. pkg-config against the first layout; system .pc files are kept out.
export PKG_CONFIG_SYSROOT_DIR=$T/a
export PKG_CONFIG_LIBDIR=$T/a/usr/$libsub/pkgconfig
export PKG_CONFIG_PATH=$PKG_CONFIG_LIBDIR
flags=$(pkg-config --cflags --libs composefs)
want="-I$T/a/usr/include -L$T/a/usr/$libsub -lcomposefs"
if [ "$(echo $flags)" = "$want" ] && [ "$(pkg-config --modversion composefs)" = "$pc_version" ]; then
    ok "pkg-config composefs $pc_version: $flags"
else
    bad "pkg-config gave '$flags', want '$want'"
fi

# 3. The README example, built as the README says and run.
awk '/^```c$/ { on = 1; next } /^```$/ { if (on) exit } on' "$ROOT/README.md" >"$T/readme-example.c"
if [ -s "$T/readme-example.c" ] && diff -u "$ROOT/tests-c/example/example.c" "$T/readme-example.c"; then
    ok "README example is tests-c/example/example.c"
else
    bad "README's C example and tests-c/example/example.c differ"
fi
cp "$ROOT/tests-c/example/example.c" "$T/example.c"
# shellcheck disable=SC2046 # word splitting of pkg-config output is the point
if (cd "$T" && "$CC" example.c $(pkg-config --cflags --libs composefs) -o example); then
    out=$(LD_LIBRARY_PATH=$T/a/usr/$libsub "$T/example")
    loaded=$(LD_LIBRARY_PATH=$T/a/usr/$libsub ldd "$T/example" | awk '/libcomposefs/ { print $3 }')
    expect='1 entry: hello.txt -> 6a/b1c2d3, user.origin=demo'
    if [ "$out" = "$expect" ] && [ "$loaded" = "$T/a/usr/$libsub/libcomposefs.so.$major" ]; then
        ok "example built with pkg-config flags runs against $loaded: $out"
    else
        bad "example printed '$out' (want '$expect'), loaded '$loaded'"
    fi
else
    bad "example does not compile with pkg-config's flags"
fi

# 4. The Rust pkg-config crate, through a unit test that only runs its
# checks when these variables are set.
if LCFS_PKG_EXPECT_LIBDIR=$T/a/usr/$libsub LCFS_PKG_EXPECT_INCLUDEDIR=$T/a/usr/include \
    cargo test -q --manifest-path "$ROOT/Cargo.toml" --lib \
    abi_check::pkg_config_crate_finds_installed_library -- --exact --nocapture >"$T/log" 2>&1 &&
    grep -q '^pkg-config crate: composefs' "$T/log"; then
    ok "$(grep '^pkg-config crate: composefs' "$T/log")"
else
    cat "$T/log"
    bad "the pkg-config crate did not resolve the staged composefs"
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR PKG_CONFIG_PATH

# 5. meson build + install must give the same tree as install.sh. It reuses
# this tree's cargo target directory, so cargo has nothing to rebuild.
if meson setup "$T/mb" "$ROOT" --prefix /usr --libdir "$libsub" --sbindir sbin \
    -Dcargo_target_dir="$ROOT/target" >"$T/log" 2>&1 &&
    meson compile -C "$T/mb" >>"$T/log" 2>&1 &&
    DESTDIR=$T/m meson install -C "$T/mb" >>"$T/log" 2>&1; then
    check_tree "$T/m" /usr "/usr/$libsub" /usr/include /usr/bin /usr/sbin /usr/share/man
    listing() { (cd "$1" && find . -mindepth 1 -printf '%y %m %p %l\n' | sort); }
    if diff -u <(listing "$T/a") <(listing "$T/m") && diff -r --no-dereference "$T/a" "$T/m"; then
        ok "meson install and install.sh produce identical trees"
    else
        bad "meson install differs from install.sh"
    fi
else
    cat "$T/log"
    bad "meson build/install failed"
fi

exit "$fail"
