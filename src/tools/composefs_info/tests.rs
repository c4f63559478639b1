use super::*;
use crate::node::{add_child, make_hardlink, Node};
use std::ffi::CStr;

fn file(parent: &NodeRef, name: &CStr, payload: Option<&CStr>) -> NodeRef {
    let n = Node::new();
    {
        let mut d = n.lock();
        d.inode.mode = mode::S_IFREG | 0o644;
        d.set_payload(payload).unwrap();
    }
    add_child(parent, &n, name).unwrap();
    n
}

#[test]
fn objects_are_regular_payloads_and_missing_ones_are_looked_up() {
    let root = Node::new();
    root.lock().inode.mode = mode::S_IFDIR | 0o755;
    let a = file(&root, c"a", Some(c"zz/obj"));
    file(&root, c"b", Some(c"/proc"));
    file(&root, c"c", None);
    let l = Node::new();
    l.lock().inode.mode = mode::S_IFLNK | 0o777;
    l.lock().set_symlink_payload(c"target").unwrap();
    add_child(&root, &l, c"d").unwrap();
    let h = Node::new();
    make_hardlink(&h, &a).unwrap();
    add_child(&root, &h, c"e").unwrap();

    let mut all = Vec::new();
    collect_objects(&root, None, &mut all);
    all.sort();
    assert_eq!(all, vec![b"/proc".to_vec(), b"zz/obj".to_vec()]);

    let dir = std::fs::File::open("/").unwrap();
    let mut missing = Vec::new();
    collect_objects(&root, Some(dir.as_raw_fd()), &mut missing);
    assert_eq!(missing, vec![b"zz/obj".to_vec()]);
}
