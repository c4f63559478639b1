//! Decoding one inode into a node: stat fields, symlink target, inline
//! content and (for non-directories) xattrs. Directory entries are left
//! to the caller's walk.

use std::ffi::CString;

use super::dir::{DirCursor, DirLayout};
use super::image::{block_offset, until_nul, Image};
use super::xattr::{self, XattrArea};
use crate::erofs::format::{
    xattr_ibody_size, Inode as RawInode, BLKSIZ, INODE_CHUNK_BASED, INODE_FLAT_INLINE,
    INODE_FLAT_PLAIN, ISLOTBITS,
};
use crate::error::{Error, Result};
use crate::node::{mode, NodeData, NodeRef, INLINE_CONTENT_MAX};

/// A freshly decoded inode.
pub(super) enum Decoded {
    /// A 0:0 character device: a whiteout, left out of the tree.
    Whiteout,
    /// A node complete but for its directory entries and, for
    /// directories, its xattrs (C applies those after the entries).
    Node { dir: Option<(DirCursor, XattrArea)> },
}

/// Decodes inode `nid` of `img` into `d`, a fresh node's data (filled in
/// place: node data is large, and moving it around costs).
pub(super) fn decode(img: &Image<'_>, nid: u64, d: &mut NodeData) -> Result<Decoded> {
    // C shifts the nid in 64 bits, dropping high bits; so do we.
    let off = (nid << ISLOTBITS)
        .checked_add(img.meta as u64)
        .filter(|&o| o < img.data.len() as u64)
        .ok_or(Error::InvalidArgument)?;
    let raw = RawInode::decode(img.tail_from(off)).ok_or(Error::InvalidArgument)?;
    d.inode.mode = u32::from(raw.mode);
    d.inode.nlink = raw.nlink;
    d.inode.size = raw.size;
    d.inode.uid = raw.uid;
    d.inode.gid = raw.gid;
    if raw.is_extended() {
        d.inode.mtime_sec = raw.mtime as i64;
        d.inode.mtime_nsec = raw.mtime_nsec;
    } else {
        d.inode.mtime_sec = img.build_time as i64;
        d.inode.mtime_nsec = img.build_time_nsec;
    }
    let ftype = d.inode.file_type();
    if ftype == mode::S_IFCHR || ftype == mode::S_IFBLK {
        d.inode.rdev = raw.i_u;
    }
    if ftype == mode::S_IFCHR && d.inode.rdev == 0 {
        // Upstream (after 1.0.8) refuses a whiteout with several links.
        if raw.nlink > 1 {
            return Err(Error::InvalidArgument);
        }
        return Ok(Decoded::Whiteout);
    }

    let layout = raw.datalayout();
    let tailpacked = layout == INODE_FLAT_INLINE;
    let file_size = raw.size;
    let xattr_size = xattr_ibody_size(raw.xattr_icount) as u64;
    let xattr_start = off + raw.core_size() as u64;
    let blk = BLKSIZ as u64;
    let n_blocks = file_size.wrapping_add(blk - 1) / blk;
    let oob_blocks = if tailpacked {
        n_blocks.wrapping_sub(1)
    } else {
        n_blocks
    };
    let data = Data {
        oob_start: block_offset(raw.i_u),
        tailpacked,
        tail_off: xattr_start + xattr_size,
        tail_size: if tailpacked { file_size % blk } else { 0 },
    };
    let area = (raw.xattr_icount > 0).then_some(XattrArea {
        start: xattr_start,
        size: xattr_size,
    });

    if ftype == mode::S_IFDIR {
        let cursor = DirCursor::new(
            img,
            DirLayout {
                oob_start: data.oob_start,
                oob_blocks,
                tailpacked,
                tail_off: data.tail_off,
                tail_size: data.tail_size,
                file_size,
            },
        )?;
        let area = area.unwrap_or(XattrArea { start: 0, size: 0 });
        return Ok(Decoded::Node {
            dir: Some((cursor, area)),
        });
    }
    if ftype == mode::S_IFLNK {
        read_symlink(img, d, &data, file_size)?;
    } else if ftype == mode::S_IFREG && file_size != 0 {
        if layout == INODE_FLAT_PLAIN || layout == INODE_FLAT_INLINE {
            read_content(img, d, &data, file_size, oob_blocks)?;
        } else if layout != INODE_CHUNK_BASED {
            return Err(Error::InvalidArgument);
        }
    }
    if let Some(area) = area {
        xattr::apply(img, d, area)?;
    }
    Ok(Decoded::Node { dir: None })
}

/// Applies a directory's xattrs once its entries are done, and gives it
/// its children.
pub(super) fn finish_dir(
    img: &Image<'_>,
    node: &NodeRef,
    area: XattrArea,
    children: Vec<NodeRef>,
) -> Result<()> {
    let mut d = node.lock();
    if area.size != 0 {
        xattr::apply(img, &mut d, area)?;
    }
    d.children = crate::node::Children::from_vec(children);
    Ok(())
}

struct Data {
    oob_start: u64,
    tailpacked: bool,
    tail_off: u64,
    tail_size: u64,
}

fn read_symlink(img: &Image<'_>, d: &mut NodeData, data: &Data, size: u64) -> Result<()> {
    if size >= libc::PATH_MAX as u64 {
        return Err(Error::InvalidArgument);
    }
    let from = if data.tailpacked {
        data.tail_off
    } else {
        data.oob_start
    };
    let target = until_nul(img.bytes(from, size)?);
    let target = CString::new(target).map_err(|_| Error::InvalidArgument)?;
    d.set_symlink_payload(&target)
}

fn read_content(
    img: &Image<'_>,
    d: &mut NodeData,
    data: &Data,
    size: u64,
    oob_blocks: u64,
) -> Result<()> {
    if size > (INLINE_CONTENT_MAX as u64).min(img.data.len() as u64) {
        return Err(Error::InvalidArgument);
    }
    let oob_size = if data.tailpacked {
        oob_blocks * BLKSIZ as u64
    } else {
        size
    };
    let mut content = Vec::with_capacity(size as usize);
    content.extend_from_slice(img.bytes(data.oob_start, oob_size)?);
    if data.tailpacked {
        content.extend_from_slice(img.bytes(data.tail_off, data.tail_size)?);
    }
    // A tail-packed size that is a whole number of blocks leaves C's
    // buffer partly unwritten; we fill it with zeros instead.
    content.resize(size as usize, 0);
    d.set_content(Some(&content), size as usize)
}
