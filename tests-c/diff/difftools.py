#!/usr/bin/env python3
"""Differential test of the composefs tools: C 1.0.8's against ours.

Every case runs one tool invocation twice, once with C's program and once
with ours, in the same scratch directory (so paths in messages are equal)
and with the same argv[0]. Compared: exit status (a crash is a signal),
stdout bytes, stderr bytes, and everything the run left in the scratch
directory (output image, digest store: names, types, modes, sizes,
contents).

Case groups (see the gen_* functions):
  dump     mkcomposefs --from-file on random dumpfiles (gendump.py), from a
           file and from stdin, with the seed's options
  read     every composefs-info subcommand (--filter, --basedir included)
           and composefs-dump on the images C wrote for those dumpfiles
  tree     mkcomposefs on random trees (upstream tests/gendir) with
           combinations of every build option, digest store and version
  options  command-line spellings: abbreviations, ambiguity, `=`/space,
           permutation, `--`, POSIXLY_CORRECT, unknown options, missing
           and extra arguments, --help, for all four tools
  bad      bad input: truncated and corrupt images, unreadable files and
           trees (as user nobody), missing directories, /dev/full as output,
           a read-only store, `-` to a pipe and to a tty, mount.composefs
           failures (it never gets far enough to mount anything)

Where ours is stricter than C on purpose, the difference is listed in
INTENDED with its reason and counted, never silently skipped.

Usage: difftools.py --c DIR --ours DIR --src UPSTREAM_SRC --work DIR
                    [--scale N] [--first S] [--only GROUP,...] [--case SUBSTR] [-v]
--scale multiplies the number of random seeds (1 = the CI set).
Prints one line per mismatch and a summary; exits 1 on any mismatch.
LCFS_DIFF_KEEP=DIR keeps a copy of each mismatching case's scratch directory.
"""

import argparse
import hashlib
import os
import pty
import random
import shutil
import signal
import stat
import subprocess
import sys
import time

NOBODY = 65534
TOOLS = ["mkcomposefs", "composefs-info", "composefs-dump", "mount.composefs"]

# --- intended differences ----------------------------------------------------
# Each entry: id -> (reason, predicate(case, c, ours)). A predicate sees the
# two results and says whether this difference is the intended one: ours
# must still behave exactly as the reason says.


def _no_partial_image(case, c, o):
    """C failed after creating its output file; ours failed the same way and
    left nothing there."""
    if c.rc in (0, None) or c.rc != o.rc or c.stdout != o.stdout or c.stderr != o.stderr:
        return False
    out = case.output_path()
    if out is None:
        return False
    extra = set(c.files) - set(o.files)
    return extra == {out} and {k: v for k, v in c.files.items() if k != out} == o.files


def _c_crashed(case, c, o):
    """C died of a signal; ours refused cleanly with a message."""
    return c.rc is not None and c.rc < 0 and o.rc == 1 and o.stderr != b""


def unstable(case, runner, c, o):
    """On corrupt input C can read memory it does not own and answer
    differently each time: then run both again; the difference is intended
    if C disagrees with itself while ours repeats its answer exactly."""
    c2 = runner.run(case, "c")
    if compare(case, c, c2) is None:
        return None
    o2 = runner.run(case, "ours")
    if compare(case, o, o2) is None and o.rc is not None and o.rc >= 0:
        return ("intended", "c-unstable")
    return None


def past_eof(case, runner, c, o):
    """C loaded an image shorter than its superblock says by reading past the
    end of the file (memory it does not own: an ELF header can show up as
    file content) and reported success; ours refuses it. The difference is
    the intended one if, given the same file zero-padded to the size its
    superblock declares (or by 64 KiB, when a corrupt offset elsewhere
    points past the end), C and ours answer exactly alike."""
    pad = getattr(case, "pad", None)
    if pad is None or c.rc != 0 or o.rc != 1 or b"Failed to load" not in o.stderr:
        return None
    name, data = pad
    if len(data) < 1064:
        return None
    blkbits = data[1036]
    blocks = int.from_bytes(data[1060:1064], "little")
    want = blocks << blkbits if 9 <= blkbits <= 16 else 0
    if want > 256 << 20:
        return None
    if want <= len(data):
        # The read past the end comes from a corrupt offset elsewhere
        # (a dirent, an inline tail): 64 KiB of zeros cover it.
        want = len(data) + (64 << 10)
    padded = data + b"\0" * (want - len(data))

    def setup(run):
        with open(os.path.join(run, name), "wb") as f:
            f.write(padded)
    case2 = Case(case.group, case.label, case.tool, case.args, setup=setup, out=case.out)
    c2, o2 = runner.run(case2, "c"), runner.run(case2, "ours")
    if compare(case2, c2, o2) is None:
        return ("intended", "c-reads-past-eof")
    return None


def hardlinked_whiteout(case, runner, c, o):
    """The image holds a whiteout (char 0:0) with more than one link: C 1.0.8
    loads it, ours refuses it with EINVAL as upstream main does (README: the
    reader follows main). Recognised by scanning the image's inode slots
    (32-byte aligned from the superblock's meta_blkaddr) for such an inode."""
    pad = getattr(case, "pad", None)
    if pad is None or c.rc != 0 or o.rc != 1 or not o.stderr.endswith(b"Invalid argument\n"):
        return None
    if b"Failed to load" not in o.stderr:
        return None
    data = pad[1]
    if len(data) < 1072:
        return None
    blkbits = data[1036]
    if not 9 <= blkbits <= 16:
        return None
    start = int.from_bytes(data[1064:1068], "little") << blkbits
    for off in range(start, len(data) - 64 + 1, 32):
        fmt = int.from_bytes(data[off:off + 2], "little")
        mode = int.from_bytes(data[off + 4:off + 6], "little")
        rdev = int.from_bytes(data[off + 16:off + 20], "little")
        if fmt & 1:
            nlink = int.from_bytes(data[off + 44:off + 48], "little")
        else:
            nlink = int.from_bytes(data[off + 6:off + 8], "little")
        if mode & 0o170000 == 0o020000 and rdev == 0 and nlink > 1:
            return ("intended", "hardlinked-whiteout")
    return None

