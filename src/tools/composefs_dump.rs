//! `composefs-dump SRC DEST`: loads an image and writes it out again at
//! the source's format version, with C 1.0.8's messages and statuses.
//!
//! Stricter than C: a regular output file is written under a temporary
//! name and renamed into place only when complete, so a failed run never
//! leaves a partial image at DEST (C truncates DEST first and leaves what
//! it wrote); a write error that C only meets when closing the file (and
//! ignores, exiting 0) is reported.

use std::ffi::{CString, OsString};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::composefs_info::{put_err, put_err_errno};
use super::ExitCode;
use crate::erofs::read::{load_fd, version_from_fd};
use crate::erofs::write::{write_to, WriteOptions, FORMAT_EROFS};
use crate::error::{Error, Result};

fn usage(argv0: &[u8]) {
    put_err(&[b"usage: ", argv0, b" SRC DEST\n"]);
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    let name = super::short_name(&args);
    let argv0 = args.first().map(|a| a.as_bytes()).unwrap_or_default();
    // No option parsing: C takes argv[1] and argv[2] as they are and
    // ignores anything after them.
    let Some(src) = args.get(1).map(|a| a.as_bytes()) else {
        put_err(&[b"No source path specified\n"]);
        usage(argv0);
        return 1;
    };
    let Some(dst) = args.get(2).map(|a| a.as_bytes()) else {
        put_err(&[b"No destination path specified\n"]);
        usage(argv0);
        return 1;
    };

    let fd = match rustix::fs::open(src, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            put_err_errno(&name, &[b"Failed to open '", src, b"'"], e.raw_os_error());
            return 1;
        }
    };
    let version = match version_from_fd(fd.as_raw_fd()) {
        Ok(v) => v,
        Err(e) => {
            put_err_errno(
                &name,
                &[b"Failed to get image version '", src, b"'"],
                e.errno(),
            );
            return 1;
        }
    };
    let root = match load_fd(fd.as_raw_fd(), None) {
        Ok(r) => r,
        Err(e) => {
            put_err_errno(&name, &[b"Failed to load '", src, b"'"], e.errno());
            return 1;
        }
    };
    drop(fd);

    let mut out = match Output::open(dst) {
        Ok(o) => o,
        Err(e) => {
            put_err_errno(&name, &[b"failed to open '", dst, b"'"], e.errno());
            return 1;
        }
    };
    let mut opts = WriteOptions {
        format: FORMAT_EROFS,
        version,
        ..WriteOptions::default()
    };
    let written = {
        let file = &mut out.file;
        let mut sink = |buf: &[u8]| -> Result<()> { file.write_all(buf).map_err(Error::from) };
        write_to(&root, &mut opts, Some(&mut sink), false)
            .map(|_| ())
            .and_then(|()| out.finish())
    };
    if let Err(e) = written {
        put_err_errno(&name, &[b"cannot write file"], e.errno());
        return 1;
    }
    0
}

/// Where the image goes: a temporary file beside a regular (or not yet
/// existing) DEST, renamed over it by `finish`, or DEST itself when it is
/// something else (a device, a pipe) or its directory cannot take a new
/// file while DEST itself is writable.
struct Output {
    file: std::fs::File,
    /// (temporary path, final path) while a rename is pending.
    rename: Option<(CString, CString)>,
}

