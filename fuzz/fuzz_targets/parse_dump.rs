//! Arbitrary bytes as a dumpfile (what `mkcomposefs --from-file` reads, so
//! untrusted text): the parser may refuse them, never crash or hang. The
//! first byte picks C's strict mode. One accepted tree in sixteen (picked
//! by a hash of the input, so the fuzzer cannot steer every input there)
//! also goes to the writer, and an image the writer accepts must load
//! again: the writer and reader have targets of their own, and writing
//! every tree would make this one several times slower. Another one in
//! sixteen also goes through the two-thread parser `mkcomposefs` uses by
//! default, which must give the same tree or the same error.
#![no_main]

use composefs::dumpfile::parse::{parse_bytes, parse_threaded};
use composefs::dumpfile::print::write_dump;
use composefs::erofs::read::load_image;
use composefs::erofs::write::WriteOptions;
use fuzz_support::{break_cycles, write_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, text)) = data.split_first() else {
        return;
    };
    let strict = mode & 1 == 1;
    let pick = data.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let parsed = parse_bytes(text, strict);
    if pick % 16 == 1 {
        let two = parse_threaded(text, strict, 2);
        match (&parsed, &two) {
            (Ok(a), Ok(b)) => {
                let (mut da, mut db) = (Vec::new(), Vec::new());
                let ra = write_dump(a, &mut da).map_err(|e| e.kind());
                let rb = write_dump(b, &mut db).map_err(|e| e.kind());
                assert_eq!(ra, rb);
                assert!(da == db, "one and two parser threads built different trees");
                break_cycles(b);
            }
            (a, b) => assert_eq!(a.as_ref().err(), b.as_ref().err()),
        }
    }
    let Ok(root) = parsed else {
        return;
    };
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
