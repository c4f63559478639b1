//! glibc's `getopt_long`, so the tools parse their command lines exactly as
//! the C tools do: abbreviations, `--opt=value`, permutation, `--`, and the
//! same diagnostics (printed by glibc with `argv[0]`).

use std::ffi::{c_char, c_int, CStr, CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::{Mutex, MutexGuard};

// The libc crate does not declare these for glibc.
extern "C" {
    static mut optind: c_int;
    static mut optarg: *mut c_char;
    static mut opterr: c_int;
    static mut optopt: c_int;
}

/// getopt keeps its state in globals: one parser at a time (tests run on threads).
static LOCK: Mutex<()> = Mutex::new(());

/// Whether a long option takes an argument (`has_arg` in `struct option`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HasArg {
    No,
    Required,
    Optional,
}

/// One entry of the long-option table.
#[derive(Clone, Copy, Debug)]
pub struct LongOpt {
    pub name: &'static CStr,
    pub has_arg: HasArg,
    /// What `next` returns when this option is seen.
    pub val: i32,
}

/// One result of `getopt_long`: the returned value (`'?'` or `':'` for
/// errors, as in C), the option argument if any, and `optopt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub val: i32,
    pub arg: Option<Vec<u8>>,
    pub optopt: i32,
}

/// A running `getopt_long` over an owned copy of argv.
pub struct Getopt {
    _guard: MutexGuard<'static, ()>,
    // Keeps the strings the pointer array points into alive.
    _args: Vec<CString>,
    argv: Vec<*mut c_char>,
    short: CString,
    longopts: Vec<libc::option>,
    /// Plain `getopt(3)`: no long options at all, so "--foo" is parsed as
    /// the short option '-' (as C programs that call getopt see it).
    plain: bool,
}

impl Getopt {
    /// Prepares to parse `args` (argv, program name first). An argument
    /// holding a NUL byte cannot come from execve; it is cut there.
    pub fn new(args: Vec<OsString>, short: &CStr, long: &[LongOpt]) -> Getopt {
        let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let args: Vec<CString> = args
            .into_iter()
            .map(|a| {
                let mut v = a.into_vec();
                if let Some(i) = v.iter().position(|&b| b == 0) {
                    v.truncate(i);
                }
                CString::new(v).unwrap_or_default()
            })
            .collect();
        let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr() as *mut c_char).collect();
        argv.push(std::ptr::null_mut());
        let mut longopts: Vec<libc::option> = long
            .iter()
            .map(|o| libc::option {
                name: o.name.as_ptr(),
                has_arg: match o.has_arg {
                    HasArg::No => 0,
                    HasArg::Required => 1,
                    HasArg::Optional => 2,
                },
                flag: std::ptr::null_mut(),
                val: o.val,
            })
            .collect();
        longopts.push(libc::option {
            name: std::ptr::null(),
            has_arg: 0,
            flag: std::ptr::null_mut(),
            val: 0,
        });
        // SAFETY: the globals are only touched while LOCK is held; optind = 0
        // makes glibc reinitialise its internal state for a new argv.
        unsafe {
            optind = 0;
            opterr = 1;
        }
        Getopt {
            _guard: guard,
            _args: args,
            argv,
            short: short.to_owned(),
            longopts,
            plain: false,
        }
    }

    /// Prepares plain `getopt(3)` parsing of `args` with `short` only.
    pub fn short_only(args: Vec<OsString>, short: &CStr) -> Getopt {
        let mut g = Getopt::new(args, short, &[]);
        g.plain = true;
        g
    }

    /// The arguments left after the options (argv from `optind`), in the
    /// order getopt left them.
    pub fn operands(&self) -> Vec<OsString> {
        // SAFETY: optind is read while LOCK is held.
        let start = unsafe { optind }.max(1) as usize;
        self.argv[..self.argv.len() - 1]
            .iter()
            .skip(start)
            // SAFETY: each pointer is one of our CStrings.
            .map(|&p| {
                OsString::from(std::ffi::OsStr::from_bytes(
                    unsafe { CStr::from_ptr(p) }.to_bytes(),
                ))
            })
            .collect()
    }
}

