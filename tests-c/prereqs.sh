#!/bin/bash
# Installs what the test command needs and is missing: the Debian packages
# listed in tests-c/prereqs/apt-packages.txt, cargo's rustfmt and clippy, and
# cargo-fuzz. run-all.sh calls it first, as its own PASS/FAIL/SKIP line.
#
# Quick and silent when everything is there (one dpkg-query call). apt-get
# update runs only when a package is missing. Without root, or when an
# install fails (no network), it exits 77 naming what is missing; the
# checks that need those tools then skip or fail on their own.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIST=${LCFS_APT_LIST:-$ROOT/tests-c/prereqs/apt-packages.txt}
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH=$HOME/.cargo/bin:$PATH
fi

problems=()

# Package names: strip comments and blanks.
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$LIST")
if [ "${#wanted[@]}" = 0 ]; then
    echo "no packages listed in $LIST"
    exit 1
fi

# dpkg-query prints one status per name it knows; unknown names only go to
# stderr, so compare the installed set with the wanted one.
installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${wanted[@]}" 2>/dev/null |
    awk '$1 == "ii" { print $2 }')
missing=()
for p in "${wanted[@]}"; do
    grep -qxF "$p" <<<"$installed" || missing+=("$p")
done

if [ "${#missing[@]}" != 0 ]; then
    echo "missing packages: ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        problems+=("not root, cannot install: ${missing[*]}")
    else
        export DEBIAN_FRONTEND=noninteractive
        if apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; then
            echo "installed: ${missing[*]}"
        else
            problems+=("apt-get could not install: ${missing[*]}")
        fi
    fi
fi

# Rust components and tools (the toolchain itself comes from rustup).
if ! command -v cargo >/dev/null; then
    problems+=("cargo not found (install Rust through rustup)")
else
    for comp in rustfmt clippy; do
        sub=${comp/rustfmt/fmt}
        if ! cargo "$sub" --version >/dev/null 2>&1; then
            echo "adding rustup component $comp"
            rustup component add "$comp" || problems+=("rustup could not add $comp")
        fi
    done
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "installing cargo-fuzz (builds from source, a few minutes)"
        cargo install cargo-fuzz --locked || problems+=("cargo install cargo-fuzz failed")
    fi
fi

if [ "${#problems[@]}" != 0 ]; then
    printf '%s\n' "${problems[@]}"
    # The last line is run-all.sh's skip reason.
    printf -v joined '%s; ' "${problems[@]}"
    echo "prerequisites incomplete: ${joined%; }"
    exit 77
fi
echo "all prerequisites present"
