//! Arbitrary bytes as a dumpfile (what `mkcomposefs --from-file` reads, so
//! untrusted text): the parser may refuse them, never crash or hang. The
//! first byte picks C's strict mode. One accepted tree in sixteen (picked
//! by a hash of the input, so the fuzzer cannot steer every input there)
//! also goes to the writer, and an image the writer accepts must load
//! again: the writer and reader have targets of their own, and writing
//! every tree would make this one several times slower.
#![no_main]

use composefs::dumpfile::parse::parse_bytes;
use composefs::erofs::read::load_image;
use composefs::erofs::write::WriteOptions;
use fuzz_support::{break_cycles, write_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, text)) = data.split_first() else {
        return;
    };
    let Ok(root) = parse_bytes(text, mode & 1 == 1) else {
        return;
    };
    let pick = data
        .iter()
        .fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    if pick % 16 != 0 {
        break_cycles(&root);
        return;
    }
    let opts = WriteOptions {
        max_version: u32::from(mode >> 1 & 1),
        ..WriteOptions::default()
    };
    if let Ok((image, _)) = write_image(&root, opts) {
        match load_image(&image, None) {
            Ok(again) => break_cycles(&again),
            Err(e) => panic!("reading our own image of a parsed dump failed: {e:?}"),
        }
    }
    break_cycles(&root);
});
