//! How many guesses a passphrase takes: each match's estimate (zxcvbn's formulas), then the
//! sequence of non-overlapping matches that covers the whole passphrase with the fewest guesses
//! (Wheeler's dynamic program), the score those guesses earn and the time they take offline.
//!
//! A sequence of `l` parts costs `l! * product(guesses) + 10^4^(l-1)`; for a given `l` the
//! cheapest is the one with the smallest product, so keeping that one per length and end
//! position finds the exact minimum. zxcvbn also drops a sequence when a shorter one ending at
//! the same place costs less in total, which sometimes loses the cheapest reading (and in the
//! Rust crate depends on hash-map order); we do not prune, so our count is never above its.

use std::collections::BTreeMap;

use super::parts::{Match, Pattern};
use super::words::Layout;

/// Guesses per character of a part no pattern explains.
const BRUTEFORCE_CARDINALITY: u64 = 10;
/// What each extra part adds before it is guessed (10^4 per part): sequences of many small
/// parts are not free.
const MIN_GUESSES_BEFORE_GROWING_SEQUENCE: u64 = 10_000;
/// The least a part shorter than the passphrase can cost: one character, several.
const MIN_SUBMATCH_GUESSES_SINGLE_CHAR: u64 = 10;
const MIN_SUBMATCH_GUESSES_MULTI_CHAR: u64 = 50;
/// Years and dates within this many years of the reference cost the same.
const MIN_YEAR_SPACE: u64 = 20;
/// Keys a walk can start on, and the average number of neighbours a key has (rounded down):
/// qwerty's for the two keyboards, the keypad's for both keypads (`words.rs` checks them).
pub(super) const KEYBOARD_STARTS: u64 = 94;
pub(super) const KEYBOARD_DEGREE: u64 = 4;
pub(super) const KEYPAD_STARTS: u64 = 15;
pub(super) const KEYPAD_DEGREE: u64 = 5;

/// The guesses the easiest reading of `password` takes, and that reading (its matches in
/// order, gaps filled with brute-force parts).
pub(super) fn most_guessable(password: &[char], matches: &[Match]) -> (u64, Vec<Match>) {
    let n = password.len();
    if n == 0 {
        return (1, Vec::new());
    }
    let mut ending_at: Vec<Vec<(Match, u64)>> = vec![Vec::new(); n];
    for m in matches {
        ending_at[m.j].push((*m, guesses(m, password)));
    }
    for list in &mut ending_at {
        list.sort_by_key(|(m, _)| m.i);
    }
    let mut best = Best {
        at: vec![BTreeMap::new(); n],
    };
    for (k, list) in ending_at.iter().enumerate() {
        for &(m, estimate) in list {
            if m.i == 0 {
                best.offer(m, estimate, 1);
                continue;
            }
            let lengths: Vec<usize> = best.at[m.i - 1].keys().copied().collect();
            for length in lengths {
                best.offer(m, estimate, length + 1);
            }
        }
        best.offer_bruteforce(k, password);
    }
    best.unwind(n)
}

/// The cheapest sequence (smallest product) of each length covering `password[..=k]`:
/// `at[k][length]`.
struct Best {
    at: Vec<BTreeMap<usize, Step>>,
}

/// The last match of such a sequence, the product of its matches' guesses, and its total.
#[derive(Clone, Copy)]
struct Step {
    last: Match,
    product: u64,
    total: u64,
}

impl Best {
    /// Records `m` ending a sequence of `length` matches if no sequence of that length
    /// covering the same characters has a smaller product of guesses.
    fn offer(&mut self, m: Match, estimate: u64, length: usize) {
        let mut product = estimate;
        if length > 1 {
            match self.at[m.i - 1].get(&(length - 1)) {
                Some(before) => product = product.saturating_mul(before.product),
                None => return,
            }
        }
        let total = factorial(length)
            .saturating_mul(product)
            .saturating_add(MIN_GUESSES_BEFORE_GROWING_SEQUENCE.saturating_pow(length as u32 - 1));
        if self.at[m.j]
            .get(&length)
            .is_some_and(|step| step.product <= product)
        {
            return;
        }
        self.at[m.j].insert(
            length,
            Step {
                last: m,
                product,
                total,
            },
        );
    }

