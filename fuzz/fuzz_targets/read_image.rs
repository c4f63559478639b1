//! Arbitrary bytes through the image reader (what lcfs_load_node_from_image
//! runs): it may refuse them, never crash. A tree it accepts is written out
//! again, and what the writer accepts must read back.
#![no_main]

use composefs::erofs::read::{header_version, load_image};
use composefs::erofs::write::WriteOptions;
use fuzz_support::{break_cycles, write_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = header_version(data);
    let Ok(root) = load_image(data, None) else {
        return;
    };
    // The toplevel filter takes a different path through the root.
    if let Ok(part) = load_image(data, Some(&[b"a".as_slice(), b"00".as_slice()])) {
        break_cycles(&part);
    }
    let opts = WriteOptions {
        max_version: 1,
        ..WriteOptions::default()
    };
    if let Ok((image, _)) = write_image(&root, opts) {
        match load_image(&image, None) {
            Ok(again) => break_cycles(&again),
            Err(e) => panic!("reading our own image of a loaded tree failed: {e:?}"),
        }
    }
    break_cycles(&root);
});
