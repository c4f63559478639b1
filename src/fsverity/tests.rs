//! Digests checked against Debian's `fsverity` tool and against themselves
//! under different update() splits.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

/// The digest of an empty file per the kernel and upstream composefs main.
const EMPTY: &str = "3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95";

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic xorshift64 bytes: no rand crate needed. Beyond 1 MiB an
/// odd-length random run is repeated, which keeps blocks distinct while
/// sparing debug builds from generating 64 MiB word by word.
fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    const RUN: usize = 1024 * 1024 + 13;
    if len > RUN {
        let run = pseudo_random(RUN, seed);
        let mut out: Vec<u8> = run.iter().copied().cycle().take(len).collect();
        out.truncate(len);
        return out;
    }
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

struct TempFile(PathBuf);

impl TempFile {
    fn new(data: &[u8]) -> TempFile {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "cfs-fsverity-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(data).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What `fsverity digest` prints for `data`. Panics when the tool is
/// missing: these tests must not pass silently without a reference.
fn tool_digest(data: &[u8]) -> String {
    let file = TempFile::new(data);
    let out = Command::new("fsverity")
        .args(["digest", "--hash-alg=sha256", "--block-size=4096"])
        .arg(&file.0)
        .output()
        .expect("the `fsverity` tool (Debian package fsverity) is required for these tests");
    assert!(out.status.success(), "fsverity digest failed: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let field = text.split_whitespace().next().unwrap_or_default();
    field
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("unexpected fsverity output {text:?}"))
        .to_string()
}

#[test]
fn empty_file_matches_kernel() {
    assert_eq!(hex(&digest(&[])), EMPTY);
    assert_eq!(hex(&FsVerityHasher::new().finish()), EMPTY);
}

#[test]
fn empty_file_vs_tool() {
    let tool = tool_digest(&[]);
    eprintln!("fsverity tool, 0 bytes: {tool}");
    assert_eq!(tool, EMPTY);
}

#[test]
fn matches_fsverity_tool() {
    let mut sizes = vec![
        1,
        4095,
        4096,
        4097,
        2 * 4096,
        128 * 4096,
        128 * 4096 + 1,
        10 * 1024 * 1024 + 3,
        // One byte past a full second-level hash block: a three-level tree
        // (64 MiB; slow-ish in debug builds, but the deepest case we check).
        128 * 128 * 4096 + 1,
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..4 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        sizes.push((seed >> 40) as usize % (3 * 1024 * 1024));
    }
    for (i, &size) in sizes.iter().enumerate() {
        let data = pseudo_random(size, 0x1234_5678 + i as u64);
        assert_eq!(hex(&digest(&data)), tool_digest(&data), "size {size}");
    }
    // Patterned content, not only random bytes.
    let zeros = vec![0u8; 129 * 4096];
    assert_eq!(hex(&digest(&zeros)), tool_digest(&zeros));
}

#[test]
fn split_updates_give_same_digest() {
    let data = pseudo_random(3 * 128 * 4096 + 777, 42);
    let whole = digest(&data);
    for chunks in [
        &[1usize][..],
        &[4095, 1, 4096, 3],
        &[4097, 8191],
        &[13, 65536, 7, 100000],
        &[0, 4096 * 3 + 5, 0, 12289],
    ] {
        let mut h = FsVerityHasher::new();
        let mut rest = &data[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = chunks[i % chunks.len()].min(rest.len());
            h.update(&rest[..n]);
            rest = &rest[n..];
            i += 1;
        }
        assert_eq!(h.size(), data.len() as u64);
        assert_eq!(h.finish(), whole, "chunks {chunks:?}");
    }
}

#[test]
fn reader_and_fd_paths_agree() {
    let data = pseudo_random(5 * 4096 + 11, 7);
    let want = digest(&data);

    let mut pos = 0;
    let got = digest_from_reader(BLOCK_SIZE, |buf| {
        let n = buf.len().min(data.len() - pos).min(1000);
        buf[..n].copy_from_slice(&data[pos..pos + n]);
        pos += n;
        Ok(n)
    })
    .unwrap();
    assert_eq!(got, want);

    // A reader claiming more bytes than its buffer holds is rejected.
    assert_eq!(
        digest_from_reader(16, |b| Ok(b.len() + 1)),
        Err(Error::InvalidArgument)
    );

    let file = TempFile::new(&data);
    let f = std::fs::File::open(&file.0).unwrap();
    use std::os::fd::AsFd;
    assert_eq!(digest_from_fd(f.as_fd()).unwrap(), want);
    // The fd is now at EOF; rewinding gives the digest again.
    assert_eq!(digest_from_fd(f.as_fd()).unwrap(), digest(&[]));
    rewind_fd(f.as_fd()).unwrap();
    assert_eq!(digest_from_fd(f.as_fd()).unwrap(), want);
}

#[test]
fn kernel_paths_report_no_verity() {
    let file = TempFile::new(b"hello");
    let f = std::fs::File::open(&file.0).unwrap();
    use std::os::fd::AsFd;
    match measure_fd(f.as_fd()) {
        // Without fs-verity (or not enabled on this file) it's always ENOTTY.
        Err(e) => assert!(is_unmeasurable(e), "{e:?}"),
        Ok(d) => panic!("verity unexpectedly enabled: {}", hex(&d)),
    }
    // Read-only fd on a file without verity support: must fail, not hang.
    assert!(enable_fd(f.as_fd()).is_err());
}

#[test]
fn threaded_fd_digest_matches_serial() {
    use std::io::{Seek, SeekFrom};
    use std::os::fd::AsFd;
    let chunk = 64 * BLOCK_SIZE;
    // Around the threading threshold and chunk/block boundaries.
    for len in [
        0,
        4096,
        THREADED_MIN as usize - 1,
        THREADED_MIN as usize,
        THREADED_MIN as usize + 1,
        9 * chunk,
        9 * chunk + 4096,
        9 * chunk + 100,
        13 * chunk - 1,
    ] {
        let data = pseudo_random(len, len as u64 + 1);
        let want = digest(&data);
        let file = TempFile::new(&data);
        let mut f = std::fs::File::open(&file.0).unwrap();
        assert_eq!(digest_from_fd_threaded(f.as_fd()).unwrap(), want, "{len}");
        // From the current offset, like the serial path.
        f.seek(SeekFrom::Start(4096.min(len as u64))).unwrap();
        let rest = digest(&data[4096.min(len)..]);
        for threads in [0, 1, 2, 3] {
            f.seek(SeekFrom::Start(4096.min(len as u64))).unwrap();
            assert_eq!(
                parallel::digest_from_fd(f.as_fd(), threads).unwrap(),
                rest,
                "{len} {threads}"
            );
            assert_eq!(f.stream_position().unwrap(), len as u64);
        }
    }
    // Reading errors come through (a directory cannot be read).
    let dir = std::fs::File::open(std::env::temp_dir()).unwrap();
    assert!(parallel::digest_from_fd(dir.as_fd(), 2).is_err());
}
