//! Where everything goes: inode sizes and padding, nids, inline tails
//! versus data blocks, following C's placement rules exactly.

use super::dirents::dir_size;
use super::tree::{Entry, Tree, NO_PAYLOAD};
use super::xattrs::{inode_xattr_size, Shared};
use crate::erofs::format::{
    BLKSIZ, BLKSIZ_BITS, CHUNK_FORMAT_BLKBITS_MASK, INODE_COMPACT_SIZE, INODE_EXTENDED_SIZE,
    SLOTSIZE, SUPER_BLOCK_SIZE, SUPER_OFFSET,
};
use crate::error::{Error, Result};
use crate::node::mode;

const BLK: u64 = BLKSIZ as u64;

/// Chunk size bits and chunk count for an external file of `size` bytes
/// (> 0): one chunk when possible, never smaller than a block, never
/// larger than the format allows.
pub fn chunking(size: u64) -> (u32, u64) {
    let below = size.saturating_sub(1);
    let log = if below == 0 {
        0
    } else {
        63 - below.leading_zeros()
    };
    let max_bits = CHUNK_FORMAT_BLKBITS_MASK as u32 + BLKSIZ_BITS;
    let bits = (log + 1).clamp(BLKSIZ_BITS, max_bits);
    // C rounds up as (size + chunk - 1) / chunk in 64 bits, which wraps for
    // sizes within one chunk of 2^64 and yields 0 chunks; such files are
    // accepted and written without chunk indexes, so we do the same.
    let chunk = 1u64 << bits;
    (bits, size.wrapping_add(chunk - 1) / chunk)
}

/// Per-inode placement: 16 bytes for each file of the tree. The padding
/// before the inode follows from its nid and its xattrs' size from its
/// list, so the writer works those out again.
#[derive(Clone, Copy, Default)]
pub struct NodeLayout {
    pub nid: u64,
    pub n_blocks: u32,
    /// Bytes of data kept inline after the inode and its xattrs (at most
    /// a block: a chunk index, a symlink target, a directory or content
    /// tail).
    pub tail: u16,
    pub compact: bool,
}

pub struct Layout {
    /// Indexed by entry id.
    pub nodes: Vec<NodeLayout>,
    pub shared: Shared,
    /// End of the inode area (slot aligned): the shared xattrs start here.
    pub inodes_end: u64,
    pub n_data_blocks: u64,
}

impl Layout {
    pub fn data_start(&self) -> u64 {
        round_up_u64(self.inodes_end + self.shared.size, BLK)
    }

    pub fn compute(tree: &Tree) -> Result<Layout> {
        let mut counts = vec![0u32; tree.xt.len()];
        for e in &tree.entries {
            for &id in tree.xt.ids(&e.xattrs) {
                counts[id as usize] += 1;
            }
        }
        let shared = Shared::compute(&tree.xt, &counts)?;
        drop(counts);

        // Every dirent was pointed at an entry while building; checked
        // here so that emitting can index without a way to fail.
        let n = tree.entries.len();
        if tree
            .entries
            .iter()
            .any(|e| tree.dirents(e).iter().any(|d| d.target as usize >= n))
        {
            return Err(Error::InvalidArgument);
        }
        let mut nodes = vec![NodeLayout::default(); n];
        let mut pos = (SUPER_OFFSET + SUPER_BLOCK_SIZE) as u64;
        let mut n_data_blocks = 0u64;
        for &id in &tree.order {
            let e = &tree.entries[id as usize];
            let (mut n_blocks, mut tail) = data_size(tree, e)?;
            let compact = fits_compact(e, tree.min_mtime, n_blocks, tail);
            let isize = if compact {
                INODE_COMPACT_SIZE
            } else {
                INODE_EXTENDED_SIZE
            } as u64;
            let (xsize, _) = inode_xattr_size(&tree.xt, &shared, tree.xt.ids(&e.xattrs));
            let aligned = round_up_u64(pos, SLOTSIZE as u64);
            let extra = tail_padding(
                e.file_type() == mode::S_IFLNK,
                aligned,
                isize + xsize as u64,
                &mut n_blocks,
                &mut tail,
            );
            let start = aligned + extra;
            nodes[id as usize] = NodeLayout {
                nid: start / SLOTSIZE as u64,
                n_blocks,
                tail: u16::try_from(tail).map_err(|_| Error::InvalidArgument)?,
                compact,
            };
            n_data_blocks += n_blocks as u64;
            pos = start + isize + xsize as u64 + tail as u64;
        }
        Ok(Layout {
            nodes,
            shared,
            inodes_end: round_up_u64(pos, SLOTSIZE as u64),
            n_data_blocks,
        })
    }
}

pub fn round_up_u64(x: u64, align: u64) -> u64 {
    x.div_ceil(align) * align
}

