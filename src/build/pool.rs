//! Worker threads that hash regular files for `lcfs_build` while the
//! directory walk goes on. Jobs carry their position in the walk so the
//! error reported is the one C would have met first.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use super::content::apply;
use super::walk::{join_path, Fail};
use super::ContentPlan;
use crate::node::NodeRef;

/// One file to hash: its node, an open descriptor, and where it sits.
pub(crate) struct Job {
    pub seq: u64,
    pub node: NodeRef,
    pub fd: OwnedFd,
    pub plan: ContentPlan,
    pub dir_path: Arc<Vec<u8>>,
    pub name: CString,
}

/// State shared between the walker and the workers.
#[derive(Default)]
pub(crate) struct Shared {
    /// The failure earliest in walk order among finished jobs.
    pub first_fail: Mutex<Option<Fail>>,
    /// Set after any failure: the walker stops, queued jobs are dropped.
    pub stop: AtomicBool,
}

impl Shared {
    fn record(&self, fail: Fail) {
        let mut slot = self.first_fail.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().map_or(true, |f| fail.seq < f.seq) {
            *slot = Some(fail);
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn take_failure(&self) -> Option<Fail> {
        self.first_fail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// The walker's handle for submitting jobs.
pub(crate) struct Pool<'a> {
    pub tx: SyncSender<Job>,
    pub shared: &'a Shared,
}

impl Pool<'_> {
    /// Queues `job`; when the queue is full the workers are all busy, so
    /// the walker hashes this one itself instead of waiting.
    pub fn submit(&self, job: Job, buildflags: i32) {
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => run(job, self.shared, buildflags),
            // Workers only hang up after the walk has dropped this sender.
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
    pub fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }
}

/// A worker: takes jobs in submission order until the sender is dropped.
pub(crate) fn work(rx: &Mutex<Receiver<Job>>, shared: &Shared, buildflags: i32) {
    loop {
        let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(j) => j,
            Err(_) => return,
        };
        run(job, shared, buildflags);
    }
}

/// Does one job, unless an earlier failure stopped the build.
fn run(job: Job, shared: &Shared, buildflags: i32) {
    if shared.stop.load(Ordering::Relaxed) {
        return;
    }
    if let Err(error) = apply(&job.node, job.fd.as_fd(), job.plan, buildflags) {
        shared.record(Fail {
            seq: job.seq,
            error,
            path: join_path(&job.dir_path, Some(job.name.as_bytes())),
        });
    }
}

/// How many hashing threads `lcfs_build` uses: none when nothing is
/// hashed or there is a single core.
pub(crate) fn worker_count(hashes: bool) -> usize {
    if !hashes {
        return 0;
    }
    match std::thread::available_parallelism().map(|n| n.get()) {
        Ok(n) if n > 1 => n,
        _ => 0,
    }
}
