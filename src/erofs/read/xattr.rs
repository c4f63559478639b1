//! Turning an inode's stored xattrs back into node state: overlay
//! bookkeeping xattrs become payload, digest or whiteout; escaped overlay
//! xattrs get their original names back; the rest is kept as stored.

use std::ffi::CString;

use super::image::{until_nul, Image};
use crate::erofs::format::{
    XattrEntry, XattrIbodyHeader, XATTR_ENTRY_SIZE, XATTR_IBODY_HEADER_SIZE, XATTR_PREFIXES,
};
use crate::error::{Error, Result};
use crate::node::xattr::{INTERNAL_XATTR_MAX, XATTR_NAME_MAX};
use crate::node::{mode, NodeData, DIGEST_SIZE};

const REDIRECT: &[u8] = b"trusted.overlay.redirect";
const METACOPY: &[u8] = b"trusted.overlay.metacopy";
const ESCAPED_WHITEOUT: &[u8] = b"trusted.overlay.overlay.whiteout";
/// Markers the writer adds for overlayfs only; never part of the tree.
const DROPPED: [&[u8]; 3] = [
    b"trusted.overlay.overlay.whiteouts",
    b"user.overlay.whiteout",
    b"user.overlay.whiteouts",
];
const OVERLAY_PREFIX: &[u8] = b"trusted.overlay.";
const ESCAPE_PREFIX: &[u8] = b"trusted.overlay.overlay.";
/// Longest prefix plus the longest stored name.
const NAME_BUF: usize = 24 + 255;

/// The inline xattr area of an inode.
#[derive(Clone, Copy, Debug)]
pub(super) struct XattrArea {
    pub start: u64,
    pub size: u64,
}

/// Applies every xattr of `area` to `node`: inline ones first, then
/// shared ones, as C does.
pub(super) fn apply(img: &Image<'_>, node: &mut NodeData, area: XattrArea) -> Result<()> {
    let hb = img.bytes(area.start, XATTR_IBODY_HEADER_SIZE as u64)?;
    let header = XattrIbodyHeader::decode(hb).ok_or(Error::InvalidArgument)?;
    let shared_ids = area.start + XATTR_IBODY_HEADER_SIZE as u64;
    let end = area.start + area.size;
    let mut pos = shared_ids + u64::from(header.shared_count) * 4;
    while pos + (XATTR_ENTRY_SIZE as u64) < end {
        let len = apply_entry(img, node, pos)?;
        pos += len;
    }
    for i in 0..u64::from(header.shared_count) {
        let id = img.bytes(shared_ids + i * 4, 4)?;
        let id = u32::from_le_bytes([id[0], id[1], id[2], id[3]]);
        // C forms the offset as a 32-bit product.
        let off = img.xattrs as u64 + u64::from(id.wrapping_mul(4));
        apply_entry(img, node, off)?;
    }
    Ok(())
}

/// Applies the entry at `off`; returns its padded on-disk length.
fn apply_entry(img: &Image<'_>, node: &mut NodeData, off: u64) -> Result<u64> {
    let e = XattrEntry::decode(img.bytes(off, XATTR_ENTRY_SIZE as u64)?)
        .ok_or(Error::InvalidArgument)?;
    let prefix = XATTR_PREFIXES
        .get(usize::from(e.name_index))
        .ok_or(Error::InvalidArgument)?;
    let name_off = off + XATTR_ENTRY_SIZE as u64;
    let suffix = img.bytes(name_off, u64::from(e.name_len))?;
    let value = Value {
        off: name_off + u64::from(e.name_len),
        len: u64::from(e.value_size),
    };
    // Assembled on the stack: most names are compared and dropped.
    let mut buf = [0u8; NAME_BUF];
    let full = prefix.len() + suffix.len();
    buf[..prefix.len()].copy_from_slice(prefix);
    buf[prefix.len()..full].copy_from_slice(suffix);
    apply_one(img, node, until_nul(&buf[..full]), value)?;
    Ok(e.padded_size() as u64)
}

/// Where a value lies. It is only read when used, as in C: a value
/// running past the image end is harmless for dropped xattrs.
#[derive(Clone, Copy)]
struct Value {
    off: u64,
    len: u64,
}

fn apply_one(img: &Image<'_>, node: &mut NodeData, name: &[u8], value: Value) -> Result<()> {
    let is_reg = node.inode.file_type() == mode::S_IFREG;
    if name == REDIRECT {
        if is_reg {
            node.payload = Some(redirect_payload(img, value)?.into_boxed_c_str());
        }
        return Ok(());
    }
    if name == METACOPY {
        if is_reg && value.len == 4 + DIGEST_SIZE as u64 {
            let mut d = [0u8; DIGEST_SIZE];
            d.copy_from_slice(img.bytes(value.off + 4, DIGEST_SIZE as u64)?);
            node.set_digest(&d);
        }
        return Ok(());
    }
    if name == ESCAPED_WHITEOUT && is_reg {
        // A v0 whiteout: a regular file standing for a 0:0 char device.
        node.inode.mode = (node.inode.mode & !mode::S_IFMT) | mode::S_IFCHR;
        node.inode.rdev = 0;
        node.inode.size = 0;
        return Ok(());
    }
    if DROPPED.contains(&name) {
        return Ok(());
    }
    let mut key = Vec::with_capacity(name.len() + 1);
    if let Some(rest) = name.strip_prefix(ESCAPE_PREFIX) {
        // trusted.overlay.overlay.X was stored for trusted.overlay.X.
        key.extend_from_slice(OVERLAY_PREFIX);
        key.extend_from_slice(rest);
    } else if name.starts_with(OVERLAY_PREFIX) {
        return Ok(());
    } else {
        key.extend_from_slice(name);
    }
    // A bad key fails before C looks at the value.
    if key.is_empty() || key.len() > XATTR_NAME_MAX {
        return Err(Error::OutOfRange);
    }
    let key = CString::new(key).map_err(|_| Error::InvalidArgument)?;
    node.xattrs
        .set(&key, img.bytes(value.off, value.len)?, INTERNAL_XATTR_MAX)
}

/// The payload a redirect xattr stands for. The writer stores it with a
/// leading '/', which is dropped. C 1.0.8 then copies up to one byte more
/// than the stored length starting one byte in, so when the value fills
/// its entry exactly (payload length 3 mod 4) it takes up to two bytes of
/// whatever follows; found by fuzzing (the payload did not survive a
/// write and read). We stop at the value's end, as the writer meant.
fn redirect_payload(img: &Image<'_>, value: Value) -> Result<CString> {
    let first = img.bytes(value.off, value.len.min(1))?;
    let bytes = if value.len > 1 && first == b"/" {
        img.c_string(value.off + 1, value.len - 1)?
    } else {
        img.c_string(value.off, value.len)?
    };
    CString::new(bytes).map_err(|_| Error::InvalidArgument)
}
