//! Writer tests: round trips through our reader, and C's error order.

use std::ffi::CString;

use super::{write_to, WriteOptions};
use crate::erofs::read::load_image;
use crate::error::{Error, Result};
use crate::node::{add_child, make_hardlink, mode, Node, NodeRef};

fn image(root: &NodeRef) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut sink = |b: &[u8]| {
            out.extend_from_slice(b);
            Ok(())
        };
        write_to(root, &mut WriteOptions::default(), Some(&mut sink), false)
            .expect("image written");
    }
    out
}

/// A root holding symlink "l" to `target`, built the way ostree does it
/// (payload only, size never set) or with the size set.
fn tree_with_link(target: &[u8], set_size: bool, xattr: bool) -> NodeRef {
    let root = Node::new();
    root.lock().inode.mode = mode::S_IFDIR | 0o755;
    let link = Node::new();
    {
        let mut d = link.lock();
        d.inode.mode = mode::S_IFLNK | 0o777;
        let t = CString::new(target).expect("no NUL");
        if set_size {
            d.set_symlink_payload(&t).expect("target set");
        } else {
            d.set_payload(Some(&t)).expect("payload set");
        }
        if xattr {
            d.set_xattr(c"trusted.test", &[b'v'; 200])
                .expect("xattr set");
        }
    }
    add_child(&root, &link, c"l").expect("child added");
    root
}

/// ostree sets only the payload of a symlink. A target long enough to need
/// its own block made C 1.0.8 abort and made us write a size-0 link that
/// no reader accepted; it must come out as if the size had been set.
#[test]
fn symlink_without_size_keeps_its_target() {
    for (len, xattr) in [
        (10, false),
        (4063, false),
        (4064, false),
        (4095, false),
        (3900, true),
    ] {
        let target = vec![b'q'; len];
        let img = image(&tree_with_link(&target, false, xattr));
        assert_eq!(
            img,
            image(&tree_with_link(&target, true, xattr)),
            "len {len}"
        );
        let root = load_image(&img, None).expect("image loads");
        let l = root.lock().lookup_child(b"l").expect("link present");
        let d = l.lock();
        assert_eq!(
            d.payload().map(|p| p.to_bytes()),
            Some(&target[..]),
            "len {len}"
        );
        assert_eq!(d.inode.size, len as u64);
    }
}

fn node(m: u32) -> NodeRef {
    let n = Node::new();
    n.lock().inode.mode = m;
    n
}

fn write(root: &NodeRef) -> Result<Option<[u8; 32]>> {
    let mut opts = WriteOptions {
        max_version: 1,
        ..Default::default()
    };
    write_to(root, &mut opts, None, true)
}

/// C builds a hardlink cycle and finds it (ELOOP) only when checking
/// all links, after the walk that validates nodes (EFBIG etc.); the
/// cycle's nodes are links to that walk, wherever they sort.
#[test]
fn hardlink_cycle_reported_after_node_errors() {
    let root = node(mode::S_IFDIR | 0o755);
    let (a, b) = (node(mode::S_IFREG), node(mode::S_IFREG));
    add_child(&root, &a, c"0a").unwrap();
    add_child(&root, &b, c"0b").unwrap();
    make_hardlink(&b, &a).unwrap();
    assert_eq!(make_hardlink(&a, &b), Err(Error::InvalidArgument));
    assert_eq!(write(&root), Err(Error::Loop));

    let big = node(mode::S_IFREG | 0o644);
    big.lock().inode.size = 1 << 60;
    add_child(&root, &big, c"zz").unwrap();
    assert_eq!(write(&root), Err(Error::FileTooBig));
}
