//! The matcher's property, shared by its unit tests, the `matcher` fuzz target and the corpus
//! replay in `tests/`: every kind of searcher, wherever it can be built over a set of values,
//! finds exactly the matches of a by-hand leftmost-longest search. Not part of sesame's
//! interface.

use super::{Kind, Searcher, searcher, searcher_of_kind};

/// The bytes values and output are made of: few, so values share beginnings, overlap and nest.
const SYMBOLS: &[u8; 5] = b"abcx-";

/// Leftmost-longest by hand: at each position, the longest value that starts there.
pub fn by_hand(values: &[Vec<u8>], haystack: &[u8]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < haystack.len() {
        let longest = values
            .iter()
            .filter(|v| haystack[at..].starts_with(v))
            .map(|v| v.len())
            .max();
        match longest {
            Some(len) => {
                found.push((at, at + len));
                at += len;
            }
            None => at += 1,
        }
    }
    found
}

/// What `searcher` finds in `haystack`, as (start, end) pairs.
pub fn spans(searcher: &Searcher, haystack: &[u8]) -> Vec<(usize, usize)> {
    searcher
        .find_iter(haystack)
        .map(|m| (m.start(), m.end()))
        .collect()
}

/// Asserts the property for `values` (non-empty byte strings) over `haystack`.
pub fn check(values: &[Vec<u8>], haystack: &[u8]) {
    let expected = by_hand(values, haystack);
    let patterns = || values.iter().map(|v| v.as_slice());
    for kind in [Kind::Packed, Kind::Sampled, Kind::Automaton] {
        if let Ok(Some(found)) = searcher_of_kind(kind, patterns()) {
            assert_eq!(spans(&found, haystack), expected, "{kind:?}");
        }
    }
    if let Ok(chosen) = searcher(patterns()) {
        assert_eq!(spans(&chosen, haystack), expected, "{:?}", chosen.kind());
    }
}

/// Decodes a fuzz input and checks the property. The first byte gives the number of values
/// (1 to 100); then each value is a length byte (1 to 40 bytes, mostly 8 or more, where the
/// sampled searcher applies) and that many symbol bytes; the rest is the output, where a byte
/// from 0x80 up stands for a whole value and any other for one symbol.
pub fn check_fuzz_input(data: &[u8]) {
    let Some((&count, mut rest)) = data.split_first() else {
        return;
    };
    let mut values = Vec::new();
    for _ in 0..1 + usize::from(count) % 100 {
        let Some((&len, tail)) = rest.split_first() else {
            break;
        };
        let len = 1 + usize::from(len) % 40;
        let (bytes, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        if bytes.is_empty() {
            break;
        }
        values.push(symbols(bytes));
    }
    if values.is_empty() {
        return;
    }
    let mut haystack = Vec::new();
    for &b in rest {
        if b >= 0x80 {
            haystack.extend_from_slice(&values[usize::from(b - 0x80) % values.len()]);
        } else {
            haystack.push(SYMBOLS[usize::from(b) % SYMBOLS.len()]);
        }
    }
    check(&values, &haystack);
}

fn symbols(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| SYMBOLS[usize::from(b) % SYMBOLS.len()])
        .collect()
}

/// Replays every input of a fuzz target's corpus (`fuzz/corpus/TARGET`) through its property,
/// naming the input that fails: stable-Rust CI covers what the fuzzer kept.
#[cfg(test)]
pub(crate) fn replay_corpus(target: &str, property: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<std::path::PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty(), "the {target} corpus is empty");
    for path in files {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let caught = std::panic::catch_unwind(|| property(&bytes));
        assert!(
            caught.is_ok(),
            "{} fails the {target} property",
            path.display()
        );
    }
}
