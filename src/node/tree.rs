//! Tree structure: children, hardlinks and teardown.

use std::ffi::CStr;
use std::sync::Arc;

use super::{Node, NodeData, NodeRef, MAX_NAME_LENGTH};
use crate::error::{Error, Result};

/// `lcfs_node_add_child`: on success the tree holds its own reference to
/// `child`. Refuses, in C's order: non-directory parent (ENOTDIR), empty
/// name (EINVAL), long name (ENAMETOOLONG), child already named (EMLINK),
/// name taken (EEXIST). Stricter than C: adding a node below itself is
/// EINVAL instead of a reference loop, checked where C would go on to
/// insert, so that every case C refuses gets C's errno.
pub fn add_child(parent: &NodeRef, child: &NodeRef, name: &CStr) -> Result<()> {
    let name_len = name.to_bytes().len();
    {
        let p = parent.lock();
        if !p.is_dir() {
            return Err(Error::NotADirectory);
        }
        if name_len == 0 {
            return Err(Error::InvalidArgument);
        }
        if name_len > MAX_NAME_LENGTH {
            return Err(Error::NameTooLong);
        }
    }
    // Checked before locking the child: for a self add it is the parent.
    let is_self = Arc::ptr_eq(parent, child);
    let child_has_children = {
        let c = child.lock();
        if c.name.is_some() {
            return Err(Error::AlreadyLinked);
        }
        !c.children.is_empty()
    };
    // An unnamed child can only be an ancestor of `parent` as its root, and
    // only if it has children: leaves skip the walk up.
    if is_self || (child_has_children && Arc::ptr_eq(&root_of(parent), child)) {
        return Err(Error::InvalidArgument);
    }
    let mut p = parent.lock();
    let pos = match p.find_child(name.to_bytes()) {
        Ok(_) => return Err(Error::AlreadyExists),
        Err(pos) => pos,
    };
    {
        let mut c = child.lock();
        c.name = Some(name.into());
        c.parent = Arc::downgrade(parent);
    }
    p.children.insert(pos, child.clone());
    Ok(())
}

/// Where a child called `name` that is in no tree yet would go among
/// `parent`'s children, or [`add_child`]'s error for it.
pub fn new_child_slot(parent: &NodeData, name: &[u8]) -> Result<usize> {
    if !parent.is_dir() {
        return Err(Error::NotADirectory);
    }
    if name.is_empty() {
        return Err(Error::InvalidArgument);
    }
    if name.len() > MAX_NAME_LENGTH {
        return Err(Error::NameTooLong);
    }
    match parent.find_child(name) {
        Ok(_) => Err(Error::AlreadyExists),
        Err(pos) => Ok(pos),
    }
}

/// [`add_child`] of a node that does not exist yet: the node is made of
/// `data` (named and parented here) and returned. Building a tree from
/// a listing this way never locks the new node.
pub fn add_new_child(parent: &NodeRef, name: &CStr, mut data: NodeData) -> Result<NodeRef> {
    let mut p = parent.lock();
    let pos = new_child_slot(&p, name.to_bytes())?;
    data.name = Some(name.into());
    data.parent = Arc::downgrade(parent);
    let node = Node::with_data(data);
    p.children.insert(pos, node.clone());
    Ok(node)
}

fn root_of(node: &NodeRef) -> NodeRef {
    let mut cur = node.clone();
    loop {
        let up = cur.lock().parent();
        match up {
            Some(p) => cur = p,
            None => return cur,
        }
    }
}

/// Follows the hardlink chain from `node` to the node holding the data.
/// A chain that comes back to `node` is ELOOP.
pub fn follow_links(node: &NodeRef) -> Result<NodeRef> {
    let mut cur = node.clone();
    loop {
        let next = cur.lock().link_to().cloned();
        match next {
            None => return Ok(cur),
            Some(n) if Arc::ptr_eq(&n, node) => return Err(Error::Loop),
            Some(n) => cur = n,
        }
    }
}

