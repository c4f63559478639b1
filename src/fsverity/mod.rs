//! fs-verity digests (SHA-256, 4 KiB blocks, no salt): computed in
//! userspace with [`FsVerityHasher`], or measured/enabled by the kernel.

mod hasher;
#[cfg(test)]
mod tests;

use std::os::fd::BorrowedFd;

use crate::error::{Error, Result};
use crate::sys::verity;

pub use hasher::FsVerityHasher;

/// Merkle tree block size (also the read size C used for callbacks).
pub const BLOCK_SIZE: usize = 4096;
/// Length of a SHA-256 fs-verity digest.
pub const DIGEST_SIZE: usize = 32;

/// Read size for file descriptors: large reads amortise the syscall cost.
const FD_READ_SIZE: usize = 256 * 1024;

/// Digest of an in-memory file.
pub fn digest(data: &[u8]) -> [u8; DIGEST_SIZE] {
    let mut h = FsVerityHasher::new();
    h.update(data);
    h.finish()
}

/// Digest of everything `read` produces until it returns 0, reading into a
/// `buf_len`-byte buffer. `read` must return how many bytes it stored.
pub fn digest_from_reader<F>(buf_len: usize, mut read: F) -> Result<[u8; DIGEST_SIZE]>
where
    F: FnMut(&mut [u8]) -> Result<usize>,
{
    let mut buf = vec![0u8; buf_len];
    let mut h = FsVerityHasher::new();
    loop {
        let n = read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        match buf.get(..n) {
            Some(chunk) => h.update(chunk),
            None => return Err(Error::InvalidArgument),
        }
    }
}

/// Digest of `fd` from its current offset to end of file (the offset is
/// left at EOF).
pub fn digest_from_fd(fd: BorrowedFd<'_>) -> Result<[u8; DIGEST_SIZE]> {
    digest_from_reader(FD_READ_SIZE, |buf| loop {
        match rustix::io::read(fd, &mut *buf) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r.map_err(Error::from),
        }
    })
}

/// The kernel's fs-verity digest of `fd`. "Verity not enabled" and
/// "not supported" (ENODATA, EOPNOTSUPP, ENOTTY) all come out as ENOTTY;
/// a non-SHA-256-sized digest is EILSEQ.
pub fn measure_fd(fd: BorrowedFd<'_>) -> Result<[u8; DIGEST_SIZE]> {
    match verity::measure(fd) {
        Ok(m) if m.size == DIGEST_SIZE => {
            let mut out = [0; DIGEST_SIZE];
            out.copy_from_slice(&m.digest[..DIGEST_SIZE]);
            Ok(out)
        }
        Ok(_) => Err(Error::Os(libc::EILSEQ)),
        Err(e) if is_no_verity(e) => Err(Error::Os(libc::ENOTTY)),
        Err(e) => Err(e.into()),
    }
}

fn is_no_verity(e: rustix::io::Errno) -> bool {
    use rustix::io::Errno;
    e == Errno::NODATA || e == Errno::OPNOTSUPP || e == Errno::NOTTY
}

/// Whether a [`measure_fd`] error means the digest must be computed in
/// userspace instead.
pub fn is_unmeasurable(e: Error) -> bool {
    e.errno() == libc::ENOTTY
}

/// Enables fs-verity on `fd` with this module's parameters (SHA-256, 4 KiB
/// blocks, no salt, no signature). Errors are the kernel's, unchanged.
pub fn enable_fd(fd: BorrowedFd<'_>) -> Result<()> {
    verity::enable(fd, verity::HASH_ALG_SHA256, BLOCK_SIZE as u32).map_err(Error::from)
}

/// Moves `fd` back to offset 0 so a computed digest covers the whole file.
pub fn rewind_fd(fd: BorrowedFd<'_>) -> Result<()> {
    rustix::fs::seek(fd, rustix::fs::SeekFrom::Start(0))?;
    Ok(())
}
