//! Repeats (aaaa, abcabcabc) and sequences (abcd, 9753, zyx): found by comparing characters,
//! without a regular-expression engine.

use super::parts::{Match, Pattern};

/// Adds the repeats of `text`, left to right without overlap. Each is scored through its base:
/// "abcabc" costs what "abc" costs, times two; `base_guesses` estimates a base (the whole
/// estimate run on it, which the caller owns).
pub(super) fn repeats(
    text: &[char],
    found: &mut Vec<Match>,
    base_guesses: &mut dyn FnMut(&[char]) -> u64,
) {
    let mut from = 0;
    while let Some(repeat) = first_repeat(&text[from..]) {
        let start = from + repeat.start;
        let base = &text[start..start + repeat.base_len];
        let base_guesses = base_guesses(base);
        found.push(Match {
            i: start,
            j: start + repeat.len - 1,
            pattern: Pattern::Repeat {
                base_len: repeat.base_len,
                base_guesses,
                count: repeat.len / repeat.base_len,
            },
        });
        from = start + repeat.len;
    }
}

/// A run of `len` characters at `start` that repeats a base of `base_len` characters.
#[derive(Debug, PartialEq)]
struct Repeat {
    start: usize,
    len: usize,
    base_len: usize,
}

/// The leftmost repeat in `text`, chosen as zxcvbn's pair of regular expressions chooses it:
/// among the bases that repeat at the leftmost possible start, the longest run wins (the
/// shortest base on a tie), and the base is then the shortest one that tiles that run. A base
/// never holds a line feed (the expressions' `.` does not match one).
fn first_repeat(text: &[char]) -> Option<Repeat> {
    for start in 0..text.len() {
        let rest = &text[start..];
        let bases: Vec<usize> = (1..=rest.len() / 2)
            .take_while(|&len| rest[len - 1] != '\n')
            .filter(|&len| rest[..len] == rest[len..2 * len])
            .collect();
        let (Some(&shortest), Some(&longest)) = (bases.first(), bases.last()) else {
            continue;
        };
        let lazy_len = run_len(rest, shortest);
        let greedy_len = run_len(rest, longest);
        if greedy_len > lazy_len {
            let run = &rest[..greedy_len];
            let base_len = (1..=greedy_len / 2)
                .find(|&len| greedy_len.is_multiple_of(len) && tiles(run, len))
                .unwrap_or(longest);
            return Some(Repeat {
                start,
                len: greedy_len,
                base_len,
            });
        }
        return Some(Repeat {
            start,
            len: lazy_len,
            base_len: shortest,
        });
    }
    None
}

/// How many characters of `text` are whole copies of its first `base_len` characters.
fn run_len(text: &[char], base_len: usize) -> usize {
    let base = &text[..base_len];
    let copies = text
        .chunks_exact(base_len)
        .take_while(|chunk| *chunk == base)
        .count();
    copies * base_len
}

fn tiles(run: &[char], base_len: usize) -> bool {
    run.chunks_exact(base_len)
        .all(|chunk| chunk == &run[..base_len])
}

/// Sequences move by at most this much per character.
const MAX_STEP: i64 = 5;

/// Adds each maximal run whose code points change by the same step (1 to 5, up or down); a run
/// of two counts only with a step of 1. Neighbouring runs share their boundary character.
pub(super) fn sequences(text: &[char], found: &mut Vec<Match>) {
    if text.len() <= 1 {
        return;
    }
    let step_at = |k: usize| i64::from(u32::from(text[k])) - i64::from(u32::from(text[k - 1]));
    let mut start = 0;
    let mut step = 0;
    for k in 1..text.len() {
        let here = step_at(k);
        if step == 0 {
            step = here;
        }
        if here == step {
            continue;
        }
        push_sequence(start, k - 1, step, found);
        start = k - 1;
        step = here;
    }
    push_sequence(start, text.len() - 1, step, found);
}

fn push_sequence(i: usize, j: usize, step: i64, found: &mut Vec<Match>) {
    let size = step.abs();
    if (j - i > 1 || size == 1) && (1..=MAX_STEP).contains(&size) {
        found.push(Match {
            i,
            j,
            pattern: Pattern::Sequence {
                ascending: step > 0,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn repeat(start: usize, len: usize, base_len: usize) -> Option<Repeat> {
        Some(Repeat {
            start,
            len,
            base_len,
        })
    }

    #[test]
    fn repeats_take_the_longest_run_and_its_shortest_base() {
        assert_eq!(first_repeat(&chars("aaaaa")), repeat(0, 5, 1));
        assert_eq!(first_repeat(&chars("aabaab")), repeat(0, 6, 3));
        assert_eq!(first_repeat(&chars("xabcabcabc")), repeat(1, 9, 3));
        assert_eq!(first_repeat(&chars("aabaabaabaab")), repeat(0, 12, 3));
        assert_eq!(first_repeat(&chars("abcd")), None);
        assert_eq!(first_repeat(&chars("a\na\n")), None);
        assert_eq!(first_repeat(&chars("\n\nab")), None);
    }

    fn sequences_in(text: &str) -> Vec<(usize, usize, bool)> {
        let mut found = Vec::new();
        sequences(&chars(text), &mut found);
        found
            .into_iter()
            .filter_map(|m| match m.pattern {
                Pattern::Sequence { ascending } => Some((m.i, m.j, ascending)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sequences_step_by_up_to_five_either_way() {
        assert_eq!(
            sequences_in("abcdb975zy"),
            [(0, 3, true), (5, 7, false), (8, 9, false)]
        );
        assert_eq!(sequences_in("ab"), [(0, 1, true)]);
        assert_eq!(sequences_in("ac"), []);
        assert_eq!(sequences_in("aaaa"), []);
        assert_eq!(sequences_in("αβγδ"), [(0, 3, true)]);
    }
}
