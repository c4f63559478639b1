//! Xattrs as the writer sees them: every distinct (key, value) pair is
//! interned once, nodes hold ids. Also the EROFS name prefixes, the xxh32
//! name filter and the shared xattr table.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::erofs::format::{
    round_up, XattrEntry, XATTR_ENTRY_SIZE, XATTR_FILTER_BITS, XATTR_FILTER_SEED,
    XATTR_IBODY_HEADER_SIZE, XATTR_INDEX_POSIX_ACL_ACCESS, XATTR_INDEX_POSIX_ACL_DEFAULT,
};
use crate::error::{Error, Result};

/// Overlayfs names the writer adds or escapes.
pub const OVERLAY_PREFIX: &[u8] = b"trusted.overlay.";
pub const OVERLAY_ESCAPED_PREFIX: &[u8] = b"trusted.overlay.overlay.";
pub const METACOPY: &[u8] = b"trusted.overlay.metacopy";
pub const REDIRECT: &[u8] = b"trusted.overlay.redirect";
pub const OPAQUE: &[u8] = b"trusted.overlay.opaque";
pub const ESCAPED_WHITEOUT: &[u8] = b"trusted.overlay.overlay.whiteout";
pub const ESCAPED_WHITEOUTS: &[u8] = b"trusted.overlay.overlay.whiteouts";
pub const ESCAPED_OPAQUE: &[u8] = b"trusted.overlay.overlay.opaque";
pub const USER_WHITEOUT: &[u8] = b"user.overlay.whiteout";
pub const USER_WHITEOUTS: &[u8] = b"user.overlay.whiteouts";
pub const USER_OPAQUE: &[u8] = b"user.overlay.opaque";
pub const SELINUX: &[u8] = b"security.selinux";

/// Budget of `lcfs_node_set_xattr`, which the writer's own additions use.
const SET_LIMIT: u32 = 32767;
/// Per-entry charge of that budget beyond key and value.
const ENTRY_CHARGE: u32 = 7;
/// Extra charge for the first entry of a node.
const HEADER_CHARGE: u32 = 12;
const KEY_MAX: usize = 255;

/// At most this many xattrs of one inode go to the shared table.
pub const MAX_SHARED_PER_INODE: usize = 0x80;

/// Prefixes EROFS can abbreviate, in the order they are tried.
const PREFIXES: [(&[u8], u8); 5] = [
    (b"user.", 1),
    (b"system.posix_acl_access", XATTR_INDEX_POSIX_ACL_ACCESS),
    (b"system.posix_acl_default", XATTR_INDEX_POSIX_ACL_DEFAULT),
    (b"trusted.", 4),
    (b"security.", 6),
];

/// The name index for `key` and the length of the prefix it replaces.
pub fn prefix_index(key: &[u8]) -> (u8, usize) {
    for (p, idx) in PREFIXES {
        if key.starts_with(p) {
            return (idx, p.len());
        }
    }
    (0, 0)
}

