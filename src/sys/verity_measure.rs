//! FS_IOC_MEASURE_VERITY, for checking an image's expected digest before
//! mounting it.

use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::io::Errno;

/// Largest digest the kernel can report (SHA-512).
pub const MAX_DIGEST_SIZE: usize = 64;

/// _IOWR('f', 134, struct fsverity_digest); the size encoded is that of
/// the fixed 4-byte head.
const FS_IOC_MEASURE_VERITY: u32 = 0xC004_6686;

/// `struct fsverity_digest` with room for the largest digest.
#[repr(C)]
struct DigestBuf {
    algorithm: u16,
    size: u16,
    digest: [u8; MAX_DIGEST_SIZE],
}

/// The kernel's fs-verity digest of `fd`: the digest bytes and their
/// count. Fails with the kernel's raw errno.
pub fn measure(fd: BorrowedFd<'_>) -> Result<([u8; MAX_DIGEST_SIZE], usize), Errno> {
    let mut buf = DigestBuf {
        algorithm: 0,
        size: MAX_DIGEST_SIZE as u16,
        digest: [0; MAX_DIGEST_SIZE],
    };
    // SAFETY: the kernel reads the head and writes at most `size` (64)
    // digest bytes right after it, which DigestBuf has room for.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            FS_IOC_MEASURE_VERITY as _,
            &mut buf as *mut DigestBuf,
        )
    };
    if r < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO));
    }
    Ok((buf.digest, usize::from(buf.size).min(MAX_DIGEST_SIZE)))
}
