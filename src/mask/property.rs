//! The masking property, shared by the unit property test, the `mask` fuzz target and the corpus
//! replay in `tests/`. Not part of sesame's interface.

use super::{Masker, REPLACEMENT};
use crate::secret::SecretValue;
use zeroize::Zeroizing;

/// The symbols fuzz inputs are mapped to: few, so values overlap often, and some of them in
/// [`REPLACEMENT`], so values that the replacement text itself spells are exercised too.
const SYMBOLS: &[u8; 8] = b"abcxq<e>";

/// Decodes a fuzz input and checks [`check`] on it. Byte 0: 1 to 4 values; then per value a
/// length byte (1 to 8) and that many bytes; the rest is the output. Every byte is mapped to
/// `SYMBOLS` by its low three bits; an output byte with its top bit set ends a read, and
/// with bit 6 set as well, the output pauses after that read (an idle release is tried).
pub fn check_fuzz_input(data: &[u8]) {
    let symbol = |b: u8| SYMBOLS[usize::from(b & 7)];
    let Some((values, rest)) = decode_values(data, symbol) else {
        return;
    };
    let (mut reads, mut read) = (Vec::new(), Vec::new());
    for &b in rest {
        read.push(symbol(b));
        if b & 0x80 != 0 {
            reads.push((std::mem::take(&mut read), b & 0x40 != 0));
        }
    }
    reads.push((read, false));
    check_with_pauses(&values, &reads);
}

/// The values at the start of a fuzz input (byte 0: 1 to 4 values; then per value a length byte,
/// 1 to 8, and that many bytes, each mapped by `symbol`), and the rest of the input.
fn decode_values(data: &[u8], symbol: impl Fn(u8) -> u8) -> Option<(Vec<Vec<u8>>, &[u8])> {
    let (&count, mut rest) = data.split_first()?;
    let mut values = Vec::new();
    for _ in 0..1 + count % 4 {
        let (&len, tail) = rest.split_first()?;
        let len = 1 + usize::from(len % 8);
        if tail.len() < len {
            return None;
        }
        values.push(tail[..len].iter().map(|&b| symbol(b)).collect());
        rest = &tail[len..];
    }
    Some((values, rest))
}

/// Feeds `reads` to a masker for `values` one by one and panics unless:
/// 1. the output equals a leftmost-longest replacement over the whole output at once,
///    computed naively here (independent of the automaton);
/// 2. after each read, what is held back is empty or a proper prefix of a value (nothing
///    decided waits, so a prompt appears at once);
/// 3. no value survives: no value lies wholly within a run of bytes passed on unreplaced.
///    A value may still appear in the output across such a run and a replacement, or inside
///    the replacement text (a value `e` appears in `<concealed by sesame>`): it was replaced,
///    the output merely spells it again, and no masking could prevent that.
///
/// With pauses (`(read, true)`: the output pauses after that read and an idle release is
/// tried), the expected output is computed here too: at each pause the held tail is found by
/// a naive scan and released when the rule allows; then each whole-stream match is written as
/// its released bytes (always a prefix of it) followed by the replacement.
pub fn check_with_pauses(values: &[Vec<u8>], reads: &[(Vec<u8>, bool)]) {
    let shown = |bytes: &[Vec<u8>]| -> Vec<String> {
        bytes
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    };
    let plain_reads: Vec<Vec<u8>> = reads.iter().map(|(r, _)| r.clone()).collect();
    let (values_shown, reads_shown) = (shown(values), shown(&plain_reads));
    let pauses: Vec<bool> = reads.iter().map(|(_, p)| *p).collect();
    let reads = &plain_reads;
    let secrets: Vec<SecretValue> = values
        .iter()
        .map(|v| SecretValue::new(Zeroizing::new(v.clone())))
        .collect();
    let Ok(Some(mut masker)) = Masker::new(&secrets) else {
        panic!("no masker for {values_shown:?}");
    };
    let mut streamed = Vec::new();
    for (read, &pause) in reads.iter().zip(&pauses) {
        masker
            .feed(read, &mut streamed)
            .unwrap_or_else(|e| panic!("{e}"));
        if pause {
            masker
                .release_idle(&mut streamed)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let held = &masker.pending[..];
        assert!(
            held.is_empty()
                || values
                    .iter()
                    .any(|v| v.len() > held.len() && v.starts_with(held)),
            "values {values_shown:?}, reads {reads_shown:?}: holds back {:?}, which no value begins \
             with",
            String::from_utf8_lossy(held)
        );
    }
    masker
        .finish(&mut streamed)
        .unwrap_or_else(|e| panic!("{e}"));

    let whole = reads.concat();
    let released = released_at_pauses(values, reads, &pauses);
    let (expected, unreplaced_runs) = replace_whole(values, &whole, &released);
    assert_eq!(
        String::from_utf8_lossy(&streamed),
        String::from_utf8_lossy(&expected),
        "values {values_shown:?}, reads {reads_shown:?}"
    );
    for run in unreplaced_runs {
        for v in values {
            assert!(
                !whole[run.clone()].windows(v.len()).any(|w| w == &v[..]),
                "values {values_shown:?}, reads {reads_shown:?}: {:?} survives",
                String::from_utf8_lossy(v)
            );
        }
    }
}

/// Leftmost-longest replacement of the whole `text`: at each position the longest value that
/// starts there is replaced and the scan goes on after it. Also returns the runs of `text`
/// passed on unreplaced.
/// Which bytes of the whole output a pause releases (naively: the scan below mirrors the
/// whole-stream replacement up to each pause point).
fn released_at_pauses(values: &[Vec<u8>], reads: &[Vec<u8>], pauses: &[bool]) -> Vec<bool> {
    let whole = reads.concat();
    let mut released = vec![false; whole.len()];
    let keep: Vec<Zeroizing<Vec<u8>>> = values.iter().map(|v| Zeroizing::new(v.clone())).collect();
    let mut end = 0;
    for (read, &pause) in reads.iter().zip(pauses) {
        end += read.len();
        if !pause {
            continue;
        }
        let text = &whole[..end];
        // The held tail starts at the first position the scan reaches whose tail is a
        // proper prefix of a value.
        let mut i = 0;
        let hold = loop {
            if i >= end {
                break end;
            }
            let tail = &text[i..];
            if values
                .iter()
                .any(|v| v.len() > tail.len() && v.starts_with(tail))
            {
                break i;
            }
            match values
                .iter()
                .filter(|v| tail.starts_with(v))
                .map(|v| v.len())
                .max()
            {
                Some(len) => i += len,
                None => i += 1,
            }
        };
        if hold < end && super::releasable(&keep, &text[hold..]) {
            released[hold..end].iter_mut().for_each(|r| *r = true);
        }
    }
    released
}

fn replace_whole(
    values: &[Vec<u8>],
    text: &[u8],
    released: &[bool],
) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let (mut out, mut runs) = (Vec::new(), Vec::new());
    let mut run_start = 0;
    for (start, end) in crate::matcher::property::by_hand(values, text) {
        out.extend_from_slice(&text[run_start..start]);
        runs.push(run_start..start);
        let shown = (start..end).take_while(|&j| released[j]).count();
        assert!(
            (start..end).skip(shown).all(|j| !released[j]),
            "released bytes of a match are not a prefix of it"
        );
        out.extend_from_slice(&text[start..start + shown]);
        out.extend_from_slice(REPLACEMENT);
        run_start = end;
    }
    out.extend_from_slice(&text[run_start..]);
    runs.push(run_start..text.len());
    (out, runs)
}

