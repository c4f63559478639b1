//! The in-memory node tree: what `struct lcfs_node_s` is to C callers.
//!
//! Nodes are reference counted (`Arc`) because C holds references of its
//! own; each node's data sits behind its own mutex so that C threads may
//! work on different nodes at once. Lock order is always parent before
//! child, and no code holds two sibling locks at once.

mod clone;
mod tree;
pub mod xattr;

use std::ffi::CStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::error::{Error, Result};
pub use clone::{clone_deep, clone_node};
pub use tree::{add_child, add_new_child, follow_links, make_hardlink, new_child_slot};
use xattr::Xattrs;

/// `S_IFMT` and friends, as u32 for the node's mode field.
pub mod mode {
    pub const S_IFMT: u32 = libc::S_IFMT;
    pub const S_IFREG: u32 = libc::S_IFREG;
    pub const S_IFDIR: u32 = libc::S_IFDIR;
    pub const S_IFLNK: u32 = libc::S_IFLNK;
    pub const S_IFBLK: u32 = libc::S_IFBLK;
    pub const S_IFCHR: u32 = libc::S_IFCHR;
    pub const S_IFSOCK: u32 = libc::S_IFSOCK;
    pub const S_IFIFO: u32 = libc::S_IFIFO;
}

/// Longest child name (`LCFS_MAX_NAME_LENGTH`).
pub const MAX_NAME_LENGTH: usize = 255;
/// Largest inline content (`LCFS_INLINE_CONTENT_MAX`).
pub const INLINE_CONTENT_MAX: usize = 5000;
/// Largest content lcfs_build inlines (`LCFS_RECOMMENDED_INLINE_CONTENT_MAX`).
pub const RECOMMENDED_INLINE_CONTENT_MAX: usize = 64;
/// Payloads of PATH_MAX bytes or more are refused.
pub const PAYLOAD_MAX: usize = libc::PATH_MAX as usize;
/// Length of a sha256 fs-verity digest.
pub const DIGEST_SIZE: usize = 32;

/// The stat-like fields of a node. `rdev` is 32 bits wide as in C, which
/// truncates what `lcfs_node_set_rdev64` is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inode {
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
}

impl Inode {
    pub fn file_type(&self) -> u32 {
        self.mode & mode::S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.file_type() == mode::S_IFDIR
    }
}

/// Accepts only the seven file types composefs can store.
pub fn validate_mode(m: u32) -> Result<()> {
    match m & mode::S_IFMT {
        mode::S_IFREG
        | mode::S_IFDIR
        | mode::S_IFLNK
        | mode::S_IFBLK
        | mode::S_IFCHR
        | mode::S_IFSOCK
        | mode::S_IFIFO => Ok(()),
        _ => Err(Error::InvalidArgument),
    }
}

/// A shared handle on a node; C's `struct lcfs_node_s *` is one of these.
pub type NodeRef = Arc<Node>;

/// A node: its data behind a lock, plus a copy of its mode where C
/// programs can read it (see `ffi::C_MODE_OFFSET`). Upstream's mkcomposefs
/// reads `node->inode.st_mode` straight out of C's private struct, so the
/// pointer C gets is placed so that this field is found there. The copy
/// comes last so that this pointer still falls inside the node's
/// allocation: leak checkers (valgrind, LeakSanitizer) then see the nodes a
/// C program holds as referenced rather than lost.
#[repr(C)]
#[derive(Default)]
pub struct Node {
    data: Mutex<NodeData>,
    c_mode: AtomicU32,
}

/// Where `Node::c_mode` sits inside a node.
pub(crate) const C_MODE_FIELD: usize = std::mem::offset_of!(Node, c_mode);

/// A node's children, sorted by name bytes (strcmp order). Most nodes
/// have none: boxed, the empty list costs 8 bytes of every node, not 24.
#[derive(Default)]
pub struct Children(
    // Boxed on purpose, see above.
    #[allow(clippy::box_collection)] Option<Box<Vec<NodeRef>>>,
);

