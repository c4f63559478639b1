//! Process-level settings and libc text the tools need to behave like C
//! programs.

use std::ffi::CStr;

/// Restores the default SIGPIPE action, which the Rust runtime sets to
/// ignore: a C tool writing into a closed pipe dies of SIGPIPE, and
/// scripts see that status.
pub fn default_sigpipe() {
    // SAFETY: signal(2) with SIG_DFL installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// glibc's message for `errno` (the text `err(3)` and `perror(3)` print).
pub fn strerror(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the GNU strerror_r is not what the libc crate binds; the XSI
    // one it binds writes a NUL-terminated message into buf (truncated to
    // its length) and returns 0 or an error number.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: on success buf holds a NUL-terminated string.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Whether `fd` is a terminal.
pub fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strerror_is_glibcs_text() {
        assert_eq!(super::strerror(libc::ENOENT), "No such file or directory");
        assert_eq!(
            super::strerror(libc::EILSEQ),
            "Invalid or incomplete multibyte or wide character"
        );
        assert_eq!(super::strerror(100000), "Unknown error 100000");
    }
}
