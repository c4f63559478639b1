//! `mkcomposefs`: builds a composefs image from a directory or a dumpfile,
//! with C mkcomposefs 1.0.8's options, messages and exit statuses. The
//! work is the core's: dumpfile parsing, directory build and digests, the
//! digest store and the writer.

use std::ffi::{CString, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use super::ExitCode;
use crate::build::{self, flags};
use crate::dumpfile::parse::{parse_threaded, DumpError};
use crate::erofs::write::{write_to, WriteFn, WriteOptions};
use crate::error::Error;
use crate::node::NodeRef;
use crate::sys::getopt::{Getopt, HasArg, LongOpt};
use crate::sys::outfile::OutFile;
use crate::sys::process::{isatty, strerror};

// getopt values, as in C.
const OPT_SKIP_XATTRS: i32 = 102;
const OPT_USE_EPOCH: i32 = 103;
const OPT_SKIP_DEVICES: i32 = 104;
const OPT_DIGEST_STORE: i32 = 108;
const OPT_PRINT_DIGEST: i32 = 109;
const OPT_PRINT_DIGEST_ONLY: i32 = 111;
const OPT_USER_XATTRS: i32 = 112;
const OPT_FROM_FILE: i32 = 113;
const OPT_MIN_VERSION: i32 = 114;
const OPT_THREADS: i32 = 115;
const OPT_MAX_VERSION: i32 = 116;

const fn opt(name: &'static std::ffi::CStr, has_arg: HasArg, val: i32) -> LongOpt {
    LongOpt { name, has_arg, val }
}

const LONGOPTS: &[LongOpt] = &[
    opt(c"skip-xattrs", HasArg::No, OPT_SKIP_XATTRS),
    opt(c"user-xattrs", HasArg::No, OPT_USER_XATTRS),
    opt(c"skip-devices", HasArg::No, OPT_SKIP_DEVICES),
    opt(c"use-epoch", HasArg::No, OPT_USE_EPOCH),
    opt(c"digest-store", HasArg::Required, OPT_DIGEST_STORE),
    opt(c"print-digest", HasArg::No, OPT_PRINT_DIGEST),
    opt(c"print-digest-only", HasArg::No, OPT_PRINT_DIGEST_ONLY),
    opt(c"from-file", HasArg::No, OPT_FROM_FILE),
    opt(c"max-version", HasArg::Required, OPT_MAX_VERSION),
    opt(c"min-version", HasArg::Required, OPT_MIN_VERSION),
    opt(c"threads", HasArg::Required, OPT_THREADS),
];

/// Format versions used when neither --min-version nor --max-version is given.
const DEFAULT_VERSION_MIN: i64 = 0;
const DEFAULT_VERSION_MAX: i64 = 1;

/// Text on stderr; a failed write is ignored, as C's fprintf's is
/// (eprint! would panic).
fn say(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn say_bytes(text: &[u8]) {
    let _ = std::io::stderr().write_all(text);
}

fn usage(bin: &str) {
    let cpus = crate::jobs::cpu_count();
    say(&format!(
        "Usage: {bin} [OPTIONS] SOURCE IMAGE\n\
         Options:\n\
        \x20 --digest-store=PATH   Store content files in this directory\n\
        \x20 --use-epoch           Make all mtimes zero\n\
        \x20 --skip-devices        Don't store device nodes\n\
        \x20 --skip-xattrs         Don't store file xattrs\n\
        \x20 --user-xattrs         Only store user.* xattrs\n\
        \x20 --print-digest        Print the digest of the image\n\
        \x20 --print-digest-only   Print the digest of the image, don't write image\n\
        \x20 --from-file           The source is a dump file, not a directory\n\
        \x20 --min-version=N       Use this minimal format version (default={DEFAULT_VERSION_MIN})\n\
        \x20 --max-version=N       Use this maxium format version (default={DEFAULT_VERSION_MAX})\n\
        \x20 --threads=N           Use this to override the default number of threads used to calculate digest and copy files (default={cpus})\n"
    ));
}

/// glibc `strtol(s, &end, 10)` where C then requires `*s && !*end`.
fn strtol(s: &[u8]) -> Option<i64> {
    let mut i = s
        .iter()
        .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Accumulated negatively so that i64::MIN fits; saturates like strtol.
    let mut v: i64 = 0;
    for &d in digits {
        v = v.saturating_mul(10).saturating_sub(i64::from(d - b'0'));
    }
    Some(if neg { v } else { v.saturating_neg() })
}

/// err(3) with a message made of raw bytes (paths).
fn err_bytes(bin: &str, msg: &[u8], errno: i32) {
    let _ = std::io::stdout().flush();
    let mut line = Vec::with_capacity(msg.len() + 64);
    line.extend_from_slice(bin.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(msg);
    line.extend_from_slice(b": ");
    line.extend_from_slice(strerror(errno).as_bytes());
    line.push(b'\n');
    let _ = std::io::stderr().write_all(&line);
}

fn errx_bytes(bin: &str, msg: &[u8]) {
    let _ = std::io::stdout().flush();
    let mut line = Vec::with_capacity(msg.len() + 32);
    line.extend_from_slice(bin.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(msg);
    line.push(b'\n');
    let _ = std::io::stderr().write_all(&line);
}

struct Options {
    buildflags: i32,
    print_digest: bool,
    print_digest_only: bool,
    from_file: bool,
    digest_store: Option<Vec<u8>>,
    min_version: i64,
    max_version: i64,
    threads: usize,
    src: Vec<u8>,
    out: Option<Vec<u8>>,
}

/// Parses the command line; Err is the exit status after C's messages.
fn parse_args(args: Vec<OsString>, bin: &str) -> std::result::Result<Options, ExitCode> {
    let mut o = Options {
        // Digests are always computed and files referenced by digest.
        buildflags: flags::COMPUTE_DIGEST | flags::BY_DIGEST,
        print_digest: false,
        print_digest_only: false,
        from_file: false,
        digest_store: None,
        min_version: 0,
        max_version: 0,
        threads: crate::jobs::cpu_count(),
        src: Vec::new(),
        out: None,
    };
    let mut version_set = false;
    let mut g = Getopt::new(args, c":CR", LONGOPTS);
    for p in g.by_ref() {
        let arg = p.arg.unwrap_or_default();
        match p.val {
            OPT_USE_EPOCH => o.buildflags |= flags::USE_EPOCH,
            OPT_SKIP_XATTRS => o.buildflags |= flags::SKIP_XATTRS,
            OPT_USER_XATTRS => o.buildflags |= flags::USER_XATTRS,
            OPT_SKIP_DEVICES => o.buildflags |= flags::SKIP_DEVICES,
            OPT_DIGEST_STORE => o.digest_store = Some(arg),
            OPT_PRINT_DIGEST => o.print_digest = true,
            OPT_PRINT_DIGEST_ONLY => {
                o.print_digest = true;
                o.print_digest_only = true;
            }
            OPT_FROM_FILE => o.from_file = true,
            OPT_MIN_VERSION | OPT_MAX_VERSION => {
                version_set = true;
                let Some(v) = strtol(&arg) else {
                    let which = if p.val == OPT_MIN_VERSION {
                        "min"
                    } else {
                        "max"
                    };
                    say_bytes(
                        &[format!("Invalid {which} version ").as_bytes(), &arg, b"\n"].concat(),
                    );
                    return Err(1);
                };
                if p.val == OPT_MIN_VERSION {
                    o.min_version = v;
                } else {
                    o.max_version = v;
                }
            }
            OPT_THREADS => {
                let Some(v) = strtol(&arg) else {
                    say_bytes(&[&b"Invalid threads count "[..], &arg, b"\n"].concat());
                    return Err(1);
                };
                // C keeps the count in an int.
                let v = v as i32;
                if v <= 0 {
                    say(&format!("Invalid threads count {v}\n"));
                    return Err(1);
                }
                o.threads = v as usize;
            }
            v if v == i32::from(b':') => {
                say(concat!("option needs a value", "\n"));
                return Err(1);
            }
            _ => {
                usage(bin);
                return Err(1);
            }
        }
    }
    if !version_set {
        o.min_version = DEFAULT_VERSION_MIN;
        o.max_version = DEFAULT_VERSION_MAX;
    }
    let rest = g.operands();
    drop(g);
    let Some(src) = rest.first() else {
        say(concat!("No source path specified", "\n"));
        usage(bin);
        return Err(1);
    };
    o.src = src.as_bytes().to_vec();
    if o.src.is_empty() {
        errx_bytes(bin, b"Empty source path specified");
        return Err(1);
    }
    if rest.len() > 2 {
        say(concat!("Too many arguments", "\n"));
        usage(bin);
        return Err(1);
    }
    match (rest.get(1), o.print_digest_only) {
        (None, false) => {
            say(concat!("No destination path specified", "\n"));
            usage(bin);
            return Err(1);
        }
        (Some(out), false) => o.out = Some(out.as_bytes().to_vec()),
        (None, true) => {}
        (Some(_), true) => {
            say(concat!(
                "Cannot specify destination path with --print-digest-only",
                "\n"
            ));
            usage(bin);
            return Err(1);
        }
    }
    Ok(o)
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    let bin = super::short_name(&args);
    let o = match parse_args(args, &bin) {
        Ok(o) => o,
        Err(code) => return code,
    };

    // The output is opened first, as in C, so its errors come first.
    let out = match &o.out {
        None => None,
        Some(p) if p == b"-" => {
            if isatty(1) {
                errx_bytes(&bin, b"stdout is a tty.  Refusing to use it");
                return 1;
            }
            match OutFile::stdout() {
                Ok(f) => Some(f),
                Err(e) => {
                    err_bytes(&bin, b"failed to open output file", e.errno());
                    return 1;
                }
            }
        }
        Some(p) => {
            let opened = CString::new(p.clone())
                .map_err(|_| Error::InvalidArgument)
                .and_then(|c| OutFile::open(&c));
            match opened {
                Ok(f) => Some(f),
                Err(e) => {
                    err_bytes(&bin, b"failed to open output file", e.errno());
                    return 1;
                }
            }
        }
    };

    let root = if o.from_file {
        from_dump(&bin, &o.src, o.threads)
    } else {
        from_dir(&bin, &o)
    };
    let Ok(root) = root else {
        return 1;
    };

    let mut opts = WriteOptions {
        format: crate::erofs::write::FORMAT_EROFS,
        // C passes these through int into the options' unsigned fields.
        version: o.min_version as i32 as u32,
        max_version: o.max_version as i32 as u32,
        flags: 0,
    };
    let mut sink = |buf: &[u8]| match &out {
        Some(f) => f.write_all(buf),
        None => Ok(()),
    };
    let writer: Option<&mut WriteFn<'_>> = if out.is_some() { Some(&mut sink) } else { None };
    let digest = match write_to(&root, &mut opts, writer, o.print_digest) {
        Ok(d) => d,
        Err(e) => {
            err_bytes(&bin, b"cannot write file", e.errno());
            return 1;
        }
    };
    if let Some(d) = digest {
        let mut line: String = d.iter().map(|b| format!("{b:02x}")).collect();
        line.push('\n');
        // C ignores a failed printf and exits 0 without the digest the
        // caller asked for; that is refused here.
        let mut so = std::io::stdout().lock();
        if let Err(e) = so.write_all(line.as_bytes()).and_then(|()| so.flush()) {
            drop(so);
            err_bytes(
                &bin,
                b"cannot write digest",
                e.raw_os_error().unwrap_or(libc::EIO),
            );
            return 1;
        }
    }
    if let Some(f) = out {
        if let Err(e) = f.commit() {
            err_bytes(&bin, b"close output file", e.errno());
            return 1;
        }
    }
    // The process ends here: tearing down a tree of a million nodes one
    // by one would only cost time.
    std::mem::forget(root);
    0
}

/// The tree of a dumpfile, read on two threads unless `--threads=1`.
fn from_dump(bin: &str, src: &[u8], threads: usize) -> std::result::Result<NodeRef, ()> {
    let strict = std::env::var_os("CFS_PARSE_STRICT").is_some();
    let parsed = if src == b"-" {
        parse_threaded(std::io::stdin(), strict, threads)
    } else {
        match std::fs::File::open(std::ffi::OsStr::from_bytes(src)) {
            Ok(f) => parse_threaded(f, strict, threads),
            Err(e) => {
                let mut m = b"open `".to_vec();
                m.extend_from_slice(src);
                m.push(b'`');
                err_bytes(bin, &m, e.raw_os_error().unwrap_or(libc::EIO));
                return Err(());
            }
        }
    };
    parsed.map_err(|e| match e {
        DumpError::Malformed(m) => errx_bytes(bin, &m),
        DumpError::Read(_) => errx_bytes(bin, b"Error reading from file"),
        DumpError::Empty => errx_bytes(bin, b"No files in dump file"),
    })
}

fn from_dir(bin: &str, o: &Options) -> std::result::Result<NodeRef, ()> {
    // As C: the walk reads no file content; digests (and small inline
    // content) come after, from every regular file by path, in parallel.
    let walk_flags =
        (o.buildflags & !(flags::COMPUTE_DIGEST | flags::BY_DIGEST)) | flags::NO_INLINE;
    let src = CString::new(o.src.clone()).map_err(|_| ())?;
    let root = build::build(rustix::fs::CWD, &src, walk_flags).map_err(|e| {
        let mut m = b"error accessing ".to_vec();
        m.extend_from_slice(&e.failed_path);
        err_bytes(bin, &m, e.error.errno());
    })?;
    build::digests::compute_digests(&root, &o.src, o.buildflags, o.threads)
        .map_err(|e| err_bytes(bin, b"error computing digest", e.errno()))?;
    if let Some(store) = &o.digest_store {
        let objects = crate::store::objects_of(&root, &o.src);
        crate::store::fill(store, &objects, o.threads)
            .map_err(|e| err_bytes(bin, b"cannot fill store", e.errno()))?;
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_like_glibc() {
        assert_eq!(strtol(b"1"), Some(1));
        assert_eq!(strtol(b" -3"), Some(-3));
        assert_eq!(strtol(b"+4"), Some(4));
        assert_eq!(strtol(b"99999999999999999999"), Some(i64::MAX));
        assert_eq!(strtol(b"-99999999999999999999"), Some(i64::MIN));
        assert_eq!(strtol(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"x", b"1x", b"-", b" ", b"0x1"] {
            assert_eq!(strtol(bad), None);
        }
        // C stores the thread count in an int.
        assert_eq!(strtol(b"4294967297").unwrap() as i32, 1);
    }
}
