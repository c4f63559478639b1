//! The composefs dumpfile format (composefs-dump(5)): one line per file,
//! read by `mkcomposefs --from-file` and written by `composefs-info dump`
//! and `composefs-dump`.

mod fields;
pub mod parse;
pub mod print;

#[cfg(test)]
mod parse_tests;
