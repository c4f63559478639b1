//! The digest store of `mkcomposefs --digest-store`: a directory holding
//! each regular file's content once, under its payload path ("xx/yyyy…",
//! from its fs-verity digest), readable by all, with fs-verity enabled
//! where the kernel can.
//!
//! As in C, an object already present is left alone, each new object is
//! written under a temporary name in the store and renamed into place, so
//! two runs (or two identical files) filling one store never expose a
//! half-written object. As in C, every object is flushed to disk
//! (fsync) before it gets its name, so a crash never leaves a name that
//! points at content not on disk; unlike C, which flushes one file at a
//! time, all new objects are written first, then flushed by many threads
//! at once (the journal commits them together), then renamed.

mod copy;
mod tmp;

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::os::fd::AsFd;
use std::sync::Mutex;

use rustix::fs::{AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::build::digests::{collect_paths, join_c_path};
use crate::error::{Error, Result};
use crate::node::{mode, NodeRef};

/// The objects a tree built from `src_path` needs: regular files with a
/// payload and no inline content (C's `construct_copy_data`), with the
/// path to copy from. Each payload appears once.
pub fn objects_of(root: &NodeRef, src_path: &[u8]) -> Vec<(CString, CString)> {
    let found = collect_paths(root, src_path, &|d| {
        d.inode.file_type() == mode::S_IFREG && d.content().is_none() && d.payload().is_some()
    });
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(found.len());
    for (node, path) in found {
        let payload = node
            .lock()
            .payload()
            .map(CStr::to_owned)
            .unwrap_or_default();
        if seen.insert(payload.clone()) {
            out.push((path, payload));
        }
    }
    out
}

/// Threads that flush new objects to disk.
const FLUSH_THREADS: usize = 32;

/// Copies every (source path, payload) object into the store at `store`,
/// on `threads` threads. Errors carry the errno C would report.
pub fn fill(store: &[u8], objects: &[(CString, CString)], threads: usize) -> Result<()> {
    let staged: Mutex<Vec<tmp::TempObject>> = Mutex::new(Vec::new());
    let r = crate::jobs::run(objects, threads, |(src, payload)| {
        if let Some(t) = stage(store, src, payload.to_bytes())? {
            staged.lock().unwrap_or_else(|p| p.into_inner()).push(t);
        }
        Ok(())
    });
    let mut staged = staged.into_inner().unwrap_or_else(|p| p.into_inner());
    r?;
    if staged.is_empty() {
        return Ok(());
    }
    // Waiting on the disk takes no CPU, and the filesystem's journal
    // commits concurrent flushes together: many threads, whatever
    // --threads says.
    crate::jobs::run(&staged, FLUSH_THREADS, |t| {
        let fd = rustix::fs::open(t.path(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(rustix::fs::fsync(fd.as_fd())?)
    })?;
    for t in staged.iter_mut() {
        t.publish()?;
    }
    Ok(())
}

/// Writes one object under a temporary name unless it is already there.
fn stage(store: &[u8], src: &CStr, payload: &[u8]) -> Result<Option<tmp::TempObject>> {
    let dest = join_c_path(store, payload);
    mkdir_parents(&dest)?;
    let dest = CString::new(dest).map_err(|_| Error::InvalidArgument)?;
    if rustix::fs::statat(CWD, dest.as_c_str(), AtFlags::SYMLINK_NOFOLLOW).is_ok() {
        return Ok(None);
    }
    let mut t = tmp::TempObject::create(dest)?;
    let sfd = rustix::fs::open(src, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    copy::copy_data(sfd.as_fd(), t.fd()?)?;
    drop(sfd);
    // Readable by all, whatever the umask.
    rustix::fs::fchmod(t.fd()?, Mode::from_raw_mode(0o644))?;
    t.close_writer();
    // fs-verity needs a file nobody has open for writing; where the kernel
    // or filesystem cannot (ENOTTY, EOPNOTSUPP...) the object stays as it
    // is, as in C, which ignores any error here.
    if let Ok(fd) = rustix::fs::open(t.path(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        let _ = crate::fsverity::enable_fd(fd.as_fd());
    }
    Ok(Some(t))
}

/// C's `mkdir_parents`: every directory above `path` exists afterwards
/// (created 0755, minus the umask); a non-directory in the way is ENOTDIR.
fn mkdir_parents(path: &[u8]) -> Result<()> {
    let mut i = path.iter().take_while(|&&b| b == b'/').count();
    while let Some(off) = path[i..].iter().position(|&b| b == b'/') {
        let end = i + off;
        let dir = CString::new(&path[..end]).map_err(|_| Error::InvalidArgument)?;
        ensure_dir(&dir)?;
        i = end + path[end..].iter().take_while(|&&b| b == b'/').count();
    }
    Ok(())
}

fn ensure_dir(dir: &CStr) -> Result<()> {
    // Checked first so that a read-only store that already has the
    // directory is not refused with EROFS (as C explains for NFS).
    if let Ok(st) = rustix::fs::stat(dir) {
        if st.st_mode & mode::S_IFMT != mode::S_IFDIR {
            return Err(Error::NotADirectory);
        }
        return Ok(());
    }
    match rustix::fs::mkdir(dir, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
