//! Tests of the dumpfile parser: every format feature and every message
//! C mkcomposefs 1.0.8 prints for a malformed input (checked against it).

use std::sync::Arc;

use super::parse::{parse, parse_bytes, parse_threaded, DumpError};
use crate::error::Error;
use crate::node::{mode, NodeRef};

const ROOT: &str = "/ 4096 40755 2 0 0 0 0.0 - - -\n";

/// Parses on one thread and on two, which must agree; returns the former.
fn both(dump: &[u8], strict: bool) -> Result<NodeRef, DumpError> {
    let one = parse_bytes(dump, strict);
    let two = parse_threaded(dump, strict, 2);
    match (&one, &two) {
        (Ok(a), Ok(b)) => {
            let dump_of = |r: &NodeRef| {
                let mut v = Vec::new();
                crate::dumpfile::print::write_dump(r, &mut v)
                    .map(|()| v)
                    .ok()
            };
            assert_eq!(dump_of(a), dump_of(b));
        }
        (a, b) => assert_eq!(a.as_ref().err(), b.as_ref().err()),
    }
    one
}

fn ok(dump: &[u8]) -> NodeRef {
    match both(dump, false) {
        Ok(r) => r,
        Err(e) => panic!("{e:?} for {}", String::from_utf8_lossy(dump)),
    }
}

fn err_strict(dump: &[u8], strict: bool) -> String {
    match both(dump, strict) {
        Err(DumpError::Malformed(m)) => String::from_utf8_lossy(&m).into_owned(),
        other => panic!("expected a malformed input, got {other:?}"),
    }
}

fn err(dump: &[u8]) -> String {
    err_strict(dump, false)
}

/// The root plus `lines`.
fn with_root(lines: &str) -> Vec<u8> {
    format!("{ROOT}{lines}").into_bytes()
}

fn child(root: &NodeRef, path: &str) -> NodeRef {
    let mut cur = root.clone();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        let next = cur.lock().lookup_child(c.as_bytes()).expect(path);
        cur = next;
    }
    cur
}

#[test]
fn fields_of_a_regular_file() {
    let r = ok(&with_root(
        "/f 5 100644 3 1000 1001 0 1700000000.123456789 ab/cdef - \
         0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef user.a=1 trusted.b=\n",
    ));
    let f = child(&r, "/f");
    let d = f.lock();
    assert_eq!(d.inode.mode, mode::S_IFREG | 0o644);
    assert_eq!(d.inode.size, 5);
    assert_eq!(d.inode.nlink, 3);
    assert_eq!((d.inode.uid, d.inode.gid), (1000, 1001));
    assert_eq!(d.inode.mtime_sec, 1_700_000_000);
    assert_eq!(d.inode.mtime_nsec, 123_456_789);
    assert_eq!(d.payload().unwrap().to_bytes(), b"ab/cdef");
    assert!(d.content().is_none());
    assert_eq!(d.digest().unwrap()[..2], [0x01, 0x23]);
    let keys: Vec<_> = d
        .xattrs
        .iter()
        .map(|x| x.key().to_bytes().to_vec())
        .collect();
    assert_eq!(keys, [b"user.a".to_vec(), b"trusted.b".to_vec()]);
    assert_eq!(d.xattrs.get(b"trusted.b").unwrap().value(), b"");
}

#[test]
fn escapes_in_every_field() {
    let r = ok(&with_root(
        "/a\\x20b 3 100644 1 0 0 0 0.0 - a\\n\\x00 - user.k\\x3dx=v\\x3dw\\\\ \\x75ser.t=\\t\n",
    ));
    let f = child(&r, "/a b");
    let d = f.lock();
    assert_eq!(d.content(), Some(&b"a\n\0"[..]));
    assert_eq!(d.xattrs.get(b"user.k=x").unwrap().value(), b"v=w\\");
    assert_eq!(d.xattrs.get(b"user.t").unwrap().value(), b"\t");
}

#[test]
fn nul_ends_c_strings() {
    // Paths, payloads and keys are C strings: an escaped NUL ends them.
    let r = ok(&with_root(
        "/name\\x00ignored 0 100644 1 0 0 0 0.0 pay\\x00load - - user.k\\x00z=v\\x00w\n",
    ));
    let f = child(&r, "/name");
    let d = f.lock();
    assert_eq!(d.payload().unwrap().to_bytes(), b"pay");
    assert_eq!(d.xattrs.get(b"user.k").unwrap().value(), b"v\0w");
}

