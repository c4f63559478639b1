//! Fuzzer bytes to a node tree, through the same safe core API the C
//! shims call. Refused calls (bad names, xattr budget, ...) are simply
//! skipped: the tree is whatever the API accepted.

use std::ffi::CString;

use composefs::erofs::write::WriteOptions;
use composefs::node::{self, mode, Node, NodeRef, DIGEST_SIZE};

/// Upper bound on operations, to keep single runs fast.
const MAX_OPS: usize = 200;

/// Reads fields off the front of the input; past the end every read is 0.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    fn uint(&mut self, n: usize) -> u64 {
        (0..n).fold(0, |acc, i| acc | (u64::from(self.byte()) << (8 * i)))
    }
    pub fn u16(&mut self) -> u16 {
        self.uint(2) as u16
    }
    pub fn u32(&mut self) -> u32 {
        self.uint(4) as u32
    }
    pub fn u64(&mut self) -> u64 {
        self.uint(8)
    }
    /// `n` bytes: what the input has, then a filler pattern.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let take = n.min(self.data.len());
        let (head, rest) = self.data.split_at(take);
        self.data = rest;
        let mut v = head.to_vec();
        v.extend((take..n).map(|i| (i % 251) as u8));
        v
    }
    /// A length: mostly small, sometimes anything up to `max`.
    fn len(&mut self, small: usize, max: usize) -> usize {
        let b = self.byte();
        if b < 0xf0 {
            usize::from(b) % (small + 1)
        } else {
            usize::from(self.u16()) % (max + 1)
        }
    }
    /// Text without NUL: a small alphabet (so names collide and sort in
    /// interesting ways) or, with the high bit set, any non-NUL byte.
    fn text(&mut self, n: usize) -> Vec<u8> {
        const ALPHA: &[u8] = b"ab.0/";
        (0..n)
            .map(|_| {
                let b = self.byte();
                if b & 0x80 == 0 {
                    ALPHA[usize::from(b) % ALPHA.len()]
                } else {
                    b
                }
            })
            .collect()
    }
}

/// File types to pick from; the last entry is a 0:0 character device,
/// i.e. an overlay whiteout.
const TYPES: [u32; 8] = [
    mode::S_IFREG,
    mode::S_IFDIR,
    mode::S_IFLNK,
    mode::S_IFBLK,
    mode::S_IFCHR,
    mode::S_IFSOCK,
    mode::S_IFIFO,
    mode::S_IFCHR,
];
const WHITEOUT: usize = 7;

const XATTR_PREFIXES: [&[u8]; 10] = [
    b"user.",
    b"trusted.",
    b"security.",
    b"system.posix_acl_access",
    b"system.posix_acl_default",
    b"trusted.overlay.",
    b"user.overlay.",
    b"trusted.overlay.overlay.",
    b"system.",
    b"",
];

/// The tree and the write options encoded in `data`.
pub fn build_tree(data: &[u8]) -> (NodeRef, WriteOptions) {
    let mut inp = Input::new(data);
    let v = inp.byte();
    let opts = WriteOptions {
        format: 0,
        version: u32::from(v & 1),
        max_version: u32::from((v >> 1) & 1),
        flags: 0,
    };
    let root = Node::new();
    set_stat(&mut inp, &root, mode::S_IFDIR);
    let mut nodes = vec![root.clone()];
    let mut dirs = vec![root.clone()];
    for _ in 0..MAX_OPS {
        if inp.is_empty() {
            break;
        }
        match inp.byte() % 5 {
            0 | 1 => {
                let n = new_node(&mut inp);
                if add_to_some_dir(&mut inp, &dirs, &n) {
                    if n.lock().is_dir() {
                        dirs.push(n.clone());
                    }
                    nodes.push(n);
                }
            }
            2 | 3 => {
                let target = pick(&mut inp, &nodes);
                set_xattr(&mut inp, &target);
            }
            _ => {
                let target = pick(&mut inp, &nodes);
                let link = Node::new();
                if node::make_hardlink(&link, &target).is_ok() {
                    add_to_some_dir(&mut inp, &dirs, &link);
                }
            }
        }
    }
    (root, opts)
}