    /// Tries a brute-force part ending at `k`: alone from the start, or after any sequence
    /// ending just before it whose own last part is not brute force (two in a row are never
    /// better than one).
    fn offer_bruteforce(&mut self, k: usize, password: &[char]) {
        let whole = bruteforce(0, k);
        self.offer(whole, guesses(&whole, password), 1);
        for i in 1..=k {
            let part = bruteforce(i, k);
            let estimate = guesses(&part, password);
            let before: Vec<(usize, Match)> =
                self.at[i - 1].iter().map(|(l, s)| (*l, s.last)).collect();
            for (length, last) in before {
                if last.pattern != Pattern::BruteForce {
                    self.offer(part, estimate, length + 1);
                }
            }
        }
    }

    /// The least total covering everything, and the sequence that reaches it.
    fn unwind(&self, n: usize) -> (u64, Vec<Match>) {
        let mut chosen: Option<(usize, u64)> = None;
        for (&length, step) in &self.at[n - 1] {
            if chosen.is_none_or(|(_, total)| step.total < total) {
                chosen = Some((length, step.total));
            }
        }
        let Some((mut length, total)) = chosen else {
            return (1, Vec::new());
        };
        let mut sequence = Vec::with_capacity(length);
        let mut k = n - 1;
        while let Some(step) = self.at[k].get(&length) {
            sequence.push(step.last);
            if step.last.i == 0 || length == 1 {
                break;
            }
            k = step.last.i - 1;
            length -= 1;
        }
        sequence.reverse();
        (total, sequence)
    }
}

fn bruteforce(i: usize, j: usize) -> Match {
    Match {
        i,
        j,
        pattern: Pattern::BruteForce,
    }
}

fn factorial(n: usize) -> u64 {
    (1..=n as u64).fold(1, u64::saturating_mul)
}

/// The guesses `m` takes, at least the floor for a part of its length.
fn guesses(m: &Match, password: &[char]) -> u64 {
    let token = &password[m.i..=m.j];
    let floor = match token.len() {
        len if len == password.len() => 1,
        1 => MIN_SUBMATCH_GUESSES_SINGLE_CHAR,
        _ => MIN_SUBMATCH_GUESSES_MULTI_CHAR,
    };
    estimate(&m.pattern, token).max(floor)
}

fn estimate(pattern: &Pattern, token: &[char]) -> u64 {
    match *pattern {
        Pattern::Word {
            rank,
            reversed,
            l33t_variations,
            ..
        } => (rank as u64)
            .saturating_mul(uppercase_variations(token))
            .saturating_mul(l33t_variations)
            .saturating_mul(if reversed { 2 } else { 1 }),
        Pattern::Walk {
            layout,
            turns,
            shifted,
        } => walk_guesses(layout, token.len(), turns, shifted),
        Pattern::Repeat {
            base_guesses,
            count,
            ..
        } => base_guesses.saturating_mul(count as u64),
        Pattern::Sequence { ascending } => {
            let first = token.first().copied().unwrap_or_default();
            let start = if "aAzZ019".contains(first) {
                4
            } else if first.is_ascii_digit() {
                10
            } else {
                26
            };
            let directions = if ascending { 1 } else { 2 };
            start * directions * token.len() as u64
        }
        Pattern::Year { years_away } => u64::from(years_away).max(MIN_YEAR_SPACE),
        Pattern::Date {
            years_away,
            separated,
        } => {
            let separators = if separated { 4 } else { 1 };
            u64::from(years_away).max(MIN_YEAR_SPACE) * 365 * separators
        }
        Pattern::BruteForce => {
            let all = BRUTEFORCE_CARDINALITY.saturating_pow(token.len() as u32);
            // One more than any pattern over the same characters can cost, so a pattern wins.
            let least = if token.len() == 1 {
                MIN_SUBMATCH_GUESSES_SINGLE_CHAR + 1
            } else {
                MIN_SUBMATCH_GUESSES_MULTI_CHAR + 1
            };
            all.max(least)
        }
    }
}

