use super::*;
use crate::node::{add_child, make_hardlink, Node};
use std::ffi::CString;

fn node(m: u32) -> NodeRef {
    let n = Node::new();
    n.lock().inode.mode = m;
    n
}

fn add(parent: &NodeRef, name: &[u8], child: &NodeRef) {
    add_child(parent, child, &CString::new(name).unwrap()).unwrap();
}

/// A tree with one of everything the printer has to get right. The
/// expected texts below are what C 1.0.8's composefs-info prints for the
/// same tree (checked by writing it as a dumpfile, building the image with
/// C's mkcomposefs and dumping it with C's composefs-info).
fn sample() -> NodeRef {
    let root = node(mode::S_IFDIR | 0o755);
    {
        let mut r = root.lock();
        r.inode.size = 4096;
        r.inode.nlink = 3;
        r.inode.mtime_sec = 1633950376;
        r.set_xattr(c"user.a=b", b"x=y \\\0\n").unwrap();
        r.set_xattr(c"trusted.e", b"").unwrap();
    }
    let dir = node(mode::S_IFDIR | 0o700);
    {
        let mut d = dir.lock();
        d.inode.size = 48;
        d.inode.nlink = 2;
        d.inode.uid = 1000;
        d.inode.gid = 100;
        d.inode.mtime_sec = -5;
        d.inode.mtime_nsec = 7;
    }
    add(&root, b"a dir", &dir);
    let file = node(mode::S_IFREG | 0o644);
    {
        let mut f = file.lock();
        f.inode.nlink = 2;
        f.set_payload(Some(c"ab/cd ef")).unwrap();
        f.inode.size = 123456789012;
        f.set_digest(&[0xab; 32]);
    }
    add(&dir, b"f\tile=", &file);
    let dash = node(mode::S_IFREG | 0o600);
    {
        let mut f = dash.lock();
        f.set_payload(Some(c"-")).unwrap();
        f.set_content(Some(b"-"), 1).unwrap();
    }
    add(&root, b"-", &dash);
    let inline = node(mode::S_IFREG | 0o644);
    inline
        .lock()
        .set_content(Some(b"hi\r\n\x7f\xff"), 6)
        .unwrap();
    add(&root, b"inline", &inline);
    let link = node(mode::S_IFLNK | 0o777);
    link.lock().set_symlink_payload(c"../t a\\rget").unwrap();
    add(&root, b"sym", &link);
    let dev = node(mode::S_IFCHR | 0o644);
    dev.lock().inode.rdev = 0x0501;
    add(&root, b"tty", &dev);
    let hard = Node::new();
    make_hardlink(&hard, &file).unwrap();
    add(&root, b"zlink", &hard);
    root
}

fn text(f: fn(&NodeRef, &mut Vec<u8>) -> io::Result<()>, root: &NodeRef) -> String {
    let mut out = Vec::new();
    f(root, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn dump(root: &NodeRef, out: &mut Vec<u8>) -> io::Result<()> {
    write_dump(root, out)
}

fn listing(root: &NodeRef, out: &mut Vec<u8>) -> io::Result<()> {
    write_listing(root, out)
}

#[test]
fn dump_matches_c() {
    let expected = concat!(
        "/ 4096 40755 3 0 0 0 1633950376.0 - - - user.a\\x3db=x\\x3dy\\x20\\\\\\x00\\n trusted.e=\n",
        "/- 1 100600 1 0 0 0 0.0 \\x2d \\x2d -\n",
        "/a\\x20dir 48 40700 2 1000 100 0 -5.7 - - -\n",
        "/a\\x20dir/f\\tile= 123456789012 100644 3 0 0 0 0.0 ab/cd\\x20ef - ",
        "abababababababababababababababababababababababababababababababab\n",
        "/inline 6 100644 1 0 0 0 0.0 - hi\\r\\n\\x7f\\xff -\n",
        "/sym 11 120777 1 0 0 0 0.0 ../t\\x20a\\\\rget - -\n",
        "/tty 0 20644 1 0 0 1281 0.0 - - -\n",
        "/zlink 123456789012 @100644 3 0 0 0 0.0 /a\\x20dir/f\\tile= - ",
        "abababababababababababababababababababababababababababababababab\n",
    );
    assert_eq!(text(dump, &sample()), expected);
}

#[test]
fn listing_matches_c() {
    let expected = concat!(
        "/-\t@ -\n",
        "/a dir/\t\n",
        "/a dir/f\\tile=\t@ ab/cd\\x20ef\n",
        "/inline\n",
        "/sym\t-> ../t\\x20a\\\\rget\n",
        "/tty\n",
        "/zlink\n",
    );
    assert_eq!(text(listing, &sample()), expected);
}

#[test]
fn escapes_follow_the_c_locale() {
    let all: Vec<u8> = (0..=255u8).collect();
    let mut std_out = Vec::new();
    push_escaped(&mut std_out, &all, Escape::Standard);
    let mut space = Vec::new();
    push_escaped(&mut space, &all, Escape::KeepSpace);
    let mut eq = Vec::new();
    push_escaped(&mut eq, &all, Escape::Equal);
    let s = String::from_utf8(std_out).unwrap();
    assert!(s.starts_with("\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e"));
    assert!(s.contains("\\x1f\\x20!\"#"));
    assert!(s.contains("<=>") && s.contains("[\\\\]") && s.contains("}~\\x7f\\x80"));
    assert!(s.ends_with("\\xfe\\xff"));
    let sp = String::from_utf8(space).unwrap();
    assert!(sp.contains("\\x1f !\"#"));
    let e = String::from_utf8(eq).unwrap();
    assert!(e.contains("<\\x3d>"));
    // Only the whole value "-" is escaped in optional fields.
    let mut o = Vec::new();
    push_optional(&mut o, Some(b"--"));
    push_optional(&mut o, Some(b""));
    push_optional(&mut o, None);
    assert_eq!(o, b"---");
}

#[test]
fn numbers_and_hex() {
    let mut o = Vec::new();
    push_dec(&mut o, u64::MAX);
    o.push(b' ');
    push_signed(&mut o, i64::MIN);
    o.push(b' ');
    push_oct(&mut o, u32::MAX);
    o.push(b' ');
    push_oct(&mut o, 0);
    assert_eq!(
        String::from_utf8(o).unwrap(),
        "18446744073709551615 -9223372036854775808 37777777777 0"
    );
    assert_eq!(hex_string(&[0, 0x0f, 0xa0, 0xff]), "000fa0ff");
}

#[test]
fn deep_trees_do_not_recurse() {
    // Built from the bottom up: adding below a deep node walks up to
    // its root, which would make a top-down build quadratic.
    let mut root = node(mode::S_IFDIR | 0o755);
    for _ in 0..2000 {
        let d = node(mode::S_IFDIR | 0o755);
        add(&d, b"d", &root);
        root = d;
    }
    // A walk that recursed per level would overflow this small stack.
    let lines = std::thread::Builder::new()
        .stack_size(32 * 1024)
        .spawn(move || {
            let mut out = Vec::new();
            write_dump(&root, &mut out).unwrap();
            out.iter().filter(|&&c| c == b'\n').count()
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(lines, 2001);
}

#[test]
fn write_errors_are_returned() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(libc::ENOSPC))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let e = write_dump(&sample(), &mut Full).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
}
