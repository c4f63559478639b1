//! Shared pieces of the fuzz targets: turning fuzzer bytes into a node
//! tree, writing an image to memory, and comparing a tree with what the
//! reader makes of its image.
//!
//! The decoding is done by hand (no `arbitrary` crate): every byte picks
//! an operation or a field, and a short input simply ends the tree.

mod compare;
mod input;

use composefs::erofs::write::{write_to, WriteOptions};
use composefs::error::Result;
use composefs::node::NodeRef;

pub use compare::{compare_trees, describe, has_bare_prefix_xattr, has_links};
pub use input::build_tree;

/// Writes `root` into memory; returns the image and its fs-verity digest.
pub fn write_image(root: &NodeRef, opts: WriteOptions) -> Result<(Vec<u8>, [u8; 32])> {
    let mut opts = opts;
    let mut out = Vec::new();
    let mut sink = |b: &[u8]| -> Result<()> {
        out.extend_from_slice(b);
        Ok(())
    };
    let digest = write_to(root, &mut opts, Some(&mut sink), true)?;
    // Asked for, so always present; a missing one is itself a bug.
    let digest = digest.unwrap_or_else(|| panic!("write_to returned no digest"));
    Ok((out, digest))
}

/// Re-points every hardlink node in the tree at a fresh node before the
/// tree is dropped. A link to an ancestor directory (which images with
/// directory cycles load as, like C) keeps the tree alive through its
/// own reference, as it would in C; without this, long campaigns run out
/// of memory on such leaks alone.
pub fn break_cycles(root: &NodeRef) {
    let mut stack = vec![root.clone()];
    while let Some(n) = stack.pop() {
        if n.lock().link_to().is_some() {
            let _ = composefs::node::make_hardlink(&n, &composefs::node::Node::new());
        }
        stack.extend(n.lock().children().iter().cloned());
    }
}
