//! The tree as it goes to disk: a flat copy of the caller's tree with the
//! rewrites composefs applies (overlay xattrs, escaped whiteouts, "." and
//! "..", the 256 root whiteouts), then put in breadth-first inode order.
//! The caller's nodes are only read, as C only changes a private clone.

use std::sync::Arc;

use super::layout::chunking;
use super::xattrs::{self, Name, NodeXattrs, XattrTable};
use crate::error::{Error, Result};
use crate::node::{follow_links, mode, validate_mode, Inode, NodeRef};

/// The dirent points at a node written as its own inode (not a link).
pub const OWNED: u8 = 1;
/// The dirent's own node has directory mode (counted in the parent nlink).
pub const DIR_MODE: u8 = 2;

const NONE: u32 = u32::MAX;
/// Files needing more chunk indexes than this are refused (EFBIG).
pub const MAX_CHUNKS: u32 = 1024;
/// Symlink without payload (C would assert).
pub const NO_PAYLOAD: u32 = u32::MAX;

/// A directory entry: its name in `Tree::names` and the entry it names.
#[derive(Clone, Copy)]
pub struct Dent {
    pub name_off: u32,
    pub name_len: u16,
    pub target: u32,
    pub flags: u8,
}

/// One inode to write. Kept small: there is one per file of the tree.
pub struct Entry {
    /// None for the root whiteouts the writer makes up.
    pub src: Option<NodeRef>,
    pub inode: Inode,
    pub xattrs: NodeXattrs,
    /// A directory's entries: its index in `Tree::dirs`, else NONE.
    dir: u32,
    pub payload_len: u32,
    pub has_content: bool,
}

impl Entry {
    pub fn file_type(&self) -> u32 {
        self.inode.file_type()
    }
}

struct PendingLink {
    dir: u32,
    dent: u32,
    target: Result<NodeRef>,
}

/// `options->version` handling: a whiteout may raise it up to the maximum.
pub struct Version {
    pub version: u32,
    pub max_version: u32,
}

impl Version {
    fn can_raise(&self) -> bool {
        self.version < 1 && self.max_version >= 1
    }
    fn note_whiteout(&mut self) {
        if self.can_raise() {
            self.version = 1;
        }
    }

    /// C's version walk over the caller's tree below (and including)
    /// `start`: any non-link node that is a whiteout raises the version.
    pub fn walk(&mut self, start: &NodeRef) {
        let mut stack = vec![start.clone()];
        while let Some(n) = stack.pop() {
            if !self.can_raise() {
                return;
            }
            let children = {
                let d = n.lock();
                if is_whiteout(&d.inode) {
                    self.note_whiteout();
                    return;
                }
                d.children().to_vec()
            };
            stack.extend(children.into_iter().filter(|c| !c.lock().is_link_in_c()));
        }
    }
}

/// True when copying the subtree at `start` the way C's deep clone does
/// would fail: some node in it has children but is not a directory.
fn clone_would_fail(start: &NodeRef) -> bool {
    let mut stack = vec![start.clone()];
    while let Some(n) = stack.pop() {
        let d = n.lock();
        if d.children().is_empty() {
            continue;
        }
        if !d.is_dir() {
            return true;
        }
        stack.extend(d.children().iter().cloned());
    }
    false
}

/// Where a hardlink dirent leads. A link refused for closing a cycle is
/// ELOOP here, where C's check of all links finds its cycle.
fn link_target(kid: &NodeRef) -> Result<NodeRef> {
    if kid.lock().link_error() == Some(Error::Loop) {
        return Err(Error::Loop);
    }
    follow_links(kid)
}

/// Where the next name goes in `Tree::names`.
fn names_end(names: &[u8]) -> Result<u32> {
    u32::try_from(names.len()).map_err(|_| Error::OutOfMemory)
}

fn is_whiteout(i: &Inode) -> bool {
    i.file_type() == mode::S_IFCHR && i.rdev == 0
}

struct Work {
    node: NodeRef,
    parent: u32,
    slot: u32,
}

