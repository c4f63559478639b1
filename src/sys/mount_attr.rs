//! mount_setattr(2), which rustix does not wrap: used to make a detached
//! mount idmapped through a user namespace.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use rustix::io::Errno;

pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct mount_attr` (MOUNT_ATTR_SIZE_VER0, 32 bytes).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Idmaps the mount `mnt` (an fd from fsmount/open_tree) with the user
/// namespace `userns_fd`, as `mount_setattr(mnt, "", AT_EMPTY_PATH, ...)`.
/// `userns_fd` is passed through unchecked: the kernel validates it.
pub fn set_idmap(mnt: BorrowedFd<'_>, userns_fd: RawFd) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns_fd as u64,
    };
    // SAFETY: the path is a NUL-terminated literal and `attr` is a valid
    // `struct mount_attr` whose size we pass; the kernel only reads both
    // during the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_linux_header() {
        assert_eq!(std::mem::size_of::<MountAttr>(), 32);
    }
}
