//! fs-verity functions of lcfs-writer.h.

use std::ffi::{c_int, c_void};

use super::{fail, lcfs_node_s};
use crate::error::Error;

/// C's read callback type (`lcfs_read_cb`).
pub type ReadCb = Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> isize>;

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_compute_fsverity_from_content(
    _digest: *mut u8,
    _file: *mut c_void,
    _read_cb: ReadCb,
) -> c_int {
    fail(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_compute_fsverity_from_fd(_digest: *mut u8, _fd: c_int) -> c_int {
    fail(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_compute_fsverity_from_data(
    _digest: *mut u8,
    _data: *mut u8,
    _data_len: usize,
) -> c_int {
    fail(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_fd_measure_fsverity(_digest: *mut u8, _fd: c_int) -> c_int {
    fail(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_fd_get_fsverity(_digest: *mut u8, _fd: c_int) -> c_int {
    fail(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_fd_enable_fsverity(_fd: c_int) -> c_int {
    fail(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_fsverity_from_content(
    _node: *mut lcfs_node_s,
    _file: *mut c_void,
    _read_cb: ReadCb,
) -> c_int {
    fail(Error::NotImplemented)
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_fsverity_from_fd(
    _node: *mut lcfs_node_s,
    _fd: c_int,
) -> c_int {
    fail(Error::NotImplemented)
}