pub struct Tree {
    pub entries: Vec<Entry>,
    /// Each directory's entries, sorted by name.
    dirs: Vec<Vec<Dent>>,
    pub names: Vec<u8>,
    pub xt: XattrTable,
    /// Entry ids in inode (breadth-first) order.
    pub order: Vec<u32>,
    /// Inode number (position in `order`) of each entry.
    pub ino: Vec<u32>,
    pub min_mtime: (i64, u32),
    pub has_acl: bool,
    pending: Vec<PendingLink>,
    non_dir_with_children: Vec<NodeRef>,
    /// Hardlink nodes that have children of their own (not rewritten).
    link_parents: Vec<NodeRef>,
    root_is_link: bool,
    /// Reused for each redirect value.
    scratch: Vec<u8>,
    keys: Keys,
}

/// The names of the xattrs the writer sets itself.
struct Keys {
    metacopy: Name,
    redirect: Name,
    opaque: Name,
    escaped_whiteout: Name,
    escaped_whiteouts: Name,
    escaped_opaque: Name,
    user_whiteout: Name,
    user_whiteouts: Name,
    user_opaque: Name,
    selinux: Name,
}

impl Keys {
    fn new(xt: &mut XattrTable) -> Result<Keys> {
        Ok(Keys {
            metacopy: xt.name(xattrs::METACOPY)?,
            redirect: xt.name(xattrs::REDIRECT)?,
            opaque: xt.name(xattrs::OPAQUE)?,
            escaped_whiteout: xt.name(xattrs::ESCAPED_WHITEOUT)?,
            escaped_whiteouts: xt.name(xattrs::ESCAPED_WHITEOUTS)?,
            escaped_opaque: xt.name(xattrs::ESCAPED_OPAQUE)?,
            user_whiteout: xt.name(xattrs::USER_WHITEOUT)?,
            user_whiteouts: xt.name(xattrs::USER_WHITEOUTS)?,
            user_opaque: xt.name(xattrs::USER_OPAQUE)?,
            selinux: xt.name(xattrs::SELINUX)?,
        })
    }
}

impl Tree {
    /// Builds the rewritten tree from the caller's `root`, failing as C's
    /// rewrite and compute steps do. On failure the version walk C does
    /// up front is completed, so `ver` ends as C leaves it.
    pub fn build(root: &NodeRef, ver: &mut Version) -> Result<Tree> {
        let mut xt = XattrTable::default();
        let keys = Keys::new(&mut xt)?;
        let mut t = Tree {
            entries: Vec::new(),
            dirs: Vec::new(),
            // "." and ".." name themselves from here.
            names: b"..".to_vec(),
            xt,
            keys,
            order: Vec::new(),
            ino: Vec::new(),
            min_mtime: (0, 0),
            has_acl: false,
            pending: Vec::new(),
            non_dir_with_children: Vec::new(),
            link_parents: Vec::new(),
            root_is_link: false,
            scratch: Vec::new(),
        };
        let r = t.rewrite(root, ver);
        if ver.can_raise() {
            // Nodes below non-directories are not rewritten but C's
            // version walk still looks at them; after an error, nothing
            // past the failing node was looked at yet.
            if r.is_err() {
                ver.walk(root);
            } else {
                for n in &t.non_dir_with_children {
                    let kids = n.lock().children().to_vec();
                    for k in kids {
                        if !k.lock().is_link_in_c() {
                            ver.walk(&k);
                        }
                    }
                }
            }
        }
        // C first deep-clones the tree, which fails (reported as ENOMEM)
        // when any node below the root has children without being a
        // directory; that failure comes before all rewrite errors.
        let clone_fails = if r.is_err() {
            clone_would_fail(root)
        } else {
            !t.non_dir_with_children.is_empty() || t.link_parents.iter().any(clone_would_fail)
        };
        if clone_fails {
            return Err(Error::OutOfMemory);
        }
        r?;
        t.compute()?;
        Ok(t)
    }