/// xxHash32 of `data` (the kernel's variant, used for the name filter).
pub fn xxh32(data: &[u8], seed: u32) -> u32 {
    const P1: u32 = 2_654_435_761;
    const P2: u32 = 2_246_822_519;
    const P3: u32 = 3_266_489_917;
    const P4: u32 = 668_265_263;
    const P5: u32 = 374_761_393;
    fn word(b: &[u8]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn round(acc: u32, lane: u32) -> u32 {
        acc.wrapping_add(lane.wrapping_mul(P2))
            .rotate_left(13)
            .wrapping_mul(P1)
    }
    let mut rest = data;
    let mut h = if data.len() >= 16 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while rest.len() >= 16 {
            for (i, lane) in v.iter_mut().enumerate() {
                *lane = round(*lane, word(&rest[i * 4..]));
            }
            rest = &rest[16..];
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(data.len() as u32);
    while rest.len() >= 4 {
        h = h
            .wrapping_add(word(rest).wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
        rest = &rest[4..];
    }
    for &b in rest {
        h = h
            .wrapping_add((b as u32).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^= h >> 16;
    h
}

/// A small multiplicative hasher: the interning map sees every xattr of
/// the tree, and SipHash would dominate there.
#[derive(Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
        self.0 = h;
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// One distinct xattr name and what the writer needs to know about it.
#[derive(Clone, Copy)]
struct KeyMeta {
    /// The name's bytes are at this offset of `XattrTable::keys`.
    off: usize,
    len: u16,
    /// EROFS name index and the length of the prefix it stands for.
    index: u8,
    prefix_len: u8,
    /// Bit of this name in the inode's name filter.
    filter_bit: u8,
    is_acl: bool,
}

/// One distinct xattr: its name's id and where its value is.
#[derive(Clone, Copy)]
struct Meta {
    key: u32,
    value_len: u16,
    /// The value's bytes are at this offset of `XattrTable::values`.
    off: usize,
}

/// One distinct xattr, as borrowed from the table.
#[derive(Clone, Copy)]
pub struct Interned<'t> {
    key: &'t [u8],
    value: &'t [u8],
    k: &'t KeyMeta,
}

impl<'t> Interned<'t> {
    pub fn key(&self) -> &'t [u8] {
        self.key
    }
    pub fn value(&self) -> &'t [u8] {
        self.value
    }
    /// The name as stored: the key without its abbreviated prefix.
    pub fn suffix(&self) -> &'t [u8] {
        &self.key[self.k.prefix_len as usize..]
    }
    pub fn filter_bit(&self) -> u8 {
        self.k.filter_bit
    }
    pub fn is_acl(&self) -> bool {
        self.k.is_acl
    }
    /// On-disk size of the entry with name and value, 4-byte aligned.
    pub fn entry_size(&self) -> usize {
        round_up(
            XATTR_ENTRY_SIZE + self.suffix().len() + self.value().len(),
            XATTR_ENTRY_SIZE,
        )
    }
    /// Appends the entry, name, value and alignment padding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        XattrEntry {
            name_len: self.suffix().len() as u8,
            name_index: self.k.index,
            value_size: self.value().len() as u16,
        }
        .encode(out);
        out.extend_from_slice(self.suffix());
        out.extend_from_slice(self.value());
        out.resize(start + self.entry_size(), 0);
    }
}

/// An interned xattr name, for the names the writer sets itself.
#[derive(Clone, Copy)]
pub struct Name(u32);

/// Empty slot of an [`IdIndex`].
const FREE: u32 = u32::MAX;

