//! Labels and environment-variable names: the two user-chosen names of a secret, validated once
//! at the edge (command line, file, payload) so the rest of the code can trust them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How an env file, an inherited variable or a template names a secret: `sesame://LABEL`.
pub const REFERENCE_PREFIX: &str = "sesame://";

/// The longest label (and profile name), in bytes.
pub(crate) const MAX_LABEL_LEN: usize = 128;
/// The longest environment variable name, in bytes.
pub(crate) const MAX_ENV_NAME_LEN: usize = 128;

const LABEL_RULE: &str =
    "a label is 1-128 characters of A-Z a-z 0-9 . _ / -, starting with a letter or digit";
const ENV_RULE: &str = "an environment variable name is letters, digits and _, not starting with a digit (at most 128 characters)";

/// A secret's label, such as `openai/prod`. Case-sensitive.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    /// Checks `s` against the label rule; `InvalidLabel` names the rule broken.
    pub fn parse(s: &str) -> Result<Label> {
        check_label(s).map_err(|rule| Error::InvalidLabel {
            label: printable(s),
            rule,
        })?;
        Ok(Label(s.to_string()))
    }

    /// The label as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The default env name: upper-cased, every character outside `A-Z0-9_` turned into `_`,
    /// and a leading `_` added when the label starts with a digit.
    pub fn default_env_name(&self) -> EnvName {
        let mut name: String = self
            .0
            .chars()
            .map(|c| {
                let c = c.to_ascii_uppercase();
                if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            name.insert(0, '_');
        }
        name.truncate(MAX_ENV_NAME_LEN);
        EnvName(name)
    }
}

/// A profile name: the same rule as a label, but called what it is in the error.
pub fn profile_name(s: &str) -> Result<Label> {
    check_label(s).map_err(|_| Error::InvalidProfileName {
        name: printable(s),
        rule: PROFILE_RULE,
    })?;
    Ok(Label(s.to_string()))
}

const PROFILE_RULE: &str =
    "a profile name is 1-128 characters of A-Z a-z 0-9 . _ / -, starting with a letter or digit";

fn check_label(s: &str) -> std::result::Result<(), &'static str> {
    let ok_len = (1..=MAX_LABEL_LEN).contains(&s.len());
    let ok_first = s.starts_with(|c: char| c.is_ascii_alphanumeric());
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
    if ok_len && ok_first && ok_chars {
        Ok(())
    } else {
        Err(LABEL_RULE)
    }
}

impl TryFrom<String> for Label {
    type Error = &'static str;
    fn try_from(s: String) -> std::result::Result<Self, Self::Error> {
        check_label(&s)?;
        Ok(Label(s))
    }
}

impl From<Label> for String {
    fn from(l: Label) -> String {
        l.0
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*` (SPEC: `TF_VAR_db_password` is fine).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnvName(String);

impl EnvName {
    /// Checks `s` against the naming rule; `InvalidEnvName` names the rule broken.
    pub fn parse(s: &str) -> Result<EnvName> {
        check_env_name(s).map_err(|rule| Error::InvalidEnvName {
            name: printable(s),
            rule,
        })?;
        Ok(EnvName(s.to_string()))
    }

    /// The name of a variable sesame inherited: whatever the environment already allowed (not
    /// empty, no `=` or NUL), so a `sesame://` reference in a lower-case variable is replaced too.
    pub fn inherited(s: &str) -> Option<EnvName> {
        let ok = !s.is_empty() && !s.contains(['=', '\0']);
        ok.then(|| EnvName(s.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_env_name(s: &str) -> std::result::Result<(), &'static str> {
    let ok_len = (1..=MAX_ENV_NAME_LEN).contains(&s.len());
    let ok_first = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    let ok_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok_len && ok_first && ok_chars {
        Ok(())
    } else {
        Err(ENV_RULE)
    }
}

impl TryFrom<String> for EnvName {
    type Error = &'static str;
    fn try_from(s: String) -> std::result::Result<Self, Self::Error> {
        check_env_name(&s)?;
        Ok(EnvName(s))
    }
}

impl From<EnvName> for String {
    fn from(e: EnvName) -> String {
        e.0
    }
}

impl std::fmt::Display for EnvName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rejected name, shortened, fit for an error message: printed as typed (`é` stays `é`), only
/// control characters escaped, so a name cannot move the cursor or recolour the terminal.
pub fn printable(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().take(64) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_spec_rule() {
        for good in ["openai/prod", "a", "9lives", "A.b_c-d/e", &"x".repeat(128)] {
            assert!(Label::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-x",
            "/x",
            ".x",
            "_x",
            "a b",
            "é",
            "a=b",
            &"x".repeat(129),
        ] {
            assert!(Label::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_env_name_upper_cases_and_replaces() {
        let env = |l: &str| Label::parse(l).map(|l| l.default_env_name().0).ok();
        assert_eq!(env("openai/prod").as_deref(), Some("OPENAI_PROD"));
        assert_eq!(env("a.b-c").as_deref(), Some("A_B_C"));
        assert_eq!(env("9lives").as_deref(), Some("_9LIVES"));
    }

    #[test]
    fn env_names_follow_the_spec_rule() {
        for good in [
            "A",
            "_",
            "OPENAI_KEY",
            "_9",
            "a",
            "TF_VAR_db_password",
            "https_proxy",
        ] {
            assert!(EnvName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "9A", "A-B", "A B", "é"] {
            assert!(EnvName::parse(bad).is_err(), "{bad}");
        }
    }
}
