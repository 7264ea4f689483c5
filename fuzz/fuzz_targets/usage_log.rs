//! A usage log's bytes, without its key; the property is
//! `properties::usage_log` (`fuzz/properties.rs`), which `cargo test` replays on the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::usage_log(data));
