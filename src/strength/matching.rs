//! Finding the guessable parts of a passphrase: every substring that is a listed word (as
//! typed, reversed, or with l33t substitutions), then the keyboard walks, repeats, sequences,
//! years and dates of the sibling modules. A [`Match`] holds positions, never text: the text
//! stays in the caller's wiped buffer, and the copies made here (lowercased, reversed,
//! substituted) are wiped too.

use zeroize::Zeroizing;

use super::guesses;
use super::parts::{Match, Pattern, lowercase};
use super::words::{Dictionary, Graph, List};
use super::{dates, keyboard, sequences};

/// What the matchers look things up in, loaded once per check.
pub(super) struct Matcher<'d> {
    pub(super) dictionary: &'d Dictionary<'d>,
    pub(super) graphs: &'d [Graph],
    /// The year dates and years are measured from (the current year).
    pub(super) reference_year: i32,
}

impl Matcher<'_> {
    /// Every match in `text`, ordered by start then end (for equal spans, in the order the
    /// matchers run: words, reversed words, l33t words, walks, repeats, sequences, years, dates).
    pub(super) fn all(&self, text: &[char]) -> Vec<Match> {
        let mut found = Vec::new();
        self.words(text, &mut found);
        self.reversed_words(text, &mut found);
        self.l33t_words(text, &mut found);
        for graph in self.graphs {
            keyboard::walks(text, graph, &mut found);
        }
        sequences::repeats(text, &mut found, &mut |base| {
            guesses::most_guessable(base, &self.all(base)).0
        });
        sequences::sequences(text, &mut found);
        dates::years(text, self.reference_year, &mut found);
        dates::dates(text, self.reference_year, &mut found);
        found.sort_by_key(|m| (m.i, m.j));
        found
    }

    fn words(&self, text: &[char], found: &mut Vec<Match>) {
        self.lookup_substrings(text, |i, j, list, rank, _| {
            found.push(Match {
                i,
                j,
                pattern: word(list, rank, false),
            });
        });
    }

    fn reversed_words(&self, text: &[char], found: &mut Vec<Match>) {
        let reversed: Zeroizing<Vec<char>> = Zeroizing::new(text.iter().rev().copied().collect());
        let last = text.len().saturating_sub(1);
        self.lookup_substrings(&reversed, |i, j, list, rank, _| {
            found.push(Match {
                i: last - j,
                j: last - i,
                pattern: word(list, rank, true),
            });
        });
    }

    /// Listed words typed with substitutions (p4ssw0rd): each plausible way of reading the
    /// substituted characters back is tried, and a word counts only if a substitution was used.
    fn l33t_words(&self, text: &[char], found: &mut Vec<Match>) {
        for substitution in l33t_readings(text) {
            let read: Zeroizing<Vec<char>> = Zeroizing::new(
                text.iter()
                    .map(|c| read_back(&substitution, *c).unwrap_or(*c))
                    .collect(),
            );
            self.lookup_substrings(&read, |i, j, list, rank, word| {
                let typed = &text[i..=j];
                if lowercase(typed).as_str() == word {
                    return;
                }
                let used: Vec<(char, char)> = substitution
                    .iter()
                    .copied()
                    .filter(|(l33t, _)| typed.contains(l33t))
                    .collect();
                found.push(Match {
                    i,
                    j,
                    pattern: Pattern::Word {
                        list,
                        rank,
                        reversed: false,
                        l33t: true,
                        l33t_variations: guesses::l33t_variations(typed, &used),
                    },
                });
            });
        }
    }

    /// Calls `found(i, j, list, rank, word)` for every substring `i..=j` of `text` that,
    /// lowercased, is a word of a list (or a context word).
    fn lookup_substrings(
        &self,
        text: &[char],
        mut found: impl FnMut(usize, usize, List, usize, &str),
    ) {
        // The whole text is lowercased at once (as zxcvbn does: a final Σ lowercases to ς),
        // and substrings are read from it by the original character positions.
        let lower: Zeroizing<Vec<char>> = Zeroizing::new(lowercase(text).chars().collect());
        let longest = self.dictionary.longest_word();
        let mut key = Zeroizing::new(String::with_capacity(4 * longest));
        for i in 0..text.len() {
            key.clear();
            for j in i..text.len().min(i + longest) {
                key.push(lower[j]);
                self.dictionary
                    .lookup(&key, |list, rank| found(i, j, list, rank, &key));
            }
        }
    }
}

fn word(list: List, rank: usize, reversed: bool) -> Pattern {
    Pattern::Word {
        list,
        rank,
        reversed,
        l33t: false,
        l33t_variations: 1,
    }
}