    fn rewrite(&mut self, root: &NodeRef, ver: &mut Version) -> Result<()> {
        let mut stack = vec![Work {
            node: root.clone(),
            parent: NONE,
            slot: 0,
        }];
        while let Some(w) = stack.pop() {
            let id = u32::try_from(self.entries.len()).map_err(|_| Error::OutOfMemory)?;
            if w.parent != NONE {
                self.dirent_mut(w.parent, w.slot).target = id;
            }
            let children = self.add_node(w.node, w.parent, ver)?;
            if let Some(children) = children {
                self.add_dirents(id, w.parent, children, &mut stack)?;
            }
        }
        self.add_root_whiteouts(root)
    }

    /// Copies one node, validating it and applying the overlay rewrites.
    /// Returns its children when it is a directory.
    fn add_node(
        &mut self,
        node: NodeRef,
        parent: u32,
        ver: &mut Version,
    ) -> Result<Option<Vec<NodeRef>>> {
        let d = node.lock();
        if !d.is_link_in_c() {
            validate_mode(d.inode.mode)?;
        }
        // A refused self link (C asserts). A refused cycle is a link as
        // far as C's walks go: only the root gets here with one.
        if let Some(e) = d.link_error().filter(|e| *e != Error::Loop) {
            return Err(e);
        }
        let mut inode = d.inode;
        let ft = inode.file_type();
        let external = ft == mode::S_IFREG && inode.size > 0 && d.content().is_none();
        if external && chunking(inode.size).1 > MAX_CHUNKS as u64 {
            return Err(Error::FileTooBig);
        }
        let mut xa = NodeXattrs::new(&self.xt)?;
        for x in d.xattrs.iter() {
            let id = self.xt.intern_escaped(x.key().to_bytes(), x.value())?;
            xa.push(&mut self.xt, id)?;
        }
        if external {
            let mut v = Vec::new();
            if let Some(dg) = d.digest() {
                // fs-verity descriptor: version 0, length, flags, sha256.
                v.extend_from_slice(&[0, 4 + dg.len() as u8, 0, 1]);
                v.extend_from_slice(dg);
            }
            xa.set(&mut self.xt, self.keys.metacopy, &v)?;
            if let Some(p) = d.payload().filter(|p| !p.is_empty()) {
                let mut path = std::mem::take(&mut self.scratch);
                path.clear();
                path.push(b'/');
                path.extend_from_slice(p.to_bytes());
                xa.set(&mut self.xt, self.keys.redirect, &path)?;
                self.scratch = path;
            }
        }
        let payload_len = d
            .payload()
            .map_or(NO_PAYLOAD, |p| p.to_bytes().len() as u32);
        // A symlink given only its target (ostree never sets the size): C
        // takes an inline target's length from the payload, but a target
        // that needs a block of its own gets the size, 0, and C aborts. Use
        // the target's length; every image C does write stays the same.
        if ft == mode::S_IFLNK && inode.size == 0 && payload_len != NO_PAYLOAD {
            inode.size = payload_len as u64;
        }
        let has_content = d.content().is_some();
        if parent == NONE {
            self.root_is_link = d.is_link_in_c();
        }
        let children = if ft == mode::S_IFDIR {
            Some(d.children().to_vec())
        } else {
            if !d.children().is_empty() {
                self.non_dir_with_children.push(node.clone());
            }
            None
        };
        drop(d);

        if is_whiteout(&inode) {
            ver.note_whiteout();
            inode.size = 0;
            inode.mode = mode::S_IFREG | (inode.mode & !mode::S_IFMT);
            xa.set(&mut self.xt, self.keys.escaped_whiteout, b"")?;
            xa.set(&mut self.xt, self.keys.user_whiteout, b"")?;
            // C dereferences the missing parent of a whiteout root.
            let p = self
                .entries
                .get_mut(parent as usize)
                .ok_or(Error::InvalidArgument)?;
            let px = &mut p.xattrs;
            px.set(&mut self.xt, self.keys.escaped_whiteouts, b"")?;
            px.set(&mut self.xt, self.keys.user_whiteouts, b"")?;
            if ver.version >= 1 {
                px.set(&mut self.xt, self.keys.escaped_opaque, b"x")?;
                px.set(&mut self.xt, self.keys.user_opaque, b"x")?;
            }
        }
        self.entries.push(Entry {
            src: Some(node),
            inode,
            xattrs: xa,
            dir: NONE,
            payload_len,
            has_content,
        });
        Ok(children)
    }

