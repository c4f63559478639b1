//! Reading a composefs EROFS image back into a node tree, with the same
//! result (tree and errno) as C libcomposefs's loader.
//!
//! The walk uses an explicit stack, so deep trees cannot overflow ours.
//! Each nid is decoded once: later entries naming it become hardlink
//! nodes, which also ends any directory cycle in a malformed image.

mod dir;
mod image;
mod inode;
mod xattr;

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::{Error, Result};
use crate::node::{add_child, Node, NodeRef};
use dir::DirCursor;
pub use image::header_version;
use image::Image;
use inode::Decoded;
use xattr::XattrArea;

/// Nids are offsets, so a multiplicative spread is all the hashing needed.
#[derive(Default)]
struct NidHasher(u64);

impl Hasher for NidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type NidMap = HashMap<u64, NodeRef, BuildHasherDefault<NidHasher>>;

/// A directory whose entries are being read.
struct Frame {
    node: NodeRef,
    cursor: DirCursor,
    xattrs: XattrArea,
    /// Its name in the parent frame (unused for the root).
    name: CString,
}

/// `lcfs_load_node_from_image_ext`. With `toplevel` set, only root
/// entries with one of those names are loaded (deeper levels in full).
pub fn load_image(data: &[u8], toplevel: Option<&[&[u8]]>) -> Result<NodeRef> {
    let img = Image::open(data)?;
    let filter: Option<HashSet<&[u8]>> = toplevel.map(|t| t.iter().copied().collect());
    let mut seen = NidMap::default();

    let (root, root_dir) = match build(&img, &mut seen, img.root_nid)? {
        None => return Err(Error::Os(libc::ENOTSUP)),
        Some(built) => built,
    };
    let Some((cursor, xattrs)) = root_dir else {
        return Ok(root);
    };
    let mut stack = vec![Frame {
        node: root.clone(),
        cursor,
        xattrs,
        name: CString::default(),
    }];
    while let Some(top) = stack.last_mut() {
        if let Some((name, nid)) = top.cursor.next(&img)? {
            if stack.len() == 1 {
                if let Some(f) = &filter {
                    if !f.contains(name) {
                        continue;
                    }
                }
            }
            let name = CString::new(name).map_err(|_| Error::InvalidArgument)?;
            match build(&img, &mut seen, nid)? {
                None => {}
                Some((child, None)) => {
                    let parent = &stack[stack.len() - 1].node;
                    add_child(parent, &child, &name)?;
                }
                Some((child, Some((cursor, xattrs)))) => stack.push(Frame {
                    node: child,
                    cursor,
                    xattrs,
                    name,
                }),
            }
            continue;
        }
        // All entries read: finish this directory and hang it in its parent.
        let Some(done) = stack.pop() else { break };
        inode::finish_dir(&img, &done.node, done.xattrs)?;
        if let Some(parent) = stack.last() {
            add_child(&parent.node, &done.node, &done.name)?;
        }
    }
    Ok(root)
}

/// A node and, for a directory, what is left to read of it.
type Built = (NodeRef, Option<(DirCursor, XattrArea)>);

/// Decodes `nid`, or makes a hardlink node if it was seen before.
/// None is a whiteout, which is left out of the tree.
fn build(img: &Image<'_>, seen: &mut NidMap, nid: u64) -> Result<Option<Built>> {
    if let Some(target) = seen.get(&nid) {
        // Like C: a bare node pointing at the first one; the target's
        // nlink is what the image says, so it is not bumped here.
        let link = Node::new();
        link.lock().link_to = Some(target.clone());
        return Ok(Some((link, None)));
    }
    match inode::decode(img, nid)? {
        Decoded::Whiteout => Ok(None),
        Decoded::Node { node, dir } => {
            seen.insert(nid, node.clone());
            Ok(Some((node, dir)))
        }
    }
}
