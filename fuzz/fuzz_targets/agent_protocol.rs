//! Request and response frames of the agent protocol, both directions; the property is
//! `properties::agent_protocol` (`fuzz/properties.rs`), which `cargo test` replays on the corpus.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::agent_protocol(data));
