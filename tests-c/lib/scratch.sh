# Shared by the mount checks (sourced, not run): a scratch directory that
# is unmounted and removed on exit, and the directory that makes upstream
# binaries load our library.

# scratch_dir PREFIX: creates the scratch directory, sets T to it and
# releases it on exit. A background process whose pid the caller puts in
# SLEEPER (it holds a namespace open) is stopped first.
scratch_dir() {
    T=$(mktemp -d "/tmp/$1.XXXXXX")
    SLEEPER=
    trap release_scratch EXIT
}

# release_scratch: unmounts whatever is still mounted under $T, deepest
# first, then removes $T unless LCFS_KEEP_TMP is set or a mount survived.
release_scratch() {
    # Clean-up may fail harmlessly (the holder already gone): no set-up trap.
    trap - ERR
    set +eE
    [ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
    awk -v t="$T" '$5 ~ "^"t {print $5}' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m"; done
    if [ -n "${LCFS_KEEP_TMP:-}" ]; then
        echo "$NAME: kept $T"
    elif awk -v t="$T" '$5 ~ "^"t {f=1} END {exit !f}' /proc/self/mountinfo; then
        echo "$NAME: not removing $T: still mounted"
    else
        rm -rf "$T"
    fi
}

# ours_libdir DIR: DIR gets libcomposefs.so.1 (and .so) pointing at the
# library under test in $SO_DIR.
ours_libdir() {
    local so=$SO_DIR/libcomposefs.so.1
    [ -e "$so" ] || so=$SO_DIR/libcomposefs.so
    mkdir -p "$1"
    ln -s "$(readlink -f "$so")" "$1/libcomposefs.so.1"
    ln -s "$(readlink -f "$so")" "$1/libcomposefs.so"
}

# userns_holder: starts a process in a new user namespace mapping ids 0..
# to 100000.. (for idmapped mounts) and puts its pid in SLEEPER; the exit
# trap stops it. Failing to set the maps fails the check.
userns_holder() {
    unshare -U sleep 600 &
    SLEEPER=$!
    # The maps can be written once unshare has moved into the namespace,
    # that is once it has become sleep.
    local _
    for _ in $(seq 100); do
        kill -0 "$SLEEPER" 2>/dev/null || break # unshare failed
        [ "$(cat "/proc/$SLEEPER/comm")" = sleep ] && break
        sleep 0.05
    done
    if ! echo "0 100000 65536" >"/proc/$SLEEPER/uid_map" ||
        ! echo "0 100000 65536" >"/proc/$SLEEPER/gid_map"; then
        echo "$NAME: FAIL: cannot map ids in a new user namespace"
        exit 1
    fi
}