/// The substitutions zxcvbn knows: a letter and the characters typed for it.
const L33T_TABLE: [(char, &[char]); 12] = [
    ('a', &['4', '@']),
    ('b', &['8']),
    ('c', &['(', '{', '[', '<']),
    ('e', &['3']),
    ('g', &['6', '9']),
    ('i', &['1', '!', '|']),
    ('l', &['1', '|', '7']),
    ('o', &['0']),
    ('s', &['$', '5']),
    ('t', &['+', '7']),
    ('x', &['%']),
    ('z', &['2']),
];

/// A way of reading substituted characters back: pairs (typed character, letter).
type Reading = Vec<(char, char)>;

fn read_back(reading: &Reading, typed: char) -> Option<char> {
    reading
        .iter()
        .find(|(l33t, _)| *l33t == typed)
        .map(|(_, letter)| *letter)
}

/// Every reading of the substitution characters present in `text`: each letter takes one of
/// its characters, and where two letters claim the same character (1 for i or l) both
/// readings are kept. None when `text` has no substitution character.
fn l33t_readings(text: &[char]) -> Vec<Reading> {
    let mut readings: Vec<Reading> = vec![Vec::new()];
    let mut any = false;
    for (letter, typed_as) in L33T_TABLE {
        let present: Vec<char> = typed_as
            .iter()
            .copied()
            .filter(|c| text.contains(c))
            .collect();
        if present.is_empty() {
            continue;
        }
        any = true;
        let mut next = Vec::with_capacity(readings.len() * present.len() * 2);
        for l33t in present {
            for reading in &readings {
                let mut with = reading.clone();
                if let Some(taken) = reading.iter().position(|(c, _)| *c == l33t) {
                    next.push(reading.clone());
                    with.remove(taken);
                }
                with.push((l33t, letter));
                next.push(with);
            }
        }
        readings = next;
    }
    if !any {
        return Vec::new();
    }
    // The same reading is often reached twice; trying it once finds the same words.
    for reading in &mut readings {
        reading.sort_unstable();
    }
    readings.sort_unstable();
    readings.dedup();
    readings
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::strength::words::{Layout, WordLists};

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn with_matcher(context: &[&str], test: impl FnOnce(&Matcher)) {
        let lists = WordLists::load().unwrap();
        let dictionary = Dictionary::new(&lists, context);
        let graphs: Vec<Graph> = Layout::ALL.into_iter().map(Graph::load).collect();
        test(&Matcher {
            dictionary: &dictionary,
            graphs: &graphs,
            reference_year: 2026,
        });
    }

    fn words_of(matcher: &Matcher, text: &str) -> Vec<(usize, usize, List, usize, bool, bool)> {
        matcher
            .all(&chars(text))
            .into_iter()
            .filter_map(|m| match m.pattern {
                Pattern::Word {
                    list,
                    rank,
                    reversed,
                    l33t,
                    ..
                } => Some((m.i, m.j, list, rank, reversed, l33t)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn words_are_found_as_typed_reversed_and_substituted() {
        with_matcher(&["Sesame"], |matcher| {
            let cases = [
                ("xPassword", (1, 8, List::Passwords, 2, false, false)),
                ("drowssap", (0, 7, List::Passwords, 2, true, false)),
                ("p4ssw0rd", (0, 7, List::Passwords, 2, false, true)),
                ("my-sesame", (3, 8, List::Context, 1, false, false)),
            ];
            for (text, expected) in cases {
                let found = words_of(matcher, text);
                assert!(found.contains(&expected), "{text}: {found:?}");
            }
        });
    }

    #[test]
    fn l33t_readings_keep_both_letters_a_character_can_stand_for() {
        assert!(l33t_readings(&chars("plain")).is_empty());
        let readings = l33t_readings(&chars("1"));
        assert_eq!(readings, vec![vec![('1', 'i')], vec![('1', 'l')]]);
        let readings = l33t_readings(&chars("4|1"));
        assert!(
            readings.contains(&vec![('1', 'l'), ('4', 'a'), ('|', 'i')]),
            "{readings:?}"
        );
        assert!(
            readings.contains(&vec![('1', 'i'), ('4', 'a'), ('|', 'l')]),
            "{readings:?}"
        );
    }

    #[test]
    fn a_word_without_a_substituted_character_is_not_a_l33t_word() {
        with_matcher(&[], |matcher| {
            let found = words_of(matcher, "password1");
            assert!(!found.iter().any(|m| m.1 == 7 && m.5), "{found:?}");
            assert!(
                found.contains(&(0, 7, List::Passwords, 2, false, false)),
                "{found:?}"
            );
        });
    }
}