fn pick(inp: &mut Input<'_>, from: &[NodeRef]) -> NodeRef {
    from[usize::from(inp.u16()) % from.len()].clone()
}

fn add_to_some_dir(inp: &mut Input<'_>, dirs: &[NodeRef], n: &NodeRef) -> bool {
    let parent = pick(inp, dirs);
    let len = inp.len(12, 300);
    let mut name = inp.text(len);
    // "." and ".." as child names are accepted by the node API (as by C)
    // but written over by the directory's own entries, so they cannot
    // round-trip; mkcomposefs refuses them earlier.
    if name == b"." || name == b".." {
        name.push(b'x');
    }
    let Ok(name) = CString::new(name) else {
        return false;
    };
    node::add_child(&parent, n, &name).is_ok()
}

fn set_stat(inp: &mut Input<'_>, n: &NodeRef, file_type: u32) {
    let mut d = n.lock();
    d.inode.mode = file_type | u32::from(inp.u16() & 0o7777);
    let wide = inp.byte();
    // Small ids and times mostly; wide ones force extended inodes.
    d.inode.uid = if wide & 1 != 0 {
        inp.u32()
    } else {
        u32::from(inp.byte())
    };
    d.inode.gid = if wide & 2 != 0 {
        inp.u32()
    } else {
        u32::from(inp.byte())
    };
    d.inode.mtime_sec = if wide & 4 != 0 {
        inp.u64() as i64
    } else {
        i64::from(inp.byte())
    };
    d.inode.mtime_nsec = if wide & 8 != 0 { inp.u32() } else { 0 };
}

fn new_node(inp: &mut Input<'_>) -> NodeRef {
    let kind = usize::from(inp.byte()) % TYPES.len();
    let n = Node::new();
    set_stat(inp, &n, TYPES[kind]);
    let mut d = n.lock();
    match TYPES[kind] {
        mode::S_IFREG => match inp.byte() % 4 {
            0 => {}
            1 => {
                let len = inp.len(64, 5100);
                let content = inp.bytes(len);
                let _ = d.set_content(Some(&content), len);
            }
            2 => {
                d.set_size(inp.u64() >> (inp.byte() % 64));
                let len = inp.len(40, 4200);
                if len > 0 {
                    if let Ok(p) = CString::new(inp.text(len)) {
                        let _ = d.set_payload(Some(&p));
                    }
                }
                if inp.byte() & 1 != 0 {
                    let mut dg = [0u8; DIGEST_SIZE];
                    dg.copy_from_slice(&inp.bytes(DIGEST_SIZE));
                    d.set_digest(&dg);
                }
            }
            _ => d.set_size(u64::from(inp.u32())),
        },
        mode::S_IFLNK => {
            let len = inp.len(32, 4200).max(1);
            if let Ok(t) = CString::new(inp.text(len)) {
                let _ = d.set_symlink_payload(&t);
            }
        }
        mode::S_IFBLK | mode::S_IFCHR => {
            d.inode.rdev = if kind == WHITEOUT { 0 } else { inp.u32() };
        }
        _ => {}
    }
    drop(d);
    n
}

fn set_xattr(inp: &mut Input<'_>, n: &NodeRef) {
    let prefix = XATTR_PREFIXES[usize::from(inp.byte()) % XATTR_PREFIXES.len()];
    let len = inp.len(12, 300);
    let mut key = prefix.to_vec();
    key.extend(inp.text(len));
    let vlen = inp.len(40, 70_000);
    let value = inp.bytes(vlen);
    if let Ok(key) = CString::new(key) {
        let _ = n.lock().set_xattr(&key, &value);
    }
}
