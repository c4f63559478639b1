//! Helpers for the tests against the running kernel: scratch directories,
//! unmount guards, mount table and loop device snapshots, a user namespace.

use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard};

use rustix::fs::{Mode, OFlags};
use rustix::mount::{unmount, UnmountFlags};

/// Mount tests share the host's mount table and loop devices: one at a time.
pub(in crate::mount) static SERIAL: Mutex<()> = Mutex::new(());

/// The serialising guard, or None (test skipped) when not root, or when
/// LCFS_TEST_UNPRIVILEGED is set (distribution builds: no mounts even as root).
pub(super) fn root_only(name: &str) -> Option<MutexGuard<'static, ()>> {
    if !rustix::process::geteuid().is_root() {
        eprintln!("{name}: skipped, needs root");
        return None;
    }
    if std::env::var_os("LCFS_TEST_UNPRIVILEGED").is_some() {
        eprintln!("{name}: skipped, LCFS_TEST_UNPRIVILEGED is set");
        return None;
    }
    Some(SERIAL.lock().unwrap_or_else(|e| e.into_inner()))
}

/// A scratch directory removed on drop; mounts below it must be gone
/// first (see [`Mounted`]), so removal never reaches into a mount.
pub(super) struct Scratch(pub(super) std::path::PathBuf);

impl Scratch {
    pub(super) fn new(tag: &str) -> Scratch {
        let p =
            std::path::PathBuf::from(format!("/tmp/cfs-mount-test.{}.{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir(&p).unwrap();
        Scratch(p)
    }
    pub(super) fn sub(&self, name: &str) -> CString {
        let p = self.0.join(name);
        if !p.exists() {
            std::fs::create_dir_all(&p).unwrap();
        }
        CString::new(p.into_os_string().into_encoded_bytes()).unwrap()
    }
    pub(super) fn file(&self, name: &str, data: &[u8]) -> CString {
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
pub(super) struct Mounted(pub(super) CString);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = unmount(self.0.as_c_str(), UnmountFlags::DETACH);
    }
}

#[derive(Debug, Clone)]
pub(super) struct MountEntry {
    pub(super) target: String,
    pub(super) fstype: String,
    pub(super) source: String,
    pub(super) mount_opts: String,
    pub(super) super_opts: String,
}

pub(super) fn mountinfo() -> Vec<MountEntry> {
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

pub(super) fn mount_at(target: &CStr) -> Option<MountEntry> {
    let t = target.to_str().unwrap();
    mountinfo().into_iter().rev().find(|m| m.target == t)
}

/// Backing files of all bound loop devices (what `losetup -a` lists).
pub(super) fn loop_backings() -> Vec<String> {
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
pub(super) fn leftovers() -> (Vec<String>, Vec<String>) {
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
pub(super) fn wait_loops_back_to(before: &[String]) -> Vec<String> {
    for _ in 0..100 {
        let now = loop_backings();
        if now == before {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    loop_backings()
}

pub(super) fn open_ro(path: &CStr) -> OwnedFd {
    rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap()
}

pub(super) fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

pub(super) fn path_of(c: &CStr) -> std::path::PathBuf {
    std::path::PathBuf::from(c.to_str().unwrap())
}

/// on drop.
pub(super) struct UserNs(std::process::Child);

impl UserNs {
    pub(super) fn new() -> Option<UserNs> {
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
    pub(super) fn path(&self) -> CString {
        CString::new(format!("/proc/{}/ns/user", self.0.id())).unwrap()
    }
}

impl Drop for UserNs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
