#!/bin/bash
# Runs the whole upstream composefs 1.0.8 meson test suite, with the upstream
# tools and test program, against the libcomposefs.so.1 found in DIR.
#
#   run-suite.sh [--lib DIR] [--log FILE] [TEST...]
#
# DIR defaults to $LCFS_SO_DIR, else <repo>/target/release. It must hold
# libcomposefs.so.1, or a libcomposefs.so whose SONAME is libcomposefs.so.1
# (cargo's output): then a private directory with the .so.1 name pointing at
# it is used, and DIR itself is left untouched. TEST names restrict the run
# to those meson tests. --log FILE keeps the full meson test log (JSON lines).
# Upstream timeouts (300 s for check-random-fuse) are multiplied by
# $LCFS_SUITE_TIMEOUT_MULTIPLIER (default 3): on a loaded machine that test's
# ten random trees alone can take longer than 300 s.
#
# Prints one line per upstream test (name, OK/FAIL/SKIP, seconds), the tail
# of each failure's stdout ("|") and stderr ("!"), and a last line
# "upstream suite: N/M passed ...".
#
# How we know the library under test is the one that ran: the upstream
# binaries carry RUNPATH $ORIGIN/../libcomposefs, which LD_LIBRARY_PATH
# overrides; meson, though, puts its own library directory first for tests
# that are built executables (test-lcfs), so every test runs through a tiny
# wrapper that sets LD_LIBRARY_PATH back. That is checked with ldd before the
# run, and the run itself is
# audited: every process logs its loader activity (LD_DEBUG=libs into a
# private directory), and every process that loaded a libcomposefs must have
# loaded exactly the library under test and must be an upstream binary from
# the build directory.
#
# Exit: 0 all passed; 1 a test failed, was skipped, or silently lost
# coverage other than for a missing kernel feature; 2 harness error (bad
# arguments, library not found, or the wrong library loaded).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=${LCFS_ROOT:-$(cd "$here/../.." && pwd)}
lib_dir=${LCFS_SO_DIR:-$repo/target/release}
keep_log=
tests=()

die() { echo "run-suite.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --lib) [ $# -ge 2 ] || die "--lib needs a directory"; lib_dir=$2; shift 2 ;;
        --log) [ $# -ge 2 ] || die "--log needs a file"; keep_log=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option '$1'" ;;
        *) tests+=("$1"); shift ;;
    esac
done

command -v python3 >/dev/null || die "python3 is needed to read meson's test log"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is needed (upstream tests/gendir and tests/dumpdir use it)"
[ -d "$lib_dir" ] || die "library directory '$lib_dir' does not exist"
lib_dir=$(cd "$lib_dir" && pwd)

build=$("$here/build.sh")
src=$("$here/fetch.sh")

work=$(mktemp -d --tmpdir cfs-suite.XXXXXX)
logbase=harness-$$
trap 'rm -rf -- "$work"; rm -f -- "$build/meson-logs/$logbase"*' EXIT

# --- the library under test -------------------------------------------------
soname_of() { objdump -p "$1" 2>/dev/null | awk '$1 == "SONAME" { print $2 }'; }

if [ -e "$lib_dir/libcomposefs.so.1" ]; then
    lib_file=$lib_dir/libcomposefs.so.1
    ld_dir=$lib_dir
elif [ -e "$lib_dir/libcomposefs.so" ]; then
    lib_file=$lib_dir/libcomposefs.so
    ld_dir=$work/lib
    mkdir "$ld_dir"
    ln -s "$(realpath "$lib_file")" "$ld_dir/libcomposefs.so.1"
else
    die "no libcomposefs.so.1 or libcomposefs.so in '$lib_dir'"
fi
[ "$(soname_of "$lib_file")" = libcomposefs.so.1 ] ||
    die "$lib_file has SONAME '$(soname_of "$lib_file")', not libcomposefs.so.1"
