//! On-disk layout of the EROFS structures composefs uses, and of the
//! composefs header at the start of each image. All fields are little
//! endian. Encoders append to a byte vector; decoders take a slice and
//! return None when it is too short, so readers can never overrun.

/// Block size; composefs images always use 4 KiB blocks.
pub const BLKSIZ: usize = 4096;
pub const BLKSIZ_BITS: u32 = 12;
/// Inode slots are 32 bytes; a nid is a byte offset from meta_blkaddr / 32.
pub const ISLOTBITS: u32 = 5;
pub const SLOTSIZE: usize = 1 << ISLOTBITS;

/// The superblock starts 1024 bytes into the image.
pub const SUPER_OFFSET: usize = 1024;
pub const SUPER_MAGIC_V1: u32 = 0xE0F5_E1E2;
pub const SUPER_BLOCK_SIZE: usize = 128;

pub const FEATURE_COMPAT_SB_CHKSUM: u32 = 0x1;
pub const FEATURE_COMPAT_MTIME: u32 = 0x2;
pub const FEATURE_COMPAT_XATTR_FILTER: u32 = 0x4;
pub const FEATURE_INCOMPAT_CHUNKED_FILE: u32 = 0x4;

/// `i_format` bits.
pub const I_VERSION_BIT: u16 = 0;
pub const I_VERSION_MASK: u16 = 0x1;
pub const I_DATALAYOUT_BIT: u16 = 1;
pub const I_DATALAYOUT_MASK: u16 = 0x7;
pub const INODE_LAYOUT_COMPACT: u16 = 0;
pub const INODE_LAYOUT_EXTENDED: u16 = 1;

/// Data layouts.
pub const INODE_FLAT_PLAIN: u16 = 0;
pub const INODE_FLAT_INLINE: u16 = 2;
pub const INODE_CHUNK_BASED: u16 = 4;

/// Chunk format bits of `erofs_inode_chunk_info.format`.
pub const CHUNK_FORMAT_BLKBITS_MASK: u16 = 0x1f;
pub const CHUNK_FORMAT_INDEXES: u16 = 0x20;
/// A chunk index entry whose blkaddr is this is a hole.
pub const NULL_ADDR: u32 = u32::MAX;

/// Directory entry file types.
pub const FT_UNKNOWN: u8 = 0;
pub const FT_REG_FILE: u8 = 1;
pub const FT_DIR: u8 = 2;
pub const FT_CHRDEV: u8 = 3;
pub const FT_BLKDEV: u8 = 4;
pub const FT_FIFO: u8 = 5;
pub const FT_SOCK: u8 = 6;
pub const FT_SYMLINK: u8 = 7;

/// Xattr name indexes and the prefixes they stand for (index 0: none).
pub const XATTR_PREFIXES: [&[u8]; 7] = [
    b"",
    b"user.",
    b"system.posix_acl_access",
    b"system.posix_acl_default",
    b"trusted.",
    b"lustre.",
    b"security.",
];
pub const XATTR_INDEX_POSIX_ACL_ACCESS: u8 = 2;
pub const XATTR_INDEX_POSIX_ACL_DEFAULT: u8 = 3;
pub const XATTR_INDEX_TRUSTED: u8 = 4;
pub const XATTR_FILTER_BITS: u32 = 32;
pub const XATTR_FILTER_SEED: u32 = 0x25BB_E08F;

pub const INODE_COMPACT_SIZE: usize = 32;
pub const INODE_EXTENDED_SIZE: usize = 64;
pub const XATTR_IBODY_HEADER_SIZE: usize = 12;
pub const XATTR_ENTRY_SIZE: usize = 4;
pub const CHUNK_INDEX_SIZE: usize = 8;
pub const DIRENT_SIZE: usize = 12;
pub const NAME_LEN: usize = 255;

/// The composefs header at offset 0 (`struct lcfs_erofs_header_s`).
pub const LCFS_EROFS_MAGIC: u32 = 0xd078_629a;
pub const LCFS_EROFS_VERSION: u32 = 1;
pub const LCFS_EROFS_FLAGS_HAS_ACL: u32 = 1;
pub const LCFS_HEADER_SIZE: usize = 32;

fn le16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}
fn le64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// `struct lcfs_erofs_header_s` (packed, 32 bytes), shared with C.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LcfsErofsHeader {
    pub magic: u32,
    pub version: u32,
    pub flags: u32,
    pub composefs_version: u32,
    pub unused: [u32; 4],
}

