//! lcfs-mount.h. Not implemented yet (mounting issue): each fails with ENOSYS.

use std::ffi::{c_char, c_int, c_void};

use super::fail;
use crate::error::Error;

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

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_mount_image(
    _path: *const c_char,
    _mountpoint: *const c_char,
    _options: *mut lcfs_mount_options_s,
) -> c_int {
    fail(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_mount_fd(
    _fd: c_int,
    _mountpoint: *const c_char,
    _options: *mut lcfs_mount_options_s,
) -> c_int {
    fail(Error::NotImplemented)
}
