//! A searcher for many long values that looks at one position in `stride`.
//!
//! Every value is at least `min_len` bytes long. Take `G`-byte grams (4 or 8) and
//! `stride = min_len - G + 1`. Sample the haystack at `from, from + stride, …`: a value that
//! starts at `p ≥ from` covers the first sample `i ≥ p` (`i ≤ p + stride - 1`) together with
//! the `G` bytes after it, because `i + G ≤ p + min_len`. The gram at `i` is then the value's
//! gram at offset `i - p < stride`. So the grams of every value at offsets `0..stride` go into
//! a hashed bit set, and a sample whose gram is not in the set rules out every start in
//! `i + 1 - stride ..= i`. Where a sample hits, the exact automaton runs over that window (plus
//! room for the longest value to end) and its leftmost-longest match is taken when it starts in
//! the window. The matches are therefore exactly the automaton's own over the whole haystack;
//! the bit set only decides where it need not look.
//!
//! Random output hits the set rarely (the set is sized at 32 bits an entry), and a value of 36
//! bytes with 8-byte grams is sampled every 29 bytes, so the haystack is mostly skipped. On
//! output made to hit (the values' own grams repeated), the windows verified grow while the hits
//! keep coming, so the automaton reads such output about once (see [`Sampled::find`]).

use aho_corasick::{AhoCorasick, Input, Match};
use zeroize::Zeroize;

/// The bit set's size: 32 bits an entry, within these bounds (4 KiB to 2 MiB of memory).
const MIN_BITS: u32 = 15;
const MAX_BITS: u32 = 24;
/// The most starts verified at once past a hit (see [`Sampled::find`]).
const MAX_AHEAD: usize = 64 * 1024;
/// Fibonacci hashing's multiplier (2^64 / φ).
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

pub(crate) struct Sampled {
    verify: AhoCorasick,
    /// 4 or 8.
    gram: usize,
    stride: usize,
    longest: usize,
    shift: u32,
    /// The hashed grams. Zeroized on drop: it is derived from the values.
    bits: Vec<u64>,
}

impl Drop for Sampled {
    fn drop(&mut self) {
        self.bits.zeroize();
    }
}

impl Sampled {
    /// The sampled searcher over `patterns`, verified by `verify` (built over the same patterns
    /// in the same order), or `None` when the shortest value is under 8 bytes (the stride would
    /// be too short to gain anything).
    pub(crate) fn new<'a>(
        patterns: impl IntoIterator<Item = &'a [u8]> + Clone,
        verify: AhoCorasick,
    ) -> Option<Sampled> {
        let (min_len, longest, count) = patterns
            .clone()
            .into_iter()
            .fold((usize::MAX, 0, 0usize), |(m, l, c), p| {
                (m.min(p.len()), l.max(p.len()), c + 1)
            });
        if count == 0 || min_len < 8 {
            return None;
        }
        let gram = if min_len >= 16 { 8 } else { 4 };
        let stride = min_len - gram + 1;
        let entries = count.saturating_mul(stride).saturating_mul(32);
        let bits = entries
            .checked_next_power_of_two()
            .map_or(MAX_BITS, |n| n.trailing_zeros())
            .clamp(MIN_BITS, MAX_BITS);
        let mut searcher = Sampled {
            verify,
            gram,
            stride,
            longest,
            shift: 64 - bits,
            bits: vec![0; 1 << (bits - 6)],
        };
        for pattern in patterns {
            for offset in 0..stride {
                let slot = searcher.slot(pattern, offset);
                if let Some(word) = searcher.bits.get_mut(slot >> 6) {
                    *word |= 1 << (slot & 63);
                }
            }
        }
        Some(searcher)
    }

    /// The bit for the gram of `bytes` at `at` (which has `gram` bytes after it).
    fn slot(&self, bytes: &[u8], at: usize) -> usize {
        let word = if self.gram == 8 {
            read::<8>(bytes, at)
        } else {
            read::<4>(bytes, at)
        };
        self.hash(word)
    }

    #[inline(always)]
    fn hash(&self, word: u64) -> usize {
        (word.wrapping_mul(MULTIPLIER) >> self.shift) as usize
    }

    #[inline(always)]
    fn is_set(&self, slot: usize) -> bool {
        self.bits
            .get(slot >> 6)
            .is_some_and(|w| w & (1 << (slot & 63)) != 0)
    }

    /// The first sample `at, at + stride, …` whose gram is in the set.
    fn next_hit(&self, haystack: &[u8], at: usize) -> Option<usize> {
        if self.gram == 8 {
            self.next_hit_of::<8>(haystack, at)
        } else {
            self.next_hit_of::<4>(haystack, at)
        }
    }

    /// [`Sampled::next_hit`] for `G`-byte grams: four samples a round, so that their loads
    /// overlap, then one at a time.
    #[inline(always)]
    fn next_hit_of<const G: usize>(&self, haystack: &[u8], mut at: usize) -> Option<usize> {
        let stride = self.stride;
        let last = haystack.len().checked_sub(G)?;
        while at.saturating_add(3 * stride) <= last {
            let a = self.hash(read::<G>(haystack, at));
            let b = self.hash(read::<G>(haystack, at + stride));
            let c = self.hash(read::<G>(haystack, at + 2 * stride));
            let d = self.hash(read::<G>(haystack, at + 3 * stride));
            if self.is_set(a) | self.is_set(b) | self.is_set(c) | self.is_set(d) {
                break;
            }
            at += 4 * stride;
        }
        while at <= last {
            if self.is_set(self.hash(read::<G>(haystack, at))) {
                return Some(at);
            }
            at += stride;
        }
        None
    }

    /// The leftmost-longest match starting at `from` or later.
    ///
    /// A hit is verified together with `ahead` more starts after it. `ahead` is 0 while hits are
    /// isolated (ordinary output) and doubles while each hit falls inside the window just
    /// verified (output made of the values' grams), so that such output is searched by the
    /// automaton about once a byte instead of once a window, capped at [`MAX_AHEAD`].
    pub(crate) fn find(&self, haystack: &[u8], mut from: usize) -> Option<Match> {
        let mut at = from;
        let mut ahead = 0usize;
        let mut verified_to = 0usize;
        while let Some(hit) = self.next_hit(haystack, at) {
            ahead = if hit < verified_to {
                ahead
                    .saturating_mul(2)
                    .saturating_add(self.stride)
                    .min(MAX_AHEAD)
            } else {
                0
            };
            let last_start = hit.saturating_add(ahead);
            let start = from.max((hit + 1).saturating_sub(self.stride));
            let end = haystack.len().min(last_start.saturating_add(self.longest));
            let input = Input::new(haystack).span(start..end);
            match self.verify.find(input) {
                Some(m) if m.start() <= last_start => return Some(m),
                // No value starts in `start..=last_start`: sampling resumes after it.
                _ => from = last_start.saturating_add(1),
            }
            verified_to = end;
            at = from;
        }
        None
    }
}

/// `N` bytes at `at` as a little-endian number (zero when out of bounds, which the callers rule
/// out).
#[inline(always)]
fn read<const N: usize>(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..).and_then(|b| b.first_chunk::<N>()) {
        Some(gram) => {
            let mut word = [0u8; 8];
            word[..N].copy_from_slice(gram);
            u64::from_le_bytes(word)
        }
        None => 0,
    }
}