/// A hash set of ids whose items live elsewhere: open addressing with
/// linear probing, at most half full. Each slot keeps 32 bits of its
/// id's hash, which spares most comparisons and all rehashing.
#[derive(Default)]
struct IdIndex {
    /// (id, hash) pairs; length 0 or a power of two.
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl IdIndex {
    /// Slot of a hash: its top bits, the best mixed ones.
    fn home(&self, h: u32) -> usize {
        (h >> (32 - self.slots.len().trailing_zeros())) as usize
    }

    /// Makes room for one more id.
    fn reserve_one(&mut self) {
        if (self.len + 1) * 2 <= self.slots.len() {
            return;
        }
        let size = (self.slots.len() * 2).max(64);
        let old = std::mem::replace(&mut self.slots, vec![(FREE, 0); size]);
        let mask = size - 1;
        for (id, h) in old.into_iter().filter(|&(id, _)| id != FREE) {
            let mut i = self.home(h);
            while self.slots[i].0 != FREE {
                i = (i + 1) & mask;
            }
            self.slots[i] = (id, h);
        }
    }

    /// The id `is_it` accepts among those filed under hash `h`, or else
    /// files `new_id` there.
    fn find_or_file(&mut self, h: u64, new_id: u32, is_it: impl Fn(u32) -> bool) -> Option<u32> {
        self.reserve_one();
        let h = (h >> 32) as u32;
        let mask = self.slots.len() - 1;
        let mut i = self.home(h);
        loop {
            match self.slots[i] {
                (FREE, _) => {
                    self.slots[i] = (new_id, h);
                    self.len += 1;
                    return None;
                }
                (id, hash) if hash == h && is_it(id) => return Some(id),
                _ => i = (i + 1) & mask,
            }
        }
    }
}

/// All distinct xattrs of the tree being written, and every node's list
/// of them. A tree of 100k files has about as many distinct xattrs (each
/// file's redirect) but few distinct names, so names and values are
/// interned apart, each into one byte arena with an index of ids, rather
/// than an allocation and a map entry per xattr.
#[derive(Default)]
pub struct XattrTable {
    keys: Vec<u8>,
    key_metas: Vec<KeyMeta>,
    key_index: IdIndex,
    /// The names asked for last (ids, checked in full before use).
    recent_keys: [u32; 4],
    /// By name id: the id of the last xattr interned with that name.
    last_of_key: Vec<u32>,
    values: Vec<u8>,
    metas: Vec<Meta>,
    index: IdIndex,
    /// The nodes' id lists (see [`NodeXattrs`]).
    lists: Vec<u32>,
}

fn hash_bytes(bytes: &[u8], tag: u32) -> u64 {
    let mut h = FastHasher::default();
    h.write(bytes);
    h.write_usize(tag as usize);
    h.finish()
}

/// A new id for a table holding `len` items.
fn next_id(len: usize) -> Result<u32> {
    u32::try_from(len)
        .ok()
        .filter(|&id| id != FREE)
        .ok_or(Error::OutOfMemory)
}

impl XattrTable {
    pub fn get(&self, id: u32) -> Interned<'_> {
        let m = &self.metas[id as usize];
        let k = &self.key_metas[m.key as usize];
        Interned {
            key: &self.keys[k.off..k.off + k.len as usize],
            value: &self.values[m.off..m.off + m.value_len as usize],
            k,
        }
    }
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// The id of the name `key` + `key_tail`.
    fn intern_key(&mut self, key: &[u8], key_tail: &[u8]) -> Result<u32> {
        let len = u16::try_from(key.len() + key_tail.len()).map_err(|_| Error::InvalidArgument)?;
        // Files mostly repeat the same few names: those skip the hashing.
        // Their last bytes tell most apart (the writer's own metacopy and
        // redirect names have the same length) before a full comparison.
        let last = key_tail.last().or(key.last());
        for &id in &self.recent_keys {
            let Some(k) = self.key_metas.get(id as usize) else {
                continue;
            };
            let known = &self.keys[k.off..k.off + k.len as usize];
            if k.len == len
                && known.last() == last
                && known.starts_with(key)
                && known.ends_with(key_tail)
            {
                return Ok(id);
            }
        }
        let id = self.intern_new_key(key, key_tail, len)?;
        self.recent_keys.rotate_right(1);
        self.recent_keys[0] = id;
        Ok(id)
    }

    fn intern_new_key(&mut self, key: &[u8], key_tail: &[u8], len: u16) -> Result<u32> {
        let new_id = next_id(self.key_metas.len())?;
        let (keys, metas) = (&mut self.keys, &self.key_metas);
        // The candidate goes where it would be stored; a known one is
        // taken back off.
        let off = keys.len();
        keys.extend_from_slice(key);
        keys.extend_from_slice(key_tail);
        let (keys, new) = keys.split_at(off);
        let found = self
            .key_index
            .find_or_file(hash_bytes(new, 0), new_id, |id| {
                let k = &metas[id as usize];
                k.len == len && &keys[k.off..k.off + k.len as usize] == new
            });
        if let Some(id) = found {
            self.keys.truncate(off);
            return Ok(id);
        }
        let (index, prefix_len) = prefix_index(new);
        let seed = XATTR_FILTER_SEED.wrapping_add(index as u32);
        let filter_bit = (xxh32(&new[prefix_len..], seed) & (XATTR_FILTER_BITS - 1)) as u8;
        let is_acl = new == b"system.posix_acl_access" || new == b"system.posix_acl_default";
        self.key_metas.push(KeyMeta {
            off,
            len,
            index,
            prefix_len: prefix_len as u8,
            filter_bit,
            is_acl,
        });
        Ok(new_id)
    }