def reads_freed(case, runner, c, o):
    """On this corrupt image C reads memory it has already freed (its reader
    frees a whiteout's node but keeps it in its table of seen inodes, and a
    second entry naming that inode links to the freed node), so its answer is
    whatever the allocator put there since. Recognised by running both sides
    again under valgrind's memcheck: C's run must show an invalid access to
    a freed block, ours none at all."""
    if case.group != "bad" or o.rc not in (0, 1) or shutil.which("valgrind") is None:
        return None
    if "free'd" not in runner.memcheck(case, "c"):
        return None
    if runner.memcheck(case, "ours").strip():
        return None
    return ("intended", "c-reads-freed-memory")


def _stdout_error(case, c, o):
    """C exits 0 although its output could not be written to stdout (a full
    disk); ours reports the write error and exits 1."""
    return (case.out == "@STDOUT-FULL@" and c.rc == 0 and o.rc == 1 and o.stdout == c.stdout
            and o.stderr.endswith(b": No space left on device\n") and o.files == c.files)


def _huge_threads(case, c, o):
    """--threads beyond what the system can start: C fails with EAGAIN."""
    return (any(a.startswith("--threads") for a in case.args) and c.rc == 1 and o.rc == 0
            and c.stderr.endswith(b"error computing digest: Resource temporarily unavailable\n"))


INTENDED = {
    "no-partial-image": (
        "mkcomposefs/composefs-dump never leave a partial or empty image at the "
        "output path when they fail (issue 10 point 3); C opens the output first "
        "and leaves it behind",
        _no_partial_image),
    "c-unstable": (
        "on this corrupt image C's output changes from run to run (it reads "
        "memory it does not own); ours answers the same every time",
        None),
    "c-reads-past-eof": (
        "C loads an image shorter than its superblock says by reading past the end "
        "of the file (memory it does not own) and reports success; ours refuses it "
        "with EINVAL (checked per case: on the file zero-padded to its declared "
        "size, or by 64 KiB, C and ours answer identically)",
        None),
    "c-reads-freed-memory": (
        "on this corrupt image C reads a node it has already freed (a whiteout "
        "named twice) and prints whatever is there; ours skips the whiteout both "
        "times (checked per case: valgrind shows C reading freed memory, ours "
        "clean)",
        None),
    "hardlinked-whiteout": (
        "the image holds a whiteout (char 0:0) with nlink > 1: C 1.0.8 loads it, "
        "ours refuses it with EINVAL as upstream main does (checked per case: "
        "such an inode is in the image)",
        None),
    "stdout-write-error": (
        "C exits 0 when stdout cannot take its output (ENOSPC on /dev/full); ours "
        "reports the write error and exits 1 (README: 'Digest not printed')",
        _stdout_error),
    "huge-threads": (
        "C starts --threads threads (cut to an int) and fails with EAGAIN past the "
        "system's limit; ours never starts more threads than it has work for "
        "(README: 'Huge --threads')",
        _huge_threads),
    "c-crash": (
        "C crashes (signal) on this input; ours must exit 1 with a message instead",
        _c_crashed),
}


# --- running one side ---------------------------------------------------------
class Result:
    def __init__(self, rc, stdout, stderr, files, secs):
        self.rc, self.stdout, self.stderr, self.files, self.secs = rc, stdout, stderr, files, secs

    def brief(self):
        err = self.stderr[:300].decode("latin-1").replace("\n", "\\n")
        return "exit %s, stdout %d bytes, stderr '%s'" % (self.rc, len(self.stdout), err)


