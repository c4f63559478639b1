//! An output file that never holds a partial result: a regular file (or
//! a path that does not exist yet) is written under a temporary name in
//! its directory and renamed over the path on success; anything else (a
//! device such as /dev/full, a pipe, a terminal) is written directly, as
//! there is nothing to replace.
//!
//! Opening fails with the errno `fopen(path, "w")` would give, so callers
//! can report it as C does.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::error::{Error, Result};

pub struct OutFile {
    fd: OwnedFd,
    /// (temporary path, final path) when the file is replaced on commit.
    replace: Option<(CString, CString)>,
}

impl OutFile {
    pub fn open(path: &CStr) -> Result<OutFile> {
        let dest = match rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => {
                let st = rustix::fs::fstat(&fd)?;
                if st.st_mode & libc::S_IFMT != libc::S_IFREG {
                    return Ok(OutFile { fd, replace: None });
                }
                // A symlink (such as /proc/self/fd/N handed in by a
                // sandboxing caller) or a file with other hardlinks must
                // stay the same file: written in place, as C does.
                let is_link = rustix::fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW)
                    .map_or(true, |l| l.st_mode & libc::S_IFMT == libc::S_IFLNK);
                if is_link || st.st_nlink > 1 {
                    rustix::fs::ftruncate(&fd, 0)?;
                    return Ok(OutFile { fd, replace: None });
                }
                Some((st, fd))
            }
            Err(Errno::NOENT) => None,
            Err(e) => return Err(e.into()),
        };
        let target = path.to_owned();
        match create_temp(&target) {
            Ok((tmp, fd)) => {
                if let Some((st, _)) = &dest {
                    // The replacement keeps the old file's permissions and,
                    // where allowed, its owner (C truncates it in place).
                    let _ = rustix::fs::fchmod(&fd, Mode::from_raw_mode(st.st_mode & 0o7777));
                    let _ = rustix::fs::fchown(
                        &fd,
                        Some(rustix::fs::Uid::from_raw(st.st_uid)),
                        Some(rustix::fs::Gid::from_raw(st.st_gid)),
                    );
                }
                Ok(OutFile {
                    fd,
                    replace: Some((tmp, target)),
                })
            }
            Err(e) => match dest {
                // The file is writable but its directory is not: the only
                // way left is C's, truncating in place.
                Some((_, fd)) => {
                    rustix::fs::ftruncate(&fd, 0)?;
                    Ok(OutFile { fd, replace: None })
                }
                None => Err(e),
            },
        }
    }

    /// Standard output, written directly.
    pub fn stdout() -> Result<OutFile> {
        let fd = std::io::stdout().as_fd().try_clone_to_owned()?;
        Ok(OutFile { fd, replace: None })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Writes all of `data` (a write that takes nothing is ENOSPC, as C's
    /// `write_to_fd`).
    pub fn write_all(&self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            match rustix::io::write(&self.fd, data) {
                Ok(0) => return Err(Error::Os(libc::ENOSPC)),
                Ok(n) => data = &data[n..],
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Puts the finished file in place.
    pub fn commit(mut self) -> Result<()> {
        if let Some((tmp, dest)) = self.replace.take() {
            let r = rustix::fs::rename(tmp.as_c_str(), dest.as_c_str());
            if r.is_err() {
                let _ = rustix::fs::unlink(tmp.as_c_str());
            }
            r?;
        }
        Ok(())
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if let Some((tmp, _)) = &self.replace {
            let _ = rustix::fs::unlink(tmp.as_c_str());
        }
    }
}

/// A new file ".NAME.XXXXXX" beside `path`, created as fopen would (0666
/// minus the umask).
fn create_temp(path: &CStr) -> Result<(CString, OwnedFd)> {
    let p = path.to_bytes();
    let (dir, name) = match p.iter().rposition(|&b| b == b'/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => (&b""[..], p),
    };
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    for attempt in 0u32..100 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut t = dir.to_vec();
        t.push(b'.');
        // Long names would overflow NAME_MAX: keep the start of it.
        t.extend_from_slice(&name[..name.len().min(200)]);
        t.extend_from_slice(
            format!(".{:08x}", pid ^ nanos ^ attempt.wrapping_mul(0x9e37_79b9)).as_bytes(),
        );
        let t = CString::new(t).map_err(|_| Error::InvalidArgument)?;
        match rustix::fs::openat(
            CWD,
            t.as_c_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        ) {
            Ok(fd) => return Ok((t, fd)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::AlreadyExists)
}

/// Whether `path` names a symlink (for tests).
#[cfg(test)]
fn is_symlink(path: &CStr) -> bool {
    rustix::fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW)
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("lcfs-outfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
    fn c(p: &std::path::Path) -> CString {
        CString::new(p.to_str().unwrap()).unwrap()
    }

    #[test]
    fn replaced_only_on_commit() {
        let d = scratch("commit");
        let f = d.join("img");
        std::fs::write(&f, b"old").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let out = OutFile::open(&c(&f)).unwrap();
        out.write_all(b"new data").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"old");
        drop(out);
        // Dropped without commit: the old file stays, no temporary is left.
        assert_eq!(std::fs::read(&f).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        let out = OutFile::open(&c(&f)).unwrap();
        out.write_all(b"new").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // A new file, and a symlink to one: written in place.
        let g = d.join("new");
        let out = OutFile::open(&c(&g)).unwrap();
        out.write_all(b"x").unwrap();
        out.commit().unwrap();
        std::os::unix::fs::symlink(&g, d.join("link")).unwrap();
        let out = OutFile::open(&c(&d.join("link"))).unwrap();
        out.write_all(b"via link").unwrap();
        out.commit().unwrap();
        assert!(is_symlink(&c(&d.join("link"))));
        assert_eq!(std::fs::read(&g).unwrap(), b"via link");
        // A hardlinked output stays one file with its links.
        std::fs::hard_link(&g, d.join("hl")).unwrap();
        let out = OutFile::open(&c(&g)).unwrap();
        out.write_all(b"both").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(d.join("hl")).unwrap(), b"both");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn errors_as_fopen() {
        let d = scratch("errors");
        assert_eq!(
            OutFile::open(&c(&d.join("missing/img"))).err(),
            Some(Error::Os(libc::ENOENT))
        );
        assert_eq!(OutFile::open(&c(&d)).err(), Some(Error::Os(libc::EISDIR)));
        let full = OutFile::open(c"/dev/full").unwrap();
        assert_eq!(full.write_all(b"x"), Err(Error::Os(libc::ENOSPC)));
        full.commit().unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }
}