    /// The writer's handle on the name `key`.
    pub fn name(&mut self, key: &[u8]) -> Result<Name> {
        self.intern_key(key, b"").map(Name)
    }

    /// The id of (`key` with `key_tail` appended, `value`).
    pub fn intern(&mut self, key: &[u8], key_tail: &[u8], value: &[u8]) -> Result<u32> {
        let key = self.intern_key(key, key_tail)?;
        self.intern_value(key, value)
    }

    /// The id of (name `key`, `value`).
    fn intern_value(&mut self, key: u32, value: &[u8]) -> Result<u32> {
        let value_len = u16::try_from(value.len()).map_err(|_| Error::InvalidArgument)?;
        // Many files get the same value as the last one of that name (an
        // empty metacopy, a security label): no hashing for those.
        if let Some(&last) = self.last_of_key.get(key as usize) {
            let m = &self.metas[last as usize];
            let last_value = &self.values[m.off..][..m.value_len as usize];
            // Equal lengths are common (digest-named redirects): the first
            // bytes mostly tell them apart before a full comparison.
            if m.key == key
                && last_value.len() == value.len()
                && last_value.first() == value.first()
                && last_value.get(1..3) == value.get(1..3)
                && last_value == value
            {
                return Ok(last);
            }
        }
        let id = self.intern_new_value(key, value, value_len)?;
        if self.last_of_key.len() <= key as usize {
            self.last_of_key.resize(key as usize + 1, id);
        }
        self.last_of_key[key as usize] = id;
        Ok(id)
    }

    fn intern_new_value(&mut self, key: u32, value: &[u8], value_len: u16) -> Result<u32> {
        let new_id = next_id(self.metas.len())?;
        let (values, metas) = (&mut self.values, &self.metas);
        let off = values.len();
        values.extend_from_slice(value);
        let (values, new) = values.split_at(off);
        let found = self.index.find_or_file(hash_bytes(new, key), new_id, |id| {
            let m = &metas[id as usize];
            m.key == key && m.value_len == value_len && &values[m.off..m.off + new.len()] == new
        });
        if let Some(id) = found {
            self.values.truncate(off);
            return Ok(id);
        }
        self.metas.push(Meta {
            key,
            value_len,
            off,
        });
        Ok(new_id)
    }

    /// Interns an xattr taken from a caller's node, escaping overlayfs
    /// names so that the image's own ones cannot be spoofed.
    pub fn intern_escaped(&mut self, key: &[u8], value: &[u8]) -> Result<u32> {
        match key.strip_prefix(OVERLAY_PREFIX) {
            Some(rest) => self.intern(OVERLAY_ESCAPED_PREFIX, rest, value),
            None => self.intern(key, b"", value),
        }
    }

    /// Drops the lookup indexes once no more xattrs will be added.
    pub fn seal(&mut self) {
        self.key_index = IdIndex::default();
        self.index = IdIndex::default();
    }

    /// The ids of a node's list.
    pub fn ids(&self, x: &NodeXattrs) -> &[u32] {
        &self.lists[x.start as usize..][..x.len as usize]
    }

    /// Sorts a node's list by key, the canonical order of an inode's xattrs.
    pub fn sort_ids(&mut self, x: &NodeXattrs) {
        let (metas, key_metas, keys) = (&self.metas, &self.key_metas, &self.keys);
        let key = |id: u32| {
            let k = &key_metas[metas[id as usize].key as usize];
            &keys[k.off..k.off + k.len as usize]
        };
        self.lists[x.start as usize..][..x.len as usize]
            .sort_unstable_by(|&a, &b| key(a).cmp(key(b)));
    }
}

