//! Streams the image in file order once the layout is known: header,
//! superblock, inodes with xattrs and inline tails, shared xattrs, data
//! blocks. Output goes through a buffer to the caller's writer and, when
//! asked, into the fs-verity hasher.

use super::dirents::{encode_chunk, for_each_chunk};
use super::layout::{chunking, inode_size_field, round_up_u64, Layout};
use super::tree::{Entry, Tree};
use super::xattrs::{inode_xattr_size, name_filter};
use crate::erofs::format::{
    file_type_of_mode, Inode as RawInode, LcfsErofsHeader, SuperBlock, XattrIbodyHeader, BLKSIZ,
    BLKSIZ_BITS, FEATURE_COMPAT_MTIME, FEATURE_COMPAT_XATTR_FILTER, INODE_CHUNK_BASED,
    INODE_FLAT_INLINE, INODE_FLAT_PLAIN, LCFS_EROFS_FLAGS_HAS_ACL, LCFS_EROFS_MAGIC,
    LCFS_EROFS_VERSION, LCFS_HEADER_SIZE, NULL_ADDR, SLOTSIZE, SUPER_MAGIC_V1, SUPER_OFFSET,
    XATTR_ENTRY_SIZE, XATTR_IBODY_HEADER_SIZE,
};
use crate::error::{Error, Result};
use crate::fsverity::FsVerityHasher;
use crate::node::{mode, validate_mode};

const BLK: u64 = BLKSIZ as u64;
/// Bytes gathered before they are handed on.
const FLUSH_AT: usize = 128 * 1024;

/// The caller's writer: takes all of the bytes or fails.
pub type WriteFn<'a> = dyn FnMut(&[u8]) -> Result<()> + 'a;

pub struct Sink<'a> {
    buf: Vec<u8>,
    flushed: u64,
    hasher: Option<FsVerityHasher>,
    out: Option<&'a mut WriteFn<'a>>,
    /// The writer failed: nothing more may be passed on.
    failed: bool,
}

impl<'a> Sink<'a> {
    pub fn new(out: Option<&'a mut WriteFn<'a>>, digest: bool) -> Sink<'a> {
        Sink {
            buf: Vec::with_capacity(FLUSH_AT + 2 * BLKSIZ),
            flushed: 0,
            hasher: digest.then(FsVerityHasher::new),
            out,
            failed: false,
        }
    }

    pub fn pos(&self) -> u64 {
        self.flushed + self.buf.len() as u64
    }

    /// Appends via an encoder working on the buffer.
    fn with(&mut self, f: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        f(&mut self.buf);
        self.maybe_flush()
    }

    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(b);
        self.maybe_flush()
    }

    fn fill(&mut self, byte: u8, n: u64) -> Result<()> {
        let mut left = n;
        while left > 0 {
            let take = left.min(FLUSH_AT as u64) as usize;
            self.buf.resize(self.buf.len() + take, byte);
            self.maybe_flush()?;
            left -= take as u64;
        }
        Ok(())
    }

    fn align(&mut self, to: u64) -> Result<()> {
        let pos = self.pos();
        self.fill(0, round_up_u64(pos, to) - pos)
    }

    fn maybe_flush(&mut self) -> Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush()
        } else {
            Ok(())
        }
    }

    pub fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.failed {
            return Err(Error::Os(libc::EIO));
        }
        if let Some(h) = &mut self.hasher {
            h.update(&self.buf);
        }
        if let Some(out) = &mut self.out {
            if let Err(e) = out(&self.buf) {
                self.failed = true;
                return Err(e);
            }
        }
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    pub fn failed(&self) -> bool {
        self.failed
    }

    pub fn digest(self) -> Option<[u8; 32]> {
        self.hasher.map(FsVerityHasher::finish)
    }
}

pub struct Emitter<'t, 's> {
    pub tree: &'t Tree,
    pub lay: &'t Layout,
    pub sink: Sink<'s>,
    pub version: u32,
    /// Next free data block address (bytes), as inodes claim blocks.
    current_end: u64,
    scratch: Vec<u8>,
}

impl<'t, 's> Emitter<'t, 's> {
    pub fn new(tree: &'t Tree, lay: &'t Layout, sink: Sink<'s>, version: u32) -> Self {
        Emitter {
            tree,
            lay,
            sink,
            version,
            current_end: 0,
            scratch: Vec::new(),
        }
    }

    pub fn write_all(&mut self) -> Result<()> {
        self.header_and_super()?;
        self.current_end = self.lay.data_start();
        for &id in &self.tree.order {
            self.inode(id)?;
        }
        self.sink.align(SLOTSIZE as u64)?;
        for &id in &self.lay.shared.ids {
            let x = self.tree.xt.get(id);
            self.sink.with(|v| x.encode(v))?;
        }
        self.sink.align(BLK)?;
        for &id in &self.tree.order {
            self.data_blocks(id)?;
        }
        self.sink.flush()
    }

