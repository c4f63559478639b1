//! `lcfs_build`: a recursive walk that loads every entry below a
//! directory, in readdir order, reporting the first failing path.

use std::ffi::CStr;
use std::os::fd::BorrowedFd;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::content::{open_content, set_from_content};
use super::pool::{work, worker_count, Job, Pool, Shared};
use super::{content_plan, flags, load_node_with};
use crate::error::{Error, Result};
use crate::node::{add_child, NodeRef};

/// A failure of `lcfs_build`: the error and the path C would report.
#[derive(Debug)]
pub struct BuildError {
    pub error: Error,
    pub failed_path: Vec<u8>,
}

/// A failure and its position in the walk.
#[derive(Debug)]
pub(crate) struct Fail {
    pub seq: u64,
    pub error: Error,
    pub path: Vec<u8>,
}

/// C's `maybe_join_path`: "a/b", without doubling a trailing slash.
pub(crate) fn join_path(a: &[u8], b: Option<&[u8]>) -> Vec<u8> {
    let mut out = a.to_vec();
    if let Some(b) = b {
        if !a.is_empty() && !a.ends_with(b"/") {
            out.push(b'/');
        }
        out.extend_from_slice(b);
    }
    out
}

/// `lcfs_build`.
pub fn build(
    dirfd: BorrowedFd<'_>,
    name: &CStr,
    buildflags: i32,
) -> std::result::Result<NodeRef, BuildError> {
    let hashes = buildflags & (flags::COMPUTE_DIGEST | flags::BY_DIGEST) != 0;
    let threads = worker_count(hashes);
    let shared = Shared::default();
    let walked = if threads == 0 {
        Walker::new(buildflags, None).dir(dirfd, name, &Arc::new(Vec::new()))
    } else {
        let (tx, rx) = sync_channel::<Job>(threads * 8);
        let rx = Mutex::new(rx);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| work(&rx, &shared, buildflags));
            }
            let pool = Pool {
                tx,
                shared: &shared,
            };
            // The walker (and with it the sender) is dropped before the
            // scope joins the workers, which lets them finish.
            Walker::new(buildflags, Some(pool)).dir(dirfd, name, &Arc::new(Vec::new()))
        })
    };
    let first = match (walked, shared.take_failure()) {
        (Ok(node), None) => return Ok(node),
        (Ok(_), Some(f)) => f,
        (Err(w), None) => w,
        (Err(w), Some(f)) => {
            if f.seq < w.seq {
                f
            } else {
                w
            }
        }
    };
    Err(BuildError {
        error: first.error,
        failed_path: first.path,
    })
}

struct Walker<'a> {
    buildflags: i32,
    seq: u64,
    pool: Option<Pool<'a>>,
}

impl<'a> Walker<'a> {
    fn new(buildflags: i32, pool: Option<Pool<'a>>) -> Self {
        Walker {
            buildflags,
            seq: 0,
            pool,
        }
    }

    fn fail(&self, error: Error, path: Vec<u8>) -> Fail {
        Fail {
            seq: self.seq,
            error,
            path,
        }
    }

    /// Loads one entry; regular files that need hashing go to the pool.
    fn load(
        &mut self,
        dirfd: BorrowedFd<'_>,
        name: &CStr,
        dir_path: &Arc<Vec<u8>>,
    ) -> std::result::Result<NodeRef, Fail> {
        self.seq += 1;
        let seq = self.seq;
        let buildflags = self.buildflags;
        let pool = self.pool.as_ref();
        let mut on_regular = |node: &NodeRef| -> Result<()> {
            let plan = content_plan(node.lock().inode.size, buildflags);
            match pool {
                Some(p) if plan.digest => {
                    let fd = open_content(dirfd, name)?;
                    p.submit(
                        Job {
                            seq,
                            node: node.clone(),
                            fd,
                            plan,
                            dir_path: dir_path.clone(),
                            name: name.into(),
                        },
                        buildflags,
                    );
                    Ok(())
                }
                _ => set_from_content(node, dirfd, name, buildflags),
            }
        };
        load_node_with(dirfd, name, buildflags, &mut on_regular)
            .map_err(|e| self.fail(e, join_path(dir_path, Some(name.to_bytes()))))
    }

    /// Builds `name` (below `dirfd`, whose path is `parent_path`).
    fn dir(
        &mut self,
        dirfd: BorrowedFd<'_>,
        name: &CStr,
        parent_path: &Arc<Vec<u8>>,
    ) -> std::result::Result<NodeRef, Fail> {
        let node = self.load(dirfd, name, parent_path)?;
        if !node.lock().is_dir() {
            return Ok(node);
        }
        let path = Arc::new(join_path(parent_path, Some(name.to_bytes())));
        let dfd = rustix::fs::openat(
            dirfd,
            name,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.fail(e.into(), path.to_vec()))?;
        let mut entries =
            rustix::fs::Dir::new(dfd).map_err(|e| self.fail(e.into(), path.to_vec()))?;
        while let Some(entry) = entries.read() {
            if self.pool.as_ref().is_some_and(Pool::stopped) {
                // A hashing job failed earlier in walk order; that one wins.
                return Err(Fail {
                    seq: u64::MAX,
                    error: Error::Os(libc::ECANCELED),
                    path: Vec::new(),
                });
            }
            let entry = entry.map_err(|e| self.fail(e.into(), path.to_vec()))?;
            let dfd = entries
                .fd()
                .map_err(|e| self.fail(e.into(), path.to_vec()))?;
            let child_name = entry.file_name();
            if child_name == c"." || child_name == c".." {
                continue;
            }
            let mut ftype = entry.file_type();
            if ftype == FileType::Unknown {
                let st = rustix::fs::statat(dfd, child_name, AtFlags::SYMLINK_NOFOLLOW).map_err(
                    |e| self.fail(e.into(), join_path(&path, Some(child_name.to_bytes()))),
                )?;
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    ftype = FileType::Directory;
                }
            }
            let child = if ftype == FileType::Directory {
                self.dir(dfd, child_name, &path)?
            } else {
                let is_device = matches!(ftype, FileType::BlockDevice | FileType::CharacterDevice);
                if is_device && self.buildflags & flags::SKIP_DEVICES != 0 {
                    continue;
                }
                self.load(dfd, child_name, &path)?
            };
            add_child(&node, &child, child_name).map_err(|e| self.fail(e, path.to_vec()))?;
        }
        Ok(node)
    }
}
