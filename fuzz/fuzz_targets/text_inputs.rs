//! What users type (recovery codes, durations, sizes, labels, env names, bindings, references); the property is
//! `properties::text_inputs` (`fuzz/properties.rs`), which `cargo test` replays on the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::text_inputs(data));
