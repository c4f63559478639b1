//! The composefs dumpfile format (composefs-dump(5)): one line per file,
//! read by `mkcomposefs --from-file` and written by `composefs-info dump`
//! and `composefs-dump`.

pub mod parse;
pub mod print;
