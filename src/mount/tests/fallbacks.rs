//! The fallbacks for older kernels, run for real on this one: a step made
//! to fail as an old kernel would (see `mount::inject`) and the whole
//! `mount_image` checked by what ends up mounted, what it shows, and that
//! nothing (mounts, scratch dirs, loop devices) is left behind.

use rustix::io::Errno;

use super::harness::*;
use super::{errno_of, opts};
use crate::mount::inject::{inject, Step};
use crate::mount::*;

/// Mounts the test image with `flags` under `steps`, checks both files,
/// returns the overlay's mount entry and whether a loop device carried
/// the image. Everything is unmounted and released afterwards.
fn mount_with(tag: &str, steps: &[(Step, Errno)], flags: u32) -> (MountEntry, bool) {
    let before = leftovers();
    let loops = loop_backings();
    let s = Scratch::new(tag);
    let img = s.file("img.cfs", &testimg::image(0));
    let empty = s.sub("empty-objs");
    let objs = s.sub("objs");
    testimg::populate_objdir(&path_of(&objs)).unwrap();
    let mnt = s.sub("mnt");
    let o = MountOptions {
        flags,
        ..opts(vec![empty.as_c_str(), objs.as_c_str()])
    };
    let injected = inject(steps);
    mount_image(&img, &mnt, &o).unwrap();
    drop(injected);
    let m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert_eq!(
        (e.fstype.as_str(), e.source.as_str()),
        ("overlay", "composefs")
    );
    assert_eq!(read(&path_of(&mnt).join("hello")), testimg::HELLO);
    let remote = std::fs::read(path_of(&mnt).join("remote"));
    if e.super_opts.contains("verity=require") {
        // The object has no fs-verity here, which the overlay enforces.
        assert_eq!(remote.unwrap_err().raw_os_error(), Some(libc::EIO));
    } else {
        assert_eq!(remote.unwrap(), testimg::REMOTE);
    }
    let looped = loop_backings().contains(&img.to_str().unwrap().to_string());
    // The image mount is detached and its scratch dir gone already.
    assert_eq!(leftovers(), before);
    drop(m);
    assert_eq!(
        wait_loops_back_to(&loops),
        loops,
        "loop device not released"
    );
    (e, looped)
}

#[test]
fn no_file_backed_erofs_falls_back_to_a_loop_device() {
    let Some(_g) = root_only("no_file_backed_erofs") else {
        return;
    };
    let (e, looped) = mount_with("fb-loop", &[(Step::ErofsFileSource, Errno::NOTBLK)], 0);
    assert!(looped, "no loop device carried the image");
    assert!(e.super_opts.contains("lowerdir+="), "{e:?}");
    // Without the injection the file is mounted directly.
    let (_, looped) = mount_with("fb-file", &[], 0);
    assert!(!looped);
}

#[test]
fn no_new_mount_api_falls_back_to_mount2() {
    let Some(_g) = root_only("no_new_mount_api") else {
        return;
    };
    let steps = [
        (Step::ErofsNewApi, Errno::NOSYS),
        (Step::OverlayNewApi, Errno::NOSYS),
    ];
    let (e, looped) = mount_with("fb-mount2", &steps, FLAGS_READONLY);
    assert!(!looped);
    // The option string, with "::" data-only layers.
    assert!(e.super_opts.contains("lowerdir=/tmp/.composefs."), "{e:?}");
    assert!(e.super_opts.contains("::"), "{e:?}");
    assert!(e.mount_opts.starts_with("ro"), "{e:?}");
}

#[test]
fn oldest_kernels_loop_mount2_and_plain_lower_layers() {
    let Some(_g) = root_only("oldest_kernels") else {
        return;
    };
    let steps = [
        (Step::ErofsNewApi, Errno::NOSYS),
        (Step::ErofsFileSource, Errno::NOTBLK),
        (Step::OverlayNewApi, Errno::NOSYS),
        (Step::OverlayDataOnly, Errno::INVAL),
    ];
    let (e, looped) = mount_with("fb-oldest", &steps, 0);
    assert!(looped, "no loop device carried the image");
    assert!(e.super_opts.contains("lowerdir=/tmp/.composefs."), "{e:?}");
    assert!(!e.super_opts.contains("::"), "{e:?}");
    assert!(e.super_opts.contains("empty-objs:"), "{e:?}");
}

#[test]
fn try_verity_tolerates_a_missing_verity_key_require_does_not() {
    let Some(_g) = root_only("try_verity_tolerates") else {
        return;
    };
    let steps = [(Step::OverlayVerity, Errno::INVAL)];
    let (e, _) = mount_with("fb-try", &steps, FLAGS_TRY_VERITY);
    assert!(!e.super_opts.contains("verity"), "{e:?}");
    let (e, _) = mount_with("fb-try-ok", &[], FLAGS_TRY_VERITY);
    assert!(e.super_opts.contains("verity=require"), "{e:?}");

    let before = leftovers();
    let s = Scratch::new("fb-require");
    let img = s.file("img.cfs", &testimg::image(0));
    let objs = s.sub("objs");
    let mnt = s.sub("mnt");
    let o = MountOptions {
        flags: FLAGS_REQUIRE_VERITY,
        ..opts(vec![objs.as_c_str()])
    };
    let injected = inject(&steps);
    assert_eq!(errno_of(mount_image(&img, &mnt, &o)), libc::EINVAL);
    drop(injected);
    assert!(mount_at(&mnt).is_none());
    assert_eq!(leftovers(), before);
}

