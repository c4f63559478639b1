//! Reading a composefs EROFS image back into a node tree, with the same
//! result (tree and errno) as C libcomposefs's loader.
//!
//! The walk uses an explicit stack, so deep trees cannot overflow ours.
//! Each nid is decoded once: later entries naming it become hardlink
//! nodes, which also ends any directory cycle in a malformed image.

mod dir;
mod file;
mod image;
mod inode;
mod seen;
#[cfg(test)]
mod testimg;
#[cfg(test)]
mod tests;
mod xattr;

use std::collections::HashSet;
use std::ffi::CString;
use std::sync::{Arc, Weak};

use crate::error::{Error, Result};
use crate::node::{Node, NodeData, NodeRef, MAX_NAME_LENGTH};
use dir::DirCursor;
pub use file::{load_fd, map_fd, version_from_fd};
pub use image::header_version;
use image::Image;
use inode::Decoded;
use seen::{Seeing, Seen};
use xattr::XattrArea;

/// A directory whose entries are being read. Its children are collected
/// here and handed to the node in one go when the directory is done, so
/// the hot path takes no locks.
struct Frame<'a> {
    node: NodeRef,
    /// Parent pointer for the children.
    weak: Weak<Node>,
    cursor: DirCursor,
    xattrs: XattrArea,
    /// Its name in the parent frame (unused for the root).
    name: &'a [u8],
    children: Vec<NodeRef>,
    /// The children's names, in the same (sorted) order.
    names: Vec<&'a [u8]>,
}

