use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{unmount, UnmountFlags};

use super::verity::{judge, parse_hex_digest};
use super::*;

fn errno_of<T: std::fmt::Debug>(r: Result<T>) -> i32 {
    r.unwrap_err().errno()
}

fn opts<'a>(objdirs: Vec<&'a CStr>) -> MountOptions<'a> {
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

// ---- tests against the running kernel (root only) ----

/// Mount tests share the host's mount table and loop devices: one at a time.
pub(super) static SERIAL: Mutex<()> = Mutex::new(());

/// The serialising guard, or None (test skipped) when not root.
fn root_only(name: &str) -> Option<MutexGuard<'static, ()>> {
    if !rustix::process::geteuid().is_root() {
        eprintln!("{name}: skipped, needs root");
        return None;
    }
    Some(SERIAL.lock().unwrap_or_else(|e| e.into_inner()))
}

/// A scratch directory removed on drop; mounts below it must be gone
/// first (see [`Mounted`]), so removal never reaches into a mount.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p =
            std::path::PathBuf::from(format!("/tmp/cfs-mount-test.{}.{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).unwrap();
        Scratch(p)
    }
    fn sub(&self, name: &str) -> CString {
        let p = self.0.join(name);
        if !p.exists() {
            std::fs::create_dir_all(&p).unwrap();
        }
        CString::new(p.into_os_string().into_encoded_bytes()).unwrap()
    }
    fn file(&self, name: &str, data: &[u8]) -> CString {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        CString::new(p.into_os_string().into_encoded_bytes()).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let prefix = self.0.to_string_lossy().into_owned();
        if mountinfo().iter().any(|m| m.target.starts_with(&prefix)) {
            // Never delete through a live mount.
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Unmounts its path on drop (also when an assertion failed).
struct Mounted(CString);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = unmount(self.0.as_c_str(), UnmountFlags::DETACH);
    }
}

#[derive(Debug, Clone)]
struct MountEntry {
    target: String,
    fstype: String,
    source: String,
    mount_opts: String,
    super_opts: String,
}

fn mountinfo() -> Vec<MountEntry> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            Some(MountEntry {
                target: pre.get(4)?.to_string(),
                mount_opts: pre.get(5)?.to_string(),
                fstype: post.first()?.to_string(),
                source: post.get(1)?.to_string(),
                super_opts: post.get(2)?.to_string(),
            })
        })
        .collect()
}

fn mount_at(target: &CStr) -> Option<MountEntry> {
    let t = target.to_str().unwrap();
    mountinfo().into_iter().rev().find(|m| m.target == t)
}

/// Backing files of all bound loop devices (what `losetup -a` lists).
fn loop_backings() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/sys/block").unwrap().flatten() {
        let p = e.path().join("loop/backing_file");
        if let Ok(s) = std::fs::read_to_string(p) {
            out.push(s.trim().to_string());
        }
    }
    out.sort();
    out
}

/// Our scratch dirs and image mounts, which must never outlive a call.
fn leftovers() -> (Vec<String>, Vec<String>) {
    let mut dirs: Vec<String> = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".composefs."))
        .collect();
    dirs.sort();
    let mut mounts: Vec<String> = mountinfo()
        .into_iter()
        .filter(|m| m.target.starts_with("/tmp/.composefs.") || m.fstype == "erofs")
        .map(|m| m.target)
        .collect();
    mounts.sort();
    (dirs, mounts)
}

