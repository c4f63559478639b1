//! Building trees from directories (lcfs-writer.h).
//! Not implemented yet (trees-from-directories issue): each fails with ENOSYS.

use std::ffi::{c_char, c_int};

use super::{fail, fail_null, lcfs_node_s};
use crate::error::Error;

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_file(
    _dirfd: c_int,
    _fname: *const c_char,
    _buildflags: c_int,
) -> *mut lcfs_node_s {
    fail_null(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_build(
    _dirfd: c_int,
    _fname: *const c_char,
    _buildflags: c_int,
    _failed_path_out: *mut *mut c_char,
) -> *mut lcfs_node_s {
    fail_null(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_from_content(
    _node: *mut lcfs_node_s,
    _dirfd: c_int,
    _fname: *const c_char,
    _buildflags: c_int,
) -> c_int {
    fail(Error::NotImplemented)
}
