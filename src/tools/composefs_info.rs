//! `composefs-info`: lists, dumps and measures composefs images, with C
//! 1.0.8's command line, output, messages and exit statuses.
//!
//! Stricter than C: a failed write to stdout (a full disk, say) is an
//! error with status 1; C ignores it and exits 0 with truncated output.

use std::ffi::{CString, OsString};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{Mode, OFlags};

use super::ExitCode;
use crate::dumpfile::print::{push_hex, write_dump, write_listing};
use crate::erofs::read::load_fd;
use crate::fsverity;
use crate::node::{mode, NodeRef};
use crate::sys::getopt::{Getopt, HasArg, LongOpt};
use crate::sys::process::strerror;
use crate::sys::statat::exists_at;

const OPT_BASEDIR: i32 = 100;
const OPT_FILTER: i32 = 101;

const LONG: &[LongOpt] = &[
    LongOpt {
        name: c"basedir",
        has_arg: HasArg::Required,
        val: OPT_BASEDIR,
    },
    LongOpt {
        name: c"filter",
        has_arg: HasArg::Required,
        val: OPT_FILTER,
    },
];

/// Writes raw bytes to stderr: paths in messages need not be UTF-8.
pub(crate) fn put_err(parts: &[&[u8]]) {
    let mut e = std::io::stderr().lock();
    for p in parts {
        let _ = e.write_all(p);
    }
}

/// `err(3)`: "name: msg: strerror\n".
pub(crate) fn put_err_errno(name: &str, msg: &[&[u8]], errno: i32) {
    let mut v = Vec::new();
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(b": ");
    for p in msg {
        v.extend_from_slice(p);
    }
    v.extend_from_slice(b": ");
    v.extend_from_slice(strerror(errno).as_bytes());
    v.push(b'\n');
    put_err(&[&v]);
}

fn usage(argv0: &[u8]) {
    put_err(&[
        b"usage: ",
        argv0,
        b" [--basedir=path] [ls|objects|dump|missing-objects|measure-file] IMAGES...\n",
    ]);
}

/// A failed write to stdout (stricter than C, see the module comment).
fn output_failed(name: &str, e: &std::io::Error) -> ExitCode {
    put_err_errno(
        name,
        &[b"Failed to write output"],
        e.raw_os_error().unwrap_or(libc::EIO),
    );
    1
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Command {
    Ls,
    Dump,
    Objects,
    MissingObjects,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    let name = super::short_name(&args);
    let argv0 = super::argv0(&args);
    let mut basedir: Option<Vec<u8>> = None;
    let mut filters: Vec<Vec<u8>> = Vec::new();
    let operands = {
        let mut g = Getopt::new(args, c"", LONG);
        for p in g.by_ref() {
            match p.val {
                OPT_BASEDIR => basedir = p.arg,
                OPT_FILTER => {
                    let f = p.arg.unwrap_or_default();
                    if f.contains(&b'/') {
                        // C reports this with err(3) while errno is 0.
                        put_err_errno(&name, &[b"Filter must be a single name: ", &f], 0);
                        return 1;
                    }
                    filters.push(f);
                }
                _ => {
                    // glibc has printed its diagnostic; C then prints this.
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(b"Def\n");
                    usage(&argv0);
                    return 1;
                }
            }
        }
        g.operands()
    };

    let Some(command) = operands.first() else {
        put_err(&[b"No command specified\n"]);
        usage(&argv0);
        return 1;
    };
    let command = match command.as_bytes() {
        b"ls" => Command::Ls,
        b"dump" => Command::Dump,
        b"objects" => Command::Objects,
        b"missing-objects" => Command::MissingObjects,
        b"measure-file" => return measure_files(&name, &argv0, &operands[1..]),
        other => {
            // C's format ends in "\n" and errx adds another.
            put_err(&[name.as_bytes(), b": Unknown command '", other, b"'\n\n"]);
            return 1;
        }
    };

    let basedir_fd: Option<OwnedFd> = match &basedir {
        None => None,
        Some(path) => {
            let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY | OFlags::PATH;
            match rustix::fs::open(path.as_slice(), flags, Mode::empty()) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    let msg: &[&[u8]] = &[b"Can't open basedir `", path, b"`\n"];
                    put_err_errno(&name, msg, e.raw_os_error());
                    return 1;
                }
            }
        }
    };
    // Without --basedir C looks objects up relative to descriptor 0.
    let lookup_fd: RawFd = basedir_fd.as_ref().map_or(0, |fd| fd.as_raw_fd());

    let images = &operands[1..];
    if images.is_empty() {
        put_err(&[b"No image path specified\n"]);
        usage(&argv0);
        return 1;
    }

    let filter_refs: Vec<&[u8]> = filters.iter().map(Vec::as_slice).collect();
    let toplevel = (!filters.is_empty()).then_some(filter_refs.as_slice());
    let mut objects: Vec<Vec<u8>> = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let path = image.as_bytes();
        let root = match open_and_load(path, toplevel) {
            Ok(r) => r,
            Err((what, errno)) => {
                put_err_errno(&name, &[what, b" '", path, b"'"], errno);
                return 1;
            }
        };
        let mut out = std::io::stdout().lock();
        let written = match command {
            Command::Ls => write_listing(&root, &mut out),
            Command::Dump => write_dump(&root, &mut out),
            Command::Objects => {
                collect_objects(&root, None, &mut objects);
                Ok(())
            }
            Command::MissingObjects => {
                collect_objects(&root, Some(lookup_fd), &mut objects);
                Ok(())
            }
        };
        if let Err(e) = written {
            return output_failed(&name, &e);
        }
        if i + 1 == images.len() {
            // Tearing down millions of nodes costs a fifth of a dump's
            // time; the process is about to exit and free it all at once.
            std::mem::forget(root);
        }
    }
    if matches!(command, Command::Objects | Command::MissingObjects) {
        objects.sort_unstable();
        objects.dedup();
        let mut buf = Vec::with_capacity(objects.iter().map(|o| o.len() + 1).sum());
        for o in &objects {
            buf.extend_from_slice(o);
            buf.push(b'\n');
        }
        if let Err(e) = std::io::stdout().lock().write_all(&buf) {
            return output_failed(&name, &e);
        }
    }
    if let Err(e) = std::io::stdout().lock().flush() {
        return output_failed(&name, &e);
    }
    0
}