/// `lcfs_node_make_hardlink`: `node` becomes a link to `target`, whose
/// nlink goes up by one. C has no error return and builds whatever it is
/// given; we refuse links that would make a reference cycle and remember
/// why, so that writing fails as it would in C: with ELOOP for a link
/// that closes a cycle, EINVAL for a link to itself (C asserts). A refused
/// link changes nothing else (C would also have raised the target's nlink).
pub fn make_hardlink(node: &NodeRef, target: &NodeRef) -> Result<()> {
    if Arc::ptr_eq(node, target) {
        node.lock().rare_mut().link_error = Some(Error::InvalidArgument);
        return Err(Error::InvalidArgument);
    }
    if reaches(target, node) {
        node.lock().rare_mut().link_error = Some(Error::Loop);
        // The call itself is misuse (EINVAL); ELOOP is what writing reports.
        return Err(Error::InvalidArgument);
    }
    {
        let mut t = target.lock();
        t.inode.nlink = t.inode.nlink.wrapping_add(1);
    }
    let old = {
        let mut n = node.lock();
        let r = n.rare_mut();
        r.link_error = None;
        r.link_to.replace(target.clone())
    };
    // Released only after unlocking `node`: if this was the last reference
    // to the old target, its teardown may need to lock `node` (a child of it).
    drop(old);
    Ok(())
}

/// True when the link chain starting at `from` passes through `needle`
/// (or loops, which existing checks never allow to be built).
fn reaches(from: &NodeRef, needle: &NodeRef) -> bool {
    let mut cur = from.clone();
    loop {
        let next = cur.lock().link_to().cloned();
        match next {
            None => return false,
            Some(n) if Arc::ptr_eq(&n, needle) || Arc::ptr_eq(&n, from) => return true,
            Some(n) => cur = n,
        }
    }
}

