//! Reader tests on hand-assembled images: the tree C would return, its
//! errnos, and robustness against truncation and corruption.

use std::ffi::CStr;
use std::sync::Arc;

use super::load_image;
use super::testimg::{Ino, TestImage};
use crate::erofs::format::*;
use crate::error::Error;
use crate::node::{NodeRef, DIGEST_SIZE};

const IDX_USER: u8 = 1;
const IDX_TRUSTED: u8 = 4;

fn child(n: &NodeRef, name: &[u8]) -> NodeRef {
    n.lock().lookup_child(name).expect("child present")
}

fn names(n: &NodeRef) -> Vec<Vec<u8>> {
    n.lock()
        .children()
        .iter()
        .map(|c| {
            c.lock()
                .name()
                .map(CStr::to_bytes)
                .unwrap_or_default()
                .to_vec()
        })
        .collect()
}

fn xattrs(n: &NodeRef) -> Vec<(Vec<u8>, Vec<u8>)> {
    n.lock()
        .xattrs
        .iter()
        .map(|x| (x.key().to_bytes().to_vec(), x.value().to_vec()))
        .collect()
}

/// A small tree touching every kind of node and xattr rule.
fn sample() -> Vec<u8> {
    let mut t = TestImage::new();
    let mut metacopy = vec![0u8; 4];
    metacopy.extend_from_slice(&[0xab; DIGEST_SIZE]);
    let file = t.add(&Ino {
        size: 5,
        nlink: 2,
        layout: INODE_FLAT_INLINE,
        inline: b"hello",
        uid: 7,
        gid: 8,
        xattrs: &[
            (IDX_USER, b"b", b"2"),
            (IDX_TRUSTED, b"overlay.overlay.x", b"esc"),
            (IDX_TRUSTED, b"overlay.hidden", b"drop"),
            (IDX_USER, b"a", b"1"),
        ],
        ..Ino::default()
    });
    let shared = t.add_shared(IDX_USER, b"shared", b"s");
    let ext = t.add(&Ino {
        size: 123_456,
        extended: true,
        layout: INODE_CHUNK_BASED,
        uid: 70_000,
        mtime: 55,
        shared: &[shared],
        xattrs: &[
            (IDX_TRUSTED, b"overlay.redirect", b"/ab/cd\0\0"),
            (IDX_TRUSTED, b"overlay.metacopy", &metacopy),
        ],
        ..Ino::default()
    });
    let link = t.add(&Ino {
        mode: 0o120777,
        size: 6,
        layout: INODE_FLAT_INLINE,
        inline: b"target",
        ..Ino::default()
    });
    let whiteout = t.add(&Ino {
        mode: 0o20000,
        ..Ino::default()
    });
    let v0_whiteout = t.add(&Ino {
        xattrs: &[(IDX_TRUSTED, b"overlay.overlay.whiteout", b"")],
        ..Ino::default()
    });
    let dev = t.add(&Ino {
        mode: 0o60600,
        i_u: 0x0801,
        ..Ino::default()
    });
    let sub = t.add_dir(&[(b"h", file, FT_REG_FILE)], &[]);
    let root = t.add_dir(
        &[
            (b"d", sub, FT_DIR),
            (b"dev", dev, FT_BLKDEV),
            (b"e", ext, FT_REG_FILE),
            (b"f", file, FT_REG_FILE),
            (b"l", link, FT_SYMLINK),
            (b"v0", v0_whiteout, FT_REG_FILE),
            (b"w", whiteout, FT_CHRDEV),
        ],
        &[
            (IDX_TRUSTED, b"overlay.opaque", b"x"),
            (IDX_USER, b"r", b""),
        ],
    );
    t.finish(root)
}