impl LcfsErofsHeader {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let (magic, version, flags, cv) =
            (self.magic, self.version, self.flags, self.composefs_version);
        for v in [magic, version, flags, cv, 0, 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(LcfsErofsHeader {
            magic: le32(b, 0)?,
            version: le32(b, 4)?,
            flags: le32(b, 8)?,
            composefs_version: le32(b, 12)?,
            unused: [le32(b, 16)?, le32(b, 20)?, le32(b, 24)?, le32(b, 28)?],
        })
    }
}

/// `struct erofs_super_block` (128 bytes). Fields composefs never sets
/// (uuid, volume name, compression, devices, prefixes) are encoded as zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SuperBlock {
    pub magic: u32,
    pub checksum: u32,
    pub feature_compat: u32,
    pub blkszbits: u8,
    pub sb_extslots: u8,
    pub root_nid: u16,
    pub inos: u64,
    pub build_time: u64,
    pub build_time_nsec: u32,
    pub blocks: u32,
    pub meta_blkaddr: u32,
    pub xattr_blkaddr: u32,
    pub feature_incompat: u32,
    pub dirblkbits: u8,
}

impl SuperBlock {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.magic.to_le_bytes());
        out.extend_from_slice(&self.checksum.to_le_bytes());
        out.extend_from_slice(&self.feature_compat.to_le_bytes());
        out.push(self.blkszbits);
        out.push(self.sb_extslots);
        out.extend_from_slice(&self.root_nid.to_le_bytes());
        out.extend_from_slice(&self.inos.to_le_bytes());
        out.extend_from_slice(&self.build_time.to_le_bytes());
        out.extend_from_slice(&self.build_time_nsec.to_le_bytes());
        out.extend_from_slice(&self.blocks.to_le_bytes());
        out.extend_from_slice(&self.meta_blkaddr.to_le_bytes());
        out.extend_from_slice(&self.xattr_blkaddr.to_le_bytes());
        out.extend_from_slice(&[0u8; 32]); // uuid, volume_name
        out.extend_from_slice(&self.feature_incompat.to_le_bytes());
        out.extend_from_slice(&[0u8; 6]); // compr union, extra_devices, devt_slotoff
        out.push(self.dirblkbits);
        out.resize(start + SUPER_BLOCK_SIZE, 0);
    }
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < SUPER_BLOCK_SIZE {
            return None;
        }
        Some(SuperBlock {
            magic: le32(b, 0)?,
            checksum: le32(b, 4)?,
            feature_compat: le32(b, 8)?,
            blkszbits: b[12],
            sb_extslots: b[13],
            root_nid: le16(b, 14)?,
            inos: le64(b, 16)?,
            build_time: le64(b, 24)?,
            build_time_nsec: le32(b, 32)?,
            blocks: le32(b, 36)?,
            meta_blkaddr: le32(b, 40)?,
            xattr_blkaddr: le32(b, 44)?,
            feature_incompat: le32(b, 80)?,
            dirblkbits: b[90],
        })
    }
}

/// One inode, compact or extended, decoded into common fields. `i_u` is
/// the raw union (raw_blkaddr, rdev or chunk info by data layout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inode {
    pub format: u16,
    pub xattr_icount: u16,
    pub mode: u16,
    pub nlink: u32,
    pub size: u64,
    pub i_u: u32,
    pub ino: u32,
    pub uid: u32,
    pub gid: u32,
    /// Extended only; compact inodes take the superblock's build time.
    pub mtime: u64,
    pub mtime_nsec: u32,
}

impl Inode {
    pub fn is_extended(&self) -> bool {
        (self.format >> I_VERSION_BIT) & I_VERSION_MASK == INODE_LAYOUT_EXTENDED
    }
    pub fn datalayout(&self) -> u16 {
        (self.format >> I_DATALAYOUT_BIT) & I_DATALAYOUT_MASK
    }
    pub fn make_format(extended: bool, datalayout: u16) -> u16 {
        let v = if extended {
            INODE_LAYOUT_EXTENDED
        } else {
            INODE_LAYOUT_COMPACT
        };
        (v << I_VERSION_BIT) | (datalayout << I_DATALAYOUT_BIT)
    }
    /// Size of the on-disk inode core.
    pub fn core_size(&self) -> usize {
        if self.is_extended() {
            INODE_EXTENDED_SIZE
        } else {
            INODE_COMPACT_SIZE
        }
    }