impl<'a> Frame<'a> {
    fn new(node: NodeRef, cursor: DirCursor, xattrs: XattrArea, name: &'a [u8]) -> Frame<'a> {
        Frame {
            weak: Arc::downgrade(&node),
            node,
            cursor,
            xattrs,
            name,
            children: Vec::new(),
            names: Vec::new(),
        }
    }

    /// Where a child called `name` goes, failing as `node::add_child`
    /// would for what can occur here (the parent is a directory and the
    /// child is new): EINVAL for an empty name, ENAMETOOLONG, EEXIST.
    /// Entries normally come sorted, so appending is tried first.
    fn slot_for(&self, name: &[u8]) -> Result<usize> {
        if name.is_empty() {
            return Err(Error::InvalidArgument);
        }
        if name.len() > MAX_NAME_LENGTH {
            return Err(Error::NameTooLong);
        }
        match self.names.last() {
            Some(last) if *last >= name => match self.names.binary_search(&name) {
                Ok(_) => Err(Error::AlreadyExists),
                Err(i) => Ok(i),
            },
            _ => Ok(self.names.len()),
        }
    }

    fn insert(&mut self, at: usize, name: &'a [u8], child: NodeRef) {
        self.names.insert(at, name);
        self.children.insert(at, child);
    }
}

/// `lcfs_load_node_from_image_ext`. With `toplevel` set, only root
/// entries with one of those names are loaded (deeper levels in full).
pub fn load_image(data: &[u8], toplevel: Option<&[&[u8]]>) -> Result<NodeRef> {
    // The first pass remembers only nodes that may be linked to (nlink
    // above 1, directories). An image that names any other node twice is
    // read again remembering all, which gives what C gives.
    for keep_all in [false, true] {
        let mut dir_links = Vec::new();
        match load_pass(data, toplevel, keep_all, &mut dir_links) {
            Ok(Some(root)) => return Ok(root),
            Ok(None) => unlink(dir_links),
            Err(e) => {
                unlink(dir_links);
                return Err(e);
            }
        }
    }
    Err(Error::InvalidArgument)
}

/// Links to directories are how a directory cycle in the image loads (as
/// in C), and such a link keeps its own ancestor alive. A tree handed out
/// keeps them; a half-built one that is dropped would leak (found by
/// fuzzing), so its links are cut first.
fn unlink(dir_links: Vec<NodeRef>) {
    for l in dir_links {
        let old = l.lock().rare.as_mut().and_then(|r| r.link_to.take());
        // Released after the lock: it may be the last reference to a
        // directory whose teardown locks `l`.
        drop(old);
    }
}

/// One load; None when `keep_all` is off and it turned out to be needed.
/// Every link to a directory it makes is noted in `dir_links`.
fn load_pass(
    data: &[u8],
    toplevel: Option<&[&[u8]]>,
    keep_all: bool,
    dir_links: &mut Vec<NodeRef>,
) -> Result<Option<NodeRef>> {
    let img = Image::open(data)?;
    let filter: Option<HashSet<&[u8]>> = toplevel.map(|t| t.iter().copied().collect());
    let mut seen = Seen::new(data.len() - img.meta, keep_all);

    let (root, root_dir) = match build(&img, &mut seen, img.root_nid, None, dir_links)? {
        Built::Whiteout => return Err(Error::Os(libc::ENOTSUP)),
        Built::Again => return Ok(None),
        Built::Leaf(node) => return Ok(Some(node)),
        Built::Dir(node, cursor, xattrs) => (node, (cursor, xattrs)),
    };
    let mut stack = vec![Frame::new(root.clone(), root_dir.0, root_dir.1, b"")];
    loop {
        let depth = stack.len();
        let Some(top) = stack.last_mut() else { break };
        if let Some((name, nid)) = top.cursor.next(&img)? {
            if depth == 1 {
                if let Some(f) = &filter {
                    if !f.contains(name) {
                        continue;
                    }
                }
            }
            let parent = (name, &top.weak);
            match build(&img, &mut seen, nid, Some(parent), dir_links)? {
                Built::Whiteout => {}
                Built::Again => return Ok(None),
                Built::Leaf(node) => {
                    let at = top.slot_for(name)?;
                    top.insert(at, name, node);
                }
                Built::Dir(child, cursor, xattrs) => {
                    stack.push(Frame::new(child, cursor, xattrs, name));
                }
            }
            continue;
        }
        // All entries read: finish this directory and hang it in its parent.
        let Some(done) = stack.pop() else { break };
        inode::finish_dir(&img, &done.node, done.xattrs, done.children)?;
        if let Some(parent) = stack.last_mut() {
            let at = parent.slot_for(done.name)?;
            parent.insert(at, done.name, done.node);
        }
    }
    Ok(Some(root))
}

/// What one directory entry turned into.
enum Built {
    /// A whiteout, which is left out of the tree.
    Whiteout,
    /// A nid met before that the first pass did not keep.
    Again,
    /// A non-directory, or a bare node pointing at an earlier one.
    Leaf(NodeRef),
    /// A directory and what is left to read of it.
    Dir(NodeRef, DirCursor, XattrArea),
}

/// Decodes `nid`, or makes a hardlink node if it was seen before. The
/// node gets its name and parent pointer right away; they are checked
/// when it is added to the parent's frame (for a directory only once it
/// is done, as C adds it to its parent then).
fn build(
    img: &Image<'_>,
    seen: &mut Seen,
    nid: u64,
    parent: Option<(&[u8], &Weak<Node>)>,
    dir_links: &mut Vec<NodeRef>,
) -> Result<Built> {
    let name_and_parent = |d: &mut NodeData| -> Result<()> {
        if let Some((name, weak)) = parent {
            let name = CString::new(name).map_err(|_| Error::InvalidArgument)?;
            d.name = Some(name.into_boxed_c_str());
            d.parent = weak.clone();
        }
        Ok(())
    };
    let mut data = NodeData::new();
    match seen.get(nid) {
        Seeing::New => match inode::decode(img, nid, &mut data)? {
            Decoded::Whiteout => return Ok(Built::Whiteout),
            Decoded::Node { dir } => {
                let keep = dir.is_some() || seen.keeps(data.inode.nlink);
                name_and_parent(&mut data)?;
                let node = Node::with_data(data);
                seen.insert(nid, keep.then_some(&node));
                return Ok(match dir {
                    Some((cursor, xattrs)) => Built::Dir(node, cursor, xattrs),
                    None => Built::Leaf(node),
                });
            }
        },
        Seeing::NotKept => return Ok(Built::Again),
        Seeing::Node(target) => {
            // Like C: a bare node pointing at the first one; the target's
            // nlink is what the image says, so it is not bumped here.
            data.rare_mut().link_to = Some(target.clone());
        }
    }
    let to_dir = data.link_to().is_some_and(|t| t.lock().is_dir());
    name_and_parent(&mut data)?;
    let node = Node::with_data(data);
    if to_dir {
        dir_links.push(node.clone());
    }
    Ok(Built::Leaf(node))
}
