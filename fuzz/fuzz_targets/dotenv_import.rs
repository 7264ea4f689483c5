//! A dotenv file as `import --dotenv` reads it; the property is
//! `properties::dotenv_import` (`fuzz/properties.rs`), which `cargo test` replays on the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::dotenv_import(data));
