//! Arbitrary trees through the writer and back through the reader: a tree
//! the writer accepts must read back without error and hold the same data
//! (`compare_trees`), and what was read must write again to the same image.
//!
//! The same image is expected straight away unless the tree has hardlinks
//! (the reader makes the first entry it meets the owner, which can change
//! the inode order) or bare-prefix xattrs (dropped on reading, as by C);
//! then only the second generation must reproduce itself (unless it still
//! has a bare-prefix xattr: a shared one survives where an inline one may not).
//! A generation whose payloads C's redirect quirk lengthened (the reader
//! matches C) is not expected to reproduce the image it was read from.
#![no_main]

use composefs::erofs::read::load_image;
use composefs::erofs::write::WriteOptions;
use composefs::node::NodeRef;
use fuzz_support::{
    break_cycles, build_tree, compare_trees, describe, has_bare_prefix_xattr, has_links,
    write_image,
};
use libfuzzer_sys::fuzz_target;

/// Writes `tree`, reads the image back and checks it against `tree`; the
/// flag says C's redirect quirk changed a payload on the way.
fn through_image(tree: &NodeRef, opts: WriteOptions) -> Option<(Vec<u8>, [u8; 32], NodeRef, bool)> {
    let (image, digest) = write_image(tree, opts).ok()?;
    if let Some(dir) = std::env::var_os("CFS_FUZZ_KEEP_IMAGES") {
        // Reproducing a crash: keep each generation's image for inspection.
        let n = std::fs::read_dir(&dir).map_or(0, Iterator::count);
        let _ = std::fs::write(
            std::path::Path::new(&dir).join(format!("gen{n}.img")),
            &image,
        );
    }
    let read = match load_image(&image, None) {
        Ok(r) => r,
        Err(e) => panic!("reading our own image failed: {e:?}"),
    };
    match compare_trees(tree, &read) {
        Ok(quirk) => Some((image, digest, read, quirk)),
        Err(diff) => panic!("tree changed through the image:\n{diff}"),
    }
}

fn same_image(a: &(Vec<u8>, [u8; 32]), b: &(Vec<u8>, [u8; 32]), what: &str, trees: [&NodeRef; 2]) {
    if a.0 != b.0 {
        let at = a.0.iter().zip(&b.0).position(|(x, y)| x != y);
        panic!(
            "{what}: images differ (lengths {} and {}, first difference at {at:?})\n{}\n{}",
            a.0.len(),
            b.0.len(),
            describe(trees[0]),
            describe(trees[1])
        );
    }
    assert_eq!(a.1, b.1, "{what}: digests differ");
}

fuzz_target!(|data: &[u8]| {
    let (root, opts) = build_tree(data);
    let mut trees = vec![root.clone()];
    check(&root, opts, &mut trees);
    for t in &trees {
        break_cycles(t);
    }
});

/// All checks on one tree; every tree read on the way goes to `trees`.
fn check(root: &NodeRef, opts: WriteOptions, trees: &mut Vec<NodeRef>) {
    let root = root.clone();
    let Some((image1, digest1, read1, quirk1)) = through_image(&root, opts) else {
        return;
    };
    trees.push(read1.clone());
    let Some((image2, digest2, read2, quirk2)) = through_image(&read1, opts) else {
        panic!("writing the tree read from our image failed");
    };
    trees.push(read2.clone());
    if !has_links(&root) && !has_bare_prefix_xattr(&root) && !quirk1 {
        same_image(
            &(image1, digest1),
            &(image2.clone(), digest2),
            "first rewrite",
            [&root, &read1],
        );
    }
    let Some((image3, digest3, read3, _)) = through_image(&read2, opts) else {
        panic!("writing the tree read from our image failed");
    };
    trees.push(read3);
    if has_bare_prefix_xattr(&read1) || quirk2 {
        return;
    }
    same_image(
        &(image2, digest2),
        &(image3, digest3),
        "second rewrite",
        [&read1, &read2],
    );
}
