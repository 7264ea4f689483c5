//! An answer from an OpenBao server that may be hostile; the property is
//! `properties::openbao_response` (`fuzz/properties.rs`), which `cargo test` replays on the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::openbao_response(data));
