//! Building node trees from real files and directories: what
//! `lcfs_load_node_from_file`, `lcfs_node_set_from_content` and
//! `lcfs_build` do in C, with the fs-verity hashing of `lcfs_build`
//! spread over all cores.

mod content;
pub mod digests;
mod pool;
mod walk;
mod xattrs;

use std::ffi::CStr;
use std::os::fd::BorrowedFd;

use rustix::fs::{AtFlags, FileType};

use crate::error::{Error, Result};
use crate::node::{Node, NodeRef};
#[cfg(test)]
pub(crate) use content::digest_path;
pub use content::set_from_content;
pub use walk::{build, BuildError};

/// `LCFS_BUILD_*` flags.
pub mod flags {
    pub const SKIP_XATTRS: i32 = 1 << 0;
    pub const USE_EPOCH: i32 = 1 << 1;
    pub const SKIP_DEVICES: i32 = 1 << 2;
    pub const COMPUTE_DIGEST: i32 = 1 << 3;
    pub const NO_INLINE: i32 = 1 << 4;
    pub const USER_XATTRS: i32 = 1 << 5;
    pub const BY_DIGEST: i32 = 1 << 6;
    pub const ALL: i32 = (1 << 7) - 1;
}

/// Unknown bits, or SKIP_XATTRS together with USER_XATTRS, are EINVAL.
fn check_flags(buildflags: i32) -> Result<()> {
    let both = flags::SKIP_XATTRS | flags::USER_XATTRS;
    if buildflags & !flags::ALL != 0 || buildflags & both == both {
        return Err(Error::InvalidArgument);
    }
    Ok(())
}

/// What to do with a regular file's content for these flags and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ContentPlan {
    pub digest: bool,
    pub inline: bool,
}

pub(crate) fn content_plan(size: u64, buildflags: i32) -> ContentPlan {
    let nonempty = size != 0;
    ContentPlan {
        digest: nonempty && buildflags & (flags::COMPUTE_DIGEST | flags::BY_DIGEST) != 0,
        inline: nonempty
            && buildflags & flags::NO_INLINE == 0
            && size <= crate::node::RECOMMENDED_INLINE_CONTENT_MAX as u64,
    }
}

/// Stats `name` (without following a final symlink) into a new node.
/// Regular files get their content handled by `on_regular`, which lets
/// `lcfs_build` defer hashing to its worker pool.
pub(crate) fn load_node_with(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    buildflags: i32,
    on_regular: &mut dyn FnMut(&NodeRef) -> Result<()>,
) -> Result<NodeRef> {
    check_flags(buildflags)?;
    let st = rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let node = Node::new();
    {
        let mut d = node.lock();
        d.inode.mode = st.st_mode;
        d.inode.uid = st.st_uid;
        d.inode.gid = st.st_gid;
        // C keeps rdev in 32 bits.
        d.inode.rdev = st.st_rdev as u32;
        d.inode.size = st.st_size as u64;
    }
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => on_regular(&node)?,
        FileType::Symlink => {
            let target = rustix::fs::readlinkat(dirfd, name, Vec::new())?;
            node.lock().set_symlink_payload(&target)?;
        }
        _ => {}
    }
    if buildflags & flags::USE_EPOCH == 0 {
        let mut d = node.lock();
        d.inode.mtime_sec = st.st_mtime;
        d.inode.mtime_nsec = st.st_mtime_nsec as u32;
    }
    if buildflags & flags::SKIP_XATTRS == 0 {
        xattrs::read_into(&node, dirfd, name, buildflags & flags::USER_XATTRS != 0)?;
    }
    Ok(node)
}

/// `lcfs_load_node_from_file`.
pub fn load_node_from_file(dirfd: BorrowedFd<'_>, name: &CStr, buildflags: i32) -> Result<NodeRef> {
    load_node_with(dirfd, name, buildflags, &mut |node| {
        set_from_content(node, dirfd, name, buildflags)
    })
}

#[cfg(test)]
mod tests;
