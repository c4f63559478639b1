//! The command-line tools (mkcomposefs, composefs-info, mount.composefs,
//! composefs-dump): a thin face over the core, like `ffi` is for C. Each
//! tool's module parses its command line and calls the core; logic two
//! tools share lives in the core (dumpfile, store, ...), not here.
//!
//! The binaries in src/bin/ only call [`main`] with their tool's `run`.

pub mod composefs_dump;
pub mod composefs_info;
pub mod mkcomposefs;
pub mod mount_composefs;

use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use crate::sys::process;

/// What a tool's `run` returns: the exit status.
pub type ExitCode = i32;

/// Runs a tool as a C program would run: SIGPIPE kills, stdout is flushed
/// before exit, and the status is the tool's.
pub fn main(run: fn(Vec<OsString>) -> ExitCode) -> ! {
    process::default_sigpipe();
    let code = run(std::env::args_os().collect());
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

/// The name err(3) prints: the last component of argv[0], like glibc's
/// `program_invocation_short_name`.
pub fn short_name(args: &[OsString]) -> String {
    let a0 = args.first().map(|a| a.as_bytes()).unwrap_or(b"");
    let base = match a0.iter().rposition(|&b| b == b'/') {
        Some(i) => &a0[i + 1..],
        None => a0,
    };
    String::from_utf8_lossy(base).into_owned()
}

/// argv[0] as given (what C's usage lines print), empty without one.
pub fn argv0(args: &[OsString]) -> Vec<u8> {
    args.first()
        .map(|a| a.as_bytes().to_vec())
        .unwrap_or_default()
}

/// `errx(3)`: "name: message" on stderr.
pub fn errx_msg(name: &str, msg: impl Display) {
    let _ = std::io::stdout().flush();
    // Ignored on failure, as C's err(3) does (eprintln! would panic).
    let _ = writeln!(std::io::stderr(), "{name}: {msg}");
}

/// `err(3)`: "name: message: strerror(errno)" on stderr.
pub fn err_msg(name: &str, msg: impl Display, errno: i32) {
    let _ = std::io::stdout().flush();
    let _ = writeln!(
        std::io::stderr(),
        "{name}: {msg}: {}",
        process::strerror(errno)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_name_is_the_basename() {
        let a = |s: &str| vec![OsString::from(s)];
        assert_eq!(short_name(&a("/usr/bin/mkcomposefs")), "mkcomposefs");
        assert_eq!(short_name(&a("mount.composefs")), "mount.composefs");
        assert_eq!(short_name(&[]), "");
    }
}
