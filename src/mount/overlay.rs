//! The overlayfs on the mountpoint: the image mount as the only lower
//! layer, the object directories as data-only layers below it. New mount
//! API first (lowerdir+/datadir+ need Linux 6.7+); the mount(2) option
//! string otherwise.

use std::ffi::{CStr, CString};
use std::os::fd::AsFd;

use rustix::fs::CWD;
use rustix::mount::{
    fsconfig_create, fsconfig_set_string, fsmount, fsopen, move_mount, FsMountFlags, FsOpenFlags,
    MountAttrFlags, MountFlags, MoveMountFlags,
};

use super::inject::{self, Step};
use super::{MountOptions, FLAGS_READONLY, FLAGS_REQUIRE_VERITY, FLAGS_TRY_VERITY};
use crate::error::{Error, Result};

/// Shown as the mount's source; identifies who made it.
const SOURCE: &CStr = c"composefs";

/// New API, then the option string if the kernel's overlayfs cannot do
/// what we need through it (signalled as ENOSYS).
pub fn mount_overlay(image_mount: &CStr, opts: &MountOptions<'_>, mountpoint: &CStr) -> Result<()> {
    match mount_overlay_new(image_mount, opts, mountpoint) {
        Err(e) if e.errno() == libc::ENOSYS => mount_overlay_legacy(image_mount, opts, mountpoint),
        r => r,
    }
}

/// EINVAL from a layer key or from creation means an overlayfs too old
/// for appended layers or data-only layers: report ENOSYS so the caller
/// falls back.
fn old_kernel_as_enosys(e: rustix::io::Errno) -> Error {
    if e == rustix::io::Errno::INVAL {
        Error::NotImplemented
    } else {
        e.into()
    }
}