def snapshot(root):
    """Every entry under root: relative path -> (type, mode, size, sha256)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            kind = stat.S_IFMT(st.st_mode)
            h = ""
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
                size = st.st_size
            elif stat.S_ISLNK(st.st_mode):
                h = os.readlink(p)
                size = 0
            else:
                size = 0
            out[rel] = (kind, stat.S_IMODE(st.st_mode), size, h)
    return out


class Case:
    """One tool invocation. args may hold @RUN@ (the scratch directory) and
    @FIX@ (shared read-only fixtures). setup(run_dir) prepares the scratch
    directory before each side runs."""

    def __init__(self, group, label, tool, args, stdin=None, user=None,
                 setup=None, tty=False, env=None, out=None, argv0=None):
        self.group, self.label, self.tool, self.args = group, label, tool, args
        self.stdin, self.user, self.setup, self.tty = stdin, user, setup, tty
        self.env, self.out, self.argv0 = env or {}, out, argv0

    def output_path(self):
        return self.out

    def describe(self):
        a = " ".join(x if x else "''" for x in self.args)
        extra = ""
        if self.user:
            extra += " (as nobody)"
        if self.stdin is not None:
            extra += " (stdin %s)" % (self.stdin if isinstance(self.stdin, str) else "bytes")
        if self.env:
            extra += " (env %s)" % " ".join("%s=%s" % kv for kv in self.env.items())
        return "%s %s%s" % (self.argv0 or self.tool, a, extra)


class Runner:
    def __init__(self, opts):
        self.work = opts.work
        self.run_dir = os.path.join(self.work, "run")
        self.fix = os.path.join(self.work, "fix")
        self.bins = {"c": os.path.join(self.work, "bin-c"), "ours": os.path.join(self.work, "bin-ours")}
        self.clib = os.path.join(self.work, "lib-c")
        self.verbose = opts.verbose
        self.ours_lib = opts.ours_lib

    def subst(self, s):
        return s.replace("@RUN@", self.run_dir).replace("@FIX@", self.fix)

    def memcheck(self, case, side):
        """Runs one side under valgrind's memcheck; returns its report."""
        log = os.path.join(self.work, "memcheck.log")
        if os.path.exists(log):
            os.unlink(log)
        self.run(case, side, wrap=["valgrind", "-q", "--log-file=" + log])
        with open(log, "r", errors="replace") as f:
            return f.read()

    def run(self, case, side, wrap=None):
        if os.path.lexists(self.run_dir):
            clear(self.run_dir)
        os.mkdir(self.run_dir)
        os.chmod(self.run_dir, 0o777)
        if case.setup:
            case.setup(self.run_dir)
        exe = os.path.join(self.bins[side], case.tool)
        argv = [case.argv0 or case.tool] + [self.subst(a) for a in case.args]
        if wrap:
            argv, exe = wrap + [exe] + argv[1:], shutil.which(wrap[0])
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL": "C"}
        if side == "c":
            env["LD_LIBRARY_PATH"] = self.clib
        elif self.ours_lib:
            env["LD_LIBRARY_PATH"] = self.ours_lib
        env.update(case.env)
        io = {"stdin": subprocess.DEVNULL}
        fh = None
        if isinstance(case.stdin, str):
            fh = open(self.subst(case.stdin), "rb")
            io["stdin"] = fh
        elif isinstance(case.stdin, bytes):
            io = {"input": case.stdin}
        pre = None
        if case.user:
            def pre():
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
        stdout_target = subprocess.PIPE
        master = slave = None
        if case.tty:
            master, slave = pty.openpty()
            stdout_target = slave
        elif case.out == "@STDOUT-FULL@":
            stdout_target = open("/dev/full", "wb")
        start = time.monotonic()
        try:
            p = subprocess.run(argv, executable=exe, cwd=self.run_dir, env=env,
                               stdout=stdout_target, stderr=subprocess.PIPE, **io, preexec_fn=pre, timeout=120)
            rc, out, err = p.returncode, p.stdout or b"", p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = None, e.stdout or b"", (e.stderr or b"") + b"\n[timed out]"
        finally:
            if fh:
                fh.close()
            if slave is not None:
                os.close(slave)
                os.close(master)
            if case.out == "@STDOUT-FULL@":
                stdout_target.close()
        secs = time.monotonic() - start
        return Result(rc, out, err, snapshot(self.run_dir), secs)


def clear(path):
    """Removes a scratch tree, whatever modes its entries were left with."""
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o700)
    shutil.rmtree(path)


def compare(case, c, o):
    """None if identical, ("intended", id) or ("mismatch", text)."""
    if o.rc is None or (o.rc < 0 and c.rc is not None and c.rc >= 0):
        return ("mismatch", "ours %s; C %s" % (o.brief(), c.brief()))
    diffs = []
    if c.rc != o.rc:
        diffs.append("exit C=%s ours=%s" % (c.rc, o.rc))
    if c.stdout != o.stdout:
        diffs.append("stdout (C %d bytes, ours %d bytes%s)" % (len(c.stdout), len(o.stdout), first_diff(c.stdout, o.stdout)))
    if c.stderr != o.stderr:
        diffs.append("stderr C='%s' ours='%s'" % (show(c.stderr), show(o.stderr)))
    if c.files != o.files:
        diffs.append("files: " + files_diff(c.files, o.files))
    if not diffs:
        return None
    for ident, (_, pred) in INTENDED.items():
        if pred and pred(case, c, o):
            return ("intended", ident)
    return ("mismatch", "; ".join(diffs))


def show(b):
    return b[:400].decode("latin-1").replace("\n", "\\n")


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return ", first difference at byte %d" % i
    return ""


def files_diff(a, b):
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append("%s C=%s ours=%s" % (k, fmt_entry(a.get(k)), fmt_entry(b.get(k))))
        if len(out) >= 4:
            out.append("...")
            break
    return "; ".join(out)


