//! Walking the entries of a directory inode, block by block, the way C
//! libcomposefs reads them (including its quirks on odd layouts).

use super::image::{until_nul, Image};
use crate::erofs::format::{Dirent, BLKSIZ, DIRENT_SIZE};
use crate::error::{Error, Result};

/// Longest name C copies out of a dirent (PATH_MAX - 1).
const NAME_COPY_MAX: usize = libc::PATH_MAX as usize - 1;

/// Where a directory's entries live.
#[derive(Clone, Copy, Debug)]
pub(super) struct DirLayout {
    /// Offset of the first out-of-line block.
    pub oob_start: u64,
    /// Number of out-of-line blocks to read.
    pub oob_blocks: u64,
    pub tailpacked: bool,
    /// Inline tail right after the inode's xattrs.
    pub tail_off: u64,
    pub tail_size: u64,
    pub file_size: u64,
}

/// One block being read.
#[derive(Clone, Copy, Debug)]
struct Block {
    start: u64,
    size: u64,
    count: u64,
    next: u64,
}

/// Iterates the (name, nid) pairs of a directory, skipping "." and "..".
pub(super) struct DirCursor {
    layout: DirLayout,
    next_block: u64,
    tail_done: bool,
    block: Option<Block>,
}

impl DirCursor {
    /// Refuses layouts whose out-of-line blocks start past the image end,
    /// so a bogus size cannot make us walk an absurd number of blocks.
    pub fn new(img: &Image<'_>, layout: DirLayout) -> Result<DirCursor> {
        if layout.oob_blocks > 0 {
            let last = (layout.oob_blocks - 1)
                .checked_mul(BLKSIZ as u64)
                .and_then(|o| o.checked_add(layout.oob_start))
                .ok_or(Error::InvalidArgument)?;
            if last >= img.data.len() as u64 {
                return Err(Error::InvalidArgument);
            }
        }
        Ok(DirCursor {
            layout,
            next_block: 0,
            tail_done: false,
            block: None,
        })
    }

    /// Moves to the next block; false when none is left.
    fn open_block(&mut self, img: &Image<'_>) -> Result<bool> {
        let l = &self.layout;
        let (start, size) = if self.next_block < l.oob_blocks {
            let b = self.next_block;
            self.next_block += 1;
            let mut size = BLKSIZ as u64;
            if !l.tailpacked && b + 1 == l.oob_blocks {
                size = l.file_size % BLKSIZ as u64;
                if size == 0 {
                    size = BLKSIZ as u64;
                }
            }
            (l.oob_start + b * BLKSIZ as u64, size)
        } else if l.tailpacked && !self.tail_done {
            self.tail_done = true;
            (l.tail_off, l.tail_size)
        } else {
            return Ok(false);
        };
        // The first entry's name offset tells how many entries there are.
        let first = nameoff_at(img, start)?;
        if first % DIRENT_SIZE as u64 != 0 {
            return Err(Error::InvalidArgument);
        }
        self.block = Some(Block {
            start,
            size,
            count: first / DIRENT_SIZE as u64,
            next: 0,
        });
        Ok(true)
    }

    /// The next entry: its name (cut as C cuts it) and nid.
    pub fn next<'a>(&mut self, img: &Image<'a>) -> Result<Option<(&'a [u8], u64)>> {
        loop {
            let blk = match self.block {
                Some(b) if b.next < b.count => b,
                _ => {
                    if !self.open_block(img)? {
                        return Ok(None);
                    }
                    continue;
                }
            };
            let i = blk.next;
            if let Some(b) = self.block.as_mut() {
                b.next += 1;
            }
            if let Some(entry) = read_entry(img, &blk, i)? {
                return Ok(Some(entry));
            }
        }
    }
}

fn nameoff_at(img: &Image<'_>, dirent_off: u64) -> Result<u64> {
    let b = img.bytes(dirent_off + 8, 2)?;
    Ok(u64::from(u16::from_le_bytes([b[0], b[1]])))
}

/// Entry `i` of a block; None for "." and "..".
fn read_entry<'a>(img: &Image<'a>, blk: &Block, i: u64) -> Result<Option<(&'a [u8], u64)>> {
    let off = blk.start + i * DIRENT_SIZE as u64;
    let d = Dirent::decode(img.bytes(off, DIRENT_SIZE as u64)?).ok_or(Error::InvalidArgument)?;
    let nameoff = u64::from(d.nameoff);
    let name_off = blk.start + nameoff;
    // C keeps the length in 16 bits; the last name runs to a NUL or the
    // end of the block.
    let len = if i + 1 < blk.count {
        let next = nameoff_at(img, off + DIRENT_SIZE as u64)?;
        (next.wrapping_sub(nameoff)) as u16
    } else {
        img.c_string(name_off, blk.size.wrapping_sub(nameoff))?
            .len() as u16
    };
    let len = usize::from(len);
    let raw = img.bytes(name_off, len.min(NAME_COPY_MAX) as u64)?;
    if (len == 1 && raw == b".") || (len == 2 && raw == b"..") {
        return Ok(None);
    }
    Ok(Some((until_nul(raw), d.nid)))
}
