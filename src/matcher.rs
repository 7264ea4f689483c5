//! The one multi-value matcher: a leftmost-longest Aho-Corasick automaton over secret values,
//! built in one place so `run --mask` and `scan` find exactly the same things, and so its
//! configuration (automaton kind, prefilter) is tuned once for both.

use std::io;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Past this many bytes of values the automaton is a contiguous NFA instead of the DFA the
/// `aho-corasick` crate picks for few patterns: building that DFA takes time quadratic in the
/// length of a value that repeats itself (minutes for a 200 KB value).
const DFA_MAX_VALUE_BYTES: usize = 4096;

/// Builds the automaton over `patterns` (non-empty byte strings; duplicates allowed). Matches are
/// leftmost-longest: at the earliest position, the longest value that starts there.
pub fn build<'a>(patterns: impl IntoIterator<Item = &'a [u8]> + Clone) -> io::Result<AhoCorasick> {
    let total: usize = patterns.clone().into_iter().map(<[u8]>::len).sum();
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind((total > DFA_MAX_VALUE_BYTES).then_some(AhoCorasickKind::ContiguousNFA))
        .build(patterns)
        .map_err(io::Error::other)
}
