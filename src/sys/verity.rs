//! The fs-verity ioctls (linux/fsverity.h): enable and measure.

use std::os::fd::BorrowedFd;

use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Opcode, Updater};

/// Hash algorithm number of SHA-256 in the kernel API.
pub const HASH_ALG_SHA256: u32 = 1;

/// Largest digest the kernel reports (SHA-512).
pub const MAX_DIGEST_SIZE: usize = 64;

/// `struct fsverity_enable_arg`.
#[repr(C)]
struct EnableArg {
    version: u32,
    hash_algorithm: u32,
    block_size: u32,
    salt_size: u32,
    salt_ptr: u64,
    sig_size: u32,
    reserved1: u32,
    sig_ptr: u64,
    reserved2: [u64; 11],
}

/// The fixed head of `struct fsverity_digest`; the ioctl number encodes
/// only its size, the digest bytes follow it.
#[repr(C)]
struct DigestHead {
    algorithm: u16,
    size: u16,
}

/// `struct fsverity_digest` with room for the largest digest.
#[repr(C)]
struct DigestBuf {
    head: DigestHead,
    digest: [u8; MAX_DIGEST_SIZE],
}

const FS_IOC_ENABLE_VERITY: Opcode = opcode::write::<EnableArg>(b'f', 133);
const FS_IOC_MEASURE_VERITY: Opcode = opcode::read_write::<DigestHead>(b'f', 134);

/// Turns on fs-verity for `fd` with `block_size`-byte blocks, no salt and
/// no signature. Fails with the kernel's raw errno.
pub fn enable(fd: BorrowedFd<'_>, hash_algorithm: u32, block_size: u32) -> Result<(), Errno> {
    let mut arg = EnableArg {
        version: 1,
        hash_algorithm,
        block_size,
        salt_size: 0,
        salt_ptr: 0,
        sig_size: 0,
        reserved1: 0,
        sig_ptr: 0,
        reserved2: [0; 11],
    };
    // SAFETY: the opcode is _IOW('f', 133, struct fsverity_enable_arg) and
    // EnableArg has that struct's exact layout (128 bytes); the null salt and
    // signature pointers come with zero sizes, so the kernel reads nothing else.
    unsafe {
        ioctl(
            fd,
            Updater::<FS_IOC_ENABLE_VERITY, EnableArg>::new(&mut arg),
        )
    }
}

/// A digest reported by the kernel.
pub struct Measured {
    pub algorithm: u16,
    pub size: usize,
    pub digest: [u8; MAX_DIGEST_SIZE],
}

/// Asks the kernel for the fs-verity digest of `fd`. Fails with the raw
/// errno (ENODATA when verity is off, ENOTTY/EOPNOTSUPP when unsupported).
pub fn measure(fd: BorrowedFd<'_>) -> Result<Measured, Errno> {
    let mut buf = DigestBuf {
        head: DigestHead {
            algorithm: 0,
            size: MAX_DIGEST_SIZE as u16,
        },
        digest: [0; MAX_DIGEST_SIZE],
    };
    // SAFETY: the opcode is _IOWR('f', 134, struct fsverity_digest); the
    // kernel reads the head and writes at most `head.size` (64) digest bytes,
    // which DigestBuf has room for right after the head.
    unsafe {
        ioctl(
            fd,
            Updater::<FS_IOC_MEASURE_VERITY, DigestBuf>::new(&mut buf),
        )?
    };
    Ok(Measured {
        algorithm: buf.head.algorithm,
        size: usize::from(buf.head.size).min(MAX_DIGEST_SIZE),
        digest: buf.digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_match_linux_headers() {
        // Values of FS_IOC_ENABLE_VERITY / FS_IOC_MEASURE_VERITY on Linux.
        assert_eq!(std::mem::size_of::<EnableArg>(), 128);
        assert_eq!(FS_IOC_ENABLE_VERITY as u64, 0x4080_6685);
        assert_eq!(FS_IOC_MEASURE_VERITY as u64, 0xc004_6686);
    }
}
