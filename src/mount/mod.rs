//! Mounting a composefs image: check the options and the image, mount the
//! EROFS image read-only at a scratch directory, stack an overlayfs with
//! the object directories as data-only layers on the mountpoint, then
//! drop the scratch mount (the overlay keeps its own reference).

mod erofs;
mod inject;
mod overlay;
mod tempdir;
mod verity;

#[cfg(test)]
mod testimg;
#[cfg(test)]
mod tests;

use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, RawFd};

use rustix::fs::{Mode, OFlags};

use crate::erofs::format::{
    LcfsErofsHeader, LCFS_EROFS_FLAGS_HAS_ACL, LCFS_EROFS_MAGIC, LCFS_HEADER_SIZE,
};
use crate::error::{Error, Result};

pub use erofs::{mount_erofs_legacy, mount_erofs_loop, mount_erofs_new};
pub use overlay::{legacy_lowerdir, mount_overlay_legacy, mount_overlay_new};

pub const FLAGS_REQUIRE_VERITY: u32 = 1 << 0;
pub const FLAGS_READONLY: u32 = 1 << 1;
pub const FLAGS_IDMAP: u32 = 1 << 3;
pub const FLAGS_TRY_VERITY: u32 = 1 << 4;
/// Every bit a caller may set (bit 2 is unused but tolerated, as in C).
pub const FLAGS_MASK: u32 = (1 << 5) - 1;

/// What the caller asks for, borrowed from C or Rust.
#[derive(Clone, Debug, Default)]
pub struct MountOptions<'a> {
    /// Object directories, in lookup order; at least one is required.
    pub objdirs: Vec<&'a CStr>,
    pub workdir: Option<&'a CStr>,
    pub upperdir: Option<&'a CStr>,
    /// Hex fs-verity digest the image file must have.
    pub expected_digest: Option<&'a CStr>,
    pub flags: u32,
    /// User namespace fd, used only with [`FLAGS_IDMAP`].
    pub idmap_fd: RawFd,
    /// Where to mount the EROFS image; a private temporary directory
    /// under /tmp when absent.
    pub image_mountdir: Option<&'a CStr>,
}

/// Options that passed [`MountOptions::validate`], with the expected digest
/// decoded.
#[derive(Debug)]
pub struct Validated<'o, 'a> {
    opts: &'o MountOptions<'a>,
    /// Zero-padded raw digest; None when absent or given as "".
    expected: Option<[u8; verity::MAX_DIGEST_SIZE]>,
}

impl<'a> MountOptions<'a> {
    /// The checks C makes before touching the image, in C's order; each
    /// failure is EINVAL.
    pub fn validate(&self) -> Result<Validated<'_, 'a>> {
        if self.flags & !FLAGS_MASK != 0 || self.objdirs.is_empty() {
            return Err(Error::InvalidArgument);
        }
        if self.upperdir.is_some() != self.workdir.is_some() {
            return Err(Error::InvalidArgument);
        }
        let expected = match self.expected_digest {
            Some(hex) => verity::parse_hex_digest(hex.to_bytes())?,
            None => None,
        };
        if self.flags & FLAGS_IDMAP != 0 && self.idmap_fd < 0 {
            return Err(Error::InvalidArgument);
        }
        Ok(Validated {
            opts: self,
            expected,
        })
    }

    fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// The user namespace to idmap the image mount with, if asked.
    fn idmap(&self) -> Option<RawFd> {
        self.has(FLAGS_IDMAP).then_some(self.idmap_fd)
    }
}

/// `lcfs_mount_image`: validates, opens `path` read-only and mounts it.
pub fn mount_image(path: &CStr, mountpoint: &CStr, opts: &MountOptions<'_>) -> Result<()> {
    let v = opts.validate()?;
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    mount_validated(fd.as_fd(), Some(path), mountpoint, &v)
}

/// `lcfs_mount_fd`: validates and mounts the image open at `fd`.
pub fn mount_fd(fd: BorrowedFd<'_>, mountpoint: &CStr, opts: &MountOptions<'_>) -> Result<()> {
    let v = opts.validate()?;
    mount_validated(fd, None, mountpoint, &v)
}

/// Mounts the image at `fd` on `mountpoint`. `image_path` only names the
/// loop device's backing file when one is needed.
pub fn mount_validated(
    fd: BorrowedFd<'_>,
    image_path: Option<&CStr>,
    mountpoint: &CStr,
    v: &Validated<'_, '_>,
) -> Result<()> {
    if let Some(expected) = &v.expected {
        verity::check_image(fd, expected)?;
    }
    let header = read_header(fd)?;
    if header.magic != LCFS_EROFS_MAGIC {
        return Err(Error::InvalidArgument);
    }
    let has_acl = header.flags & LCFS_EROFS_FLAGS_HAS_ACL != 0;
    let opts = v.opts;

    let mut scratch = tempdir::ImageMountDir::new(opts.image_mountdir)?;
    erofs::mount_erofs_image(fd, image_path, scratch.path(), has_acl, opts.idmap())?;
    scratch.set_mounted();
    overlay::mount_overlay(scratch.path(), opts, mountpoint)
    // `scratch` drops here: the image mount is detached, the temp dir removed.
}

/// The composefs header at offset 0. Like C, no retry on a short read: a
/// file shorter than the header is not an image (EINVAL).
fn read_header(fd: BorrowedFd<'_>) -> Result<LcfsErofsHeader> {
    let mut buf = [0u8; LCFS_HEADER_SIZE];
    let n = rustix::io::pread(fd, &mut buf, 0)?;
    if n != LCFS_HEADER_SIZE {
        return Err(Error::InvalidArgument);
    }
    LcfsErofsHeader::decode(&buf).ok_or(Error::InvalidArgument)
}