impl Iterator for Getopt {
    type Item = Parsed;

    /// The next option, or None at the first operand after permutation
    /// (or `--`), like `getopt_long` returning -1.
    fn next(&mut self) -> Option<Parsed> {
        let argc = (self.argv.len() - 1) as c_int;
        // SAFETY: argv is a NULL-terminated array of pointers to live
        // NUL-terminated strings (glibc may permute the pointers, which we
        // own); the option table ends with a zero entry; LOCK is held.
        unsafe {
            let r = if self.plain {
                libc::getopt(argc, self.argv.as_mut_ptr(), self.short.as_ptr())
            } else {
                libc::getopt_long(
                    argc,
                    self.argv.as_mut_ptr(),
                    self.short.as_ptr(),
                    self.longopts.as_ptr(),
                    std::ptr::null_mut(),
                )
            };
            if r == -1 {
                return None;
            }
            let arg = if optarg.is_null() {
                None
            } else {
                Some(CStr::from_ptr(optarg).to_bytes().to_vec())
            };
            Some(Parsed {
                val: r,
                arg,
                optopt,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    const LONG: &[LongOpt] = &[
        LongOpt {
            name: c"print-digest",
            has_arg: HasArg::No,
            val: 1,
        },
        LongOpt {
            name: c"print-digest-only",
            has_arg: HasArg::No,
            val: 2,
        },
        LongOpt {
            name: c"threads",
            has_arg: HasArg::Required,
            val: 3,
        },
    ];

    fn all(v: &[&str]) -> (Vec<(i32, Option<String>)>, Vec<OsString>) {
        let mut g = Getopt::new(args(v), c":", LONG);
        let mut seen = Vec::new();
        for p in g.by_ref() {
            seen.push((
                p.val,
                p.arg.map(|a| String::from_utf8_lossy(&a).into_owned()),
            ));
        }
        (seen, g.operands())
    }

    #[test]
    fn abbreviations_values_and_permutation() {
        let (seen, ops) = all(&[
            "x",
            "src",
            "--thr=4",
            "--print-digest-o",
            "dst",
            "--threads",
            "2",
        ]);
        assert_eq!(
            seen,
            vec![(3, Some("4".into())), (2, None), (3, Some("2".into()))]
        );
        assert_eq!(ops, args(&["src", "dst"]));
    }

    #[test]
    fn exact_match_beats_longer_names_and_double_dash_stops() {
        let (seen, ops) = all(&["x", "--print-digest", "--", "--threads"]);
        assert_eq!(seen, vec![(1, None)]);
        assert_eq!(ops, args(&["--threads"]));
    }

    #[test]
    fn plain_getopt_has_no_long_options() {
        let mut g = Getopt::short_only(args(&["x", "--t", "-tv", "a", "-o", "b", "c"]), c"ht:o:");
        let seen: Vec<(i32, Option<Vec<u8>>)> = g.by_ref().map(|p| (p.val, p.arg)).collect();
        assert_eq!(
            seen,
            vec![
                // "--t" is '-' (unknown), then 't' taking the next word.
                (b'?' as i32, None),
                (b't' as i32, Some(b"-tv".to_vec())),
                (b'o' as i32, Some(b"b".to_vec())),
            ]
        );
        assert_eq!(g.operands(), args(&["a", "c"]));
    }

    #[test]
    fn errors_are_reported_as_in_c() {
        // Ambiguous prefix and unknown option give '?', a missing value ':'.
        let (seen, _) = all(&["x", "--print", "--bogus", "--threads"]);
        assert_eq!(
            seen.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![b'?' as i32, b'?' as i32, b':' as i32]
        );
    }
}
