//! The expected fs-verity digest of the image: parsing it from hex and
//! comparing it with what the kernel measures on the image file.

use std::os::fd::BorrowedFd;

use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::sys::verity;

pub use verity::MAX_DIGEST_SIZE;

/// Bytes compared: a SHA-256 digest.
const DIGEST_SIZE: usize = 32;

/// C's errno when the image has no (or no supported) fs-verity.
pub const ENOVERITY: i32 = libc::ENOTTY;
/// C's errno when the digest differs from the expected one.
pub const EWRONGVERITY: i32 = libc::EILSEQ;

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex pairs into a zero-padded buffer of up to 64 bytes. An odd
/// length, a non-hex character or more than 64 bytes is EINVAL. The empty
/// string decodes to None, which means "no check", as in C.
pub fn parse_hex_digest(hex: &[u8]) -> Result<Option<[u8; MAX_DIGEST_SIZE]>> {
    if hex.is_empty() {
        return Ok(None);
    }
    if hex.len() % 2 != 0 || hex.len() / 2 > MAX_DIGEST_SIZE {
        return Err(Error::InvalidArgument);
    }
    let mut raw = [0u8; MAX_DIGEST_SIZE];
    for (out, pair) in raw.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (hex_value(pair[0]), hex_value(pair[1]));
        *out = (hi.ok_or(Error::InvalidArgument)? << 4) | lo.ok_or(Error::InvalidArgument)?;
    }
    Ok(Some(raw))
}

/// Compares a measurement result with the expected digest, with C's errno
/// mapping: "no verity" in any form is ENOVERITY, a digest that is not 32
/// bytes or differs in its first 32 bytes is EWRONGVERITY.
pub fn judge(
    measured: std::result::Result<([u8; MAX_DIGEST_SIZE], usize), Errno>,
    expected: &[u8; MAX_DIGEST_SIZE],
) -> Result<()> {
    let (digest, size) = match measured {
        Ok(m) => m,
        Err(e) if e == Errno::NODATA || e == Errno::OPNOTSUPP || e == Errno::NOTTY => {
            return Err(Error::Os(ENOVERITY))
        }
        Err(e) => return Err(e.into()),
    };
    if size != DIGEST_SIZE || digest[..DIGEST_SIZE] != expected[..DIGEST_SIZE] {
        return Err(Error::Os(EWRONGVERITY));
    }
    Ok(())
}

/// Measures the image file and checks it against `expected`.
pub fn check_image(fd: BorrowedFd<'_>, expected: &[u8; MAX_DIGEST_SIZE]) -> Result<()> {
    judge(verity::measure(fd).map(|m| (m.digest, m.size)), expected)
}
