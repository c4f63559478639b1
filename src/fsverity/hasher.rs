//! Streaming fs-verity (SHA-256, 4 KiB blocks, no salt) digest.
//!
//! The Merkle tree is built bottom-up as data arrives. Each tree level
//! keeps only its one unfinished block, so memory stays at a few pages
//! whatever the file size. A finished block is hashed at once and its hash
//! is appended to the level above; `finish` then works out which level
//! holds the single root block.

use sha2::{Digest, Sha256};

use super::{BLOCK_SIZE, DIGEST_SIZE};

/// One tree level: its unfinished block and how many blocks it completed.
struct Level {
    block: Box<[u8; BLOCK_SIZE]>,
    len: usize,
    done: u64,
}

impl Level {
    fn new() -> Level {
        Level {
            block: Box::new([0; BLOCK_SIZE]),
            len: 0,
            done: 0,
        }
    }
}

pub(super) fn sha256(data: &[u8]) -> [u8; DIGEST_SIZE] {
    Sha256::digest(data).into()
}

/// Incremental fs-verity digest: `new`, any number of `update`s, `finish`.
pub struct FsVerityHasher {
    /// `levels[0]` holds file data, `levels[n]` hashes of level `n-1` blocks.
    levels: Vec<Level>,
    size: u64,
}

impl Default for FsVerityHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl FsVerityHasher {
    pub fn new() -> FsVerityHasher {
        FsVerityHasher {
            levels: vec![Level::new()],
            size: 0,
        }
    }

    /// Number of bytes fed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Feeds the next bytes of the file. Whole blocks are hashed straight
    /// from `data`; only a leading or trailing partial block is copied.
    pub fn update(&mut self, data: &[u8]) {
        self.size = self.size.wrapping_add(data.len() as u64);
        let mut rest = data;

        let data_level = &mut self.levels[0];
        if data_level.len > 0 {
            let take = rest.len().min(BLOCK_SIZE - data_level.len);
            data_level.block[data_level.len..data_level.len + take].copy_from_slice(&rest[..take]);
            data_level.len += take;
            rest = &rest[take..];
            if data_level.len < BLOCK_SIZE {
                return;
            }
            data_level.len = 0;
            let hash = sha256(&data_level.block[..]);
            self.complete_block(0, hash);
        }

        let mut blocks = rest.chunks_exact(BLOCK_SIZE);
        for block in &mut blocks {
            let hash = sha256(block);
            self.complete_block(0, hash);
        }

        let tail = blocks.remainder();
        let data_level = &mut self.levels[0];
        data_level.block[..tail.len()].copy_from_slice(tail);
        data_level.len = tail.len();
    }

    /// Takes hashes of whole data blocks computed elsewhere, as if those
    /// blocks had been passed to `update`. Callers only do this while no
    /// partial block is pending (after whole blocks only).
    pub(super) fn add_block_hashes(&mut self, hashes: &[[u8; DIGEST_SIZE]]) {
        debug_assert_eq!(self.levels[0].len, 0);
        for hash in hashes {
            self.size = self.size.wrapping_add(BLOCK_SIZE as u64);
            self.complete_block(0, *hash);
        }
    }

    /// Records that a block of `level` is complete, with hash `hash`, and
    /// propagates upwards every block this completes in turn.
    fn complete_block(&mut self, mut level: usize, mut hash: [u8; DIGEST_SIZE]) {
        loop {
            self.levels[level].done += 1;
            level += 1;
            if level == self.levels.len() {
                self.levels.push(Level::new());
            }
            let parent = &mut self.levels[level];
            parent.block[parent.len..parent.len + DIGEST_SIZE].copy_from_slice(&hash);
            parent.len += DIGEST_SIZE;
            if parent.len < BLOCK_SIZE {
                return;
            }
            parent.len = 0;
            hash = sha256(&parent.block[..]);
        }
    }

    /// The Merkle root: all zeros for an empty file, else the hash of the
    /// lowest level that consists of a single block.
    fn root_hash(&mut self) -> [u8; DIGEST_SIZE] {
        if self.size == 0 {
            return [0; DIGEST_SIZE];
        }
        let mut level = 0;
        loop {
            let cur = &mut self.levels[level];
            let pending = cur.len > 0;
            let blocks = cur.done + u64::from(pending);
            if pending {
                // Partial blocks are hashed zero-padded to full size.
                cur.block[cur.len..].fill(0);
                cur.len = 0;
                let hash = sha256(&cur.block[..]);
                self.complete_block(level, hash);
            }
            if blocks == 1 {
                // The single block's hash was just appended as the first
                // and only entry of the level above.
                let mut root = [0; DIGEST_SIZE];
                root.copy_from_slice(&self.levels[level + 1].block[..DIGEST_SIZE]);
                return root;
            }
            level += 1;
        }
    }

    /// The fs-verity file digest: SHA-256 of the 256-byte descriptor
    /// (version 1, SHA-256, log2 block size 12, no salt, size, root hash).
    pub fn finish(mut self) -> [u8; DIGEST_SIZE] {
        let root = self.root_hash();
        let mut descriptor = [0u8; 256];
        descriptor[0] = 1;
        descriptor[1] = 1;
        descriptor[2] = BLOCK_SIZE.trailing_zeros() as u8;
        descriptor[8..16].copy_from_slice(&self.size.to_le_bytes());
        descriptor[16..16 + DIGEST_SIZE].copy_from_slice(&root);
        sha256(&descriptor)
    }
}
