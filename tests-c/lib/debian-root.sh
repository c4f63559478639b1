# Shared by the libostree checks (sourced, not run): a cached Debian sid
# root made by debootstrap, built once and reused while its stamp matches.
# The caller must already run in a private mount namespace (the build
# mounts /proc and /dev into the new root to install packages) and define
# fail().

# no_mounts_under DIR: true when nothing is mounted below DIR. Never delete a
# tree something is still mounted in.
no_mounts_under() {
    ! grep -q "^$1/" <<<"$(findmnt -rn -o TARGET)"
}

# debian_root CACHE PKGS [EXTRA]: makes CACHE/root a minimal sid root with the
# comma-separated PKGS, and sets R to it. The space-separated EXTRA packages
# are then installed by apt in the new root: debootstrap's own resolver
# cannot take virtual packages (ostree-tests needs default-dbus-session-bus
# through dconf-service) and would leave them unconfigured. CACHE/stamp records
# how the root was made; a different stamp, or LCFS_OSTREE_REFRESH=1,
# rebuilds it. The lock on CACHE/lock (fd 9) is taken here and held until
# the caller exits, so no run can rebuild a root another one is using.
debian_root() {
    local cache=$1 pkgs=$2 extra=${3:-} stamp t
    local mirror=${LCFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
    stamp="debootstrap --variant=minbase --include=$pkgs sid"
    [ -n "$extra" ] && stamp="$stamp; apt-get install --no-install-recommends $extra"
    command -v debootstrap >/dev/null || fail "debootstrap is not installed"
    mkdir -p "$cache"
    exec 9>"$cache/lock"
    flock 9
    R=$cache/root
    if [ "${LCFS_OSTREE_REFRESH:-0}" = 1 ] || [ "$(cat "$cache/stamp" 2>/dev/null)" != "$stamp" ]; then
        no_mounts_under "$cache" || fail "something is mounted under $cache"
        rm -rf "$cache/stamp" "$cache/root.new" "$R"
        echo "building the Debian unstable root: $stamp"
        t=$SECONDS
        if ! debootstrap --variant=minbase --include="$pkgs" sid "$cache/root.new" "$mirror" \
                >"$cache/debootstrap.log" 2>&1; then
            tail -n 20 "$cache/debootstrap.log"
            fail "debootstrap failed (log: $cache/debootstrap.log)"
        fi
        if [ -n "$extra" ]; then
            # shellcheck disable=SC2086
            apt_in_root "$cache/root.new" $extra >>"$cache/debootstrap.log" 2>&1 || {
                tail -n 20 "$cache/debootstrap.log"
                fail "installing $extra failed (log: $cache/debootstrap.log)"
            }
        fi
        mv "$cache/root.new" "$R"
        echo "$stamp" >"$cache/stamp"
        echo "root built in $((SECONDS - t)) s"
    fi
}

# apt_in_root DIR PKG...: installs PKGs (no recommends) in DIR and drops
# the downloaded files. Sid's Release file can be past its Valid-Until date
# on a machine whose clock runs ahead, hence the option.
apt_in_root() {
    local dir=$1 rc
    shift
    mount -t proc proc "$dir/proc" || return 1
    mount --bind /dev "$dir/dev" || { umount "$dir/proc"; return 1; }
    chroot "$dir" env -i PATH=/usr/sbin:/usr/bin DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get -o Acquire::Check-Valid-Until=false update &&
            apt-get -o Acquire::Check-Valid-Until=false install -y --no-install-recommends "$@" &&
            apt-get clean' apt "$@"
    rc=$?
    umount "$dir/dev"
    umount "$dir/proc"
    return $rc
}
