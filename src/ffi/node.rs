//! Node functions of lcfs-writer.h.

use std::ffi::{c_char, c_int};
use std::ptr;

use super::{
    borrow_bytes, borrow_cstr, borrow_node, fail, fail_null, give_node, lcfs_node_s, node_ptr,
    set_errno, to_int,
};
use crate::error::Error;
use crate::node::{self, Node, NodeData, DIGEST_SIZE};

/// Runs `f` on the node's locked data, or reports EINVAL and returns
/// `default` when `p` is NULL.
///
/// # Safety
/// `p` must be NULL or a live node pointer.
unsafe fn with<T>(p: *mut lcfs_node_s, default: T, f: impl FnOnce(&mut NodeData) -> T) -> T {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow_node(p) } {
        Ok(n) => f(&mut n.lock()),
        Err(e) => {
            set_errno(e.errno());
            default
        }
    }
}

/// # Safety
/// Always safe to call.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_new() -> *mut lcfs_node_s {
    give_node(Node::new())
}

/// # Safety
/// `node` must be NULL or a live node pointer.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_ref(node: *mut lcfs_node_s) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow_node(node) } {
        Ok(n) => give_node((*n).clone()),
        Err(e) => fail_null(e),
    }
}

/// # Safety
/// `node` must be NULL or a node pointer the caller owns a reference to.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_unref(node: *mut lcfs_node_s) {
    // SAFETY: forwarded from the caller, who gives up one reference here.
    match unsafe { borrow_node(node) } {
        Ok(n) => drop(std::mem::ManuallyDrop::into_inner(n)),
        Err(e) => set_errno(e.errno()),
    }
}

/// # Safety
/// `node` must be NULL or a live node pointer.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_clone(node: *mut lcfs_node_s) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow_node(node) } {
        Ok(n) => give_node(node::clone_node(&n)),
        Err(e) => fail_null(e),
    }
}

/// # Safety
/// `node` must be NULL or a live node pointer.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_clone_deep(node: *mut lcfs_node_s) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    match unsafe { borrow_node(node) }.and_then(|n| node::clone_deep(&n)) {
        Ok(n) => give_node(n),
        Err(e) => fail_null(e),
    }
}

/// # Safety
/// `node` must be NULL or live; `name` NULL or a C string; `length` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_xattr(
    node: *mut lcfs_node_s,
    name: *const c_char,
    length: *mut usize,
) -> *const c_char {
    // SAFETY: forwarded from the caller.
    let name = match unsafe { borrow_cstr(name) } {
        Ok(n) => n,
        Err(e) => return fail_null(e),
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null(), |d| match d.xattrs.get(name.to_bytes()) {
            Some(x) => {
                if !length.is_null() {
                    // SAFETY: non-NULL and writable per the caller's contract.
                    *length = x.value().len();
                }
                x.value().as_ptr() as *const c_char
            }
            None => ptr::null(),
        })
    }
}

/// # Safety
/// `node` NULL or live; `name` NULL or a C string; `value` NULL or `value_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_xattr(
    node: *mut lcfs_node_s,
    name: *const c_char,
    value: *const c_char,
    value_len: usize,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let args =
        unsafe { borrow_cstr(name).and_then(|n| Ok((n, borrow_bytes(value.cast(), value_len)?))) };
    let (name, value) = match args {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    // SAFETY: forwarded from the caller.
    unsafe { with(node, -1, |d| to_int(d.set_xattr(name, value))) }
}

/// # Safety
/// `node` NULL or live; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_unset_xattr(
    node: *mut lcfs_node_s,
    name: *const c_char,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = match unsafe { borrow_cstr(name) } {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    // SAFETY: forwarded from the caller.
    unsafe { with(node, -1, |d| to_int(d.xattrs.unset(name.to_bytes()))) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_n_xattr(node: *mut lcfs_node_s) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| d.xattrs.len()) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_xattr_name(
    node: *mut lcfs_node_s,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null(), |d| {
            d.xattrs
                .get_index(index)
                .map_or(ptr::null(), |x| x.key().as_ptr())
        })
    }
}