impl Children {
    pub fn from_vec(v: Vec<NodeRef>) -> Children {
        Children((!v.is_empty()).then(|| Box::new(v)))
    }
    pub fn insert(&mut self, at: usize, child: NodeRef) {
        self.0
            .get_or_insert_with(Default::default)
            .insert(at, child);
    }
    /// Empties the list, handing over its children.
    pub fn take(&mut self) -> Vec<NodeRef> {
        self.0.take().map(|v| *v).unwrap_or_default()
    }
}

impl std::ops::Deref for Children {
    type Target = [NodeRef];
    fn deref(&self) -> &[NodeRef] {
        self.0.as_deref().map_or(&[], |v| &v[..])
    }
}

/// The parts of a node that few nodes have.
#[derive(Clone, Default)]
pub struct Rare {
    pub(crate) link_to: Option<NodeRef>,
    /// Why a make_hardlink was refused (cycle: ELOOP, self link: EINVAL);
    /// the writer reports it.
    pub(crate) link_error: Option<Error>,
    pub(crate) content: Option<Box<[u8]>>,
}

/// Everything a node holds. Strings keep their NUL so that pointers to
/// them can be handed to C as they are.
#[derive(Default)]
pub struct NodeData {
    pub(crate) parent: Weak<Node>,
    pub(crate) name: Option<Box<CStr>>,
    pub(crate) children: Children,
    /// Hardlink and inline content: boxed, as most nodes have neither and
    /// every node is smaller for it (a dumpfile of 100k files builds 100k
    /// nodes).
    pub(crate) rare: Option<Box<Rare>>,
    pub(crate) payload: Option<Box<CStr>>,
    pub xattrs: Xattrs,
    /// Boxed: most nodes have none, and this keeps every node 32 bytes
    /// smaller (a dumpfile of 100k files builds 100k nodes).
    pub(crate) digest: Option<Box<[u8; DIGEST_SIZE]>>,
    pub inode: Inode,
}

impl Node {
    /// A fresh node: everything zero except nlink 1, as `lcfs_node_new`.
    pub fn new() -> NodeRef {
        Node::with_data(NodeData::new())
    }

    /// A node holding `data`.
    #[inline]
    pub(crate) fn with_data(data: NodeData) -> NodeRef {
        Arc::new(Node {
            c_mode: AtomicU32::new(data.inode.mode),
            data: Mutex::new(data),
        })
    }

    /// Locks this node's data. Nothing panics while holding the lock, so
    /// a poisoned lock cannot happen; it is still taken over rather than
    /// unwrapped.
    pub fn lock(&self) -> NodeGuard<'_> {
        NodeGuard {
            data: self.data.lock().unwrap_or_else(|p| p.into_inner()),
            c_mode: &self.c_mode,
        }
    }

    /// The mode as C programs see it in the node's memory.
    pub fn c_mode(&self) -> u32 {
        self.c_mode.load(Ordering::Relaxed)
    }
}

/// Locked access to a node's data; on release it refreshes the copy of the
/// mode that C programs may read, so no code path can leave it stale.
pub struct NodeGuard<'a> {
    data: MutexGuard<'a, NodeData>,
    c_mode: &'a AtomicU32,
}

impl std::ops::Deref for NodeGuard<'_> {
    type Target = NodeData;
    fn deref(&self) -> &NodeData {
        &self.data
    }
}

impl std::ops::DerefMut for NodeGuard<'_> {
    fn deref_mut(&mut self) -> &mut NodeData {
        &mut self.data
    }
}

impl Drop for NodeGuard<'_> {
    fn drop(&mut self) {
        self.c_mode.store(self.data.inode.mode, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Node {
    /// Name and inode only; a node locked elsewhere prints as such
    /// instead of blocking.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.data.try_lock() {
            Ok(d) => f
                .debug_struct("Node")
                .field("name", &d.name())
                .field("inode", &d.inode)
                .finish(),
            Err(_) => f.write_str("Node(<locked>)"),
        }
    }
}

