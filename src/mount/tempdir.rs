//! The scratch directory the EROFS image is mounted on while the overlay
//! is set up. Dropping it detaches the image mount and removes the
//! directory if we created it, on success and failure alike.

use std::collections::hash_map::RandomState;
use std::ffi::{CStr, CString};
use std::hash::{BuildHasher, Hasher};

use rustix::fs::Mode;
use rustix::io::Errno;
use rustix::mount::{unmount, UnmountFlags};

use crate::error::{Error, Result};

/// Prefix of the private directories, as C's mkdtemp template.
const TEMPLATE_PREFIX: &str = "/tmp/.composefs.";
const ATTEMPTS: usize = 100;

pub struct ImageMountDir {
    path: CString,
    /// We made it, so we remove it.
    created: bool,
    /// The image is mounted on it, so we detach it.
    mounted: bool,
}

impl ImageMountDir {
    /// Uses the caller's directory, or creates a fresh private one.
    pub fn new(given: Option<&CStr>) -> Result<Self> {
        let (path, created) = match given {
            Some(p) => (p.to_owned(), false),
            None => (make_temp_dir()?, true),
        };
        Ok(ImageMountDir {
            path,
            created,
            mounted: false,
        })
    }

    pub fn path(&self) -> &CStr {
        &self.path
    }

    pub fn set_mounted(&mut self) {
        self.mounted = true;
    }
}

impl Drop for ImageMountDir {
    fn drop(&mut self) {
        // Best effort: there is no one to report a cleanup failure to, and
        // the mount result already decided what the caller sees.
        if self.mounted {
            let _ = unmount(self.path.as_c_str(), UnmountFlags::DETACH);
        }
        if self.created {
            let _ = rustix::fs::rmdir(self.path.as_c_str());
        }
    }
}

/// Six random characters from mkdtemp's alphabet.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // RandomState is seeded from the OS; the pid and time make each call
    // differ even within one process.
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    let mut v = h.finish();
    (0..6)
        .map(|_| {
            let c = ALPHABET[(v % ALPHABET.len() as u64) as usize];
            v /= ALPHABET.len() as u64;
            c as char
        })
        .collect()
}

/// Creates a new mode-0700 directory under /tmp, like mkdtemp.
fn make_temp_dir() -> Result<CString> {
    for _ in 0..ATTEMPTS {
        let name = format!("{TEMPLATE_PREFIX}{}", random_suffix());
        let path = CString::new(name).map_err(|_| Error::InvalidArgument)?;
        match rustix::fs::mkdir(path.as_c_str(), Mode::RWXU) {
            Ok(()) => return Ok(path),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::AlreadyExists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dir_is_private_and_removed_on_drop() {
        // Other tests count /tmp/.composefs.* entries.
        let _g = crate::mount::tests::harness::SERIAL.lock();
        let d = ImageMountDir::new(None).unwrap();
        let p = d.path().to_owned();
        assert!(p.to_bytes().starts_with(TEMPLATE_PREFIX.as_bytes()));
        let st = rustix::fs::stat(p.as_c_str()).unwrap();
        assert_eq!(st.st_mode & 0o7777, 0o700);
        drop(d);
        assert_eq!(rustix::fs::stat(p.as_c_str()).err(), Some(Errno::NOENT));
    }

    #[test]
    fn given_dir_is_kept() {
        let _g = crate::mount::tests::harness::SERIAL.lock();
        let p = make_temp_dir().unwrap();
        drop(ImageMountDir::new(Some(&p)).unwrap());
        assert!(rustix::fs::stat(p.as_c_str()).is_ok());
        rustix::fs::rmdir(p.as_c_str()).unwrap();
    }

    #[test]
    fn suffixes_differ() {
        assert_ne!(random_suffix(), random_suffix());
    }
}
