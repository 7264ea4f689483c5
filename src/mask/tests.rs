use super::*;
use proptest::prelude::*;

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

/// Found by the property below: a match running past the hold point let the bytes after it
/// through unscanned, and they could hold a whole value (`xb` shown in clear).
#[test]
fn a_value_after_a_match_that_covers_the_hold_point_is_concealed() {
    let mut m = masker(&["xb", "bxbq"]);
    let (_, all) = run(&mut m, &["token=xbxb", " done\n"]);
    assert_eq!(
        all,
        "token=<concealed by sesame><concealed by sesame> done\n"
    );
    let mut m = masker(&["xb", "bcdeq", "cd"]);
    let (_, all) = run(&mut m, &["xbcde", "\n"]);
    assert_eq!(all, "<concealed by sesame><concealed by sesame>e\n");
}

/// A 200 KB value and 100 KB of output that could all still become it: the hold-back check
/// compared every tail with the value (quadratic, minutes). Now linear: a hang guard, not a
/// timing test.
#[test]
fn a_long_value_and_a_long_output_are_masked_in_linear_time() {
    let value = "a".repeat(200_000);
    let mut m = masker(&[&value, "ab"]);
    let chunk = "a".repeat(4096);
    let chunks: Vec<&str> = std::iter::repeat_n(chunk.as_str(), 25)
        .chain(["b"])
        .collect();
    let (after, all) = run(&mut m, &chunks);
    assert!(
        after[24].is_empty(),
        "all of it could still become the value"
    );
    assert_eq!(
        all,
        format!("{}<concealed by sesame>", "a".repeat(4096 * 25 - 1))
    );
}

/// Issue 15, item 8: `printf "Uploading assets"; sleep 3` showed `Uploading asset` for 3 s,
/// the last `s` held back as a possible start of the value. After a pause a tail too short to
/// identify a value is released; if the value does follow, the rest of it is still replaced.
#[test]
fn a_short_held_tail_is_released_after_a_pause_and_the_value_is_still_concealed() {
    let mut m = masker(&["sk-secret-12345678"]);
    let mut out = Vec::new();
    m.feed(b"Uploading assets", &mut out).ok();
    assert_eq!(out, b"Uploading asset");
    assert!(m.release_idle(&mut out).unwrap_or(false));
    assert_eq!(out, b"Uploading assets");
    m.feed(b"k-secret-12345678 done", &mut out).ok();
    m.finish(&mut out).ok();
    assert_eq!(
        String::from_utf8_lossy(&out),
        "Uploading assets<concealed by sesame> done"
    );
    // Too much of a value to show: `sk-secre` is 8 of 18 bytes, over a quarter.
    let mut m = masker(&["sk-secret-12345678"]);
    let mut out = Vec::new();
    m.feed(b"key=sk-secre", &mut out).ok();
    assert!(!m.release_idle(&mut out).unwrap_or(true));
    assert_eq!(out, b"key=");
    // A whole short value inside the held bytes is never released.
    let mut m = masker(&["ab", "abcdefghijklmnop"]);
    let mut out = Vec::new();
    m.feed(b"ab", &mut out).ok();
    assert!(!m.release_idle(&mut out).unwrap_or(true));
    assert!(out.is_empty());
}

/// An output made of `pieces` (a symbol, or a piece of a value), split into reads at `cuts`,
/// each followed by a pause or not.
fn reads(
    values: &[Vec<u8>],
    pieces: &[(usize, usize, usize, u8)],
    cuts: Vec<usize>,
    pauses: &[bool],
) -> Vec<(Vec<u8>, bool)> {
    let mut output = Vec::new();
    for &(which, from, len, symbol) in pieces {
        if which % 3 == 0 {
            output.push(symbol);
        } else {
            let v = &values[which % values.len()];
            let from = from.min(v.len() - 1);
            output.extend_from_slice(&v[from..(from + len).min(v.len())]);
        }
    }
    let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (output.len() + 1)).collect();
    cuts.push(0);
    cuts.push(output.len());
    cuts.sort_unstable();
    cuts.windows(2)
        .zip(pauses)
        .map(|(w, &pause)| (output[w[0]..w[1]].to_vec(), pause))
        .collect()
}