want=$(realpath "$lib_file")
export LD_LIBRARY_PATH=$ld_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# --- static check: each upstream binary resolves libcomposefs.so.1 to $want --
# composefs-fuse is absent from this list on purpose: it carries its own
# EROFS reader and does not link libcomposefs at all (checked below).
linked=(tools/mkcomposefs tools/composefs-info tools/composefs-dump tools/mount.composefs tests/test-lcfs)
for bin in "${linked[@]}"; do
    got=$(ldd "$build/$bin" | awk '$1 == "libcomposefs.so.1" { print $3 }')
    if [ -z "$got" ] || [ "$(realpath "$got")" != "$want" ]; then
        die "$bin resolves libcomposefs.so.1 to '${got:-nothing}', not $want"
    fi
done
if grep -q libcomposefs <<<"$(ldd "$build/tools/composefs-fuse")"; then
    die "tools/composefs-fuse links libcomposefs; add it to the checked binaries"
fi

# --- run ---------------------------------------------------------------------
echo "upstream suite: library $want"
echo "upstream suite: binaries from $build"
mkdir "$work/ld"
# meson prepends its own libcomposefs directory to LD_LIBRARY_PATH for tests
# that are built executables (test-lcfs), which would quietly test the C
# library; this wrapper, run as each test's command, puts ours back first.
printf '#!/bin/bash\nexport LD_LIBRARY_PATH=%q\nexec "$@"\n' "$LD_LIBRARY_PATH" > "$work/with-lib"
chmod +x "$work/with-lib"
start=$(date +%s%N)
set +e
LD_DEBUG=libs LD_DEBUG_OUTPUT=$work/ld/ld \
    meson test -C "$build" --no-rebuild --logbase "$logbase" --wrapper "$work/with-lib" \
        --timeout-multiplier "${LCFS_SUITE_TIMEOUT_MULTIPLIER:-3}" "${tests[@]}" > "$work/meson.out" 2>&1
meson_rc=$?
set -e
wall_ms=$(( ($(date +%s%N) - start) / 1000000 ))
# meson appends the wrapper's name to the log base.
logs=("$build/meson-logs/$logbase"*.json)
testlog=${logs[0]}
if [ ! -s "$testlog" ]; then
    cat "$work/meson.out" >&2
    die "meson test wrote no test log (exit $meson_rc)"
fi
[ -z "$keep_log" ] || cp "$testlog" "$keep_log"

# --- audit: which library did every process really load? -------------------
# One LD_DEBUG file per pid; a process that execs keeps its pid, so a file can
# hold several images in turn, each section closed by "initialize program".
# Also flagged: any process named like an upstream tool that is not the one
# from the build directory, whatever it loaded.
awk -v want="$want" -v build="$(realpath "$build")" '
    function canon(p,   cmd, r) {
        if (p in seen) return seen[p]
        cmd = "realpath -m -- \"" p "\""; cmd | getline r; close(cmd)
        seen[p] = r; return r
    }
    BEGIN { split("mkcomposefs composefs-info composefs-dump composefs-fuse mount.composefs test-lcfs", t)
            for (i in t) tool[t[i]] = 1 }
    FNR == 1 { lib = "" }
    /calling init: .*\/libcomposefs\.so/ { lib = $NF }
    /initialize program: / {
        prog = $NF
        n = split(prog, parts, "/"); name = parts[n]
        if (name in tool && index(canon(prog), build "/") != 1)
            printf "NOT-UPSTREAM %s ran in place of the upstream %s\n", canon(prog), name
        if (lib != "") {
            p = canon(prog); l = canon(lib)
            count[name]++
            if (l != want) printf "WRONG-LIB %s loaded %s\n", p, l
            if (index(p, build "/") != 1) printf "NOT-UPSTREAM %s loaded libcomposefs\n", p
        }
        lib = ""
    }
    END { for (n in count) printf "LOADED %s %d\n", n, count[n] }
' "$work"/ld/ld.* > "$work/audit" || die "could not audit the loader logs"

# --- report --------------------------------------------------------------------
# Per-test lines, plus coverage checks on what the shell tests print: which
# parts they silently left out (their "Test options" line) and, for
# check-checksums and check-random-fuse, how much of their work they did.
set +e
python3 - "$testlog" "$src/tests/assets" "$work/audit" "${#tests[@]}" <<'EOF'
import json, os, re, sys