/// Autoclear runs asynchronously after the last close; give it a moment.
fn wait_loops_back_to(before: &[String]) -> Vec<String> {
    for _ in 0..100 {
        let now = loop_backings();
        if now == before {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    loop_backings()
}

fn open_ro(path: &CStr) -> OwnedFd {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap()
}

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn path_of(c: &CStr) -> std::path::PathBuf {
    std::path::PathBuf::from(c.to_str().unwrap())
}

#[test]
fn image_mounts_through_the_new_api_and_leaves_nothing_behind() {
    let Some(_g) = root_only("image_mounts_through_the_new_api") else {
        return;
    };
    let before = leftovers();
    let s = Scratch::new("full");
    let img = s.file("img.cfs", &testimg::image(0));
    let objs = s.sub("objs");
    testimg::populate_objdir(&path_of(&objs)).unwrap();
    let mnt = s.sub("mnt");
    let o = opts(vec![objs.as_c_str()]);
    mount_image(&img, &mnt, &o).unwrap();
    let _m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert_eq!(
        (e.fstype.as_str(), e.source.as_str()),
        ("overlay", "composefs")
    );
    assert!(e.super_opts.contains("metacopy=on"), "{e:?}");
    assert!(e.super_opts.contains("redirect_dir=on"), "{e:?}");
    assert!(e.mount_opts.starts_with("rw"), "{e:?}");
    assert_eq!(read(&path_of(&mnt).join("hello")), testimg::HELLO);
    // Data through the metacopy redirect into the data-only layer.
    assert_eq!(read(&path_of(&mnt).join("remote")), testimg::REMOTE);
    assert_eq!(leftovers(), before);
    drop(_m);
    assert!(mount_at(&mnt).is_none());
}

#[test]
fn readonly_and_image_mountdir() {
    let Some(_g) = root_only("readonly_and_image_mountdir") else {
        return;
    };
    let before = leftovers();
    let s = Scratch::new("ro");
    let img = s.file("img.cfs", &testimg::image(0));
    let objs = s.sub("objs");
    let mnt = s.sub("mnt");
    let scratch = s.sub("imgmnt");
    let o = MountOptions {
        flags: FLAGS_READONLY,
        image_mountdir: Some(&scratch),
        ..opts(vec![objs.as_c_str()])
    };
    let fd = open_ro(&img);
    mount_fd(fd.as_fd(), &mnt, &o).unwrap();
    let _m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert!(e.mount_opts.starts_with("ro"), "{e:?}");
    // The caller's directory is kept, with nothing mounted on it.
    assert!(path_of(&scratch).is_dir());
    assert!(mount_at(&scratch).is_none());
    assert_eq!(leftovers(), before);
    let w = std::fs::write(path_of(&mnt).join("new"), b"x").unwrap_err();
    assert_eq!(w.raw_os_error(), Some(libc::EROFS));
}

#[test]
fn failures_clean_up() {
    let Some(_g) = root_only("failures_clean_up") else {
        return;
    };
    let before = leftovers();
    let loops = loop_backings();
    let s = Scratch::new("fail");
    let img = s.file("img.cfs", &testimg::image(0));
    let objs = s.sub("objs");
    let o = opts(vec![objs.as_c_str()]);
    // Overlay fails (no mountpoint) after the image was mounted.
    let missing = CString::new(format!("{}/missing", s.0.display())).unwrap();
    assert_eq!(errno_of(mount_image(&img, &missing, &o)), libc::ENOENT);
    // Image fails: not EROFS past the header, then not composefs at all.
    let mut broken = testimg::image(0);
    broken[1024..1028].copy_from_slice(&[0; 4]);
    let broken = s.file("broken.cfs", &broken);
    let mnt = s.sub("mnt");
    assert_eq!(errno_of(mount_image(&broken, &mnt, &o)), libc::EINVAL);
    let junk = s.file("junk", &[0u8; 4096]);
    assert_eq!(errno_of(mount_image(&junk, &mnt, &o)), libc::EINVAL);
    let short = s.file("short", &testimg::image(0)[..31]);
    assert_eq!(errno_of(mount_image(&short, &mnt, &o)), libc::EINVAL);
    assert_eq!(
        errno_of(mount_image(c"/nonexistent.cfs", &mnt, &o)),
        libc::ENOENT
    );
    // A missing object dir fails in fsconfig, with the kernel's errno.
    let gone = opts(vec![c"/nonexistent-objs"]);
    assert_eq!(errno_of(mount_image(&img, &mnt, &gone)), libc::ENOENT);
    // A caller's image_mountdir survives a failed image mount (C would
    // rmdir it here; we never remove what we did not create).
    let given = s.sub("given");
    let o2 = MountOptions {
        image_mountdir: Some(&given),
        ..o.clone()
    };
    assert_eq!(errno_of(mount_image(&broken, &mnt, &o2)), libc::EINVAL);
    assert!(path_of(&given).is_dir());
    // The loop path cleans up too.
    let fd = open_ro(&broken);
    let r = mount_erofs_loop(fd.as_fd(), Some(&broken), &mnt, false, None);
    assert_eq!(errno_of(r), libc::EINVAL);
    assert!(mount_at(&mnt).is_none());
    assert_eq!(leftovers(), before);
    assert_eq!(wait_loops_back_to(&loops), loops);
}

#[test]
fn expected_digest_on_a_kernel_without_verity() {
    let Some(_g) = root_only("expected_digest") else {
        return;
    };
    let s = Scratch::new("verity");
    let img = s.file("img.cfs", &testimg::image(0));
    let objs = s.sub("objs");
    let mnt = s.sub("mnt");
    let digest = CString::new("ab".repeat(32)).unwrap();
    let o = MountOptions {
        expected_digest: Some(&digest),
        ..opts(vec![objs.as_c_str()])
    };
    let r = mount_image(&img, &mnt, &o);
    // fs-verity is unsupported here, or at least not enabled on the image.
    assert_eq!(errno_of(r), verity::ENOVERITY);
    assert!(mount_at(&mnt).is_none());
}

#[test]
fn erofs_acl_flag_controls_noacl() {
    let Some(_g) = root_only("erofs_acl_flag_controls_noacl") else {
        return;
    };
    let s = Scratch::new("acl");
    for (flags, want) in [
        (0, "noacl"),
        (crate::erofs::format::LCFS_EROFS_FLAGS_HAS_ACL, "acl"),
    ] {
        let img = s.file("img.cfs", &testimg::image(flags));
        let mnt = s.sub("mnt");
        let fd = open_ro(&img);
        let src = CString::new(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        ))
        .unwrap();
        mount_erofs_new(&src, &mnt, flags != 0, None).unwrap();
        let _m = Mounted(mnt.clone());
        let e = mount_at(&mnt).unwrap();
        assert_eq!(e.fstype, "erofs");
        assert!(e.mount_opts.starts_with("ro"), "{e:?}");
        assert!(e.super_opts.split(',').any(|o| o == want), "{e:?}");
        assert_eq!(read(&path_of(&mnt).join("hello")), testimg::HELLO);
    }
}

#[test]
fn erofs_through_mount2() {
    let Some(_g) = root_only("erofs_through_mount2") else {
        return;
    };
    let s = Scratch::new("legacy-erofs");
    let img = s.file("img.cfs", &testimg::image(0));
    let mnt = s.sub("mnt");
    // Idmapped mounts need the new API.
    assert_eq!(
        errno_of(mount_erofs_legacy(&img, &mnt, false, Some(0))),
        libc::EOPNOTSUPP
    );
    mount_erofs_legacy(&img, &mnt, false, None).unwrap();
    let _m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert_eq!(e.fstype, "erofs");
    assert!(e.super_opts.split(',').any(|o| o == "noacl"), "{e:?}");
    assert_eq!(read(&path_of(&mnt).join("hello")), testimg::HELLO);
}

#[test]
fn erofs_through_a_loop_device() {
    let Some(_g) = root_only("erofs_through_a_loop_device") else {
        return;
    };
    let loops = loop_backings();
    let s = Scratch::new("loop");
    let img = s.file("img.cfs", &testimg::image(0));
    let mnt = s.sub("mnt");
    let fd = open_ro(&img);
    mount_erofs_loop(fd.as_fd(), Some(&img), &mnt, false, None).unwrap();
    let m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert_eq!(e.fstype, "erofs");
    assert!(e.source.starts_with("/dev/loop"), "{e:?}");
    let dev = e.source.trim_start_matches("/dev/");
    let sys = std::path::Path::new("/sys/block").join(dev);
    let attr = |n: &str| {
        std::fs::read_to_string(sys.join(n))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(attr("loop/backing_file"), img.to_str().unwrap());
    assert_eq!(attr("loop/autoclear"), "1");
    assert_eq!(attr("ro"), "1");
    assert_eq!(attr("loop/dio"), "1");
    assert_eq!(attr("queue/logical_block_size"), "4096");
    assert_eq!(read(&path_of(&mnt).join("hello")), testimg::HELLO);
    // The overlay stacks on a loop-backed image like on a file-backed one.
    let objs = s.sub("objs");
    testimg::populate_objdir(&path_of(&objs)).unwrap();
    let top = s.sub("top");
    mount_overlay_new(&mnt, &opts(vec![objs.as_c_str()]), &top).unwrap();
    let t = Mounted(top.clone());
    assert_eq!(read(&path_of(&top).join("remote")), testimg::REMOTE);
    drop(t);
    drop(m);
    // Autoclear: the device goes away with the mount.
    assert_eq!(wait_loops_back_to(&loops), loops);
}

#[test]
fn overlay_through_mount2_with_escaped_paths() {
    let Some(_g) = root_only("overlay_through_mount2") else {
        return;
    };
    let s = Scratch::new("legacy-ovl");
    let lower = s.sub("low,er");
    let data1 = s.sub("da,ta1");
    let data2 = s.sub("data2");
    std::fs::write(path_of(&lower).join("f"), b"lower").unwrap();
    let upper = s.sub("up,per");
    let work = s.sub("work");
    let mnt = s.sub("mnt");
    let o = MountOptions {
        upperdir: Some(&upper),
        workdir: Some(&work),
        ..opts(vec![data1.as_c_str(), data2.as_c_str()])
    };
    mount_overlay_legacy(&lower, &o, &mnt).unwrap();
    let m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert_eq!(
        (e.fstype.as_str(), e.source.as_str()),
        ("overlay", "composefs")
    );
    assert!(e.super_opts.contains("metacopy=on"), "{e:?}");
    assert_eq!(read(&path_of(&mnt).join("f")), b"lower");
    std::fs::write(path_of(&mnt).join("new"), b"up").unwrap();
    drop(m);
    assert_eq!(read(&path_of(&upper).join("new")), b"up");

    // Read-only and verity=require reach the kernel through the string.
    let o = MountOptions {
        flags: FLAGS_READONLY | FLAGS_REQUIRE_VERITY,
        ..opts(vec![data1.as_c_str()])
    };
    mount_overlay_legacy(&lower, &o, &mnt).unwrap();
    let _m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert!(e.mount_opts.starts_with("ro"), "{e:?}");
    assert!(e.super_opts.contains("verity=require"), "{e:?}");
}

#[test]
fn overlay_through_the_new_api_with_commas() {
    let Some(_g) = root_only("overlay_through_the_new_api") else {
        return;
    };
    let s = Scratch::new("new-ovl");
    let lower = s.sub("low,er");
    let data = s.sub("da,ta");
    std::fs::write(path_of(&lower).join("f"), b"lower").unwrap();
    let mnt = s.sub("mnt");
    let o = MountOptions {
        flags: FLAGS_TRY_VERITY,
        ..opts(vec![data.as_c_str()])
    };
    mount_overlay_new(&lower, &o, &mnt).unwrap();
    let _m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert!(e.super_opts.contains("verity=require"), "{e:?}");
    assert_eq!(read(&path_of(&mnt).join("f")), b"lower");
}

#[test]
fn whole_chain_through_mount2() {
    let Some(_g) = root_only("whole_chain_through_mount2") else {
        return;
    };
    let s = Scratch::new("legacy-chain");
    let img = s.file("img.cfs", &testimg::image(0));
    let empty = s.sub("empty-objs");
    let objs = s.sub("ob,js");
    testimg::populate_objdir(&path_of(&objs)).unwrap();
    let lower = s.sub("image");
    let mnt = s.sub("mnt");
    mount_erofs_legacy(&img, &lower, false, None).unwrap();
    let _l = Mounted(lower.clone());
    // The object is found in the second data-only layer.
    let o = opts(vec![empty.as_c_str(), objs.as_c_str()]);
    mount_overlay_legacy(&lower, &o, &mnt).unwrap();
    let _m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert!(e.super_opts.contains("empty-objs::"), "{e:?}");
    assert_eq!(read(&path_of(&mnt).join("remote")), testimg::REMOTE);
    assert_eq!(read(&path_of(&mnt).join("hello")), testimg::HELLO);
}

/// A process in a new user namespace mapping 0..65536 to 100000..; killed
/// on drop.
struct UserNs(std::process::Child);

impl UserNs {
    fn new() -> Option<UserNs> {
        let child = std::process::Command::new("unshare")
            .args(["-U", "sleep", "60"])
            .spawn()
            .ok()?;
        let ns = UserNs(child);
        let pid = ns.0.id();
        // Wait for unshare to have exec'd sleep inside the namespace.
        for _ in 0..100 {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            if comm.trim() == "sleep" {
                for map in ["uid_map", "gid_map"] {
                    std::fs::write(format!("/proc/{pid}/{map}"), "0 100000 65536").ok()?;
                }
                return Some(ns);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        None
    }
    fn path(&self) -> CString {
        CString::new(format!("/proc/{}/ns/user", self.0.id())).unwrap()
    }
}

impl Drop for UserNs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn idmapped_image_mount() {
    let Some(_g) = root_only("idmapped_image_mount") else {
        return;
    };
    let Some(ns) = UserNs::new() else {
        eprintln!("idmapped_image_mount: skipped, cannot run unshare -U");
        return;
    };
    let s = Scratch::new("idmap");
    let img = s.file("img.cfs", &testimg::image(0));
    let objs = s.sub("objs");
    testimg::populate_objdir(&path_of(&objs)).unwrap();
    let mnt = s.sub("mnt");
    let userns = open_ro(&ns.path());
    let o = MountOptions {
        flags: FLAGS_IDMAP,
        idmap_fd: std::os::fd::AsRawFd::as_raw_fd(&userns),
        ..opts(vec![objs.as_c_str()])
    };
    mount_image(&img, &mnt, &o).unwrap();
    let _m = Mounted(mnt.clone());
    // Files owned by 0 in the image show up as the namespace's 0.
    let st = rustix::fs::stat(path_of(&mnt).join("hello")).unwrap();
    assert_eq!((st.st_uid, st.st_gid), (100000, 100000));
    assert_eq!(read(&path_of(&mnt).join("remote")), testimg::REMOTE);
    drop(_m);
    // An fd that is not a user namespace: the kernel's EINVAL, no leftovers.
    let before = leftovers();
    let null = open_ro(c"/dev/null");
    let o = MountOptions {
        idmap_fd: std::os::fd::AsRawFd::as_raw_fd(&null),
        ..o
    };
    assert_eq!(errno_of(mount_image(&img, &mnt, &o)), libc::EINVAL);
    assert_eq!(leftovers(), before);
}