#[test]
fn failures_on_the_fallback_paths_clean_up() {
    let Some(_g) = root_only("fallback_failures") else {
        return;
    };
    let before = leftovers();
    let loops = loop_backings();
    let s = Scratch::new("fb-fail");
    let mut broken = testimg::image(0);
    broken[1024..1028].copy_from_slice(&[0; 4]);
    let broken = s.file("broken.cfs", &broken);
    let img = s.file("img.cfs", &testimg::image(0));
    let objs = s.sub("objs");
    let mnt = s.sub("mnt");
    let missing = s.sub("gone");
    std::fs::remove_dir(path_of(&missing)).unwrap();
    let o = opts(vec![objs.as_c_str()]);
    let old = [
        (Step::ErofsNewApi, Errno::NOSYS),
        (Step::ErofsFileSource, Errno::NOTBLK),
        (Step::OverlayNewApi, Errno::NOSYS),
    ];
    let _i = inject(&old);
    // The kernel refuses the image on the loop device.
    assert_eq!(errno_of(mount_image(&broken, &mnt, &o)), libc::EINVAL);
    // The overlay fails after the looped image was mounted.
    assert_eq!(errno_of(mount_image(&img, &missing, &o)), libc::ENOENT);
    drop(_i);
    assert_eq!(leftovers(), before);
    assert_eq!(
        wait_loops_back_to(&loops),
        loops,
        "loop device not released"
    );
}

#[test]
fn image_source_is_the_fd_path_or_the_loop_device() {
    let Some(_g) = root_only("image_source") else {
        return;
    };
    let loops = loop_backings();
    let s = Scratch::new("fb-source");
    let img = s.file("img.cfs", &testimg::image(0));
    let fd = open_ro(&img);
    let want = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    let mnt = s.sub("mnt");
    let bfd = std::os::fd::AsFd::as_fd(&fd);
    crate::mount::erofs::mount_erofs_image(bfd, Some(&img), &mnt, false, None).unwrap();
    let m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert_eq!(
        (e.fstype.as_str(), e.source.as_str()),
        ("erofs", want.as_str())
    );
    assert!(e.mount_opts.starts_with("ro"), "{e:?}");
    drop(m);
    let injected = inject(&[(Step::ErofsFileSource, Errno::NOTBLK)]);
    crate::mount::erofs::mount_erofs_image(bfd, Some(&img), &mnt, false, None).unwrap();
    drop(injected);
    let m = Mounted(mnt.clone());
    let e = mount_at(&mnt).unwrap();
    assert!(e.source.starts_with("/dev/loop"), "{e:?}");
    assert_eq!(read(&path_of(&mnt).join("hello")), testimg::HELLO);
    drop(m);
    assert_eq!(
        wait_loops_back_to(&loops),
        loops,
        "loop device not released"
    );
}

#[test]
fn idmap_without_mount_setattr_is_enosys_as_in_c() {
    let Some(_g) = root_only("idmap_without_mount_setattr") else {
        return;
    };
    // Debian's 5.10 has the new mount API but no mount_setattr: the idmap
    // fails with ENOSYS, which must not be taken for a missing fsopen (that
    // would retry through mount(2), which cannot idmap: EOPNOTSUPP).
    let before = leftovers();
    let s = Scratch::new("fb-idmap");
    let img = s.file("img.cfs", &testimg::image(0));
    let objs = s.sub("objs");
    let mnt = s.sub("mnt");
    // The injected error comes before the kernel looks at the namespace.
    let null = open_ro(c"/dev/null");
    let o = MountOptions {
        flags: FLAGS_IDMAP,
        idmap_fd: std::os::fd::AsRawFd::as_raw_fd(&null),
        ..opts(vec![objs.as_c_str()])
    };
    let injected = inject(&[(Step::MountSetattr, Errno::NOSYS)]);
    assert_eq!(errno_of(mount_image(&img, &mnt, &o)), libc::ENOSYS);
    drop(injected);
    assert!(mount_at(&mnt).is_none());
    assert_eq!(leftovers(), before);
    // Without the new API at all, an idmap is EOPNOTSUPP, as in C.
    let injected = inject(&[(Step::ErofsNewApi, Errno::NOSYS)]);
    assert_eq!(errno_of(mount_image(&img, &mnt, &o)), libc::EOPNOTSUPP);
    drop(injected);
    assert_eq!(leftovers(), before);
}
