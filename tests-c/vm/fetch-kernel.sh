#!/bin/bash
# Fetches one Debian suite's newest amd64 kernel and stages what a test
# guest needs; prints the staging directory:
#
#   fetch-kernel.sh SUITE        (bullseye, bookworm, trixie or sid)
#
#   <stage>/vmlinuz
#   <stage>/kver                      the kernel release
#   <stage>/lib/modules/<kver>/...    the modules the guest loads and their
#                                     dependencies, uncompressed, depmod'ed
#   <stage>/modules.load              module files, dependencies first
#
# Packages come from deb.debian.org through temporary apt lists (the
# system's apt configuration is untouched) and are cached under
# $LCFS_KERNEL_CACHE (default /var/tmp/cfs-kernels). A staged kernel is
# reused; LCFS_KERNEL_REFRESH=1 looks for a newer one. Logs go to stderr.
set -euo pipefail

SUITE=${1:?usage: fetch-kernel.sh SUITE}
CACHE=${LCFS_KERNEL_CACHE:-/var/tmp/cfs-kernels}
D=$CACHE/$SUITE
STAGE=$D/stage
# Modules the tests need; missing ones must be built in.
WANT=(virtio_pci virtio_blk ext4 loop erofs overlay)
# Wanted when they are modules (crc32c for ext4, sha512 for fs-verity);
# built in otherwise.
OPTIONAL=(crc32c_generic crc32c_intel sha512_generic sha512_ssse3)

die() { echo "fetch-kernel.sh: $*" >&2; exit 1; }
log() { echo "fetch-kernel.sh: $*" >&2; }

if [ -f "$STAGE/.ready" ] && [ -z "${LCFS_KERNEL_REFRESH:-}" ]; then
    echo "$STAGE"
    exit 0
fi

for t in apt-get apt-cache dpkg-deb depmod modinfo xz; do
    command -v $t >/dev/null || die "'$t' not found"
done

mkdir -p "$D/lists/partial" "$D/cache/archives/partial" "$D/deb"
exec 9>"$D/.lock"
flock 9
echo "deb http://deb.debian.org/debian $SUITE main" > "$D/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=$D/sources.list" -o Dir::Etc::sourceparts=/dev/null
          -o "Dir::State::Lists=$D/lists" -o "Dir::Cache=$D/cache"
          -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update >&2 || die "apt-get update for $SUITE failed"

# linux-image-amd64 names the kernel package. Up to trixie that package
# holds the kernel and modules (we take the -unsigned twin); in sid it is
# empty and depends on linux-binary-* and linux-modules-*.
deps=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64) || die "apt-cache depends failed"
image=$(awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}' <<<"$deps")
[ -n "$image" ] || die "no kernel package in $SUITE's linux-image-amd64"
kver=${image#linux-image-}
if apt-cache "${apt_opts[@]}" show "linux-binary-$kver" >/dev/null 2>&1; then
    pkgs=("linux-binary-$kver" "linux-modules-$kver")
elif apt-cache "${apt_opts[@]}" show "$image-unsigned" >/dev/null 2>&1; then
    pkgs=("$image-unsigned")
else
    pkgs=("$image")
fi
log "$SUITE: kernel $kver from ${pkgs[*]}"
rm -f "$D/deb"/*.deb
(cd "$D/deb" && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >&2) || die "downloading ${pkgs[*]} failed"

rm -rf "$D/raw" "$STAGE"
mkdir -p "$D/raw" "$STAGE"
for deb in "$D/deb"/*.deb; do
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$D/raw" --wildcards \
        '*vmlinuz*' '*/modules.builtin*' '*/modules.order' \
        '*/kernel/fs/*' '*/kernel/crypto/*' '*/kernel/lib/*' '*/kernel/arch/*' \
        '*/kernel/drivers/block/*' '*/kernel/drivers/virtio/*' 2>/dev/null || true
done
mdir=$(head -n 1 <<<"$(find "$D/raw" -type d -path "*/modules/$kver")")
[ -n "$mdir" ] || die "no modules directory for $kver in ${pkgs[*]}"
vmlinuz=$(head -n 1 <<<"$(find "$D/raw" -name 'vmlinuz*' -type f)")
[ -n "$vmlinuz" ] || die "no vmlinuz in ${pkgs[*]}"
cp "$vmlinuz" "$STAGE/vmlinuz"
echo "$kver" > "$STAGE/kver"

# name -> file, with '-' and '_' equivalent as in the kernel.
declare -A file_of
while IFS= read -r f; do
    n=$(basename "$f")
    n=${n%%.ko*}
    file_of[${n//-/_}]=$f
done < <(find "$mdir/kernel" -name '*.ko*')
# sid's packages ship no modules.builtin: a module they lack is taken as
# built in (the guest fails visibly when it is not).
if [ -f "$mdir/modules.builtin" ]; then
    builtin=$(cat "$mdir/modules.builtin")
    is_builtin() { grep -q "/${1}.ko\$" <<<"${builtin//-/_}"; }
else
    log "$SUITE: no modules.builtin; modules not shipped are taken as built in"
    is_builtin() { true; }
fi

declare -A seen
order=()
visit() {
    local n=${1//-/_} f d
    [ -z "${seen[$n]:-}" ] || return 0
    seen[$n]=1
    f=${file_of[$n]:-}
    if [ -z "$f" ]; then
        is_builtin "$n" && return 0
        die "module $n is neither in ${pkgs[*]} nor built in"
    fi
    for d in $(modinfo -F depends "$f" | tr ',' ' '); do
        visit "$d"
    done
    order+=("$f")
}
# The optional ones first: libcrc32c needs a crc32c driver when it loads.
for m in "${OPTIONAL[@]}"; do
    [ -n "${file_of[${m//-/_}]:-}" ] && visit "$m"
done
for m in "${WANT[@]}"; do visit "$m"; done

smod=$STAGE/lib/modules/$kver
mkdir -p "$smod"
cp "$mdir"/modules.builtin* "$mdir"/modules.order "$smod/" 2>/dev/null || true
: > "$STAGE/modules.load"
for f in "${order[@]}"; do
    rel=${f#"$mdir"/}
    mkdir -p "$smod/$(dirname "$rel")"
    case $f in
        *.ko.xz) xz -dc "$f" > "$smod/${rel%.xz}"; rel=${rel%.xz} ;;
        *.ko.zst) zstd -qdc "$f" > "$smod/${rel%.zst}"; rel=${rel%.zst} ;;
        *.ko) cp "$f" "$smod/$rel" ;;
        *) die "unknown module file $f" ;;
    esac
    echo "/lib/modules/$kver/$rel" >> "$STAGE/modules.load"
done
depmod -b "$STAGE" "$kver" || die "depmod failed"
rm -rf "$D/raw"
log "$SUITE: $kver, modules: $(wc -l < "$STAGE/modules.load")"
touch "$STAGE/.ready"
echo "$STAGE"
