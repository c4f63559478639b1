//! Objects written under a temporary name (".tmpXXXXXX", as C's
//! mkostemp) beside their final name, renamed into place once durable and
//! removed if never published. (C writes them in the store's top
//! directory, one at a time; many at once there would leave it a large
//! directory for good.)

use std::ffi::{CStr, CString};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::build::digests::join_c_path;
use crate::error::{Error, Result};

pub(super) struct TempObject {
    path: CString,
    dest: CString,
    fd: Option<OwnedFd>,
    published: bool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Six characters from [A-Za-z0-9], different on every call in a process
/// and unlikely to repeat across processes.
fn suffix(attempt: u64) -> [u8; 6] {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = now
        ^ (u64::from(rustix::process::getpid().as_raw_nonzero().get() as u32) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ attempt;
    let mut out = [0u8; 6];
    for c in out.iter_mut() {
        // xorshift keeps the bits moving between characters.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *c = CHARS[(x % CHARS.len() as u64) as usize];
    }
    out
}

impl TempObject {
    /// A new empty file (mode 0600) in the directory of `dest`.
    pub fn create(dest: CString) -> Result<TempObject> {
        let d = dest.as_bytes();
        let dir = &d[..d.iter().rposition(|&b| b == b'/').unwrap_or(0)];
        for attempt in 0..100 {
            let mut name = b".tmp".to_vec();
            name.extend_from_slice(&suffix(attempt));
            let path = CString::new(join_c_path(dir, &name)).map_err(|_| Error::InvalidArgument)?;
            match rustix::fs::openat(
                CWD,
                path.as_c_str(),
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => {
                    return Ok(TempObject {
                        path,
                        dest,
                        fd: Some(fd),
                        published: false,
                    })
                }
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::AlreadyExists)
    }

    pub fn fd(&self) -> Result<BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.fd
            .as_ref()
            .map(|f| f.as_fd())
            .ok_or(Error::Os(libc::EBADF))
    }

    pub fn close_writer(&mut self) {
        self.fd = None;
    }

    pub fn path(&self) -> &CStr {
        &self.path
    }

    /// Renames the object into place.
    pub fn publish(&mut self) -> Result<()> {
        rustix::fs::rename(self.path.as_c_str(), self.dest.as_c_str())?;
        self.published = true;
        Ok(())
    }
}

impl Drop for TempObject {
    fn drop(&mut self) {
        if !self.published {
            let _ = rustix::fs::unlink(self.path.as_c_str());
        }
    }
}
