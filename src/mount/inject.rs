//! Fault injection for the kernel tests: makes one step of a mount behave
//! as on an older kernel (no file-backed EROFS, no new mount API, no
//! data-only overlay layers, no `verity` key), so that every fallback path
//! runs for real on this machine. Outside `cfg(test)` every check is a
//! no-op that the compiler removes.

/// The places a test can make fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// EROFS mount of a regular file (ENOTBLK on kernels before 6.12).
    ErofsFileSource,
    /// fsopen("erofs") (ENOSYS without the new mount API).
    ErofsNewApi,
    /// mount_setattr(2) (ENOSYS before Linux 5.12, e.g. Debian's 5.10).
    MountSetattr,
    /// fsopen("overlay") (ENOSYS without the new mount API).
    OverlayNewApi,
    /// mount(2) with "::" data-only layers (EINVAL before Linux 6.5).
    OverlayDataOnly,
    /// The overlay `verity` key (EINVAL before Linux 6.6).
    OverlayVerity,
}

#[cfg(not(test))]
#[inline(always)]
pub fn check(_step: Step) -> rustix::io::Result<()> {
    Ok(())
}

#[cfg(test)]
pub use active::{check, inject};

#[cfg(test)]
mod active {
    use super::*;
    use rustix::io::Errno;
    use std::cell::RefCell;

    thread_local! {
        static FAILING: RefCell<Vec<(Step, Errno)>> = const { RefCell::new(Vec::new()) };
    }

    /// The error injected at `step` on this thread, if any.
    pub fn check(step: Step) -> rustix::io::Result<()> {
        FAILING.with(|f| match f.borrow().iter().find(|(s, _)| *s == step) {
            Some((_, e)) => Err(*e),
            None => Ok(()),
        })
    }

    /// Clears the injections when dropped.
    pub struct Injected;

    impl Drop for Injected {
        fn drop(&mut self) {
            FAILING.with(|f| f.borrow_mut().clear());
        }
    }

    /// Makes each listed step fail with its errno on this thread.
    pub fn inject(steps: &[(Step, Errno)]) -> Injected {
        FAILING.with(|f| *f.borrow_mut() = steps.to_vec());
        Injected
    }
}
