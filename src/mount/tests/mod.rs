//! Option validation and digest handling: no kernel needed.

use std::ffi::CStr;

use rustix::io::Errno;

use super::verity::{judge, parse_hex_digest};
use super::*;

mod fallbacks;
pub(super) mod harness;
mod kernel;

pub(super) fn errno_of<T: std::fmt::Debug>(r: Result<T>) -> i32 {
    r.unwrap_err().errno()
}

pub(super) fn opts<'a>(objdirs: Vec<&'a CStr>) -> MountOptions<'a> {
    MountOptions {
        objdirs,
        ..Default::default()
    }
}

#[test]
fn validation_errors_are_einval_before_the_image_is_opened() {
    let ok = opts(vec![c"/objs"]);
    assert!(ok.validate().is_ok());
    let bad = [
        MountOptions {
            flags: 1 << 5,
            ..ok.clone()
        },
        MountOptions {
            flags: 1 << 31,
            ..ok.clone()
        },
        opts(vec![]),
        MountOptions {
            upperdir: Some(c"/u"),
            ..ok.clone()
        },
        MountOptions {
            workdir: Some(c"/w"),
            ..ok.clone()
        },
        MountOptions {
            expected_digest: Some(c"abc"),
            ..ok.clone()
        },
        MountOptions {
            expected_digest: Some(c"zz"),
            ..ok.clone()
        },
        MountOptions {
            flags: FLAGS_IDMAP,
            idmap_fd: -1,
            ..ok.clone()
        },
    ];
    for o in &bad {
        assert_eq!(errno_of(o.validate()), libc::EINVAL, "{o:?}");
        let r = mount_image(c"/nonexistent", c"/nonexistent", o);
        assert_eq!(errno_of(r), libc::EINVAL, "{o:?}");
    }
    // Bit 2 is unused but inside the mask; a non-negative idmap fd and
    // both of upperdir/workdir are accepted; "" means "no digest".
    let fine = MountOptions {
        flags: (1 << 2) | FLAGS_IDMAP,
        idmap_fd: 0,
        upperdir: Some(c"/u"),
        workdir: Some(c"/w"),
        expected_digest: Some(c""),
        ..ok.clone()
    };
    assert!(fine.validate().unwrap().expected.is_none());
    // A negative idmap fd without the IDMAP flag is ignored.
    assert!(MountOptions { idmap_fd: -1, ..ok }.validate().is_ok());
}

#[test]
fn hex_digests_parse_like_c() {
    let d = parse_hex_digest(b"00Ff").unwrap().unwrap();
    assert_eq!(&d[..3], &[0x00, 0xff, 0x00]);
    let max = "ab".repeat(64);
    assert_eq!(
        parse_hex_digest(max.as_bytes()).unwrap().unwrap(),
        [0xab; 64]
    );
    let over = "ab".repeat(65);
    assert_eq!(
        parse_hex_digest(over.as_bytes()),
        Err(Error::InvalidArgument)
    );
    assert_eq!(parse_hex_digest(b"a"), Err(Error::InvalidArgument));
    assert_eq!(parse_hex_digest(b"0g"), Err(Error::InvalidArgument));
    assert_eq!(parse_hex_digest(b" 0"), Err(Error::InvalidArgument));
    assert_eq!(parse_hex_digest(b""), Ok(None));
}

#[test]
fn measured_digests_are_judged_like_c() {
    let mut expected = [0u8; 64];
    expected[..32].copy_from_slice(&[7; 32]);
    for e in [Errno::NODATA, Errno::OPNOTSUPP, Errno::NOTTY] {
        assert_eq!(judge(Err(e), &expected), Err(Error::Os(libc::ENOTTY)));
    }
    assert_eq!(errno_of(judge(Err(Errno::BADF), &expected)), libc::EBADF);
    let mut found = [0u8; 64];
    found[..32].copy_from_slice(&[7; 32]);
    assert_eq!(judge(Ok((found, 32)), &expected), Ok(()));
    // Only 32 bytes are compared; a SHA-512 sized digest is wrong anyway.
    found[40] = 1;
    assert_eq!(judge(Ok((found, 32)), &expected), Ok(()));
    assert_eq!(
        judge(Ok((found, 64)), &expected),
        Err(Error::Os(libc::EILSEQ))
    );
    found[0] = 8;
    assert_eq!(
        judge(Ok((found, 32)), &expected),
        Err(Error::Os(libc::EILSEQ))
    );
}
