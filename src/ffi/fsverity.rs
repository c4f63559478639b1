//! fs-verity functions of lcfs-writer.h.
//!
//! errno conventions follow C libcomposefs: the compute functions return -1
//! and report any read failure as ENODATA; the kernel-facing ones return
//! -errno and also leave errno set. Digests are written only on success.

use std::ffi::{c_int, c_void};

use super::{borrow_bytes, borrow_fd, borrow_node, fail, lcfs_node_s, set_errno};
use crate::error::{Error, Result};
use crate::fsverity::{self, BLOCK_SIZE, DIGEST_SIZE};

/// C's read callback type (`lcfs_read_cb`).
pub type ReadCb = Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> isize>;

/// Copies a digest to C's output buffer.
///
/// # Safety
/// `out` must be valid for writing DIGEST_SIZE bytes.
unsafe fn put_digest(out: *mut u8, d: &[u8; DIGEST_SIZE]) {
    // SAFETY: the caller guarantees room for DIGEST_SIZE bytes; `d` is a
    // separate Rust array, so the ranges cannot overlap.
    unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), out, DIGEST_SIZE) }
}

/// Runs C's read callback to EOF in 4 KiB reads.
///
/// # Safety
/// `cb` must be safe to call with `file` and a writable buffer.
unsafe fn digest_from_callback(file: *mut c_void, cb: ReadCb) -> Result<[u8; DIGEST_SIZE]> {
    let cb = cb.ok_or(Error::InvalidArgument)?;
    fsverity::digest_from_reader(BLOCK_SIZE, |buf| {
        // SAFETY: buf is a live, writable buffer of buf.len() bytes; `file`
        // is passed through untouched as the caller's callback expects.
        let n = unsafe { cb(file, buf.as_mut_ptr().cast(), buf.len()) };
        // Any failure of the callback is ENODATA in C; so is one that
        // claims to have read more than it was given room for.
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= buf.len())
            .ok_or(Error::NoData)
    })
}

/// Userspace digest of `fd` from its offset to EOF; read errors are ENODATA.
fn digest_from_fd(fd: c_int) -> Result<[u8; DIGEST_SIZE]> {
    let fd = borrow_fd(fd).map_err(|_| Error::NoData)?;
    fsverity::digest_from_fd_threaded(fd).map_err(|_| Error::NoData)
}

/// Returns C's -errno after setting errno to the same value.
fn neg_errno(e: Error) -> c_int {
    set_errno(e.errno());
    -e.errno()
}

/// # Safety
/// `digest` must be NULL or have room for 32 bytes; `read_cb` must be safe
/// to call with `file`.
#[no_mangle]
pub unsafe extern "C" fn lcfs_compute_fsverity_from_content(
    digest: *mut u8,
    file: *mut c_void,
    read_cb: ReadCb,
) -> c_int {
    if digest.is_null() {
        return fail(Error::InvalidArgument);
    }
    // SAFETY: forwarded caller contract.
    match unsafe { digest_from_callback(file, read_cb) } {
        // SAFETY: digest is non-NULL with room for 32 bytes.
        Ok(d) => unsafe {
            put_digest(digest, &d);
            0
        },
        Err(e) => fail(e),
    }
}

/// # Safety
/// `digest` must be NULL or have room for 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn lcfs_compute_fsverity_from_fd(digest: *mut u8, fd: c_int) -> c_int {
    if digest.is_null() {
        return fail(Error::InvalidArgument);
    }
    match digest_from_fd(fd) {
        // SAFETY: digest is non-NULL with room for 32 bytes.
        Ok(d) => unsafe {
            put_digest(digest, &d);
            0
        },
        Err(e) => fail(e),
    }
}

/// # Safety
/// `digest` must be NULL or have room for 32 bytes; `data` must be NULL
/// (only with `data_len` 0) or valid for `data_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lcfs_compute_fsverity_from_data(
    digest: *mut u8,
    data: *mut u8,
    data_len: usize,
) -> c_int {
    if digest.is_null() {
        return fail(Error::InvalidArgument);
    }
    // SAFETY: forwarded caller contract for data/data_len.
    let data = match unsafe { borrow_bytes(data, data_len) } {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let d = fsverity::digest(data);
    // SAFETY: digest is non-NULL with room for 32 bytes. It may alias
    // `data`, which is no longer read.
    unsafe { put_digest(digest, &d) };
    0
}

/// # Safety
/// `digest` must be NULL or have room for 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn lcfs_fd_measure_fsverity(digest: *mut u8, fd: c_int) -> c_int {
    if digest.is_null() {
        return neg_errno(Error::InvalidArgument);
    }
    let r = borrow_fd(fd).and_then(fsverity::measure_fd);
    match r {
        // SAFETY: digest is non-NULL with room for 32 bytes.
        Ok(d) => unsafe {
            put_digest(digest, &d);
            0
        },
        Err(e) => neg_errno(e),
    }
}

/// # Safety
/// `digest` must be NULL or have room for 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn lcfs_fd_get_fsverity(digest: *mut u8, fd: c_int) -> c_int {
    if digest.is_null() {
        return neg_errno(Error::InvalidArgument);
    }
    let bfd = match borrow_fd(fd) {
        Ok(b) => b,
        Err(e) => return neg_errno(e),
    };
    let d = match fsverity::measure_or_compute(bfd) {
        Ok(d) => d,
        // C sets errno to ENODATA for a failed read but returns -1.
        Err(Error::NoData) => return fail(Error::NoData),
        Err(e) => return neg_errno(e),
    };
    // SAFETY: digest is non-NULL with room for 32 bytes.
    unsafe { put_digest(digest, &d) };
    0
}

/// # Safety
/// No pointer arguments; any fd value is accepted.
#[no_mangle]
pub unsafe extern "C" fn lcfs_fd_enable_fsverity(fd: c_int) -> c_int {
    match borrow_fd(fd).and_then(fsverity::enable_fd) {
        Ok(()) => 0,
        Err(e) => neg_errno(e),
    }
}

/// # Safety
/// `node` must be NULL or a live node; `read_cb` must be safe to call with
/// `file`.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_fsverity_from_content(
    node: *mut lcfs_node_s,
    file: *mut c_void,
    read_cb: ReadCb,
) -> c_int {
    // SAFETY: forwarded caller contract.
    let node = match unsafe { borrow_node(node) } {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    // SAFETY: forwarded caller contract.
    match unsafe { digest_from_callback(file, read_cb) } {
        Ok(d) => {
            node.lock().set_digest(&d);
            0
        }
        Err(e) => fail(e),
    }
}

/// # Safety
/// `node` must be NULL or a live node.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_fsverity_from_fd(
    node: *mut lcfs_node_s,
    fd: c_int,
) -> c_int {
    // SAFETY: forwarded caller contract.
    let node = match unsafe { borrow_node(node) } {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    match digest_from_fd(fd) {
        Ok(d) => {
            node.lock().set_digest(&d);
            0
        }
        Err(e) => fail(e),
    }
}
