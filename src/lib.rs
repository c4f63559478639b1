//! libcomposefs in Rust: a safe core plus a thin C ABI layer (`ffi`).

#[cfg(all(not(panic = "abort"), not(test)))]
compile_error!("libcomposefs must be built with panic=abort: a panic must never unwind into C");

pub mod build;
pub mod dumpfile;
pub mod erofs;
pub mod error;
pub mod ffi;
pub mod fsverity;
pub mod jobs;
pub mod mount;
pub mod node;
pub mod store;
pub mod sys;
pub mod tools;

#[cfg(test)]
mod abi_check;
#[cfg(test)]
mod testutil;
