//! The data of the estimate: six ranked word lists (common passwords, English words, names,
//! words from television and film) and four keyboard graphs, all taken from zxcvbn
//! (`src/strength/data/README.md`). The lists are stored deflated (`build.rs`) and inflated only
//! when a passphrase is being set; nothing here is secret, so nothing here is wiped.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// The ranked lists, in the order their ranks are kept in [`Ranks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum List {
    Passwords,
    English,
    FemaleNames,
    MaleNames,
    Surnames,
    TvAndFilm,
    /// Words the caller names (the vault's file name, "sesame"): an attacker tries them first.
    Context,
}

/// The six built-in lists, their deflated text and the list each one is.
const PACKED: [(List, &[u8]); 6] = [
    (
        List::Passwords,
        include_bytes!(concat!(env!("OUT_DIR"), "/passwords.txt.deflate")),
    ),
    (
        List::English,
        include_bytes!(concat!(env!("OUT_DIR"), "/english_wikipedia.txt.deflate")),
    ),
    (
        List::FemaleNames,
        include_bytes!(concat!(env!("OUT_DIR"), "/female_names.txt.deflate")),
    ),
    (
        List::MaleNames,
        include_bytes!(concat!(env!("OUT_DIR"), "/male_names.txt.deflate")),
    ),
    (
        List::Surnames,
        include_bytes!(concat!(env!("OUT_DIR"), "/surnames.txt.deflate")),
    ),
    (
        List::TvAndFilm,
        include_bytes!(concat!(env!("OUT_DIR"), "/us_tv_and_film.txt.deflate")),
    ),
];

/// No list inflates past this (the largest is 277 KB): a corrupt build cannot exhaust memory.
const MAX_LIST_BYTES: usize = 1 << 20;

/// A word's rank in each built-in list (1 = most common), 0 where the list lacks it.
pub(super) type Ranks = [u32; 6];

/// The inflated lists; [`Dictionary::new`] indexes them without copying a word.
pub(super) struct WordLists {
    texts: Vec<String>,
}

impl WordLists {
    /// Inflates the six lists (a few milliseconds; see `docs/SECURITY.md`).
    pub(super) fn load() -> Result<Self> {
        let mut texts = Vec::with_capacity(PACKED.len());
        for (_, packed) in PACKED {
            let bytes = miniz_oxide::inflate::decompress_to_vec_with_limit(packed, MAX_LIST_BYTES)
                .map_err(|_| corrupt())?;
            texts.push(String::from_utf8(bytes).map_err(|_| corrupt())?);
        }
        Ok(WordLists { texts })
    }

    /// The words of the built-in list at `index` (in [`PACKED`] order), most common first.
    #[cfg(test)]
    pub(super) fn words(&self, index: usize) -> Vec<&str> {
        self.texts
            .get(index)
            .map_or_else(Vec::new, |t| t.lines().collect())
    }
}

fn corrupt() -> Error {
    Error::Failed(
        "the word lists of the passphrase-strength check are damaged in this build of sesame; \
         reinstall sesame, or pass --allow-weak to skip the check"
            .into(),
    )
}

/// Every listed word with its ranks, plus the caller's context words (lowercased, ranked by
/// position: the first is rank 1).
pub(super) struct Dictionary<'w> {
    words: HashMap<&'w str, Ranks>,
    context: HashMap<String, usize>,
    /// The most characters any word has: no longer substring needs looking up.
    longest: usize,
}

impl<'w> Dictionary<'w> {
    pub(super) fn new(lists: &'w WordLists, context: &[&str]) -> Self {
        let mut words: HashMap<&str, Ranks> = HashMap::with_capacity(100_000);
        let mut longest = 0;
        for (index, text) in lists.texts.iter().enumerate() {
            for (rank, word) in text.lines().enumerate() {
                longest = longest.max(word.chars().count());
                // A word listed twice keeps its last rank, as zxcvbn's index does.
                words.entry(word).or_default()[index] = u32::try_from(rank + 1).unwrap_or(u32::MAX);
            }
        }
        let context: HashMap<String, usize> = context
            .iter()
            .enumerate()
            .map(|(index, word)| (word.to_lowercase(), index + 1))
            .collect();
        for word in context.keys() {
            longest = longest.max(word.chars().count());
        }
        Dictionary {
            words,
            context,
            longest,
        }
    }

    pub(super) fn longest_word(&self) -> usize {
        self.longest
    }

