//! Building trees from directories (lcfs-writer.h).

use std::ffi::{c_char, c_int};

use super::{
    borrow_cstr, borrow_dirfd, borrow_node, fail, fail_null, give_node, lcfs_node_s, to_int,
};
use crate::build;

/// Copies `path` into a malloc'ed C string the caller frees with free(3).
fn malloc_cstring(path: &[u8]) -> *mut c_char {
    // SAFETY: malloc with a non-zero size; NULL is checked before use.
    let p = unsafe { libc::malloc(path.len() + 1) } as *mut u8;
    if !p.is_null() {
        // SAFETY: p has room for path.len() + 1 bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(path.as_ptr(), p, path.len());
            *p.add(path.len()) = 0;
        }
    }
    p as *mut c_char
}

/// # Safety
/// `fname` must be NULL or a C string; `dirfd` an open directory or AT_FDCWD.
#[no_mangle]
pub unsafe extern "C" fn lcfs_load_node_from_file(
    dirfd: c_int,
    fname: *const c_char,
    buildflags: c_int,
) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    let r = unsafe { borrow_cstr(fname) }
        .and_then(|name| build::load_node_from_file(borrow_dirfd(dirfd)?, name, buildflags));
    match r {
        Ok(n) => give_node(n),
        Err(e) => fail_null(e),
    }
}

/// # Safety
/// `fname` NULL or a C string; `failed_path_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lcfs_build(
    dirfd: c_int,
    fname: *const c_char,
    buildflags: c_int,
    failed_path_out: *mut *mut c_char,
) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    let name = match unsafe { borrow_cstr(fname) } {
        Ok(n) => n,
        Err(e) => return fail_null(e),
    };
    let r = borrow_dirfd(dirfd)
        .map_err(|error| build::BuildError {
            error,
            failed_path: name.to_bytes().to_vec(),
        })
        .and_then(|fd| build::build(fd, name, buildflags));
    match r {
        Ok(n) => give_node(n),
        Err(e) => {
            if !failed_path_out.is_null() {
                // SAFETY: non-NULL and writable per the caller's contract.
                unsafe { *failed_path_out = malloc_cstring(&e.failed_path) };
            }
            fail_null(e.error)
        }
    }
}

/// # Safety
/// `node` NULL or live; `fname` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_from_content(
    node: *mut lcfs_node_s,
    dirfd: c_int,
    fname: *const c_char,
    buildflags: c_int,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let args = unsafe { borrow_node(node).and_then(|n| Ok((n, borrow_cstr(fname)?))) };
    match args {
        Ok((n, name)) => to_int(
            borrow_dirfd(dirfd).and_then(|fd| build::set_from_content(&n, fd, name, buildflags)),
        ),
        Err(e) => fail(e),
    }
}
