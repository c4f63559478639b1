//! listxattrat(2) (Linux 6.13): the size of a file's xattr name list,
//! addressed by directory fd and name, without opening the file.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// Its number; calls added since Linux 5.1 have the same number on every
/// architecture Rust supports.
const SYS_LISTXATTRAT: libc::c_long = 465;

/// Set once the kernel (or a seccomp filter) refused the call.
static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// Bytes in the xattr name list of `name` below `dirfd`, not following a
/// final symlink. None when the call is unavailable or fails: callers
/// then take their usual path, which reports errors as before.
pub fn list_size_at(dirfd: BorrowedFd<'_>, name: &CStr) -> Option<usize> {
    if UNAVAILABLE.load(Ordering::Relaxed) {
        return None;
    }
    // SAFETY: dirfd is a live descriptor and name a NUL-terminated string
    // for the duration of the call; a NULL list of size 0 only asks for
    // the size, so the kernel writes nothing.
    let r = unsafe {
        libc::syscall(
            SYS_LISTXATTRAT,
            dirfd.as_raw_fd(),
            name.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW as libc::c_uint,
            std::ptr::null_mut::<libc::c_char>(),
            0usize,
        )
    };
    if r >= 0 {
        return usize::try_from(r).ok();
    }
    let e = std::io::Error::last_os_error().raw_os_error();
    if e == Some(libc::ENOSYS) || e == Some(libc::EPERM) {
        UNAVAILABLE.store(true, Ordering::Relaxed);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{Mode, OFlags, CWD};
    use std::os::fd::AsFd;

    #[test]
    fn sizes_match_listxattr() {
        let dir = std::env::temp_dir().join(format!("cfs-xattrat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("plain");
        let tagged = dir.join("tagged");
        std::fs::write(&plain, b"x").unwrap();
        std::fs::write(&tagged, b"y").unwrap();
        let tagged_xattr =
            rustix::fs::setxattr(&tagged, c"user.k", b"v", rustix::fs::XattrFlags::empty()).is_ok();
        let dfd = rustix::fs::openat(CWD, &dir, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty())
            .unwrap();
        let got = |n: &CStr| list_size_at(dfd.as_fd(), n);
        // None: a kernel before 6.13 or a filter; callers fall back.
        if got(c"plain").is_some() {
            assert_eq!(
                got(c"plain"),
                Some(
                    crate::sys::xattr_size::list_size(
                        &std::ffi::CString::new(plain.to_str().unwrap()).unwrap()
                    )
                    .unwrap()
                )
            );
            if tagged_xattr {
                assert_eq!(got(c"tagged"), Some(b"user.k\0".len()));
            }
            assert_eq!(got(c"missing"), None);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
