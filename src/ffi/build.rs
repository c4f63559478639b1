//! Building trees from directories (lcfs-writer.h).

use std::ffi::{c_char, c_int, CStr};
use std::os::fd::BorrowedFd;

use super::{borrow_cstr, borrow_dirfd, borrow_node, fail, fail_null, give_node, lcfs_node_s};
use crate::build;
use crate::error::{Error, Result};

/// Borrows a file name argument. NULL is EFAULT, which is what C's first
/// *at() call reports for it.
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string valid for the call.
unsafe fn borrow_fname<'a>(p: *const c_char) -> Result<&'a CStr> {
    // SAFETY: forwarded from the caller.
    unsafe { borrow_cstr(p) }.map_err(|_| Error::Os(libc::EFAULT))
}

/// The directory fd an *at() call on `name` uses. The kernel ignores it
/// for absolute names, so C accepts any value there, even -1; so do we.
fn dirfd_for<'a>(dirfd: c_int, name: &CStr) -> Result<BorrowedFd<'a>> {
    if name.to_bytes().first() == Some(&b'/') {
        Ok(rustix::fs::CWD)
    } else {
        borrow_dirfd(dirfd)
    }
}

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
    let r = unsafe { borrow_fname(fname) }
        .and_then(|name| build::load_node_from_file(dirfd_for(dirfd, name)?, name, buildflags));
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
    let name = match unsafe { borrow_fname(fname) } {
        Ok(n) => n,
        Err(e) => return fail_null(e),
    };
    let r = dirfd_for(dirfd, name)
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
    let args = unsafe { borrow_node(node).and_then(|n| Ok((n, borrow_fname(fname)?))) };
    let r = args.and_then(|(n, name)| {
        build::set_from_content(&n, dirfd_for(dirfd, name)?, name, buildflags)
    });
    match r {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}