    /// Encodes as compact or extended per `format`; the caller has checked
    /// that compact fields fit (nlink, size, uid, gid in 16/32 bits).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.format.to_le_bytes());
        out.extend_from_slice(&self.xattr_icount.to_le_bytes());
        out.extend_from_slice(&self.mode.to_le_bytes());
        if self.is_extended() {
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&self.size.to_le_bytes());
            out.extend_from_slice(&self.i_u.to_le_bytes());
            out.extend_from_slice(&self.ino.to_le_bytes());
            out.extend_from_slice(&self.uid.to_le_bytes());
            out.extend_from_slice(&self.gid.to_le_bytes());
            out.extend_from_slice(&self.mtime.to_le_bytes());
            out.extend_from_slice(&self.mtime_nsec.to_le_bytes());
            out.extend_from_slice(&self.nlink.to_le_bytes());
            out.extend_from_slice(&[0u8; 16]);
        } else {
            out.extend_from_slice(&(self.nlink as u16).to_le_bytes());
            out.extend_from_slice(&(self.size as u32).to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&self.i_u.to_le_bytes());
            out.extend_from_slice(&self.ino.to_le_bytes());
            out.extend_from_slice(&(self.uid as u16).to_le_bytes());
            out.extend_from_slice(&(self.gid as u16).to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
        }
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        let format = le16(b, 0)?;
        let mut ino = Inode {
            format,
            xattr_icount: le16(b, 2)?,
            mode: le16(b, 4)?,
            ..Inode::default()
        };
        if ino.is_extended() {
            if b.len() < INODE_EXTENDED_SIZE {
                return None;
            }
            ino.size = le64(b, 8)?;
            ino.i_u = le32(b, 16)?;
            ino.ino = le32(b, 20)?;
            ino.uid = le32(b, 24)?;
            ino.gid = le32(b, 28)?;
            ino.mtime = le64(b, 32)?;
            ino.mtime_nsec = le32(b, 40)?;
            ino.nlink = le32(b, 44)?;
        } else {
            if b.len() < INODE_COMPACT_SIZE {
                return None;
            }
            ino.nlink = le16(b, 6)? as u32;
            ino.size = le32(b, 8)? as u64;
            ino.i_u = le32(b, 16)?;
            ino.ino = le32(b, 20)?;
            ino.uid = le16(b, 24)? as u32;
            ino.gid = le16(b, 26)? as u32;
        }
        Some(ino)
    }
}

/// Bytes of inline xattr area for a given `i_xattr_icount`.
pub fn xattr_ibody_size(icount: u16) -> usize {
    if icount == 0 {
        0
    } else {
        XATTR_IBODY_HEADER_SIZE + (icount as usize - 1) * XATTR_ENTRY_SIZE
    }
}

/// `struct erofs_xattr_ibody_header` (12 bytes, shared ids follow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XattrIbodyHeader {
    pub name_filter: u32,
    pub shared_count: u8,
}

impl XattrIbodyHeader {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.name_filter.to_le_bytes());
        out.push(self.shared_count);
        out.extend_from_slice(&[0u8; 7]);
    }
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(XattrIbodyHeader {
            name_filter: le32(b, 0)?,
            shared_count: *b.get(4)?,
        })
    }
}

/// `struct erofs_xattr_entry` (4 bytes; name then value follow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XattrEntry {
    pub name_len: u8,
    pub name_index: u8,
    pub value_size: u16,
}

impl XattrEntry {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.name_len);
        out.push(self.name_index);
        out.extend_from_slice(&self.value_size.to_le_bytes());
    }
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(XattrEntry {
            name_len: *b.first()?,
            name_index: *b.get(1)?,
            value_size: le16(b, 2)?,
        })
    }
    /// Entry plus name and value, rounded up to 4 bytes.
    pub fn padded_size(&self) -> usize {
        round_up(
            XATTR_ENTRY_SIZE + self.name_len as usize + self.value_size as usize,
            XATTR_ENTRY_SIZE,
        )
    }
}

/// `struct erofs_dirent` (12 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dirent {
    pub nid: u64,
    pub nameoff: u16,
    pub file_type: u8,
}

