//! The one multi-value matcher: a leftmost-longest Aho-Corasick automaton over secret values,
//! built in one place so `run --mask` and `scan` find exactly the same things, and so its
//! configuration (automaton kind, prefilter, searcher) is tuned once for both.

use std::io;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Match, MatchKind, packed};

/// Past this length of one value the automaton is a contiguous NFA instead of a DFA: building a
/// DFA takes time quadratic in the length of a value that repeats itself (minutes for 200 KB).
const DFA_MAX_VALUE_BYTES: usize = 4096;
/// Past this many bytes of values in all, a DFA's memory (states × byte classes) is no longer
/// small; the NFA is used then too.
const DFA_MAX_TOTAL_BYTES: usize = 256 * 1024;

/// Builds the automaton over `patterns` (non-empty byte strings; duplicates allowed). Matches are
/// leftmost-longest: at the earliest position, the longest value that starts there.
pub fn build<'a>(patterns: impl IntoIterator<Item = &'a [u8]> + Clone) -> io::Result<AhoCorasick> {
    let (longest, total) = patterns
        .clone()
        .into_iter()
        .fold((0, 0), |(l, t), p| (p.len().max(l), t + p.len()));
    let nfa = longest > DFA_MAX_VALUE_BYTES || total > DFA_MAX_TOTAL_BYTES;
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(if nfa {
            AhoCorasickKind::ContiguousNFA
        } else {
            AhoCorasickKind::DFA
        }))
        .build(patterns)
        .map_err(io::Error::other)
}

/// The fastest searcher for `patterns` with the same matches as [`build`]'s automaton.
///
/// For up to 64 values (where the CPU has SSSE3 or AVX2) that is the `packed` Teddy searcher,
/// which looks for several bytes of every value at once, many gigabytes a second whatever the
/// values. The automaton's own prefilter instead looks for a single rare or first byte, which
/// for two or more values is often a byte that ordinary output is full of (89 MB/s for two API
/// keys in base64 text). More values, or no SIMD: the automaton.
pub fn searcher<'a>(patterns: impl IntoIterator<Item = &'a [u8]> + Clone) -> io::Result<Searcher> {
    let mut config = packed::Config::new();
    config.match_kind(packed::MatchKind::LeftmostLongest);
    let mut builder = config.builder();
    builder.extend(patterns.clone());
    match builder.build() {
        Some(teddy) => Ok(Searcher::Packed(teddy)),
        None => build(patterns).map(Searcher::Automaton),
    }
}

/// A leftmost-longest multi-value searcher: see [`searcher`].
pub enum Searcher {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Searcher {
    /// Every non-overlapping leftmost-longest match in `haystack`, in order.
    pub fn find_iter<'s, 'h>(&'s self, haystack: &'h [u8]) -> Matches<'s, 'h> {
        match self {
            Searcher::Packed(s) => Matches::Packed(s.find_iter(haystack)),
            Searcher::Automaton(a) => Matches::Automaton(a.find_iter(haystack)),
        }
    }
}

/// The matches of a [`Searcher`].
pub enum Matches<'s, 'h> {
    Packed(packed::FindIter<'s, 'h>),
    Automaton(aho_corasick::FindIter<'s, 'h>),
}

impl Iterator for Matches<'_, '_> {
    type Item = Match;
    fn next(&mut self) -> Option<Match> {
        match self {
            Matches::Packed(m) => m.next(),
            Matches::Automaton(m) => m.next(),
        }
    }
}
