#!/usr/bin/python3
"""Writes the trees check-ostree.sh commits with ostree and mkcomposefs.

  gentree.py edge DIR         fixed edge cases (sizes, symlinks, dirs, xattrs)
  gentree.py longlinks DIR    symlinks whose inode and target overflow a block
  gentree.py random SEED DIR  a seeded random mix of the same kinds of entries

Only what ostree accepts: regular files, directories and symlinks (no
devices, fifos or sockets). Run as root: it sets owners, trusted.* xattrs
and setuid bits.
"""
import os
import random
import sys

BLOCK = 4096


def write(path, size, byte=b"x", mode=0o644):
    """A file of SIZE bytes; beyond 64 KiB it is sparse except its last byte."""
    with open(path, "wb") as f:
        if size > 65536:
            f.truncate(size - 1)
            f.seek(size - 1)
            f.write(byte)
        else:
            f.write((byte * (size // len(byte) + 1))[:size])
    os.chmod(path, mode)


def set_times(path, sec, nsec):
    os.utime(path, ns=(sec * 10**9 + nsec, sec * 10**9 + nsec), follow_symlinks=False)


def edge(top):
    os.makedirs(top)
    # Sizes around the mkcomposefs inline limit (64), half a block (the
    # tail-packing cut), a block, two blocks and the chunk-size steps.
    sizes = os.path.join(top, "sizes")
    os.mkdir(sizes)
    for n in (0, 1, 63, 64, 65, 2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192,
              8193, 65535, 65536, 65537, 1 << 20, (1 << 20) + 1, (16 << 20) + 1):
        write(os.path.join(sizes, "f%d" % n), n, bytes([n % 251 + 1]))
    # Same content under different names (one ostree object, several nodes).
    for i in range(3):
        write(os.path.join(sizes, "same%d" % i), 100, b"same")

    # Symlink targets whose inode still fits one block (longer ones are in
    # the longlinks tree).
    d = os.path.join(top, "links")
    os.mkdir(d)
    for n in (1, 2, 63, 64, 65, 255, 1000, 2000, 2047, 2048, 2049, 3000,
              3500, 3900, 4000):
        target = ("t" * 9 + "/") * (n // 10) + "z" * (n % 10)
        os.symlink(target[:n], os.path.join(d, "l%d" % n))
    os.symlink("../sizes/f1", os.path.join(d, "relative"))
    os.symlink("/etc/passwd", os.path.join(d, "absolute"))
    os.symlink("dangling/none", os.path.join(d, "dangling"))
    os.symlink(".", os.path.join(d, "dot"))
    # Long targets with xattrs on the link.
    for n in (1000, 3000, 3500):
        p = os.path.join(d, "lx%d" % n)
        os.symlink("q" * n, p)
        os.setxattr(p, "trusted.cfs-test", b"v" * 200, follow_symlinks=False)

    # Hardlinks (nlink 2 and 3) and a hardlinked empty file.
    d = os.path.join(top, "hard")
    os.mkdir(d)
    write(os.path.join(d, "a"), 10, b"a")
    os.link(os.path.join(d, "a"), os.path.join(d, "a2"))
    write(os.path.join(d, "b"), 5000, b"b")
    os.link(os.path.join(d, "b"), os.path.join(d, "b2"))
    os.link(os.path.join(d, "b"), os.path.join(top, "b3"))
    write(os.path.join(d, "empty"), 0)
    os.link(os.path.join(d, "empty"), os.path.join(d, "empty2"))

    # Directories whose entry blocks end near 2048 and 4096 bytes, one
    # spanning many blocks, long names, an empty one and a deep chain.
    d = os.path.join(top, "dirs")
    os.mkdir(d)
    for n in list(range(70, 90, 3)) + list(range(150, 186, 2)):
        sub = os.path.join(d, "n%d" % n)
        os.mkdir(sub)
        for i in range(n):
            write(os.path.join(sub, "entry%07d" % i), 0)
    big = os.path.join(d, "big")
    os.mkdir(big)
    for i in range(1500):
        write(os.path.join(big, "x" * (1 + i % 40) + "%d" % i), i % 3)
    longnames = os.path.join(d, "long")
    os.mkdir(longnames)
    for i in range(40):
        write(os.path.join(longnames, ("%03d" % i) + "N" * 252), 1)
    os.mkdir(os.path.join(d, "empty"))
    deep = os.path.join(d, "deep")
    for i in range(60):
        deep = os.path.join(deep, "d%d" % i)
    os.makedirs(deep)
    write(os.path.join(deep, "bottom"), 7)

    # Xattrs: many per inode, large, binary, empty, shared by many inodes,
    # on directories, and overlay ones that composefs must escape.
    d = os.path.join(top, "xattrs")
    os.mkdir(d)
    p = os.path.join(d, "many")
    write(p, 3)
    for i in range(60):
        os.setxattr(p, "user.k%02d" % i, b"value-%d" % i)
    p = os.path.join(d, "large")
    write(p, 3)
    os.setxattr(p, "user.large", bytes(range(256)) * 12)
    p = os.path.join(d, "binary-empty")
    write(p, 3)
    os.setxattr(p, "user.zero", b"\0\0\0")
    os.setxattr(p, "user.empty", b"")
    os.setxattr(p, "user." + "n" * 200, b"long name")
    for i in range(30):
        p = os.path.join(d, "shared%02d" % i)
        write(p, i)
        os.setxattr(p, "user.shared", b"common value")
        os.setxattr(p, "user.shared2", b"x" * 100)
        if i % 2:
            os.setxattr(p, "user.own", b"own %d" % i)
    os.setxattr(d, "user.on-dir", b"dir value")
    p = os.path.join(d, "overlay")
    write(p, 3)
    os.setxattr(p, "trusted.overlay.opaque", b"y")
    os.setxattr(p, "trusted.overlay.custom", b"value")
    os.setxattr(p, "trusted.other", b"t")
    os.setxattr(p, "security.capability",
                b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")

    # Modes, owners and times with nanoseconds.
    d = os.path.join(top, "modes")
    os.mkdir(d)
    for m in (0o000, 0o400, 0o755, 0o4755, 0o2755, 0o6711, 0o1777, 0o777):
        write(os.path.join(d, "m%o" % m), 1, mode=m)
    sticky = os.path.join(d, "sticky")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    p = os.path.join(d, "owned")
    write(p, 2)
    os.chown(p, 1234, 5678)
    os.lchown(os.path.join(top, "links", "l1"), 4321, 8765)
    p = os.path.join(d, "bigid")
    write(p, 2)
    os.chown(p, 4000000000, 65534)
    for i, (sec, nsec) in enumerate(((0, 0), (1, 999999999), (1700000000, 123456789),
                                     (4102444800, 1))):
        p = os.path.join(d, "t%d" % i)
        write(p, 1)
        set_times(p, sec, nsec)


def longlinks(top):
    """Symlinks whose compact or extended inode, xattrs and target together
    reach a block: the target moves to a data block of its own."""
    os.makedirs(top)
    for n in (4031, 4032, 4033, 4063, 4064, 4065, 4094, 4095):
        os.symlink("L" * n, os.path.join(top, "l%d" % n))
    for n in (3800, 4000, 4095):
        p = os.path.join(top, "lx%d" % n)
        os.symlink("X" * n, p)
        os.setxattr(p, "trusted.cfs-test", b"v" * 200, follow_symlinks=False)
    p = os.path.join(top, "big-uid")
    os.symlink("U" * 4040, p)
    os.lchown(p, 100000, 100000)
    os.symlink("short", os.path.join(top, "short"))
    write(os.path.join(top, "file"), 10)


def rand_tree(seed, top):
    rng = random.Random(seed)
    os.makedirs(top)
    dirs = [top]
    files = []
    for i in range(int(rng.uniform(1500, 2500))):
        parent = rng.choice(dirs)
        name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789._-")
                       for _ in range(rng.choice((1, 2, 5, 8, 16, 40, 100, 255))))
        name = name.lstrip(".") or "dot"
        path = os.path.join(parent, name)
        if os.path.lexists(path):
            continue
        kind = rng.random()
        if kind < 0.2:
            os.mkdir(path)
            dirs.append(path)
        elif kind < 0.35:
            n = rng.choice((1, 10, 100, 1000, 3000, 4000))
            os.symlink("".join(rng.choice("ab/") for _ in range(n)).lstrip("/") or "x", path)
            continue
        elif kind < 0.42 and files:
            os.link(rng.choice(files), path)
            continue
        else:
            size = rng.choice((0, 1, 7, 64, 65, 500, 4095, 4096, 4097, 20000, 70000))
            write(path, size, bytes([rng.randrange(1, 256)]), rng.choice((0o644, 0o600, 0o755, 0o4755)))
            files.append(path)
        for _ in range(rng.choice((0, 0, 0, 1, 2, 5))):
            os.setxattr(path, "user.%s" % rng.choice(("a", "b", "mime", "xdg.origin", "k" * 50)),
                        bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 10, 300)))))
        if rng.random() < 0.1:
            os.chown(path, rng.randrange(70000), rng.randrange(70000))
        set_times(path, rng.randrange(1 << 32), rng.randrange(10**9))
    for path in reversed(dirs):
        set_times(path, rng.randrange(1 << 32), rng.randrange(10**9))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "edge":
        edge(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "longlinks":
        longlinks(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "random":
        rand_tree(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
