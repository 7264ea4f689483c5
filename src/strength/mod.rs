//! How guessable a new passphrase is (`init`, `passwd`, `recover`): a passphrase scoring below
//! [`MIN_SCORE`] is refused unless the user passes `--allow-weak`.
//!
//! This is sesame's own implementation of zxcvbn's model (Wheeler, "zxcvbn: Low-Budget Password
//! Strength Estimation", USENIX Security 2016) with zxcvbn's word lists and keyboard graphs
//! (`data/README.md`): [`matching`] finds the guessable parts, [`guesses`] prices them and finds
//! the cheapest way to cover the passphrase, [`feedback`] words the refusal. A test compares it
//! with the zxcvbn crate on thousands of strings (`differential.rs`). Only the first
//! [`MAX_EVALUATED`] characters are read, so a long passphrase costs a bounded time.
//!
//! The passphrase is read into wiped buffers (its characters, and the lowercased, reversed and
//! substituted copies the matchers make); matches hold positions, not text. Not wiped: what
//! hashing and comparison leave on the stack, the old buffer `str::to_lowercase` drops when
//! lowercasing lengthens non-ASCII text, the substitution characters (`4`, `$`) a l33t word
//! used, the years and counts derived from the passphrase, and the lists, which are not
//! secret. The lists are inflated only here, when a passphrase is being set.

mod dates;
mod feedback;
mod guesses;
mod keyboard;
mod matching;
mod parts;
mod sequences;
mod words;

#[cfg(test)]
mod differential;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::Passphrase;
use matching::Matcher;
use parts::Match;
use words::{Dictionary, Graph, Layout, WordLists};

/// zxcvbn's score 3: "safely unguessable: moderate protection from offline slow-hash scenario"
/// (about 10^10 guesses). Argon2id makes each guess slow; it cannot make a likely one unlikely.
pub(crate) const MIN_SCORE: u8 = 3;

/// Characters past this many are not evaluated (as in zxcvbn): the work is quadratic in length.
const MAX_EVALUATED: usize = 100;

/// The passphrase as the text to rate. Bytes that are not UTF-8 are read one character each
/// (as Latin-1): replacing them all with U+FFFD made random bytes look like "aaaa" and be refused.
fn as_text(bytes: &[u8]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    match std::str::from_utf8(bytes) {
        Ok(valid) => text.push_str(valid),
        Err(_) => text.extend(bytes.iter().map(|&b| char::from(b))),
    }
    text
}

/// Refuses a passphrase whose estimate scores below [`MIN_SCORE`], with its reason and a
/// suggestion; `context` are words an attacker would try first (the vault's file name, "sesame").
pub(crate) fn check(passphrase: &Passphrase, context: &[&str], what: &str) -> Result<()> {
    let text = as_text(passphrase.expose());
    let lists = WordLists::load()?;
    let estimate = Estimator::new(&lists, context, current_year()).estimate(&text);
    if estimate.score >= MIN_SCORE {
        return Ok(());
    }
    let mut reason = format!(
        "the {what} is too easy to guess (strength {} of 4, at least {MIN_SCORE} needed; \
         time to guess it offline: {})",
        estimate.score,
        guesses::offline_time(estimate.guesses)
    );
    // Every warning and suggestion is a sentence ending in a full stop.
    reason.push('.');
    if let Some(feedback) = estimate.feedback {
        for sentence in feedback.warning.into_iter().chain(feedback.suggestions) {
            reason.push(' ');
            reason.push_str(sentence);
        }
    }
    Err(Error::usage(format!(
        "{reason} Four or five random words make a good passphrase. To use this one anyway, pass \
         --allow-weak. Nothing was changed."
    )))
}

/// The year dates and years in a passphrase are measured from: the current one (UTC).
fn current_year() -> i32 {
    /// Used only if the clock cannot be read as a date.
    const FALLBACK: i32 = 2026;
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(FALLBACK)
}

/// The verdict on one passphrase.
struct Estimate {
    guesses: u64,
    score: u8,
    feedback: Option<feedback::Feedback>,
    /// The easiest reading of the passphrase (for tests).
    #[cfg_attr(not(test), allow(dead_code))]
    sequence: Vec<Match>,
}