impl Drop for NodeData {
    /// C's teardown: every descendant is detached (name and parent cleared,
    /// so it can be added elsewhere) and unreferenced, even ones somebody
    /// else still holds. Iterative, so deep trees cannot overflow the stack.
    fn drop(&mut self) {
        let mut pending: Vec<NodeRef> = self.children.take();
        while let Some(child) = pending.pop() {
            let grandchildren = {
                let mut c = child.lock();
                c.name = None;
                c.parent = std::sync::Weak::new();
                c.children.take()
            };
            pending.extend(grandchildren);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{mode, Node};

    fn dir() -> NodeRef {
        let n = Node::new();
        n.lock().inode.mode = mode::S_IFDIR | 0o755;
        n
    }
    fn file() -> NodeRef {
        let n = Node::new();
        n.lock().inode.mode = mode::S_IFREG | 0o644;
        n
    }

    #[test]
    fn add_child_errors_in_c_order() {
        let root = dir();
        let f = file();
        assert_eq!(add_child(&f, &root, c"x"), Err(Error::NotADirectory));
        assert_eq!(add_child(&root, &f, c""), Err(Error::InvalidArgument));
        let long = std::ffi::CString::new(vec![b'n'; 256]).unwrap();
        assert_eq!(add_child(&root, &f, &long), Err(Error::NameTooLong));
        let ok = std::ffi::CString::new(vec![b'n'; 255]).unwrap();
        add_child(&root, &f, &ok).unwrap();
        assert_eq!(add_child(&root, &f, c"again"), Err(Error::AlreadyLinked));
        assert_eq!(add_child(&root, &file(), &ok), Err(Error::AlreadyExists));
        assert_eq!(
            add_child(&root, &root, c"self"),
            Err(Error::InvalidArgument)
        );
        let sub = dir();
        add_child(&root, &sub, c"sub").unwrap();
        assert_eq!(add_child(&sub, &root, c"loop"), Err(Error::InvalidArgument));
    }

    #[test]
    fn children_sorted_and_found() {
        let root = dir();
        for n in [c"b", c"a", c"c", c"ab"] {
            add_child(&root, &file(), n).unwrap();
        }
        let r = root.lock();
        let names: Vec<_> = r
            .children()
            .iter()
            .map(|c| c.lock().name().unwrap().to_bytes().to_vec())
            .collect();
        assert_eq!(names, [&b"a"[..], b"ab", b"b", b"c"]);
        assert!(r.lookup_child(b"ab").is_some());
        assert!(r.lookup_child(b"zz").is_none());
        let child = r.lookup_child(b"c").unwrap();
        assert!(Arc::ptr_eq(&child.lock().parent().unwrap(), &root));
    }

    #[test]
    fn teardown_detaches_survivors() {
        let root = dir();
        let sub = dir();
        let leaf = file();
        add_child(&root, &sub, c"sub").unwrap();
        add_child(&sub, &leaf, c"leaf").unwrap();
        let kept_sub = sub.clone();
        drop(sub);
        drop(root);
        // Like C: the surviving subdirectory is detached and emptied.
        let s = kept_sub.lock();
        assert!(s.name().is_none() && s.parent().is_none());
        assert!(s.children().is_empty());
        assert!(leaf.lock().name().is_none());
        drop(s);
        let other = dir();
        add_child(&other, &leaf, c"moved").unwrap();
    }

    #[test]
    fn deep_tree_teardown_does_not_recurse() {
        let root = dir();
        let mut cur = root.clone();
        for _ in 0..200_000 {
            let d = dir();
            add_child(&cur, &d, c"d").unwrap();
            cur = d;
        }
        drop(cur);
        drop(root);
    }

    #[test]
    fn hardlinks() {
        let a = file();
        let b = file();
        let c = file();
        make_hardlink(&b, &a).unwrap();
        assert_eq!(a.lock().inode.nlink, 2);
        make_hardlink(&c, &b).unwrap();
        assert_eq!(b.lock().inode.nlink, 2);
        assert!(Arc::ptr_eq(&follow_links(&c).unwrap(), &a));
        // a -> c would close the loop a -> c -> b -> a: the write will fail
        // with ELOOP, as in C.
        assert_eq!(make_hardlink(&a, &c), Err(Error::InvalidArgument));
        assert_eq!(a.lock().link_error(), Some(Error::Loop));
        assert!(a.lock().link_to().is_none());
        assert_eq!(c.lock().inode.nlink, 1);
        assert_eq!(make_hardlink(&b, &b), Err(Error::InvalidArgument));
        assert_eq!(b.lock().link_error(), Some(Error::InvalidArgument));
    }

    #[test]
    fn self_add_gets_c_errno_where_c_refuses() {
        let f = file();
        assert_eq!(add_child(&f, &f, c"x"), Err(Error::NotADirectory));
        let root = dir();
        let d = dir();
        add_child(&root, &d, c"d").unwrap();
        assert_eq!(add_child(&d, &d, c""), Err(Error::InvalidArgument));
        assert_eq!(add_child(&d, &d, c"x"), Err(Error::AlreadyLinked));
        assert_eq!(add_child(&root, &root, c"x"), Err(Error::InvalidArgument));
        assert!(root.lock().name().is_none());
    }

    #[test]
    fn relinking_away_from_last_reference_to_parent() {
        // n links to its own parent, which nothing else keeps alive: moving
        // the link frees the parent, whose teardown detaches n.
        let parent = dir();
        let n = file();
        add_child(&parent, &n, c"n").unwrap();
        make_hardlink(&n, &parent).unwrap();
        drop(parent);
        assert!(n.lock().name().is_some());
        let other = file();
        make_hardlink(&n, &other).unwrap();
        let d = n.lock();
        assert!(d.name().is_none() && d.parent().is_none());
        assert!(Arc::ptr_eq(d.link_to().unwrap(), &other));
    }
}
