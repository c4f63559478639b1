//! Mounts on the running kernel (root only; skipped otherwise).

use std::ffi::CString;
use std::os::fd::AsFd;

use super::harness::*;
use super::{errno_of, opts};
use crate::mount::*;

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
