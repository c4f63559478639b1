//! Checks that the hand-written C headers in include/libcomposefs/ agree
//! with the Rust side of the ABI. cbindgen (settings in cbindgen.toml)
//! renders our `extern "C"` items as C; a C compiler then sees both
//! declarations in one translation unit, so a mismatched prototype or
//! struct is a compile error rather than a silent ABI break.

use std::collections::BTreeSet;
use std::ffi::c_char;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ffi::image::{lcfs_read_options_s, lcfs_write_options_s};
use crate::ffi::mount::lcfs_mount_options_s;

const HEADERS: &str = "#include <libcomposefs/lcfs-writer.h>\n\
                       #include <libcomposefs/lcfs-mount.h>\n\
                       #include <libcomposefs/lcfs-erofs.h>\n";

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("lcfs-abi-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&p).expect("create scratch dir");
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs cbindgen over this crate with cbindgen.toml, adjusted by `tweak`.
fn generate(tweak: impl FnOnce(&mut cbindgen::Config)) -> String {
    let mut cfg =
        cbindgen::Config::from_file(crate_dir().join("cbindgen.toml")).expect("read cbindgen.toml");
    tweak(&mut cfg);
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir())
        .with_config(cfg)
        .generate()
        .expect("cbindgen failed");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen output is UTF-8")
}

