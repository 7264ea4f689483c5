//! `run --mask`: replaces every occurrence of a secret value in a byte stream with
//! `<concealed by sesame>`, including values split across reads, without waiting for a newline.
//! The output is exactly what one leftmost-longest Aho-Corasick pass over the whole stream would
//! give, however the stream is split; only the shortest tail that could still grow into a value
//! is held back, so an interactive program's prompts appear at once. After an idle pause the
//! caller may release a held tail that is too short to identify any value
//! ([`Masker::release_idle`]); the guarantee with releases is stated there.

use std::io::{self, Write};

use zeroize::{Zeroize, Zeroizing};

use crate::secret::SecretValue;
use screen::Screen;

mod screen;

pub(crate) const REPLACEMENT: &[u8] = b"<concealed by sesame>";

/// The most bytes [`Masker::feed`] adds to its held bytes at once, so that they never outgrow the
/// buffer allocated in [`Masker::new`]: a reallocation would leave behind an unwiped copy of
/// output that may hold a value.
const FEED_PIECE: usize = 64 * 1024;

/// A streaming replacer for one output stream.
///
/// Why the output equals a whole-stream replacement: `pending` always starts where the
/// whole-stream scan would start looking for its next match (everything before it is decided and
/// written). Let `hold` be the earliest position in `pending` whose tail is a proper prefix of a
/// value: only a match starting there or later can run past the bytes read so far. A match the
/// automaton finds in `pending` that starts before `hold` is therefore the whole stream's match
/// too (no earlier start and no longer match at its start can appear later), and the scan moves
/// on to its end — where `hold` must be looked up again, since the match may have covered it.
/// Bytes before `hold` that no such match covers start no match at all: they are written as they
/// are, and `hold` becomes the new start of `pending`.
pub(crate) struct Masker {
    automaton: crate::matcher::Searcher,
    /// The values themselves, for the idle-release rule (consulted only when output pauses).
    values: Vec<Zeroizing<Vec<u8>>>,
    /// How many leading bytes of `pending` were already written by [`Masker::release_idle`].
    shown: usize,
    /// The values' prefixes, to find `hold` in time linear in the bytes looked at.
    prefixes: Prefixes,
    longest: usize,
    /// Bytes read but not yet passed on (a possible start of a value). Zeroized: it may hold
    /// part of a secret.
    pending: Zeroizing<Vec<u8>>,
    /// On a terminal: what it shows of `pending`, matched instead of `pending` itself, so that
    /// colour and other escape sequences inside a value do not hide it ([`screen`]).
    screen: Option<Screen>,
    /// The most bytes of `pending` kept back for one possible value ([`screen::MAX_INSIDE`] of
    /// escape sequences over its own length on a terminal; no limit needed on a pipe).
    held_limit: usize,
}