    fn name(&self, d: &Dent) -> &[u8] {
        &self.names[d.name_off as usize..][..d.name_len as usize]
    }

    /// A directory's entries (none for other files).
    pub fn dirents(&self, e: &Entry) -> &[Dent] {
        match self.dirs.get(e.dir as usize) {
            Some(d) => d,
            None => &[],
        }
    }

    fn dirent_mut(&mut self, id: u32, slot: u32) -> &mut Dent {
        let dir = self.entries[id as usize].dir;
        &mut self.dirs[dir as usize][slot as usize]
    }

    /// Lists a directory's entries (adding "." and ".." unless present)
    /// and queues its own children for rewriting, first child on top.
    fn add_dirents(
        &mut self,
        id: u32,
        parent: u32,
        children: Vec<NodeRef>,
        stack: &mut Vec<Work>,
    ) -> Result<()> {
        let mut dents = Vec::with_capacity(children.len() + 2);
        let mut kids: Vec<Option<NodeRef>> = Vec::with_capacity(children.len() + 2);
        for child in children {
            let flags = {
                let c = child.lock();
                let name = c.name().map(|n| n.to_bytes()).unwrap_or_default();
                dents.push(Dent {
                    name_off: names_end(&self.names)?,
                    name_len: name.len() as u16,
                    target: NONE,
                    flags: 0,
                });
                self.names.extend_from_slice(name);
                let mut flags = if c.inode.is_dir() { DIR_MODE } else { 0 };
                if !c.is_link_in_c() {
                    flags |= OWNED;
                } else if !c.children().is_empty() {
                    self.link_parents.push(child.clone());
                }
                flags
            };
            if let Some(last) = dents.last_mut() {
                last.flags = flags;
            }
            kids.push(Some(child));
        }
        let up = if parent == NONE { id } else { parent };
        for (name_len, target) in [(1u16, id), (2u16, up)] {
            let name = &b".."[..name_len as usize];
            if let Err(pos) = dents.binary_search_by(|d| self.name(d).cmp(name)) {
                dents.insert(
                    pos,
                    Dent {
                        name_off: 0,
                        name_len,
                        target,
                        flags: 0,
                    },
                );
                kids.insert(pos, None);
            }
        }
        let mut owned = Vec::new();
        for (i, kid) in kids.into_iter().enumerate() {
            let Some(kid) = kid else { continue };
            if dents[i].flags & OWNED != 0 {
                owned.push(Work {
                    node: kid,
                    parent: id,
                    slot: i as u32,
                });
            } else {
                let target = link_target(&kid);
                self.pending.push(PendingLink {
                    dir: id,
                    dent: i as u32,
                    target,
                });
            }
        }
        self.entries[id as usize].dir =
            u32::try_from(self.dirs.len()).map_err(|_| Error::OutOfMemory)?;
        self.dirs.push(dents);
        stack.extend(owned.into_iter().rev());
        Ok(())
    }

