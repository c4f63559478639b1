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

#[derive(Default)]
pub(super) struct Seen {
    /// Slot per nid: 0 for none, else index + 1 into `nodes`.
    dense: Vec<u32>,
    nodes: Vec<NodeRef>,
    sparse: HashMap<u64, NodeRef, BuildHasherDefault<NidHasher>>,
}

impl Seen {
    /// A table for an inode area of `meta_len` bytes.
    pub fn new(meta_len: usize) -> Seen {
        let slots = meta_len / 32 + 1;
        Seen {
            dense: if slots <= DENSE_MAX {
                vec![0; slots]
            } else {
                Vec::new()
            },
            ..Seen::default()
        }
    }

    pub fn get(&self, nid: u64) -> Option<&NodeRef> {
        match usize::try_from(nid).ok().and_then(|i| self.dense.get(i)) {
            Some(&0) => None,
            Some(&k) => self.nodes.get(k as usize - 1),
            None => self.sparse.get(&nid),
        }
    }

    pub fn insert(&mut self, nid: u64, node: NodeRef) {
        let slot = usize::try_from(nid).ok().filter(|&i| i < self.dense.len());
        match (slot, u32::try_from(self.nodes.len() + 1)) {
            (Some(i), Ok(k)) => {
                self.dense[i] = k;
                self.nodes.push(node);
            }
            _ => {
                self.sparse.insert(nid, node);
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
        let mut s = Seen::new(64 * 32);
        let (a, b) = (Node::new(), Node::new());
        assert!(s.get(3).is_none());
        s.insert(3, a.clone());
        s.insert(u64::MAX, b.clone());
        assert!(Arc::ptr_eq(s.get(3).unwrap(), &a));
        assert!(Arc::ptr_eq(s.get(u64::MAX).unwrap(), &b));
        assert!(s.get(4).is_none() && s.get(1 << 40).is_none());
    }
}
