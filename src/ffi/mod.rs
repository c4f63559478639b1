//! The C ABI: thin shims that check pointers, convert types, set errno and
//! call the safe core. One file per concern of the public headers.
//!
//! Conventions (see the README): NULL where C would crash returns -1/NULL
//! with errno EINVAL; outputs are written only on success; every node
//! pointer handed to C came from `Arc::into_raw` or `Arc::as_ptr`, biased
//! by `C_MODE_OFFSET` (see there).

pub mod build;
pub mod fsverity;
pub mod image;
pub mod load;
pub mod mount;
pub mod node;

use std::ffi::{c_char, c_int, CStr};
use std::mem::ManuallyDrop;
use std::os::fd::BorrowedFd;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::node::{Node, NodeRef, C_MODE_FIELD};

/// The opaque node type of the C API.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct lcfs_node_s {
    _opaque: [u8; 0],
}

/// Sets errno for the calling thread.
pub(crate) fn set_errno(e: i32) {
    // SAFETY: __errno_location always returns this thread's valid errno slot.
    unsafe { *libc::__errno_location() = e }
}

/// Reports `e` through errno and returns C's -1.
pub(crate) fn fail(e: Error) -> c_int {
    set_errno(e.errno());
    -1
}

/// Reports `e` through errno and returns NULL.
pub(crate) fn fail_null<T>(e: Error) -> *mut T {
    set_errno(e.errno());
    std::ptr::null_mut()
}

/// 0 on success, else -1 with errno.
pub(crate) fn to_int(r: Result<()>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

/// Where C libcomposefs 1.0.8 keeps `inode.st_mode` inside its private
/// `struct lcfs_node_s`. Upstream's mkcomposefs (and so Debian's binary)
/// reads that field directly, so the pointers we give C are biased to put
/// our node's mode copy (`Node::c_mode`) at this offset. C only ever
/// dereferences that one field; every pointer it hands back is un-biased
/// here before use.
#[cfg(target_pointer_width = "64")]
pub(crate) const C_MODE_OFFSET: usize = 144;
#[cfg(target_pointer_width = "32")]
pub(crate) const C_MODE_OFFSET: usize = 88;

/// How far the C pointer lies past the start of the `Node`. Keeping it
/// non-negative keeps C's pointer inside the allocation (see `Node`).
const C_BIAS: usize = C_MODE_FIELD - C_MODE_OFFSET;
const _: () = assert!(C_MODE_FIELD >= C_MODE_OFFSET);

/// The C pointer for a node.
fn to_c(p: *const Node) -> *mut lcfs_node_s {
    p.wrapping_byte_add(C_BIAS) as *mut lcfs_node_s
}

/// Borrows the node behind a C pointer without touching its refcount.
///
/// # Safety
/// `p` must be NULL or a live node pointer this library handed out.
pub(crate) unsafe fn borrow_node(p: *mut lcfs_node_s) -> Result<ManuallyDrop<NodeRef>> {
    if p.is_null() {
        return Err(Error::InvalidArgument);
    }
    let node = (p as *const Node).wrapping_byte_sub(C_BIAS);
    // SAFETY: the caller guarantees `p` came from `to_c` of a live node, so
    // un-biasing gives back the pointer of Arc::into_raw/as_ptr (same
    // provenance); ManuallyDrop keeps the count unchanged.
    Ok(ManuallyDrop::new(unsafe { Arc::from_raw(node) }))
}

/// Hands a new reference to C.
pub(crate) fn give_node(n: NodeRef) -> *mut lcfs_node_s {
    to_c(Arc::into_raw(n))
}

/// A pointer to a node owned elsewhere (no new reference).
pub(crate) fn node_ptr(n: &NodeRef) -> *mut lcfs_node_s {
    to_c(Arc::as_ptr(n))
}

/// Borrows a NUL-terminated C string.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that stays valid
/// for the returned lifetime.
pub(crate) unsafe fn borrow_cstr<'a>(p: *const c_char) -> Result<&'a CStr> {
    if p.is_null() {
        return Err(Error::InvalidArgument);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    Ok(unsafe { CStr::from_ptr(p) })
}

/// Borrows `len` bytes at `p`; NULL is accepted only for an empty slice.
///
/// # Safety
/// `p` must be NULL or valid for `len` bytes for the returned lifetime.
pub(crate) unsafe fn borrow_bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8]> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::InvalidArgument)
        };
    }
    // SAFETY: non-NULL and valid for `len` bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Borrows a C file descriptor for one call. Negative values are EBADF,
/// which is what the first syscall on them would report in C.
pub(crate) fn borrow_fd<'a>(fd: c_int) -> Result<BorrowedFd<'a>> {
    if fd < 0 {
        return Err(Error::Os(libc::EBADF));
    }
    // SAFETY: fd is not -1 (BorrowedFd's niche) and the C caller keeps it
    // open for the duration of the call; a closed one makes syscalls fail
    // with EBADF, nothing worse.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Like `borrow_fd`, also accepting AT_FDCWD for *at() style calls.
pub(crate) fn borrow_dirfd<'a>(fd: c_int) -> Result<BorrowedFd<'a>> {
    if fd == libc::AT_FDCWD {
        Ok(rustix::fs::CWD)
    } else {
        borrow_fd(fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_pointer_lies_inside_the_node_and_round_trips() {
        let n = Node::new();
        let start = Arc::as_ptr(&n) as usize;
        let c = node_ptr(&n) as usize;
        assert!(c >= start && c < start + std::mem::size_of::<Node>());
        // The one field C reads is at C's offset from its pointer.
        assert_eq!(c + C_MODE_OFFSET, start + C_MODE_FIELD);
        // SAFETY: `c` came from node_ptr of the live node `n`.
        let back = unsafe { borrow_node(c as *mut lcfs_node_s) }.map(|b| Arc::as_ptr(&b));
        assert_eq!(back.ok(), Some(Arc::as_ptr(&n)));
    }
}
