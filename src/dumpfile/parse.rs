//! Reading a dumpfile into a node tree, as `mkcomposefs --from-file` of C
//! composefs 1.0.8 does: line by line from a stream, the same checks in
//! the same order and the same messages, hardlinks resolved at the end
//! (last one first, as C walks its list).

use std::ffi::CStr;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

use super::fields::{
    c_str_part, parse_digest, parse_int, split_at, unescape_into, unescape_optional_into,
};
use crate::error::Error;
use crate::node::{self, mode, Node, NodeData, NodeRef, INLINE_CONTENT_MAX};

/// Why a dumpfile could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum DumpError {
    /// A malformed line or tree: the message C prints (bytes, as paths
    /// in it may be any bytes).
    Malformed(Vec<u8>),
    /// Reading the input failed.
    Read(Error),
    /// The input has no lines.
    Empty,
}

/// Fields before the xattrs.
const FIXED_FIELDS: usize = 11;
/// C caps the xattr part of a line (its xattr lookups are quadratic).
const XATTR_TEXT_MAX: usize = u16::MAX as usize;

/// Reads a whole dumpfile. `strict` is C's hidden `CFS_PARSE_STRICT`
/// mode: no rdev on non-devices, symlink sizes must match, no symlink
/// content, and the last line must end in a newline.
pub fn parse(input: impl Read, strict: bool) -> std::result::Result<NodeRef, DumpError> {
    let mut lines = Lines::new(input, strict);
    let mut dec = Decoder::new(strict);
    let mut tree = Builder::default();
    while let Some(line) = lines.next()? {
        let d = dec.line(line).map_err(DumpError::Malformed)?;
        tree.add(&dec.path, d).map_err(DumpError::Malformed)?;
    }
    tree.finish()
}

/// Lines decoded per hand-over between the two threads of [`parse_threaded`].
const BATCH: usize = 1024;

/// Decoded lines on their way to the thread that builds the tree: each
/// line's path ends at its offset in `paths`. `end` is the error that
/// stopped the reading, after these lines.
#[derive(Default)]
struct Batch {
    paths: Vec<u8>,
    lines: Vec<(usize, Decoded)>,
    end: Option<DumpError>,
}

/// [`parse`], with `threads` > 1 on two threads: a second thread reads
/// and decodes lines while this one builds the tree (the nodes come
/// from this thread's allocator, which grows in bigger steps than a
/// second thread's). The result, errors included, is [`parse`]'s: lines
/// reach the tree in order, and the first error in input order wins.
pub fn parse_threaded(
    input: impl Read + Send,
    strict: bool,
    threads: usize,
) -> std::result::Result<NodeRef, DumpError> {
    if threads < 2 {
        return parse(input, strict);
    }
    let input = Mutex::new(Some(input));
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
        let shared = &input;
        let spawned = std::thread::Builder::new().spawn_scoped(s, move || {
            if let Some(input) = shared.lock().unwrap_or_else(|p| p.into_inner()).take() {
                decode_all(input, strict, &tx);
            }
        });
        if spawned.is_err() {
            let taken = input.lock().unwrap_or_else(|p| p.into_inner()).take();
            return match taken {
                Some(input) => parse(input, strict),
                None => Err(DumpError::Read(Error::Os(libc::EAGAIN))),
            };
        }
        let mut tree = Builder::default();
        // Returning drops `rx`, which stops the reader at its next batch.
        for batch in rx.iter() {
            let mut start = 0;
            for (end, d) in batch.lines {
                tree.add(&batch.paths[start..end], d)
                    .map_err(DumpError::Malformed)?;
                start = end;
            }
            if let Some(e) = batch.end {
                return Err(e);
            }
        }
        tree.finish()
    })
}