/// A node's xattr list while the tree is rewritten, with the size budget
/// C keeps per node. The ids sit in `XattrTable::lists`; a list that has
/// to grow while not the last one there moves to the end first. Like C's
/// clone, the budget starts at zero and its arithmetic wraps as C's
/// unsigned counter does: in 32 bits here, which gives C's results since
/// the counter only goes below zero by the few entries the writer
/// replaces (far from 2^31).
#[derive(Default, Clone, Copy)]
pub struct NodeXattrs {
    start: u32,
    len: u32,
    budget: u32,
}

impl NodeXattrs {
    /// An empty list at the end of the table's lists.
    pub fn new(table: &XattrTable) -> Result<NodeXattrs> {
        Ok(NodeXattrs {
            start: u32::try_from(table.lists.len()).map_err(|_| Error::OutOfMemory)?,
            len: 0,
            budget: 0,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `id` without budget accounting (a node's own xattrs).
    pub fn push(&mut self, table: &mut XattrTable, id: u32) -> Result<()> {
        let lists = &mut table.lists;
        let end = self.start as usize + self.len as usize;
        if end != lists.len() {
            let moved = u32::try_from(lists.len()).map_err(|_| Error::OutOfMemory)?;
            lists.extend_from_within(self.start as usize..end);
            self.start = moved;
        }
        u32::try_from(lists.len() + 1).map_err(|_| Error::OutOfMemory)?;
        lists.push(id);
        self.len += 1;
        Ok(())
    }

    fn find(&self, table: &XattrTable, name: Name) -> Option<usize> {
        table
            .ids(self)
            .iter()
            .position(|&id| table.metas[id as usize].key == name.0)
    }

    /// Removes entry `i`, the last one taking its place.
    fn swap_remove(&mut self, table: &mut XattrTable, i: usize) {
        let list = &mut table.lists[self.start as usize..][..self.len as usize];
        list.swap(i, self.len as usize - 1);
        self.len -= 1;
    }

    /// Sets `key` to `value` the way `lcfs_node_set_xattr` does: any old
    /// value is removed first, then the new one is charged to the budget.
    pub fn set(&mut self, table: &mut XattrTable, name: Name, value: &[u8]) -> Result<()> {
        let key_len = table.key_metas[name.0 as usize].len as usize;
        if key_len == 0 || key_len > KEY_MAX {
            return Err(Error::OutOfRange);
        }
        if let Some(i) = self.find(table, name) {
            let old_len = table.get(table.ids(self)[i]).value().len() as u32;
            self.swap_remove(table, i);
            self.budget = if self.len == 0 {
                0
            } else {
                self.budget
                    .wrapping_sub(ENTRY_CHARGE + key_len as u32 + old_len)
            };
        }
        let mut cost = ENTRY_CHARGE + key_len as u32 + value.len() as u32;
        if self.len == 0 {
            cost += HEADER_CHARGE;
        }
        let total = self.budget.wrapping_add(cost);
        if total > SET_LIMIT {
            return Err(Error::OutOfRange);
        }
        let id = table.intern_value(name.0, value)?;
        self.push(table, id)?;
        self.budget = total;
        Ok(())
    }

    pub fn value<'t>(&self, table: &'t XattrTable, name: Name) -> Option<&'t [u8]> {
        self.find(table, name)
            .map(|i| table.get(table.ids(self)[i]).value())
    }
}

/// The shared xattr table: xattrs used by more than one inode, in C's
/// canonical order (descending by key, then value length, then value).
pub struct Shared {
    /// Ids in table order.
    pub ids: Vec<u32>,
    /// Byte offset of each id inside the table, or u32::MAX if not shared.
    offsets: Vec<u32>,
    pub size: u64,
}

impl Shared {
    pub fn compute(table: &XattrTable, counts: &[u32]) -> Result<Shared> {
        let mut ids: Vec<u32> = (0..table.len() as u32)
            .filter(|&id| counts[id as usize] > 1)
            .collect();
        ids.sort_unstable_by(|&a, &b| {
            let (a, b) = (table.get(a), table.get(b));
            b.key()
                .cmp(a.key())
                .then(b.value().len().cmp(&a.value().len()))
                .then(b.value().cmp(a.value()))
        });
        let mut offsets = vec![u32::MAX; table.len()];
        let mut size: u64 = 0;
        for &id in &ids {
            offsets[id as usize] = u32::try_from(size).map_err(|_| Error::FileTooBig)?;
            size += table.get(id).entry_size() as u64;
        }
        Ok(Shared { ids, offsets, size })
    }

    pub fn offset(&self, id: u32) -> Option<u32> {
        match self.offsets[id as usize] {
            u32::MAX => None,
            o => Some(o),
        }
    }

    /// Calls `f(id, shared_offset)` for each xattr of a node in order,
    /// with the offset only for those stored in the shared table (the
    /// first MAX_SHARED_PER_INODE shareable ones).
    pub fn classify(&self, ids: &[u32], mut f: impl FnMut(u32, Option<u32>)) {
        let mut n_shared = 0;
        for &id in ids {
            match self.offset(id) {
                Some(o) if n_shared < MAX_SHARED_PER_INODE => {
                    n_shared += 1;
                    f(id, Some(o));
                }
                _ => f(id, None),
            }
        }
    }
}

/// Size of a node's inline xattr area and its shared count.
pub fn inode_xattr_size(table: &XattrTable, shared: &Shared, ids: &[u32]) -> (usize, usize) {
    if ids.is_empty() {
        return (0, 0);
    }
    let (mut n_shared, mut inline) = (0usize, 0usize);
    shared.classify(ids, |id, off| match off {
        Some(_) => n_shared += 1,
        None => inline += table.get(id).entry_size(),
    });
    let size = round_up(
        XATTR_IBODY_HEADER_SIZE + n_shared * XATTR_ENTRY_SIZE + inline,
        XATTR_ENTRY_SIZE,
    );
    (size, n_shared)
}

/// The name filter word: a bit cleared for every name present.
pub fn name_filter(table: &XattrTable, ids: &[u32]) -> u32 {
    let mut bits = 0u32;
    for &id in ids {
        bits |= 1u32 << table.get(id).filter_bit();
    }
    !bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh32_known_vectors() {
        assert_eq!(xxh32(b"", 0), 0x02CC_5D05);
        assert_eq!(xxh32(b"a", 0), 0x550D_7456);
        assert_eq!(xxh32(b"abc", 0), 0x32D1_53FF);
        assert_eq!(
            xxh32(b"Nobody inspects the spammish repetition", 0),
            0xE229_3B2F
        );
        assert_eq!(xxh32(b"", 1), 0x0B2C_B792);
    }

    #[test]
    fn prefixes() {
        assert_eq!(prefix_index(b"user.foo"), (1, 5));
        assert_eq!(prefix_index(b"system.posix_acl_access"), (2, 23));
        assert_eq!(prefix_index(b"system.posix_acl_default"), (3, 24));
        assert_eq!(prefix_index(b"trusted.overlay.x"), (4, 8));
        assert_eq!(prefix_index(b"security.selinux"), (6, 9));
        assert_eq!(prefix_index(b"lustre.x"), (0, 0));
        assert_eq!(prefix_index(b"system.other"), (0, 0));
    }

    #[test]
    fn interning_and_escape() {
        let mut t = XattrTable::default();
        let a = t.intern_escaped(b"trusted.overlay.opaque", b"y").unwrap();
        let b = t
            .intern(b"trusted.overlay.overlay.opaque", b"", b"y")
            .unwrap();
        assert_eq!(a, b);
        let e = t.get(a);
        assert_eq!(e.key(), b"trusted.overlay.overlay.opaque");
        assert_eq!(e.suffix(), b"overlay.overlay.opaque");
        assert_eq!(e.entry_size(), round_up(4 + 22 + 1, 4));
        let mut v = Vec::new();
        e.encode(&mut v);
        assert_eq!(v.len(), e.entry_size());
        assert_eq!(&v[..4], &[22, 4, 1, 0]);
        let c = t.intern(b"user.a", b"", b"").unwrap();
        assert_ne!(c, a);
        assert_eq!(name_filter(&t, &[]), u32::MAX);
        assert_eq!(name_filter(&t, &[c]).count_zeros(), 1);
    }

    fn c_id(t: &mut XattrTable) -> u32 {
        t.intern(b"user.c", b"", b"").unwrap()
    }

    #[test]
    fn interning_many_keeps_ids() {
        let mut t = XattrTable::default();
        let ids: Vec<u32> = (0..5000u32)
            .map(|i| t.intern(b"user.k", b"", &i.to_le_bytes()).unwrap())
            .collect();
        for (i, &id) in ids.iter().enumerate() {
            assert_eq!(t.intern(b"user.k", b"", &(i as u32).to_le_bytes()), Ok(id));
            assert_eq!(t.get(id).value(), &(i as u32).to_le_bytes());
        }
        // Same bytes, split differently between key and value.
        let a = t.intern(b"user.ab", b"", b"c").unwrap();
        let b = t.intern(b"user.a", b"", b"bc").unwrap();
        assert_ne!(a, b);
        assert_eq!(t.len(), 5002);
    }

    #[test]
    fn budget_replaces_and_wraps_like_c() {
        let mut t = XattrTable::default();
        let big = vec![b'v'; 100];
        let id = t.intern(b"user.overlay.whiteout", b"", &big).unwrap();
        let other = t.intern(b"user.x", b"", b"").unwrap();
        // A cloned node starts from a zero budget; replacing a long value
        // drives the unsigned counter below zero and the next set fails.
        let mut n = NodeXattrs::new(&t).unwrap();
        n.push(&mut t, other).unwrap();
        n.push(&mut t, id).unwrap();
        let [escaped_whiteout, user_whiteout, opaque, user_opaque] =
            [ESCAPED_WHITEOUT, USER_WHITEOUT, OPAQUE, USER_OPAQUE].map(|k| t.name(k).unwrap());
        n.set(&mut t, escaped_whiteout, b"").unwrap();
        assert_eq!(n.set(&mut t, user_whiteout, b""), Err(Error::OutOfRange));
        let mut m = NodeXattrs::new(&t).unwrap();
        m.set(&mut t, opaque, b"y").unwrap();
        m.set(&mut t, opaque, b"y").unwrap();
        assert_eq!(t.ids(&m).len(), 1);
        assert_eq!(m.value(&t, opaque), Some(&b"y"[..]));
        // A list that is not the last one moves to the end to grow.
        n.set(&mut t, user_opaque, b"x").unwrap_err();
        let before: Vec<u32> = t.ids(&n).to_vec();
        let mut k = NodeXattrs::new(&t).unwrap();
        k.push(&mut t, other).unwrap();
        let c = c_id(&mut t);
        n.push(&mut t, c).unwrap();
        assert_eq!(t.ids(&n)[..before.len()], before[..]);
        assert_eq!(t.ids(&k), &[other]);
    }

    #[test]
    fn shared_order_and_limit() {
        let mut t = XattrTable::default();
        let a = t.intern(b"user.a", b"", b"1").unwrap();
        let b = t.intern(b"user.b", b"", b"1").unwrap();
        let b2 = t.intern(b"user.b", b"", b"22").unwrap();
        let c = t.intern(b"user.c", b"", b"1").unwrap();
        let counts = vec![2, 2, 3, 1];
        let s = Shared::compute(&t, &counts).unwrap();
        assert_eq!(s.ids, vec![b2, b, a]);
        assert_eq!(s.offset(b2), Some(0));
        assert_eq!(s.offset(b), Some(t.get(b2).entry_size() as u32));
        assert_eq!(s.offset(c), None);
        let (size, n) = inode_xattr_size(&t, &s, &[a, c]);
        assert_eq!(n, 1);
        assert_eq!(size, 12 + 4 + t.get(c).entry_size());
    }
}