/// # Safety
/// `node` NULL or live; `payload` NULL (clears) or a C string.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_payload(
    node: *mut lcfs_node_s,
    payload: *const c_char,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let payload = unsafe { borrow_cstr(payload) }.ok();
    // SAFETY: forwarded from the caller.
    unsafe { with(node, -1, |d| to_int(d.set_payload(payload))) }
}

/// # Safety
/// `node` NULL or live; `payload` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_symlink_payload(
    node: *mut lcfs_node_s,
    payload: *const c_char,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let payload = match unsafe { borrow_cstr(payload) } {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    // SAFETY: forwarded from the caller.
    unsafe { with(node, -1, |d| to_int(d.set_symlink_payload(payload))) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_payload(node: *mut lcfs_node_s) -> *const c_char {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null(), |d| {
            d.payload().map_or(ptr::null(), |p| p.as_ptr())
        })
    }
}

/// # Safety
/// `node` NULL or live; `data` NULL or valid for `data_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_content(
    node: *mut lcfs_node_s,
    data: *const u8,
    data_size: usize,
) -> c_int {
    let data = if data.is_null() {
        None
    } else {
        // SAFETY: non-NULL and valid for `data_size` bytes per the caller.
        Some(unsafe { std::slice::from_raw_parts(data, data_size) })
    };
    // SAFETY: forwarded from the caller.
    unsafe { with(node, -1, |d| to_int(d.set_content(data, data_size))) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_content(node: *mut lcfs_node_s) -> *const u8 {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null(), |d| {
            d.content().map_or(ptr::null(), <[u8]>::as_ptr)
        })
    }
}

/// # Safety
/// `node` NULL or live; `name` NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_lookup_child(
    node: *mut lcfs_node_s,
    name: *const c_char,
) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    let name = match unsafe { borrow_cstr(name) } {
        Ok(n) => n,
        Err(e) => return fail_null(e),
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null_mut(), |d| {
            d.lookup_child(name.to_bytes())
                .map_or(ptr::null_mut(), |c| node_ptr(&c))
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_parent(node: *mut lcfs_node_s) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null_mut(), |d| {
            d.parent().map_or(ptr::null_mut(), |p| node_ptr(&p))
        })
    }
}

/// # Safety
/// `parent` and `child` NULL or live; `name` NULL or a C string. On success
/// the caller's reference to `child` passes to the tree.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_add_child(
    parent: *mut lcfs_node_s,
    child: *mut lcfs_node_s,
    name: *const c_char,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let args = unsafe {
        borrow_node(parent).and_then(|p| Ok((p, borrow_node(child)?, borrow_cstr(name)?)))
    };
    let (parent, child, name) = match args {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    match node::add_child(&parent, &child, name) {
        // The tree took its own reference; release the one the caller gave us.
        Ok(()) => {
            drop(std::mem::ManuallyDrop::into_inner(child));
            0
        }
        Err(e) => fail(e),
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_name(node: *mut lcfs_node_s) -> *const c_char {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null(), |d| {
            d.name().map_or(ptr::null(), |n| n.as_ptr())
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_n_children(node: *mut lcfs_node_s) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| d.children().len()) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_child(node: *mut lcfs_node_s, i: usize) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null_mut(), |d| {
            d.children().get(i).map_or(ptr::null_mut(), node_ptr)
        })
    }
}

