//! Copying an object's data: a reflink where the filesystem shares
//! blocks, else copy_file_range(2), else plain reads and writes (C's
//! order and fallbacks).

use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::io::Errno;

use crate::error::{Error, Result};

/// Cleared for the rest of the run once copy_file_range says it cannot
/// work at all here (ENOSYS, EXDEV), as in C.
static RANGE_USABLE: AtomicBool = AtomicBool::new(true);

pub(super) fn copy_data(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<()> {
    if rustix::fs::ioctl_ficlone(dst, src).is_ok() {
        return Ok(());
    }
    if RANGE_USABLE.load(Ordering::Relaxed) {
        match copy_range(src, dst) {
            Ok(()) => return Ok(()),
            Err(Errno::NOSYS | Errno::XDEV) => RANGE_USABLE.store(false, Ordering::Relaxed),
            // Not for this pair of files; the next may work.
            Err(Errno::OPNOTSUPP | Errno::PERM | Errno::INVAL | Errno::BADF) => {}
            Err(e) => return Err(e.into()),
        }
        // Start over: copy_file_range may have written part of it.
        rustix::fs::ftruncate(dst, 0)?;
        rustix::fs::seek(dst, rustix::fs::SeekFrom::Start(0))?;
        rustix::fs::seek(src, rustix::fs::SeekFrom::Start(0))?;
    }
    copy_plain(src, dst)
}

fn copy_range(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> std::result::Result<(), Errno> {
    let mut left = rustix::fs::fstat(src)?.st_size as u64;
    while left > 0 {
        let chunk = left.min(1 << 30) as usize;
        match rustix::fs::copy_file_range(src, None, dst, None, chunk) {
            // Some filesystems report size 0 with data (procfs) or copy
            // nothing (older overlayfs): C treats it as EINVAL, and copies
            // by hand.
            Ok(0) => return Err(Errno::INVAL),
            Ok(n) => left -= n as u64,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn copy_plain(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<()> {
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        let n = match rustix::io::read(src, &mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut done = 0;
        while done < n {
            match rustix::io::write(dst, &buf[done..n]) {
                // A write that takes nothing would loop forever.
                Ok(0) => return Err(Error::Os(libc::ENOSPC)),
                Ok(w) => done += w,
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
pub(super) fn copy_plain_for_test(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<()> {
    copy_plain(src, dst)
}