fn symbols() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(b"abcxq".to_vec()), 1..7)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    /// Any values, any output, any split into reads: the same as masking the whole output.
    /// The output is built from pieces of the values and single symbols, so that values
    /// overlap, nest and follow each other in it far more often than at random.
    #[test]
    fn streaming_equals_masking_the_whole_output(
        values in prop::collection::vec(symbols(), 1..5),
        pieces in prop::collection::vec((any::<usize>(), 0usize..7, 0usize..7, prop::sample::select(b"abcxq ".to_vec())), 0..16),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        pauses in prop::collection::vec(any::<bool>(), 9),
    ) {
        property::check_with_pauses(&values, &reads(&values, &pieces, cuts, &pauses));
    }

    /// The same with many long values, where the matcher chooses its packed or sampled
    /// searcher instead of the automaton alone.
    #[test]
    fn streaming_equals_masking_the_whole_output_for_many_long_values(
        values in prop::collection::vec(prop::collection::vec(prop::sample::select(b"abcx".to_vec()), 8..20), 2..80),
        pieces in prop::collection::vec((any::<usize>(), 0usize..20, 0usize..20, prop::sample::select(b"abcxq ".to_vec())), 0..24),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        pauses in prop::collection::vec(any::<bool>(), 9),
    ) {
        property::check_with_pauses(&values, &reads(&values, &pieces, cuts, &pauses));
    }
}

#[test]
fn a_read_larger_than_the_held_bytes_buffer_is_masked_without_growing_it() {
    // Broke (memory): `run --mask` reads up to 1 MiB at once, which was appended whole to the
    // held bytes; their buffer then reallocated and left an unwiped copy of the output, values
    // included, in freed memory. Now a read is fed in pieces that fit the first allocation.
    let mut m = masker(&["sk-secret-value", "other"]);
    let capacity = m.pending.capacity();
    let line = "text sk-secret-value, other; more\n"; // 34 bytes: values cross every piece boundary
    let output = line.repeat(1024 * 1024 / line.len() + 1);
    let mut out = Vec::new();
    m.feed(output.as_bytes(), &mut out).ok();
    assert_eq!(
        m.pending.capacity(),
        capacity,
        "the held bytes' buffer grew"
    );
    m.finish(&mut out).ok();
    let expected = output
        .replace("sk-secret-value", "<concealed by sesame>")
        .replace("other", "<concealed by sesame>");
    assert!(
        String::from_utf8_lossy(&out) == expected,
        "masked otherwise"
    );
}

fn terminal_masker(values: &[&str]) -> Masker {
    let values: Vec<SecretValue> = values
        .iter()
        .map(|v| SecretValue::new(Zeroizing::new(v.as_bytes().to_vec())))
        .collect();
    Masker::for_terminal(&values)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("a masker"))
}

/// The cases measured for docs/SECURITY.md: what real programs write when they colour part of a
/// value, as a terminal masker sees it.
#[test]
fn on_a_terminal_a_value_split_by_colours_is_concealed_whole() {
    let key = "ghp_0123456789abcdef";
    let cases = [
        // grep --color=always 0123: the match in bold red, then "erase to end of line".
        (
            "ghp_\x1b[01;31m\x1b[K0123\x1b[m\x1b[K456789abcdef\n",
            "<concealed by sesame>\x1b[01;31m\x1b[m\n",
        ),
        // python3 -c 'print(k[:10] + "\033[32m" + k[10:])': green from the middle on.
        (
            "ghp_012345\x1b[32m6789abcdef\n",
            "<concealed by sesame>\x1b[32m\n",
        ),
        // less: a search for "6789" in reverse video.
        (
            "ghp_012345\x1b[7m6789\x1b[27mabcdef\n",
            "<concealed by sesame>\x1b[7m\x1b[27m\n",
        ),
        // An OSC 8 hyperlink around part of it (dropped with the value).
        (
            "ghp_0123\x1b]8;;https://x\x1b\\456789abcdef\n",
            "<concealed by sesame>\n",
        ),
    ];
    for (written, shown) in cases {
        let mut m = terminal_masker(&[key]);
        let (_, all) = run(&mut m, &[written]);
        assert_eq!(all, shown, "{written:?}");
        // The same, one byte at a time.
        let mut m = terminal_masker(&[key]);
        let bytes: Vec<String> = written.chars().map(String::from).collect();
        let chunks: Vec<&str> = bytes.iter().map(String::as_str).collect();
        let (_, all) = run(&mut m, &chunks);
        assert_eq!(all, shown, "{written:?} byte by byte");
    }
    // Not concealed, by design: a redraw by cursor movement puts other bytes (here a carriage
    // return) between the pieces; and other escape sequences break a value as any byte does.
    for written in [
        "ghp_0123456\r\x1b[11C789abcdef\n",
        "ghp_0123456\x1bc789abcdef\n",
    ] {
        let mut m = terminal_masker(&[key]);
        let (_, all) = run(&mut m, &[written]);
        assert_eq!(all, written, "{written:?}");
    }
    // A pipe masker matches bytes only: the coloured value passes (as before).
    let mut m = masker(&[key]);
    let (_, all) = run(&mut m, &["ghp_012345\x1b[32m6789abcdef\n"]);
    assert_eq!(all, "ghp_012345\x1b[32m6789abcdef\n");
}

