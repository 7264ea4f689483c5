//! Masking on a terminal: match what the terminal *shows*. A program that colours part of a value
//! (`grep --color`, `less` highlighting a search, `print(k[:10] + "\033[32m" + k[10:])`) puts
//! escape sequences between the value's bytes; the terminal draws the value whole, so a byte
//! match would miss it. Here CSI sequences (SGR colours among them) and OSC sequences, and nothing
//! else, are taken out of the bytes the matcher sees, with each remaining byte's place in the real
//! output kept, so a match covers the whole span with the sequences inside it.
//!
//! What stays possible, by design: a program that draws a value in pieces by moving the cursor
//! (the pieces are apart in the byte stream, with text between them), or that scrolls a line
//! sideways, shows the value without ever writing it in one run (see docs/SECURITY.md).

use std::io::{self, Write};

use zeroize::{Zeroize, Zeroizing};

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;

/// The longest escape sequence taken out. Longer ones (an OSC 8 link to a long URL, or bytes that
/// only look like the start of one) stay in the bytes matched, so a value they split is not
/// found, as before; the bound keeps the bytes held back for an unfinished sequence small.
pub(super) const MAX_SEQUENCE: usize = 512;

/// The most bytes of escape sequences one value may hold and still be held back whole while it
/// arrives (a longer run makes the start of the value be written before its end is known).
pub(super) const MAX_INSIDE: usize = 4096;

/// What one escape sequence at the start of some bytes is.
#[derive(Debug, PartialEq, Eq)]
enum Sequence {
    /// A whole CSI or OSC sequence of this many bytes; `sgr` for a CSI ending in `m`.
    Whole { len: usize, sgr: bool },
    /// It may still become one: the bytes end first.
    Unfinished,
    /// Not a sequence taken out: its ESC is matched as an ordinary byte.
    Not,
}

/// Reads the sequence at the start of `bytes` (which starts with ESC).
fn sequence(bytes: &[u8]) -> Sequence {
    let Some(&kind) = bytes.get(1) else {
        return Sequence::Unfinished;
    };
    let body = bytes.iter().enumerate().skip(2).take(MAX_SEQUENCE - 2);
    match kind {
        // CSI: parameter bytes 0x30-0x3F, then intermediate bytes 0x20-0x2F, then a final byte
        // 0x40-0x7E (ECMA-48 5.4).
        b'[' => {
            let mut intermediate = false;
            for (i, &b) in body {
                match b {
                    0x30..=0x3f if !intermediate => {}
                    0x20..=0x2f => intermediate = true,
                    0x40..=0x7e => {
                        return Sequence::Whole {
                            len: i + 1,
                            sgr: b == b'm',
                        };
                    }
                    _ => return Sequence::Not,
                }
            }
        }
        // OSC: up to BEL or ST (ESC \).
        b']' => {
            let mut after_esc = false;
            for (i, &b) in body {
                match (after_esc, b) {
                    (true, b'\\') => {
                        return Sequence::Whole {
                            len: i + 1,
                            sgr: false,
                        };
                    }
                    (true, _) => return Sequence::Not,
                    (false, BEL) => {
                        return Sequence::Whole {
                            len: i + 1,
                            sgr: false,
                        };
                    }
                    (false, ESC) => after_esc = true,
                    (false, _) => {}
                }
            }
        }
        _ => return Sequence::Not,
    }
    if bytes.len() < MAX_SEQUENCE {
        Sequence::Unfinished
    } else {
        Sequence::Not
    }
}

/// The bytes the terminal shows of some output: the output with its CSI and OSC sequences taken
/// out, and where each shown byte is in the output. Buffers are allocated once, at their final
/// size: growing would leave unwiped copies of output that may hold a value.
pub(super) struct Screen {
    /// The shown bytes. Zeroized: they may hold a value.
    pub shown: Zeroizing<Vec<u8>>,
    /// For each shown byte, its index in the output.
    pub at: Vec<usize>,
    /// Where an unfinished sequence starts at the end of the output (else the output's length):
    /// nothing from there on can be decided yet.
    pub cut: usize,
}