impl Dirent {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.nid.to_le_bytes());
        out.extend_from_slice(&self.nameoff.to_le_bytes());
        out.push(self.file_type);
        out.push(0);
    }
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(Dirent {
            nid: le64(b, 0)?,
            nameoff: le16(b, 8)?,
            file_type: *b.get(10)?,
        })
    }
}

/// `struct erofs_inode_chunk_index` (8 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkIndex {
    pub advise: u16,
    pub device_id: u16,
    pub blkaddr: u32,
}

impl ChunkIndex {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.advise.to_le_bytes());
        out.extend_from_slice(&self.device_id.to_le_bytes());
        out.extend_from_slice(&self.blkaddr.to_le_bytes());
    }
    pub fn decode(b: &[u8]) -> Option<Self> {
        Some(ChunkIndex {
            advise: le16(b, 0)?,
            device_id: le16(b, 2)?,
            blkaddr: le32(b, 4)?,
        })
    }
}

/// Rounds `x` up to a multiple of the power of two `align`.
pub fn round_up(x: usize, align: usize) -> usize {
    (x + align - 1) & !(align - 1)
}

/// Directory entry type for a node mode.
pub fn file_type_of_mode(mode: u32) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFLNK => FT_SYMLINK,
        libc::S_IFDIR => FT_DIR,
        libc::S_IFREG => FT_REG_FILE,
        libc::S_IFBLK => FT_BLKDEV,
        libc::S_IFCHR => FT_CHRDEV,
        libc::S_IFSOCK => FT_SOCK,
        libc::S_IFIFO => FT_FIFO,
        _ => FT_UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let mut v = Vec::new();
        SuperBlock::default().encode(&mut v);
        assert_eq!(v.len(), SUPER_BLOCK_SIZE);
        v.clear();
        LcfsErofsHeader::default().encode(&mut v);
        assert_eq!(v.len(), LCFS_HEADER_SIZE);
        assert_eq!(std::mem::size_of::<LcfsErofsHeader>(), LCFS_HEADER_SIZE);
        for (ext, size) in [(false, INODE_COMPACT_SIZE), (true, INODE_EXTENDED_SIZE)] {
            v.clear();
            let i = Inode {
                format: Inode::make_format(ext, INODE_FLAT_PLAIN),
                ..Inode::default()
            };
            i.encode(&mut v);
            assert_eq!(v.len(), size);
            assert_eq!(i.core_size(), size);
        }
        v.clear();
        Dirent::default().encode(&mut v);
        assert_eq!(v.len(), DIRENT_SIZE);
        v.clear();
        ChunkIndex::default().encode(&mut v);
        assert_eq!(v.len(), CHUNK_INDEX_SIZE);
        v.clear();
        XattrIbodyHeader::default().encode(&mut v);
        assert_eq!(v.len(), XATTR_IBODY_HEADER_SIZE);
    }

    #[test]
    fn round_trips() {
        let sb = SuperBlock {
            magic: SUPER_MAGIC_V1,
            feature_compat: FEATURE_COMPAT_MTIME,
            blkszbits: 12,
            root_nid: 36,
            inos: 5,
            build_time: 1234,
            build_time_nsec: 5,
            blocks: 7,
            meta_blkaddr: 0,
            xattr_blkaddr: 1,
            feature_incompat: FEATURE_INCOMPAT_CHUNKED_FILE,
            dirblkbits: 0,
            ..SuperBlock::default()
        };
        let mut v = Vec::new();
        sb.encode(&mut v);
        assert_eq!(SuperBlock::decode(&v), Some(sb));
        for ext in [false, true] {
            let i = Inode {
                format: Inode::make_format(ext, INODE_CHUNK_BASED),
                xattr_icount: 3,
                mode: 0o100644,
                nlink: 2,
                size: 99,
                i_u: 12,
                ino: 4,
                uid: 1000,
                gid: 1001,
                mtime: if ext { 77 } else { 0 },
                mtime_nsec: if ext { 8 } else { 0 },
            };
            v.clear();
            i.encode(&mut v);
            assert_eq!(Inode::decode(&v), Some(i));
            assert!(Inode::decode(&v[..v.len() - 1]).is_none());
        }
        assert_eq!(xattr_ibody_size(0), 0);
        assert_eq!(xattr_ibody_size(1), 12);
        assert_eq!(xattr_ibody_size(3), 20);
        let e = XattrEntry {
            name_len: 3,
            name_index: 1,
            value_size: 2,
        };
        assert_eq!(e.padded_size(), 12);
    }
}
