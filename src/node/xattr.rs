//! Extended attributes of a node, kept in the order C libcomposefs keeps
//! them: that order is visible through `lcfs_node_get_xattr_name`.

use std::borrow::Cow;
use std::ffi::{CStr, CString};

use crate::error::{Error, Result};

/// Per-entry overhead C charges (`LCFS_INODE_XATTRMETA_SIZE`).
const XATTR_META_SIZE: usize = 4;
/// Header charged with the first entry (`LCFS_XATTR_HEADER_SIZE`).
const XATTR_HEADER_SIZE: usize = 12;
/// Longest accepted key (the kernel's XATTR_NAME_MAX).
pub const XATTR_NAME_MAX: usize = 255;
/// Budget for xattrs set through the public API (`LCFS_INODE_EXTERNAL_XATTR_MAX`).
pub const EXTERNAL_XATTR_MAX: usize = u16::MAX as usize / 2;
/// Budget for xattrs the library adds itself.
pub const INTERNAL_XATTR_MAX: usize = u16::MAX as usize;

/// One key/value pair. The value keeps a trailing NUL so that C callers
/// get a non-NULL, terminated buffer even for empty values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xattr {
    key: Box<CStr>,
    value_nul: Box<[u8]>,
}

impl Xattr {
    pub fn new(key: &CStr, value: &[u8]) -> Xattr {
        let mut v = Vec::with_capacity(value.len() + 1);
        v.extend_from_slice(value);
        v.push(0);
        Xattr {
            key: key.into(),
            value_nul: v.into_boxed_slice(),
        }
    }
    pub fn key(&self) -> &CStr {
        &self.key
    }
    pub fn value(&self) -> &[u8] {
        &self.value_nul[..self.value_nul.len() - 1]
    }
}

/// The xattr list plus the size accounting C uses for its limits.
#[derive(Clone, Debug, Default)]
pub struct Xattrs {
    entries: Vec<Xattr>,
    /// C's `xattr_size`: a worst-case estimate of the on-disk size. It is
    /// a size_t in C and does wrap: a clone starts at zero while holding
    /// entries, so removing one goes "below zero" and only a later entry
    /// at least as costly brings it back. All arithmetic on it wraps so
    /// that the same calls succeed or fail with ERANGE as in C.
    accounted: usize,
}

fn entry_cost(key_len: usize, value_len: usize) -> usize {
    2 * XATTR_META_SIZE - 1 + key_len + value_len
}

impl Xattrs {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Xattr> {
        self.entries.iter()
    }
    pub fn get_index(&self, i: usize) -> Option<&Xattr> {
        self.entries.get(i)
    }
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        self.entries.iter().position(|x| x.key.to_bytes() == key)
    }
    pub fn get(&self, key: &[u8]) -> Option<&Xattr> {
        self.position(key).map(|i| &self.entries[i])
    }

    /// Removes `key`; the last entry moves into the hole, as in C.
    pub fn unset(&mut self, key: &[u8]) -> Result<()> {
        let i = self.position(key).ok_or(Error::NoData)?;
        let old = self.entries.swap_remove(i);
        self.accounted = self.accounted_after_removal(&old);
        Ok(())
    }

    fn accounted_after_removal(&self, removed: &Xattr) -> usize {
        if self.entries.is_empty() {
            0
        } else {
            self.accounted.wrapping_sub(entry_cost(
                removed.key.to_bytes().len(),
                removed.value().len(),
            ))
        }
    }

    /// Sets `key` (removing any previous value first, then appending).
    /// `limit` is EXTERNAL_XATTR_MAX for public callers. Unlike C, a
    /// refused set leaves the list exactly as it was.
    pub fn set(&mut self, key: &CStr, value: &[u8], limit: usize) -> Result<()> {
        self.set_key(Cow::Borrowed(key), value, limit)
    }

    /// [`Xattrs::set`] taking over an owned key, which saves a copy.
    pub fn set_owned(&mut self, key: CString, value: &[u8], limit: usize) -> Result<()> {
        self.set_key(Cow::Owned(key), value, limit)
    }

    fn set_key(&mut self, key: Cow<'_, CStr>, value: &[u8], limit: usize) -> Result<()> {
        let key_len = key.to_bytes().len();
        if key_len == 0 || key_len > XATTR_NAME_MAX {
            return Err(Error::OutOfRange);
        }
        if value.len() > u16::MAX as usize {
            return Err(Error::InvalidArgument);
        }
        let existing = self.position(key.to_bytes());
        let (count_after_removal, base) = match existing {
            Some(i) => {
                let old = &self.entries[i];
                let count = self.entries.len() - 1;
                let base = if count == 0 {
                    0
                } else {
                    self.accounted
                        .wrapping_sub(entry_cost(key_len, old.value().len()))
                };
                (count, base)
            }
            None => (self.entries.len(), self.accounted),
        };
        let mut cost = entry_cost(key_len, value.len());
        if count_after_removal == 0 {
            cost += XATTR_HEADER_SIZE;
        }
        if base.wrapping_add(cost) > limit {
            return Err(Error::OutOfRange);
        }
        if let Some(i) = existing {
            self.entries.swap_remove(i);
        }
        let mut v = Vec::with_capacity(value.len() + 1);
        v.extend_from_slice(value);
        v.push(0);
        self.entries.push(Xattr {
            key: key.into_owned().into_boxed_c_str(),
            value_nul: v.into_boxed_slice(),
        });
        self.accounted = base.wrapping_add(cost);
        Ok(())
    }

    /// Renames entry `i` in place (used when escaping overlay xattrs).
    pub fn rename(&mut self, i: usize, new_key: &CStr) -> Result<()> {
        let x = self.entries.get_mut(i).ok_or(Error::InvalidArgument)?;
        x.key = new_key.into();
        Ok(())
    }

    /// Sorts by key bytes, the canonical order the writer imposes.
    pub fn sort(&mut self) {
        self.entries.sort_by(|a, b| a.key.cmp(&b.key));
    }

    /// A copy of the entries without the size accounting, as C's
    /// `lcfs_node_clone` makes it (the clone starts with a zero budget).
    pub fn clone_entries(&self) -> Xattrs {
        Xattrs {
            entries: self.entries.clone(),
            accounted: 0,
        }
    }
}

