//! Directory contents: how entries split into blocks and an inline tail,
//! and their encoding.

use std::ops::Range;

use super::tree::{Dent, Tree};
use crate::erofs::format::{BLKSIZ, DIRENT_SIZE};
use crate::error::Result;

fn dent_len(d: &Dent) -> usize {
    DIRENT_SIZE + d.name_len as usize
}

/// Full blocks and tail bytes of a directory before placement: entries
/// fill blocks in order; a last partial block over half a block is not
/// inlined.
pub fn dir_size(dents: &[Dent]) -> (u32, u32) {
    let (mut blocks, mut used) = (0u32, 0usize);
    for d in dents {
        let len = dent_len(d);
        if used + len > BLKSIZ {
            blocks += 1;
            used = 0;
        }
        used += len;
    }
    if used > BLKSIZ / 2 {
        blocks += 1;
        used = 0;
    }
    (blocks, used as u32)
}

/// Splits `dents` into chunks as laid out: `f(range, true)` for each
/// block (the first `n_blocks`), then `f(range, false)` for the inline
/// tail if there is one.
pub fn for_each_chunk(
    dents: &[Dent],
    n_blocks: u32,
    mut f: impl FnMut(Range<usize>, bool) -> Result<()>,
) -> Result<()> {
    let (mut used, mut written, mut first) = (0usize, 0u32, 0usize);
    for (i, d) in dents.iter().enumerate() {
        let len = dent_len(d);
        if used + len > BLKSIZ {
            f(first..i, true)?;
            written += 1;
            used = 0;
            first = i;
        }
        used += len;
    }
    if written < n_blocks {
        f(first..dents.len(), true)?;
        used = 0;
        first = dents.len();
    }
    if used > 0 {
        f(first..dents.len(), false)?;
    }
    Ok(())
}

/// Appends one chunk: the dirent records, then the names.
/// `nid_and_type(target)` gives the target's nid and file type.
pub fn encode_chunk(
    tree: &Tree,
    dents: &[Dent],
    out: &mut Vec<u8>,
    nid_and_type: impl Fn(u32) -> (u64, u8),
) {
    let mut nameoff = dents.len() * DIRENT_SIZE;
    for d in dents {
        let (nid, file_type) = nid_and_type(d.target);
        crate::erofs::format::Dirent {
            nid,
            nameoff: nameoff as u16,
            file_type,
        }
        .encode(out);
        nameoff += d.name_len as usize;
    }
    for d in dents {
        out.extend_from_slice(tree.dent_name(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dents(lens: &[u16]) -> Vec<Dent> {
        lens.iter()
            .map(|&l| Dent {
                name_off: 0,
                name_len: l,
                target: 0,
                flags: 0,
            })
            .collect()
    }

    fn chunks(d: &[Dent], n_blocks: u32) -> Vec<(Range<usize>, bool)> {
        let mut v = Vec::new();
        for_each_chunk(d, n_blocks, |r, b| {
            v.push((r, b));
            Ok(())
        })
        .unwrap();
        v
    }

    #[test]
    fn split_blocks_and_tail() {
        // 100 entries of 40 bytes: 4000 bytes, too much to inline.
        let d = dents(&[28; 100]);
        assert_eq!(dir_size(&d), (1, 0));
        assert_eq!(chunks(&d, 1), vec![(0..100, true)]);
        // 110 entries: one full block of 102, tail of 8 entries inline.
        let d = dents(&[28; 110]);
        assert_eq!(dir_size(&d), (1, 320));
        assert_eq!(chunks(&d, 1), vec![(0..102, true), (102..110, false)]);
        // Same entries when the tail was pushed out to a block.
        assert_eq!(chunks(&d, 2), vec![(0..102, true), (102..110, true)]);
        let small = dents(&[1, 2]);
        assert_eq!(dir_size(&small), (0, 27));
        assert_eq!(chunks(&small, 0), vec![(0..2, false)]);
    }
}