impl Screen {
    pub(super) fn with_capacity(capacity: usize) -> Screen {
        Screen {
            shown: Zeroizing::new(Vec::with_capacity(capacity)),
            at: Vec::with_capacity(capacity),
            cut: 0,
        }
    }

    /// Reads `output` afresh. At the end of the stream (`at_end`), an unfinished sequence is
    /// ordinary bytes.
    pub(super) fn read(&mut self, output: &[u8], at_end: bool) {
        // Only the used part: the spare capacity was wiped when it was last used (wiping all of
        // it on each read cost more than the reading).
        self.shown.as_mut_slice().zeroize();
        self.shown.clear();
        self.at.clear();
        self.cut = output.len();
        let mut i = 0;
        while i < output.len() {
            // The bytes up to the next ESC are shown as they are, in one piece.
            let next = memchr::memchr(ESC, &output[i..]).map_or(output.len(), |k| i + k);
            self.shown.extend_from_slice(&output[i..next]);
            self.at.extend(i..next);
            i = next;
            if i == output.len() {
                break;
            }
            match sequence(&output[i..]) {
                Sequence::Whole { len, .. } => {
                    i += len;
                    continue;
                }
                Sequence::Unfinished if !at_end => {
                    self.cut = i;
                    return;
                }
                Sequence::Unfinished | Sequence::Not => {}
            }
            self.shown.push(ESC);
            self.at.push(i);
            i += 1;
        }
    }

    /// Where shown byte `i` is in the output; `i` = the number of shown bytes gives [`Screen::cut`].
    pub(super) fn start(&self, i: usize) -> usize {
        self.at.get(i).copied().unwrap_or(self.cut)
    }

    /// Where the shown bytes before `end` (> 0) end in the output.
    pub(super) fn end(&self, end: usize) -> usize {
        self.at[end - 1] + 1
    }
}

/// Writes the SGR sequences (colours, bold, ...) of a concealed span after its mark, so that the
/// text after it has the colours the program chose; other sequences of the span (cursor moves,
/// erasures, titles) are dropped with it.
pub(super) fn replay_colours(span: &[u8], out: &mut impl Write) -> io::Result<()> {
    let mut i = 0;
    while i < span.len() {
        if span[i] == ESC
            && let Sequence::Whole { len, sgr } = sequence(&span[i..])
        {
            if sgr {
                out.write_all(&span[i..i + len])?;
            }
            i += len;
            continue;
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_read_by_their_grammar() {
        assert_eq!(
            sequence(b"\x1b[01;31mX"),
            Sequence::Whole { len: 8, sgr: true }
        );
        assert_eq!(sequence(b"\x1b[K"), Sequence::Whole { len: 3, sgr: false });
        assert_eq!(
            sequence(b"\x1b]0;title\x07"),
            Sequence::Whole {
                len: 10,
                sgr: false
            }
        );
        assert_eq!(
            sequence(b"\x1b]8;;http://x\x1b\\"),
            Sequence::Whole {
                len: 15,
                sgr: false
            }
        );
        assert_eq!(sequence(b"\x1b"), Sequence::Unfinished);
        assert_eq!(sequence(b"\x1b[01;3"), Sequence::Unfinished);
        assert_eq!(sequence(b"\x1b]0;ti"), Sequence::Unfinished);
        assert_eq!(sequence(b"\x1bc"), Sequence::Not); // RIS: not taken out
        assert_eq!(sequence(b"\x1b[1\x01m"), Sequence::Not);
        let long = [b"\x1b[".as_slice(), &[b'1'; MAX_SEQUENCE]].concat();
        assert_eq!(sequence(&long), Sequence::Not);
    }

    #[test]
    fn the_screen_keeps_where_each_shown_byte_is() {
        let mut screen = Screen::with_capacity(64);
        screen.read(b"ab\x1b[32mcd\x1b[", false);
        assert_eq!(&screen.shown[..], b"abcd");
        assert_eq!(screen.at, vec![0, 1, 7, 8]);
        assert_eq!(screen.cut, 9);
        screen.read(b"ab\x1b[32mcd\x1b[", true);
        assert_eq!(&screen.shown[..], b"abcd\x1b[");
    }
}
