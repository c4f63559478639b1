//! Running one function over a list of items on several threads, as the
//! work queues of C mkcomposefs do: the caller's thread works too, and
//! the first failure stops the others from taking new items.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::Result;

/// Runs `f` on every item over `threads` threads (at least one: the
/// caller's). On failure, the error of the lowest-numbered failed item is
/// returned; items not yet taken are skipped.
pub fn run<T: Sync>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Result<()> + Sync,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first: Mutex<Option<(usize, crate::error::Error)>> = Mutex::new(None);
    let work = || {
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { return };
            if let Err(e) = f(item) {
                stop.store(true, Ordering::Relaxed);
                let mut slot = first.lock().unwrap_or_else(|p| p.into_inner());
                if slot.map_or(true, |(j, _)| i < j) {
                    *slot = Some((i, e));
                }
            }
        }
    };
    let extra = threads.max(1).min(items.len().max(1)) - 1;
    std::thread::scope(|s| {
        for _ in 0..extra {
            s.spawn(work);
        }
        work();
    });
    match first.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// The CPUs this process may run on (C's `get_cpu_count`: the affinity
/// mask, else the online count).
pub fn cpu_count() -> usize {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => set.count() as usize,
        Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn every_item_once_on_any_thread_count() {
        for threads in [1, 2, 3, 8] {
            let items: Vec<u32> = (0..1000).collect();
            let sum = AtomicU32::new(0);
            run(&items, threads, |&i| {
                sum.fetch_add(i, Ordering::Relaxed);
                Ok(())
            })
            .unwrap();
            assert_eq!(sum.into_inner(), 999 * 1000 / 2);
        }
        run(&[] as &[u32], 4, |_| Ok(())).unwrap();
    }

    #[test]
    fn first_failure_wins_and_stops() {
        let items: Vec<u32> = (0..100).collect();
        let done = AtomicU32::new(0);
        let r = run(&items, 1, |&i| {
            done.fetch_add(1, Ordering::Relaxed);
            if i >= 10 {
                return Err(Error::Os(i as i32));
            }
            Ok(())
        });
        assert_eq!(r, Err(Error::Os(10)));
        assert_eq!(done.into_inner(), 11);
    }

    #[test]
    fn cpus() {
        assert!(cpu_count() >= 1);
    }
}