impl Masker {
    /// `None` when there is nothing to mask.
    pub(crate) fn new<'a>(
        values: impl IntoIterator<Item = &'a SecretValue>,
    ) -> io::Result<Option<Masker>> {
        Masker::build(values, false)
    }

    /// A masker for output shown on a terminal: a value is found even with CSI or OSC escape
    /// sequences between its bytes (the whole span is concealed, its colours replayed after the
    /// mark). A value that itself holds an ESC byte makes it match bytes as [`Masker::new`] does.
    pub(crate) fn for_terminal<'a>(
        values: impl IntoIterator<Item = &'a SecretValue>,
    ) -> io::Result<Option<Masker>> {
        Masker::build(values, true)
    }

    fn build<'a>(
        values: impl IntoIterator<Item = &'a SecretValue>,
        terminal: bool,
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
        let automaton = crate::matcher::searcher(patterns.iter().map(|p| p.as_slice()))?;
        let patterns: Vec<Zeroizing<Vec<u8>>> = patterns;
        let prefixes = Prefixes::new(&patterns)?;
        let longest = patterns.iter().map(|p| p.len()).max().unwrap_or(1);
        let terminal = terminal && !patterns.iter().any(|p| p.contains(&0x1b));
        // Held bytes are fewer than `longest` after each piece (see `feed_piece`); on a terminal,
        // plus the sequences inside, and an unfinished one at the end.
        let (held_limit, capacity) = if terminal {
            let limit = longest + screen::MAX_INSIDE;
            (limit, FEED_PIECE + limit + screen::MAX_SEQUENCE)
        } else {
            (usize::MAX, FEED_PIECE + longest)
        };
        Ok(Some(Masker {
            automaton,
            values: patterns,
            shown: 0,
            prefixes,
            longest,
            pending: Zeroizing::new(Vec::with_capacity(capacity)),
            screen: terminal.then(|| Screen::with_capacity(capacity)),
            held_limit,
        }))
    }

    /// Feeds bytes; writes what is certain to `out` (with values replaced).
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut impl Write) -> io::Result<()> {
        for piece in input.chunks(FEED_PIECE) {
            self.feed_piece(piece, out)?;
        }
        Ok(())
    }

    fn feed_piece(&mut self, input: &[u8], out: &mut impl Write) -> io::Result<()> {
        self.pending.extend_from_slice(input);
        if let Some(screen) = &mut self.screen {
            screen.read(&self.pending, false);
        }
        // The search runs on `buf` (the bytes as shown); writing takes `raw` (the bytes as
        // written by the program); `place` turns a position in `buf` into one in `raw`.
        let raw = &self.pending[..];
        let (buf, place) = view(raw, self.screen.as_ref());
        let end = buf.len();
        // Only the last `longest - 1` bytes can hold a proper prefix of a value.
        let window = end - (self.longest - 1).min(end);
        let mut tails = self.prefixes.tails(buf, window);
        // A tail spread over more than `held_limit` bytes of output is not held back.
        let limit = self.held_limit;
        let mut hold_from = |from: usize| {
            let mut hold = tails.earliest_from(from);
            while hold < end && raw.len() - place.start(hold) > limit {
                hold = tails.earliest_from(hold + 1);
            }
            hold
        };
        let mut hold = hold_from(0);
        let shown = self.shown;
        // Bytes `from..to` not already released.
        let unshown = |from: usize, to: usize| &raw[from.max(shown).min(to)..to];
        let mut pos = 0; // in `raw`
        for m in self.automaton.find_iter(buf) {
            if m.start() >= hold {
                break; // a match from here on may still run past `end`: wait for more bytes
            }
            let (start, stop) = (place.start(m.start()), place.end(m.end()));
            out.write_all(unshown(pos, start))?;
            out.write_all(REPLACEMENT)?;
            place.after_mark(&raw[start..stop], out)?;
            pos = stop;
            if m.end() > hold {
                hold = hold_from(m.end());
            }
        }
        let hold = place.start(hold);
        out.write_all(unshown(pos, hold))?;
        out.flush()?;
        // Moved down in place and the vacated bytes wiped (`drain` would leave them, output that
        // may hold a value, in the spare capacity).
        let kept = self.pending.len() - hold;
        self.pending.copy_within(hold.., 0);
        self.pending[kept..].zeroize();
        self.pending.truncate(kept);
        self.shown = shown.saturating_sub(hold);
        Ok(())
    }

    /// True when bytes are held back that [`Masker::release_idle`] has not written yet.
    pub(crate) fn holds_unreleased(&self) -> bool {
        self.pending.len() > self.shown
    }

    /// Called when the output has paused (about 50 ms): writes the held-back tail if it is too
    /// short to identify any value, and returns whether it did. The rule: the held bytes `H`
    /// contain no whole value, and every tail of `H` that begins a value is at most a quarter of
    /// that value's length. So at most a quarter of any value is ever shown, and only when the
    /// program paused in the middle of writing it.
    ///
    /// The released bytes stay in `pending`: if the value does follow, the match is still found
    /// at the same place as in a whole-stream pass, and its remaining bytes are replaced. The
    /// output is then the whole-stream replacement except that a match whose first bytes were
    /// released is written as those bytes followed by the replacement.
    pub(crate) fn release_idle(&mut self, out: &mut impl Write) -> io::Result<bool> {
        if !self.holds_unreleased() {
            return Ok(false);
        }
        // On a terminal the rule is applied to what the terminal would show.
        let held: &[u8] = match &mut self.screen {
            Some(screen) => {
                screen.read(&self.pending, true);
                &screen.shown
            }
            None => &self.pending,
        };
        if !releasable(&self.values, held) {
            return Ok(false);
        }
        out.write_all(&self.pending[self.shown..])?;
        out.flush()?;
        self.shown = self.pending.len();
        Ok(true)
    }

    /// End of stream: what was held back cannot become a value any more.
    pub(crate) fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        let raw = Zeroizing::new(std::mem::take(&mut *self.pending));
        if let Some(screen) = &mut self.screen {
            screen.read(&raw, true);
        }
        let (buf, place) = view(&raw, self.screen.as_ref());
        let shown = std::mem::take(&mut self.shown);
        let unshown = |from: usize, to: usize| &raw[from.max(shown).min(to)..to];
        let mut pos = 0;
        for m in self.automaton.find_iter(buf) {
            let (start, stop) = (place.start(m.start()), place.end(m.end()));
            out.write_all(unshown(pos, start))?;
            out.write_all(REPLACEMENT)?;
            place.after_mark(&raw[start..stop], out)?;
            pos = stop;
        }
        out.write_all(unshown(pos, raw.len()))?;
        out.flush()
    }
}

