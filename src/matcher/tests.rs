use proptest::prelude::*;

use super::property::spans;
use super::*;

/// Values over a small alphabet with shared beginnings, so that they overlap, nest and follow
/// each other in the haystack far more often than at random.
fn values(
    count: std::ops::Range<usize>,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![&b""[..], b"sk-", b"ghp_"]),
            prop::collection::vec(prop::sample::select(b"abcx".to_vec()), len),
        )
            .prop_map(|(prefix, body)| [prefix, &body[..]].concat()),
        count,
    )
}

fn haystack(values: &[Vec<u8>], pieces: &[(usize, usize, usize)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(which, from, len) in pieces {
        if which % 4 == 0 {
            out.extend_from_slice(&b"abcx -"[..1 + from % 6]);
        } else {
            let v = &values[which % values.len()];
            let from = from % v.len();
            out.extend_from_slice(&v[from..(from + len).min(v.len())]);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Every kind of searcher, wherever it can be built, finds exactly the leftmost-longest
    /// matches, at any offset (the sampled searcher's windows start anywhere).
    #[test]
    fn every_kind_finds_the_leftmost_longest_matches(
        values in values(1..90, 5..30),
        pieces in prop::collection::vec((any::<usize>(), any::<usize>(), 0usize..40), 0..60),
        skip in 0usize..8,
    ) {
        let text = haystack(&values, &pieces);
        let text = &text[skip.min(text.len())..];
        property::check(&values, text);
    }

    /// The fuzz target's decoding of raw bytes, driven here too.
    #[test]
    fn the_fuzz_property_holds_for_any_input(data in prop::collection::vec(any::<u8>(), 0..600)) {
        property::check_fuzz_input(&data);
    }
}

#[test]
fn the_choice_follows_the_set() -> io::Result<()> {
    let long: Vec<Vec<u8>> = (0..100)
        .map(|i| format!("sk-proj-{i:030}").into_bytes())
        .collect();
    let short: Vec<Vec<u8>> = (0..10).map(|i| format!("pw-{i:05}").into_bytes()).collect();
    let kind = |set: &[Vec<u8>]| searcher(set.iter().map(|v| v.as_slice())).map(|s| s.kind());
    // The packed searcher needs SSSE3 or AVX2 (or NEON); where it cannot be built, the next.
    let simd = searcher_of_kind(Kind::Packed, [&b"abcdefgh"[..], b"ijklmnop"])?.is_some();
    let packed_or = |otherwise| if simd { Kind::Packed } else { otherwise };
    assert_eq!(kind(&long[..1])?, Kind::Automaton);
    assert_eq!(kind(&long[..2])?, Kind::Sampled);
    assert_eq!(kind(&long)?, Kind::Sampled);
    assert_eq!(kind(&short)?, packed_or(Kind::Sampled));
    assert_eq!(
        kind(&[b"abc".to_vec(), b"abd".to_vec()])?,
        packed_or(Kind::Automaton)
    );
    let mut with_a_short_one = long.clone();
    with_a_short_one.push(b"pin".to_vec());
    assert_eq!(kind(&with_a_short_one)?, Kind::Automaton);
    Ok(())
}

/// A window the sampled searcher verifies ends where the longest value could end for a start
/// inside the window; a match the automaton reports past the window's starts may be cut short
/// by that end, and must be looked for again from its own window.
#[test]
fn a_match_past_the_sampled_window_is_not_cut_short() -> io::Result<()> {
    let values = [&b"abcdefgh"[..], b"abcdefgh-and-a-much-longer-tail"];
    let text = b"abcdefgXabcdefgh-and-a-much-longer-tail";
    let sampled = searcher_of_kind(Kind::Sampled, values)?;
    let sampled = sampled.ok_or_else(|| io::Error::other("no sampled searcher"))?;
    assert_eq!(spans(&sampled, text), vec![(8, text.len())]);
    // The same one start past the window: the sample at 0 hits on "zabc", the window's starts
    // end at 0, and the longest value starting at 1 runs one byte past the window's end.
    let values = [
        &b"abcdefgh"[..],
        b"abcdefgh-and-a-much-longer-tail",
        b"zabcXXXX",
    ];
    let text = b"zabcdefgh-and-a-much-longer-tail";
    let sampled = searcher_of_kind(Kind::Sampled, values)?;
    let sampled = sampled.ok_or_else(|| io::Error::other("no sampled searcher"))?;
    assert_eq!(spans(&sampled, text), vec![(1, text.len())]);
    Ok(())
}

#[test]
fn matcher_corpus_finds_what_a_by_hand_search_finds() {
    property::replay_corpus("matcher", property::check_fuzz_input);
}