/// Sequences only between a value's bytes belong to its span; the ones around it are kept, and
/// text that is not part of a value passes at once even on a terminal.
#[test]
fn on_a_terminal_sequences_around_a_value_are_kept_and_prompts_pass_at_once() {
    let mut m = terminal_masker(&["sk-secret"]);
    let (after, all) = run(
        &mut m,
        &[
            "\x1b[1mPassword: \x1b[0m",
            "\x1b[32msk-se",
            "cret\x1b[0m done",
        ],
    );
    assert_eq!(after[0], "\x1b[1mPassword: \x1b[0m");
    assert_eq!(
        all,
        "\x1b[1mPassword: \x1b[0m\x1b[32m<concealed by sesame>\x1b[0m done"
    );
}

proptest! {
    /// On a terminal, however the output is split, the result is that of one whole feed; and
    /// what a terminal would show of it (sequences taken out) holds no value.
    #[test]
    fn terminal_masking_does_not_depend_on_the_split_and_shows_no_value(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("ab".to_string()), Just("c".to_string()), Just("abc".to_string()),
                Just("\x1b[31m".to_string()), Just("\x1b[m".to_string()),
                Just("\x1b]0;t\x07".to_string()), Just("\x1b".to_string()),
                Just("x".to_string()), Just("\n".to_string()),
            ],
            0..40,
        ),
        cuts in proptest::collection::vec(0usize..200, 0..8),
    ) {
        let text = pieces.concat();
        let mut whole = terminal_masker(&["abcab", "cabc"]);
        let (_, expected) = run(&mut whole, &[&text]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(text.len())).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for cut in cuts {
            chunks.push(&text[from..cut]);
            from = cut;
        }
        chunks.push(&text[from..]);
        let mut split = terminal_masker(&["abcab", "cabc"]);
        let (_, got) = run(&mut split, &chunks);
        prop_assert_eq!(&got, &expected);
        let mut screen = screen::Screen::with_capacity(got.len() + 1);
        screen.read(got.as_bytes(), true);
        let shown = String::from_utf8_lossy(&screen.shown).into_owned();
        prop_assert!(!shown.contains("abcab") && !shown.contains("cabc"), "{:?}", shown);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// The terminal half of the `mask` fuzz target, on random inputs.
    #[test]
    fn terminal_fuzz_property_holds_on_random_inputs(
        data in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        property::check_terminal_fuzz_input(&data);
    }
}

#[test]
fn mask_corpus_streams_the_same_as_masking_the_whole_output() {
    crate::matcher::property::replay_corpus("mask", property::check_fuzz_input);
}

/// The same inputs, decoded as output with escape sequences for the terminal masker: the split
/// does not matter, and nothing a terminal shows holds a value.
#[test]
fn mask_corpus_on_a_terminal_shows_no_value_whatever_the_split() {
    crate::matcher::property::replay_corpus("mask", property::check_terminal_fuzz_input);
}