#[test]
fn dash_means_absent_and_escaped_dash_does_not() {
    let r = ok(&with_root(
        "/f 0 100644 1 0 0 0 0.0 \\x2d - -\n/g 0 100644 1 0 0 0 0.0 - - -\n",
    ));
    assert_eq!(child(&r, "/f").lock().payload().unwrap().to_bytes(), b"-");
    assert!(child(&r, "/g").lock().payload().is_none());
}

#[test]
fn inline_content_up_to_5000_bytes() {
    let body = "x".repeat(5000);
    let r = ok(&with_root(&format!(
        "/f 5000 100644 1 0 0 0 0.0 - {body} -\n"
    )));
    assert_eq!(child(&r, "/f").lock().content().unwrap().len(), 5000);
    let body = "x".repeat(5001);
    assert_eq!(
        err(&with_root(&format!(
            "/f 5001 100644 1 0 0 0 0.0 - {body} -\n"
        ))),
        "Inline content size 5001 exceeds maximum 5000"
    );
    assert_eq!(
        err(&with_root("/f 3 100644 1 0 0 0 0.0 - ab -\n")),
        "Invalid content size 2, must match size 3"
    );
    assert_eq!(
        err(&with_root(
            "/f 18446744073709551615 100644 1 0 0 0 0.0 - ab -\n"
        )),
        "Invalid content size 2, must match size -1"
    );
}

#[test]
fn symlinks_long_and_invalid() {
    let target = "t".repeat(4095);
    let r = ok(&with_root(&format!(
        "/l 1 120777 1 0 0 0 0.0 {target} - -\n"
    )));
    let l = child(&r, "/l");
    // The size comes from the target, not the SIZE field.
    assert_eq!(l.lock().inode.size, 4095);
    let target = "t".repeat(4096);
    assert_eq!(
        err(&with_root(&format!(
            "/l 1 120777 1 0 0 0 0.0 {target} - -\n"
        ))),
        "Invalid symlink"
    );
    assert_eq!(
        err(&with_root("/l 0 120777 1 0 0 0 0.0 - - -\n")),
        "Invalid symlink"
    );
    assert_eq!(
        err(&with_root("/l 0 120777 1 0 0 0 0.0 \\x00 - -\n")),
        "Invalid symlink"
    );
    // Content on a symlink is only checked against SIZE, then dropped.
    let r = ok(&with_root("/l 2 120777 1 0 0 0 0.0 abc xy -\n"));
    let l = child(&r, "/l");
    assert!(l.lock().content().is_none());
    assert_eq!(l.lock().inode.size, 3);
}

#[test]
fn payloads_ostree_style_and_too_long() {
    let p = "14/8445704d9667d50357750a3b7ff437531f21480905b696d97b7e7833a01a7b.file";
    let r = ok(&with_root(&format!(
        "/f 1742648 100755 1 0 0 0 0.0 {p} - -\n"
    )));
    assert_eq!(
        child(&r, "/f").lock().payload().unwrap().to_bytes(),
        p.as_bytes()
    );
    let long = "p".repeat(4096);
    assert_eq!(
        err(&with_root(&format!("/f 1 100644 1 0 0 0 0.0 {long} - -\n"))),
        "Invalid payload"
    );
    let ok_len = "p".repeat(4095);
    ok(&with_root(&format!(
        "/f 1 100644 1 0 0 0 0.0 {ok_len} - -\n"
    )));
}

#[test]
fn devices_and_whiteouts() {
    let r = ok(&with_root(
        "/c 0 20644 1 0 0 4294967297 0.0 - - -\n/wh 0 20000 1 0 0 0 0.0 - - -\n/p 0 10644 1 0 0 0 0.0 - - -\n\
         /f 0 100644 1 0 0 5 0.0 - - -\n",
    ));
    // rdev keeps 32 bits, and only on devices.
    assert_eq!(child(&r, "/c").lock().inode.rdev, 1);
    assert_eq!(child(&r, "/wh").lock().inode.mode, mode::S_IFCHR);
    assert_eq!(child(&r, "/f").lock().inode.rdev, 0);
}