/// Convenience for tests and internal callers holding plain bytes.
pub fn key(bytes: &[u8]) -> Result<CString> {
    CString::new(bytes).map_err(|_| Error::InvalidArgument)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(x: &Xattrs) -> Vec<&[u8]> {
        x.iter().map(|e| e.key().to_bytes()).collect()
    }

    #[test]
    fn replace_appends_and_unset_fills_hole() {
        let mut x = Xattrs::default();
        for k in [b"user.a", b"user.b", b"user.c", b"user.d"] {
            x.set(&key(k).unwrap(), b"v", EXTERNAL_XATTR_MAX).unwrap();
        }
        x.set(&key(b"user.b").unwrap(), b"w", EXTERNAL_XATTR_MAX)
            .unwrap();
        assert_eq!(names(&x), [&b"user.a"[..], b"user.d", b"user.c", b"user.b"]);
        x.unset(b"user.a").unwrap();
        assert_eq!(names(&x), [&b"user.b"[..], b"user.d", b"user.c"]);
        assert_eq!(x.unset(b"user.zz"), Err(Error::NoData));
    }

    #[test]
    fn empty_value_is_terminated() {
        let mut x = Xattrs::default();
        x.set(&key(b"user.e").unwrap(), b"", EXTERNAL_XATTR_MAX)
            .unwrap();
        let e = x.get(b"user.e").unwrap();
        assert_eq!(e.value(), b"");
        assert_eq!(e.value_nul[0], 0);
    }

    #[test]
    fn limits_match_c() {
        let mut x = Xattrs::default();
        assert_eq!(
            x.set(&key(b"").unwrap(), b"", EXTERNAL_XATTR_MAX),
            Err(Error::OutOfRange)
        );
        let long = vec![b'a'; 256];
        assert_eq!(
            x.set(&key(&long).unwrap(), b"", EXTERNAL_XATTR_MAX),
            Err(Error::OutOfRange)
        );
        let huge = vec![0u8; 65536];
        assert_eq!(
            x.set(&key(b"user.a").unwrap(), &huge, INTERNAL_XATTR_MAX),
            Err(Error::InvalidArgument)
        );
        // 12 header + 7 meta + 6 key + value must stay within 32767.
        let fits = vec![0u8; EXTERNAL_XATTR_MAX - 12 - 7 - 6];
        x.set(&key(b"user.a").unwrap(), &fits, EXTERNAL_XATTR_MAX)
            .unwrap();
        let before = x.clone();
        assert_eq!(
            x.set(&key(b"user.b").unwrap(), b"", EXTERNAL_XATTR_MAX),
            Err(Error::OutOfRange)
        );
        assert_eq!(names(&x), names(&before));
        // Replacing the value with one a byte too big fails and keeps the old one.
        let too_big = vec![0u8; fits.len() + 1];
        assert_eq!(
            x.set(&key(b"user.a").unwrap(), &too_big, EXTERNAL_XATTR_MAX),
            Err(Error::OutOfRange)
        );
        assert_eq!(x.get(b"user.a").unwrap().value().len(), fits.len());
    }

    #[test]
    fn clone_budget_wraps_like_c() {
        let mut x = Xattrs::default();
        let v = [7u8; 100];
        x.set(&key(b"user.a").unwrap(), &v, EXTERNAL_XATTR_MAX)
            .unwrap();
        x.set(&key(b"user.b").unwrap(), &v, EXTERNAL_XATTR_MAX)
            .unwrap();
        let mut c = x.clone_entries();
        // Removing a 113-byte entry from a zero budget leaves it at -113.
        c.unset(b"user.a").unwrap();
        assert_eq!(
            c.set(&key(b"user.c").unwrap(), &v[..99], EXTERNAL_XATTR_MAX),
            Err(Error::OutOfRange)
        );
        assert_eq!(c.len(), 1);
        c.set(&key(b"user.c").unwrap(), &v, EXTERNAL_XATTR_MAX)
            .unwrap();
        // Back at zero: a full budget (no header: not the first entry) fits.
        let rest = vec![0u8; EXTERNAL_XATTR_MAX - 7 - 6];
        c.set(&key(b"user.d").unwrap(), &rest, EXTERNAL_XATTR_MAX)
            .unwrap();
        assert_eq!(
            c.set(&key(b"user.e").unwrap(), b"", EXTERNAL_XATTR_MAX),
            Err(Error::OutOfRange)
        );
    }
}
