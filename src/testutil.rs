//! Helpers shared by unit tests of several modules.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A scratch directory `lcfs-TAG-PID` in the temp dir, removed on drop.
/// Tags start with the module's name, so parallel tests never share one.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("lcfs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    pub fn path(&self, rel: &str) -> Vec<u8> {
        self.0.join(rel).as_os_str().as_bytes().to_vec()
    }

    pub fn cpath(&self) -> CString {
        CString::new(self.0.as_os_str().as_bytes()).unwrap()
    }

    /// Writes `data` to `rel`, creating its parent directories.
    pub fn file(&self, rel: &str, data: &[u8]) {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
