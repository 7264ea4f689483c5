//! What to tell the user about a weak passphrase: a warning about its longest guessable part
//! and suggestions, in zxcvbn's words (the refusal message quotes them).

use super::parts::{Match, Pattern};
use super::words::List;

/// A warning (at most one) and suggestions, each a sentence.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Feedback {
    pub(super) warning: Option<&'static str>,
    pub(super) suggestions: Vec<&'static str>,
}

const USE_A_FEW_WORDS: &str = "Use a few words, avoid common phrases.";
const NO_NEED_FOR_SYMBOLS: &str = "No need for symbols, digits, or uppercase letters.";
const ADD_A_WORD: &str = "Add another word or two. Uncommon words are better.";

/// Feedback for a passphrase scored `score` whose easiest reading is `sequence` (matches over
/// `password`); none for a passphrase that scores 3 or more.
pub(super) fn feedback(score: u8, sequence: &[Match], password: &[char]) -> Option<Feedback> {
    // The last of the longest parts, as zxcvbn picks it.
    let Some(longest) = sequence.iter().max_by_key(|m| m.j - m.i) else {
        return Some(Feedback {
            warning: None,
            suggestions: vec![USE_A_FEW_WORDS, NO_NEED_FOR_SYMBOLS],
        });
    };
    if score >= 3 {
        return None;
    }
    let mut feedback = about(longest, sequence.len() == 1, password);
    feedback.suggestions.insert(0, ADD_A_WORD);
    Some(feedback)
}

/// The warning and suggestions for one part; `alone` when it is the whole passphrase.
fn about(part: &Match, alone: bool, password: &[char]) -> Feedback {
    let (warning, suggestions) = match part.pattern {
        Pattern::Word { .. } => return about_word(part, alone, &password[part.i..=part.j]),
        Pattern::Walk { turns, .. } => (
            if turns == 1 {
                "Straight rows of keys are easy to guess."
            } else {
                "Short keyboard patterns are easy to guess."
            },
            vec!["Use a longer keyboard pattern with more turns."],
        ),
        Pattern::Repeat { base_len, .. } => (
            if base_len == 1 {
                "Repeats like \"aaa\" are easy to guess."
            } else {
                "Repeats like \"abcabcabc\" are only slightly harder to guess than \"abc\"."
            },
            vec!["Avoid repeated words and characters."],
        ),
        Pattern::Sequence { .. } => (
            "Sequences like abc or 6543 are easy to guess.",
            vec!["Avoid sequences."],
        ),
        Pattern::Year { .. } => (
            "Recent years are easy to guess.",
            vec![
                "Avoid recent years.",
                "Avoid years that are associated with you.",
            ],
        ),
        Pattern::Date { .. } => (
            "Dates are often easy to guess.",
            vec!["Avoid dates and years that are associated with you."],
        ),
        Pattern::BruteForce => return Feedback::default(),
    };
    Feedback {
        warning: Some(warning),
        suggestions,
    }
}

fn about_word(part: &Match, alone: bool, token: &[char]) -> Feedback {
    let Pattern::Word {
        list,
        rank,
        reversed,
        l33t,
        ..
    } = part.pattern
    else {
        return Feedback::default();
    };
    let warning = match list {
        List::Passwords if alone && !l33t && !reversed => Some(match rank {
            0..=10 => "This is a top-10 common password.",
            11..=100 => "This is a top-100 common password.",
            _ => "This is a very common password.",
        }),
        List::Passwords => Some("This is similar to a commonly used password."),
        List::English if alone => Some("A word by itself is easy to guess."),
        List::FemaleNames | List::MaleNames | List::Surnames => Some(if alone {
            "Names and surnames by themselves are easy to guess."
        } else {
            "Common names and surnames are easy to guess."
        }),
        _ => None,
    };
    let mut suggestions = Vec::new();
    if token.first().is_some_and(|c| c.is_uppercase()) {
        suggestions.push("Capitalization doesn't help very much.");
    } else if token.iter().all(|c| c.is_uppercase()) {
        suggestions.push("All-uppercase is almost as easy to guess as all-lowercase.");
    }
    if reversed && token.len() >= 4 {
        suggestions.push("Reversed words aren't much harder to guess.");
    }
    if l33t {
        suggestions.push("Predictable substitutions like '@' instead of 'a' don't help very much.");
    }
    Feedback {
        warning,
        suggestions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_common_password_is_named_as_such() {
        let password: Vec<char> = "Password".chars().collect();
        let part = Match {
            i: 0,
            j: 7,
            pattern: Pattern::Word {
                list: List::Passwords,
                rank: 2,
                reversed: false,
                l33t: false,
                l33t_variations: 1,
            },
        };
        let feedback = feedback(0, &[part], &password);
        assert_eq!(
            feedback,
            Some(Feedback {
                warning: Some("This is a top-10 common password."),
                suggestions: vec![ADD_A_WORD, "Capitalization doesn't help very much."],
            })
        );
        assert_eq!(super::feedback(3, &[part], &password), None);
    }
}