testlog, asset_dir, audit_file, selected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
results = [json.loads(line) for line in open(testlog) if line.strip()]
bad = []        # reasons the run is not a pass
notes = {}      # kernel feature missing -> tests that left parts out

def options(out):
    m = re.search(r"^Test options: (.*)$", out, re.M)
    return dict(kv.split("=", 1) for kv in m.group(1).split()) if m else {}

for r in results:
    name, res, out = r["name"], r["result"], r.get("stdout") or ""
    print(f"  {name:<22} {res:<8} {r['duration']:7.2f}s")
    if res != "OK":
        bad.append(f"{name}: {res}")
        for stream, mark in ((out, "|"), (r.get("stderr") or "", "!")):
            for line in stream.rstrip().splitlines()[-10:]:
                print(f"      {mark} {line}")
        continue
    opts = options(out)
    if opts.get("has_fsverity") == "n":
        notes.setdefault("fs-verity", []).append(name)
    if opts.get("has_fuse") == "n":
        if os.path.exists("/dev/fuse"):
            bad.append(f"{name}: fuse parts not run although /dev/fuse exists (fusermount/capsh missing?)")
        else:
            notes.setdefault("fuse (no /dev/fuse)", []).append(name)
    if opts.get("has_fsck") == "n":
        bad.append(f"{name}: fsck.erofs checks not run (install erofs-utils)")
    if opts.get("can_whiteout") == "n":
        bad.append(f"{name}: whiteouts not generated (mknod of a 0/0 char device failed)")
    if name == "check-checksums":
        listed = r["command"][-1].split()
        present = [a for a in listed if os.path.isfile(os.path.join(asset_dir, a))]
        done = set(re.findall(r"^ok (\S+) ", out, re.M))
        missed = [a for a in present if a not in done]
        absent = [a for a in listed if a not in present]
        msg = f"{name}: {len(done & set(present))}/{len(listed)} assets verified"
        if absent:
            msg += f" (not in the source tarball, so upstream skips them: {' '.join(absent)})"
        print(f"      {msg}")
        if missed:
            bad.append(f"{name}: assets present but not verified: {' '.join(missed)}")
    if name == "check-random-fuse" and opts.get("has_fuse") == "y":
        mounts = out.count("Mounting composefs image using fuse")
        print(f"      {name}: {mounts} random trees mounted through composefs-fuse")
        if mounts == 0:
            bad.append(f"{name}: fuse mounts never happened")

loaded = {}
for line in open(audit_file):
    kind, rest = line.split(" ", 1)
    if kind == "LOADED":
        prog, n = rest.split()
        loaded[prog] = int(n)
    else:
        bad.append(f"loader audit: {line.strip()}")
print("  processes that loaded the library under test: "
      + (", ".join(f"{p} x{n}" for p, n in sorted(loaded.items())) or "none"))
if not loaded:
    bad.append("loader audit: no process loaded any libcomposefs (LD_DEBUG not honoured?)")
# Which binaries ran only says something about a run that went all the way.
if not selected and not bad:
    for prog in ("mkcomposefs", "composefs-info", "composefs-dump", "test-lcfs"):
        if prog not in loaded:
            bad.append(f"loader audit: {prog} never loaded the library under test")
    if len(results) != 6:
        bad.append(f"expected the 6 upstream tests, meson ran {len(results)}")

for feature, names in notes.items():
    print(f"  note: kernel lacks {feature}; those parts not run in: {' '.join(names)}")
for b in bad:
    print(f"  problem: {b}")
passed = sum(1 for r in results if r["result"] == "OK")
print(f"upstream suite: {passed}/{len(results)} passed", end="")
sys.exit(1 if bad else 0)
EOF
rc=$?
set -e
printf ' (wall %d.%01ds)\n' $((wall_ms / 1000)) $((wall_ms % 1000 / 100))
if grep -qv '^LOADED ' "$work/audit"; then
    echo "run-suite.sh: the library under test was not the one loaded; results are void" >&2
    exit 2
fi
[ "$rc" = 0 ] && [ "$meson_rc" != 0 ] && { echo "run-suite.sh: meson test exited $meson_rc" >&2; rc=1; }
exit "$rc"
