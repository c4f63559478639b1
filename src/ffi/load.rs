//! Loading EROFS images into node trees (lcfs-writer.h).
//! Not implemented yet (bit-identical writer issue): each fails with ENOSYS.

use std::ffi::c_int;

use super::image::lcfs_read_options_s;
use super::{fail, fail_null, lcfs_node_s};
use crate::error::Error;

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_image(
    _image_data: *const u8,
    _image_data_size: usize,
) -> *mut lcfs_node_s {
    fail_null(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_image_ext(
    _image_data: *const u8,
    _image_data_size: usize,
    _opts: *const lcfs_read_options_s,
) -> *mut lcfs_node_s {
    fail_null(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_fd(_fd: c_int) -> *mut lcfs_node_s {
    fail_null(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_fd_ext(
    _fd: c_int,
    _opts: *const lcfs_read_options_s,
) -> *mut lcfs_node_s {
    fail_null(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_version_from_fd(_fd: c_int) -> c_int {
    fail(Error::NotImplemented)
}