/// The bytes a search runs on: `raw` itself on a pipe, what the terminal shows of it on a
/// terminal; and how positions in them map back to `raw`.
fn view<'a>(raw: &'a [u8], screen: Option<&'a Screen>) -> (&'a [u8], Place<'a>) {
    match screen {
        Some(screen) => (&screen.shown, Place::Screen(screen)),
        None => (raw, Place::Raw),
    }
}

/// Positions in the searched bytes, as positions in the output.
#[derive(Clone, Copy)]
enum Place<'a> {
    Raw,
    Screen(&'a Screen),
}

impl Place<'_> {
    /// Where searched byte `i` starts (`i` = their number: where the undecided rest starts).
    fn start(self, i: usize) -> usize {
        match self {
            Place::Raw => i,
            Place::Screen(screen) => screen.start(i),
        }
    }

    /// Where the searched bytes before `end` (> 0) end.
    fn end(self, end: usize) -> usize {
        match self {
            Place::Raw => end,
            Place::Screen(screen) => screen.end(end),
        }
    }

    /// After a mark on a terminal: the colours set inside the concealed `span`.
    fn after_mark(self, span: &[u8], out: &mut impl Write) -> io::Result<()> {
        match self {
            Place::Raw => Ok(()),
            Place::Screen(_) => screen::replay_colours(span, out),
        }
    }
}

/// The idle-release rule of [`Masker::release_idle`] for held bytes `held`.
pub(crate) fn releasable(values: &[Zeroizing<Vec<u8>>], held: &[u8]) -> bool {
    (0..held.len()).all(|i| {
        let tail = &held[i..];
        values.iter().all(|v| {
            if v.len() <= tail.len() {
                !tail.starts_with(v) // a whole value inside: never
            } else {
                !v.starts_with(tail) || tail.len() * 4 <= v.len()
            }
        })
    })
}

/// The values' prefixes as a trie with Aho-Corasick failure links. Scanning bytes from the root
/// ends at the longest tail of those bytes that begins a value; the failure links then give every
/// shorter such tail, longest first. Linear in the bytes scanned, whatever the values' lengths.
/// Zeroized on drop: the edges spell the values.
struct Prefixes {
    /// The byte on the edge into each node (unused for the root).
    byte: Vec<u8>,
    first_child: Vec<u32>,
    next_sibling: Vec<u32>,
    /// The length of the prefix a node stands for.
    depth: Vec<u32>,
    /// The node of the longest proper suffix of this node's prefix that is itself a prefix.
    fail: Vec<u32>,
    /// The nearest node on the failure chain, this one included, that some value goes on past:
    /// the longest tail that could still grow into a value.
    growable: Vec<u32>,
}

/// Written out rather than derived: the derive would pull a second `syn` into the build.
impl Drop for Prefixes {
    fn drop(&mut self) {
        self.byte.zeroize();
        self.first_child.zeroize();
        self.next_sibling.zeroize();
        self.depth.zeroize();
        self.fail.zeroize();
        self.growable.zeroize();
    }
}