impl Output {
    /// Opens as `fopen(dst, "we")` would succeed or fail, without
    /// truncating anything yet.
    fn open(dst: &[u8]) -> Result<Output> {
        let dst_c = CString::new(dst).map_err(|_| Error::InvalidArgument)?;
        let existing = match rustix::fs::open(
            dst_c.as_c_str(),
            OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        ) {
            Ok(fd) => Some(fd),
            Err(Errno::NOENT) => None,
            Err(e) => return Err(e.into()),
        };
        let st = existing.as_ref().map(rustix::fs::fstat).transpose()?;
        let is_reg = st
            .as_ref()
            .map_or(true, |s| s.st_mode & libc::S_IFMT == libc::S_IFREG);
        if let (Some(fd), false) = (&existing, is_reg) {
            return Ok(Output {
                file: std::fs::File::from(fd.try_clone()?),
                rename: None,
            });
        }
        // Through a symlink the file it points at is replaced, as fopen
        // would write there.
        let target = match &existing {
            Some(_) => std::fs::canonicalize(std::ffi::OsStr::from_bytes(dst))
                .map(|p| p.into_os_string().into_vec())
                .unwrap_or_else(|_| dst.to_vec()),
            None => dst.to_vec(),
        };
        let (dir, base) = match target.iter().rposition(|&c| c == b'/') {
            Some(i) => (&target[..=i], &target[i + 1..]),
            None => (&b""[..], &target[..]),
        };
        match create_temp(dir, base) {
            Ok((tmp, fd)) => {
                if let Some(s) = &st {
                    // Keep the mode the file had, as truncating it would.
                    let _ = rustix::fs::fchmod(&fd, Mode::from_raw_mode(s.st_mode & 0o7777));
                }
                let target = CString::new(target).map_err(|_| Error::InvalidArgument)?;
                Ok(Output {
                    file: std::fs::File::from(fd),
                    rename: Some((tmp, target)),
                })
            }
            Err(e) => match existing {
                // The directory refuses new files but DEST can be written:
                // C would truncate it in place, so do that.
                Some(fd) => {
                    rustix::fs::ftruncate(&fd, 0)?;
                    Ok(Output {
                        file: std::fs::File::from(fd),
                        rename: None,
                    })
                }
                None => Err(e),
            },
        }
    }

    /// Completes the output: flushes and renames the temporary file into
    /// place.
    fn finish(&mut self) -> Result<()> {
        self.file.flush()?;
        if let Some((tmp, target)) = self.rename.take() {
            if let Err(e) = rustix::fs::rename(tmp.as_c_str(), target.as_c_str()) {
                let _ = rustix::fs::unlink(tmp.as_c_str());
                return Err(e.into());
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    /// An output never finished leaves nothing behind.
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.rename.take() {
            let _ = rustix::fs::unlink(tmp.as_c_str());
        }
    }
}

/// A new file "DIR.BASE.XXXXXX" (mode 0666 less umask, as fopen creates).
fn create_temp(dir: &[u8], base: &[u8]) -> Result<(CString, OwnedFd)> {
    let pid = std::process::id();
    for attempt in 0u32..1000 {
        let mut p = dir.to_vec();
        p.push(b'.');
        p.extend_from_slice(base);
        p.extend_from_slice(format!(".{pid}-{attempt}.tmp").as_bytes());
        let p = CString::new(p).map_err(|_| Error::InvalidArgument)?;
        match rustix::fs::open(
            p.as_c_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        ) {
            Ok(fd) => return Ok((p, fd)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::AlreadyExists)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("cfs-dump-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        d
    }

    #[test]
    fn unfinished_output_leaves_nothing() {
        let d = scratch("unfinished");
        let dst = d.join("out.cfs");
        std::fs::write(&dst, b"old").unwrap();
        {
            let mut o = Output::open(dst.as_os_str().as_bytes()).unwrap();
            o.file.write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read(&dst).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        {
            let mut o = Output::open(dst.as_os_str().as_bytes()).unwrap();
            o.file.write_all(b"new").unwrap();
            o.finish().unwrap();
        }
        assert_eq!(std::fs::read(&dst).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn open_fails_as_fopen_would() {
        let d = scratch("fopen");
        let errno = |p: &std::path::Path| {
            Output::open(p.as_os_str().as_bytes())
                .err()
                .map(Error::errno)
        };
        assert_eq!(errno(&d), Some(libc::EISDIR));
        assert_eq!(errno(&d.join("no/such")), Some(libc::ENOENT));
        // A device is written in place.
        assert!(Output::open(b"/dev/null").unwrap().rename.is_none());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