    fn header_and_super(&mut self) -> Result<()> {
        let t = self.tree;
        let header = LcfsErofsHeader {
            magic: LCFS_EROFS_MAGIC,
            version: LCFS_EROFS_VERSION,
            flags: if t.has_acl {
                LCFS_EROFS_FLAGS_HAS_ACL
            } else {
                0
            },
            composefs_version: self.version,
            unused: [0; 4],
        };
        self.sink.with(|v| header.encode(v))?;
        self.sink
            .fill(0, (SUPER_OFFSET - LCFS_HEADER_SIZE) as u64)?;
        let data_start = self.lay.data_start();
        let sb = SuperBlock {
            magic: SUPER_MAGIC_V1,
            feature_compat: FEATURE_COMPAT_MTIME | FEATURE_COMPAT_XATTR_FILTER,
            blkszbits: BLKSIZ_BITS as u8,
            root_nid: self.lay.nodes[0].nid as u16,
            inos: t.order.len() as u64,
            build_time: t.min_mtime.0 as u64,
            build_time_nsec: t.min_mtime.1,
            blocks: (data_start / BLK + self.lay.n_data_blocks) as u32,
            meta_blkaddr: 0,
            xattr_blkaddr: (self.lay.inodes_end / BLK) as u32,
            ..SuperBlock::default()
        };
        self.sink.with(|v| sb.encode(v))
    }

    /// Takes the next `n_blocks` data blocks; returns their block address.
    fn claim_blocks(&mut self, n_blocks: u32) -> u32 {
        let addr = (self.current_end / BLK) as u32;
        self.current_end += BLK * n_blocks as u64;
        addr
    }

    /// Copies the bytes of a node's payload or content, so that no lock
    /// is held while the caller's writer runs.
    fn copy_data(&mut self, e: &Entry, payload: bool) -> Vec<u8> {
        let mut v = std::mem::take(&mut self.scratch);
        v.clear();
        if let Some(src) = &e.src {
            let d = src.lock();
            let bytes = if payload {
                d.payload().map(|p| p.to_bytes())
            } else {
                d.content()
            };
            v.extend_from_slice(bytes.unwrap_or_default());
        }
        v
    }

