//! Reading a file's xattrs the way C does: through an O_PATH descriptor
//! and its /proc/self/fd path, in listxattr order (skipped for files the
//! kernel says have none).

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::fs::{Mode, OFlags};

use crate::error::{Error, Result};
use crate::node::NodeRef;

pub(crate) fn read_into(
    node: &NodeRef,
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    user_only: bool,
) -> Result<()> {
    // Most files have no xattrs; where the kernel can tell without an
    // open and a /proc path walk, that is all there is to do. Anything
    // else (xattrs present, old kernel, an error) takes C's way below.
    if crate::sys::xattrat::list_size_at(dirfd, name) == Some(0) {
        return Ok(());
    }
    let fd = rustix::fs::openat(
        dirfd,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|_| Error::InvalidArgument)?;
    let names = list(&path)?;
    for key in names.split(|b| *b == 0).filter(|k| !k.is_empty()) {
        if user_only && !key.starts_with(b"user.") {
            continue;
        }
        let key = CString::new(key).map_err(|_| Error::InvalidArgument)?;
        let value = get(&path, &key)?;
        node.lock().set_xattr(&key, &value)?;
    }
    Ok(())
}

/// The NUL-separated name list; retried if it grows between the calls.
fn list(path: &CStr) -> Result<Vec<u8>> {
    loop {
        let len = crate::sys::xattr_size::list_size(path)?;
        let mut buf = vec![0u8; len];
        match rustix::fs::listxattr(path, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn get(path: &CStr, key: &CStr) -> Result<Vec<u8>> {
    loop {
        let len = crate::sys::xattr_size::value_size(path, key)?;
        let mut buf = vec![0u8; len];
        match rustix::fs::getxattr(path, key, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