#[test]
fn loads_sample_as_c_does() {
    let root = load_image(&sample(), None).unwrap();
    // Whiteouts vanish; the v0 (xattr) whiteout becomes a 0:0 device.
    assert_eq!(names(&root), [&b"d"[..], b"dev", b"e", b"f", b"l", b"v0"]);
    // Internal overlay xattrs go, the rest stays in stored order.
    assert_eq!(xattrs(&root), [(b"user.r".to_vec(), vec![])]);
    assert_eq!(root.lock().inode.mode, 0o40755);

    // "d" comes first, so "d/h" is where the file is first seen; the
    // later "f" entry for the same nid is a bare link node.
    let f = child(&child(&root, b"d"), b"h");
    {
        let d = f.lock();
        assert_eq!(d.content(), Some(&b"hello"[..]));
        assert_eq!(
            (d.inode.size, d.inode.nlink, d.inode.uid, d.inode.gid),
            (5, 2, 7, 8)
        );
        assert_eq!((d.inode.mtime_sec, d.inode.mtime_nsec), (1000, 7));
        assert!(d.link_to().is_none());
    }
    assert_eq!(
        xattrs(&f),
        [
            (b"user.b".to_vec(), b"2".to_vec()),
            (b"trusted.overlay.x".to_vec(), b"esc".to_vec()),
            (b"user.a".to_vec(), b"1".to_vec()),
        ]
    );
    let link = child(&root, b"f");
    {
        let d = link.lock();
        assert!(Arc::ptr_eq(d.link_to().unwrap(), &f));
        assert_eq!((d.inode.mode, d.inode.nlink), (0, 1));
        assert!(d.xattrs.is_empty());
    }
    assert_eq!(f.lock().inode.nlink, 2);

    let e = child(&root, b"e");
    {
        let d = e.lock();
        assert_eq!(d.payload(), Some(c"ab/cd"));
        assert_eq!(d.digest(), Some(&[0xab; DIGEST_SIZE]));
        assert_eq!(
            (d.inode.size, d.inode.uid, d.inode.mtime_sec),
            (123_456, 70_000, 55)
        );
        assert!(d.content().is_none());
    }
    assert_eq!(xattrs(&e), [(b"user.shared".to_vec(), b"s".to_vec())]);

    let l = child(&root, b"l");
    assert_eq!(l.lock().payload(), Some(c"target"));
    let v0 = child(&root, b"v0").lock().inode;
    assert_eq!((v0.mode, v0.rdev, v0.size), (0o20644, 0, 0));
    assert_eq!(child(&root, b"dev").lock().inode.rdev, 0x0801);
}

#[test]
fn toplevel_filter_only_applies_to_root() {
    let img = sample();
    let root = load_image(&img, Some(&[&b"d"[..], b"l", b"nope"])).unwrap();
    assert_eq!(names(&root), [&b"d"[..], b"l"]);
    let h = child(&child(&root, b"d"), b"h");
    assert_eq!(h.lock().content(), Some(&b"hello"[..]));
    // Without "d", "f" is the first sight of the file: a real node.
    let root = load_image(&img, Some(&[&b"f"[..]])).unwrap();
    let f = child(&root, b"f");
    assert!(f.lock().link_to().is_none());
    assert_eq!(f.lock().content(), Some(&b"hello"[..]));
    let none = load_image(&img, Some(&[])).unwrap();
    assert!(names(&none).is_empty());
}

#[test]
fn header_errors_match_c() {
    let img = sample();
    assert_eq!(
        load_image(&img[..BLKSIZ - 1], None).err(),
        Some(Error::InvalidArgument)
    );
    let mut bad = img.clone();
    bad[0] ^= 1;
    assert_eq!(load_image(&bad, None).err(), Some(Error::InvalidArgument));
    let mut bad = img.clone();
    bad[4] = 2;
    assert_eq!(load_image(&bad, None).err(), Some(Error::Os(libc::ENOTSUP)));
    let mut bad = img.clone();
    bad[SUPER_OFFSET] ^= 1;
    assert_eq!(load_image(&bad, None).err(), Some(Error::InvalidArgument));
    // meta_blkaddr past the end.
    let mut bad = img.clone();
    bad[SUPER_OFFSET + 40..SUPER_OFFSET + 44].copy_from_slice(&1000u32.to_le_bytes());
    assert_eq!(load_image(&bad, None).err(), Some(Error::InvalidArgument));
    assert_eq!(
        super::header_version(&img[..LCFS_HEADER_SIZE]),
        Ok(1),
        "composefs_version of the header"
    );
    assert_eq!(
        super::header_version(&bad[..4]),
        Err(Error::InvalidArgument)
    );
}

