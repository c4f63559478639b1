//! Bounds-checked access to the raw image bytes and the superblock facts
//! the reader needs.

use std::ffi::CStr;

use crate::erofs::format::{
    LcfsErofsHeader, SuperBlock, BLKSIZ, LCFS_EROFS_MAGIC, LCFS_EROFS_VERSION, SUPER_MAGIC_V1,
    SUPER_OFFSET,
};
use crate::error::{Error, Result};

/// An image being read. Every access goes through `bytes`, which turns
/// any read past the end into EINVAL: where C would read out of bounds
/// on a malformed image, we fail instead.
pub(super) struct Image<'a> {
    pub data: &'a [u8],
    /// Offset of the inode area (nid 0).
    pub meta: usize,
    /// Offset of the shared xattr area.
    pub xattrs: usize,
    pub build_time: u64,
    pub build_time_nsec: u32,
    pub root_nid: u64,
}

/// Byte offset of block `blkaddr`. C computes this as a 32-bit product,
/// which wraps for addresses past 4 GiB; we keep that so the same
/// image gives the same tree.
pub(super) fn block_offset(blkaddr: u32) -> u64 {
    u64::from(blkaddr.wrapping_mul(BLKSIZ as u32))
}

fn einval<T>() -> Result<T> {
    Err(Error::InvalidArgument)
}

impl<'a> Image<'a> {
    /// Checks the composefs header and the EROFS superblock, in C's order
    /// and with C's errno for each failure.
    pub fn open(data: &'a [u8]) -> Result<Image<'a>> {
        if data.len() < BLKSIZ {
            return einval();
        }
        let header = LcfsErofsHeader::decode(data).ok_or(Error::InvalidArgument)?;
        if header.magic != LCFS_EROFS_MAGIC {
            return einval();
        }
        if header.version != LCFS_EROFS_VERSION {
            return Err(Error::Os(libc::ENOTSUP));
        }
        let sb = data
            .get(SUPER_OFFSET..)
            .and_then(SuperBlock::decode)
            .ok_or(Error::InvalidArgument)?;
        if sb.magic != SUPER_MAGIC_V1 {
            return einval();
        }
        let meta = block_offset(sb.meta_blkaddr);
        let xattrs = block_offset(sb.xattr_blkaddr);
        let len = data.len() as u64;
        if meta >= len || xattrs >= len {
            return einval();
        }
        Ok(Image {
            data,
            meta: meta as usize,
            xattrs: xattrs as usize,
            build_time: sb.build_time,
            build_time_nsec: sb.build_time_nsec,
            root_nid: u64::from(sb.root_nid),
        })
    }

    /// `len` bytes at `off`, or EINVAL if any of them lies outside.
    /// Zero bytes are always there, wherever `off` points (C copies
    /// nothing from such pointers without looking at them).
    pub fn bytes(&self, off: u64, len: u64) -> Result<&'a [u8]> {
        if len == 0 {
            return Ok(&[]);
        }
        let end = off.checked_add(len).ok_or(Error::InvalidArgument)?;
        if end > self.data.len() as u64 {
            return einval();
        }
        Ok(&self.data[off as usize..end as usize])
    }

    /// Everything from `off` to the end of the image (empty past it).
    pub fn tail_from(&self, off: u64) -> &'a [u8] {
        let start = off.min(self.data.len() as u64) as usize;
        &self.data[start..]
    }

    /// Reads like C's `strnlen` + copy: bytes from `off` up to `max` bytes
    /// or the first NUL. EINVAL when the image ends first, since C would
    /// have read beyond it.
    pub fn c_string(&self, off: u64, max: u64) -> Result<&'a [u8]> {
        let avail = self.tail_from(off);
        let window = if (avail.len() as u64) < max {
            avail
        } else {
            &avail[..max as usize]
        };
        let s = until_nul(window);
        if s.len() < window.len() || window.len() as u64 == max {
            Ok(s)
        } else {
            einval()
        }
    }
}

/// The composefs version stored in an image header, as
/// `lcfs_version_from_fd` reports it.
pub fn header_version(header: &[u8]) -> Result<u32> {
    let h = LcfsErofsHeader::decode(header).ok_or(Error::InvalidArgument)?;
    if h.magic != LCFS_EROFS_MAGIC || h.version != LCFS_EROFS_VERSION {
        return einval();
    }
    Ok(h.composefs_version)
}

/// Cuts `b` at its first NUL, as C string functions would see it.
pub(super) fn until_nul(b: &[u8]) -> &[u8] {
    // CStr's search is memchr, much faster than a byte loop.
    match CStr::from_bytes_until_nul(b) {
        Ok(c) => c.to_bytes(),
        Err(_) => b,
    }
}
