use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::*;
use crate::node::mode;

use crate::testutil::Scratch;

fn child(n: &NodeRef, name: &str) -> NodeRef {
    n.lock().lookup_child(name.as_bytes()).unwrap()
}

fn set_xattr(p: &Path, k: &str, v: &[u8]) {
    let p = CString::new(p.as_os_str().as_bytes()).unwrap();
    let k = CString::new(k).unwrap();
    rustix::fs::lsetxattr(&p, &k, v, rustix::fs::XattrFlags::empty()).unwrap();
}

/// The sample tree has a trusted.* xattr and a device node, which only root
/// can create: None (the test is skipped) otherwise.
fn sample_tree(tag: &str) -> Option<Scratch> {
    if !rustix::process::geteuid().is_root() {
        eprintln!("{tag}: skipped, needs root (trusted.* xattr, device node)");
        return None;
    }
    let s = Scratch::new(tag);
    s.file("small", b"hello");
    s.file("empty", b"");
    s.file("big", &vec![7u8; 100_000]);
    s.file("sub/inner", &[1u8; 64]);
    s.file("sub/deeper/x", &[2u8; 65]);
    std::os::unix::fs::symlink("small", s.0.join("link")).unwrap();
    set_xattr(&s.0.join("small"), "user.a", b"1");
    set_xattr(&s.0.join("small"), "trusted.b", b"");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        s.0.join("chr").as_path(),
        FileType::CharacterDevice,
        rustix::fs::Mode::from_raw_mode(0o600),
        rustix::fs::makedev(1, 3),
    )
    .unwrap();
    Some(s)
}

#[test]
fn flags_are_checked() {
    let s = Scratch::new("build-flags");
    let name = s.cpath();
    for bad in [1 << 7, flags::SKIP_XATTRS | flags::USER_XATTRS] {
        assert_eq!(
            load_node_from_file(rustix::fs::CWD, &name, bad).err(),
            Some(Error::InvalidArgument)
        );
        let e = build(rustix::fs::CWD, &name, bad).unwrap_err();
        assert_eq!(e.error, Error::InvalidArgument);
        assert_eq!(e.failed_path, name.as_bytes());
    }
}

#[test]
fn loads_files_like_c() {
    let Some(s) = sample_tree("load") else {
        return;
    };
    let root = build(rustix::fs::CWD, &s.cpath(), 0).unwrap();
    assert!(root.lock().is_dir());
    let small = child(&root, "small");
    {
        let d = small.lock();
        assert_eq!(d.inode.size, 5);
        assert_eq!(d.content(), Some(&b"hello"[..]));
        assert!(d.digest().is_none() && d.payload().is_none());
        assert_eq!(d.inode.nlink, 1);
        assert!(d.inode.mtime_sec > 0);
        let keys: Vec<&[u8]> = d.xattrs.iter().map(|x| x.key().to_bytes()).collect();
        assert!(keys.contains(&&b"user.a"[..]) && keys.contains(&&b"trusted.b"[..]));
    }
    assert!(child(&root, "empty").lock().content().is_none());
    assert!(child(&root, "big").lock().content().is_none());
    let link = child(&root, "link");
    assert_eq!(link.lock().payload(), Some(c"small"));
    assert_eq!(link.lock().inode.file_type(), mode::S_IFLNK);
    let chr = child(&root, "chr");
    assert_eq!(chr.lock().inode.rdev as u64, rustix::fs::makedev(1, 3));
    let inner = child(&child(&root, "sub"), "inner");
    assert_eq!(inner.lock().content().map(<[u8]>::len), Some(64));
    let x = child(&child(&child(&root, "sub"), "deeper"), "x");
    assert!(x.lock().content().is_none());
}

#[test]
fn flag_effects() {
    let Some(s) = sample_tree("effects") else {
        return;
    };
    let f = flags::USE_EPOCH | flags::SKIP_DEVICES | flags::NO_INLINE | flags::USER_XATTRS;
    let root = build(rustix::fs::CWD, &s.cpath(), f).unwrap();
    assert!(root.lock().lookup_child(b"chr").is_none());
    let small = child(&root, "small");
    let d = small.lock();
    assert!(d.content().is_none());
    assert_eq!((d.inode.mtime_sec, d.inode.mtime_nsec), (0, 0));
    let keys: Vec<&[u8]> = d.xattrs.iter().map(|x| x.key().to_bytes()).collect();
    assert_eq!(keys, [&b"user.a"[..]]);
    drop(d);
    let root = build(rustix::fs::CWD, &s.cpath(), flags::SKIP_XATTRS).unwrap();
    assert!(child(&root, "small").lock().xattrs.is_empty());
}

#[test]
fn digests_sequential_and_parallel_agree() {
    let Some(s) = sample_tree("digest") else {
        return;
    };
    for i in 0..50 {
        s.file(&format!("many/f{i}"), &vec![i as u8; i * 997]);
    }
    let expect_big = crate::fsverity::digest(&vec![7u8; 100_000]);
    for f in [
        flags::COMPUTE_DIGEST,
        flags::BY_DIGEST,
        flags::COMPUTE_DIGEST | flags::BY_DIGEST,
    ] {
        let root = build(rustix::fs::CWD, &s.cpath(), f).unwrap();
        let big = child(&root, "big");
        let d = big.lock();
        assert_eq!(d.digest().is_some(), f & flags::COMPUTE_DIGEST != 0);
        if f & flags::COMPUTE_DIGEST != 0 {
            assert_eq!(d.digest(), Some(&expect_big));
        }
        if f & flags::BY_DIGEST != 0 {
            let path = content::digest_path(&expect_big);
            assert_eq!(d.payload(), Some(path.as_c_str()));
            assert_eq!(path.as_bytes()[2], b'/');
            assert_eq!(path.as_bytes().len(), 65);
        }
        // Empty files get no digest; the pool and load_node_from_file agree.
        assert!(child(&root, "empty").lock().digest().is_none());
        let many = child(&root, "many");
        for i in 0..50 {
            let n = child(&many, &format!("f{i}"));
            let single = load_node_from_file(
                rustix::fs::CWD,
                &CString::new(s.0.join(format!("many/f{i}")).as_os_str().as_bytes()).unwrap(),
                f,
            )
            .unwrap();
            assert_eq!(n.lock().digest(), single.lock().digest());
            assert_eq!(n.lock().payload(), single.lock().payload());
            assert_eq!(n.lock().content(), single.lock().content());
        }
    }
}