/// Walks of `len` keys or fewer with `turns` turns or fewer, times the ways to shift keys.
fn walk_guesses(layout: Layout, len: usize, turns: usize, shifted: usize) -> u64 {
    let (starts, degree) = if layout.is_keyboard() {
        (KEYBOARD_STARTS, KEYBOARD_DEGREE)
    } else {
        (KEYPAD_STARTS, KEYPAD_DEGREE)
    };
    let mut guesses = 0u64;
    for length in 2..=len {
        for turn in 1..=turns.min(length - 1) {
            guesses = guesses.saturating_add(
                n_choose_k(length - 1, turn - 1)
                    .saturating_mul(starts)
                    .saturating_mul(degree.saturating_pow(turn as u32)),
            );
        }
    }
    if shifted > 0 {
        let unshifted = len - shifted;
        guesses = if unshifted == 0 {
            guesses.saturating_mul(2)
        } else {
            guesses.saturating_mul(variations(shifted, unshifted))
        };
    }
    guesses
}

/// Ways to capitalise a word: 1 for lowercase; 2 for a first or last capital, or all capitals;
/// otherwise the ways to pick up to the smaller of the capitals and small letters.
pub(super) fn uppercase_variations(token: &[char]) -> u64 {
    let unchanged_by_lowercasing = token.iter().all(|&c| {
        let mut lower = c.to_lowercase();
        lower.next() == Some(c) && lower.next().is_none()
    });
    if unchanged_by_lowercasing || token.iter().all(|c| c.is_lowercase()) {
        return 1;
    }
    let upper = token.iter().filter(|c| c.is_uppercase()).count();
    let at_an_end = token.first().is_some_and(|c| c.is_uppercase())
        || token.last().is_some_and(|c| c.is_uppercase());
    if (at_an_end && upper == 1) || token.iter().all(|c| c.is_uppercase()) {
        return 2;
    }
    let lower = token.iter().filter(|c| c.is_lowercase()).count();
    // With no small letters (WORD1) this sum is empty: zxcvbn counts 0 ways, and so do we.
    variations(upper, lower)
}

/// Ways to substitute in a word: for each (typed, letter) pair used, 2 if every such letter
/// was substituted (or none), else the ways to pick up to the smaller count of the two.
pub(super) fn l33t_variations(typed: &[char], used: &[(char, char)]) -> u64 {
    let lower: zeroize::Zeroizing<Vec<char>> =
        zeroize::Zeroizing::new(super::parts::lowercase(typed).chars().collect());
    used.iter().fold(1, |all, &(l33t, letter)| {
        let subbed = lower.iter().filter(|&&c| c == l33t).count();
        let unsubbed = lower.iter().filter(|&&c| c == letter).count();
        let these = if subbed == 0 || unsubbed == 0 {
            2
        } else {
            variations(subbed, unsubbed)
        };
        all.saturating_mul(these)
    })
}

/// The sum over k = 1..=min(a, b) of C(a + b, k).
fn variations(a: usize, b: usize) -> u64 {
    (1..=a.min(b))
        .map(|k| n_choose_k(a + b, k))
        .fold(0, u64::saturating_add)
}

/// C(n, k), computed as zxcvbn does (multiply, then divide, saturating on overflow).
fn n_choose_k(n: usize, k: usize) -> u64 {
    if k > n {
        return 0;
    }
    let mut result: u64 = 1;
    let mut top = n as u64;
    for divisor in 1..=k as u64 {
        result = result.saturating_mul(top) / divisor;
        top -= 1;
    }
    result
}

