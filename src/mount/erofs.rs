//! Mounting the EROFS image read-only: file-backed through the new mount
//! API, on a loop device when the kernel wants a block device (ENOTBLK),
//! and through mount(2) when the new API is missing (ENOSYS).

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use rustix::fs::{Mode, OFlags, CWD};
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount,
    FsMountFlags, FsOpenFlags, MountAttrFlags, MountFlags, MoveMountFlags,
};

use super::inject::{self, Step};
use crate::error::{Error, Result};
use crate::sys::{loopdev, mount_attr};

/// Logical block size of the loop device: the EROFS block size.
const LOOP_BLOCK_SIZE: u32 = 4096;

/// Mounts the image open at `fd` on `target`, falling back to a loop
/// device when the kernel cannot mount a regular file.
pub fn mount_erofs_image(
    fd: BorrowedFd<'_>,
    image_path: Option<&CStr>,
    target: &CStr,
    has_acl: bool,
    idmap: Option<RawFd>,
) -> Result<()> {
    let source = proc_fd_path(fd)?;
    match mount_erofs(&source, target, has_acl, idmap) {
        Err(e) if e.errno() == libc::ENOTBLK => {
            mount_erofs_loop(fd, image_path, target, has_acl, idmap)
        }
        r => r,
    }
}

/// Where a kernel without file-backed EROFS says ENOTBLK (tests only).
fn check_file_source(source: &CStr) -> rustix::io::Result<()> {
    if source.to_bytes().starts_with(b"/dev/") {
        return Ok(());
    }
    inject::check(Step::ErofsFileSource)
}

fn proc_fd_path(fd: BorrowedFd<'_>) -> Result<CString> {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Error::InvalidArgument)
}

/// Mounts `source` (a path to the image or a block device) with the new
/// API, or with mount(2) when the kernel lacks it.
fn mount_erofs(source: &CStr, target: &CStr, has_acl: bool, idmap: Option<RawFd>) -> Result<()> {
    match erofs_new_api(source, target, has_acl, idmap)? {
        NewApi::Mounted => Ok(()),
        NewApi::Missing => mount_erofs_legacy(source, target, has_acl, idmap),
    }
}

/// What the new mount API did for us.
enum NewApi {
    Mounted,
    /// fsopen(2) said ENOSYS: only then is mount(2) the fallback. ENOSYS
    /// from a later call (mount_setattr before Linux 5.12) is an error,
    /// as in C.
    Missing,
}

/// fsopen("erofs") with `ro` and, unless the image carries ACLs, `noacl`;
/// then an optional idmap and the move onto `target`. ENOSYS from fsopen
/// means the API is missing.
pub fn mount_erofs_new(
    source: &CStr,
    target: &CStr,
    has_acl: bool,
    idmap: Option<RawFd>,
) -> Result<()> {
    match erofs_new_api(source, target, has_acl, idmap)? {
        NewApi::Mounted => Ok(()),
        NewApi::Missing => Err(Error::NotImplemented),
    }
}

fn erofs_new_api(
    source: &CStr,
    target: &CStr,
    has_acl: bool,
    idmap: Option<RawFd>,
) -> Result<NewApi> {
    let fs = match inject::check(Step::ErofsNewApi)
        .and_then(|()| fsopen(c"erofs", FsOpenFlags::FSOPEN_CLOEXEC))
    {
        Ok(fs) => fs,
        Err(e) if e == rustix::io::Errno::NOSYS => return Ok(NewApi::Missing),
        Err(e) => return Err(e.into()),
    };
    fsconfig_set_string(fs.as_fd(), c"source", source)?;
    fsconfig_set_flag(fs.as_fd(), c"ro")?;
    if !has_acl {
        fsconfig_set_flag(fs.as_fd(), c"noacl")?;
    }
    check_file_source(source)?;
    fsconfig_create(fs.as_fd())?;
    let mnt = fsmount(
        fs.as_fd(),
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY,
    )?;
    if let Some(userns) = idmap {
        inject::check(Step::MountSetattr)?;
        mount_attr::set_idmap(mnt.as_fd(), userns)?;
    }
    move_mount(
        mnt.as_fd(),
        c"",
        CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )?;
    Ok(NewApi::Mounted)
}

/// mount(2) of `source` on `target`. Idmapped mounts need the new API, so
/// asking for one here is EOPNOTSUPP.
pub fn mount_erofs_legacy(
    source: &CStr,
    target: &CStr,
    has_acl: bool,
    idmap: Option<RawFd>,
) -> Result<()> {
    if idmap.is_some() {
        return Err(Error::Os(libc::EOPNOTSUPP));
    }
    check_file_source(source)?;
    let data = (!has_acl).then_some(c"noacl");
    rustix::mount::mount(source, target, c"erofs", MountFlags::RDONLY, data)?;
    Ok(())
}

/// Binds the image to a free loop device (read-only, direct I/O,
/// autoclear) and mounts that. Our fd on the device is closed before
/// returning, so autoclear frees the device once the mount is gone, or at
/// once when the mount failed.
pub fn mount_erofs_loop(
    fd: BorrowedFd<'_>,
    image_path: Option<&CStr>,
    target: &CStr,
    has_acl: bool,
    idmap: Option<RawFd>,
) -> Result<()> {
    let (dev_path, dev) = setup_loop(fd, image_path)?;
    let r = mount_erofs(&dev_path, target, has_acl, idmap);
    drop(dev);
    r
}

fn setup_loop(
    fd: BorrowedFd<'_>,
    image_path: Option<&CStr>,
) -> Result<(CString, std::os::fd::OwnedFd)> {
    let control = rustix::fs::open(
        c"/dev/loop-control",
        OFlags::RDWR | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let nr = loopdev::get_free(control.as_fd())?;
    drop(control);
    let dev_path = CString::new(format!("/dev/loop{nr}")).map_err(|_| Error::InvalidArgument)?;
    let dev = rustix::fs::open(
        dev_path.as_c_str(),
        OFlags::RDWR | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let flags =
        loopdev::LO_FLAGS_READ_ONLY | loopdev::LO_FLAGS_DIRECT_IO | loopdev::LO_FLAGS_AUTOCLEAR;
    let name = image_path.map(CStr::to_bytes).unwrap_or_default();
    loopdev::configure(dev.as_fd(), fd, flags, LOOP_BLOCK_SIZE, name)?;
    Ok((dev_path, dev))
}