/// Whole data blocks and inline tail bytes before placement adjustments.
fn data_size(tree: &Tree, e: &Entry) -> Result<(u32, u32)> {
    let size = e.inode.size;
    Ok(match e.file_type() {
        mode::S_IFDIR => dir_size(tree.dirents(e)),
        mode::S_IFLNK => {
            if e.payload_len == NO_PAYLOAD {
                // C asserts here; refuse instead.
                return Err(Error::InvalidArgument);
            }
            (0, e.payload_len)
        }
        mode::S_IFREG if size > 0 => {
            if e.has_content {
                let (mut blocks, mut tail) = ((size / BLK) as u32, (size % BLK) as u32);
                if tail as usize > BLKSIZ / 2 {
                    blocks += 1;
                    tail = 0;
                }
                (blocks, tail)
            } else {
                (0, chunking(size).1 as u32 * 4)
            }
        }
        _ => (0, 0),
    })
}

/// The inode size field as written (and as checked for compact inodes).
pub fn inode_size_field(e: &Entry, n_blocks: u32, tail: u32) -> u64 {
    match e.file_type() {
        mode::S_IFDIR => n_blocks as u64 * BLK + tail as u64,
        _ => e.inode.size,
    }
}

fn fits_compact(e: &Entry, min_mtime: (i64, u32), n_blocks: u32, tail: u32) -> bool {
    let i = &e.inode;
    (i.mtime_sec, i.mtime_nsec) == min_mtime
        && i.nlink <= u16::MAX as u32
        && i.uid <= u16::MAX as u32
        && i.gid <= u16::MAX as u32
        && inode_size_field(e, n_blocks, tail) <= u32::MAX as u64
}

/// Padding in front of an inode at `pos` (slot aligned) so that its inline
/// tail does not cross a block boundary; a tail that cannot be placed
/// becomes a data block. Symlinks instead keep the whole inode with its
/// target in one block when they can.
fn tail_padding(symlink: bool, pos: u64, head: u64, n_blocks: &mut u32, tail: &mut u32) -> u64 {
    let to_block = round_up_u64(pos, BLK) - pos;
    if symlink {
        let total = head + *tail as u64;
        if total / BLK > 0 {
            *n_blocks += 1;
            *tail = 0;
        }
        return if pos / BLK != (pos + total - 1) / BLK {
            to_block
        } else {
            0
        };
    }
    let room = BLK - (pos + head) % BLK;
    if room >= *tail as u64 {
        return 0;
    }
    let extra = round_up_u64(room, SLOTSIZE as u64);
    let room = BLK - (pos + head + extra) % BLK;
    if *tail as u64 <= room {
        return extra;
    }
    *n_blocks += 1;
    *tail = 0;
    to_block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_bits() {
        assert_eq!(chunking(1), (12, 1));
        assert_eq!(chunking(4096), (12, 1));
        assert_eq!(chunking(4097), (13, 1));
        assert_eq!(chunking(1 << 20), (20, 1));
        assert_eq!(chunking((1 << 20) + 1), (21, 1));
        assert_eq!(chunking(1 << 43), (43, 1));
        assert_eq!(chunking((1 << 43) + 1), (43, 2));
        assert_eq!(chunking(1024 << 43), (43, 1024));
        assert_eq!(chunking((1024 << 43) + 1), (43, 1025));
        // As C: the round-up wraps near 2^64, leaving no chunks at all.
        assert_eq!(chunking(u64::MAX - (1 << 43) + 1), (43, (1 << 21) - 1));
        assert_eq!(chunking(u64::MAX - (1 << 43) + 2), (43, 0));
        assert_eq!(chunking(u64::MAX), (43, 0));
    }

    #[test]
    fn tail_stays_in_block() {
        let (mut n, mut t) = (0, 100);
        // Fits after the inode: no padding.
        assert_eq!(tail_padding(false, 0, 64, &mut n, &mut t), 0);
        // 4032 + 64 ends the block exactly: pad one slot-aligned step.
        let (mut n, mut t) = (0, 100);
        assert_eq!(tail_padding(false, 4000, 64, &mut n, &mut t), 32);
        assert_eq!((n, t), (0, 100));
        // A tail that does not fit even after padding becomes a block.
        let (mut n, mut t) = (0, 4095);
        assert_eq!(tail_padding(false, 4064, 100, &mut n, &mut t), 32);
        assert_eq!((n, t), (1, 0));
    }

    #[test]
    fn symlink_placement() {
        let (mut n, mut t) = (0, 40);
        assert_eq!(tail_padding(true, 4064, 32, &mut n, &mut t), 32);
        assert_eq!((n, t), (0, 40));
        let (mut n, mut t) = (0, 4070);
        assert_eq!(tail_padding(true, 4096, 32, &mut n, &mut t), 0);
        assert_eq!((n, t), (1, 0));
    }
}
