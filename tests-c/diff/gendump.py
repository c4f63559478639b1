#!/usr/bin/env python3
"""Random composefs dumpfiles for the differential test (check-diff-dump.sh).

Each seed gives one dumpfile and one set of mkcomposefs options, always the
same for the same seed. The trees aim at the writer's corner cases: sizes
around the block size and the inline limit, long symlinks, many, large and
shared xattrs, hardlinks (also chains and forward references), whiteouts and
other special files, odd names, times and ids, deep and wide directories.
About one case in eight is broken on purpose (one to three mutations from a
list), so that both libraries must refuse it the same way.

Usage: gendump.py OUTDIR SEED...     (SEED may be A-B, an inclusive range)
Writes OUTDIR/SEED.dump and prints one line per seed: "SEED<TAB>OPTIONS".
Standard library only.
"""

import os
import random
import sys

BLOCK = 4096
INLINE_MAX = 5000
PREFIXES = ["user.", "trusted.", "security.", "system.", "trusted.overlay.",
            "user.overlay.", "trusted.overlay.overlay.", "", "usr.", "security"]
SIZES = [0, 1, 2, 63, 64, 65, 100, 511, 512, 513, 1000, 2047, 2048, 2049, 4000,
         4095, 4096, 4097, 4098, 4500, 4999, 5000, 5001, 6144, 6145, 8191, 8192, 8193, 12288,
         65535, 65536, 1 << 20, (1 << 20) + 1, (1 << 32) - 1, 1 << 32,
         (1 << 32) + 4096, 1 << 40, 1 << 41, (1 << 42) + 1, 1 << 44,
         (1 << 45) - 1, 1 << 50]
# Past what C accepts (EFBIG), except the last two: C's chunk count wraps.
SIZES_HUGE = [(1 << 53) + 1, (1 << 63) - 1, 1 << 63, (1 << 64) - (1 << 43),
              (1 << 64) - (1 << 43) + 1, (1 << 64) - 1]


def _table(upper, short, extra):
    """Byte -> text for one escaping style."""
    t = []
    for c in range(256):
        if short and c in SHORT:
            t.append(SHORT[c])
        elif c <= 0x20 or c >= 0x7f or c == 0x5c or c in extra:
            t.append(("\\x%02X" if upper else "\\x%02x") % c)
        else:
            t.append(chr(c))
    return t


SHORT = {0x0a: "\\n", 0x09: "\\t", 0x0d: "\\r", 0x5c: "\\\\"}
# Styles: hex case, short forms or not, and escaping of harmless bytes
# ('=' is only required in xattr fields; a/y/. escaped just because).
TABLES = {(u, s, e): _table(u, s, {0x3d} if e else set())
          for u in (False, True) for s in (False, True) for e in (False, True)}
TABLES_ODD = [_table(False, True, {0x3d, 0x61, 0x79, 0x2e, 0x2f, 0x2d}),
              _table(True, False, set(range(0x21, 0x7f)))]


def esc_bytes(b, rnd, eq=False):
    """Escape bytes for a dumpfile field in a style picked per field."""
    if rnd.random() < 0.03:
        t = rnd.choice(TABLES_ODD)
        if not eq:
            return "".join(map(t.__getitem__, b))
        return "".join(map(t.__getitem__, b)).replace("=", "\\x3d")
    t = TABLES[(rnd.random() < 0.3, rnd.random() < 0.5, eq)]
    return "".join(map(t.__getitem__, b))


def opt_field(b, rnd):
    """An optional field: None is '-', a literal '-' must be escaped."""
    if b is None:
        return "-"
    if b == b"-":
        return "\\x2d"
    return esc_bytes(b, rnd)


