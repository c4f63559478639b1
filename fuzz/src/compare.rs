//! Does the reader give back the tree the writer was given? Only what an
//! image can carry is compared; the writer's documented rewrites are
//! allowed for (see `LOSSY_XATTRS` and the per-type rules below).

use std::ffi::CStr;

use composefs::erofs::format::XATTR_PREFIXES;
use composefs::node::{follow_links, mode, Inode, NodeRef};

/// Keys the writer itself sets or the reader drops for overlayfs
/// (opaque markers, whiteout markers): a user value for them need not
/// survive, and the writer may add them.
const LOSSY_XATTRS: [&[u8]; 6] = [
    b"trusted.overlay.opaque",
    b"trusted.overlay.whiteout",
    b"trusted.overlay.whiteouts",
    b"user.overlay.opaque",
    b"user.overlay.whiteout",
    b"user.overlay.whiteouts",
];

/// An xattr that is a bare prefix ("user.") with an empty value is a
/// 4-byte entry; as the last inline entry C's reader skips it (its loop
/// wants more than 4 bytes left), and ours reads as C does.
fn bare_prefix(key: &[u8], value: &[u8]) -> bool {
    value.is_empty() && XATTR_PREFIXES[1..].contains(&key)
}

/// What one node holds, in comparable form.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Facts {
    inode: Inode,
    payload: Option<Vec<u8>>,
    content: Option<Vec<u8>>,
    digest: Option<[u8; 32]>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn facts(n: &NodeRef) -> Facts {
    let d = n.lock();
    let mut inode = d.inode;
    let ft = inode.file_type();
    let mut xattrs: Vec<(Vec<u8>, Vec<u8>)> = d
        .xattrs
        .iter()
        .map(|x| (x.key().to_bytes().to_vec(), x.value().to_vec()))
        .filter(|(k, v)| !LOSSY_XATTRS.contains(&k.as_slice()) && !bare_prefix(k, v))
        .collect();
    xattrs.sort();
    let mut payload = d.payload().map(|p| p.to_bytes().to_vec());
    let mut content = d.content().map(<[u8]>::to_vec);
    let mut digest = d.digest().copied();
    if ft == mode::S_IFDIR {
        // Computed by the writer from the entries.
        inode.nlink = 0;
        inode.size = 0;
    }
    if ft != mode::S_IFCHR && ft != mode::S_IFBLK {
        inode.rdev = 0;
    }
    let external = ft == mode::S_IFREG && inode.size > 0 && content.is_none();
    if !external {
        // Only an external file stores a redirect and a digest.
        digest = None;
        if ft != mode::S_IFLNK {
            payload = None;
        }
    }
    if external && payload.as_deref() == Some(b"") {
        payload = None;
    }
    if ft != mode::S_IFREG {
        content = None;
    }
    Facts {
        inode,
        payload,
        content,
        digest,
        xattrs,
    }
}

fn child_names(n: &NodeRef) -> Vec<(Vec<u8>, NodeRef)> {
    n.lock()
        .children()
        .iter()
        .map(|c| {
            let name = c
                .lock()
                .name()
                .map(CStr::to_bytes)
                .unwrap_or_default()
                .to_vec();
            (name, c.clone())
        })
        .collect()
}

