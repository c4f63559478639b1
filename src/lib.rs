//! libcomposefs in Rust: a safe core plus a thin C ABI layer (`ffi`).

#[cfg(all(not(panic = "abort"), not(test)))]
compile_error!("libcomposefs must be built with panic=abort: a panic must never unwind into C");

pub mod erofs;
pub mod error;
pub mod ffi;
pub mod node;
pub mod sys;