/// # Safety
/// `node` and `target` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_make_hardlink(node: *mut lcfs_node_s, target: *mut lcfs_node_s) {
    // SAFETY: forwarded from the caller.
    let r = unsafe { borrow_node(node).and_then(|n| Ok((n, borrow_node(target)?))) }
        .and_then(|(n, t)| node::make_hardlink(&n, &t));
    if let Err(e) = r {
        set_errno(e.errno());
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_hardlink_target(node: *mut lcfs_node_s) -> *mut lcfs_node_s {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null_mut(), |d| {
            d.link_to().map_or(ptr::null_mut(), node_ptr)
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_dirp(node: *mut lcfs_node_s) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, false, |d| d.is_dir()) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_try_set_mode(node: *mut lcfs_node_s, mode: u32) -> c_int {
    if let Err(e) = node::validate_mode(mode) {
        return fail(e);
    }
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, -1, |d| {
            d.inode.mode = mode;
            0
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_mode(node: *mut lcfs_node_s) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| d.inode.mode) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_mode(node: *mut lcfs_node_s, value: u32) {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, (), |d| {
            d.inode.mode = value;
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_uid(node: *mut lcfs_node_s) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| d.inode.uid) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_uid(node: *mut lcfs_node_s, value: u32) {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, (), |d| {
            d.inode.uid = value;
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_gid(node: *mut lcfs_node_s) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| d.inode.gid) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_gid(node: *mut lcfs_node_s, value: u32) {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, (), |d| {
            d.inode.gid = value;
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_rdev(node: *mut lcfs_node_s) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| d.inode.rdev) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_rdev(node: *mut lcfs_node_s, value: u32) {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, (), |d| {
            d.inode.rdev = value;
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_rdev64(node: *mut lcfs_node_s) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| u64::from(d.inode.rdev)) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_rdev64(node: *mut lcfs_node_s, value: u64) {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, (), |d| {
            // C stores rdev in 32 bits: the high half is dropped.
            d.inode.rdev = value as u32;
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_nlink(node: *mut lcfs_node_s) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| d.inode.nlink) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_nlink(node: *mut lcfs_node_s, value: u32) {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, (), |d| {
            d.inode.nlink = value;
        })
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_size(node: *mut lcfs_node_s) -> u64 {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, 0, |d| d.inode.size) }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_size(node: *mut lcfs_node_s, size: u64) {
    // SAFETY: forwarded from the caller.
    unsafe { with(node, (), |d| d.set_size(size)) }
}

/// # Safety
/// `node` NULL or live; `time` NULL or a valid timespec.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_mtime(node: *mut lcfs_node_s, time: *mut libc::timespec) {
    if time.is_null() {
        set_errno(Error::InvalidArgument.errno());
        return;
    }
    // SAFETY: non-NULL and valid per the caller's contract.
    let t = unsafe { *time };
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, (), |d| {
            d.inode.mtime_sec = t.tv_sec;
            d.inode.mtime_nsec = t.tv_nsec as u32;
        })
    }
}

/// # Safety
/// `node` NULL or live; `time` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_mtime(node: *mut lcfs_node_s, time: *mut libc::timespec) {
    if time.is_null() {
        set_errno(Error::InvalidArgument.errno());
        return;
    }
    // SAFETY: forwarded from the caller.
    let t = unsafe {
        with(node, None, |d| {
            Some((d.inode.mtime_sec, d.inode.mtime_nsec))
        })
    };
    if let Some((sec, nsec)) = t {
        // SAFETY: non-NULL and writable per the caller's contract.
        unsafe {
            (*time).tv_sec = sec;
            (*time).tv_nsec = nsec as _;
        }
    }
}

/// # Safety
/// `node` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_get_fsverity_digest(node: *mut lcfs_node_s) -> *const u8 {
    // SAFETY: forwarded from the caller.
    unsafe {
        with(node, ptr::null(), |d| {
            d.digest().map_or(ptr::null(), |x| x.as_ptr())
        })
    }
}

/// # Safety
/// `node` NULL or live; `digest` NULL or 32 readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lcfs_node_set_fsverity_digest(node: *mut lcfs_node_s, digest: *mut u8) {
    if digest.is_null() {
        set_errno(Error::InvalidArgument.errno());
        return;
    }
    // SAFETY: non-NULL and 32 bytes readable per the caller's contract.
    let digest = unsafe { &*(digest as *const [u8; DIGEST_SIZE]) };
    // SAFETY: forwarded from the caller.
    unsafe { with(node, (), |d| d.set_digest(digest)) }
}