/// The reading side of [`parse_threaded`]: sends the decoded lines in
/// batches, the last one carrying the error that stopped the reading.
fn decode_all(input: impl Read, strict: bool, tx: &std::sync::mpsc::SyncSender<Batch>) {
    let mut lines = Lines::new(input, strict);
    let mut dec = Decoder::new(strict);
    let mut batch = Batch::default();
    batch.end = loop {
        let line = match lines.next() {
            Ok(Some(line)) => line,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        match dec.line(line) {
            Ok(d) => {
                batch.paths.extend_from_slice(&dec.path);
                batch.lines.push((batch.paths.len(), d));
            }
            Err(m) => break Some(DumpError::Malformed(m)),
        }
        if batch.lines.len() == BATCH && tx.send(std::mem::take(&mut batch)).is_err() {
            // The tree builder stopped at an error of its own, which
            // comes before anything read since.
            return;
        }
    };
    let _ = tx.send(batch);
}

/// The input's lines, without their newline.
struct Lines<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    strict: bool,
}

impl<R: Read> Lines<R> {
    fn new(input: R, strict: bool) -> Lines<R> {
        Lines {
            reader: BufReader::with_capacity(256 * 1024, input),
            line: Vec::with_capacity(4096),
            strict,
        }
    }

    fn next(&mut self) -> std::result::Result<Option<&[u8]>, DumpError> {
        self.line.clear();
        match self.reader.read_until(b'\n', &mut self.line) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(DumpError::Read(e.into())),
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
        } else if self.strict {
            return Err(DumpError::Malformed(b"Missing trailing newline".to_vec()));
        }
        Ok(Some(&self.line))
    }
}

/// A message: the text, then the raw bytes of `tail`.
fn msg(text: &str, tail: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(text.len() + tail.len());
    m.extend_from_slice(text.as_bytes());
    m.extend_from_slice(tail);
    m
}

/// `buf` as a C string: cut at its first NUL (as C's strings are).
fn as_cstr(buf: &mut Vec<u8>) -> &CStr {
    let len = c_str_part(buf).len();
    buf.truncate(len);
    buf.push(0);
    CStr::from_bytes_until_nul(buf).unwrap_or_default()
}

/// A line as decoded before its place in the tree is checked: whether its
/// node is a directory (which those checks need), then the node, or the
/// error C reports once the checks pass.
struct Decoded {
    is_dir: bool,
    node: std::result::Result<Body, Vec<u8>>,
}

enum Body {
    Node(NodeData),
    /// A hardlink and its target path (None: "-").
    Link(NodeData, Option<Box<[u8]>>),
}

/// Where a line's node goes: it is the root, or a child of the directory
/// at this depth of `Builder::chain` (0: the root).
#[derive(Clone, Copy)]
enum Place {
    Root,
    Below(usize),
}

/// Decodes lines: all the work on a line that does not need the tree.
struct Decoder {
    strict: bool,
    // Scratch buffers reused for every line; `path` holds the last
    // line's path.
    path: Vec<u8>,
    payload: Vec<u8>,
    content: Vec<u8>,
    digest: Vec<u8>,
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Builds the tree from decoded lines, in order.
#[derive(Default)]
struct Builder {
    root: Option<NodeRef>,
    /// Hardlinks and their target paths (None: "-"), resolved at the end.
    fixups: Vec<(NodeRef, Option<Box<[u8]>>)>,
    /// The path from the root to the last parent directory, one node and
    /// name per component: dumps list a directory's entries together, so
    /// mostly the next line's parent is found here without a lookup. A
    /// path found once always names the same node (nothing is removed).
    chain: Vec<(Box<[u8]>, NodeRef)>,
    /// Scratch: a new child's name.
    name: Vec<u8>,
}

impl Decoder {
    fn new(strict: bool) -> Decoder {
        Decoder {
            strict,
            path: Vec::new(),
            payload: Vec::new(),
            content: Vec::new(),
            digest: Vec::new(),
            key: Vec::new(),
            value: Vec::new(),
        }
    }