fn show(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// True when `read` equals `orig` but for C's redirect quirk: a payload
/// whose stored value fills its xattr entry reads back with up to two
/// bytes of the next entry glued on (the reader matches C on purpose).
/// Sets `quirk` when that is the only difference.
fn same_facts(orig: &Facts, read: &Facts, quirk: &mut bool) -> bool {
    if orig == read {
        return true;
    }
    let (Some(p), Some(q)) = (&orig.payload, &read.payload) else {
        return false;
    };
    let glued = q.len() > p.len() && q.len() - p.len() <= 2 && q.starts_with(p);
    let rest_same = Facts {
        payload: orig.payload.clone(),
        ..read.clone()
    } == *orig;
    *quirk |= glued && rest_same;
    glued && rest_same
}

/// Compares the tree given to the writer (`orig`) with the one read back
/// from its image (`read`); Err describes the first difference. Ok(true)
/// when C's redirect quirk (see `same_facts`) changed a payload, so the
/// tree read back writes a different image.
pub fn compare_trees(orig: &NodeRef, read: &NodeRef) -> Result<bool, String> {
    let mut quirk = false;
    let mut stack = vec![(orig.clone(), read.clone(), b"/".to_vec())];
    while let Some((o, r, path)) = stack.pop() {
        let o = follow_links(&o).map_err(|e| format!("{}: orig link: {e:?}", show(&path)))?;
        let r = follow_links(&r).map_err(|e| format!("{}: read link: {e:?}", show(&path)))?;
        let (fo, fr) = (facts(&o), facts(&r));
        if !same_facts(&fo, &fr, &mut quirk) {
            return Err(format!("{}: wrote {fo:?}\nread {fr:?}", show(&path)));
        }
        if !o.lock().is_dir() {
            continue;
        }
        let (ko, kr) = (child_names(&o), child_names(&r));
        let no: Vec<&[u8]> = ko.iter().map(|(n, _)| n.as_slice()).collect();
        let nr: Vec<&[u8]> = kr.iter().map(|(n, _)| n.as_slice()).collect();
        if no != nr {
            return Err(format!(
                "{}: wrote entries {:?}\nread {:?}",
                show(&path),
                no.iter().map(|n| show(n)).collect::<Vec<_>>(),
                nr.iter().map(|n| show(n)).collect::<Vec<_>>()
            ));
        }
        for ((name, co), (_, cr)) in ko.into_iter().zip(kr) {
            let mut p = path.clone();
            if p.len() > 1 {
                p.push(b'/');
            }
            p.extend_from_slice(&name);
            // A hardlinked entry is compared by its data only; its target
            // is walked where it sits in the tree.
            if co.lock().link_to().is_some() {
                let (fo, fr) = (
                    facts(&follow_links(&co).unwrap_or(co.clone())),
                    facts(&follow_links(&cr).unwrap_or(cr.clone())),
                );
                if !same_facts(&fo, &fr, &mut quirk) {
                    return Err(format!("{} (link): wrote {fo:?}\nread {fr:?}", show(&p)));
                }
                continue;
            }
            stack.push((co, cr, p));
        }
    }
    Ok(quirk)
}

/// True when some node of the tree below `root` holds a bare-prefix
/// xattr (see `bare_prefix`), which the image may not carry back.
pub fn has_bare_prefix_xattr(root: &NodeRef) -> bool {
    let mut stack = vec![root.clone()];
    while let Some(n) = stack.pop() {
        let d = n.lock();
        if d.xattrs
            .iter()
            .any(|x| bare_prefix(x.key().to_bytes(), x.value()))
        {
            return true;
        }
        stack.extend(d.children().iter().cloned());
    }
    false
}

/// True when some entry below `root` is a hardlink node.
pub fn has_links(root: &NodeRef) -> bool {
    let mut stack = vec![root.clone()];
    while let Some(n) = stack.pop() {
        let d = n.lock();
        if d.link_to().is_some() {
            return true;
        }
        stack.extend(d.children().iter().cloned());
    }
    false
}

/// The whole tree, one line per entry, for crash reports.
pub fn describe(root: &NodeRef) -> String {
    let mut out = String::new();
    let mut stack = vec![(root.clone(), b"/".to_vec())];
    while let Some((n, path)) = stack.pop() {
        let link = n.lock().link_to().is_some();
        let target = follow_links(&n).unwrap_or(n.clone());
        let xattrs: Vec<(String, String)> = target
            .lock()
            .xattrs
            .iter()
            .map(|x| (show(x.key().to_bytes()), show(x.value())))
            .collect();
        out.push_str(&format!(
            "{}{} {:?} xattrs {xattrs:?}\n",
            show(&path),
            if link { " (link)" } else { "" },
            facts(&target).inode
        ));
        for (name, c) in child_names(&n).into_iter().rev() {
            let mut p = path.clone();
            if p.len() > 1 {
                p.push(b'/');
            }
            p.extend_from_slice(&name);
            stack.push((c, p));
        }
    }
    out
}
