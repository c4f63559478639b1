//! `mount.composefs`: mounts a composefs image, run directly or by
//! mount(8) as the helper for `-t composefs`, with C 1.0.8's command line
//! (plain getopt "ht:o:"), option syntax, messages and statuses.

use std::ffi::{CString, OsString};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{Mode, OFlags};

use super::composefs_info::put_err;
use super::ExitCode;
use crate::mount::{
    mount_fd, MountOptions, FLAGS_IDMAP, FLAGS_READONLY, FLAGS_REQUIRE_VERITY, FLAGS_TRY_VERITY,
};
use crate::sys::getopt::Getopt;
use crate::sys::process::strerror;

fn basename(argv0: &[u8]) -> &[u8] {
    match argv0.iter().rposition(|&c| c == b'/') {
        Some(i) => &argv0[i + 1..],
        None => argv0,
    }
}

fn usage(argv0: &[u8]) {
    let bin = basename(argv0);
    put_err(&[
        b"usage: ",
        bin,
        b" [-t type] [-o opt[,opts..]] IMAGE MOUNTPOINT\nExample:\n  ",
        bin,
        b" -o basedir=/composefs/objects exampleimage.cfs /mnt/exampleimage\n",
        b"or, as a mount helper:\n",
        b"  mount -t composefs -o basedir=/composefs/objects exampleimage.cfs /mnt/exampleimage\n",
        b"\n",
        b"Supported options:\n",
        b"  basedir=PATH[:PATH]    Specify location of basedir(s)\n",
        b"  digest=DIGEST          Specify required image digest\n",
        b"  idmap=PATH             Specify path to a user namespace whose ID mapping should be used\n",
        b"  verity                 Require all files to have specified and valid fs-verity digests\n",
        b"  tryverity              If supported by kernel, require fs-verity\n",
        b"  ro                     Read only\n",
        b"  rw                     Read/write\n",
        b"  upperdir               Overlayfs upperdir\n",
        b"  workdir                Overlayfs workdir\n",
    ]);
}

/// `errx(3)` with a format that, as all of C's here, ends in "\n": the
/// message is followed by an empty line.
fn fail(name: &str, msg: &[&[u8]]) -> ExitCode {
    let mut v = name.as_bytes().to_vec();
    v.extend_from_slice(b": ");
    for p in msg {
        v.extend_from_slice(p);
    }
    v.extend_from_slice(b"\n\n");
    put_err(&[&v]);
    1
}

/// One `key[=value]` of a `-o` list.
#[derive(Debug, PartialEq, Eq)]
pub struct MountOpt {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// Splits a `-o` list as C does: entries end at an unescaped ',', the
/// first '=' starts the value, and a backslash keeps the next byte from
/// ending the entry. Backslashes are removed from values only. An empty
/// list is one empty entry.
pub fn split_options(s: &[u8]) -> Vec<MountOpt> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let mut equal = None;
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                b'=' if equal.is_none() => equal = Some(i),
                b'\\' if i + 1 < rest.len() => i += 1,
                b',' => break,
                _ => {}
            }
            i += 1;
        }
        let entry = &rest[..i];
        out.push(match equal {
            Some(e) => MountOpt {
                key: entry[..e].to_vec(),
                value: Some(unescape(&entry[e + 1..])),
            },
            None => MountOpt {
                key: entry.to_vec(),
                value: None,
            },
        });
        if i >= rest.len() {
            return out;
        }
        rest = &rest[i + 1..];
    }
}