class Gen:
    def __init__(self, seed):
        self.seed = seed
        self.r = random.Random(seed)
        r = self.r
        # A per-case style so that cases differ in kind, not only in detail.
        self.p_xattr = r.choice([0.0, 0.1, 0.3, 0.7, 1.0])
        self.p_shared = r.choice([0.0, 0.3, 0.8])
        self.p_odd_name = r.choice([0.0, 0.05, 0.3])
        self.p_inline = r.choice([0.0, 0.5, 0.9])
        self.style = r.choice(["small", "small", "small", "medium", "medium",
                               "medium", "wide", "deep", "deeplong", "xattrs",
                               "links", "sizes"])
        if self.style == "deeplong":
            self.p_odd_name = 1.0  # long names: paths well past PATH_MAX
        if self.style in ("wide", "deep", "deeplong"):
            # Many entries: keep the file small, the shape is the point.
            self.p_xattr = min(self.p_xattr, 0.1)
            self.p_inline = min(self.p_inline, 0.2)
        self.pool = [self.xattr_pair() for _ in range(r.choice([1, 3, 10, 40]))]
        self.dirs = [b"/"]        # paths of directories, parents first
        self.files = []           # paths of non-directories (hardlink targets)
        self.lines = []           # (path, line text); root first
        self.names = {b"/": set()}
        self.bad = None

    # ---- field values -------------------------------------------------
    def name(self, parent):
        r = self.r
        used = self.names[parent]
        for _ in range(20):
            if r.random() < self.p_odd_name:
                k = r.randrange(8) if self.style != "deeplong" else r.choice([0, 6, 7])
                if k == 0:
                    n = bytes(r.choice(b"abcdefghij") for _ in range(255))
                elif k == 1:
                    n = bytes(r.randrange(1, 256) for _ in range(r.randrange(1, 40)))
                    n = n.replace(b"/", b"_")
                elif k == 2:
                    n = r.choice([b"-", b"=", b"a b", b"\\", b"x=y", b"\xff\xfe",
                                  b"\n", b"\t", b"...", b".a", b"a.", b"\x7f"])
                elif k == 3:
                    n = bytes(r.choice(b"\x01\x20\x7f\x80\xff") for _ in range(r.randrange(1, 6)))
                elif k == 4:
                    n = ("%0*d" % (r.randrange(1, 255), r.randrange(1000))).encode()
                elif k == 5:
                    n = "é名字".encode() * r.randrange(1, 20)
                elif k == 6:
                    n = bytes(r.randrange(0x21, 0x7f) for _ in range(r.randrange(200, 256)))
                    n = n.replace(b"/", b"_")
                else:
                    n = b"a" * r.randrange(1, 256)
                if n in (b".", b".."):
                    continue
            else:
                n = ("%s%d" % (r.choice("abcxyzABC_"), r.randrange(10000))).encode()
            if n not in used:
                used.add(n)
                return n
        n = b"z%d" % len(used)
        used.add(n)
        return n

    def uid(self):
        r = self.r
        return r.choice([0, 0, 1000, r.randrange(1 << 16), (1 << 32) - 1, 1 << 31,
                         (1 << 16) - 1, 1 << 16, r.randrange(1 << 32),
                         (1 << 32) + 7, (1 << 64) - 1])  # the last two truncate

    def mtime(self):
        r = self.r
        sec = r.choice(["0", "1", "1700000000", str((1 << 31) - 1), str(1 << 31),
                        str(1 << 32), str((1 << 63) - 1), str(1 << 63), "-1",
                        str((1 << 64) - 1), str(r.randrange(1 << 34))])
        nsec = r.choice(["0", "1", "999999999", str(r.randrange(10 ** 9)),
                         "1000000000", "000123", str(1 << 32)])
        return sec + "." + nsec

    def xattr_pair(self):
        r = self.r
        pre = r.choice(PREFIXES)
        k = r.randrange(6)
        if k == 0:
            key = pre.encode() + b"k" * max(1, 255 - len(pre))
        elif k == 1:
            key = pre.encode() + bytes(r.randrange(1, 256) for _ in range(r.randrange(1, 12)))
        else:
            key = (pre + r.choice(["a", "b", "selinux", "foo.bar", "x", "opaque",
                                   "redirect", "metacopy", "whiteout",
                                   "posix_acl_access", "k%d" % r.randrange(100)])).encode()
        key = key[:255] or b"a"
        if key in (b"security",):
            key = b"security.x"
        k = r.randrange(7)
        if k == 0:
            val = b""
        elif k == 1:
            val = bytes(r.randrange(256) for _ in range(r.randrange(1, 20)))
        elif k == 2:
            val = b"y" * r.choice([100, 255, 256, 1000, 2000, 4000, 4095, 4096, 5000]
                               if r.random() < 0.3 else [100, 255, 256])
        elif k == 3:
            val = b"unconfined_u:object_r:unlabeled_t:s0\x00"
        else:
            val = ("v%d" % r.randrange(50)).encode()
        return key, val

    def xattrs(self, many=False):
        r = self.r
        if not many and r.random() >= self.p_xattr:
            return []
        n = r.choice([1, 1, 2, 3, 5, 10]) if not many else r.choice([20, 50, 100, 200])
        out = []
        budget = 30000
        for _ in range(n):
            kv = r.choice(self.pool) if r.random() < self.p_shared else self.xattr_pair()
            cost = 7 + len(kv[0]) + len(kv[1])
            if cost > budget:
                break
            budget -= cost
            out.append(kv)
        if r.random() < 0.05 and out:
            out.append((out[0][0], b"replaced"))  # same key twice: last wins
        return out

    def xattr_text(self, xs):
        r = self.r
        return "".join(" " + esc_bytes(k, r, eq=True) + "=" + esc_bytes(v, r, eq=True)
                       for k, v in xs)

    # ---- lines ----------------------------------------------------------
    def line(self, path, size, mode, nlink, payload=None, content=None, digest=None,
             xs=(), rdev=0, hardlink=False, uid=None, gid=None, mtime=None):
        r = self.r
        f = [esc_bytes(path, r), str(size), ("@" if hardlink else "") + "%o" % mode,
             str(nlink), str(self.uid() if uid is None else uid),
             str(self.uid() if gid is None else gid), str(rdev),
             mtime or self.mtime(), opt_field(payload, r), opt_field(content, r),
             digest or "-"]
        self.lines.append((path, " ".join(f) + self.xattr_text(xs)))

    def digest(self):
        r = self.r
        d = "".join(r.choice("0123456789abcdef") for _ in range(64))
        return d.upper() if r.random() < 0.1 else d

    def payload_path(self, d=None):
        r = self.r
        if d is None or r.random() < 0.3:
            d = "".join(r.choice("0123456789abcdef") for _ in range(64))
        k = r.randrange(6)
        if k == 0:
            return ("%s/%s" % (d[:2], d[2:])).encode()
        if k == 1:
            return b"x" * r.choice([1, 255, 1000, 4095])
        if k == 2:
            # Absolute: C's reader takes the redirect with a length off by
            # two, so the bytes after the value show up; vary the length.
            return ("/abs/%s" % d)[:r.randrange(1, 70)].encode()
        if k == 3:
            return bytes(r.randrange(1, 256) for _ in range(r.randrange(1, 30)))
        return d[:r.randrange(1, 65)].encode()

    def join(self, parent, name):
        return (parent if parent == b"/" else parent + b"/") + name

    def add_dir(self, parent):
        path = self.join(parent, self.name(parent))
        mode = 0o40000 | self.r.choice([0o755, 0o700, 0o1777, 0o555, 0])
        r = self.r
        self.line(path, r.choice([0, 4096, 1 << 40]), mode, r.choice([1, 2, 7]),
                  payload=self.payload_path() if r.random() < 0.05 else None,
                  digest=self.digest() if r.random() < 0.05 else None,
                  xs=self.xattrs())
        self.dirs.append(path)
        self.names[path] = set()
        return path

    def add_file(self, parent):
        r = self.r
        path = self.join(parent, self.name(parent))
        perm = r.choice([0o644, 0o755, 0o600, 0o4755, 0o2755, 0o7777, 0])
        nlink = r.choice([1, 1, 1, 2, 0, 65535, 1 << 31])
        xs = self.xattrs(many=(self.style == "xattrs" and r.random() < 0.2))
        k = r.randrange(20)
        if self.style == "sizes":
            k = r.choice([0, 1, 2, 3])
        if k <= 5:  # regular file
            if r.random() < 0.01:
                size = r.choice(SIZES_HUGE)
            elif self.style == "sizes" or r.random() < 0.5:
                size = r.choice(SIZES)
            else:
                size = r.randrange(0, 20000)
            content = payload = digest = None
            if size <= INLINE_MAX and size > 0 and r.random() < self.p_inline:
                content = r.randbytes(size) if r.random() < 0.5 \
                    else bytes(r.choice(b"abc \n=\\-") for _ in range(size))
            elif size > 0:
                dg = self.digest() if r.random() < 0.6 else None
                if r.random() < 0.8:
                    payload = self.payload_path(dg and dg.lower())
                digest = dg
            if r.random() < 0.05:
                digest = self.digest()  # digest beside inline content or on empty
            if r.random() < 0.05:
                payload = self.payload_path()
            self.line(path, size, 0o100000 | perm, nlink, payload, content, digest, xs)
        elif k <= 8:  # symlink
            tl = r.choice([1, 2, 10, 100, 255, 256, 1000, 4000, 4094, 4095, r.randrange(1, 300)])
            target = bytes(r.randrange(1, 256) for _ in range(tl)) if r.random() < 0.3 \
                else (b"../target/" * (tl // 10 + 1))[:tl]
            size = r.choice([tl, 0, 7, 1 << 40])
            self.line(path, size, 0o120777 if r.random() < 0.8 else 0o120000 | perm, nlink,
                      target, None, None, xs)
        elif k <= 10:  # whiteout: char device 0/0
            self.line(path, 0, 0o20000 | r.choice([0, 0o644]), nlink,
                      self.payload_path() if r.random() < 0.05 else None, None, None, xs)
        elif k <= 12:  # devices
            rdev = r.choice([1, 0x0801, 259 << 8, (1 << 32) - 1, 1 << 32, (1 << 64) - 1,
                             r.randrange(1 << 20)])
            t = r.choice([0o20000, 0o60000])
            self.line(path, 0, t | perm, nlink, None, None, None, xs, rdev=rdev)
        elif k <= 14:  # fifo, socket; sometimes with stray size/payload/rdev
            t = r.choice([0o10000, 0o140000])
            self.line(path, r.choice([0, 0, 10]), t | perm, nlink,
                      self.payload_path() if r.random() < 0.1 else None, None,
                      self.digest() if r.random() < 0.1 else None, xs,
                      rdev=r.choice([0, 0, 5]))
        else:  # empty regular file, sometimes with an empty content field
            self.line(path, 0, 0o100000 | perm, nlink,
                      self.payload_path() if r.random() < 0.1 else None,
                      b"" if r.random() < 0.2 else None,
                      self.digest() if r.random() < 0.1 else None, xs)
        self.files.append(path)
        return path

    def add_hardlink(self, parent):
        r = self.r
        path = self.join(parent, self.name(parent))
        if self.files and r.random() < 0.9:
            target = r.choice(self.files)
        else:
            target = None
        if target is None:
            self.pending.append((path, parent))
            return
        self.hardlink_line(path, target)

    def add_xattr_limit_file(self):
        """A file whose xattrs need the dumpfile's per-inode budget (half of
        64 KiB) exactly, one byte less or one byte more (refused)."""
        r = self.r
        parent = r.choice(self.dirs)
        path = self.join(parent, self.name(parent))
        n = r.randrange(1, 4)
        keys = [b"user.lim%d" % i for i in range(n)]
        # Header once, then per entry 2 * 4 - 1 bytes plus name and value.
        fixed = 12 + sum(7 + len(k) for k in keys)
        total = (1 << 15) - 1 - fixed + r.choice([-1, 0, 0, 1])
        vals = [total // n] * n
        vals[0] += total - sum(vals)
        self.line(path, 0, 0o100644, 1, xs=[(k, b"L" * v) for k, v in zip(keys, vals)])
        self.files.append(path)

    def hardlink_line(self, path, target):
        r = self.r
        # Only the target path matters; the other fields are noise.
        mode = r.choice([0o100644, 0o120777, 0o20000, 0o10644, 0o140755])
        self.line(path, r.choice([0, 5, 99999]), mode, r.choice([1, 3]), target,
                  None if r.random() < 0.9 else b"zz", None, self.xattrs(),
                  hardlink=True)
        self.files.append(path)  # chains: a hardlink to a hardlink

    def build(self):
        r = self.r
        self.pending = []
        self.line(b"/", 4096, 0o40000 | r.choice([0o755, 0o700, 0o555]), 2,
                  xs=self.xattrs())
        n = {"small": r.randrange(1, 12), "medium": r.randrange(10, 80),
             "wide": r.randrange(100, 500), "deep": r.randrange(30, 120), "deeplong": r.randrange(20, 60),
             "xattrs": r.randrange(5, 40), "links": r.randrange(10, 60),
             "sizes": r.randrange(10, 60)}[self.style]
        for i in range(n):
            if self.style in ("deep", "deeplong"):
                parent = self.dirs[-1]
            elif self.style == "wide":
                parent = self.dirs[min(len(self.dirs) - 1, r.choice([0, 0, 0, 1]))]
            else:
                parent = r.choice(self.dirs)
            k = r.random()
            if self.style == "deep" or self.style == "deeplong" and k < 0.7 or k < 0.15:
                self.add_dir(parent)
            elif k < (0.45 if self.style == "links" else 0.22):
                self.add_hardlink(parent)
            else:
                self.add_file(parent)
        if r.random() < 0.1:
            self.add_xattr_limit_file()
        # Forward references: hardlinks written before their targets.
        for path, parent in self.pending:
            if self.files:
                tgt = r.choice(self.files)
                self.hardlink_line(path, tgt)
                # move the hardlink line before its target's line
                text = self.lines.pop()
                idx = next(i for i, (p, _) in enumerate(self.lines) if p == tgt)
                if parent == b"/" or all(p != parent for p, _ in self.lines[idx:]):
                    self.lines.insert(idx, text)
                else:
                    self.lines.append(text)
        if r.random() < 0.3:
            self.shuffle_order()

    def shuffle_order(self):
        """Keep parents before children but otherwise mix the line order."""
        r = self.r
        placed, out, rest = set(), [], list(self.lines)
        while rest:
            # The earliest remaining line is always ready: the input order
            # already puts parents first.
            ready = [i for i, (p, _) in enumerate(rest)
                     if p == b"/" or (p.rsplit(b"/", 1)[0] or b"/") in placed]
            p, t = rest.pop(r.choice(ready[:8]))
            out.append((p, t))
            placed.add(p)
        self.lines = out

    # ---- broken inputs ----------------------------------------------------
    def mutate(self):
        r = self.r
        lines = [t for _, t in self.lines]
        i = r.randrange(len(lines))
        f = lines[i].split(" ")
        k = r.randrange(26)
        self.bad = k
        if k == 0:
            f[2] = "170644"            # no such file type
        elif k == 1:
            f[0] = "/nonexistent/x"     # missing parent
        elif k == 2:
            lines.append(lines[-1])     # duplicate path (or second root)
        elif k == 3:
            f[1], f[2], f[9] = "3", "100644", "ab"    # content size mismatch
        elif k == 4:
            f[1], f[2], f[9] = "5001", "100644", "a" * 5001  # inline too big
        elif k == 5:
            f[8] = "bad\\q"             # unknown escape
        elif k == 6:
            f[r.choice([1, 3, 4])] = r.choice(["x", "", "12a", "0x10"])  # bad integer
        elif k == 7:
            f[2], f[8] = "120777", r.choice(["-", "\\x00"])  # empty symlink target
        elif k == 8:
            f[2], f[8] = "@100644", "/no/such/target"
        elif k == 9:
            f[2], f[8] = "@100644", "/"  # hardlink to a directory (the root)
        elif k == 10:
            f[0] = "/" + "n" * 256      # name too long
        elif k == 11:
            f.append("user.noequals")
        elif k == 12:
            f.append("user." + "k" * 251 + "=v")  # key of 256 bytes
        elif k == 13:
            f[7] = r.choice(["1", "1.", ".5", "a.b"])  # bad mtime
        elif k == 14:
            lines[i] = lines[i][:5] + "\0" + lines[i][5:]
            f = None
        elif k == 15:
            lines = lines[1:] or ["/x 0 100644 1 0 0 0 0.0 - - -"]  # no root
            f = None
        elif k == 16:
            lines[0] = "/ 0 100644 1 0 0 0 0.0 - - -"  # root not a directory
            f = None
        elif k == 17:
            f[2], f[8] = "120777", "l" * 4096  # symlink target too long
        elif k == 18:
            f[8] = "p" * 4096            # payload too long
        elif k == 19:
            f[0] = r.choice(["/a/.", "/..", "/.", ""])  # dot names, empty path
        elif k == 20:   # xattrs past the dumpfile limit on one inode
            f += ["user.big%d=%s" % (j, "v" * 4000) for j in range(9)]
        elif k == 21:   # a line longer than the xattr line cap
            f += ["user.x%d=%s" % (j, "w" * 60) for j in range(1200)]
        elif k == 22:
            f[8] = "bad\\x4"             # truncated hex escape
        elif k == 23:
            f[2], f[1], f[8] = "@100644", "0", lines[i].split(" ")[0]  # self link
        elif k == 24:
            f.append(r.choice(["=v", "=", "\\x3d=v"]))  # empty key, or "="
        else:   # two hardlinks naming each other: a cycle
            lines.append("/cyc1 0 @100644 1 0 0 0 0.0 /cyc2 - -")
            lines.append("/cyc2 0 @100644 1 0 0 0 0.0 /cyc1 - -")
            f = None
        if f is not None:
            lines[i] = " ".join(f)
        self.lines = [(None, t) for t in lines]

    def options(self):
        r = self.r
        opts = []
        v = r.randrange(12) if r.random() < 0.5 else r.randrange(9)
        if v < 3:
            pass
        elif v < 5:
            opts += ["--min-version=0", "--max-version=0"]
        elif v < 7:
            opts += ["--min-version=1", "--max-version=1"]
        elif v < 9:
            opts += ["--min-version=0", "--max-version=1"]
        elif v == 9:
            opts += ["--min-version=1", "--max-version=0"]
        elif v == 10:
            opts += ["--max-version=0"]
        else:
            opts += [r.choice(["--min-version=2", "--max-version=2", "--min-version=-1"])]
        for o in ["--use-epoch", "--skip-devices", "--skip-xattrs", "--user-xattrs"]:
            if r.random() < 0.1:
                opts.append(o)
        return opts

    def text(self):
        r = self.r
        body = "\n".join(t for _, t in self.lines)
        if r.random() < 0.95:
            body += "\n"  # the trailing newline is optional
        return body


def seeds(args):
    for a in args:
        if "-" in a[1:]:
            lo, hi = a.split("-", 1)
            yield from range(int(lo), int(hi) + 1)
        else:
            yield int(a)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    out = []
    for s in seeds(sys.argv[2:]):
        g = Gen(s)
        g.build()
        if g.r.random() < 0.125:
            # Sometimes several faults at once: which one is reported
            # first must match too.
            for _ in range(g.r.choice([1, 1, 1, 2, 3])):
                g.mutate()
        with open(os.path.join(outdir, "%d.dump" % s), "wb") as fh:
            fh.write(g.text().encode("latin-1"))
        out.append("%d\t%s" % (s, " ".join(g.options())))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