#[test]
fn hardlinks_resolved_at_the_end() {
    let r = ok(&with_root(
        "/a 0 @100644 1 0 0 0 0.0 /b - -\n/b 7 100644 4 0 0 0 0.0 x/y - -\n\
         /c 99 @100644 x y z w junk //b - -\n",
    ));
    let a = child(&r, "/a");
    let b = child(&r, "/b");
    assert!(Arc::ptr_eq(a.lock().link_to().unwrap(), &b));
    assert!(Arc::ptr_eq(child(&r, "/c").lock().link_to().unwrap(), &b));
    // The target keeps the nlink the dump gave it.
    assert_eq!(b.lock().inode.nlink, 4);
}

#[test]
fn hardlink_errors_last_line_first() {
    assert_eq!(
        err(&with_root(
            "/a 0 @100644 1 0 0 0 0.0 - - -\n/b 0 @100644 1 0 0 0 0.0 /zz - -\n"
        )),
        "No target at /zz for hardlink"
    );
    assert_eq!(
        err(&with_root(
            "/a 0 @100644 1 0 0 0 0.0 /zz - -\n/b 0 @100644 1 0 0 0 0.0 - - -\n"
        )),
        "No target path for the hardlink"
    );
    assert_eq!(
        err(&with_root("/a 0 @100644 1 0 0 0 0.0 /a - -\n")),
        "Self-referential hardlink /a"
    );
    assert_eq!(
        err(&with_root("/d 0 @40755 1 0 0 0 0.0 / - -\n")),
        "Directories can't be hardlinked"
    );
    assert_eq!(
        err(&with_root("/a 0 @100644 1 0 0 0 0.0 bad\\q - -\n")),
        "Unsupported escape type q"
    );
    // A cycle parses; the write refuses it (ELOOP), as in C.
    let r = ok(&with_root(
        "/a 0 @100644 1 0 0 0 0.0 /b - -\n/b 0 @100644 1 0 0 0 0.0 /a - -\n",
    ));
    assert_eq!(child(&r, "/a").lock().link_error(), Some(Error::Loop));
}

#[test]
fn tree_errors() {
    assert_eq!(
        err(b"/f 0 100644 1 0 0 0 0.0 - - -\n"),
        "Root node not present"
    );
    assert_eq!(
        err(b"/ 0 100644 1 0 0 0 0.0 - - -\n"),
        "Root must be a directory"
    );
    assert_eq!(err(&with_root(ROOT)), "Can't have multiple roots");
    assert_eq!(
        err(&with_root("/x/y 0 100644 1 0 0 0 0.0 - - -\n")),
        "Parent directory missing for /x/y"
    );
    assert_eq!(
        err(&with_root(
            "/f 0 100644 1 0 0 0 0.0 - - -\n/f/y 0 100644 1 0 0 0 0.0 - - -\n"
        )),
        "Parent must be a directory for /f/y"
    );
    assert_eq!(
        err(&with_root("/. 0 40755 1 0 0 0 0.0 - - -\n")),
        "Invalid . or .. in path: /."
    );
    assert_eq!(
        err(&with_root("/.. 0 40755 1 0 0 0 0.0 - - -\n")),
        "Invalid . or .. in path: /.."
    );
    assert_eq!(
        err(&with_root("// 0 40755 1 0 0 0 0.0 - - -\n")),
        "Can't add child"
    );
    let long = "n".repeat(256);
    assert_eq!(
        err(&with_root(&format!("/{long} 0 40755 1 0 0 0 0.0 - - -\n"))),
        "Can't add child"
    );
    assert_eq!(
        err(&with_root(
            "/f 0 100644 1 0 0 0 0.0 - - -\n/f 0 100644 1 0 0 0 0.0 - - -\n"
        )),
        "Can't add child"
    );
}

#[test]
fn paths_without_leading_slash_and_with_repeated_slashes() {
    let r = ok(&with_root(
        "d 0 40755 1 0 0 0 0.0 - - -\n//d//f 0 100644 1 0 0 0 0.0 - - -\n",
    ));
    assert!(child(&r, "/d/f").lock().inode.mode == mode::S_IFREG | 0o644);
    assert_eq!(
        err(&with_root("/./f 0 100644 1 0 0 0 0.0 - - -\n")),
        "Parent directory missing for /./f"
    );
}