const ROOT: u32 = 0;
/// No child / no sibling (the root is never anyone's child, so its id is free for this).
const NONE: u32 = 0;

impl Prefixes {
    fn new(patterns: &[Zeroizing<Vec<u8>>]) -> io::Result<Prefixes> {
        let mut trie = Prefixes {
            byte: vec![0],
            first_child: vec![NONE],
            next_sibling: vec![NONE],
            depth: vec![0],
            fail: vec![ROOT],
            growable: vec![ROOT],
        };
        let too_long = || io::Error::other("the values to mask are too long to index");
        for pattern in patterns {
            let mut node = ROOT;
            for &b in pattern.iter() {
                node = match trie.child(node, b) {
                    Some(child) => child,
                    None => {
                        let child = u32::try_from(trie.byte.len()).map_err(|_| too_long())?;
                        let depth = trie.depth[node as usize] + 1;
                        trie.byte.push(b);
                        trie.first_child.push(NONE);
                        trie.next_sibling.push(trie.first_child[node as usize]);
                        trie.depth.push(depth);
                        trie.fail.push(ROOT);
                        trie.growable.push(ROOT);
                        trie.first_child[node as usize] = child;
                        child
                    }
                };
            }
        }
        // Breadth first, so a node's failure target (shallower) is complete before the node.
        let mut queue = std::collections::VecDeque::from([ROOT]);
        while let Some(node) = queue.pop_front() {
            let n = node as usize;
            trie.growable[n] = if trie.first_child[n] != NONE {
                node
            } else {
                trie.growable[trie.fail[n] as usize]
            };
            let mut child = trie.first_child[n];
            while child != NONE {
                trie.fail[child as usize] = if node == ROOT {
                    ROOT
                } else {
                    trie.step(trie.fail[n], trie.byte[child as usize])
                };
                queue.push_back(child);
                child = trie.next_sibling[child as usize];
            }
        }
        Ok(trie)
    }

    fn child(&self, node: u32, b: u8) -> Option<u32> {
        let mut child = self.first_child[node as usize];
        while child != NONE {
            if self.byte[child as usize] == b {
                return Some(child);
            }
            child = self.next_sibling[child as usize];
        }
        None
    }

    /// The node for the longest tail of (node's prefix + `b`) that is a prefix.
    fn step(&self, mut node: u32, b: u8) -> u32 {
        loop {
            if let Some(child) = self.child(node, b) {
                return child;
            }
            if node == ROOT {
                return ROOT;
            }
            node = self.fail[node as usize];
        }
    }

    /// The tails of `buf` that start at or after `from` and could still grow into a value.
    fn tails(&self, buf: &[u8], from: usize) -> Tails<'_> {
        let node = buf[from..].iter().fold(ROOT, |node, &b| self.step(node, b));
        Tails {
            prefixes: self,
            node: self.growable[node as usize],
            end: buf.len(),
        }
    }
}

/// The growable tails of one buffer, walked from the longest (earliest start) to the shortest.
struct Tails<'a> {
    prefixes: &'a Prefixes,
    node: u32,
    end: usize,
}

impl Tails<'_> {
    /// The earliest position at or after `from` whose tail could still grow into a value, or the
    /// buffer's end when there is none. Calls must not decrease `from`.
    fn earliest_from(&mut self, from: usize) -> usize {
        loop {
            let depth = self.prefixes.depth[self.node as usize] as usize;
            if depth == 0 {
                return self.end;
            }
            if self.end - depth >= from {
                return self.end - depth;
            }
            self.node = self.prefixes.growable[self.prefixes.fail[self.node as usize] as usize];
        }
    }
}

/// The masking property, shared by the unit property test, the `mask` fuzz target and the corpus
/// replay in `tests/`. Not part of sesame's interface.
#[doc(hidden)]
#[cfg(any(test, fuzzing))]
#[allow(unreachable_pub)] // `pub` for the fuzz targets, which build with `--cfg fuzzing`
pub mod property;

#[cfg(test)]
mod tests;