#[test]
fn whiteout_rules() {
    let mut t = TestImage::new();
    let w = t.add(&Ino {
        mode: 0o20000,
        nlink: 2,
        ..Ino::default()
    });
    let root = t.add_dir(&[(b"w", w, FT_CHRDEV)], &[]);
    assert_eq!(
        load_image(&t.finish(root), None).err(),
        Some(Error::InvalidArgument)
    );

    let mut t = TestImage::new();
    let w = t.add(&Ino {
        mode: 0o20000,
        ..Ino::default()
    });
    // Seen twice with nlink 1: skipped both times, no hardlink made.
    let root = t.add_dir(&[(b"a", w, FT_CHRDEV), (b"b", w, FT_CHRDEV)], &[]);
    let tree = load_image(&t.finish(root), None).unwrap();
    assert!(names(&tree).is_empty());
    // A whiteout root is ENOTSUP.
    assert_eq!(
        load_image(&t.finish(w), None).err(),
        Some(Error::Os(libc::ENOTSUP))
    );
}

#[test]
fn entry_errors() {
    for (name, err) in [
        (&b""[..], Error::InvalidArgument),
        (&[b'n'; 256][..], Error::NameTooLong),
    ] {
        let mut t = TestImage::new();
        let f = t.add(&Ino::default());
        let root = t.add_dir(&[(b"a", f, FT_REG_FILE), (name, f, FT_REG_FILE)], &[]);
        assert_eq!(load_image(&t.finish(root), None).err(), Some(err));
    }
    let mut t = TestImage::new();
    let f = t.add(&Ino::default());
    let root = t.add_dir(&[(b"a", f, FT_REG_FILE), (b"a", f, FT_REG_FILE)], &[]);
    assert_eq!(
        load_image(&t.finish(root), None).err(),
        Some(Error::AlreadyExists)
    );
    // Unsorted entries are still placed in order.
    let mut t = TestImage::new();
    let f = t.add(&Ino::default());
    let g = t.add(&Ino::default());
    let root = t.add_dir(&[(b"b", f, FT_REG_FILE), (b"a", g, FT_REG_FILE)], &[]);
    let tree = load_image(&t.finish(root), None).unwrap();
    assert_eq!(names(&tree), [&b"a"[..], b"b"]);
    // Bad xattr prefix index, bad data layout, oversized inline file.
    for ino in [
        Ino {
            xattrs: &[(9, b"x", b"")],
            ..Ino::default()
        },
        Ino {
            size: 10,
            layout: 3,
            ..Ino::default()
        },
        Ino {
            size: INLINE_MAX_PLUS,
            layout: INODE_FLAT_PLAIN,
            ..Ino::default()
        },
    ] {
        let mut t = TestImage::new();
        let f = t.add(&ino);
        let root = t.add_dir(&[(b"f", f, FT_REG_FILE)], &[]);
        assert_eq!(
            load_image(&t.finish(root), None).err(),
            Some(Error::InvalidArgument)
        );
    }
}

const INLINE_MAX_PLUS: u64 = crate::node::INLINE_CONTENT_MAX as u64 + 1;

#[test]
fn directory_cycle_ends_in_a_link() {
    let mut t = TestImage::new();
    // The root lists itself; it is the first inode, so its nid is known.
    let root_nid = (BLKSIZ / SLOTSIZE) as u64;
    let root = t.add_dir(&[(b"me", root_nid, FT_DIR)], &[]);
    assert_eq!(root, root_nid);
    let tree = load_image(&t.finish(root), None).unwrap();
    let me = child(&tree, b"me");
    assert!(Arc::ptr_eq(me.lock().link_to().unwrap(), &tree));
    // Break the reference cycle so the test does not leak.
    me.lock().rare_mut().link_to = None;
}

