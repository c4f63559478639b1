//! `mkcomposefs`: not written yet.

use std::ffi::OsString;

use super::ExitCode;

pub fn run(args: Vec<OsString>) -> ExitCode {
    super::errx_msg(&super::short_name(&args), "not implemented yet");
    1
}
