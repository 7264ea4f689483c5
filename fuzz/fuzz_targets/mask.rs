//! Any values, any output, any split into reads: `run --mask` must give what a leftmost-longest
//! replacement of the whole output gives, hold back only a tail that could still become a value,
//! and let no value through in the bytes it passes on unreplaced; on a terminal, with escape
//! sequences in the output, give the same whatever the split and show no value (see
//! `sesame::mask::property`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesame::mask::property::{check_fuzz_input, check_terminal_fuzz_input};

fuzz_target!(|data: &[u8]| {
    check_fuzz_input(data);
    check_terminal_fuzz_input(data);
});
