//! How guessable a new passphrase is (`init`, `passwd`, `recover`), estimated by zxcvbn: a
//! passphrase scoring below [`MIN_SCORE`] is refused unless the user passes `--allow-weak`.
//!
//! zxcvbn works on a `&str` and keeps pieces of it in its own (not wiped) allocations while it
//! runs; the estimate is dropped at once, and this runs only when a passphrase is being set.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::Passphrase;

/// zxcvbn's score 3: "safely unguessable: moderate protection from offline slow-hash scenario"
/// (about 10^10 guesses). Argon2id makes each guess slow; it cannot make a likely one unlikely.
pub(crate) const MIN_SCORE: u8 = 3;

/// Refuses a passphrase zxcvbn scores below [`MIN_SCORE`], with its reason and a suggestion;
/// `context` are words an attacker would try first (the vault's file name, "sesame").
pub(crate) fn check(passphrase: &Passphrase, context: &[&str], what: &str) -> Result<()> {
    let text = Zeroizing::new(String::from_utf8_lossy(passphrase.expose()).into_owned());
    let estimate = zxcvbn::zxcvbn(&text, context);
    let score = u8::from(estimate.score());
    if score >= MIN_SCORE {
        return Ok(());
    }
    let mut reason = format!(
        "the {what} is too easy to guess (strength {score} of 4, at least {MIN_SCORE} needed; \
         time to guess it offline: {})",
        estimate.crack_times().offline_slow_hashing_1e4_per_second()
    );
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            reason.push_str(&format!(". {warning}"));
        }
        for suggestion in feedback.suggestions() {
            reason.push_str(&format!(" {suggestion}"));
        }
    }
    if !reason.ends_with('.') {
        reason.push('.');
    }
    Err(Error::usage(format!(
        "{reason} Four or five random words make a good passphrase. To use this one anyway, pass \
         --allow-weak. Nothing was changed."
    )))
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
}
