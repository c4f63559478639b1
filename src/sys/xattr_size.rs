//! Sizes of a file's xattr name list and of one xattr value: listxattr(2)
//! and getxattr(2) with an empty buffer. rustix only has this from 1.1.6
//! (`*_query`), and Debian ships 1.1.5, whose listxattr/getxattr pass the
//! empty buffer through; libc behaves the same everywhere.

use std::ffi::CStr;

fn result(r: libc::ssize_t) -> rustix::io::Result<usize> {
    usize::try_from(r).map_err(|_| {
        rustix::io::Errno::from_raw_os_error(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    })
}

/// Bytes in the NUL-separated xattr name list of `path` (followed).
pub fn list_size(path: &CStr) -> rustix::io::Result<usize> {
    // SAFETY: path is NUL-terminated for the call; a NULL list of size 0
    // only asks for the size, so the kernel writes nothing.
    result(unsafe { libc::listxattr(path.as_ptr(), std::ptr::null_mut(), 0) })
}

/// Bytes in the value of xattr `key` of `path` (followed).
pub fn value_size(path: &CStr, key: &CStr) -> rustix::io::Result<usize> {
    // SAFETY: path and key are NUL-terminated for the call; a NULL value
    // of size 0 only asks for the size, so the kernel writes nothing.
    result(unsafe { libc::getxattr(path.as_ptr(), key.as_ptr(), std::ptr::null_mut(), 0) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_a_file_with_and_without_xattrs() {
        let dir = std::env::temp_dir().join(format!("cfs-xattr-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("f");
        std::fs::write(&f, b"x").unwrap();
        let p = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
        let before = list_size(&p).unwrap();
        if rustix::fs::setxattr(&f, c"user.k", b"val", rustix::fs::XattrFlags::empty()).is_ok() {
            assert_eq!(list_size(&p).unwrap(), before + b"user.k\0".len());
            assert_eq!(value_size(&p, c"user.k").unwrap(), 3);
        }
        assert_eq!(
            value_size(&p, c"user.absent").unwrap_err(),
            rustix::io::Errno::NODATA
        );
        let missing = std::ffi::CString::new(dir.join("missing").to_str().unwrap()).unwrap();
        assert_eq!(list_size(&missing).unwrap_err(), rustix::io::Errno::NOENT);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
