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
