//! File names in a backups folder: which vault each one is a copy of; the property is
//! `properties::backup_file` (`fuzz/properties.rs`), which `cargo test` replays on the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::backup_file(data));