    /// Calls `found` with each list and rank `word` (lowercase) has.
    pub(super) fn lookup(&self, word: &str, mut found: impl FnMut(List, usize)) {
        if let Some(ranks) = self.words.get(word) {
            for ((list, _), &rank) in PACKED.iter().zip(ranks) {
                if rank > 0 {
                    found(*list, rank as usize);
                }
            }
        }
        if let Some(&rank) = self.context.get(word) {
            found(List::Context, rank);
        }
    }
}

/// Which keyboard a walk was found on: the two full keyboards count shifted keys and share a
/// guess model, the two keypads share another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Layout {
    Qwerty,
    Dvorak,
    Keypad,
    MacKeypad,
}

impl Layout {
    pub(super) const ALL: [Layout; 4] = [
        Layout::Qwerty,
        Layout::Dvorak,
        Layout::Keypad,
        Layout::MacKeypad,
    ];

    pub(super) fn is_keyboard(self) -> bool {
        matches!(self, Layout::Qwerty | Layout::Dvorak)
    }

    fn text(self) -> &'static str {
        match self {
            Layout::Qwerty => include_str!("data/qwerty.txt"),
            Layout::Dvorak => include_str!("data/dvorak.txt"),
            Layout::Keypad => include_str!("data/keypad.txt"),
            Layout::MacKeypad => include_str!("data/mac_keypad.txt"),
        }
    }
}

/// A keyboard as a graph: for each key, its neighbours in a fixed order of directions, each
/// neighbour the characters of one key (unshifted first), `None` where there is no key.
pub(super) struct Graph {
    pub(super) layout: Layout,
    keys: HashMap<char, Vec<Option<&'static str>>>,
}

impl Graph {
    /// Parses the graph's data file: one key per line, `KEY NEIGHBOUR...`, `none` for no key.
    pub(super) fn load(layout: Layout) -> Self {
        let mut keys = HashMap::new();
        for line in layout.text().lines() {
            let mut fields = line.split(' ');
            let Some(key) = fields.next().and_then(|k| k.chars().next()) else {
                continue;
            };
            let neighbours = fields.map(|n| (n != "none").then_some(n)).collect();
            keys.insert(key, neighbours);
        }
        Graph { layout, keys }
    }

    pub(super) fn neighbours(&self, key: char) -> &[Option<&'static str>] {
        self.keys.get(&key).map_or(&[], Vec::as_slice)
    }

    /// How many keys a walk can start on.
    #[cfg(test)]
    fn starts(&self) -> u64 {
        self.keys.len() as u64
    }

    /// The average number of neighbours a key has, rounded down (as zxcvbn counts it).
    #[cfg(test)]
    fn average_degree(&self) -> u64 {
        let edges: usize = self
            .keys
            .values()
            .map(|n| n.iter().filter(|k| k.is_some()).count())
            .sum();
        (edges / self.keys.len().max(1)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_inflate_and_rank_from_one() {
        let lists = WordLists::load().unwrap_or_else(|e| panic!("{e}"));
        let dictionary = Dictionary::new(&lists, &["Sesame"]);
        let mut found = Vec::new();
        dictionary.lookup("password", |list, rank| found.push((list, rank)));
        assert!(found.contains(&(List::Passwords, 2)), "{found:?}");
        found.clear();
        dictionary.lookup("sesame", |list, rank| found.push((list, rank)));
        assert!(found.contains(&(List::Context, 1)), "{found:?}");
        assert_eq!(
            lists.texts.iter().map(|t| t.lines().count()).sum::<usize>(),
            93_855
        );
    }

    #[test]
    fn graphs_have_zxcvbns_shape() {
        let qwerty = Graph::load(Layout::Qwerty);
        use crate::strength::guesses::{
            KEYBOARD_DEGREE, KEYBOARD_STARTS, KEYPAD_DEGREE, KEYPAD_STARTS,
        };
        assert_eq!(
            (qwerty.starts(), qwerty.average_degree()),
            (KEYBOARD_STARTS, KEYBOARD_DEGREE)
        );
        assert_eq!(
            qwerty.neighbours('q'),
            [None, Some("1!"), Some("2@"), Some("wW"), Some("aA"), None]
        );
        let keypad = Graph::load(Layout::Keypad);
        assert_eq!(
            (keypad.starts(), keypad.average_degree()),
            (KEYPAD_STARTS, KEYPAD_DEGREE)
        );
        assert_eq!(Graph::load(Layout::Dvorak).starts(), 94);
        assert_eq!(Graph::load(Layout::MacKeypad).starts(), 16);
    }
}
