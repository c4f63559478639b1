//! A tiny hand-made composefs image for the mount tests: a root directory
//! holding one inline file, `hello`, with content "hi\n".

use crate::erofs::format::*;

pub const HELLO: &[u8] = b"hi\n";

fn dir_block(entries: &[(&[u8], u64, u8)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut nameoff = entries.len() * DIRENT_SIZE;
    for &(name, nid, file_type) in entries {
        Dirent {
            nid,
            nameoff: nameoff as u16,
            file_type,
        }
        .encode(&mut out);
        nameoff += name.len();
    }
    for &(name, _, _) in entries {
        out.extend_from_slice(name);
    }
    out
}

fn inline_inode(out: &mut Vec<u8>, mode: u16, nlink: u32, ino: u32, data: &[u8]) {
    Inode {
        format: Inode::make_format(false, INODE_FLAT_INLINE),
        mode,
        nlink,
        size: data.len() as u64,
        ino,
        ..Inode::default()
    }
    .encode(out);
    out.extend_from_slice(data);
    out.resize(round_up(out.len(), SLOTSIZE), 0);
}

/// The image bytes; `header_flags` go into the composefs header.
pub fn image(header_flags: u32) -> Vec<u8> {
    let root_off = SUPER_OFFSET + SUPER_BLOCK_SIZE;
    let root_nid = (root_off / SLOTSIZE) as u64;
    let root_dir_len = dir_block(&[(b".", 0, 0), (b"..", 0, 0), (b"hello", 0, 0)]).len();
    let file_nid =
        ((root_off + INODE_COMPACT_SIZE + round_up(root_dir_len, SLOTSIZE)) / SLOTSIZE) as u64;

    let mut out = Vec::new();
    LcfsErofsHeader {
        magic: LCFS_EROFS_MAGIC,
        version: LCFS_EROFS_VERSION,
        flags: header_flags,
        composefs_version: 1,
        unused: [0; 4],
    }
    .encode(&mut out);
    out.resize(SUPER_OFFSET, 0);
    SuperBlock {
        magic: SUPER_MAGIC_V1,
        blkszbits: BLKSIZ_BITS as u8,
        root_nid: root_nid as u16,
        inos: 2,
        blocks: 1,
        ..SuperBlock::default()
    }
    .encode(&mut out);
    let dir = dir_block(&[
        (b".", root_nid, FT_DIR),
        (b"..", root_nid, FT_DIR),
        (b"hello", file_nid, FT_REG_FILE),
    ]);
    inline_inode(&mut out, 0o40755, 2, 1, &dir);
    assert_eq!(out.len() as u64, file_nid * SLOTSIZE as u64);
    inline_inode(&mut out, 0o100644, 1, 2, HELLO);
    out.resize(BLKSIZ, 0);
    out
}
