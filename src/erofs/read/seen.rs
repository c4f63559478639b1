//! The nids already turned into nodes, so that later references become
//! hardlinks. Sane nids index a flat table (one u32 per inode slot of
//! the image); anything else goes to a hash map.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::node::NodeRef;

/// Flat tables above this many slots (1 GiB of inode area) are not worth it.
const DENSE_MAX: usize = 1 << 25;

/// Nids are offsets, so a multiplicative spread is all the hashing needed.
#[derive(Default)]
struct NidHasher(u64);

impl Hasher for NidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Dense slot marking a nid that was met but whose node was not kept.
const NOT_KEPT: u32 = u32::MAX;

#[derive(Default)]
pub(super) struct Seen {
    /// Slot per nid: 0 for none, NOT_KEPT, else index + 1 into `nodes`.
    dense: Vec<u32>,
    nodes: Vec<NodeRef>,
    sparse: HashMap<u64, Option<NodeRef>, BuildHasherDefault<NidHasher>>,
    keep_all: bool,
}

/// What is known about a nid.
pub(super) enum Seeing<'a> {
    New,
    /// Met before, but only marked (see [`Seen::keeps`]).
    NotKept,
    Node(&'a NodeRef),
}

impl Seen {
    /// A table for an inode area of `meta_len` bytes. Unless `keep_all`
    /// is set, only nodes that [`Seen::keeps`] are remembered; holding a
    /// reference to every node costs two atomic operations per node.
    pub fn new(meta_len: usize, keep_all: bool) -> Seen {
        let slots = meta_len / 32 + 1;
        Seen {
            dense: if slots <= DENSE_MAX {
                vec![0; slots]
            } else {
                Vec::new()
            },
            keep_all,
            ..Seen::default()
        }
    }

    /// Whether a non-directory with this link count is remembered: a
    /// well-formed image names a node with one link only once.
    pub fn keeps(&self, nlink: u32) -> bool {
        self.keep_all || nlink != 1
    }

    pub fn get(&self, nid: u64) -> Seeing<'_> {
        let found = match usize::try_from(nid).ok().and_then(|i| self.dense.get(i)) {
            Some(&0) => None,
            Some(&NOT_KEPT) => return Seeing::NotKept,
            Some(&k) => self.nodes.get(k as usize - 1),
            None => match self.sparse.get(&nid) {
                Some(None) => return Seeing::NotKept,
                Some(Some(node)) => Some(node),
                None => None,
            },
        };
        found.map_or(Seeing::New, Seeing::Node)
    }

    /// Records `nid`, with its node or (None) only as met.
    pub fn insert(&mut self, nid: u64, node: Option<&NodeRef>) {
        let slot = usize::try_from(nid).ok().filter(|&i| i < self.dense.len());
        let index = u32::try_from(self.nodes.len() + 1)
            .ok()
            .filter(|&k| k != NOT_KEPT);
        match (slot, node, index) {
            (Some(i), None, _) => self.dense[i] = NOT_KEPT,
            (Some(i), Some(node), Some(k)) => {
                self.dense[i] = k;
                self.nodes.push(node.clone());
            }
            _ => {
                self.sparse.insert(nid, node.cloned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Node;
    use std::sync::Arc;

    #[test]
    fn dense_and_sparse() {
        let mut s = Seen::new(64 * 32, false);
        let (a, b) = (Node::new(), Node::new());
        let node = |s: &Seen, nid| match s.get(nid) {
            Seeing::Node(n) => Some(n.clone()),
            _ => None,
        };
        assert!(matches!(s.get(3), Seeing::New));
        s.insert(3, Some(&a));
        s.insert(u64::MAX, Some(&b));
        s.insert(5, None);
        s.insert(1 << 41, None);
        assert!(Arc::ptr_eq(&node(&s, 3).unwrap(), &a));
        assert!(Arc::ptr_eq(&node(&s, u64::MAX).unwrap(), &b));
        assert!(matches!(s.get(5), Seeing::NotKept));
        assert!(matches!(s.get(1 << 41), Seeing::NotKept));
        assert!(matches!(s.get(4), Seeing::New) && matches!(s.get(1 << 40), Seeing::New));
        assert!(!s.keeps(1) && s.keeps(2) && Seen::new(0, true).keeps(1));
    }
}
