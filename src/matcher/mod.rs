//! The one multi-value matcher: a leftmost-longest Aho-Corasick automaton over secret values,
//! built in one place so `run --mask` and `scan` find exactly the same things, and so its
//! configuration (automaton kind, prefilter, searcher) is tuned once for both.

use std::io;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Match, MatchKind, packed};

#[doc(hidden)]
#[cfg(any(test, fuzzing))]
#[allow(unreachable_pub)] // `pub` for the fuzz targets, which build with `--cfg fuzzing`
pub mod property;
pub(crate) mod sampled;

/// Past this length of one value the automaton is a contiguous NFA instead of a DFA: building a
/// DFA takes time quadratic in the length of a value that repeats itself (minutes for 200 KB).
const DFA_MAX_VALUE_BYTES: usize = 4096;
/// Past this many bytes of values in all, a DFA's memory (states × byte classes) is no longer
/// small; the NFA is used then too.
const DFA_MAX_TOTAL_BYTES: usize = 256 * 1024;

/// Builds the automaton over `patterns` (non-empty byte strings; duplicates allowed). Matches are
/// leftmost-longest: at the earliest position, the longest value that starts there.
pub(crate) fn build<'a>(
    patterns: impl IntoIterator<Item = &'a [u8]> + Clone,
) -> io::Result<AhoCorasick> {
    automaton(patterns, true)
}

/// [`build`], with or without the automaton's own prefilter (without: for short windows that
/// another searcher has already picked out).
fn automaton<'a>(
    patterns: impl IntoIterator<Item = &'a [u8]> + Clone,
    prefilter: bool,
) -> io::Result<AhoCorasick> {
    let (longest, total) = patterns
        .clone()
        .into_iter()
        .fold((0, 0), |(l, t), p| (p.len().max(l), t + p.len()));
    let nfa = longest > DFA_MAX_VALUE_BYTES || total > DFA_MAX_TOTAL_BYTES;
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .prefilter(prefilter)
        .kind(Some(if nfa {
            AhoCorasickKind::ContiguousNFA
        } else {
            AhoCorasickKind::DFA
        }))
        .build(patterns)
        .map_err(io::Error::other)
}

/// The searchers [`searcher`] chooses from, each with the same matches as [`build`]'s automaton.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// SIMD "Teddy": several bytes of every value compared at once. Up to 64 values, on CPUs
    /// with SSSE3 or AVX2.
    Packed,
    /// Hashed grams sampled one position in a stride ([`sampled`]). Values of 8 bytes or more.
    Sampled,
    /// The automaton alone, with its own prefilter: any values.
    Automaton,
}

/// The fastest searcher for `patterns` with the same matches as [`build`]'s automaton.
///
/// The automaton's own prefilter looks for a single rare or first byte, which for two or more
/// values is often a byte that ordinary output is full of (89 MB/s for two API keys in base64
/// text). So: for one value, the automaton (its prefilter is then a SIMD substring search); the
/// packed Teddy searcher for up to 64 values when one is shorter than 16 bytes; the sampled
/// searcher whenever every value has 8 bytes or more and either some value is long enough to
/// sample sparsely or there are too many values for Teddy; the automaton otherwise (a set with a
/// value of under 8 bytes, or no SIMD).
pub(crate) fn searcher<'a>(
    patterns: impl IntoIterator<Item = &'a [u8]> + Clone,
) -> io::Result<Searcher> {
    let (count, shortest) = patterns
        .clone()
        .into_iter()
        .fold((0usize, usize::MAX), |(c, m), p| (c + 1, m.min(p.len())));
    let order: &[Kind] = if count == 1 {
        &[Kind::Automaton] // one value: the automaton's prefilter is a SIMD substring search
    } else if count <= 64 && shortest < 16 {
        &[Kind::Packed, Kind::Sampled, Kind::Automaton]
    } else {
        &[Kind::Sampled, Kind::Packed, Kind::Automaton]
    };
    for &kind in order {
        if let Some(searcher) = searcher_of_kind(kind, patterns.clone())? {
            return Ok(searcher);
        }
    }
    build(patterns).map(Searcher::Automaton)
}

/// The searcher of `kind` over `patterns`, or `None` where that kind cannot search them. For
/// [`searcher`]'s choice, and for tests and benchmarks that compare the kinds.
pub(crate) fn searcher_of_kind<'a>(
    kind: Kind,
    patterns: impl IntoIterator<Item = &'a [u8]> + Clone,
) -> io::Result<Option<Searcher>> {
    Ok(match kind {
        Kind::Packed => {
            let mut config = packed::Config::new();
            config.match_kind(packed::MatchKind::LeftmostLongest);
            let mut builder = config.builder();
            builder.extend(patterns);
            builder.build().map(Searcher::Packed)
        }
        Kind::Sampled => {
            let verify = automaton(patterns.clone(), false)?;
            sampled::Sampled::new(patterns, verify).map(Searcher::Sampled)
        }
        Kind::Automaton => Some(Searcher::Automaton(build(patterns)?)),
    })
}

/// A leftmost-longest multi-value searcher: see [`searcher`].
pub(crate) enum Searcher {
    Packed(packed::Searcher),
    Sampled(sampled::Sampled),
    Automaton(AhoCorasick),
}

impl Searcher {
    /// Every non-overlapping leftmost-longest match in `haystack`, in order.
    pub(crate) fn find_iter<'s, 'h>(&'s self, haystack: &'h [u8]) -> Matches<'s, 'h> {
        match self {
            Searcher::Packed(s) => Matches::Packed(s.find_iter(haystack)),
            Searcher::Sampled(s) => Matches::Sampled {
                searcher: s,
                haystack,
                at: 0,
            },
            Searcher::Automaton(a) => Matches::Automaton(a.find_iter(haystack)),
        }
    }

    #[cfg(any(test, fuzzing))]
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Searcher::Packed(_) => Kind::Packed,
            Searcher::Sampled(_) => Kind::Sampled,
            Searcher::Automaton(_) => Kind::Automaton,
        }
    }
}

/// The matches of a [`Searcher`].
pub(crate) enum Matches<'s, 'h> {
    Packed(packed::FindIter<'s, 'h>),
    Sampled {
        searcher: &'s sampled::Sampled,
        haystack: &'h [u8],
        at: usize,
    },
    Automaton(aho_corasick::FindIter<'s, 'h>),
}

impl Iterator for Matches<'_, '_> {
    type Item = Match;
    fn next(&mut self) -> Option<Match> {
        match self {
            Matches::Packed(m) => m.next(),
            Matches::Sampled {
                searcher,
                haystack,
                at,
            } => {
                let m = searcher.find(haystack, *at)?;
                *at = m.end();
                Some(m)
            }
            Matches::Automaton(m) => m.next(),
        }
    }
}

#[cfg(test)]
mod tests;