    fn inode(&mut self, id: u32) -> Result<()> {
        let e = &self.tree.entries[id as usize];
        let l = self.lay.nodes[id as usize];
        let start = l.nid * SLOTSIZE as u64;
        let ipad = start
            .checked_sub(self.sink.pos())
            .ok_or(Error::InvalidArgument)?;
        self.sink.fill(0, ipad)?;
        validate_mode(e.inode.mode)?;
        let ids = self.tree.xt.ids(&e.xattrs);
        let (xsize, n_shared) = inode_xattr_size(&self.tree.xt, &self.lay.shared, ids);
        let icount = if xsize == 0 {
            0
        } else {
            (xsize - XATTR_IBODY_HEADER_SIZE) / XATTR_ENTRY_SIZE + 1
        };
        let icount = u16::try_from(icount).map_err(|_| Error::InvalidArgument)?;

        let ft = e.file_type();
        let mut layout = if l.tail > 0 {
            INODE_FLAT_INLINE
        } else {
            INODE_FLAT_PLAIN
        };
        let mut chunk_count = 0u64;
        let mut chunk_format = None;
        if ft == mode::S_IFREG && e.inode.size > 0 && !e.has_content {
            let (bits, count) = chunking(e.inode.size);
            layout = INODE_CHUNK_BASED;
            chunk_count = count;
            chunk_format = Some((bits - BLKSIZ_BITS) as u16);
        }
        let size = match ft {
            mode::S_IFLNK if l.n_blocks == 0 => l.tail as u64,
            mode::S_IFDIR | mode::S_IFREG | mode::S_IFLNK => {
                inode_size_field(e, l.n_blocks, u32::from(l.tail))
            }
            _ => 0,
        };
        let mut i_u = 0u32;
        match ft {
            mode::S_IFCHR | mode::S_IFBLK => i_u = e.inode.rdev,
            mode::S_IFDIR | mode::S_IFREG | mode::S_IFLNK => {
                if l.n_blocks > 0 {
                    i_u = self.claim_blocks(l.n_blocks);
                }
                // The chunk format shares the union's low half with the
                // block address, and C stores it last.
                if let Some(f) = chunk_format {
                    i_u = (i_u & 0xffff_0000) | f as u32;
                }
            }
            _ => {}
        }
        let raw = RawInode {
            format: RawInode::make_format(!l.compact, layout),
            xattr_icount: icount,
            mode: e.inode.mode as u16,
            nlink: e.inode.nlink,
            size,
            i_u,
            ino: id_to_ino(self.tree, id),
            uid: e.inode.uid,
            gid: e.inode.gid,
            mtime: e.inode.mtime_sec as u64,
            mtime_nsec: e.inode.mtime_nsec,
        };
        self.sink.with(|v| raw.encode(v))?;
        if xsize > 0 {
            self.xattrs(e, n_shared as u8)?;
        }

        match ft {
            mode::S_IFDIR => {
                let (tree, lay) = (self.tree, self.lay);
                let sink = &mut self.sink;
                let dents = tree.dirents(e);
                for_each_chunk(dents, l.n_blocks, |r, block| {
                    if block {
                        return Ok(());
                    }
                    sink.with(|v| encode_chunk(tree, &dents[r], v, |t| nid_type(tree, lay, t)))
                })?;
            }
            mode::S_IFLNK if l.n_blocks == 0 => {
                let p = self.copy_data(e, true);
                let r = self.sink.put(&p);
                self.scratch = p;
                r?;
            }
            mode::S_IFREG if l.tail > 0 => {
                if e.has_content {
                    let c = self.copy_data(e, false);
                    let from = c.len().saturating_sub(l.tail as usize);
                    let r = self.sink.put(&c[from..]);
                    self.scratch = c;
                    r?;
                } else {
                    self.sink.fill(0xff, chunk_count * 4)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn xattrs(&mut self, e: &Entry, n_shared: u8) -> Result<()> {
        let (xt, shared) = (&self.tree.xt, &self.lay.shared);
        let ids = xt.ids(&e.xattrs);
        let header = XattrIbodyHeader {
            name_filter: name_filter(xt, ids),
            shared_count: n_shared,
        };
        let base = self.lay.inodes_end % BLK;
        self.sink.with(|v| {
            header.encode(v);
            shared.classify(ids, |_, off| {
                if let Some(off) = off {
                    let slot = ((base + off as u64) / 4) as u32;
                    v.extend_from_slice(&slot.to_le_bytes());
                }
            });
            shared.classify(ids, |id, off| {
                if off.is_none() {
                    xt.get(id).encode(v);
                }
            });
        })
    }

    fn data_blocks(&mut self, id: u32) -> Result<()> {
        let e = &self.tree.entries[id as usize];
        let l = self.lay.nodes[id as usize];
        if l.n_blocks == 0 {
            return Ok(());
        }
        match e.file_type() {
            mode::S_IFDIR => {
                let (tree, lay) = (self.tree, self.lay);
                let sink = &mut self.sink;
                let dents = tree.dirents(e);
                for_each_chunk(dents, l.n_blocks, |r, block| {
                    if !block {
                        return Ok(());
                    }
                    sink.with(|v| encode_chunk(tree, &dents[r], v, |t| nid_type(tree, lay, t)))?;
                    sink.align(BLK)
                })
            }
            mode::S_IFREG if !e.has_content => {
                // The chunk index table moved out of the inode: one block
                // of null chunk addresses, as C writes it.
                let mut v = std::mem::take(&mut self.scratch);
                v.clear();
                for _ in 0..BLKSIZ / 4 {
                    v.extend_from_slice(&NULL_ADDR.to_le_bytes());
                }
                let r = self.sink.put(&v);
                self.scratch = v;
                r
            }
            mode::S_IFREG | mode::S_IFLNK => {
                let is_link = e.file_type() == mode::S_IFLNK;
                let data = self.copy_data(e, is_link);
                let start = self.sink.pos();
                // C copies min(size, block) bytes for a symlink target.
                let len = if is_link {
                    e.inode.size.min(BLK) as usize
                } else {
                    (data.len() as u64).min(BLK * l.n_blocks as u64) as usize
                };
                let have = len.min(data.len());
                let r = self.sink.put(&data[..have]);
                self.scratch = data;
                r?;
                self.sink.fill(0, (len - have) as u64)?;
                let end = start + BLK * l.n_blocks as u64;
                self.sink.fill(0, end.saturating_sub(self.sink.pos()))
            }
            _ => Ok(()),
        }
    }
}

fn id_to_ino(tree: &Tree, id: u32) -> u32 {
    tree.ino[id as usize]
}

fn nid_type(tree: &Tree, lay: &Layout, target: u32) -> (u64, u8) {
    let nid = lay.nodes[target as usize].nid;
    let ft = file_type_of_mode(tree.entries[target as usize].inode.mode);
    (nid, ft)
}
