//! Writing node trees as text: the dumpfile format (composefs-dump(5)) and
//! the short listing of `composefs-info ls`, byte for byte as C 1.0.8's
//! composefs-info prints them.
//!
//! Images can hold millions of files, so output goes through one large
//! buffer, the path is kept in a single growing buffer, and numbers and
//! escapes are formatted by hand rather than through `fmt`.

use std::ffi::CStr;
use std::io::{self, Write};

use crate::node::{mode, NodeData, NodeRef};

/// How a field is escaped (C's ESCAPE_STANDARD and its flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// Every byte outside 0x21..=0x7e is escaped; '=' is not.
    Standard,
    /// Like `Standard` but a space stays a space (ls paths).
    KeepSpace,
    /// Like `Standard` and '=' is escaped too (xattr keys and values).
    Equal,
}

/// Per byte: 0 literal, 1 `\xNN`, or the letter of a named escape.
const fn table(keep_space: bool, equal: bool) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            b'=' if equal => 1,
            b' ' if keep_space => 0,
            0x21..=0x7e => 0,
            _ => 1,
        };
        i += 1;
    }
    t
}

const STANDARD: [u8; 256] = table(false, false);
const KEEP_SPACE: [u8; 256] = table(true, false);
const EQUAL: [u8; 256] = table(false, true);

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` escaped as C's `print_escaped` does.
pub fn push_escaped(out: &mut Vec<u8>, bytes: &[u8], esc: Escape) {
    let t = match esc {
        Escape::Standard => &STANDARD,
        Escape::KeepSpace => &KEEP_SPACE,
        Escape::Equal => &EQUAL,
    };
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let e = t[c as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        if e == 1 {
            out.extend_from_slice(&[b'\\', b'x', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// A payload or content field: `-` when absent, and a value that is
/// exactly "-" escaped so it cannot be mistaken for that.
fn push_optional(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(b'-'),
        Some(b"-") => out.extend_from_slice(b"\\x2d"),
        Some(b) => push_escaped(out, b, Escape::Standard),
    }
}

/// Appends `bytes` as lowercase hex (how digests are printed).
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
    }
}

/// A digest as lowercase hex text.
pub fn hex_string(bytes: &[u8]) -> String {
    let mut v = Vec::with_capacity(bytes.len() * 2);
    push_hex(&mut v, bytes);
    // Only ASCII hex digits were written.
    String::from_utf8(v).unwrap_or_default()
}

fn push_dec(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_signed(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_dec(out, n.unsigned_abs());
}

fn push_oct(out: &mut Vec<u8>, mut n: u32) {
    let mut buf = [0u8; 11];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n & 7) as u8;
        n >>= 3;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Output is handed to the writer in pieces of about this size.
const FLUSH_AT: usize = 1 << 20;

/// A buffer in front of `out`, flushed when it passes [`FLUSH_AT`].
struct Buffered<'w, W: Write> {
    buf: Vec<u8>,
    out: &'w mut W,
}

impl<'w, W: Write> Buffered<'w, W> {
    fn new(out: &'w mut W) -> Self {
        Buffered {
            buf: Vec::with_capacity(FLUSH_AT + 64 * 1024),
            out,
        }
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

fn name_bytes(d: &NodeData) -> &[u8] {
    d.name().map(CStr::to_bytes).unwrap_or_default()
}

/// Walks the tree depth-first in child order, calling `visit` with each
/// node (locked) and its path ("" for the root, "/a/b" below it). An
/// explicit stack keeps deep trees off the call stack.
fn walk<W: Write>(
    root: &NodeRef,
    b: &mut Buffered<'_, W>,
    mut visit: impl FnMut(&NodeData, &[u8], &mut Vec<u8>),
) -> io::Result<()> {
    let mut path: Vec<u8> = Vec::with_capacity(4096);
    // Each frame: a directory, the next child to visit, and the path
    // length to go back to when its child is done.
    let mut stack: Vec<(NodeRef, usize, usize)> = Vec::new();
    {
        let d = root.lock();
        visit(&d, &path, &mut b.buf);
        if !d.children().is_empty() {
            stack.push((root.clone(), 0, 0));
        }
    }
    while let Some(top) = stack.last_mut() {
        let (child, base) = {
            let d = top.0.lock();
            match d.children().get(top.1) {
                Some(c) => (c.clone(), top.2),
                None => {
                    drop(d);
                    stack.pop();
                    continue;
                }
            }
        };
        top.1 += 1;
        path.truncate(base);
        let d = child.lock();
        path.push(b'/');
        path.extend_from_slice(name_bytes(&d));
        visit(&d, &path, &mut b.buf);
        if !d.children().is_empty() {
            let len = path.len();
            drop(d);
            stack.push((child, 0, len));
        }
        b.maybe_flush()?;
    }
    b.flush()
}

/// The absolute path of `node` in its tree, as C's `node_build_path`
/// builds it: "/a/b", and "" for the root itself.
fn node_path(node: &NodeRef) -> Vec<u8> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut cur = node.clone();
    loop {
        let (name, parent) = {
            let d = cur.lock();
            (name_bytes(&d).to_vec(), d.parent())
        };
        names.push(name);
        match parent {
            Some(p) => cur = p,
            None => break,
        }
    }
    let mut path = Vec::new();
    for (i, n) in names.iter().rev().enumerate() {
        if i > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(n);
    }
    path
}

/// One dumpfile line for a node that is not a hardlink (`link` None) or
/// for a hardlink to `d`, whose path is `link`.
fn dump_line(out: &mut Vec<u8>, path: &[u8], d: &NodeData, link: Option<&[u8]>) {
    let ino = &d.inode;
    if path.is_empty() {
        out.push(b'/');
    } else {
        push_escaped(out, path, Escape::Standard);
    }
    out.push(b' ');
    push_dec(out, ino.size);
    out.push(b' ');
    if link.is_some() {
        out.push(b'@');
    }
    push_oct(out, ino.mode);
    out.push(b' ');
    push_dec(out, ino.nlink.into());
    out.push(b' ');
    push_dec(out, ino.uid.into());
    out.push(b' ');
    push_dec(out, ino.gid.into());
    out.push(b' ');
    push_dec(out, ino.rdev.into());
    out.push(b' ');
    push_signed(out, ino.mtime_sec);
    out.push(b'.');
    push_dec(out, ino.mtime_nsec.into());
    out.push(b' ');
    push_optional(out, link.or_else(|| d.payload().map(CStr::to_bytes)));
    out.push(b' ');
    // C prints `size` bytes of the content; the reader keeps both equal.
    let content = d
        .content()
        .map(|c| &c[..c.len().min(usize::try_from(ino.size).unwrap_or(usize::MAX))]);
    push_optional(out, content);
    out.push(b' ');
    match d.digest() {
        Some(dg) => push_hex(out, dg),
        None => out.push(b'-'),
    }
    for x in d.xattrs.iter() {
        out.push(b' ');
        push_escaped(out, x.key().to_bytes(), Escape::Equal);
        out.push(b'=');
        push_escaped(out, x.value(), Escape::Equal);
    }
    out.push(b'\n');
}

/// Writes the tree as a dumpfile (`composefs-info dump`). A hardlink is
/// printed with its target's fields, '@' before the mode and the target's
/// path as payload.
pub fn write_dump<W: Write>(root: &NodeRef, out: &mut W) -> io::Result<()> {
    let mut b = Buffered::new(out);
    walk(root, &mut b, |d, path, out| match d.link_to() {
        None => dump_line(out, path, d, None),
        Some(target) => {
            let tpath = node_path(target);
            dump_line(out, path, &target.lock(), Some(&tpath));
        }
    })
}

/// Writes the short listing of `composefs-info ls`: each path below the
/// root, directories with a '/' and a tab after it, symlinks with their
/// target, regular files with their backing path. A hardlink carries no
/// type of its own there and prints as its bare path.
pub fn write_listing<W: Write>(root: &NodeRef, out: &mut W) -> io::Result<()> {
    let mut b = Buffered::new(out);
    walk(root, &mut b, |d, path, out| {
        if path.is_empty() {
            return;
        }
        push_escaped(out, path, Escape::KeepSpace);
        let payload = d.payload().map(CStr::to_bytes);
        match d.inode.file_type() {
            mode::S_IFDIR => out.extend_from_slice(b"/\t"),
            mode::S_IFLNK => {
                out.extend_from_slice(b"\t-> ");
                push_escaped(out, payload.unwrap_or_default(), Escape::Standard);
            }
            mode::S_IFREG => {
                if let Some(p) = payload {
                    out.extend_from_slice(b"\t@ ");
                    push_escaped(out, p, Escape::Standard);
                }
            }
            _ => {}
        }
        out.push(b'\n');
    })
}

#[cfg(test)]
mod tests;