    /// Decodes `line`, leaving its path in `self.path`. Err is an error C
    /// reports before it checks the path against the tree.
    fn line(&mut self, line: &[u8]) -> std::result::Result<Decoded, Vec<u8>> {
        // C reads lines as C strings in places, so a NUL is refused up front.
        // (`contains` is a memchr; the position is only wanted for the message.)
        if line.contains(&0) {
            let off = line.iter().position(|&b| b == 0).unwrap_or_default();
            return Err(msg(
                &format!("Invalid embedded NUL character at position {off}"),
                b"",
            ));
        }
        let mut rest = line;
        let mut f: [&[u8]; FIXED_FIELDS] = [&[]; FIXED_FIELDS];
        for field in f.iter_mut() {
            *field = split_at(&mut rest, b' ').0;
        }
        let [f_path, f_size, f_mode, f_nlink, f_uid, f_gid, f_rdev, f_mtime, f_payload, f_content, f_digest] =
            f;

        unescape_into(f_path, &mut self.path)?;
        let path_len = c_str_part(&self.path).len();
        self.path.truncate(path_len);
        if self.path.is_empty() {
            return Err(b"Invalid empty path".to_vec());
        }

        let (hardlink, mode_text) = match f_mode.split_first() {
            Some((b'@', m)) => (true, m),
            _ => (false, f_mode),
        };
        // C passes the mode on as 32 bits.
        let mode = parse_int(mode_text, 8)? as u32;
        if node::validate_mode(mode).is_err() {
            return Err(msg(&format!("Invalid mode {mode:o}"), b""));
        }
        // C adds the node to the tree before it reads the other fields:
        // their errors come after the tree's, which the builder checks
        // before it looks at `node`.
        let fields = [
            f_size, f_nlink, f_uid, f_gid, f_rdev, f_mtime, f_payload, f_content, f_digest,
        ];
        Ok(Decoded {
            is_dir: mode & mode::S_IFMT == mode::S_IFDIR,
            node: self.body(mode, hardlink, fields, rest),
        })
    }

