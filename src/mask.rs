//! `run --mask`: replaces every occurrence of a secret value in a byte stream with
//! `<concealed by sesame>`, including values split across reads, without waiting for a newline.
//!
//! Matching is one Aho-Corasick automaton over all values (leftmost-longest). After each read the
//! masker passes on everything that cannot be the beginning of a value and holds back only the
//! shortest tail that still could be (at most the longest value's length minus one byte), so an
//! interactive program's prompts appear at once.

use std::io::{self, Read, Write};

use aho_corasick::{AhoCorasick, MatchKind};
use zeroize::Zeroizing;

use crate::secret::SecretValue;

pub const REPLACEMENT: &[u8] = b"<concealed by sesame>";

/// A streaming replacer for one output stream.
pub struct Masker {
    automaton: AhoCorasick,
    /// The values, for the "could this tail still become a value?" check.
    patterns: Vec<Zeroizing<Vec<u8>>>,
    /// Which bytes start some value: a cheap filter before comparing.
    first_bytes: [bool; 256],
    longest: usize,
    /// Bytes read but not yet passed on (a possible start of a value). Zeroized: it may hold
    /// part of a secret.
    pending: Zeroizing<Vec<u8>>,
}

impl Masker {
    /// `None` when there is nothing to mask.
    pub fn new<'a>(
        values: impl IntoIterator<Item = &'a SecretValue>,
    ) -> io::Result<Option<Masker>> {
        let mut patterns: Vec<Zeroizing<Vec<u8>>> = values
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(|v| Zeroizing::new(v.expose().to_vec()))
            .collect();
        patterns.sort_by(|a, b| a.as_slice().cmp(b.as_slice()));
        patterns.dedup_by(|a, b| a.as_slice() == b.as_slice());
        if patterns.is_empty() {
            return Ok(None);
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns.iter().map(|p| p.as_slice()))
            .map_err(io::Error::other)?;
        let mut first_bytes = [false; 256];
        for p in &patterns {
            first_bytes[usize::from(p[0])] = true;
        }
        let longest = patterns.iter().map(|p| p.len()).max().unwrap_or(1);
        Ok(Some(Masker {
            automaton,
            patterns,
            first_bytes,
            longest,
            pending: Zeroizing::new(Vec::with_capacity(64 * 1024 + longest)),
        }))
    }

    /// True when `tail` is a proper prefix of some value (it may still grow into one).
    fn could_become_value(&self, tail: &[u8]) -> bool {
        !tail.is_empty()
            && self.first_bytes[usize::from(tail[0])]
            && self
                .patterns
                .iter()
                .any(|p| p.len() > tail.len() && p.starts_with(tail))
    }

    /// Feeds bytes; writes what is certain to `out` (with values replaced).
    pub fn feed(&mut self, input: &[u8], out: &mut impl Write) -> io::Result<()> {
        self.pending.extend_from_slice(input);
        let buf = &self.pending[..];
        // The earliest position that could still grow into a value: only the last
        // `longest - 1` bytes can, since a longer run would already be a whole match or none.
        let earliest_hold = |from: usize| {
            (buf.len().saturating_sub(self.longest - 1).max(from)..buf.len())
                .find(|&i| self.could_become_value(&buf[i..]))
                .unwrap_or(buf.len())
        };
        let candidate = earliest_hold(0);
        let mut pos = 0;
        for m in self.automaton.find_iter(buf) {
            // A match at or after a possible longer value waits for the bytes still to come.
            if m.start() >= candidate {
                break;
            }
            out.write_all(&buf[pos..m.start()])?;
            out.write_all(REPLACEMENT)?;
            pos = m.end();
        }
        let hold = if pos > candidate {
            earliest_hold(pos)
        } else {
            candidate
        };
        out.write_all(&buf[pos..hold])?;
        out.flush()?;
        self.pending.drain(..hold);
        Ok(())
    }

    /// End of stream: what was held back cannot become a value any more.
    pub fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        let buf = std::mem::take(&mut *self.pending);
        let buf = Zeroizing::new(buf);
        let mut pos = 0;
        for m in self.automaton.find_iter(&buf[..]) {
            out.write_all(&buf[pos..m.start()])?;
            out.write_all(REPLACEMENT)?;
            pos = m.end();
        }
        out.write_all(&buf[pos..])?;
        out.flush()
    }
}

/// Copies `input` to `out` through `masker` until end of stream.
pub fn pump(mut input: impl Read, out: &mut impl Write, masker: &mut Masker) -> io::Result<()> {
    let mut buf = Zeroizing::new(vec![0u8; 64 * 1024]);
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        masker.feed(&buf[..n], out)?;
    }
    masker.finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(values: &[&str]) -> Masker {
        let values: Vec<SecretValue> = values
            .iter()
            .map(|v| SecretValue::new(Zeroizing::new(v.as_bytes().to_vec())))
            .collect();
        Masker::new(&values)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("a masker"))
    }

    /// Feeds `chunks` one by one; returns the output after each chunk and at the end.
    fn run(m: &mut Masker, chunks: &[&str]) -> (Vec<String>, String) {
        let mut out = Vec::new();
        let mut after_each = Vec::new();
        for chunk in chunks {
            m.feed(chunk.as_bytes(), &mut out).ok();
            after_each.push(String::from_utf8_lossy(&out).into_owned());
        }
        m.finish(&mut out).ok();
        (after_each, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn whole_and_split_values_are_concealed() {
        let mut m = masker(&["sk-secret"]);
        let (_, all) = run(&mut m, &["key: sk-sec", "ret done; sk-", "secret"]);
        assert_eq!(
            all,
            "key: <concealed by sesame> done; <concealed by sesame>"
        );
    }

    #[test]
    fn text_that_cannot_start_a_value_is_passed_on_at_once() {
        let mut m = masker(&["sk-secret"]);
        let (after, _) = run(&mut m, &["Password: ", "s", "x"]);
        assert_eq!(after[0], "Password: ");
        assert_eq!(after[1], "Password: ", "a lone 's' may start the value");
        assert_eq!(after[2], "Password: sx");
    }

    #[test]
    fn a_value_that_prefixes_a_longer_one_waits_for_the_longer() {
        let mut m = masker(&["abc", "abcdef"]);
        let (_, all) = run(&mut m, &["xxabc", "def yy abc zz"]);
        assert_eq!(all, "xx<concealed by sesame> yy <concealed by sesame> zz");
    }

    #[test]
    fn a_value_overlapping_a_shorter_one_is_not_partly_revealed() {
        let mut m = masker(&["xyz1234", "123"]);
        let (after, all) = run(&mut m, &["xyz123", "4 and 123"]);
        assert_eq!(after[0], "");
        assert_eq!(all, "<concealed by sesame> and <concealed by sesame>");
    }

    #[test]
    fn every_split_point_of_every_value_is_concealed() {
        let text = "a=TOKEN123 b=PASSWORD c=TOKEN123TOKEN123 end";
        for split in 0..text.len() {
            let mut m = masker(&["TOKEN123", "PASSWORD"]);
            let (_, all) = run(&mut m, &[&text[..split], &text[split..]]);
            assert_eq!(
                all,
                "a=<concealed by sesame> b=<concealed by sesame> c=<concealed by sesame><concealed by sesame> end",
                "split at {split}"
            );
        }
    }
}