#[test]
fn line_errors_in_c_order() {
    assert_eq!(
        err(b"/ 4\x0096 40755"),
        "Invalid embedded NUL character at position 3"
    );
    assert_eq!(err(b"\n"), "Invalid empty path");
    assert_eq!(err(&with_root("\n")), "Invalid empty path");
    assert_eq!(err(b"\\x00 0 40755"), "Invalid empty path");
    assert_eq!(err(b"a\\ 0 40755"), "No character after escape");
    assert_eq!(
        err(&with_root("/f 0 170644 1 0 0 0 0.0 - - -\n")),
        "Invalid mode 170644"
    );
    assert_eq!(
        err(&with_root("/f 0 644 1 0 0 0 0.0 - - -\n")),
        "Invalid mode 644"
    );
    assert_eq!(
        err(&with_root("/f 0 0 1 0 0 0 0.0 - - -\n")),
        "Invalid mode 0"
    );
    assert_eq!(
        err(&with_root("/f 0 9 1 0 0 0 0.0 - - -\n")),
        "Invalid integer 9"
    );
    assert_eq!(err(&with_root("/f 0")), "Invalid integer ");
    // The tree is checked before the other fields.
    assert_eq!(
        err(&with_root("/x/f x 100644 1 0 0 0 0.0 - - -\n")),
        "Parent directory missing for /x/f"
    );
    for (line, m) in [
        ("/f x 100644 1 0 0 0 0.0 - - -", "Invalid integer x"),
        ("/f 0 100644 1a 0 0 0 0.0 - - -", "Invalid integer 1a"),
        ("/f 0 100644 1 u 0 0 0.0 - - -", "Invalid integer u"),
        ("/f 0 100644 1 0 g 0 0.0 - - -", "Invalid integer g"),
        ("/f 0 100644 1 5 g 0 0.0 - - -", "Invalid integer g"),
        ("/f 0 100644 1 5 0 r 0.0 - - -", "Invalid integer r"),
        ("/f 0 100644 1 0 0 0 1 - - -", "Invalid integer "),
        ("/f 0 100644 1 0 0 0 .5 - - -", "Invalid integer "),
        ("/f 0 100644 1 0 0 0 a.b - - -", "Invalid integer a"),
        ("/f 0 100644 1 0 0 0 1.b - - -", "Invalid integer b"),
        (
            "/f 0 100644 1 0 0 0 0.0 \\q \\r -",
            "Unsupported escape type q",
        ),
        (
            "/f 0 100644 1 0 0 0 0.0 - \\xzz -",
            "Invalid hex characters after hex escape",
        ),
        (
            "/f 1 100644 1 0 0 0 0.0 - - \\x",
            "No hex characters after hex escape",
        ),
        ("/f 1 100644 1 0 0 0 0.0 - - ab", "Invalid digest ab"),
        ("/f 1 100644 1 0 0 0 0.0 - -  ", "Invalid digest "),
        ("/f 1 100644 1 0 0 0 0.0 x -", "Invalid digest "),
        ("/f 0 100644 1 0 0 0 0.0 - - - user.x", "Missing = in xattr"),
        (
            "/f 0 100644 1 0 0 0 0.0 - - -  user.x=1",
            "Missing = in xattr",
        ),
        ("/f 0 100644 1 0 0 0 0.0 - - - =v", "Can't set xattr"),
        ("/f 0 100644 1 0 0 0 0.0 - - - \\x00=v", "Can't set xattr"),
        (
            "/f 0 100644 1 0 0 0 0.0 - - - user.\\q=v",
            "Unsupported escape type q",
        ),
        (
            "/f 0 100644 1 0 0 0 0.0 - - - user.a=\\",
            "No character after escape",
        ),
    ] {
        assert_eq!(err(&with_root(&format!("{line}\n"))), m, "{line}");
    }
    let key = "k".repeat(256);
    assert_eq!(
        err(&with_root(&format!(
            "/f 0 100644 1 0 0 0 0.0 - - - {key}=v\n"
        ))),
        "Can't set xattr"
    );
    let big: String = (0..9)
        .map(|j| format!(" user.big{j}={}", "v".repeat(4000)))
        .collect();
    assert_eq!(
        err(&with_root(&format!("/f 0 100644 1 0 0 0 0.0 - - -{big}\n"))),
        "Can't set xattr"
    );
    let many: String = (0..1200)
        .map(|j| format!(" user.x{j}={}", "w".repeat(60)))
        .collect();
    assert_eq!(
        err(&with_root(&format!(
            "/f 0 100644 1 0 0 0 0.0 - - -{many}\n"
        ))),
        "Too many xattrs"
    );
}