    /// The root gets the overlay opaque marker and a whiteout char device
    /// for every two-hex-digit name it does not have yet.
    fn add_root_whiteouts(&mut self, root: &NodeRef) -> Result<()> {
        let Some(r) = self.entries.first_mut() else {
            return Err(Error::InvalidArgument);
        };
        r.xattrs.set(&mut self.xt, self.keys.opaque, b"y")?;
        let selinux = r
            .xattrs
            .value(&self.xt, self.keys.selinux)
            .map(<[u8]>::to_vec);
        let root_inode = r.inode;
        let root_is_dir = root_inode.is_dir();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for i in 0..256usize {
            let name = [HEX[i >> 4], HEX[i & 15]];
            let pos = if root_is_dir {
                match self
                    .dirents(&self.entries[0])
                    .binary_search_by(|d| self.name(d).cmp(&name[..]))
                {
                    Ok(_) => continue,
                    Err(pos) => pos,
                }
            } else {
                // A non-directory root can still have children (mode
                // changed after adding them); C looks them up first.
                if root.lock().lookup_child(&name).is_some() {
                    continue;
                }
                return Err(Error::NotADirectory);
            };
            let id = u32::try_from(self.entries.len()).map_err(|_| Error::OutOfMemory)?;
            let mut xa = NodeXattrs::new(&self.xt)?;
            if let Some(v) = &selinux {
                xa.set(&mut self.xt, self.keys.selinux, v)?;
            }
            self.entries.push(Entry {
                src: None,
                inode: Inode {
                    mode: mode::S_IFCHR | 0o644,
                    nlink: 1,
                    uid: root_inode.uid,
                    gid: root_inode.gid,
                    rdev: 0,
                    size: 0,
                    mtime_sec: root_inode.mtime_sec,
                    mtime_nsec: root_inode.mtime_nsec,
                },
                xattrs: xa,
                dir: NONE,
                payload_len: NO_PAYLOAD,
                has_content: false,
            });
            let name_off = names_end(&self.names)?;
            self.names.extend_from_slice(&name);
            // Hardlink dirents of the root recorded so far move along.
            for p in self.pending.iter_mut().filter(|p| p.dir == 0) {
                if p.dent as usize >= pos {
                    p.dent += 1;
                }
            }
            let root_dir = self.entries[0].dir as usize;
            self.dirs[root_dir].insert(
                pos,
                Dent {
                    name_off,
                    name_len: 2,
                    target: id,
                    flags: OWNED,
                },
            );
        }
        Ok(())
    }

    /// C's compute step: inode order, checks, nlink of directories,
    /// canonical xattr order, minimum mtime and the ACL flag.
    fn compute(&mut self) -> Result<()> {
        let n = self.entries.len();
        let mut order = Vec::with_capacity(n);
        order.push(0u32);
        let mut i = 0;
        while i < order.len() {
            let e = &self.entries[order[i] as usize];
            order.extend(
                self.dirents(e)
                    .iter()
                    .filter(|d| d.flags & OWNED != 0)
                    .map(|d| d.target),
            );
            i += 1;
        }
        if self.root_is_link {
            return Err(Error::InvalidArgument);
        }
        let mut ino = vec![0u32; n];
        for (p, &id) in order.iter().enumerate() {
            ino[id as usize] = p as u32;
        }
        self.resolve_links(&ino)?;

        let (xt, dirs) = (&mut self.xt, &self.dirs);
        let first = &self.entries[0].inode;
        let mut min = (first.mtime_sec, first.mtime_nsec);
        let mut has_acl = false;
        for e in &mut self.entries {
            if e.inode.is_dir() {
                let dents = dirs.get(e.dir as usize).map_or(&[][..], |d| &d[..]);
                let subdirs = dents.iter().filter(|d| d.flags & DIR_MODE != 0).count();
                e.inode.nlink = (2 + subdirs) as u32;
            }
            if !e.xattrs.is_empty() {
                xt.sort_ids(&e.xattrs);
                has_acl |= xt.ids(&e.xattrs).iter().any(|&id| xt.get(id).is_acl());
            }
            let m = (e.inode.mtime_sec, e.inode.mtime_nsec);
            if m < min {
                min = m;
            }
        }
        self.min_mtime = min;
        self.has_acl = has_acl;
        self.order = order;
        self.ino = ino;
        self.xt.seal();
        Ok(())
    }

    /// Points hardlink dirents at the entries of their targets; fails
    /// (in inode order, as C checks) for loops and targets outside.
    fn resolve_links(&mut self, pos: &[u32]) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable_by_key(|p| (pos[p.dir as usize], p.dent));
        let mut by_ptr = xattrs::FastMap::<usize, u32>::default();
        for (id, e) in self.entries.iter().enumerate() {
            if let Some(src) = &e.src {
                by_ptr.insert(Arc::as_ptr(src) as usize, id as u32);
            }
        }
        for p in pending {
            let target = p.target?;
            let id = *by_ptr
                .get(&(Arc::as_ptr(&target) as usize))
                .ok_or(Error::InvalidArgument)?;
            self.dirent_mut(p.dir, p.dent).target = id;
        }
        Ok(())
    }

    pub fn dent_name(&self, d: &Dent) -> &[u8] {
        self.name(d)
    }
}
