//! `lcfs_node_clone` and `lcfs_node_clone_deep`.

use std::collections::HashMap;
use std::sync::Arc;

use super::{add_child, Node, NodeData, NodeRef};
use crate::error::Result;

/// Copies a node's data but not its place in a tree (no name, parent or
/// children). The hardlink target is shared, without raising its nlink,
/// and the xattr budget starts from zero: both as C does.
pub fn clone_node(node: &NodeRef) -> NodeRef {
    let src = node.lock();
    let mut data = NodeData::default();
    data.rare = src.rare.clone();
    data.payload = src.payload.clone();
    data.xattrs = src.xattrs.clone_entries();
    data.digest = src.digest.clone();
    data.inode = src.inode;
    Node::with_data(data)
}

/// Clones a whole subtree; hardlinks that point inside it are redirected
/// to the copies, ones that point outside keep their target.
pub fn clone_deep(node: &NodeRef) -> Result<NodeRef> {
    let mut mapping: HashMap<*const Node, NodeRef> = HashMap::new();
    let new_root = clone_node(node);
    mapping.insert(Arc::as_ptr(node), new_root.clone());
    // Iterative walk: (original, copy) pairs whose children still need copying.
    let mut work = vec![(node.clone(), new_root.clone())];
    while let Some((orig, copy)) = work.pop() {
        let children: Vec<NodeRef> = orig.lock().children().to_vec();
        for child in children {
            let new_child = clone_node(&child);
            let name = child.lock().name.clone();
            if let Some(name) = name {
                add_child(&copy, &new_child, &name)?;
            }
            mapping.insert(Arc::as_ptr(&child), new_child.clone());
            work.push((child, new_child));
        }
    }
    for copy in mapping.values() {
        let mut d = copy.lock();
        let redirected = d
            .link_to()
            .and_then(|t| mapping.get(&Arc::as_ptr(t)))
            .cloned();
        if let Some(t) = redirected {
            d.rare_mut().link_to = Some(t);
        }
    }
    Ok(new_root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{make_hardlink, mode};

    fn with_mode(m: u32) -> NodeRef {
        let n = Node::new();
        n.lock().inode.mode = m;
        n
    }

    #[test]
    fn clone_copies_data_not_structure() {
        let root = with_mode(mode::S_IFDIR | 0o755);
        let f = with_mode(mode::S_IFREG | 0o600);
        {
            let mut d = f.lock();
            d.set_content(Some(b"abc"), 3).unwrap();
            d.set_xattr(c"user.x", b"1").unwrap();
            d.set_payload(Some(c"p")).unwrap();
            d.set_digest(&[7; 32]);
            d.inode.uid = 42;
        }
        add_child(&root, &f, c"f").unwrap();
        let c = clone_node(&f);
        let d = c.lock();
        assert!(d.name().is_none() && d.parent().is_none());
        assert_eq!(d.content(), Some(&b"abc"[..]));
        assert_eq!(d.payload(), Some(c"p"));
        assert_eq!(d.digest(), Some(&[7; 32]));
        assert_eq!(d.inode.uid, 42);
        assert_eq!(d.xattrs.get(b"user.x").unwrap().value(), b"1");
    }

    #[test]
    fn deep_clone_rewrites_internal_links() {
        let outside = with_mode(mode::S_IFREG | 0o644);
        let root = with_mode(mode::S_IFDIR | 0o755);
        let sub = with_mode(mode::S_IFDIR | 0o755);
        let a = with_mode(mode::S_IFREG | 0o644);
        let b = Node::new();
        let c = Node::new();
        add_child(&root, &sub, c"sub").unwrap();
        add_child(&sub, &a, c"a").unwrap();
        add_child(&root, &b, c"b").unwrap();
        add_child(&root, &c, c"c").unwrap();
        make_hardlink(&b, &a).unwrap();
        make_hardlink(&c, &outside).unwrap();
        let copy = clone_deep(&root).unwrap();
        let r = copy.lock();
        let new_sub = r.lookup_child(b"sub").unwrap();
        let new_a = new_sub.lock().lookup_child(b"a").unwrap();
        let new_b = r.lookup_child(b"b").unwrap();
        let new_c = r.lookup_child(b"c").unwrap();
        assert!(Arc::ptr_eq(new_b.lock().link_to().unwrap(), &new_a));
        assert!(Arc::ptr_eq(new_c.lock().link_to().unwrap(), &outside));
        assert!(!Arc::ptr_eq(&new_a, &a));
        // nlink is copied, not raised again.
        assert_eq!(new_a.lock().inode.nlink, 2);
    }
}
