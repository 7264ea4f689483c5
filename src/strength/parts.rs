//! What the matchers find and the estimate weighs: a guessable part of the passphrase, by
//! position (never text), and what kind of part it is. Shared by the matchers (`matching`,
//! `dates`, `keyboard`, `sequences`), `guesses` and `feedback`, so none of them imports another's
//! types.

use zeroize::Zeroizing;

use super::words::{Layout, List};

/// A guessable part of the passphrase: characters `i..=j` (indices of chars, not bytes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Match {
    pub(super) i: usize,
    pub(super) j: usize,
    pub(super) pattern: Pattern,
}

/// What the part is, with what its guess estimate needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Pattern {
    /// A listed word; `l33t_variations` is 1 unless it was found through substitutions.
    Word {
        list: List,
        rank: usize,
        reversed: bool,
        l33t: bool,
        l33t_variations: u64,
    },
    /// A walk on a keyboard: `turns` changes of direction, `shifted` keys typed with shift.
    Walk {
        layout: Layout,
        turns: usize,
        shifted: usize,
    },
    /// A base of `base_len` characters typed `count` times; `base_guesses` is the base's estimate.
    Repeat {
        base_len: usize,
        base_guesses: u64,
        count: usize,
    },
    /// Characters whose code points step by the same small amount (abc, 9753, zyx).
    Sequence { ascending: bool },
    /// Four digits from 1900 to 2099, `years_away` from the reference year.
    Year { years_away: u32 },
    /// A day, month and year (`years_away` from the reference year), with or without separators.
    Date { years_away: u32, separated: bool },
    /// Anything else: every character guessed on its own.
    BruteForce,
}

/// `chars` as a lowercase string, in wiped buffers (sized up front, so growth leaves no copy).
pub(super) fn lowercase(chars: &[char]) -> Zeroizing<String> {
    let mut typed = Zeroizing::new(String::with_capacity(4 * chars.len()));
    typed.extend(chars);
    Zeroizing::new(typed.to_lowercase())
}
