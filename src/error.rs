//! The one error type of the library. Every variant knows the errno a C
//! caller of libcomposefs 1.0.8 would see for the same failure.

/// Failure of a library operation, as C would report it through errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid argument")]
    InvalidArgument,
    #[error("out of memory")]
    OutOfMemory,
    #[error("value out of range")]
    OutOfRange,
    #[error("name too long")]
    NameTooLong,
    #[error("entry already exists")]
    AlreadyExists,
    #[error("not a directory")]
    NotADirectory,
    #[error("node already has a parent")]
    AlreadyLinked,
    #[error("no such attribute or data")]
    NoData,
    #[error("file too big")]
    FileTooBig,
    #[error("hardlink loop")]
    Loop,
    #[error("not implemented yet")]
    NotImplemented,
    /// Any other errno, passed through unchanged (I/O, syscalls, callbacks).
    #[error("os error {0}")]
    Os(i32),
}

impl Error {
    /// The errno value C libcomposefs sets for this failure.
    pub fn errno(self) -> i32 {
        match self {
            Error::InvalidArgument => libc::EINVAL,
            Error::OutOfMemory => libc::ENOMEM,
            Error::OutOfRange => libc::ERANGE,
            Error::NameTooLong => libc::ENAMETOOLONG,
            Error::AlreadyExists => libc::EEXIST,
            Error::NotADirectory => libc::ENOTDIR,
            Error::AlreadyLinked => libc::EMLINK,
            Error::NoData => libc::ENODATA,
            Error::FileTooBig => libc::EFBIG,
            Error::Loop => libc::ELOOP,
            Error::NotImplemented => libc::ENOSYS,
            Error::Os(e) => e,
        }
    }

    /// Wraps a raw errno, folding the ones we have names for.
    pub fn from_errno(errno: i32) -> Error {
        match errno {
            libc::EINVAL => Error::InvalidArgument,
            libc::ENOMEM => Error::OutOfMemory,
            libc::ERANGE => Error::OutOfRange,
            libc::ENAMETOOLONG => Error::NameTooLong,
            libc::EEXIST => Error::AlreadyExists,
            libc::ENOTDIR => Error::NotADirectory,
            libc::EMLINK => Error::AlreadyLinked,
            libc::ENODATA => Error::NoData,
            libc::EFBIG => Error::FileTooBig,
            libc::ELOOP => Error::Loop,
            libc::ENOSYS => Error::NotImplemented,
            e => Error::Os(e),
        }
    }
}

impl From<rustix::io::Errno> for Error {
    fn from(e: rustix::io::Errno) -> Self {
        Error::from_errno(e.raw_os_error())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::from_errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_round_trips() {
        for e in [
            Error::InvalidArgument,
            Error::OutOfMemory,
            Error::OutOfRange,
            Error::NameTooLong,
            Error::AlreadyExists,
            Error::NotADirectory,
            Error::AlreadyLinked,
            Error::NoData,
            Error::FileTooBig,
            Error::Loop,
            Error::NotImplemented,
            Error::Os(libc::EIO),
        ] {
            assert_eq!(Error::from_errno(e.errno()), e);
        }
        assert_eq!(Error::from(rustix::io::Errno::NOTTY).errno(), libc::ENOTTY);
    }
}
