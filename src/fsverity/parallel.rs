//! fs-verity digest of a file descriptor with the data blocks hashed on
//! several threads. The calling thread reads the file in order, as the
//! single-threaded path does, and hands whole chunks to workers; their
//! block hashes come back in order and feed the upper tree levels, which
//! are small enough to build on the calling thread.

use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use super::hasher::{sha256, FsVerityHasher};
use super::{read_fd, BLOCK_SIZE, DIGEST_SIZE};
use crate::error::Result;

/// Bytes per job: large enough that handing it over costs little next to
/// hashing it (about 0.15 ms), small enough to keep memory low.
const CHUNK: usize = 64 * BLOCK_SIZE;
/// Jobs queued per worker beyond the one it is hashing.
const QUEUE: usize = 1;

/// A worker's end: full chunks in, (block hashes, emptied buffer) out.
struct Worker {
    jobs: SyncSender<Vec<u8>>,
    done: Receiver<(Vec<[u8; DIGEST_SIZE]>, Vec<u8>)>,
}

fn hash_blocks(data: &[u8]) -> Vec<[u8; DIGEST_SIZE]> {
    data.chunks_exact(BLOCK_SIZE).map(sha256).collect()
}

fn work(jobs: Receiver<Vec<u8>>, done: Sender<(Vec<[u8; DIGEST_SIZE]>, Vec<u8>)>) {
    while let Ok(buf) = jobs.recv() {
        let hashes = hash_blocks(&buf);
        if done.send((hashes, buf)).is_err() {
            return;
        }
    }
}

/// Fills `buf` (cleared first) with up to CHUNK bytes; fewer only at EOF.
fn fill(fd: BorrowedFd<'_>, buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    buf.resize(CHUNK, 0);
    let mut len = 0;
    while len < CHUNK {
        let n = read_fd(fd, &mut buf[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    buf.truncate(len);
    Ok(())
}

/// Digest of `fd` from its offset to EOF using `threads` hashing threads
/// (at least 2 make sense). Reads are those of the serial path: in order,
/// until read returns 0.
pub fn digest_from_fd(fd: BorrowedFd<'_>, threads: usize) -> Result<[u8; DIGEST_SIZE]> {
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for _ in 0..threads {
            let (job_tx, job_rx) = sync_channel(QUEUE);
            let (done_tx, done_rx) = channel();
            let spawned = std::thread::Builder::new()
                .name("lcfs-fsverity".into())
                .spawn_scoped(scope, move || work(job_rx, done_tx));
            if spawned.is_err() {
                // Fewer threads (or none: then the caller's thread hashes).
                break;
            }
            workers.push(Worker {
                jobs: job_tx,
                done: done_rx,
            });
        }
        run(fd, &workers)
        // Dropping `workers` closes the job channels; the scope then
        // waits for the threads, which end at once.
    })
}

fn run(fd: BorrowedFd<'_>, workers: &[Worker]) -> Result<[u8; DIGEST_SIZE]> {
    let mut h = FsVerityHasher::new();
    // Buffers in circulation: every worker busy and queued, one being read.
    let mut free: Vec<Vec<u8>> = Vec::new();
    let mut buffers = 0;
    let limit = workers.len() * (QUEUE + 1) + 1;
    // Worker of each chunk in flight, oldest first.
    let mut pending: VecDeque<usize> = VecDeque::new();
    let mut next = 0;
    // Takes back the oldest chunk's hashes; false if its worker is gone.
    let collect =
        |pending: &mut VecDeque<usize>, h: &mut FsVerityHasher, free: &mut Vec<Vec<u8>>| {
            let Some(w) = pending.pop_front() else {
                return true;
            };
            match workers.get(w).map(|w| w.done.recv()) {
                Some(Ok((hashes, buf))) => {
                    h.add_block_hashes(&hashes);
                    free.push(buf);
                    true
                }
                _ => false,
            }
        };
    loop {
        if free.is_empty() && buffers == limit && !collect(&mut pending, &mut h, &mut free) {
            return Err(crate::error::Error::NoData);
        }
        let mut buf = free.pop().unwrap_or_else(|| {
            buffers += 1;
            Vec::with_capacity(CHUNK)
        });
        fill(fd, &mut buf)?;
        if buf.len() < CHUNK || workers.is_empty() {
            // The last chunk (or no workers): hashed here, after the rest.
            while !pending.is_empty() {
                if !collect(&mut pending, &mut h, &mut free) {
                    return Err(crate::error::Error::NoData);
                }
            }
            h.update(&buf);
            if buf.len() < CHUNK {
                return Ok(h.finish());
            }
            free.push(buf);
            continue;
        }
        let w = next % workers.len();
        next += 1;
        match workers.get(w).map(|wk| wk.jobs.send(buf)) {
            Some(Ok(())) => pending.push_back(w),
            _ => return Err(crate::error::Error::NoData),
        }
    }
}