def fmt_entry(e):
    if e is None:
        return "absent"
    kind, mode, size, h = e
    return "%s/%o/%d/%s" % ({stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l"}.get(kind, "?"), mode, size, h[:12])


def shrink(tree):
    """Cuts gendir's files to at most ~20 KiB (sizes still vary around the
    inline limit and the block size), so that a case takes a fraction of a
    second; tree-full keeps the big ones."""
    for dirpath, _, filenames in os.walk(tree):
        for n in filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and st.st_size > 20000:
                os.truncate(p, 12000 + st.st_size % 8192)
                os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


# --- fixtures -------------------------------------------------------------------
class Fixtures:
    def __init__(self, opts, runner):
        self.o, self.r = opts, runner
        self.fix = runner.fix
        self.cbin = runner.bins["c"]
        self.images = []     # (name, path) of images C wrote
        self.dumps = []      # (seed, path, options)
        self.trees = []      # (name, path)

    def c_tool(self, tool, *args, stdin=None, check=True):
        env = {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": self.r.clib}
        p = subprocess.run([os.path.join(self.cbin, tool)] + list(args), env=env,
                           stdin=stdin, capture_output=True)
        if check and p.returncode != 0:
            raise SystemExit("fixture: C %s %s failed: %s" % (tool, args, p.stderr.decode("latin-1")))
        return p

    def build(self, dump_seeds, tree_seeds):
        os.makedirs(self.fix, exist_ok=True)
        d = os.path.join(self.fix, "dumps")
        gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gendump.py")
        for lo, hi in dump_seeds:
            p = subprocess.run([sys.executable, gen, d, "%d-%d" % (lo, hi)], capture_output=True, check=True)
            for line in p.stdout.decode().splitlines():
                s, _, opts = line.partition("\t")
                self.dumps.append((int(s), os.path.join(d, s + ".dump"), opts.split()))
        # Images C writes from the dumps it accepts: inputs for the read group.
        imgdir = os.path.join(self.fix, "img")
        os.makedirs(imgdir, exist_ok=True)
        for s, path, opts in self.dumps:
            img = os.path.join(imgdir, "%d.cfs" % s)
            p = self.c_tool("mkcomposefs", "--from-file", *opts, path, img, check=False)
            if p.returncode == 0:
                self.images.append(("dump-%d" % s, img))
            elif os.path.exists(img):
                os.unlink(img)
        for a in ("special.dump", "special_v1.dump", "longlink.dump", "bigfile-xattr.dump"):
            img = os.path.join(imgdir, a + ".cfs")
            self.c_tool("mkcomposefs", "--from-file", os.path.join(self.o.src, "tests/assets", a), img)
            self.images.append((a, img))
        # Trees: upstream's gendir, plain and privileged (whiteouts, devices, xattrs).
        gendir = os.path.join(self.o.src, "tests", "gendir")
        for s in tree_seeds:
            t = os.path.join(self.fix, "tree-%d" % s)
            extra = ["--privileged"] if s % 2 else []
            subprocess.run([sys.executable, gendir, "--seed", str(s)] + extra + [t],
                           check=True, capture_output=True)
            shrink(t)
            self.trees.append(("gendir-%d%s" % (s, "-priv" if extra else ""), t))
        # One tree as gendir makes it (files up to megabytes), for a few cases.
        t = os.path.join(self.fix, "tree-full")
        subprocess.run([sys.executable, gendir, "--seed", "4242", "--privileged", t],
                       check=True, capture_output=True)
        self.full_tree = t
        # A tree for option cases: small files, one big one, a hardlink.
        t = os.path.join(self.fix, "small")
        os.makedirs(os.path.join(t, "sub"))
        with open(os.path.join(t, "a"), "w") as f:
            f.write("hello\n")
        with open(os.path.join(t, "sub", "big"), "wb") as f:
            f.write(bytes(range(256)) * 64)
        os.link(os.path.join(t, "sub", "big"), os.path.join(t, "big-link"))
        os.symlink("a", os.path.join(t, "link"))
        os.utime(t, (1, 1))
        self.small = t
        # An unreadable tree (as nobody) and an unreadable file.
        t = os.path.join(self.fix, "unread")
        subprocess.run([sys.executable, gendir, "--seed", "77", "--unreadable", t],
                       check=True, capture_output=True)
        shrink(t)
        os.chmod(t, 0o755)
        self.unread = t
        os.chmod(self.fix, 0o755)
        for sub in ("dumps", "img"):
            os.chmod(os.path.join(self.fix, sub), 0o755)
        self.small_img = os.path.join(imgdir, "small.cfs")
        self.c_tool("mkcomposefs", self.small, self.small_img)
        self.small_dump = os.path.join(self.o.src, "tests/assets/special.dump")
        for path in (self.small_img,):
            os.chmod(path, 0o644)


# --- case generators -------------------------------------------------------------
def gen_dump(fx, rnd):
    for s, path, opts in fx.dumps:
        out = "@RUN@/out.cfs"
        yield Case("dump", "seed %d" % s, "mkcomposefs",
                   ["--from-file", "--print-digest"] + opts + [path, out], out="out.cfs")
        if s % 4 == 0:
            yield Case("dump", "seed %d stdin" % s, "mkcomposefs",
                       opts + ["--print-digest-only", "--from-file", "-"], stdin=path)
        if s % 4 == 1:
            yield Case("dump", "seed %d to stdout" % s, "mkcomposefs",
                       ["--from-file"] + opts + [path, "-"])


def gen_read(fx, rnd):
    store = "@FIX@/store"
    for name, img in fx.images:
        for sub in ("ls", "dump", "objects"):
            yield Case("read", name, "composefs-info", [sub, img])
        yield Case("read", name, "composefs-info", ["--basedir=" + store, "missing-objects", img])
        yield Case("read", name, "composefs-info", ["measure-file", img])
        yield Case("read", name, "composefs-dump", [img, "@RUN@/out.cfs"], out="out.cfs")
        if rnd.random() < 0.5:
            # Filters: a top-level name that exists (taken from C's listing), one that does not.
            p = fx.c_tool("composefs-info", "ls", img, check=False)
            names = [l.split(b"\t")[0][1:] for l in p.stdout.splitlines() if l.count(b"/") == 1]
            names = [n.decode("latin-1") for n in names if n and b"/" not in n and b"\\" not in n]
            f = ["--filter=" + rnd.choice(names)] if names else []
            f.append("--filter=no-such-entry")
            yield Case("read", name + " filtered", "composefs-info", f + [rnd.choice(["dump", "ls", "objects"]), img])
    # Several images in one call.
    imgs = [i for _, i in fx.images[:3]]
    for sub in ("ls", "dump", "objects", "measure-file"):
        yield Case("read", "three images", "composefs-info", [sub] + imgs)


FLAGS = ["--use-epoch", "--skip-xattrs", "--user-xattrs", "--skip-devices"]
VERSIONS = [[], ["--min-version=0", "--max-version=0"], ["--min-version=1", "--max-version=1"],
            ["--max-version=1"], ["--min-version=1"], ["--min-version=0", "--max-version=1"]]


def gen_tree(fx, rnd, scale):
    for k, (name, t) in enumerate(fx.trees):
        combos = []
        if k % 4 == 0:
            # The whole flag grid.
            for m in range(16):
                flags = [FLAGS[i] for i in range(4) if m >> i & 1]
                combos.append(flags + ["--print-digest"])
                if m in (0, 5, 10, 15):
                    # A store costs a sync: a few subsets suffice in CI.
                    combos.append(flags + ["--digest-store=@RUN@/store"])
        for _ in range(12):
            flags = [f for f in FLAGS if rnd.random() < 0.4]
            c = flags + rnd.choice(VERSIONS)
            c += rnd.choice([[], ["--print-digest"], ["--print-digest-only"]])
            if rnd.random() < 0.3:
                c.append("--digest-store=@RUN@/store")
            if rnd.random() < 0.3:
                c.append("--threads=%d" % rnd.choice([1, 2, 3, 8]))
            rnd.shuffle(c)
            combos.append(c)
        for c in combos:
            dest = [] if "--print-digest-only" in c else ["@RUN@/out.cfs"]
            yield Case("tree", name, "mkcomposefs", c + [t] + dest, out="out.cfs" if dest else None)
    for c in (["--digest-store=@RUN@/store", "--print-digest"], ["--use-epoch", "--threads=2"],
              ["--print-digest-only", "--user-xattrs"]):
        dest = [] if "--print-digest-only" in c else ["@RUN@/out.cfs"]
        yield Case("tree", "gendir-full", "mkcomposefs", c + [fx.full_tree] + dest, out="out.cfs" if dest else None)
    # Running twice on one store: the second run finds every object present.
    def prefilled(run):
        subprocess.run([os.path.join(fx.cbin, "mkcomposefs"), "--digest-store=" + run + "/store",
                        fx.trees[0][1], run + "/first.cfs"], check=True, capture_output=True,
                       env={"LD_LIBRARY_PATH": fx.r.clib})
    yield Case("tree", "store used twice", "mkcomposefs",
               ["--digest-store=@RUN@/store", "--print-digest", fx.trees[0][1], "@RUN@/out.cfs"],
               setup=prefilled, out="out.cfs")


def gen_options(fx, rnd):
    S, D, I = fx.small, fx.small_dump, fx.small_img
    out = "@RUN@/o.cfs"
    mk = [
        [S, out], ["--print-d", S, out], ["--print-digest-o", S], ["--print-digest-only", S, out],
        ["--print-digest", "--print-digest-only", S], ["--pr", S, out], ["--p", S],
        ["--from", D, out], ["--f", D, out], ["--from-file=1", D, out], ["--u", S, out], ["--us", S, out],
        ["--use", S, out], ["--user", S, out], ["--s", S, out], ["--skip-x", "--skip-d", S, out],
        ["--d=@RUN@/st", S, out], ["--digest-store", "@RUN@/st", S, out], ["--digest-store"],
        [S, out, "--digest-store"], ["--digest-store="], ["--digest-store=", S, out],
        ["--threads", S, out], ["--threads=", S, out], ["--threads=0", S, out], ["--threads=-1", S, out],
        ["--threads=abc", S, out], ["--threads=1x", S, out], ["--threads= 2", S, out],
        ["--threads=99999999999", S, out], ["--threads=4294967297", S, out], ["--threads", "2", S, out],
        ["--t=3", S, out], ["--min-version=x", S, out], ["--min-version=", S, out], ["--max-version=", S, out],
        ["--min-version=2", S, out], ["--max-version=0", "--min-version=1", S, out], ["--min-version=1", "--max-version=0", S, out],
        ["--max-version=-1", S, out], ["--min-version=99999999999999999999", S, out],
        ["--mi=1", S, out], ["--ma=0", S, out], ["--m=1", S, out],
        ["-C", S, out], ["-R", S, out], ["-x", S, out], ["-Cx", S, out], ["-", out], ["-h"], ["--help"],
        ["--help", S, out], ["--use-epoch=1", S, out], ["--foo", S, out], ["--foo=bar", S, out],
        ["--", S, out], ["--", "--use-epoch", S, out], [S, "--", out], [S, out, "--use-epoch", "--print-digest"],
        [S, "--print-digest", out], [], [""], ["", out], [S], [S, out, "extra"], ["--print-digest-only"],
        ["--from-file", "@RUN@/missing.dump", out], ["--from-file", S, out], ["--from-file", "-", out],
        [D, out], ["--from-file", D], ["--print-digest", "--from-file", D, out, "--min-version=1"],
        ["-:", S, out], ["--:", S, out], ["---use-epoch", S, out], ["-use-epoch", S, out],
    ]
    for a in mk:
        o = "o.cfs" if out in a else None
        yield Case("options", "mkcomposefs", "mkcomposefs", a, out=o)
    yield Case("options", "mkcomposefs POSIXLY_CORRECT", "mkcomposefs", [S, out, "--use-epoch"],
               env={"POSIXLY_CORRECT": "1"}, out="o.cfs")
    yield Case("options", "mkcomposefs POSIXLY_CORRECT", "mkcomposefs", ["--print-digest", S, out],
               env={"POSIXLY_CORRECT": "1"}, out="o.cfs")
    yield Case("options", "mkcomposefs argv0 path", "mkcomposefs", ["--bogus"], argv0="/usr/local/bin/mkcomposefs")
    yield Case("options", "mkcomposefs argv0 path", "mkcomposefs", [], argv0="./x/mkcomposefs")
    info = [
        ["ls", I], ["--basedir=@FIX@", "ls", I], ["ls", "--basedir", "@FIX@", I], ["ls", I, "--basedir=@FIX@"],
        ["--base=@FIX@", "objects", I], ["--b=@FIX@", "objects", I], ["--basedir"], ["ls", I, "--basedir"],
        ["--filter=a", "ls", I], ["--filter=sub", "--filter=a", "dump", I], ["--fil=a", "ls", I],
        ["--f", "a", "ls", I], ["--filter=a/b", "ls", I], ["--filter=", "ls", I], ["--filter"],
        ["--basedir=@RUN@/nope", "missing-objects", I], ["--basedir=@FIX@/img/small.cfs", "missing-objects", I],
        ["missing-objects", I], ["--basedir=@FIX@", "missing-objects", I], ["lsx", I], ["LS", I], ["l", I],
        [], ["ls"], ["dump"], ["objects"], ["missing-objects"], ["measure-file"], ["--help"], ["-h"], ["-x", "ls", I],
        ["--foo", "ls", I], ["--", "ls", I], ["ls", "--", I], ["--", "--filter=a", "ls", I], ["ls", "@RUN@/nope"],
        ["ls", I, "@RUN@/nope"], ["measure-file", "@RUN@/nope"], ["measure-file", I, "@RUN@/nope"],
        ["measure-file", "@FIX@"], ["ls", "@FIX@"], ["dump", "/dev/null"], ["ls", I, I], ["--basedir=@FIX@", "--basedir=@RUN@", "ls", I],
        ["--unknown=x", "--filter=y", "dump", I], ["ls", "-", ], ["dump", "--filter=a", I],
    ]
    for a in info:
        yield Case("options", "composefs-info", "composefs-info", a)
    yield Case("options", "composefs-info POSIXLY_CORRECT", "composefs-info", ["ls", I, "--filter=a"],
               env={"POSIXLY_CORRECT": "1"})
    yield Case("options", "composefs-info argv0 path", "composefs-info", [], argv0="/opt/x/composefs-info")
    dump = [[], [I], [I, "@RUN@/o.cfs", "extra"], ["--help"], ["--help", "@RUN@/o.cfs"], ["-", "@RUN@/o.cfs"],
            [I, "@RUN@/o.cfs"], [I, "-"], ["@RUN@/nope", "@RUN@/o.cfs"], [I, "@RUN@/nodir/o.cfs"], ["@FIX@", "@RUN@/o.cfs"],
            ["/dev/null", "@RUN@/o.cfs"], [I, "@FIX@"], ["--", I, "@RUN@/o.cfs"]]
    for a in dump:
        yield Case("options", "composefs-dump", "composefs-dump", a, out="o.cfs" if "@RUN@/o.cfs" in a else None)
    # mount.composefs: only calls that must fail before anything is mounted
    # (the image or the mount point does not exist, or the options are bad).
    nope, mnt = "@RUN@/nope.cfs", "@RUN@/nomnt"
    mount = [
        [], ["-h"], ["--help"], ["-x"], ["-t"], ["-t", "composefs"], ["-t", "ext4", nope, mnt], ["-tcomposefs", nope, mnt],
        ["-o"], [nope], ["-o", "basedir=/tmp", nope], [nope, mnt], ["-o", "basedir=/tmp", nope, mnt],
        ["-o", "basedir=/tmp,ro,rw,verity,tryverity", nope, mnt], ["-o", "basedir", nope, mnt],
        ["-o", "basedir=", nope, mnt], ["-o", "basedir=a::b", nope, mnt], ["-o", "basedir=:a", nope, mnt],
        ["-o", "basedir=a:", nope, mnt], ["-o", "basedir=/tmp,digest", nope, mnt], ["-o", "basedir=/tmp,upperdir=/x", nope, mnt],
        ["-o", "basedir=/tmp,workdir=/x", nope, mnt], ["-o", "basedir=/tmp,idmap", nope, mnt],
        ["-o", "basedir=/tmp,idmap=/nonexistent", nope, mnt], ["-o", "basedir=/tmp,bogus", nope, mnt],
        ["-o", "basedir=/tmp,bogus=1", nope, mnt], ["-o", "basedir=/tmp,,ro", nope, mnt], ["-o", "", nope, mnt],
        ["-o", "basedir=/t\\,mp", nope, mnt], ["-o", "ro", "-o", "basedir=/tmp", nope, mnt], [nope, mnt, "-o", "ro"],
        ["--", nope, mnt], ["-o", "basedir=/tmp", I, mnt], ["-o", "basedir=/tmp,digest=" + "a" * 64, I, mnt],
        ["-o", "basedir=/tmp,digest=xyz", I, mnt], ["-o", "basedir=/tmp,verity", I, mnt],
        ["-o", "digest=" + "a" * 64, I, mnt], ["-o", "basedir=/tmp", nope, mnt, "extra"],
    ]
    for a in mount:
        yield Case("options", "mount.composefs", "mount.composefs", a)
    yield Case("options", "mount.composefs argv0 path", "mount.composefs", ["-h"], argv0="/sbin/mount.composefs")


def gen_bad(fx, rnd, scale):
    imgs = [fx.small_img] + [i for _, i in fx.images[:2 + 2 * scale]]
    for img in imgs:
        data = open(img, "rb").read()
        cuts = sorted({0, 1, 100, 1023, 1024, 4095, 4096, len(data) // 2, len(data) - 1} | {rnd.randrange(len(data)) for _ in range(3)})
        for n in cuts:
            if n >= len(data):
                continue
            name = "cut-%d.cfs" % n
            yield from read_cases(fx, "truncated %s at %d" % (os.path.basename(img), n), data[:n], name)
        for k in range(4):
            b = bytearray(data)
            for _ in range(rnd.choice([1, 1, 2, 8])):
                # Mostly the superblock and inode area, where a flip matters.
                off = rnd.randrange(min(len(b), 2048) if rnd.random() < 0.7 else len(b))
                b[off] = rnd.randrange(256)
            yield from read_cases(fx, "corrupt %s #%d" % (os.path.basename(img), k), bytes(b), "bad.cfs")
    S, D, I = fx.small, fx.small_dump, fx.small_img
    out = "@RUN@/o.cfs"
    # Unreadable inputs, as user nobody.
    yield Case("bad", "unreadable tree as nobody", "mkcomposefs", ["--print-digest", fx.unread, out], user=True, out="o.cfs")
    yield Case("bad", "unreadable tree as nobody", "mkcomposefs", ["--print-digest-only", "--threads=1", fx.unread], user=True)
    yield Case("bad", "unreadable tree, root", "mkcomposefs", ["--print-digest", fx.unread, out], out="o.cfs")

    def private(mode, src, name):
        def setup(run):
            p = os.path.join(run, name)
            shutil.copy(src, p)
            os.chmod(p, mode)
        return setup
    yield Case("bad", "unreadable dump as nobody", "mkcomposefs", ["--from-file", "@RUN@/in.dump", out],
               user=True, setup=private(0o600, D, "in.dump"), out="o.cfs")
    for sub in ("ls", "dump", "objects", "measure-file"):
        yield Case("bad", "unreadable image as nobody", "composefs-info", [sub, "@RUN@/in.cfs"],
                   user=True, setup=private(0o600, I, "in.cfs"))
    yield Case("bad", "unreadable image as nobody", "composefs-dump", ["@RUN@/in.cfs", out],
               user=True, setup=private(0o600, I, "in.cfs"), out="o.cfs")

    def ro_dir(name, mode=0o555):
        def setup(run):
            os.mkdir(os.path.join(run, name))
            os.chmod(os.path.join(run, name), mode)
        return setup
    yield Case("bad", "output in a read-only dir as nobody", "mkcomposefs", [S, "@RUN@/ro/o.cfs"], user=True, setup=ro_dir("ro"))
    yield Case("bad", "output in a read-only dir as nobody", "composefs-dump", [I, "@RUN@/ro/o.cfs"], user=True, setup=ro_dir("ro"))
    # Missing directories.
    yield Case("bad", "missing source dir", "mkcomposefs", ["@RUN@/nope", out], out="o.cfs")
    yield Case("bad", "missing source dir", "mkcomposefs", ["--print-digest-only", "@RUN@/nope"])
    yield Case("bad", "source is a file", "mkcomposefs", [D, out], out="o.cfs")
    yield Case("bad", "source is a file, digest only", "mkcomposefs", ["--print-digest-only", D])
    yield Case("bad", "dump is a directory", "mkcomposefs", ["--from-file", S, out], out="o.cfs")
    yield Case("bad", "output dir missing", "mkcomposefs", [S, "@RUN@/nodir/o.cfs"])
    yield Case("bad", "output is a directory", "mkcomposefs", [S, "@RUN@"])
    yield Case("bad", "store dir parent missing", "mkcomposefs", ["--digest-store=@RUN@/a/b/store", S, out], out="o.cfs")
    yield Case("bad", "store is a file", "mkcomposefs", ["--digest-store=" + D, S, out], out="o.cfs")
    yield Case("bad", "store read-only as nobody", "mkcomposefs", ["--digest-store=@RUN@/store", S, out],
               user=True, setup=ro_dir("store", 0o755), out="o.cfs")
    yield Case("bad", "store read-only as nobody, from file", "mkcomposefs",
               ["--digest-store=@RUN@/store", "--from-file", D, out], user=True, setup=ro_dir("store", 0o755), out="o.cfs")
    yield Case("bad", "empty dump", "mkcomposefs", ["--from-file", "/dev/null", out], out="o.cfs")
    yield Case("bad", "empty dump on stdin", "mkcomposefs", ["--from-file", "-", out], stdin=b"", out="o.cfs")
    yield Case("bad", "dump on stdin", "mkcomposefs", ["--from-file", "--print-digest", "-", out], stdin=D, out="o.cfs")
    # A full disk.
    yield Case("bad", "/dev/full", "mkcomposefs", [S, "/dev/full"])
    yield Case("bad", "/dev/full", "mkcomposefs", ["--print-digest", "--from-file", D, "/dev/full"])
    yield Case("bad", "/dev/full", "composefs-dump", [I, "/dev/full"])
    yield Case("bad", "stdout /dev/full", "mkcomposefs", [S, "-"], out="@STDOUT-FULL@")
    yield Case("bad", "stdout /dev/full", "mkcomposefs", ["--print-digest-only", S], out="@STDOUT-FULL@")
    yield Case("bad", "stdout /dev/full", "composefs-info", ["dump", I], out="@STDOUT-FULL@")
    yield Case("bad", "stdout /dev/full", "composefs-info", ["ls", I], out="@STDOUT-FULL@")
    yield Case("bad", "stdout /dev/full", "composefs-info", ["measure-file", I], out="@STDOUT-FULL@")
    # `-` to a pipe (captured stdout is one) and to a tty.
    yield Case("bad", "stdout pipe", "mkcomposefs", [S, "-"])
    yield Case("bad", "stdout pipe", "mkcomposefs", ["--print-digest", S, "-"])
    yield Case("bad", "stdout tty", "mkcomposefs", [S, "-"], tty=True)
    yield Case("bad", "stdout tty", "mkcomposefs", ["--from-file", D, "-"], tty=True)


def read_cases(fx, label, data, name):
    def setup(run):
        with open(os.path.join(run, name), "wb") as f:
            f.write(data)
    p = "@RUN@/" + name
    cases = [Case("bad", label, "composefs-info", [sub, p], setup=setup) for sub in ("ls", "dump", "objects")]
    cases.append(Case("bad", label, "composefs-dump", [p, "@RUN@/o.cfs"], setup=setup, out="o.cfs"))
    for c in cases:
        c.pad = (name, data)
        yield c


# --- main -------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--c", required=True, help="directory with C's four tools")
    ap.add_argument("--clib", required=True, help="directory with C's libcomposefs.so.1")
    ap.add_argument("--ours", required=True, help="directory with our four tools")
    ap.add_argument("--ours-lib", default="", help="LD_LIBRARY_PATH for our side (harness self-test with C's tools)")
    ap.add_argument("--src", required=True, help="upstream source tree")
    ap.add_argument("--work", required=True)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--first", type=int, default=1, help="first random seed")
    ap.add_argument("--only", default="", help="comma-separated groups")
    ap.add_argument("--case", default="", help="run only cases whose description contains this")
    ap.add_argument("-v", "--verbose", action="store_true")
    o = ap.parse_args()
    os.makedirs(o.work, exist_ok=True)
    os.chmod(o.work, 0o755)
    runner = Runner(o)
    # Private copies, so that user nobody can run them and argv[0] stays ours.
    for side, src in (("c", o.c), ("ours", o.ours)):
        d = runner.bins[side]
        os.makedirs(d)
        for t in TOOLS:
            shutil.copy(os.path.realpath(os.path.join(src, t)), os.path.join(d, t))
            os.chmod(os.path.join(d, t), 0o755)
        os.chmod(d, 0o755)
    os.makedirs(runner.clib)
    shutil.copy(os.path.join(o.clib, "libcomposefs.so.1"), runner.clib)
    os.chmod(runner.clib, 0o755)

    rnd = random.Random(o.first)
    nd = 60 * o.scale
    dump_seeds = [(o.first, o.first + nd - 1)]
    wanted = [g for g in o.only.split(",") if g]
    # Trees are slow to make: only when the tree group runs.
    tree_seeds = [o.first + i for i in range(2 * o.scale)] if not wanted or "tree" in wanted else []
    t0 = time.monotonic()
    fx = Fixtures(o, runner)
    fx.build(dump_seeds, tree_seeds)
    os.makedirs(os.path.join(runner.fix, "store"))
    print("fixtures: %d dumpfiles (%d written by C), %d trees, %.0fs" % (
        len(fx.dumps), len(fx.images), len(fx.trees), time.monotonic() - t0), flush=True)

    groups = {
        "dump": lambda: gen_dump(fx, rnd),
        "read": lambda: gen_read(fx, rnd),
        "tree": lambda: gen_tree(fx, rnd, o.scale),
        "options": lambda: gen_options(fx, rnd),
        "bad": lambda: gen_bad(fx, rnd, o.scale),
    }
    only = wanted or list(groups)
    counts = {}
    intended = {}
    mismatches = 0
    total = 0
    for g in only:
        n = same = inten = bad = 0
        t0 = time.monotonic()
        # Each group has its own random stream: the same cases whatever --only says.
        rnd.seed("%d-%s" % (o.first, g))
        for case in groups[g]():
            desc = case.describe()
            if o.case and o.case not in desc and o.case not in case.label:
                continue
            c = runner.run(case, "c")
            r = runner.run(case, "ours")
            res = compare(case, c, r)
            if res is not None and res[0] == "mismatch" and case.group == "bad":
                res = (unstable(case, runner, c, r) or past_eof(case, runner, c, r)
                       or hardlinked_whiteout(case, runner, c, r) or reads_freed(case, runner, c, r)
                       or res)
            n += 1
            if res is None:
                same += 1
                if o.verbose:
                    print("same  [%s] %s: %s" % (g, case.label, desc))
            elif res[0] == "intended":
                inten += 1
                intended.setdefault(res[1], []).append("[%s] %s: %s" % (g, case.label, desc))
                if o.verbose:
                    print("INTENDED %s [%s] %s: %s" % (res[1], g, case.label, desc))
            else:
                bad += 1
                keep = os.environ.get("LCFS_DIFF_KEEP")
                if keep:
                    # The scratch directory as ours left it (inputs included).
                    dest = os.path.join(keep, "%s-%d" % (g, n))
                    shutil.copytree(runner.run_dir, dest, symlinks=True)
                    print("    kept in " + dest)
                print("MISMATCH [%s] %s: %s\n    %s" % (g, case.label, runner.subst(desc), res[1]), flush=True)
        counts[g] = (n, same, inten, bad)
        total += n
        mismatches += bad
        print("group %-8s %5d cases, %5d identical, %3d intended differences, %3d mismatches (%.0fs)" % (
            g, n, same, inten, bad, time.monotonic() - t0), flush=True)
    for ident, cases in sorted(intended.items()):
        print("intended difference %s (%d cases): %s" % (ident, len(cases), INTENDED[ident][0]))
        for c in cases[:3]:
            print("    e.g. " + c)
    ident_total = sum(v[1] for v in counts.values())
    int_total = sum(v[2] for v in counts.values())
    print("tools differential: %d cases, %d identical, %d intended differences, %d mismatches" % (
        total, ident_total, int_total, mismatches))
    if os.path.lexists(runner.run_dir):
        clear(runner.run_dir)
    return 1 if mismatches else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
