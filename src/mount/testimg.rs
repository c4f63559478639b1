//! A tiny hand-made composefs image for the mount tests: a root directory
//! holding `hello`, an inline file with content "hi\n", and `remote`, an
//! overlay metacopy file whose data lives at [`REMOTE_PATH`] in an object
//! directory.

use crate::erofs::format::*;

pub const HELLO: &[u8] = b"hi\n";
/// Content of `remote`, to be placed in the object dir at REMOTE_PATH.
pub const REMOTE: &[u8] = b"remote data\n";
pub const REMOTE_PATH: &str = "ab/cdef";

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

fn pad_slot(out: &mut Vec<u8>) {
    out.resize(round_up(out.len(), SLOTSIZE), 0);
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
    pad_slot(out);
}

/// Inline xattrs: the ibody header, then each trusted.* entry.
fn trusted_xattrs(xattrs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    XattrIbodyHeader::default().encode(&mut out);
    for &(name, value) in xattrs {
        XattrEntry {
            name_len: name.len() as u8,
            name_index: XATTR_INDEX_TRUSTED,
            value_size: value.len() as u16,
        }
        .encode(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(value);
        out.resize(round_up(out.len(), XATTR_ENTRY_SIZE), 0);
    }
    out
}

/// A metacopy file: the right size, no data of its own (its block
/// address is block 0, never read through overlayfs), and a redirect
/// into the data-only layers.
fn metacopy_inode(out: &mut Vec<u8>, ino: u32, size: usize, redirect: &[u8]) {
    let xattrs = trusted_xattrs(&[(b"overlay.metacopy", b""), (b"overlay.redirect", redirect)]);
    Inode {
        format: Inode::make_format(false, INODE_FLAT_PLAIN),
        xattr_icount: ((xattrs.len() - XATTR_IBODY_HEADER_SIZE) / XATTR_ENTRY_SIZE + 1) as u16,
        mode: 0o100644,
        nlink: 1,
        size: size as u64,
        i_u: 0,
        ino,
        ..Inode::default()
    }
    .encode(out);
    out.extend_from_slice(&xattrs);
    pad_slot(out);
}

/// The image bytes; `header_flags` go into the composefs header.
pub fn image(header_flags: u32) -> Vec<u8> {
    let names: [&[u8]; 4] = [b".", b"..", b"hello", b"remote"];
    let root_off = SUPER_OFFSET + SUPER_BLOCK_SIZE;
    let root_dir_len = dir_block(&names.map(|n| (n, 0, 0))).len();
    let hello_off = root_off + INODE_COMPACT_SIZE + round_up(root_dir_len, SLOTSIZE);
    let remote_off = hello_off + INODE_COMPACT_SIZE + round_up(HELLO.len(), SLOTSIZE);
    let nid = |off: usize| (off / SLOTSIZE) as u64;

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
        root_nid: nid(root_off) as u16,
        inos: 3,
        blocks: 1,
        ..SuperBlock::default()
    }
    .encode(&mut out);
    let dir = dir_block(&[
        (b".", nid(root_off), FT_DIR),
        (b"..", nid(root_off), FT_DIR),
        (b"hello", nid(hello_off), FT_REG_FILE),
        (b"remote", nid(remote_off), FT_REG_FILE),
    ]);
    inline_inode(&mut out, 0o40755, 2, 1, &dir);
    inline_inode(&mut out, 0o100644, 1, 2, HELLO);
    let redirect = format!("/{REMOTE_PATH}");
    metacopy_inode(&mut out, 3, REMOTE.len(), redirect.as_bytes());
    out.resize(BLKSIZ, 0);
    out
}

/// Lays out an object directory holding the data of `remote`.
pub fn populate_objdir(dir: &std::path::Path) -> std::io::Result<()> {
    let p = dir.join(REMOTE_PATH);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, REMOTE)
}
