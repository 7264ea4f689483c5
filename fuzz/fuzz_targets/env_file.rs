//! An env file as `run --env-file` reads it; the property is
//! `properties::env_file` (`fuzz/properties.rs`), which `cargo test` replays on the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::env_file(data));
