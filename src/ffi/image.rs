//! Writing EROFS images (lcfs_write_to) and the option structs of lcfs-writer.h.

use std::ffi::{c_char, c_int, c_void};

use super::{borrow_node, fail, lcfs_node_s, set_errno};
use crate::erofs::write::{self, WriteFn, WriteOptions};
use crate::error::{Error, Result};

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

/// Reads the calling thread's errno.
fn errno() -> i32 {
    // SAFETY: __errno_location always returns this thread's valid errno slot.
    unsafe { *libc::__errno_location() }
}

/// Serialises the tree at `root` as C's `lcfs_write_to` does. The options'
/// `version` and `max_version` are updated in place (also on failure, as
/// C does); `digest_out` is written only on success.
///
/// # Safety
/// `root` must be NULL or a live node pointer; `options` NULL or a valid
/// options struct whose `digest_out` (if set) has room for 32 bytes and
/// whose callback (if set) may be called with `file`.
#[no_mangle]
pub unsafe extern "C" fn lcfs_write_to(
    root: *mut lcfs_node_s,
    options: *mut lcfs_write_options_s,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let root = match unsafe { borrow_node(root) } {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if options.is_null() {
        return fail(Error::InvalidArgument);
    }
    // SAFETY: non-NULL and valid per the caller's contract; the reference
    // ends before this function returns.
    let o = unsafe { &mut *options };
    let mut opts = WriteOptions {
        format: o.format,
        version: o.version,
        max_version: o.max_version,
        flags: o.flags,
    };
    let (file, cb) = (o.file, o.file_write_cb);
    let mut call = |mut data: &[u8]| -> Result<()> {
        let Some(f) = cb else { return Ok(()) };
        while !data.is_empty() {
            set_errno(libc::EIO);
            // SAFETY: the callback and its file come from the caller, who
            // promises they accept `count` readable bytes at `buf`.
            let r = unsafe { f(file, data.as_ptr() as *mut c_void, data.len()) };
            if r <= 0 {
                return Err(Error::from_errno(errno()));
            }
            data = data.get(r as usize..).unwrap_or_default();
        }
        Ok(())
    };
    let out: Option<&mut WriteFn<'_>> = if cb.is_some() { Some(&mut call) } else { None };
    let want_digest = !o.digest_out.is_null();
    let r = write::write_to(&root, &mut opts, out, want_digest);
    o.version = opts.version;
    o.max_version = opts.max_version;
    match r {
        Ok(digest) => {
            if let Some(d) = digest {
                // SAFETY: digest_out is non-NULL (digest was asked for) and
                // has room for 32 bytes per the caller's contract.
                unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), o.digest_out, d.len()) };
            }
            0
        }
        Err(e) => fail(e),
    }
}