/// Compiles `source` (syntax only) against the shipped headers; returns the
/// compiler's diagnostics on failure.
fn compile(dir: &Path, source: &str) -> Result<(), String> {
    let file = dir.join("check.c");
    std::fs::write(&file, source).expect("write C source");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(cc)
        // C's `uint8_t digest[32]` and Rust's pointer are the same type; only
        // the array-vs-pointer spelling would warn.
        .args(["-std=gnu11", "-Wall", "-Werror", "-Wno-array-parameter"])
        .args(["-fsyntax-only", "-I"])
        .arg(crate_dir().join("include"))
        .arg(&file)
        .output()
        .expect("run the C compiler");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Names of the functions declared in generated C text.
fn declared_functions(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices("lcfs_") {
        let rest = &text[i..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if rest[len..].starts_with('(') {
            names.insert(rest[..len].to_string());
        }
    }
    names
}

fn exported_symbols() -> BTreeSet<String> {
    let text = std::fs::read_to_string(crate_dir().join("symbols.txt")).expect("read symbols.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn prototypes_match_shipped_headers() {
    let generated = generate(|_| {});
    let seen = declared_functions(&generated);
    assert_eq!(seen, exported_symbols(), "Rust extern fns vs symbols.txt");
    assert_eq!(seen.len(), 62, "functions visible to cbindgen");
    let dir = Scratch::new("protos");
    std::fs::write(dir.0.join("rust-protos.h"), &generated).expect("write header");
    let source = format!("{HEADERS}#include \"rust-protos.h\"\n");
    if let Err(diag) = compile(&dir.0, &source) {
        panic!("Rust prototypes conflict with include/libcomposefs:\n{diag}\n{generated}");
    }
}

/// Size, alignment and field offsets of a Rust struct, as C assertions.
struct Layout {
    c_name: &'static str,
    size: usize,
    align: usize,
    fields: Vec<(&'static str, usize)>,
}

macro_rules! layout {
    ($ty:ident, [$($field:ident),* $(,)?]) => {
        Layout {
            c_name: stringify!($ty),
            size: size_of::<$ty>(),
            align: align_of::<$ty>(),
            fields: vec![$((stringify!($field), offset_of!($ty, $field))),*],
        }
    };
}

fn layout_asserts(l: &Layout, twin: Option<&str>) -> String {
    let c = l.c_name;
    let mut s = format!(
        "_Static_assert(sizeof(struct {c}) == {}, \"sizeof {c}\");\n\
         _Static_assert(_Alignof(struct {c}) == {}, \"alignof {c}\");\n",
        l.size, l.align
    );
    for (f, off) in &l.fields {
        s += &format!("_Static_assert(offsetof(struct {c}, {f}) == {off}, \"{c}.{f} offset\");\n");
        if let Some(t) = twin {
            s += &format!(
                "_Static_assert(__builtin_types_compatible_p(__typeof__(((struct {c} *)0)->{f}), \
                 __typeof__(((struct {t} *)0)->{f})), \"{c}.{f} type\");\n"
            );
        }
    }
    s
}

#[test]
fn option_structs_match_shipped_headers() {
    let layouts = [
        layout!(
            lcfs_write_options_s,
            [
                format,
                version,
                flags,
                digest_out,
                file,
                file_write_cb,
                max_version,
                reserved,
                reserved2
            ]
        ),
        layout!(lcfs_read_options_s, [toplevel_entries, reserved, reserved2]),
        layout!(
            lcfs_mount_options_s,
            [
                objdirs,
                n_objdirs,
                workdir,
                upperdir,
                expected_fsverity_digest,
                flags,
                idmap_fd,
                image_mountdir,
                reserved,
                reserved2,
            ]
        ),
    ];
    // Pass 2: the Rust structs themselves, renamed rs_* so that they can sit
    // next to the shipped definitions and be compared field by field.
    let generated = generate(|cfg| {
        cfg.export.item_types = vec![cbindgen::ItemType::Structs, cbindgen::ItemType::Typedefs];
        cfg.export.exclude = vec!["lcfs_node_s".into()];
        for l in &layouts {
            cfg.export.include.push(l.c_name.into());
            cfg.export
                .rename
                .insert(l.c_name.into(), format!("rs_{}", l.c_name));
        }
    });
    let mut source = format!("{HEADERS}#include <stddef.h>\n#include \"rust-structs.h\"\n");
    for l in &layouts {
        source += &layout_asserts(l, Some(&format!("rs_{}", l.c_name)));
        assert!(
            generated.contains(&format!("struct rs_{} {{", l.c_name)),
            "cbindgen did not emit {}",
            l.c_name
        );
    }
    let dir = Scratch::new("structs");
    std::fs::write(dir.0.join("rust-structs.h"), &generated).expect("write header");
    if let Err(diag) = compile(&dir.0, &source) {
        panic!("struct layouts differ:\n{diag}\n{generated}");
    }
    // Pointer-sized fields keep the numbers honest on 64-bit hosts.
    if size_of::<*const c_char>() == 8 {
        assert_eq!(layouts[0].size, 88);
        assert_eq!(layouts[1].size, 56);
        assert_eq!(layouts[2].size, 104);
    }
}

#[test]
fn erofs_header_matches_rust_twin() {
    use crate::erofs::format::LcfsErofsHeader as H;
    // Packed: cbindgen cannot render it faithfully, so its Rust layout is
    // asserted against the C struct directly, plus the on-disk numbers.
    let l = Layout {
        c_name: "lcfs_erofs_header_s",
        size: size_of::<H>(),
        align: align_of::<H>(),
        fields: vec![
            ("magic", offset_of!(H, magic)),
            ("version", offset_of!(H, version)),
            ("flags", offset_of!(H, flags)),
            ("composefs_version", offset_of!(H, composefs_version)),
            ("unused", offset_of!(H, unused)),
        ],
    };
    assert_eq!((l.size, l.align), (32, 1));
    let mut source = format!("{HEADERS}#include <stddef.h>\n");
    source += &layout_asserts(&l, None);
    source += &format!(
        "_Static_assert(__builtin_types_compatible_p(\
         __typeof__(((struct lcfs_erofs_header_s *)0)->unused), uint32_t[4]), \"unused\");\n\
         _Static_assert(LCFS_EROFS_MAGIC == {:#x}U && LCFS_EROFS_VERSION == {}, \"ids\");\n\
         _Static_assert(LCFS_EROFS_FLAGS_HAS_ACL == {}, \"acl flag\");\n",
        crate::erofs::format::LCFS_EROFS_MAGIC,
        crate::erofs::format::LCFS_EROFS_VERSION,
        crate::erofs::format::LCFS_EROFS_FLAGS_HAS_ACL,
    );
    let dir = Scratch::new("erofs");
    if let Err(diag) = compile(&dir.0, &source) {
        panic!("lcfs_erofs_header_s layout:\n{diag}");
    }
}

#[test]
fn compile_errors_are_detected() {
    // Guards the checks above against a compiler setup that accepts
    // anything: a deliberately conflicting prototype must be rejected.
    let dir = Scratch::new("negative");
    let bad = format!("{HEADERS}uint64_t lcfs_node_get_mode(struct lcfs_node_s *node);\n");
    assert!(compile(&dir.0, &bad).is_err());
    assert!(compile(&dir.0, HEADERS).is_ok());
}

/// The `pkg-config` crate (what Rust build scripts use) must find an
/// installed libcomposefs. tests-c/check-install.sh installs into a staging
/// root, points pkg-config at it and names the expected directories in
/// LCFS_PKG_EXPECT_LIBDIR and LCFS_PKG_EXPECT_INCLUDEDIR; that script also
/// confirms this test printed its success line. Plain `cargo test` has no
/// installation to look at, says so, and checks nothing.
#[test]
fn pkg_config_crate_finds_installed_library() {
    let (Ok(libdir), Ok(includedir)) = (
        std::env::var("LCFS_PKG_EXPECT_LIBDIR"),
        std::env::var("LCFS_PKG_EXPECT_INCLUDEDIR"),
    ) else {
        eprintln!("no staged installation (run by tests-c/check-install.sh)");
        return;
    };
    let pc_in = std::fs::read_to_string(crate_dir().join("composefs.pc.in")).expect("pc.in");
    let version = pc_in
        .lines()
        .find_map(|l| l.strip_prefix("Version:"))
        .map(str::trim)
        .expect("Version line in composefs.pc.in");
    let lib = pkg_config::Config::new()
        .exactly_version(version)
        .cargo_metadata(false)
        .env_metadata(false)
        .probe("composefs")
        .expect("pkg-config crate finds composefs");
    assert_eq!(lib.version, version);
    assert_eq!(lib.libs, ["composefs"]);
    assert_eq!(lib.link_paths, [PathBuf::from(&libdir)]);
    assert_eq!(lib.include_paths, [PathBuf::from(&includedir)]);
    println!("pkg-config crate: composefs {version}, -L{libdir} -I{includedir}");
}