impl NodeData {
    /// What `lcfs_node_new` starts with: all zero but nlink 1.
    pub fn new() -> NodeData {
        let mut d = NodeData::default();
        d.inode.nlink = 1;
        d
    }
    pub fn name(&self) -> Option<&CStr> {
        self.name.as_deref()
    }
    pub fn parent(&self) -> Option<NodeRef> {
        self.parent.upgrade()
    }
    pub fn children(&self) -> &[NodeRef] {
        &self.children
    }
    pub fn is_dir(&self) -> bool {
        self.inode.is_dir()
    }
    pub fn link_to(&self) -> Option<&NodeRef> {
        self.rare.as_ref()?.link_to.as_ref()
    }
    pub fn link_error(&self) -> Option<Error> {
        self.rare.as_ref()?.link_error
    }
    /// The rare parts, made on first use.
    pub(crate) fn rare_mut(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Default::default)
    }
    /// Whether C would hold this node as a hardlink: it links somewhere,
    /// or its link was refused for closing a cycle (which C builds, and
    /// only finds when checking links after the tree walks).
    pub fn is_link_in_c(&self) -> bool {
        self.link_to().is_some() || self.link_error() == Some(Error::Loop)
    }
    pub fn payload(&self) -> Option<&CStr> {
        self.payload.as_deref()
    }
    pub fn content(&self) -> Option<&[u8]> {
        self.rare.as_ref()?.content.as_deref()
    }
    pub fn digest(&self) -> Option<&[u8; DIGEST_SIZE]> {
        self.digest.as_deref()
    }

    /// Binary search by name; Ok(index) when found, Err(insert position).
    pub fn find_child(&self, name: &[u8]) -> std::result::Result<usize, usize> {
        // Children mostly arrive in order (dumpfiles, sorted readdir):
        // one comparison with the last settles an append.
        if let Some(last) = self.children.last() {
            let l = last.lock();
            if l.name().map(CStr::to_bytes).unwrap_or_default() < name {
                return Err(self.children.len());
            }
        }
        self.children.binary_search_by(|c| {
            // Children always have names while they sit in a parent.
            let n = c.lock();
            n.name().map(CStr::to_bytes).unwrap_or_default().cmp(name)
        })
    }

    pub fn lookup_child(&self, name: &[u8]) -> Option<NodeRef> {
        self.find_child(name).ok().map(|i| self.children[i].clone())
    }

    /// `lcfs_node_set_payload`: None clears it.
    pub fn set_payload(&mut self, payload: Option<&CStr>) -> Result<()> {
        if let Some(p) = payload {
            if p.to_bytes().len() >= PAYLOAD_MAX {
                return Err(Error::NameTooLong);
            }
        }
        self.payload = payload.map(Into::into);
        Ok(())
    }

    /// `lcfs_node_set_symlink_payload`: non-empty target; size follows it.
    /// C asserts the node is a symlink; we refuse with EINVAL instead.
    pub fn set_symlink_payload(&mut self, target: &CStr) -> Result<()> {
        if self.inode.file_type() != mode::S_IFLNK || target.to_bytes().is_empty() {
            return Err(Error::InvalidArgument);
        }
        self.set_payload(Some(target))?;
        self.inode.size = target.to_bytes().len() as u64;
        Ok(())
    }

    /// `lcfs_node_set_content`: `data` None (or empty) clears the content
    /// but still sets the size to `size`.
    pub fn set_content(&mut self, data: Option<&[u8]>, size: usize) -> Result<()> {
        let copy = match data {
            Some(d) if size != 0 => {
                if size > INLINE_CONTENT_MAX {
                    return Err(Error::InvalidArgument);
                }
                Some(Box::<[u8]>::from(
                    d.get(..size).ok_or(Error::InvalidArgument)?,
                ))
            }
            _ => None,
        };
        match (copy, &mut self.rare) {
            (None, None) => {}
            (copy, _) => self.rare_mut().content = copy,
        }
        self.inode.size = size as u64;
        Ok(())
    }

    /// `lcfs_node_set_size`: a changed size drops inline content.
    pub fn set_size(&mut self, size: u64) {
        if size != self.inode.size {
            if let Some(r) = &mut self.rare {
                r.content = None;
            }
            self.inode.size = size;
        }
    }

    pub fn set_digest(&mut self, digest: &[u8; DIGEST_SIZE]) {
        self.digest = Some(Box::new(*digest));
    }

    /// `lcfs_node_set_xattr` (public budget).
    pub fn set_xattr(&mut self, key: &CStr, value: &[u8]) -> Result<()> {
        self.xattrs.set(key, value, xattr::EXTERNAL_XATTR_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_node_defaults() {
        let n = Node::new();
        let d = n.lock();
        assert_eq!(d.inode.nlink, 1);
        assert_eq!(d.inode.mode, 0);
        assert!(d.name().is_none() && d.payload().is_none() && d.content().is_none());
    }

    #[test]
    fn content_and_size() {
        let n = Node::new();
        let mut d = n.lock();
        d.set_content(Some(b"hello"), 5).unwrap();
        assert_eq!(d.content(), Some(&b"hello"[..]));
        assert_eq!(d.inode.size, 5);
        d.set_size(5);
        assert!(d.content().is_some());
        d.set_size(6);
        assert!(d.content().is_none());
        d.set_content(None, 1234).unwrap();
        assert_eq!(d.inode.size, 1234);
        let big = vec![1u8; INLINE_CONTENT_MAX + 1];
        assert_eq!(
            d.set_content(Some(&big), big.len()),
            Err(Error::InvalidArgument)
        );
        assert_eq!(d.inode.size, 1234);
        d.set_content(Some(&big), INLINE_CONTENT_MAX).unwrap();
        assert_eq!(d.content().map(<[u8]>::len), Some(INLINE_CONTENT_MAX));
    }

    #[test]
    fn payload_rules() {
        let n = Node::new();
        let mut d = n.lock();
        let long = std::ffi::CString::new(vec![b'a'; PAYLOAD_MAX]).unwrap();
        assert_eq!(d.set_payload(Some(&long)), Err(Error::NameTooLong));
        d.set_payload(Some(c"ab/cdef")).unwrap();
        assert_eq!(d.payload(), Some(c"ab/cdef"));
        assert_eq!(d.set_symlink_payload(c"x"), Err(Error::InvalidArgument));
        d.inode.mode = mode::S_IFLNK | 0o777;
        assert_eq!(d.set_symlink_payload(c""), Err(Error::InvalidArgument));
        d.set_symlink_payload(c"target").unwrap();
        assert_eq!(d.inode.size, 6);
        d.set_payload(None).unwrap();
        assert!(d.payload().is_none());
    }

    #[test]
    fn c_mode_follows_every_change() {
        let n = Node::new();
        assert_eq!(n.c_mode(), 0);
        n.lock().inode.mode = mode::S_IFREG | 0o600;
        assert_eq!(n.c_mode(), mode::S_IFREG | 0o600);
        let mut d = NodeData::default();
        d.inode.mode = mode::S_IFDIR | 0o755;
        assert_eq!(Node::with_data(d).c_mode(), mode::S_IFDIR | 0o755);
    }

    #[test]
    fn modes() {
        for t in [
            mode::S_IFREG,
            mode::S_IFDIR,
            mode::S_IFLNK,
            mode::S_IFBLK,
            mode::S_IFCHR,
            mode::S_IFSOCK,
            mode::S_IFIFO,
        ] {
            assert!(validate_mode(t | 0o644).is_ok());
        }
        assert_eq!(validate_mode(0o644), Err(Error::InvalidArgument));
        assert_eq!(validate_mode(0o170000), Err(Error::InvalidArgument));
    }
}