/// The lists and graphs, indexed once, for estimating one or more passphrases.
pub(super) struct Estimator<'w> {
    dictionary: Dictionary<'w>,
    graphs: Vec<Graph>,
    reference_year: i32,
}

impl<'w> Estimator<'w> {
    fn new(lists: &'w WordLists, context: &[&str], reference_year: i32) -> Self {
        Estimator {
            dictionary: Dictionary::new(lists, context),
            graphs: Layout::ALL.into_iter().map(Graph::load).collect(),
            reference_year,
        }
    }

    fn estimate(&self, text: &str) -> Estimate {
        let mut chars = Zeroizing::new(Vec::with_capacity(MAX_EVALUATED));
        chars.extend(text.chars().take(MAX_EVALUATED));
        if chars.is_empty() {
            return Estimate {
                guesses: 0,
                score: 0,
                feedback: feedback::feedback(0, &[], &chars),
                sequence: Vec::new(),
            };
        }
        let matcher = Matcher {
            dictionary: &self.dictionary,
            graphs: &self.graphs,
            reference_year: self.reference_year,
        };
        let matches = matcher.all(&chars);
        let (guesses, sequence) = guesses::most_guessable(&chars, &matches);
        let score = guesses::score(guesses);
        Estimate {
            guesses,
            score,
            feedback: feedback::feedback(score, &sequence, &chars),
            sequence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(Zeroizing::new(s.as_bytes().to_vec()))
    }

    #[test]
    fn weak_passphrases_are_refused_with_a_reason_and_strong_ones_pass() {
        for weak in ["pw", "password1", "qwerty123", "sesame", "aaaaaaaaaaaa"] {
            let err = check(&pass(weak), &["sesame"], "passphrase").err();
            let text = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(text.contains("--allow-weak"), "{weak}: {text}");
            assert!(
                !text.contains(weak) || weak == "sesame",
                "{weak} echoed: {text}"
            );
        }
        for strong in ["correct horse battery staple", "vivid-otter-mango-quartz"] {
            assert!(
                check(&pass(strong), &["sesame"], "passphrase").is_ok(),
                "{strong}"
            );
        }
    }

    #[test]
    fn random_bytes_that_are_not_utf8_are_rated_as_what_they_are_not_as_repeats() {
        let random = [
            0xf3, 0x91, 0x07, 0xc8, 0xaa, 0x3e, 0xff, 0x80, 0x15, 0xd2, 0x9c, 0x6b, 0xe4,
        ];
        let passphrase = Passphrase::new(Zeroizing::new(random.to_vec()));
        assert!(check(&passphrase, &["sesame"], "passphrase").is_ok());
        assert_eq!(as_text(b"plain").as_str(), "plain");
    }

    #[test]
    fn the_current_year_is_read_from_the_clock() {
        assert!((2026..3000).contains(&current_year()));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(150))]
        /// Any text (any script, control characters, digits and separators mixed, longer than
        /// what is evaluated) gets a score, never a panic; the score only counts what is read.
        #[test]
        fn any_passphrase_gets_a_score_and_never_a_panic(
            text in "(\\PC|[0-9/._ -]|[a-z]{1,8}|\\p{Cc}){0,130}"
        ) {
            static LISTS: std::sync::OnceLock<Option<WordLists>> = std::sync::OnceLock::new();
            static ESTIMATOR: std::sync::OnceLock<Option<Estimator<'static>>> =
                std::sync::OnceLock::new();
            let estimator = ESTIMATOR.get_or_init(|| {
                let lists = LISTS.get_or_init(|| WordLists::load().ok()).as_ref()?;
                Some(Estimator::new(lists, &["vault", "sesame"], 2026))
            });
            let estimator = estimator.as_ref().ok_or_else(|| {
                proptest::test_runner::TestCaseError::fail("the word lists do not load")
            })?;
            let estimate = estimator.estimate(&text);
            proptest::prop_assert!(estimate.score <= 4);
            let read: String = text.chars().take(MAX_EVALUATED).collect();
            proptest::prop_assert_eq!(estimator.estimate(&read).guesses, estimate.guesses);
        }
    }
}