#[test]
fn deep_tree_does_not_overflow() {
    let depth = 50_000u64;
    let mut t = TestImage::new();
    let base = (BLKSIZ / SLOTSIZE) as u64;
    // Each directory with one entry "d" takes three slots.
    for k in 0..depth {
        let nid = if k + 1 < depth {
            t.add_dir(&[(b"d", base + 3 * (k + 1), FT_DIR)], &[])
        } else {
            t.add_dir(&[], &[])
        };
        assert_eq!(nid, base + 3 * k);
    }
    let tree = load_image(&t.finish(base), None).unwrap();
    let mut cur = tree.clone();
    for _ in 1..depth {
        cur = child(&cur, b"d");
    }
    assert!(names(&cur).is_empty());
}

#[test]
fn every_prefix_fails_cleanly() {
    let img = sample();
    for len in 0..img.len() {
        let r = load_image(&img[..len], None);
        if len < BLKSIZ {
            assert_eq!(r.err(), Some(Error::InvalidArgument));
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let img = sample();
    let mut buf = img.clone();
    for pos in 0..img.len() {
        // Skip the long zero tail after the shared xattrs: nothing reads it.
        if pos > BLKSIZ * 3 && img[pos..].iter().all(|&b| b == 0) {
            break;
        }
        for v in [0x00, 0x01, 0x7f, 0x80, 0xff, img[pos] ^ 0x10] {
            buf[pos] = v;
            let _ = load_image(&buf, None);
        }
        buf[pos] = img[pos];
    }
    assert!(load_image(&buf, None).is_ok());
}

#[test]
fn redirect_reads_like_c() {
    // Value "/abcd" (5 bytes) ends the entry at 4 + 16 + 5 = 25, padded
    // to 28: C copies up to 5 bytes from "abcd", stopping at padding.
    let mut t = TestImage::new();
    let f = t.add(&Ino {
        xattrs: &[(IDX_TRUSTED, b"overlay.redirect", b"/abcd")],
        ..Ino::default()
    });
    // Value "/abc" fills its entry exactly: C reads two bytes past it,
    // which here are the next entry's name length and index.
    let g = t.add(&Ino {
        xattrs: &[
            (IDX_TRUSTED, b"overlay.redirect", b"/abc"),
            (IDX_USER, b"AB", b""),
        ],
        ..Ino::default()
    });
    let root = t.add_dir(&[(b"f", f, FT_REG_FILE), (b"g", g, FT_REG_FILE)], &[]);
    let tree = load_image(&t.finish(root), None).unwrap();
    assert_eq!(child(&tree, b"f").lock().payload(), Some(c"abcd"));
    assert_eq!(child(&tree, b"g").lock().payload(), Some(c"abc\x02\x01"));
}

/// Found by fuzzing (write_roundtrip): a payload of length 3 mod 4
/// followed by an inline xattr reads back, as in C, with the next entry's
/// name length and index glued on. Kept so that a change to either side
/// of this C quirk is noticed.
#[test]
fn redirect_payload_read_back_as_c_reads_it() {
    use crate::erofs::write::{write_to, WriteOptions};
    use crate::node::{add_child, mode, Node};

    let root = Node::new();
    root.lock().inode.mode = mode::S_IFDIR | 0o755;
    let f = Node::new();
    {
        let mut d = f.lock();
        d.inode.mode = mode::S_IFREG | 0o644;
        d.set_size(769);
        d.set_payload(Some(c"0aa")).unwrap();
        d.set_xattr(c"user.x", b"1").unwrap();
    }
    add_child(&root, &f, c"f").unwrap();
    let mut image = Vec::new();
    let mut sink = |b: &[u8]| {
        image.extend_from_slice(b);
        Ok(())
    };
    write_to(&root, &mut WriteOptions::default(), Some(&mut sink), false).unwrap();
    let tree = load_image(&image, None).unwrap();
    let f = child(&tree, b"f");
    assert_eq!(f.lock().payload(), Some(c"0aa\x01\x01"));
    assert_eq!(xattrs(&f), [(b"user.x".to_vec(), b"1".to_vec())]);
}

/// Fuzzing regression (read_image ran out of memory): an image whose root
/// lists itself and then fails to load must not leave the half-built,
/// self-referencing tree behind.
#[test]
fn failed_load_frees_directory_cycle() {
    let mut t = TestImage::new();
    let root_nid = (BLKSIZ / SLOTSIZE) as u64;
    let root = t.add_dir(
        &[(b"a", root_nid, FT_DIR), (b"b", 1 << 40, FT_REG_FILE)],
        &[],
    );
    assert_eq!(root, root_nid);
    let img = t.finish(root);
    assert_eq!(load_image(&img, None).err(), Some(Error::InvalidArgument));

    let mut links = Vec::new();
    assert!(super::load_pass(&img, None, false, &mut links).is_err());
    assert_eq!(links.len(), 1);
    let root = Arc::downgrade(links[0].lock().link_to().unwrap());
    assert!(root.upgrade().is_some(), "the cycle keeps the root alive");
    super::unlink(links);
    assert!(root.upgrade().is_none(), "the root is freed once cut");
}

#[test]
fn single_link_node_named_twice_is_still_linked() {
    // nlink 1 but two entries: the first pass does not keep such nodes,
    // so the load is redone keeping all; the result is C's hardlink.
    let mut t = TestImage::new();
    let f = t.add(&Ino {
        size: 3,
        layout: INODE_FLAT_INLINE,
        inline: b"abc",
        xattrs: &[(IDX_USER, b"k", b"v")],
        ..Ino::default()
    });
    let d = t.add_dir(&[(b"x", f, FT_REG_FILE)], &[]);
    let root = t.add_dir(&[(b"a", f, FT_REG_FILE), (b"d", d, FT_DIR)], &[]);
    let tree = load_image(&t.finish(root), None).unwrap();
    assert_eq!(names(&tree), [&b"a"[..], b"d"]);
    let a = child(&tree, b"a");
    let x = child(&child(&tree, b"d"), b"x");
    assert!(Arc::ptr_eq(x.lock().link_to().unwrap(), &a));
    assert_eq!(a.lock().content(), Some(&b"abc"[..]));
    assert_eq!(xattrs(&a), [(b"user.k".to_vec(), b"v".to_vec())]);
    assert!(Arc::ptr_eq(
        &x.lock().parent().unwrap(),
        &child(&tree, b"d")
    ));
}

#[test]
fn xattr_names_cut_at_nul_and_compared_whole() {
    let mut t = TestImage::new();
    let f = t.add(&Ino {
        xattrs: &[
            // Cut at the NUL: trusted.overlay.redirect, the payload.
            (IDX_TRUSTED, b"overlay.redirect\0junk", b"/p/q"),
            // Longer than a known name: kept, un-escaped.
            (IDX_TRUSTED, b"overlay.overlay.redirectx", b"1"),
            (IDX_USER, b"overlay.whiteout", b""),
            (IDX_USER, b"overlay.whiteoutsX", b"2"),
            (IDX_USER, b"a\0b", b"3"),
        ],
        ..Ino::default()
    });
    let root = t.add_dir(&[(b"f", f, FT_REG_FILE)], &[]);
    let tree = load_image(&t.finish(root), None).unwrap();
    let f = child(&tree, b"f");
    assert_eq!(
        f.lock().payload().map(|p| p.to_bytes().to_vec()),
        Some(b"p/q".to_vec())
    );
    assert_eq!(
        xattrs(&f),
        [
            (b"trusted.overlay.redirectx".to_vec(), b"1".to_vec()),
            (b"user.overlay.whiteoutsX".to_vec(), b"2".to_vec()),
            (b"user.a".to_vec(), b"3".to_vec()),
        ]
    );
}
