# Shared by the checks (sourced, not run): set-up that cannot fail silently.
# A check's results mean nothing when its set-up did not happen (a tool
# missing, setfattr or mknod refused, a download or compile failed), so:
#
#   need_tools python3 setfattr   # SKIP (exit 77) naming what is missing
#   setup_begin                   # from here a failing command is a FAIL...
#   setfattr -n user.a -v 1 "$f"
#   setup_end                     # ...until here; the checks proper follow
#
# NAME (the check's name) prefixes the messages when set.

# need_tools TOOL...: skips the check unless every TOOL is on PATH. The
# packages come from tests-c/prereqs/apt-packages.txt (run-all.sh installs
# them); under CI=true run-all.sh counts the skip as a failure.
need_tools() {
    local t missing=()
    for t in "$@"; do
        command -v "$t" >/dev/null || missing+=("$t")
    done
    if [ "${#missing[@]}" != 0 ]; then
        echo "${NAME:+$NAME: }SKIP: not installed: ${missing[*]} (tests-c/prereqs.sh installs them as root)"
        exit 77
    fi
}

# setup_begin: until setup_end, any failing command ends the check with a
# failure that names it (set -e, with an ERR trap for the message).
setup_begin() {
    set -eE
    trap 'setup_failed $? "$BASH_COMMAND" "$LINENO"' ERR
}

setup_failed() {
    echo "${NAME:+$NAME: }FAIL: set-up step failed (exit $1, line $3): $2"
    exit 1
}

setup_end() {
    trap - ERR
    set +eE
}