#[test]
fn missing_path_is_reported() {
    let e = build(rustix::fs::CWD, c"/nonexistent/lcfs/x", 0).unwrap_err();
    assert_eq!(e.error.errno(), libc::ENOENT);
    assert_eq!(e.failed_path, b"/nonexistent/lcfs/x");
    assert_eq!(
        load_node_from_file(rustix::fs::CWD, c"/nonexistent/lcfs/x", 0)
            .err()
            .map(Error::errno),
        Some(libc::ENOENT)
    );
}

#[test]
fn join_matches_c() {
    assert_eq!(walk::join_path(b"a", Some(b"b")), b"a/b");
    assert_eq!(walk::join_path(b"a/", Some(b"b")), b"a/b");
    assert_eq!(walk::join_path(b"", Some(b"b")), b"b");
    assert_eq!(walk::join_path(b"a", None), b"a");
}

/// Runs `f` with this thread's effective uid switched to nobody, so that
/// permission checks apply even though the tests run as root.
fn as_nobody<T>(f: impl FnOnce() -> T) -> Option<T> {
    use rustix::process::Uid;
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    // SAFETY-free: rustix changes only this thread's credentials.
    rustix::thread::set_thread_res_uid(None, Some(Uid::from_raw(65534)), None).ok()?;
    let r = f();
    rustix::thread::set_thread_res_uid(None, Some(Uid::ROOT), None).ok()?;
    Some(r)
}

#[test]
fn unreadable_child_fails_with_its_path() {
    let s = Scratch::new("build-eacces");
    std::fs::set_permissions(&s.0, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for i in 0..20 {
        s.file(&format!("d/ok{i:02}"), b"some content here");
    }
    s.file("d/secret", b"top secret content");
    std::fs::set_permissions(
        s.0.join("d/secret"),
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    // Without hashing nothing is opened, so the build succeeds.
    let ok = as_nobody(|| build(rustix::fs::CWD, &s.cpath(), flags::NO_INLINE).is_ok());
    let Some(ok) = ok else { return };
    assert!(ok);
    for f in [flags::COMPUTE_DIGEST, flags::BY_DIGEST, 0] {
        // Hashing or inlining (18 bytes <= 64) opens the file: EACCES.
        let e = as_nobody(|| build(rustix::fs::CWD, &s.cpath(), f))
            .unwrap()
            .unwrap_err();
        assert_eq!(e.error.errno(), libc::EACCES);
        let mut want = s.cpath().into_bytes();
        want.extend_from_slice(b"/d/secret");
        assert_eq!(e.failed_path, want);
    }
}

#[test]
fn path_errors_name_the_path() {
    let s = Scratch::new("build-patherr");
    std::os::unix::fs::symlink("loop", s.0.join("loop")).unwrap();
    s.file("file", b"x");
    let long = "n".repeat(300);
    let deep = format!("{}{}", s.0.display(), "/.".repeat(2100));
    for (rel, errno) in [
        ("loop/x".to_string(), libc::ELOOP),
        ("loop/".to_string(), libc::ELOOP),
        ("file/x".to_string(), libc::ENOTDIR),
        (long, libc::ENAMETOOLONG),
    ] {
        let path = CString::new(format!("{}/{rel}", s.0.display())).unwrap();
        let e = build(rustix::fs::CWD, &path, 0).unwrap_err();
        assert_eq!(
            (e.error.errno(), e.failed_path.as_slice()),
            (errno, path.as_bytes())
        );
    }
    let deep = CString::new(deep).unwrap();
    let e = build(rustix::fs::CWD, &deep, 0).unwrap_err();
    assert_eq!(e.error.errno(), libc::ENAMETOOLONG);
    assert_eq!(e.failed_path, deep.as_bytes());
}

/// Directories removed while the walk runs: every build either succeeds
/// or fails with ENOENT naming a path inside the tree; nothing is leaked
/// or half-attached.
#[test]
fn directory_vanishing_mid_walk() {
    let s = Scratch::new("build-vanish");
    let root = s.cpath();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut failures = 0;
    std::thread::scope(|sc| {
        sc.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for i in 0..20 {
                    let _ = std::fs::create_dir_all(s.0.join(format!("d{i}/a/b/c")));
                    let _ = std::fs::write(s.0.join(format!("d{i}/a/f")), b"content");
                }
                for i in 0..20 {
                    let _ = std::fs::remove_dir_all(s.0.join(format!("d{i}")));
                }
            }
        });
        for _ in 0..300 {
            match build(rustix::fs::CWD, &root, flags::COMPUTE_DIGEST) {
                Ok(n) => assert!(n.lock().is_dir()),
                Err(e) => {
                    assert_eq!(e.error.errno(), libc::ENOENT, "{e:?}");
                    assert!(e.failed_path.starts_with(root.as_bytes()));
                    assert!(e.failed_path.len() > root.as_bytes().len());
                    failures += 1;
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    eprintln!("vanishing directories: {failures} of 300 builds failed with ENOENT");
}
