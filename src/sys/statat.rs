//! `fstatat(2)` on a raw directory descriptor number, for the one tool
//! path that, like C, uses whatever descriptor number it holds (possibly
//! 0, stdin) as the directory.

use std::ffi::CStr;
use std::os::fd::RawFd;

/// Whether `fstatat(dirfd, path, AT_EMPTY_PATH)` succeeds.
pub fn exists_at(dirfd: RawFd, path: &CStr) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: path is NUL-terminated and st a valid out-pointer; a bad
    // dirfd only makes the call fail (EBADF, ENOTDIR).
    unsafe { libc::fstatat(dirfd, path.as_ptr(), st.as_mut_ptr(), libc::AT_EMPTY_PATH) == 0 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_to_a_directory() {
        let dir = std::fs::File::open("/").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&dir);
        assert!(super::exists_at(fd, c"proc"));
        assert!(super::exists_at(fd, c""));
        assert!(!super::exists_at(fd, c"no-such-entry-here"));
        assert!(!super::exists_at(-1, c"proc"));
    }
}
