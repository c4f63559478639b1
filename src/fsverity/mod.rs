//! fs-verity digests (SHA-256, 4 KiB blocks, no salt): computed in
//! userspace with [`FsVerityHasher`], or measured/enabled by the kernel.

mod hasher;
mod parallel;
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

/// One read(2), retried on EINTR.
fn read_fd(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize> {
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r.map_err(Error::from),
        }
    }
}

/// Digest of `fd` from its current offset to end of file (the offset is
/// left at EOF), on the calling thread only.
pub fn digest_from_fd(fd: BorrowedFd<'_>) -> Result<[u8; DIGEST_SIZE]> {
    let size = rustix::fs::fstat(fd).ok().map(|st| st.st_size as u64);
    digest_from_fd_sized(fd, size)
}

/// [`digest_from_fd`] for a file expected to hold about `size` bytes:
/// the read buffer is no larger than needed, which matters when hashing
/// many small files (a zeroed 256 KiB buffer costs more than hashing a
/// small file). Any size is still read to EOF.
pub fn digest_from_fd_sized(fd: BorrowedFd<'_>, size: Option<u64>) -> Result<[u8; DIGEST_SIZE]> {
    let want = size.map_or(FD_READ_SIZE as u64, |s| {
        // One byte more than the file, so the EOF read is not a second
        // full-sized one; rounded up to whole blocks.
        (s + 1).next_multiple_of(BLOCK_SIZE as u64)
    });
    let len = want.min(FD_READ_SIZE as u64) as usize;
    digest_from_reader(len, |buf| read_fd(fd, buf))
}

/// Files at least this large are hashed on several threads by
/// [`digest_from_fd_threaded`]; below, starting threads costs more than
/// it saves.
const THREADED_MIN: u64 = 4 << 20;
/// Hashing threads beyond this gain little: reading becomes the limit.
const THREADS_MAX: usize = 4;

/// [`digest_from_fd`] with the hashing spread over the available cores
/// when `fd` is a large regular file. Same reads, same result.
pub fn digest_from_fd_threaded(fd: BorrowedFd<'_>) -> Result<[u8; DIGEST_SIZE]> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let large = rustix::fs::fstat(fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
            && st.st_size as u64 >= THREADED_MIN
    });
    if cores < 2 || !large {
        return digest_from_fd(fd);
    }
    parallel::digest_from_fd(fd, cores.min(THREADS_MAX))
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

/// `lcfs_fd_get_fsverity`: the kernel's digest of `fd`, or where it has
/// none, the digest computed here from the whole file. As in C, a failed
/// rewind is its errno but a failed read is ENODATA.
pub fn measure_or_compute(fd: BorrowedFd<'_>) -> Result<[u8; DIGEST_SIZE]> {
    match measure_fd(fd) {
        Err(e) if is_unmeasurable(e) => {
            rewind_fd(fd)?;
            digest_from_fd_threaded(fd).map_err(|_| Error::NoData)
        }
        r => r,
    }
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
