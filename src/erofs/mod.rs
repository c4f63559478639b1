//! EROFS images as composefs writes and reads them.

pub mod format;
pub mod read;
pub mod write;
