pub mod getopt;
pub mod loopdev;
pub mod mmap;
pub mod mount_attr;
pub mod outfile;
pub mod process;
pub mod verity;
pub mod xattrat;
