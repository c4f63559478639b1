//! Writing EROFS images (lcfs_write_to) and the option structs of lcfs-writer.h.
//! Not implemented yet (bit-identical writer issue): fails with ENOSYS.

use std::ffi::{c_char, c_int, c_void};

use super::{fail, lcfs_node_s};
use crate::error::Error;

/// C's write callback type (`lcfs_write_cb`).
pub type WriteCb = Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> isize>;

/// `struct lcfs_write_options_s`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct lcfs_write_options_s {
    pub format: u32,
    pub version: u32,
    pub flags: u32,
    pub digest_out: *mut u8,
    pub file: *mut c_void,
    pub file_write_cb: WriteCb,
    pub max_version: u32,
    pub reserved: [u32; 3],
    pub reserved2: [*mut c_void; 4],
}

/// `struct lcfs_read_options_s`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct lcfs_read_options_s {
    pub toplevel_entries: *const *const c_char,
    pub reserved: [u32; 3],
    pub reserved2: [*mut c_void; 4],
}

/// # Safety
/// Not implemented yet.
#[no_mangle]
pub unsafe extern "C" fn lcfs_write_to(
    _root: *mut lcfs_node_s,
    _options: *mut lcfs_write_options_s,
) -> c_int {
    fail(Error::NotImplemented)
}
