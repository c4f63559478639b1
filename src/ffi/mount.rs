//! lcfs-mount.h: converts the C options and reports errors via errno.

use std::ffi::{c_char, c_int, c_void, CStr};

use super::{borrow_cstr, borrow_fd, to_int};
use crate::error::{Error, Result};
use crate::mount::{self, MountOptions};

/// `struct lcfs_mount_options_s`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct lcfs_mount_options_s {
    pub objdirs: *mut *const c_char,
    pub n_objdirs: usize,
    pub workdir: *const c_char,
    pub upperdir: *const c_char,
    pub expected_fsverity_digest: *const c_char,
    pub flags: u32,
    pub idmap_fd: c_int,
    pub image_mountdir: *const c_char,
    pub reserved: [u32; 4],
    pub reserved2: [*mut c_void; 4],
}

/// A NULL string is an absent option.
///
/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
unsafe fn opt_cstr<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: forwarded from the caller.
    unsafe { borrow_cstr(p) }.ok()
}

/// Borrows the C options. A NULL struct, NULL array or NULL object
/// directory (where C would crash) is EINVAL; n_objdirs == 0 gives an
/// empty list, which validation rejects.
///
/// # Safety
/// `options` must be NULL or a valid options struct whose strings and
/// `objdirs[0..n_objdirs]` stay valid for the returned lifetime.
unsafe fn borrow_options<'a>(options: *const lcfs_mount_options_s) -> Result<MountOptions<'a>> {
    // SAFETY: NULL or valid per the contract.
    let o = unsafe { options.as_ref() }.ok_or(Error::InvalidArgument)?;
    let mut objdirs = Vec::new();
    if o.n_objdirs > 0 {
        if o.objdirs.is_null() {
            return Err(Error::InvalidArgument);
        }
        // SAFETY: non-NULL and holding n_objdirs pointers per the contract.
        let ptrs = unsafe { std::slice::from_raw_parts(o.objdirs, o.n_objdirs) };
        objdirs
            .try_reserve(ptrs.len())
            .map_err(|_| Error::OutOfMemory)?;
        for &p in ptrs {
            // SAFETY: each entry is NULL or a valid string per the contract.
            objdirs.push(unsafe { borrow_cstr(p) }?);
        }
    }
    // SAFETY: the four strings are NULL or valid per the contract.
    let (workdir, upperdir, expected_digest, image_mountdir) = unsafe {
        (
            opt_cstr(o.workdir),
            opt_cstr(o.upperdir),
            opt_cstr(o.expected_fsverity_digest),
            opt_cstr(o.image_mountdir),
        )
    };
    Ok(MountOptions {
        objdirs,
        workdir,
        upperdir,
        expected_digest,
        flags: o.flags,
        idmap_fd: o.idmap_fd,
        image_mountdir,
    })
}

/// # Safety
/// `path` and `mountpoint` must be NULL or NUL-terminated strings;
/// `options` as for [`borrow_options`].
#[no_mangle]
pub unsafe extern "C" fn lcfs_mount_image(
    path: *const c_char,
    mountpoint: *const c_char,
    options: *mut lcfs_mount_options_s,
) -> c_int {
    // SAFETY: forwarded from the caller's contract.
    let r = unsafe { borrow_options(options) }.and_then(|opts| {
        // SAFETY: NULL or NUL-terminated per the contract.
        let (path, mountpoint) = unsafe { (borrow_cstr(path)?, borrow_cstr(mountpoint)?) };
        mount::mount_image(path, mountpoint, &opts)
    });
    to_int(r)
}

/// # Safety
/// `mountpoint` must be NULL or a NUL-terminated string; `fd` an open
/// descriptor or negative; `options` as for [`borrow_options`].
#[no_mangle]
pub unsafe extern "C" fn lcfs_mount_fd(
    fd: c_int,
    mountpoint: *const c_char,
    options: *mut lcfs_mount_options_s,
) -> c_int {
    // SAFETY: forwarded from the caller's contract.
    let r = unsafe { borrow_options(options) }.and_then(|opts| {
        let v = opts.validate()?;
        // SAFETY: NULL or NUL-terminated per the contract.
        let mountpoint = unsafe { borrow_cstr(mountpoint) }?;
        let fd = borrow_fd(fd)?;
        mount::mount_validated(fd, None, mountpoint, &v)
    });
    to_int(r)
}
