//! Any set of values, any output: every searcher kind `run --mask` and `scan` choose from
//! (packed, sampled, the automaton) finds exactly the matches of a by-hand leftmost-longest
//! search (see `sesame::matcher::property`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesame::matcher::property::check_fuzz_input;

fuzz_target!(|data: &[u8]| {
    check_fuzz_input(data);
});