/// Mounts through fsopen("overlay"). ENOSYS when the API or the needed
/// keys are missing.
pub fn mount_overlay_new(
    image_mount: &CStr,
    opts: &MountOptions<'_>,
    mountpoint: &CStr,
) -> Result<()> {
    inject::check(Step::OverlayNewApi)?;
    let fs = fsopen(c"overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    let fs = fs.as_fd();
    // An overlayfs that takes an unknown key is one whose options are only
    // parsed at mount time (no real new-API support).
    if fsconfig_set_string(fs, c"unsupported", c"unsupported").is_ok() {
        return Err(Error::NotImplemented);
    }
    fsconfig_set_string(fs, c"source", SOURCE)?;
    fsconfig_set_string(fs, c"metacopy", c"on")?;
    fsconfig_set_string(fs, c"redirect_dir", c"on")?;
    if opts.has(FLAGS_REQUIRE_VERITY) || opts.has(FLAGS_TRY_VERITY) {
        // TRY_VERITY: a kernel without the key simply mounts without it.
        let r = inject::check(Step::OverlayVerity)
            .and_then(|()| fsconfig_set_string(fs, c"verity", c"require"));
        if opts.has(FLAGS_REQUIRE_VERITY) {
            r?;
        }
    }
    fsconfig_set_string(fs, c"lowerdir+", image_mount).map_err(old_kernel_as_enosys)?;
    for dir in &opts.objdirs {
        fsconfig_set_string(fs, c"datadir+", *dir).map_err(old_kernel_as_enosys)?;
    }
    if let Some(dir) = opts.upperdir {
        fsconfig_set_string(fs, c"upperdir", dir).map_err(old_kernel_as_enosys)?;
    }
    if let Some(dir) = opts.workdir {
        fsconfig_set_string(fs, c"workdir", dir).map_err(old_kernel_as_enosys)?;
    }
    fsconfig_create(fs).map_err(old_kernel_as_enosys)?;
    let attrs = if opts.has(FLAGS_READONLY) {
        MountAttrFlags::MOUNT_ATTR_RDONLY
    } else {
        MountAttrFlags::empty()
    };
    let mnt = fsmount(fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)?;
    move_mount(
        mnt.as_fd(),
        c"",
        CWD,
        mountpoint,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )?;
    Ok(())
}

/// Appends `s` with each ',' escaped as "\,", the only escape the option
/// parser of mount(2) knows.
fn push_escaped(out: &mut Vec<u8>, s: &[u8]) {
    for &c in s {
        if c == b',' {
            out.push(b'\\');
        }
        out.push(c);
    }
}

/// The `lowerdir=` value: the image mount, then each object directory,
/// separated by "::" (data-only layers, Linux 6.5+) or, for older kernels,
/// ":" (ordinary lower layers).
pub fn legacy_lowerdir(image_mount: &CStr, objdirs: &[&CStr], data_only: bool) -> Vec<u8> {
    let sep: &[u8] = if data_only { b"::" } else { b":" };
    let mut out = Vec::new();
    push_escaped(&mut out, image_mount.to_bytes());
    for dir in objdirs {
        out.extend_from_slice(sep);
        push_escaped(&mut out, dir.to_bytes());
    }
    out
}

/// The whole option string for mount(2).
fn legacy_options(lowerdir: &[u8], opts: &MountOptions<'_>) -> Result<CString> {
    let mut s = b"metacopy=on,redirect_dir=on,lowerdir=".to_vec();
    s.extend_from_slice(lowerdir);
    if let Some(dir) = opts.upperdir {
        s.extend_from_slice(b",upperdir=");
        push_escaped(&mut s, dir.to_bytes());
    }
    if let Some(dir) = opts.workdir {
        s.extend_from_slice(b",workdir=");
        push_escaped(&mut s, dir.to_bytes());
    }
    // TRY_VERITY is not attempted here: mount(2) cannot tell an unknown
    // option from any other failure.
    if opts.has(FLAGS_REQUIRE_VERITY) {
        s.extend_from_slice(b",verity=require");
    }
    CString::new(s).map_err(|_| Error::InvalidArgument)
}

/// Mounts with mount(2): data-only layers first (quietly, as failure is
/// expected on old kernels), then, on EINVAL, the object directories as
/// plain lower layers.
pub fn mount_overlay_legacy(
    image_mount: &CStr,
    opts: &MountOptions<'_>,
    mountpoint: &CStr,
) -> Result<()> {
    let base = if opts.has(FLAGS_READONLY) {
        MountFlags::RDONLY
    } else {
        MountFlags::empty()
    };
    let data_only = legacy_options(&legacy_lowerdir(image_mount, &opts.objdirs, true), opts)?;
    match inject::check(Step::OverlayDataOnly).and_then(|()| {
        rustix::mount::mount(
            SOURCE,
            mountpoint,
            c"overlay",
            base | MountFlags::SILENT,
            data_only.as_c_str(),
        )
    }) {
        Err(rustix::io::Errno::INVAL) => {}
        r => return Ok(r?),
    }
    let plain = legacy_options(&legacy_lowerdir(image_mount, &opts.objdirs, false), opts)?;
    rustix::mount::mount(SOURCE, mountpoint, c"overlay", base, plain.as_c_str())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowerdir_escapes_commas_only() {
        let dirs = [c"/o,1", c"/o:2"];
        assert_eq!(
            legacy_lowerdir(c"/img,x", &dirs, true),
            b"/img\\,x::/o\\,1::/o:2".to_vec()
        );
        assert_eq!(
            legacy_lowerdir(c"/img", &dirs, false),
            b"/img:/o\\,1:/o:2".to_vec()
        );
    }

    #[test]
    fn option_string_orders_keys_like_c() {
        let opts = MountOptions {
            objdirs: vec![c"/objs"],
            upperdir: Some(c"/up,per"),
            workdir: Some(c"/work"),
            flags: FLAGS_REQUIRE_VERITY | FLAGS_TRY_VERITY,
            ..Default::default()
        };
        let s = legacy_options(b"/img::/objs", &opts).unwrap();
        assert_eq!(
            s.to_bytes(),
            b"metacopy=on,redirect_dir=on,lowerdir=/img::/objs,upperdir=/up\\,per,workdir=/work,verity=require"
        );
        let opts = MountOptions {
            flags: FLAGS_TRY_VERITY | FLAGS_READONLY,
            ..opts
        };
        let opts = MountOptions {
            upperdir: None,
            workdir: None,
            ..opts
        };
        let s = legacy_options(b"/img", &opts).unwrap();
        assert_eq!(s.to_bytes(), b"metacopy=on,redirect_dir=on,lowerdir=/img");
    }
}
