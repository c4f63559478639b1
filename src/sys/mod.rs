//! Narrow wrappers around system calls the safe core needs.

pub mod mmap;