/// The score for a number of guesses: 0 below 10^3 (plus 5), 1 below 10^6, 2 below 10^8,
/// 3 below 10^10, else 4.
pub(super) fn score(guesses: u64) -> u8 {
    const DELTA: u64 = 5;
    let limits = [1_000, 1_000_000, 100_000_000, 10_000_000_000];
    limits
        .iter()
        .position(|&limit| guesses < limit + DELTA)
        .map_or(4, |score| score as u8)
}

/// The time `guesses` take at 10^4 guesses a second (a slow hash offline), in words.
pub(super) fn offline_time(guesses: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = MINUTE * 60;
    const DAY: u64 = HOUR * 24;
    const MONTH: u64 = DAY * 31;
    const YEAR: u64 = MONTH * 12;
    const CENTURY: u64 = YEAR * 100;
    let seconds = (guesses as f64 / 10_000.0) as u64;
    let (count, unit) = match seconds {
        0 => return "less than a second".into(),
        s if s < MINUTE => (s, "second"),
        s if s < HOUR => (s / MINUTE, "minute"),
        s if s < DAY => (s / HOUR, "hour"),
        s if s < MONTH => (s / DAY, "day"),
        s if s < YEAR => (s / MONTH, "month"),
        s if s < CENTURY => (s / YEAR, "year"),
        _ => return "centuries".into(),
    };
    format!("{count} {unit}{}", if count > 1 { "s" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn n_choose_k_matches_the_binomial() {
        let cases = [
            (0, 0, 1),
            (1, 0, 1),
            (5, 0, 1),
            (0, 1, 0),
            (2, 1, 2),
            (4, 2, 6),
        ];
        for (n, k, expected) in cases {
            assert_eq!(n_choose_k(n, k), expected, "C({n}, {k})");
        }
        assert_eq!(n_choose_k(33, 7), 4_272_048);
    }

    #[test]
    fn capitals_multiply_a_words_guesses() {
        assert_eq!(uppercase_variations(&chars("password")), 1);
        assert_eq!(uppercase_variations(&chars("Password")), 2);
        assert_eq!(uppercase_variations(&chars("passworD")), 2);
        assert_eq!(uppercase_variations(&chars("PASSWORD")), 2);
        assert_eq!(uppercase_variations(&chars("PaSsword")), 8 + 28);
        assert_eq!(uppercase_variations(&chars("PASS1")), 0);
        assert_eq!(uppercase_variations(&chars("123")), 1);
    }

    #[test]
    fn substitutions_multiply_a_words_guesses() {
        assert_eq!(l33t_variations(&chars("p4ssword"), &[('4', 'a')]), 2);
        assert_eq!(l33t_variations(&chars("4a4a"), &[('4', 'a')]), 4 + 6);
        assert_eq!(
            l33t_variations(&chars("p4$$"), &[('4', 'a'), ('$', 's')]),
            4
        );
    }

    #[test]
    fn scores_and_times_follow_the_thresholds() {
        assert_eq!(
            [1, 1_004, 1_005, 1_000_005, 100_000_005, 10_000_000_005].map(score),
            [0, 0, 1, 2, 3, 4]
        );
        assert_eq!(offline_time(9_999), "less than a second");
        assert_eq!(offline_time(10_000), "1 second");
        assert_eq!(offline_time(36_000_000), "1 hour");
        assert_eq!(offline_time(200_000_000), "5 hours");
        assert_eq!(offline_time(u64::MAX), "centuries");
    }

    #[test]
    fn the_cheapest_cover_fills_gaps_with_brute_force() {
        let password = chars("xx");
        let (total, sequence) = most_guessable(&password, &[]);
        // One brute-force part of two characters: 10^2 guesses, plus 1 for a one-part sequence.
        assert_eq!((total, sequence.len()), (101, 1));
        let (total, _) = most_guessable(&chars(""), &[]);
        assert_eq!(total, 1);
    }
}
