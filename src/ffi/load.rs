//! Loading EROFS images into node trees (lcfs-writer.h): pointer and fd
//! handling only; the reader itself is `erofs::read`.

use std::ffi::{c_char, c_int, CStr};

use super::image::lcfs_read_options_s;
use super::{borrow_bytes, fail, fail_null, give_node, lcfs_node_s};
use crate::erofs::read::{self, load_image};
use crate::error::{Error, Result};
use crate::node::NodeRef;

/// Options as the non-`_ext` entry points pass them: all zero.
fn no_options() -> lcfs_read_options_s {
    lcfs_read_options_s {
        toplevel_entries: std::ptr::null(),
        reserved: [0; 3],
        reserved2: [std::ptr::null_mut(); 4],
    }
}

fn to_node_ptr(r: Result<NodeRef>) -> *mut lcfs_node_s {
    match r {
        Ok(n) => give_node(n),
        Err(e) => fail_null(e),
    }
}

/// Collects the NULL-terminated `toplevel_entries` array, if any.
///
/// # Safety
/// `opts` must be NULL or valid; its array, when set, must be
/// NULL-terminated and hold NUL-terminated strings.
unsafe fn toplevel_names<'a>(opts: *const lcfs_read_options_s) -> Result<Option<Vec<&'a [u8]>>> {
    if opts.is_null() {
        return Err(Error::InvalidArgument);
    }
    // SAFETY: non-NULL and valid per the caller's contract.
    let list = unsafe { (*opts).toplevel_entries };
    if list.is_null() {
        return Ok(None);
    }
    let mut names = Vec::new();
    let mut it: *const *const c_char = list;
    loop {
        // SAFETY: the array is NULL-terminated, so every slot up to and
        // including the terminator is readable.
        let p = unsafe { *it };
        if p.is_null() {
            break;
        }
        // SAFETY: each entry is a NUL-terminated string per the contract.
        names.push(unsafe { CStr::from_ptr(p) }.to_bytes());
        // SAFETY: the terminator has not been reached, so the next slot exists.
        it = unsafe { it.add(1) };
    }
    Ok(Some(names))
}

/// # Safety
/// `image_data` must be valid for `image_data_size` bytes; `opts` as for
/// `toplevel_names`.
unsafe fn load_ext(
    image_data: *const u8,
    image_data_size: usize,
    opts: *const lcfs_read_options_s,
) -> Result<NodeRef> {
    // SAFETY: forwarded caller contract.
    let names = unsafe { toplevel_names(opts) }?;
    // SAFETY: forwarded caller contract.
    let data = unsafe { borrow_bytes(image_data, image_data_size) }?;
    load_image(data, names.as_deref())
}

/// # Safety
/// `image_data` must be valid for `image_data_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_image(
    image_data: *const u8,
    image_data_size: usize,
) -> *mut lcfs_node_s {
    let opts = no_options();
    // SAFETY: caller contract; `opts` is a valid local.
    to_node_ptr(unsafe { load_ext(image_data, image_data_size, &opts) })
}

/// # Safety
/// `image_data` must be valid for `image_data_size` bytes; `opts` must be
/// valid (NULL gives EINVAL) with a NULL-terminated `toplevel_entries`.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_image_ext(
    image_data: *const u8,
    image_data_size: usize,
    opts: *const lcfs_read_options_s,
) -> *mut lcfs_node_s {
    // SAFETY: forwarded caller contract.
    to_node_ptr(unsafe { load_ext(image_data, image_data_size, opts) })
}

/// # Safety
/// `opts` as for `lcfs_load_node_from_image_ext`.
unsafe fn load_fd(fd: c_int, opts: *const lcfs_read_options_s) -> Result<NodeRef> {
    let map = read::map_fd(fd)?;
    // SAFETY: the mapping is valid for its length while `map` lives.
    unsafe { load_ext(map.bytes().as_ptr(), map.bytes().len(), opts) }
}

/// # Safety
/// `fd` is any integer; an open file is mapped, never read or seeked.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_fd(fd: c_int) -> *mut lcfs_node_s {
    let opts = no_options();
    // SAFETY: `opts` is a valid local.
    to_node_ptr(unsafe { load_fd(fd, &opts) })
}

/// # Safety
/// `opts` must be valid (NULL gives EINVAL) with a NULL-terminated
/// `toplevel_entries`.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_fd_ext(
    fd: c_int,
    opts: *const lcfs_read_options_s,
) -> *mut lcfs_node_s {
    // SAFETY: forwarded caller contract.
    to_node_ptr(unsafe { load_fd(fd, opts) })
}

/// # Safety
/// `fd` is any integer; the header is mapped, the offset never moves.
#[no_mangle]
pub unsafe extern "C" fn lcfs_version_from_fd(fd: c_int) -> c_int {
    match read::version_from_fd(fd) {
        Ok(v) => v as c_int,
        Err(e) => fail(e),
    }
}