#[test]
fn broken_digests_where_the_writer_ignores_them() {
    // Lines that end early have an empty digest field: accepted where no
    // digest is written (C's upstream assets have such lines).
    let r = ok(&with_root(
        "/c 0 20777 1 0 0 0 0.0 target\n/e 0 100644 1 0 0 0 0.0 - - ab\n/i 1 100644 1 0 0 0 0.0 - x zz\n",
    ));
    for p in ["/c", "/e", "/i"] {
        assert!(child(&r, p).lock().digest().is_none());
    }
}

#[test]
fn trailing_spaces_and_missing_newline() {
    let r = ok(b"/ 4096 40755 2 0 0 0 0.0 - - - \n/f 0 100644 1 0 0 0 0.0 - - - user.a=b ");
    assert!(child(&r, "/f").lock().xattrs.get(b"user.a").is_some());
    assert_eq!(
        err_strict(&with_root("/f 0 100644 1 0 0 0 0.0 - - -"), true),
        "Missing trailing newline"
    );
}

#[test]
fn strict_mode_checks() {
    let s = |l: &str| err_strict(&with_root(&format!("{l}\n")), true);
    assert_eq!(
        s("/f 0 100644 1 0 0 5 0.0 - - -"),
        "Non-zero devnum on non-device"
    );
    assert_eq!(
        s("/l 2 120777 1 0 0 0 0.0 abc - -"),
        "Invalid symlink size 3, must match size 2"
    );
    assert_eq!(
        s("/l 3 120777 1 0 0 0 0.0 abc xyz -"),
        "Symlink cannot have content"
    );
    ok(&with_root("/f 0 100644 1 0 0 5 0.0 - - -\n"));
}

#[test]
fn empty_and_unreadable_input() {
    assert_eq!(parse_bytes(b"", false).unwrap_err(), DumpError::Empty);
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(libc::EIO))
        }
    }
    assert_eq!(
        parse(Failing, false).unwrap_err(),
        DumpError::Read(Error::Os(libc::EIO))
    );
}

#[test]
fn lines_longer_than_the_read_buffer() {
    // Lines are joined across reads of any size.
    struct Trickle<'a>(&'a [u8]);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let big: String = (0..30)
        .map(|j| format!(" user.x{j}={}", "w".repeat(900)))
        .collect();
    let text = with_root(&format!(
        "/f 0 100644 1 0 0 0 0.0 - - -{big}\n/g 0 100644 1 0 0 0 0.0 - - -"
    ));
    let r = parse(Trickle(&text), false).unwrap();
    assert!(child(&r, "/g").lock().inode.mode != 0);
}

#[test]
fn many_siblings_and_nesting() {
    let mut s = String::from(ROOT);
    for d in 0..20 {
        s.push_str(&format!("/d{d} 0 40755 2 0 0 0 0.0 - - -\n"));
        for f in 0..50 {
            s.push_str(&format!("/d{d}/f{f} 0 100644 1 0 0 0 0.0 - - -\n"));
        }
    }
    // Back to an earlier directory after others.
    s.push_str("/d3/late 0 100644 1 0 0 0 0.0 - - -\n");
    let r = ok(s.as_bytes());
    assert_eq!(r.lock().children().len(), 20);
    assert_eq!(child(&r, "/d3").lock().children().len(), 51);
}

#[test]
fn first_error_wins_across_batches() {
    // Enough lines for many hand-overs between the two threads; a tree
    // error and a line error, either first.
    let file = |i: usize| format!("/f{i} 0 100644 1 0 0 0 0.0 - - -\n");
    let lines = |bad_tree: usize, bad_line: usize| {
        let mut s = String::from(ROOT);
        for i in 0..3000 {
            if i == bad_tree {
                s.push_str("/missing/x 0 100644 1 0 0 0 0.0 - - -\n");
            } else if i == bad_line {
                s.push_str("/y 0 100644 1 0 0 0 0.x - - -\n");
            } else {
                s.push_str(&file(i));
            }
        }
        s.into_bytes()
    };
    assert_eq!(
        err(&lines(1500, 2900)),
        "Parent directory missing for /missing/x"
    );
    assert_eq!(err(&lines(2900, 700)), "Invalid integer x");
    assert_eq!(err(&lines(5000, 2999)), "Invalid integer x");
    let mut tail = lines(5000, 5000);
    tail.extend_from_slice(b"no newline");
    assert_eq!(err_strict(&tail, true), "Missing trailing newline");
    let r = ok(&lines(5000, 5000));
    assert_eq!(r.lock().children().len(), 3000);
}
