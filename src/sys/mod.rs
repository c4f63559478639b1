//! Narrow wrappers around raw syscalls that rustix has no typed API for.
//! All `unsafe` outside `ffi` lives here.

pub mod verity;