fn unescape(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' {
            i += 1;
            if i == v.len() {
                break;
            }
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

/// `basedir=A:B:...`: every part must be non-empty.
pub fn split_basedirs(v: &[u8]) -> Option<Vec<&[u8]>> {
    let parts: Vec<&[u8]> = v.split(|&c| c == b':').collect();
    parts.iter().all(|p| !p.is_empty()).then_some(parts)
}

/// What the `-o` list asks for.
#[derive(Default)]
struct Wanted {
    basedir: Option<Vec<u8>>,
    digest: Option<Vec<u8>>,
    idmap: Option<Vec<u8>>,
    upperdir: Option<Vec<u8>>,
    workdir: Option<Vec<u8>>,
    verity: bool,
    tryverity: bool,
    ro: bool,
}

fn cstring(v: &[u8]) -> CString {
    // Values come from argv strings, which hold no NUL.
    CString::new(v).unwrap_or_default()
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    let name = super::short_name(&args);
    let argv0 = super::argv0(&args);
    let mut options: Option<Vec<u8>> = None;
    let operands = {
        let mut g = Getopt::short_only(args, c"ht:o:");
        for p in g.by_ref() {
            match u8::try_from(p.val).unwrap_or(0) {
                b't' => {
                    let t = p.arg.unwrap_or_default();
                    if t != b"composefs" {
                        return fail(&name, &[b"Unsupported fs type '", &t, b"'"]);
                    }
                }
                b'o' => options = p.arg,
                b'h' => {
                    usage(&argv0);
                    return 0;
                }
                _ => {
                    usage(&argv0);
                    return 1;
                }
            }
        }
        g.operands()
    };
    let Some(image) = operands.first().map(|a| a.as_bytes()) else {
        put_err(&[b"No source path specified\n"]);
        usage(&argv0);
        return 1;
    };
    let Some(mountpoint) = operands.get(1).map(|a| a.as_bytes()) else {
        put_err(&[b"No mount path specified\n"]);
        usage(&argv0);
        return 1;
    };

    let mut w = Wanted::default();
    for o in options.as_deref().map(split_options).unwrap_or_default() {
        let with_value = |slot: &mut Option<Vec<u8>>, what: &[u8]| -> Result<(), ExitCode> {
            match &o.value {
                Some(v) => {
                    *slot = Some(v.clone());
                    Ok(())
                }
                None => Err(fail(&name, &[b"No value specified for ", what, b" option"])),
            }
        };
        let r = match o.key.as_slice() {
            b"basedir" => with_value(&mut w.basedir, b"basedir"),
            b"digest" => with_value(&mut w.digest, b"digest"),
            b"verity" => {
                w.verity = true;
                Ok(())
            }
            b"tryverity" => {
                w.tryverity = true;
                Ok(())
            }
            b"upperdir" => with_value(&mut w.upperdir, b"upperdir"),
            b"workdir" => with_value(&mut w.workdir, b"workdir"),
            b"idmap" => with_value(&mut w.idmap, b"idmap"),
            b"rw" => {
                w.ro = false;
                Ok(())
            }
            b"ro" => {
                w.ro = true;
                Ok(())
            }
            other => Err(fail(&name, &[b"Unsupported option ", other])),
        };
        if let Err(code) = r {
            return code;
        }
    }

    let basedirs: Vec<CString> = match &w.basedir {
        None => Vec::new(),
        Some(b) => match split_basedirs(b) {
            Some(parts) => parts.into_iter().map(cstring).collect(),
            None => {
                return fail(&name, &[b"Value for basedir option has incorrect format"]);
            }
        },
    };
    if basedirs.is_empty() {
        put_err(&[b"No object dirs specified\n"]);
        usage(&argv0);
        return 1;
    }
    if w.upperdir.is_some() != w.workdir.is_some() {
        return fail(
            &name,
            &[b"Both workdir and upperdir must be specified if used"],
        );
    }
    let upperdir = w.upperdir.as_deref().map(cstring);
    let workdir = w.workdir.as_deref().map(cstring);
    let digest = w.digest.as_deref().map(cstring);

    let mut flags = 0;
    if w.verity || digest.is_some() {
        flags |= FLAGS_REQUIRE_VERITY;
    } else if w.tryverity {
        flags |= FLAGS_TRY_VERITY;
    }
    if w.ro {
        flags |= FLAGS_READONLY;
    }

    let userns = match &w.idmap {
        None => None,
        Some(path) => {
            let fl = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY;
            match rustix::fs::open(path.as_slice(), fl, Mode::empty()) {
                Ok(fd) => {
                    flags |= FLAGS_IDMAP;
                    Some(fd)
                }
                Err(e) => {
                    let msg = strerror(e.raw_os_error());
                    return fail(
                        &name,
                        &[b"Failed to open userns ", path, b": ", msg.as_bytes()],
                    );
                }
            }
        }
    };

    let fd = match rustix::fs::open(image, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            let msg = strerror(e.raw_os_error());
            return fail(&name, &[b"Failed to open ", image, b": ", msg.as_bytes()]);
        }
    };

    let opts = MountOptions {
        objdirs: basedirs.iter().map(CString::as_c_str).collect(),
        workdir: workdir.as_deref(),
        upperdir: upperdir.as_deref(),
        expected_digest: digest.as_deref(),
        flags,
        idmap_fd: userns.as_ref().map_or(-1, std::os::fd::AsRawFd::as_raw_fd),
        image_mountdir: None,
    };
    if let Err(e) = mount_fd(fd.as_fd(), &cstring(mountpoint), &opts) {
        let why: Vec<u8> = match e.errno() {
            libc::ENOTTY => b"Image has no fs-verity".to_vec(),
            libc::EILSEQ => b"Image has wrong fs-verity".to_vec(),
            libc::EBADMSG => b"Image was not signed".to_vec(),
            n => strerror(n).into_bytes(),
        };
        return fail(&name, &[b"Failed to mount composefs ", image, b": ", &why]);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(k: &str, v: Option<&str>) -> MountOpt {
        MountOpt {
            key: k.as_bytes().to_vec(),
            value: v.map(|v| v.as_bytes().to_vec()),
        }
    }

    #[test]
    fn options_split_as_in_c() {
        assert_eq!(split_options(b""), vec![opt("", None)]);
        assert_eq!(
            split_options(b"ro,basedir=a\\,b=c:d,,verity,x\\,y"),
            vec![
                opt("ro", None),
                opt("basedir", Some("a,b=c:d")),
                opt("", None),
                opt("verity", None),
                opt("x\\,y", None),
            ]
        );
        // A backslash escapes '=' too, and a trailing one is dropped.
        assert_eq!(
            split_options(b"k\\=v=w\\\\z\\,"),
            vec![opt("k\\=v", Some("w\\z,"))]
        );
        assert_eq!(split_options(b"a=b\\"), vec![opt("a", Some("b"))]);
        assert_eq!(split_options(b"rw,"), vec![opt("rw", None), opt("", None)]);
    }

    #[test]
    fn basedirs_must_not_be_empty() {
        assert_eq!(split_basedirs(b"/a:/b"), Some(vec![&b"/a"[..], &b"/b"[..]]));
        for bad in [&b""[..], b":a", b"a:", b"a::b"] {
            assert_eq!(split_basedirs(bad), None);
        }
    }
}
