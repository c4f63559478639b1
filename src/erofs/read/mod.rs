//! Reading a composefs EROFS image back into a node tree, with the same
//! result (tree and errno) as C libcomposefs's loader.
//!
//! The walk uses an explicit stack, so deep trees cannot overflow ours.
//! Each nid is decoded once: later entries naming it become hardlink
//! nodes, which also ends any directory cycle in a malformed image.

mod dir;
mod image;
mod inode;
mod seen;
#[cfg(test)]
mod testimg;
#[cfg(test)]
mod tests;
mod xattr;

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::node::{Node, NodeRef, MAX_NAME_LENGTH};
use dir::DirCursor;
pub use image::header_version;
use image::Image;
use inode::Decoded;
use seen::Seen;
use xattr::XattrArea;

/// A directory whose entries are being read.
struct Frame<'a> {
    node: NodeRef,
    cursor: DirCursor,
    xattrs: XattrArea,
    /// Its name in the parent frame (unused for the root).
    name: &'a [u8],
}

/// `lcfs_load_node_from_image_ext`. With `toplevel` set, only root
/// entries with one of those names are loaded (deeper levels in full).
pub fn load_image(data: &[u8], toplevel: Option<&[&[u8]]>) -> Result<NodeRef> {
    let mut dir_links = Vec::new();
    let r = load_tree(data, toplevel, &mut dir_links);
    if r.is_err() {
        unlink(dir_links);
    }
    r
}

/// Links to directories are how a directory cycle in the image loads (as
/// in C), and such a link keeps its own ancestor alive. A tree that is
/// handed out keeps them; a half-built one dropped on an error would leak
/// (found by fuzzing), so its links are cut first.
fn unlink(dir_links: Vec<NodeRef>) {
    for l in dir_links {
        let old = l.lock().link_to.take();
        // Released after the lock: it may be the last reference to a
        // directory whose teardown locks `l`.
        drop(old);
    }
}

/// `load_image`, noting every link to a directory it makes in `dir_links`.
fn load_tree(
    data: &[u8],
    toplevel: Option<&[&[u8]]>,
    dir_links: &mut Vec<NodeRef>,
) -> Result<NodeRef> {
    let img = Image::open(data)?;
    let filter: Option<HashSet<&[u8]>> = toplevel.map(|t| t.iter().copied().collect());
    let mut seen = Seen::new(data.len() - img.meta);

    let (root, root_dir) = match build(&img, &mut seen, img.root_nid, dir_links)? {
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
        name: b"",
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
            match build(&img, &mut seen, nid, dir_links)? {
                None => {}
                Some((child, None)) => {
                    let parent = &stack[stack.len() - 1].node;
                    attach(parent, child, name)?;
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
            attach(&parent.node, done.node, done.name)?;
        }
    }
    Ok(root)
}

/// A node and, for a directory, what is left to read of it.
type Built = (NodeRef, Option<(DirCursor, XattrArea)>);

/// Decodes `nid`, or makes a hardlink node if it was seen before.
/// None is a whiteout, which is left out of the tree.
fn build(
    img: &Image<'_>,
    seen: &mut Seen,
    nid: u64,
    dir_links: &mut Vec<NodeRef>,
) -> Result<Option<Built>> {
    if let Some(target) = seen.get(nid) {
        // Like C: a bare node pointing at the first one; the target's
        // nlink is what the image says, so it is not bumped here.
        let link = Node::new();
        link.lock().link_to = Some(target.clone());
        if target.lock().is_dir() {
            dir_links.push(link.clone());
        }
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

/// Hangs the freshly built `child` under `parent`, failing as
/// `node::add_child` would for what can occur here (the parent is a
/// directory and the child is new): EINVAL for an empty name,
/// ENAMETOOLONG, EEXIST. Entries normally come sorted, so appending
/// after the last child is tried first.
fn attach(parent: &NodeRef, child: NodeRef, name: &[u8]) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidArgument);
    }
    if name.len() > MAX_NAME_LENGTH {
        return Err(Error::NameTooLong);
    }
    let mut p = parent.lock();
    let after_last = match p.children().last() {
        None => true,
        Some(last) => last.lock().name().map(CStr::to_bytes).unwrap_or_default() < name,
    };
    let pos = if after_last {
        p.children.len()
    } else {
        match p.find_child(name) {
            Ok(_) => return Err(Error::AlreadyExists),
            Err(i) => i,
        }
    };
    let name = CString::new(name).map_err(|_| Error::InvalidArgument)?;
    {
        let mut c = child.lock();
        c.name = Some(name.into_boxed_c_str());
        c.parent = Arc::downgrade(parent);
    }
    p.children.insert(pos, child);
    Ok(())
}
