use std::os::unix::fs::MetadataExt;

use super::*;
use crate::build::{build, flags};

use crate::testutil::Scratch;

/// Builds `src` as mkcomposefs does and returns its objects.
fn objects(src: &[u8]) -> Vec<(CString, CString)> {
    let c = CString::new(src).unwrap();
    let root = build(CWD, &c, flags::NO_INLINE).unwrap();
    let f = flags::COMPUTE_DIGEST | flags::BY_DIGEST;
    crate::build::digests::compute_digests(&root, src, f, 2).unwrap();
    objects_of(&root, src)
}

fn listing(dir: &std::path::Path) -> Vec<(String, u32, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let md = e.metadata().unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if md.is_dir() {
            for (n, m, d) in listing(&e.path()) {
                out.push((format!("{name}/{n}"), m, d));
            }
            out.push((name, md.mode() & 0o7777, Vec::new()));
        } else {
            out.push((name, md.mode() & 0o7777, std::fs::read(e.path()).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn objects_named_by_digest_once_readable_by_all() {
    let s = Scratch::new("store-fill");
    let big = vec![7u8; 200_000];
    s.file("src/a", &big);
    s.file("src/sub/b", &big); // same content: one object
    s.file("src/c", b"tiny"); // inline: no object
    s.file("src/empty", b"");
    s.file("src/d", &[1u8; 100]);
    let objs = objects(&s.path("src"));
    assert_eq!(objs.len(), 2);
    let store = s.path("store/deeper");
    fill(&store, &objs, 2).unwrap();
    let got = listing(&s.0.join("store/deeper"));
    let digest = crate::fsverity::digest(&big);
    let want_name = crate::build::digest_path(&digest);
    let want_name = want_name.to_str().unwrap();
    let (name, m, data) = got
        .iter()
        .find(|(n, _, _)| n.as_bytes() == want_name.as_bytes())
        .expect("object named by digest");
    assert_eq!((*m, data.len()), (0o644, big.len()), "{name}");
    // Directories, and no temporary files left.
    assert!(got.iter().all(|(n, _, _)| !n.contains(".tmp")));
    assert_eq!(got.len(), 4, "{got:?}");
    // Safe to run again: nothing changes.
    fill(&store, &objs, 1).unwrap();
    assert_eq!(listing(&s.0.join("store/deeper")), got);
}

#[test]
fn existing_objects_are_kept() {
    let s = Scratch::new("store-keep");
    s.file("src/a", &[3u8; 5000]);
    let objs = objects(&s.path("src"));
    let payload = objs[0].1.to_str().unwrap().to_owned();
    s.file(&format!("store/{payload}"), b"already here");
    fill(&s.path("store"), &objs, 2).unwrap();
    assert_eq!(
        std::fs::read(s.0.join("store").join(&payload)).unwrap(),
        b"already here"
    );
}

#[test]
fn errors_like_c() {
    let s = Scratch::new("store-errors");
    s.file("src/a", &[3u8; 5000]);
    let objs = objects(&s.path("src"));
    // A file where the store's directory should be.
    s.file("notadir", b"");
    assert_eq!(
        fill(&s.path("notadir"), &objs, 1),
        Err(Error::NotADirectory)
    );
    // The source went away: ENOENT, and the temporary file is removed.
    std::fs::remove_file(s.0.join("src/a")).unwrap();
    assert_eq!(
        fill(&s.path("store"), &objs, 2),
        Err(Error::Os(libc::ENOENT))
    );
    let left = listing(&s.0.join("store"));
    assert_eq!(left.len(), 1, "only the xx directory: {left:?}");
}

#[test]
fn plain_copy_fallback() {
    let s = Scratch::new("store-plain");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    s.file("in", &data);
    let src = std::fs::File::open(s.0.join("in")).unwrap();
    let dst = std::fs::File::create(s.0.join("out")).unwrap();
    copy::copy_plain_for_test(src.as_fd(), dst.as_fd()).unwrap();
    assert_eq!(std::fs::read(s.0.join("out")).unwrap(), data);
    let dst2 = std::fs::File::create(s.0.join("out2")).unwrap();
    copy::copy_data(src.as_fd(), dst2.as_fd()).unwrap_or_else(|e| panic!("{e:?}"));
    // The source's offset was at its end: copy_data still copies it all.
    assert_eq!(std::fs::read(s.0.join("out2")).unwrap(), data);
}

#[test]
fn concurrent_fills_of_one_store() {
    let s = Scratch::new("store-concurrent");
    for i in 0..20u8 {
        s.file(&format!("src/f{i}"), &vec![i; 10_000]);
    }
    let objs = objects(&s.path("src"));
    let store = s.path("store");
    // Several runs at once, all adding the same objects.
    std::thread::scope(|sc| {
        for _ in 0..4 {
            sc.spawn(|| fill(&store, &objs, 3).unwrap());
        }
    });
    let got = listing(&s.0.join("store"));
    assert!(got.iter().all(|(n, _, _)| !n.contains(".tmp")), "{got:?}");
    let files: Vec<_> = got.iter().filter(|(_, _, d)| !d.is_empty()).collect();
    assert_eq!(files.len(), 20);
    assert!(files
        .iter()
        .all(|(_, m, d)| *m == 0o644 && d.len() == 10_000));
}
