//! File content of a regular-file node: fs-verity digest, the
//! digest-named payload of LCFS_BUILD_BY_DIGEST, and small inline content.

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::{content_plan, flags, ContentPlan};
use crate::error::{Error, Result};
use crate::node::{NodeRef, DIGEST_SIZE, RECOMMENDED_INLINE_CONTENT_MAX};

/// `lcfs_node_set_from_content`: opens `name` only when there is
/// something to read (a digest or inline content), as C does.
pub fn set_from_content(
    node: &NodeRef,
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    buildflags: i32,
) -> Result<()> {
    let size = node.lock().inode.size;
    let plan = content_plan(size, buildflags);
    if !plan.digest && !plan.inline {
        return Ok(());
    }
    let fd = open_content(dirfd, name)?;
    apply(node, fd.as_fd(), plan, buildflags)
}

pub(crate) fn open_content(dirfd: BorrowedFd<'_>, name: &CStr) -> Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dirfd,
        name,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Does the reading `plan` asks for on an open file and records the
/// results. Everything is read before the node is touched, so a failed
/// read leaves it as it was (C may already have set the digest).
pub(crate) fn apply(
    node: &NodeRef,
    fd: BorrowedFd<'_>,
    plan: ContentPlan,
    buildflags: i32,
) -> Result<()> {
    let size = node.lock().inode.size;
    let digest = if plan.digest {
        // C reports any read failure while hashing as ENODATA.
        Some(crate::fsverity::digest_from_fd_sized(fd, Some(size)).map_err(|_| Error::NoData)?)
    } else {
        None
    };
    let mut buf = [0u8; RECOMMENDED_INLINE_CONTENT_MAX];
    let len = if plan.inline { size as usize } else { 0 };
    read_exact_at_start(fd, &mut buf[..len])?;
    let mut d = node.lock();
    if let Some(digest) = digest {
        if buildflags & flags::BY_DIGEST != 0 {
            // The only step that can fail, so it goes first.
            d.set_payload(Some(&digest_path(&digest)))?;
        }
        d.set_digest(&digest);
        // A digest wanted only for the path is not kept.
        if buildflags & flags::BY_DIGEST != 0 && buildflags & flags::COMPUTE_DIGEST == 0 {
            d.digest = None;
        }
    }
    if plan.inline {
        d.set_content(Some(&buf[..len]), len)?;
    }
    Ok(())
}

/// Reads the first `buf.len()` bytes; a file that got shorter is ENODATA.
fn read_exact_at_start(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match rustix::io::pread(fd, &mut buf[done..], done as u64) {
            Ok(0) => return Err(Error::NoData),
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// "ab/cdef…": the object-store path of a digest, as `digest_to_path` in C.
pub(crate) fn digest_path(digest: &[u8; DIGEST_SIZE]) -> std::ffi::CString {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = Vec::with_capacity(DIGEST_SIZE * 2 + 1);
    for (i, b) in digest.iter().enumerate() {
        if i == 1 {
            s.push(b'/');
        }
        s.push(HEX[(b >> 4) as usize]);
        s.push(HEX[(b & 0xf) as usize]);
    }
    // Hex digits and '/' contain no NUL.
    std::ffi::CString::new(s).unwrap_or_default()
}