    /// The node of a line, from the fields after the mode.
    fn body(
        &mut self,
        mode: u32,
        hardlink: bool,
        fields: [&[u8]; FIXED_FIELDS - 2],
        mut rest: &[u8],
    ) -> std::result::Result<Body, Vec<u8>> {
        let [f_size, f_nlink, f_uid, f_gid, f_rdev, f_mtime, f_payload, f_content, f_digest] =
            fields;
        let ftype = mode & mode::S_IFMT;
        let mut d = NodeData::new();
        d.inode.mode = mode;

        if hardlink {
            if ftype == mode::S_IFDIR {
                return Err(b"Directories can't be hardlinked".to_vec());
            }
            let target = unescape_optional_into(f_payload, &mut self.payload)?
                .then(|| c_str_part(&self.payload).into());
            return Ok(Body::Link(d, target));
        }

        let size = parse_int(f_size, 10)?;
        let nlink = parse_int(f_nlink, 10)?;
        let uid = parse_int(f_uid, 10)?;
        // C checks the uid's result again after parsing gid and rdev (a
        // typo), so a bad gid or rdev passes as 0 when uid is not 0. That
        // is corrupt input taken as success: both are refused here.
        let gid = parse_int(f_gid, 10)?;
        let rdev = parse_int(f_rdev, 10)?;
        let (mtime_sec, mtime_nsec) = {
            let mut t = f_mtime;
            let sec = parse_int(split_at(&mut t, b'.').0, 10)?;
            (sec, parse_int(t, 10)?)
        };
        let has_payload = unescape_optional_into(f_payload, &mut self.payload)?;
        let has_content = unescape_optional_into(f_content, &mut self.content)?;
        if has_content && self.content.len() as u64 != size {
            return Err(msg(
                &format!(
                    "Invalid content size {}, must match size {}",
                    self.content.len(),
                    size as i64
                ),
                b"",
            ));
        }
        let has_digest = unescape_optional_into(f_digest, &mut self.digest)?;

        if ftype != mode::S_IFLNK {
            d.set_size(size);
        }
        // C's node keeps these in 32 bits.
        d.inode.nlink = nlink as u32;
        d.inode.uid = uid as u32;
        d.inode.gid = gid as u32;
        if ftype == mode::S_IFCHR || ftype == mode::S_IFBLK {
            d.inode.rdev = rdev as u32;
        } else if self.strict && rdev != 0 {
            return Err(b"Non-zero devnum on non-device".to_vec());
        }
        d.inode.mtime_sec = mtime_sec as i64;
        d.inode.mtime_nsec = mtime_nsec as u32;
        if ftype == mode::S_IFLNK {
            let target = as_cstr(&mut self.payload);
            if !has_payload || d.set_symlink_payload(target).is_err() {
                return Err(b"Invalid symlink".to_vec());
            }
            if self.strict {
                let len = target.to_bytes().len();
                if size != len as u64 {
                    return Err(msg(
                        &format!(
                            "Invalid symlink size {len}, must match size {}",
                            size as i64
                        ),
                        b"",
                    ));
                }
                if has_content && !self.content.is_empty() {
                    return Err(b"Symlink cannot have content".to_vec());
                }
            }
        } else {
            if has_payload && d.set_payload(Some(as_cstr(&mut self.payload))).is_err() {
                return Err(b"Invalid payload".to_vec());
            }
            if has_content {
                let len = self.content.len();
                if len > INLINE_CONTENT_MAX {
                    return Err(msg(
                        &format!("Inline content size {len} exceeds maximum {INLINE_CONTENT_MAX}"),
                        b"",
                    ));
                }
                // Within the limit and exactly `len` bytes: cannot fail.
                let _ = d.set_content(Some(&self.content), len);
            }
        }
        if has_digest {
            match parse_digest(c_str_part(&self.digest)) {
                Some(raw) => d.set_digest(&raw),
                // C makes up the missing part of a broken digest from
                // stale memory (zeros, in practice). Where the image
                // would carry it (a regular file with external content)
                // that is a wrong digest reported as success: refused.
                // Elsewhere the writer never reads it, and C's upstream
                // assets rely on lines that end early being accepted.
                None if ftype == mode::S_IFREG && size > 0 && !has_content => {
                    return Err(msg("Invalid digest ", f_digest));
                }
                None => {}
            }
        }

        if rest.len() > XATTR_TEXT_MAX {
            return Err(b"Too many xattrs".to_vec());
        }
        while !rest.is_empty() {
            let xattr = split_at(&mut rest, b' ').0;
            let mut kv = xattr;
            let (key, missing_eq) = split_at(&mut kv, b'=');
            if missing_eq {
                return Err(b"Missing = in xattr".to_vec());
            }
            unescape_into(key, &mut self.key)?;
            unescape_into(kv, &mut self.value)?;
            if d.set_xattr(as_cstr(&mut self.key), &self.value).is_err() {
                return Err(b"Can't set xattr".to_vec());
            }
        }
        Ok(Body::Node(d))
    }
}

impl Builder {
    /// Adds a decoded line with its path.
    fn add(&mut self, path: &[u8], line: Decoded) -> std::result::Result<(), Vec<u8>> {
        let place = self.place(path, line.is_dir)?;
        match line.node? {
            Body::Node(d) => {
                self.attach(place, path, d, line.is_dir)?;
            }
            Body::Link(d, target) => {
                let node = self.attach(place, path, d, false)?;
                self.fixups.push((node, target));
            }
        }
        Ok(())
    }

    /// The checks of C's `tree_add_node` for `path`: where its node will go.
    fn place(&mut self, path: &[u8], is_dir: bool) -> std::result::Result<Place, Vec<u8>> {
        if path == b"/" {
            if !is_dir {
                return Err(b"Root must be a directory".to_vec());
            }
            if self.root.is_some() {
                return Err(b"Can't have multiple roots".to_vec());
            }
            return Ok(Place::Root);
        }
        let Some(root) = &self.root else {
            return Err(b"Root node not present".to_vec());
        };
        let (parent_path, name) = split_path(path);
        let Some(depth) = walk_chain(root, &mut self.chain, parent_path) else {
            return Err(msg("Parent directory missing for ", path));
        };
        let parent = match depth {
            0 => root,
            _ => &self.chain[depth - 1].1,
        };
        let p = parent.lock();
        if !p.is_dir() {
            return Err(msg("Parent must be a directory for ", path));
        }
        if name == b"." || name == b".." {
            return Err(msg("Invalid . or .. in path: ", path));
        }
        // C means to say "Path ... already exist" for a taken name, but
        // compares add_child's -1 with -EEXIST: every failure reads alike.
        node::new_child_slot(&p, name).map_err(|_| b"Can't add child".to_vec())?;
        Ok(Place::Below(depth))
    }