/// The terminal masker's property ([`Masker::for_terminal`]), on the same fuzz inputs decoded
/// another way: values of the symbols `xq12` (none of them in [`REPLACEMENT`]), and an output of
/// those symbols and escape-sequence pieces (colours, a reset, an OSC title, a lone ESC, `[`, `;`),
/// so values arrive split by sequences, whole and unfinished. Panics unless:
/// 1. the output does not depend on the split into reads (it equals one whole read's);
/// 2. what a terminal shows of the output (its CSI and OSC sequences taken out) holds no value.
pub fn check_terminal_fuzz_input(data: &[u8]) {
    const VALUE: &[u8; 4] = b"xq12";
    const OUTPUT: [&[u8]; 8] = [
        b"x",
        b"q",
        b"1",
        b"2",
        b"\x1b[31m",
        b"\x1b[m",
        b"\x1b]0;t\x07",
        b"\x1b",
    ];
    let Some((values, rest)) = decode_values(data, |b| VALUE[usize::from(b & 3)]) else {
        return;
    };
    let (mut reads, mut read) = (Vec::new(), Vec::new());
    for &b in rest {
        // Bit 3 turns a lone ESC into `[` or `;`, so unfinished CSI sequences come up too.
        match (b & 7, b & 8 != 0) {
            (7, true) => read.extend_from_slice(if b & 16 != 0 { b"[" } else { b";" }),
            (i, _) => read.extend_from_slice(OUTPUT[usize::from(i)]),
        }
        if b & 0x80 != 0 {
            reads.push(std::mem::take(&mut read));
        }
    }
    reads.push(read);
    let secrets: Vec<SecretValue> = values
        .iter()
        .map(|v| SecretValue::new(Zeroizing::new(v.clone())))
        .collect();
    let run = |reads: &[Vec<u8>]| {
        let Ok(Some(mut masker)) = Masker::for_terminal(&secrets) else {
            panic!("no terminal masker");
        };
        let mut out = Vec::new();
        for read in reads {
            masker
                .feed(read, &mut out)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        masker.finish(&mut out).unwrap_or_else(|e| panic!("{e}"));
        out
    };
    let streamed = run(&reads);
    let whole = run(&[reads.concat()]);
    let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(
        show(&streamed),
        show(&whole),
        "values {values:?}, reads {reads:?}"
    );
    let mut screen = super::Screen::with_capacity(streamed.len() + 1);
    screen.read(&streamed, true);
    for v in &values {
        assert!(
            !screen.shown.windows(v.len()).any(|w| w == &v[..]),
            "values {values:?}, reads {reads:?}: {} shows on the terminal: {}",
            show(v),
            show(&streamed)
        );
    }
}
