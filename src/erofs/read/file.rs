//! Loading from an open file: the image is mapped, never read through the
//! fd, so the caller's file offset stays where it was (as C's loader).

use std::os::fd::RawFd;

use super::{header_version, load_image};
use crate::erofs::format::LCFS_HEADER_SIZE;
use crate::error::{Error, Result};
use crate::node::NodeRef;
use crate::sys::mmap::{file_size_and_mode, Mapping};

/// Maps the whole file open at `fd` (errors as C's fstat and mmap give).
pub fn map_fd(fd: RawFd) -> Result<Mapping> {
    let (size, _) = file_size_and_mode(fd)?;
    Mapping::map_file(
        fd,
        usize::try_from(size).map_err(|_| Error::InvalidArgument)?,
    )
}

/// `lcfs_load_node_from_fd_ext`: loads the whole image open at `fd`.
pub fn load_fd(fd: RawFd, toplevel: Option<&[&[u8]]>) -> Result<NodeRef> {
    load_image(map_fd(fd)?.bytes(), toplevel)
}

/// `lcfs_version_from_fd`: the format version in the image's header.
pub fn version_from_fd(fd: RawFd) -> Result<u32> {
    let map = Mapping::map_file(fd, LCFS_HEADER_SIZE)?;
    // An empty regular file maps, but touching the page would fault (C
    // crashes there); its header is all zeros, so it is not an image.
    let (size, mode) = file_size_and_mode(fd)?;
    if mode & libc::S_IFMT == libc::S_IFREG && size == 0 {
        return Err(Error::InvalidArgument);
    }
    header_version(map.bytes())
}
