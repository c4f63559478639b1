//! `lcfs_write_to`: serialises a node tree into a composefs EROFS image,
//! byte for byte as libcomposefs 1.0.8 does.
//!
//! Steps: validate options and settle the format version; copy the tree
//! with composefs' rewrites into a flat, inode-ordered form (`tree`); lay
//! out every inode, tail and block (`layout`); then stream the image in
//! file order (`emit`), hashing it for the fs-verity digest on the way.

mod dirents;
mod emit;
mod layout;
mod tree;
mod xattrs;

#[cfg(test)]
mod tests;

pub use emit::WriteFn;

use crate::error::{Error, Result};
use crate::node::NodeRef;
use emit::{Emitter, Sink};
use layout::Layout;
use tree::{Tree, Version};

/// `LCFS_FORMAT_EROFS`, the only format.
pub const FORMAT_EROFS: u32 = 0;
/// Highest format version this writer knows.
pub const VERSION_MAX: u32 = 1;
/// No write flags are defined.
pub const FLAGS_MASK: u32 = 0;

/// The settings of `struct lcfs_write_options_s` the writer reads;
/// `version` and `max_version` are updated in place as C does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    pub format: u32,
    pub version: u32,
    pub max_version: u32,
    pub flags: u32,
}

/// Writes the image of `root` to `out` (or nowhere, to only compute the
/// digest). Returns the fs-verity digest of the image when `digest`.
pub fn write_to<'o>(
    root: &NodeRef,
    opts: &mut WriteOptions,
    out: Option<&'o mut WriteFn<'o>>,
    digest: bool,
) -> Result<Option<[u8; 32]>> {
    if opts.flags & !FLAGS_MASK != 0 {
        return Err(Error::InvalidArgument);
    }
    if opts.version > VERSION_MAX || opts.max_version > VERSION_MAX {
        return Err(Error::InvalidArgument);
    }
    if opts.max_version < opts.version {
        opts.max_version = opts.version;
    }
    let mut ver = Version {
        version: opts.version,
        max_version: opts.max_version,
    };
    if opts.format != FORMAT_EROFS {
        // C settles the version before it looks at the format.
        ver.walk(root);
        opts.version = ver.version;
        return Err(Error::InvalidArgument);
    }
    let built = Tree::build(root, &mut ver);
    opts.version = ver.version;
    let tree = built?;
    let lay = Layout::compute(&tree)?;
    let mut em = Emitter::new(&tree, &lay, Sink::new(out, digest), ver.version);
    match em.write_all() {
        Ok(()) => Ok(em.sink.digest()),
        Err(e) => {
            // Bytes before the failure point still go out first, so a
            // writer error there wins, as it would in C.
            if !em.sink.failed() {
                em.sink.flush()?;
            }
            Err(e)
        }
    }
}
