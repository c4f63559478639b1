//! The second half of `mkcomposefs DIR`: C builds the tree without reading
//! any file content (LCFS_BUILD_NO_INLINE, no digests), then reads every
//! regular file again by its path, on several threads, to set its digest,
//! digest-named payload and small inline content. Errors of that step are
//! reported differently from the walk's ("error computing digest"), so
//! the two steps stay apart here too.

use std::ffi::CString;

use super::content::set_from_content;
use crate::error::Result;
use crate::node::{mode, NodeRef};

/// C's `join_paths`: `a` without trailing slashes, "/", `b`; just `b`
/// when `a` is empty.
pub fn join_c_path(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len() + 1 + b.len());
    if !a.is_empty() {
        let trimmed = a.len() - a.iter().rev().take_while(|&&c| c == b'/').count();
        out.extend_from_slice(&a[..trimmed]);
        out.push(b'/');
    }
    out.extend_from_slice(b);
    out
}

/// Every node below `root` (pre-order, children in name order) for which
/// `want` says yes, with its path: `src_path` for the root, joined with
/// each name below it.
pub fn collect_paths(
    root: &NodeRef,
    src_path: &[u8],
    want: &dyn Fn(&crate::node::NodeData) -> bool,
) -> Vec<(NodeRef, CString)> {
    let mut out = Vec::new();
    let mut stack = vec![(root.clone(), src_path.to_vec())];
    while let Some((node, path)) = stack.pop() {
        let d = node.lock();
        if want(&d) {
            // Paths come from C strings (names, argv): no NUL inside.
            out.push((node.clone(), CString::new(path.clone()).unwrap_or_default()));
        }
        if d.is_dir() {
            for c in d.children().iter().rev() {
                let name = c
                    .lock()
                    .name()
                    .map(|n| n.to_bytes().to_vec())
                    .unwrap_or_default();
                stack.push((c.clone(), join_c_path(&path, &name)));
            }
        }
    }
    out
}

/// Hashes every regular file of a tree built from `src_path` (relative to
/// the working directory), as `lcfs_node_set_from_content` with
/// `buildflags`, spread over `threads` threads.
pub fn compute_digests(
    root: &NodeRef,
    src_path: &[u8],
    buildflags: i32,
    threads: usize,
) -> Result<()> {
    let files = collect_paths(root, src_path, &|d| d.inode.file_type() == mode::S_IFREG);
    crate::jobs::run(&files, threads, |(node, path)| {
        set_from_content(node, rustix::fs::CWD, path, buildflags)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_like_c() {
        assert_eq!(join_c_path(b"a", b"b"), b"a/b");
        assert_eq!(join_c_path(b"a//", b"b"), b"a/b");
        assert_eq!(join_c_path(b"/", b"b"), b"/b");
        assert_eq!(join_c_path(b"", b"b"), b"b");
    }
}
