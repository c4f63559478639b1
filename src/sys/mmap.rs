//! Read-only private file mappings, for loading images without reading
//! them through the fd (whose offset must stay where the caller left it).

use std::ffi::c_void;
use std::os::fd::RawFd;

use crate::error::{Error, Result};

/// A `PROT_READ`, `MAP_PRIVATE` mapping of the start of a file,
/// unmapped on drop.
pub struct Mapping {
    ptr: *mut c_void,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of `fd` from offset 0. Errors are mmap's errno
    /// (EINVAL for `len` 0, EBADF, EACCES, ENODEV...).
    pub fn map_file(fd: RawFd, len: usize) -> Result<Mapping> {
        // SAFETY: a fresh mapping chosen by the kernel (addr NULL) cannot
        // alias any Rust memory; the arguments are plain values.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                fd,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::from(std::io::Error::last_os_error()));
        }
        Ok(Mapping { ptr, len })
    }

    /// The mapped bytes. As with any file mapping, a file truncated or
    /// rewritten meanwhile by someone else shows through (or faults);
    /// C's loader has the same exposure.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr is a live readable mapping of exactly len bytes,
        // unmapped only in drop, which needs &mut self.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned; no borrow of
        // the bytes can outlive self.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

/// Size and file type bits of an open file (`fstat`).
pub fn file_size_and_mode(fd: RawFd) -> Result<(i64, u32)> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: st is a valid out-pointer for one struct stat.
    let r = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    if r < 0 {
        return Err(Error::from(std::io::Error::last_os_error()));
    }
    // SAFETY: fstat succeeded, so it filled the struct.
    let st = unsafe { st.assume_init() };
    Ok((st.st_size, st.st_mode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn maps_without_moving_offset() {
        let path = std::env::temp_dir().join(format!("cfs-mmap-{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        let _ = std::fs::remove_file(&path);
        f.write_all(b"hello mapping").unwrap();
        f.seek(SeekFrom::Start(3)).unwrap();
        let fd = f.as_raw_fd();
        let (size, mode) = file_size_and_mode(fd).unwrap();
        assert_eq!(size, 13);
        assert_eq!(mode & libc::S_IFMT, libc::S_IFREG);
        let m = Mapping::map_file(fd, size as usize).unwrap();
        assert_eq!(m.bytes(), b"hello mapping");
        assert_eq!(f.stream_position().unwrap(), 3);
        assert_eq!(
            Mapping::map_file(fd, 0).err().map(Error::errno),
            Some(libc::EINVAL)
        );
        assert_eq!(
            file_size_and_mode(-1).err().map(Error::errno),
            Some(libc::EBADF)
        );
    }
}