/// Opens and loads one image; on failure, which step failed ("Failed to
/// open" / "Failed to load") and the errno.
fn open_and_load(path: &[u8], toplevel: Option<&[&[u8]]>) -> Result<NodeRef, (&'static [u8], i32)> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| (&b"Failed to open"[..], e.raw_os_error()))?;
    load_fd(fd.as_raw_fd(), toplevel).map_err(|e| (&b"Failed to load"[..], e.errno()))
}

/// The backing paths of the tree's regular files (hardlinks are counted
/// at their target). With `missing_in`, only those `fstatat` cannot find
/// relative to that descriptor (leading '/' removed).
fn collect_objects(root: &NodeRef, missing_in: Option<RawFd>, out: &mut Vec<Vec<u8>>) {
    let mut stack = vec![root.clone()];
    while let Some(n) = stack.pop() {
        let d = n.lock();
        if d.inode.file_type() == mode::S_IFREG {
            if let Some(p) = d.payload() {
                let p = p.to_bytes();
                let wanted = match missing_in {
                    None => true,
                    Some(fd) => {
                        let rel = &p[p.iter().take_while(|&&c| c == b'/').count()..];
                        // A payload holds no NUL (it came from a C string).
                        let rel = CString::new(rel).unwrap_or_default();
                        !exists_at(fd, &rel)
                    }
                };
                if wanted {
                    out.push(p.to_vec());
                }
            }
        }
        stack.extend(d.children().iter().cloned());
    }
}

/// `composefs-info measure-file FILE...`: the fs-verity digest of each
/// file, from the kernel or computed here when the file has none.
fn measure_files(name: &str, argv0: &[u8], files: &[OsString]) -> ExitCode {
    if files.is_empty() {
        put_err(&[b"No files specified\n"]);
        usage(argv0);
        return 1;
    }
    let mut out = std::io::stdout().lock();
    for f in files {
        let path = f.as_bytes();
        let fd = match rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                put_err_errno(name, &[b"Failed to open '", path, b"'"], e.raw_os_error());
                return 1;
            }
        };
        let digest = match fsverity::measure_or_compute(rustix::fd::AsFd::as_fd(&fd)) {
            Ok(d) => d,
            Err(e) => {
                // C's message has no program name and no newline.
                let msg = strerror(e.errno());
                put_err(&[b"failed to measure '", path, b"': ", msg.as_bytes()]);
                return 1;
            }
        };
        let mut line = Vec::with_capacity(65);
        push_hex(&mut line, &digest);
        line.push(b'\n');
        if let Err(e) = out.write_all(&line) {
            return output_failed(name, &e);
        }
    }
    if let Err(e) = out.flush() {
        return output_failed(name, &e);
    }
    0
}

#[cfg(test)]
mod tests;
