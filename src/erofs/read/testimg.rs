//! A tiny hand assembler for test images: just enough EROFS to build
//! well-formed and deliberately broken inputs for the reader's tests.

use crate::erofs::format::*;

/// Image under construction. Inodes live from block 1 on (meta_blkaddr 0,
/// so nid = offset / 32); shared xattrs, if any, in the block after them.
pub struct TestImage {
    pub meta: Vec<u8>,
    pub shared: Vec<u8>,
    pub build_time: u64,
    pub build_time_nsec: u32,
    pub version: u32,
}

pub struct Ino<'a> {
    pub mode: u16,
    pub nlink: u32,
    pub size: u64,
    pub extended: bool,
    pub layout: u16,
    pub i_u: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
    /// Inline xattrs as (prefix index, name suffix, value).
    pub xattrs: &'a [(u8, &'a [u8], &'a [u8])],
    /// Shared xattr ids (see `add_shared`).
    pub shared: &'a [u32],
    pub inline: &'a [u8],
}

impl Default for Ino<'_> {
    fn default() -> Self {
        Ino {
            mode: 0o100644,
            nlink: 1,
            size: 0,
            extended: false,
            layout: INODE_FLAT_PLAIN,
            i_u: 0,
            uid: 0,
            gid: 0,
            mtime: 0,
            xattrs: &[],
            shared: &[],
            inline: &[],
        }
    }
}

fn xattr_entry(out: &mut Vec<u8>, index: u8, name: &[u8], value: &[u8]) {
    let e = XattrEntry {
        name_len: name.len() as u8,
        name_index: index,
        value_size: value.len() as u16,
    };
    e.encode(out);
    out.extend_from_slice(name);
    out.extend_from_slice(value);
    out.resize(round_up(out.len(), 4), 0);
}

/// A directory's entry block: "." and ".." then `entries` (name, nid, type)
/// in the given order.
pub fn dir_block(entries: &[(&[u8], u64, u8)]) -> Vec<u8> {
    let mut all: Vec<(&[u8], u64, u8)> = vec![(b".", 0, FT_DIR), (b"..", 0, FT_DIR)];
    all.extend_from_slice(entries);
    let mut out = Vec::new();
    let mut nameoff = all.len() * DIRENT_SIZE;
    for (name, nid, ft) in &all {
        Dirent {
            nid: *nid,
            nameoff: nameoff as u16,
            file_type: *ft,
        }
        .encode(&mut out);
        nameoff += name.len();
    }
    for (name, _, _) in &all {
        out.extend_from_slice(name);
    }
    out
}

impl TestImage {
    pub fn new() -> TestImage {
        TestImage {
            meta: Vec::new(),
            shared: Vec::new(),
            build_time: 1000,
            build_time_nsec: 7,
            version: 1,
        }
    }

    /// Adds a shared xattr; returns its id.
    pub fn add_shared(&mut self, index: u8, name: &[u8], value: &[u8]) -> u32 {
        let id = (self.shared.len() / 4) as u32;
        xattr_entry(&mut self.shared, index, name, value);
        id
    }

    /// Appends an inode; returns its nid.
    pub fn add(&mut self, i: &Ino<'_>) -> u64 {
        let start = self.meta.len();
        let mut ibody = Vec::new();
        if !i.xattrs.is_empty() || !i.shared.is_empty() {
            XattrIbodyHeader {
                name_filter: 0,
                shared_count: i.shared.len() as u8,
            }
            .encode(&mut ibody);
            for id in i.shared {
                ibody.extend_from_slice(&id.to_le_bytes());
            }
            for (index, name, value) in i.xattrs {
                xattr_entry(&mut ibody, *index, name, value);
            }
        }
        let icount = if ibody.is_empty() {
            0
        } else {
            ((ibody.len() - XATTR_IBODY_HEADER_SIZE) / 4 + 1) as u16
        };
        Inode {
            format: Inode::make_format(i.extended, i.layout),
            xattr_icount: icount,
            mode: i.mode,
            nlink: i.nlink,
            size: i.size,
            i_u: i.i_u,
            ino: 0,
            uid: i.uid,
            gid: i.gid,
            mtime: i.mtime,
            mtime_nsec: 0,
        }
        .encode(&mut self.meta);
        self.meta.extend_from_slice(&ibody);
        self.meta.extend_from_slice(i.inline);
        self.meta.resize(round_up(self.meta.len(), SLOTSIZE), 0);
        ((BLKSIZ + start) / SLOTSIZE) as u64
    }

    /// A directory inode with its entries inline.
    pub fn add_dir(&mut self, entries: &[(&[u8], u64, u8)], xattrs: &[(u8, &[u8], &[u8])]) -> u64 {
        let block = dir_block(entries);
        self.add(&Ino {
            mode: 0o40755,
            nlink: 2,
            size: block.len() as u64,
            layout: INODE_FLAT_INLINE,
            xattrs,
            inline: &block,
            ..Ino::default()
        })
    }

    pub fn finish(&self, root_nid: u64) -> Vec<u8> {
        let meta_blocks = round_up(self.meta.len(), BLKSIZ) / BLKSIZ;
        let xattr_blk = 1 + meta_blocks;
        let mut out = Vec::new();
        LcfsErofsHeader {
            magic: LCFS_EROFS_MAGIC,
            version: LCFS_EROFS_VERSION,
            flags: 0,
            composefs_version: self.version,
            unused: [0; 4],
        }
        .encode(&mut out);
        out.resize(SUPER_OFFSET, 0);
        SuperBlock {
            magic: SUPER_MAGIC_V1,
            blkszbits: BLKSIZ_BITS as u8,
            root_nid: root_nid as u16,
            build_time: self.build_time,
            build_time_nsec: self.build_time_nsec,
            meta_blkaddr: 0,
            xattr_blkaddr: xattr_blk as u32,
            ..SuperBlock::default()
        }
        .encode(&mut out);
        out.resize(BLKSIZ, 0);
        out.extend_from_slice(&self.meta);
        out.resize(xattr_blk * BLKSIZ, 0);
        out.extend_from_slice(&self.shared);
        out.resize(round_up(out.len() + 1, BLKSIZ), 0);
        out
    }
}