    /// Adds the node made of `d` where [`Parser::place`] found it goes.
    fn attach(
        &mut self,
        place: Place,
        path: &[u8],
        d: NodeData,
        is_dir: bool,
    ) -> std::result::Result<NodeRef, Vec<u8>> {
        let depth = match place {
            Place::Root => {
                let node = Node::with_data(d);
                self.root = Some(node.clone());
                return Ok(node);
            }
            Place::Below(depth) => depth,
        };
        let parent = match (depth, &self.root) {
            (0, Some(root)) => root,
            (0, None) => return Err(b"Root node not present".to_vec()),
            _ => &self.chain[depth - 1].1,
        };
        let name = split_path(path).1;
        self.name.clear();
        self.name.extend_from_slice(name);
        let node = node::add_new_child(parent, as_cstr(&mut self.name), d)
            .map_err(|_| b"Can't add child".to_vec())?;
        if is_dir {
            // Most likely the parent of the lines that follow.
            self.chain.truncate(depth);
            self.chain
                .push((self.name[..self.name.len() - 1].into(), node.clone()));
        }
        Ok(node)
    }

    fn finish(self) -> std::result::Result<NodeRef, DumpError> {
        let Some(root) = self.root else {
            return Err(DumpError::Empty);
        };
        for (node, target) in self.fixups.iter().rev() {
            let Some(target_path) = target else {
                return Err(DumpError::Malformed(
                    b"No target path for the hardlink".to_vec(),
                ));
            };
            let Some(target) = lookup(&root, target_path) else {
                let mut m = msg("No target at ", target_path);
                m.extend_from_slice(b" for hardlink");
                return Err(DumpError::Malformed(m));
            };
            // The target keeps the nlink the dump gave it.
            let nlink = target.lock().inode.nlink;
            if Arc::ptr_eq(node, &target) {
                return Err(DumpError::Malformed(msg(
                    "Self-referential hardlink ",
                    target_path,
                )));
            }
            // A link closing a cycle is remembered on the node and fails
            // the write with ELOOP, as in C.
            let _ = node::make_hardlink(node, &target);
            target.lock().inode.nlink = nlink;
        }
        Ok(root)
    }
}

/// A path's parent part and last component.
fn split_path(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    }
}

/// C's `lookup_path` of `parent_path` below `root`, through `chain`: the
/// components it shares with the chain are taken from there, the rest
/// looked up and the chain made to end at the directory found. Returns
/// its depth in the chain (0: the root), None if a component is missing.
fn walk_chain(
    root: &NodeRef,
    chain: &mut Vec<(Box<[u8]>, NodeRef)>,
    parent_path: &[u8],
) -> Option<usize> {
    let mut depth = 0;
    for comp in parent_path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        if chain.get(depth).is_some_and(|(name, _)| **name == *comp) {
            depth += 1;
            continue;
        }
        chain.truncate(depth);
        let next = match depth {
            0 => root,
            _ => &chain[depth - 1].1,
        }
        .lock()
        .lookup_child(comp)?;
        chain.push((comp.into(), next));
        depth += 1;
    }
    chain.truncate(depth);
    Some(depth)
}

/// C's `lookup_path`: the node at `path` below `root`; empty components
/// (repeated or leading slashes) are skipped.
fn lookup(root: &NodeRef, path: &[u8]) -> Option<NodeRef> {
    let mut cur = root.clone();
    for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        let next = cur.lock().lookup_child(comp)?;
        cur = next;
    }
    Some(cur)
}

/// [`parse`] of an in-memory dump.
pub fn parse_bytes(data: &[u8], strict: bool) -> std::result::Result<NodeRef, DumpError> {
    parse(data, strict)
}
