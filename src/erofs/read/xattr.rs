//! Turning an inode's stored xattrs back into node state: overlay
//! bookkeeping xattrs become payload, digest or whiteout; escaped overlay
//! xattrs get their original names back; the rest is kept as stored.

use std::ffi::CString;

use super::image::Image;
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
/// What the user.* entries of DROPPED start with.
const USER_OVERLAY_PREFIX: &[u8] = b"user.overlay.";
const ESCAPE_PREFIX: &[u8] = b"trusted.overlay.overlay.";

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
    let name = Name { prefix, suffix };
    apply_one(img, node, name, value)?;
    Ok(e.padded_size() as u64)
}

/// A stored xattr name: its prefix (by index) and suffix, which C cuts
/// at its first NUL (prefixes hold none). Most names are compared with
/// constants (which hold no NUL either) and dropped, so they are neither
/// scanned for a NUL nor joined unless kept.
#[derive(Clone, Copy)]
struct Name<'a> {
    prefix: &'a [u8],
    suffix: &'a [u8],
}

impl Name<'_> {
    fn starts_with(&self, s: &[u8]) -> bool {
        let p = self.prefix.len();
        if s.len() <= p {
            return self.prefix.starts_with(s);
        }
        s.starts_with(self.prefix) && self.suffix.starts_with(&s[p..])
    }

    fn is(&self, s: &[u8]) -> bool {
        let n = s.len().wrapping_sub(self.prefix.len());
        s.len() >= self.prefix.len()
            && self.starts_with(s)
            && self.suffix.get(n).map_or(true, |&b| b == 0)
    }

    /// The name as C sees it, owned and NUL-terminated.
    fn to_cstring(self) -> CString {
        let mut v = Vec::with_capacity(self.prefix.len() + self.suffix.len() + 1);
        v.extend_from_slice(self.prefix);
        v.extend_from_slice(self.suffix);
        match CString::new(v) {
            Ok(c) => c,
            Err(e) => {
                let at = e.nul_position();
                let mut v = e.into_vec();
                v.truncate(at);
                CString::new(v).unwrap_or_default()
            }
        }
    }
}

/// Where a value lies. It is only read when used, as in C: a value
/// running past the image end is harmless for dropped xattrs.
#[derive(Clone, Copy)]
struct Value {
    off: u64,
    len: u64,
}

fn apply_one(img: &Image<'_>, node: &mut NodeData, name: Name<'_>, value: Value) -> Result<()> {
    let is_reg = node.inode.file_type() == mode::S_IFREG;
    if name.starts_with(OVERLAY_PREFIX) {
        if name.is(REDIRECT) {
            if is_reg {
                node.payload = Some(redirect_payload(img, value)?.into_boxed_c_str());
            }
            return Ok(());
        }
        if name.is(METACOPY) {
            if is_reg && value.len == 4 + DIGEST_SIZE as u64 {
                let mut d = [0u8; DIGEST_SIZE];
                d.copy_from_slice(img.bytes(value.off + 4, DIGEST_SIZE as u64)?);
                node.set_digest(&d);
            }
            return Ok(());
        }
        if name.is(ESCAPED_WHITEOUT) && is_reg {
            // A v0 whiteout: a regular file standing for a 0:0 char device.
            node.inode.mode = (node.inode.mode & !mode::S_IFMT) | mode::S_IFCHR;
            node.inode.rdev = 0;
            node.inode.size = 0;
            return Ok(());
        }
        if !name.starts_with(ESCAPE_PREFIX) || DROPPED.iter().any(|d| name.is(d)) {
            // Other overlay xattrs are the writer's own business.
            return Ok(());
        }
    } else if name.starts_with(USER_OVERLAY_PREFIX) && DROPPED.iter().any(|d| name.is(d)) {
        return Ok(());
    }
    let mut key = name.to_cstring();
    if key.to_bytes().starts_with(ESCAPE_PREFIX) {
        // trusted.overlay.overlay.X was stored for trusted.overlay.X.
        let mut v = key.into_bytes();
        v.drain(OVERLAY_PREFIX.len()..ESCAPE_PREFIX.len());
        key = CString::new(v).map_err(|_| Error::InvalidArgument)?;
    }
    // A bad key fails before C looks at the value.
    let key_len = key.to_bytes().len();
    if key_len == 0 || key_len > XATTR_NAME_MAX {
        return Err(Error::OutOfRange);
    }
    node.xattrs
        .set_owned(key, img.bytes(value.off, value.len)?, INTERNAL_XATTR_MAX)
}

/// The payload a redirect xattr stands for. The writer stores it with a
/// leading '/', which is dropped. C (1.0.8 and main) then copies up to one
/// byte more than the stored length starting one byte in, so when the
/// value fills its entry exactly (payload length 3 mod 4) up to two bytes
/// of what follows are glued on unless a NUL stops it. The reader must
/// give what C gives (composefs-dump, ostree), so we take the same bytes,
/// bounds-checked.
fn redirect_payload(img: &Image<'_>, value: Value) -> Result<CString> {
    let first = img.bytes(value.off, value.len.min(1))?;
    let bytes = if value.len > 1 && first == b"/" {
        img.c_string(value.off + 1, value.len + 1)?
    } else {
        img.c_string(value.off, value.len)?
    };
    CString::new(bytes).map_err(|_| Error::InvalidArgument)
}
